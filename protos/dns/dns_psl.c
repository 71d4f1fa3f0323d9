/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_psl.c - registered domain (eTLD+1) of a question name,
 * as Go's golang.org/x/net/publicsuffix.EffectiveTLDPlusOne computes it
 * (the Public Suffix List with its ICANN and private sections, and the
 * implicit "*" rule for unknown TLDs). With libpsl (PB_HAVE_PSL) the
 * newest list on the system is used; without it only the "*" rule and a
 * few well-known multi-label suffixes apply.
 *
 * libpsl's own test costs thousands of instructions a suffix. When the list
 * libpsl picked is the distribution's DAFSA file, we read that file too and
 * answer printable ASCII names with our own walk over its graph, giving
 * libpsl's answers; anything else still goes to libpsl. Each worker keeps a
 * memo of the answers for the suffixes it looked up last.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dns_parse.h"

/* libpsl looks at the last nine labels of a name only. */
enum { PSL_LABELS = 9, RC_UNKNOWN = -2 };

/* A name and the starts of its last labels: level 0 is the last label,
   level k - 1 the name (or its last PSL_LABELS labels). */
struct psl_q {
    const char *name;
    size_t n;
    size_t start[PSL_LABELS];
    uint64_t hash[PSL_LABELS]; /* of each level's suffix (FNV-1a from its end) */
    int k;
    bool plain; /* only bytes the walker takes, in the levels looked at */
    int rc[PSL_LABELS];
};

#ifdef PB_HAVE_PSL
#include <errno.h>
#include <fcntl.h>
#include <libpsl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/alloc.h"

/* Rule flags in the graph's return values (psl-make-dafsa). */
enum { DAFSA_EXCEPTION = 1, DAFSA_WILDCARD = 2 };
enum { DAFSA_HEAD = 16, DAFSA_MAX = 64 << 20 };
static const char dafsa_head[DAFSA_HEAD + 1] = ".DAFSA@PSL_0   \n";
#define NO_CHILD UINT32_MAX

/* Lists of BIG_LIST children or more, up to IDX_DEPTH labels down from the
   source (where the lists are long, and every walk goes), are indexed in
   graphs under IDX_LIMIT bytes: a hash from the list's start and a byte to
   the child. */
enum { BIG_LIST = 6, IDX_DEPTH = 2, IDX_LIMIT = 1 << 24 };
struct idx_slot {
    uint32_t key; /* start << 8 | byte; 0: empty (the byte is never 0) */
    uint32_t child;
};

struct dns_psl_walk {
    const uint8_t *graph; /* the file past its header line */
    size_t glen;
    uint64_t *big;        /* a bit per list start: indexed */
    struct idx_slot *idx; /* NULL: every list is scanned */
    uint32_t mask;
    unsigned shift;
};

struct psl_data {
    psl_ctx_t *owned; /* from psl_latest, or NULL */
    const psl_ctx_t *ctx;
    uint8_t *buf;             /* the file read, or NULL: no walker */
    struct dns_psl_walk walk; /* over buf */
};

static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct psl_data psl_store;
static _Atomic(struct psl_data *) psl_ready;
/* Bumped when the list is released: every memo starts anew. */
static atomic_uint psl_gen;

typedef const struct psl_data *psl_ref;

/* Bytes the walker answers for; the rest go to libpsl (UTF-8, which libpsl
   transcodes, and control bytes, which could meet the graph's own). */
static bool walk_byte(uint8_t b)
{
    return b > 0x20 && b < 0x7f;
}

/* The graph (psl-make-dafsa's format): a node is a label, chars with the
   high bit clear, then either a char with it set (and a list of offsets to
   the children) or a return value 0x80..0x9f (the key's flags). The list
   starts at 0 for the source; its offsets take 1, 2 or 3 bytes (by bits
   0x60), the first counted from the list's start, the others from the
   previous child; bit 0x80 ends the list.

   The next child: pos reads the list, off is where the previous child
   starts. False past the last one. Offsets off the end stay at the end (a
   child there matches nothing). */
