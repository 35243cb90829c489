#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build with -Werror, run the
# whole suite, a short soak and a bounded fuzz pass, then build and run the suite again under
# ASan+UBSan. On a 2-core machine the soak and fuzz parts add about 2 minutes (66 s + 61 s
# measured, the fuzz build included; docs/RELIABILITY.md, "Fuzzing" and "Soak").
#   LHTTP_SANITIZERS=0  skip the sanitizer pass
#   LHTTP_SOAK=0        skip the short soak (scripts/soak.sh --short on build/ci, about 70 s)
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
if [ "${LHTTP_FUZZ:-1}" != 0 ]; then
    echo "== fuzz (${LHTTP_FUZZ_SECONDS:-15} s per target)"
    LHTTP_FUZZ_JOBS=${LHTTP_FUZZ_JOBS:-2} scripts/fuzz.sh "${LHTTP_FUZZ_SECONDS:-15}"
fi
if [ "${LHTTP_SANITIZERS:-1}" != 0 ]; then
    run_preset asan
fi
echo "all test passes finished"
