/* SPDX-License-Identifier: Apache-2.0
 * beat/dashboards.c - dashboards into Kibana (see dashboards.h).
 *
 * What `setup --dashboards` sends, in libbeat's order:
 *   GET  /api/status                                 version (>= 7.14.0)
 *   POST /api/saved_objects/_import?overwrite=true   the data view
 *        (file part "index-template.ndjson", as libbeat names it)
 *   POST /api/saved_objects/_import?overwrite=true   one per dashboard file
 *        (file part "<name>.ndjson"; for a libbeat directory the objects a
 *        dashboard references come first in the same file)
 */
#include "beat/dashboards.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/kibana.h"
#include "beat/log.h"
#include "beat/template.h"

#define SEL "dashboards"
#define DATA_VIEW "packetbeat-*"
/* Caps for files read from setup.dashboards.directory. */
#define MAX_DIR_FILES 1024
#define MAX_FILE_BYTES (64u * 1024u * 1024u)
#define MAX_REF_DEPTH 8

struct text {
    char *p;
    size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > MAX_FILE_BYTES * 4u) {
        return -PB_ELIMIT;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        char *np = pb_realloc(t->p, cap);
        if (np == NULL) {
            return -PB_ENOMEM;
        }
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

/* Appends obj as one compact line. */
static int text_add_obj(struct text *t, const json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s == NULL) {
        return -PB_ENOMEM;
    }
    int rc = text_add(t, s, strlen(s));
    free(s);
    return rc == 0 ? text_add(t, "\n", 1) : rc;
}

/* ---- index replacement ------------------------------------------------------ */

static void set_index_walk(json_t *v, const char *index, int depth)
{
    if (depth > 64) {
        return;
    }
    if (json_is_object(v)) {
        json_t *type = json_object_get(v, "type");
        json_t *id = json_object_get(v, "id");
        json_t *name = json_object_get(v, "name");
        /* a reference: {type: index-pattern, id, name} */
        if (json_is_string(type) && strcmp(json_string_value(type), "index-pattern") == 0 &&
            json_is_string(id) && json_is_string(name)) {
            json_object_set_new_nocheck(v, "id", json_string(index));
        }
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            if (strcmp(k, "panelsJSON") == 0 && json_is_string(c)) {
                json_t *panels = json_loads(json_string_value(c), 0, NULL);
                if (panels != NULL) {
                    set_index_walk(panels, index, depth + 1);
                    char *s = json_dumps(panels, JSON_COMPACT);
                    if (s != NULL) {
                        json_object_set_new(v, k, json_string(s));
                        free(s);
                    }
                    json_decref(panels);
                }
            } else {
                set_index_walk(c, index, depth + 1);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            set_index_walk(c, index, depth + 1);
        }
    }
}

int pb_dashboards_set_index(json_t *obj, const char *index)
{
    if (index == NULL || index[0] == '\0') {
        return 0;
    }
    json_t *type = json_object_get(obj, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "index-pattern") == 0) {
        json_object_set_new_nocheck(obj, "id", json_string(index));
        json_t *a = json_object_get(obj, "attributes");
        if (json_is_object(a)) {
            json_object_set_new_nocheck(a, "title", json_string(index));
            if (json_object_get(a, "name") != NULL) {
                json_object_set_new_nocheck(a, "name", json_string(index));
            }
        }
        return 0;
    }
    set_index_walk(json_object_get(obj, "references"), index, 0);
    set_index_walk(json_object_get(obj, "attributes"), index, 0);
    return 0;
}

/* ---- the data view ---------------------------------------------------------- */

