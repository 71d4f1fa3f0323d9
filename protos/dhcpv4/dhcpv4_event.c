/* SPDX-License-Identifier: Apache-2.0
 * protos/dhcpv4/dhcpv4_event.c - dhcpv4.* fields: header (op_code,
 * hardware_type, hops, transaction_id, seconds, flags, client_mac,
 * client_ip, assigned_ip, relay_ip, server_name, boot_file_name) and the
 * decoded options under dhcpv4.option; client/server by op code.
 */
#include "dhcpv4_event.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "beat/event.h"
#include "beat/rd.h"

static bool unspecified(const uint8_t ip[4])
{
    return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] == 0;
}

static void ip4_str(const uint8_t *p, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
}

/* Go's net.IP(b).String() for an arbitrary byte string, in buf. */
static const char *goip_str(const uint8_t *p, size_t n, char buf[2 * 255 + 2])
{
    if (n == 4) {
        ip4_str(p, buf);
        return buf;
    }
    if (n == 16) {
        struct pb_ip ip = {0};
        ip.v6 = 1;
        memcpy(ip.b, p, 16);
        static const uint8_t v4pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(p, v4pfx, 12) == 0) {
            ip4_str(p + 12, buf);
        } else {
            pb_ip_str(&ip, buf);
        }
        return buf;
    }
    if (n == 0) {
        return "<nil>";
    }
    buf[0] = '?';
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 1 + 2 * i, 3, "%02x", p[i]);
    }
    return buf;
}

static uint32_t be32(const uint8_t *p)
{
    struct pb_rd r = pb_rd_make(p, 4);
    return pb_rd_be32(&r);
}

/* A new list at key, in the place of any value there (jansson's set). */
static pb_node *new_arr(pb_node *o, const char *key)
{
    pb_node_set_null(o, key);
    return pb_node_arr(o, key);
}

/* dns_servers, time_servers, ntp_servers: a list of IPv4 addresses. */
static void put_ip_list(pb_node *o, const char *key, const struct dhcp_option *op)
{
    pb_node *arr = new_arr(o, key);
    char buf[16];
    for (size_t i = 0; i + 4 <= op->len; i += 4) {
        ip4_str(op->data + i, buf);
        pb_node_set_str(arr, NULL, buf);
    }
}

static void put_lower(pb_node *o, const char *key, const char *s)
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf) {
        n = sizeof buf - 1;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)tolower((unsigned char)s[i]);
    }
    buf[n] = '\0';
    pb_node_set_str(o, key, buf);
}

/* Options the library fails on: then no option field at all. */
static bool options_fail(const struct dhcp_msg *m)
{
    for (size_t i = 0; i < m->nopts; i++) {
        const struct dhcp_option *op = &m->opts[i];
        if ((op->code == 3 && op->len != 4) ||
            ((op->code == 4 || op->code == 42) && (op->len == 0 || op->len % 4 != 0))) {
            return true;
        }
    }
    return false;
}

/* Whether optionsToMap shows the option. */
static bool option_shown(const struct dhcp_option *op)
{
    switch (op->code) {
    case 53:
    case 55:
    case 50:
    case 54:
    case 28:
    case 57:
    case 60:
    case 15:
    case 12:
    case 56:
    case 67:
    case 6:
    case 124:
    case 3:
    case 4:
    case 42:
        return true;
    case 1:
    case 2:
    case 51:
    case 58:
    case 59:
        return op->len >= 4;
    default:
        return false;
    }
}

/* optionsToMap: nothing when there is nothing to show (or a generic
 * option the library fails on). */
