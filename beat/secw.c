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

void pb_secw_int(struct pb_secw *w, const char *key, size_t klen, int64_t v)
{
    if (!w->text) {
        if (pb_secw__node(w) != NULL) {
            pb_node_add_int(pb_secw__node(w), key, klen, v);
        }
        return;
    }
    char *o = pb_secw__member(w, key, klen, 20);
    if (o != NULL) {
        w->len = (size_t)(pb_jw_int(o, v) - w->buf);
    }
}

void pb_secw_uint(struct pb_secw *w, const char *key, size_t klen, uint64_t v)
{
    if (!w->text) {
        if (pb_secw__node(w) != NULL) {
            pb_node_add_uint(pb_secw__node(w), key, klen, v);
        }
    } else if (v > (uint64_t)INT64_MAX) {
        w->fail = true; /* a float in the DOM: the DOM mode writes it */
    } else {
        pb_secw_int(w, key, klen, (int64_t)v);
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
        char *o = pb_secw__member(w, key, klen, 1);
        if (o != NULL) {
            *o++ = arr ? '[' : '{';
            w->len = (size_t)(o - w->buf);
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
