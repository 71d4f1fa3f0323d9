/* SPDX-License-Identifier: Apache-2.0
 * protos/dhcpv4/dhcpv4_parse.c - DHCPv4 decoder; pure.
 *
 *   op htype hlen hops | xid (4) | secs (2) flags (2) | ciaddr yiaddr
 *   siaddr giaddr (4 each) | chaddr (16) | sname (64) | file (128)   = 236
 *   magic cookie 63 82 53 63 | options: code, len, data ... 255 (end)
 */
#include "dhcpv4_parse.h"

#include <string.h>

#include "beat/err.h"
#include "beat/rd.h"

static const uint8_t magic[4] = {0x63, 0x82, 0x53, 0x63};

/* Typed options of the decoding library: their lengths are checked and a
 * bad one fails the whole packet. */
static int check_typed(uint8_t code, size_t avail, uint8_t len)
{
    switch (code) {
    case 53: /* message type */
        if (avail < 3 || len != 1) {
            return -PB_EPROTO;
        }
        return 0;
    case 50: /* requested IP */
    case 54: /* server identifier */
    case 28: /* broadcast address */
        if (avail < 6 || len != 4) {
            return -PB_EPROTO;
        }
        return 0;
    case 57: /* max message size */
        if (avail < 4 || len != 2) {
            return -PB_EPROTO;
        }
        return 0;
    case 6: /* DNS servers */
        if (len == 0 || len % 4 != 0) {
            return -PB_EPROTO;
        }
        return 0;
    default:
        return 0;
    }
}

/* RFC 3925 vendor-identifying vendor class: enterprise (4), length (1),
 * data, repeated; it must fill the option exactly. */
static int check_vivc(const uint8_t *p, size_t n)
{
    struct pb_rd r = pb_rd_make(p, n);
    while (pb_rd_left(&r) > 5) {
        pb_rd_skip(&r, 4);
        uint8_t l = pb_rd_u8(&r);
        if (pb_rd_left(&r) < l) {
            return -PB_EPROTO;
        }
        pb_rd_skip(&r, l);
    }
    return pb_rd_left(&r) == 0 ? 0 : -PB_EPROTO;
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
    memset(m, 0, sizeof *m);
    struct pb_rd r = pb_rd_make(buf, len);
    m->op = pb_rd_u8(&r);
    m->htype = pb_rd_u8(&r);
    m->hlen = pb_rd_u8(&r);
    m->hops = pb_rd_u8(&r);
    m->xid = pb_rd_be32(&r);
    m->secs = pb_rd_be16(&r);
    m->flags = pb_rd_be16(&r);
    pb_rd_copy(&r, m->ciaddr, 4);
    pb_rd_copy(&r, m->yiaddr, 4);
    pb_rd_copy(&r, m->siaddr, 4);
    pb_rd_copy(&r, m->giaddr, 4);
    pb_rd_copy(&r, m->chaddr, 16);
    pb_rd_copy(&r, m->sname, 64);
    pb_rd_copy(&r, m->file, 128);
    uint8_t cookie[4];
    pb_rd_copy(&r, cookie, 4);
    if (!pb_rd_ok(&r) || memcmp(cookie, magic, 4) != 0) {
        return -PB_EPROTO;
    }
    while (pb_rd_left(&r) > 0) {
        size_t avail = pb_rd_left(&r);
        uint8_t code = pb_rd_u8(&r);
        if (code == 0) {
            continue; /* pad */
        }
        if (code == 255) {
            break; /* end */
        }
        if (pb_rd_left(&r) < 1) {
            return -PB_EPROTO;
        }
        uint8_t olen = pb_rd_u8(&r);
        if (check_typed(code, avail, olen) < 0) {
            return -PB_EPROTO;
        }
        struct pb_slice d = pb_rd_slice(&r, olen);
        if (!pb_rd_ok(&r)) {
            return -PB_EPROTO;
        }
        if (code == 124 && check_vivc(d.ptr, d.len) < 0) {
            return -PB_EPROTO;
        }
        if (m->nopts < DHCP_MAX_OPTIONS) {
            m->opts[m->nopts].code = code;
            m->opts[m->nopts].data = d.ptr;
            m->opts[m->nopts].len = olen;
            m->nopts++;
        }
    }
    return 0;
}

