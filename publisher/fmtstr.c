/* SPDX-License-Identifier: Apache-2.0
 * publisher/fmtstr.c - event format strings and output selectors (see
 * fmtstr.h). A compiled format string is a list of parts:
 *
 *   "logs-%{[agent.version]}-%{+yyyy.MM.dd}"
 *    └lit┘ └──── field ────┘ └lit┘└ time ┘
 */
#include "publisher/fmtstr.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/processors.h"

#define MAX_PARTS 256
#define MAX_RULES 1024
#define MAX_MAPPINGS 4096

enum part_kind {
    PART_LIT,
    PART_FIELD,
    PART_TIME,
};

struct part {
    enum part_kind kind;
    char *text; /* owned: literal text, dotted field path or time pattern */
    char *def;  /* owned: default for a missing field, NULL for none */
};

struct pb_fmtstr {
    struct part *parts; /* owned */
    size_t n;
};

/* ---- format strings --------------------------------------------------------- */

void pb_fmtstr_free(struct pb_fmtstr *f)
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

static int add_part(struct pb_fmtstr *f, enum part_kind kind, const char *s, size_t len,
                    const char *def, size_t deflen, bool has_def)
{
    if (f->n >= MAX_PARTS) {
        return -PB_ELIMIT;
    }
    struct part *np = pb_realloc(f->parts, (f->n + 1) * sizeof *np);
    if (np == NULL) {
        return -PB_ENOMEM;
    }
    f->parts = np;
    struct part *p = &f->parts[f->n];
    p->kind = kind;
    p->text = pb_strndup(s, len);
    p->def = has_def ? pb_strndup(def, deflen) : NULL;
    if (p->text == NULL || (has_def && p->def == NULL)) {
        pb_free(p->text);
        pb_free(p->def);
        return -PB_ENOMEM;
    }
    f->n++;
    return 0;
}

/* "[a][b.c]:def" -> path "a.b.c", default "def" */
static int parse_field(struct pb_fmtstr *f, const char *s, size_t len, char *err, size_t errlen)
{
    char path[1024];
    size_t plen = 0;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (i >= len || s[i] != '[') {
        snprintf(err, errlen, "expected field extractor start with '['");
        return -PB_EINVAL;
    }
    while (i < len && s[i] == '[') {
        const char *close = memchr(s + i, ']', len - i);
        if (close == NULL) {
            snprintf(err, errlen, "missing closing ']'");
            return -PB_EINVAL;
        }
        size_t seg = (size_t)(close - (s + i + 1));
        if (seg == 0) {
            snprintf(err, errlen, "empty fields selector '[]'");
            return -PB_EINVAL;
        }
        if (plen + seg + 2 > sizeof path) {
            snprintf(err, errlen, "field path too long");
            return -PB_ELIMIT;
        }
        if (plen > 0) {
            path[plen++] = '.';
        }
        memcpy(path + plen, s + i + 1, seg);
        plen += seg;
        i = (size_t)(close - s) + 1;
    }
    bool has_def = false;
    const char *def = NULL;
    size_t deflen = 0;
    if (i < len && s[i] == ':') {
        has_def = true;
        def = s + i + 1;
        deflen = len - i - 1;
    } else {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) {
            i++;
        }
        if (i < len) {
            snprintf(err, errlen, "unexpected characters after field reference");
            return -PB_EINVAL;
        }
    }
    int rc = add_part(f, PART_FIELD, path, plen, def, deflen, has_def);
    if (rc != 0) {
        snprintf(err, errlen, "%s", pb_strerror(rc));
    }
    return rc;
}

