/* SPDX-License-Identifier: Apache-2.0
 * beat/cfg.c - packetbeat.yml read into a pb_cfg tree with go-ucfg's rules.
 *
 * Loading: libyaml events build maps, lists and scalars; plain scalars are
 * typed later as yaml.v2 types them (null/~, true/yes/on, ints with 0x/0o/0b,
 * floats), quoted ones stay strings. Dotted keys become nested maps and equal
 * keys merge (go-ucfg PathSep "."); a numeric part in a dotted key indexes a
 * list ("hosts.0"). Anchors and aliases are copied (bounded), "<<" merge keys
 * work. When the document is read, ${NAME}, ${NAME:default}, ${NAME:?msg}
 * are expanded: NAME is a config key first, then an environment variable;
 * "$${" is a literal "${". A value that had variables is re-typed with
 * go-ucfg's value parser (so "${HOSTS}" with HOSTS=a,b gives a list).
 * -E key=value values use the same value parser (go-ucfg's flag syntax).
 *
 * Errors follow yaml.v2 and go-ucfg wording: "yaml: line 7: mapping values
 * are not allowed in this context", "can not convert 'string' into 'int'
 * accessing 'queue.mem.events' (source:'packetbeat.yml' line 12)".
 */
#include "beat/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/limits.h"

/* Values one document may hold, alias copies included (billion laughs). */
#define CFG_MAX_NODES 131072u
/* Keys one map of a loaded document may hold (bounds the cost of merging). */
#define CFG_MAX_MAP_KEYS 1024u
/* Highest list index a dotted path ("hosts.3") may create. */
#define CFG_MAX_INDEX 4096u
/* ${} references followed through other keys before calling it a cycle. */
#define CFG_MAX_REF_DEPTH 16
/* ${} resolutions one expansion pass may do. */
#define CFG_MAX_REF_WORK 1000000u
/* Distinct source names kept for messages. */
#define CFG_MAX_NAMES 256u
/* Text produced by pb_cfg_to_yaml and by one ${} expansion. */
#define CFG_MAX_OUT (64u * 1024u * 1024u)
/* Message buffers. */
#define CFG_MSG 1024
/* Paths in messages. */
#define CFG_PATH 512

/* go-ucfg's source name for -E values. */
#define FLAG_SOURCE "command line flag"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static _Thread_local char last_err[CFG_MSG];

__attribute__((format(printf, 3, 0))) static void vset_err(char *err, size_t errlen,
                                                           const char *fmt, va_list ap)
{
    char tmp[CFG_MSG];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(last_err, tmp, sizeof tmp);
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", tmp);
    }
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_err(err, errlen, fmt, ap);
    va_end(ap);
}

const char *pb_cfg_errmsg(void)
{
    return last_err;
}

/* Go's error text for an errno: the C text with a lower-case first letter. */
static void go_errstr(int e, char *buf, size_t n)
{
    char tmp[128];
    const char *m = strerror_r(e, tmp, sizeof tmp);
    snprintf(buf, n, "%s", m != NULL ? m : "unknown error");
    if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z') {
        buf[0] = (char)(buf[0] - 'A' + 'a');
    }
}

/* ------------------------------------------------------------------------ */
/* Growable text                                                             */

struct sbuf {
    char *p;
    size_t len, cap, max;
    bool bad; /* out of memory or over max; sticky */
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->bad) {
        return;
    }
    if (n > b->max - b->len) {
        b->bad = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap != 0 ? b->cap : 64;
        while (nc < b->len + n + 1) {
            nc *= 2;
        }
        char *np = pb_realloc(b->p, nc);
        if (np == NULL) {
            b->bad = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_addc(struct sbuf *b, char c)
{
    sb_add(b, &c, 1);
}

/* The text (owned by the caller), "" when empty, NULL when bad. */
static char *sb_take(struct sbuf *b)
{
    if (b->bad) {
        pb_free(b->p);
        b->p = NULL;
        return NULL;
    }
    if (b->p == NULL) {
        return pb_strdup("");
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* ------------------------------------------------------------------------ */
/* Source names: interned for the life of the process so that nodes moved    */
/* between trees by merges never point at freed text.                        */

static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;
static char *names[CFG_MAX_NAMES];
static size_t nnames;

static const char *intern_name(const char *name)
{
    const char *r = "config";
    if (name == NULL) {
        return r;
    }
    pthread_mutex_lock(&names_mu);
    for (size_t i = 0; i < nnames; i++) {
        if (strcmp(names[i], name) == 0) {
            r = names[i];
            goto out;
        }
    }
    if (nnames < CFG_MAX_NAMES) {
        char *d = pb_strdup(name);
        if (d != NULL) {
            names[nnames++] = d;
            r = d;
        }
    }
out:
    pthread_mutex_unlock(&names_mu);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */

static struct pb_cfg *node_new(enum pb_cfg_kind kind, const char *file, int line)
{
    struct pb_cfg *n = pb_calloc(1, sizeof *n);
    if (n != NULL) {
        n->kind = kind;
        n->file = file;
        n->line = line;
    }
    return n;
}

static void node_free(struct pb_cfg *n);

static void node_free_children(struct pb_cfg *n)
{
    struct pb_cfg *c = n->child;
    while (c != NULL) {
        struct pb_cfg *next = c->next;
        node_free(c);
        c = next;
    }
    n->child = NULL;
    n->nchild = 0;
}

/* Frees n and its subtree (not its siblings). */
static void node_free(struct pb_cfg *n)
{
    if (n == NULL) {
        return;
    }
    node_free_children(n);
    pb_free(n->key);
    pb_free(n->value);
    pb_free(n->src_name);
    pb_free(n);
}

void pb_cfg_free(struct pb_cfg *root)
{
    node_free(root);
}

/* Empties n and gives it a new kind; key, parent, next stay. */
static void node_reset(struct pb_cfg *n, enum pb_cfg_kind kind)
{
    node_free_children(n);
    pb_free(n->value);
    n->value = NULL;
    n->quoted = false;
    n->kind = kind;
}

/* Moves src's content into dst (dst keeps key, parent, next) and frees the
 * rest of src. */
static void node_take(struct pb_cfg *dst, struct pb_cfg *src)
{
    node_reset(dst, src->kind);
    dst->value = src->value;
    src->value = NULL;
    dst->quoted = src->quoted;
    dst->line = src->line;
    dst->file = src->file;
    dst->child = src->child;
    dst->nchild = src->nchild;
    src->child = NULL;
    src->nchild = 0;
    for (struct pb_cfg *c = dst->child; c != NULL; c = c->next) {
        c->parent = dst;
    }
    node_free(src);
}

/* Appends child after tail (NULL: as the first child). */
static void link_after(struct pb_cfg *parent, struct pb_cfg *tail, struct pb_cfg *child)
{
    child->parent = parent;
    child->next = NULL;
    if (tail == NULL) {
        parent->child = child;
    } else {
        tail->next = child;
    }
    parent->nchild++;
}

/* Deep copy; *budget (if not NULL) counts the nodes that may be made. */
static struct pb_cfg *copy_tree(const struct pb_cfg *s, size_t *budget)
{
    if (budget != NULL) {
        if (*budget == 0) {
            return NULL;
        }
        (*budget)--;
    }
    struct pb_cfg *n = node_new(s->kind, s->file, s->line);
    if (n == NULL) {
        return NULL;
    }
    n->quoted = s->quoted;
    if ((s->key != NULL && (n->key = pb_strdup(s->key)) == NULL) ||
        (s->value != NULL && (n->value = pb_strdup(s->value)) == NULL)) {
        node_free(n);
        return NULL;
    }
    struct pb_cfg *tail = NULL;
    for (const struct pb_cfg *c = s->child; c != NULL; c = c->next) {
        struct pb_cfg *d = copy_tree(c, budget);
        if (d == NULL) {
            node_free(n);
            return NULL;
        }
        link_after(n, tail, d);
        tail = d;
    }
    return n;
}

static struct pb_cfg *find_key(const struct pb_cfg *map, const char *key, size_t n,
                               struct pb_cfg **tail)
{
    struct pb_cfg *last = NULL;
    for (struct pb_cfg *c = map->child; c != NULL; c = c->next) {
        if (c->key != NULL && (n == 0 || c->key[0] == key[0]) && strncmp(c->key, key, n) == 0 &&
            c->key[n] == '\0') {
            return c;
        }
        last = c;
    }
    if (tail != NULL) {
        *tail = last;
    }
    return NULL;
}

/* A path part that is a list index: decimal digits only. */
static bool seg_index(const char *s, size_t n, size_t *idx)
{
    if (n == 0 || n > 9) {
        return false;
    }
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *idx = v;
    return true;
}

/* Merges src over dst; src is consumed. Maps merge key by key, a null leaves
 * a map or list alone, anything else replaces. */
static void merge_into(struct pb_cfg *dst, struct pb_cfg *src)
{
    if (dst->kind == PB_CFG_MAP && src->kind == PB_CFG_MAP) {
        struct pb_cfg *c = src->child;
        src->child = NULL;
        src->nchild = 0;
        while (c != NULL) {
            struct pb_cfg *next = c->next;
            struct pb_cfg *tail = NULL;
            const char *k = c->key != NULL ? c->key : "";
            struct pb_cfg *old = find_key(dst, k, strlen(k), &tail);
            c->next = NULL;
            if (old != NULL) {
                merge_into(old, c);
            } else {
                link_after(dst, tail, c);
            }
            c = next;
        }
        node_free(src);
        return;
    }
    if (src->kind == PB_CFG_NULL && (dst->kind == PB_CFG_MAP || dst->kind == PB_CFG_LIST)) {
        node_free(src);
        return;
    }
    node_take(dst, src);
}

int pb_cfg_merge(struct pb_cfg *dst, struct pb_cfg *src)
{
    if (src == NULL) {
        return dst == NULL ? -PB_EINVAL : 0;
    }
    if (dst == NULL) {
        node_free(src);
        return -PB_EINVAL;
    }
    src->parent = NULL;
    src->next = NULL;
    merge_into(dst, src);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

static const struct pb_cfg *child_by_seg(const struct pb_cfg *c, const char *s, size_t n)
{
    if (c->kind == PB_CFG_MAP) {
        return find_key(c, s, n, NULL);
    }
    if (c->kind == PB_CFG_LIST) {
        size_t idx;
        if (!seg_index(s, n, &idx)) {
            return NULL;
        }
        const struct pb_cfg *it = c->child;
        for (size_t i = 0; it != NULL && i < idx; i++) {
            it = it->next;
        }
        return it;
    }
    return NULL;
}

static const struct pb_cfg *lookup_n(const struct pb_cfg *c, const char *path, size_t plen)
{
    if (c == NULL) {
        return NULL;
    }
    if (path == NULL || plen == 0) {
        return c;
    }
    const char *p = path, *end = path + plen;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);
        c = child_by_seg(c, p, n);
        if (c == NULL || dot == NULL) {
            return c;
        }
        p = dot + 1;
    }
}

const struct pb_cfg *pb_cfg_get(const struct pb_cfg *c, const char *path)
{
    return lookup_n(c, path, path != NULL ? strlen(path) : 0);
}

bool pb_cfg_has(const struct pb_cfg *c, const char *path)
{
    return pb_cfg_get(c, path) != NULL;
}

size_t pb_cfg_len(const struct pb_cfg *c)
{
    if (c == NULL || (c->kind != PB_CFG_MAP && c->kind != PB_CFG_LIST)) {
        return 0;
    }
    return c->nchild;
}

const struct pb_cfg *pb_cfg_at(const struct pb_cfg *c, size_t i)
{
    if (c == NULL || (c->kind != PB_CFG_MAP && c->kind != PB_CFG_LIST)) {
        return NULL;
    }
    const struct pb_cfg *it = c->child;
    while (it != NULL && i > 0) {
        it = it->next;
        i--;
    }
    return it;
}

void pb_cfg_path(const struct pb_cfg *c, char *buf, size_t n)
{
    if (buf == NULL || n == 0) {
        return;
    }
    buf[0] = '\0';
    const struct pb_cfg *chain[256];
    size_t k = 0;
    for (const struct pb_cfg *p = c; p != NULL && p->parent != NULL && k < 256; p = p->parent) {
        chain[k++] = p;
    }
    size_t off = 0;
    while (k > 0 && off < n - 1) {
        const struct pb_cfg *node = chain[--k];
        char idx[24];
        const char *seg = node->key != NULL ? node->key : "";
        if (node->parent->kind == PB_CFG_LIST) {
            size_t i = 0;
            for (const struct pb_cfg *s = node->parent->child; s != NULL && s != node;
                 s = s->next) {
                i++;
            }
            snprintf(idx, sizeof idx, "%zu", i);
            seg = idx;
        }
        int w = snprintf(buf + off, n - off, "%s%s", off > 0 ? "." : "", seg);
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
}

/* " (source:'file' line N)" for messages. */
static void src_suffix(const struct pb_cfg *n, char *buf, size_t len)
{
    if (n == NULL || n->file == NULL) {
        buf[0] = '\0';
    } else if (n->line > 0) {
        snprintf(buf, len, " (source:'%s' line %d)", n->file, n->line);
    } else {
        snprintf(buf, len, " (source:'%s')", n->file);
    }
}

/* ------------------------------------------------------------------------ */
/* Inserting at a dotted path                                                */

struct ins {
    const char *file;
    int line;
    size_t max_keys;
    size_t *budget; /* nodes that may still be created; NULL: no cap */
    char *err;
    size_t errlen;
};

static bool ins_take(struct ins *I)
{
    if (I->budget == NULL) {
        return true;
    }
    if (*I->budget == 0) {
        set_err(I->err, I->errlen, "config holds more than %u values", CFG_MAX_NODES);
        return false;
    }
    (*I->budget)--;
    return true;
}

/* The child of cur (a map or a list) named by seg, created as a null node
 * when absent (lists are padded with nulls up to the index). A leaf slot is
 * not charged to the budget: the value put there replaces it. */
static struct pb_cfg *slot(struct ins *I, struct pb_cfg *cur, const char *seg, size_t n, bool leaf)
{
    struct pb_cfg *tail = NULL;
    if (cur->kind == PB_CFG_LIST) {
        size_t idx;
        if (!seg_index(seg, n, &idx) || idx > CFG_MAX_INDEX) {
            set_err(I->err, I->errlen, "invalid list index '%.*s' (at most %u)", (int)n, seg,
                    CFG_MAX_INDEX);
            return NULL;
        }
        size_t i = 0;
        for (struct pb_cfg *c = cur->child; c != NULL; c = c->next, i++) {
            if (i == idx) {
                return c;
            }
            tail = c;
        }
        for (; i <= idx; i++) {
            bool charge = !(leaf && i == idx);
            struct pb_cfg *pad =
                !charge || ins_take(I) ? node_new(PB_CFG_NULL, I->file, I->line) : NULL;
            if (pad == NULL) {
                if (I->budget == NULL || *I->budget != 0) {
                    set_err(I->err, I->errlen, "out of memory");
                }
                return NULL;
            }
            link_after(cur, tail, pad);
            tail = pad;
        }
        return tail;
    }
    struct pb_cfg *c = find_key(cur, seg, n, &tail);
    if (c != NULL) {
        return c;
    }
    if (cur->nchild >= I->max_keys) {
        set_err(I->err, I->errlen, "more than %zu keys in one map", I->max_keys);
        return NULL;
    }
    if (!leaf && !ins_take(I)) {
        return NULL;
    }
    c = node_new(PB_CFG_NULL, I->file, I->line);
    if (c == NULL || (c->key = pb_strndup(seg, n)) == NULL) {
        node_free(c);
        set_err(I->err, I->errlen, "out of memory");
        return NULL;
    }
    link_after(cur, tail, c);
    return c;
}

/* Puts val (consumed) at the dotted path below base (a map or list): maps
 * (or lists, for numeric parts) are created on the way; a value already there
 * is merged with (maps) or replaced by val. */
static int insert_path(struct ins *I, struct pb_cfg *base, const char *path, struct pb_cfg *val)
{
    const char *p = path, *end = path + strlen(path);
    struct pb_cfg *cur = base;
    unsigned nseg = 0;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);
        if (++nseg > PB_MAX_CFG_DEPTH) {
            set_err(I->err, I->errlen, "key '%.64s...' has more than %u parts", path,
                    PB_MAX_CFG_DEPTH);
            goto fail;
        }
        if (cur->kind != PB_CFG_MAP && cur->kind != PB_CFG_LIST) {
            set_err(I->err, I->errlen, "can not set '%s': not a map", path);
            goto fail;
        }
        struct pb_cfg *c = slot(I, cur, p, n, dot == NULL);
        if (c == NULL) {
            goto fail;
        }
        if (dot == NULL) {
            val->parent = NULL;
            val->next = NULL;
            merge_into(c, val);
            return 0;
        }
        size_t idx;
        const char *nx = dot + 1;
        const char *nd = memchr(nx, '.', (size_t)(end - nx));
        bool want_list = seg_index(nx, nd != NULL ? (size_t)(nd - nx) : (size_t)(end - nx), &idx);
        if (c->kind == PB_CFG_MAP || (c->kind == PB_CFG_LIST && want_list)) {
            cur = c;
        } else {
            node_reset(c, want_list ? PB_CFG_LIST : PB_CFG_MAP);
            cur = c;
        }
        p = nx;
    }
fail:
    node_free(val);
    return -PB_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Scalar typing, as yaml.v2 resolves plain scalars                          */

enum ytype { Y_NULL, Y_BOOL, Y_INT, Y_UINT, Y_FLOAT, Y_STR };

struct yval {
    bool b;
    int64_t i;
    uint64_t u;
    double f;
};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const yaml_nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const yaml_trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                         "True", "TRUE", "on",  "On",  "ON",  NULL};
static const char *const yaml_falses[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                          "False", "FALSE", "off", "Off", "OFF", NULL};

static int digit_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    return 99;
}

/* Go's strconv.ParseUint(s, 0, 64) without underscores. */
static bool go_uint0(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    if (len == 0) {
        return false;
    }
    unsigned base = 10;
    size_t i = 0;
    if (s[0] == '0' && len > 1) {
        char c = (char)tolower((unsigned char)s[1]);
        if (c == 'x' || c == 'o' || c == 'b') {
            base = c == 'x' ? 16 : c == 'o' ? 8 : 2;
            i = 2;
            if (len == 2) {
                return false;
            }
        } else {
            base = 8;
            i = 1;
        }
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)digit_val(s[i]);
        if (d >= base) {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* Go's strconv.ParseInt(s, 0, 64) without underscores. */
static bool go_int0(const char *s, int64_t *out)
{
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s++;
    }
    uint64_t u;
    if (!go_uint0(s, &u)) {
        return false;
    }
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX) {
            return false;
        }
        *out = (int64_t)u;
    }
    return true;
}

/* Go's rule for '_' in number literals: only between digits (a base prefix
 * counts as a digit). */
static bool go_underscores_ok(const char *s)
{
    char saw = '^';
    size_t i = 0;
    bool hex = false;
    if (s[0] == '+' || s[0] == '-') {
        s++;
    }
    if (s[0] == '0' && s[1] != '\0' &&
        (tolower((unsigned char)s[1]) == 'x' || tolower((unsigned char)s[1]) == 'o' ||
         tolower((unsigned char)s[1]) == 'b')) {
        hex = tolower((unsigned char)s[1]) == 'x';
        i = 2;
        saw = '0';
    }
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && isxdigit((unsigned char)c))) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0') {
                return false;
            }
            saw = '_';
            continue;
        }
        if (saw == '_') {
            return false;
        }
        saw = '!';
    }
    return saw != '_';
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_float_syntax(const char *s)
{
    if (*s == '+' || *s == '-') {
        s++;
    }
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
        while (isdigit((unsigned char)*s)) {
            s++;
        }
    } else {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
        while (isdigit((unsigned char)*s)) {
            s++;
        }
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s)) {
                s++;
            }
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            s++;
        }
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
        while (isdigit((unsigned char)*s)) {
            s++;
        }
    }
    return *s == '\0';
}

