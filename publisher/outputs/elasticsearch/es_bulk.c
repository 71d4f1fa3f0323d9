/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/elasticsearch/es_bulk.c - pure helpers of the
 * Elasticsearch output: format strings and index/pipeline selectors
 * (libbeat outil), the _bulk request body and the _bulk answer.
 *
 * A _bulk body is NDJSON, two lines per event (one for a delete):
 *
 *   {"create":{"_index":"packetbeat-8.17.2"}}\n
 *   {"@timestamp":"...", ...the event without @metadata...}\n
 *
 * The answer (asked with filter_path=errors,items.*.error,items.*.status):
 *
 *   {"errors":true,"items":[{"create":{"status":201}},
 *                           {"create":{"status":429,"error":{...}}}, ...]}
 *
 * one item per action, in order.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/processors.h"
#include "es.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"

/* ---- format strings --------------------------------------------------------- */

enum part_kind { P_LIT, P_FIELD, P_TIME };

struct part {
    enum part_kind kind;
    char *text; /* owned: literal, field path (dotted) or time layout */
    char *def;  /* owned: default for a field, NULL none */
};

struct es_fmt {
    struct part *parts; /* owned */
    size_t n;
};

void es_fmt_free(struct es_fmt *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        pb_free(f->parts[i].text);
        pb_free(f->parts[i].def);
    }
    pb_free(f->parts);
    pb_free(f);
}

static int add_part(struct es_fmt *f, enum part_kind k, const char *s, size_t n, const char *def,
                    size_t dn)
{
    struct part *np = pb_realloc(f->parts, (f->n + 1) * sizeof *np);
    if (np == NULL) {
        return -PB_ENOMEM;
    }
    f->parts = np;
    struct part *p = &f->parts[f->n];
    p->kind = k;
    p->text = pb_strndup(s, n);
    p->def = def != NULL ? pb_strndup(def, dn) : NULL;
    if (p->text == NULL || (def != NULL && p->def == NULL)) {
        pb_free(p->text);
        pb_free(p->def);
        return -PB_ENOMEM;
    }
    f->n++;
    return 0;
}

/* "[a][b.c]" or "a.b" -> "a.b.c" */
static int field_path(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    if (n == 0) {
        return -1;
    }
    if (s[0] != '[') {
        if (n >= outlen) {
            return -1;
        }
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        if (s[i] != '[') {
            return -1;
        }
        const char *close = memchr(s + i, ']', n - i);
        if (close == NULL) {
            return -1;
        }
        size_t sl = (size_t)(close - (s + i + 1));
        if (sl == 0 || k + sl + 2 > outlen) {
            return -1;
        }
        if (k > 0) {
            out[k++] = '.';
        }
        memcpy(out + k, s + i + 1, sl);
        k += sl;
        i = (size_t)(close - s) + 1;
    }
    out[k] = '\0';
    return 0;
}

struct es_fmt *es_fmt_new(const char *s, char *err, size_t errlen)
{
    struct es_fmt *f = pb_calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = s;
    while (*p != '\0') {
        const char *open = strstr(p, "%{");
        if (open == NULL) {
            if (add_part(f, P_LIT, p, strlen(p), NULL, 0) != 0) {
                goto oom;
            }
            break;
        }
        if (open > p && add_part(f, P_LIT, p, (size_t)(open - p), NULL, 0) != 0) {
            goto oom;
        }
        const char *close = strchr(open + 2, '}');
        if (close == NULL) {
            snprintf(err, errlen, "missing closing '}' in format string '%s'", s);
            es_fmt_free(f);
            return NULL;
        }
        const char *in = open + 2;
        size_t inl = (size_t)(close - in);
        if (inl > 0 && in[0] == '+') {
            if (add_part(f, P_TIME, in + 1, inl - 1, NULL, 0) != 0) {
                goto oom;
            }
        } else {
            /* field, optional ":default" after the last ']' */
            const char *lastb = NULL;
            for (size_t i = 0; i < inl; i++) {
                if (in[i] == ']') {
                    lastb = in + i;
                }
            }
            const char *colon = memchr(lastb != NULL ? lastb : in, ':',
                                       (size_t)(close - (lastb != NULL ? lastb : in)));
            size_t fl = colon != NULL ? (size_t)(colon - in) : inl;
            char path[512];
            if (field_path(in, fl, path, sizeof path) != 0) {
                snprintf(err, errlen, "invalid field reference '%.*s' in format string '%s'",
                         (int)inl, in, s);
                es_fmt_free(f);
                return NULL;
            }
            /* the default is what follows ':' */
            if (add_part(f, P_FIELD, path, strlen(path), colon != NULL ? colon + 1 : NULL,
                         colon != NULL ? (size_t)(close - colon - 1) : 0) != 0) {
                goto oom;
            }
        }
        p = close + 1;
    }
    return f;
oom:
    snprintf(err, errlen, "out of memory");
    es_fmt_free(f);
    return NULL;
}