static const char *kibana_type(const char *es)
{
    static const char *const num[] = {"long",         "integer", "short",
                                      "byte",         "float",   "half_float",
                                      "scaled_float", "double",  "unsigned_long"};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
        if (strcmp(es, num[i]) == 0) {
            return "number";
        }
    }
    if (strcmp(es, "keyword") == 0 || strcmp(es, "constant_keyword") == 0 ||
        strcmp(es, "wildcard") == 0 || strcmp(es, "text") == 0 ||
        strcmp(es, "match_only_text") == 0 || strcmp(es, "version") == 0) {
        return "string";
    }
    if (strcmp(es, "date") == 0 || strcmp(es, "date_nanos") == 0) {
        return "date";
    }
    if (strcmp(es, "ip") == 0 || strcmp(es, "boolean") == 0 || strcmp(es, "geo_point") == 0 ||
        strcmp(es, "binary") == 0 || strcmp(es, "nested") == 0) {
        return es;
    }
    return NULL; /* object, flattened, alias resolved by the caller */
}

static json_t *props_lookup(json_t *props, const char *path)
{
    json_t *cur = NULL;
    const char *p = path;
    while (p != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (n == 0 || n >= sizeof key) {
            return NULL;
        }
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(props, key);
        if (cur == NULL) {
            return NULL;
        }
        props = json_object_get(cur, "properties");
        p = dot != NULL ? dot + 1 : NULL;
    }
    return cur;
}

static void add_field(json_t *list, const char *name, const char *es_type)
{
    const char *kt = kibana_type(es_type);
    if (kt == NULL) {
        return;
    }
    bool text = strcmp(es_type, "text") == 0 || strcmp(es_type, "match_only_text") == 0;
    bool binary = strcmp(es_type, "binary") == 0;
    json_array_append_new(list, json_pack("{s:s,s:s,s:[s],s:i,s:b,s:b,s:b,s:b}", "name", name,
                                          "type", kt, "esTypes", es_type, "count", 0, "scripted", 0,
                                          "searchable", !binary, "aggregatable", !text && !binary,
                                          "readFromDocValues", !text && !binary));
}

static void walk_props(json_t *root_props, json_t *props, const char *prefix, json_t *list,
                       int depth)
{
    if (depth > 32) {
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        json_t *sub = json_object_get(v, "properties");
        const char *type = json_string_value(json_object_get(v, "type"));
        if (sub != NULL) {
            walk_props(root_props, sub, name, list, depth + 1);
            continue;
        }
        if (type == NULL) {
            continue;
        }
        if (strcmp(type, "alias") == 0) {
            const char *target = json_string_value(json_object_get(v, "path"));
            json_t *t = target != NULL ? props_lookup(root_props, target) : NULL;
            type = json_string_value(json_object_get(t, "type"));
            if (type == NULL) {
                continue;
            }
        }
        add_field(list, name, type);
        const char *mk;
        json_t *mv;
        json_object_foreach(json_object_get(v, "fields"), mk, mv)
        {
            const char *mt = json_string_value(json_object_get(mv, "type"));
            if (mt != NULL) {
                char mname[600];
                snprintf(mname, sizeof mname, "%s.%s", name, mk);
                add_field(list, mname, mt);
            }
        }
    }
}

static json_t *embedded_objects(const struct pb_dash_file *f)
{
    json_t *arr = json_array();
    const char *p = f->text;
    const char *end = f->text + f->len;
    while (arr != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            json_t *o = json_loadb(p, n, 0, NULL);
            if (o != NULL) {
                json_array_append_new(arr, o);
            }
        }
        p += n + 1;
    }
    return arr;
}

