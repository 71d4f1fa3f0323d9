/* SPDX-License-Identifier: Apache-2.0
 * beat/event_dom.c - events built in their own arena (see beat/event_dom.h):
 * setters, dotted-path walks with the same rules as the jansson helpers in
 * beat/event.c, and the conversion to a jansson tree.
 */
#include "beat/event_dom.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/utf8.h"

/* One block holds the event and its first chunk: a typical transaction
 * event (about 80 members, 2 KB of text) fits without a second malloc. */
enum {
    FIRST_CHUNK = 8192 - sizeof(struct pb_event) - sizeof(struct pb_chunk) - 64,
    MIN_CHUNK = 8192
};

enum { MAX_DEPTH = 32 };

static void *arena_grow(pb_event *ev, size_t n)
{
    size_t size = n > MIN_CHUNK ? n : MIN_CHUNK;
    struct pb_chunk *c = pb_malloc(sizeof *c + size);
    if (c == NULL) {
        ev->failed = true;
        return NULL;
    }
    c->size = size;
    c->used = n;
    c->next = ev->chunks;
    ev->chunks = c;
    return c + 1;
}

static inline void *arena_alloc(pb_event *ev, size_t n)
{
    n = (n + 7u) & ~(size_t)7u;
    struct pb_chunk *c = ev->chunks;
    if (c == NULL || c->size - c->used < n) {
        return arena_grow(ev, n);
    }
    void *p = (char *)(c + 1) + c->used;
    c->used += n;
    return p;
}

static void node_init(pb_node *n, pb_event *ev, bool arr)
{
    *n = (pb_node){.ev = ev, .arr = arr};
}

void *pb_ev_alloc(pb_event *ev, size_t n)
{
    return arena_alloc(ev, n);
}

/* One freed event block kept per thread for its next pb_ev_new: most
 * events are built, encoded and freed by one thread in turn. Kept out of
 * the thread's allocation count (as if freed), freed when the thread
 * ends. */
static _Thread_local pb_event *spare;
#ifndef PB_ASAN
static _Thread_local bool spare_armed; /* the thread's exit frees spare */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

/* At the exit of a thread that armed the key (its value: that thread's
 * &spare). */
static void spare_free(void *p)
{
    pb_event **s = p;
    free(*s); /* counted out when it was kept */
    *s = NULL;
}

static void spare_init(void)
{
    spare_ok = pthread_key_create(&spare_key, spare_free) == 0;
}
#endif

pb_event *pb_ev_new(void)
{
    pb_event *ev = spare;
    if (ev != NULL) {
        spare = NULL;
        pb_alloc_count(ev->block_bytes);
    } else {
        ev = pb_malloc(sizeof *ev + sizeof(struct pb_chunk) + FIRST_CHUNK);
        if (ev == NULL) {
            return NULL;
        }
        ev->block_bytes = pb_alloc_size(ev);
    }
    struct pb_chunk *c = (struct pb_chunk *)(ev + 1);
    *c = (struct pb_chunk){.next = NULL, .size = FIRST_CHUNK, .used = 0};
    ev->json = NULL;
    ev->pops = NULL;
    ev->pst = NULL;
    ev->txp = NULL;
    ev->chunks = c;
    ev->njson = 0;
    ev->jrefs = NULL;
    ev->ip_str[0] = ev->ip_str[1] = NULL;
    ev->frozen_at[0] = ev->frozen_at[1] = NULL;
    ev->tail = NULL;
    ev->edits = ev->ip_edits = 0;
    ev->failed = false;
    ev->inline_chunk = true;
    node_init(&ev->root, ev, false);
    return ev;
}

pb_event *pb_ev_wrap(json_t *root)
{
    if (root == NULL) {
        return NULL;
    }
    pb_event *ev = pb_malloc(sizeof *ev);
    if (ev == NULL) {
        json_decref(root);
        return NULL;
    }
    *ev = (pb_event){.json = root};
    node_init(&ev->root, ev, false);
    return ev;
}

/* Adds ev's blocks (the event and its chunks past the inline one) to the
   calling thread's count (sign 1) or takes them out (-1). */
static void count_blocks(pb_event *ev, int sign)
{
    struct pb_chunk *inl = ev->inline_chunk ? (struct pb_chunk *)(ev + 1) : NULL;
    for (struct pb_chunk *c = ev->chunks; c != NULL && c != inl; c = c->next) {
        pb_alloc_count(sign * pb_alloc_size(c));
    }
    pb_alloc_count(sign * pb_alloc_size(ev));
}

void pb_ev_disown(pb_event *ev)
{
    count_blocks(ev, -1);
}

void pb_ev_own(pb_event *ev)
{
    count_blocks(ev, 1);
}

bool pb_ev_is_tree(const pb_event *ev)
{
    return ev->json != NULL;
}

/* ---- releasing values ------------------------------------------------------ */

static void release_node(pb_node *n);

/* Drops what a member's value holds outside the arena (jansson refs). */
static void release_value(pb_event *ev, struct pb_member *m)
{
    if (ev->njson == 0) {
        return;
    }
    if (m->kind == PB_VK_JSON && (m->flags & PB_MF_BORROWED)) {
        m->flags &= (uint8_t)~PB_MF_BORROWED;
        m->u.j = NULL;
    } else if (m->kind == PB_VK_JSON) {
        json_decref(m->u.j);
        m->u.j = NULL;
        ev->njson--;
    } else if (m->kind == PB_VK_OBJ || m->kind == PB_VK_ARR) {
        release_node(m->u.n);
    }
}

static pb_node *from_json_node(pb_event *ev, const json_t *j);

/* A raw member (pb_node_add_raw) made into the members its text holds. */
static void unraw(pb_event *ev, struct pb_member *m)
{
    json_t *j = json_loadb(m->u.s, m->slen, 0, NULL);
    pb_node *c = json_is_object(j) ? from_json_node(ev, j) : NULL;
    json_decref(j);
    if (c == NULL) {
        ev->failed = true;
        m->kind = PB_VK_NULL;
        return;
    }
    m->kind = PB_VK_OBJ;
    m->u.n = c;
}

static void release_node(pb_node *n)
{
    for (struct pb_member *m = n->first; m != NULL && n->ev->njson > 0; m = m->next) {
        release_value(n->ev, m);
    }
}

/* Drops every jansson reference the arena holds. */
static void release_all(pb_event *ev)
{
    for (struct pb_jref *r = ev->jrefs; r != NULL && ev->njson > 0; r = r->next) {
        struct pb_member *m = r->m;
        if (m->kind == PB_VK_JSON && m->u.j != NULL && (m->flags & PB_MF_BORROWED) == 0) {
            json_decref(m->u.j);
            m->u.j = NULL;
            ev->njson--;
        }
    }
    ev->jrefs = NULL;
    ev->njson = 0;
}

static void free_chunks(pb_event *ev)
{
    struct pb_chunk *c = ev->chunks;
    struct pb_chunk *inl = ev->inline_chunk ? (struct pb_chunk *)(ev + 1) : NULL;
    while (c != NULL && c != inl) {
        struct pb_chunk *next = c->next;
        pb_free(c);
        c = next;
    }
    ev->chunks = c;
}

void pb_ev_free(pb_event *ev)
{
    if (ev == NULL) {
        return;
    }
    if (ev->json != NULL) {
        json_decref(ev->json);
    } else {
        release_all(ev);
    }
    free_chunks(ev);
#ifndef PB_ASAN /* ASan sees a use after free only when freed */
    if (!spare_armed) {
        pthread_once(&spare_once, spare_init);
        spare_armed = spare_ok && pthread_setspecific(spare_key, &spare) == 0;
    }
    if (ev->inline_chunk && spare == NULL && spare_armed) {
        pb_alloc_count(-ev->block_bytes);
        spare = ev;
        return;
    }
#endif
    pb_free(ev);
}

/* ---- members ----------------------------------------------------------------- */

/* -1 for a key jansson would refuse (invalid UTF-8), else PB_MF_PLAIN_KEY
 * when it needs no escaping, or 0. */
static int key_check(const char *key, size_t klen)
{
    const uint8_t *p = (const uint8_t *)key;
    if (pb_json_plain(p, klen)) {
        return PB_MF_PLAIN_KEY;
    }
    int plain = PB_MF_PLAIN_KEY;
    size_t i = 0;
    while (i < klen) {
        if (p[i] < 0x80) {
            if (!pb_json_plain1(p[i])) {
                plain = 0;
            }
            i++;
            continue;
        }
        plain = 0;
        size_t l = pb_utf8_decode(p + i, klen - i, NULL); /* jansson refuses */
        if (l == 0) {                                     /* invalid keys */
            return -1;
        }
        i += l;
    }
    return plain;
}

/* ---- pending fields -------------------------------------------------------- */

