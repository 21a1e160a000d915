#!/usr/bin/env bash
# Fuzzes the parsers that read outside input with libFuzzer and AddressSanitizer.
#
#   bash scripts/fuzz.sh                      # every target, 200000 runs each
#   bash scripts/fuzz.sh csv gzip --runs 1000000
#   bash scripts/fuzz.sh --runs 20000         # a smoke run
#   FUZZ_SEED=1 bash scripts/fuzz.sh --runs 20000   # the same smoke run every time (CI)
#   bash scripts/fuzz.sh --build-only
#   bash scripts/fuzz.sh --replay csv FILE... # run inputs (a crash, say) through a harness once
#
# The library targets are built in release with `-sanitize=fuzzer,address` in their own scratch
# path (.build-fuzz); each harness (Fuzz/Harnesses/<target>.swift with Support.swift) is linked
# against their objects with swiftc, outside the package's build graph. Each target starts from
# its committed seeds (Fuzz/corpus/<target>/) and keeps what it finds in .build-fuzz/fuzz/corpus/<target>/;
# crashes, time-outs and inputs that allocate too much are written to .build-fuzz/fuzz/findings/<target>/,
# the log to .build-fuzz/fuzz/<target>.log.
#
# Limits per run: -timeout (a hang), -rss_limit_mb and -malloc_limit_mb (unbounded allocation),
# -max_len (per target below). The script fails if any target finds a problem.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

ALL_TARGETS=(events jsonlines csv jsondoc gzip runtime-api aws-errors settings star-schema)
RUNS=200000
TIMEOUT=10
RSS_LIMIT_MB=1024
MALLOC_LIMIT_MB=256
SCRATCH=.build-fuzz
BUILD_ONLY=0
REPLAY=0
targets=()
replay_files=()

max_len() {
    case "$1" in
        jsonlines | csv | jsondoc | gzip) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --runs=*) RUNS="${1#--runs=}"; shift ;;
        --build-only) BUILD_ONLY=1; shift ;;
        --replay) REPLAY=1; shift ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *)
            if [ "$REPLAY" = 1 ] && [ ${#targets[@]} -eq 1 ]; then
                replay_files+=("$1")
            elif printf '%s\n' "${ALL_TARGETS[@]}" | grep -qx -- "$1"; then
                targets+=("$1")
            else
                echo "unknown target or option: $1 (targets: ${ALL_TARGETS[*]})" >&2
                exit 2
            fi
            shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

# 1. The libraries, instrumented.
LIBRARIES=(RecordReaders AWSCore LambdaRuntime Gzip StarSchema)
MODULES=(Primitives JSONCodec XMLCodec Gzip AWSSigV4 HTTPTransport AWSCore PipelineSettings RecordReaders LambdaRuntime Snappy Parquet StarSchema)
OUT="$SCRATCH/fuzz"
mkdir -p "$OUT/bin"
for library in "${LIBRARIES[@]}"; do
    echo "== swift build --target $library (release, -sanitize=fuzzer,address)"
    swift build -c release --scratch-path "$SCRATCH" --target "$library" -v \
        -Xswiftc -sanitize=fuzzer,address >"$OUT/build-$library.log" 2>&1 || {
        tail -40 "$OUT/build-$library.log" >&2
        exit 1
    }
    # SwiftPM names the package by its directory; the harnesses must use the same name to see
    # `package` declarations.
    name=$(grep -o -- '-package-name [A-Za-z0-9_]*' "$OUT/build-$library.log" | head -1 | cut -d' ' -f2 || true)
    [ -n "$name" ] && echo "$name" >"$OUT/package-name"
done
PACKAGE_NAME=$(cat "$OUT/package-name")
BUILD="$SCRATCH/release"
objects=()
for module in "${MODULES[@]}"; do
    for object in "$BUILD/$module.build/"*.o; do objects+=("$object"); done
done

# 2. One binary per harness.
for target in "${targets[@]}"; do
    binary="$OUT/bin/fuzz-$target"
    if [ ! -x "$binary" ] || [ -n "$(find Fuzz/Harnesses "${objects[@]}" -newer "$binary" -print -quit)" ]; then
        echo "== link fuzz-$target"
        swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 6 \
            -package-name "$PACKAGE_NAME" -module-name "FuzzHarness" \
            -I "$BUILD/Modules" -I Sources/CZlib -I Sources/CCurl -I Sources/CCrypto \
            Fuzz/Harnesses/Support.swift "Fuzz/Harnesses/$target.swift" "${objects[@]}" \
            -use-ld=lld -lz -lcurl -lcrypto -o "$binary"
    fi
done
[ "$BUILD_ONLY" = 0 ] || exit 0

flags=(-timeout="$TIMEOUT" -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB")
# FUZZ_SEED makes a run repeatable (CI's smoke run uses one); without it libFuzzer picks a seed.
if [ -n "${FUZZ_SEED:-}" ]; then flags+=(-seed="$FUZZ_SEED"); fi
# libFuzzer and AddressSanitizer report crashes themselves; Swift's backtracer would race them.
export SWIFT_BACKTRACE=enable=no
if [ "$REPLAY" = 1 ]; then
    exec "$OUT/bin/fuzz-${targets[0]}" "${flags[@]}" "${replay_files[@]}"
fi

# 3. Fuzz each target from its seeds.
summary=()
failed=0
for target in "${targets[@]}"; do
    corpus="$OUT/corpus/$target"
    artifacts="$OUT/findings/$target/"
    mkdir -p "$corpus" "$artifacts"
    log="$OUT/$target.log"
    echo "== fuzz $target: $RUNS runs, -max_len=$(max_len "$target") (log: $log)"
    status=0
    "$OUT/bin/fuzz-$target" "${flags[@]}" -runs="$RUNS" -max_len="$(max_len "$target")" \
        -artifact_prefix="$artifacts" -print_final_stats=1 -close_fd_mask=1 \
        "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    runs=$(grep 'stat::number_of_executed_units:' "$log" | awk '{print $2}' || true)
    rate=$(grep 'stat::average_exec_per_sec:' "$log" | awk '{print $2}' || true)
    seconds=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    if [ "$status" -ne 0 ]; then
        failed=1
        grep -E 'ERROR|invariant broken|Test unit written|Fatal error' "$log" | head -8 >&2 || true
        summary+=("$(printf '%-12s FAILED (exit %s) after %s runs; see %s' "$target" "$status" "${runs:-?}" "$log")")
    else
        summary+=("$(printf '%-12s %9s runs  %6s exec/s  %5s s  cov %s' "$target" "$runs" "$rate" "$seconds" "$cov")")
    fi
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
