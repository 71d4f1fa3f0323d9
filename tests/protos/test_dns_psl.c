/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_dns_psl.c - our walk over the Public Suffix List's DAFSA
 * against libpsl: every rule of the list and names around it, every key of
 * the graph, the names of the test corpora, random and malformed names; the
 * same on graphs built here and on damaged graphs (which must stay in
 * bounds and end); registered domains through memos of answers as without. Where the machine has no
 * DAFSA file, the answers still have to be libpsl's (the fallback path).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protos/dns/dns_parse.h"
#include "tests/support/ptrun.h"

#ifdef PB_HAVE_PSL
#include <libpsl.h>

static uint32_t rnd_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
    uint32_t x = rnd_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rnd_state = x;
}

/* ---- names: a growable list of byte strings ---- */

struct names {
    char **v;
    size_t n, cap;
};

static void add_name(struct names *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap != 0 ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        ck_assert_ptr_nonnull(l->v);
    }
    char *c = malloc(n + 1);
    ck_assert_ptr_nonnull(c);
    memcpy(c, s, n);
    c[n] = '\0';
    l->v[l->n++] = c;
}

static void add_str(struct names *l, const char *s)
{
    add_name(l, s, strlen(s));
}

static void addf(struct names *l, const char *a, const char *b)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", a, b);
    add_str(l, buf);
}

static void free_names(struct names *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Names around a rule or key r: itself, under it, its parent, odd forms. */
static void add_around(struct names *l, const char *r)
{
    add_str(l, r);
    addf(l, "x.", r);
    addf(l, "www.", r);
    addf(l, "a.b.", r);
    addf(l, "*.", r);
    addf(l, "!", r);
    addf(l, ".", r);
    addf(l, "-", r);
    addf(l, r, ".");
    addf(l, r, "x");
    addf(l, r, ".x");
    const char *dot = strchr(r, '.');
    if (dot != NULL) {
        add_str(l, dot + 1);
        addf(l, "x.", dot + 1);
    }
    size_t n = strlen(r);
    if (n > 1) {
        add_name(l, r, n - 1);
        add_name(l, r + 1, n - 1);
    }
    char up[600];
    snprintf(up, sizeof up, "%s", r);
    for (char *p = up; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char)(*p - 32);
            break; /* one letter upper case */
        }
    }
    add_str(l, up);
}

/* ---- the list in use, as the code under test chose it ---- */

static psl_ctx_t *ref;
static const psl_ctx_t *ref_ctx;
static uint8_t *sys_graph; /* the distribution DAFSA past its header, or NULL */
static size_t sys_glen, sys_map;
static struct dns_psl_walk *sys_walk[2]; /* over sys_graph: with its index, without */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t r;
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            b = realloc(b, cap *= 2);
            ck_assert_ptr_nonnull(b);
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static const char head[] = ".DAFSA@PSL_0   \n";

/* A copy of n bytes that ends where an unreadable page starts: a read past
   the graph faults. */
static uint8_t *guarded_copy(const uint8_t *g, size_t n, size_t *map_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (n + page - 1) / page * page + page;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(mprotect(m + len - page, page, PROT_NONE), 0);
    uint8_t *c = m + len - page - n;
    memcpy(c, g, n);
    *map_len = len;
    return c;
}

static void guarded_free(uint8_t *c, size_t n, size_t map_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap(c + n + page - map_len, map_len);
}

static void setup(void)
{
    ref = psl_latest(NULL);
    ref_ctx = ref != NULL ? ref : psl_builtin();
    const char *dist = psl_dist_filename();
    size_t n = 0;
    uint8_t *b = dist != NULL && *dist != '\0' ? read_file(dist, &n) : NULL;
    if (b != NULL && n > 16 && memcmp(b, head, 16) == 0) {
        sys_glen = n - 16;
        sys_graph = guarded_copy(b + 16, sys_glen, &sys_map);
        sys_walk[0] = dns_psl_walk_new(sys_graph, sys_glen, true);
        sys_walk[1] = dns_psl_walk_new(sys_graph, sys_glen, false);
        ck_assert(sys_walk[0] != NULL && sys_walk[1] != NULL);
        ck_assert(dns_psl_walk_indexed(sys_walk[0]) && !dns_psl_walk_indexed(sys_walk[1]));
    }
    free(b);
}

