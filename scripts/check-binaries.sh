#!/usr/bin/env bash
# Builds the deployable binaries in release with the static Swift standard library (the same
# command the Dockerfile runs) and checks them:
#  - none links libFoundation*.so or ICU (nor the Swift runtime dynamically);
#  - the highest GLIBC_ symbol version is at most 2.34 (Lambda's provided.al2023);
#  - prints each binary's size and the shared libraries it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
PRODUCTS=(${PRODUCTS:-awssign probe-lambda dropbox-lambda processing-lambda} ingest-lambda)
MAX_GLIBC="2.34"
SCRATCH="${SCRATCH:-.build-release}"

for p in "${PRODUCTS[@]}"; do
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product "$p"
done
bin="$SCRATCH/release"

status=0
printf '%-12s %10s  %-8s %s\n' binary bytes glibc "shared libraries"
for p in "${PRODUCTS[@]}"; do
    file="$bin/$p"
    # Direct dependencies (what the image must provide); ldd would add their own dependencies.
    libs=$(objdump -p "$file" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')
    glibc=$(objdump -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
    size=$(stat -c %s "$file")
    printf '%-12s %10s  %-8s %s\n' "$p" "$size" "$glibc" "$libs"
    if ldd "$file" | grep -q -E 'libFoundation|libicu|lib_FoundationICU|libswiftCore'; then
        echo "check-binaries: $p links Foundation or ICU: $libs" >&2
        status=1
    fi
    if [ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
        echo "check-binaries: $p needs GLIBC_$glibc, above $MAX_GLIBC (Lambda provided.al2023):" >&2
        objdump -T "$file" | grep -E "GLIBC_$glibc" >&2 || true
        status=1
    fi
done
exit $status
