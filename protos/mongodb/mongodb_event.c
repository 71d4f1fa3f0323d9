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

static void put_fields(json_t *o, const struct mongo_msg *m)
{
    if (m->present & MF_FULL_COLLECTION_NAME) {
        json_object_set_new_nocheck(
            o, "fullCollectionName",
            pb_json_strn(m->full_collection_name, strlen(m->full_collection_name)));
    }
    if (m->present & MF_NUMBER_TO_SKIP) {
        json_object_set_new_nocheck(o, "numberToSkip", json_integer((json_int_t)m->number_to_skip));
    }
    if (m->present & MF_NUMBER_TO_RETURN) {
        json_object_set_new_nocheck(o, "numberToReturn",
                                    json_integer((json_int_t)m->number_to_return));
    }
    if (m->present & MF_RETURN_FIELDS_SELECTOR) {
        json_object_set_new(
            o, "returnFieldsSelector",
            pb_json_strn(m->return_fields_selector, strlen(m->return_fields_selector)));
    }
    if (m->present & MF_SELECTOR) {
        json_object_set_new_nocheck(o, "selector", pb_json_strn(m->selector, strlen(m->selector)));
    }
    if (m->present & MF_UPDATE) {
        json_object_set_new_nocheck(o, "update", pb_json_strn(m->update, strlen(m->update)));
    }
    if (m->present & MF_CURSOR_ID) {
        json_object_set_new_nocheck(o, "cursorId", json_integer((json_int_t)m->cursor_id));
    }
    if (m->present & MF_STARTING_FROM) {
        json_object_set_new_nocheck(o, "startingFrom", json_integer((json_int_t)m->starting_from));
    }
    if (m->present & MF_NUMBER_RETURNED) {
        json_object_set_new_nocheck(o, "numberReturned",
                                    json_integer((json_int_t)m->number_returned));
    }
    if (m->present & MF_MESSAGE) {
        json_object_set_new_nocheck(o, "message", pb_json_strn(m->message, strlen(m->message)));
    }
}

/* The reply documents, one JSON per line, as Packetbeat joins them. */
static json_t *response_text(const struct mongo_priv *pv, const struct mongo_msg *resp)
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
    json_t *s = pb_json_strn(b.p != NULL ? (const char *)b.p : "", b.len);
    pb_bytes_free(&b);
    return s;
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
    json_t *mg = json_object();
    if (mg == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    put_fields(mg, req);
    if (resp != NULL) {
        put_fields(mg, resp);
    }
    if (error != NULL) {
        json_object_set_new_nocheck(mg, "error", pb_json_strn(error, strlen(error)));
    }
    pb_ev_put(ev, "mongodb", mg);
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
        pb_ev_put(ev, "response", response_text(pv, resp));
    }
    return ev;
}