/* "2006-01-02T15:04:05.000Z" -> tm + nanos */
static bool parse_ts(const char *s, struct tm *tm, long *nanos)
{
    memset(tm, 0, sizeof *tm);
    *nanos = 0;
    int y, mo, d, h, mi, se;
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) {
        return false;
    }
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = se;
    const char *frac = strchr(s, '.');
    if (frac != NULL) {
        long v = 0;
        int digits = 0;
        for (const char *q = frac + 1; isdigit((unsigned char)*q) && digits < 9; q++, digits++) {
            v = v * 10 + (*q - '0');
        }
        while (digits++ < 9) {
            v *= 10;
        }
        *nanos = v;
    }
    /* normalise (day of week / year) */
    time_t t = timegm(tm);
    gmtime_r(&t, tm);
    return true;
}

static int put_value(struct pb_codec_buf *b, const json_t *v)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return pb_codec_buf_append(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        return pb_codec_buf_append(b, tmp, strlen(tmp));
    case JSON_REAL:
        snprintf(tmp, sizeof tmp, "%g", json_real_value(v));
        return pb_codec_buf_append(b, tmp, strlen(tmp));
    case JSON_TRUE:
        return pb_codec_buf_append(b, "true", 4);
    case JSON_FALSE:
        return pb_codec_buf_append(b, "false", 5);
    case JSON_NULL:
        return pb_codec_buf_append(b, "null", 4);
    default:
        return pb_json_encode(v, false, false, b);
    }
}

int es_fmt_expand(const struct es_fmt *f, const json_t *ev, char **out, char *err, size_t errlen)
{
    struct pb_codec_buf b = {0};
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        const struct part *p = &f->parts[i];
        switch (p->kind) {
        case P_LIT:
            rc = pb_codec_buf_append(&b, p->text, strlen(p->text));
            break;
        case P_FIELD: {
            const json_t *v = pb_json_get(ev, p->text);
            if (v == NULL || json_is_null(v)) {
                if (p->def == NULL) {
                    snprintf(err, errlen, "key not found");
                    rc = -PB_EINVAL;
                    break;
                }
                rc = pb_codec_buf_append(&b, p->def, strlen(p->def));
            } else {
                rc = put_value(&b, v);
            }
            break;
        }
        case P_TIME: {
            struct tm tm;
            long nanos;
            if (!parse_ts(json_string_value(json_object_get(ev, "@timestamp")), &tm, &nanos)) {
                time_t now = time(NULL);
                gmtime_r(&now, &tm);
                nanos = 0;
            }
            rc = pb_fmt_joda_time(&b, p->text, strlen(p->text), &tm, nanos);
            break;
        }
        }
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(&b, "", 1);
    }
    if (rc != 0) {
        if (rc != -PB_EINVAL) {
            snprintf(err, errlen, "out of memory");
        }
        pb_codec_buf_free(&b);
        return rc;
    }
    *out = b.p;
    return 0;
}

/* ---- selectors ------------------------------------------------------------------ */

struct rule {
    struct es_fmt *fmt;   /* owned; NULL with mappings only */
    json_t *mappings;     /* owned object or NULL */
    char *def;            /* owned: rule default */
    struct pb_cond *when; /* owned or NULL */
};

