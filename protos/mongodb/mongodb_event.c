/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_event.c - the mongodb transaction event as
 * Packetbeat 8.x publishes it: mongodb.* (request fields, then the reply's
 * over them, error), method, resource, query, status, request/response on
 * demand (max_docs, max_doc_length).
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "mongodb_int.h"
#include "protos/common/strutil.h"

static void set_cstr(pb_node *o, const char *k, const char *s)
{
    pb_node_set_strn(o, k, s, strlen(s));
}

static void put_fields(pb_node *o, const struct mongo_msg *m)
{
    if (m->present & MF_FULL_COLLECTION_NAME) {
        set_cstr(o, "fullCollectionName", m->full_collection_name);
    }
    if (m->present & MF_NUMBER_TO_SKIP) {
        pb_node_set_int(o, "numberToSkip", (int64_t)m->number_to_skip);
    }
    if (m->present & MF_NUMBER_TO_RETURN) {
        pb_node_set_int(o, "numberToReturn", (int64_t)m->number_to_return);
    }
    if (m->present & MF_RETURN_FIELDS_SELECTOR) {
        set_cstr(o, "returnFieldsSelector", m->return_fields_selector);
    }
    if (m->present & MF_SELECTOR) {
        set_cstr(o, "selector", m->selector);
    }
    if (m->present & MF_UPDATE) {
        set_cstr(o, "update", m->update);
    }
    if (m->present & MF_CURSOR_ID) {
        pb_node_set_int(o, "cursorId", (int64_t)m->cursor_id);
    }
    if (m->present & MF_STARTING_FROM) {
        pb_node_set_int(o, "startingFrom", (int64_t)m->starting_from);
    }
    if (m->present & MF_NUMBER_RETURNED) {
        pb_node_set_int(o, "numberReturned", (int64_t)m->number_returned);
    }
    if (m->present & MF_MESSAGE) {
        set_cstr(o, "message", m->message);
    }
}

/* The reply documents, one JSON per line, as Packetbeat joins them. */
static int put_response_text(pb_event *ev, const struct mongo_priv *pv,
                             const struct mongo_msg *resp)
{
    struct pb_bytes b = {0};
    const size_t max = 64u * 1024u * 1024u;
    bool first = true;
    for (size_t i = 0; i < resp->ndocs; i++) {
        const char *doc = resp->docs[i];
        if (doc == NULL) {
            continue; /* failed to marshal: left out */
        }
        size_t n = strlen(doc);
        bool cut = pv->max_doc_length > 0 && n > (size_t)pv->max_doc_length;
        if (cut) {
            n = (size_t)pv->max_doc_length;
        }
        if ((!first && pb_bytes_append(&b, "\n", 1, max) < 0) ||
            pb_bytes_append(&b, doc, n, max) < 0 ||
            (cut && pb_bytes_append(&b, " ...", 4, max) < 0)) {
            break;
        }
        first = false;
    }
    if (resp->more_docs) {
        if (!first) {
            (void)pb_bytes_append(&b, "\n", 1, max);
        }
        (void)pb_bytes_append(&b, "[...]", 5, max);
    }
    int rc = pb_ev_put_strn(ev, "response", b.p != NULL ? (const char *)b.p : "", b.len);
    pb_bytes_free(&b);
    return rc;
}

pb_event *mongo_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                         const struct mongo_msg *req, const struct mongo_msg *resp)
{
    const struct mongo_priv *pv = p->priv;
    struct pb_tuple t = req->dir == PB_DIR_TO_SERVER ? *tuple : pb_tuple_reverse(tuple);
    const char *error = resp != NULL ? resp->error : NULL;
    struct pb_tx tx = {
        .type = "mongodb",
        .tuple = &t,
        .start_ns = req->ts_ns,
        .end_ns = resp != NULL ? resp->ts_ns : 0,
        .status = error == NULL ? "OK" : "Error",
        .src_bytes = req->length > 0 ? (int64_t)req->length : -1,
        .dst_bytes = resp != NULL && resp->length > 0 ? (int64_t)resp->length : -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    pb_node *mg = pb_ev_obj(ev, "mongodb");
    if (mg == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    put_fields(mg, req);
    if (resp != NULL) {
        put_fields(mg, resp);
    }
    if (error != NULL) {
        set_cstr(mg, "error", error);
    }
    const char *method = req->method != NULL ? req->method : "";
    const char *resource = req->resource != NULL ? req->resource : "";
    pb_ev_put_strn(ev, "method", method, strlen(method));
    pb_ev_put_strn(ev, "resource", resource, strlen(resource));
    pb_ev_put_strn(ev, "query", req->query != NULL ? req->query : "",
                   req->query != NULL ? strlen(req->query) : 0);
    if (p->send_request && req->request != NULL) {
        pb_ev_put_strn(ev, "request", req->request, strlen(req->request));
    }
    if (p->send_response && resp != NULL && resp->ndocs > 0) {
        put_response_text(ev, pv, resp);
    }
    return ev;
}