json_t *pb_dashboards_index_pattern(const struct pb_cfg *root, bool use_setup_index, char *err,
                                    size_t errlen)
{
    json_t *ip = NULL;
    for (size_t i = 0; i < pb_dash_nfiles && ip == NULL; i++) {
        if (strcmp(pb_dash_files[i].name, "index-pattern.ndjson") == 0) {
            json_t *arr = embedded_objects(&pb_dash_files[i]);
            ip = json_incref(json_array_get(arr, 0));
            json_decref(arr);
        }
    }
    if (ip == NULL) {
        snprintf(err, errlen, "no index-pattern saved object is embedded");
        return NULL;
    }
    json_t *tpl = pb_template_build(root, err, errlen);
    if (tpl == NULL) {
        json_decref(ip);
        return NULL;
    }
    json_t *props = json_object_get(json_object_get(json_object_get(tpl, "template"), "mappings"),
                                    "properties");
    json_t *list = json_array();
    walk_props(props, props, "", list, 0);
    static const char *const meta[] = {"_id", "_index", "_score", "_source"};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:i,s:b,s:b,s:b,s:b}", "name", meta[i], "type",
                                        i == 2 ? "number" : (i == 3 ? "_source" : "string"),
                                        "count", 0, "scripted", 0, "searchable", i < 2,
                                        "aggregatable", i < 2, "readFromDocValues", 0));
    }
    char *fields = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    json_decref(tpl);
    if (fields == NULL) {
        json_decref(ip);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_object_set_new_nocheck(json_object_get(ip, "attributes"), "fields", json_string(fields));
    free(fields);
    if (use_setup_index) {
        const char *index = NULL;
        (void)pb_cfg_str(root, "setup.dashboards.index", NULL, &index);
        pb_dashboards_set_index(ip, index);
    }
    return ip;
}

/* ---- reading a directory -------------------------------------------------------- */

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "fail to read dashboard from file %s: open %s: %s", path, path,
                 strerror(errno));
        return NULL;
    }
    struct text t = {0};
    char buf[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        rc = t.len + n > MAX_FILE_BYTES ? -PB_ELIMIT : text_add(&t, buf, n);
    }
    fclose(f);
    if (rc != 0 || t.p == NULL) {
        pb_free(t.p);
        snprintf(err, errlen, "fail to read dashboard from file %s: %s", path,
                 rc != 0 ? "too large" : "empty file");
        return NULL;
    }
    *len = t.len;
    return t.p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending with suffix (owned array of owned strings). */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }
    char **v = pb_calloc(MAX_DIR_FILES + 1, sizeof *v);
    struct dirent *e;
    size_t sl = strlen(suffix);
    while (v != NULL && (e = readdir(d)) != NULL && *n < MAX_DIR_FILES) {
        size_t l = strlen(e->d_name);
        if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0 && e->d_name[0] != '.') {
            v[*n] = pb_strdup(e->d_name);
            if (v[*n] != NULL) {
                (*n)++;
            }
        }
    }
    closedir(d);
    if (v != NULL) {
        qsort(v, *n, sizeof *v, cmp_str);
    }
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        pb_free(v[i]);
    }
    pb_free(v);
}

/* libbeat's addReferences: objects a dashboard file references (other than
 * index patterns) are read from ../<type>/<id>.json and go first. */
