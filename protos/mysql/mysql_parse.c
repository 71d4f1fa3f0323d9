/* SPDX-License-Identifier: Apache-2.0
 * protos/mysql/mysql_parse.c - MySQL wire parser (see mysql_parse.h); pure:
 * no I/O, no globals.
 *
 * Every packet:
 *
 *   +---------------+-----+-------------------------+
 *   | length (le24) | seq | payload (length bytes)  |
 *   +---------------+-----+-------------------------+
 *
 * A request is one client packet with seq 0; a response is one packet (OK,
 * ERR, ...) or a result set:
 *
 *   column count | column definition x N | [EOF] | row x M | EOF / OK / ERR
 */
#include "mysql_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/rd.h"
#include "protos/common/csv.h"

/* ---- small readers ----------------------------------------------------- */

static uint32_t le24_at(const uint8_t *buf, size_t len, size_t off)
{
    struct pb_rd r = pb_rd_make(buf, len);
    pb_rd_skip(&r, off);
    return pb_rd_le24(&r);
}

/* Little-endian value of n bytes at off; bytes past len read as 0. */
static uint64_t le_at(const uint8_t *buf, size_t len, size_t off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (off + i < len) {
            v |= (uint64_t)buf[off + i] << (8 * i);
        }
    }
    return v;
}

/* A length-encoded integer through the reader (my_lenenc's contract). */
static int lenenc_read(const uint8_t *buf, size_t len, size_t off, uint64_t *val, size_t *next)
{
    struct pb_rd r = pb_rd_make(buf, len);
    pb_rd_skip(&r, off);
    uint8_t c = pb_rd_u8(&r);
    if (!pb_rd_ok(&r)) {
        return 1;
    }
    uint64_t v;
    switch (c) {
    case 0xfc:
        v = pb_rd_le16(&r);
        break;
    case 0xfd:
        v = pb_rd_le24(&r);
        break;
    case 0xfe:
        v = pb_rd_le64(&r);
        break;
    case 0xfb:
    case 0xff:
        return -1;
    default:
        v = c;
        break;
    }
    if (!pb_rd_ok(&r)) {
        return 1;
    }
    *val = v;
    *next = (size_t)(r.p - buf);
    return 0;
}

/* my_lenenc, inlined where column definitions are walked: the usual
 * one-byte value is answered here, as the reader would. */
static inline int lenenc(const uint8_t *buf, size_t len, size_t off, uint64_t *val, size_t *next)
{
    if (off < len && buf[off] < 0xfb) {
        *val = buf[off];
        *next = off + 1;
        return 0;
    }
    return lenenc_read(buf, len, off, val, next);
}

static inline int lenenc_str(const uint8_t *buf, size_t len, size_t off, size_t *s_off,
                             size_t *s_len, size_t *next)
{
    uint64_t n;
    size_t o;
    int rc = lenenc(buf, len, off, &n, &o);
    if (rc != 0) {
        return rc;
    }
    if (o > len || n > len - o) {
        return 1;
    }
    *s_off = o;
    *s_len = (size_t)n;
    *next = o + (size_t)n;
    return 0;
}

int my_lenenc(const uint8_t *buf, size_t len, size_t off, uint64_t *val, size_t *next)
{
    return lenenc(buf, len, off, val, next);
}

int my_lenenc_str(const uint8_t *buf, size_t len, size_t off, size_t *s_off, size_t *s_len,
                  size_t *next)
{
    return lenenc_str(buf, len, off, s_off, s_len, next);
}

/* ---- strings ----------------------------------------------------------- */

int my_strv_push(struct my_strv *sv, const void *s, size_t n)
{
    if (sv->n == sv->cap) {
        size_t nc = sv->cap == 0 ? 8 : sv->cap * 2;
        char **v = pb_realloc(sv->v, nc * sizeof *v);
        if (v == NULL) {
            return -PB_ENOMEM;
        }
        sv->v = v;
        size_t *l = pb_realloc(sv->lens, nc * sizeof *l);
        if (l == NULL) {
            return -PB_ENOMEM;
        }
        sv->lens = l;
        sv->cap = nc;
    }
    char *c = pb_malloc(n + 1);
    if (c == NULL) {
        return -PB_ENOMEM;
    }
    if (n > 0) {
        memcpy(c, s, n);
    }
    c[n] = '\0';
    sv->v[sv->n] = c;
    sv->lens[sv->n] = n;
    sv->n++;
    return 0;
}

void my_strv_free(struct my_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        pb_free(sv->v[i]);
    }
    pb_free(sv->v);
    pb_free(sv->lens);
    memset(sv, 0, sizeof *sv);
}

/* ---- the stream parser ------------------------------------------------- */

void my_stream_reset(struct my_stream *s)
{
    pb_free(s->msg.tables);
    memset(s, 0, sizeof *s);
    s->state = MY_ST_START;
}

bool my_stream_gap_publishable(const struct my_stream *s)
{
    switch (s->state) {
    case MY_ST_EAT_FIELDS:
    case MY_ST_EAT_ROWS:
    case MY_ST_X_PARAMS:
    case MY_ST_X_PARAMS_EOF:
    case MY_ST_X_COLS:
    case MY_ST_X_COLS_EOF:
    case MY_ST_X_ROWS:
        return true;
    default:
        return false;
    }
}

static bool is_request_cmd(uint8_t typ)
{
    return typ == MY_CMD_QUERY || typ == MY_CMD_STMT_PREPARE || typ == MY_CMD_STMT_EXECUTE ||
           typ == MY_CMD_STMT_CLOSE;
}

/* Whether s holds db "." tb at its start (s has room for all of it). */
static bool table_at(const char *s, const uint8_t *db, size_t dblen, const uint8_t *tb,
                     size_t tblen)
{
    return memcmp(s, db, dblen) == 0 && s[dblen] == '.' && memcmp(s + dblen + 1, tb, tblen) == 0;
}

static void put_table(char *dst, const uint8_t *db, size_t dblen, const uint8_t *tb, size_t tblen)
{
    memcpy(dst, db, dblen);
    dst[dblen] = '.';
    memcpy(dst + dblen + 1, tb, tblen);
    dst[dblen + 1 + tblen] = '\0';
}

