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

static json_t *side_json(uint8_t version, const struct icmp_msg *m)
{
    char buf[64];
    return json_pack("{s:s, s:i, s:i}", "message",
                     icmp_type_code_str(version, m->type, m->code, buf), "type", (int)m->type,
                     "code", (int)m->code);
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
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < in->nnotes; i++) {
            json_array_append_new(arr, json_string(in->notes[i]));
        }
        pb_ev_put(ev, "error.message", arr);
    }
    /* ICMP events carry no network.protocol and event.type is [connection] */
    pb_ev_del(ev, "network.protocol");
    pb_ev_put(ev, "event.type", json_pack("[s]", "connection"));

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

    json_t *icmp = json_object();
    if (icmp != NULL) {
        json_object_set_new_nocheck(icmp, "version", json_integer(in->version));
        if (in->req.present) {
            json_object_set_new_nocheck(icmp, "request", side_json(in->version, &in->req.msg));
        }
        if (in->resp.present) {
            json_object_set_new_nocheck(icmp, "response", side_json(in->version, &in->resp.msg));
        }
        pb_ev_put(ev, "icmp", icmp);
    }
    return ev;
}
