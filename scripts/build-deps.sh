#!/usr/bin/env bash
# Builds the static libraries the release Lambda bootstraps link, once, into .build-deps/:
#
#   .build-deps/curl      a minimal libcurl (HTTP and HTTPS over OpenSSL, zlib; no LDAP, Kerberos,
#                         IDN, PSL, HTTP/2, SSH, FTP, ...), static only, from the OS's own curl
#                         source package with the distribution's patches
#   .build-deps/openssl   only when the system has no static libssl.a/libcrypto.a (Amazon Linux
#                         2023, whose openssl-devel ships shared libraries only): OpenSSL from the
#                         OS's source package, static, no modules
#
#   scripts/build-deps.sh            build what is missing or stale, print nothing else
#   scripts/build-deps.sh --print    then print the PKG_CONFIG_PATH release builds link with
#
# The sources come from the OS's package client, which checks them the way it checks every
# package: on Debian/Ubuntu `apt-get source` (the InRelease signature covers the Sources index,
# whose SHA-256 sums cover the .dsc and tarballs; dpkg-source then checks the tarballs against the
# .dsc and, where the package ships one, the upstream tarball's OpenPGP signature); on Amazon
# Linux/Fedora `dnf download --source` (repository metadata checksums) followed by
# `rpmkeys --checksig`, which must report a valid signature from a key the rpm database trusts.
# A deb-src entry is added (to /etc/apt/sources.list.d/pipeline-deps-src.sources) only when apt
# knows no curl source package, mirroring the deb entries that provide curl.
#
# Idempotent: each prefix holds a stamp of the source version and the configure options; when it
# matches, nothing is fetched or built. DEPS_DIR overrides .build-deps.
set -euo pipefail
cd "$(dirname "$0")/.."

DEPS_DIR="${DEPS_DIR:-.build-deps}"
mkdir -p "$DEPS_DIR"
DEPS_DIR=$(cd "$DEPS_DIR" && pwd)
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

log() { echo "build-deps: $*" >&2; }
die() { echo "build-deps: $*" >&2; exit 1; }

CURL_OPTIONS=(
    --disable-shared --enable-static --with-pic
    --with-openssl --with-zlib
    --without-libpsl --without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2
    --without-brotli --without-zstd --without-librtmp --without-libssh --without-libssh2
    --without-gssapi --without-libgsasl --without-hyper --without-ca-bundle --without-ca-path
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp
    --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt
    --disable-ftp --disable-file --disable-manual --disable-ntlm --disable-unix-sockets
    --disable-alt-svc --disable-hsts --disable-netrc --disable-cookies
    --enable-ipv6 --enable-threaded-resolver
    --disable-openssl-auto-load-config
)
OPENSSL_OPTIONS=(no-shared no-module no-tests no-docs no-legacy no-engine no-apps)

os_family() {
    if command -v apt-get >/dev/null 2>&1; then echo debian
    elif command -v dnf >/dev/null 2>&1; then echo rpm
    else die "neither apt-get nor dnf found: cannot fetch verified sources on this OS"
    fi
}

stamp_of() { # name version options...
    local name="$1" version="$2"; shift 2
    printf '%s\n' "$name $version" "$(uname -m)" "$(cc --version | head -1)" "$@" | sha256sum | cut -c1-32
}

# --- fetching a verified source tree -----------------------------------------------------------

