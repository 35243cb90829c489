#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build/fuzz and runs each one for
# SECONDS (default 60) on a copy of its committed corpus (tests/fuzz/corpus/<target>/).
# Fails if any target crashes, leaks, trips a sanitizer or breaks an invariant; the input that
# did it is kept in build/fuzz/artifacts/<target>/ (replay: build/fuzz/tests/fuzz/<target> FILE).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   LHTTP_FUZZ_JOBS=N    run N targets at once (default 1; each uses one core)
#   LHTTP_FUZZ_ARGS=...  extra libFuzzer flags, e.g. "-max_len=8192 -dict=..."
#   LHTTP_FUZZ_BUILD_JOBS=N  parallel compile jobs for the build (default: nproc)
#
# CI (scripts/test.sh) runs `LHTTP_FUZZ_JOBS=2 scripts/fuzz.sh 15`: about 1 minute on 2 cores,
# the build included.
#
# Longer runs: docs/RELIABILITY.md ("Running the fuzzers longer"). New inputs found go to
# build/fuzz/corpus/<target>/, never into the committed corpus; merge worthwhile ones by hand
# with `-merge=1`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_message fuzz_multipart fuzz_channelname fuzz_token fuzz_httphead fuzz_history fuzz_presence)
case $seconds in '' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac

command -v clang++ >/dev/null || {
    echo "fuzz: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
}

build=build/fuzz
echo "== fuzz: configure and build ($build, clang)"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DLHTTP_FUZZ=ON -DLHTTP_BUILD_GUI=OFF -DLHTTP_BUILD_TESTS=OFF -DLHTTP_WERROR=ON >/dev/null
cmake --build "$build" --parallel "${LHTTP_FUZZ_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"

# Sanitizer reports are crashes; leaks too (libFuzzer checks them per input).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_target() {
    local t=$1
    local work=$build/corpus/$t artifacts=$build/artifacts/$t log=$build/logs/$t.log
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    # The committed corpus is read only: libFuzzer writes what it finds to the first
    # directory, so that is the work copy; the committed seeds come second.
    # shellcheck disable=SC2086
    if "$build/tests/fuzz/$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${LHTTP_FUZZ_ARGS:-} >"$log" 2>&1; then
        local runs
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz: $t ok, $runs runs in ${seconds}s ($(grep -o 'cov: [0-9]*' "$log" | tail -1 || true))"
    else
        echo "fuzz: $t FAILED; log $log, input kept in $artifacts/:" >&2
        ls -1 "$artifacts" >&2 || true
        grep -E -A40 'ERROR: |invariant failed|runtime error|ASSERT|deadly signal' "$log" | head -80 >&2
        return 1
    fi
}

[ "$seconds" -gt 0 ] || exit 0
echo "== fuzz: ${#targets[@]} targets, ${seconds}s each"
failed=0
jobs=${LHTTP_FUZZ_JOBS:-1}
pids=()
for t in "${targets[@]}"; do
    run_target "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || failed=1
done
[ $failed -eq 0 ] || { echo "fuzz: failures (see above)" >&2; exit 1; }
echo "fuzz: all targets passed"