static void teardown(void)
{
    if (ref != NULL && ref != psl_builtin()) {
        psl_free(ref);
    }
    ref = NULL;
    dns_psl_walk_free(sys_walk[0]);
    dns_psl_walk_free(sys_walk[1]);
    sys_walk[0] = sys_walk[1] = NULL;
    if (sys_graph != NULL) {
        guarded_free(sys_graph, sys_glen, sys_map);
    }
    sys_graph = NULL;
    dns_psl_release();
}

/* Every name: the answer for the suffix, from the walker directly and from
   the code under test, is libpsl's; so is the registered domain, also
   through memos: one of a single set (every name collides), a small one
   and the default, each asked for every name twice (the second time from
   the other end of the list, much of it kept). */
static size_t walked;

static void check_memos(const struct names *l)
{
    static const size_t sets[] = {1, 16, 0};
    for (size_t m = 0; m < sizeof sets / sizeof sets[0]; m++) {
        struct dns_psl_memo *memo = dns_psl_memo_new(sets[m]);
        ck_assert_ptr_nonnull(memo);
        for (size_t pass = 0; pass < 2; pass++) {
            for (size_t j = 0; j < l->n; j++) {
                const char *s = l->v[pass == 0 ? j : l->n - 1 - j];
                const char *a = dns_etld_plus_one_n(memo, s, strlen(s));
                const char *b = dns_etld_plus_one_uncached(s);
                ck_assert_msg(a == b, "'%s' (memo of %zu sets): registered %s, libpsl %s", s,
                              sets[m], a != NULL ? a : "(none)", b != NULL ? b : "(none)");
            }
        }
        dns_psl_memo_free(memo);
    }
}

static void check_names(const struct names *l, bool regs)
{
    bool walker = dns_psl_walker() && sys_walk[0] != NULL;
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        int want = psl_is_public_suffix(ref_ctx, s) != 0;
        int got = dns_psl_public(s);
        ck_assert_msg(got == want, "'%s': public %d, libpsl %d", s, got, want);
        if (walker) {
            for (int j = 0; j < 2; j++) {
                int w = dns_psl_walk_public(sys_walk[j], s);
                ck_assert_msg(w < 0 || w == want, "'%s': walker %d, libpsl %d", s, w, want);
                walked += j == 0 && w >= 0;
            }
        }
        if (regs) {
            const char *a = dns_etld_plus_one(s), *b = dns_etld_plus_one_uncached(s);
            ck_assert_msg(a == b, "'%s': registered %s, libpsl %s", s, a != NULL ? a : "(none)",
                          b != NULL ? b : "(none)");
        }
    }
    if (regs) {
        check_memos(l);
    }
}

/* When libpsl takes the distribution's DAFSA file, so must the walker. */
START_TEST(walker_taken_when_dafsa_chosen)
{
    const char *dist = psl_dist_filename(), *bf = psl_builtin_filename();
    struct stat ds, bs;
    bool chosen = sys_graph != NULL && stat(dist, &ds) == 0 &&
                  ds.st_mtime > psl_builtin_file_time() &&
                  (bf == NULL || *bf == '\0' || stat(bf, &bs) != 0 || bs.st_mtime <= ds.st_mtime) &&
                  ref != NULL && ref != psl_builtin() && psl_suffix_count(ref) == -1;
    if (chosen) {
        ck_assert(dns_psl_walker());
    } else {
        fprintf(stderr, "test_dns_psl: no DAFSA list chosen; checking the libpsl path only\n");
        ck_assert(!dns_psl_walker());
    }
    /* released and loaded again, the same */
    dns_psl_release();
    ck_assert(dns_psl_walker() == chosen);
}
END_TEST

