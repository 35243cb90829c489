#!/usr/bin/env bash
# Regenerates docs/admin-console.png, the picture of lhttp-admin in docs/ADMIN.md and the
# README: a headless lhttpd-qt with an admin token, a small live load on it (admin-loadgen:
# subscribers over a few channels and a publisher), and lhttp-admin attached to it, drawn with
# the offscreen platform (no display needed) and saved after a few seconds of traffic.
#
# Usage: scripts/admin-screenshot.sh [--build DIR] [--out FILE] [--tab NAME] [--size WxH]
#                                    [--clients N] [--channels N] [--delay MS] [--lang LOCALE]
#                                    [--no-build]
#   --build DIR  build directory (default build/admin-load; configured as Release if new)
#   --no-build   use the binaries already in DIR
#   --tab NAME   traffic (default), connections or channels
# Every process it starts is stopped on exit, by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/admin-load
out=docs/admin-console.png
tab=traffic
size=1400x860
clients=60
channels=6
delay=8000
lang=en
do_build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tab) tab=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --channels) channels=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --lang) lang=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "admin-screenshot: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$do_build" = 1 ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$build" --target lhttp-admin lhttpd-qt admin-loadgen
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port: the first one nothing answers on.
port=18300
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
done
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

"$build/app/lhttpd/lhttpd-qt" --listen 127.0.0.1 --port "$port" --admin-token "$token" \
    --log-level warning &
pids+=($!)
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# Enough seconds of load to outlast the screenshot's delay.
seconds=$((delay / 1000 + 10))
"$build/tests/admin-loadgen" "ws://127.0.0.1:$port/" "$clients" "$channels" "$seconds" \
    >"$work/load.log" &
pids+=($!)

# The console's settings go to a scratch directory, not the user's.
XDG_CONFIG_HOME="$work" QT_QPA_PLATFORM=offscreen "$build/gui/lhttp-admin" \
    --attach "ws://127.0.0.1:$port/admin" --token "$token" --lang "$lang" --tab "$tab" \
    --size "$size" --screenshot "$out" --screenshot-delay "$delay"
