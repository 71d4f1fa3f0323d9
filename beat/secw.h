/* SPDX-License-Identifier: Apache-2.0
 * beat/secw.h - a section writer: protocol code fills one object of an
 * event (memcache.*, ...) through it, and it either adds the members to a
 * node (DOM mode) or writes the object's compact JSON text straight (text
 * mode), which the event keeps as a raw member (pb_node_add_raw): no
 * member is built and none is encoded again, and the text is what the codec
 * writes for the members the DOM mode makes.
 *
 * Text mode writes only what it can write exactly as the codec does: plain
 * strings (pb_ev_plain), integers and booleans under literal keys (plain,
 * PB_KEY). Anything else (a string that needs escaping, an integer above
 * INT64_MAX, more than PB_SECW_BYTES of text or PB_SECW_DEPTH levels)
 * fails it: pb_secw_finish returns -1 and the caller fills the section
 * again in DOM mode. Usage:
 *
 *     struct pb_secw w;
 *     pb_secw_text(&w);
 *     fill(&w, ...);
 *     if (pb_secw_finish(&w, root, PB_KEY("memcache")) != 0) {
 *         pb_secw_dom(&w, pb_node_add_obj(root, PB_KEY("memcache")));
 *         fill(&w, ...);
 *     }
 */
#ifndef PB_SECW_H
#define PB_SECW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/jsonw.h"

enum { PB_SECW_DEPTH = 6, PB_SECW_BYTES = 4096 };

struct pb_secw {
    bool text;
    bool fail;     /* text mode: cannot be written as text */
    uint8_t depth; /* containers open below the section's object */
    uint8_t over;  /* opened beyond PB_SECW_DEPTH (failed) */
    bool arr[PB_SECW_DEPTH + 1];
    bool first[PB_SECW_DEPTH + 1];
    pb_node *node[PB_SECW_DEPTH + 1]; /* DOM mode: the open containers */
    size_t len;
    char buf[PB_SECW_BYTES];
};

/* Starts a section as text. */
void pb_secw_text(struct pb_secw *w);
/* Starts a section as the members of obj (NULL: nothing is added). */
void pb_secw_dom(struct pb_secw *w, pb_node *obj);
/* Text mode: adds the section at the literal key of root as a raw member;
 * 0, or -1 when it could not be written as text (nothing added). */
int pb_secw_finish(struct pb_secw *w, pb_node *root, const char *key, size_t klen);

/* Members at literal keys (NULL, 0 in an array): inline below. */
static inline void pb_secw_strn(struct pb_secw *w, const char *key, size_t klen, const void *s,
                                size_t n);
/* s: a string that outlives the event (kept by reference in DOM mode);
 * NULL adds nothing, in both modes. */
static inline void pb_secw_static(struct pb_secw *w, const char *key, size_t klen, const char *s);
void pb_secw_int(struct pb_secw *w, const char *key, size_t klen, int64_t v);
void pb_secw_uint(struct pb_secw *w, const char *key, size_t klen, uint64_t v);
static inline void pb_secw_bool(struct pb_secw *w, const char *key, size_t klen, bool v);
/* Opens an object or an array at key; pb_secw_end closes it. */
void pb_secw_obj(struct pb_secw *w, const char *key, size_t klen);
void pb_secw_arr(struct pb_secw *w, const char *key, size_t klen);
void pb_secw_end(struct pb_secw *w);

/* ---- inline: the text mode's usual steps ---- */

/* DOM mode: the open container (NULL: nothing is added) */
static inline pb_node *pb_secw__node(const struct pb_secw *w)
{
    return w->over > 0 ? NULL : w->node[w->depth];
}

/* Text mode: the comma and the key of the next member with room for n
   bytes of its value after them (the closing braces of every open level
   kept); the output position, or NULL (failed). */
static inline char *pb_secw__member(struct pb_secw *w, const char *key, size_t klen, size_t n)
{
    if (w->fail || klen + 4 + n > sizeof w->buf - w->len - (w->depth + 2u)) {
        w->fail = true;
        return NULL;
    }
    char *o = w->buf + w->len;
    if (!w->first[w->depth]) {
        *o++ = ',';
    }
    w->first[w->depth] = false;
    if (!w->arr[w->depth]) {
        o = pb_jw_quoted(o, key, klen);
        *o++ = ':';
    }
    return o;
}

static inline void pb_secw_strn(struct pb_secw *w, const char *key, size_t klen, const void *s,
                                size_t n)
{
    if (!w->text) {
        if (pb_secw__node(w) != NULL) {
            pb_node_add_strn(pb_secw__node(w), key, klen, s != NULL ? s : "", n);
        }
        return;
    }
    if (s == NULL ? n > 0 : !pb_json_plain(s, n)) {
        w->fail = true; /* escaped by the codec: the DOM mode */
        return;
    }
    char *o = pb_secw__member(w, key, klen, n + 2);
    if (o != NULL) {
        w->len = (size_t)(pb_jw_quoted(o, n > 0 ? s : "", n) - w->buf);
    }
}

static inline void pb_secw_static(struct pb_secw *w, const char *key, size_t klen, const char *s)
{
    if (!w->text) {
        if (pb_secw__node(w) != NULL) {
            pb_node_add_static(pb_secw__node(w), key, klen, s);
        }
        return;
    }
    if (s != NULL) { /* as pb_node_add_static: nothing */
        pb_secw_strn(w, key, klen, s, strlen(s));
    }
}

static inline void pb_secw_bool(struct pb_secw *w, const char *key, size_t klen, bool v)
{
    if (!w->text) {
        if (pb_secw__node(w) != NULL) {
            pb_node_add_bool(pb_secw__node(w), key, klen, v);
        }
        return;
    }
    char *o = pb_secw__member(w, key, klen, 5);
    if (o != NULL) {
        w->len = (size_t)((v ? PB_JW_LIT(o, "true") : PB_JW_LIT(o, "false")) - w->buf);
    }
}

#endif