/* A memo kept across the list's release and load answers as the list
   loaded last does (it starts anew). */
START_TEST(memo_across_release)
{
    static const char *const names[] = {"www.example.co.uk",
                                        "co.uk",
                                        "a.b.c.d.e.f.g.h.i.j.k.com",
                                        "x.kawasaki.jp",
                                        "city.kawasaki.jp",
                                        "www.ck",
                                        "x.ck",
                                        "foo.blogspot.com"};
    struct dns_psl_memo *memo = dns_psl_memo_new(4);
    ck_assert_ptr_nonnull(memo);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char *s = names[i];
            ck_assert_ptr_eq(dns_etld_plus_one_n(memo, s, strlen(s)),
                             dns_etld_plus_one_uncached(s));
        }
        dns_psl_release();
    }
    dns_psl_memo_free(memo);
}
END_TEST

/* The rule lines of the text list (none where the machine has none). */
static void read_rules(struct names *rules)
{
    const char *path = psl_builtin_filename();
    size_t n = 0;
    uint8_t *b = path != NULL && *path != '\0' ? read_file(path, &n) : NULL;
    if (b == NULL) {
        b = read_file("/usr/share/publicsuffix/public_suffix_list.dat", &n);
    }
    if (b == NULL) {
        return;
    }
    char *text = realloc(b, n + 1);
    ck_assert_ptr_nonnull(text);
    text[n] = '\0';
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        size_t len = strcspn(line, " \t\r");
        line[len] = '\0';
        if (len != 0 && !(line[0] == '/' && line[1] == '/')) {
            add_str(rules, line);
        }
    }
    free(text);
    ck_assert_uint_gt(rules->n, 5000);
}

/* Every rule line of the text list, and names around each. */
START_TEST(every_rule)
{
    static const char *const few[] = {"com",           "co.uk",
                                      "*.ck",          "!www.ck",
                                      "*.kawasaki.jp", "!city.kawasaki.jp",
                                      "blogspot.com",  "github.io",
                                      "in-addr.arpa",  "\xe5\x85\xac\xe5\x8f\xb8.cn"};
    struct names rules = {0}, l = {0};
    read_rules(&rules);
    if (rules.n == 0) {
        for (size_t i = 0; i < sizeof few / sizeof few[0]; i++) {
            add_str(&rules, few[i]);
        }
    }
    for (size_t i = 0; i < rules.n; i++) {
        const char *r = rules.v[i];
        add_str(&l, r); /* with its '!' or "*." as a name */
        add_around(&l, r[0] == '!' ? r + 1 : r[0] == '*' && r[1] == '.' ? r + 2 : r);
    }
    walked = 0;
    check_names(&l, true);
    if (dns_psl_walker()) {
        ck_assert_uint_gt(walked, l.n / 2); /* most of them by the walker */
    }
    free_names(&rules);
    free_names(&l);
}
END_TEST

/* ---- a reader of our own that lists every key of a graph ---- */

static bool next_off(const uint8_t *g, size_t end, size_t *pos, size_t *off)
{
    size_t p = *pos;
    if (p + 2 >= end) {
        return false;
    }
    size_t v, len = 1;
    if ((g[p] & 0x60) == 0x60) {
        v = (size_t)(g[p] & 0x1f) << 16 | (size_t)g[p + 1] << 8 | g[p + 2];
        len = 3;
    } else if ((g[p] & 0x60) == 0x40) {
        v = (size_t)(g[p] & 0x1f) << 8 | g[p + 1];
        len = 2;
    } else {
        v = g[p] & 0x3f;
    }
    *off += v;
    *pos = (g[p] & 0x80) != 0 ? end : p + len;
    return true;
}

/* A key back in UTF-8 (the graph keeps multibyte characters as 0x1f and
   the bytes moved into printable ASCII). */
