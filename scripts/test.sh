#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build with -Werror, run the
# whole suite, a short soak and a bounded fuzz pass, then build and run the threaded
# integration tests under ThreadSanitizer and the whole suite under ASan+UBSan. On a 2-core
# machine the soak and fuzz parts add about 2 minutes (66 s + 61 s measured, the fuzz build
# included; docs/RELIABILITY.md, "Fuzzing" and "Soak"), the TSan pass about 7 (its build
# included; "Sanitizers").
#   LHTTP_SANITIZERS=0  skip both sanitizer passes
#   LHTTP_TSAN=0        skip the ThreadSanitizer pass only (the tsan preset: lhttpd-qt and
#                       the tests that run nodes, with and without LHTTP_THREADS=4)
#   LHTTP_SOAK=0        skip the short soak (scripts/soak.sh --short on build/ci, about 70 s)
#   LHTTP_PACKAGE=0     skip the packages (scripts/package.sh: release build, cpack, lintian
#                       and, as root, the clean Debian 12 root install check; about 5 minutes)
#   LHTTP_FUZZ=0        skip the fuzz pass (scripts/fuzz.sh: clang build in build/fuzz, then
#                       each libFuzzer target for LHTTP_FUZZ_SECONDS, default 15, two at a time
#                       unless LHTTP_FUZZ_JOBS says otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
fuzz_packages=()
[ "${LHTTP_FUZZ:-1}" = 0 ] || fuzz_packages=("${LHTTP_FUZZ_PACKAGES[@]}")
lhttp_install "${LHTTP_BUILD_PACKAGES[@]}" "${LHTTP_TEST_PACKAGES[@]}" "${fuzz_packages[@]}"
lhttp_install_node

echo "== format check (.clang-format)"
mapfile -t sources < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find lib app gui tests -name '*.cpp' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"

echo "== npm packages for the browser tests (tests/browser/package-lock.json)"
(cd tests/browser && npm ci --no-audit --no-fund)

run_preset() {
    local preset=$1
    echo "== build ($preset)"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
    echo "== test ($preset)"
    ctest --preset "$preset" -j2
}

run_preset ci
if [ "${LHTTP_SOAK:-1}" != 0 ]; then
    echo "== soak (short, build/ci)"
    scripts/soak.sh --short --no-build
fi
if [ "${LHTTP_PACKAGE:-1}" != 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        scripts/package.sh --clean-root
    else
        scripts/package.sh
        echo "(the clean-root install check needs root: skipped)"
    fi
fi
if [ "${LHTTP_FUZZ:-1}" != 0 ]; then
    echo "== fuzz (${LHTTP_FUZZ_SECONDS:-15} s per target)"
    LHTTP_FUZZ_JOBS=${LHTTP_FUZZ_JOBS:-2} scripts/fuzz.sh "${LHTTP_FUZZ_SECONDS:-15}"
fi
if [ "${LHTTP_SANITIZERS:-1}" != 0 ] && [ "${LHTTP_TSAN:-1}" != 0 ]; then
    echo "== build (tsan)"
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan
    echo "== test (tsan)"
    # The preset writes every process's reports (lhttpd-qt children too, whose exit status a
    # test may not look at) to build/tsan/reports/tsan.PID: any file there fails the pass.
    rm -rf build/tsan/reports
    mkdir -p build/tsan/reports
    tsan_status=0
    ctest --preset tsan -j2 || tsan_status=$?
    if compgen -G "build/tsan/reports/tsan.*" >/dev/null; then
        echo "== ThreadSanitizer reports (build/tsan/reports)"
        cat build/tsan/reports/tsan.*
        tsan_status=1
    fi
    [ "$tsan_status" = 0 ] || exit "$tsan_status"
fi
if [ "${LHTTP_SANITIZERS:-1}" != 0 ]; then
    run_preset asan
fi
echo "all test passes finished"