/* Whether ev's pending fields make the root key. */
static bool pending_has(const pb_event *ev, const char *key, size_t klen)
{
    const struct pb_pending_ops *o = ev->pops;
    for (size_t i = 0; i < o->nkeys; i++) {
        if (strlen(o->keys[i]) == klen && memcmp(o->keys[i], key, klen) == 0) {
            return o->has_key == NULL || o->has_key(ev->pst, key, klen);
        }
    }
    return false;
}

void pb_ev_set_pending(pb_event *ev, const struct pb_pending_ops *ops, const void *st)
{
    uint64_t b = atomic_load_explicit(ops->bits, memory_order_relaxed);
    if (b == 0) {
        for (size_t i = 0; i < ops->nkeys; i++) {
            b |= pb_key_bit(pb_key_tag(ops->keys[i], strlen(ops->keys[i])));
        }
        atomic_store_explicit(ops->bits, b, memory_order_relaxed);
    }
    ev->pops = ops;
    ev->pst = st;
    ev->root.keys |= b; /* finds look further for these */
}

void pb_ev_settle(pb_event *ev)
{
    const struct pb_pending_ops *ops = ev->pops;
    if (ops == NULL) {
        return;
    }
    const void *st = ev->pst;
    ev->pops = NULL;
    ev->pst = NULL;
    ev->txp = NULL;
    /* built into an empty root, the members added since follow them */
    pb_node *root = &ev->root;
    struct pb_member *first = root->first, *last = root->last;
    uint32_t count = root->count;
    root->first = root->last = NULL;
    root->count = 0;
    ops->build(ev, st);
    if (first != NULL) {
        if (root->last != NULL) {
            root->last->next = first;
        } else {
            root->first = first;
        }
        root->last = last;
        root->count += count;
    }
    root->enc = NULL;
    if (ev->edits != 0 || root->dotted) {
        /* the addresses noted while building may not be what a path finds
           (a dotted "source.ip" added before): no hints */
        ev->ip_str[0] = ev->ip_str[1] = NULL;
    }
}

static struct pb_member *find(const pb_node *n, const char *key, size_t klen);

/* find()'s rare steps, out of its line (it is called a few times for every
 * event, mostly for absent keys: the fewer registers it saves, the better). */
__attribute__((noinline, cold)) static struct pb_member *find_raw(const pb_node *n,
                                                                  struct pb_member *m)
{
    unraw(n->ev, m); /* looked at: members from now on */
    return m;
}

__attribute__((noinline)) static struct pb_member *find_pending(const pb_node *n, const char *key,
                                                                size_t klen)
{
    pb_event *ev = n->ev;
    if (pending_has(ev, key, klen)) {
        pb_ev_settle(ev); /* one of the pending fields: built now */
        return find(n, key, klen);
    }
    return NULL;
}

static struct pb_member *find(const pb_node *n, const char *key, size_t klen)
{
    uint32_t tag = pb_key_tag(key, klen);
    if ((n->keys & pb_key_bit(tag)) == 0) {
        return NULL;
    }
    for (struct pb_member *m = n->first; m != NULL; m = m->next) {
        if (m->tag == tag && m->klen == klen && memcmp(m->key, key, klen) == 0) {
            return m->kind == PB_VK_RAW ? find_raw(n, m) : m;
        }
    }
    const pb_event *ev = n->ev;
    return ev->pops != NULL && n == &ev->root ? find_pending(n, key, klen) : NULL;
}

bool pb_ev_plain(const void *s, size_t n)
{
    return pb_json_plain(s, n);
}

/* Makes m, new memory, the last member of n at key (NULL in arrays; flags:
 * its key's), its value null for the caller to fill. */
static inline struct pb_member *link_member(pb_node *n, struct pb_member *m, const char *key,
                                            size_t klen, uint8_t flags)
{
    uint32_t tag = key != NULL ? pb_key_tag(key, klen) : 0;
    *m = (struct pb_member){.key = key, .klen = (uint32_t)klen, .tag = tag, .flags = flags};
    if (key != NULL) {
        n->keys |= pb_key_bit(tag);
    }
    if (n->last != NULL) {
        n->last->next = m;
    } else {
        n->first = m;
    }
    n->last = m;
    n->count++;
    n->enc = NULL;
    return m;
}

/* A new last member of n (key NULL in arrays); flags: its key's. */
static struct pb_member *append_ref(pb_node *n, const char *key, size_t klen, int flags,
                                    bool copy_key)
{
    struct pb_member *m = arena_alloc(n->ev, sizeof *m + (key != NULL && copy_key ? klen + 1 : 0));
    if (m == NULL) {
        return NULL;
    }
    if (key != NULL && copy_key) {
        char *k = (char *)(m + 1);
        pb_copy_short(k, key, klen);
        k[klen] = '\0';
        key = k;
    }
    return link_member(n, m, key, klen, (uint8_t)flags);
}

static struct pb_member *append(pb_node *n, const char *key, size_t klen, int flags)
{
    return append_ref(n, key, klen, flags, true);
}

/* A new member for a key known to be absent from object n. */
static struct pb_member *add_key(pb_node *n, const char *key, size_t klen)
{
    if (memchr(key, '.', klen) != NULL) {
        n->ev->edits++; /* "a.b" found before "a" then "b" */
        n->dotted = true;
    }
    int check = klen <= UINT32_MAX ? key_check(key, klen) : -1;
    return check >= 0 ? append(n, key, klen, check) : NULL;
}

/* Member m of n emptied, to be filled again in its place. */
static struct pb_member *refill(pb_node *n, struct pb_member *m)
{
    n->enc = NULL;
    n->ev->edits++;
    release_value(n->ev, m);
    m->kind = PB_VK_NULL;
    m->flags &= PB_MF_PLAIN_KEY | PB_MF_LISTED;
    return m;
}

/* The member to (re)fill for key: appended in arrays, found or appended in
 * objects (a value set again keeps its place, as jansson does). */
static struct pb_member *slot(pb_node *n, const char *key, size_t klen)
{
    if (n->arr) {
        return append(n, NULL, 0, 0);
    }
    struct pb_member *m = find(n, key, klen);
    return m != NULL ? refill(n, m) : add_key(n, key, klen);
}

static struct pb_member *slot_of(pb_node *n, const char *key)
{
    if (n == NULL) {
        return NULL;
    }
    return slot(n, key, n->arr || key == NULL ? 0 : strlen(key));
}

/* pb_node_add_*: a literal key the object does not have (checked in
 * debug builds), kept by reference; on arrays the value is appended. The
 * member is followed by extra bytes of its own (a value's copy, a node):
 * one allocation for both. */
static inline struct pb_member *lit_slot(pb_node *n, const char *key, size_t klen, size_t extra)
{
    if (n == NULL) {
        return NULL;
    }
    struct pb_member *m = arena_alloc(n->ev, sizeof *m + extra);
    if (m == NULL) {
        return NULL;
    }
    if (n->arr) {
        return link_member(n, m, NULL, 0, 0);
    }
    assert(find(n, key, klen) == NULL && key_check(key, klen) == PB_MF_PLAIN_KEY &&
           memchr(key, '.', klen) == NULL);
    return link_member(n, m, key, klen, PB_MF_PLAIN_KEY);
}

static pb_node *new_node(pb_event *ev, bool arr)
{
    pb_node *c = arena_alloc(ev, sizeof *c);
    if (c != NULL) {
        node_init(c, ev, arr);
    }
    return c;
}

/* The child container of n at key, created when missing or of the other
 * kind; a jansson object or array there is converted in place. lit: key is
 * a literal (pb_node_obj_k), kept by reference when added. */
static pb_node *child_of(pb_node *n, const char *key, size_t klen, bool arr, bool lit)
{
    if (n == NULL) {
        return NULL;
    }
    struct pb_member *m = NULL;
    if (n->arr) {
        m = append(n, NULL, 0, 0);
    } else if ((m = find(n, key, klen)) == NULL) {
        m = lit ? lit_slot(n, key, klen, 0) : add_key(n, key, klen);
    } else if (m->kind == (arr ? PB_VK_ARR : PB_VK_OBJ)) {
        return m->u.n;
    } else if (m->kind == PB_VK_JSON && (arr ? json_is_array(m->u.j) : json_is_object(m->u.j))) {
        n->enc = NULL;
        n->ev->edits++;
        pb_node *c = from_json_node(n->ev, m->u.j);
        if (c == NULL) {
            return NULL;
        }
        release_value(n->ev, m);
        m->kind = arr ? PB_VK_ARR : PB_VK_OBJ;
        m->u.n = c;
        return c;
    } else {
        n->enc = NULL;
        n->ev->edits++;
        release_value(n->ev, m);
        m->flags &= PB_MF_PLAIN_KEY | PB_MF_LISTED;
    }
    pb_node *c = m != NULL ? new_node(n->ev, arr) : NULL;
    if (c == NULL) {
        return NULL;
    }
    m->kind = arr ? PB_VK_ARR : PB_VK_OBJ;
    m->u.n = c;
    return c;
}

