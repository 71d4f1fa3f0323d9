/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_event.c - the thrift transaction event, with the
 * fields and values Packetbeat 8.x publishes: method, path (the service),
 * query (method + params), status, thrift.params / service / return_value /
 * exceptions, request/response on demand, error.message on packet loss.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "thrift_int.h"

/* The bytes of b, never NULL (jansson refuses a NULL string). */
static const void *bp(const struct pb_bytes *b)
{
    return b->p != NULL ? (const void *)b->p : (const void *)"";
}

pb_event *thrift_tx_event(const struct pb_proto *p, const struct thrift_tx *tx)
{
    const struct thrift_msg *req = tx->request;
    const struct thrift_msg *rep = tx->reply;
    struct pb_tx t = {
        .type = "thrift",
        .tuple = &tx->tuple,
        .start_ns = req->ts_ns,
        .end_ns = rep != NULL ? rep->ts_ns : 0,
        .status = (rep != NULL && rep->has_exception) ? "Error" : "OK",
        .src_bytes = req->frame_size > 0 ? (int64_t)req->frame_size : -1,
        .dst_bytes = (rep != NULL && rep->frame_size > 0) ? (int64_t)rep->frame_size : -1,
        .error = (rep != NULL && rep->gap_note) ? "Packet loss while capturing the response" : NULL,
    };
    pb_event *ev = pb_tx_event(&t);
    if (ev == NULL) {
        return NULL;
    }
    /* query = method + params */
    struct pb_bytes query = {0};
    const size_t max = (size_t)1 << 40;
    int rc = 0;
    if (pb_bytes_append(&query, bp(&req->method), req->method.len, max) < 0 ||
        pb_bytes_append(&query, bp(&req->params), req->params.len, max) < 0) {
        rc = -1;
    }
    const char *service = req->service != NULL ? req->service : "";
    rc |= pb_ev_put_strn(ev, "method", bp(&req->method), req->method.len);
    rc |= pb_ev_put_str(ev, "path", service);
    rc |= pb_ev_put_strn(ev, "query", bp(&query), query.len);
    rc |= pb_ev_put_strn(ev, "thrift.params", bp(&req->params), req->params.len);
    if (service[0] != '\0') {
        rc |= pb_ev_put_str(ev, "thrift.service", service);
    }
    if (p->send_request) {
        rc |= pb_ev_put_strn(ev, "request", bp(&query), query.len);
    }
    if (rep != NULL) {
        rc |= pb_ev_put_strn(ev, "thrift.return_value", bp(&rep->return_value),
                             rep->return_value.len);
        if (rep->exceptions.len > 0) {
            rc |=
                pb_ev_put_strn(ev, "thrift.exceptions", bp(&rep->exceptions), rep->exceptions.len);
        }
        if (p->send_response) {
            if (!rep->has_exception) {
                rc |= pb_ev_put_strn(ev, "response", bp(&rep->return_value), rep->return_value.len);
            } else {
                struct pb_bytes r = {0};
                if (pb_bytes_append(&r, "Exceptions: ", 12, max) < 0 ||
                    pb_bytes_append(&r, bp(&rep->exceptions), rep->exceptions.len, max) < 0) {
                    rc = -1;
                }
                rc |= pb_ev_put_strn(ev, "response", bp(&r), r.len);
                pb_bytes_free(&r);
            }
        }
    }
    pb_bytes_free(&query);
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
