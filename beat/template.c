/* SPDX-License-Identifier: Apache-2.0
 * beat/template.c - the composable index template generated from a fields.yml
 * (templates/fields.yml, embedded), the ILM policy and the DSL lifecycle, the
 * way libbeat's template processor builds them for Packetbeat 8.17.2.
 *
 * Field rules (libbeat's processor, restated):
 *   keyword (or no type)  {type: keyword, ignore_above: 1024 unless given; -1: none}
 *   text                  {type: text, norms: false unless norms: true}
 *   match_only_text       as is from ES 7.14, text before
 *   wildcard              as is from ES 7.9 (ignore_above only when given), keyword before
 *   integer               long
 *   scaled_float          scaling_factor 1000 unless given
 *   group                 properties merged with an earlier group of the same name
 *   nested                a group with type nested
 *   object                {type: object} plus a dynamic template per object_type
 *   array                 only object_type when given, else nothing is mapped
 *   alias                 {type: alias, path}; `migration: true` ones only with
 *                         migration.6_to_7.enabled
 *   anything else         {type: <type>}
 * Dotted names nest ("a.b" is a: {properties: {b: ...}}). Text-like fields
 * with default_field (true unless set false on the field or a parent group)
 * and index not false go to index.query.default_field, followed by "fields.*".
 */
#include "beat/template.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"

#define BEAT_NAME "packetbeat"
#define DEFAULT_PRIORITY 150
#define TOTAL_FIELDS_LIMIT 10000
#define MAX_DOCVALUE_FIELDS 200
#define DEFAULT_IGNORE_ABOVE 1024
#define DEFAULT_SCALING 1000
#define MAX_DEPTH 32               /* nesting of groups in a fields file */
#define MAX_FILE_BYTES (16u << 20) /* fields.yml / template JSON / policy file */

static _Thread_local char errbuf[512];

const char *pb_template_errmsg(void)
{
    return errbuf;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL && errlen > 0) {
        vsnprintf(err, errlen, fmt, ap);
    }
    va_end(ap);
}

/* ---- versions ------------------------------------------------------------ */

struct ver {
    int major, minor, patch;
};

static struct ver parse_ver(const char *s)
{
    struct ver v = {0, 0, 0};
    int *parts[3] = {&v.major, &v.minor, &v.patch};
    for (int i = 0; i < 3 && s != NULL && *s != '\0'; i++) {
        char *end = NULL;
        long n = strtol(s, &end, 10);
        if (end == s || n < 0 || n > 100000) {
            break;
        }
        *parts[i] = (int)n;
        s = *end == '.' ? end + 1 : NULL;
    }
    return v;
}

static bool ver_lt(struct ver a, int major, int minor, int patch)
{
    if (a.major != major) {
        return a.major < major;
    }
    if (a.minor != minor) {
        return a.minor < minor;
    }
    return a.patch < patch;
}

/* ---- config helpers ------------------------------------------------------ */

static const char *cfg_string(const struct pb_cfg *root, const char *path, const char *def)
{
    const char *v = NULL;
    if (pb_cfg_str(root, path, def, &v) < 0 || v == NULL) {
        return def;
    }
    return v;
}

static bool cfg_flag(const struct pb_cfg *root, const char *path, bool def)
{
    bool b = def;
    if (pb_cfg_bool(root, path, def, &b) < 0) {
        return def;
    }
    return b;
}

/* Expands the event-format references libbeat allows in template names and
 * policy names (%{[agent.version]}, %{[beat.name]}, ...) into buf. */
static const char *expand_name(const char *in, char *buf, size_t n)
{
    static const struct {
        const char *key, *val;
    } vars[] = {
        {"agent.version", PB_VERSION},    {"beat.version", PB_VERSION},
        {"observer.version", PB_VERSION}, {"agent.name", BEAT_NAME},
        {"beat.name", BEAT_NAME},         {"observer.name", BEAT_NAME},
    };
    size_t o = 0;
    const char *p = in;
    while (*p != '\0' && o + 1 < n) {
        if (p[0] == '%' && p[1] == '{' && p[2] == '[') {
            const char *close = strstr(p, "]}");
            if (close != NULL) {
                size_t klen = (size_t)(close - (p + 3));
                const char *val = NULL;
                for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
                    if (strlen(vars[i].key) == klen && strncmp(vars[i].key, p + 3, klen) == 0) {
                        val = vars[i].val;
                        break;
                    }
                }
                if (val != NULL) {
                    size_t vl = strlen(val);
                    if (o + vl >= n) {
                        break;
                    }
                    memcpy(buf + o, val, vl);
                    o += vl;
                    p = close + 2;
                    continue;
                }
            }
        }
        buf[o++] = *p++;
    }
    buf[o] = '\0';
    return buf;
}