static void add_key(struct names *l, const char *k, size_t n)
{
    char out[256];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof out - 5; i++) {
        if ((uint8_t)k[i] == 0x1f && i + 1 < n) {
            uint8_t lead = (uint8_t)k[++i] ^ 0x80;
            out[o++] = (char)lead;
            int more = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
            for (; more > 0 && i + 1 < n; more--) {
                out[o++] = (char)((uint8_t)k[++i] ^ 0xc0);
            }
        } else {
            out[o++] = k[i];
        }
    }
    add_name(l, out, o);
}

static void list_keys(const uint8_t *g, size_t end, size_t at, char *k, size_t kl, struct names *l,
                      int depth)
{
    ck_assert_int_lt(depth, 300);
    while (at < end) {
        uint8_t b = g[at++];
        if (kl >= 250) {
            return;
        }
        if (b < 0x80) {
            k[kl++] = (char)b;
            continue;
        }
        if (b < 0x90) {
            add_key(l, k, kl); /* a return value: a key ends */
            return;
        }
        k[kl++] = (char)(b & 0x7f);
        break;
    }
    size_t pos = at, off = at;
    while (next_off(g, end, &pos, &off)) {
        list_keys(g, end, off, k, kl, l, depth + 1);
    }
}

static void graph_keys(const uint8_t *g, size_t n, struct names *l)
{
    char k[256];
    size_t pos = 0, off = 0;
    while (next_off(g, n, &pos, &off)) {
        list_keys(g, n, off, k, 0, l, 0);
    }
}

/* Every key of the distribution's graph (its punycode forms too). */
START_TEST(every_graph_key)
{
    if (sys_graph == NULL) {
        return;
    }
    struct names keys = {0}, l = {0};
    graph_keys(sys_graph, sys_glen, &keys);
    ck_assert_uint_gt(keys.n, 5000);
    for (size_t i = 0; i < keys.n; i++) {
        add_around(&l, keys.v[i]);
    }
    walked = 0;
    check_names(&l, true);
    if (dns_psl_walker()) {
        ck_assert_uint_gt(walked, l.n / 2);
    }
    free_names(&keys);
    free_names(&l);
}
END_TEST

/* The question names of the test corpora, their suffixes and odd forms. */
START_TEST(corpus_names)
{
    const char *src = getenv("PB_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/protos/dns_psl_names.txt", src != NULL ? src : ".");
    size_t n = 0;
    uint8_t *b = read_file(path, &n);
    ck_assert_msg(b != NULL, "%s", path);
    char *text = realloc(b, n + 1);
    ck_assert_ptr_nonnull(text);
    text[n] = '\0';
    struct names l = {0};
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        add_around(&l, line);
        for (const char *p = strchr(line, '.'); p != NULL; p = strchr(p + 1, '.')) {
            add_str(&l, p + 1);
        }
    }
    free(text);
    ck_assert_uint_gt(l.n, 10000);
    walked = 0;
    check_names(&l, true);
    if (dns_psl_walker()) {
        ck_assert_uint_gt(walked, l.n / 2);
    }
    free_names(&l);
}
END_TEST

/* Random names: empty labels, upper case, digits, hyphens, non-ASCII and
   control bytes, long names, many labels, and real suffixes under them. */
static void random_name(char *buf, size_t cap, const struct names *tails)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789--__*!";
    size_t o = 0;
    int labels = 1 + (int)(rnd() % 6);
    if (rnd() % 16 == 0) {
        labels += 10 + (int)(rnd() % 40);
    }
    for (int i = 0; i < labels && o + 80 < cap; i++) {
        if (i > 0 || rnd() % 32 == 0) {
            buf[o++] = '.';
        }
        size_t len = rnd() % 9;
        if (rnd() % 32 == 0) {
            len = 50 + rnd() % 20;
        }
        for (size_t j = 0; j < len; j++) {
            uint32_t r = rnd() % 64;
            if (r == 0) {
                buf[o++] = (char)(0x80 + rnd() % 128);
            } else if (r == 1) {
                buf[o++] = (char)(1 + rnd() % 31);
            } else if (r == 2) {
                buf[o++] = (char)(rnd() % 2 ? 0x7f : ' ');
            } else {
                buf[o++] = alpha[rnd() % (sizeof alpha - 1)];
            }
        }
    }
    if (tails != NULL && tails->n > 0 && rnd() % 2 == 0 && o + 260 < cap) {
        const char *t = tails->v[rnd() % tails->n];
        size_t tl = strlen(t);
        if (tl < 250) {
            buf[o++] = '.';
            memcpy(buf + o, t, tl);
            o += tl;
        }
    }
    if (rnd() % 32 == 0) {
        buf[o++] = '.';
    }
    buf[o] = '\0';
}