struct pb_fmtstr *pb_fmtstr_compile(const char *s, char *err, size_t errlen)
{
    struct pb_fmtstr *f = pb_calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = s != NULL ? s : "";
    int rc = 0;
    while (*p != '\0' && rc == 0) {
        const char *open = strstr(p, "%{");
        if (open == NULL) {
            rc = add_part(f, PART_LIT, p, strlen(p), NULL, 0, false);
            break;
        }
        if (open > p) {
            rc = add_part(f, PART_LIT, p, (size_t)(open - p), NULL, 0, false);
            if (rc != 0) {
                break;
            }
        }
        const char *close = strchr(open + 2, '}');
        if (close == NULL) {
            snprintf(err, errlen, "missing closing '}' in format string");
            rc = -PB_EINVAL;
            break;
        }
        const char *in = open + 2;
        size_t inlen = (size_t)(close - in);
        if (inlen > 0 && in[0] == '+') {
            rc = add_part(f, PART_TIME, in + 1, inlen - 1, NULL, 0, false);
        } else {
            rc = parse_field(f, in, inlen, err, errlen);
        }
        p = close + 1;
    }
    if (rc != 0) {
        if (err != NULL && errlen > 0 && err[0] == '\0') {
            snprintf(err, errlen, "%s", pb_strerror(rc));
        }
        pb_fmtstr_free(f);
        return NULL;
    }
    return f;
}

bool pb_fmtstr_is_const(const struct pb_fmtstr *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->parts[i].kind != PART_LIT) {
            return false;
        }
    }
    return true;
}

const json_t *pb_event_get(const json_t *ev, const char *path, size_t len)
{
    char key[1024];
    if (ev == NULL || len == 0 || len >= sizeof key || !json_is_object(ev)) {
        return NULL;
    }
    memcpy(key, path, len);
    key[len] = '\0';
    const json_t *v = json_object_get(ev, key);
    if (v != NULL) {
        return v;
    }
    const json_t *cur = ev;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || key[i] == '.') {
            if (!json_is_object(cur)) {
                return NULL;
            }
            key[i] = '\0';
            cur = json_object_get(cur, key + start);
            if (cur == NULL) {
                return NULL;
            }
            start = i + 1;
        }
    }
    return cur;
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64). */
static int put_float(struct pb_codec_buf *b, double f)
{
    char buf[64];
    if (isnan(f)) {
        return pb_codec_buf_append(b, "NaN", 3);
    }
    if (isinf(f)) {
        return f > 0 ? pb_codec_buf_append(b, "+Inf", 4) : pb_codec_buf_append(b, "-Inf", 4);
    }
    if (f == 0) {
        return signbit(f) ? pb_codec_buf_append(b, "-0", 2) : pb_codec_buf_append(b, "0", 1);
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f) {
            break;
        }
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
    const char *e = strchr(buf, 'e');
    int exp = e != NULL ? (int)strtol(e + 1, NULL, 10) : 0;
    if (exp < -4 || exp >= 6) { /* Go: shortest 'g' decides with precision 6 */
        return pb_codec_buf_append(b, buf, strlen(buf));
    }
    int decimals = prec - 1 - exp;
    snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, f);
    return pb_codec_buf_append(b, buf, strlen(buf));
}

static int put_value(struct pb_codec_buf *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return pb_codec_buf_append(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return pb_codec_buf_append(b, num, strlen(num));
    case JSON_REAL:
        return put_float(b, json_real_value(v));
    case JSON_TRUE:
        return pb_codec_buf_append(b, "true", 4);
    case JSON_FALSE:
        return pb_codec_buf_append(b, "false", 5);
    default:
        return -PB_EINVAL; /* objects, arrays, null: not convertible */
    }
}

