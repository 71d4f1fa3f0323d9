/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_event.c - the memcache transaction event:
 * memcache.request.* / memcache.response.* as Packetbeat's serializers name
 * them, memcache.protocol_type, status, event.action, event.outcome and the
 * transaction notes as error.message.
 *
 * Packetbeat's applayer puts the response size in source.bytes and the
 * request size in destination.bytes; kept as is.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/secw.h"
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

/* The serializers below fill the memcache section through a section
 * writer (beat/secw.h: its text straight, or members): the keys a
 * command's table entry lists are distinct and none of the fixed ones, so
 * each key is new. */
#define ADD_BYTES(w, k, b)                                                                         \
    pb_secw_strn((w), PB_KEY(k), (b)->p != NULL ? (const char *)(b)->p : "", (b)->len)

static void strv_list(struct pb_secw *w, const char *key, size_t klen, const struct mc_strv *v)
{
    pb_secw_arr(w, key, klen);
    size_t at = 0;
    for (size_t i = 0; i < v->n; i++) {
        size_t n;
        const uint8_t *s = mc_strv_next(v, &at, &n);
        pb_secw_strn(w, NULL, 0, s, n);
    }
    pb_secw_end(w);
}

/* Values are Go structs with only a MarshalJSON: libbeat's event
 * normalisation cannot turn them into objects and leaves empty maps. */
static void values_list(struct pb_secw *w, const char *key, size_t klen, const struct mc_strv *v)
{
    pb_secw_arr(w, key, klen);
    for (size_t i = 0; i < v->n; i++) {
        pb_secw_obj(w, NULL, 0);
        pb_secw_end(w);
    }
    pb_secw_end(w);
}

static void stats_list(struct pb_secw *w, const char *key, size_t klen, const struct mc_strv *v)
{
    pb_secw_arr(w, key, klen);
    size_t at = 0;
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        size_t nlen, vlen;
        const uint8_t *name = mc_strv_next(v, &at, &nlen);
        const uint8_t *value = mc_strv_next(v, &at, &vlen);
        pb_secw_obj(w, NULL, 0);
        pb_secw_strn(w, PB_KEY("name"), name, nlen);
        pb_secw_strn(w, PB_KEY("value"), value, vlen);
        pb_secw_end(w);
    }
    pb_secw_end(w);
}

static void ser_arg(const struct mc_msg *m, struct pb_secw *o, unsigned id)
{
    switch (id) {
    case MC_A_KEY:
    case MC_A_MULTIKEYS:
        strv_list(o, PB_KEY("keys"), &m->keys);
        break;
    case MC_A_FLAGS:
    case MC_B_FLAGS:
        pb_secw_int(o, PB_KEY("flags"), m->flags);
        break;
    case MC_A_EXPTIME:
    case MC_B_EXPTIME:
        pb_secw_int(o, PB_KEY("exptime"), m->exptime);
        break;
    case MC_A_BYTES:
        pb_secw_uint(o, PB_KEY("bytes"), m->bytes);
        break;
    case MC_A_CAS:
        pb_secw_uint(o, PB_KEY("cas_unique"), m->cas);
        break;
    case MC_A_AUTOMOVE: {
        static const char *const names[] = {"standby", "slow", "aggressive"};
        if (m->value < 3) {
            pb_secw_static(o, PB_KEY("automove"), names[m->value]);
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)m->value);
            pb_secw_strn(o, PB_KEY("automove"), buf, strlen(buf));
        }
        break;
    }
    case MC_A_RAW:
        ADD_BYTES(o, "raw_args", &m->raw_args);
        break;
    case MC_A_STAT:
    case MC_B_STATS:
        stats_list(o, PB_KEY("stats"), &m->stats);
        break;
    case MC_A_DELTA:
    case MC_B_DELTA:
        pb_secw_uint(o, PB_KEY("delta"), m->value);
        break;
    case MC_A_SLEEP_US:
        pb_secw_uint(o, PB_KEY("sleep_us"), m->value);
        break;
    case MC_A_VALUE:
        pb_secw_uint(o, PB_KEY("value"), m->value);
        break;
    case MC_A_VERBOSITY:
    case MC_B_VERBOSITY:
        pb_secw_uint(o, PB_KEY("verbosity"), m->value);
        break;
    case MC_B_INITIAL:
        pb_secw_uint(o, PB_KEY("initial"), m->value2);
        break;
    case MC_A_SOURCE_CLASS:
        pb_secw_int(o, PB_KEY("source_class"), m->ivalue);
        break;
    case MC_A_DEST_CLASS:
        pb_secw_int(o, PB_KEY("dest_class"), m->ivalue2);
        break;
    case MC_A_NOREPLY:
        pb_secw_bool(o, PB_KEY("noreply"), m->noreply);
        break;
    case MC_A_ERRMSG:
        ADD_BYTES(o, "error_msg", &m->error_msg);
        break;
    default:
        break;
    }
}

