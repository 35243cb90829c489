#!/usr/bin/env bash
# Soak test (docs/RELIABILITY.md, "Soak"): lhttpd-qt nodes joined through a real nats-server,
# a few hundred clients of lhttp-soak doing connect/subscribe/publish/disconnect churn, and
# nats-server killed and restarted in the middle. At the end every node must report zero
# connections, channels, subscriptions and NATS subscriptions, nats-server must hold no
# subscription of the nodes, a publish on each node must reach a subscriber on every node, and
# each node's RSS must be within 10 % of its value after the warm-up. The nodes must then
# drain and exit 0 on SIGTERM. Exit status: 0 pass, 1 fail, 2 could not run.
#
#   scripts/soak.sh            1 min warm-up, 10 min churn, 300 clients, 2 nodes; NATS is
#                              killed (SIGKILL) twice in the warm-up, and in the churn killed
#                              at 1/3 and stopped (SIGTERM) at 2/3
#   scripts/soak.sh --short    for CI, about 70 s: 200 clients, 20 s warm-up, 40 s churn,
#                              two NATS kills in the warm-up and one in the churn
#
# The warm-up has NATS restarts too, so that the RSS baseline already includes what an outage
# costs (buffers grown to their high-water mark); growth per restart still shows. Two, because
# the first outage does not show it: nats.c buffers what is published during an outage in one
# malloc of its reconnect buffer size (8 MiB); glibc serves the first one with mmap and returns
# it on free, but that free raises glibc's dynamic mmap threshold, so from the second outage on
# the buffer comes from the heap and the pages the outage wrote stay resident after the free
# (reused by later outages; docs/RELIABILITY.md, "Soak").
#   scripts/soak.sh [--short] -- ARGS   extra lhttp-soak options (lhttp-soak --help)
#   scripts/soak.sh --no-build        use the lhttpd-qt and lhttp-soak already built in the
#                                     build dir as they are (scripts/test.sh has just built them)
#
#   LHTTP_SOAK_BUILD=DIR   build dir with lhttpd-qt and lhttp-soak (default build/ci, configured
#                          with the ci preset; another dir without a CMakeCache.txt is
#                          configured Release without the GUI)
#   LHTTP_SOAK_NODES=N     lhttpd-qt nodes (default 2)
#   LHTTP_SOAK_LHTTPD=BIN  run the nodes from this lhttpd-qt instead, e.g. a ThreadSanitizer or
#                          ASan build (its reports fail the run)
#   LHTTP_SOAK_LOGS=DIR    where logs go (default $LHTTP_SOAK_BUILD/soak-logs)
#   LHTTP_SOAK_NODE_ARGS="..."  extra lhttpd-qt options, e.g. "--log-level debug"
set -euo pipefail
cd "$(dirname "$0")/.."

short=0 build_step=1
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --short) short=1 ;;
    --no-build) build_step=0 ;;
    --)
        shift
        extra=("$@")
        break
        ;;
    *)
        echo "usage: scripts/soak.sh [--short] [--no-build] [-- lhttp-soak options]" >&2
        exit 2
        ;;
    esac
    shift
done

# NATS restarts: phase:seconds into it:signal, in order.
if [ $short -eq 1 ]; then
    clients=200 warmup=20 duration=40 settle=20
    restarts=("warmup:2:KILL" "warmup:10:KILL" "main:15:KILL")
else
    clients=300 warmup=60 duration=600 settle=30
    restarts=("warmup:15:KILL" "warmup:35:KILL" "main:200:KILL" "main:400:TERM")
fi
nats_down=5 # seconds NATS stays away each time

build=${LHTTP_SOAK_BUILD:-build/ci}
nodes=${LHTTP_SOAK_NODES:-2}
logs=${LHTTP_SOAK_LOGS:-$build/soak-logs}
command -v nats-server >/dev/null || {
    echo "soak: nats-server not found (Debian: apt-get install nats-server)" >&2
    exit 2
}

