/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_event.c - the thrift transaction event, with the
 * fields and values Packetbeat 8.x publishes: method, path (the service),
 * query (method + params), status, thrift.params / service / return_value /
 * exceptions, request/response on demand, error.message on packet loss.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "thrift_int.h"

/* The bytes of b, never NULL (jansson refuses a NULL string). */
static const void *bp(const struct pb_bytes *b)
{
    return b->p != NULL ? (const void *)b->p : (const void *)"";
}

/* The bytes a (an) followed by b (bn) at key. */
static int set_concat(pb_node *n, const char *key, const void *a, size_t an, const void *b,
                      size_t bn)
{
    char stack[512];
    if (an > SIZE_MAX - bn) {
        return -PB_ENOMEM;
    }
    size_t len = an + bn;
    char *buf = len <= sizeof stack ? stack : pb_malloc(len);
    if (buf == NULL) {
        return -PB_ENOMEM;
    }
    memcpy(buf, a, an);
    memcpy(buf + an, b, bn);
    int rc = pb_node_set_strn(n, key, buf, len);
    if (buf != stack) {
        pb_free(buf);
    }
    return rc;
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
    pb_node *root = pb_ev_obj(ev, "");
    const char *service = req->service != NULL ? req->service : "";
    int rc = 0;
    rc |= pb_node_set_strn(root, "method", bp(&req->method), req->method.len);
    rc |= pb_node_set_str(root, "path", service);
    rc |= set_concat(root, "query", bp(&req->method), req->method.len, bp(&req->params),
                     req->params.len);
    pb_node *th = pb_node_obj(root, "thrift");
    rc |= pb_node_set_strn(th, "params", bp(&req->params), req->params.len);
    if (service[0] != '\0') {
        rc |= pb_node_set_str(th, "service", service);
    }
    if (p->send_request) {
        rc |= set_concat(root, "request", bp(&req->method), req->method.len, bp(&req->params),
                         req->params.len);
    }
    if (rep != NULL) {
        rc |= pb_node_set_strn(th, "return_value", bp(&rep->return_value), rep->return_value.len);
        if (rep->exceptions.len > 0) {
            rc |= pb_node_set_strn(th, "exceptions", bp(&rep->exceptions), rep->exceptions.len);
        }
        if (p->send_response) {
            if (!rep->has_exception) {
                rc |= pb_node_set_strn(root, "response", bp(&rep->return_value),
                                       rep->return_value.len);
            } else {
                rc |= set_concat(root, "response", "Exceptions: ", 12, bp(&rep->exceptions),
                                 rep->exceptions.len);
            }
        }
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
