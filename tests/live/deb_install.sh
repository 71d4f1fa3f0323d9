#!/bin/sh
# tests/live/deb_install.sh - builds the .deb with CPack from the build
# directory of the packetbeat binary given as $1, installs it with dpkg,
# checks the installed layout and runs `packetbeat test config` on the
# installed config, then purges the package. Root only (exit 77 otherwise),
# and skipped when a packetbeat package is already installed.
set -eu
BIN=$(readlink -f "$1")
BUILD=$(dirname "$BIN")
if [ "$(id -u)" -ne 0 ]; then
    echo "deb_install: needs root" >&2
    exit 77
fi
for t in dpkg cpack dpkg-shlibdeps; do
    command -v "$t" >/dev/null 2>&1 || { echo "deb_install: $t missing" >&2; exit 77; }
done
if dpkg -s packetbeat >/dev/null 2>&1; then
    echo "deb_install: a packetbeat package is already installed; not touching it" >&2
    exit 77
fi
OUT=$(mktemp -d)
trap 'dpkg --purge packetbeat >/dev/null 2>&1 || true; rm -rf "$OUT"' EXIT

(cd "$BUILD" && cpack -G DEB -B "$OUT" >"$OUT/cpack.log" 2>&1) || {
    cat "$OUT/cpack.log" >&2
    echo "deb_install: cpack failed" >&2
    exit 1
}
DEB=$(ls "$OUT"/packetbeat_*.deb)
echo "built $DEB"
dpkg-deb -f "$DEB" Package Version Depends
for dep in libpcap libcurl4 librdkafka1 libssl3; do
    dpkg-deb -f "$DEB" Depends | grep -q "$dep" || { echo "no $dep dependency" >&2; exit 1; }
done

dpkg -i "$DEB"
fail=0
check() {
    if ! eval "$1"; then
        echo "FAIL: $1" >&2
        fail=1
    fi
}
check 'test -x /usr/share/packetbeat/bin/packetbeat'
check 'test -x /usr/bin/packetbeat'
check 'test "$(stat -c %a /etc/packetbeat/packetbeat.yml)" = 600'
check 'test -d /var/lib/packetbeat'
check 'test -d /var/log/packetbeat'
check 'test -f /lib/systemd/system/packetbeat.service'
check 'grep -q -- "-path.data /var/lib/packetbeat" /lib/systemd/system/packetbeat.service'
check 'test -f /usr/share/man/man1/packetbeat.1.gz'
check 'dpkg-query -W -f="\${Conffiles}" packetbeat | grep -q /etc/packetbeat/packetbeat.yml'

# the wrapper runs with the service's paths; the unit's command line too
out=$(packetbeat test config 2>&1) || { echo "$out" >&2; fail=1; }
echo "$out" | grep -q "Config OK" || { echo "wrapper: $out" >&2; fail=1; }
out=$(/usr/share/packetbeat/bin/packetbeat -environment systemd -c /etc/packetbeat/packetbeat.yml \
    -path.home /usr/share/packetbeat -path.config /etc/packetbeat -path.data /var/lib/packetbeat \
    -path.logs /var/log/packetbeat test config 2>&1) || { echo "$out" >&2; fail=1; }
echo "$out" | grep -q "Config OK" || { echo "unit command: $out" >&2; fail=1; }
packetbeat version | grep -q "packetbeat version 8.17.2" || fail=1

dpkg --purge packetbeat
check 'test ! -e /usr/share/packetbeat/bin/packetbeat'
check 'test ! -e /etc/packetbeat/packetbeat.yml'
if [ "$fail" -ne 0 ]; then
    echo "deb_install: FAILED" >&2
    exit 1
fi
echo "deb_install: OK"