# Debian/Ubuntu: makes sure apt knows the source package, adding deb-src entries that mirror the
# deb entries (same URIs, suites, components and Signed-By) of the repositories that ship it.
has_deb_src() { # source-package version
    apt-cache showsrc "$1" 2>/dev/null | awk -v v="$2" '$1 == "Version:" && $2 == v {found = 1} END {exit !found}'
}
ensure_deb_src() { # source-package binary-package version
    local src="$1" bin="$2" version="$3"
    if has_deb_src "$src" "$version"; then return; fi
    log "apt knows no $src $version source package: adding deb-src entries"
    local origins file="/etc/apt/sources.list.d/pipeline-deps-src.sources"
    # "URI suite/component" of each repository apt-cache policy lists for the binary package.
    origins=$(apt-cache policy "$bin" | awk '$2 ~ /^[a-z]+:\/\// && $NF == "Packages" {print $2, $3}' | sort -u)
    [ -n "$origins" ] || die "apt-cache policy $bin names no repository"
    python3 - "$origins" > "$DEPS_DIR/deb-src.sources" <<'PY'
import glob, re, sys

origins = {}
for line in sys.argv[1].splitlines():
    uri, path = line.split()
    suite, _, component = path.partition("/")
    origins.setdefault(uri.rstrip("/"), set()).add((suite, component))

def keyring_of(options):
    match = re.search(r"signed-by=([^\s\]]+)", options)
    return match.group(1) if match else None

stanzas = []
# One-line format: deb [options] uri suite component...
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = line.split("#", 1)[0].strip()
        match = re.match(r"deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
        if match:
            stanzas.append({"uris": [match.group(2)], "suites": [match.group(3)],
                            "components": match.group(4).split(), "signed-by": keyring_of(match.group(1) or "")})
# deb822 format.
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    text = "\n".join(l for l in open(path).read().splitlines() if not l.lstrip().startswith("#"))
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1].isspace() and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        stanzas.append({"uris": fields.get("uris", "").split(), "suites": fields.get("suites", "").split(),
                        "components": fields.get("components", "").split(), "signed-by": fields.get("signed-by")})

out = []
for stanza in stanzas:
    for uri in stanza["uris"]:
        wanted = origins.get(uri.rstrip("/"), set())
        suites = [s for s in stanza["suites"] if any(s == w[0] for w in wanted)]
        components = [c for c in stanza["components"] if any(c == w[1] for w in wanted)]
        if not suites or not components:
            continue
        entry = ["Types: deb-src", "URIs: " + uri, "Suites: " + " ".join(suites), "Components: " + " ".join(components)]
        if stanza["signed-by"]:
            keyring = stanza["signed-by"]
            entry.append("Signed-By: " + ("\n " + "\n ".join(keyring.splitlines()) if "\n" in keyring else keyring))
        out.append("\n".join(entry))
if not out:
    sys.exit("no apt source entry matches the repositories that ship the package")
print("# Added by scripts/build-deps.sh: deb-src twins of the deb entries that ship the package.")
print("\n\n".join(out))
PY
    $SUDO install -m 0644 "$DEPS_DIR/deb-src.sources" "$file"
    $SUDO apt-get update -qq
    has_deb_src "$src" "$version" || die "apt still knows no $src $version source package (see $file)"
}

# Prints the version the source tree will have (the version of the installed or candidate binary
# package, whose source apt or dnf then fetches).
source_version() { # source-package binary-package
    local src="$1" bin="$2" version
    case "$(os_family)" in
        debian)
            version=$(dpkg-query -W -f '${source:Version}' "$bin" 2>/dev/null || true)
            [ -n "$version" ] || version=$(apt-cache policy "$bin" | awk '/Candidate:/ {print $2}')
            ;;
        rpm)
            version=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$bin" 2>/dev/null || true)
            [ -n "$version" ] && ! grep -q 'not installed' <<< "$version" \
                || version=$(dnf -q repoquery --qf '%{version}-%{release}' --latest-limit 1 "$bin" | tail -1)
            ;;
    esac
    [ -n "$version" ] && [ "$version" != "(none)" ] || die "cannot tell which version of $src to fetch"
    echo "$version"
}