static int add_references(const char *base, json_t *obj, const char *index, json_t *seen,
                          struct text *out, int depth, char *err, size_t errlen)
{
    if (depth > MAX_REF_DEPTH) {
        snprintf(err, errlen, "references nested too deeply");
        return -PB_ELIMIT;
    }
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(obj, "references"), i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if (type == NULL || id == NULL || strcmp(type, "index-pattern") == 0 ||
            strchr(id, '/') != NULL || strchr(type, '/') != NULL) {
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/../%s/%s.json", base, type, id);
        if (json_object_get(seen, path) != NULL) {
            continue;
        }
        size_t len = 0;
        char *text = slurp(path, &len, err, errlen);
        if (text == NULL) {
            char why[1024];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "fail to read referenced asset from file %s: %s", path, why);
            return -PB_EIO;
        }
        json_t *ref = json_loadb(text, len, 0, NULL);
        pb_free(text);
        if (!json_is_object(ref)) {
            json_decref(ref);
            snprintf(err, errlen, "failed to parse dashboard references: bad JSON in %s", path);
            return -PB_EPROTO;
        }
        json_object_set_new(seen, path, json_true());
        char rbase[PATH_MAX];
        snprintf(rbase, sizeof rbase, "%s/../%s", base, type);
        pb_dashboards_set_index(ref, index);
        int rc = add_references(rbase, ref, index, seen, out, depth + 1, err, errlen);
        if (rc == 0) {
            rc = text_add_obj(out, ref);
        }
        json_decref(ref);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- loading ----------------------------------------------------------------------- */

struct loader {
    struct pb_kibana *k;
    const char *index; /* setup.dashboards.index, NULL: keep */
    char errors[8192];
    size_t elen;
};

static void note_error(struct loader *l, const char *file, const char *why)
{
    int n = snprintf(l->errors + l->elen, sizeof l->errors - l->elen, "%s  error loading %s: %s",
                     l->elen ? "\n" : "", file, why);
    if (n > 0 && l->elen + (size_t)n < sizeof l->errors) {
        l->elen += (size_t)n;
    }
}

/* One ndjson text (one object a line) as one import, the index replaced. */
static int import_ndjson(struct loader *l, const char *name, const char *text, size_t len,
                         char *err, size_t errlen)
{
    struct text out = {0};
    const char *p = text, *end = text + len;
    int rc = 0;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0 && !(n == 1 && p[0] == '\r')) {
            json_error_t je;
            json_t *o = json_loadb(p, n, 0, &je);
            if (!json_is_object(o)) {
                snprintf(err, errlen, "failed to convert asset: %s", je.text);
                rc = -PB_EPROTO;
            } else {
                pb_dashboards_set_index(o, l->index);
                rc = text_add_obj(&out, o);
            }
            json_decref(o);
        }
        p += n + 1;
    }
    if (rc == 0 && out.len == 0) {
        snprintf(err, errlen, "no saved objects in %s", name);
        rc = -PB_EINVAL;
    }
    if (rc == 0) {
        char why[2048];
        rc = pb_kibana_import(l->k, name, out.p, out.len, why, sizeof why);
        if (rc != 0) {
            snprintf(err, errlen, "error dashboard asset: %s", why);
        }
    }
    pb_free(out.p);
    return rc;
}

/* libbeat's layout (<dir>/7/dashboard/<name>.json), else <dir>/<name>.ndjson. */
static int import_directory(struct loader *l, const char *dir, bool only_index, char *err,
                            size_t errlen)
{
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/7/dashboard", dir);
    size_t n = 0;
    char **files = list_dir(sub, ".json", &n);
    bool libbeat_layout = files != NULL;
    if (!libbeat_layout) {
        files = list_dir(dir, ".ndjson", &n);
        if (files == NULL) {
            snprintf(err, errlen, "No directory %s/7", dir);
            return -PB_EINVAL;
        }
        snprintf(sub, sizeof sub, "%s", dir);
    }
    if (only_index) {
        free_list(files, n);
        return 0;
    }
    if (n == 0) {
        free_list(files, n);
        snprintf(err, errlen, "The directory %s is empty, nothing to import", sub);
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        char why[4096];
        int pn = snprintf(path, sizeof path, "%s/%s", sub, files[i]);
        if (pn < 0 || (size_t)pn >= sizeof path) {
            note_error(l, files[i], "path too long");
            continue;
        }
        pb_debug(SEL, "Importing dashboard from %s", path);
        size_t len = 0;
        char *text = slurp(path, &len, why, sizeof why);
        if (text == NULL) {
            note_error(l, path, why);
            continue;
        }
        int rc = 0;
        if (libbeat_layout) {
            json_error_t je;
            json_t *o = json_loadb(text, len, 0, &je);
            struct text out = {0};
            json_t *seen = json_object();
            if (!json_is_object(o)) {
                snprintf(why, sizeof why,
                         "error getting references of dashboard: failed to "
                         "parse dashboard references: %s",
                         je.text);
                rc = -PB_EPROTO;
            } else {
                pb_dashboards_set_index(o, l->index);
                rc = add_references(sub, o, l->index, seen, &out, 0, why, sizeof why);
                if (rc == 0) {
                    rc = text_add_obj(&out, o);
                }
            }
            if (rc == 0) {
                /* libbeat names the part after the file, .json -> .ndjson */
                char name[NAME_MAX + 8];
                snprintf(name, sizeof name, "%.*s.ndjson", (int)(strlen(files[i]) - 5), files[i]);
                char kw[2048];
                rc = pb_kibana_import(l->k, name, out.p, out.len, kw, sizeof kw);
                if (rc != 0) {
                    snprintf(why, sizeof why, "error dashboard asset: %s", kw);
                }
            }
            json_decref(seen);
            json_decref(o);
            pb_free(out.p);
        } else {
            rc = import_ndjson(l, files[i], text, len, why, sizeof why);
        }
        pb_free(text);
        if (rc != 0) {
            note_error(l, path, why);
        }
    }
    free_list(files, n);
    if (l->elen > 0) {
        snprintf(err, errlen, "Failed to import dashboard: Failed to load directory %s:\n%s", sub,
                 l->errors);
        return -PB_EIO;
    }
    return 0;
}