static inline bool dafsa_next(const uint8_t *g, size_t end, size_t *pos, size_t *off)
{
    size_t p = *pos;
    if (p >= end || end - p <= 2) {
        return false; /* as libpsl: an offset needs room for two nodes after it */
    }
    uint8_t b = g[p];
    size_t add = b & 0x3f, len = 1;
    if ((b & 0x40) != 0) {
        add = (size_t)(b & 0x1f) << 8 | g[p + 1];
        len = 2;
        if ((b & 0x20) != 0) {
            add = add << 8 | g[p + 2];
            len = 3;
        }
    }
    *off = add >= end - *off ? end : *off + add;
    *pos = (b & 0x80) != 0 ? end : p + len;
    return true;
}

static uint32_t idx_get(const struct dns_psl_walk *w, uint32_t key)
{
    for (uint32_t i = (key * 2654435761u) >> w->shift;; i = (i + 1) & w->mask) {
        if (w->idx[i].key == key) {
            return w->idx[i].child;
        }
        if (w->idx[i].key == 0) {
            return NO_CHILD;
        }
    }
}

/* The flags of key (of bytes walk_byte takes) in the graph, or -1, as
   libpsl's lookup gives them. libpsl tries the children in order and stops
   at the first whose first byte is the key's next char (as a char, or as a
   label's last char): for the bytes we take, no later child can count, so
   a big list is looked up in the index. With the key used up, the first
   child that is a return value answers. */
static int dafsa_find(const struct dns_psl_walk *w, const char *key, size_t len)
{
    const uint8_t *g = w->graph;
    const size_t end = w->glen;
    size_t pos = 0, off = 0, k = 0, o;
    for (;;) {
        if (k == len) {
            while (dafsa_next(g, end, &pos, &off)) {
                if (off < end && (g[off] & 0xe0) == 0x80) {
                    return g[off] & 0x0f;
                }
            }
            return -1;
        }
        uint8_t c = (uint8_t)key[k];
        if (w->idx != NULL && pos < end && (w->big[pos / 64] >> (pos % 64) & 1) != 0) {
            uint32_t f = idx_get(w, (uint32_t)pos << 8 | c);
            if (f == NO_CHILD) {
                return -1;
            }
            o = f;
        } else {
            do {
                if (!dafsa_next(g, end, &pos, &off)) {
                    return -1;
                }
            } while (off >= end || (g[off] & 0x7f) != c);
            o = off;
        }
        if (g[o] == c) { /* chars, up to the label's last */
            o++;
            k++;
            for (;; o++, k++) {
                if (o >= end) {
                    return -1;
                }
                if ((g[o] & 0x80) != 0) {
                    break;
                }
                if (k == len || g[o] != (uint8_t)key[k]) {
                    return -1;
                }
            }
            if (k == len) {
                return (g[o] & 0xe0) == 0x80 ? g[o] & 0x0f : -1;
            }
            if (g[o] != ((uint8_t)key[k] | 0x80)) {
                return -1;
            }
        }
        k++;
        pos = off = o + 1; /* into the child's list */
    }
}

/* Building the index: the lists a walk can reach, from the source's on,
   each once, nearest first; the work is bounded by the graph's size (a
   damaged graph may get no index, and is scanned). */
struct idx_build {
    const uint8_t *g;
    size_t n, budget;
    uint64_t *seen, *big;
    uint32_t *queue; /* start << 8 | depth */
    uint32_t *keys, *kids;
    size_t head, tail, qcap, nkeys, cap;
};

static bool idx_spend(struct idx_build *b, size_t cost)
{
    if (b->budget < cost) {
        return false;
    }
    b->budget -= cost;
    return true;
}

/* Room for one more in *a (of *cap), or false. */
static bool idx_room(uint32_t **a, size_t n, size_t *cap)
{
    if (n < *cap) {
        return true;
    }
    size_t c = *cap != 0 ? *cap * 2 : 256;
    uint32_t *m = pb_realloc(*a, c * sizeof *m);
    if (m == NULL) {
        return false;
    }
    *a = m;
    *cap = c;
    return true;
}