START_TEST(random_names)
{
    struct names tails = {0}, l = {0};
    if (sys_graph != NULL) {
        graph_keys(sys_graph, sys_glen, &tails);
    } else {
        static const char *const t[] = {"com",       "co.uk",       "ck",
                                        "www.ck",    "kawasaki.jp", "city.kawasaki.jp",
                                        "github.io", "blogspot.com"};
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            add_str(&tails, t[i]);
        }
    }
    char buf[1024];
    for (int i = 0; i < 200000; i++) {
        random_name(buf, sizeof buf, &tails);
        add_str(&l, buf);
    }
    add_str(&l, "");
    add_str(&l, ".");
    add_str(&l, "..");
    check_names(&l, true);
    free_names(&l);
    free_names(&tails);
}
END_TEST

/* ---- graphs built here: a trie of keys in the DAFSA encoding ---- */

struct tnode {
    char c;
    int flags; /* of a key ending here, or -1 */
    struct tnode **kid;
    int nkid;
};

static struct tnode *tnew(char c)
{
    struct tnode *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->c = c;
    t->flags = -1;
    return t;
}

static void tadd(struct tnode *root, const char *k, int flags)
{
    struct tnode *t = root;
    for (; *k != '\0'; k++) {
        struct tnode *n = NULL;
        for (int i = 0; i < t->nkid; i++) {
            if (t->kid[i]->c == *k) {
                n = t->kid[i];
            }
        }
        if (n == NULL) {
            t->kid = realloc(t->kid, (size_t)(t->nkid + 1) * sizeof *t->kid);
            ck_assert_ptr_nonnull(t->kid);
            n = t->kid[t->nkid++] = tnew(*k);
        }
        t = n;
    }
    t->flags = flags;
}

/* Bytes of a node's children list and the children after it: three-byte
   offsets, each child one char (a key's end a return value child). */
static size_t tsize(const struct tnode *t)
{
    size_t n = 3 * (size_t)(t->nkid + (t->flags >= 0));
    n += t->flags >= 0 ? 1 : 0;
    for (int i = 0; i < t->nkid; i++) {
        n += 1 + tsize(t->kid[i]);
    }
    return n;
}

static size_t tput(const struct tnode *t, uint8_t *g, size_t at)
{
    int n = t->nkid + (t->flags >= 0);
    size_t list = at, child = at + 3 * (size_t)n, prev = list;
    for (int i = 0; i < n; i++) {
        size_t d = child - prev;
        g[list + 3 * (size_t)i] = (uint8_t)(0x60 | (i == n - 1 ? 0x80 : 0) | (d >> 16));
        g[list + 3 * (size_t)i + 1] = (uint8_t)(d >> 8);
        g[list + 3 * (size_t)i + 2] = (uint8_t)d;
        prev = child;
        if (i < t->nkid) {
            g[child] = (uint8_t)(t->kid[i]->c | 0x80);
            child = tput(t->kid[i], g, child + 1);
        } else {
            g[child++] = (uint8_t)(0x80 | t->flags);
        }
    }
    return child;
}

static void tfree(struct tnode *t)
{
    for (int i = 0; i < t->nkid; i++) {
        tfree(t->kid[i]);
    }
    free(t->kid);
    free(t);
}