static _Thread_local char name_buf[512];
static _Thread_local char pattern_buf[512];
static _Thread_local char policy_buf[512];

const char *pb_template_name(const struct pb_cfg *root)
{
    const char *n = cfg_string(root, "setup.template.name", "");
    if (cfg_flag(root, "setup.template.json.enabled", false)) {
        n = cfg_string(root, "setup.template.json.name", "");
    }
    if (n[0] == '\0') {
        return BEAT_NAME "-" PB_VERSION;
    }
    return expand_name(n, name_buf, sizeof name_buf);
}

const char *pb_template_pattern(const struct pb_cfg *root)
{
    const char *p = BEAT_NAME "-" PB_VERSION;
    if (pb_cfg_has(root, "setup.template.pattern")) {
        p = cfg_string(root, "setup.template.pattern", "");
        if (p[0] == '\0') {
            snprintf(pattern_buf, sizeof pattern_buf, "%s*", pb_template_name(root));
            return pattern_buf;
        }
    }
    return expand_name(p, pattern_buf, sizeof pattern_buf);
}

bool pb_template_enabled(const struct pb_cfg *root)
{
    return cfg_flag(root, "setup.template.enabled", true);
}

bool pb_template_overwrite(const struct pb_cfg *root)
{
    return cfg_flag(root, "setup.template.overwrite", false);
}

bool pb_ilm_enabled(const struct pb_cfg *root)
{
    if (cfg_flag(root, "setup.dsl.enabled", false)) {
        return false;
    }
    return cfg_flag(root, "setup.ilm.enabled", true);
}

bool pb_dsl_enabled(const struct pb_cfg *root)
{
    return cfg_flag(root, "setup.dsl.enabled", false);
}

const char *pb_ilm_policy_name(const struct pb_cfg *root)
{
    const char *n = cfg_string(root, "setup.ilm.policy_name", "");
    if (n[0] == '\0') {
        return BEAT_NAME;
    }
    return expand_name(n, policy_buf, sizeof policy_buf);
}

/* A file named in the config: absolute, or relative to path.config. */
static void resolve_config_path(const struct pb_cfg *root, const char *p, char *out, size_t n)
{
    const char *dir = cfg_string(root, "path.config", "");
    if (p[0] == '/' || dir[0] == '\0') {
        snprintf(out, n, "%s", p);
    } else {
        snprintf(out, n, "%s/%s", dir, p);
    }
}

/* Whole file into an owned NUL-terminated buffer; NULL with a message. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        seterr(err, errlen, "error reading file %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = pb_malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            if (cap >= MAX_FILE_BYTES) {
                seterr(err, errlen, "error reading file %s: larger than %u bytes", path,
                       MAX_FILE_BYTES);
                pb_free(buf);
                buf = NULL;
                break;
            }
            char *nb = pb_realloc(buf, cap * 2);
            if (nb == NULL) {
                pb_free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                seterr(err, errlen, "error reading file %s: %s", path, strerror(errno));
                pb_free(buf);
                buf = NULL;
            }
            break;
        }
    }
    fclose(f);
    if (buf == NULL) {
        if (err != NULL && errlen > 0 && err[0] == '\0') {
            seterr(err, errlen, "error reading file %s: out of memory", path);
        }
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

static json_t *load_json_file(const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = read_file(path, &len, err, errlen);
    if (text == NULL) {
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    pb_free(text);
    if (j == NULL) {
        seterr(err, errlen, "could not unmarshal json file %s: line %d: %s", path, je.line,
               je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        seterr(err, errlen, "could not unmarshal json file %s: not an object", path);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- JSON helpers -------------------------------------------------------- */

/* Sets value at a dotted key, creating (or replacing non-object) maps on the
 * way, like libbeat's MapStr.Put. Steals value. */
static int put_path(json_t *obj, const char *key, json_t *value)
{
    char seg[256];
    const char *p = key;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg) {
            json_decref(value);
            return -PB_EINVAL;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        if (dot == NULL) {
            return json_object_set_new(obj, seg, value) == 0 ? 0 : -PB_ENOMEM;
        }
        json_t *next = json_object_get(obj, seg);
        if (!json_is_object(next)) {
            next = json_object();
            if (next == NULL || json_object_set_new(obj, seg, next) != 0) {
                json_decref(value);
                return -PB_ENOMEM;
            }
        }
        obj = next;
        p = dot + 1;
    }
}

static json_t *get_path(json_t *obj, const char *key)
{
    char seg[256];
    const char *p = key;
    while (obj != NULL) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg) {
            return NULL;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        obj = json_object_get(obj, seg);
        if (dot == NULL) {
            return obj;
        }
        p = dot + 1;
    }
    return NULL;
}

