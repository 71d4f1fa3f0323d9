/* SPDX-License-Identifier: Apache-2.0
 * protos/icmp/icmp_parse.h - ICMPv4 (RFC 792) and ICMPv6 (RFC 4443)
 * message classification as Packetbeat does it: which types are
 * responses, errors or need a counterpart, the echo id/seq, the payload
 * length and gopacket's human-readable type/code text. Pure.
 */
#ifndef PB_ICMP_PARSE_H
#define PB_ICMP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct icmp_msg {
    uint8_t version; /* 4 or 6 */
    uint8_t type, code;
    uint16_t id, seq; /* 0 unless the type is part of a request/response pair */
    size_t length;    /* payload bytes (after the 8-byte header) */
};

/* Decodes the header of an ICMP message. false when it is too short to be
 * one (v4: 8 bytes, v6: 4 bytes). */
bool icmp_msg_parse(uint8_t version, const uint8_t *data, size_t len, struct icmp_msg *m);

bool icmp_is_request(uint8_t version, uint8_t type);
bool icmp_is_error(uint8_t version, uint8_t type);
bool icmp_needs_counterpart(uint8_t version, uint8_t type);

/* "EchoRequest", "DestinationUnreachable(Port)", "TimeExceeded(Code: 7)",
 * "42(0)"; returns buf (64 bytes). */
const char *icmp_type_code_str(uint8_t version, uint8_t type, uint8_t code, char buf[64]);

#endif
