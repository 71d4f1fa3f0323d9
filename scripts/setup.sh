#!/bin/sh
# scripts/setup.sh - install the Debian packages packetbeat needs (build and
# test), then configure and build into build/. Run as root on Debian 12.
#   scripts/setup.sh            build deps + test peers, Release-ish build
#   PB_BUILD_TYPE=Debug scripts/setup.sh
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config python3 libpcap-dev libyaml-dev libjansson-dev
libcurl4-openssl-dev libssl-dev librdkafka-dev zlib1g-dev libdeflate-dev check libpsl-dev libpcre2-dev libmimalloc-dev
publicsuffix clang libclang-rt-14-dev iproute2 procps curl ca-certificates openssl tcpdump
nginx-light dnsmasq-base bind9-dnsutils sip-tester redis-server redis-tools kcat rabbitmq-server amqp-tools
mariadb-server mariadb-client libdbd-mariadb-perl postgresql postgresql-client postgresql-contrib memcached
nghttp2-client tcpreplay"

missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    # keep apt from starting daemons on their default ports
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing
fi

BUILD_TYPE=${PB_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DPB_WERROR="${PB_WERROR:-OFF}" >/dev/null
cmake --build build -j"$(nproc)"