/* "a.b.c" -> "a.properties.b.properties.c" */
static int generate_key(const char *name, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = name; *p != '\0'; p++) {
        const char *add = *p == '.' ? ".properties." : NULL;
        size_t al = add != NULL ? strlen(add) : 1;
        if (o + al + 1 > n) {
            return -PB_ELIMIT;
        }
        if (add != NULL) {
            memcpy(out + o, add, al);
        } else {
            out[o] = *p;
        }
        o += al;
    }
    out[o] = '\0';
    return 0;
}

/* Recursive merge of src into dst (libbeat's DeepUpdate). */
static void deep_update(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v)) {
            deep_update(d, v);
        } else {
            json_object_set(dst, k, v);
        }
    }
}

/* ---- the field processor ------------------------------------------------- */

struct gen {
    struct ver es;
    bool migration;
    json_t *dyn;      /* dynamic_templates, in order */
    json_t *dyn_seen; /* name\x1fpath_match\x1fmatch_type -> true */
    json_t *defaults; /* query.default_field */
    char *err;
    size_t errlen;
};

struct state {
    bool default_field;
    char path[1024];
};

enum tri { TRI_UNSET = -1, TRI_FALSE = 0, TRI_TRUE = 1 };

static enum tri cfg_tri(const struct pb_cfg *f, const char *key)
{
    if (!pb_cfg_has(f, key)) {
        return TRI_UNSET;
    }
    bool b = false;
    if (pb_cfg_bool(f, key, false, &b) < 0) {
        return TRI_UNSET;
    }
    return b ? TRI_TRUE : TRI_FALSE;
}

static const char *fstr(const struct pb_cfg *f, const char *key)
{
    const char *v = NULL;
    if (pb_cfg_str(f, key, "", &v) < 0 || v == NULL) {
        return "";
    }
    return v;
}

static int64_t fint(const struct pb_cfg *f, const char *key)
{
    int64_t v = 0;
    if (pb_cfg_int(f, key, 0, &v) < 0) {
        return 0;
    }
    return v;
}

static json_t *default_props(const struct gen *g, const struct pb_cfg *f)
{
    json_t *p = json_object();
    if (p == NULL) {
        return NULL;
    }
    enum tri idx = cfg_tri(f, "index");
    if (idx != TRI_UNSET) {
        json_object_set_new_nocheck(p, "index", json_boolean(idx == TRI_TRUE));
    }
    enum tri dv = cfg_tri(f, "doc_values");
    if (dv != TRI_UNSET) {
        json_object_set_new_nocheck(p, "doc_values", json_boolean(dv == TRI_TRUE));
    }
    const char *copy_to = fstr(f, "copy_to");
    if (copy_to[0] != '\0') {
        json_object_set_new_nocheck(p, "copy_to", json_string(copy_to));
    }
    if (!ver_lt(g->es, 7, 6, 0)) {
        const char *mt = fstr(f, "metric_type");
        const char *unit = fstr(f, "unit");
        if (mt[0] != '\0' || unit[0] != '\0') {
            json_t *meta = json_object();
            if (mt[0] != '\0') {
                json_object_set_new_nocheck(meta, "metric_type", json_string(mt));
            }
            if (unit[0] != '\0') {
                json_object_set_new_nocheck(meta, "unit", json_string(unit));
            }
            json_object_set_new_nocheck(p, "meta", meta);
        }
    }
    return p;
}

static int process(struct gen *g, const struct pb_cfg *fields, const struct state *st,
                   json_t *output, int depth);

static void state_from_field(const struct state *st, const char *name, bool df, struct state *out)
{
    out->default_field = df;
    int n;
    if (st->path[0] != '\0') {
        n = snprintf(out->path, sizeof out->path, "%s.%s", st->path, name);
    } else {
        n = snprintf(out->path, sizeof out->path, "%s", name);
    }
    if (n < 0 || (size_t)n >= sizeof out->path) {
        out->path[sizeof out->path - 1] = '\0'; /* over-long names are cut */
    }
}

static int multi_fields(struct gen *g, const struct pb_cfg *f, const struct state *mst,
                        json_t *props, int depth)
{
    const struct pb_cfg *mf = pb_cfg_get(f, "multi_fields");
    if (mf == NULL || pb_cfg_len(mf) == 0) {
        return 0;
    }
    json_t *fields = json_object();
    if (fields == NULL) {
        return -PB_ENOMEM;
    }
    int rc = process(g, mf, mst, fields, depth + 1);
    json_object_set_new_nocheck(props, "fields", fields);
    return rc;
}