struct es_sel {
    struct es_fmt *fmt; /* owned: key or def */
    struct rule *rules; /* owned */
    size_t nrules;
};

void es_sel_free(struct es_sel *s)
{
    if (s == NULL) {
        return;
    }
    es_fmt_free(s->fmt);
    for (size_t i = 0; i < s->nrules; i++) {
        es_fmt_free(s->rules[i].fmt);
        json_decref(s->rules[i].mappings);
        pb_free(s->rules[i].def);
        pb_cond_free(s->rules[i].when);
    }
    pb_free(s->rules);
    pb_free(s);
}

struct es_sel *es_sel_new(const struct pb_cfg *node, const char *key, const char *multikey,
                          const char *def, char *err, size_t errlen)
{
    struct es_sel *s = pb_calloc(1, sizeof *s);
    const char *v = NULL;
    char path[256];
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pb_cfg_str(node, key, NULL, &v) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        goto fail;
    }
    if (v == NULL || v[0] == '\0') {
        v = def;
    }
    if (v != NULL && v[0] != '\0') {
        s->fmt = es_fmt_new(v, err, errlen);
        if (s->fmt == NULL) {
            goto fail;
        }
    }
    const struct pb_cfg *list = pb_cfg_get(node, multikey);
    if (list != NULL && list->kind == PB_CFG_LIST) {
        size_t n = pb_cfg_len(list);
        if (n > ES_MAX_RULES) {
            pb_cfg_path(list, path, sizeof path);
            snprintf(err, errlen, "too many rules (limit %d) accessing '%s'", ES_MAX_RULES, path);
            goto fail;
        }
        s->rules = pb_calloc(n > 0 ? n : 1, sizeof *s->rules);
        if (s->rules == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            const struct pb_cfg *r = pb_cfg_at(list, i);
            struct rule *ru = &s->rules[s->nrules++];
            const char *rf = NULL;
            const char *rd = NULL;
            if (pb_cfg_str(r, key, NULL, &rf) != 0 || pb_cfg_str(r, "default", NULL, &rd) != 0) {
                snprintf(err, errlen, "%s", pb_cfg_errmsg());
                goto fail;
            }
            if (rf != NULL) {
                ru->fmt = es_fmt_new(rf, err, errlen);
                if (ru->fmt == NULL) {
                    goto fail;
                }
            }
            if (rd != NULL) {
                ru->def = pb_strdup(rd);
            }
            const struct pb_cfg *m = pb_cfg_get(r, "mappings");
            if (m != NULL) {
                ru->mappings = pb_cfg_to_json(m);
            }
            const struct pb_cfg *w = pb_cfg_get(r, "when");
            if (w != NULL) {
                ru->when = pb_cond_new(w, err, errlen);
                if (ru->when == NULL) {
                    goto fail;
                }
            }
            if (ru->fmt == NULL) {
                pb_cfg_path(r, path, sizeof path);
                snprintf(err, errlen, "missing required field accessing '%s.%s'", path, key);
                goto fail;
            }
        }
    }
    return s;
fail:
    es_sel_free(s);
    return NULL;
}