/* Adds "db.table" to the message's table list unless the list already
 * contains it (as a substring, as Packetbeat checks). The item is looked
 * for in place: every column of a result set usually names the same
 * table, which is then neither copied nor added. */
static void add_table(struct my_msg *m, const uint8_t *db, size_t dblen, const uint8_t *tb,
                      size_t tblen)
{
    size_t n = dblen + 1 + tblen;
    if (n > MY_MAX_TABLES) {
        return;
    }
    if (m->tables == NULL || m->tables_len == 0) {
        char *t = pb_malloc(n + 1);
        if (t == NULL) {
            return;
        }
        put_table(t, db, dblen, tb, tblen);
        pb_free(m->tables);
        m->tables = t;
        m->tables_len = n;
        return;
    }
    /* substring check (memmem over possibly NUL-holding bytes) */
    for (size_t i = 0; i + n <= m->tables_len; i++) {
        if (table_at(m->tables + i, db, dblen, tb, tblen)) {
            return;
        }
    }
    if (m->tables_len + 2 + n > MY_MAX_TABLES) {
        return;
    }
    char *t = pb_realloc(m->tables, m->tables_len + 2 + n + 1);
    if (t == NULL) {
        return;
    }
    memcpy(t + m->tables_len, ", ", 2);
    put_table(t + m->tables_len + 2, db, dblen, tb, tblen);
    m->tables_len += 2 + n;
    m->tables = t;
}

/* Catalog, schema and table of a column definition at off, in so / sl
 * (offsets and lengths): 0 ok, 1 needs more bytes, -1 invalid. One loop
 * over the three keeps one inlined copy of lenenc_str. */
