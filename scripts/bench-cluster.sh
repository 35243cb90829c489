#!/usr/bin/env bash
# Cross-node fan-out through NATS next to the same workload on one node with the embedded
# broker (docs/CLUSTER.md, "Benchmark"). Starts, on loopback only, one nats-server and
# lhttpd-qt nodes A and B joined through it, plus a third lhttpd-qt without NATS; then runs
# lhttp-bench in alternation:
#   cluster: the publisher on node A, the subscribers on node B (every message crosses NATS)
#   single:  publisher and subscribers on the one embedded-broker node
# and prints messages/s delivered and latency for each round, the medians and their ratio.
#
# Usage: scripts/bench-cluster.sh [--build DIR] [--subscribers N] [--messages N]
#                                 [--payload BYTES] [--rounds N] [--threads N] [--rate MSG/S]
# (--threads: lhttp-bench's client threads, default its own: the CPU count; --rate: publish
# rate, default 0 = as fast as possible, which measures throughput, while latency is best
# read at a rate both legs sustain.) Use a Release build (--build DIR).
# Every process it starts is stopped on exit, by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/default
subscribers=100
messages=2000
payload=64
rounds=3
threads=
rate=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --subscribers) subscribers=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --payload) payload=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cluster: unknown argument $1" >&2; exit 2 ;;
    esac
done

lhttpd=${LHTTPD_BIN:-$build/app/lhttpd/lhttpd-qt}
bench=${LHTTP_BENCH_BIN:-$build/app/bench/lhttp-bench}
nats_server=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
for bin in "$lhttpd" "$bench" "$nats_server"; do
    [ -x "$bin" ] || { echo "bench-cluster: $bin not found (build lhttpd-qt and lhttp-bench first)" >&2; exit 2; }
done

pids=()
cleanup() { # the nodes first (newest first), nats-server last: no "NATS lost" noise at exit
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[$i]}" 2>/dev/null || true
        wait "${pids[$i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port nobody listens on, below the kernel's ephemeral range (where an outgoing connection
# may hold a port that nothing listens on) and not handed out before in this run; in $port.
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
(( ephemeral_low > 12000 )) || ephemeral_low=32768
taken=" "
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( (RANDOM % (ephemeral_low - 10000)) + 10000 ))
        case "$taken" in *" $p "*) continue ;; esac
        port_in_use "$p" || { taken+="$p "; port=$p; return 0; }
    done
    echo "bench-cluster: no free port found" >&2
    exit 1
}
wait_port() {
    for _ in $(seq 1 200); do
        port_in_use "$1" && return 0
        sleep 0.05
    done
    echo "bench-cluster: nothing answers on port $1" >&2
    exit 1
}

free_port; nats_port=$port
free_port; port_a=$port
free_port; port_b=$port
free_port; port_single=$port

"$nats_server" -a 127.0.0.1 -p "$nats_port" >/dev/null 2>&1 &
pid_nats=$!
pids+=($pid_nats)
wait_port "$nats_port"
nats_url="nats://127.0.0.1:$nats_port"

"$lhttpd" --listen 127.0.0.1 --port "$port_a" --log-level warning \
    --nats "$nats_url" --nats-name bench-node-a &
pid_a=$!
pids+=($pid_a)
"$lhttpd" --listen 127.0.0.1 --port "$port_b" --log-level warning \
    --nats "$nats_url" --nats-name bench-node-b &
pid_b=$!
pids+=($pid_b)
"$lhttpd" --listen 127.0.0.1 --port "$port_single" --log-level warning &
pid_single=$!
pids+=($pid_single)
for p in "$port_a" "$port_b" "$port_single"; do wait_port "$p"; done

echo "bench-cluster: $subscribers subscribers x $messages messages of $payload bytes" \
    "at $( ((rate > 0)) && echo "$rate msg/s" || echo "full speed"), $rounds rounds, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  nats-server $("$nats_server" --version | awk '{print $2}') on $nats_url;" \
    "cluster: publish on :$port_a, subscribe on :$port_b; single: :$port_single"
