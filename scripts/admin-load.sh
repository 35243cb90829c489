#!/usr/bin/env bash
# The admin console's acceptance measurement (docs/ADMIN.md, "Responsiveness under load"):
# starts a headless lhttpd-qt with an admin token, attaches a real lhttp-admin main window to it
# (offscreen unless a display is set), then loads the node with 1,000 subscribers over 100
# channels and one publisher at full speed (admin-loadgen, a process of its own), and measures
# the console's event-loop latency as the lateness of a 10 ms timer. Prints the node's message
# rates, the batches the console got and the latency median / p99 / max; fails if the max
# reaches the limit (100 ms) or fewer than 2 batches a second reached the console.
#
# Usage: scripts/admin-load.sh [--build DIR] [--clients N] [--channels N] [--seconds N]
#                              [--rate N] [--nice N] [--max-ms N] [--no-build]
#   --build DIR   build directory (default build/admin-load, configured as Release if new)
#   --rate N      publish N messages/s instead of full speed; each reaches clients/channels
#                 subscribers (10,000 clients on 100 channels at --rate 500: 50,000 deliveries/s)
#   --nice N      run the node and the load at nice N (default 10): on a real deployment they
#                 are another machine; here they share the console's cores
#   --no-build    use the binaries already in DIR
# Every process it starts is stopped by the test itself (QProcess, by PID). The load opens all
# its connections from 127.0.0.1 (one descriptor each, in the load and in the node): up to about
# the descriptor limit, and the ephemeral port range, per run.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/admin-load
clients=1000
channels=100
seconds=20
niceness=10
max_ms=100
rate=0
do_build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --channels) channels=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    --max-ms) max_ms=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "admin-load: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$do_build" = 1 ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$build" --target tst_adminload admin-loadgen lhttpd-qt
fi

# 1,000 client sockets plus the node's: more than the usual soft limit of 1,024 descriptors
# (the test's processes inherit the raised limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

export LHTTP_ADMIN_LOAD=1
export LHTTPD_BIN="$build/app/lhttpd/lhttpd-qt"
export ADMIN_LOADGEN_BIN="$build/tests/admin-loadgen"
export LHTTP_LOAD_CLIENTS=$clients LHTTP_LOAD_CHANNELS=$channels LHTTP_LOAD_SECONDS=$seconds
export LHTTP_LOAD_NICE=$niceness LHTTP_LOAD_MAX_MS=$max_ms LHTTP_LOAD_RATE=$rate
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
fi
echo "admin-load: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), build $build"
"$build/tests/tst_adminload" -maxwarnings 0 2>&1 | grep -v -E '^(QDEBUG|QINFO|QWARN) |propagateSizeHints'