/* strtod for text already checked; false on overflow (as Go's ErrRange). */
static bool to_double(const char *s, double *out)
{
    errno = 0;
    char *end = NULL;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || (errno == ERANGE && isinf(d))) {
        return false;
    }
    *out = d;
    return true;
}

static enum ytype yaml_type(const char *s, struct yval *v)
{
    memset(v, 0, sizeof *v);
    if (in_list(s, yaml_nulls)) {
        return Y_NULL;
    }
    if (in_list(s, yaml_trues)) {
        v->b = true;
        return Y_BOOL;
    }
    if (in_list(s, yaml_falses)) {
        return Y_BOOL;
    }
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    if (in_list(s, nans)) {
        v->f = NAN;
        return Y_FLOAT;
    }
    if (in_list(s, infs)) {
        v->f = INFINITY;
        return Y_FLOAT;
    }
    if (in_list(s, ninfs)) {
        v->f = -INFINITY;
        return Y_FLOAT;
    }
    char c = s[0];
    if (isdigit((unsigned char)c) || c == '+' || c == '-') {
        char buf[128];
        size_t k = 0;
        for (size_t i = 0; s[i] != '\0'; i++) {
            if (s[i] == '_') {
                continue;
            }
            if (k + 1 >= sizeof buf) {
                return Y_STR;
            }
            buf[k++] = s[i];
        }
        buf[k] = '\0';
        if (go_int0(buf, &v->i)) {
            return Y_INT;
        }
        if (buf[0] != '+' && buf[0] != '-' && go_uint0(buf, &v->u)) {
            return Y_UINT;
        }
        if (yaml_float_syntax(buf) && to_double(buf, &v->f)) {
            return Y_FLOAT;
        }
        return Y_STR;
    }
    if (c == '.' && yaml_float_syntax(s) && to_double(s, &v->f)) {
        return Y_FLOAT;
    }
    return Y_STR;
}

static enum ytype node_type(const struct pb_cfg *n, struct yval *v)
{
    memset(v, 0, sizeof *v);
    if (n->kind == PB_CFG_NULL) {
        return Y_NULL;
    }
    if (n->kind != PB_CFG_SCALAR || n->value == NULL) {
        return Y_STR;
    }
    if (n->quoted) {
        return Y_STR;
    }
    return yaml_type(n->value, v);
}

/* go-ucfg's type names, used in conversion errors. */
static const char *type_name(const struct pb_cfg *n)
{
    struct yval v;
    if (n->kind == PB_CFG_MAP || n->kind == PB_CFG_LIST) {
        return "object";
    }
    switch (node_type(n, &v)) {
    case Y_NULL:
        return "any";
    case Y_BOOL:
        return "bool";
    case Y_INT:
        return v.i > 0 ? "uint" : "int";
    case Y_UINT:
        return "uint";
    case Y_FLOAT:
        return "float";
    default:
        return "string";
    }
}

