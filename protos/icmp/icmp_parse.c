/* SPDX-License-Identifier: Apache-2.0
 * protos/icmp/icmp_parse.c - ICMP header decoding and names; pure.
 *
 *   0      7 8     15 16           31
 *   +-------+--------+---------------+
 *   | type  |  code  |   checksum    |
 *   +-------+--------+---------------+
 *   |  identifier    | sequence      |   (echo, timestamp, info, mask)
 *   +----------------+---------------+
 *   | payload ...
 */
#include "icmp_parse.h"

#include <stdio.h>
#include <string.h>

#include "beat/rd.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_DEST_UNREACH 3
#define ICMP4_SOURCE_QUENCH 4
#define ICMP4_REDIRECT 5
#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ROUTER_ADV 9
#define ICMP4_ROUTER_SOL 10
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAM_PROBLEM 12
#define ICMP4_TS_REQUEST 13
#define ICMP4_TS_REPLY 14
#define ICMP4_INFO_REQUEST 15
#define ICMP4_INFO_REPLY 16
#define ICMP4_MASK_REQUEST 17
#define ICMP4_MASK_REPLY 18

#define ICMP6_DEST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROBLEM 4
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

bool icmp_is_request(uint8_t version, uint8_t type)
{
    if (version == 6) {
        return type != ICMP6_ECHO_REPLY;
    }
    return type != ICMP4_ECHO_REPLY && type != ICMP4_TS_REPLY && type != ICMP4_INFO_REPLY &&
           type != ICMP4_MASK_REPLY;
}

bool icmp_is_error(uint8_t version, uint8_t type)
{
    if (version == 6) {
        return type == ICMP6_DEST_UNREACH || type == ICMP6_PACKET_TOO_BIG ||
               type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAM_PROBLEM;
    }
    return type == ICMP4_DEST_UNREACH || type == ICMP4_SOURCE_QUENCH ||
           type == ICMP4_TIME_EXCEEDED || type == ICMP4_PARAM_PROBLEM;
}

bool icmp_needs_counterpart(uint8_t version, uint8_t type)
{
    if (version == 6) {
        return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
    }
    switch (type) {
    case ICMP4_ECHO_REQUEST:
    case ICMP4_ECHO_REPLY:
    case ICMP4_TS_REQUEST:
    case ICMP4_TS_REPLY:
    case ICMP4_INFO_REQUEST:
    case ICMP4_INFO_REPLY:
    case ICMP4_MASK_REQUEST:
    case ICMP4_MASK_REPLY:
        return true;
    default:
        return false;
    }
}

bool icmp_msg_parse(uint8_t version, const uint8_t *data, size_t len, struct icmp_msg *m)
{
    memset(m, 0, sizeof *m);
    m->version = version;
    struct pb_rd r = pb_rd_make(data, len);
    m->type = pb_rd_u8(&r);
    m->code = pb_rd_u8(&r);
    pb_rd_skip(&r, 2); /* checksum */
    if (!pb_rd_ok(&r) || (version == 4 && len < 8)) {
        return false;
    }
    if (icmp_needs_counterpart(version, m->type)) {
        struct pb_rd t = r;
        m->id = pb_rd_be16(&t);
        m->seq = pb_rd_be16(&t);
        if (!pb_rd_ok(&t)) {
            m->id = m->seq = 0;
        }
    }
    /* The payload follows the 8-byte header (for ICMPv6 gopacket keeps 4
     * header bytes in it, which Packetbeat strips again). */
    size_t rest = len - 4;
    m->length = rest >= 4 ? rest - 4 : rest;
    return true;
}

struct code_name {
    uint8_t code;
    const char *name;
};

struct type_info {
    uint8_t type;
    const char *name;
    const struct code_name *codes; /* NULL: the type has no codes */
    size_t ncodes;
};

static const struct code_name v4_unreach[] = {
    {0, "Net"},
    {1, "Host"},
    {2, "Protocol"},
    {3, "Port"},
    {4, "FragmentationNeeded"},
    {5, "SourceRoutingFailed"},
    {6, "NetUnknown"},
    {7, "HostUnknown"},
    {8, "SourceIsolated"},
    {9, "NetAdminProhibited"},
    {10, "HostAdminProhibited"},
    {11, "NetTOS"},
    {12, "HostTOS"},
    {13, "CommAdminProhibited"},
    {14, "HostPrecedence"},
    {15, "PrecedenceCutoff"},
};
static const struct code_name v4_time[] = {{0, "TTLExceeded"},
                                           {1, "FragmentReassemblyTimeExceeded"}};
