/* SPDX-License-Identifier: Apache-2.0
 * packet/tunnel.c - decapsulation switches and tunnel header parsers
 * (VXLAN, GENEVE, GRE, ERSPAN). Pure: every read through beat/rd.h.
 * Specs: RFC 7348 (VXLAN), RFC 8926 (GENEVE), RFC 2784 + RFC 2890 (GRE),
 * draft-foschiano-erspan (ERSPAN types I, II, III).
 */
#include "tunnel.h"

#include <stdio.h>
#include <string.h>

#include "beat/err.h"
#include "beat/rd.h"

#define GRE_PROTO_ERSPAN_2 0x88beu /* type I (no sequence bit) and II */
#define GRE_PROTO_ERSPAN_3 0x22ebu

void pb_decap_defaults(struct pb_decap_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->ipip = true;
    c->vxlan_port = PB_VXLAN_PORT;
    c->geneve_port = PB_GENEVE_PORT;
}

bool pb_decap_any(const struct pb_decap_cfg *c)
{
    return c->vxlan || c->geneve || c->gre || c->erspan;
}

static int read_port(const struct pb_cfg *sec, const char *key, uint16_t def, uint16_t *out,
                     char *err, size_t errlen)
{
    int64_t v = 0;
    if (pb_cfg_int(sec, key, def, &v) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (v < 1 || v > 65535) {
        snprintf(err, errlen,
                 "%s must be a port (1..65535) accessing "
                 "'packetbeat.interfaces.decapsulation.%s'",
                 key, key);
        return -PB_EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

int pb_decap_config_read(const struct pb_cfg *ifc, struct pb_decap_cfg *out, char *err,
                         size_t errlen)
{
    pb_decap_defaults(out);
    const struct pb_cfg *sec = pb_cfg_get(ifc, "decapsulation");
    if (sec == NULL || sec->kind == PB_CFG_NULL) {
        return 0;
    }
    if (sec->kind != PB_CFG_MAP) {
        snprintf(err, errlen,
                 "required 'object', but found a value accessing "
                 "'packetbeat.interfaces.decapsulation'");
        return -PB_EINVAL;
    }
    if (pb_cfg_bool(sec, "vxlan", false, &out->vxlan) < 0 ||
        pb_cfg_bool(sec, "geneve", false, &out->geneve) < 0 ||
        pb_cfg_bool(sec, "gre", false, &out->gre) < 0 ||
        pb_cfg_bool(sec, "erspan", false, &out->erspan) < 0 ||
        pb_cfg_bool(sec, "ipip", true, &out->ipip) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (read_port(sec, "vxlan_port", PB_VXLAN_PORT, &out->vxlan_port, err, errlen) < 0 ||
        read_port(sec, "geneve_port", PB_GENEVE_PORT, &out->geneve_port, err, errlen) < 0) {
        return -PB_EINVAL;
    }
    return 0;
}

/*  VXLAN (RFC 7348), 8 bytes:
 *  |R|R|R|R|I|R|R|R|            Reserved (24)                    |
 *  |                VXLAN Network Identifier (24)  | Reserved (8) |
 *  then the inner Ethernet frame. The I flag says the VNI is valid.
 */
enum pb_tun_result pb_tunnel_vxlan(const uint8_t *p, size_t n, struct pb_tun_hdr *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    uint8_t flags = pb_rd_u8(&r);
    pb_rd_skip(&r, 3);
    uint32_t vni = pb_rd_be32(&r) >> 8;
    if (!pb_rd_ok(&r) || (flags & 0x08u) == 0) {
        return PB_TUN_MALFORMED;
    }
    memset(h, 0, sizeof *h);
    h->kind = PB_TUNNEL_VXLAN;
    h->has_id = true;
    h->id = vni;
    h->inner = PB_INNER_ETHERNET;
    h->hlen = 8;
    return PB_TUN_OK;
}

/*  GENEVE (RFC 8926):
 *  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 *  |        Virtual Network Identifier (VNI)       |    Reserved   |
 *  |                    Variable-Length Options (Opt Len * 4)      |
 *  O marks a control (OAM) packet: not traffic to follow.
 */
enum pb_tun_result pb_tunnel_geneve(const uint8_t *p, size_t n, struct pb_tun_hdr *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    uint8_t b0 = pb_rd_u8(&r);
    uint8_t b1 = pb_rd_u8(&r);
    uint16_t proto = pb_rd_be16(&r);
    uint32_t vni = pb_rd_be32(&r) >> 8;
    size_t optlen = (size_t)(b0 & 0x3fu) * 4u;
    pb_rd_skip(&r, optlen);
    if (!pb_rd_ok(&r)) {
        return PB_TUN_MALFORMED;
    }
    if ((b0 >> 6) != 0 || (b1 & 0x80u) != 0) {
        return PB_TUN_UNSUPPORTED; /* another version, or OAM */
    }
    memset(h, 0, sizeof *h);
    h->kind = PB_TUNNEL_GENEVE;
    h->has_id = true;
    h->id = vni;
    h->inner = proto;
    h->hlen = 8 + optlen;
    return PB_TUN_OK;
}

/*  ERSPAN type II, 8 bytes after GRE:
 *  |  Ver  |          VLAN         | COS |En|T|    Session ID      |
 *  |      Reserved         |                Index                  |
 *  ERSPAN type III, 12 bytes (+ 8 when O):
 *  |  Ver  |          VLAN         | COS |BSO|T|    Session ID     |
 *  |                          Timestamp                            |
 *  |             SGT               |P|  FT   |  Hw ID    |D|Gra|O |
 *  [ platform specific sub-header (8) ]
 */
static enum pb_tun_result erspan(const uint8_t *p, size_t n, int type, struct pb_tun_hdr *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    uint16_t w0 = pb_rd_be16(&r);
    uint16_t w1 = pb_rd_be16(&r);
    size_t hlen = 8;
    uint8_t ver = (uint8_t)(w0 >> 12);
    if (type == 2) {
        pb_rd_skip(&r, 4);
    } else {
        pb_rd_skip(&r, 4); /* timestamp */
        pb_rd_skip(&r, 2); /* SGT */
        uint16_t w5 = pb_rd_be16(&r);
        hlen = 12;
        if ((w5 & 0x7c00u) != 0) {
            if (!pb_rd_ok(&r)) {
                return PB_TUN_MALFORMED;
            }
            return PB_TUN_UNSUPPORTED; /* frame type other than Ethernet */
        }
        if ((w5 & 0x0001u) != 0) {
            pb_rd_skip(&r, 8);
            hlen += 8;
        }
    }
    if (!pb_rd_ok(&r)) {
        return PB_TUN_MALFORMED;
    }
    if ((type == 2 && ver != 1) || (type == 3 && ver != 2)) {
        return PB_TUN_UNSUPPORTED;
    }
    h->kind = PB_TUNNEL_ERSPAN;
    h->has_id = true;
    h->id = w1 & 0x03ffu;
    h->inner = PB_INNER_ETHERNET;
    h->hlen += hlen;
    return PB_TUN_OK;
}

/*  GRE (RFC 2784, keys and sequence numbers RFC 2890), version 0:
 *  |C|R|K|S|s|Recur|  Flags  | Ver |         Protocol Type         |
 *  |      Checksum (optional)      |       Reserved1 (optional)    |  C or R
 *  |                         Key (optional)                        |  K
 *  |                 Sequence Number (optional)                    |  S
 *  R (source routing, RFC 1701) and the strict-route bit are refused:
 *  nobody sends them any more.
 */
enum pb_tun_result pb_tunnel_gre(const uint8_t *p, size_t n, const struct pb_decap_cfg *cfg,
                                 struct pb_tun_hdr *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    uint16_t flags = pb_rd_be16(&r);
    uint16_t proto = pb_rd_be16(&r);
    bool csum = (flags & 0x8000u) != 0;
    bool routing = (flags & 0x4000u) != 0;
    bool key = (flags & 0x2000u) != 0;
    bool seq = (flags & 0x1000u) != 0;
    uint32_t keyval = 0;
    if (csum) {
        pb_rd_skip(&r, 4);
    }
    if (key) {
        keyval = pb_rd_be32(&r);
    }
    if (seq) {
        pb_rd_skip(&r, 4);
    }
    if (!pb_rd_ok(&r)) {
        return PB_TUN_MALFORMED;
    }
    if ((flags & 0x0007u) != 0 || routing || (flags & 0x0800u) != 0) {
        return PB_TUN_UNSUPPORTED; /* PPTP's enhanced GRE, source routes */
    }
    memset(h, 0, sizeof *h);
    size_t hlen = (size_t)(r.p - p);
    if (proto == GRE_PROTO_ERSPAN_2 || proto == GRE_PROTO_ERSPAN_3) {
        if (!cfg->erspan) {
            return PB_TUN_UNSUPPORTED;
        }
        h->hlen = hlen;
        if (proto == GRE_PROTO_ERSPAN_2 && !seq) {
            /* type I: the mirrored frame right after GRE, no session id */
            h->kind = PB_TUNNEL_ERSPAN;
            h->inner = PB_INNER_ETHERNET;
            return PB_TUN_OK;
        }
        return erspan(p + hlen, n - hlen, proto == GRE_PROTO_ERSPAN_2 ? 2 : 3, h);
    }
    if (!cfg->gre) {
        return PB_TUN_UNSUPPORTED;
    }
    h->kind = PB_TUNNEL_GRE;
    h->has_id = key;
    h->id = keyval;
    h->inner = proto;
    h->hlen = hlen;
    return PB_TUN_OK;
}
