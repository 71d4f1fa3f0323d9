/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql_event.c - the event of a PostgreSQL transaction, with
 * the fields Packetbeat's pgsql publishTransaction sets.
 */
#include "pgsql.h"

#include "beat/event.h"
#include "beat/jsonw.h"

/* s (wire bytes) at the new literal key k, "" when s is NULL. */
#define ADD_OR_EMPTY(n, k, s, len)                                                                 \
    pb_node_add_strn((n), PB_KEY(k), (s) != NULL ? (s) : "", (s) != NULL ? (len) : 0)

/* The pgsql object of an answer without error, {"num_rows":N,"num_fields":M},
 * as the compact JSON text the codec writes for those members: one raw
 * member, copied by the encoder instead of an object and two members built
 * and encoded one by one. */
static void add_counts(pb_node *root, const struct pg_msg *m)
{
    char buf[96]; /* the keys and two int64 */
    char *o = PB_JW_LIT(buf, "{\"num_rows\":");
    o = pb_jw_int(o, m->num_rows);
    o = PB_JW_LIT(o, ",\"num_fields\":");
    o = pb_jw_int(o, m->num_fields);
    *o++ = '}';
    pb_node_add_raw(root, PB_KEY("pgsql"), buf, (size_t)(o - buf));
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
    ADD_OR_EMPTY(root, "query", t->query, t->query_len);
    ADD_OR_EMPTY(root, "method", t->method, t->method_len);
    if (!m->is_error) {
        add_counts(root, m);
    } else {
        pb_node *pg = pb_node_add_obj(root, PB_KEY("pgsql"));
        pb_node_add_int(pg, PB_KEY("num_rows"), m->num_rows);
        pb_node_add_int(pg, PB_KEY("num_fields"), m->num_fields);
        ADD_OR_EMPTY(pg, "error_code", m->err_code, m->err_code_len);
        ADD_OR_EMPTY(pg, "error_message", m->err_msg, m->err_msg_len);
        ADD_OR_EMPTY(pg, "error_severity", m->err_sev, m->err_sev_len);
    }
    if (p->send_request) {
        ADD_OR_EMPTY(root, "request", t->query, t->query_len);
    }
    if (p->send_response) {
        ADD_OR_EMPTY(root, "response", csv, csv_len);
    }
    pb_emit(p, ev);
}