static int import_embedded(struct loader *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < pb_dash_nfiles; i++) {
        const struct pb_dash_file *f = &pb_dash_files[i];
        if (strcmp(f->name, "index-pattern.ndjson") == 0) {
            continue;
        }
        pb_debug(SEL, "Importing dashboard from %s (embedded)", f->name);
        char why[4096];
        if (import_ndjson(l, f->name, f->text, f->len, why, sizeof why) != 0) {
            note_error(l, f->name, why);
        }
    }
    if (l->elen > 0) {
        snprintf(err, errlen, "Failed to import dashboard: Failed to load embedded dashboards:\n%s",
                 l->errors);
        return -PB_EIO;
    }
    return 0;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL),
                          .tv_nsec = (long)(ns % 1000000000LL)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int pb_dashboards_load(const struct pb_cfg *root, bool force, char *err, size_t errlen)
{
    err[0] = '\0';
    const struct pb_cfg *dc = pb_cfg_get(root, "setup.dashboards");
    bool enabled = false, only_index = false, only_dash = false, retry = false;
    const char *dir = NULL, *index = NULL, *file = NULL, *url = NULL;
    int64_t interval = 1000000000LL, maximum = 0;
    if (pb_cfg_bool(dc, "enabled", false, &enabled) != 0 ||
        pb_cfg_bool(dc, "only_index", false, &only_index) != 0 ||
        pb_cfg_bool(dc, "only_dashboards", false, &only_dash) != 0 ||
        pb_cfg_str(dc, "directory", NULL, &dir) != 0 ||
        pb_cfg_str(dc, "index", NULL, &index) != 0 || pb_cfg_str(dc, "file", NULL, &file) != 0 ||
        pb_cfg_str(dc, "url", NULL, &url) != 0 ||
        pb_cfg_bool(dc, "retry.enabled", false, &retry) != 0 ||
        pb_cfg_duration(dc, "retry.interval", 1000000000LL, &interval) != 0 ||
        pb_cfg_int(dc, "retry.maximum", 0, &maximum) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (!force && !enabled) {
        return 0;
    }
    if ((file != NULL && file[0] != '\0') || (url != NULL && url[0] != '\0')) {
        snprintf(err, errlen,
                 "Error importing Kibana dashboards: setup.dashboards.file and "
                 "setup.dashboards.url (zip archives) are not supported by this build; unpack "
                 "the archive and use setup.dashboards.directory");
        return -PB_EINVAL;
    }
    char why[4096];
    struct pb_kibana *k = pb_kibana_new(root, why, sizeof why);
    if (k == NULL) {
        snprintf(err, errlen, "error connecting to Kibana: %s", why);
        return -PB_EINVAL;
    }
    /* the client's version check, retried as setup.dashboards.retry says */
    int rc;
    for (int64_t attempt = 0;; attempt++) {
        rc = pb_kibana_connect(k, NULL, why, sizeof why);
        if (rc == 0 || !retry || (maximum > 0 && attempt >= maximum)) {
            break;
        }
        pb_warn(SEL, "Error connecting to Kibana, retrying in %.1fs: %s", (double)interval / 1e9,
                why);
        sleep_ns(interval);
    }
    if (rc != 0) {
        snprintf(err, errlen, "error connecting to Kibana: %s", why);
        pb_kibana_free(k);
        return rc;
    }
    pb_debug(SEL, "Initialize the Kibana %s loader", pb_kibana_version(k));
    pb_debug(SEL, "Kibana URL %s", pb_kibana_url(k));
    if (pb_kibana_version_before(k, 7, 14, 0)) {
        snprintf(err, errlen,
                 "Error importing Kibana dashboards: fail to import the dashboards in Kibana: "
                 "Kibana version must be at least 7.14.0");
        pb_kibana_free(k);
        return -PB_EINVAL;
    }
    struct loader l = {.k = k, .index = index != NULL && index[0] != '\0' ? index : NULL};
    const char *where = dir != NULL && dir[0] != '\0' ? dir : "(embedded)";
    /* the data view first */
    json_t *ip = pb_dashboards_index_pattern(root, true, why, sizeof why);
    if (ip == NULL) {
        snprintf(err, errlen, "error generating index pattern: %s", why);
        pb_kibana_free(k);
        return -PB_EINVAL;
    }
    struct text t = {0};
    rc = text_add_obj(&t, ip);
    json_decref(ip);
    if (rc == 0) {
        rc = pb_kibana_import(k, "index-template.ndjson", t.p, t.len, why, sizeof why);
        if (rc != 0) {
            char w2[3000];
            snprintf(w2, sizeof w2, "%.2900s", why);
            snprintf(why, sizeof why,
                     "failed to import Kibana index pattern: error loading index pattern: %s", w2);
        }
    } else {
        snprintf(why, sizeof why, "out of memory");
    }
    pb_free(t.p);
    if (rc == 0 && !only_index) {
        (void)only_dash; /* the data view always goes first, as in libbeat */
        rc = dir != NULL && dir[0] != '\0' ? import_directory(&l, dir, only_index, why, sizeof why)
                                           : import_embedded(&l, why, sizeof why);
    }
    pb_kibana_free(k);
    if (rc != 0) {
        snprintf(err, errlen,
                 "Error importing Kibana dashboards: fail to import the dashboards in Kibana: "
                 "Error importing directory %s: %s",
                 where, why);
        return rc;
    }
    pb_info(SEL, "Kibana dashboards successfully loaded.");
    return 0;
}

/* ---- export ----------------------------------------------------------------------------- */

/* The ndjson lines of text without index-pattern objects (libbeat's
 * RemoveIndexPattern), as an array of objects. */
static json_t *without_index_patterns(const char *text, size_t len)
{
    json_t *arr = json_array();
    const char *p = text, *end = text + len;
    while (arr != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o = n > 0 ? json_loadb(p, n, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(o, "type"));
        if (json_is_object(o) && (type == NULL || strcmp(type, "index-pattern") != 0) &&
            json_object_get(o, "exportedCount") == NULL) {
            json_array_append(arr, o);
        }
        json_decref(o);
        p += n + 1;
    }
    return arr;
}

static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST) {
                return -1;
            }
            *s = '/';
        }
    }
    return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