/* libpsl's context over a graph, through a file as it reads them. */
static psl_ctx_t *load_graph(const uint8_t *g, size_t n)
{
    char path[] = "/tmp/pb-psl-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(head, 1, 16, f);
    fwrite(g, 1, n, f);
    fclose(f);
    psl_ctx_t *c = psl_load_file(path);
    unlink(path);
    return c;
}

/* The walker's answers over graph g (with its index and without), as
   libpsl's over the same graph; the walker reads a guarded copy. */
static size_t graph_differs(const uint8_t *g, size_t n, const struct names *l, bool must_load)
{
    psl_ctx_t *c = load_graph(g, n);
    if (c == NULL) {
        ck_assert(!must_load);
        return 0;
    }
    size_t map_len;
    uint8_t *copy = guarded_copy(g, n, &map_len);
    struct dns_psl_walk *w[2] = {dns_psl_walk_new(copy, n, true), dns_psl_walk_new(copy, n, false)};
    ck_assert(w[0] != NULL && w[1] != NULL);
    if (must_load) {
        ck_assert(dns_psl_walk_indexed(w[0]));
    }
    size_t differ = 0;
    for (size_t i = 0; i < l->n; i++) {
        int want = psl_is_public_suffix(c, l->v[i]) != 0;
        for (int j = 0; j < 2; j++) {
            int got = dns_psl_walk_public(w[j], l->v[i]);
            if (got >= 0 && got != want) {
                if (differ++ < 5) {
                    fprintf(stderr, "'%s': walker %d (index %d), libpsl %d\n", l->v[i], got, j == 0,
                            want);
                }
            }
        }
    }
    dns_psl_walk_free(w[0]);
    dns_psl_walk_free(w[1]);
    guarded_free(copy, n, map_len);
    psl_free(c);
    return differ;
}

static const char *const small_rules[] = {
    "com",           "uk",
    "co.uk",         "*.ck",
    "!www.ck",       "jp",
    "*.kawasaki.jp", "!city.kawasaki.jp",
    "blogspot.com",  "github.io",
    "arpa",          "in-addr.arpa",
    "name",          "forgot.his.name",
    "a-b.c1",        "x",
    "*.y.x",         "!z.y.x",
};

static uint8_t *build_graph(const char *const *rules, size_t nr, size_t *len)
{
    struct tnode *root = tnew(0);
    for (size_t i = 0; i < nr; i++) {
        const char *r = rules[i];
        int flags = 4; /* ICANN */
        if (*r == '!') {
            r++;
            flags |= 1;
        } else if (r[0] == '*' && r[1] == '.') {
            r += 2;
            flags |= 2;
        }
        bool ascii = true;
        for (const char *p = r; *p != '\0'; p++) {
            ascii &= *p > 0x20 && *p < 0x7f;
        }
        if (ascii) {
            tadd(root, r, flags);
        }
    }
    size_t n = tsize(root);
    uint8_t *g = calloc(1, n);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(tput(root, g, 0), n);
    tfree(root);
    *len = n;
    return g;
}

static void small_names(struct names *l)
{
    for (size_t i = 0; i < sizeof small_rules / sizeof small_rules[0]; i++) {
        const char *r = small_rules[i];
        add_str(l, r);
        add_around(l, r[0] == '!' ? r + 1 : r[0] == '*' ? r + 2 : r);
    }
    char buf[1024];
    struct names tails = {0};
    for (size_t i = 0; i < sizeof small_rules / sizeof small_rules[0]; i++) {
        const char *r = small_rules[i];
        add_str(&tails, r[0] == '!' ? r + 1 : r[0] == '*' ? r + 2 : r);
    }
    for (int i = 0; i < 3000; i++) {
        random_name(buf, sizeof buf, &tails);
        add_str(l, buf);
    }
    free_names(&tails);
}

/* On graphs built here (no DAFSA file needed), the walker is libpsl: a few
   rules, and the text list's rules where the machine has it. */