# Fetches, verifies and unpacks (patches applied) the source of `src` at `version` into `dest`.
fetch_source() { # source-package binary-package version dest
    local src="$1" bin="$2" version="$3" dest="$4" work
    work="$DEPS_DIR/src-$src"
    rm -rf "$work" "$dest"
    mkdir -p "$work"
    case "$(os_family)" in
        debian)
            ensure_deb_src "$src" "$bin" "$version"
            command -v dpkg-source >/dev/null 2>&1 || { $SUDO apt-get install -y -qq dpkg-dev >/dev/null; }
            log "fetching $src $version (apt-get source: hashes from the signed Sources index)"
            # apt fails if a downloaded file's size or hash differs from the signed index.
            (cd "$work" && apt-get source --download-only -qq "$src=$version" 2>&1 \
                | grep -v -e 'unsandboxed as root' -e '^W: ' >&2 || true)
            local dsc
            dsc=$(ls "$work"/"${src}"_*.dsc 2>/dev/null | head -1)
            [ -n "$dsc" ] || die "apt-get source fetched no $src .dsc"
            # dpkg-source checks every file against the .dsc's checksums and applies the patches.
            (cd "$work" && dpkg-source -x "$(basename "$dsc")" tree 2>&1 \
                | grep -v -e "cannot verify inline signature" -e "dpkg-source: info:" -e "extracting" -e 'unpacking' -e 'applying' -e 'gpgv:' \
                >&2 || true)
            [ -d "$work/tree" ] || die "dpkg-source could not unpack $src"
            mv "$work/tree" "$dest"
            ;;
        rpm)
            rpm -q dnf-plugins-core >/dev/null 2>&1 || rpm -q dnf-utils >/dev/null 2>&1 \
                || $SUDO dnf install -y -q dnf-plugins-core
            command -v rpmbuild >/dev/null 2>&1 || $SUDO dnf install -y -q rpm-build
            log "fetching $src $version (dnf download --source, then rpmkeys --checksig)"
            (cd "$work" && dnf download -q --source "$src-$version")
            local srpm
            srpm=$(ls "$work"/"$src"-*.src.rpm 2>/dev/null | head -1)
            [ -n "$srpm" ] || die "dnf download --source fetched no $src source RPM"
            # The distribution's keys, so the signature check below can succeed (and only them).
            for key in /etc/pki/rpm-gpg/RPM-GPG-KEY-*; do [ -f "$key" ] && $SUDO rpmkeys --import "$key"; done
            local check
            check=$(rpmkeys --checksig -v "$srpm")
            grep -qiE 'signature.*(OK)' <<< "$check" && ! grep -qiE 'NOKEY|BAD|NOT OK' <<< "$check" \
                || die "$(basename "$srpm") has no valid signature from a trusted key: $check"
            rpm -i --define "_topdir $work/rpmbuild" "$srpm" 2>/dev/null
            local tree="" spec="$work/rpmbuild/SPECS/$src.spec" sources="$work/rpmbuild/SOURCES"
            # %prep exactly as the spec has it (unpack, upstream signature check, patches)...
            if rpmbuild -bp --nodeps --define "_topdir $work/rpmbuild" "$spec" >"$work/prep.log" 2>&1; then
                tree=$(find "$work/rpmbuild/BUILD" -mindepth 1 -maxdepth 1 -type d -name "$src-*" | head -1)
            fi
            # ...or, where the build image lacks a macro %prep needs, what %autosetup -p1 does: the
            # upstream tarball (its checksum is covered by the package signature checked above),
            # then every PatchN in order.
            if [ -z "$tree" ]; then
                log "rpmbuild -bp failed ($(tail -1 "$work/prep.log")): unpacking and patching by hand"
                local tarball
                tarball=$(ls "$sources"/"$src"-*.tar.* 2>/dev/null | grep -v '\.asc$' | grep -v '\.sig$' | head -1)
                [ -n "$tarball" ] || die "no $src tarball in the source RPM"
                mkdir -p "$work/manual"
                tar -xf "$tarball" -C "$work/manual"
                tree=$(find "$work/manual" -mindepth 1 -maxdepth 1 -type d | head -1)
                [ -n "$tree" ] || die "the $src tarball holds no directory"
                local number file
                while read -r number file; do
                    (cd "$tree" && patch -p1 -s --fuzz=0 < "$sources/$file") || die "patch $file does not apply"
                done < <({ rpmspec -P "$spec" 2>/dev/null || cat "$spec"; } \
                    | sed -n 's/^Patch\([0-9]*\):[[:space:]]*\([^[:space:]]*\).*/\1 \2/p' | sort -n)
            fi
            [ -n "$tree" ] || die "no $src source tree"
            mv "$tree" "$dest"
            ;;
    esac
    rm -rf "$work"
}