if [ $build_step -eq 1 ]; then
    echo "== soak: build lhttpd-qt and lhttp-soak ($build)"
    if [ "$build" = build/ci ]; then
        cmake --preset ci >/dev/null
    elif [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLHTTP_BUILD_GUI=OFF \
            -DLHTTP_WERROR=ON >/dev/null
    fi
    cmake --build "$build" --target lhttpd-qt lhttp-soak
fi
lhttpd=${LHTTP_SOAK_LHTTPD:-$build/app/lhttpd/lhttpd-qt}
soak=$build/tests/soak/lhttp-soak
for bin in "$lhttpd" "$soak"; do
    [ -x "$bin" ] || {
        echo "soak: $bin not found (build it, or drop --no-build)" >&2
        exit 2
    }
done

# For a ThreadSanitizer build of the nodes (LHTTP_SOAK_LHTTPD, e.g. build/tsan's): Qt is not
# instrumented; tests/tsan.supp says what that means. The same options as the tsan preset.
export TSAN_OPTIONS="${TSAN_OPTIONS:-suppressions=$PWD/tests/tsan.supp:ignore_noninstrumented_modules=1}"

rm -rf "$logs"
mkdir -p "$logs"
mapfile -t ports < <("$soak" --free-ports $((nodes + 2)))
nats_port=${ports[0]} nats_monitor=${ports[1]}

# Every process this script starts, stopped by PID on exit.
nats_pid='' soak_pid=''
node_pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local p
    for p in $soak_pid "${node_pids[@]}" $nats_pid; do
        kill "$p" 2>/dev/null || true
    done
    for p in $soak_pid "${node_pids[@]}" $nats_pid; do
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

start_nats() {
    nats-server -a 127.0.0.1 -p "$nats_port" -m "$nats_monitor" >>"$logs/nats.log" 2>&1 &
    nats_pid=$!
    local i
    for i in $(seq 100); do
        # Both ports accept connections (bash's /dev/tcp: no curl needed).
        { : <"/dev/tcp/127.0.0.1/$nats_port" && : <"/dev/tcp/127.0.0.1/$nats_monitor"; } \
            2>/dev/null && return 0
        kill -0 "$nats_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "soak: nats-server did not start (log $logs/nats.log)" >&2
    exit 2
}

# GET http://127.0.0.1:PORT/PATH with bash's /dev/tcp (no curl needed).
http_get() { # PORT PATH
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    cat <&3
    exec 3<&-
}

# Where each node's resident memory is (/proc/PID/status): anonymous (heap, stacks) or file
# pages (code and data of the binary and its libraries, paged in as code paths first run).
# Printed when the baseline is taken and at the end; lhttp-soak compares the totals.
print_rss() { # LABEL
    local i line
    for i in $(seq "$nodes"); do
        line=$(awk '/^(VmRSS|RssAnon|RssFile):/ { printf " %s %.1f MiB", $1, $2 / 1024 }' \
            "/proc/${node_pids[$((i - 1))]}/status" 2>/dev/null || true)
        echo "soak: $1 node$i:${line:- not running}"
    done
}

stop_nats() { # SIGNAL
    kill -"$1" "$nats_pid" 2>/dev/null || true
    wait "$nats_pid" 2>/dev/null || true
    nats_pid=''
}

start_nats
node_urls=()
for i in $(seq "$nodes"); do
    port=${ports[$((i + 1))]}
    # shellcheck disable=SC2086 # LHTTP_SOAK_NODE_ARGS is a list of options
    # Shorter keepalive than the default so pings and pongs are part of the churn; reconnect
    # to NATS quickly after the restarts.
    "$lhttpd" --listen 127.0.0.1 --port "$port" --nats "nats://127.0.0.1:$nats_port" \
        --nats-name "soak-node$i" --nats-reconnect-wait 500 --ping-interval 10000 \
        --pong-timeout 8000 --log-level warning ${LHTTP_SOAK_NODE_ARGS:-} \
        >"$logs/node$i.log" 2>&1 &
    node_pids+=($!)
    node_urls+=(--node "ws://127.0.0.1:$port/")
done

echo "== soak: $nodes nodes, nats-server on port $nats_port (monitor $nats_monitor), logs in $logs"
"$soak" "${node_urls[@]}" --nats-monitor "http://127.0.0.1:$nats_monitor" \
    --clients "$clients" --warmup "$warmup" --duration "$duration" --settle "$settle" \
    --phase-file "$logs/phase" "${extra[@]}" > >(tee "$logs/soak.log") 2>&1 &
soak_pid=$!

# NATS restarts, timed from the start of their phase (lhttp-soak writes it to the phase file).
phase='' phase_start=$SECONDS
next=0
while kill -0 "$soak_pid" 2>/dev/null; do
    sleep 0.5
    now=$(cat "$logs/phase" 2>/dev/null || true)
    if [ "$now" != "$phase" ]; then
        phase=$now phase_start=$SECONDS
        [ "$phase" != main ] || print_rss baseline
    fi
    [ $next -lt ${#restarts[@]} ] || continue
    IFS=: read -r when at signal <<<"${restarts[$next]}"
    if [ "$phase" = "$when" ] && [ $((SECONDS - phase_start)) -ge "$at" ]; then
        echo "soak: $phase t=$((SECONDS - phase_start))s: stopping nats-server with SIG$signal for ${nats_down}s"
        stop_nats "$signal"
        sleep "$nats_down"
        start_nats
        echo "soak: $phase t=$((SECONDS - phase_start))s: nats-server is back"
        next=$((next + 1))
    fi
done
result=0
wait "$soak_pid" || result=$?
soak_pid=''
print_rss final
if [ $next -lt ${#restarts[@]} ]; then
    echo "soak: FAIL: only $next of ${#restarts[@]} NATS restarts happened (churn too short?)" >&2
    [ $result -ne 0 ] || result=1
fi

# The nodes drain and exit 0 on SIGTERM, and nothing in their logs says a sanitizer or an
# assertion fired.
for i in $(seq "$nodes"); do
    pid=${node_pids[$((i - 1))]}
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "soak: FAIL: node$i is not running any more (log $logs/node$i.log)" >&2
        result=1
        continue
    fi
    # Kept for a post-mortem of a failed run.
    http_get "${ports[$((i + 1))]}" /metrics >"$logs/node$i.metrics" 2>&1 || true
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "soak: FAIL: node$i exited with $rc after SIGTERM (log $logs/node$i.log)" >&2
        result=1
    fi
done
node_pids=()
if grep -lE 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer|runtime error:|ASSERT' \
    "$logs"/node*.log; then
    echo "soak: FAIL: a node logged a sanitizer report or an assertion" >&2
    result=1
fi
http_get "$nats_monitor" '/connz?subs=1' >"$logs/nats-connz.json" 2>&1 || true
stop_nats TERM
echo "soak: $([ $result -eq 0 ] && echo PASS || echo "FAIL ($result)") (logs in $logs)"
exit $result
