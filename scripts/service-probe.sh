#!/bin/bash
# Runs inside the clean root booted by systemd-nspawn (scripts/package.sh --clean-root), as a
# oneshot unit after lhttpd-qt.service: checks the packaged service under a real systemd.
# Writes "ok: ..." per check and "probe: passed" at the end to the file $1; the first failure
# ends it. Either way the container is powered off.
set -u
exec >"$1" 2>&1
# (systemctl asks logind about inhibitors over D-Bus, which this root lacks: it says so and
# powers off all the same)
trap 'systemctl --no-block poweroff >/dev/null 2>&1' EXIT
fail() {
    echo "FAIL: $*"
    journalctl --no-pager -o short-monotonic -u lhttpd-qt.service -u lhttpd-qt.socket | tail -30
    exit 1
}
prop() { systemctl show -p "$2" --value "$1"; }
healthz() {
    local port=$1 reply
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
    reply=$(timeout 5 cat <&3)
    exec 3<&-
    [[ $reply == "HTTP/1.1 200"* && $reply == *'"status":"ok"'* ]]
}

[ "$(prop lhttpd-qt.service ActiveState)" = active ] || fail "lhttpd-qt.service is $(prop lhttpd-qt.service ActiveState)"
status=$(prop lhttpd-qt.service StatusText)
[[ $status == "listening on port 8081"* ]] || fail "StatusText is '$status'"
echo "ok: Type=notify: active, StatusText '$status'"
pid=$(prop lhttpd-qt.service MainPID)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "runs as uid $uid, not a dynamic user"
[ "$capeff" = 0000000000000000 ] || fail "effective capabilities $capeff"
echo "ok: runs as dynamic user $uid with no capabilities"
healthz 8081 || fail "/healthz on port 8081"
echo "ok: /healthz served on port 8081"
sleep 11 # WatchdogSec=20s: a ping every 10 s
[ -n "$(prop lhttpd-qt.service WatchdogTimestampMonotonic | tr -d 0)" ] || fail "no watchdog ping"
echo "ok: watchdog pinged (WatchdogTimestamp $(prop lhttpd-qt.service WatchdogTimestamp))"
systemctl reload lhttpd-qt.service || fail "systemctl reload"
[ "$(prop lhttpd-qt.service ActiveState)" = active ] || fail "not active after a reload"
[ "$(prop lhttpd-qt.service MainPID)" = "$pid" ] || fail "a reload restarted the process"
echo "ok: reload (SIGHUP): same process, '$(prop lhttpd-qt.service StatusText)'"

# An upgrade (the same package again): postinst restarts the running service on the new
# files, SIGTERM drains the old process, and an edited conffile is kept.
sed -i 's/^;max-channels = 128$/max-channels = 100/' /etc/lhttp-qt/lhttpd.conf
DEBIAN_FRONTEND=noninteractive dpkg -i /var/cache/lhttp-probe/lhttp-qt_*.deb >/dev/null || fail "dpkg -i"
[ "$(prop lhttpd-qt.service ActiveState)" = active ] || fail "not active after the upgrade"
[ "$(prop lhttpd-qt.service MainPID)" != "$pid" ] || fail "the upgrade did not restart the service"
journalctl --no-pager -u lhttpd-qt.service _PID="$pid" | grep -q "draining" || fail "the old process did not drain"
grep -qx "max-channels = 100" /etc/lhttp-qt/lhttpd.conf || fail "the upgrade replaced the edited config file"
healthz 8081 || fail "/healthz after the upgrade"
echo "ok: upgrade: restarted on the new files (old process drained), edited lhttpd.conf kept"

systemctl stop lhttpd-qt.service || fail "systemctl stop"
systemctl start lhttpd-qt.socket || fail "systemctl start lhttpd-qt.socket"
healthz 80 || fail "/healthz on port 80 through lhttpd-qt.socket"
[ "$(prop lhttpd-qt.service ActiveState)" = active ] || fail "the socket did not start the service"
pid=$(prop lhttpd-qt.service MainPID)
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
[ "$capeff" = 0000000000000000 ] || fail "socket-activated service has capabilities $capeff"
echo "ok: socket activation: port 80 served by the unprivileged service"
systemctl stop lhttpd-qt.socket lhttpd-qt.service
echo "probe: passed"
