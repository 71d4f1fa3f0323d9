/* SPDX-License-Identifier: Apache-2.0
 * protos/redis/redis_event.c - the redis transaction event, with the fields
 * and values Packetbeat 8.x publishes: method (upper case), resource, query,
 * status, redis.return_value / redis.error, request/response on demand,
 * event.action and event.outcome.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/jsonw.h"
#include "redis_int.h"

/* Return values up to this long that need no escaping are written as the
 * redis object's text (longer ones, rarer, as a member). */
#define RAW_VALUE_MAX 2048u

/* The redis object, {"return_value":text} or {"error":text}: as the
 * compact JSON text the codec writes for it when text needs no escaping
 * (one raw member, copied by the encoder, instead of an object and its
 * member built and encoded), else as members. */
static int add_redis(pb_node *root, const struct redis_msg *resp)
{
    const char *s = resp->b.text;
    size_t n = resp->b.text_len;
    bool err = resp->b.is_error;
    if (n <= RAW_VALUE_MAX && pb_json_plain(s, n)) {
        char buf[RAW_VALUE_MAX + sizeof "{\"return_value\":\"\"}"];
        char *o = err ? PB_JW_LIT(buf, "{\"error\":") : PB_JW_LIT(buf, "{\"return_value\":");
        o = pb_jw_quoted(o, s, n);
        *o++ = '}';
        return pb_node_add_raw(root, PB_KEY("redis"), buf, (size_t)(o - buf));
    }
    pb_node *redis = pb_node_add_obj(root, PB_KEY("redis"));
    return err ? pb_node_add_strn(redis, PB_KEY("error"), s, n)
               : pb_node_add_strn(redis, PB_KEY("return_value"), s, n);
}

pb_event *redis_tx_event(const struct pb_proto *p, const struct pb_tuple *tuple,
                         const struct redis_msg *req, const struct redis_msg *resp)
{
    /* The request's sender is the source. */
    struct pb_tuple t = req->dir == PB_DIR_TO_SERVER ? *tuple : pb_tuple_reverse(tuple);
    struct pb_tx tx = {
        .type = "redis",
        .tuple = &t,
        .start_ns = req->ts_ns,
        .end_ns = resp->ts_ns,
        .status = resp->b.is_error ? "Error" : "OK",
        .src_bytes = req->size > 0 ? (int64_t)req->size : -1,
        .dst_bytes = resp->size > 0 ? (int64_t)resp->size : -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    /* method in upper case, event.action "redis.<method>" in lower case:
     * the command table's for a command Packetbeat knows, else made here
     * (on the stack unless the method is long) */
    size_t mlen = req->b.method_len;
    char ubuf[64];
    char lbuf[64 + sizeof "redis."];
    bool heap = req->b.command == NULL && mlen >= sizeof ubuf;
    char *upper = heap ? pb_malloc(mlen + 1) : ubuf;
    char *lower = heap ? pb_malloc(mlen + sizeof "redis.") : lbuf;
    if (upper == NULL || lower == NULL) {
        if (heap) {
            pb_free(upper);
            pb_free(lower);
        }
        pb_ev_free(ev);
        return NULL;
    }
    const char *action = req->b.action;
    size_t alen = req->b.action_len;
    if (req->b.command == NULL) {
        memcpy(lower, "redis.", 6);
        for (size_t i = 0; i < mlen; i++) {
            char c = req->b.method[i];
            upper[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
            lower[6 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        upper[mlen] = '\0';
        lower[6 + mlen] = '\0';
        action = lower;
        alen = 6 + mlen;
    }

    /* none of these keys is in pb_tx_event's event yet */
    pb_node *root = pb_ev_obj(ev, "");
    int rc = 0;
    if (req->b.command != NULL) {
        rc |= pb_node_add_static(root, PB_KEY("method"), req->b.command); /* the same text */
    } else {
        rc |= pb_node_add_strn(root, PB_KEY("method"), upper, mlen);
    }
    rc |= pb_node_add_strn(root, PB_KEY("resource"), req->b.path != NULL ? req->b.path : "",
                           req->b.path_len);
    rc |= pb_node_add_strn(root, PB_KEY("query"), req->b.text, req->b.text_len);
    rc |= add_redis(root, resp);
    if (p->send_request) {
        rc |= pb_node_add_strn(root, PB_KEY("request"), req->b.text, req->b.text_len);
    }
    if (p->send_response) {
        rc |= pb_node_add_strn(root, PB_KEY("response"), resp->b.text, resp->b.text_len);
    }
    const char *outcome = resp->b.is_error ? "failure" : NULL;
    rc |= req->b.action != NULL ? pb_tx_add_static_action(ev, action, alen, outcome)
                                : pb_tx_add_action(ev, action, alen, outcome);
    if (heap) {
        pb_free(upper);
        pb_free(lower);
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