/* Shortest text that reads back as d and that YAML types as a float. */
static void fmt_float(double d, char *buf, size_t n)
{
    if (isnan(d)) {
        snprintf(buf, n, ".nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, n, "%s", d > 0 ? ".inf" : "-.inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    size_t len = strlen(buf);
    if (strpbrk(buf, ".eE") == NULL && len + 3 <= n) {
        memcpy(buf + len, ".0", 3);
    }
}

/* ------------------------------------------------------------------------ */
/* go-ucfg's value parser (parse.Value): -E values and expanded variables    */

struct vp {
    const char *s; /* rest of the input, NUL-terminated */
    bool objects;  /* {a: 1} objects */
    bool commas;   /* top-level a,b makes a list */
    const char *file;
    int line;
    unsigned depth;
    const char *emsg;
    char ebuf[CFG_MSG];
};

static struct pb_cfg *vp_value(struct vp *P, const char *stop);

static struct pb_cfg *vp_node(struct vp *P, enum pb_cfg_kind k)
{
    struct pb_cfg *n = node_new(k, P->file, P->line);
    if (n == NULL) {
        P->emsg = "out of memory";
    }
    return n;
}

static void vp_ws(struct vp *P)
{
    while (*P->s != '\0' && isspace((unsigned char)*P->s)) {
        P->s++;
    }
}

static void put_utf8(struct sbuf *b, uint32_t r)
{
    char u[4];
    if (r < 0x80) {
        sb_addc(b, (char)r);
    } else if (r < 0x800) {
        u[0] = (char)(0xC0 | (r >> 6));
        u[1] = (char)(0x80 | (r & 0x3F));
        sb_add(b, u, 2);
    } else if (r < 0x10000) {
        u[0] = (char)(0xE0 | (r >> 12));
        u[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[2] = (char)(0x80 | (r & 0x3F));
        sb_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (r >> 18));
        u[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[3] = (char)(0x80 | (r & 0x3F));
        sb_add(b, u, 4);
    }
}

/* strconv.Unquote of the text between two double quotes. */
static char *go_unquote(struct vp *P, const char *s, const char *e)
{
    /* escape letter, then the byte it stands for */
    static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"";
    struct sbuf b = {.max = CFG_MAX_OUT};
    while (s < e) {
        char c = *s++;
        if (c == '\n') {
            goto bad;
        }
        if (c != '\\') {
            sb_addc(&b, c);
            continue;
        }
        if (s >= e) {
            goto bad;
        }
        c = *s++;
        const char *m = strchr(simple, c);
        if (c != '\0' && m != NULL && ((m - simple) & 1) == 0) {
            sb_addc(&b, m[1]);
            continue;
        }
        if (c == 'x' || c == 'u' || c == 'U') {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t r = 0;
            if (e - s < nd) {
                goto bad;
            }
            for (int i = 0; i < nd; i++) {
                int d = digit_val(s[i]);
                if (d > 15) {
                    goto bad;
                }
                r = r * 16 + (uint32_t)d;
            }
            s += nd;
            if (c == 'x') {
                sb_addc(&b, (char)r);
            } else if (r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) {
                goto bad;
            } else {
                put_utf8(&b, r);
            }
            continue;
        }
        if (c < '0' || c > '7' || e - s < 2) {
            goto bad;
        }
        uint32_t r = (uint32_t)(c - '0');
        for (int i = 0; i < 2; i++) {
            if (s[i] < '0' || s[i] > '7') {
                goto bad;
            }
            r = r * 8 + (uint32_t)(s[i] - '0');
        }
        s += 2;
        if (r > 255) {
            goto bad;
        }
        sb_addc(&b, (char)r);
    }
    char *r = sb_take(&b);
    if (r == NULL) {
        P->emsg = "out of memory";
    }
    return r;
bad:
    pb_free(b.p);
    P->emsg = "invalid syntax";
    return NULL;
}

static char *vp_dquote(struct vp *P)
{
    const char *in = P->s;
    const char *q = in + 1;
    for (;;) {
        q = strchr(q, '"');
        if (q == NULL) {
            P->emsg = "Missing \" to close string ";
            return NULL;
        }
        if (q[-1] != '\\') {
            break;
        }
        q++;
    }
    P->s = q + 1;
    return go_unquote(P, in + 1, q);
}

static char *vp_squote(struct vp *P)
{
    const char *in = P->s;
    const char *q = strchr(in + 1, '\'');
    if (q == NULL) {
        P->emsg = "missing ' to close string";
        return NULL;
    }
    P->s = q + 1;
    char *r = pb_strndup(in + 1, (size_t)(q - in - 1));
    if (r == NULL) {
        P->emsg = "out of memory";
    }
    return r;
}

/* Text up to a stop character, trimmed; NULL (error) when it starts with one. */
static char *vp_unquoted(struct vp *P, const char *stop)
{
    const char *in = P->s;
    size_t idx = stop[0] != '\0' ? strcspn(in, stop) : strlen(in);
    if (idx == 0 && in[0] != '\0') {
        snprintf(P->ebuf, sizeof P->ebuf, "unexpected '%c'", in[0]);
        P->emsg = P->ebuf;
        return NULL;
    }
    P->s = in + idx;
    const char *a = in, *b = in + idx;
    while (a < b && isspace((unsigned char)*a)) {
        a++;
    }
    while (b > a && isspace((unsigned char)b[-1])) {
        b--;
    }
    char *r = pb_strndup(a, (size_t)(b - a));
    if (r == NULL) {
        P->emsg = "out of memory";
    }
    return r;
}

/* Go's ParseFloat grammar (decimal, inf, infinity, nan). */
static bool go_float(const char *s, double *out)
{
    const char *t = s;
    if (*t == '+' || *t == '-') {
        t++;
    }
    if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (strcasecmp(t, "nan") == 0) {
        *out = NAN;
        return true;
    }
    return yaml_float_syntax(s) && to_double(s, out);
}

/* A primitive as go-ucfg types it, stored so that YAML typing reads the
 * same value back: null, bool, int, float, else a (quoted) string. */
static struct pb_cfg *vp_typed(struct vp *P, char *text)
{
    static const char *const ptrues[] = {"t", "T", "true", "TRUE", "True", "on", "ON", NULL};
    static const char *const pfalses[] = {"f", "F", "false", "FALSE", "False", "off", "OFF", NULL};
    struct pb_cfg *n = NULL;
    if (strcmp(text, "null") == 0) {
        pb_free(text);
        return vp_node(P, PB_CFG_NULL);
    }
    n = vp_node(P, PB_CFG_SCALAR);
    if (n == NULL) {
        pb_free(text);
        return NULL;
    }
    bool t = in_list(text, ptrues);
    if (t || in_list(text, pfalses)) {
        pb_free(text);
        n->value = pb_strdup(t ? "true" : "false");
        goto out;
    }
    char plain[128];
    size_t k = 0;
    bool fits = true;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (text[i] == '_') {
            continue;
        }
        if (k + 1 >= sizeof plain) {
            fits = false;
            break;
        }
        plain[k++] = text[i];
    }
    plain[k] = '\0';
    uint64_t u;
    int64_t i64;
    if (fits && go_underscores_ok(text) &&
        ((plain[0] != '+' && plain[0] != '-' && go_uint0(plain, &u)) || go_int0(plain, &i64))) {
        n->value = text;
        goto out;
    }
    double d;
    if (strchr(text, '_') == NULL && go_float(text, &d)) {
        struct yval yv;
        if (yaml_type(text, &yv) == Y_FLOAT && (yv.f == d || (isnan(d) && isnan(yv.f)))) {
            n->value = text;
        } else {
            char buf[64];
            fmt_float(d, buf, sizeof buf);
            pb_free(text);
            n->value = pb_strdup(buf);
        }
        goto out;
    }
    n->value = text;
    n->quoted = true;
out:
    if (n->value == NULL) {
        node_free(n);
        P->emsg = "out of memory";
        return NULL;
    }
    return n;
}

static struct pb_cfg *vp_string_node(struct vp *P, char *text)
{
    if (text == NULL) {
        return NULL;
    }
    struct pb_cfg *n = vp_node(P, PB_CFG_SCALAR);
    if (n == NULL) {
        pb_free(text);
        return NULL;
    }
    n->value = text;
    n->quoted = true;
    return n;
}

/* Empty lists and objects are nil, as in go-ucfg. */
static struct pb_cfg *vp_empty_is_null(struct vp *P, struct pb_cfg *n)
{
    if (n != NULL && n->nchild == 0) {
        node_free(n);
        return vp_node(P, PB_CFG_NULL);
    }
    return n;
}

static struct pb_cfg *vp_array(struct vp *P)
{
    if (++P->depth > PB_MAX_CFG_DEPTH) {
        P->emsg = "nesting too deep";
        return NULL;
    }
    P->s++;
    struct pb_cfg *list = vp_node(P, PB_CFG_LIST);
    struct pb_cfg *tail = NULL;
    if (list == NULL) {
        return NULL;
    }
    for (;;) {
        vp_ws(P);
        if (*P->s == ']') {
            P->s++;
            break;
        }
        if (*P->s == '\0') {
            P->emsg = "array closing ']' missing";
            goto fail;
        }
        struct pb_cfg *v = vp_value(P, ",]");
        if (v == NULL) {
            goto fail;
        }
        link_after(list, tail, v);
        tail = v;
        vp_ws(P);
        if (*P->s == '\0') {
            P->emsg = "array closing ']' missing";
            goto fail;
        }
        char c = *P->s++;
        if (c == ']') {
            break;
        }
        if (c != ',') {
            P->emsg = "array expected ',' or ']'";
            goto fail;
        }
    }
    P->depth--;
    return vp_empty_is_null(P, list);
fail:
    node_free(list);
    return NULL;
}

static struct pb_cfg *vp_object(struct vp *P)
{
    if (++P->depth > PB_MAX_CFG_DEPTH) {
        P->emsg = "nesting too deep";
        return NULL;
    }
    P->s++;
    struct pb_cfg *map = vp_node(P, PB_CFG_MAP);
    char *key = NULL;
    if (map == NULL) {
        return NULL;
    }
    for (;;) {
        vp_ws(P);
        if (*P->s == '}') {
            P->s++;
            break;
        }
        if (*P->s == '\0') {
            P->emsg = "expected key";
            goto fail;
        }
        if (*P->s == '"') {
            key = vp_dquote(P);
        } else if (*P->s == '\'') {
            key = vp_squote(P);
        } else {
            key = vp_unquoted(P, ":");
        }
        if (key == NULL) {
            goto fail;
        }
        vp_ws(P);
        if (*P->s != ':') {
            P->emsg = "expected ':'";
            goto fail;
        }
        P->s++;
        struct pb_cfg *v = vp_value(P, ",}");
        if (v == NULL) {
            goto fail;
        }
        if (*P->s == '\0') {
            node_free(v);
            P->emsg = "dictionary expected ',' or '}'";
            goto fail;
        }
        struct ins I = {.file = P->file,
                        .line = P->line,
                        .max_keys = SIZE_MAX,
                        .err = P->ebuf,
                        .errlen = sizeof P->ebuf};
        if (insert_path(&I, map, key, v) < 0) {
            P->emsg = P->ebuf;
            goto fail;
        }
        pb_free(key);
        key = NULL;
        char c = *P->s++;
        if (c == '}') {
            break;
        }
        if (c != ',') {
            P->emsg = "dictionary expected ',' or '}'";
            goto fail;
        }
    }
    P->depth--;
    return vp_empty_is_null(P, map);
fail:
    pb_free(key);
    node_free(map);
    return NULL;
}

static struct pb_cfg *vp_value(struct vp *P, const char *stop)
{
    vp_ws(P);
    switch (*P->s) {
    case '\0':
        return vp_node(P, PB_CFG_NULL);
    case '[':
        return vp_array(P);
    case '{':
        if (P->objects) {
            return vp_object(P);
        }
        break;
    case '"':
        return vp_string_node(P, vp_dquote(P));
    case '\'':
        return vp_string_node(P, vp_squote(P));
    default:
        break;
    }
    char *text = vp_unquoted(P, stop);
    return text != NULL ? vp_typed(P, text) : NULL;
}

/* The whole input: values separated by top-level commas make a list. On
 * failure NULL with "<reason> when parsing '<input>'" in err. */
static struct pb_cfg *vp_parse(const char *input, bool objects, bool commas, const char *file,
                               int line, char *err, size_t errlen)
{
    struct vp P = {.objects = objects, .commas = commas, .file = file, .line = line};
    struct pb_cfg *first = NULL, *list = NULL, *tail = NULL;
    size_t count = 0;
    char *text = pb_strdup(input);
    if (text == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* strings.TrimSpace */
    char *a = text, *b = text + strlen(text);
    while (a < b && isspace((unsigned char)*a)) {
        a++;
    }
    while (b > a && isspace((unsigned char)b[-1])) {
        b--;
    }
    *b = '\0';
    P.s = a;
    for (;;) {
        struct pb_cfg *v = vp_value(&P, commas ? "," : "");
        if (v == NULL) {
            goto fail;
        }
        if (count == 0) {
            first = v;
        } else {
            if (list == NULL) {
                list = vp_node(&P, PB_CFG_LIST);
                if (list == NULL) {
                    node_free(v);
                    goto fail;
                }
                link_after(list, NULL, first);
                tail = first;
                first = NULL;
            }
            link_after(list, tail, v);
            tail = v;
        }
        count++;
        vp_ws(&P);
        if (*P.s == '\0') {
            break;
        }
        if (*P.s != ',') {
            P.emsg = "expected ','";
            goto fail;
        }
        P.s++;
    }
    pb_free(text);
    return list != NULL ? list : first;
fail:
    set_err(err, errlen, "%s when parsing '%s'", P.emsg != NULL ? P.emsg : "invalid syntax", input);
    node_free(first);
    node_free(list);
    pb_free(text);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* ${} expansion                                                             */

struct xctx {
    const struct pb_cfg *root; /* references resolve here */
    size_t budget;             /* nodes that copies may make */
    size_t work;               /* resolutions left */
    char *err;
    size_t errlen;
};

static struct pb_cfg *expand_value(struct xctx *X, const struct pb_cfg *n, const struct pb_cfg *at,
                                   int depth);

/* The extra ${NAME} source (the keystore), asked after the config's own
 * keys and before the environment. */
static pb_cfg_resolver_fn ext_resolver;
static void *ext_resolver_ctx;

void pb_cfg_set_resolver(pb_cfg_resolver_fn fn, void *ctx)
{
    ext_resolver = fn;
    ext_resolver_ctx = ctx;
}

static char *ext_resolve(const struct xctx *X, const char *name)
{
    return ext_resolver != NULL ? ext_resolver(ext_resolver_ctx, X->root, name) : NULL;
}

static int expand_text(struct xctx *X, const char *s, size_t len, const struct pb_cfg *at,
                       int depth, struct sbuf *out, size_t *nvars);

static void x_err(struct xctx *X, const struct pb_cfg *at, const char *what, const char *tail)
{
    char path[CFG_PATH], src[CFG_PATH];
    pb_cfg_path(at, path, sizeof path);
    src_suffix(at, src, sizeof src);
    set_err(X->err, X->errlen, "%s accessing '%s'%s%s", what, path, src, tail);
}

/* The end of a ${...} whose body starts at p: the matching '}'. */
static const char *match_brace(const char *p, const char *end)
{
    int depth = 1;
    while (p < end) {
        if (p[0] == '$' && p + 1 < end && p[1] == '{') {
            depth++;
            p += 2;
            continue;
        }
        if (*p == '}' && --depth == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

struct xvar {
    char name[256];
    const char *opt; /* text after ':' or ":?" */
    size_t optlen;
    bool has_default;
    bool required; /* ${NAME:?message} */
};

static int split_var(struct xctx *X, const char *body, size_t len, const struct pb_cfg *at,
                     struct xvar *v)
{
    memset(v, 0, sizeof *v);
    size_t i = 0;
    while (i < len && body[i] != ':') {
        i++;
    }
    if (i == 0 || i >= sizeof v->name) {
        x_err(X, at, "invalid variable reference", "");
        return -PB_EINVAL;
    }
    memcpy(v->name, body, i);
    v->name[i] = '\0';
    if (i < len) {
        v->opt = body + i + 1;
        v->optlen = len - i - 1;
        if (v->optlen > 0 && v->opt[0] == '?') {
            v->required = true;
            v->opt++;
            v->optlen--;
        } else {
            v->has_default = true;
        }
    }
    return 0;
}

static void missing_err(struct xctx *X, const struct pb_cfg *at, const struct xvar *v)
{
    char tail[400];
    if (v->required && v->optlen > 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.*s", (int)(v->optlen < 290 ? v->optlen : 290), v->opt);
        x_err(X, at, msg, "");
        return;
    }
    snprintf(tail, sizeof tail, ": variable '%s' is not set", v->name);
    x_err(X, at, "missing field", tail);
}

static bool x_step(struct xctx *X, const struct pb_cfg *at, const char *name, int depth)
{
    if (depth > CFG_MAX_REF_DEPTH || X->work == 0) {
        char what[400];
        snprintf(what, sizeof what, "cyclic reference detected for key: '%s'", name);
        x_err(X, at, what, "");
        return false;
    }
    X->work--;
    return true;
}

/* Expands the ${} inside every scalar of a detached subtree, in place. */
static int expand_detached(struct xctx *X, struct pb_cfg *n, const struct pb_cfg *at, int depth)
{
    if (n->kind == PB_CFG_SCALAR && n->value != NULL && strstr(n->value, "${") != NULL) {
        struct pb_cfg *sub = expand_value(X, n, at, depth);
        if (sub == NULL) {
            return -PB_EINVAL;
        }
        node_take(n, sub);
        return 0;
    }
    for (struct pb_cfg *c = n->child; c != NULL; c = c->next) {
        if (expand_detached(X, c, at, depth) < 0) {
            return -PB_EINVAL;
        }
    }
    return 0;
}

/* The value of a config node for a reference: a copy, expanded. */
static struct pb_cfg *resolved_copy(struct xctx *X, const struct pb_cfg *t, const struct pb_cfg *at,
                                    int depth)
{
    if (t->kind == PB_CFG_SCALAR && t->value != NULL && strstr(t->value, "${") != NULL) {
        return expand_value(X, t, at, depth);
    }
    struct pb_cfg *c = copy_tree(t, &X->budget);
    if (c == NULL) {
        x_err(X, at, "out of memory or too many values copying a reference", "");
        return NULL;
    }
    pb_free(c->key);
    c->key = NULL;
    if (expand_detached(X, c, at, depth) < 0) {
        node_free(c);
        return NULL;
    }
    return c;
}

/* Text of a variable, appended to out. */
static int var_text(struct xctx *X, const char *body, size_t len, const struct pb_cfg *at,
                    int depth, struct sbuf *out)
{
    struct xvar v;
    if (split_var(X, body, len, at, &v) < 0 || !x_step(X, at, v.name, depth)) {
        return -PB_EINVAL;
    }
    const struct pb_cfg *t = pb_cfg_get(X->root, v.name);
    if (t != NULL) {
        struct pb_cfg *c = resolved_copy(X, t, at, depth + 1);
        if (c == NULL) {
            return -PB_EINVAL;
        }
        int rc = 0;
        if (c->kind == PB_CFG_SCALAR) {
            sb_adds(out, c->value);
        } else if (c->kind != PB_CFG_NULL) {
            x_err(X, at, "can not convert 'object' into 'string'", "");
            rc = -PB_EINVAL;
        }
        node_free(c);
        return rc;
    }
    char *ext = ext_resolve(X, v.name);
    if (ext != NULL) {
        sb_adds(out, ext);
        pb_free(ext);
        return 0;
    }
    const char *env = getenv(v.name);
    if (env != NULL) {
        sb_adds(out, env);
        return 0;
    }
    if (v.has_default) {
        size_t nv = 0;
        return expand_text(X, v.opt, v.optlen, at, depth + 1, out, &nv);
    }
    missing_err(X, at, &v);
    return -PB_EINVAL;
}

/* Expands s[0..len) into out: "$${" is a literal "${". */
static int expand_text(struct xctx *X, const char *s, size_t len, const struct pb_cfg *at,
                       int depth, struct sbuf *out, size_t *nvars)
{
    const char *end = s + len;
    while (s < end) {
        if (s[0] == '$' && end - s >= 3 && s[1] == '$' && s[2] == '{') {
            sb_add(out, "${", 2);
            s += 3;
            continue;
        }
        if (s[0] == '$' && end - s >= 2 && s[1] == '{') {
            const char *close = match_brace(s + 2, end);
            if (close == NULL) {
                x_err(X, at, "unterminated brace", "");
                return -PB_EINVAL;
            }
            if (var_text(X, s + 2, (size_t)(close - s - 2), at, depth, out) < 0) {
                return -PB_EINVAL;
            }
            (*nvars)++;
            s = close + 1;
            continue;
        }
        const char *next = s + 1;
        while (next < end && *next != '$') {
            next++;
        }
        sb_add(out, s, (size_t)(next - s));
        s = next;
    }
    if (out->bad) {
        x_err(X, at, "out of memory or value too long", "");
        return -PB_EINVAL;
    }
    return 0;
}

/* A value built from text that had variables, typed by go-ucfg's parser
 * (a string when it does not parse). */
static struct pb_cfg *typed_text(struct xctx *X, const char *text, bool objects,
                                 const struct pb_cfg *at)
{
    struct pb_cfg *n = NULL;
    if (text[0] != '\0') {
        char ignore[CFG_MSG];
        char saved[CFG_MSG];
        memcpy(saved, last_err, sizeof saved);
        n = vp_parse(text, objects, true, at->file, at->line, ignore, sizeof ignore);
        memcpy(last_err, saved, sizeof saved);
    }
    if (n == NULL) {
        n = node_new(PB_CFG_SCALAR, at->file, at->line);
        if (n == NULL || (n->value = pb_strdup(text)) == NULL) {
            node_free(n);
            x_err(X, at, "out of memory", "");
            return NULL;
        }
        n->quoted = true;
    }
    return n;
}

/* The value of scalar n (which holds "${"): a new detached subtree. */
static struct pb_cfg *expand_value(struct xctx *X, const struct pb_cfg *n, const struct pb_cfg *at,
                                   int depth)
{
    const char *s = n->value;
    size_t len = strlen(s);
    struct sbuf out = {.max = CFG_MAX_OUT};
    struct pb_cfg *r = NULL;
    char *text = NULL;
    /* exactly one ${...}: the value keeps the referenced type */
    if (len >= 3 && s[0] == '$' && s[1] == '{' && match_brace(s + 2, s + len) == s + len - 1) {
        struct xvar v;
        if (split_var(X, s + 2, len - 3, at, &v) < 0 || !x_step(X, at, v.name, depth)) {
            return NULL;
        }
        const struct pb_cfg *t = pb_cfg_get(X->root, v.name);
        if (t != NULL) {
            r = resolved_copy(X, t, at, depth + 1);
            goto done;
        }
        char *ext = ext_resolve(X, v.name);
        if (ext != NULL) {
            r = typed_text(X, ext, false, at);
            pb_free(ext);
            goto done;
        }
        const char *env = getenv(v.name);
        if (env != NULL) {
            r = typed_text(X, env, false, at);
            goto done;
        }
        if (!v.has_default) {
            missing_err(X, at, &v);
            return NULL;
        }
        size_t nv = 0;
        if (expand_text(X, v.opt, v.optlen, at, depth + 1, &out, &nv) < 0) {
            goto done;
        }
        text = sb_take(&out);
        r = text != NULL ? typed_text(X, text, false, at) : NULL;
        goto done;
    }
    size_t nvars = 0;
    if (expand_text(X, s, len, at, depth, &out, &nvars) < 0) {
        goto done;
    }
    text = sb_take(&out);
    if (text == NULL) {
        x_err(X, at, "out of memory", "");
        goto done;
    }
    if (nvars > 0) {
        r = typed_text(X, text, true, at);
        goto done;
    }
    r = node_new(PB_CFG_SCALAR, at->file, at->line);
    if (r == NULL) {
        x_err(X, at, "out of memory", "");
        goto done;
    }
    r->value = text;
    r->quoted = n->quoted;
    text = NULL;
done:
    pb_free(out.p);
    pb_free(text);
    if (r != NULL) {
        pb_free(r->key);
        r->key = NULL;
        r->line = at->line;
        r->file = at->file;
    }
    return r;
}

struct xpend {
    struct pb_cfg *node;
    struct pb_cfg *sub;
};

struct xlist {
    struct xpend *v;
    size_t n, cap;
};

static int collect(struct xctx *X, struct pb_cfg *n, struct xlist *L)
{
    if (n->kind == PB_CFG_SCALAR && n->value != NULL && strstr(n->value, "${") != NULL) {
        struct pb_cfg *sub = expand_value(X, n, n, 0);
        if (sub == NULL) {
            return -PB_EINVAL;
        }
        if (L->n == L->cap) {
            size_t nc = L->cap != 0 ? L->cap * 2 : 16;
            struct xpend *nv = pb_realloc(L->v, nc * sizeof *nv);
            if (nv == NULL) {
                node_free(sub);
                x_err(X, n, "out of memory", "");
                return -PB_ENOMEM;
            }
            L->v = nv;
            L->cap = nc;
        }
        L->v[L->n].node = n;
        L->v[L->n].sub = sub;
        L->n++;
        return 0;
    }
    for (struct pb_cfg *c = n->child; c != NULL; c = c->next) {
        int rc = collect(X, c, L);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Expands every ${} below n, resolving references from root: all values are
 * computed from the unexpanded tree first, then put in place. */
static int expand_tree(const struct pb_cfg *root, struct pb_cfg *n, char *err, size_t errlen)
{
    struct xctx X = {.root = root,
                     .budget = CFG_MAX_NODES,
                     .work = CFG_MAX_REF_WORK,
                     .err = err,
                     .errlen = errlen};
    struct xlist L = {0};
    int rc = collect(&X, n, &L);
    for (size_t i = 0; i < L.n; i++) {
        if (rc == 0) {
            node_take(L.v[i].node, L.v[i].sub);
        } else {
            node_free(L.v[i].sub);
        }
    }
    pb_free(L.v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Loader                                                                    */

struct anchor {
    char *name;
    struct pb_cfg *snap;
    unsigned height;
};

struct loader {
    yaml_parser_t parser;
    const char *file;
    size_t budget;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    char *err;
    size_t errlen;
};

static int mark_line(const yaml_mark_t *m)
{
    return m->line >= (size_t)INT_MAX ? INT_MAX : (int)m->line + 1;
}

/* yaml.v2's message for a libyaml failure. */
static void yaml_fail(struct loader *L)
{
    const yaml_parser_t *p = &L->parser;
    size_t line = 0;
    if (p->problem_mark.line != 0) {
        line = p->problem_mark.line;
        if (p->error == YAML_SCANNER_ERROR) {
            line++;
        }
    } else if (p->context_mark.line != 0) {
        line = p->context_mark.line;
    }
    const char *msg = p->problem != NULL ? p->problem : "unknown problem parsing YAML content";
    if (p->error == YAML_MEMORY_ERROR) {
        msg = "out of memory";
    }
    if (line != 0) {
        set_err(L->err, L->errlen, "yaml: line %zu: %s", line, msg);
    } else {
        set_err(L->err, L->errlen, "yaml: %s", msg);
    }
}

static int next_event(struct loader *L, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&L->parser, ev)) {
        yaml_fail(L);
        return -PB_EINVAL;
    }
    return 0;
}

static const struct anchor *find_anchor(const struct loader *L, const char *name)
{
    for (size_t i = L->nanchors; i > 0; i--) {
        if (strcmp(L->anchors[i - 1].name, name) == 0) {
            return &L->anchors[i - 1];
        }
    }
    return NULL;
}

static int add_anchor(struct loader *L, const char *name, const struct pb_cfg *n, unsigned h)
{
    if (L->nanchors == L->capanchors) {
        size_t nc = L->capanchors != 0 ? L->capanchors * 2 : 8;
        struct anchor *na = pb_realloc(L->anchors, nc * sizeof *na);
        if (na == NULL) {
            goto oom;
        }
        L->anchors = na;
        L->capanchors = nc;
    }
    struct anchor *a = &L->anchors[L->nanchors];
    a->name = pb_strdup(name);
    a->snap = copy_tree(n, &L->budget);
    a->height = h;
    if (a->name == NULL || a->snap == NULL) {
        pb_free(a->name);
        node_free(a->snap);
        if (L->budget == 0) {
            set_err(L->err, L->errlen, "yaml: document holds more than %u values", CFG_MAX_NODES);
            return -PB_ELIMIT;
        }
        goto oom;
    }
    L->nanchors++;
    return 0;
oom:
    set_err(L->err, L->errlen, "yaml: out of memory");
    return -PB_ENOMEM;
}

static struct pb_cfg *alias_copy(struct loader *L, const char *name, int line, unsigned *h)
{
    const struct anchor *a = find_anchor(L, name);
    if (a == NULL) {
        set_err(L->err, L->errlen, "yaml: unknown anchor '%s' referenced", name);
        return NULL;
    }
    struct pb_cfg *n = copy_tree(a->snap, &L->budget);
    if (n == NULL) {
        if (L->budget == 0) {
            set_err(L->err, L->errlen, "yaml: line %d: document holds more than %u values", line,
                    CFG_MAX_NODES);
        } else {
            set_err(L->err, L->errlen, "yaml: out of memory");
        }
        return NULL;
    }
    n->line = line;
    *h = a->height;
    return n;
}

static bool is_null_text(const char *v, size_t len)
{
    if (len == 0) {
        return true;
    }
    return (len == 1 && v[0] == '~') ||
           (len == 4 &&
            (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

static struct pb_cfg *make_scalar(struct loader *L, const yaml_event_t *ev, int line)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    bool str_tag = tag != NULL && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0);
    bool null_tag = tag != NULL && strcmp(tag, YAML_NULL_TAG) == 0;
    struct pb_cfg *n;
    if (null_tag || (plain && !str_tag && is_null_text(v, len))) {
        n = node_new(PB_CFG_NULL, L->file, line);
    } else {
        n = node_new(PB_CFG_SCALAR, L->file, line);
        if (n != NULL) {
            n->quoted = !plain || str_tag;
            n->value = pb_strndup(v != NULL ? v : "", len);
            if (n->value == NULL) {
                node_free(n);
                n = NULL;
            }
        }
    }
    if (n == NULL) {
        set_err(L->err, L->errlen, "yaml: out of memory");
    }
    return n;
}

static int build(struct loader *L, yaml_event_t *ev, unsigned depth, struct pb_cfg **out,
                 unsigned *height);

/* Moves the entries of map m whose keys are not in map yet. */
static void merge_absent(struct pb_cfg *map, struct pb_cfg *m)
{
    struct pb_cfg *c = m->child;
    m->child = NULL;
    m->nchild = 0;
    while (c != NULL) {
        struct pb_cfg *next = c->next;
        struct pb_cfg *tail = NULL;
        const char *k = c->key != NULL ? c->key : "";
        c->next = NULL;
        if (find_key(map, k, strlen(k), &tail) != NULL || map->nchild >= CFG_MAX_MAP_KEYS) {
            node_free(c);
        } else {
            link_after(map, tail, c);
        }
        c = next;
    }
}

/* "<<: *base" (or a list of them): keys not already in map are added. */
static int merge_key(struct loader *L, struct pb_cfg *map, struct pb_cfg *val, int line)
{
    bool ok = val->kind == PB_CFG_MAP || val->kind == PB_CFG_LIST;
    if (val->kind == PB_CFG_LIST) {
        for (struct pb_cfg *m = val->child; m != NULL; m = m->next) {
            ok = ok && m->kind == PB_CFG_MAP;
        }
    }
    if (!ok) {
        node_free(val);
        set_err(L->err, L->errlen,
                "yaml: line %d: map merge requires map or sequence of maps as the value", line);
        return -PB_EINVAL;
    }
    if (val->kind == PB_CFG_MAP) {
        merge_absent(map, val);
    } else {
        for (struct pb_cfg *m = val->child; m != NULL; m = m->next) {
            merge_absent(map, m);
        }
    }
    node_free(val);
    return 0;
}

static int build_map(struct loader *L, struct pb_cfg *map, unsigned depth, unsigned *height)
{
    unsigned h = 1;
    for (;;) {
        yaml_event_t kev;
        if (next_event(L, &kev) < 0) {
            return -PB_EINVAL;
        }
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        int kline = mark_line(&kev.start_mark);
        char *key = NULL;
        bool merge = false;
        if (kev.type == YAML_SCALAR_EVENT) {
            const char *tag = (const char *)kev.data.scalar.tag;
            key = pb_strndup((const char *)kev.data.scalar.value, kev.data.scalar.length);
            merge = key != NULL && tag == NULL &&
                    kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(key, "<<") == 0;
            if (key == NULL) {
                set_err(L->err, L->errlen, "yaml: out of memory");
            }
        } else if (kev.type == YAML_ALIAS_EVENT) {
            const struct anchor *a = find_anchor(L, (const char *)kev.data.alias.anchor);
            if (a == NULL) {
                set_err(L->err, L->errlen, "yaml: unknown anchor '%s' referenced",
                        (const char *)kev.data.alias.anchor);
            } else if (a->snap->kind == PB_CFG_SCALAR || a->snap->kind == PB_CFG_NULL) {
                key = pb_strdup(a->snap->value != NULL ? a->snap->value : "");
                if (key == NULL) {
                    set_err(L->err, L->errlen, "yaml: out of memory");
                }
            } else {
                set_err(L->err, L->errlen, "yaml: line %d: invalid map key", kline);
            }
        } else {
            set_err(L->err, L->errlen, "yaml: line %d: invalid map key", kline);
        }
        yaml_event_delete(&kev);
        if (key == NULL) {
            return -PB_EINVAL;
        }
        yaml_event_t vev;
        struct pb_cfg *val = NULL;
        unsigned vh = 0;
        if (next_event(L, &vev) < 0 || build(L, &vev, depth + 1, &val, &vh) < 0) {
            pb_free(key);
            return -PB_EINVAL;
        }
        val->line = kline;
        int rc;
        if (merge) {
            rc = merge_key(L, map, val, kline);
        } else {
            unsigned nseg = 1;
            for (const char *p = key; *p != '\0'; p++) {
                nseg += *p == '.';
            }
            unsigned eh = nseg + vh;
            if (eh > h) {
                h = eh;
            }
            if (depth + h > PB_MAX_CFG_DEPTH + 1) {
                node_free(val);
                set_err(L->err, L->errlen, "yaml: line %d: config nested deeper than %u levels",
                        kline, PB_MAX_CFG_DEPTH);
                rc = -PB_ELIMIT;
            } else {
                char ierr[CFG_MSG];
                struct ins I = {.file = L->file,
                                .line = kline,
                                .max_keys = CFG_MAX_MAP_KEYS,
                                .budget = &L->budget,
                                .err = ierr,
                                .errlen = sizeof ierr};
                rc = insert_path(&I, map, key, val);
                if (rc < 0) {
                    set_err(L->err, L->errlen, "yaml: line %d: %s", kline, ierr);
                }
            }
        }
        pb_free(key);
        if (rc < 0) {
            return rc;
        }
    }
    *height = h;
    return 0;
}

static int build_seq(struct loader *L, struct pb_cfg *list, unsigned depth, unsigned *height)
{
    unsigned h = 1;
    struct pb_cfg *tail = NULL;
    for (;;) {
        yaml_event_t iev;
        if (next_event(L, &iev) < 0) {
            return -PB_EINVAL;
        }
        if (iev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&iev);
            break;
        }
        struct pb_cfg *item = NULL;
        unsigned ih = 0;
        if (build(L, &iev, depth + 1, &item, &ih) < 0) {
            return -PB_EINVAL;
        }
        link_after(list, tail, item);
        tail = item;
        if (ih + 1 > h) {
            h = ih + 1;
        }
    }
    *height = h;
    return 0;
}

/* Builds the node that starts with ev (deleted here in every case). */
static int build(struct loader *L, yaml_event_t *ev, unsigned depth, struct pb_cfg **out,
                 unsigned *height)
{
    int line = mark_line(&ev->start_mark);
    const char *anchor_src = NULL;
    char *anchor = NULL;
    struct pb_cfg *n = NULL;
    int rc = -PB_EINVAL;
    *out = NULL;
    *height = 1;
    if (L->budget == 0) {
        set_err(L->err, L->errlen, "yaml: line %d: document holds more than %u values", line,
                CFG_MAX_NODES);
        yaml_event_delete(ev);
        return -PB_ELIMIT;
    }
    L->budget--;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor_src = (const char *)ev->data.scalar.anchor;
        n = make_scalar(L, ev, line);
        break;
    case YAML_ALIAS_EVENT:
        n = alias_copy(L, (const char *)ev->data.alias.anchor, line, height);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth >= PB_MAX_CFG_DEPTH) {
            set_err(L->err, L->errlen, "yaml: line %d: config nested deeper than %u levels", line,
                    PB_MAX_CFG_DEPTH);
            break;
        }
        anchor_src = ev->type == YAML_SEQUENCE_START_EVENT
                         ? (const char *)ev->data.sequence_start.anchor
                         : (const char *)ev->data.mapping_start.anchor;
        n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? PB_CFG_LIST : PB_CFG_MAP, L->file,
                     line);
        if (n == NULL) {
            set_err(L->err, L->errlen, "yaml: out of memory");
        }
        break;
    default:
        set_err(L->err, L->errlen, "yaml: line %d: unexpected event", line);
        break;
    }
    if (n != NULL && anchor_src != NULL) {
        anchor = pb_strdup(anchor_src);
        if (anchor == NULL) {
            set_err(L->err, L->errlen, "yaml: out of memory");
            node_free(n);
            n = NULL;
        }
    }
    yaml_event_type_t type = ev->type;
    yaml_event_delete(ev);
    if (n == NULL) {
        goto out;
    }
    if (type == YAML_SEQUENCE_START_EVENT) {
        rc = build_seq(L, n, depth, height);
    } else if (type == YAML_MAPPING_START_EVENT) {
        rc = build_map(L, n, depth, height);
    } else {
        rc = 0;
    }
    if (rc == 0 && anchor != NULL) {
        rc = add_anchor(L, anchor, n, *height);
    }
out:
    pb_free(anchor);
    if (rc < 0) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static void loader_done(struct loader *L)
{
    for (size_t i = 0; i < L->nanchors; i++) {
        pb_free(L->anchors[i].name);
        node_free(L->anchors[i].snap);
    }
    pb_free(L->anchors);
    yaml_parser_delete(&L->parser);
}

struct pb_cfg *pb_cfg_new_root(const char *name)
{
    struct pb_cfg *root = node_new(PB_CFG_MAP, intern_name(name), 0);
    if (root != NULL && (root->src_name = pb_strdup(name != NULL ? name : "config")) == NULL) {
        node_free(root);
        root = NULL;
    }
    return root;
}

struct pb_cfg *pb_cfg_parse(const char *yaml, size_t len, const char *name, char *err,
                            size_t errlen)
{
    struct loader L;
    struct pb_cfg *root = NULL;
    yaml_event_t ev;
    unsigned h = 0;
    memset(&L, 0, sizeof L);
    if (yaml == NULL && len > 0) {
        set_err(err, errlen, "yaml: no input");
        return NULL;
    }
    if (len > PB_MAX_CFG_BYTES) {
        set_err(err, errlen, "config is larger than %u bytes", PB_MAX_CFG_BYTES);
        return NULL;
    }
    if (!yaml_parser_initialize(&L.parser)) {
        set_err(err, errlen, "yaml: out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&L.parser, (const unsigned char *)(yaml != NULL ? yaml : ""), len);
    L.file = intern_name(name);
    L.budget = CFG_MAX_NODES;
    L.err = err;
    L.errlen = errlen;
    if (next_event(&L, &ev) < 0) {
        goto fail;
    }
    yaml_event_delete(&ev); /* stream start */
    if (next_event(&L, &ev) < 0) {
        goto fail;
    }
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        if (next_event(&L, &ev) < 0 || build(&L, &ev, 0, &root, &h) < 0) {
            goto fail;
        }
        /* yaml.v2 reads the first document and expects its end */
        if (next_event(&L, &ev) < 0) {
            goto fail;
        }
    }
    yaml_event_delete(&ev);
    if (root == NULL || root->kind == PB_CFG_NULL) {
        node_free(root);
        root = node_new(PB_CFG_MAP, L.file, 0);
        if (root == NULL) {
            set_err(err, errlen, "yaml: out of memory");
            goto fail;
        }
    } else if (root->kind == PB_CFG_SCALAR) {
        struct yval v;
        enum ytype t = node_type(root, &v);
        set_err(err, errlen,
                "type '%s' is not supported on top level of config, only dictionary or list",
                t == Y_BOOL                   ? "bool"
                : t == Y_FLOAT                ? "float64"
                : (t == Y_INT || t == Y_UINT) ? "int"
                                              : "string");
        goto fail;
    }
    root->line = 0;
    root->src_name = pb_strdup(name != NULL ? name : "config");
    if (root->src_name == NULL) {
        set_err(err, errlen, "yaml: out of memory");
        goto fail;
    }
    loader_done(&L);
    if (expand_tree(root, root, err, errlen) < 0) {
        node_free(root);
        return NULL;
    }
    return root;
fail:
    node_free(root);
    loader_done(&L);
    return NULL;
}

/* Reads a whole file of at most PB_MAX_CFG_BYTES. */
static int read_file(const char *path, char **out, size_t *outlen, char *msg, size_t msglen)
{
    char es[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        go_errstr(errno, es, sizeof es);
        snprintf(msg, msglen, "open %s: %s", path, es);
        return -PB_EIO;
    }
    struct stat st;
    size_t cap = 4096;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > PB_MAX_CFG_BYTES) {
            close(fd);
            snprintf(msg, msglen, "config file (\"%s\") is larger than %u bytes", path,
                     PB_MAX_CFG_BYTES);
            return -PB_ELIMIT;
        }
        cap = (size_t)st.st_size + 1;
    }
    char *buf = pb_malloc(cap);
    size_t len = 0;
    int rc = 0;
    if (buf == NULL) {
        snprintf(msg, msglen, "read %s: out of memory", path);
        rc = -PB_ENOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > PB_MAX_CFG_BYTES) {
                snprintf(msg, msglen, "config file (\"%s\") is larger than %u bytes", path,
                         PB_MAX_CFG_BYTES);
                rc = -PB_ELIMIT;
                goto out;
            }
            size_t nc =
                cap * 2 > (size_t)PB_MAX_CFG_BYTES + 1 ? (size_t)PB_MAX_CFG_BYTES + 1 : cap * 2;
            char *nb = pb_realloc(buf, nc);
            if (nb == NULL) {
                snprintf(msg, msglen, "read %s: out of memory", path);
                rc = -PB_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            go_errstr(errno, es, sizeof es);
            snprintf(msg, msglen, "read %s: %s", path, es);
            rc = -PB_EIO;
            goto out;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    if (len > PB_MAX_CFG_BYTES) {
        snprintf(msg, msglen, "config file (\"%s\") is larger than %u bytes", path,
                 PB_MAX_CFG_BYTES);
        rc = -PB_ELIMIT;
    }
out:
    close(fd);
    if (rc < 0) {
        pb_free(buf);
        return rc;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* The message has no "error loading config file: " prefix: libbeat adds it
 * where the load is called from, as beat/main.c does. */
struct pb_cfg *pb_cfg_load_file(const char *path, char *err, size_t errlen)
{
    char msg[CFG_MSG];
    char *buf = NULL;
    size_t len = 0;
    if (path == NULL) {
        set_err(err, errlen, "no config file path");
        return NULL;
    }
    if (read_file(path, &buf, &len, msg, sizeof msg) < 0) {
        set_err(err, errlen, "%s", msg);
        return NULL;
    }
    struct pb_cfg *root = pb_cfg_parse(buf, len, path, err, errlen);
    pb_free(buf);
    return root;
}

/* ------------------------------------------------------------------------ */
/* Setting values                                                            */

int pb_cfg_set_override(struct pb_cfg *root, const char *kv, char *err, size_t errlen)
{
    char msg[CFG_MSG];
    char *key = NULL;
    struct pb_cfg *val = NULL;
    int rc = -PB_EINVAL;
    if (root == NULL || kv == NULL) {
        set_err(err, errlen, "invalid -E argument");
        return -PB_EINVAL;
    }
    const char *eq = strchr(kv, '=');
    const char *file = FLAG_SOURCE;
    if (eq == NULL) {
        /* go-ucfg: a key alone means key=true */
        key = pb_strdup(kv);
        val = node_new(PB_CFG_SCALAR, file, 0);
        if (val != NULL) {
            val->value = pb_strdup("true");
        }
        if (key == NULL || val == NULL || val->value == NULL) {
            set_err(err, errlen, "out of memory");
            rc = -PB_ENOMEM;
            goto out;
        }
    } else {
        key = pb_strndup(kv, (size_t)(eq - kv));
        if (key == NULL) {
            set_err(err, errlen, "out of memory");
            rc = -PB_ENOMEM;
            goto out;
        }
        val = vp_parse(eq + 1, true, true, file, 0, msg, sizeof msg);
        if (val == NULL) {
            set_err(err, errlen, "invalid argument \"%s\" for \"-E, --E\" flag: %s", kv, msg);
            goto out;
        }
    }
    if (key[0] == '\0') {
        set_err(err, errlen, "invalid argument \"%s\" for \"-E, --E\" flag: argument '%s' is empty",
                kv, kv);
        goto out;
    }
    /* the value sits alone in a temporary root while its ${} are expanded */
    struct pb_cfg *tmp = node_new(PB_CFG_MAP, file, 0);
    if (tmp == NULL) {
        set_err(err, errlen, "out of memory");
        rc = -PB_ENOMEM;
        goto out;
    }
    val->key = key;
    key = NULL;
    link_after(tmp, NULL, val);
    rc = expand_tree(root, val, msg, sizeof msg);
    val = tmp->child;
    tmp->child = NULL;
    tmp->nchild = 0;
    node_free(tmp);
    if (rc < 0) {
        set_err(err, errlen, "%s", msg);
        goto out;
    }
    key = val->key;
    val->key = NULL;
    val->parent = NULL;
    val->next = NULL;
    size_t budget = CFG_MAX_NODES;
    struct ins I = {.file = file,
                    .line = 0,
                    .max_keys = SIZE_MAX,
                    .budget = &budget,
                    .err = msg,
                    .errlen = sizeof msg};
    rc = insert_path(&I, root, key, val);
    val = NULL;
    if (rc < 0) {
        set_err(err, errlen, "invalid argument \"%s\" for \"-E, --E\" flag: %s", kv, msg);
    }
out:
    pb_free(key);
    node_free(val);
    return rc;
}

int pb_cfg_set(struct pb_cfg *root, const char *path, const char *value)
{
    if (root == NULL || path == NULL) {
        return -PB_EINVAL;
    }
    struct pb_cfg *val = node_new(value != NULL ? PB_CFG_SCALAR : PB_CFG_NULL, root->file, 0);
    if (val == NULL || (value != NULL && (val->value = pb_strdup(value)) == NULL)) {
        node_free(val);
        set_err(NULL, 0, "out of memory");
        return -PB_ENOMEM;
    }
    struct ins I = {.file = root->file, .line = 0, .max_keys = SIZE_MAX};
    return insert_path(&I, root, path, val);
}

/* ------------------------------------------------------------------------ */
/* Durations and sizes                                                       */

/* strconv.Quote-ish, for messages. */
static void go_quote(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    if (n < 3) {
        if (n > 0) {
            buf[0] = '\0';
        }
        return;
    }
    buf[o++] = '"';
    for (; *s != '\0' && o + 6 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

struct dunit {
    const char *name;
    uint64_t ns;
};

static const struct dunit dunits[] = {
    {"ns", 1ULL},           {"us", 1000ULL},      {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL},                                               /* U+03BC greek mu */
    {"ms", 1000000ULL},     {"s", 1000000000ULL}, {"m", 60000000000ULL},  {"h", 3600000000000ULL},
};

/* time.ParseDuration. */
static int go_duration(const char *orig, int64_t *out, char *err, size_t errlen)
{
    char q[160];
    const char *s = orig;
    uint64_t d = 0;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0') {
        goto invalid;
    }
    while (*s != '\0') {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || isdigit((unsigned char)*s))) {
            goto invalid;
        }
        const char *st = s;
        while (isdigit((unsigned char)*s)) {
            if (v > ((uint64_t)1 << 63) / 10) {
                goto invalid;
            }
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > (uint64_t)1 << 63) {
                goto invalid;
            }
            s++;
        }
        bool pre = s != st;
        bool post = false;
        if (*s == '.') {
            s++;
            const char *fs = s;
            bool overflow = false;
            while (isdigit((unsigned char)*s)) {
                if (!overflow) {
                    if (f > (UINT64_MAX - 9) / 10 || scale > 1e18) {
                        overflow = true;
                    } else {
                        f = f * 10 + (uint64_t)(*s - '0');
                        scale *= 10;
                    }
                }
                s++;
            }
            post = s != fs;
        }
        if (!pre && !post) {
            goto invalid;
        }
        const char *us = s;
        while (*s != '\0' && *s != '.' && !isdigit((unsigned char)*s)) {
            s++;
        }
        size_t ul = (size_t)(s - us);
        if (ul == 0) {
            go_quote(orig, q, sizeof q);
            set_err(err, errlen, "time: missing unit in duration %s", q);
            return -PB_EINVAL;
        }
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof dunits / sizeof dunits[0]; i++) {
            if (strlen(dunits[i].name) == ul && memcmp(dunits[i].name, us, ul) == 0) {
                unit = dunits[i].ns;
                break;
            }
        }
        if (unit == 0) {
            char un[64], uq[80];
            snprintf(un, sizeof un, "%.*s", (int)(ul < 60 ? ul : 60), us);
            go_quote(un, uq, sizeof uq);
            go_quote(orig, q, sizeof q);
            set_err(err, errlen, "time: unknown unit %s in duration %s", uq, q);
            return -PB_EINVAL;
        }
        if (v > ((uint64_t)1 << 63) / unit) {
            goto invalid;
        }
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > (uint64_t)1 << 63) {
                goto invalid;
            }
        }
        d += v;
        if (d > (uint64_t)1 << 63) {
            goto invalid;
        }
    }
    if (neg) {
        *out = d == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > (uint64_t)INT64_MAX) {
        goto invalid;
    }
    *out = (int64_t)d;
    return 0;
invalid:
    go_quote(orig, q, sizeof q);
    set_err(err, errlen, "time: invalid duration %s", q);
    return -PB_EINVAL;
}

static int seconds_ns(double secs, int64_t *out)
{
    double ns = secs * 1e9;
    if (!isfinite(ns) || ns >= 9.2233720368547758e18 || ns < -9.2233720368547758e18) {
        return -PB_EINVAL;
    }
    *out = (int64_t)ns;
    return 0;
}

/* Duration text: Go syntax, or a bare number of seconds. */
static int parse_duration_msg(const char *s, int64_t *out, char *err, size_t errlen)
{
    struct yval v;
    switch (yaml_type(s, &v)) {
    case Y_INT:
        if (v.i > INT64_MAX / 1000000000 || v.i < INT64_MIN / 1000000000) {
            break;
        }
        *out = v.i * 1000000000;
        return 0;
    case Y_FLOAT:
        if (seconds_ns(v.f, out) == 0) {
            return 0;
        }
        break;
    default:
        return go_duration(s, out, err, errlen);
    }
    char q[160];
    go_quote(s, q, sizeof q);
    set_err(err, errlen, "time: invalid duration %s", q);
    return -PB_EINVAL;
}

int pb_parse_duration(const char *s, int64_t *out_ns)
{
    if (s == NULL || out_ns == NULL) {
        return -PB_EINVAL;
    }
    return parse_duration_msg(s, out_ns, NULL, 0);
}

struct sunit {
    const char *name;
    uint64_t mult;
};

static const struct sunit sunits[] = {
    {"", 1ULL},
    {"b", 1ULL},
    {"k", 1000ULL},
    {"kb", 1000ULL},
    {"ki", 1024ULL},
    {"kib", 1024ULL},
    {"m", 1000000ULL},
    {"mb", 1000000ULL},
    {"mi", 1048576ULL},
    {"mib", 1048576ULL},
    {"g", 1000000000ULL},
    {"gb", 1000000000ULL},
    {"gi", 1073741824ULL},
    {"gib", 1073741824ULL},
    {"t", 1000000000000ULL},
    {"tb", 1000000000000ULL},
    {"ti", 1099511627776ULL},
    {"tib", 1099511627776ULL},
    {"p", 1000000000000000ULL},
    {"pb", 1000000000000000ULL},
    {"pi", 1125899906842624ULL},
    {"pib", 1125899906842624ULL},
    {"e", 1000000000000000000ULL},
    {"eb", 1000000000000000000ULL},
    {"ei", 1152921504606846976ULL},
    {"eib", 1152921504606846976ULL},
};

/* go-humanize ParseBytes: "10MiB", "1.5 kb", "1,024". */
static int parse_size_msg(const char *s, uint64_t *out, char *err, size_t errlen)
{
    char num[64];
    size_t last = 0, k = 0;
    while (s[last] != '\0' &&
           (isdigit((unsigned char)s[last]) || s[last] == '.' || s[last] == ',')) {
        if (s[last] != ',' && k + 1 < sizeof num) {
            num[k++] = s[last];
        }
        last++;
    }
    num[k] = '\0';
    double f;
    bool ok = k > 0 && k + 1 < sizeof num;
    if (ok) {
        /* digits with at most one '.', and at least one digit */
        size_t dots = 0, digits = 0;
        for (size_t i = 0; i < k; i++) {
            dots += num[i] == '.';
            digits += num[i] != '.';
        }
        ok = dots <= 1 && digits > 0 && to_double(num, &f);
    }
    if (!ok) {
        set_err(err, errlen, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
        return -PB_EINVAL;
    }
    const char *a = s + last;
    const char *b = a + strlen(a);
    while (a < b && isspace((unsigned char)*a)) {
        a++;
    }
    while (b > a && isspace((unsigned char)b[-1])) {
        b--;
    }
    char extra[16];
    size_t el = (size_t)(b - a);
    if (el >= sizeof extra) {
        set_err(err, errlen, "unhandled size name: %.*s", (int)(el < 64 ? el : 64), a);
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < el; i++) {
        extra[i] = (char)tolower((unsigned char)a[i]);
    }
    extra[el] = '\0';
    for (size_t i = 0; i < sizeof sunits / sizeof sunits[0]; i++) {
        if (strcmp(sunits[i].name, extra) == 0) {
            f *= (double)sunits[i].mult;
            if (f >= 18446744073709551615.0) {
                set_err(err, errlen, "too large: %s", s);
                return -PB_EINVAL;
            }
            *out = (uint64_t)f;
            return 0;
        }
    }
    set_err(err, errlen, "unhandled size name: %s", extra);
    return -PB_EINVAL;
}

int pb_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || out == NULL) {
        return -PB_EINVAL;
    }
    return parse_size_msg(s, out, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* Getters                                                                   */

static int conv_err(const struct pb_cfg *n, const char *target)
{
    char path[CFG_PATH], src[CFG_PATH];
    pb_cfg_path(n, path, sizeof path);
    src_suffix(n, src, sizeof src);
    set_err(NULL, 0, "can not convert '%s' into '%s' accessing '%s'%s", type_name(n), target, path,
            src);
    return -PB_EINVAL;
}

/* "<reason> accessing 'path' (source...)" after a parse error in last_err. */
static int reason_err(const struct pb_cfg *n)
{
    char reason[CFG_MSG], path[CFG_PATH], src[CFG_PATH];
    memcpy(reason, last_err, sizeof reason);
    pb_cfg_path(n, path, sizeof path);
    src_suffix(n, src, sizeof src);
    set_err(NULL, 0, "%s accessing '%s'%s", reason, path, src);
    return -PB_EINVAL;
}

/* The node at path, NULL when absent or null (the default applies). */
static const struct pb_cfg *value_at(const struct pb_cfg *c, const char *path)
{
    const struct pb_cfg *n = pb_cfg_get(c, path);
    return n != NULL && n->kind != PB_CFG_NULL ? n : NULL;
}

/* Text of a scalar as go-ucfg's toString gives it for bools. */
static const char *scalar_text(const struct pb_cfg *n)
{
    struct yval v;
    if (!n->quoted && node_type(n, &v) == Y_BOOL) {
        return v.b ? "true" : "false";
    }
    return n->value;
}

int pb_cfg_str(const struct pb_cfg *c, const char *path, const char *def, const char **out)
{
    const struct pb_cfg *n = value_at(c, path);
    *out = def;
    if (n == NULL) {
        return 0;
    }
    if (n->kind != PB_CFG_SCALAR) {
        return conv_err(n, "string");
    }
    *out = scalar_text(n);
    return 0;
}

int pb_cfg_bool(const struct pb_cfg *c, const char *path, bool def, bool *out)
{
    const struct pb_cfg *n = value_at(c, path);
    struct yval v;
    *out = def;
    if (n == NULL) {
        return 0;
    }
    if (n->kind != PB_CFG_SCALAR || node_type(n, &v) != Y_BOOL) {
        return conv_err(n, "bool");
    }
    *out = v.b;
    return 0;
}

static int node_int(const struct pb_cfg *n, int64_t *out)
{
    struct yval v;
    if (n->kind != PB_CFG_SCALAR) {
        return conv_err(n, "int");
    }
    switch (node_type(n, &v)) {
    case Y_INT:
        *out = v.i;
        return 0;
    case Y_FLOAT:
        if (isfinite(v.f) && v.f < 9.2233720368547758e18 && v.f >= -9.2233720368547758e18) {
            *out = (int64_t)v.f;
            return 0;
        }
        break;
    default:
        break;
    }
    return conv_err(n, "int");
}

int pb_cfg_int(const struct pb_cfg *c, const char *path, int64_t def, int64_t *out)
{
    const struct pb_cfg *n = value_at(c, path);
    *out = def;
    if (n == NULL) {
        return 0;
    }
    int64_t v = 0;
    if (node_int(n, &v) < 0) {
        return -PB_EINVAL;
    }
    *out = v;
    return 0;
}

int pb_cfg_float(const struct pb_cfg *c, const char *path, double def, double *out)
{
    const struct pb_cfg *n = value_at(c, path);
    struct yval v;
    *out = def;
    if (n == NULL) {
        return 0;
    }
    if (n->kind == PB_CFG_SCALAR) {
        switch (node_type(n, &v)) {
        case Y_INT:
            *out = (double)v.i;
            return 0;
        case Y_UINT:
            *out = (double)v.u;
            return 0;
        case Y_FLOAT:
            *out = v.f;
            return 0;
        default:
            break;
        }
    }
    return conv_err(n, "float");
}

int pb_cfg_duration(const struct pb_cfg *c, const char *path, int64_t def_ns, int64_t *out_ns)
{
    const struct pb_cfg *n = value_at(c, path);
    struct yval v;
    *out_ns = def_ns;
    if (n == NULL) {
        return 0;
    }
    if (n->kind != PB_CFG_SCALAR) {
        return conv_err(n, "duration");
    }
    int64_t d;
    switch (node_type(n, &v)) {
    case Y_INT:
    case Y_UINT:
    case Y_FLOAT:
    case Y_STR:
        if (parse_duration_msg(n->value, &d, NULL, 0) < 0) {
            return reason_err(n);
        }
        *out_ns = d;
        return 0;
    default:
        return conv_err(n, "duration");
    }
}

int pb_cfg_size(const struct pb_cfg *c, const char *path, uint64_t def, uint64_t *out)
{
    const struct pb_cfg *n = value_at(c, path);
    struct yval v;
    *out = def;
    if (n == NULL) {
        return 0;
    }
    if (n->kind != PB_CFG_SCALAR) {
        return conv_err(n, "string");
    }
    enum ytype t = node_type(n, &v);
    if (t == Y_INT && v.i >= 0) {
        *out = (uint64_t)v.i;
        return 0;
    }
    if (t == Y_UINT) {
        *out = v.u;
        return 0;
    }
    uint64_t s;
    if (parse_size_msg(scalar_text(n), &s, NULL, 0) < 0) {
        return reason_err(n);
    }
    *out = s;
    return 0;
}

void pb_cfg_strv_free(char **v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; v[i] != NULL; i++) {
        pb_free(v[i]);
    }
    pb_free(v);
}

int pb_cfg_strv(const struct pb_cfg *c, const char *path, char ***out, size_t *n)
{
    const struct pb_cfg *node = value_at(c, path);
    size_t count = 0, k = 0;
    char **v = NULL;
    *out = NULL;
    *n = 0;
    if (node != NULL && node->kind == PB_CFG_MAP) {
        return conv_err(node, "string");
    }
    if (node != NULL && node->kind == PB_CFG_LIST) {
        for (const struct pb_cfg *it = node->child; it != NULL; it = it->next) {
            if (it->kind == PB_CFG_MAP || it->kind == PB_CFG_LIST) {
                return conv_err(it, "string");
            }
            count += it->kind == PB_CFG_SCALAR;
        }
    } else if (node != NULL) {
        count = 1;
    }
    v = pb_calloc(count + 1, sizeof *v);
    if (v == NULL) {
        set_err(NULL, 0, "out of memory");
        return -PB_ENOMEM;
    }
    if (node != NULL && node->kind == PB_CFG_SCALAR) {
        v[k] = pb_strdup(scalar_text(node));
        if (v[k++] == NULL) {
            goto oom;
        }
    } else if (node != NULL) {
        for (const struct pb_cfg *it = node->child; it != NULL; it = it->next) {
            if (it->kind != PB_CFG_SCALAR) {
                continue;
            }
            v[k] = pb_strdup(scalar_text(it));
            if (v[k++] == NULL) {
                goto oom;
            }
        }
    }
    *out = v;
    *n = count;
    return 0;
oom:
    pb_cfg_strv_free(v);
    set_err(NULL, 0, "out of memory");
    return -PB_ENOMEM;
}

static int one_port(const struct pb_cfg *it, uint16_t *port)
{
    int64_t p = 0;
    if (node_int(it, &p) < 0) {
        return -PB_EINVAL;
    }
    if (p < 1 || p > 65535) {
        char path[CFG_PATH], src[CFG_PATH];
        pb_cfg_path(it, path, sizeof path);
        src_suffix(it, src, sizeof src);
        set_err(NULL, 0, "port %lld out of range 1..65535 accessing '%s'%s", (long long)p, path,
                src);
        return -PB_EINVAL;
    }
    *port = (uint16_t)p;
    return 0;
}

static int ports_limit(const struct pb_cfg *node, size_t max)
{
    char p[CFG_PATH], src[CFG_PATH];
    pb_cfg_path(node, p, sizeof p);
    src_suffix(node, src, sizeof src);
    set_err(NULL, 0, "more than %zu ports accessing '%s'%s", max, p, src);
    return -PB_ELIMIT;
}

int pb_cfg_ports(const struct pb_cfg *c, const char *path, uint16_t *ports, size_t max, size_t *n)
{
    const struct pb_cfg *node = value_at(c, path);
    *n = 0;
    if (node == NULL) {
        return 0;
    }
    if (node->kind == PB_CFG_MAP) {
        return conv_err(node, "int");
    }
    if (node->kind == PB_CFG_SCALAR) {
        if (max < 1) {
            return ports_limit(node, max);
        }
        if (one_port(node, &ports[0]) < 0) {
            return -PB_EINVAL;
        }
        *n = 1;
        return 0;
    }
    size_t k = 0;
    for (const struct pb_cfg *it = node->child; it != NULL; it = it->next) {
        if (it->kind == PB_CFG_NULL) {
            continue;
        }
        if (k >= max) {
            return ports_limit(node, max);
        }
        if (one_port(it, &ports[k]) < 0) {
            return -PB_EINVAL;
        }
        k++;
    }
    *n = k;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned char c = *p;
        size_t n;
        uint32_t min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            min = 0x10000;
        } else {
            return false;
        }
        uint32_t r = c & (0x3F >> n);
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
            r = (r << 6) | (p[i] & 0x3F);
        }
        if (r < min || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) {
            return false;
        }
        p += n + 1;
    }
    return true;
}

/* Invalid UTF-8 bytes become U+FFFD. */
static json_t *json_str_safe(const char *s)
{
    if (utf8_valid(s)) {
        return json_string(s);
    }
    struct sbuf b = {.max = CFG_MAX_OUT};
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        if (*p < 0x80) {
            sb_addc(&b, (char)*p++);
            continue;
        }
        /* take the longest valid sequence starting here */
        size_t n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        char seq[5] = {0};
        size_t i = 0;
        for (; i < n && p[i] != '\0'; i++) {
            seq[i] = (char)p[i];
        }
        if (n > 0 && i == n && utf8_valid(seq)) {
            sb_add(&b, seq, n);
            p += n;
        } else {
            sb_add(&b, "\xEF\xBF\xBD", 3);
            p++;
        }
    }
    char *t = sb_take(&b);
    json_t *j = t != NULL ? json_string(t) : NULL;
    pb_free(t);
    return j;
}

