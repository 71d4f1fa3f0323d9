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

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/kibana.h"
#include "beat/lazy/lazylib.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "beat/template.h"
#include "beat/zip.h"

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

/* The file at path into t (empty when it is): 0; -PB_EIO with errno when
 * it cannot be opened or read; -PB_ELIMIT past cap bytes; -PB_ENOMEM. On
 * failure t is freed. */
static int read_capped(const char *path, size_t cap, struct text *t)
{
    *t = (struct text){0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -PB_EIO;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        rc = t->len + n > cap ? -PB_ELIMIT : text_add(t, buf, n);
    }
    int e = errno;
    if (rc == 0 && ferror(f)) {
        rc = -PB_EIO;
    }
    fclose(f);
    if (rc != 0) {
        pb_free(t->p);
        *t = (struct text){0};
        errno = e;
    }
    return rc;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    struct text t;
    int rc = read_capped(path, MAX_FILE_BYTES, &t);
    if (rc == -PB_EIO) {
        snprintf(err, errlen, "fail to read dashboard from file %s: open %s: %s", path, path,
                 strerror(errno));
        return NULL;
    }
    if (rc != 0 || t.p == NULL) {
        pb_free(t.p);
        snprintf(err, errlen, "fail to read dashboard from file %s: %s", path,
                 rc == -PB_ELIMIT ? "too large"
                 : rc != 0        ? "out of memory"
                                  : "empty file");
        return NULL;
    }
    *len = t.len;
    return t.p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (owned array of owned strings; NULL when dir cannot
 * be read): with suffix, the files ending with it (no dot files); without,
 * the directories (not followed through symlinks). */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }
    char **v = pb_calloc(MAX_DIR_FILES + 1, sizeof *v);
    struct dirent *e;
    size_t sl = suffix != NULL ? strlen(suffix) : 0;
    while (v != NULL && (e = readdir(d)) != NULL && *n < MAX_DIR_FILES) {
        bool take;
        if (suffix != NULL) {
            size_t l = strlen(e->d_name);
            take = l > sl && strcmp(e->d_name + l - sl, suffix) == 0 && e->d_name[0] != '.';
        } else {
            char path[PATH_MAX];
            struct stat st;
            int pn = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            take = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && pn > 0 &&
                   (size_t)pn < sizeof path && lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (take && (v[*n] = pb_strdup(e->d_name)) != NULL) {
            (*n)++;
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

/* ---- the loader, and what it does to every saved object ---------------------------- */

struct loader {
    struct pb_kibana *k;
    const struct pb_cfg *root; /* borrowed: the whole config */
    const char *index;         /* setup.dashboards.index, NULL: keep */
    bool only_index;
    /* setup.dashboards.string_replacements (a map, borrowed, may be NULL),
       and CHANGEME_HOSTNAME -> hostname, which libbeat always adds */
    const struct pb_cfg *replacements;
    char hostname[256];
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

/* text with every needle replaced (owned, NUL-terminated), NULL when out
 * of memory or past the cap. */
static char *replace_all(const char *text, const char *needle, const char *repl)
{
    struct text out = {0};
    size_t nl = strlen(needle), rl = strlen(repl);
    const char *p = text;
    const char *hit;
    int rc = 0;
    while (rc == 0 && (hit = strstr(p, needle)) != NULL) {
        rc = text_add(&out, p, (size_t)(hit - p));
        if (rc == 0) {
            rc = text_add(&out, repl, rl);
        }
        p = hit + nl;
    }
    if (rc == 0) {
        rc = text_add(&out, p, strlen(p));
    }
    if (rc != 0) {
        pb_free(out.p);
        return NULL;
    }
    return out.p;
}

/* libbeat's formatDashboardAssets: the index first, then the string
 * replacements on the object's JSON text (setup.dashboards.string_replacements
 * in the order the config gives them, then CHANGEME_HOSTNAME). *o is
 * replaced by the object read back; negative with err when the replaced
 * text is no longer a JSON object. */
static int format_asset(struct loader *l, json_t **o, char *err, size_t errlen)
{
    pb_dashboards_set_index(*o, l->index);
    char *js = json_dumps(*o, JSON_COMPACT); /* jansson's: free() */
    if (js == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    char *ours = NULL; /* the text after the first replacement: pb_free() */
    int rc = 0;
    size_t n = pb_cfg_len(l->replacements);
    for (size_t i = 0; i <= n && rc == 0; i++) {
        const char *needle = "CHANGEME_HOSTNAME", *repl = l->hostname;
        if (i < n) {
            const struct pb_cfg *c = pb_cfg_at(l->replacements, i);
            needle = c->key;
            /* checked to be a string when the loader was made */
            (void)pb_cfg_str(l->replacements, c->key, "", &repl);
            if (strcmp(needle, "CHANGEME_HOSTNAME") == 0) {
                continue; /* libbeat sets this one to the hostname */
            }
        }
        const char *text = ours != NULL ? ours : js;
        if (needle[0] == '\0' || strstr(text, needle) == NULL) {
            continue;
        }
        char *r = replace_all(text, needle, repl);
        if (r == NULL) {
            snprintf(err, errlen, "string_replacements: out of memory or past %u bytes",
                     MAX_FILE_BYTES * 4u);
            rc = -PB_ELIMIT;
        }
        pb_free(ours);
        ours = r;
    }
    if (rc == 0 && ours != NULL) {
        json_error_t je;
        json_t *r = json_loads(ours, 0, &je);
        if (!json_is_object(r)) {
            snprintf(err, errlen, "failed to convert asset after string_replacements: %s", je.text);
            json_decref(r);
            rc = -PB_EPROTO;
        } else {
            json_decref(*o);
            *o = r;
        }
    }
    pb_free(ours);
    free(js);
    return rc;
}

/* libbeat's addReferences: objects a dashboard file references (other than
 * index patterns) are read from ../<type>/<id>.json and go first. */
static int add_references(struct loader *l, const char *base, json_t *obj, json_t *seen,
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
        int rc = format_asset(l, &ref, err, errlen);
        if (rc == 0) {
            rc = add_references(l, rbase, ref, seen, out, depth + 1, err, errlen);
        }
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
                rc = format_asset(l, &o, err, errlen);
                if (rc == 0) {
                    rc = text_add_obj(&out, o);
                }
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

/* libbeat's ErrNotFound for a directory without dashboards: which part is
 * missing, as libbeat says it. */
static int not_found(const char *dir, bool only_dash, char *err, size_t errlen)
{
    char seven[PATH_MAX], ip[PATH_MAX];
    snprintf(seven, sizeof seven, "%s/7", dir);
    snprintf(ip, sizeof ip, "%s/7/index-pattern", dir);
    struct stat st;
    if (stat(seven, &st) != 0) {
        snprintf(err, errlen, "No directory %s", seven);
    } else if (!only_dash && stat(ip, &st) == 0) {
        snprintf(err, errlen,
                 "No dashboards to import. Please make sure the %s directory contains a "
                 "dashboard directory.",
                 seven);
    } else {
        snprintf(err, errlen,
                 "The directory %s does not contain the %s subdirectory. There is nothing to "
                 "import into Kibana.",
                 seven, only_dash ? "dashboard" : "index-pattern or dashboard");
    }
    return PB_DASHBOARDS_NOT_FOUND;
}

/* libbeat's layout (<dir>/7/dashboard/<name>.json), else <dir>/<name>.ndjson
 * (ours). Neither: not_found(). */
static int import_directory(struct loader *l, const char *dir, bool only_dash, char *err,
                            size_t errlen)
{
    char sub[PATH_MAX], seven[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/7/dashboard", dir);
    snprintf(seven, sizeof seven, "%s/7", dir);
    size_t n = 0;
    char **files = list_dir(sub, ".json", &n);
    bool libbeat_layout = files != NULL;
    if (!libbeat_layout) {
        files = list_dir(dir, ".ndjson", &n);
        if (files == NULL || n == 0) {
            free_list(files, n);
            return not_found(dir, only_dash, err, errlen);
        }
        snprintf(sub, sizeof sub, "%s", dir);
        snprintf(seven, sizeof seven, "%s", dir);
    }
    if (n == 0) {
        free_list(files, n);
        snprintf(err, errlen,
                 "Failed to import dashboard: The directory %s is empty, nothing to import", seven);
        return -PB_EINVAL;
    }
    l->elen = 0;
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
                rc = format_asset(l, &o, why, sizeof why);
                if (rc == 0) {
                    rc = add_references(l, sub, o, seen, &out, 0, why, sizeof why);
                }
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
        snprintf(err, errlen, "Failed to import dashboard: Failed to load directory %s:\n%s", seven,
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

/* The data view, as libbeat's ImportIndex sends it. */
static int import_data_view(struct loader *l, char *err, size_t errlen)
{
    char why[3000];
    json_t *ip = pb_dashboards_index_pattern(l->root, true, why, sizeof why);
    if (ip == NULL) {
        snprintf(err, errlen, "error generating index pattern: %s", why);
        return -PB_EINVAL;
    }
    struct text t = {0};
    int rc = text_add_obj(&t, ip);
    json_decref(ip);
    if (rc == 0) {
        rc = pb_kibana_import(l->k, "index-template.ndjson", t.p, t.len, why, sizeof why);
        if (rc != 0) {
            snprintf(err, errlen,
                     "failed to import Kibana index pattern: error loading index pattern: %s", why);
        }
    } else {
        snprintf(err, errlen, "out of memory");
    }
    pb_free(t.p);
    return rc;
}

/* libbeat's ImportKibanaDir: the data view first, then the dashboards of
 * dir (NULL: the embedded ones) unless only_index. */
static int import_kibana_dir(struct loader *l, const char *dir, bool only_dash, char *err,
                             size_t errlen)
{
    int rc = import_data_view(l, err, errlen);
    if (rc != 0 || l->only_index) {
        return rc;
    }
    return dir != NULL ? import_directory(l, dir, only_dash, err, errlen)
                       : import_embedded(l, err, errlen);
}

/* ---- archives: setup.dashboards.file / url ---------------------------------------------- */

struct download {
    struct text body;
    bool over;        /* PB_ZIP_MAX_ARCHIVE_BYTES reached */
    char status[128]; /* "404 Not Found" of the last status line */
};

static size_t download_body(char *p, size_t size, size_t n, void *ud)
{
    struct download *d = ud;
    size_t len = size * n;
    if (d->body.len + len > PB_ZIP_MAX_ARCHIVE_BYTES) {
        d->over = true;
        return 0; /* stops the transfer */
    }
    return text_add(&d->body, p, len) == 0 ? len : 0;
}

static size_t download_header(char *p, size_t size, size_t n, void *ud)
{
    struct download *d = ud;
    size_t len = size * n;
    /* "HTTP/1.1 404 Not Found\r\n": keep what follows the version (the
       last status line wins: redirects and 100 Continue come first) */
    if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        size_t k = 0;
        if (sp != NULL) {
            for (sp++; sp < p + len && *sp != '\r' && *sp != '\n' && k + 1 < sizeof d->status;
                 sp++) {
                d->status[k++] = *sp;
            }
        }
        d->status[k] = '\0';
    }
    return len;
}

/* GET url into memory (libbeat's downloadFile: Go's default client, which
 * follows up to 10 redirects and gives up connecting after 30 s, with no
 * overall time limit). Owned bytes or NULL with err. */
static uint8_t *download(const char *url, size_t *len, char *err, size_t errlen)
{
    if (pb_lazy_curl(err, errlen) != 0) {
        return NULL;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct download d = {0};
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Go-http-client/1.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, download_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, download_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &d);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    pb_debug(SEL, "Downloading %s", url);
    CURLcode cr = curl_easy_perform(h);
    long status = 0;
    if (cr == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(h);
    if (cr != CURLE_OK && d.over) {
        snprintf(err, errlen, "archive larger than the cap of %u bytes", PB_ZIP_MAX_ARCHIVE_BYTES);
    } else if (cr != CURLE_OK) {
        snprintf(err, errlen, "Get \"%s\": %s", url,
                 ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cr));
    } else if (status != 200 && d.status[0] != '\0') {
        snprintf(err, errlen, "Server returned: %s", d.status);
    } else if (status != 200) {
        snprintf(err, errlen, "Server returned: %ld", status);
    } else {
        *len = d.body.len;
        /* an empty body is an empty archive: "not a valid zip file" later */
        uint8_t *p = d.body.p != NULL ? (uint8_t *)d.body.p : pb_calloc(1, 1);
        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
        }
        return p;
    }
    pb_free(d.body.p);
    return NULL;
}

/* The archive file into memory, at most PB_ZIP_MAX_ARCHIVE_BYTES. */
static uint8_t *read_archive(const char *path, size_t *len, char *err, size_t errlen)
{
    struct text t;
    int rc = read_capped(path, PB_ZIP_MAX_ARCHIVE_BYTES, &t);
    if (rc == -PB_EIO) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (rc == -PB_ELIMIT) {
        snprintf(err, errlen, "%s: archive larger than the cap of %u bytes", path,
                 PB_ZIP_MAX_ARCHIVE_BYTES);
        return NULL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "read %s: out of memory", path);
        return NULL;
    }
    *len = t.len;
    return t.p != NULL ? (uint8_t *)t.p : pb_calloc(1, 1);
}

/* libbeat's ImportArchive: the archive (file before url) unpacked into a
 * temporary directory, which must hold exactly one directory; each
 * directory in that one named after setup.dashboards.beat (every one when
 * beat is empty) is imported as a Kibana directory (<beat>/7/dashboard/...). */
static int import_archive(struct loader *l, const char *file, const char *url, const char *beat,
                          bool only_dash, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s/tmpXXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(target) == NULL) {
        snprintf(err, errlen, "Failed to create a temporary directory %s: %s", target,
                 strerror(errno));
        return -PB_EIO;
    }
    pb_debug(SEL, "Created temporary directory %s", target);
    const char *archive = file != NULL ? file : url;
    size_t len = 0;
    char why[2048];
    uint8_t *zip = file != NULL ? read_archive(file, &len, why, sizeof why)
                                : download(url, &len, why, sizeof why);
    int rc = 0;
    if (zip == NULL) {
        if (file != NULL) {
            snprintf(err, errlen, "Failed to unzip the archive: %s: %s", archive, why);
        } else {
            snprintf(err, errlen, "Failed to download file: %s. Error: %s", url, why);
        }
        rc = -PB_EIO;
    } else {
        pb_debug(SEL, "Unzip archive %s", target);
        rc = pb_zip_extract(zip, len, target, NULL, why, sizeof why);
        pb_free(zip);
        if (rc != 0) {
            snprintf(err, errlen, "Failed to unzip the archive: %s: %s", archive, why);
        }
    }
    size_t ntop = 0, nsub = 0;
    char **top = NULL, **sub = NULL;
    char topdir[PATH_MAX];
    if (rc == 0) {
        top = list_dir(target, NULL, &ntop);
        if (top == NULL || ntop != 1) {
            snprintf(err, errlen, "Too many directories under %s", target);
            rc = -PB_EINVAL;
        }
    }
    if (rc == 0) {
        snprintf(topdir, sizeof topdir, "%s/%s", target, top[0]);
        sub = list_dir(topdir, NULL, &nsub);
        if (sub == NULL) {
            snprintf(err, errlen, "open %s: %s", topdir, strerror(errno));
            rc = -PB_EIO;
        }
    }
    for (size_t i = 0; rc == 0 && i < nsub; i++) {
        char dir[PATH_MAX];
        int dn = snprintf(dir, sizeof dir, "%s/%s", topdir, sub[i]);
        if (dn < 0 || (size_t)dn >= sizeof dir) {
            continue; /* the archive's names fit, the temporary directory's prefix did not */
        }
        pb_debug(SEL, "Importing Kibana from %s", dir);
        if (beat[0] == '\0' || strcmp(sub[i], beat) == 0) {
            rc = import_kibana_dir(l, dir, only_dash, err, errlen);
        } else {
            pb_debug(SEL, "Skipping import of %s directory. Beat name: %s, base dir name: %s.", dir,
                     beat, sub[i]);
        }
    }
    free_list(sub, nsub);
    free_list(top, ntop);
    if (pb_zip_remove_tree(target) != 0) {
        pb_warn(SEL, "could not remove the temporary directory %s: %s", target, strerror(errno));
    }
    return rc;
}

/* setup.dashboards.string_replacements: a map of strings. */
static int check_replacements(const struct pb_cfg *map, char *err, size_t errlen)
{
    if (map == NULL || map->kind == PB_CFG_NULL) {
        return 0;
    }
    if (map->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "setup.dashboards.string_replacements: a map of strings is expected");
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < pb_cfg_len(map); i++) {
        const char *v;
        if (pb_cfg_str(map, pb_cfg_at(map, i)->key, NULL, &v) != 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
    }
    return 0;
}

int pb_dashboards_load(const struct pb_cfg *root, bool force, char *err, size_t errlen)
{
    err[0] = '\0';
    const struct pb_cfg *dc = pb_cfg_get(root, "setup.dashboards");
    bool enabled = false, only_index = false, only_dash = false, retry = false;
    const char *dir = NULL, *index = NULL, *file = NULL, *url = NULL, *beat = NULL;
    int64_t interval = 1000000000LL, maximum = 0;
    if (pb_cfg_bool(dc, "enabled", false, &enabled) != 0 ||
        pb_cfg_bool(dc, "only_index", false, &only_index) != 0 ||
        pb_cfg_bool(dc, "only_dashboards", false, &only_dash) != 0 ||
        pb_cfg_str(dc, "directory", NULL, &dir) != 0 ||
        pb_cfg_str(dc, "index", NULL, &index) != 0 || pb_cfg_str(dc, "file", NULL, &file) != 0 ||
        pb_cfg_str(dc, "url", NULL, &url) != 0 ||
        pb_cfg_str(dc, "beat", "packetbeat", &beat) != 0 ||
        pb_cfg_bool(dc, "retry.enabled", false, &retry) != 0 ||
        pb_cfg_duration(dc, "retry.interval", 1000000000LL, &interval) != 0 ||
        pb_cfg_int(dc, "retry.maximum", 0, &maximum) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    const struct pb_cfg *repl = pb_cfg_get(dc, "string_replacements");
    if (check_replacements(repl, err, errlen) != 0) {
        return -PB_EINVAL;
    }
    if (!force && !enabled) {
        return 0;
    }
    file = file != NULL && file[0] != '\0' ? file : NULL;
    url = url != NULL && url[0] != '\0' ? url : NULL;
    dir = dir != NULL && dir[0] != '\0' ? dir : NULL;
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
    struct loader l = {.k = k,
                       .root = root,
                       .index = index != NULL && index[0] != '\0' ? index : NULL,
                       .only_index = only_index,
                       .replacements = repl};
    if (gethostname(l.hostname, sizeof l.hostname) != 0) {
        snprintf(l.hostname, sizeof l.hostname, "localhost");
    }
    l.hostname[sizeof l.hostname - 1] = '\0';
    char what[PATH_MAX + 64];
    if (file != NULL || url != NULL) {
        /* an archive wins over the directory, as in libbeat */
        rc = import_archive(&l, file, url, beat, only_dash, why, sizeof why);
        snprintf(what, sizeof what, "Error importing URL/file");
    } else {
        rc = import_kibana_dir(&l, dir, only_dash, why, sizeof why);
        snprintf(what, sizeof what, "Error importing directory %s",
                 dir != NULL ? dir : "(embedded)");
    }
    pb_kibana_free(k);
    if (rc != 0) {
        snprintf(err, errlen,
                 "Error importing Kibana dashboards: fail to import the dashboards in Kibana: "
                 "%s: %s",
                 what, why);
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