const char *dhcp_msgtype_name(uint8_t t)
{
    static const char *const names[] = {NULL,  "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                        "ACK", "NAK",      "RELEASE", "INFORM"};
    return t < sizeof names / sizeof names[0] ? names[t] : NULL;
}

const char *dhcp_hwtype_name(uint8_t t)
{
    static const char *const names[] = {
        NULL,
        "Ethernet",
        "Experimental Ethernet",
        "Amateur Radio AX.25",
        "Proteon ProNET Token Ring",
        "Chaos",
        "IEEE 802",
        "ARCNET",
        "Hyperchannel",
        "Lanstar",
        "Autonet Short Address",
        "LocalTalk",
        "LocalNet",
        "Ultra link",
        "SMDS",
        "Frame Relay",
        "ATM",
        "HDLC",
        "Fibre Channel",
        "ATM 2",
        "Serial Line",
        "ATM 3",
        "MIL-STD-188-220",
        "Metricom",
        "IEEE 1394.1995",
        "MAPOS",
        "Twinaxial",
        "EUI-64",
        "HIPARP",
        "IP and ARP over ISO 7816-3",
        "ARPSec",
        "IPsec tunnel",
        "Infiniband",
        "CAI, TIA-102 Project 25 Common Air Interface",
        "Wiegand Interface",
        "Pure IP",
    };
    return t < sizeof names / sizeof names[0] ? names[t] : NULL;
}

struct opt_name {
    uint8_t code;
    const char *name;
};

static const struct opt_name opt_names[] = {
    {0, "Pad"},
    {1, "Subnet Mask"},
    {2, "Time Offset"},
    {3, "Router"},
    {4, "Time Server"},
    {5, "Name Server"},
    {6, "Domain Name Server"},
    {7, "Log Server"},
    {8, "Quote Server"},
    {9, "LPR Server"},
    {10, "Impress Server"},
    {11, "Resource Location Server"},
    {12, "Host Name"},
    {13, "Boot File Size"},
    {14, "Merit Dump File"},
    {15, "Domain Name"},
    {16, "Swap Server"},
    {17, "Root Path"},
    {18, "Extensions Path"},
    {19, "IP Forwarding enable/disable"},
    {20, "Non-local Source Routing enable/disable"},
    {21, "Policy Filter"},
    {22, "Maximum Datagram Reassembly Size"},
    {23, "Default IP Time-to-live"},
    {24, "Path MTU Aging Timeout"},
    {25, "Path MTU Plateau Table"},
    {26, "Interface MTU"},
    {27, "All Subnets Are Local"},
    {28, "Broadcast Address"},
    {29, "Perform Mask Discovery"},
    {30, "Mask Supplier"},
    {31, "Perform Router Discovery"},
    {32, "Router Solicitation Address"},
    {33, "Static Routing Table"},
    {34, "Trailer Encapsulation"},
    {35, "ARP Cache Timeout"},
    {36, "Ethernet Encapsulation"},
    {37, "Default TCP TTL"},
    {38, "TCP Keepalive Interval"},
    {39, "TCP Keepalive Garbage"},
    {40, "Network Information Service Domain"},
    {41, "Network Information Servers"},
    {42, "NTP Servers"},
    {43, "Vendor Specific Information"},
    {44, "NetBIOS over TCP/IP Name Server"},
    {45, "NetBIOS over TCP/IP Datagram Distribution Server"},
    {46, "NetBIOS over TCP/IP Node Type"},
    {47, "NetBIOS over TCP/IP Scope"},
    {48, "X Window System Font Server"},
    {49, "X Window System Display Manager"},
    {50, "Requested IP Address"},
    {51, "IP Addresses Lease Time"},
    {52, "Option Overload"},
    {53, "DHCP Message Type"},
    {54, "Server Identifier"},
    {55, "Parameter Request List"},
    {56, "Message"},
    {57, "Maximum DHCP Message Size"},
    {58, "Renew Time Value"},
    {59, "Rebinding Time Value"},
    {60, "Class Identifier"},
    {61, "Client identifier"},
    {62, "NetWare/IP Domain Name"},
    {63, "NetWare/IP Information"},
    {64, "Network Information Service+ Domain"},
    {65, "Network Information Service+ Servers"},
    {66, "TFTP Server Name"},
    {67, "Bootfile Name"},
    {68, "Mobile IP Home Agent"},
    {69, "SMTP Server"},
    {70, "POP Server"},
    {71, "NNTP Server"},
    {72, "Default WWW Server"},
    {73, "Default Finger Server"},
    {74, "Default IRC Server"},
    {75, "StreetTalk Server"},
    {76, "StreetTalk Directory Assistance Server"},
    {77, "User Class Information"},
    {78, "SLP DIrectory Agent"},
    {79, "SLP Service Scope"},
    {80, "Rapid Commit"},
    {81, "FQDN"},
    {82, "Relay Agent Information"},
    {83, "Internet Storage Name Service"},
    {85, "NDS Servers"},
    {86, "NDS Tree Name"},
    {87, "NDS Context"},
    {88, "BCMCS Controller Domain Name List"},
    {89, "BCMCS Controller IPv4 Address List"},
    {90, "Authentication"},
    {91, "Client Last Transaction Time"},
    {92, "Associated IP"},
    {93, "Client System Architecture Type"},
    {94, "Client Network Interface Identifier"},
    {95, "LDAP"},
    {97, "Client Machine Identifier"},
    {98, "OpenGroup's User Authentication"},
    {99, "GEOCONF_CIVIC"},
    {100, "IEEE 1003.1 TZ String"},
    {101, "Reference to the TZ Database"},
    {112, "NetInfo Parent Server Address"},
    {113, "NetInfo Parent Server Tag"},
    {114, "URL"},
    {116, "Auto-Configure"},
    {117, "Name Service Search"},
    {118, "Subnet Selection"},
    {119, "DNS Domain Search List"},
    {120, "SIP Servers"},
    {121, "Classless Static Route"},
    {122, "CCC, CableLabs Client Configuration"},
    {123, "GeoConf"},
    {124, "Vendor-Identifying Vendor Class"},
    {125, "Vendor-Identifying Vendor-Specific"},
    {128, "TFTP Server IP Address"},
    {129, "Call Server IP Address"},
    {130, "Discrimination String"},
    {131, "RemoteStatistics Server IP Address"},
    {132, "802.1P VLAN ID"},
    {133, "802.1Q L2 Priority"},
    {134, "Diffserv Code Point"},
    {135, "HTTP Proxy for phone-specific applications"},
    {136, "PANA Authentication Agent"},
    {137, "LoST Server"},
    {138, "CAPWAP Access Controller Addresses"},
    {139, "OPTION-IPv4_Address-MoS"},
    {140, "OPTION-IPv4_FQDN-MoS"},
    {141, "SIP UA Configuration Service Domains"},
    {142, "OPTION-IPv4_Address-ANDSF"},
    {143, "OPTION-IPv6_Address-ANDSF"},
    {150, "TFTP Server Address"},
    {151, "Status Code"},
    {152, "Base Time"},
    {153, "Start Time of State"},
    {154, "Query Start Time"},
    {155, "Query End Time"},
    {156, "DHCP Staet"},
    {157, "Data Source"},
    {175, "Etherboot"},
    {176, "IP Telephone"},
    {177, "Etherboot / PacketCable and CableHome"},
    {208, "PXELinux Magic String"},
    {209, "PXELinux Config File"},
    {210, "PXELinux Path Prefix"},
    {211, "PXELinux Reboot Time"},
    {212, "OPTION_6RD"},
    {213, "OPTION_V4_ACCESS_DOMAIN"},
    {220, "Subnet Allocation"},
    {221, "Virtual Subnet Selection"},
    {255, "End"},
};

const char *dhcp_option_name(uint8_t code)
{
    for (size_t i = 0; i < sizeof opt_names / sizeof opt_names[0]; i++) {
        if (opt_names[i].code == code) {
            return opt_names[i].name;
        }
    }
    return NULL;
}
