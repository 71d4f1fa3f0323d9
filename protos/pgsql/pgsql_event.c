/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql_event.c - the event of a PostgreSQL transaction, with
 * the fields Packetbeat's pgsql publishTransaction sets.
 */
#include "pgsql.h"

#include <jansson.h>

#include "beat/event.h"

static json_t *str_or_empty(const char *s, size_t n)
{
    return pb_json_strn(s != NULL ? s : "", s != NULL ? n : 0);
}

void pg_publish(struct pb_proto *p, const struct pb_conn *c, const struct pg_trans *t,
                const struct pg_msg *m, const char *csv, size_t csv_len)
{
    struct pb_tx tx = {
        .type = "pgsql",
        .tuple = &c->tuple,
        .start_ns = t->ts_ns,
        .end_ns = t->end_ns,
        .status = m->is_error ? "Error" : "OK",
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
    pb_ev_put(ev, "query", str_or_empty(t->query, t->query_len));
    pb_ev_put(ev, "method", str_or_empty(t->method, t->method_len));
    json_t *pg = json_object();
    if (pg != NULL) {
        json_object_set_new_nocheck(pg, "num_rows", json_integer((json_int_t)m->num_rows));
        json_object_set_new_nocheck(pg, "num_fields", json_integer((json_int_t)m->num_fields));
        if (m->is_error) {
            json_object_set_new_nocheck(pg, "error_code",
                                        str_or_empty(m->err_code, m->err_code_len));
            json_object_set_new_nocheck(pg, "error_message",
                                        str_or_empty(m->err_msg, m->err_msg_len));
            json_object_set_new_nocheck(pg, "error_severity",
                                        str_or_empty(m->err_sev, m->err_sev_len));
        }
        pb_ev_put(ev, "pgsql", pg);
    }
    if (p->send_request) {
        pb_ev_put(ev, "request", str_or_empty(t->query, t->query_len));
    }
    if (p->send_response) {
        pb_ev_put(ev, "response", str_or_empty(csv, csv_len));
    }
    pb_emit(p, ev);
}
