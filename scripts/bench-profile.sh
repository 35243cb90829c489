#!/usr/bin/env bash
# Instruction profile of lhttpd-qt and of the reference (floor) server under the same load,
# with valgrind --tool=callgrind: instruction counts are repeatable on a busy machine where
# timings are not. Only the measured phase is instrumented (lhttp-bench --on-ready/--on-done
# switch callgrind's instrumentation on and off), so start-up and connecting do not count.
#
#   BUILD=build/h-bench SUBS=100 MSGS=500 PUBS=1 PAYLOAD=64 OUT=/tmp/lhttp-profile \
#       scripts/bench-profile.sh
#   PUBLISH=http       publishes with POST /publish (lhttpd-qt only)
#   HTTP_WINDOW=n      POST requests in flight (default 32; MSGS: every request pipelined)
#   SERVERS="lhttpd"   which servers to profile (default: reference lhttpd)
#   LHTTPD=path        another lhttpd-qt binary (default: $BUILD/app/lhttpd/lhttpd-qt)
#
# Prints, per server, instructions per delivery and per published message; leaves the
# callgrind files and the top self/inclusive costs in $OUT. Every process it starts is
# stopped by its PID, also when a run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/h-bench}
SUBS=${SUBS:-100}
MSGS=${MSGS:-500}
PUBS=${PUBS:-1}
PAYLOAD=${PAYLOAD:-64}
OUT=${OUT:-/tmp/lhttp-profile}
PUBLISH=${PUBLISH:-ws}
HTTP_WINDOW=${HTTP_WINDOW:-32}
SERVERS=${SERVERS:-reference lhttpd}
BENCH=$BUILD/app/bench/lhttp-bench
LHTTPD=${LHTTPD:-$BUILD/app/lhttpd/lhttpd-qt}
mkdir -p "$OUT"
for bin in "$BENCH" "$LHTTPD"; do
    [ -x "$bin" ] || { echo "bench-profile: $bin not built" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "bench-profile: valgrind not installed" >&2; exit 2; }

pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

status=0
for name in $SERVERS; do
    port=$(free_port)
    case $name in
    reference) cmd=("$BENCH" reference --listen 127.0.0.1 --port "$port") ;;
    lhttpd) cmd=("$LHTTPD" --listen 127.0.0.1 --port "$port" --log-level warning) ;;
    *) echo "unknown server $name" >&2; exit 2 ;;
    esac
    out="$OUT/callgrind.$name.out"
    rm -f "$out"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "${cmd[@]}" \
        >"$OUT/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
        sleep 0.1
    done
    publish_url=ws://127.0.0.1:$port/
    if [ "$PUBLISH" = http ]; then
        publish_url=http://127.0.0.1:$port/publish
    fi
    "$BENCH" load --url "ws://127.0.0.1:$port/" --publish-url "$publish_url" \
        --subscribers "$SUBS" --publishers "$PUBS" --messages "$MSGS" --payload "$PAYLOAD" \
        --http-window "$HTTP_WINDOW" --connect-window 8 --timeout 900 --stall 300 --server-pid "$pid" \
        --on-ready "callgrind_control -i on $pid >/dev/null" \
        --on-done "callgrind_control -i off $pid >/dev/null" >"$OUT/$name.load.txt"
    load_status=$?
    cat "$OUT/$name.load.txt"
    cleanup
    if [ $load_status -ne 0 ]; then
        echo "== $name: the load run failed; no profile" >&2
        status=1
        continue
    fi
    deliveries=$(awk '/^delivered:/ {print $2}' "$OUT/$name.load.txt")
    total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "== $name: $total instructions for $deliveries deliveries =" \
        "$((total / deliveries)) per delivery, $((total / (MSGS * PUBS))) per published message"
    callgrind_annotate --inclusive=no "$out" 2>/dev/null | sed -n '/^Ir/,$p' | head -60 \
        >"$OUT/$name.self.txt"
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null | sed -n '/^Ir/,$p' | head -80 \
        >"$OUT/$name.inclusive.txt"
    echo "   top costs: $OUT/$name.self.txt, $OUT/$name.inclusive.txt;" \
        "full profile: callgrind_annotate $out"
done
exit $status
