#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build with -Werror, run the
# whole suite, then build and run it again under ASan+UBSan.
#   LHTTP_SANITIZERS=0  skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
lhttp_install "${LHTTP_BUILD_PACKAGES[@]}" "${LHTTP_TEST_PACKAGES[@]}"
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
if [ "${LHTTP_SANITIZERS:-1}" != 0 ]; then
    run_preset asan
fi
echo "all test passes finished"
