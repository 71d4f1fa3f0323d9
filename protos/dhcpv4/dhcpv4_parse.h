/* SPDX-License-Identifier: Apache-2.0
 * protos/dhcpv4/dhcpv4_parse.h - BOOTP/DHCPv4 message decoder (RFC 2131,
 * 2132, 3925) with the acceptance rules of the library Packetbeat uses:
 * a packet whose typed options are malformed is rejected as a whole.
 * Pure: options point into the caller's buffer.
 */
#ifndef PB_DHCPV4_PARSE_H
#define PB_DHCPV4_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_HDR_LEN 236u
#define DHCP_MAX_OPTIONS 512u

#define DHCP_OP_BOOTREQUEST 1
#define DHCP_OP_BOOTREPLY 2

struct dhcp_option {
    uint8_t code;
    const uint8_t *data; /* borrowed */
    uint8_t len;
};

struct dhcp_msg {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
    uint8_t chaddr[16];
    uint8_t sname[64];
    uint8_t file[128];
    struct dhcp_option opts[DHCP_MAX_OPTIONS]; /* up to the End option */
    size_t nopts;
};

/* Decodes a message. 0 or -PB_EPROTO. */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);

/* Names as the library prints them (NULL when unknown). */
const char *dhcp_option_name(uint8_t code);
const char *dhcp_msgtype_name(uint8_t t);
const char *dhcp_hwtype_name(uint8_t t);

#endif