/* @timestamp "2006-01-02T15:04:05.000Z" (any fraction) into tm + nanos. */
static bool event_time(const json_t *ev, struct tm *tm, long *nanos)
{
    const json_t *ts = ev != NULL ? json_object_get(ev, "@timestamp") : NULL;
    const char *s = json_string_value(ts);
    memset(tm, 0, sizeof *tm);
    *nanos = 0;
    if (s == NULL) {
        time_t now = time(NULL);
        gmtime_r(&now, tm);
        return true;
    }
    int y, mo, d, h, mi, sec;
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6) {
        return false;
    }
    const char *p = s + used;
    if (*p == '.') {
        long scale = 100000000L;
        p++;
        while (*p >= '0' && *p <= '9') {
            *nanos += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = sec;
    time_t t = timegm(tm);
    gmtime_r(&t, tm); /* fills tm_wday and tm_yday */
    return true;
}

static int put_num(struct pb_codec_buf *b, long v, int width)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%0*ld", width, v);
    return pb_codec_buf_append(b, tmp, (size_t)n);
}

int pb_fmt_joda_time(struct pb_codec_buf *b, const char *f, size_t flen, const struct tm *tm,
                     long nanos)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    size_t i = 0;
    int rc = 0;
    while (i < flen && rc == 0) {
        char c = f[i];
        size_t run = 1;
        while (i + run < flen && f[i + run] == c) {
            run++;
        }
        int w = (int)run;
        switch (c) {
        case 'y':
        case 'Y':
        case 'x':
            if (run == 2) {
                rc = put_num(b, (tm->tm_year + 1900) % 100, 2);
            } else {
                rc = put_num(b, tm->tm_year + 1900, w);
            }
            break;
        case 'M':
            if (run >= 4) {
                rc = pb_codec_buf_append(b, months[tm->tm_mon], strlen(months[tm->tm_mon]));
            } else if (run == 3) {
                rc = pb_codec_buf_append(b, months[tm->tm_mon], 3);
            } else {
                rc = put_num(b, tm->tm_mon + 1, w);
            }
            break;
        case 'd':
            rc = put_num(b, tm->tm_mday, w);
            break;
        case 'D':
            rc = put_num(b, tm->tm_yday + 1, w);
            break;
        case 'H':
            rc = put_num(b, tm->tm_hour, w);
            break;
        case 'k':
            rc = put_num(b, tm->tm_hour == 0 ? 24 : tm->tm_hour, w);
            break;
        case 'h':
            rc = put_num(b, tm->tm_hour % 12 == 0 ? 12 : tm->tm_hour % 12, w);
            break;
        case 'K':
            rc = put_num(b, tm->tm_hour % 12, w);
            break;
        case 'm':
            rc = put_num(b, tm->tm_min, w);
            break;
        case 's':
            rc = put_num(b, tm->tm_sec, w);
            break;
        case 'S': {
            char tmp[16];
            snprintf(tmp, sizeof tmp, "%09ld", nanos);
            size_t k = run > 9 ? 9 : run;
            rc = pb_codec_buf_append(b, tmp, k);
            for (size_t z = k; z < run && rc == 0; z++) {
                rc = pb_codec_buf_append(b, "0", 1);
            }
            break;
        }
        case 'E':
            rc =
                pb_codec_buf_append(b, days[tm->tm_wday], run >= 4 ? strlen(days[tm->tm_wday]) : 3);
            break;
        case 'a':
            rc = pb_codec_buf_append(b, tm->tm_hour < 12 ? "AM" : "PM", 2);
            break;
        case '\'': {
            /* quoted literal; '' is a single quote */
            size_t j = i + 1;
            if (j < flen && f[j] == '\'') {
                rc = pb_codec_buf_append(b, "'", 1);
                run = 2;
                break;
            }
            while (j < flen && f[j] != '\'') {
                j++;
            }
            rc = pb_codec_buf_append(b, f + i + 1, j - i - 1);
            run = (j < flen ? j + 1 : j) - i;
            break;
        }
        default:
            rc = pb_codec_buf_append(b, f + i, run);
            break;
        }
        i += run;
    }
    return rc;
}

