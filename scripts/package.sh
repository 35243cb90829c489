#!/usr/bin/env bash
# Builds the Debian packages (docs/DEPLOY.md, "Packages") from the release preset and checks
# them with lintian; with --clean-root also installs them into a clean Debian 12 root.
#
#   scripts/package.sh               build/release → build/release/packages/*.deb, then
#                                    lintian (fails on any error; warnings are printed)
#   scripts/package.sh --clean-root  the same, then the clean-root check: mmdebstrap makes a
#                                    Debian 12 root with apt and nothing else (no compiler, no
#                                    Qt development packages), `apt-get install ./lhttp-qt_*.deb`
#                                    must resolve every dependency from Debian alone, and in
#                                    that root lhttpd-qt --version, lhttp-cli --help, a served
#                                    /healthz, a message from lhttp-cli pub to lhttp-cli sub,
#                                    the admin package's lhttp-admin --version, systemd-analyze
#                                    verify and security of the installed units (after the
#                                    root gains systemd), the service booted under that
#                                    systemd (systemd-nspawn --boot; scripts/service-probe.sh
#                                    checks readiness, the dynamic user, the watchdog, reload,
#                                    an upgrade and socket activation on port 80) and a purge
#                                    must work.
#                                    Needs root (mmdebstrap --mode=root and chroot), about 2
#                                    minutes and Debian's package mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

clean_root=0
for arg in "$@"; do
    case $arg in
    --clean-root) clean_root=1 ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "package.sh: unknown argument '$arg' (see --help)" >&2
        exit 2
        ;;
    esac
done

packages=("${LHTTP_BUILD_PACKAGES[@]}" "${LHTTP_PACKAGE_PACKAGES[@]}")
[ "$clean_root" = 0 ] || packages+=("${LHTTP_CLEAN_ROOT_PACKAGES[@]}")
lhttp_install "${packages[@]}"

