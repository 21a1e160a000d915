#!/usr/bin/env bash
# Builds the deployable binaries in release, everything but glibc linked statically, with the same
# script the Dockerfile's build stage runs (scripts/build-lambdas.sh), and checks them:
#  - none links libFoundation*.so or ICU (nor the Swift runtime dynamically);
#  - each needs only glibc's shared libraries (libc, libm, ld-linux...): libcurl, OpenSSL, zlib,
#    libstdc++ and libgcc are linked in;
#  - the highest GLIBC_ symbol version is at most 2.34 (Lambda's provided.al2023);
#  - every shared library a Lambda bootstrap needs (objdump NEEDED) maps, through the table
#    below, to an Amazon Linux 2023 package that its final stage in docker/Dockerfile installs
#    (or that the base image has), and that stage copies the bootstrap from the build stage;
#  - the release libcurl verifies TLS: the release awssign completes a request to a loopback
#    HTTPS server (python3's ssl, a fresh self-signed certificate) with that certificate as
#    SSL_CERT_FILE, and fails with TLSFailure with another bundle or a missing one;
#  - prints each binary's size, highest glibc version and the shared libraries it needs.
# No Docker engine is needed: the Dockerfile is read, not run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
MAX_GLIBC="2.34"
SCRATCH="${SCRATCH:-.build-release}"
export SCRATCH
OUT_DIR="${OUT_DIR:-$SCRATCH/lambdas}"
DOCKERFILE="${DOCKERFILE:-docker/Dockerfile}"
# Checked like the bootstraps for Foundation and glibc, but not shipped in an image.
read -r -a OTHER_PRODUCTS <<< "${OTHER_PRODUCTS:-awssign}"
# The stage whose packages a bootstrap without a stage of its own (probe-lambda) is checked against.
RUNTIME_STAGE="lambda-runtime"

# Shared library (soname) -> the Amazon Linux 2023 package that provides it. Only glibc's: any
# other library a binary needs is a failure of the static link (scripts/build-lambdas.sh).
declare -A PACKAGE_OF=(
    [libc.so.6]=glibc [libm.so.6]=glibc [libpthread.so.0]=glibc [libdl.so.2]=glibc
    [librt.so.1]=glibc [libutil.so.1]=glibc
    [ld-linux-x86-64.so.2]=glibc [ld-linux-aarch64.so.1]=glibc
)
# What a bootstrap needs at run time besides its NEEDED libraries: the CA bundle that
# CurlTransport.locateCABundle finds (/etc/pki/tls/certs/ca-bundle.crt on Amazon Linux), and
# libgcc_s.so.1, which glibc dlopens itself when the main thread calls pthread_exit (Swift's async
# main does, in dispatch_main) and aborts without.
RUNTIME_FILES_PACKAGES="ca-certificates libgcc"
# What public.ecr.aws/lambda/provided:al2023 has without installing anything.
BASE_IMAGE_PACKAGES="glibc"

ALSO_BUILD="${OTHER_PRODUCTS[*]}" bash scripts/build-lambdas.sh "$OUT_DIR"
bin_dir=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