json_t *pb_cfg_to_json(const struct pb_cfg *c)
{
    struct yval v;
    if (c == NULL) {
        return NULL;
    }
    switch (c->kind) {
    case PB_CFG_NULL:
        return json_null();
    case PB_CFG_SCALAR:
        switch (node_type(c, &v)) {
        case Y_NULL:
            return json_null();
        case Y_BOOL:
            return json_boolean(v.b);
        case Y_INT:
            return json_integer((json_int_t)v.i);
        case Y_UINT:
            return json_real((double)v.u);
        case Y_FLOAT:
            if (isfinite(v.f)) {
                return json_real(v.f);
            }
            return json_string(c->value);
        default:
            return json_str_safe(c->value != NULL ? c->value : "");
        }
    case PB_CFG_MAP: {
        json_t *o = json_object();
        if (o == NULL) {
            return NULL;
        }
        for (const struct pb_cfg *it = c->child; it != NULL; it = it->next) {
            json_t *cv = pb_cfg_to_json(it);
            const char *k = it->key != NULL ? it->key : "";
            if (cv == NULL) {
                json_decref(o);
                return NULL;
            }
            json_t *ks = NULL;
            if (!utf8_valid(k)) {
                ks = json_str_safe(k);
                if (ks == NULL) {
                    json_decref(cv);
                    json_decref(o);
                    return NULL;
                }
                k = json_string_value(ks);
            }
            int rc = json_object_set_new(o, k, cv);
            json_decref(ks);
            if (rc < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case PB_CFG_LIST: {
        json_t *a = json_array();
        if (a == NULL) {
            return NULL;
        }
        for (const struct pb_cfg *it = c->child; it != NULL; it = it->next) {
            json_t *cv = pb_cfg_to_json(it);
            if (cv == NULL || json_array_append_new(a, cv) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* YAML output                                                               */

/* Safe as a plain block scalar that reads back as the same string. */
static bool plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1])) {
        return false;
    }
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) != NULL || s[n - 1] == ':') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        if (c == ':' && s[i + 1] == ' ') {
            return false;
        }
        if (c == '#' && i > 0 && s[i - 1] == ' ') {
            return false;
        }
    }
    return true;
}

/* A string as YAML: plain when it reads back as this string, else double
 * quoted. In values (not keys, which are not expanded) "${" is written "$${"
 * so that loading does not expand it. */
static void y_string(struct sbuf *b, const char *s, bool value)
{
    struct yval v;
    if (plain_ok(s) && yaml_type(s, &v) == Y_STR && (!value || strstr(s, "${") == NULL) &&
        (value || strcmp(s, "<<") != 0)) {
        sb_adds(b, s);
        return;
    }
    sb_addc(b, '"');
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        if (value && c == '$' && p[1] == '{') {
            sb_add(b, "$$", 2);
        } else if (c == '"' || c == '\\') {
            sb_addc(b, '\\');
            sb_addc(b, (char)c);
        } else if (c == '\n') {
            sb_adds(b, "\\n");
        } else if (c == '\t') {
            sb_adds(b, "\\t");
        } else if (c == '\r') {
            sb_adds(b, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            sb_adds(b, esc);
        } else {
            sb_addc(b, (char)c);
        }
    }
    sb_addc(b, '"');
}

static void y_scalar(struct sbuf *b, const struct pb_cfg *n)
{
    struct yval v;
    if (n->kind == PB_CFG_NULL) {
        sb_adds(b, "null");
        return;
    }
    switch (node_type(n, &v)) {
    case Y_NULL:
        sb_adds(b, "null");
        return;
    case Y_BOOL:
        sb_adds(b, v.b ? "true" : "false");
        return;
    case Y_INT:
    case Y_UINT:
    case Y_FLOAT:
        sb_adds(b, n->value);
        return;
    default:
        y_string(b, n->value != NULL ? n->value : "", true);
        return;
    }
}

static void y_indent(struct sbuf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        sb_addc(b, ' ');
    }
}

