#!/usr/bin/env bash
# CTest `nginx_proxy`: packaging/nginx/lhttpd-qt.conf, ports replaced, in a real nginx in
# front of a real lhttpd-qt, all on 127.0.0.1 (docs/DEPLOY.md, "Behind nginx"):
#   - /healthz through nginx
#   - lhttp-cli sub through nginx (WebSocket upgrade) gets a message published over a
#     WebSocket through nginx and one published with POST /publish through nginx
#   - the proxied WebSocket stays open while quiet for longer than nginx's
#     proxy_read_timeout (lowered to 2 s here), because the node's pings (every 500 ms here)
#     cross it: sub runs with --no-reconnect, so a dropped connection fails the test
# Skipped (77) when nginx is not installed. Env: LHTTPD_BIN, LHTTP_CLI_BIN.
set -euo pipefail
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx not installed: skipped"; exit 77; }
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/lhttp-nginx.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.log "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2; done
    exit 1
}
free_port() {
    local p=$((20000 + RANDOM % 20000))
    while ss -Htln "sport = :$p" | grep -q .; do p=$((20000 + RANDOM % 20000)); done
    echo "$p"
}

node_port=$(free_port)
"$LHTTPD_BIN" --listen 127.0.0.1 --port "$node_port" --ping-interval 500 --pong-timeout 2000 \
    >"$work/lhttpd.log" 2>&1 &
pids+=($!)

proxy_port=$(free_port)
mkdir -p "$work/temp"
sed -e "s/server 127\.0\.0\.1:8081;/server 127.0.0.1:$node_port;/" \
    -e "s/^    listen 80;/    listen 127.0.0.1:$proxy_port;/" \
    -e "s/proxy_read_timeout 75s;/proxy_read_timeout 2s;/" \
    "$src/packaging/nginx/lhttpd-qt.conf" >"$work/site.conf"
grep -q "127.0.0.1:$node_port" "$work/site.conf" && grep -q "listen 127.0.0.1:$proxy_port" "$work/site.conf" &&
    grep -q "proxy_read_timeout 2s" "$work/site.conf" || fail "the example's lines to replace have changed"
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log info;
events { worker_connections 256; }
http {
    access_log $work/nginx-access.log;
    client_body_temp_path $work/temp/body;
    proxy_temp_path $work/temp/proxy;
    fastcgi_temp_path $work/temp/fastcgi;
    uwsgi_temp_path $work/temp/uwsgi;
    scgi_temp_path $work/temp/scgi;
    include $work/site.conf;
}
CONF
"$nginx" -t -q -p "$work" -c "$work/nginx.conf" 2>"$work/nginx-t.log" || fail "nginx -t"
"$nginx" -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.log" &
pids+=($!)

url=http://127.0.0.1:$proxy_port
healthz=""
for _ in $(seq 1 100); do
    healthz=$(curl -fsS "$url/healthz" 2>/dev/null) && break
    sleep 0.1
done
echo "$healthz" | grep -q '"status":"ok"' || fail "/healthz through nginx: '$healthz'"
echo "ok: /healthz through nginx"

"$LHTTP_CLI_BIN" sub --no-reconnect --count 3 --format body "ws://127.0.0.1:$proxy_port/" room \
    >"$work/sub.out" 2>"$work/sub.log" &
sub=$!
pids+=($sub)
for _ in $(seq 1 100); do
    grep -q "subscribed to room" "$work/sub.log" && break
    sleep 0.1
done
grep -q "subscribed to room" "$work/sub.log" || fail "sub did not subscribe through nginx"
"$LHTTP_CLI_BIN" pub "ws://127.0.0.1:$proxy_port/" room "over a websocket" || fail "pub (ws)"
"$LHTTP_CLI_BIN" pub --http "$url/" room "over http" || fail "pub --http"
echo "ok: published over a WebSocket and with POST /publish, through nginx"
# Quiet for 3 s, longer than proxy_read_timeout 2s: only the node's pings cross the proxy.
sleep 3
kill -0 "$sub" 2>/dev/null || fail "the quiet WebSocket through nginx was closed"
"$LHTTP_CLI_BIN" pub "ws://127.0.0.1:$proxy_port/" room "after a quiet while" || fail "pub after quiet"
wait "$sub" || fail "sub exited with an error"
expected=$'over a websocket\nover http\nafter a quiet while'
[ "$(cat "$work/sub.out")" = "$expected" ] || fail "sub printed: $(cat "$work/sub.out")"
echo "ok: all 3 messages delivered in order through nginx, the quiet connection stayed open"