static void put_options(pb_node *d, const struct dhcp_msg *m)
{
    size_t shown = 0;
    for (size_t i = 0; i < m->nopts; i++) {
        shown += option_shown(&m->opts[i]);
    }
    if (shown == 0 || options_fail(m)) {
        return;
    }
    pb_node *o = pb_node_obj(d, "option");
    if (o == NULL) {
        return;
    }
    char buf[2 * 255 + 2];
    for (size_t i = 0; i < m->nopts; i++) {
        const struct dhcp_option *op = &m->opts[i];
        const uint8_t *p = op->data;
        size_t n = op->len;
        switch (op->code) {
        case 53: {
            struct pb_rd r = pb_rd_make(p, n);
            uint8_t t = pb_rd_u8(&r);
            const char *name = dhcp_msgtype_name(t);
            if (name == NULL) {
                snprintf(buf, sizeof buf, "unknown (%u)", t);
                name = buf;
            }
            put_lower(o, "message_type", name);
            break;
        }
        case 55: {
            if (n == 0) {
                pb_node_set_null(o, "parameter_request_list");
                break;
            }
            pb_node *v = new_arr(o, "parameter_request_list");
            struct pb_rd r = pb_rd_make(p, n);
            while (pb_rd_left(&r) > 0) {
                uint8_t c = pb_rd_u8(&r);
                const char *name = dhcp_option_name(c);
                if (name == NULL) {
                    snprintf(buf, sizeof buf, "Unknown (%u)", c);
                    name = buf;
                }
                pb_node_set_str(v, NULL, name);
            }
            break;
        }
        case 50:
        case 54:
        case 28:
            ip4_str(p, buf);
            pb_node_set_str(o,
                            op->code == 50   ? "requested_ip_address"
                            : op->code == 54 ? "server_identifier"
                                             : "broadcast_address",
                            buf);
            break;
        case 57: {
            struct pb_rd r = pb_rd_make(p, n);
            pb_node_set_int(o, "max_dhcp_message_size", pb_rd_be16(&r));
            break;
        }
        case 60:
        case 15:
        case 12:
        case 56:
        case 67:
            pb_node_set_strn(o,
                             op->code == 60   ? "class_identifier"
                             : op->code == 15 ? "domain_name"
                             : op->code == 12 ? "hostname"
                             : op->code == 56 ? "message"
                                              : "boot_file_name",
                             p, n);
            break;
        case 6:
            put_ip_list(o, "dns_servers", op);
            break;
        case 124: {
            const char *key = "vendor_identifying_options";
            struct pb_rd r = pb_rd_make(p, n);
            pb_node *arr = NULL;
            while (pb_rd_left(&r) > 5) {
                uint32_t ent = pb_rd_be32(&r);
                uint8_t l = pb_rd_u8(&r);
                struct pb_slice s = pb_rd_slice(&r, l);
                char hex[2 * 255 + 1];
                hex[0] = '\0';
                for (size_t k = 0; k < s.len; k++) {
                    snprintf(hex + 2 * k, 3, "%02x", s.ptr[k]);
                }
                if (arr == NULL) {
                    arr = new_arr(o, key);
                }
                pb_node *e = pb_node_obj(arr, NULL);
                pb_node_set_int(e, "id", (int64_t)ent);
                pb_node_set_str(e, "data", hex);
            }
            if (arr == NULL) {
                pb_node_set_null(o, key);
            }
            break;
        }
        case 1:
            if (n >= 4) {
                pb_node_set_str(o, "subnet_mask", goip_str(p, n, buf));
            }
            break;
        case 2:
            if (n >= 4) {
                pb_node_set_int(o, "utc_time_offset_sec", (int32_t)be32(p));
            }
            break;
        case 3:
            ip4_str(p, buf);
            pb_node_set_str(o, "router", buf);
            break;
        case 4:
        case 42:
            put_ip_list(o, op->code == 4 ? "time_servers" : "ntp_servers", op);
            break;
        case 51:
        case 58:
        case 59:
            if (n >= 4) {
                pb_node_set_int(o,
                                op->code == 51   ? "ip_address_lease_time_sec"
                                : op->code == 58 ? "renewal_time_sec"
                                                 : "rebinding_time_sec",
                                be32(p));
            }
            break;
        default:
            break;
        }
    }
}

/* ECS MAC format: upper-case hex pairs joined by '-'. */
static void put_mac(pb_node *d, const struct dhcp_msg *m)
{
    size_t n = m->hlen > 16 ? 16 : m->hlen;
    char buf[16 * 3 + 1];
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 3 * i, 4, i + 1 < n ? "%02X-" : "%02X", m->chaddr[i]);
    }
    pb_node_set_str(d, "client_mac", buf);
}

