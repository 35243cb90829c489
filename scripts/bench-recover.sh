#!/usr/bin/env bash
# Mass reconnect after a node restart (issue 14; docs/BENCHMARKS.md, "History"): N clients in
# rooms of 10 on history channels of node B, a publisher on node A, both nodes on one
# nats-server with JetStream. Node B is killed (SIGKILL) after every client got the first
# messages, the publisher sends more while it is down, node B is started again, and
# `lhttp-bench recover` measures the time until every client has recovered what it missed
# and is live, and node B's peak RSS. With --embedded: one node, no NATS (a restart loses the
# history: every client gets "not recovered"; the time until all are live again is measured).
#
# Usage: scripts/bench-recover.sh [--build DIR] [--connections N] [--embedded]
#            [--lhttpd-args 'FLAGS']
# Every process is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/ci
connections=5000
embedded=0
extra=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --embedded) embedded=1; shift ;;
    --lhttpd-args) extra=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
lhttpd=$PWD/$build/app/lhttpd/lhttpd-qt
bench=$PWD/$build/app/bench/lhttp-bench
work=$(mktemp -d /tmp/lhttp-recover.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_a=$(free_port)
port_b=$(free_port)
history=(--history 'room.>=100')
nats_args=()
if [ "$embedded" = 0 ]; then
    nats_port=$(free_port)
    nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$work/js" >"$work/nats.log" 2>&1 &
    pids+=($!)
    nats_args=(--nats "nats://127.0.0.1:$nats_port")
fi

# start NAME PORT: starts a node, writes its PID to $work/NAME.pid, returns once /healthz says
# its history is ready.
cat >"$work/start.sh" <<SCRIPT
#!/bin/sh
name=\$1; port=\$2
"$lhttpd" --listen 127.0.0.1 --port "\$port" ${nats_args[*]} --history 'room.>=100' $extra \\
    >>"$work/\$name.log" 2>&1 &
echo \$! >"$work/\$name.pid"
i=0
# Up to 60 s: the health check waits in the accept queue behind the clients' reconnects.
while [ \$i -lt 600 ]; do
    if curl -sf -m 2 "http://127.0.0.1:\$port/healthz" 2>/dev/null | grep -q '"ready":true'; then exit 0; fi
    sleep 0.1; i=\$((i + 1))
done
echo "node \$name not ready; its log:" >&2; tail -20 "$work/\$name.log" >&2; exit 1
SCRIPT
chmod +x "$work/start.sh"

"$work/start.sh" b "$port_b"
publish_url="ws://127.0.0.1:$port_b/"
during=0
if [ "$embedded" = 0 ]; then
    "$work/start.sh" a "$port_a"
    publish_url="ws://127.0.0.1:$port_a/"
    during=5
fi
echo "== recover: $connections clients in rooms of 10 on node B ($( [ "$embedded" = 1 ] && echo embedded || echo "JetStream cluster, publisher on node A"))"
"$bench" recover --url "ws://127.0.0.1:$port_b/" --publish-url "$publish_url" \
    --connections "$connections" --rooms $((connections / 10)) --before 5 --during "$during" \
    --kill "kill -9 \$(cat $work/b.pid)" --start "$work/start.sh b $port_b" \
    --pid-file "$work/b.pid"