static const struct code_name v4_param[] = {
    {0, "PointerIndicatesError"}, {1, "MissingOption"}, {2, "BadLength"}};
static const struct code_name v4_redirect[] = {
    {0, "Net"}, {1, "Host"}, {2, "TOS+Net"}, {3, "TOS+Host"}};

#define CODES(a) a, sizeof(a) / sizeof((a)[0])

static const struct type_info v4_types[] = {
    {ICMP4_DEST_UNREACH, "DestinationUnreachable", CODES(v4_unreach)},
    {ICMP4_TIME_EXCEEDED, "TimeExceeded", CODES(v4_time)},
    {ICMP4_PARAM_PROBLEM, "ParameterProblem", CODES(v4_param)},
    {ICMP4_SOURCE_QUENCH, "SourceQuench", NULL, 0},
    {ICMP4_REDIRECT, "Redirect", CODES(v4_redirect)},
    {ICMP4_ECHO_REQUEST, "EchoRequest", NULL, 0},
    {ICMP4_ECHO_REPLY, "EchoReply", NULL, 0},
    {ICMP4_TS_REQUEST, "TimestampRequest", NULL, 0},
    {ICMP4_TS_REPLY, "TimestampReply", NULL, 0},
    {ICMP4_INFO_REQUEST, "InfoRequest", NULL, 0},
    {ICMP4_INFO_REPLY, "InfoReply", NULL, 0},
    {ICMP4_ROUTER_SOL, "RouterSolicitation", NULL, 0},
    {ICMP4_ROUTER_ADV, "RouterAdvertisement", NULL, 0},
    {ICMP4_MASK_REQUEST, "AddressMaskRequest", NULL, 0},
    {ICMP4_MASK_REPLY, "AddressMaskReply", NULL, 0},
};

static const struct code_name v6_unreach[] = {
    {0, "NoRouteToDst"},       {1, "AdminProhibited"}, {2, "BeyondScopeOfSrc"},
    {3, "AddressUnreachable"}, {4, "PortUnreachable"}, {5, "SrcAddressFailedPolicy"},
    {6, "RejectRouteToDst"},
};
static const struct code_name v6_time[] = {{0, "HopLimitExceeded"},
                                           {1, "FragmentReassemblyTimeExceeded"}};
static const struct code_name v6_param[] = {
    {0, "ErroneousHeaderField"}, {1, "UnrecognizedNextHeader"}, {2, "UnrecognizedIPv6Option"}};

static const struct type_info v6_types[] = {
    {ICMP6_DEST_UNREACH, "DestinationUnreachable", CODES(v6_unreach)},
    {ICMP6_PACKET_TOO_BIG, "PacketTooBig", NULL, 0},
    {ICMP6_TIME_EXCEEDED, "TimeExceeded", CODES(v6_time)},
    {ICMP6_PARAM_PROBLEM, "ParameterProblem", CODES(v6_param)},
    {ICMP6_ECHO_REQUEST, "EchoRequest", NULL, 0},
    {ICMP6_ECHO_REPLY, "EchoReply", NULL, 0},
    {133, "RouterSolicitation", NULL, 0},
    {134, "RouterAdvertisement", NULL, 0},
    {135, "NeighborSolicitation", NULL, 0},
    {136, "NeighborAdvertisement", NULL, 0},
    {137, "Redirect", NULL, 0},
};

const char *icmp_type_code_str(uint8_t version, uint8_t type, uint8_t code, char buf[64])
{
    const struct type_info *tab = version == 6 ? v6_types : v4_types;
    size_t n =
        version == 6 ? sizeof v6_types / sizeof v6_types[0] : sizeof v4_types / sizeof v4_types[0];
    const struct type_info *ti = NULL;
    for (size_t i = 0; i < n; i++) {
        if (tab[i].type == type) {
            ti = &tab[i];
            break;
        }
    }
    if (ti == NULL) {
        snprintf(buf, 64, "%u(%u)", (unsigned)type, (unsigned)code);
        return buf;
    }
    if (ti->codes == NULL) {
        if (code == 0) {
            snprintf(buf, 64, "%s", ti->name);
        } else {
            snprintf(buf, 64, "%s(Code: %u)", ti->name, (unsigned)code);
        }
        return buf;
    }
    for (size_t i = 0; i < ti->ncodes; i++) {
        if (ti->codes[i].code == code) {
            snprintf(buf, 64, "%s(%s)", ti->name, ti->codes[i].name);
            return buf;
        }
    }
    snprintf(buf, 64, "%s(Code: %u)", ti->name, (unsigned)code);
    return buf;
}