/* Text of a fixed field with trailing NULs removed; nothing when empty. */
static void put_fixed_str(pb_node *d, const char *key, const uint8_t *p, size_t n)
{
    while (n > 0 && p[n - 1] == 0) {
        n--;
    }
    if (n > 0) {
        pb_node_set_strn(d, key, p, n);
    }
}

static void put_endpoint(pb_node *root, const char *name, const struct pb_ip *ip, uint16_t port,
                         int64_t bytes)
{
    char buf[PB_IP_STRLEN];
    pb_node_set_null(root, name); /* a new object in the place of any value */
    pb_node *o = pb_node_obj(root, name);
    pb_node_set_str(o, "ip", pb_ip_str(ip, buf));
    if (port != 0) {
        pb_node_set_int(o, "port", port);
    }
    if (bytes > 0) {
        pb_node_set_int(o, "bytes", bytes);
    }
}

pb_event *dhcp_event_build(const struct dhcp_msg *m, const struct pb_tuple *tuple, uint64_t ts_ns,
                           size_t len)
{
    struct pb_tx tx = {0};
    tx.type = "dhcpv4";
    tx.tuple = tuple;
    tx.start_ns = ts_ns;
    tx.status = "OK";
    tx.src_bytes = (int64_t)len;
    tx.dst_bytes = -1;
    tx.no_client_server = true;
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    /* The protocol has no bi-flow: the client is the destination of a
     * reply and the source of everything else. */
    pb_node *root = pb_ev_obj(ev, "");
    if (m->op == DHCP_OP_BOOTREPLY) {
        put_endpoint(root, "client", &tuple->dst, tuple->dport, -1);
        put_endpoint(root, "server", &tuple->src, tuple->sport, (int64_t)len);
    } else {
        put_endpoint(root, "client", &tuple->src, tuple->sport, (int64_t)len);
        put_endpoint(root, "server", &tuple->dst, tuple->dport, -1);
    }

    /* related.ip gets the header addresses before dhcpv4 is added */
    char ip[3][16];
    const struct {
        const uint8_t *addr;
        const char *key;
    } ips[] = {{m->ciaddr, "client_ip"}, {m->yiaddr, "assigned_ip"}, {m->giaddr, "relay_ip"}};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        if (!unspecified(ips[i].addr)) {
            ip4_str(ips[i].addr, ip[i]);
            pb_ev_add_related_ip(ev, ip[i]);
        }
    }

    pb_node *d = pb_node_obj(root, "dhcpv4");
    if (d == NULL) {
        return ev;
    }
    const char *op = m->op == DHCP_OP_BOOTREQUEST ? "bootrequest"
                     : m->op == DHCP_OP_BOOTREPLY ? "bootreply"
                                                  : "invalid";
    pb_node_set_str(d, "op_code", op);
    const char *hw = dhcp_hwtype_name(m->htype);
    pb_node_set_str(d, "hardware_type", hw != NULL ? hw : "Invalid");
    pb_node_set_int(d, "hops", m->hops);
    char buf[64];
    snprintf(buf, sizeof buf, "0x%08x", (unsigned)m->xid);
    pb_node_set_str(d, "transaction_id", buf);
    pb_node_set_int(d, "seconds", m->secs);
    const char *flags = (m->flags & 0x8000) ? "broadcast" : "unicast";
    if (m->flags & 0xfe) {
        snprintf(buf, sizeof buf, "%s (reserved bits not zeroed)", flags);
        flags = buf;
    }
    pb_node_set_str(d, "flags", flags);
    put_mac(d, m);

    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        if (!unspecified(ips[i].addr)) {
            pb_node_set_str(d, ips[i].key, ip[i]);
        }
    }
    put_fixed_str(d, "server_name", m->sname, sizeof m->sname);
    put_fixed_str(d, "boot_file_name", m->file, sizeof m->file);
    put_options(d, m);
    return ev;
}