static void ser_args(const struct mc_msg *m, struct pb_secw *o, const uint8_t *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ser_arg(m, o, MC_A_ID(ids[i]));
    }
}

static void ser_binary(const struct mc_msg *m, struct pb_secw *o)
{
    const struct mc_cmd *c = m->cmd;
    pb_secw_static(o, PB_KEY("command"), mc_code_name(c->code));
    pb_secw_static(o, PB_KEY("type"), mc_type_name(c->typ));
    pb_secw_static(o, PB_KEY("opcode"), mc_opcode_name(m->opcode));
    pb_secw_int(o, PB_KEY("opcode_value"), m->opcode);
    pb_secw_int(o, PB_KEY("opaque"), m->opaque);
    if (m->keys.n > 0) {
        strv_list(o, PB_KEY("keys"), &m->keys);
    }
    if (m->is_cas) {
        pb_secw_uint(o, PB_KEY("cas_unique"), m->cas);
    }
    if (m->count_values > 0) {
        pb_secw_int(o, PB_KEY("count_values"), m->count_values);
        if (m->values.n > 0) {
            values_list(o, PB_KEY("values"), &m->values);
        }
        pb_secw_uint(o, PB_KEY("bytes"), m->bytes + m->bytes_lost);
    }
    if (m->has_str) {
        ADD_BYTES(o, "version", &m->str);
    }
    if (m->is_request) {
        pb_secw_bool(o, PB_KEY("quiet"), m->is_quiet);
        pb_secw_int(o, PB_KEY("vbucket"), m->vbucket);
        ser_args(m, o, c->args, c->nargs);
        return;
    }
    pb_secw_static(o, PB_KEY("status"), mc_status_name(m->status));
    pb_secw_int(o, PB_KEY("status_code"), m->status);
    if (c->typ == MC_T_COUNTER) {
        pb_secw_uint(o, PB_KEY("value"), m->value);
    }
    ser_args(m, o, c->rargs, c->nrargs);
}

/* o: in a new object */
static void ser_msg(struct pb_secw *o, const struct mc_msg *m)
{
    const struct mc_cmd *c = m->cmd;
    switch (c->ser) {
    case MC_SER_BINARY:
        ser_binary(m, o);
        break;
    case MC_SER_UNKNOWN:
        ADD_BYTES(o, "line", &m->line);
        pb_secw_static(o, PB_KEY("command"), "UNKNOWN");
        pb_secw_static(o, PB_KEY("type"), "UNKNOWN");
        break;
    case MC_SER_COUNTER:
        pb_secw_static(o, PB_KEY("command"), mc_code_name(MC_RES_COUNTER_OP));
        pb_secw_static(o, PB_KEY("type"), mc_type_name(MC_T_COUNTER));
        pb_secw_uint(o, PB_KEY("value"), m->value);
        break;
    case MC_SER_NOP:
        break;
    default:
        pb_secw_static(o, PB_KEY("command"), mc_code_name(c->code));
        pb_secw_static(o, PB_KEY("type"), mc_type_name(c->typ));
        if (c->ser == MC_SER_DATA_REQ) {
            pb_secw_int(o, PB_KEY("count_values"), m->count_values);
            if (m->count_values != 0 && m->has_data) {
                pb_secw_obj(o, PB_KEY("values"));
                pb_secw_end(o);
            }
        } else if (c->ser == MC_SER_DATA_RESP) {
            pb_secw_int(o, PB_KEY("count_values"), m->count_values);
            if (m->count_values != 0 && m->values.n > 0) {
                values_list(o, PB_KEY("values"), &m->values);
            }
        }
        ser_args(m, o, c->args, c->nargs);
        break;
    }
}