static int save_to_folder(json_t *objs, const char *folder, int major, FILE *errf)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *id = json_string_value(json_object_get(o, "id"));
        if (type == NULL || id == NULL || strchr(type, '/') || strchr(id, '/')) {
            fprintf(errf, "Error exporting dashboard: failed to retrieve asset type or id.\n");
            return 1;
        }
        char dir[PATH_MAX], path[PATH_MAX];
        int dn = snprintf(dir, sizeof dir, "%s/_meta/kibana/%d/%s", folder, major, type);
        int pn = snprintf(path, sizeof path, "%s/%s.json", dir, id);
        if (dn < 0 || (size_t)dn >= sizeof dir || pn < 0 || (size_t)pn >= sizeof path) {
            fprintf(errf, "Error exporting dashboard: path too long.\n");
            return 1;
        }
        char *s = json_dumps(o, JSON_INDENT(4) | JSON_SORT_KEYS);
        FILE *f = NULL;
        if (s == NULL || mkdirs(dir) != 0 || (f = fopen(path, "w")) == NULL) {
            fprintf(errf, "Error exporting dashboard: failed to save %s: %s.\n", path,
                    strerror(errno));
            free(s);
            return 1;
        }
        fputs(s, f);
        free(s);
        if (fclose(f) != 0) {
            fprintf(errf, "Error exporting dashboard: failed to save %s.\n", path);
            return 1;
        }
    }
    return 0;
}

