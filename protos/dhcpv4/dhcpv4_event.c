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

/* Go's net.IP(b).String() for an arbitrary byte string. */
static json_t *goip_json(const uint8_t *p, size_t n)
{
    char buf[64];
    if (n == 4) {
        ip4_str(p, buf);
        return json_string(buf);
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
        return json_string(buf);
    }
    if (n == 0) {
        return json_string_nocheck("<nil>");
    }
    char hex[2 * 255 + 2];
    hex[0] = '?';
    for (size_t i = 0; i < n; i++) {
        snprintf(hex + 1 + 2 * i, 3, "%02x", p[i]);
    }
    return json_string(hex);
}

static uint32_t be32(const uint8_t *p)
{
    struct pb_rd r = pb_rd_make(p, 4);
    return pb_rd_be32(&r);
}

/* dns_servers, time_servers, ntp_servers: a list of IPv4 addresses. */
static json_t *ip_list(const struct dhcp_option *o)
{
    json_t *arr = json_array();
    char buf[16];
    for (size_t i = 0; arr != NULL && i + 4 <= o->len; i += 4) {
        ip4_str(o->data + i, buf);
        json_array_append_new(arr, json_string(buf));
    }
    return arr;
}

static json_t *lower_json(const char *s)
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
    return json_string(buf);
}

/* optionsToMap: NULL when there is nothing (or a generic option the
 * library fails on: then no option field at all). */
static json_t *options_json(const struct dhcp_msg *m)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    char buf[64];
    for (size_t i = 0; i < m->nopts; i++) {
        const struct dhcp_option *op = &m->opts[i];
        const uint8_t *d = op->data;
        size_t n = op->len;
        json_t *v = NULL;
        const char *key = NULL;
        switch (op->code) {
        case 53: {
            struct pb_rd r = pb_rd_make(d, n);
            uint8_t t = pb_rd_u8(&r);
            const char *name = dhcp_msgtype_name(t);
            if (name == NULL) {
                snprintf(buf, sizeof buf, "unknown (%u)", t);
                name = buf;
            }
            key = "message_type";
            v = lower_json(name);
            break;
        }
        case 55: {
            key = "parameter_request_list";
            if (n == 0) {
                v = json_null();
                break;
            }
            v = json_array();
            struct pb_rd r = pb_rd_make(d, n);
            while (v != NULL && pb_rd_left(&r) > 0) {
                uint8_t c = pb_rd_u8(&r);
                const char *name = dhcp_option_name(c);
                if (name == NULL) {
                    snprintf(buf, sizeof buf, "Unknown (%u)", c);
                    name = buf;
                }
                json_array_append_new(v, json_string(name));
            }
            break;
        }
        case 50:
        case 54:
        case 28:
            key = op->code == 50   ? "requested_ip_address"
                  : op->code == 54 ? "server_identifier"
                                   : "broadcast_address";
            ip4_str(d, buf);
            v = json_string(buf);
            break;
        case 57: {
            struct pb_rd r = pb_rd_make(d, n);
            key = "max_dhcp_message_size";
            v = json_integer(pb_rd_be16(&r));
            break;
        }
        case 60:
        case 15:
        case 12:
        case 56:
        case 67:
            key = op->code == 60   ? "class_identifier"
                  : op->code == 15 ? "domain_name"
                  : op->code == 12 ? "hostname"
                  : op->code == 56 ? "message"
                                   : "boot_file_name";
            v = pb_json_strn(d, n);
            break;
        case 6:
            key = "dns_servers";
            v = ip_list(op);
            break;
        case 124: {
            key = "vendor_identifying_options";
            struct pb_rd r = pb_rd_make(d, n);
            json_t *arr = NULL;
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
                    arr = json_array();
                }
                if (arr != NULL) {
                    json_array_append_new(
                        arr, json_pack("{s:I, s:s}", "id", (json_int_t)ent, "data", hex));
                }
            }
            v = arr != NULL ? arr : json_null();
            break;
        }
        case 1:
            if (n >= 4) {
                key = "subnet_mask";
                v = goip_json(d, n);
            }
            break;
        case 2:
            if (n >= 4) {
                key = "utc_time_offset_sec";
                v = json_integer((int32_t)be32(d));
            }
            break;
        case 3:
            if (n != 4) {
                json_decref(o);
                return NULL; /* the library's router parser fails: no options */
            }
            key = "router";
            ip4_str(d, buf);
            v = json_string(buf);
            break;
        case 4:
        case 42:
            if (n == 0 || n % 4 != 0) {
                json_decref(o);
                return NULL;
            }
            key = op->code == 4 ? "time_servers" : "ntp_servers";
            v = ip_list(op);
            break;
        case 51:
        case 58:
        case 59:
            if (n >= 4) {
                key = op->code == 51   ? "ip_address_lease_time_sec"
                      : op->code == 58 ? "renewal_time_sec"
                                       : "rebinding_time_sec";
                v = json_integer(be32(d));
            }
            break;
        default:
            break;
        }
        if (key != NULL && v != NULL) {
            json_object_set_new(o, key, v);
        } else if (v != NULL) {
            json_decref(v);
        }
    }
    if (json_object_size(o) == 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ECS MAC format: upper-case hex pairs joined by '-'. */
static json_t *mac_json(const struct dhcp_msg *m)
{
    size_t n = m->hlen > 16 ? 16 : m->hlen;
    char buf[16 * 3 + 1];
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 3 * i, 4, i + 1 < n ? "%02X-" : "%02X", m->chaddr[i]);
    }
    return json_string(buf);
}

