/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_event.c - the cassandra transaction event, as
 * Packetbeat 8.x publishes it: cassandra.request / cassandra.response with
 * the decoded body and (on demand) the frame headers, cassandra.no_request
 * for frames the server pushed, status always "OK".
 */
#include <string.h>

#include "beat/err.h"
#include "beat/event.h"
#include "cassandra_int.h"

/* The decoded body plus the headers when asked for, as the object at path
 * (its members the parser's, shared); nothing when that would be empty. */
static int put_part(pb_event *ev, const char *path, const struct cass_msg *m, bool with_header)
{
    bool header = with_header && m->header != NULL;
    if (json_object_size(m->data) == 0 && !header) {
        return 0;
    }
    pb_node *o = pb_ev_obj(ev, path);
    if (o == NULL) {
        return -PB_ENOMEM;
    }
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m->data, k, v)
    {
        rc |= pb_node_set(o, k, json_incref(v));
    }
    if (header) {
        rc |= pb_node_set(o, "headers", json_incref(m->header));
    }
    return rc;
}

pb_event *cass_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                        const struct cass_msg *req, const struct cass_msg *resp)
{
    const struct cass_priv *pv = p->priv;
    if ((req == NULL && resp == NULL) || (req != NULL && req->ignored) ||
        (resp != NULL && resp->ignored)) {
        return NULL;
    }
    const struct cass_msg *first = req != NULL ? req : resp;
    struct pb_tx tx = {
        .type = "cassandra",
        .tuple = tuple,
        .start_ns = first->ts_ns,
        .end_ns = resp != NULL ? resp->ts_ns : 0,
        .status = "OK",
        .src_bytes = req != NULL ? (int64_t)req->size : -1,
        .dst_bytes = resp != NULL ? (int64_t)resp->size : -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    int rc = 0;
    if (req == NULL) {
        /* a server push: no request, so no event.start nor duration */
        pb_ev_del(ev, "event.start");
        pb_ev_del(ev, "event.duration");
        rc |= pb_ev_put_bool(ev, "cassandra.no_request", true);
    } else if (p->send_request) {
        rc |= put_part(ev, "cassandra.request", req, pv->send_request_header);
    }
    if (resp != NULL && p->send_response) {
        rc |= put_part(ev, "cassandra.response", resp, pv->send_response_header);
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
