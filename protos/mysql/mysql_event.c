/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql_event.c - the event of a MySQL transaction, with the
 * fields Packetbeat's mysql publishTransaction sets.
 */
#include "mysql.h"

#include <string.h>

#include "beat/event.h"
#include "beat/jsonw.h"

/* The mysql object of an answer without error as the compact JSON text the
 * codec writes for its four members: one raw member, copied by the encoder
 * instead of an object and four members built and encoded one by one. */
static void add_counts(pb_node *root, const struct my_result_fields *r)
{
    char buf[160]; /* the keys and four int64 */
    char *o = PB_JW_LIT(buf, "{\"affected_rows\":");
    o = pb_jw_int(o, (int64_t)r->affected_rows);
    o = PB_JW_LIT(o, ",\"insert_id\":");
    o = pb_jw_int(o, (int64_t)r->insert_id);
    o = PB_JW_LIT(o, ",\"num_rows\":");
    o = pb_jw_int(o, r->num_rows);
    o = PB_JW_LIT(o, ",\"num_fields\":");
    o = pb_jw_int(o, r->num_fields);
    *o++ = '}';
    pb_node_add_raw(root, PB_KEY("mysql"), buf, (size_t)(o - buf));
}

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
    /* pb_tx_event's event has none of these keys (no error either) */
    pb_node *root = pb_ev_obj(ev, "");
    if (t->notes.n == 1) {
        pb_node_add_strn(pb_node_add_obj(root, PB_KEY("error")), PB_KEY("message"), t->notes.v[0],
                         t->notes.lens[0]);
    } else if (t->notes.n > 1) {
        pb_node *arr = pb_node_add_arr(pb_node_add_obj(root, PB_KEY("error")), PB_KEY("message"));
        for (size_t i = 0; arr != NULL && i < t->notes.n; i++) {
            pb_node_add_strn(arr, NULL, 0, t->notes.v[i], t->notes.lens[i]);
        }
    }
    pb_node_add_strn(root, PB_KEY("method"), my_trans_method(t), t->method_len);
    pb_node_add_strn(root, PB_KEY("query"), t->query != NULL ? t->query : "", t->query_len);

    if (!r->is_error) {
        add_counts(root, r);
    } else {
        pb_node *my = pb_node_add_obj(root, PB_KEY("mysql"));
        pb_node_add_int(my, PB_KEY("affected_rows"), (int64_t)r->affected_rows);
        pb_node_add_int(my, PB_KEY("insert_id"), (int64_t)r->insert_id);
        pb_node_add_int(my, PB_KEY("num_rows"), r->num_rows);
        pb_node_add_int(my, PB_KEY("num_fields"), r->num_fields);
        pb_node_add_int(my, PB_KEY("error_code"), r->error_code);
        pb_node_add_strn(my, PB_KEY("error_message"),
                         r->error_msg != NULL ? (const void *)r->error_msg : (const void *)"",
                         r->error_msg_len);
    }
    if (r->path != NULL && r->path_len > 0) {
        pb_node_add_strn(root, PB_KEY("path"), r->path, r->path_len);
    }
    if (t->params.n > 0) {
        pb_node *arr = pb_node_add_arr(root, PB_KEY("params"));
        for (size_t i = 0; arr != NULL && i < t->params.n; i++) {
            pb_node_add_strn(arr, NULL, 0, t->params.v[i], t->params.lens[i]);
        }
    }
    if (p->send_request) {
        pb_node_add_strn(root, PB_KEY("request"), t->request_raw != NULL ? t->request_raw : "",
                         t->request_raw_len);
    }
    if (p->send_response) {
        pb_node_add_strn(root, PB_KEY("response"), r->response != NULL ? r->response : "",
                         r->response_len);
    }
    pb_emit(p, ev);
}
