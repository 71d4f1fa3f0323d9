/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_event.c - the cassandra transaction event, as
 * Packetbeat 8.x publishes it: cassandra.request / cassandra.response with
 * the decoded body and (on demand) the frame headers, cassandra.no_request
 * for frames the server pushed, status always "OK".
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "cassandra_int.h"

/* The decoded body plus the headers when asked for; NULL when empty. */
static json_t *part(const struct cass_msg *m, bool with_header)
{
    json_t *o = m->data != NULL ? json_copy(m->data) : json_object();
    if (o == NULL) {
        return NULL;
    }
    if (with_header && m->header != NULL) {
        json_object_set(o, "headers", m->header);
    }
    if (json_object_size(o) == 0) {
        json_decref(o);
        return NULL;
    }
    return o;
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
        json_t *r = part(req, pv->send_request_header);
        if (r != NULL) {
            rc |= pb_ev_put(ev, "cassandra.request", r);
        }
    }
    if (resp != NULL && p->send_response) {
        json_t *r = part(resp, pv->send_response_header);
        if (r != NULL) {
            rc |= pb_ev_put(ev, "cassandra.response", r);
        }
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