static int key_cmp(const void *a, const void *b)
{
    const struct pb_cfg *x = *(const struct pb_cfg *const *)a;
    const struct pb_cfg *y = *(const struct pb_cfg *const *)b;
    return strcmp(x->key != NULL ? x->key : "", y->key != NULL ? y->key : "");
}

static void y_list(struct sbuf *b, const struct pb_cfg *l, unsigned indent, bool inline_first);

static bool is_empty_container(const struct pb_cfg *n)
{
    return (n->kind == PB_CFG_MAP || n->kind == PB_CFG_LIST) && n->child == NULL;
}

static void y_empty(struct sbuf *b, const struct pb_cfg *n)
{
    sb_adds(b, n->kind == PB_CFG_MAP ? "{}" : "[]");
}

/* Map entries sorted by key, as yaml.v2 writes maps. */
static void y_map(struct sbuf *b, const struct pb_cfg *m, unsigned indent, bool inline_first)
{
    size_t n = m->nchild, k = 0;
    const struct pb_cfg **v = pb_calloc(n != 0 ? n : 1, sizeof *v);
    if (v == NULL) {
        b->bad = true;
        return;
    }
    for (const struct pb_cfg *it = m->child; it != NULL && k < n; it = it->next) {
        v[k++] = it;
    }
    qsort(v, k, sizeof *v, key_cmp);
    for (size_t i = 0; i < k && !b->bad; i++) {
        const struct pb_cfg *it = v[i];
        if (i > 0 || !inline_first) {
            y_indent(b, indent);
        }
        y_string(b, it->key != NULL ? it->key : "", false);
        sb_addc(b, ':');
        if (is_empty_container(it)) {
            sb_addc(b, ' ');
            y_empty(b, it);
            sb_addc(b, '\n');
        } else if (it->kind == PB_CFG_MAP) {
            sb_addc(b, '\n');
            y_map(b, it, indent + 2, false);
        } else if (it->kind == PB_CFG_LIST) {
            sb_addc(b, '\n');
            y_list(b, it, indent, false);
        } else {
            sb_addc(b, ' ');
            y_scalar(b, it);
            sb_addc(b, '\n');
        }
    }
    pb_free(v);
}