static json_t *keyword_like(struct gen *g, const struct pb_cfg *f, const char *type,
                            const struct state *mst, int depth)
{
    json_t *p = default_props(g, f);
    if (p == NULL) {
        return NULL;
    }
    json_object_set_new_nocheck(p, "type", json_string(type));
    int64_t ia = fint(f, "ignore_above");
    if (strcmp(type, "wildcard") == 0) {
        if (ia > 0) {
            json_object_set_new_nocheck(p, "ignore_above", json_integer(ia));
        }
    } else if (ia == 0) {
        json_object_set_new_nocheck(p, "ignore_above", json_integer(DEFAULT_IGNORE_ABOVE));
    } else if (ia != -1) {
        json_object_set_new_nocheck(p, "ignore_above", json_integer(ia));
    }
    if (multi_fields(g, f, mst, p, depth) < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *text_like(struct gen *g, const struct pb_cfg *f, bool match_only,
                         const struct state *mst, int depth)
{
    json_t *p = default_props(g, f);
    if (p == NULL) {
        return NULL;
    }
    json_object_set_new_nocheck(p, "type", json_string(match_only ? "match_only_text" : "text"));
    if (!match_only && cfg_tri(f, "norms") != TRI_TRUE) {
        json_object_set_new_nocheck(p, "norms", json_false());
    }
    const char *an = fstr(f, "analyzer");
    if (an[0] != '\0') {
        json_object_set_new_nocheck(p, "analyzer", json_string(an));
    }
    const char *san = fstr(f, "search_analyzer");
    if (san[0] != '\0') {
        json_object_set_new_nocheck(p, "search_analyzer", json_string(san));
    }
    if (multi_fields(g, f, mst, p, depth) < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *scaled_float(const struct gen *g, const struct pb_cfg *f, int64_t param)
{
    json_t *p = default_props(g, f);
    if (p == NULL) {
        return NULL;
    }
    json_object_set_new_nocheck(p, "type", json_string_nocheck("scaled_float"));
    int64_t sf = DEFAULT_SCALING;
    int64_t own = fint(f, "scaling_factor");
    if (own != 0 && !pb_cfg_has(f, "object_type_params")) {
        sf = own;
    }
    if (param != 0) {
        sf = param;
    }
    json_object_set_new_nocheck(p, "scaling_factor", json_integer(sf));
    return p;
}

static void add_dynamic_template(struct gen *g, const char *name, const char *path_match,
                                 const char *match_type, json_t *mapping)
{
    char key[2048];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%s", name, path_match, match_type);
    if (json_object_get(g->dyn_seen, key) != NULL) {
        json_decref(mapping);
        return;
    }
    json_object_set_new(g->dyn_seen, key, json_true());
    json_t *body = json_object();
    json_object_set_new_nocheck(body, "mapping", mapping);
    if (match_type[0] != '\0') {
        json_object_set_new_nocheck(body, "match_mapping_type", json_string(match_type));
    }
    if (path_match[0] != '\0') {
        json_object_set_new_nocheck(body, "path_match", json_string(path_match));
    }
    json_t *t = json_object();
    json_object_set_new(t, name, body);
    json_array_append_new(g->dyn, t);
}

static void dynamic_value(const struct pb_cfg *f, json_t *props)
{
    const struct pb_cfg *d = pb_cfg_get(f, "dynamic");
    if (d == NULL || d->kind != PB_CFG_SCALAR) {
        return;
    }
    json_t *v = pb_cfg_to_json(d);
    if (v != NULL && (json_is_boolean(v) || json_is_string(v))) {
        json_object_set_new_nocheck(props, "dynamic", v);
    } else {
        json_decref(v);
    }
}

static json_t *object_field(struct gen *g, const struct pb_cfg *f, const struct state *st,
                            const char *name)
{
    char path[1200];
    if (st->path[0] != '\0') {
        snprintf(path, sizeof path, "%s.%s", st->path, name);
    } else {
        snprintf(path, sizeof path, "%s", name);
    }
    const struct pb_cfg *params = pb_cfg_get(f, "object_type_params");
    size_t nparams = params != NULL ? pb_cfg_len(params) : 0;
    size_t count = nparams > 0 ? nparams : 1;
    for (size_t i = 0; i < count; i++) {
        const struct pb_cfg *src = nparams > 0 ? pb_cfg_at(params, i) : f;
        const char *ot = fstr(src, "object_type");
        const char *omt = fstr(src, "object_type_mapping_type");
        int64_t sf = fint(src, "scaling_factor");
        const char *match = NULL;
        json_t *dp = NULL;
        if (strcmp(ot, "scaled_float") == 0) {
            dp = scaled_float(g, f, nparams > 0 ? sf : 0);
            match = "*";
        } else if (strcmp(ot, "text") == 0 || strcmp(ot, "keyword") == 0) {
            dp = default_props(g, f);
            json_object_set_new_nocheck(dp, "type", json_string(ot));
            match = "string";
        } else if (strcmp(ot, "byte") == 0 || strcmp(ot, "double") == 0 ||
                   strcmp(ot, "float") == 0 || strcmp(ot, "long") == 0 ||
                   strcmp(ot, "short") == 0 || strcmp(ot, "boolean") == 0) {
            dp = default_props(g, f);
            json_object_set_new_nocheck(dp, "type", json_string(ot));
            match = ot;
        } else if (strcmp(ot, "histogram") == 0) {
            dp = default_props(g, f);
            json_object_set_new_nocheck(dp, "type", json_string(ot));
            match = "*";
        } else {
            continue;
        }
        if (dp == NULL) {
            return NULL;
        }
        if (omt[0] != '\0') {
            match = omt;
        }
        char tname[1300], pmatch[1300];
        snprintf(pmatch, sizeof pmatch, "%s%s", path, strchr(path, '*') != NULL ? "" : ".*");
        if (count > 1) {
            snprintf(tname, sizeof tname, "%s_%s", path, match);
        } else {
            snprintf(tname, sizeof tname, "%s", path);
        }
        add_dynamic_template(g, tname, pmatch, match, dp);
    }
    json_t *p = default_props(g, f);
    if (p == NULL) {
        return NULL;
    }
    json_object_set_new_nocheck(p, "type", json_string_nocheck("object"));
    enum tri en = cfg_tri(f, "enabled");
    if (en != TRI_UNSET) {
        json_object_set_new_nocheck(p, "enabled", json_boolean(en == TRI_TRUE));
    }
    dynamic_value(f, p);
    return p;
}

static json_t *group_field(struct gen *g, const struct pb_cfg *f, const struct state *st,
                           const char *name, bool df, json_t *output, int depth)
{
    char key[1200];
    char gkey[1100];
    if (generate_key(name, gkey, sizeof gkey) < 0) {
        seterr(g->err, g->errlen, "field name too long: %s", name);
        return NULL;
    }
    snprintf(key, sizeof key, "%s.properties", gkey);
    json_t *props = get_path(output, key);
    if (json_is_object(props)) {
        json_incref(props);
    } else {
        props = json_object();
        if (props == NULL) {
            return NULL;
        }
    }
    struct state gs;
    state_from_field(st, name, df, &gs);
    const struct pb_cfg *children = pb_cfg_get(f, "fields");
    if (children != NULL && process(g, children, &gs, props, depth + 1) < 0) {
        json_decref(props);
        return NULL;
    }
    json_t *m = json_object();
    if (m == NULL) {
        json_decref(props);
        return NULL;
    }
    dynamic_value(f, m);
    if (json_object_size(props) != 0) {
        json_object_set_new_nocheck(m, "properties", props);
    } else {
        json_decref(props);
    }
    return m;
}

static bool is_text_like(const char *type)
{
    return type[0] == '\0' || strcmp(type, "keyword") == 0 || strcmp(type, "text") == 0 ||
           strcmp(type, "match_only_text") == 0 || strcmp(type, "wildcard") == 0;
}

static int process(struct gen *g, const struct pb_cfg *fields, const struct state *st,
                   json_t *output, int depth)
{
    if (depth > MAX_DEPTH) {
        seterr(g->err, g->errlen, "fields nested deeper than %d levels", MAX_DEPTH);
        return -PB_ELIMIT;
    }
    if (fields->kind != PB_CFG_LIST) {
        return 0;
    }
    for (size_t i = 0; i < pb_cfg_len(fields); i++) {
        const struct pb_cfg *f = pb_cfg_at(fields, i);
        const char *name = fstr(f, "name");
        if (name[0] == '\0') {
            continue;
        }
        const char *type = fstr(f, "type");
        enum tri dft = cfg_tri(f, "default_field");
        bool df = dft == TRI_UNSET ? st->default_field : dft == TRI_TRUE;
        struct state mst; /* multi-fields state */
        state_from_field(st, name, df, &mst);
        json_t *m = NULL;
        bool skip = false;

        if (strcmp(type, "ip") == 0 || strcmp(type, "half_float") == 0) {
            m = default_props(g, f);
            json_object_set_new_nocheck(m, "type", json_string(type));
        } else if (strcmp(type, "scaled_float") == 0) {
            m = scaled_float(g, f, 0);
        } else if (strcmp(type, "integer") == 0) {
            m = default_props(g, f);
            json_object_set_new_nocheck(m, "type", json_string_nocheck("long"));
        } else if (strcmp(type, "text") == 0) {
            m = text_like(g, f, false, &mst, depth);
        } else if (strcmp(type, "match_only_text") == 0) {
            struct state nil = {.default_field = true, .path = ""};
            bool old = ver_lt(g->es, 7, 14, 0);
            m = text_like(g, f, !old, old ? &mst : &nil, depth);
        } else if (strcmp(type, "wildcard") == 0) {
            m = keyword_like(g, f, ver_lt(g->es, 7, 9, 0) ? "keyword" : "wildcard", &mst, depth);
        } else if (type[0] == '\0' || strcmp(type, "keyword") == 0) {
            m = keyword_like(g, f, "keyword", &mst, depth);
        } else if (strcmp(type, "object") == 0) {
            m = object_field(g, f, st, name);
        } else if (strcmp(type, "array") == 0) {
            m = default_props(g, f);
            const char *ot = fstr(f, "object_type");
            if (m != NULL && ot[0] != '\0') {
                json_object_set_new_nocheck(m, "type", json_string(ot));
            }
        } else if (strcmp(type, "alias") == 0) {
            if (ver_lt(g->es, 6, 4, 0) || (!g->migration && cfg_tri(f, "migration") == TRI_TRUE)) {
                skip = true;
            } else {
                m = default_props(g, f);
                json_object_set_new_nocheck(m, "type", json_string_nocheck("alias"));
                json_object_set_new_nocheck(m, "path", json_string(fstr(f, "path")));
            }
        } else if (strcmp(type, "histogram") == 0) {
            if (ver_lt(g->es, 7, 6, 0)) {
                skip = true;
            } else {
                m = default_props(g, f);
                json_object_set_new_nocheck(m, "type", json_string(type));
            }
        } else if (strcmp(type, "group") == 0 || strcmp(type, "nested") == 0) {
            m = group_field(g, f, st, name, df, output, depth);
            if (m != NULL && strcmp(type, "nested") == 0) {
                json_object_set_new_nocheck(m, "type", json_string_nocheck("nested"));
            }
        } else {
            m = default_props(g, f);
            json_object_set_new_nocheck(m, "type", json_string(type));
        }
        if (skip) {
            continue;
        }
        if (m == NULL) {
            if (g->err != NULL && g->errlen > 0 && g->err[0] == '\0') {
                seterr(g->err, g->errlen, "error processing field %s", name);
            }
            return -PB_ENOMEM;
        }
        if (df && is_text_like(type) && cfg_tri(f, "index") != TRI_FALSE) {
            char full[1200];
            if (st->path[0] != '\0') {
                snprintf(full, sizeof full, "%s.%s", st->path, name);
            } else {
                snprintf(full, sizeof full, "%s", name);
            }
            json_array_append_new(g->defaults, json_string(full));
        }
        if (json_object_size(m) == 0) {
            json_decref(m);
            continue;
        }
        if (cfg_tri(f, "dynamic_template") == TRI_TRUE) {
            if (!ver_lt(g->es, 7, 13, 0)) {
                add_dynamic_template(g, name, "", "", m);
            } else {
                json_decref(m);
            }
            continue;
        }
        char key[1200];
        if (generate_key(name, key, sizeof key) < 0) {
            json_decref(m);
            seterr(g->err, g->errlen, "field name too long: %s", name);
            return -PB_ELIMIT;
        }
        if (put_path(output, key, m) < 0) {
            return -PB_ENOMEM;
        }
    }
    return 0;
}

/* ---- fields files -------------------------------------------------------- */

/* All keys' `fields` lists of a fields.yml as one list node (a synthetic
 * root is returned; free with pb_cfg_free). */
static struct pb_cfg *load_fields(const char *text, size_t len, const char *name, char *err,
                                  size_t errlen)
{
    struct pb_cfg *doc = pb_cfg_parse(text, len, name, err, errlen);
    if (doc == NULL) {
        return NULL;
    }
    if (doc->kind != PB_CFG_LIST) {
        seterr(err, errlen, "error creating template from %s: not a list of field keys", name);
        pb_cfg_free(doc);
        return NULL;
    }
    return doc;
}

/* Collects the leaf names of a fields list (dotted full names) into set. */
static void collect_names(const struct pb_cfg *fields, const char *prefix, json_t *set, int depth)
{
    if (fields == NULL || fields->kind != PB_CFG_LIST || depth > MAX_DEPTH) {
        return;
    }
    for (size_t i = 0; i < pb_cfg_len(fields); i++) {
        const struct pb_cfg *f = pb_cfg_at(fields, i);
        const char *name = fstr(f, "name");
        char full[1200];
        snprintf(full, sizeof full, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", name);
        const char *type = fstr(f, "type");
        if (strcmp(type, "group") == 0 || strcmp(type, "nested") == 0) {
            collect_names(pb_cfg_get(f, "fields"), full, set, depth + 1);
        } else {
            json_object_set_new(set, full, json_true());
        }
    }
}

/* ---- the template -------------------------------------------------------- */

static json_t *build_settings(struct gen *g, const struct pb_cfg *root, unsigned flags)
{
    json_t *idx = json_pack("{s:s,s:{s:{s:i}}}", "refresh_interval", "5s", "mapping",
                            "total_fields", "limit", TOTAL_FIELDS_LIMIT);
    if (idx == NULL) {
        return NULL;
    }
    json_t *df = json_deep_copy(g->defaults);
    json_array_append_new(df, json_string_nocheck("fields.*"));
    json_object_set_new_nocheck(idx, "query", json_pack("{s:o}", "default_field", df));
    json_t *user = pb_cfg_to_json(pb_cfg_get(root, "setup.template.settings.index"));
    if (!json_is_object(user)) {
        json_decref(user);
        user = json_object();
    }
    if (flags & PB_TEMPLATE_SERVERLESS) {
        json_object_del(user, "number_of_shards");
    } else {
        json_object_set_new_nocheck(idx, "max_docvalue_fields_search",
                                    json_integer(MAX_DOCVALUE_FIELDS));
    }
    if (!(flags & PB_TEMPLATE_NO_LIFECYCLE) && pb_ilm_enabled(root)) {
        /* index.lifecycle.name unless the user set one */
        json_t *lc = json_object_get(user, "lifecycle");
        if (lc == NULL) {
            lc = json_object();
            json_object_set_new_nocheck(user, "lifecycle", lc);
        }
        if (json_is_object(lc) && json_object_get(lc, "name") == NULL) {
            json_object_set_new_nocheck(lc, "name", json_string(pb_ilm_policy_name(root)));
        }
    }
    deep_update(idx, user);
    json_decref(user);
    return idx;
}

json_t *pb_template_build_ex(const struct pb_cfg *root, const char *es_version, unsigned flags,
                             char *err, size_t errlen)
{
    seterr(err, errlen, "%s", "");
    char path[PATH_MAX];
    if (cfg_flag(root, "setup.template.json.enabled", false)) {
        const char *jp = cfg_string(root, "setup.template.json.path", "");
        resolve_config_path(root, jp, path, sizeof path);
        json_t *body = load_json_file(path, err, errlen);
        if (body != NULL && cfg_flag(root, "setup.template.json.data_stream", false)) {
            json_object_set_new_nocheck(body, "data_stream", json_object());
        }
        return body;
    }

    struct gen g = {
        .es = parse_ver(es_version != NULL && es_version[0] != '\0' ? es_version
                                                                    : PB_TEMPLATE_ES_VERSION),
        .migration = cfg_flag(root, "migration.6_to_7.enabled", false),
        .dyn = json_array(),
        .dyn_seen = json_object(),
        .defaults = json_array(),
        .err = err,
        .errlen = errlen,
    };
    json_t *props = json_object();
    json_t *out = NULL;
    struct pb_cfg *doc = NULL;
    char *text = NULL;
    if (g.dyn == NULL || g.dyn_seen == NULL || g.defaults == NULL || props == NULL) {
        seterr(err, errlen, "out of memory");
        goto done;
    }

    const char *fields_file = cfg_string(root, "setup.template.fields", "");
    if (fields_file[0] != '\0') {
        size_t len = 0;
        resolve_config_path(root, fields_file, path, sizeof path);
        text = read_file(path, &len, err, errlen);
        if (text == NULL) {
            goto done;
        }
        doc = load_fields(text, len, path, err, errlen);
    } else {
        doc = load_fields(pb_fields_yml, pb_fields_yml_len, "fields.yml", err, errlen);
    }
    if (doc == NULL) {
        goto done;
    }

    /* append_fields: same shape as a key's `fields`; a name already defined
     * is an error, as in libbeat. */
    const struct pb_cfg *append = pb_cfg_get(root, "setup.template.append_fields");
    if (append != NULL && pb_cfg_len(append) > 0) {
        json_t *have = json_object();
        for (size_t k = 0; k < pb_cfg_len(doc); k++) {
            collect_names(pb_cfg_get(pb_cfg_at(doc, k), "fields"), "", have, 0);
        }
        json_t *added = json_object();
        collect_names(append, "", added, 0);
        const char *name;
        json_t *v;
        bool dup = false;
        json_object_foreach(added, name, v)
        {
            if (json_object_get(have, name) != NULL) {
                seterr(err, errlen, "1 error: fields contain key <%s>", name);
                dup = true;
                break;
            }
        }
        json_decref(have);
        json_decref(added);
        if (dup) {
            goto done;
        }
    }

    struct state st = {.default_field = true, .path = ""};
    for (size_t k = 0; k < pb_cfg_len(doc); k++) {
        const struct pb_cfg *fl = pb_cfg_get(pb_cfg_at(doc, k), "fields");
        if (fl != NULL && process(&g, fl, &st, props, 0) < 0) {
            goto done;
        }
    }
    if (append != NULL && append->kind == PB_CFG_LIST && process(&g, append, &st, props, 0) < 0) {
        goto done;
    }

    json_t *dyn = json_deep_copy(g.dyn);
    json_array_append_new(dyn, json_pack("{s:{s:{s:i,s:s},s:s}}", "strings_as_keyword", "mapping",
                                         "ignore_above", DEFAULT_IGNORE_ABOVE, "type", "keyword",
                                         "match_mapping_type", "string"));
    json_t *mappings =
        json_pack("{s:{s:s,s:s},s:b,s:o,s:O}", "_meta", "version", PB_VERSION, "beat", BEAT_NAME,
                  "date_detection", 0, "dynamic_templates", dyn, "properties", props);
    json_t *source = pb_cfg_to_json(pb_cfg_get(root, "setup.template.settings._source"));
    if (json_is_object(source) && json_object_size(source) > 0) {
        json_object_set(mappings, "_source", source);
    }
    json_decref(source);

    json_t *idx = build_settings(&g, root, flags);
    json_t *tmpl = json_pack("{s:o,s:{s:o}}", "mappings", mappings, "settings", "index", idx);
    if (tmpl == NULL) {
        seterr(err, errlen, "out of memory");
        goto done;
    }
    if (!(flags & PB_TEMPLATE_NO_LIFECYCLE) && pb_dsl_enabled(root)) {
        json_t *lc = pb_dsl_lifecycle(root);
        if (lc == NULL) {
            seterr(err, errlen, "%s", pb_template_errmsg());
            json_decref(tmpl);
            goto done;
        }
        if (json_object_size(lc) > 0) {
            json_object_set_new_nocheck(tmpl, "lifecycle", lc);
        } else {
            json_decref(lc);
        }
    }
    int64_t prio = DEFAULT_PRIORITY;
    pb_cfg_int(root, "setup.template.priority", DEFAULT_PRIORITY, &prio);
    out = json_pack("{s:[s],s:{},s:I,s:o}", "index_patterns", pb_template_pattern(root),
                    "data_stream", "priority", (json_int_t)prio, "template", tmpl);
    if (out == NULL) {
        seterr(err, errlen, "out of memory");
    }

done:
    json_decref(props);
    json_decref(g.dyn);
    json_decref(g.dyn_seen);
    json_decref(g.defaults);
    pb_cfg_free(doc);
    pb_free(text);
    return out;
}

json_t *pb_template_build_for(const struct pb_cfg *root, const char *es_version, char *err,
                              size_t errlen)
{
    return pb_template_build_ex(root, es_version, 0, err, errlen);
}

json_t *pb_template_build(const struct pb_cfg *root, char *err, size_t errlen)
{
    return pb_template_build_ex(root, NULL, 0, err, errlen);
}

/* ---- lifecycle ----------------------------------------------------------- */

json_t *pb_ilm_policy(const struct pb_cfg *root)
{
    errbuf[0] = '\0';
    const char *file = cfg_string(root, "setup.ilm.policy_file", "");
    if (file[0] != '\0') {
        char path[PATH_MAX];
        resolve_config_path(root, file, path, sizeof path);
        return load_json_file(path, errbuf, sizeof errbuf);
    }
    return json_pack("{s:{s:{s:{s:{s:{s:s,s:s}}}}}}", "policy", "phases", "hot", "actions",
                     "rollover", "max_primary_shard_size", "50gb", "max_age", "30d");
}

json_t *pb_dsl_lifecycle(const struct pb_cfg *root)
{
    errbuf[0] = '\0';
    const char *file = cfg_string(root, "setup.dsl.policy_file", "");
    if (file[0] != '\0') {
        char path[PATH_MAX];
        resolve_config_path(root, file, path, sizeof path);
        return load_json_file(path, errbuf, sizeof errbuf);
    }
    return json_pack("{s:s}", "data_retention", "7d");
}

const char *pb_dsl_data_stream(const struct pb_cfg *root)
{
    const char *n = cfg_string(root, "setup.dsl.data_stream_pattern", "");
    if (n[0] == '\0') {
        return BEAT_NAME "-" PB_VERSION;
    }
    return expand_name(n, policy_buf, sizeof policy_buf);
}

/* ---- printing ------------------------------------------------------------ */

char *pb_template_dumps(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s);
    char *out = pb_malloc(n + 2);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    free(s);
    return out;
}
