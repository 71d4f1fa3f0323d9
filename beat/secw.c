/* SPDX-License-Identifier: Apache-2.0
 * beat/secw.c - the section writer (see secw.h).
 */
#include "beat/secw.h"

#include <string.h>

#include "beat/event_dom.h"
#include "beat/jsonw.h"

void pb_secw_text(struct pb_secw *w)
{
    w->text = true;
    w->fail = false;
    w->depth = 0;
    w->over = 0;
    w->arr[0] = false;
    w->first[0] = true;
    w->node[0] = NULL;
    w->buf[0] = '{';
    w->len = 1;
}

void pb_secw_dom(struct pb_secw *w, pb_node *obj)
{
    w->text = false;
    w->fail = false;
    w->depth = 0;
    w->over = 0;
    w->arr[0] = false;
    w->node[0] = obj;
    w->len = 0;
}

int pb_secw_finish(struct pb_secw *w, pb_node *root, const char *key, size_t klen)
{
    if (!w->text || w->fail || w->depth != 0 || w->over != 0 || w->len >= sizeof w->buf) {
        return -1;
    }
    w->buf[w->len++] = '}';
    return pb_node_add_raw(root, key, klen, w->buf, w->len) == 0 ? 0 : -1;
}

/* Text mode: room for n more bytes, the closing braces of every open
   level kept; false (failed) when there is none. */
static bool room(struct pb_secw *w, size_t n)
{
    if (w->fail || n > sizeof w->buf - w->len - (w->depth + 2u)) {
        w->fail = true;
        return false;
    }
    return true;
}

/* Text mode: the comma and the key of the next member, then room for n
   bytes of its value; the output position, or NULL (failed). */
static char *member(struct pb_secw *w, const char *key, size_t klen, size_t n)
{
    if (!room(w, klen + 4 + n)) {
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

/* DOM mode: the open container (NULL: nothing is added) */
static pb_node *cur(const struct pb_secw *w)
{
    return w->over > 0 ? NULL : w->node[w->depth];
}

static void done(struct pb_secw *w, const char *o)
{
    w->len = (size_t)(o - w->buf);
}

void pb_secw_strn(struct pb_secw *w, const char *key, size_t klen, const void *s, size_t n)
{
    if (!w->text) {
        if (cur(w) != NULL) {
            pb_node_add_strn(cur(w), key, klen, s != NULL ? s : "", n);
        }
        return;
    }
    if (s == NULL && n > 0) {
        w->fail = true;
        return;
    }
    if (!pb_ev_plain(s != NULL ? s : "", n)) {
        w->fail = true; /* escaped by the codec: the DOM mode */
        return;
    }
    char *o = member(w, key, klen, n + 2);
    if (o != NULL) {
        done(w, pb_jw_quoted(o, s != NULL ? s : "", n));
    }
}

void pb_secw_static(struct pb_secw *w, const char *key, size_t klen, const char *s)
{
    if (!w->text) {
        if (cur(w) != NULL) {
            pb_node_add_static(cur(w), key, klen, s);
        }
        return;
    }
    pb_secw_strn(w, key, klen, s, strlen(s));
}

void pb_secw_int(struct pb_secw *w, const char *key, size_t klen, int64_t v)
{
    if (!w->text) {
        if (cur(w) != NULL) {
            pb_node_add_int(cur(w), key, klen, v);
        }
        return;
    }
    char *o = member(w, key, klen, 20);
    if (o != NULL) {
        done(w, pb_jw_int(o, v));
    }
}

void pb_secw_uint(struct pb_secw *w, const char *key, size_t klen, uint64_t v)
{
    if (!w->text) {
        if (cur(w) != NULL) {
            pb_node_add_uint(cur(w), key, klen, v);
        }
        return;
    }
    if (v > (uint64_t)INT64_MAX) {
        w->fail = true; /* a float in the DOM */
        return;
    }
    pb_secw_int(w, key, klen, (int64_t)v);
}

void pb_secw_bool(struct pb_secw *w, const char *key, size_t klen, bool v)
{
    if (!w->text) {
        if (cur(w) != NULL) {
            pb_node_add_bool(cur(w), key, klen, v);
        }
        return;
    }
    char *o = member(w, key, klen, 5);
    if (o != NULL) {
        done(w, v ? PB_JW_LIT(o, "true") : PB_JW_LIT(o, "false"));
    }
}

static void open_container(struct pb_secw *w, const char *key, size_t klen, bool arr)
{
    if (w->over > 0 || w->depth >= PB_SECW_DEPTH) {
        /* deeper than any section: text fails, DOM mode drops what is
           inside (closed by pb_secw_end all the same) */
        w->fail = true;
        w->over++;
        return;
    }
    if (!w->text) {
        pb_node *n = w->node[w->depth];
        w->node[w->depth + 1] = n == NULL ? NULL
                                : arr     ? pb_node_add_arr(n, key, klen)
                                          : pb_node_add_obj(n, key, klen);
    } else {
        char *o = member(w, key, klen, 1);
        if (o != NULL) {
            *o++ = arr ? '[' : '{';
            done(w, o);
        }
    }
    w->depth++;
    w->arr[w->depth] = arr;
    w->first[w->depth] = true;
}

void pb_secw_obj(struct pb_secw *w, const char *key, size_t klen)
{
    open_container(w, key, klen, false);
}

void pb_secw_arr(struct pb_secw *w, const char *key, size_t klen)
{
    open_container(w, key, klen, true);
}

void pb_secw_end(struct pb_secw *w)
{
    if (w->over > 0) {
        w->over--;
        return;
    }
    if (w->depth == 0) {
        w->fail = true;
        return;
    }
    if (w->text && !w->fail) {
        /* room() kept a byte for it */
        w->buf[w->len++] = w->arr[w->depth] ? ']' : '}';
    }
    w->depth--;
}