/* memcache.request, memcache.response, memcache.protocol_type */
static void mc_section(struct pb_secw *w, const struct mc_msg *req, const struct mc_msg *resp)
{
    if (req != NULL) {
        pb_secw_obj(w, PB_KEY("request"));
        ser_msg(w, req);
        pb_secw_end(w);
    }
    if (resp != NULL) {
        pb_secw_obj(w, PB_KEY("response"));
        ser_msg(w, resp);
        pb_secw_end(w);
    }
    const struct mc_msg *first = req != NULL ? req : resp;
    pb_secw_static(w, PB_KEY("protocol_type"), first->is_binary ? "binary" : "text");
}

/* ---- the usual text transactions: the section's text written straight ----
 *
 * What mc_section writes through the section writer's text mode, for text
 * messages whose members are names, numbers and plain keys: without the
 * writer's checks and bookkeeping for every member (its room, its comma,
 * the open levels), which cost more than the members themselves. Every
 * member but the first of an object follows a comma: "command" comes
 * first, and a message without it (MC_SER_NOP) has none.
 *
 * Room: the lists (keys, values) and wire strings are written while the
 * text stays within MC_FAST_LISTS bytes; everything else takes less than
 * MC_FAST_FIXED bytes: per message "response":{} and a comma (14),
 * command and type (names of 19 and 10 bytes at most: 51), count_values
 * (26), "values":{} or a list's brackets (12) and seven arguments (36 each
 * at most: a key of 12 bytes, its quotes, colon and comma, and a sign and
 * 19 digits), or command, type and value (93); with the braces and
 * protocol_type, under 750 bytes. */

/* ,"k": */
#define FAST_KEY(o, k) PB_JW_LIT((o), ",\"" k "\":")

/* Bytes from o to lim (none past it). */
static inline size_t fast_room(const char *o, const char *lim)
{
    return o < lim ? (size_t)(lim - o) : 0;
}

static char *fast_uint(char *o, uint64_t v)
{
    /* a float in the DOM: left to the section writer */
    return v <= (uint64_t)INT64_MAX ? pb_jw_int(o, (int64_t)v) : NULL;
}

/* s (n bytes of the wire) quoted at o when it is plain and ends before
 * lim; the end, or NULL. */
static char *fast_bytes(char *o, const char *lim, const void *s, size_t n)
{
    if (fast_room(o, lim) < n + 2 || !pb_json_plain(s, n)) {
        return NULL;
    }
    return pb_jw_quoted(o, n > 0 ? s : "", n);
}

static char *fast_keys(char *o, const char *lim, const struct mc_strv *v)
{
    o = FAST_KEY(o, "keys");
    *o++ = '[';
    size_t at = 0;
    for (size_t i = 0; i < v->n && o != NULL; i++) {
        size_t n;
        const uint8_t *s = mc_strv_next(v, &at, &n);
        if (i > 0) {
            *o++ = ',';
        }
        o = fast_bytes(o, lim - 1, s, n); /* the ']' kept */
    }
    if (o != NULL) {
        *o++ = ']';
    }
    return o;
}