START_TEST(built_graph)
{
    size_t n;
    uint8_t *g = build_graph(small_rules, sizeof small_rules / sizeof small_rules[0], &n);
    struct names l = {0};
    small_names(&l);
    ck_assert_uint_eq(graph_differs(g, n, &l, true), 0);
    free(g);
    free_names(&l);

    struct names rules = {0};
    read_rules(&rules);
    if (rules.n == 0) {
        return;
    }
    g = build_graph((const char *const *)rules.v, rules.n, &n);
    for (size_t i = 0; i < rules.n; i++) {
        const char *r = rules.v[i];
        add_str(&l, r);
        add_around(&l, r[0] == '!' ? r + 1 : r[0] == '*' && r[1] == '.' ? r + 2 : r);
    }
    ck_assert_uint_eq(graph_differs(g, n, &l, true), 0);
    free(g);
    free_names(&l);
    free_names(&rules);
}
END_TEST

/* Damaged graphs: cut short, bytes changed, random bytes. The walker stays
   in its buffer, ends, and still answers as libpsl does. */
START_TEST(damaged_graphs)
{
    size_t n;
    uint8_t *g = build_graph(small_rules, sizeof small_rules / sizeof small_rules[0], &n);
    struct names all = {0};
    small_names(&all);
    /* the rules' names and a few random ones */
    struct names l = {all.v, all.n < 600 ? all.n : 600, all.cap};
    size_t differ = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        differ += graph_differs(g, cut, &l, false);
    }
    uint8_t *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < 600; i++) {
        memcpy(m, g, n);
        for (int j = 1 + (int)(rnd() % 3); j > 0; j--) {
            m[rnd() % n] = (uint8_t)rnd();
        }
        differ += graph_differs(m, n, &l, false);
    }
    for (int i = 0; i < 600; i++) {
        size_t rn = rnd() % 64;
        for (size_t j = 0; j < rn; j++) {
            m[j] = (uint8_t)rnd();
        }
        differ += graph_differs(m, rn, &l, false);
    }
    ck_assert_uint_eq(differ, 0);
    /* and pieces of the distribution's graph */
    if (sys_graph != NULL) {
        uint8_t *s = malloc(sys_glen);
        ck_assert_ptr_nonnull(s);
        for (int i = 0; i < 200; i++) {
            memcpy(s, sys_graph, sys_glen);
            size_t cut = rnd() % sys_glen;
            s[rnd() % sys_glen] = (uint8_t)rnd();
            differ += graph_differs(s, cut, &l, false);
        }
        free(s);
    }
    ck_assert_uint_eq(differ, 0);
    free(m);
    free(g);
    free_names(&all);
}
END_TEST

#else

START_TEST(no_libpsl)
{
    ck_assert(!dns_psl_walker());
    ck_assert_ptr_null(dns_psl_walk_new((const uint8_t *)"", 0, true));
    ck_assert_int_eq(dns_psl_walk_public(NULL, "co.uk"), -1);
    ck_assert_int_eq(dns_psl_public("co.uk"), 1);
    ck_assert_int_eq(dns_psl_public("example.co.uk"), 0);
    ck_assert_ptr_null(dns_psl_memo_new(0));
}
END_TEST
#endif

static Suite *psl_suite(void)
{
    Suite *s = suite_create("dns_psl");
    TCase *c = tcase_create("psl");
#ifdef PB_HAVE_PSL
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_set_timeout(c, 300);
    tcase_add_test(c, walker_taken_when_dafsa_chosen);
    tcase_add_test(c, memo_across_release);
    tcase_add_test(c, every_rule);
    tcase_add_test(c, every_graph_key);
    tcase_add_test(c, corpus_names);
    tcase_add_test(c, random_names);
    tcase_add_test(c, built_graph);
    tcase_add_test(c, damaged_graphs);
#else
    tcase_add_test(c, no_libpsl);
#endif
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(psl_suite());
    dns_psl_release();
    return failed == 0 ? 0 : 1;
}
