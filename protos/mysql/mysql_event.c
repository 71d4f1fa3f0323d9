/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql_event.c - the event of a MySQL transaction, with the
 * fields Packetbeat's mysql publishTransaction sets.
 */
#include "mysql.h"

#include <jansson.h>
#include <string.h>

#include "beat/event.h"

void my_publish(struct pb_proto *p, const struct pb_conn *c, const struct my_trans *t,
                const struct my_result_fields *r)
{
    struct pb_tx tx = {
        .type = "mysql",
        .tuple = &c->tuple,
        .start_ns = t->ts_ns,
        .end_ns = t->end_ns,
        .status = r->is_error ? "Error" : "OK",
        .src_bytes = t->bytes_in > 0 ? (int64_t)t->bytes_in : -1,
        .dst_bytes = t->bytes_out > 0 ? (int64_t)t->bytes_out : -1,
        .error = NULL,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return;
    }
    if (t->notes.n == 1) {
        pb_ev_put_strn(ev, "error.message", t->notes.v[0], t->notes.lens[0]);
    } else if (t->notes.n > 1) {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < t->notes.n; i++) {
            json_array_append_new(arr, pb_json_strn(t->notes.v[i], t->notes.lens[i]));
        }
        pb_ev_put(ev, "error.message", arr);
    }
    pb_ev_put_strn(ev, "method", t->method != NULL ? t->method : "", t->method_len);
    pb_ev_put_strn(ev, "query", t->query != NULL ? t->query : "", t->query_len);

    json_t *my = json_object();
    if (my != NULL) {
        json_object_set_new_nocheck(my, "affected_rows",
                                    json_integer((json_int_t)r->affected_rows));
        json_object_set_new_nocheck(my, "insert_id", json_integer((json_int_t)r->insert_id));
        json_object_set_new_nocheck(my, "num_rows", json_integer((json_int_t)r->num_rows));
        json_object_set_new_nocheck(my, "num_fields", json_integer((json_int_t)r->num_fields));
        if (r->is_error) {
            json_object_set_new_nocheck(my, "error_code", json_integer(r->error_code));
            json_object_set_new_nocheck(
                my, "error_message",
                pb_json_strn(r->error_msg != NULL ? (const void *)r->error_msg : (const void *)"",
                             r->error_msg_len));
        }
        pb_ev_put(ev, "mysql", my);
    }
    if (r->path != NULL && r->path_len > 0) {
        pb_ev_put_strn(ev, "path", r->path, r->path_len);
    }
    if (t->params.n > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < t->params.n; i++) {
            json_array_append_new(arr, pb_json_strn(t->params.v[i], t->params.lens[i]));
        }
        pb_ev_put(ev, "params", arr);
    }
    if (p->send_request) {
        pb_ev_put_strn(ev, "request", t->request_raw != NULL ? t->request_raw : "",
                       t->request_raw_len);
    }
    if (p->send_response) {
        pb_ev_put_strn(ev, "response", r->response != NULL ? r->response : "", r->response_len);
    }
    pb_emit(p, ev);
}