int pb_fmtstr_run(const struct pb_fmtstr *f, const json_t *ev, struct pb_codec_buf *out)
{
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        const struct part *p = &f->parts[i];
        switch (p->kind) {
        case PART_LIT:
            rc = pb_codec_buf_append(out, p->text, strlen(p->text));
            break;
        case PART_FIELD: {
            const json_t *v = pb_event_get(ev, p->text, strlen(p->text));
            if (v == NULL) {
                rc = p->def != NULL ? pb_codec_buf_append(out, p->def, strlen(p->def)) : -PB_EINVAL;
            } else {
                rc = put_value(out, v);
            }
            break;
        }
        case PART_TIME: {
            struct tm tm;
            long nanos;
            if (!event_time(ev, &tm, &nanos)) {
                rc = -PB_EINVAL;
                break;
            }
            rc = pb_fmt_joda_time(out, p->text, strlen(p->text), &tm, nanos);
            break;
        }
        }
        if (rc == 0 && out->len - start > PB_FMTSTR_MAX_OUT) {
            rc = -PB_ELIMIT;
        }
    }
    if (rc != 0) {
        out->len = start;
    }
    return rc;
}

/* ---- selectors ------------------------------------------------------------ */

struct rule {
    struct pb_fmtstr *fmt; /* owned; NULL for a constant */
    char *cval;            /* owned: the constant value */
    char *otherwise;       /* owned: `default`, "" when unset */
    char **from;           /* owned: mapping keys */
    char **to;             /* owned: mapping values */
    size_t nmap;
    struct pb_cond *cond; /* owned; NULL: always */
};

struct pb_outsel {
    struct rule *rules; /* owned */
    size_t n;
};

static void rule_fini(struct rule *r)
{
    pb_fmtstr_free(r->fmt);
    pb_free(r->cval);
    pb_free(r->otherwise);
    for (size_t i = 0; i < r->nmap; i++) {
        pb_free(r->from[i]);
        pb_free(r->to[i]);
    }
    pb_free(r->from);
    pb_free(r->to);
    pb_cond_free(r->cond);
    memset(r, 0, sizeof *r);
}

void pb_outsel_free(struct pb_outsel *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        rule_fini(&s->rules[i]);
    }
    pb_free(s->rules);
    pb_free(s);
}

static const char *map_lookup(const struct rule *r, const char *k)
{
    for (size_t i = 0; i < r->nmap; i++) {
        if (strcmp(r->from[i], k) == 0) {
            return r->to[i];
        }
    }
    return "";
}