echo "  server cpu: cluster = node A + node B + nats-server; single = the one node"

common=(load --subscribers "$subscribers" --messages "$messages" --payload "$payload"
    --rate "$rate")
[ -n "$threads" ] && common+=(--threads "$threads")
cluster_rates=() cluster_p50=() cluster_p99=() cluster_cpu=()
single_rates=() single_p50=() single_p99=() single_cpu=()
# label pids args...: the summary goes to stderr; stdout gets "msg/s p50-ms p99-ms ns/delivery".
run() {
    local label=$1 pid=$2
    shift 2
    local out
    out=$("$bench" "${common[@]}" --server-pid "$pid" "$@") || {
        echo "$out" >&2
        echo "bench-cluster: lhttp-bench failed ($label)" >&2
        exit 1
    }
    echo "$out" | sed "s/^/  [$label] /" >&2
    if echo "$out" | grep -q 'INCOMPLETE\|problem:'; then
        echo "bench-cluster: $label round incomplete" >&2
        exit 1
    fi
    local rate p50 p99 cpu
    rate=$(echo "$out" | sed -n 's/^delivered: .* = \([0-9]*\) msg\/s.*/\1/p')
    p50=$(echo "$out" | sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
    cpu=$(echo "$out" | sed -n 's/.*(\([0-9]*\) ns per delivery).*/\1/p')
    echo "$rate $p50 $p99 ${cpu:-0}"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for round in $(seq 1 "$rounds"); do
    echo "round $round"
    # Alternate which leg goes first, so that neither always runs on a warmer machine.
    for leg in $( ((round % 2)) && echo "cluster single" || echo "single cluster"); do
        if [ "$leg" = cluster ]; then
            read -r r a b c < <(run cluster "$pid_a,$pid_b,$pid_nats" --channel "bench.c$round" \
                --subscribe-url "ws://127.0.0.1:$port_b/" --publish-url "ws://127.0.0.1:$port_a/")
            [ -n "${r:-}" ] || exit 1
            cluster_rates+=("$r") cluster_p50+=("$a") cluster_p99+=("$b") cluster_cpu+=("$c")
        else
            read -r r a b c < <(run single "$pid_single" --channel "bench.s$round" \
                --url "ws://127.0.0.1:$port_single/")
            [ -n "${r:-}" ] || exit 1
            single_rates+=("$r") single_p50+=("$a") single_p99+=("$b") single_cpu+=("$c")
        fi
    done
    echo "  round $round ratio cluster/single: $(awk -v c="${cluster_rates[-1]}" \
        -v s="${single_rates[-1]}" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "n/a" }')"
done

c=$(median "${cluster_rates[@]}")
s=$(median "${single_rates[@]}")
ratios=()
for i in "${!cluster_rates[@]}"; do
    ratios+=("$(awk -v c="${cluster_rates[$i]}" -v s="${single_rates[$i]}" \
        'BEGIN { if (s > 0) printf "%.3f", c / s; else print 0 }')")
done
echo "medians over $rounds rounds:"
printf '  %-30s %10s %9s %9s %12s\n' "" "msg/s" "p50 ms" "p99 ms" "cpu ns/msg"
printf '  %-30s %10s %9s %9s %12s\n' "cluster (A -> NATS -> B)" "$c" \
    "$(median "${cluster_p50[@]}")" "$(median "${cluster_p99[@]}")" "$(median "${cluster_cpu[@]}")"
printf '  %-30s %10s %9s %9s %12s\n' "single node (embedded broker)" "$s" \
    "$(median "${single_p50[@]}")" "$(median "${single_p99[@]}")" "$(median "${single_cpu[@]}")"
echo "ratio cluster/single msg/s: median of per-round ratios $(median "${ratios[@]}")" \
    "(per round: ${ratios[*]}); ratio of medians" \
    "$(awk -v c="$c" -v s="$s" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "n/a" }')"