static char *fast_arg(char *o, const char *lim, const struct mc_msg *m, unsigned id)
{
    switch (id) {
    case MC_A_KEY:
    case MC_A_MULTIKEYS:
        return fast_keys(o, lim, &m->keys);
    case MC_A_FLAGS:
        return pb_jw_int(FAST_KEY(o, "flags"), m->flags);
    case MC_A_EXPTIME:
        return pb_jw_int(FAST_KEY(o, "exptime"), m->exptime);
    case MC_A_BYTES:
        return fast_uint(FAST_KEY(o, "bytes"), m->bytes);
    case MC_A_CAS:
        return fast_uint(FAST_KEY(o, "cas_unique"), m->cas);
    case MC_A_DELTA:
        return fast_uint(FAST_KEY(o, "delta"), m->value);
    case MC_A_SLEEP_US:
        return fast_uint(FAST_KEY(o, "sleep_us"), m->value);
    case MC_A_VALUE:
        return fast_uint(FAST_KEY(o, "value"), m->value);
    case MC_A_VERBOSITY:
        return fast_uint(FAST_KEY(o, "verbosity"), m->value);
    case MC_A_SOURCE_CLASS:
        return pb_jw_int(FAST_KEY(o, "source_class"), m->ivalue);
    case MC_A_DEST_CLASS:
        return pb_jw_int(FAST_KEY(o, "dest_class"), m->ivalue2);
    case MC_A_NOREPLY:
        o = FAST_KEY(o, "noreply");
        return m->noreply ? PB_JW_LIT(o, "true") : PB_JW_LIT(o, "false");
    case MC_A_RAW:
        return fast_bytes(FAST_KEY(o, "raw_args"), lim, m->raw_args.p, m->raw_args.len);
    case MC_A_ERRMSG:
        return fast_bytes(FAST_KEY(o, "error_msg"), lim, m->error_msg.p, m->error_msg.len);
    default: /* automove, stats: left to the section writer */
        return NULL;
    }
}

/* "command":"<name>","type":"<name>" */
static char *fast_names(char *o, unsigned code, unsigned typ)
{
    size_t n;
    const char *s = mc_code_member(code, &n);
    pb_copy_short(o, s, n);
    o += n;
    s = mc_type_member(typ, &n);
    pb_copy_short(o, s, n);
    return o + n;
}

/* ser_msg's members of a text message; the end, or NULL when the section
 * writer has to write them. */
static char *fast_msg(char *o, const char *lim, const struct mc_msg *m)
{
    const struct mc_cmd *c = m->cmd;
    if (m->is_binary) {
        return NULL;
    }
    switch (c->ser) {
    case MC_SER_NOP:
        return o;
    case MC_SER_COUNTER:
        o = fast_names(o, MC_RES_COUNTER_OP, MC_T_COUNTER);
        return fast_uint(FAST_KEY(o, "value"), m->value);
    case MC_SER_REQUEST:
    case MC_SER_DATA_REQ:
    case MC_SER_DATA_RESP:
        break;
    default: /* unknown commands: their line */
        return NULL;
    }
    o = fast_names(o, c->code, c->typ);
    if (c->ser == MC_SER_DATA_REQ) {
        o = pb_jw_int(FAST_KEY(o, "count_values"), m->count_values);
        if (m->count_values != 0 && m->has_data) {
            o = FAST_KEY(o, "values");
            o = PB_JW_LIT(o, "{}");
        }
    } else if (c->ser == MC_SER_DATA_RESP) {
        o = pb_jw_int(FAST_KEY(o, "count_values"), m->count_values);
        size_t n = m->values.n;
        if (m->count_values != 0 && n > 0) {
            if (fast_room(o, lim) / 3 < n + 4) {
                return NULL;
            }
            o = FAST_KEY(o, "values");
            *o++ = '[';
            for (size_t i = 0; i < n; i++) {
                if (i > 0) {
                    *o++ = ',';
                }
                o = PB_JW_LIT(o, "{}");
            }
            *o++ = ']';
        }
    }
    for (unsigned i = 0; i < c->nargs && o != NULL; i++) {
        o = fast_arg(o, lim, m, MC_A_ID(c->args[i]));
    }
    return o;
}

