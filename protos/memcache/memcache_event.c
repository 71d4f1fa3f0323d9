/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_event.c - the memcache transaction event:
 * memcache.request.* / memcache.response.* as Packetbeat's serializers name
 * them, memcache.protocol_type, status, event.action, event.outcome and the
 * transaction notes as error.message.
 *
 * Packetbeat's applayer puts the response size in source.bytes and the
 * request size in destination.bytes; kept as is.
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "memcache_int.h"

const char *mc_tx_status(const struct mc_msg *req, const struct mc_msg *resp)
{
    if (req == NULL && resp != NULL) {
        return "Client Error";
    }
    if (req != NULL && resp == NULL) {
        if (req->is_quiet || req->noreply) {
            return "OK";
        }
        if (req->cmd->code == MC_CMD_QUIT) {
            return "OK";
        }
        return "Server Error";
    }
    if (req != NULL && resp != NULL && req->is_binary) {
        if (resp->status == 0) {
            return "OK";
        }
        return resp->status > 0x80 ? "Server Error" : "Error";
    }
    if (req != NULL && resp != NULL) {
        if (resp->cmd->typ != MC_T_FAIL) {
            return "OK";
        }
        switch (resp->cmd->code) {
        case MC_ERR_CLIENT_ERROR:
        case MC_ERR_SAME:
            return "Client Error";
        case MC_ERR_SERVER_ERROR:
        case MC_ERR_BUSY:
        case MC_ERR_BADCLASS:
        case MC_ERR_NOSPARE:
        case MC_ERR_NOTFULL:
        case MC_ERR_UNSAFE:
            return "Server Error";
        default:
            return "Error";
        }
    }
    return "Error";
}

/* Go prints uint64 in full; jansson integers are signed. */
static json_t *json_u64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v);
}

static json_t *bytes_str(const struct pb_bytes *b)
{
    return pb_json_strn(b->p != NULL ? (const char *)b->p : "", b->len);
}

static json_t *strv_list(const struct mc_strv *v)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < v->n; i++) {
        json_array_append_new(a, pb_json_strn(v->blob.p + v->off[i], v->len[i]));
    }
    return a;
}

/* Values are Go structs with only a MarshalJSON: libbeat's event
 * normalisation cannot turn them into objects and leaves empty maps. */
static json_t *values_list(const struct mc_strv *v)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < v->n; i++) {
        json_array_append_new(a, json_object());
    }
    return a;
}

static json_t *stats_list(const struct mc_strv *v)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        json_t *o = json_object();
        if (o == NULL) {
            break;
        }
        json_object_set_new_nocheck(o, "name", pb_json_strn(v->blob.p + v->off[i], v->len[i]));
        json_object_set_new_nocheck(o, "value",
                                    pb_json_strn(v->blob.p + v->off[i + 1], v->len[i + 1]));
        json_array_append_new(a, o);
    }
    return a;
}

static void set(json_t *o, const char *k, json_t *v)
{
    if (v != NULL) {
        json_object_set_new(o, k, v);
    }
}

static void ser_arg(const struct mc_msg *m, json_t *o, unsigned id)
{
    switch (id) {
    case MC_A_KEY:
    case MC_A_MULTIKEYS:
        set(o, "keys", strv_list(&m->keys));
        break;
    case MC_A_FLAGS:
    case MC_B_FLAGS:
        set(o, "flags", json_integer(m->flags));
        break;
    case MC_A_EXPTIME:
    case MC_B_EXPTIME:
        set(o, "exptime", json_integer(m->exptime));
        break;
    case MC_A_BYTES:
        set(o, "bytes", json_u64(m->bytes));
        break;
    case MC_A_CAS:
        set(o, "cas_unique", json_u64(m->cas));
        break;
    case MC_A_AUTOMOVE: {
        const char *names[] = {"standby", "slow", "aggressive"};
        if (m->value < 3) {
            set(o, "automove", json_string(names[m->value]));
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)m->value);
            set(o, "automove", json_string(buf));
        }
        break;
    }
    case MC_A_RAW:
        set(o, "raw_args", bytes_str(&m->raw_args));
        break;
    case MC_A_STAT:
    case MC_B_STATS:
        set(o, "stats", stats_list(&m->stats));
        break;
    case MC_A_DELTA:
    case MC_B_DELTA:
        set(o, "delta", json_u64(m->value));
        break;
    case MC_A_SLEEP_US:
        set(o, "sleep_us", json_u64(m->value));
        break;
    case MC_A_VALUE:
        set(o, "value", json_u64(m->value));
        break;
    case MC_A_VERBOSITY:
    case MC_B_VERBOSITY:
        set(o, "verbosity", json_u64(m->value));
        break;
    case MC_B_INITIAL:
        set(o, "initial", json_u64(m->value2));
        break;
    case MC_A_SOURCE_CLASS:
        set(o, "source_class", json_integer(m->ivalue));
        break;
    case MC_A_DEST_CLASS:
        set(o, "dest_class", json_integer(m->ivalue2));
        break;
    case MC_A_NOREPLY:
        set(o, "noreply", json_boolean(m->noreply));
        break;
    case MC_A_ERRMSG:
        set(o, "error_msg", bytes_str(&m->error_msg));
        break;
    default:
        break;
    }
}

static void ser_args(const struct mc_msg *m, json_t *o, const uint8_t *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ser_arg(m, o, MC_A_ID(ids[i]));
    }
}

