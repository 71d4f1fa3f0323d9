/* SPDX-License-Identifier: Apache-2.0
 * protos/dhcpv4/dhcpv4.c - DHCPv4 over UDP (default ports 67 and 68): one
 * event per decodable packet, as Packetbeat publishes them.
 */
#include <stdatomic.h>

#include "beat/err.h"
#include "beat/log.h"
#include "dhcpv4_event.h"
#include "dhcpv4_parse.h"
#include "protos/proto.h"

static const uint16_t dhcpv4_ports[] = {67, 68};

/* Undecodable packets are logged at warn level at most once a minute. */
#define DHCPV4_WARN_EVERY_NS (60ull * 1000000000ull)

static void warn_parse_failure(struct pb_proto *p)
{
    /* shared by the packet workers' instances: one warning a minute */
    static _Atomic uint64_t last_warn_ns;
    uint64_t now = pb_frame_now_ns();
    if (p->stats.parse_errors == 1 ||
        now - atomic_load_explicit(&last_warn_ns, memory_order_relaxed) >= DHCPV4_WARN_EVERY_NS) {
        atomic_store_explicit(&last_warn_ns, now, memory_order_relaxed);
        pb_warn("dhcpv4", "Dropping packet: failed parsing DHCP data (%llu so far)",
                (unsigned long long)p->stats.parse_errors);
    } else {
        pb_debug("dhcpv4", "Dropping packet: failed parsing DHCP data");
    }
}

static void dhcpv4_on_datagram(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                               size_t len)
{
    struct dhcp_msg m;
    if (data == NULL || dhcp_parse(data, len, &m) < 0) {
        p->stats.parse_errors++;
        warn_parse_failure(p);
        return;
    }
    pb_event *ev = dhcp_event_build(&m, &pkt->tuple, pkt->ts_ns, len);
    if (ev == NULL) {
        p->stats.dropped++;
        return;
    }
    pb_emit(p, ev);
}

const struct pb_proto_ops pb_proto_dhcpv4 = {
    .name = "dhcpv4",
    .transports = PB_UDP,
    .default_ports = dhcpv4_ports,
    .ndefault_ports = sizeof dhcpv4_ports / sizeof dhcpv4_ports[0],
    .on_datagram = dhcpv4_on_datagram,
};