static void lower(char *s)
{
    for (; *s != '\0'; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
}

bool es_sel_reads_fields(const struct es_sel *s)
{
    if (s == NULL) {
        return false;
    }
    if (s->nrules > 0) {
        return true; /* conditions, formats and mappings: treated as reading */
    }
    for (size_t i = 0; s->fmt != NULL && i < s->fmt->n; i++) {
        const struct part *pt = &s->fmt->parts[i];
        if (pt->kind == P_FIELD && strncmp(pt->text, "agent.", 6) != 0 &&
            strncmp(pt->text, "@metadata.", 10) != 0 && strcmp(pt->text, "@timestamp") != 0) {
            return true; /* the default, %{[agent.version]}, reads only agent */
        }
    }
    return false;
}

bool es_sel_reads_meta_only(const struct es_sel *s)
{
    if (s == NULL) {
        return true;
    }
    if (s->nrules > 0) {
        return false;
    }
    for (size_t i = 0; s->fmt != NULL && i < s->fmt->n; i++) {
        const struct part *pt = &s->fmt->parts[i];
        if (pt->kind == P_TIME || (pt->kind == P_FIELD && strncmp(pt->text, "agent.", 6) != 0 &&
                                   strncmp(pt->text, "@metadata.", 10) != 0)) {
            return false;
        }
    }
    return true;
}

char *es_sel_select(const struct es_sel *s, const json_t *ev, char *err, size_t errlen)
{
    err[0] = '\0';
    for (size_t i = 0; i < s->nrules; i++) {
        const struct rule *r = &s->rules[i];
        if (r->when != NULL && !pb_cond_eval(r->when, ev)) {
            continue;
        }
        char *name = NULL;
        char why[256];
        if (es_fmt_expand(r->fmt, ev, &name, why, sizeof why) != 0) {
            continue; /* a rule that cannot be expanded does not match */
        }
        if (r->mappings != NULL) {
            const char *m = json_string_value(json_object_get(r->mappings, name));
            pb_free(name);
            name = m != NULL ? pb_strdup(m) : (r->def != NULL ? pb_strdup(r->def) : NULL);
        }
        if (name != NULL && name[0] != '\0') {
            lower(name);
            return name;
        }
        pb_free(name);
    }
    if (s->fmt == NULL) {
        return NULL;
    }
    char *name = NULL;
    if (es_fmt_expand(s->fmt, ev, &name, err, errlen) != 0) {
        return NULL;
    }
    if (name[0] == '\0') {
        pb_free(name);
        return NULL;
    }
    lower(name);
    return name;
}

/* ---- bulk body ------------------------------------------------------------------------ */

void es_item_meta_clear(struct es_item_meta *m)
{
    if (!m->borrowed) {
        pb_free(m->index);
        pb_free(m->pipeline);
        pb_free(m->id);
    }
    memset(m, 0, sizeof *m);
}

static int append_action(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                         bool escape_html)
{
    json_t *inner = json_object();
    json_t *act = json_object();
    int rc = -PB_ENOMEM;
    if (inner == NULL || act == NULL) {
        goto out;
    }
    json_object_set_new_nocheck(inner, "_index", json_string(m->index != NULL ? m->index : ""));
    if (doc_type != NULL) {
        json_object_set_new_nocheck(inner, "_type", json_string(doc_type));
    }
    if (m->pipeline != NULL && m->pipeline[0] != '\0') {
        json_object_set_new_nocheck(inner, "pipeline", json_string(m->pipeline));
    }
    if (m->id != NULL && m->id[0] != '\0') {
        json_object_set_new_nocheck(inner, "_id", json_string(m->id));
    }
    const char *op = m->op == ES_OP_INDEX ? "index" : m->op == ES_OP_DELETE ? "delete" : "create";
    json_object_set(act, op, inner);
    rc = pb_json_encode(act, false, escape_html, b);
    if (rc == 0) {
        rc = pb_codec_buf_append(b, "\n", 1);
    }
out:
    json_decref(inner);
    json_decref(act);
    return rc;
}

int es_bulk_append(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                   const json_t *ev, bool escape_html)
{
    size_t start = b->len;
    int rc = append_action(b, m, doc_type, escape_html);
    if (rc == 0 && m->op != ES_OP_DELETE) {
        /* the document: every field but @metadata, @timestamp first */
        json_t *doc = json_object();
        if (doc == NULL) {
            rc = -PB_ENOMEM;
        } else {
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)(uintptr_t)ev, k, v)
            {
                if (strcmp(k, "@metadata") != 0 && json_object_set(doc, k, v) != 0) {
                    rc = -PB_ENOMEM;
                    break;
                }
            }
            if (rc == 0) {
                rc = pb_json_encode(doc, false, escape_html, b);
            }
            json_decref(doc);
        }
        if (rc == 0) {
            rc = pb_codec_buf_append(b, "\n", 1);
        }
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

int es_bulk_append_ev(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                      const pb_event *ev, bool escape_html)
{
    size_t start = b->len;
    int rc = append_action(b, m, doc_type, escape_html);
    if (rc == 0 && m->op != ES_OP_DELETE) {
        rc = pb_ev_encode_doc(ev, escape_html, b);
        if (rc == 0) {
            rc = pb_codec_buf_append(b, "\n", 1);
        }
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

int es_bulk_append_cut(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                       const char *js, size_t len, size_t cut_at, size_t cut_len)
{
    if (cut_at > len || cut_len > len - cut_at) {
        return -PB_EINVAL;
    }
    if (cut_len > 0 && js[cut_at] != ',' && cut_at + cut_len < len && js[cut_at + cut_len] == ',') {
        cut_len++; /* the first member: the comma after it */
    }
    size_t start = b->len;
    int rc = append_action(b, m, doc_type, false);
    if (rc == 0 && m->op != ES_OP_DELETE) {
        size_t rest = cut_at + cut_len;
        rc = pb_codec_buf_append(b, js, cut_at);
        if (rc == 0) {
            rc = pb_codec_buf_append(b, js + rest, len - rest);
        }
        if (rc == 0) {
            rc = pb_codec_buf_append(b, "\n", 1);
        }
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

int es_bulk_append_raw(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                       const char *doc, size_t doclen, bool escape_html)
{
    size_t start = b->len;
    int rc = append_action(b, m, doc_type, escape_html);
    if (rc == 0) {
        rc = pb_codec_buf_append(b, doc, doclen);
    }
    if (rc == 0 && (doclen == 0 || doc[doclen - 1] != '\n')) {
        rc = pb_codec_buf_append(b, "\n", 1);
    }
    if (rc != 0) {
        b->len = start;
    }
    return rc;
}

static char *lower_dup(const char *s)
{
    char *d = pb_strdup(s);
    if (d != NULL) {
        lower(d);
    }
    return d;
}

int es_item_meta_of(const json_t *ev, const struct es_sel *index, const struct es_sel *pipeline,
                    int version_major, int version_minor, struct es_item_meta *m, char *err,
                    size_t errlen)
{
    memset(m, 0, sizeof *m);
    const json_t *meta = json_object_get(ev, "@metadata");
    const json_t *v;
    char why[256] = "";

    /* pipeline: @metadata.pipeline, else the selector */
    v = json_object_get(meta, "pipeline");
    if (v != NULL) {
        if (!json_is_string(v)) {
            snprintf(err, errlen,
                     "failed to select event pipeline: pipeline metadata is no string");
            return -PB_EINVAL;
        }
        m->pipeline = lower_dup(json_string_value(v));
    } else if (pipeline != NULL) {
        m->pipeline = es_sel_select(pipeline, ev, why, sizeof why);
        if (m->pipeline == NULL && why[0] != '\0') {
            snprintf(err, errlen, "failed to select event pipeline: %s", why);
            return -PB_EINVAL;
        }
    }
    /* index: @metadata.index, @metadata.raw_index, else the selector */
    v = json_object_get(meta, "index");
    if (!json_is_string(v)) {
        v = json_object_get(meta, "raw_index");
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        m->index = lower_dup(json_string_value(v));
    } else if (index != NULL) {
        m->index = es_sel_select(index, ev, why, sizeof why);
    }
    if (m->index == NULL) {
        snprintf(err, errlen, "failed to select event index: %s",
                 why[0] != '\0' ? why : "index name is empty");
        es_item_meta_clear(m);
        return -PB_EINVAL;
    }
    v = json_object_get(meta, "_id");
    if (json_is_string(v)) {
        m->id = pb_strdup(json_string_value(v));
    }
    const char *op = json_string_value(json_object_get(meta, "op_type"));
    bool has_id = m->id != NULL && m->id[0] != '\0';
    if (op != NULL && strcmp(op, "delete") == 0) {
        if (!has_id) {
            snprintf(err, errlen,
                     "Failed to encode event meta data: @metadata.op_type delete "
                     "requires _id");
            es_item_meta_clear(m);
            return -PB_EINVAL;
        }
        m->op = ES_OP_DELETE;
    } else if (has_id || version_major > 7 || (version_major == 7 && version_minor >= 5)) {
        m->op = (op != NULL && strcmp(op, "index") == 0) ? ES_OP_INDEX : ES_OP_CREATE;
    } else {
        m->op = ES_OP_INDEX;
    }
    return 0;
}

char *es_dead_letter_doc(const json_t *ev, int status, const char *errmsg, bool escape_html)
{
    struct pb_codec_buf orig = {0};
    struct es_item_meta none = {.op = ES_OP_INDEX};
    char *out = NULL;
    /* the original document, as it was sent */
    struct pb_codec_buf tmp = {0};
    if (es_bulk_append(&tmp, &none, NULL, ev, escape_html) != 0) {
        pb_codec_buf_free(&tmp);
        return NULL;
    }
    const char *nl = memchr(tmp.p, '\n', tmp.len);
    size_t off = nl != NULL ? (size_t)(nl - tmp.p) + 1 : 0;
    size_t dl = tmp.len - off;
    if (dl > 0 && tmp.p[off + dl - 1] == '\n') {
        dl--;
    }
    json_t *doc = json_object();
    json_t *ts = json_object_get(ev, "@timestamp");
    if (doc != NULL) {
        json_object_set_new_nocheck(doc, "@timestamp", ts != NULL ? json_incref(ts) : json_null());
        json_object_set_new_nocheck(doc, "error.message",
                                    json_string(errmsg != NULL ? errmsg : ""));
        json_object_set_new_nocheck(doc, "error.type", json_integer(status));
        json_object_set_new_nocheck(doc, "message", json_stringn(tmp.p + off, dl));
        if (pb_json_encode(doc, false, escape_html, &orig) == 0 &&
            pb_codec_buf_append(&orig, "", 1) == 0) {
            out = orig.p;
            orig.p = NULL;
        }
    }
    json_decref(doc);
    pb_codec_buf_free(&orig);
    pb_codec_buf_free(&tmp);
    return out;
}

/* ---- bulk answer ----------------------------------------------------------------------- */

enum es_item_result es_item_classify(int status)
{
    if (status <= 0) {
        return ES_ITEM_RETRY;
    }
    if (status < 300) {
        return ES_ITEM_ACK;
    }
    if (status == 409) {
        return ES_ITEM_DUP;
    }
    if (status == 429 || status >= 500) {
        return ES_ITEM_RETRY;
    }
    return ES_ITEM_FATAL;
}

/* A cursor over the usual answer (plain_answer). */
struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

/* The token lit (after whitespace), consumed when it is there. */
static bool eat(struct scan *c, const char *lit, size_t n)
{
    skip_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) {
        return false;
    }
    c->p += n;
    return true;
}
#define EAT(c, lit) eat((c), (lit), sizeof(lit) - 1)

/* A key of letters and underscores, then ':' (an action name). */
static bool eat_plain_key(struct scan *c)
{
    if (!EAT(c, "\"")) {
        return false;
    }
    const char *k = c->p;
    while (c->p < c->end &&
           ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z') || *c->p == '_')) {
        c->p++;
    }
    if (c->p == k || c->p == c->end || *c->p != '"') {
        return false; /* the closing quote right after: no whitespace inside */
    }
    c->p++;
    return EAT(c, ":");
}

/* Three digits, 100-999. */
static bool eat_status(struct scan *c, int *v)
{
    skip_ws(c);
    if (c->end - c->p < 3 || c->p[0] < '1' || c->p[0] > '9' || c->p[1] < '0' || c->p[1] > '9' ||
        c->p[2] < '0' || c->p[2] > '9' ||
        (c->end - c->p > 3 && ((c->p[3] >= '0' && c->p[3] <= '9') || c->p[3] == '.' ||
                               c->p[3] == 'e' || c->p[3] == 'E'))) {
        return false;
    }
    *v = (c->p[0] - '0') * 100 + (c->p[1] - '0') * 10 + (c->p[2] - '0');
    c->p += 3;
    return true;
}

/* The answer of a bulk request whose items all went in, as Elasticsearch
 * writes it with the filter_path we ask for:
 *   {"errors":false,"items":[{"create":{"status":201}},...]}
 * (any action, status 100-999, errors true or false, JSON whitespace
 * between tokens, anything after the closing brace). Read straight: a tree
 * of 1,600 items cost more than the rest of a batch's work but the
 * compression. Returns the items read (as es_bulk_parse), or -1 when the
 * body has another shape (an item with an error, another key): the
 * general parser reads it then. */
static int plain_answer(const char *body, size_t len, size_t n, int *status)
{
    struct scan c = {body, body + len};
    if (!EAT(&c, "{") || !EAT(&c, "\"errors\"") || !EAT(&c, ":") ||
        !(EAT(&c, "false") || EAT(&c, "true")) || !EAT(&c, ",") || !EAT(&c, "\"items\"") ||
        !EAT(&c, ":") || !EAT(&c, "[")) {
        return -1;
    }
    size_t got = 0;
    if (!EAT(&c, "]")) {
        for (;;) {
            int v;
            if (!EAT(&c, "{") || !eat_plain_key(&c) || !EAT(&c, "{") || !EAT(&c, "\"status\"") ||
                !EAT(&c, ":") || !eat_status(&c, &v) || !EAT(&c, "}") || !EAT(&c, "}")) {
                return -1;
            }
            if (got < n) {
                status[got] = v;
            }
            got++;
            if (EAT(&c, "]")) {
                break;
            }
            if (!EAT(&c, ",")) {
                return -1;
            }
        }
    }
    if (!EAT(&c, "}")) {
        return -1;
    }
    return (int)(got < n ? got : n);
}

int es_bulk_parse(const char *body, size_t len, size_t n, int *status, char **msg, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        status[i] = 0;
        if (msg != NULL) {
            msg[i] = NULL;
        }
    }
    int plain = body != NULL && n <= INT_MAX ? plain_answer(body, len, n, status) : -1;
    if (plain >= 0) {
        return plain;
    }
    return es_bulk_parse_tree(body, len, n, status, msg, err, errlen);
}

int es_bulk_parse_tree(const char *body, size_t len, size_t n, int *status, char **msg, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        status[i] = 0;
        if (msg != NULL) {
            msg[i] = NULL;
        }
    }
    json_error_t je;
    json_t *doc = body != NULL ? json_loadb(body, len, JSON_DISABLE_EOF_CHECK, &je) : NULL;
    if (doc == NULL) {
        snprintf(err, errlen, "%s", body == NULL ? "empty response" : je.text);
        return -PB_EPROTO;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "expected bulk response to be a JSON object");
        json_decref(doc);
        return -PB_EPROTO;
    }
    json_t *items = json_object_get(doc, "items");
    if (items == NULL) {
        snprintf(err, errlen, "expected 'items' field in response");
        json_decref(doc);
        return -PB_EPROTO;
    }
    if (!json_is_array(items)) {
        snprintf(err, errlen, "expected 'items' field to be an array");
        json_decref(doc);
        return -PB_EPROTO;
    }
    size_t got = 0;
    size_t na = json_array_size(items);
    for (size_t i = 0; i < n && i < na; i++) {
        json_t *it = json_array_get(items, i);
        /* exactly one action key */
        if (!json_is_object(it) || json_object_size(it) != 1) {
            break;
        }
        const char *k;
        json_t *inner = NULL;
        json_t *tmpv;
        json_object_foreach(it, k, tmpv)
        {
            inner = tmpv;
        }
        json_t *st = json_object_get(inner, "status");
        if (!json_is_object(inner) || !json_is_integer(st) || json_integer_value(st) < 100 ||
            json_integer_value(st) > 999) {
            break;
        }
        status[i] = (int)json_integer_value(st);
        if (msg != NULL) {
            json_t *e = json_object_get(inner, "error");
            if (e != NULL) {
                char *d = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
                msg[i] = d != NULL ? pb_strdup(d) : NULL;
                free(d);
            }
        }
        got++;
    }
    json_decref(doc);
    return (int)got;
}