static void y_list(struct sbuf *b, const struct pb_cfg *l, unsigned indent, bool inline_first)
{
    bool first = true;
    for (const struct pb_cfg *it = l->child; it != NULL && !b->bad; it = it->next) {
        if (!first || !inline_first) {
            y_indent(b, indent);
        }
        first = false;
        sb_adds(b, "- ");
        if (is_empty_container(it)) {
            y_empty(b, it);
            sb_addc(b, '\n');
        } else if (it->kind == PB_CFG_MAP) {
            y_map(b, it, indent + 2, true);
        } else if (it->kind == PB_CFG_LIST) {
            y_list(b, it, indent + 2, true);
        } else {
            y_scalar(b, it);
            sb_addc(b, '\n');
        }
    }
}

char *pb_cfg_to_yaml(const struct pb_cfg *c)
{
    struct sbuf b = {.max = CFG_MAX_OUT};
    if (c == NULL) {
        return NULL;
    }
    if (is_empty_container(c)) {
        y_empty(&b, c);
        sb_addc(&b, '\n');
    } else if (c->kind == PB_CFG_MAP) {
        y_map(&b, c, 0, false);
    } else if (c->kind == PB_CFG_LIST) {
        y_list(&b, c, 0, false);
    } else {
        y_scalar(&b, c);
        sb_addc(&b, '\n');
    }
    return sb_take(&b);
}