static int print_objects(json_t *objs, FILE *out)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        char *s = json_dumps(o, JSON_COMPACT);
        if (s == NULL) {
            return 1;
        }
        fprintf(out, "%s%s", i ? "\n" : "", s);
        free(s);
    }
    fputc('\n', out);
    return 0;
}

int pb_dashboards_export(const struct pb_cfg *root, const char *id, const char *folder, FILE *out,
                         FILE *errf)
{
    if (id == NULL || id[0] == '\0') {
        return 0; /* libbeat does nothing without --id */
    }
    char err[4096];
    struct pb_kibana *k = pb_kibana_new(root, err, sizeof err);
    if (k == NULL) {
        fprintf(errf, "Error creating Kibana client: %s.\n", err);
        return 1;
    }
    bool no_answer = false;
    int rc = pb_kibana_connect(k, &no_answer, err, sizeof err);
    json_t *objs = NULL;
    int major = 8;
    if (rc == 0) {
        /* Kibana is there: ask it, as Packetbeat does */
        if (pb_kibana_version_before(k, 7, 14, 0)) {
            fprintf(errf, "Error exporting dashboard: Kibana version must be at least 7.14.0.\n");
            pb_kibana_free(k);
            return 1;
        }
        sscanf(pb_kibana_version(k), "%d", &major);
        char *text = NULL;
        size_t len = 0;
        if (pb_kibana_export_dashboard(k, id, &text, &len, err, sizeof err) != 0) {
            fprintf(errf, "Error exporting dashboard: %s.\n", err);
            pb_kibana_free(k);
            return 1;
        }
        objs = without_index_patterns(text, len);
        pb_free(text);
    } else if (no_answer) {
        /* no Kibana: the saved objects this binary carries */
        pb_info(SEL, "Kibana at %s does not answer; exporting from the embedded dashboards",
                pb_kibana_url(k));
        for (size_t i = 0; i < pb_dash_nfiles && objs == NULL; i++) {
            json_t *arr = without_index_patterns(pb_dash_files[i].text, pb_dash_files[i].len);
            size_t j;
            json_t *o;
            json_array_foreach(arr, j, o)
            {
                const char *oid = json_string_value(json_object_get(o, "id"));
                const char *type = json_string_value(json_object_get(o, "type"));
                if (oid != NULL && type != NULL && strcmp(type, "dashboard") == 0 &&
                    strcmp(oid, id) == 0) {
                    objs = json_incref(arr);
                    break;
                }
            }
            json_decref(arr);
        }
        if (objs == NULL) {
            fprintf(errf,
                    "Error exporting dashboard: dashboard %s is not among the embedded "
                    "dashboards and Kibana is not reachable (%s).\n",
                    id, err);
            pb_kibana_free(k);
            return 1;
        }
    } else {
        fprintf(errf, "Error creating Kibana client: %s.\n", err);
        pb_kibana_free(k);
        return 1;
    }
    pb_kibana_free(k);
    int status = folder != NULL && folder[0] != '\0' ? save_to_folder(objs, folder, major, errf)
                                                     : print_objects(objs, out);
    json_decref(objs);
    return status;
}