/* Text of a fixed field with trailing NULs removed. */
static json_t *fixed_str(const uint8_t *p, size_t n)
{
    while (n > 0 && p[n - 1] == 0) {
        n--;
    }
    return n > 0 ? pb_json_strn(p, n) : NULL;
}

static void put_endpoint(pb_event *ev, const char *name, const struct pb_ip *ip, uint16_t port,
                         int64_t bytes)
{
    char buf[PB_IP_STRLEN];
    json_t *o = json_object();
    if (o == NULL) {
        return;
    }
    json_object_set_new_nocheck(o, "ip", json_string(pb_ip_str(ip, buf)));
    if (port != 0) {
        json_object_set_new_nocheck(o, "port", json_integer(port));
    }
    if (bytes > 0) {
        json_object_set_new_nocheck(o, "bytes", json_integer(bytes));
    }
    pb_ev_put(ev, name, o);
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
    if (m->op == DHCP_OP_BOOTREPLY) {
        put_endpoint(ev, "client", &tuple->dst, tuple->dport, -1);
        put_endpoint(ev, "server", &tuple->src, tuple->sport, (int64_t)len);
    } else {
        put_endpoint(ev, "client", &tuple->src, tuple->sport, (int64_t)len);
        put_endpoint(ev, "server", &tuple->dst, tuple->dport, -1);
    }

    json_t *d = json_object();
    if (d == NULL) {
        return ev;
    }
    const char *op = m->op == DHCP_OP_BOOTREQUEST ? "bootrequest"
                     : m->op == DHCP_OP_BOOTREPLY ? "bootreply"
                                                  : "invalid";
    json_object_set_new_nocheck(d, "op_code", json_string(op));
    const char *hw = dhcp_hwtype_name(m->htype);
    json_object_set_new_nocheck(d, "hardware_type", json_string(hw != NULL ? hw : "Invalid"));
    json_object_set_new_nocheck(d, "hops", json_integer(m->hops));
    char buf[64];
    snprintf(buf, sizeof buf, "0x%08x", (unsigned)m->xid);
    json_object_set_new_nocheck(d, "transaction_id", json_string(buf));
    json_object_set_new_nocheck(d, "seconds", json_integer(m->secs));
    const char *flags = (m->flags & 0x8000) ? "broadcast" : "unicast";
    if (m->flags & 0xfe) {
        snprintf(buf, sizeof buf, "%s (reserved bits not zeroed)", flags);
        flags = buf;
    }
    json_object_set_new_nocheck(d, "flags", json_string(flags));
    json_object_set_new_nocheck(d, "client_mac", mac_json(m));

    char ip[16];
    const struct {
        const uint8_t *addr;
        const char *key;
    } ips[] = {{m->ciaddr, "client_ip"}, {m->yiaddr, "assigned_ip"}, {m->giaddr, "relay_ip"}};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        if (!unspecified(ips[i].addr)) {
            ip4_str(ips[i].addr, ip);
            json_object_set_new(d, ips[i].key, json_string(ip));
            pb_ev_add_related_ip(ev, ip);
        }
    }
    json_t *sname = fixed_str(m->sname, sizeof m->sname);
    if (sname != NULL) {
        json_object_set_new_nocheck(d, "server_name", sname);
    }
    json_t *file = fixed_str(m->file, sizeof m->file);
    if (file != NULL) {
        json_object_set_new_nocheck(d, "boot_file_name", file);
    }
    json_t *opts = options_json(m);
    if (opts != NULL) {
        json_object_set_new_nocheck(d, "option", opts);
    }
    pb_ev_put(ev, "dhcpv4", d);
    return ev;
}