static bool idx_note(struct idx_build *b, uint32_t key, uint32_t child)
{
    size_t cap = b->cap;
    if (!idx_room(&b->keys, b->nkeys, &cap) || !idx_room(&b->kids, b->nkeys, &b->cap)) {
        return false;
    }
    b->keys[b->nkeys] = key;
    b->kids[b->nkeys++] = child;
    return true;
}

/* The list at p: the lists its children lead to are queued, and its first
   child by each byte noted (and dropped again for a short list). */
static bool idx_list(struct idx_build *b, size_t p, unsigned depth)
{
    const uint8_t *g = b->g;
    size_t pos = p, off = p, count = 0, had_keys = b->nkeys;
    uint64_t had[2] = {0};
    while (dafsa_next(g, b->n, &pos, &off)) {
        count++;
        if (!idx_spend(b, 1)) {
            return false;
        }
        if (off >= b->n) {
            continue;
        }
        uint8_t c = g[off] & 0x7f;
        if (walk_byte(c) && (had[c / 64] >> (c % 64) & 1) == 0) {
            had[c / 64] |= (uint64_t)1 << (c % 64);
            if (!idx_note(b, (uint32_t)p << 8 | c, (uint32_t)off)) {
                return false;
            }
        }
        size_t o = off;
        while (o < b->n && g[o] < 0x80) {
            o++;
        }
        if (!idx_spend(b, o - off)) {
            return false;
        }
        size_t t = o + 1;
        if (depth < IDX_DEPTH && o < b->n && g[o] >= 0xa0 && walk_byte(g[o] & 0x7f) && t < b->n &&
            (b->seen[t / 64] >> (t % 64) & 1) == 0) {
            if (!idx_room(&b->queue, b->tail, &b->qcap)) {
                return false;
            }
            b->seen[t / 64] |= (uint64_t)1 << (t % 64);
            b->queue[b->tail++] = (uint32_t)t << 8 | (depth + 1);
        }
    }
    if (count < BIG_LIST) {
        b->nkeys = had_keys;
    } else {
        b->big[p / 64] |= (uint64_t)1 << (p % 64);
    }
    return true;
}

static void dafsa_index(struct dns_psl_walk *w)
{
    size_t n = w->glen, words = n / 64 + 1;
    if (n == 0 || n >= IDX_LIMIT) {
        return;
    }
    struct idx_build b = {.g = w->graph, .n = n, .budget = 64 * n + 65536};
    b.seen = pb_calloc(words, sizeof *b.seen);
    b.big = pb_calloc(words, sizeof *b.big);
    bool ok = b.seen != NULL && b.big != NULL && idx_room(&b.queue, 0, &b.qcap);
    if (ok) {
        b.seen[0] = 1;
        b.queue[b.tail++] = 0;
    }
    while (ok && b.head < b.tail) {
        uint32_t e = b.queue[b.head++];
        ok = idx_list(&b, e >> 8, e & 0xff);
    }
    ok = ok && b.nkeys < (size_t)1 << 26;
    unsigned bits = 4;
    while (((size_t)1 << bits) < b.nkeys + b.nkeys / 2 + 1) {
        bits++;
    }
    struct idx_slot *idx = ok ? pb_calloc((size_t)1 << bits, sizeof *idx) : NULL;
    if (idx != NULL) {
        w->idx = idx;
        w->big = b.big;
        b.big = NULL;
        w->mask = ((uint32_t)1 << bits) - 1;
        w->shift = 32 - bits;
        for (size_t i = 0; i < b.nkeys; i++) {
            uint32_t j = (b.keys[i] * 2654435761u) >> w->shift;
            while (idx[j].key != 0) {
                j = (j + 1) & w->mask;
            }
            idx[j].key = b.keys[i];
            idx[j].child = b.kids[i];
        }
    }
    pb_free(b.big);
    pb_free(b.seen);
    pb_free(b.queue);
    pb_free(b.keys);
    pb_free(b.kids);
}