# "stage parent package..." for each stage of the Dockerfile: the packages its `dnf install`
# lines name (continuation lines joined, options dropped).
stage_table=$(awk '
    function flush() { if (stage != "") print stage, parent, pkgs }
    { line = $0 }
    /\\$/ { sub(/\\$/, "", line); held = held line " "; next }
    { line = held line; held = "" }
    toupper(line) ~ /^[ \t]*FROM / {
        flush()
        n = split(line, w, /[ \t]+/); stage = ""; parent = ""; pkgs = ""
        for (i = 1; i <= n; i++) {
            if (toupper(w[i]) == "FROM") parent = w[i + 1]
            if (toupper(w[i]) == "AS") stage = w[i + 1]
        }
        next
    }
    toupper(line) ~ /^[ \t]*RUN / {
        n = split(line, w, /[ \t]+/); installing = 0
        for (i = 1; i <= n; i++) {
            if (w[i] == "&&" || w[i] == ";" || w[i] == "||") { installing = 0; continue }
            if ((w[i] == "dnf" || w[i] == "microdnf") && w[i + 1] == "install") { installing = 1; i++; continue }
            if (installing && w[i] !~ /^-/ && w[i] != "") pkgs = pkgs " " w[i]
        }
    }
    END { flush() }
' "$DOCKERFILE")

# The packages a stage installs, its parent stages' included.
stage_packages() {
    local stage="$1" row parent
    row=$(awk -v s="$stage" '$1 == s' <<< "$stage_table")
    [ -n "$row" ] || return 1
    parent=$(awk '{print $2}' <<< "$row")
    awk '{for (i = 3; i <= NF; i++) print $i}' <<< "$row"
    if awk -v s="$parent" '$1 == s {found = 1} END {exit !found}' <<< "$stage_table"; then
        stage_packages "$parent"
    fi
}

status=0
fail() { echo "check-binaries: $*" >&2; status=1; }

check_common() { # binary-name file
    local p="$1" file="$2" glibc lib
    if ldd "$file" | grep -q -E 'libFoundation|libicu|lib_FoundationICU|libswiftCore'; then
        fail "$p links Foundation, ICU or the Swift runtime dynamically"
    fi
    for lib in $(objdump -p "$file" | awk '/NEEDED/ {print $2}'); do
        [ "${PACKAGE_OF[$lib]:-}" = glibc ] \
            || fail "$p needs $lib: release binaries link everything but glibc statically (scripts/build-lambdas.sh)"
    done
    glibc=$(objdump -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
    if [ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
        fail "$p needs GLIBC_$glibc, above $MAX_GLIBC (Lambda provided.al2023):"
        objdump -T "$file" | grep -E "GLIBC_$glibc" >&2 || true
    fi
    # Direct dependencies (what the image must provide); ldd would add their own dependencies.
    printf '%-18s %10s  %-8s %s\n' "$p" "$(stat -c %s "$file")" "$glibc" \
        "$(objdump -p "$file" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')"
}

check_image() { # product bootstrap
    local p="$1" file="$2" stage="$1" installed lib pkg
    if ! grep -qE "^[[:space:]]*FROM[[:space:]].*[[:space:]][Aa][Ss][[:space:]]+$p[[:space:]]*$" "$DOCKERFILE"; then
        case "$p" in
            *-lambda) [ "$p" = probe-lambda ] || { fail "$DOCKERFILE has no stage named $p"; return; } ;;
        esac
        stage="$RUNTIME_STAGE"
    elif ! awk -v s="$p" '
            toupper($1) == "FROM" { inside = (tolower($(NF - 1)) == "as" && $NF == s) }
            inside && toupper($1) == "COPY" && /--from=build/ && index($0, "/out/" s "/bootstrap") { ok = 1 }
            END { exit !ok }' "$DOCKERFILE"; then
        fail "stage $p of $DOCKERFILE does not COPY --from=build /out/$p/bootstrap"
    fi
    if ! installed=$(stage_packages "$stage"); then
        fail "$DOCKERFILE has no stage named $stage"
        return
    fi
    installed="$installed $BASE_IMAGE_PACKAGES"
    for pkg in $RUNTIME_FILES_PACKAGES; do
        grep -qxF -- "$pkg" <<< "$(tr ' ' '\n' <<< "$installed")" \
            || fail "$p needs the package $pkg at run time, which stage $stage of $DOCKERFILE does not install"
    done
    for lib in $(objdump -p "$file" | awk '/NEEDED/ {print $2}'); do
        pkg="${PACKAGE_OF[$lib]:-}"
        if [ -z "$pkg" ]; then
            fail "$p needs $lib, which the table in scripts/check-binaries.sh maps to no package"
        elif ! grep -qxF -- "$pkg" <<< "$(tr ' ' '\n' <<< "$installed")"; then
            fail "$p needs $lib (package $pkg), which stage $stage of $DOCKERFILE does not install"
        fi
    done
}

# The release binaries' libcurl is the static one scripts/build-deps.sh builds, which the tests
# (debug builds, system libcurl) never run: check with the release awssign that it speaks TLS,
# verifies the peer against the bundle CurlTransport finds (SSL_CERT_FILE here), and fails closed
# with a bundle that does not trust the server or with none at all.
check_tls() {
    local work port awssign="$bin_dir/awssign" out
    work=$(mktemp -d)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    python3 -c '
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "8"); self.end_headers(); self.wfile.write(b"verified")
    def log_message(self, *args): pass
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, *args): pass
server = Server(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True); server.serve_forever()
' "$work/cert.pem" "$work/key.pem" > "$work/port" &
    local server=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
    port=$(cat "$work/port")
    tls_get() { # SSL_CERT_FILE value
        env SSL_CERT_FILE="$1" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example AWS_REGION=eu-west-2 \
            "$awssign" --service s3 "https://127.0.0.1:$port/probe" 2>&1
    }
    if ! out=$(tls_get "$work/cert.pem") || ! grep -q verified <<< "$out"; then
        fail "release awssign did not complete a verified TLS request with SSL_CERT_FILE set: $out"
    fi
    for bundle in /etc/ssl/certs/ca-certificates.crt "$work/absent.pem"; do
        [ "$bundle" = "$work/absent.pem" ] || [ -f "$bundle" ] || continue
        if out=$(tls_get "$bundle") || ! grep -q TLSFailure <<< "$out"; then
            fail "release awssign accepted a self-signed server with SSL_CERT_FILE=$bundle: $out"
        fi
    done
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
    [ $status -eq 0 ] && echo "check-binaries: release TLS verifies (trusted bundle: ok; untrusted or missing bundle: TLSFailure)"
}
if [[ " ${OTHER_PRODUCTS[*]} " == *" awssign "* ]]; then check_tls; fi

printf '%-18s %10s  %-8s %s\n' binary bytes glibc "shared libraries (NEEDED)"
for dir in "$OUT_DIR"/*/; do
    p=$(basename "$dir")
    check_common "$p" "$dir/bootstrap"
    check_image "$p" "$dir/bootstrap"
done
for p in "${OTHER_PRODUCTS[@]}"; do
    check_common "$p" "$bin_dir/$p"
done
[ $status -eq 0 ] && echo "check-binaries: all binaries pass (glibc <= $MAX_GLIBC, only glibc's shared libraries, no Foundation/ICU, every NEEDED library, the CA bundle and libgcc_s installed by its image stage)"
exit $status