# --- OpenSSL (only where the system has no static libraries) -----------------------------------

system_static_lib() { # name: prints the path of the system's libNAME.a, if any
    local dir
    for dir in $(cc -print-search-dirs | sed -n 's/^libraries: =//p' | tr ':' '\n'); do
        [ -f "$dir/lib$1.a" ] && { readlink -f "$dir/lib$1.a"; return 0; }
    done
    return 1
}

OPENSSL_PREFIX="$DEPS_DIR/openssl"
build_openssl() {
    if system_static_lib ssl >/dev/null && system_static_lib crypto >/dev/null; then
        OPENSSL_PREFIX=""
        return
    fi
    local bin version stamp
    case "$(os_family)" in debian) bin=libssl-dev ;; rpm) bin=openssl-libs ;; esac
    version=$(source_version openssl "$bin")
    stamp=$(stamp_of openssl "$version" "${OPENSSL_OPTIONS[@]}")
    if [ -f "$OPENSSL_PREFIX/lib/libcrypto.a" ] && [ "$(cat "$OPENSSL_PREFIX/.stamp" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    local tree="$DEPS_DIR/openssl-src" openssldir
    fetch_source openssl "$bin" "$version" "$tree"
    # Where the system's OpenSSL looks for openssl.cnf (the bootstraps never load it: libcurl is
    # built with --disable-openssl-auto-load-config).
    openssldir=$(openssl version -d 2>/dev/null | sed -n 's/^OPENSSLDIR: "\(.*\)"$/\1/p')
    log "building OpenSSL $version (static) into $OPENSSL_PREFIX"
    rm -rf "$OPENSSL_PREFIX"
    (cd "$tree" && ./Configure "${OPENSSL_OPTIONS[@]}" --prefix="$OPENSSL_PREFIX" --libdir=lib \
        --openssldir="${openssldir:-/etc/pki/tls}" >/dev/null \
        && make -s -j"$JOBS" build_libs >/dev/null && make -s install_dev >/dev/null)
    echo "$stamp" > "$OPENSSL_PREFIX/.stamp"
    rm -rf "$tree"
}

# --- curl ----------------------------------------------------------------------------------------

