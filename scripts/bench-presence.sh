#!/usr/bin/env bash
# The cost of presence (issue 15; docs/BENCHMARKS.md, "Presence"). Two measurements:
#  1. `lhttp-bench presence`: lhttpd-qt without and with `--presence 'room.>'`, a fresh process
#     per leg, N clients (default 10,000) connecting and subscribing to 1 and to 100 rooms:
#     connect+subscribe rate, the watcher's join events, presence-stats, RSS per idle client;
#     with --cluster also two nodes through a nats-server (presence legs).
#  2. `lhttp-presence-mech` (with --mech): the NATS mechanism comparison, no lhttpd-qt.
# Every server is started by the tools on 127.0.0.1 and stopped by its PID.
#
# Usage: scripts/bench-presence.sh [--build DIR] [--connections N] [--rounds N]
#            [--rooms LIST] [--cluster] [--mech] [--lhttpd-args 'FLAGS']
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/ci
connections=10000
rounds=3
rooms=1,100
cluster=0
mech=0
extra=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rooms) rooms=$2; shift 2 ;;
    --cluster) cluster=1; shift ;;
    --mech) mech=1; shift ;;
    --lhttpd-args) extra=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
lhttpd=$PWD/$build/app/lhttpd/lhttpd-qt
bench=$PWD/$build/app/bench/lhttp-bench
mechbin=$PWD/$build/app/bench/lhttp-presence-mech
ulimit -n "$(ulimit -Hn)"
lock=(flock /tmp/lhttp-measure.lock)

echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== presence vs plain: $connections clients, rooms $rooms, $rounds rounds, one node"
"${lock[@]}" "$bench" presence --lhttpd "$lhttpd" --lhttpd-args "$extra" \
    --connections "$connections" --rooms "$rooms" --rounds "$rounds"
if [ "$cluster" = 1 ]; then
    echo "== presence, 2 nodes + nats-server: $connections clients over both"
    "${lock[@]}" "$bench" presence --cluster --variants presence --lhttpd "$lhttpd" \
        --lhttpd-args "$extra" --connections "$connections" --rooms "$rooms" --rounds "$rounds"
fi
if [ "$mech" = 1 ]; then
    echo "== NATS mechanism: 10,000 entries, rooms 1,10,100, 2 and 3 nodes"
    "${lock[@]}" "$mechbin" --runs "$rounds" --rooms 1,10,100 --nodes 2,3
fi
echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