size_t mc_section_fast(char *buf, const struct mc_msg *req, const struct mc_msg *resp)
{
    const struct mc_msg *first = req != NULL ? req : resp;
    if (first == NULL) {
        return 0;
    }
    const char *lim = buf + MC_FAST_LISTS;
    char *o = buf;
    *o++ = '{';
    if (req != NULL) {
        o = fast_msg(PB_JW_LIT(o, "\"request\":{"), lim, req);
        if (o == NULL) {
            return 0;
        }
        *o++ = '}';
        if (resp != NULL) {
            *o++ = ',';
        }
    }
    if (resp != NULL) {
        o = fast_msg(PB_JW_LIT(o, "\"response\":{"), lim, resp);
        if (o == NULL) {
            return 0;
        }
        *o++ = '}';
    }
    o = PB_JW_LIT(o, ",\"protocol_type\":\"text\"}"); /* only text gets here */
    assert(o - buf <= MC_FAST_LISTS + MC_FAST_FIXED);
    return (size_t)(o - buf);
}

int mc_add_section(pb_node *root, const struct mc_msg *req, const struct mc_msg *resp, bool fast)
{
    if (fast) {
        char buf[MC_FAST_LISTS + MC_FAST_FIXED];
        size_t n = mc_section_fast(buf, req, resp);
        if (n > 0 && pb_node_add_raw(root, PB_KEY("memcache"), buf, n) == 0) {
            return 0;
        }
    }
    /* the section as its text when it can be, else as members */
    struct pb_secw w;
    pb_secw_text(&w);
    mc_section(&w, req, resp);
    if (pb_secw_finish(&w, root, PB_KEY("memcache")) != 0) {
        pb_node *mc = pb_node_add_obj(root, PB_KEY("memcache"));
        if (mc == NULL) {
            return -PB_ENOMEM;
        }
        pb_secw_dom(&w, mc);
        mc_section(&w, req, resp);
    }
    return 0;
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
    if (mc_add_section(pb_ev_obj(ev, ""), req, resp, true) != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    /* "memcache." and the request's type name in lower case */
#define ACTION(s)                                                                                  \
    {                                                                                              \
        "memcache." s, sizeof("memcache." s) - 1                                                   \
    }
    static const struct {
        const char *s;
        size_t n;
    } actions[] = {
        ACTION("unknown"), ACTION("load"),    ACTION("store"),    ACTION("delete"),
        ACTION("counter"), ACTION("info"),    ACTION("slabctrl"), ACTION("lrucrawler"),
        ACTION("stats"),   ACTION("success"), ACTION("fail"),     ACTION("auth"),
    };
#undef ACTION
    _Static_assert(sizeof actions / sizeof actions[0] == MC_T_AUTH + 1, "one per type");
    const char *action = NULL;
    size_t alen = sizeof "memcache." - 1;
    if (req != NULL) {
        unsigned typ = req->cmd->typ;
        typ = typ < sizeof actions / sizeof actions[0] ? typ : MC_T_UNKNOWN;
        action = actions[typ].s;
        alen = actions[typ].n;
    }
    /* at the end of the event object, wherever it is added from */
    pb_tx_add_static_action(ev, action, alen, resp != NULL && resp->status == 0 ? "success" : NULL);

    /* notes: the request's, then the response's */
    size_t nnotes = (req != NULL ? req->nnotes : 0) + (resp != NULL ? resp->nnotes : 0);
    if (nnotes == 1) {
        const char *n = req != NULL && req->nnotes > 0 ? req->notes[0] : resp->notes[0];
        pb_ev_put_str(ev, "error.message", n);
    } else if (nnotes > 1) {
        pb_node *a = pb_ev_arr(ev, "error.message");
        for (int k = 0; k < 2 && a != NULL; k++) {
            const struct mc_msg *m = k == 0 ? req : resp;
            for (unsigned i = 0; m != NULL && i < m->nnotes; i++) {
                pb_node_set_str(a, NULL, m->notes[i]);
            }
        }
    }
    return ev;
}
