#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build, start lhttpd-qt on
# port 8081 with the embedded message bus (no NATS). Extra arguments go to lhttpd-qt.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
lhttp_install "${LHTTP_BUILD_PACKAGES[@]}"
cmake --preset default >/dev/null
cmake --build --preset default --target lhttpd-qt
exec build/default/app/lhttpd/lhttpd-qt "$@"