CURL_PREFIX="$DEPS_DIR/curl"
build_curl() {
    local bin version stamp
    case "$(os_family)" in debian) bin=libcurl4-openssl-dev ;; rpm) bin=libcurl-devel ;; esac
    if [ "$(os_family)" = debian ] && ! dpkg-query -W "$bin" >/dev/null 2>&1; then bin=curl; fi
    version=$(source_version curl "$bin")
    stamp=$(stamp_of curl "$version" "${CURL_OPTIONS[@]}" "openssl=${OPENSSL_PREFIX:-system}")
    if [ -f "$CURL_PREFIX/lib/libcurl.a" ] && [ "$(cat "$CURL_PREFIX/.stamp" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    local tree="$DEPS_DIR/curl-src" ssl=()
    fetch_source curl "$bin" "$version" "$tree"
    if [ -n "$OPENSSL_PREFIX" ]; then
        ssl=(--with-openssl="$OPENSSL_PREFIX")
        export PKG_CONFIG_PATH="$OPENSSL_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    fi
    log "building libcurl $version (static, HTTP/HTTPS only) into $CURL_PREFIX (1-3 minutes)"
    rm -rf "$CURL_PREFIX"
    (cd "$tree" \
        && ./configure --prefix="$CURL_PREFIX" "${CURL_OPTIONS[@]}" "${ssl[@]}" >/dev/null \
        && make -s -j"$JOBS" -C lib >/dev/null \
        && make -s -C lib install >/dev/null && make -s -C include install >/dev/null \
        && make -s install-pkgconfigDATA >/dev/null)
    [ -f "$CURL_PREFIX/lib/libcurl.a" ] || die "the libcurl build left no libcurl.a"
    rm -f "$CURL_PREFIX"/lib/*.la
    echo "$stamp" > "$CURL_PREFIX/.stamp"
    rm -rf "$tree"
}

# --- the link directory ----------------------------------------------------------------------
# .build-deps/link/lib holds only static archives (symbolic links): libcurl, libssl, libcrypto,
# libz and libstdc++; .build-deps/link/pkgconfig has libcurl.pc, libcrypto.pc and zlib.pc naming
# it. With PKG_CONFIG_PATH set to the latter, SwiftPM puts `-L .build-deps/link/lib` before the
# system directories, so `-lcurl -lssl -lcrypto -lz -lstdc++` all resolve to the archives (the
# linker takes the first directory that has either a .so or a .a) and the binary needs glibc only.
LINK_DIR="$DEPS_DIR/link"
link_dir() {
    local ssl crypto z stdcxx hint
    case "$(os_family)" in
        debian) hint="apt-get install libssl-dev zlib1g-dev libstdc++-12-dev" ;;
        rpm) hint="dnf install zlib-static libstdc++-static" ;;
    esac
    if [ -n "$OPENSSL_PREFIX" ]; then
        ssl="$OPENSSL_PREFIX/lib/libssl.a"; crypto="$OPENSSL_PREFIX/lib/libcrypto.a"
    else
        ssl=$(system_static_lib ssl); crypto=$(system_static_lib crypto)
    fi
    z=$(system_static_lib z) || die "no static zlib (libz.a): $hint"
    stdcxx=$(readlink -f "$(cc -print-file-name=libstdc++.a)")
    [ -f "$stdcxx" ] || die "no static libstdc++ (libstdc++.a): $hint"
    rm -rf "$LINK_DIR"
    mkdir -p "$LINK_DIR/lib" "$LINK_DIR/pkgconfig"
    ln -s "$CURL_PREFIX/lib/libcurl.a" "$LINK_DIR/lib/libcurl.a"
    ln -s "$ssl" "$LINK_DIR/lib/libssl.a"
    ln -s "$crypto" "$LINK_DIR/lib/libcrypto.a"
    ln -s "$z" "$LINK_DIR/lib/libz.a"
    ln -s "$stdcxx" "$LINK_DIR/lib/libstdc++.a"
    local ssl_cflags=""
    [ -n "$OPENSSL_PREFIX" ] && ssl_cflags="-I$OPENSSL_PREFIX/include"
    pc() { # name libs cflags
        printf '%s\n' "Name: $1" "Description: $1, static (scripts/build-deps.sh)" "Version: 0" \
            "Libs: -L$LINK_DIR/lib $2" "Cflags: $3" > "$LINK_DIR/pkgconfig/$1.pc"
    }
    pc libcurl "-lcurl -lssl -lcrypto -lz" "-I$CURL_PREFIX/include $ssl_cflags"
    pc libcrypto "-lcrypto" "$ssl_cflags"
    pc zlib "-lz" ""
}

# A C toolchain and make (the Swift toolchain needs the first anyway).
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
    case "$(os_family)" in
        debian) $SUDO apt-get install -y -qq make gcc >/dev/null ;;
        rpm) $SUDO dnf install -y -q make gcc ;;
    esac
fi
build_openssl
build_curl
link_dir

if [ "${1:-}" = "--print" ]; then
    echo "PKG_CONFIG_PATH=$LINK_DIR/pkgconfig"
fi
