#!/usr/bin/env bash
# Chat-like benchmarks (issue 13; docs/BENCHMARKS.md, "Chat-like workloads"): lhttpd-qt, the
# Qt floor (lhttp-bench reference) and nats-server over WebSocket, driven by lhttp-bench and by
# the Go client (app/bench/goclient, gorilla/websocket), in one `lhttp-bench compare` run with
# the servers in rotating order round after round:
#   paced1000   1,000 subscribers on one channel, 1 publisher x 100 msg/s
#   rooms       10,000 subscribers in 1,000 rooms of 10, 20 publishers x 200 msg/s
#   connect10k  10,000 clients connect and subscribe
#   maxrate     the highest paced rate with p99 < 50 ms and nothing lost (rooms layout)
#   idlecpu     5,000 connections at rest (each server's pings), 1 msg/s, server CPU over 60 s
#   fanout100, fanout1000, stream10, latency1000   the burst workloads of issue 8
# and prints one table per kind (deliveries/s, latency, server CPU per delivery, server write
# calls per delivery, connect time and CPU, max rate, CPU at rest).
#
# Usage: scripts/bench-chat.sh [--build DIR] [--rounds N] [--workloads LIST] [--scale F]
#            [--chat-connections N] [--lhttpd-args 'FLAGS'] [--lhttpd-variant 'LABEL=FLAGS']...
#            [--no-go] [--no-install] [-- more lhttp-bench compare flags]
#   --lhttpd-args  extra flags for every lhttpd-qt leg, passed through unchecked, e.g.
#                  --lhttpd-args '--event-loop epoll'
#   --lhttpd-variant  lhttpd-qt legs once per variant, labelled "lhttpd-qt LABEL"; repeat it,
#                  e.g. --lhttpd-variant 't1=--threads 1' --lhttpd-variant 't2=--threads 2'
#   --no-install   do not apt-get anything (by default: nats-server, linux-perf, golang-go,
#                  golang-github-gorilla-websocket-dev and the build dependencies)
# Every measurement holds /tmp/lhttp-measure.lock. Every process is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/ci
rounds=3
workloads=paced1000,rooms,connect10k,maxrate,idlecpu,fanout100,fanout1000,stream10,latency1000
scale=1
chat_connections=10000
lhttpd_args=
variants=()
go=1
install=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --chat-connections) chat_connections=$2; shift 2 ;;
    --lhttpd-args) lhttpd_args=$2; shift 2 ;;
    --lhttpd-variant) variants+=("--lhttpd-variant=$2"); shift 2 ;;
    --no-go) go=0; shift ;;
    --no-install) install=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-chat: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$install" = 1 ]; then
    # shellcheck source=deps.sh
    source scripts/deps.sh
    lhttp_install "${LHTTP_BUILD_PACKAGES[@]}" nats-server linux-perf
    [ "$go" = 1 ] && lhttp_install golang-go golang-github-gorilla-websocket-dev
fi

if [ ! -f "$build/build.ninja" ]; then
    if [ "$build" = build/ci ]; then
        cmake --preset ci >/dev/null
    else
        cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
fi
cmake --build "$build" --target lhttpd-qt lhttp-bench >/dev/null
bench=$build/app/bench/lhttp-bench
lhttpd=$build/app/lhttpd/lhttpd-qt
args=(compare --lhttpd "$lhttpd" --rounds "$rounds" --workloads "$workloads" --scale "$scale"
      --chat-connections "$chat_connections")
[ -n "$lhttpd_args" ] && args+=(--lhttpd-args "$lhttpd_args")
args+=("${variants[@]}")
if [ "$go" = 1 ]; then
    app/bench/goclient/build.sh "$build/goclient/lhttp-goclient" >/dev/null
    args+=(--go-client "$build/goclient/lhttp-goclient")
fi
command -v perf >/dev/null || echo "bench-chat: no perf: writes per delivery read from /proc/PID/io" >&2

# 10,000 subscribers plus publishers: each process needs more than the usual 1,024 files
# (lhttp-bench also raises its soft limit to the hard one, and checks it before it starts).
ulimit -n 20000 2>/dev/null || true
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, lhttpd-args: '${lhttpd_args}', variants: ${variants[*]:-none}"
exec flock /tmp/lhttp-measure.lock "$bench" "${args[@]}" "${extra[@]}"