/* ------------------------------------------------------------------------ */
/* strict.perms                                                              */

/* filepath.Abs: cwd joined and cleaned. */
static void abs_path(const char *path, char *out, size_t n)
{
    char cwd[4096];
    struct sbuf raw = {.max = 65536};
    if (path[0] != '/') {
        if (getcwd(cwd, sizeof cwd) == NULL) {
            snprintf(out, n, "%s", path);
            return;
        }
        sb_adds(&raw, cwd);
        sb_addc(&raw, '/');
    }
    sb_adds(&raw, path);
    if (raw.bad || raw.p == NULL) {
        pb_free(raw.p);
        snprintf(out, n, "%s", path);
        return;
    }
    /* Clean: drop "" and "." parts, ".." removes the part before it */
    size_t nseg = 0;
    const char *segs[1024];
    size_t lens[1024];
    const char *p = raw.p;
    while (*p != '\0') {
        while (*p == '/') {
            p++;
        }
        const char *s = p;
        while (*p != '\0' && *p != '/') {
            p++;
        }
        size_t l = (size_t)(p - s);
        if (l == 0 || (l == 1 && s[0] == '.')) {
            continue;
        }
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (nseg > 0) {
                nseg--;
            }
            continue;
        }
        if (nseg < 1024) {
            segs[nseg] = s;
            lens[nseg] = l;
            nseg++;
        }
    }
    size_t o = 0;
    out[0] = '\0';
    if (nseg == 0) {
        snprintf(out, n, "/");
    }
    for (size_t i = 0; i < nseg && o < n; i++) {
        int w = snprintf(out + o, n - o, "/%.*s", (int)lens[i], segs[i]);
        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
    pb_free(raw.p);
}

int pb_cfg_check_perms(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (path == NULL) {
        set_err(err, errlen, "no config file");
        return -PB_EINVAL;
    }
    if (stat(path, &st) != 0) {
        char es[128];
        go_errstr(errno, es, sizeof es);
        set_err(err, errlen, "stat %s: %s", path, es);
        return -PB_EINVAL;
    }
    uid_t euid = geteuid();
    if (st.st_uid != 0 && st.st_uid != euid) {
        set_err(err, errlen,
                "config file (\"%s\") must be owned by the user identifier (uid=%u) or root", path,
                (unsigned)euid);
        return -PB_EINVAL;
    }
    unsigned perm = (unsigned)st.st_mode & 0777u;
    if ((perm & 0022u) != 0) {
        char mode[11] = "-rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            if ((perm & (1u << (8 - i))) == 0) {
                mode[1 + i] = '-';
            }
        }
        char abs[4096];
        abs_path(path, abs, sizeof abs);
        set_err(err, errlen,
                "config file (\"%s\") can only be writable by the owner but the permissions are "
                "\"%s\" (to fix the permissions use: 'chmod go-w %s')",
                path, mode, abs);
        return -PB_EINVAL;
    }
    return 0;
}
