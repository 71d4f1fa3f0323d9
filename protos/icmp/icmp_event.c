/* SPDX-License-Identifier: Apache-2.0
 * protos/icmp/icmp_event.c - the "icmp" event: source/destination without
 * ports, event.type [connection], no network.protocol, community_id from
 * the ICMP type and code, icmp.version/request/response, path.
 */
#include "icmp_event.h"

#include <string.h>

#include "beat/event.h"

bool icmp_tx_has_error(const struct icmp_event_in *in)
{
    if (!in->req.present) {
        return true;
    }
    if (icmp_is_error(in->version, in->req.msg.type)) {
        return true;
    }
    if (in->resp.present && icmp_is_error(in->version, in->resp.msg.type)) {
        return true;
    }
    return !in->resp.present && icmp_needs_counterpart(in->version, in->req.msg.type);
}

static void put_side(pb_node *icmp, const char *key, uint8_t version, const struct icmp_msg *m)
{
    char buf[64];
    pb_node *o = pb_node_obj(icmp, key);
    pb_node_set_str(o, "message", icmp_type_code_str(version, m->type, m->code, buf));
    pb_node_set_int(o, "type", (int)m->type);
    pb_node_set_int(o, "code", (int)m->code);
}

pb_event *icmp_event_build(const struct icmp_event_in *in)
{
    struct pb_tuple t;
    memset(&t, 0, sizeof t);
    t.src = in->src;
    t.dst = in->dst;
    t.proto = in->version == 6 ? PB_IPPROTO_ICMPV6 : PB_IPPROTO_ICMP;

    struct pb_tx tx = {0};
    tx.type = "icmp";
    tx.tuple = &t;
    tx.start_ns = in->ts_ns;
    tx.end_ns = in->resp.present ? in->resp.ts_ns : 0;
    tx.status = icmp_tx_has_error(in) ? "Error" : "OK";
    tx.src_bytes = in->req.present ? (int64_t)in->req.msg.length : -1;
    tx.dst_bytes = in->resp.present ? (int64_t)in->resp.msg.length : -1;
    tx.error = in->nnotes == 1 ? in->notes[0] : NULL;
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    if (!in->req.present) {
        pb_ev_del(ev, "event.start");
        pb_ev_del(ev, "event.duration");
    }
    if (in->nnotes > 1) {
        pb_node *arr = pb_ev_arr(ev, "error.message");
        for (size_t i = 0; i < in->nnotes; i++) {
            pb_node_set_str(arr, NULL, in->notes[i]);
        }
    }
    /* ICMP events carry no network.protocol and event.type is [connection]
     * (a new list in the place of the old one) */
    pb_ev_del(ev, "network.protocol");
    pb_node *event = pb_ev_obj(ev, "event");
    pb_node_set_null(event, "type");
    pb_node_set_str(pb_node_arr(event, "type"), NULL, "connection");

    /* community_id with the type and code in the port slots */
    const struct icmp_msg *cm = in->req.present ? &in->req.msg : &in->resp.msg;
    struct pb_tuple ct = t;
    ct.sport = cm->type;
    ct.dport = cm->code;
    char cid[64];
    pb_community_id(&ct, cid);
    pb_ev_put_str(ev, "network.community_id", cid);

    char ip[PB_IP_STRLEN];
    pb_ev_put_str(ev, "path", pb_ip_str(&in->dst, ip));

    pb_node *icmp = pb_ev_obj(ev, "icmp");
    pb_node_set_int(icmp, "version", in->version);
    if (in->req.present) {
        put_side(icmp, "request", in->version, &in->req.msg);
    }
    if (in->resp.present) {
        put_side(icmp, "response", in->version, &in->resp.msg);
    }
    return ev;
}