static int column_strings(const uint8_t *buf, size_t len, size_t off, size_t so[3], size_t sl[3])
{
    for (int k = 0; k < 3; k++) {
        int rc = lenenc_str(buf, len, off, &so[k], &sl[k], &off);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Adds the table of a column definition starting at off, read the way
 * Packetbeat does: the strings may run past the packet into the following
 * bytes. 0 ok, 1 needs more bytes, -1 invalid. */
static int pb_column_tables(struct my_msg *m, const uint8_t *buf, size_t len, size_t off)
{
    size_t so[3], sl[3];
    int rc = column_strings(buf, len, off, so, sl);
    if (rc != 0) {
        return rc;
    }
    add_table(m, buf + so[1], sl[1], buf + so[2], sl[2]);
    return 0;
}

/* Same, within one packet (exact walk); nothing is added on malformed
 * definitions. */
static void exact_column_tables(struct my_msg *m, const uint8_t *pkt, size_t plen)
{
    size_t so[3], sl[3];
    if (column_strings(pkt, plen, 0, so, sl) != 0) {
        return;
    }
    add_table(m, pkt + so[1], sl[1], pkt + so[2], sl[2]);
}

/* Classifies the column count packet of an exact walk: 0 not a result set,
 * 1 result set (*cols, *meta: metadata follows). */
static int exact_column_count(const struct my_parse_ctx *ctx, const uint8_t *pl, size_t plen,
                              uint32_t *cols, bool *meta)
{
    uint64_t n;
    size_t next;
    if (ctx->last_cmd == -2) {
        return 0; /* still authenticating: no result sets yet */
    }
    if (my_lenenc(pl, plen, 0, &n, &next) != 0 || n == 0 || n > 0xffff) {
        return 0;
    }
    if (next == plen) {
        *meta = true;
    } else if (next + 1 == plen && (ctx->cache_metadata || pl[next] <= 1)) {
        *meta = pl[next] != 0;
    } else {
        return 0;
    }
    *cols = (uint32_t)n;
    return 1;
}

static enum my_result exact_settle(struct my_stream *s, const struct my_parse_ctx *ctx);

static enum my_result start_message(struct my_stream *s, const struct my_parse_ctx *ctx,
                                    const uint8_t *buf, size_t len)
{
    struct my_msg *m = &s->msg;
    if (len - s->off < 5) {
        return MY_MORE;
    }
    m->pkt_len = le24_at(buf, len, s->off);
    m->seq = buf[s->off + 3];
    m->typ = buf[s->off + 4];
    if (ctx->is_client) {
        if (m->seq == 0 && is_request_cmd(m->typ)) {
            m->is_request = true;
        } else {
            m->ignore = true;
        }
        s->state = MY_ST_EAT_MESSAGE;
        return MY_MORE; /* caller loops */
    }
    m->is_request = false;
    if (!ctx->exact) {
        if (m->typ == 0x00 || m->typ == 0xfe) {
            m->is_ok = true;
            s->state = MY_ST_EAT_MESSAGE;
        } else if (m->typ == 0xff) {
            m->is_error = true;
            s->state = MY_ST_EAT_MESSAGE;
        } else if (m->pkt_len == 1) {
            m->num_fields = m->typ;
            s->off += 5;
            s->state = MY_ST_EAT_FIELDS;
        } else if (m->pkt_len == 2 && m->typ < 0xfb && ctx->last_cmd != -2) {
            /* column count followed by a "metadata follows" byte
             * (MARIADB_CLIENT_CACHE_METADATA / MySQL optional metadata) */
            if (len - s->off < 6) {
                return MY_MORE;
            }
            if (buf[s->off + 5] <= 1) {
                m->num_fields = m->typ;
                s->off += 6;
                s->state = MY_ST_EAT_FIELDS;
            } else {
                m->ignore = true;
                s->state = MY_ST_EAT_MESSAGE;
            }
        } else {
            m->ignore = true;
            s->state = MY_ST_EAT_MESSAGE;
        }
        return MY_MORE;
    }
    /* exact walk */
    if (m->typ == 0x00) {
        m->is_ok = true;
        m->prepare = ctx->last_cmd == MY_CMD_STMT_PREPARE;
        s->state = MY_ST_EAT_MESSAGE;
    } else if (m->typ == 0xfe) {
        m->is_ok = true;
        s->state = MY_ST_EAT_MESSAGE;
    } else if (m->typ == 0xff) {
        m->is_error = true;
        s->state = MY_ST_EAT_MESSAGE;
    } else if (m->typ == 0xfb) {
        m->ignore = true; /* LOCAL INFILE request */
        s->state = MY_ST_EAT_MESSAGE;
    } else {
        if (len - s->off < (size_t)m->pkt_len + 4) {
            return MY_MORE;
        }
        uint32_t cols;
        bool meta;
        if (!exact_column_count(ctx, buf + s->off + 4, m->pkt_len, &cols, &meta)) {
            m->ignore = true;
            s->state = MY_ST_EAT_MESSAGE;
            return MY_MORE;
        }
        m->num_fields = cols;
        m->cols = cols;
        m->binary = ctx->last_cmd == MY_CMD_STMT_EXECUTE;
        s->off += 4 + (size_t)m->pkt_len;
        m->left = meta ? cols : 0;
        s->state = MY_ST_X_COLS;
        return exact_settle(s, ctx);
    }
    return MY_MORE;
}

/* End of a result set at s->off (after the terminating packet). */
static enum my_result finish_rows(struct my_stream *s, bool exact)
{
    struct my_msg *m = &s->msg;
    if (m->end == 0) {
        m->end = s->off;
    } else {
        m->truncated = true;
    }
    if (!m->is_error) {
        m->is_ok = true;
    }
    m->size = exact ? s->off : m->end;
    return MY_DONE;
}

static enum my_result eat_message(struct my_stream *s, const struct my_parse_ctx *ctx,
                                  const uint8_t *buf, size_t len)
{
    struct my_msg *m = &s->msg;
    size_t start = s->off;
    if (len - start < (size_t)m->pkt_len + 4) {
        return MY_MORE;
    }
    s->off = start + 4 + m->pkt_len;
    m->end = s->off;
    if (m->is_request) {
        if (m->typ == MY_CMD_STMT_EXECUTE || m->typ == MY_CMD_STMT_CLOSE) {
            m->stmt_id = (uint32_t)le_at(buf, len, start + 5, 4);
        }
    } else if (m->is_ok) {
        uint64_t v;
        size_t next;
        int rc = my_lenenc(buf, len, start + 5, &v, &next);
        if (rc < 0) {
            if (!ctx->exact) {
                return MY_FAIL;
            }
        } else if (rc == 0) {
            m->affected_rows = v;
            rc = my_lenenc(buf, len, next, &v, &next);
            if (rc < 0 && !ctx->exact) {
                return MY_FAIL;
            }
            if (rc == 0) {
                m->insert_id = v;
            }
        }
    } else if (m->is_error) {
        m->error_code = (uint16_t)le_at(buf, len, start + 5, 2);
        m->err_off = start;
        m->err_len = m->pkt_len;
    }
    m->size = (uint64_t)(m->end - 0);

    bool prepare_ok =
        ctx->exact ? (m->prepare && m->pkt_len >= 12) : (m->is_ok && m->pkt_len == 12);
    if (!prepare_ok) {
        m->prepare = false;
        return MY_DONE;
    }
    m->prepare = true;
    m->stmt_id = (uint32_t)le_at(buf, len, start + 5, 4);
    m->num_fields = (int64_t)le_at(buf, len, start + 9, 2);
    m->num_params = (int64_t)le_at(buf, len, start + 11, 2);
    if (!ctx->exact) {
        if (m->num_fields > 0) {
            s->state = MY_ST_EAT_FIELDS;
        } else if (m->num_params > 0) {
            s->state = MY_ST_EAT_ROWS;
        } else {
            /* Packetbeat keeps eating 16-byte chunks here; a statement
             * without parameters or columns simply ends. */
            return MY_DONE;
        }
        return MY_MORE;
    }
    m->cols = (uint32_t)m->num_fields;
    m->affected_rows = 0; /* not an OK packet */
    m->insert_id = 0;
    m->end = 0;
    if (m->num_params > 0) {
        m->left = (uint32_t)m->num_params;
        s->state = MY_ST_X_PARAMS;
    } else if (m->num_fields > 0) {
        m->left = m->cols;
        s->state = MY_ST_X_COLS;
    } else {
        m->end = s->off;
        m->size = s->off;
        return MY_DONE;
    }
    return MY_MORE;
}

/* The le24 length of the packet header at p, for the walks that check that
 * 4 bytes are there first: one load (little-endian host, as
 * packet/decoder.c assumes) instead of the reader's three bytes. */
static inline uint32_t load_le24(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v & 0xffffffu;
}

/* Packetbeat's walk over column definitions and rows. */
static enum my_result eat_fields_rows(struct my_stream *s, const uint8_t *buf, size_t len)
{
    struct my_msg *m = &s->msg;
    size_t hdr = s->off;
    if (len - hdr < 4) {
        return MY_MORE;
    }
    m->pkt_len = le24_at(buf, len, hdr);
    m->seq = buf[hdr + 3];
    if (len - hdr < (size_t)m->pkt_len + 4) {
        return MY_MORE;
    }
    size_t body = hdr + 4;
    if (body >= len) {
        return MY_MORE; /* an empty packet at the end: its "first byte" is not here yet */
    }
    /* definitions and rows come in runs: the complete packets that follow
     * are walked here rather than one per round of my_parse */
    for (;;) {
        if (s->state == MY_ST_EAT_FIELDS) {
            if (buf[body] == 0xfe) {
                s->off = body + m->pkt_len;
                s->state = MY_ST_EAT_ROWS;
                return MY_MORE;
            }
            int rc = pb_column_tables(m, buf, len, body);
            if (rc > 0) {
                return MY_MORE; /* re-read this definition when more bytes came */
            }
            if (rc < 0) {
                return MY_FAIL;
            }
            s->off = body + m->pkt_len;
        } else {
            if (buf[body] == 0xfe) {
                s->off = body + m->pkt_len;
                return finish_rows(s, false);
            }
            s->off = body + m->pkt_len;
            if (m->end == 0 && s->off > MY_MAX_PAYLOAD) {
                m->end = s->off;
            }
            m->num_rows++;
        }
        /* the next round takes what is not a complete packet with a first
         * byte here (as above) */
        hdr = s->off;
        if (len - hdr <= 4) {
            return MY_MORE;
        }
        uint32_t plen = load_le24(buf + hdr);
        if (len - hdr - 4 < plen) {
            return MY_MORE;
        }
        m->pkt_len = plen;
        m->seq = buf[hdr + 3];
        body = hdr + 4;
    }
}

static enum my_result exact_after_eof(struct my_stream *s);

/* Moves an exact walk through the steps that need no bytes: the end of a
 * definition block, a missing EOF marker (CLIENT_DEPRECATE_EOF), the end of
 * a COM_STMT_PREPARE answer. MY_DONE when the message ended. */
static enum my_result exact_settle(struct my_stream *s, const struct my_parse_ctx *ctx)
{
    struct my_msg *m = &s->msg;
    for (int i = 0; i < 8; i++) {
        if ((s->state == MY_ST_X_PARAMS || s->state == MY_ST_X_COLS) && m->left == 0) {
            s->state = s->state == MY_ST_X_PARAMS ? MY_ST_X_PARAMS_EOF : MY_ST_X_COLS_EOF;
            continue;
        }
        if ((s->state == MY_ST_X_PARAMS_EOF || s->state == MY_ST_X_COLS_EOF) &&
            ctx->deprecate_eof) {
            return exact_after_eof(s);
        }
        break;
    }
    return MY_MORE;
}

/* The block's EOF marker was handled (consumed, or absent). */
static enum my_result exact_after_eof(struct my_stream *s)
{
    struct my_msg *m = &s->msg;
    if (s->state == MY_ST_X_PARAMS_EOF && m->cols > 0) {
        m->left = m->cols;
        s->state = MY_ST_X_COLS;
        return MY_MORE;
    }
    if (m->prepare) {
        m->end = s->off;
        m->size = s->off;
        return MY_DONE;
    }
    s->state = MY_ST_X_ROWS;
    return MY_MORE;
}

/* The exact walk over definitions, EOF markers and rows. */
static enum my_result eat_exact(struct my_stream *s, const struct my_parse_ctx *ctx,
                                const uint8_t *buf, size_t len)
{
    struct my_msg *m = &s->msg;
    enum my_result r = exact_settle(s, ctx);
    if (r != MY_MORE) {
        return r;
    }
    size_t hdr = s->off;
    if (len - hdr < 4) {
        return MY_MORE;
    }
    uint32_t plen = le24_at(buf, len, hdr);
    m->pkt_len = plen;
    m->seq = buf[hdr + 3];
    if (len - hdr < (size_t)plen + 4) {
        return MY_MORE;
    }
    const uint8_t *pl = buf + hdr + 4;
    uint8_t first = plen > 0 ? pl[0] : 0;
    bool is_eof = plen > 0 && plen < 9 && first == 0xfe;
    size_t next = hdr + 4 + plen;

    switch (s->state) {
    case MY_ST_X_PARAMS:
    case MY_ST_X_COLS:
        if (is_eof) {
            /* a block cut short by its EOF */
            s->off = next;
            m->left = 0;
            s->state = s->state == MY_ST_X_PARAMS ? MY_ST_X_PARAMS_EOF : MY_ST_X_COLS_EOF;
            r = exact_after_eof(s);
            return r != MY_MORE ? r : exact_settle(s, ctx);
        }
        if (s->state == MY_ST_X_COLS) {
            exact_column_tables(m, pl, plen);
        }
        m->left--;
        s->off = next;
        return exact_settle(s, ctx);
    case MY_ST_X_PARAMS_EOF:
    case MY_ST_X_COLS_EOF:
        if (is_eof) {
            s->off = next;
        }
        r = exact_after_eof(s);
        return r != MY_MORE ? r : exact_settle(s, ctx);
    case MY_ST_X_ROWS:
        if (plen > 0 && first == 0xfe && plen < 0xffffff) {
            s->off = next;
            return finish_rows(s, true);
        }
        if (plen > 0 && first == 0xff) {
            m->is_error = true;
            m->error_code = (uint16_t)le_at(pl, plen, 1, 2);
            m->err_off = hdr;
            m->err_len = plen;
            s->off = next;
            return finish_rows(s, true);
        }
        s->off = next;
        if (m->end == 0 && s->off > MY_MAX_PAYLOAD) {
            m->end = s->off;
        }
        m->num_rows++;
        return MY_MORE;
    default:
        return MY_FAIL;
    }
}

enum my_result my_parse(struct my_stream *s, const struct my_parse_ctx *ctx, const uint8_t *buf,
                        size_t len)
{
    /* every iteration consumes a packet header or changes state; bounded by len */
    for (unsigned guard = 0; s->off < len && guard < 1000000u; guard++) {
        enum my_result r;
        size_t before = s->off;
        enum my_state st = s->state;
        switch (s->state) {
        case MY_ST_START:
            r = start_message(s, ctx, buf, len);
            if (s->state == MY_ST_START) {
                return r; /* waiting for the header */
            }
            break;
        case MY_ST_EAT_MESSAGE:
            r = eat_message(s, ctx, buf, len);
            break;
        case MY_ST_EAT_FIELDS:
        case MY_ST_EAT_ROWS:
            r = eat_fields_rows(s, buf, len);
            break;
        default:
            r = eat_exact(s, ctx, buf, len);
            break;
        }
        if (r != MY_MORE) {
            return r;
        }
        if (s->off == before && s->state == st) {
            return MY_MORE; /* no progress: wait for bytes */
        }
    }
    return MY_MORE;
}

/* ---- handshake ----------------------------------------------------------- */

bool my_parse_greeting(const uint8_t *p, size_t len, struct my_greeting *g)
{
    memset(g, 0, sizeof *g);
    struct pb_rd r = pb_rd_make(p, len);
    if (pb_rd_u8(&r) != 0x0a || !pb_rd_ok(&r)) {
        return false;
    }
    const uint8_t *nul = memchr(r.p, 0, pb_rd_left(&r));
    if (nul == NULL) {
        return false;
    }
    size_t vlen = (size_t)(nul - r.p);
    static const char maria[] = "MariaDB";
    for (size_t i = 0; i + sizeof maria - 1 <= vlen; i++) {
        if (memcmp(r.p + i, maria, sizeof maria - 1) == 0) {
            g->mariadb = true;
            break;
        }
    }
    pb_rd_skip(&r, vlen + 1);
    pb_rd_skip(&r, 4 + 8 + 1); /* connection id, auth data 1, filler */
    uint32_t lo = pb_rd_le16(&r);
    if (!pb_rd_ok(&r)) {
        return false;
    }
    g->caps = lo;
    if (pb_rd_left(&r) >= 1 + 2 + 2) {
        pb_rd_skip(&r, 3); /* charset, status */
        g->caps |= (uint32_t)pb_rd_le16(&r) << 16;
        if (pb_rd_left(&r) >= 1 + 10) {
            pb_rd_skip(&r, 1 + 6);
            uint32_t x = pb_rd_le32(&r);
            if (!(g->caps & MY_CAP_MYSQL)) {
                g->xcaps = x;
            }
        }
    }
    if (!(g->caps & MY_CAP_MYSQL)) {
        g->mariadb = true;
    }
    return true;
}

bool my_parse_handshake_response(const uint8_t *p, size_t len, uint32_t *caps, uint32_t *xcaps)
{
    struct pb_rd r = pb_rd_make(p, len);
    uint32_t c = pb_rd_le16(&r);
    if (!pb_rd_ok(&r)) {
        return false;
    }
    *xcaps = 0;
    if (!(c & MY_CAP_PROTOCOL_41)) {
        *caps = c;
        return true;
    }
    r = pb_rd_make(p, len);
    c = pb_rd_le32(&r);
    pb_rd_skip(&r, 4 + 1 + 19); /* max packet, charset, filler */
    uint32_t x = pb_rd_le32(&r);
    if (!pb_rd_ok(&r)) {
        return false;
    }
    *caps = c;
    if (!(c & MY_CAP_MYSQL)) {
        *xcaps = x;
    }
    return true;
}

/* ---- COM_STMT_EXECUTE parameters ----------------------------------------- */

static int push_fmt_u64(struct my_strv *out, uint64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return my_strv_push(out, b, (size_t)n);
}

static int push_fmt_i64(struct my_strv *out, int64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    return my_strv_push(out, b, (size_t)n);
}

void my_execute_params(const uint8_t *d, size_t len, int nparam, struct my_stmt_types *st,
                       bool exact, struct my_strv *out)
{
    if (len < 14 || nparam <= 0) {
        return;
    }
    size_t off = 4 + 1 + 4 + 1 + 4;  /* header, command, statement id, flags, iterations */
    off += ((size_t)nparam + 7) / 8; /* NULL bitmap */
    if (len <= off) {
        return;
    }
    uint8_t bound = d[off];
    off++;
    size_t po = off;
    const uint8_t *types;
    uint8_t *fresh = NULL;
    if (bound == 1) {
        po += (size_t)nparam * 2;
        if (len <= po) {
            return;
        }
        fresh = pb_malloc((size_t)nparam);
        if (fresh == NULL) {
            return;
        }
        for (int i = 0; i < nparam; i++) {
            fresh[i] = d[off];
            uint8_t uns = d[off + 1];
            off += 2;
            if (uns != 0 && !(exact && uns == 0x80)) {
                pb_free(fresh);
                return;
            }
        }
        pb_free(st->types);
        st->types = fresh;
        st->n = (size_t)nparam;
        types = fresh;
    } else {
        if (st->types == NULL || st->n < (size_t)nparam) {
            return;
        }
        types = st->types;
    }

    struct my_strv vals = {0};
    for (int i = 0; i < nparam; i++) {
        int rc = 0;
        switch (types[i]) {
        case 0x01: /* TINY */
            if (po >= len) {
                goto fail;
            }
            rc = push_fmt_u64(&vals, d[po]);
            po++;
            break;
        case 0x02: /* SHORT */
            if (len < po + 2) {
                goto fail;
            }
            rc = push_fmt_u64(&vals, le_at(d, len, po, 2));
            po += 2;
            break;
        case 0x03: /* LONG */
            if (len < po + 4) {
                goto fail;
            }
            rc = push_fmt_u64(&vals, le_at(d, len, po, 4));
            po += 4;
            break;
        case 0x04: /* FLOAT */
            rc = my_strv_push(&vals, "TYPE_FLOAT", 10);
            po += 4;
            break;
        case 0x05: /* DOUBLE (Packetbeat skips 4 bytes) */
            rc = my_strv_push(&vals, "TYPE_DOUBLE", 11);
            po += exact ? 8 : 4;
            break;
        case 0x06: /* NULL */
            rc = my_strv_push(&vals, "TYPE_NULL", 9);
            break;
        case 0x08: /* LONGLONG */
            if (len < po + 8) {
                goto fail;
            }
            rc = push_fmt_i64(&vals, (int64_t)le_at(d, len, po, 8));
            po += 8;
            break;
        case 0x07: /* TIMESTAMP */
        case 0x0c: /* DATETIME */
        case 0x0a: /* DATE */ {
            if (po >= len) {
                goto fail;
            }
            size_t plen = d[po];
            if (len < po + plen + 1) {
                goto fail;
            }
            po++;
            char b[96];
            char y[8] = "", mo[8] = "", dd[8] = "", h[8] = "", mi[8] = "", s[8] = "";
            if (plen >= 2) {
                snprintf(y, sizeof y, "%u", (unsigned)le_at(d, len, po, 2));
            }
            if (plen >= 4) {
                snprintf(mo, sizeof mo, "%u", d[po + 2]);
                snprintf(dd, sizeof dd, "%u", d[po + 3]);
            }
            if (plen >= 7) {
                snprintf(h, sizeof h, "%u", d[po + 4]);
                snprintf(mi, sizeof mi, "%u", d[po + 5]);
                snprintf(s, sizeof s, "%u", d[po + 6]);
            }
            int n = snprintf(b, sizeof b, "%s/%s/%s %s:%s:%s", y, mo, dd, h, mi, s);
            rc = my_strv_push(&vals, b, (size_t)n);
            po += plen;
            break;
        }
        case 0x0b: { /* TIME */
            if (po >= len) {
                goto fail;
            }
            size_t plen = d[po];
            if (len < po + plen + 1) {
                goto fail;
            }
            po++;
            rc = my_strv_push(&vals, "TYPE_TIME", 9);
            po += plen;
            break;
        }
        case 0xf6: /* NEWDECIMAL */
        case 0xfc: /* BLOB */
        case 0xfd: /* VAR_STRING */
        case 0xfe: /* STRING */ {
            if (po >= len) {
                goto fail;
            }
            size_t plen = d[po];
            po++;
            if (plen == 0xfc) {
                if (len < po + 2) {
                    goto fail;
                }
                size_t l16 = (size_t)le_at(d, len, po, 2);
                if (len < po + l16 + 2) {
                    goto fail;
                }
                po += 2;
                rc = my_strv_push(&vals, d + po, l16);
                po += l16;
            } else if (plen == 0xfd) {
                if (len < po + 3) {
                    goto fail;
                }
                size_t l24 = (size_t)le_at(d, len, po, 3);
                if (len < po + l24 + 3) {
                    goto fail;
                }
                po += 3;
                rc = my_strv_push(&vals, d + po, l24);
                po += l24;
            } else {
                if (len < po + plen) {
                    goto fail;
                }
                rc = my_strv_push(&vals, d + po, plen);
                po += plen;
            }
            break;
        }
        default:
            goto fail;
        }
        if (rc < 0) {
            goto fail;
        }
    }
    *out = vals;
    return;
fail:
    my_strv_free(&vals);
}

/* ---- response table ------------------------------------------------------ */

void my_table_free(struct my_table *t)
{
    my_strv_free(&t->fields);
    for (size_t i = 0; i < t->nrows; i++) {
        my_strv_free(&t->rows[i]);
    }
    pb_free(t->rows);
    memset(t, 0, sizeof *t);
}

static struct my_strv *table_add_row(struct my_table *t)
{
    if (t->nrows == t->caprows) {
        size_t nc = t->caprows == 0 ? 8 : t->caprows * 2;
        struct my_strv *r = pb_realloc(t->rows, nc * sizeof *r);
        if (r == NULL) {
            return NULL;
        }
        t->rows = r;
        t->caprows = nc;
    }
    struct my_strv *row = &t->rows[t->nrows++];
    memset(row, 0, sizeof *row);
    return row;
}

/* Appends a value to a row under max_row_length, as Packetbeat does: once
 * the row reached the limit, later values are left out. */
static void row_value(struct my_strv *row, size_t *row_len, int64_t max, const void *v, size_t n)
{
    if (max < 0 || (int64_t)*row_len >= max) {
        return;
    }
    if ((int64_t)(*row_len + n) > max) {
        n = (size_t)max - *row_len;
    }
    if (my_strv_push(row, v, n) == 0) {
        *row_len += n;
    }
}

/* Packetbeat's parseMysqlResponse. */
static void pb_table(const uint8_t *d, size_t len, int64_t max_rows, int64_t max_row_len,
                     struct my_table *t)
{
    if (len < 3 || le24_at(d, len, 0) < 1 || len < 5) {
        return;
    }
    if (d[4] == 0x00 || d[4] == 0xff) {
        return;
    }
    size_t off = 5;
    for (;;) {
        if (len - off < 3) {
            my_table_free(t);
            return;
        }
        size_t plen = le24_at(d, len, off);
        if (len - off < 5) {
            my_table_free(t);
            return;
        }
        if (d[off + 4] == 0xfe) {
            off += plen + 4;
            break;
        }
        size_t so, sl, next = off + 4;
        size_t name_off = 0, name_len = 0;
        for (int i = 0; i < 6; i++) {
            if (my_lenenc_str(d, len, next, &so, &sl, &next) != 0) {
                return; /* what we have so far */
            }
            if (i == 4) {
                name_off = so;
                name_len = sl;
            }
        }
        if (my_strv_push(&t->fields, d + name_off, name_len) < 0) {
            return;
        }
        off += plen + 4;
        if (len < off) {
            my_table_free(t);
            return;
        }
    }
    while (off < len) {
        if (len - off < 5) {
            break;
        }
        if (d[off + 4] == 0xfe) {
            break;
        }
        size_t plen = le24_at(d, len, off);
        size_t o = off + 4;
        size_t start = o;
        struct my_strv *row = table_add_row(t);
        if (row == NULL) {
            return;
        }
        size_t row_len = 0;
        while (o < start + plen) {
            if (o >= len) {
                return;
            }
            if (d[o] == 0xfb) {
                row_value(row, &row_len, max_row_len, "NULL", 4);
                o++;
                continue;
            }
            size_t so, sl;
            if (my_lenenc_str(d, len, o, &so, &sl, &o) != 0) {
                t->nrows--;
                my_strv_free(row);
                return;
            }
            row_value(row, &row_len, max_row_len, d + so, sl);
        }
        if ((int64_t)t->nrows >= max_rows) {
            break;
        }
        off += plen + 4;
    }
}

/* Shortest %g text that reads back as the same value. */
static int fmt_real(char *b, size_t bl, double v, bool single)
{
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(b, bl, "%.*g", prec, v);
        if (single) {
            if ((float)strtod(b, NULL) == (float)v) {
                break;
            }
        } else if (strtod(b, NULL) == v) {
            break;
        }
    }
    return n;
}

/* One binary-protocol value of type `type` at *o within the packet
 * [.., end); false when malformed. */
static bool binary_value(const uint8_t *d, size_t end, size_t *o, uint8_t type, bool uns, char *b,
                         size_t bl, const uint8_t **vp, size_t *vl)
{
    size_t p = *o;
    int n;
    *vp = (const uint8_t *)b;
    switch (type) {
    case 0x01: /* TINY */
        if (end - p < 1) {
            return false;
        }
        n = uns ? snprintf(b, bl, "%u", d[p]) : snprintf(b, bl, "%d", (int8_t)d[p]);
        p += 1;
        break;
    case 0x02: /* SHORT */
    case 0x0d: /* YEAR */ {
        if (end - p < 2) {
            return false;
        }
        uint16_t v = (uint16_t)le_at(d, end, p, 2);
        n = uns ? snprintf(b, bl, "%u", v) : snprintf(b, bl, "%d", (int16_t)v);
        p += 2;
        break;
    }
    case 0x03: /* LONG */
    case 0x09: /* INT24 */ {
        if (end - p < 4) {
            return false;
        }
        uint32_t v = (uint32_t)le_at(d, end, p, 4);
        n = uns ? snprintf(b, bl, "%u", v) : snprintf(b, bl, "%d", (int32_t)v);
        p += 4;
        break;
    }
    case 0x08: /* LONGLONG */ {
        if (end - p < 8) {
            return false;
        }
        uint64_t v = le_at(d, end, p, 8);
        n = uns ? snprintf(b, bl, "%llu", (unsigned long long)v)
                : snprintf(b, bl, "%lld", (long long)(int64_t)v);
        p += 8;
        break;
    }
    case 0x04: /* FLOAT */ {
        if (end - p < 4) {
            return false;
        }
        uint32_t v = (uint32_t)le_at(d, end, p, 4);
        float f;
        memcpy(&f, &v, sizeof f);
        n = fmt_real(b, bl, f, true);
        p += 4;
        break;
    }
    case 0x05: /* DOUBLE */ {
        if (end - p < 8) {
            return false;
        }
        uint64_t v = le_at(d, end, p, 8);
        double f;
        memcpy(&f, &v, sizeof f);
        n = fmt_real(b, bl, f, false);
        p += 8;
        break;
    }
    case 0x07:   /* TIMESTAMP */
    case 0x0a:   /* DATE */
    case 0x0c:   /* DATETIME */
    case 0x0e: { /* NEWDATE */
        if (end - p < 1) {
            return false;
        }
        size_t l = d[p];
        if (end - p - 1 < l) {
            return false;
        }
        const uint8_t *q = d + p + 1;
        unsigned y = l >= 4 ? (unsigned)(q[0] | q[1] << 8) : 0, mo = l >= 4 ? q[2] : 0,
                 dd = l >= 4 ? q[3] : 0, h = l >= 7 ? q[4] : 0, mi = l >= 7 ? q[5] : 0,
                 s = l >= 7 ? q[6] : 0;
        unsigned long us = l >= 11 ? (unsigned long)le_at(q, l, 7, 4) : 0;
        if (type == 0x0a || type == 0x0e) {
            n = snprintf(b, bl, "%04u-%02u-%02u", y, mo, dd);
        } else if (l >= 11) {
            n = snprintf(b, bl, "%04u-%02u-%02u %02u:%02u:%02u.%06lu", y, mo, dd, h, mi, s, us);
        } else {
            n = snprintf(b, bl, "%04u-%02u-%02u %02u:%02u:%02u", y, mo, dd, h, mi, s);
        }
        p += 1 + l;
        break;
    }
    case 0x0b: { /* TIME */
        if (end - p < 1) {
            return false;
        }
        size_t l = d[p];
        if (end - p - 1 < l) {
            return false;
        }
        const uint8_t *q = d + p + 1;
        bool neg = l >= 8 && q[0] != 0;
        unsigned long days = l >= 8 ? (unsigned long)le_at(q, l, 1, 4) : 0;
        unsigned h = l >= 8 ? q[5] : 0, mi = l >= 8 ? q[6] : 0, s = l >= 8 ? q[7] : 0;
        unsigned long us = l >= 12 ? (unsigned long)le_at(q, l, 8, 4) : 0;
        unsigned long hours = days * 24 + h;
        if (l >= 12) {
            n = snprintf(b, bl, "%s%02lu:%02u:%02u.%06lu", neg ? "-" : "", hours, mi, s, us);
        } else {
            n = snprintf(b, bl, "%s%02lu:%02u:%02u", neg ? "-" : "", hours, mi, s);
        }
        p += 1 + l;
        break;
    }
    case 0x06: /* NULL */
        n = snprintf(b, bl, "NULL");
        break;
    default: { /* strings, decimals, blobs, bit, json, enum, set, geometry */
        size_t so, sl, next;
        if (my_lenenc_str(d, end, p, &so, &sl, &next) != 0) {
            return false;
        }
        *vp = d + so;
        *vl = sl;
        *o = next;
        return true;
    }
    }
    if (n < 0) {
        return false;
    }
    *vl = (size_t)n < bl ? (size_t)n : bl - 1;
    *o = p;
    return true;
}

#define MY_MAX_COLS_DECODED 4096u

void my_colinfo_free(struct my_colinfo *ci)
{
    my_strv_free(&ci->names);
    pb_free(ci->types);
    pb_free(ci->flags);
    pb_free(ci->tables);
    memset(ci, 0, sizeof *ci);
}

/* Reads `cols` column definitions from off (stopping at an early EOF);
 * returns the offset after them. */
static size_t read_columns(const uint8_t *d, size_t len, size_t off, uint32_t cols,
                           const struct my_parse_ctx *ctx, struct my_colinfo *ci)
{
    struct my_msg tabs;
    memset(&tabs, 0, sizeof tabs);
    if (cols <= MY_MAX_COLS_DECODED) {
        ci->types = pb_calloc(cols > 0 ? cols : 1, 1);
        ci->flags = pb_calloc(cols > 0 ? cols : 1, sizeof *ci->flags);
    }
    for (uint32_t i = 0; i < cols; i++) {
        if (len - off < 4) {
            break;
        }
        size_t cl = le24_at(d, len, off);
        if (len - off - 4 < cl) {
            break;
        }
        const uint8_t *c = d + off + 4;
        if (cl > 0 && cl < 9 && c[0] == 0xfe) {
            break; /* early EOF */
        }
        exact_column_tables(&tabs, c, cl);
        size_t so, sl, next = 0, name_off = 0, name_len = 0;
        bool ok = true;
        for (int k = 0; k < 6 && ok; k++) {
            ok = my_lenenc_str(c, cl, next, &so, &sl, &next) == 0;
            if (k == 4) {
                name_off = so;
                name_len = sl;
            }
        }
        if (ok && ctx->ext_metadata) {
            ok = my_lenenc_str(c, cl, next, &so, &sl, &next) == 0;
        }
        if (ok) {
            my_strv_push(&ci->names, c + name_off, name_len);
            uint64_t fixed;
            if (ci->types != NULL && ci->flags != NULL && ci->n < cols &&
                my_lenenc(c, cl, next, &fixed, &next) == 0 && cl - next >= 9) {
                ci->types[ci->n] = c[next + 6];
                ci->flags[ci->n] = (uint16_t)le_at(c, cl, next + 7, 2);
                ci->n++;
            }
        }
        off += 4 + cl;
    }
    ci->tables = tabs.tables;
    ci->tables_len = tabs.tables_len;
    return off;
}

/* Skips an EOF marker at off (unless CLIENT_DEPRECATE_EOF). */
static size_t skip_eof(const uint8_t *d, size_t len, size_t off, const struct my_parse_ctx *ctx)
{
    if (!ctx->deprecate_eof && len - off >= 5) {
        size_t el = le24_at(d, len, off);
        if (el > 0 && el < 9 && d[off + 4] == 0xfe) {
            off += 4 + el;
        }
    }
    return off;
}

void my_prepare_columns(const uint8_t *d, size_t len, const struct my_parse_ctx *ctx,
                        struct my_colinfo *out)
{
    memset(out, 0, sizeof *out);
    if (len < 4 + 12 || d[4] != 0x00) {
        return;
    }
    size_t plen = le24_at(d, len, 0);
    if (len - 4 < plen) {
        return;
    }
    uint32_t cols = (uint32_t)le_at(d, len, 9, 2);
    uint32_t params = (uint32_t)le_at(d, len, 11, 2);
    size_t off = 4 + plen;
    if (params > 0) {
        struct my_colinfo skip;
        memset(&skip, 0, sizeof skip);
        off = read_columns(d, len, off, params, ctx, &skip);
        my_colinfo_free(&skip);
        off = skip_eof(d, len, off, ctx);
    }
    if (cols > 0) {
        read_columns(d, len, off, cols, ctx, out);
    }
}

/* The exact walk's reading of a result set. */
static void exact_table(const uint8_t *d, size_t len, int64_t max_rows, int64_t max_row_len,
                        const struct my_parse_ctx *ctx, struct my_table *t)
{
    if (len < 5 || d[4] == 0x00 || d[4] == 0xff || d[4] == 0xfe || d[4] == 0xfb) {
        return;
    }
    size_t plen = le24_at(d, len, 0);
    if (len - 4 < plen) {
        return;
    }
    uint32_t cols;
    bool meta;
    if (!exact_column_count(ctx, d + 4, plen, &cols, &meta)) {
        return;
    }
    bool binary = ctx->last_cmd == MY_CMD_STMT_EXECUTE;
    size_t off = 4 + plen;
    struct my_colinfo own;
    memset(&own, 0, sizeof own);
    const struct my_colinfo *ci = &own;
    if (meta) {
        off = read_columns(d, len, off, cols, ctx, &own);
    } else if (ctx->cached != NULL) {
        ci = ctx->cached;
    }
    for (size_t i = 0; i < ci->names.n; i++) {
        my_strv_push(&t->fields, ci->names.v[i], ci->names.lens[i]);
    }
    off = skip_eof(d, len, off, ctx);
    while (len - off >= 5) {
        size_t rl = le24_at(d, len, off);
        if (len - off - 4 < rl) {
            break;
        }
        const uint8_t *row = d + off + 4;
        if (rl > 0 && (row[0] == 0xff || (row[0] == 0xfe && rl < 0xffffff))) {
            break;
        }
        struct my_strv *sv = table_add_row(t);
        if (sv == NULL) {
            break;
        }
        size_t row_len = 0;
        if (!binary) {
            size_t o = 0;
            while (o < rl) {
                if (row[o] == 0xfb) {
                    row_value(sv, &row_len, max_row_len, "NULL", 4);
                    o++;
                    continue;
                }
                size_t so, sl;
                if (my_lenenc_str(row, rl, o, &so, &sl, &o) != 0) {
                    break;
                }
                row_value(sv, &row_len, max_row_len, row + so, sl);
            }
        } else if (ci->types != NULL && ci->n == cols && rl >= 1) {
            size_t nb = ((size_t)cols + 7 + 2) / 8;
            size_t o = 1 + nb;
            for (uint32_t i = 0; i < cols && o <= rl; i++) {
                size_t bit = (size_t)i + 2;
                if (1 + bit / 8 < rl && (row[1 + bit / 8] >> (bit % 8)) & 1) {
                    row_value(sv, &row_len, max_row_len, "NULL", 4);
                    continue;
                }
                char b[96];
                const uint8_t *vp;
                size_t vl = 0;
                if (!binary_value(row, rl, &o, ci->types[i], (ci->flags[i] & 0x20) != 0, b,
                                  sizeof b, &vp, &vl)) {
                    break;
                }
                row_value(sv, &row_len, max_row_len, vp, vl);
            }
        }
        if ((int64_t)t->nrows >= max_rows) {
            break;
        }
        off += 4 + rl;
    }
    my_colinfo_free(&own);
}

void my_response_table(const uint8_t *raw, size_t len, int64_t max_rows, int64_t max_row_length,
                       bool exact, const struct my_parse_ctx *ctx, struct my_table *out)
{
    memset(out, 0, sizeof *out);
    if (exact) {
        exact_table(raw, len, max_rows, max_row_length, ctx, out);
    } else {
        pb_table(raw, len, max_rows, max_row_length, out);
    }
}

/* ---- CSV ----------------------------------------------------------------- */

char *my_csv(const struct my_table *t, size_t *outlen)
{
    struct pb_csv b = {0};
    pb_csv_put(&b, "", 0);
    if (t->fields.n > 0) {
        pb_csv_line(&b, t->fields.v, t->fields.lens, t->fields.n, false);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        pb_csv_line(&b, t->rows[r].v, t->rows[r].lens, t->rows[r].n, true);
    }
    return pb_csv_end(&b, outlen);
}
