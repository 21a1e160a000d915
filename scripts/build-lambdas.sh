#!/usr/bin/env bash
# Builds the Lambda bootstraps in release and copies each to OUT_DIR/<product>/bootstrap. The
# Dockerfile's build stage runs this script; so does CI (scripts/check-binaries.sh), which then
# checks what it built.
#
#   scripts/build-lambdas.sh [OUT_DIR]          (default: out/lambdas)
#
# Everything but glibc is linked statically, so a bootstrap starts without the dynamic loader
# resolving ~35 libraries (Debian's libcurl alone drags in gnutls, krb5, ldap, ...): the Swift
# standard library (--static-swift-stdlib), a minimal libcurl, OpenSSL, zlib and libstdc++ (from
# scripts/build-deps.sh, which builds libcurl once into .build-deps/ and prints the pkg-config
# path that makes `-lcurl -lssl -lcrypto -lz -lstdc++` resolve to static archives), and libgcc's
# unwinder (-static-libgcc). Debug and test builds are untouched: they use the system libcurl.
#
# Each bootstrap is stripped; its symbols and debug information stay in
# OUT_DIR/<product>/bootstrap.debug.
#
# The products are the package's executable products among LAMBDA_PRODUCTS (the three handlers
# and probe-lambda, which has the handlers' set-up); those the package does not declare yet are
# named and skipped. It fails if none is declared, and with REQUIRE_HANDLERS=1 (the Dockerfile
# sets it) if any of the three handlers is missing. SCRATCH is the build directory
# (default .build-release, which check-binaries.sh shares so nothing is built twice).
# ALSO_BUILD names more products to build the same way without copying them (check-binaries.sh
# checks awssign so).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

OUT_DIR="${1:-out/lambdas}"
SCRATCH="${SCRATCH:-.build-release}"
HANDLERS=(dropbox-lambda ingest-lambda processing-lambda)
read -r -a WANTED <<< "${LAMBDA_PRODUCTS:-${HANDLERS[*]} probe-lambda}"

# The executable products the manifest declares, one a line.
declared=$(swift package --scratch-path "$SCRATCH" dump-package | python3 -c '
import json, sys
for product in json.load(sys.stdin)["products"]:
    if "executable" in product["type"]:
        print(product["name"])
')

products=()
missing=()
for p in "${WANTED[@]}"; do
    if grep -qxF -- "$p" <<< "$declared"; then products+=("$p"); else missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-lambdas: not declared in Package.swift yet, skipped: ${missing[*]}" >&2
fi
if [ ${#products[@]} -eq 0 ]; then
    echo "build-lambdas: none of ${WANTED[*]} is an executable product of this package" >&2
    exit 1
fi
if [ "${REQUIRE_HANDLERS:-0}" = 1 ]; then
    for h in "${HANDLERS[@]}"; do
        if ! grep -qxF -- "$h" <<< "$declared"; then
            echo "build-lambdas: the handler product $h is missing; the image needs all of ${HANDLERS[*]}" >&2
            exit 1
        fi
    done
fi

deps=$(bash scripts/build-deps.sh --print)
PKG_CONFIG_PATH=$(sed -n 's/^PKG_CONFIG_PATH=//p' <<< "$deps")
[ -n "$PKG_CONFIG_PATH" ] || { echo "build-lambdas: scripts/build-deps.sh printed no PKG_CONFIG_PATH" >&2; exit 1; }
export PKG_CONFIG_PATH
# --disable-local-rpath: no RUNPATH $ORIGIN, which would make the loader probe ~20 absent paths
# beside the bootstrap for libc and libm on every start.
STATIC_FLAGS=(--static-swift-stdlib -Xswiftc -Xclang-linker -Xswiftc -static-libgcc --disable-local-rpath)
# LAMBDA_PIE=0 links a position-dependent executable: ~45,000 fewer relocations and half the page
# faults at start (measured: 3.7 -> 3.0 ms CPU to the first GET /next), at the price of a fixed
# address for the bootstrap's own code (no ASLR for it). The default keeps PIE.
if [ "${LAMBDA_PIE:-1}" = 0 ]; then STATIC_FLAGS+=(-Xswiftc -Xclang-linker -Xswiftc -no-pie); fi
read -r -a also <<< "${ALSO_BUILD:-}"
for p in "${products[@]}" "${also[@]}"; do
    echo "build-lambdas: building $p (release; static: Swift stdlib, libcurl, OpenSSL, zlib, libstdc++, libgcc)"
    swift build -c release "${STATIC_FLAGS[@]}" --scratch-path "$SCRATCH" --product "$p"
done

bin_dir=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
for p in "${WANTED[@]}"; do rm -rf "${OUT_DIR:?}/$p"; done   # no stale bootstrap survives
# Stripped (about 40% smaller; the image is what Lambda fetches on a cold start), with the symbols
# and debug information kept beside it in bootstrap.debug (gdb and addr2line find it through the
# .gnu_debuglink section). Sections the Swift runtime reads are allocated and stay.
for p in "${products[@]}"; do
    mkdir -p "$OUT_DIR/$p"
    objcopy --only-keep-debug "$bin_dir/$p" "$OUT_DIR/$p/bootstrap.debug"
    strip --strip-all -o "$OUT_DIR/$p/bootstrap" "$bin_dir/$p"
    (cd "$OUT_DIR/$p" && objcopy --add-gnu-debuglink=bootstrap.debug bootstrap)
    chmod 0755 "$OUT_DIR/$p/bootstrap"
    echo "build-lambdas: $OUT_DIR/$p/bootstrap ($(stat -c %s "$OUT_DIR/$p/bootstrap") bytes; symbols in bootstrap.debug)"
done
