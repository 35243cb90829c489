#!/usr/bin/env bash
# Installs, from Debian's packages only, what lhttp-qt needs to build and run.
# Sourced by run.sh and test.sh; safe to run again (apt-get skips what is installed).
set -euo pipefail

LHTTP_BUILD_PACKAGES=(
    cmake ninja-build g++ pkg-config clang-format
    qt6-base-dev qt6-websockets-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev
    libnats-dev libedit-dev libsystemd-dev help2man
)
LHTTP_TEST_PACKAGES=(nats-server systemd xvfb openssl procps chromium golang-go golang-github-gorilla-websocket-dev
                     nginx-light curl groff-base desktop-file-utils appstream)
# The Debian packages (scripts/package.sh): dpkg-shlibdeps for the dependencies, lintian; and
# for its clean-root check (--clean-root) mmdebstrap, curl, systemd-analyze and systemd-nspawn.
LHTTP_PACKAGE_PACKAGES=(dpkg-dev file lintian)
LHTTP_CLEAN_ROOT_PACKAGES=(mmdebstrap curl systemd systemd-container)
# The libFuzzer targets (scripts/fuzz.sh, tests/fuzz): clang with libFuzzer and the sanitizer
# runtimes. test.sh installs them unless LHTTP_FUZZ=0.
LHTTP_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

lhttp_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node.js and npm for the browser tests (tests/browser): Debian's nodejs and npm, unless a
# node and npm are already on PATH (another packaging of Node.js conflicts with Debian's npm).
lhttp_install_node() {
    if command -v node >/dev/null && command -v npm >/dev/null; then
        return 0
    fi
    lhttp_install nodejs npm
}