static pb_node *child(pb_node *n, const char *key, size_t klen, bool arr)
{
    return child_of(n, key, klen, arr, false);
}

pb_node *pb_node_obj(pb_node *n, const char *key)
{
    return child(n, key, n == NULL || n->arr || key == NULL ? 0 : strlen(key), false);
}

pb_node *pb_node_arr(pb_node *n, const char *key)
{
    return child(n, key, n == NULL || n->arr || key == NULL ? 0 : strlen(key), true);
}

/* Puts m on the list of members whose jansson reference the event drops. */
static bool list_jref(pb_event *ev, struct pb_member *m)
{
    struct pb_jref *r = arena_alloc(ev, sizeof *r);
    if (r == NULL) {
        return false;
    }
    r->m = m;
    r->next = ev->jrefs;
    ev->jrefs = r;
    m->flags |= PB_MF_LISTED;
    return true;
}

static int set_json(pb_node *n, const char *key, json_t *val)
{
    if (val == NULL) {
        if (n != NULL) {
            n->ev->failed = true;
        }
        return -PB_ENOMEM;
    }
    pb_event *ev = n->ev;
    struct pb_member *m = slot_of(n, key);
    if (m != NULL && (m->flags & PB_MF_LISTED) == 0 && !list_jref(ev, m)) {
        m = NULL;
    }
    if (m == NULL) {
        json_decref(val);
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_JSON;
    m->u.j = val;
    ev->njson++;
    return 0;
}

int pb_node_set_frozen(pb_node *n, const char *key, const json_t *val)
{
    struct pb_member *m = slot_of(n, key);
    if (m == NULL || val == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_JSON;
    m->flags |= PB_MF_BORROWED;
    m->u.j = (json_t *)val; /* never changed through the event: own_json copies */
    return 0;
}

int pb_node_set(pb_node *n, const char *key, json_t *val)
{
    return set_json(n, key, val);
}

/* A copy of wire bytes as valid UTF-8: invalid bytes become U+FFFD, as
 * pb_json_strn does. *plain: no byte of the copy needs escaping. */
static const char *copy_utf8(pb_event *ev, const unsigned char *p, size_t n, size_t *outlen,
                             bool *plain)
{
    *plain = pb_json_plain(p, n); /* the usual case */
    if (*plain || pb_utf8_valid_len(p, n) == n) {
        char *s = arena_alloc(ev, n + 1);
        if (s != NULL) {
            pb_copy_short(s, p, n);
            s[n] = '\0';
            *outlen = n;
        }
        return s;
    }
    if (n > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *s = arena_alloc(ev, n * 3 + 1);
    if (s == NULL) {
        return NULL;
    }
    size_t o = pb_utf8_sanitize((uint8_t *)s, p, n);
    s[o] = '\0';
    *outlen = o;
    return s;
}

static int fill_strn(pb_event *ev, struct pb_member *m, const void *s, size_t len)
{
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    size_t slen = 0;
    bool plain = false;
    const char *copy = copy_utf8(ev, s != NULL ? s : "", len, &slen, &plain);
    if (copy == NULL || slen > UINT32_MAX) {
        return -PB_ENOMEM; /* m stays null */
    }
    m->kind = PB_VK_STR;
    m->flags |= plain ? PB_MF_PLAIN_STR : 0;
    m->u.s = copy;
    m->slen = (uint32_t)slen;
    return 0;
}

static int fill_int(struct pb_member *m, int64_t v)
{
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_INT;
    m->u.i = v;
    return 0;
}

static int fill_real(struct pb_member *m, double v)
{
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_REAL;
    m->u.r = v;
    return 0;
}

/* as jansson holds it: a real past the int64 range */
static int fill_uint(struct pb_member *m, uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? fill_real(m, (double)v) : fill_int(m, (int64_t)v);
}

static int fill_bool(struct pb_member *m, bool v)
{
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = v ? PB_VK_TRUE : PB_VK_FALSE;
    return 0;
}

int pb_node_set_strn(pb_node *n, const char *key, const void *s, size_t len)
{
    if (n == NULL || (s == NULL && len > 0)) {
        return -PB_ENOMEM;
    }
    return fill_strn(n->ev, slot_of(n, key), s, len);
}

int pb_node_set_str(pb_node *n, const char *key, const char *s)
{
    return s != NULL ? pb_node_set_strn(n, key, s, strlen(s)) : 0;
}

int pb_node_set_int(pb_node *n, const char *key, int64_t v)
{
    return fill_int(slot_of(n, key), v);
}

int pb_node_set_uint(pb_node *n, const char *key, uint64_t v)
{
    return fill_uint(slot_of(n, key), v);
}

int pb_node_set_real(pb_node *n, const char *key, double v)
{
    return fill_real(slot_of(n, key), v);
}

int pb_node_set_bool(pb_node *n, const char *key, bool v)
{
    return fill_bool(slot_of(n, key), v);
}

int pb_node_add_strn(pb_node *n, const char *key, size_t klen, const void *s, size_t len)
{
    if (n == NULL || (s == NULL && len > 0)) {
        return -PB_ENOMEM;
    }
    return fill_strn(n->ev, lit_slot(n, key, klen, 0), s, len);
}

int pb_node_add_str(pb_node *n, const char *key, size_t klen, const char *s)
{
    return s != NULL ? pb_node_add_strn(n, key, klen, s, strlen(s)) : 0;
}

/* s, plain (checked in debug builds), at a new literal key: by reference
 * or copied into the arena. */
static int add_plain_str(pb_node *n, const char *key, size_t klen, const char *s, bool copy)
{
    if (s == NULL) {
        return 0;
    }
    size_t len = strlen(s);
    assert(pb_json_plain(s, len));
    struct pb_member *m = len <= UINT32_MAX ? lit_slot(n, key, klen, copy ? len + 1 : 0) : NULL;
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    if (copy) {
        char *c = (char *)(m + 1);
        pb_copy_short(c, s, len + 1);
        s = c;
    }
    m->kind = PB_VK_STR;
    m->flags |= PB_MF_PLAIN_STR;
    m->u.s = s;
    m->slen = (uint32_t)len;
    return 0;
}

int pb_node_add_static(pb_node *n, const char *key, size_t klen, const char *s)
{
    return add_plain_str(n, key, klen, s, false);
}

int pb_node_add_plain(pb_node *n, const char *key, size_t klen, const char *s)
{
    return add_plain_str(n, key, klen, s, true);
}

const char *pb_ev_time(pb_event *ev, uint64_t ts_ns)
{
    char *s = arena_alloc(ev, 40);
    return s != NULL ? pb_time_fmt(ts_ns, false, s) : NULL;
}

int pb_node_add_int(pb_node *n, const char *key, size_t klen, int64_t v)
{
    return fill_int(lit_slot(n, key, klen, 0), v);
}

int pb_node_add_uint(pb_node *n, const char *key, size_t klen, uint64_t v)
{
    return fill_uint(lit_slot(n, key, klen, 0), v);
}

int pb_node_add_bool(pb_node *n, const char *key, size_t klen, bool v)
{
    return fill_bool(lit_slot(n, key, klen, 0), v);
}

/* A new container at a literal key (lit_slot), followed by room bytes of
 * its own (at c + 1) for what fills it: member, node and contents in one
 * allocation. */
static pb_node *add_child(pb_node *n, const char *key, size_t klen, bool arr, size_t room)
{
    _Static_assert(sizeof(struct pb_member) % _Alignof(pb_node) == 0 &&
                       sizeof(pb_node) % _Alignof(struct pb_member) == 0,
                   "member, node and members follow each other");
    struct pb_member *m = lit_slot(n, key, klen, sizeof(pb_node) + room);
    if (m == NULL) {
        return NULL;
    }
    pb_node *c = (pb_node *)(m + 1);
    node_init(c, n->ev, arr);
    m->kind = arr ? PB_VK_ARR : PB_VK_OBJ;
    m->u.n = c;
    return c;
}

pb_node *pb_node_add_obj(pb_node *n, const char *key, size_t klen)
{
    return add_child(n, key, klen, false, 0);
}

pb_node *pb_node_add_arr(pb_node *n, const char *key, size_t klen)
{
    return add_child(n, key, klen, true, 0);
}

/* Makes the count members at m, filled but for their links, the members
 * of the new container c, whose encoding is enc (NULL: none). */
static void set_members(pb_node *c, struct pb_member *m, size_t count, const char *enc,
                        size_t enc_len)
{
    for (size_t i = 0; i < count; i++) {
        m[i].next = i + 1 < count ? &m[i + 1] : NULL;
    }
    c->first = count > 0 ? &m[0] : NULL;
    c->last = count > 0 ? &m[count - 1] : NULL;
    c->count = (uint32_t)count;
    c->enc = enc;
    c->enc_len = (uint32_t)enc_len;
}

pb_node *pb_node_add_endpoint(pb_node *n, const char *key, size_t klen, const char *ip,
                              uint16_t port, int64_t bytes)
{
    size_t iplen = ip != NULL ? strlen(ip) : 0;
    if (ip == NULL || iplen >= 256 || !pb_json_plain(ip, iplen)) {
        /* an odd string (not from pb_ip_str): the general setters */
        pb_node *o = pb_node_add_obj(n, key, klen);
        pb_node_add_str(o, PB_KEY("ip"), ip);
        if (ip != NULL && port != 0) {
            pb_node_add_int(o, PB_KEY("port"), port);
        }
        if (ip != NULL && bytes > 0) {
            pb_node_add_int(o, PB_KEY("bytes"), bytes);
        }
        return o;
    }
    /* the members, the ip's copy and the encoding with the node */
    size_t enc_max = iplen + 64;
    pb_node *o = add_child(n, key, klen, false, 3 * sizeof(struct pb_member) + iplen + 1 + enc_max);
    if (o == NULL) {
        return NULL;
    }
    struct pb_member *m = (struct pb_member *)(o + 1);
    char *copy = (char *)(m + 3);
    pb_copy_short(copy, ip, iplen + 1);
    struct pb_member *mi = link_member(o, &m[0], "ip", 2, PB_MF_PLAIN_KEY);
    mi->kind = PB_VK_STR;
    mi->flags |= PB_MF_PLAIN_STR;
    mi->u.s = copy;
    mi->slen = (uint32_t)iplen;

    char *e = copy + iplen + 1, *w = e;
    w = pb_jw_quoted(PB_JW_LIT(w, "{\"ip\":"), ip, iplen);
    if (port != 0) {
        struct pb_member *mp = link_member(o, &m[1], "port", 4, PB_MF_PLAIN_KEY);
        mp->kind = PB_VK_INT;
        mp->u.i = port;
        w = pb_jw_int(PB_JW_LIT(w, ",\"port\":"), port);
    }
    if (bytes > 0) {
        struct pb_member *mb = link_member(o, &m[2], "bytes", 5, PB_MF_PLAIN_KEY);
        mb->kind = PB_VK_INT;
        mb->u.i = bytes;
        w = pb_jw_int(PB_JW_LIT(w, ",\"bytes\":"), bytes);
    }
    *w++ = '}';
    o->enc = e;
    o->enc_len = (uint32_t)(w - e);
    return o;
}

pb_node *pb_node_add_strs(pb_node *n, const char *key, size_t klen, const char *const *v,
                          size_t count)
{
    size_t len[16], total = 0;
    bool plain = count > 0 && count <= 16;
    for (size_t i = 0; plain && i < count; i++) {
        len[i] = strlen(v[i]);
        total += len[i];
        plain = len[i] < 256 && pb_json_plain(v[i], len[i]);
    }
    if (!plain) {
        pb_node *a = pb_node_add_arr(n, key, klen);
        for (size_t i = 0; a != NULL && i < count; i++) {
            pb_node_set_str(a, NULL, v[i]);
        }
        return a;
    }
    /* the members, the strings' copies, then the encoding */
    pb_node *a =
        add_child(n, key, klen, true, count * sizeof(struct pb_member) + 2 * total + 4 * count + 2);
    if (a == NULL) {
        return NULL;
    }
    struct pb_member *m = (struct pb_member *)(a + 1);
    char *str = (char *)(m + count), *e = str + total + count, *w = e;
    *w++ = '[';
    for (size_t i = 0; i < count; i++) {
        pb_copy_short(str, v[i], len[i] + 1);
        m[i] = (struct pb_member){
            .kind = PB_VK_STR, .flags = PB_MF_PLAIN_STR, .u.s = str, .slen = (uint32_t)len[i]};
        str += len[i] + 1;
        if (i > 0) {
            *w++ = ',';
        }
        w = pb_jw_quoted(w, v[i], len[i]);
    }
    *w++ = ']';
    set_members(a, m, count, e, (size_t)(w - e));
    return a;
}

pb_node *pb_node_add_static_strs(pb_node *n, const char *key, size_t klen, const char *const *v,
                                 size_t count, const char *enc)
{
#ifndef NDEBUG
    {
        size_t o = 0;
        assert(enc[o++] == '[');
        for (size_t i = 0; i < count; i++) {
            size_t l = strlen(v[i]);
            assert(pb_json_plain(v[i], l));
            assert((i == 0 || enc[o++] == ',') && enc[o++] == '"');
            assert(strncmp(enc + o, v[i], l) == 0 && enc[o + l] == '"');
            o += l + 1;
        }
        assert(enc[o] == ']' && enc[o + 1] == '\0');
    }
#endif
    pb_node *a = add_child(n, key, klen, true, count * sizeof(struct pb_member));
    if (a == NULL) {
        return NULL;
    }
    struct pb_member *m = (struct pb_member *)(a + 1);
    size_t enc_len = 1; /* '[', then each quoted string and a ',' or ']' */
    for (size_t i = 0; i < count; i++) {
        m[i] = (struct pb_member){.kind = PB_VK_STR,
                                  .flags = PB_MF_PLAIN_STR,
                                  .u.s = v[i],
                                  .slen = (uint32_t)strlen(v[i])};
        enc_len += m[i].slen + 3;
    }
    set_members(a, m, count, count > 0 ? enc : NULL, count > 0 ? enc_len : 0);
    return a;
}

pb_node *pb_node_add_copy(pb_node *n, const char *key, size_t klen, const pb_node *src)
{
    if (src != NULL && src == &src->ev->root) {
        pb_ev_settle(src->ev); /* its members all there */
    }
    if (n == NULL || src == NULL || src->ev != n->ev) {
        return NULL;
    }
    for (const struct pb_member *m = src->first; m != NULL; m = m->next) {
        if (m->kind == PB_VK_OBJ || m->kind == PB_VK_ARR || m->kind == PB_VK_JSON ||
            m->kind == PB_VK_RAW) {
            return NULL;
        }
    }
    pb_node *o = add_child(n, key, klen, src->arr, src->count * sizeof(struct pb_member));
    if (o == NULL) {
        return NULL;
    }
    struct pb_member *m = (struct pb_member *)(o + 1);
    size_t i = 0;
    for (const struct pb_member *s = src->first; s != NULL; s = s->next) {
        m[i++] = *s; /* keys and strings are the arena's, never changed in place */
    }
    set_members(o, m, i, src->enc, src->enc_len);
    o->keys = src->keys;
    o->dotted = src->dotted;
    return o;
}

/* pb_node_*_k: slot() for a literal key, kept by reference when added. */
static struct pb_member *lit_slot_any(pb_node *n, const char *key, size_t klen)
{
    if (n == NULL || n->arr) {
        return lit_slot(n, key, klen, 0);
    }
    struct pb_member *m = find(n, key, klen);
    return m != NULL ? refill(n, m) : lit_slot(n, key, klen, 0);
}

pb_node *pb_node_obj_k(pb_node *n, const char *key, size_t klen)
{
    return child_of(n, key, klen, false, true);
}

int pb_node_set_str_k(pb_node *n, const char *key, size_t klen, const char *s)
{
    if (s == NULL) {
        return 0;
    }
    if (n == NULL) {
        return -PB_ENOMEM;
    }
    return fill_strn(n->ev, lit_slot_any(n, key, klen), s, strlen(s));
}

int pb_node_set_static_k(pb_node *n, const char *key, size_t klen, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0;
    if (s == NULL || len > UINT32_MAX || !pb_json_plain(s, len)) {
        return pb_node_set_str_k(n, key, klen, s);
    }
    struct pb_member *m = lit_slot_any(n, key, klen);
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_STR;
    m->flags |= PB_MF_PLAIN_STR;
    m->u.s = s; /* plain ASCII: what copy_utf8 would have made */
    m->slen = (uint32_t)len;
    return 0;
}

/* m holds the frozen val by reference. */
static int fill_frozen(struct pb_member *m, const json_t *val)
{
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_JSON;
    m->flags |= PB_MF_BORROWED;
    m->u.j = (json_t *)val;
    return 0;
}

/* Which of pb_ev_frozen_member's hints key is (-1: none). */
static int frozen_hint_of(const char *key, size_t klen)
{
    return klen == 9 && memcmp(key, "@metadata", 9) == 0 ? 0
           : klen == 5 && memcmp(key, "agent", 5) == 0   ? 1
                                                         : -1;
}

/* m, a member of n, took a frozen value: noted when it is a hinted one. */
static int note_frozen(pb_node *n, struct pb_member *m, int rc)
{
    pb_event *ev = n->ev;
    int which = rc == 0 && n == &ev->root ? frozen_hint_of(m->key, m->klen) : -1;
    if (which >= 0) {
        ev->frozen_at[which] = m;
        ev->frozen_edits[which] = ev->edits;
    }
    return rc;
}

int pb_node_set_frozen_k(pb_node *n, const char *key, size_t klen, const json_t *val)
{
    struct pb_member *m = val != NULL ? lit_slot_any(n, key, klen) : NULL;
    return note_frozen(n, m, fill_frozen(m, val));
}

int pb_node_add_raw(pb_node *n, const char *key, size_t klen, const char *json, size_t len)
{
    if (n == NULL || n->arr || len > UINT32_MAX) {
        return -PB_EINVAL;
    }
    struct pb_member *m = lit_slot(n, key, klen, len + 1);
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    char *text = (char *)(m + 1);
    memcpy(text, json, len);
    text[len] = '\0';
    m->kind = PB_VK_RAW;
    m->u.s = text;
    m->slen = (uint32_t)len;
    return 0;
}

int pb_node_add_frozen(pb_node *n, const char *key, size_t klen, const json_t *val)
{
    struct pb_member *m = val != NULL ? lit_slot(n, key, klen, 0) : NULL;
    return note_frozen(n, m, fill_frozen(m, val));
}

int pb_ev_add_builtins(pb_event *ev, const json_t *meta, const json_t *agent, const json_t *ecs,
                       const char *hostname, size_t hlen, const json_t *host_val)
{
    pb_node *root = &ev->root;
    if (ev->json != NULL || hlen > UINT32_MAX) {
        return -PB_EINVAL;
    }
    assert(meta != NULL && agent != NULL && ecs != NULL && !root->arr && !root->dotted &&
           find(root, PB_KEY("@metadata")) == NULL && find(root, PB_KEY("agent")) == NULL &&
           find(root, PB_KEY("ecs")) == NULL && find(root, PB_KEY("host")) == NULL &&
           (hostname == NULL || (strlen(hostname) == hlen && pb_json_plain(hostname, hlen))));
    /* the four members, host's node, and its name member (unless host
       holds host_val) */
    struct pb_member *m =
        arena_alloc(ev, host_val != NULL ? 4 * sizeof *m : 5 * sizeof *m + sizeof(pb_node));
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    pb_node *host = (pb_node *)(m + 4);
    struct pb_member *name = (struct pb_member *)(host + 1);
    const uint8_t frozen = PB_MF_PLAIN_KEY | PB_MF_BORROWED;
    m[0] = (struct pb_member){.next = &m[1],
                              .key = "@metadata",
                              .klen = 9,
                              .tag = pb_key_tag(PB_KEY("@metadata")),
                              .kind = PB_VK_JSON,
                              .flags = frozen,
                              .u.j = (json_t *)meta};
    m[1] = (struct pb_member){.next = &m[2],
                              .key = "agent",
                              .klen = 5,
                              .tag = pb_key_tag(PB_KEY("agent")),
                              .kind = PB_VK_JSON,
                              .flags = frozen,
                              .u.j = (json_t *)agent};
    m[2] = (struct pb_member){.next = &m[3],
                              .key = "ecs",
                              .klen = 3,
                              .tag = pb_key_tag(PB_KEY("ecs")),
                              .kind = PB_VK_JSON,
                              .flags = frozen,
                              .u.j = (json_t *)ecs};
    m[3] = (struct pb_member){.key = "host",
                              .klen = 4,
                              .tag = pb_key_tag(PB_KEY("host")),
                              .kind = PB_VK_OBJ,
                              .flags = PB_MF_PLAIN_KEY,
                              .u.n = host};
    if (host_val != NULL) {
        /* as pb_ev_frozen_if_bare refills it */
        m[3].kind = PB_VK_JSON;
        m[3].flags = frozen;
        m[3].u.j = (json_t *)host_val;
    } else {
        node_init(host, ev, false);
    }
    if (host_val == NULL && hostname != NULL) {
        *name = (struct pb_member){.key = "name",
                                   .klen = 4,
                                   .tag = pb_key_tag(PB_KEY("name")),
                                   .slen = (uint32_t)hlen,
                                   .kind = PB_VK_STR,
                                   .flags = PB_MF_PLAIN_KEY | PB_MF_PLAIN_STR,
                                   .u.s = hostname};
        host->first = host->last = name;
        host->count = 1;
        host->keys = pb_key_bit(name->tag);
    }
    if (root->last != NULL) {
        root->last->next = &m[0];
    } else {
        root->first = &m[0];
    }
    root->last = &m[3];
    root->count += 4;
    root->keys |=
        pb_key_bit(m[0].tag) | pb_key_bit(m[1].tag) | pb_key_bit(m[2].tag) | pb_key_bit(m[3].tag);
    root->enc = NULL;
    /* pb_ev_frozen_member's hints, as note_frozen sets them */
    ev->frozen_at[0] = &m[0];
    ev->frozen_edits[0] = ev->edits;
    ev->frozen_at[1] = &m[1];
    ev->frozen_edits[1] = ev->edits;
    if (host_val != NULL) {
        ev->tail = &m[1];
        ev->tail_edits = ev->edits;
    }
    return 0;
}

bool pb_node_has_k(pb_node *n, const char *key, size_t klen)
{
    return n != NULL && !n->arr && find(n, key, klen) != NULL;
}

int pb_node_set_null(pb_node *n, const char *key)
{
    return slot_of(n, key) != NULL ? 0 : -PB_ENOMEM;
}

/* ---- jansson conversions ---------------------------------------------------- */

static json_t *member_json(const struct pb_member *m, int depth);

static json_t *node_json(const pb_node *n, int depth)
{
    json_t *out = n->arr ? json_array() : json_object();
    if (out == NULL || depth > MAX_DEPTH * 8) {
        json_decref(out);
        return NULL;
    }
    for (const struct pb_member *m = n->first; m != NULL; m = m->next) {
        json_t *v = member_json(m, depth + 1);
        int rc = v == NULL ? -1
                 : n->arr  ? json_array_append_new(out, v)
                           : json_object_setn_new_nocheck(out, m->key, m->klen, v);
        if (rc < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *member_json(const struct pb_member *m, int depth)
{
    switch (m->kind) {
    case PB_VK_FALSE:
        return json_false();
    case PB_VK_TRUE:
        return json_true();
    case PB_VK_INT:
        return json_integer((json_int_t)m->u.i);
    case PB_VK_REAL:
        return json_real(m->u.r);
    case PB_VK_STR:
        return json_stringn_nocheck(m->u.s, m->slen);
    case PB_VK_OBJ:
    case PB_VK_ARR:
        return node_json(m->u.n, depth);
    case PB_VK_JSON:
        return json_incref(m->u.j);
    case PB_VK_RAW:
        return json_loadb(m->u.s, m->slen, 0, NULL);
    case PB_VK_NULL:
    default:
        return json_null();
    }
}

static int from_json_into(pb_node *n, const char *key, size_t klen, const json_t *j, int depth)
{
    struct pb_member *m = slot(n, key, klen);
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
    case JSON_ARRAY: {
        if (depth > MAX_DEPTH * 8) {
            return -PB_ELIMIT;
        }
        pb_node *c = new_node(n->ev, json_is_array(j));
        if (c == NULL) {
            return -PB_ENOMEM;
        }
        m->kind = json_is_array(j) ? PB_VK_ARR : PB_VK_OBJ;
        m->u.n = c;
        if (json_is_array(j)) {
            size_t i;
            json_t *v;
            json_array_foreach(j, i, v)
            {
                if (from_json_into(c, NULL, 0, v, depth + 1) < 0) {
                    return -PB_ENOMEM;
                }
            }
        } else {
            const char *k;
            size_t kl;
            json_t *v;
            json_object_keylen_foreach((json_t *)j, k, kl, v)
            {
                if (from_json_into(c, k, kl, v, depth + 1) < 0) {
                    return -PB_ENOMEM;
                }
            }
        }
        return 0;
    }
    case JSON_STRING: {
        size_t len = json_string_length(j);
        char *s = arena_alloc(n->ev, len + 1);
        if (s == NULL || len > UINT32_MAX) {
            return -PB_ENOMEM;
        }
        memcpy(s, json_string_value(j), len + 1);
        m->kind = PB_VK_STR;
        m->u.s = s;
        m->slen = (uint32_t)len;
        return 0;
    }
    case JSON_INTEGER:
        m->kind = PB_VK_INT;
        m->u.i = (int64_t)json_integer_value(j);
        return 0;
    case JSON_REAL:
        m->kind = PB_VK_REAL;
        m->u.r = json_real_value(j);
        return 0;
    case JSON_TRUE:
        m->kind = PB_VK_TRUE;
        return 0;
    case JSON_FALSE:
        m->kind = PB_VK_FALSE;
        return 0;
    default:
        m->kind = PB_VK_NULL;
        return 0;
    }
}

/* A DOM copy of a jansson object or array (strings copied as they are:
 * jansson's are valid UTF-8 already). */
static pb_node *from_json_node(pb_event *ev, const json_t *j)
{
    pb_node tmp;
    node_init(&tmp, ev, true);
    if (from_json_into(&tmp, NULL, 0, j, 0) < 0 || tmp.first == NULL) {
        return NULL;
    }
    return tmp.first->u.n;
}

json_t *pb_ev_json(pb_event *ev)
{
    if (ev->json != NULL) {
        return ev->json;
    }
    pb_ev_settle(ev);
    json_t *tree = node_json(&ev->root, 0);
    if (tree == NULL) {
        return NULL;
    }
    release_all(ev);
    free_chunks(ev);
    struct pb_chunk *first = ev->chunks;
    if (first != NULL) {
        first->used = 0;
    }
    node_init(&ev->root, ev, false);
    ev->ip_str[0] = ev->ip_str[1] = NULL; /* the arena's memory is reused */
    ev->frozen_at[0] = ev->frozen_at[1] = NULL;
    ev->tail = NULL;
    ev->json = tree;
    return tree;
}

int pb_node_set_copy(pb_node *n, const char *key, const json_t *v)
{
    if (n == NULL || v == NULL) {
        return -PB_EINVAL;
    }
    return from_json_into(n, key, n->arr || key == NULL ? 0 : strlen(key), v, 0);
}

int pb_ev_to_arena(pb_event *ev)
{
    if (ev->json == NULL) {
        return 0;
    }
    json_t *tree = ev->json;
    ev->json = NULL;
    ev->ip_str[0] = ev->ip_str[1] = NULL;
    ev->frozen_at[0] = ev->frozen_at[1] = NULL;
    ev->tail = NULL;
    node_init(&ev->root, ev, false);
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach(tree, k, kl, v)
    {
        if (from_json_into(&ev->root, k, kl, v, 0) < 0) {
            release_all(ev); /* back to the tree */
            free_chunks(ev);
            if (ev->chunks != NULL) {
                ev->chunks->used = 0;
            }
            node_init(&ev->root, ev, false);
            ev->json = tree;
            return -PB_ENOMEM;
        }
    }
    json_decref(tree);
    return 0;
}

json_t *pb_ev_take(pb_event *ev)
{
    if (ev == NULL) {
        return NULL;
    }
    json_t *tree = pb_ev_json(ev);
    if (tree != NULL) {
        ev->json = NULL; /* the caller's now */
    }
    pb_ev_free(ev);
    return tree;
}

pb_event *pb_ev_rewrap(pb_event *ev, json_t *tree)
{
    ev->json = tree; /* the one handed on was taken with the call */
    ev->ip_str[0] = ev->ip_str[1] = NULL;
    ev->frozen_at[0] = ev->frozen_at[1] = NULL;
    ev->tail = NULL;
    if (tree == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}

/* ---- dotted paths ---------------------------------------------------------- */

/* A value found at a path: a DOM member, or a value inside a jansson member. */
struct ref {
    struct pb_member *m;
    json_t *j;
};

/* As pb_json_get: the whole remaining path as a literal key first, then each
 * split point, so both {"a":{"b.c":1}} and {"a.b":{"c":1}} are found. */
static struct ref lookup(pb_node *n, const char *path, int depth)
{
    struct ref r = {0};
    if (depth > MAX_DEPTH) {
        return r;
    }
    size_t plen = strlen(path);
    const char *first = memchr(path, '.', plen);
    if (first == NULL || n->dotted) {
        r.m = find(n, path, plen);
        if (r.m != NULL) {
            return r;
        }
    }
    /* split points past the first only where a dotted key was added */
    for (const char *dot = first; dot != NULL; dot = n->dotted ? strchr(dot + 1, '.') : NULL) {
        struct pb_member *c = find(n, path, (size_t)(dot - path));
        if (c == NULL) {
            continue;
        }
        if (c->kind == PB_VK_OBJ) {
            r = lookup(c->u.n, dot + 1, depth + 1);
        } else if (c->kind == PB_VK_JSON && json_is_object(c->u.j)) {
            r.j = pb_json_get(c->u.j, dot + 1);
        }
        if (r.m != NULL || r.j != NULL) {
            return r;
        }
    }
    return r;
}

void pb_path_init(struct pb_path *p, const char *s)
{
    size_t len = strlen(s);
    *p = (struct pb_path){.s = s, .len = (uint32_t)len};
    if (len > UINT16_MAX) {
        p->ndots = PB_PATH_LONG;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '.') {
            continue;
        }
        if (p->ndots == PB_PATH_DOTS) {
            p->ndots = PB_PATH_LONG;
            return;
        }
        p->dot[p->ndots++] = (uint16_t)i;
    }
    p->bit0 = pb_key_bit(pb_key_tag(s, p->ndots > 0 ? p->dot[0] : len));
}

/* lookup() on the part of p from offset start, whose first dot is dot k:
 * the literal rest first, then each split point. */
static struct ref lookup_p(pb_node *n, const struct pb_path *p, uint32_t start, unsigned k)
{
    struct ref r = {0};
    const char *s = p->s + start;
    /* keys with a dot (the literal rest, longer split points) only where
       such a key was ever added */
    if (k >= p->ndots || n->dotted) {
        r.m = find(n, s, p->len - start);
        if (r.m != NULL) {
            return r;
        }
    }
    for (unsigned k0 = k; k < p->ndots && (k == k0 || n->dotted); k++) {
        uint32_t d = p->dot[k];
        struct pb_member *c = find(n, s, d - start);
        if (c == NULL) {
            continue;
        }
        if (c->kind == PB_VK_OBJ) {
            r = lookup_p(c->u.n, p, d + 1, k + 1);
        } else if (c->kind == PB_VK_JSON && json_is_object(c->u.j)) {
            r.j = pb_json_get(c->u.j, p->s + d + 1);
        }
        if (r.m != NULL || r.j != NULL) {
            return r;
        }
    }
    return r;
}

/* lookup() of a split path (at most PB_PATH_DOTS deep: within MAX_DEPTH). */
static struct ref lookup_path(pb_node *n, const struct pb_path *p)
{
    if (p->ndots == PB_PATH_LONG) {
        return lookup(n, p->s, 0);
    }
    if (!n->dotted && (n->keys & p->bit0) == 0) {
        return (struct ref){0}; /* its first key was never added */
    }
    return lookup_p(n, p, 0, 0);
}

/* A jansson value in member m that is about to change: copied first when
 * something else holds it too (a shared template stays as it is). */
static json_t *own_json(pb_event *ev, struct pb_member *m)
{
    ev->edits++;
    bool borrowed = (m->flags & PB_MF_BORROWED) != 0;
    if (borrowed && (m->flags & PB_MF_LISTED) == 0 && !list_jref(ev, m)) {
        return NULL;
    }
    if (borrowed || m->u.j->refcount > 1) {
        json_t *copy = json_deep_copy(m->u.j);
        if (copy == NULL) {
            ev->failed = true;
            return NULL;
        }
        if (borrowed) {
            m->flags &= (uint8_t)~PB_MF_BORROWED;
            ev->njson++;
        } else {
            json_decref(m->u.j);
        }
        m->u.j = copy;
    }
    return m->u.j;
}

/* As pb_json_put's walk: the parent of the last segment, objects created
 * (replacing non-objects) on the way. When the walk enters a jansson
 * object, *tree is set to it and *leaf to the rest of the path. */
static pb_node *walk_create(pb_event *ev, const char *path, const char **leaf, json_t **tree)
{
    pb_node *cur = &ev->root;
    const char *seg = path;
    *tree = NULL;
    for (;;) {
        const char *dot = strchr(seg, '.');
        if (dot == NULL) {
            *leaf = seg;
            return cur;
        }
        size_t len = (size_t)(dot - seg);
        struct pb_member *m = find(cur, seg, len);
        if (m != NULL && m->kind == PB_VK_JSON && json_is_object(m->u.j)) {
            *tree = own_json(ev, m);
            *leaf = dot + 1;
            return *tree != NULL ? cur : NULL;
        }
        cur = child(cur, seg, len, false);
        if (cur == NULL) {
            return NULL;
        }
        seg = dot + 1;
    }
}

int pb_ev_put(pb_event *ev, const char *path, json_t *val)
{
    if (ev->json != NULL) {
        return pb_json_put(ev->json, path, val);
    }
    if (val == NULL) {
        ev->failed = true;
        return -PB_ENOMEM;
    }
    const char *leaf = NULL;
    json_t *tree = NULL;
    pb_node *parent = walk_create(ev, path, &leaf, &tree);
    if (tree != NULL) {
        return pb_json_put(tree, leaf, val);
    }
    if (parent == NULL) {
        json_decref(val);
        return -PB_ENOMEM;
    }
    return set_json(parent, leaf, val);
}

/* The node and key a scalar setter writes to; NULL when the path leads into
 * a jansson object (then *tree, *leaf are set) or on failure. */
static pb_node *put_target(pb_event *ev, const char *path, const char **leaf, json_t **tree)
{
    pb_node *parent = walk_create(ev, path, leaf, tree);
    return *tree != NULL ? NULL : parent;
}

#define PUT_SCALAR(call_dom, call_tree)                                                            \
    do {                                                                                           \
        if (ev->json != NULL) {                                                                    \
            json_t *tree = ev->json;                                                               \
            const char *leaf = path;                                                               \
            return call_tree;                                                                      \
        }                                                                                          \
        const char *leaf = NULL;                                                                   \
        json_t *tree = NULL;                                                                       \
        pb_node *node = put_target(ev, path, &leaf, &tree);                                        \
        if (tree != NULL) {                                                                        \
            return call_tree;                                                                      \
        }                                                                                          \
        return node != NULL ? call_dom : -PB_ENOMEM;                                               \
    } while (0)

int pb_ev_put_strn(pb_event *ev, const char *path, const void *s, size_t n)
{
    PUT_SCALAR(pb_node_set_strn(node, leaf, s, n), pb_json_put_strn(tree, leaf, s, n));
}

int pb_ev_put_str(pb_event *ev, const char *path, const char *s)
{
    return s != NULL ? pb_ev_put_strn(ev, path, s, strlen(s)) : 0;
}

int pb_ev_put_int(pb_event *ev, const char *path, int64_t v)
{
    PUT_SCALAR(pb_node_set_int(node, leaf, v), pb_json_put_int(tree, leaf, v));
}

int pb_ev_put_uint(pb_event *ev, const char *path, uint64_t v)
{
    PUT_SCALAR(pb_node_set_uint(node, leaf, v), pb_json_put_uint(tree, leaf, v));
}

int pb_ev_put_bool(pb_event *ev, const char *path, bool v)
{
    PUT_SCALAR(pb_node_set_bool(node, leaf, v), pb_json_put_bool(tree, leaf, v));
}

int pb_ev_put_null(pb_event *ev, const char *path)
{
    PUT_SCALAR(pb_node_set_null(node, leaf), pb_json_put(tree, leaf, json_null()));
}

int pb_ev_put_time(pb_event *ev, const char *path, uint64_t ts_ns)
{
    char buf[40];
    return pb_ev_put_str(ev, path, pb_time_fmt(ts_ns, false, buf));
}

static pb_node *container_at(pb_event *ev, const char *path, bool arr)
{
    if (ev->json != NULL) {
        return NULL;
    }
    if (path[0] == '\0') {
        return arr ? NULL : &ev->root;
    }
    const char *leaf = NULL;
    json_t *tree = NULL;
    pb_node *node = put_target(ev, path, &leaf, &tree);
    return node != NULL ? child(node, leaf, strlen(leaf), arr) : NULL;
}

pb_node *pb_ev_obj(pb_event *ev, const char *path)
{
    return container_at(ev, path, false);
}

pb_node *pb_ev_arr(pb_event *ev, const char *path)
{
    return container_at(ev, path, true);
}

bool pb_ev_has_p(pb_event *ev, const struct pb_path *p)
{
    if (ev->json != NULL) {
        return pb_json_get(ev->json, p->s) != NULL;
    }
    struct ref r = lookup_path(&ev->root, p);
    return r.m != NULL || r.j != NULL;
}

bool pb_ev_has(pb_event *ev, const char *path)
{
    struct pb_path p;
    pb_path_init(&p, path);
    return pb_ev_has_p(ev, &p);
}

int pb_ev_frozen_if_bare(pb_event *ev, const char *key, size_t klen, bool name_ok,
                         const json_t *val)
{
    if (ev->json != NULL || val == NULL) {
        return -1;
    }
    pb_node *root = &ev->root;
    /* the root's last member first: the pipeline adds host last, just
       before the processors run (an object's keys are unique: the one
       found there is the one find would find) */
    struct pb_member *m = root->last;
    if (m == NULL || m->tag != pb_key_tag(key, klen) || m->klen != klen ||
        memcmp(m->key, key, klen) != 0 || m->kind == PB_VK_RAW) {
        m = find(root, key, klen);
    }
    if (m != NULL && m->kind == PB_VK_JSON) {
        return -1;
    }
    bool bare = m == NULL || m->kind != PB_VK_OBJ || m->u.n->count == 0;
    if (!bare && name_ok && m->u.n->count == 1) {
        /* "key.name": the literal dotted key first, as a path lookup does */
        char dotted[64];
        const struct pb_member *only = m->u.n->first; /* what find would look at */
        bool has = only->kind == PB_VK_RAW ? find(m->u.n, "name", 4) != NULL
                                           : only->klen == 4 && memcmp(only->key, "name", 4) == 0;
        if (!has && root->dotted && klen + 5 < sizeof dotted) {
            memcpy(dotted, key, klen);
            memcpy(dotted + klen, ".name", 6);
            has = find(root, dotted, klen + 5) != NULL;
        }
        bare = has;
    }
    if (!bare) {
        return 0;
    }
    if (m != NULL) {
        /* the hints of the other root members stay true (the encoder
           finds @metadata and agent by them) */
        bool keep0 = ev->frozen_edits[0] == ev->edits && ev->frozen_at[0] != m;
        bool keep1 = ev->frozen_edits[1] == ev->edits && ev->frozen_at[1] != m;
        m = refill(root, m);
        ev->frozen_edits[0] = keep0 ? ev->edits : ev->frozen_edits[0];
        ev->frozen_edits[1] = keep1 ? ev->edits : ev->frozen_edits[1];
    } else {
        m = lit_slot(root, key, klen, 0);
    }
    if (m == NULL) {
        return -1;
    }
    m->kind = PB_VK_JSON;
    m->flags |= PB_MF_BORROWED;
    m->u.j = (json_t *)val;
    return 1;
}

int pb_ev_path2(pb_event *ev, const struct pb_path *p, pb_node **obj)
{
    *obj = NULL;
    if (ev->json != NULL || p->ndots != 1) {
        return -1;
    }
    /* lookup_p's steps for one dot: the literal path, then the first
       segment and the rest in it */
    if (ev->root.dotted && find(&ev->root, p->s, p->len) != NULL) {
        return 1;
    }
    uint32_t d = p->dot[0];
    struct pb_member *m = find(&ev->root, p->s, d);
    if (m == NULL) {
        return 0;
    }
    if (m->kind != PB_VK_OBJ) {
        return -1;
    }
    if (find(m->u.n, p->s + d + 1, p->len - d - 1) != NULL) {
        return 1;
    }
    *obj = m->u.n;
    return 0;
}

long pb_ev_obj_size_p(pb_event *ev, const struct pb_path *p)
{
    json_t *j = NULL;
    if (ev->json != NULL) {
        j = pb_json_get(ev->json, p->s);
    } else {
        struct ref r = lookup_path(&ev->root, p);
        if (r.m != NULL && r.m->kind == PB_VK_OBJ) {
            return (long)r.m->u.n->count;
        }
        j = r.m != NULL && r.m->kind == PB_VK_JSON ? r.m->u.j : r.j;
    }
    return json_is_object(j) ? (long)json_object_size(j) : -1;
}

long pb_ev_obj_size(pb_event *ev, const char *path)
{
    struct pb_path p;
    pb_path_init(&p, path);
    return pb_ev_obj_size_p(ev, &p);
}

const char *pb_ev_get_str_p(pb_event *ev, const struct pb_path *p, size_t *len)
{
    json_t *j = NULL;
    if (ev->json != NULL) {
        j = pb_json_get(ev->json, p->s);
    } else {
        struct ref r = lookup_path(&ev->root, p);
        if (r.m != NULL && r.m->kind == PB_VK_STR) {
            if (len != NULL) {
                *len = r.m->slen;
            }
            return r.m->u.s;
        }
        j = r.m != NULL && r.m->kind == PB_VK_JSON ? r.m->u.j : r.j;
    }
    if (!json_is_string(j)) {
        return NULL;
    }
    if (len != NULL) {
        *len = json_string_length(j);
    }
    return json_string_value(j);
}

const char *pb_ev_get_str(pb_event *ev, const char *path, size_t *len)
{
    struct pb_path p;
    pb_path_init(&p, path);
    return pb_ev_get_str_p(ev, &p, len);
}

bool pb_ev_get_int(pb_event *ev, const char *path, int64_t *v)
{
    json_t *j = NULL;
    if (ev->json != NULL) {
        j = pb_json_get(ev->json, path);
    } else {
        struct pb_path p;
        pb_path_init(&p, path);
        struct ref r = lookup_path(&ev->root, &p);
        if (r.m != NULL && r.m->kind == PB_VK_INT) {
            *v = r.m->u.i;
            return true;
        }
        j = r.m != NULL && r.m->kind == PB_VK_JSON ? r.m->u.j : r.j;
    }
    if (!json_is_integer(j)) {
        return false;
    }
    *v = (int64_t)json_integer_value(j);
    return true;
}

json_t *pb_ev_get_json_p(pb_event *ev, const struct pb_path *p)
{
    if (ev->json != NULL) {
        return json_incref(pb_json_get(ev->json, p->s));
    }
    struct ref r = lookup_path(&ev->root, p);
    if (r.m != NULL) {
        return member_json(r.m, 0);
    }
    return json_incref(r.j);
}

json_t *pb_ev_get_json(pb_event *ev, const char *path)
{
    struct pb_path p;
    pb_path_init(&p, path);
    return pb_ev_get_json_p(ev, &p);
}

json_t *pb_ev_get_timestamp(pb_event *ev)
{
    const struct pb_pending_ops *o = ev->json == NULL ? ev->pops : NULL;
    static const char key[] = "\"@timestamp\":\"";
    /* put_ts writes the key and a pb_time_fmt text (at most 39 bytes) */
    char buf[sizeof key + 64];
    if (o != NULL) {
        size_t n = (size_t)(o->put_ts(ev->pst, buf) - buf);
        size_t k = sizeof key - 1;
        if (n > k && n <= sizeof buf && memcmp(buf, key, k) == 0 && buf[n - 1] == '"') {
            return json_stringn_nocheck(buf + k, n - k - 1);
        }
    }
    return pb_ev_get_json(ev, "@timestamp");
}

const json_t *pb_ev_frozen_member(pb_event *ev, const char *key, size_t klen)
{
    if (ev->json != NULL || ev->root.dotted) {
        return NULL; /* a literal "@metadata.x" would count too: not asked */
    }
    /* the hint, else a walk of the root: an output thread reads events
       that left its cache long ago, and each member of the walk is a miss */
    int which = frozen_hint_of(key, klen);
    const struct pb_member *m =
        which >= 0 && ev->frozen_edits[which] == ev->edits ? ev->frozen_at[which] : NULL;
    if (m == NULL) {
        uint32_t tag = pb_key_tag(key, klen);
        for (m = ev->root.first; m != NULL; m = m->next) {
            if (m->tag == tag && m->klen == klen && memcmp(m->key, key, klen) == 0) {
                break;
            }
        }
    }
    return m != NULL && m->kind == PB_VK_JSON && (m->flags & PB_MF_BORROWED) ? m->u.j : NULL;
}

void pb_ev_note_ip(pb_event *ev, int which, const struct pb_member *m, const struct pb_ip *ip)
{
    if (ev->json == NULL && m != NULL && m->kind == PB_VK_STR && m->slen > 0) {
        ev->ip_str[which] = m->u.s;
        ev->ip_val[which] = (struct pb_ip){.v6 = ip->v6};
        memcpy(ev->ip_val[which].b, ip->b, ip->v6 ? 16 : 4);
        ev->ip_edits = ev->edits;
    }
}

bool pb_ev_noted_ip(const pb_event *ev, int which, struct pb_ip *ip)
{
    if (ev->json != NULL || ev->ip_str[which] == NULL || ev->edits != ev->ip_edits) {
        return false;
    }
    *ip = ev->ip_val[which];
    return true;
}

bool pb_ev_parse_ip(pb_event *ev, const char *s, struct pb_ip *ip)
{
    /* a hint points into the live arena: no other string is there */
    for (int i = 0; i < 2 && s != NULL; i++) {
        if (s == ev->ip_str[i]) {
            *ip = ev->ip_val[i];
            return true;
        }
    }
    return s != NULL && pb_ip_parse(s, ip);
}

static bool unlink_member(pb_node *n, struct pb_member *m)
{
    struct pb_member *prev = NULL;
    for (struct pb_member *c = n->first; c != NULL; prev = c, c = c->next) {
        if (c != m) {
            continue;
        }
        if (prev != NULL) {
            prev->next = c->next;
        } else {
            n->first = c->next;
        }
        if (n->last == c) {
            n->last = prev;
        }
        n->ev->edits++;
        n->count--;
        n->enc = NULL;
        release_value(n->ev, c);
        return true;
    }
    return false;
}

/* As pb_json_del: the literal key first, then each split point. */
static bool del_rec(pb_node *n, const char *path, int depth)
{
    if (depth > MAX_DEPTH) {
        return false;
    }
    struct pb_member *m = find(n, path, strlen(path));
    if (m != NULL) {
        return unlink_member(n, m);
    }
    for (const char *dot = strchr(path, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        struct pb_member *c = find(n, path, (size_t)(dot - path));
        if (c == NULL) {
            continue;
        }
        if (c->kind == PB_VK_OBJ && del_rec(c->u.n, dot + 1, depth + 1)) {
            return true;
        }
        if (c->kind == PB_VK_JSON && json_is_object(c->u.j) &&
            pb_json_get(c->u.j, dot + 1) != NULL) {
            json_t *own = own_json(n->ev, c);
            return own != NULL && pb_json_del(own, dot + 1);
        }
    }
    return false;
}

bool pb_ev_del(pb_event *ev, const char *path)
{
    if (ev->json != NULL) {
        return pb_json_del(ev->json, path);
    }
    return del_rec(&ev->root, path, 0);
}

/* s (n bytes, n > 0) appended to the array arr unless arr holds a string
 * equal to it as it is stored (invalid UTF-8 replaced); copied only when
 * appended. */
static int add_unique_to(pb_event *ev, pb_node *arr, const void *s, size_t n)
{
    if (arr == NULL || n > UINT32_MAX) {
        return -PB_ENOMEM;
    }
    bool plain = pb_json_plain(s, n);
    const char *stored = s, *copy = NULL;
    size_t len = n;
    if (!plain) {
        copy = stored = copy_utf8(ev, s, n, &len, &plain);
        if (copy == NULL || len > UINT32_MAX) {
            return -PB_ENOMEM;
        }
    }
    for (const struct pb_member *m = arr->first; m != NULL; m = m->next) {
        if (m->kind == PB_VK_STR && m->slen == len && memcmp(m->u.s, stored, len) == 0) {
            return 0;
        }
    }
    if (copy == NULL) {
        char *c = arena_alloc(ev, n + 1);
        if (c == NULL) {
            return -PB_ENOMEM;
        }
        memcpy(c, s, n);
        c[n] = '\0';
        copy = c;
    }
    struct pb_member *m = append(arr, NULL, 0, 0);
    if (m == NULL) {
        return -PB_ENOMEM;
    }
    m->kind = PB_VK_STR;
    m->flags = plain ? PB_MF_PLAIN_STR : 0;
    m->u.s = copy;
    m->slen = (uint32_t)len;
    return 0;
}

int pb_ev_add_unique(pb_event *ev, const char *path, const void *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (ev->json != NULL) {
        return pb_json_add_unique(ev->json, path, s, n);
    }
    return add_unique_to(ev, pb_ev_arr(ev, path), s, n);
}

/* s (len bytes, plain) appended to l unless l holds it (or skip, when
 * not NULL: the tuple's addresses for related.ip). */
static int txp_list_add(pb_event *ev, struct pb_txp_list *l, const char *s, size_t len,
                        const struct pb_txp *skip)
{
    if (skip != NULL && ((len == skip->sip_len && memcmp(s, skip->sip, len) == 0) ||
                         (len == skip->dip_len && memcmp(s, skip->dip, len) == 0))) {
        return 0;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0) {
            return 0;
        }
    }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 8;
        const char **v = arena_alloc(ev, cap * sizeof *v);
        if (v == NULL) {
            return -PB_ENOMEM;
        }
        if (l->n > 0) {
            memcpy(v, l->v, l->n * sizeof *v);
        }
        l->v = v;
        l->cap = cap;
    }
    char *c = arena_alloc(ev, len + 1);
    if (c == NULL) {
        return -PB_ENOMEM;
    }
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    l->bytes += (uint32_t)len;
    return 0;
}

/* Whether a string of len bytes at s may wait in a pending transaction's
 * lists: plain and short. */
static bool txp_listable(const pb_event *ev, const void *s, size_t len)
{
    return ev->txp != NULL && len < 256 && pb_json_plain(s, len);
}

int pb_ev_add_related_host(pb_event *ev, const void *s, size_t n)
{
    if (n > 0 && txp_listable(ev, s, n)) {
        return txp_list_add(ev, &ev->txp->hosts, s, n, NULL);
    }
    return pb_ev_add_unique(ev, "related.hosts", s, n);
}

int pb_ev_add_related_ips(pb_event *ev, const char *const *ips, size_t n)
{
    pb_node *arr = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = ips[i] != NULL ? strlen(ips[i]) : 0;
        if (len == 0) {
            continue;
        }
        if (txp_listable(ev, ips[i], len)) {
            rc = txp_list_add(ev, &ev->txp->ips, ips[i], len, ev->txp);
            continue;
        }
        pb_ev_settle(ev);
        if (ev->json != NULL) {
            rc = pb_json_add_unique(ev->json, "related.ip", ips[i], len);
            continue;
        }
        if (arr == NULL && (arr = pb_ev_arr(ev, "related.ip")) == NULL) {
            return -PB_ENOMEM;
        }
        rc = add_unique_to(ev, arr, ips[i], len);
    }
    return rc;
}

int pb_ev_add_related_ip(pb_event *ev, const char *ip)
{
    return pb_ev_add_related_ips(ev, &ip, 1);
}
