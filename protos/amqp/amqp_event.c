/* SPDX-License-Identifier: Apache-2.0
 * protos/amqp/amqp_event.c - the amqp transaction event with Packetbeat
 * 8.x's fields: method, status, amqp.*, event.action, user.id (from the
 * user-id property), request/response text on demand (message bodies for
 * basic.publish / basic.deliver / basic.return / basic.get, shortened to
 * max_body_length with " [...]"), error.message from notes.
 */
#include <string.h>

#include "amqp_int.h"
#include "beat/alloc.h"
#include "beat/event.h"

bool amqp_tx_is_close_error(const struct amqp_tx *t)
{
    return (strcmp(t->method, "connection.close") == 0 ||
            strcmp(t->method, "channel.close") == 0) &&
           amqp_reply_code(t->amqp) >= 300;
}

bool amqp_tx_is_error(const struct amqp_tx *t)
{
    return strcmp(t->method, "basic.return") == 0 || strcmp(t->method, "basic.reject") == 0 ||
           amqp_tx_is_close_error(t);
}

/* The body as text: as is when it is text, else its bytes in decimal;
 * " [...]" when shortened. */
static int put_body(pb_event *ev, const char *key, const struct amqp_tx *t, uint64_t total)
{
    const char *more = t->body_len < total ? " [...]" : "";
    size_t ml = strlen(more);
    const uint8_t *src = t->body != NULL ? t->body : (const uint8_t *)"";
    char *dec = NULL;
    size_t n = t->body_kept;
    if (!t->to_string) {
        dec = amqp_bytes_to_decimal(src, t->body_kept, &n);
        if (dec == NULL) {
            return -1;
        }
        src = (const uint8_t *)dec;
    }
    char *s = pb_malloc(n + ml + 1);
    if (s == NULL) {
        pb_free(dec);
        return -1;
    }
    if (n > 0) {
        memcpy(s, src, n);
    }
    memcpy(s + n, more, ml + 1);
    int rc = pb_ev_put_strn(ev, key, s, n + ml);
    pb_free(s);
    pb_free(dec);
    return rc;
}

static bool is_method(const struct amqp_tx *t, const char *m)
{
    return strcmp(t->method, m) == 0;
}

pb_event *amqp_tx_event(const struct pb_proto *p, const struct amqp_tx *t)
{
    struct pb_tuple tu = t->reversed ? pb_tuple_reverse(&t->tuple) : t->tuple;
    struct pb_tx tx = {
        .type = "amqp",
        .tuple = &tu,
        .start_ns = t->ts_ns,
        .end_ns = t->end_ns,
        .status = amqp_tx_is_error(t) ? "Error" : "OK",
        .src_bytes = t->bytes_in > 0 ? (int64_t)t->bytes_in : -1,
        .dst_bytes = t->bytes_out > 0 ? (int64_t)t->bytes_out : -1,
        .error = t->nnotes == 1 ? t->notes[0] : NULL,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    int rc = 0;
    if (t->nnotes > 1) {
        pb_node *arr = pb_ev_arr(ev, "error.message");
        rc |= arr == NULL ? -1 : 0;
        for (size_t i = 0; i < t->nnotes; i++) {
            pb_node_set_str(arr, NULL, t->notes[i]);
        }
    }
    size_t mlen = strlen(t->method);
    char action[64];
    if (mlen > sizeof action - sizeof "amqp.") {
        mlen = sizeof action - sizeof "amqp.";
    }
    memcpy(action, "amqp.", 5);
    memcpy(action + 5, t->method, mlen);
    action[5 + mlen] = '\0';
    rc |= pb_tx_add_action(ev, action, strlen(action), NULL);
    rc |= pb_ev_put_str(ev, "method", t->method);
    /* the fields the parser collected (jansson), copied into the event */
    pb_node *root = pb_ev_obj(ev, "");
    rc |=
        t->amqp != NULL ? pb_node_set_copy(root, "amqp", t->amqp) : pb_node_set_null(root, "amqp");
    json_t *uid = json_object_get(t->amqp, "user-id");
    if (uid != NULL) {
        /* Packetbeat sets the literal key "user.id" */
        rc |= pb_node_set_copy(root, "user.id", uid);
    }
    if (p->send_request) {
        if (is_method(t, "basic.publish")) {
            rc |= put_body(ev, "request", t, t->bytes_in);
        } else {
            rc |=
                pb_ev_put_strn(ev, "request", t->request != NULL ? t->request : "", t->request_len);
        }
    }
    if (p->send_response) {
        if (is_method(t, "basic.deliver") || is_method(t, "basic.return") ||
            is_method(t, "basic.get")) {
            rc |= put_body(ev, "response", t, t->bytes_out);
        } else {
            rc |= pb_ev_put_str(ev, "response", t->response_ok ? "OK" : "");
        }
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