echo "== build (release)"
cmake --preset release >/dev/null
cmake --build --preset release
echo "== packages (cpack -G DEB)"
rm -rf build/release/packages
cpack --preset release >/dev/null
mapfile -t debs < <(ls build/release/packages/*.deb)
for deb in "${debs[@]}"; do
    echo "$deb"
    dpkg-deb --field "$deb" Package Version Depends | sed 's/^/    /'
done
echo "== lintian"
# As root lintian says it would rather not be; the packages are only read.
lintian --fail-on error --display-info "${debs[@]}" 2> >(grep -v 'running with root privileges' >&2)
echo "lintian: no errors"

[ "$clean_root" = 1 ] || exit 0

echo "== clean Debian 12 root (mmdebstrap --variant=apt)"
if [ "$(id -u)" != 0 ]; then
    echo "package.sh: --clean-root needs root (mmdebstrap --mode=root, chroot)" >&2
    exit 1
fi
work=$(mktemp -d /tmp/lhttp-clean-root.XXXXXX)
root=$work/root
server_pid=""
# The kernel file systems chroot'ed programs need; off while nspawn boots the root.
mount_root() {
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --bind /dev "$root/dev"
    mount --bind /dev/pts "$root/dev/pts"
}
unmount_root() {
    for m in dev/pts dev sys proc; do
        if mountpoint -q "$root/$m"; then umount -l "$root/$m"; fi
    done
}
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    unmount_root
    rm -rf "$work"
}
trap cleanup EXIT
# The host's own Debian sources (a snapshot or a local mirror stays the same), else Debian's.
mirrors=()
[ -f /etc/apt/sources.list.d/debian.sources ] && mirrors=(/etc/apt/sources.list.d/debian.sources)
mmdebstrap --quiet --mode=root --variant=apt bookworm "$root" "${mirrors[@]}"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount_root
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }

fail() {
    echo "clean root: $*" >&2
    exit 1
}
for p in g++ cmake qt6-base-dev libnats-dev pkg-config; do
    ! in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        fail "$p is installed in the clean root before the package"
done

echo "-- apt-get install ./lhttp-qt_*.deb"
in_root apt-get update -qq
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/debs/lhttp-qt_*.deb' >/dev/null
in_root dpkg-query -W lhttp-qt
in_root lhttpd-qt --version
in_root lhttp-cli --help >/dev/null || fail "lhttp-cli --help failed"
echo "lhttp-cli --help: ok"
in_root test -f /etc/lhttp-qt/lhttpd.conf || fail "no /etc/lhttp-qt/lhttpd.conf"
in_root dpkg-query --showformat='${Conffiles}\n' --show lhttp-qt | grep -q /etc/lhttp-qt/lhttpd.conf ||
    fail "/etc/lhttp-qt/lhttpd.conf is not a conffile"

echo "-- lhttpd-qt --config /etc/lhttp-qt/lhttpd.conf serves /healthz"
port=$((20000 + RANDOM % 20000))
while ss -Htln "sport = :$port" | grep -q .; do port=$((20000 + RANDOM % 20000)); done
chroot "$root" env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 \
    lhttpd-qt --config /etc/lhttp-qt/lhttpd.conf --listen 127.0.0.1 --port "$port" \
    >"$work/lhttpd.log" 2>&1 &
server_pid=$!
healthz=""
for _ in $(seq 1 100); do
    healthz=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null) && break
    sleep 0.1
done
[ -n "$healthz" ] || { cat "$work/lhttpd.log" >&2; fail "/healthz was not served"; }
echo "$healthz" | grep -q '"status":"ok"' || fail "/healthz said: $healthz"
echo "/healthz: $(echo "$healthz" | tr -d '\n' | cut -c1-120)…"

echo "-- lhttp-cli sub and pub in the root"
in_root lhttp-cli sub --count 1 --format body "ws://127.0.0.1:$port/" clean-root >"$work/sub.out" &
sub_pid=$!
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"connections":1,' && break
    sleep 0.1
done
in_root lhttp-cli pub "ws://127.0.0.1:$port/" clean-root "hello from a clean root"
wait "$sub_pid" || fail "lhttp-cli sub failed"
grep -qx "hello from a clean root" "$work/sub.out" || fail "sub printed: $(cat "$work/sub.out")"
echo "delivered: $(cat "$work/sub.out")"
kill -TERM "$server_pid"
wait "$server_pid" || fail "lhttpd-qt did not exit cleanly on SIGTERM"
server_pid=""

echo "-- systemd-analyze verify and security (the installed units, with the root's own systemd)"
# What any machine that runs the service has: systemd, and procps for ExecReload's kill.
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd procps' >/dev/null
in_root systemd-analyze verify --man=no /lib/systemd/system/lhttpd-qt.service /lib/systemd/system/lhttpd-qt.socket
echo "verify: ok"
in_root systemd-analyze security --offline=true --no-pager /lib/systemd/system/lhttpd-qt.service | tail -1

echo "-- the service under a real systemd (systemd-nspawn --boot)"
# The root boots its own systemd as PID 1 in a container with a network of its own. A probe
# unit (below) checks, from inside: the service reached READY over sd_notify (Type=notify),
# runs as a DynamicUser with no capabilities, serves /healthz, pings the watchdog, survives a
# reload; an upgrade (the package installed again) restarts it, draining the old process, and
# keeps an edited config file; then socket activation: the service stopped, lhttpd-qt.socket
# binds port 80 and a request there starts the service, which serves it without any privilege.
cp scripts/service-probe.sh "$root/usr/local/sbin/lhttp-service-probe"
mkdir -p "$root/var/cache/lhttp-probe"
cp "$root"/tmp/debs/lhttp-qt_*.deb "$root/var/cache/lhttp-probe/"
cat >"$root/etc/systemd/system/lhttp-service-probe.service" <<'UNIT'
[Unit]
Description=lhttp-qt package check: the service under systemd
After=lhttpd-qt.service
Wants=lhttpd-qt.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lhttp-service-probe /lhttp-service-probe.out
[Install]
WantedBy=multi-user.target
UNIT
in_root systemctl enable lhttpd-qt.service lhttp-service-probe.service 2>/dev/null
# nspawn keeps its propagation directory under /run/systemd/nspawn and insists that it is a
# tmpfs; on a machine where systemd is not PID 1 nothing mounted one there.
if ! mountpoint -q /run/systemd/nspawn; then
    mkdir -p /run/systemd/nspawn
    mount -t tmpfs tmpfs /run/systemd/nspawn
    nspawn_tmpfs=1
fi
unmount_root
timeout 120 systemd-nspawn --quiet --directory="$root" --boot --private-network --register=no \
    --keep-unit --console=pipe >"$work/boot.log" 2>&1 || true
[ "${nspawn_tmpfs:-0}" = 0 ] || umount /run/systemd/nspawn
mount_root
if [ ! -f "$root/lhttp-service-probe.out" ]; then
    # The container never got as far as the probe: this machine cannot boot one (no cgroup
    # or namespace support), which says nothing about the package.
    tail -30 "$work/boot.log" >&2
    echo "systemd-nspawn could not boot the root on this machine: the service check is skipped" >&2
else
    cat "$root/lhttp-service-probe.out"
    grep -qx "probe: passed" "$root/lhttp-service-probe.out" || {
        tail -30 "$work/boot.log" >&2
        fail "the service did not pass its checks under systemd"
    }
fi
in_root systemctl disable lhttpd-qt.service lhttp-service-probe.service 2>/dev/null

if compgen -G "$root/tmp/debs/lhttp-qt-admin_*.deb" >/dev/null; then
    echo "-- apt-get install ./lhttp-qt-admin_*.deb"
    in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/debs/lhttp-qt-admin_*.deb' >/dev/null
    in_root env QT_QPA_PLATFORM=offscreen lhttp-admin --version
fi

echo "-- apt-get purge"
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq lhttp-qt lhttp-qt-admin' >/dev/null 2>&1 ||
    in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq lhttp-qt' >/dev/null
for f in /usr/bin/lhttpd-qt /usr/bin/lhttp-cli /etc/lhttp-qt/lhttpd.conf /lib/systemd/system/lhttpd-qt.service; do
    ! in_root test -e "$f" || fail "$f is still there after the purge"
done
echo "purged: nothing left"
echo "clean root: all checks passed"