/* Runs the constant format string of r (compile-time evaluation). */
static char *const_value(const struct pb_fmtstr *f)
{
    struct pb_codec_buf b = {0};
    if (pb_fmtstr_run(f, NULL, &b) != 0 || pb_codec_buf_append(&b, "", 1) != 0) {
        pb_codec_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* Appends r to s; an always-empty rule is dropped (libbeat's nilSelector). */
static int push_rule(struct pb_outsel *s, struct rule *r)
{
    if (r->fmt == NULL && (r->cval == NULL || r->cval[0] == '\0')) {
        rule_fini(r);
        return 0;
    }
    if (s->n >= MAX_RULES) {
        rule_fini(r);
        return -PB_ELIMIT;
    }
    struct rule *nr = pb_realloc(s->rules, (s->n + 1) * sizeof *nr);
    if (nr == NULL) {
        rule_fini(r);
        return -PB_ENOMEM;
    }
    s->rules = nr;
    s->rules[s->n++] = *r;
    memset(r, 0, sizeof *r);
    return 0;
}

static int cfg_err(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", pb_cfg_errmsg());
    return -PB_EINVAL;
}

/* One entry of the rule list (libbeat buildSingle). */
static int build_rule(struct pb_outsel *s, const struct pb_cfg *item, const char *key, char *err,
                      size_t errlen)
{
    char path[256];
    struct rule r;
    memset(&r, 0, sizeof r);
    const char *str = NULL;
    const char *def = NULL;
    pb_cfg_path(item, path, sizeof path);
    if (item->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "required 'object', but found '%s' in field '%s'",
                 item->kind == PB_CFG_LIST ? "array" : "string", path);
        return -PB_EINVAL;
    }
    if (!pb_cfg_has(item, key)) {
        snprintf(err, errlen, "missing %s.%s", path, key);
        return -PB_EINVAL;
    }
    if (pb_cfg_str(item, key, NULL, &str) != 0 || pb_cfg_str(item, "default", "", &def) != 0) {
        return cfg_err(err, errlen);
    }
    char why[256] = "";
    struct pb_fmtstr *f = pb_fmtstr_compile(str, why, sizeof why);
    if (f == NULL) {
        snprintf(err, errlen, "%s in %s.%s", why, path, key);
        return -PB_EINVAL;
    }
    r.otherwise = pb_strdup(def != NULL ? def : "");
    if (r.otherwise == NULL) {
        pb_fmtstr_free(f);
        return -PB_ENOMEM;
    }
    const struct pb_cfg *maps = pb_cfg_get(item, "mappings");
    if (maps != NULL && maps->kind == PB_CFG_MAP) {
        size_t n = pb_cfg_len(maps);
        if (n > MAX_MAPPINGS) {
            pb_fmtstr_free(f);
            rule_fini(&r);
            snprintf(err, errlen, "too many mappings in %s", path);
            return -PB_ELIMIT;
        }
        r.from = pb_calloc(n ? n : 1, sizeof *r.from);
        r.to = pb_calloc(n ? n : 1, sizeof *r.to);
        if (r.from == NULL || r.to == NULL) {
            pb_fmtstr_free(f);
            rule_fini(&r);
            return -PB_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const struct pb_cfg *m = pb_cfg_at(maps, i);
            r.from[i] = pb_strdup(m->key != NULL ? m->key : "");
            r.to[i] = pb_strdup(m->value != NULL ? m->value : "");
            r.nmap = i + 1;
            if (r.from[i] == NULL || r.to[i] == NULL) {
                pb_fmtstr_free(f);
                rule_fini(&r);
                return -PB_ENOMEM;
            }
        }
    } else if (maps != NULL && maps->kind != PB_CFG_NULL) {
        pb_fmtstr_free(f);
        rule_fini(&r);
        pb_cfg_path(maps, path, sizeof path);
        snprintf(err, errlen, "required 'object', but found '%s' in field '%s'",
                 maps->kind == PB_CFG_LIST ? "array" : "string", path);
        return -PB_EINVAL;
    }
    const struct pb_cfg *when = pb_cfg_get(item, "when");
    if (when != NULL) {
        r.cond = pb_cond_new(when, err, errlen);
        if (r.cond == NULL) {
            pb_fmtstr_free(f);
            rule_fini(&r);
            return -PB_EINVAL;
        }
    }
    if (pb_fmtstr_is_const(f)) {
        char *v = const_value(f);
        pb_fmtstr_free(f);
        if (v == NULL) {
            rule_fini(&r);
            return -PB_ENOMEM;
        }
        if (r.nmap > 0) {
            const char *m = map_lookup(&r, v);
            if (m[0] == '\0') {
                m = r.otherwise;
            }
            r.cval = pb_strdup(m);
            pb_free(v);
            if (r.cval == NULL) {
                rule_fini(&r);
                return -PB_ENOMEM;
            }
        } else {
            r.cval = v;
        }
    } else {
        r.fmt = f;
    }
    return push_rule(s, &r);
}

struct pb_outsel *pb_outsel_new(const struct pb_cfg *node, const char *key, const char *multikey,
                                bool fail_empty, char *err, size_t errlen)
{
    struct pb_outsel *s = pb_calloc(1, sizeof *s);
    bool found = false;
    int rc = 0;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const struct pb_cfg *list = multikey != NULL ? pb_cfg_get(node, multikey) : NULL;
    if (list != NULL) {
        found = true;
        if (list->kind == PB_CFG_LIST) {
            size_t n = pb_cfg_len(list);
            for (size_t i = 0; i < n && rc == 0; i++) {
                rc = build_rule(s, pb_cfg_at(list, i), key, err, errlen);
            }
        } else if (list->kind != PB_CFG_NULL) {
            char path[256];
            pb_cfg_path(list, path, sizeof path);
            snprintf(err, errlen, "required 'array', but found 'object' in field '%s'", path);
            rc = -PB_EINVAL;
        }
    }
    if (rc == 0 && pb_cfg_has(node, key)) {
        const char *str = NULL;
        found = true;
        if (pb_cfg_str(node, key, NULL, &str) != 0) {
            rc = cfg_err(err, errlen);
        } else {
            char why[256] = "";
            struct pb_fmtstr *f = pb_fmtstr_compile(str, why, sizeof why);
            if (f == NULL) {
                char path[256];
                pb_cfg_path(node, path, sizeof path);
                snprintf(err, errlen, "%s in %s.%s", why, path, key);
                rc = -PB_EINVAL;
            } else {
                struct rule r;
                memset(&r, 0, sizeof r);
                r.otherwise = pb_strdup("");
                if (pb_fmtstr_is_const(f)) {
                    r.cval = const_value(f);
                    pb_fmtstr_free(f);
                    if (r.cval == NULL) {
                        rc = -PB_ENOMEM;
                    }
                } else {
                    r.fmt = f;
                }
                if (rc == 0 && r.otherwise == NULL) {
                    rc = -PB_ENOMEM;
                }
                if (rc == 0) {
                    rc = push_rule(s, &r);
                } else {
                    rule_fini(&r);
                }
                if (rc != 0) {
                    snprintf(err, errlen, "%s", pb_strerror(rc));
                }
            }
        }
    }
    if (rc == 0 && fail_empty && !found) {
        char path[256];
        pb_cfg_path(node, path, sizeof path);
        snprintf(err, errlen, "missing required '%s' or '%s' in %s", key, multikey, path);
        rc = -PB_EINVAL;
    }
    if (rc != 0) {
        pb_outsel_free(s);
        return NULL;
    }
    return s;
}

bool pb_outsel_is_const(const struct pb_outsel *s)
{
    return s->n == 0 || (s->n == 1 && s->rules[0].fmt == NULL && s->rules[0].cond == NULL);
}

/* One rule: 0 with out holding the (possibly empty) result. */
static int rule_select(const struct rule *r, const json_t *ev, struct pb_codec_buf *out)
{
    out->len = 0;
    if (r->cond != NULL && !pb_cond_eval(r->cond, ev)) {
        return 0;
    }
    if (r->fmt == NULL) {
        return pb_codec_buf_append(out, r->cval, strlen(r->cval));
    }
    int rc = pb_fmtstr_run(r->fmt, ev, out);
    if (rc == -PB_ENOMEM) {
        return rc;
    }
    if (rc != 0 || out->len == 0) {
        /* fields missing: the rule's default */
        out->len = 0;
        return pb_codec_buf_append(out, r->otherwise, strlen(r->otherwise));
    }
    if (r->nmap > 0) {
        int arc = pb_codec_buf_append(out, "", 1);
        if (arc != 0) {
            return arc;
        }
        const char *m = map_lookup(r, out->p);
        if (m[0] == '\0') {
            m = r->otherwise;
        }
        out->len = 0;
        return pb_codec_buf_append(out, m, strlen(m));
    }
    return 0;
}

int pb_outsel_select(const struct pb_outsel *s, const json_t *ev, struct pb_codec_buf *out)
{
    int rc = 0;
    out->len = 0;
    for (size_t i = 0; i < s->n; i++) {
        rc = rule_select(&s->rules[i], ev, out);
        if (rc != 0) {
            out->len = 0;
            break;
        }
        if (out->len > 0) {
            break;
        }
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(out, "", 1);
        if (rc == 0) {
            out->len--; /* keep the NUL out of the length */
        }
    }
    return rc;
}