static void ser_binary(const struct mc_msg *m, json_t *o)
{
    const struct mc_cmd *c = m->cmd;
    set(o, "command", json_string(mc_code_name(c->code)));
    set(o, "type", json_string(mc_type_name(c->typ)));
    set(o, "opcode", json_string(mc_opcode_name(m->opcode)));
    set(o, "opcode_value", json_integer(m->opcode));
    set(o, "opaque", json_integer(m->opaque));
    if (m->keys.n > 0) {
        set(o, "keys", strv_list(&m->keys));
    }
    if (m->is_cas) {
        set(o, "cas_unique", json_u64(m->cas));
    }
    if (m->count_values > 0) {
        set(o, "count_values", json_integer(m->count_values));
        if (m->values.n > 0) {
            set(o, "values", values_list(&m->values));
        }
        set(o, "bytes", json_u64(m->bytes + m->bytes_lost));
    }
    if (m->has_str) {
        set(o, "version", bytes_str(&m->str));
    }
    if (m->is_request) {
        set(o, "quiet", json_boolean(m->is_quiet));
        set(o, "vbucket", json_integer(m->vbucket));
        ser_args(m, o, c->args, c->nargs);
        return;
    }
    set(o, "status", json_string(mc_status_name(m->status)));
    set(o, "status_code", json_integer(m->status));
    if (c->typ == MC_T_COUNTER) {
        set(o, "value", json_u64(m->value));
    }
    ser_args(m, o, c->rargs, c->nrargs);
}

static json_t *ser_msg(const struct mc_msg *m)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    const struct mc_cmd *c = m->cmd;
    switch (c->ser) {
    case MC_SER_BINARY:
        ser_binary(m, o);
        break;
    case MC_SER_UNKNOWN:
        set(o, "line", bytes_str(&m->line));
        set(o, "command", json_string_nocheck("UNKNOWN"));
        set(o, "type", json_string_nocheck("UNKNOWN"));
        break;
    case MC_SER_COUNTER:
        set(o, "command", json_string(mc_code_name(MC_RES_COUNTER_OP)));
        set(o, "type", json_string(mc_type_name(MC_T_COUNTER)));
        set(o, "value", json_u64(m->value));
        break;
    case MC_SER_NOP:
        break;
    default:
        set(o, "command", json_string(mc_code_name(c->code)));
        set(o, "type", json_string(mc_type_name(c->typ)));
        if (c->ser == MC_SER_DATA_REQ) {
            set(o, "count_values", json_integer(m->count_values));
            if (m->count_values != 0 && m->has_data) {
                set(o, "values", json_object());
            }
        } else if (c->ser == MC_SER_DATA_RESP) {
            set(o, "count_values", json_integer(m->count_values));
            if (m->count_values != 0 && m->values.n > 0) {
                set(o, "values", values_list(&m->values));
            }
        }
        ser_args(m, o, c->args, c->nargs);
        break;
    }
    return o;
}

pb_event *mc_tx_event(const struct mc_msg *req, const struct mc_msg *resp)
{
    const struct mc_msg *first = req != NULL ? req : resp;
    if (first == NULL) {
        return NULL;
    }
    /* Source: the request's sender, or the receiver of a lone response. */
    struct pb_tuple t = req != NULL ? req->tuple : pb_tuple_reverse(&resp->tuple);
    struct pb_tx tx = {
        .type = "memcache",
        .tuple = &t,
        .start_ns = first->ts_ns,
        .end_ns = resp != NULL ? resp->ts_ns : 0,
        .status = mc_tx_status(req, resp),
        .src_bytes = resp != NULL && resp->size > 0 ? (int64_t)resp->size : -1,
        .dst_bytes = req != NULL && req->size > 0 ? (int64_t)req->size : -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    json_t *mc = json_object();
    if (mc == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    if (req != NULL) {
        set(mc, "request", ser_msg(req));
        char action[32];
        snprintf(action, sizeof action, "memcache.%s", mc_type_name(req->cmd->typ));
        for (char *q = action; *q != '\0'; q++) {
            if (*q >= 'A' && *q <= 'Z') {
                *q = (char)(*q - 'A' + 'a');
            }
        }
        pb_ev_put_str(ev, "event.action", action);
    }
    if (resp != NULL) {
        set(mc, "response", ser_msg(resp));
        if (resp->status == 0) {
            pb_ev_put_str(ev, "event.outcome", "success");
        }
    }
    set(mc, "protocol_type", json_string(first->is_binary ? "binary" : "text"));
    pb_ev_put(ev, "memcache", mc);

    /* notes: the request's, then the response's */
    size_t nnotes = (req != NULL ? req->nnotes : 0) + (resp != NULL ? resp->nnotes : 0);
    if (nnotes == 1) {
        const char *n = req != NULL && req->nnotes > 0 ? req->notes[0] : resp->notes[0];
        pb_ev_put_str(ev, "error.message", n);
    } else if (nnotes > 1) {
        json_t *a = json_array();
        for (int k = 0; k < 2 && a != NULL; k++) {
            const struct mc_msg *m = k == 0 ? req : resp;
            for (unsigned i = 0; m != NULL && i < m->nnotes; i++) {
                json_array_append_new(a, json_string(m->notes[i]));
            }
        }
        if (a != NULL) {
            pb_ev_put(ev, "error.message", a);
        }
    }
    return ev;
}