static void walk_init(struct dns_psl_walk *w, const uint8_t *graph, size_t len, bool index)
{
    memset(w, 0, sizeof *w);
    w->graph = graph;
    w->glen = len;
    if (index) {
        dafsa_index(w);
    }
}

static void walk_fini(struct dns_psl_walk *w)
{
    pb_free(w->idx);
    pb_free(w->big);
    memset(w, 0, sizeof *w);
}

/* psl_is_public_suffix on s by the walker: 1 or 0, or -1 when libpsl has to
   answer. A single label is public (the "*" rule); else a rule for s says
   (an exception: not public), else a wildcard rule for its parent. */
static int walk_public(const struct dns_psl_walk *w, const char *s)
{
    if (*s == '.') {
        s++;
    }
    size_t n = 0, dots = 0, dot = 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] == '.') {
            if (dots++ == 0) {
                dot = n;
            }
        } else if (!walk_byte((uint8_t)s[n])) {
            return -1;
        }
    }
    if (dots > 200) {
        return -1; /* libpsl has a limit of its own for such names */
    }
    if (dots == 0) {
        return 1;
    }
    int rc = dafsa_find(w, s, n);
    if (rc >= 0) {
        return (rc & DAFSA_EXCEPTION) == 0;
    }
    rc = dafsa_find(w, s + dot + 1, n - dot - 1);
    return rc >= 0 && (rc & DAFSA_WILDCARD) != 0;
}

static int level_rc(psl_ref d, struct psl_q *q, int i)
{
    if (q->rc[i] == RC_UNKNOWN) {
        q->rc[i] = dafsa_find(&d->walk, q->name + q->start[i], q->n - q->start[i]);
    }
    return q->rc[i];
}

/* Whether the suffix of level i is public: walk_public, the parent's lookup
   shared with the level below. */
static bool public_at(psl_ref d, struct psl_q *q, int i)
{
    if (i == 0) {
        return true;
    }
    if (d->buf == NULL || !q->plain) {
        return psl_is_public_suffix(d->ctx, q->name + q->start[i]) != 0;
    }
    int rc = level_rc(d, q, i);
    if (rc >= 0) {
        return (rc & DAFSA_EXCEPTION) == 0;
    }
    rc = level_rc(d, q, i - 1);
    return rc >= 0 && (rc & DAFSA_WILDCARD) != 0;
}

/* The whole file, if it is the one stat saw. NULL on any doubt. */
static uint8_t *read_same(const char *path, const struct stat *was, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || st.st_dev != was->st_dev || st.st_ino != was->st_ino ||
        st.st_size != was->st_size || st.st_mtim.tv_sec != was->st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != was->st_mtim.tv_nsec || st.st_ctim.tv_sec != was->st_ctim.tv_sec ||
        st.st_ctim.tv_nsec != was->st_ctim.tv_nsec || st.st_size <= DAFSA_HEAD ||
        st.st_size > DAFSA_MAX) {
        goto out;
    }
    size_t want = (size_t)st.st_size, got = 0;
    buf = pb_malloc(want + 1);
    if (buf == NULL) {
        goto out;
    }
    while (got <= want) { /* one byte more: the file must end where stat said */
        ssize_t r = read(fd, buf + got, want + 1 - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    if (got != want) {
        pb_free(buf);
        buf = NULL;
    }
    *len = got;
out:
    close(fd);
    return buf;
}

/* Whether psl_latest(NULL) takes the distribution file: it tries the files
   newer than the built-in list, newest first (the distribution file first
   on a tie). */
static bool dist_first(const char *dist, struct stat *st)
{
    time_t built = psl_builtin_file_time();
    if (dist == NULL || *dist == '\0' || stat(dist, st) != 0 || st->st_mtime <= built) {
        return false;
    }
    const char *other = psl_builtin_filename();
    struct stat os;
    return other == NULL || *other == '\0' || stat(other, &os) != 0 || os.st_mtime <= st->st_mtime;
}

/* A few names whose answers the walker must give as libpsl does, else it
   is not used. */
static const char *const psl_probes[] = {
    "com",
    "co.uk",
    "example.co.uk",
    "blogspot.com",
    "x.blogspot.com",
    "ck",
    "x.ck",
    "www.ck",
    "kawasaki.jp",
    "x.kawasaki.jp",
    "city.kawasaki.jp",
    "github.io",
    "x.github.io",
    "in-addr.arpa",
    "example.com",
    "x.y.example.com",
};

/* Our walker over the file libpsl loaded, when it is the distribution's
   DAFSA; d->buf stays NULL otherwise. */
static void walker_load(struct psl_data *d, const char *dist, const struct stat *was)
{
    size_t len = 0;
    uint8_t *buf = read_same(dist, was, &len);
    if (buf == NULL) {
        return;
    }
    if (memcmp(buf, dafsa_head, DAFSA_HEAD) != 0) {
        pb_free(buf);
        return;
    }
    walk_init(&d->walk, buf + DAFSA_HEAD, len - DAFSA_HEAD, true);
    for (size_t i = 0; i < sizeof psl_probes / sizeof psl_probes[0]; i++) {
        const char *s = psl_probes[i];
        if (walk_public(&d->walk, s) != (psl_is_public_suffix(d->ctx, s) != 0)) {
            walk_fini(&d->walk);
            pb_free(buf);
            return;
        }
    }
    d->buf = buf;
}

static psl_ref psl_get(void)
{
    struct psl_data *d = atomic_load_explicit(&psl_ready, memory_order_acquire);
    if (d != NULL) {
        return d->ctx != NULL ? d : NULL;
    }
    pthread_mutex_lock(&psl_lock);
    d = atomic_load_explicit(&psl_ready, memory_order_relaxed);
    if (d == NULL) {
        d = &psl_store;
        memset(d, 0, sizeof *d);
        struct stat st;
        const char *dist = psl_dist_filename();
        bool first = dist_first(dist, &st);
        d->owned = psl_latest(NULL);
        d->ctx = d->owned != NULL ? d->owned : psl_builtin();
        if (d->owned != NULL && d->ctx == psl_builtin()) {
            d->owned = NULL; /* psl_latest gave the built-in list */
        }
        /* a loaded DAFSA file counts no suffixes */
        if (first && d->owned != NULL && psl_suffix_count(d->ctx) == -1) {
            walker_load(d, dist, &st);
        }
        atomic_store_explicit(&psl_ready, d, memory_order_release);
    }
    pthread_mutex_unlock(&psl_lock);
    return d->ctx != NULL ? d : NULL;
}

void dns_psl_load(void)
{
    (void)psl_get();
}

void dns_psl_release(void)
{
    pthread_mutex_lock(&psl_lock);
    struct psl_data *d = atomic_exchange(&psl_ready, NULL);
    atomic_fetch_add_explicit(&psl_gen, 1, memory_order_relaxed);
    if (d != NULL) {
        if (d->owned != NULL) {
            psl_free(d->owned);
        }
        walk_fini(&d->walk);
        pb_free(d->buf);
        memset(d, 0, sizeof *d);
    }
    pthread_mutex_unlock(&psl_lock);
}

static const char *registrable(psl_ref d, const char *name)
{
    return psl_registrable_domain(d->ctx, name);
}

bool dns_psl_walker(void)
{
    psl_ref d = psl_get();
    return d != NULL && d->buf != NULL;
}

int dns_psl_public(const char *s)
{
    psl_ref d = psl_get();
    if (d == NULL) {
        return 1;
    }
    int r = d->buf != NULL ? walk_public(&d->walk, s) : -1;
    return r >= 0 ? r : psl_is_public_suffix(d->ctx, s) != 0;
}

struct dns_psl_walk *dns_psl_walk_new(const uint8_t *graph, size_t len, bool index)
{
    struct dns_psl_walk *w = pb_malloc(sizeof *w);
    if (w != NULL) {
        walk_init(w, graph, len, index);
    }
    return w;
}

bool dns_psl_walk_indexed(const struct dns_psl_walk *w)
{
    return w->idx != NULL;
}

int dns_psl_walk_public(const struct dns_psl_walk *w, const char *s)
{
    return walk_public(w, s);
}

void dns_psl_walk_free(struct dns_psl_walk *w)
{
    if (w != NULL) {
        walk_fini(w);
        pb_free(w);
    }
}

/* ---- the memo ---------------------------------------------------------- */

/* Names repeat in traffic, and so do their suffixes (every name under
   "com" asks for "com"), while each walk costs a few hundred instructions.
   A memo, one a worker, keeps for the suffixes looked up last the walk's
   answer and the suffix's own registered domain: a name asked before is
   answered by one probe, a new name under known suffixes walks its new
   levels only. Two ways a set, the one used last kept. */
enum { MEMO_KEY = 56, MEMO_WAYS = 2, MEMO_SETS = 256 };
struct memo_ent {
    uint32_t tag; /* hash bits besides the set's */
    uint8_t len;  /* of key; 0: empty */
    int8_t rc;    /* dafsa_find's answer for the suffix */
    uint8_t reg;  /* length of the suffix's registered domain, 0: none */
    char key[MEMO_KEY];
};
_Static_assert(sizeof(struct memo_ent) == 64, "an entry a cache line");

struct dns_psl_memo {
    unsigned gen;  /* psl_gen when the entries were made */
    uint32_t mask; /* sets - 1 (a power of two) */
    uint8_t *mru;  /* per set: the way used last */
    struct memo_ent *ent;
};

struct dns_psl_memo *dns_psl_memo_new(size_t sets)
{
    size_t n = 1;
    sets = sets != 0 ? sets : MEMO_SETS;
    while (n < sets && n < ((size_t)1 << 20)) {
        n *= 2;
    }
    struct dns_psl_memo *m = pb_calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    m->mask = (uint32_t)(n - 1);
    m->gen = atomic_load_explicit(&psl_gen, memory_order_relaxed);
    m->mru = pb_calloc(n, 1);
    m->ent = pb_calloc(n * MEMO_WAYS, sizeof *m->ent);
    if (m->mru == NULL || m->ent == NULL) {
        dns_psl_memo_free(m);
        return NULL;
    }
    return m;
}

void dns_psl_memo_free(struct dns_psl_memo *m)
{
    if (m != NULL) {
        pb_free(m->mru);
        pb_free(m->ent);
        pb_free(m);
    }
}

/* The set (*set) and tag of a suffix's hash. */
static inline uint32_t memo_slot(const struct dns_psl_memo *m, uint64_t h, size_t *set)
{
    uint64_t x = h * 0x9e3779b97f4a7c15ull;
    *set = (size_t)(x >> 32) & m->mask;
    return (uint32_t)x;
}

/* The entry of level i of q, or NULL. */
static const struct memo_ent *memo_find(struct dns_psl_memo *m, const struct psl_q *q, int i)
{
    size_t len = q->n - q->start[i], set;
    if (len > MEMO_KEY) {
        return NULL;
    }
    uint32_t tag = memo_slot(m, q->hash[i], &set);
    struct memo_ent *e = &m->ent[set * MEMO_WAYS];
    for (unsigned w = 0; w < MEMO_WAYS; w++) {
        if (e[w].tag == tag && e[w].len == len &&
            memcmp(e[w].key, q->name + q->start[i], len) == 0) {
            m->mru[set] = (uint8_t)w;
            return &e[w];
        }
    }
    return NULL;
}

/* Keeps level i of q (in the way not used last). */
static void memo_put(struct dns_psl_memo *m, const struct psl_q *q, int i, int rc, size_t reg)
{
    size_t len = q->n - q->start[i], set;
    if (len > MEMO_KEY) {
        return;
    }
    uint32_t tag = memo_slot(m, q->hash[i], &set);
    unsigned w = m->mru[set] == 0 ? 1 : 0;
    struct memo_ent *e = &m->ent[set * MEMO_WAYS + w];
    e->tag = tag;
    e->len = (uint8_t)len;
    e->rc = (int8_t)rc;
    e->reg = (uint8_t)reg;
    memcpy(e->key, q->name + q->start[i], len);
    m->mru[set] = (uint8_t)w;
}

/* The registered domain of q (a name of walk_byte chars) through memo m:
   from the name down, the first level kept; from there up, level by
   level, what libpsl's search from the top gives: no registered domain
   for a public suffix, else the one of the level below, else the level
   itself (a level's answers depend on its own bytes only). */
static const char *memo_registered(psl_ref d, struct dns_psl_memo *m, struct psl_q *q)
{
    unsigned gen = atomic_load_explicit(&psl_gen, memory_order_relaxed);
    if (m->gen != gen) {
        memset(m->ent, 0, ((size_t)m->mask + 1) * MEMO_WAYS * sizeof *m->ent);
        m->gen = gen;
    }
    int j = q->k - 1; /* the level of the hit, or -1 */
    const struct memo_ent *hit = NULL;
    while (j >= 0 && (hit = memo_find(m, q, j)) == NULL) {
        j--;
    }
    int below = -1; /* the answer for the level below */
    size_t reg = 0;
    if (hit != NULL) {
        below = hit->rc;
        reg = hit->reg;
    }
    for (int i = j + 1; i < q->k; i++) {
        size_t len = q->n - q->start[i];
        int rc = dafsa_find(&d->walk, q->name + q->start[i], len);
        /* public_at: a single label always */
        bool pub = i == 0 || (rc >= 0 ? (rc & DAFSA_EXCEPTION) == 0
                                      : below >= 0 && (below & DAFSA_WILDCARD) != 0);
        reg = pub ? 0 : reg != 0 ? reg : len;
        memo_put(m, q, i, rc, reg);
        below = rc;
    }
    return reg != 0 ? q->name + q->n - reg : NULL;
}

static bool memo_answers(psl_ref d, struct dns_psl_memo *m, struct psl_q *q, const char **reg)
{
    if (m == NULL || d->buf == NULL || !q->plain) {
        return false;
    }
    *reg = memo_registered(d, m, q);
    return true;
}

#else

typedef const char *psl_ref;

static psl_ref psl_get(void)
{
    return "";
}

void dns_psl_load(void)
{
}

void dns_psl_release(void)
{
}

/* A few two-label public suffixes for builds without libpsl. */
static const char *const fallback[] = {
    "co.uk", "org.uk", "ac.uk",  "gov.uk", "com.au", "net.au",       "org.au",   "co.jp",
    "co.nz", "co.za",  "com.br", "com.cn", "com.mx", "in-addr.arpa", "ip6.arpa",
};

static bool public_suffix(psl_ref c, const char *s)
{
    (void)c;
    if (strchr(s, '.') == NULL) {
        return true; /* the implicit "*" rule */
    }
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        if (strcmp(s, fallback[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool public_at(psl_ref c, struct psl_q *q, int i)
{
    return public_suffix(c, q->name + q->start[i]);
}

static const char *registrable(psl_ref c, const char *name)
{
    const char *reg = NULL;
    const char *d = name;
    while (!public_suffix(c, d)) {
        const char *p = strchr(d, '.');
        if (p == NULL) {
            break;
        }
        reg = d;
        d = p + 1;
    }
    return reg;
}

bool dns_psl_walker(void)
{
    return false;
}

int dns_psl_public(const char *s)
{
    return public_suffix(psl_get(), s);
}

struct dns_psl_walk *dns_psl_walk_new(const uint8_t *graph, size_t len, bool index)
{
    (void)graph;
    (void)len;
    (void)index;
    return NULL;
}

bool dns_psl_walk_indexed(const struct dns_psl_walk *w)
{
    (void)w;
    return false;
}

int dns_psl_walk_public(const struct dns_psl_walk *w, const char *s)
{
    (void)w;
    (void)s;
    return -1;
}

void dns_psl_walk_free(struct dns_psl_walk *w)
{
    (void)w;
}

struct dns_psl_memo *dns_psl_memo_new(size_t sets)
{
    (void)sets;
    return NULL;
}

void dns_psl_memo_free(struct dns_psl_memo *m)
{
    (void)m;
}

static bool memo_answers(psl_ref d, struct dns_psl_memo *m, struct psl_q *q, const char **reg)
{
    (void)d;
    (void)m;
    (void)q;
    (void)reg;
    return false;
}
#endif

static bool valid_name(const char *name, size_t n)
{
    /* Go refuses empty labels anywhere. */
    return n > 0 && name[0] != '.' && name[n - 1] != '.' && strstr(name, "..") == NULL;
}

const char *dns_etld_plus_one_uncached(const char *name)
{
    if (!valid_name(name, strlen(name))) {
        return NULL;
    }
    psl_ref c = psl_get();
    return c != NULL ? registrable(c, name) : NULL;
}

/* libpsl's psl_registrable_domain, each suffix tested by public_at: from
   the name (its last nine labels) down, the first public suffix ends the
   search, and the suffix one label longer is the registered domain. */
const char *dns_etld_plus_one(const char *name)
{
    return dns_etld_plus_one_n(NULL, name, strlen(name));
}

/* Bytes of a name as dns_etld_plus_one_n reads them: the walker's (0), the
   dot, the others. */
enum { BYTE_DOT = 1, BYTE_ODD = 2 };
#define ODD4 BYTE_ODD, BYTE_ODD, BYTE_ODD, BYTE_ODD
#define ODD16 ODD4, ODD4, ODD4, ODD4
#define ODD64 ODD16, ODD16, ODD16, ODD16
static const uint8_t byte_class[256] = {
    ODD16, ODD16, [' '] = BYTE_ODD, ['.'] = BYTE_DOT, [0x7f] = BYTE_ODD, ODD64, ODD64};

/* FNV-1a over a suffix's bytes from its end: the hash of each level
   comes with the one below. */
#define MEMO_H0 0xcbf29ce484222325ull
#define MEMO_HP 0x100000001b3ull

const char *dns_etld_plus_one_n(struct dns_psl_memo *memo, const char *name, size_t n)
{
    if (n == 0 || name[n - 1] == '.') {
        return NULL;
    }
    /* from the end: the levels' starts and hashes, the walker's bytes */
    struct psl_q q = {.name = name, .n = n};
    uint64_t h = MEMO_H0;
    unsigned odd = 0;
    size_t i = n;
    while (i-- > 0) {
        uint8_t b = (uint8_t)name[i];
        unsigned c = byte_class[b];
        if (c == BYTE_DOT) {
            if (i == 0 || name[i - 1] == '.') {
                return NULL; /* Go refuses empty labels anywhere */
            }
            q.rc[q.k] = RC_UNKNOWN;
            q.hash[q.k] = h;
            q.start[q.k++] = i + 1;
            if (q.k == PSL_LABELS) {
                break;
            }
        }
        odd |= c;
        h = (h ^ b) * MEMO_HP;
    }
    if (q.k < PSL_LABELS) {
        q.rc[q.k] = RC_UNKNOWN;
        q.hash[q.k] = h;
        q.start[q.k++] = 0;
    } else if (name[0] == '.' || memmem(name, i, "..", 2) != NULL) {
        return NULL; /* an empty label before the levels looked at */
    }
    q.plain = (odd & BYTE_ODD) == 0;
    psl_ref c = psl_get();
    if (c == NULL) {
        return NULL;
    }
    const char *reg;
    if (memo_answers(c, memo, &q, &reg)) {
        return reg;
    }
    for (int l = q.k - 1; l > 0; l--) {
        if (public_at(c, &q, l)) {
            return l == q.k - 1 ? NULL : name + q.start[l + 1];
        }
    }
    /* the last label is public (the "*" rule) */
    return q.k == 1 ? NULL : name + q.start[1];
}
