/* SPDX-License-Identifier: Apache-2.0
 * protos/pgsql/pgsql_parse.c - PostgreSQL v3 wire parser (see
 * pgsql_parse.h); pure: no I/O, no globals.
 *
 * Every message but the first ones of a connection:
 *
 *   +------+----------------------------+----------------------+
 *   | type | length (be32, incl. itself) | payload (length - 4) |
 *   +------+----------------------------+----------------------+
 *
 * StartupMessage, SSLRequest, GSSENCRequest and CancelRequest have no type
 * byte: length (be32) then a code (be32).
 */
#include "pgsql_parse.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/rd.h"
#include "beat/utf8.h"
#include "protos/common/csv.h"

#define PG_CODE_CANCEL 80877102u
#define PG_CODE_SSL 80877103u
#define PG_CODE_GSSENC 80877104u
#define PG_CODE_V3 196608u
#define PG_CODE_V3_2 196610u
/* Column count of a RowDescription is an int16: never more than this. */
#define PG_MAX_FIELDS 65535u

static uint32_t be32_at(const uint8_t *buf, size_t len, size_t off)
{
    struct pb_rd r = pb_rd_make(buf, len);
    pb_rd_skip(&r, off);
    return pb_rd_be32(&r);
}

static uint16_t be16_at(const uint8_t *buf, size_t len, size_t off)
{
    struct pb_rd r = pb_rd_make(buf, len);
    pb_rd_skip(&r, off);
    return pb_rd_be16(&r);
}

/* A NUL-terminated string at off within [0, len): its length, or -1. */
static long cstr_len(const uint8_t *buf, size_t len, size_t off)
{
    if (off >= len) {
        return -1;
    }
    const uint8_t *nul = memchr(buf + off, 0, len - off);
    return nul == NULL ? -1 : (long)(nul - (buf + off));
}

static char *dup_bytes(const void *s, size_t n)
{
    char *c = pb_malloc(n + 1);
    if (c == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(c, s, n);
    }
    c[n] = '\0';
    return c;
}

/* ---- strings ------------------------------------------------------------ */

int pg_strv_push(struct pg_strv *sv, const void *s, size_t n)
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
    char *c = dup_bytes(s, n);
    if (c == NULL) {
        return -PB_ENOMEM;
    }
    sv->v[sv->n] = c;
    sv->lens[sv->n] = n;
    sv->n++;
    return 0;
}

void pg_strv_free(struct pg_strv *sv)
{
    if (!sv->packed) {
        for (size_t i = 0; i < sv->n; i++) {
            pb_free(sv->v[i]);
        }
        pb_free(sv->lens);
    }
    pb_free(sv->v);
    memset(sv, 0, sizeof *sv);
}

/* A packed list of at most cap strings holding text bytes in all (their
 * NULs included): one allocation instead of one per string. */
static bool strv_pack(struct pg_strv *sv, size_t cap, size_t text)
{
    memset(sv, 0, sizeof *sv);
    if (cap == 0) {
        return true;
    }
    size_t hdr = cap * (sizeof(char *) + sizeof(size_t));
    char **v = pb_malloc(hdr + text);
    if (v == NULL) {
        return false;
    }
    sv->v = v;
    sv->lens = (size_t *)(void *)(v + cap);
    sv->cap = cap;
    sv->packed = true;
    sv->text = (char *)v + hdr;
    sv->left = text;
    return true;
}

/* Adds a copy of s[0..n) (NUL-terminated) to a packed list; false when
 * it has no room left. */
static bool strv_pack_add(struct pg_strv *sv, const void *s, size_t n)
{
    if (sv->n >= sv->cap || sv->left < n + 1) {
        return false;
    }
    char *c = sv->text;
    if (n > 0) {
        memcpy(c, s, n);
    }
    c[n] = '\0';
    sv->text += n + 1;
    sv->left -= n + 1;
    sv->v[sv->n] = c;
    sv->lens[sv->n] = n;
    sv->n++;
    return true;
}

/* pb_free for the pointers most messages leave NULL */
static void free_set(void *p)
{
    if (p != NULL) {
        pb_free(p);
    }
}

static void strv_free_set(struct pg_strv *sv)
{
    if (sv->v != NULL) { /* lens is allocated after v */
        pg_strv_free(sv);
    }
}

/* Frees what m owns (m is cleared by the caller). */
static void msg_release(struct pg_msg *m)
{
    if (!m->query_borrowed) {
        free_set((void *)m->query);
        free_set((void *)m->stmt_name);
    }
    strv_free_set(&m->fields);
    free_set(m->formats);
    if (m->rows != NULL) {
        for (size_t i = 0; i < m->nrows; i++) {
            strv_free_set(&m->rows[i]);
        }
        pb_free(m->rows);
    }
    free_set(m->err_code);
    free_set(m->err_msg);
    free_set(m->err_sev);
}

void pg_stream_reset(struct pg_stream *s)
{
    msg_release(&s->msg);
    memset(s, 0, sizeof *s);
    s->state = PG_ST_START;
}

bool pg_msg_has_enough_data(const struct pg_stream *s)
{
    const struct pg_msg *m = &s->msg;
    if (m->is_ssl_request || m->is_ssl_response) {
        return false;
    }
    if (m->is_request) {
        return m->query_len > 0;
    }
    return m->nrows > 0;
}

/* ---- message bodies ------------------------------------------------------ */

/* pgsqlString: a payload that is one NUL-terminated string (or empty). */
static bool payload_string(const uint8_t *p, size_t n, const uint8_t **s, size_t *slen)
{
    if (n == 0) {
        *s = p;
        *slen = 0;
        return true;
    }
    if (p[n - 1] != 0) {
        return false;
    }
    *s = p;
    *slen = n - 1;
    return true;
}

static bool starts_with_set(const char *q, size_t n)
{
    return n >= 4 && memcmp(q, "SET ", 4) == 0;
}

/* RowDescription: the fields counted, and with keep_text their names and
 * formats kept. */
static bool parse_fields(struct pg_msg *m, const struct pg_parse_ctx *ctx, const uint8_t *p,
                         size_t n)
{
    if (n < 2) {
        return false;
    }
    size_t count = be16_at(p, n, 0);
    bool keep = ctx->keep_text;
    size_t off = 2;
    /* a field takes 19 bytes at least: more than fit fail below */
    size_t cap = count < (n - 2) / 19 + 1 ? count : (n - 2) / 19 + 1;
    struct pg_strv names = {0};
    uint8_t *formats = NULL;
    if (keep && !strv_pack(&names, cap, n - 2)) {
        return false;
    }
    if (keep && count > 0 && (formats = pb_malloc(count)) == NULL) {
        pg_strv_free(&names);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (n <= off) {
            goto fail;
        }
        long nl = cstr_len(p, n, off);
        if (nl < 0) {
            goto fail;
        }
        if (keep && !strv_pack_add(&names, p + off, (size_t)nl)) {
            goto fail;
        }
        m->num_fields++;
        off += (size_t)nl + 1;
        off += 4 + 2 + 4 + 2 + 4; /* table oid, column, type oid, size, modifier */
        if (n < off + 2) {
            goto fail;
        }
        if (keep) {
            formats[i] = (uint8_t)be16_at(p, n, off);
        }
        off += 2;
    }
    if (off < n) {
        goto fail;
    }
    if (keep) {
        pg_strv_free(&m->fields);
        pb_free(m->formats);
        m->fields = names;
        m->formats = formats;
        m->nformats = count;
    }
    return true;
fail:
    pg_strv_free(&names);
    pb_free(formats);
    return false;
}

static struct pg_strv *add_row(struct pg_msg *m)
{
    if (m->nrows == m->caprows) {
        size_t nc = m->caprows == 0 ? 8 : m->caprows * 2;
        struct pg_strv *r = pb_realloc(m->rows, nc * sizeof *r);
        if (r == NULL) {
            return NULL;
        }
        m->rows = r;
        m->caprows = nc;
    }
    struct pg_strv *row = &m->rows[m->nrows++];
    memset(row, 0, sizeof *row);
    return row;
}

/* The be32 at p, for the DataRow walks, which check that the 4 bytes are
 * there first: one load (as packet/decoder.c's ld_be32) instead of four
 * bytes shifted together. */
static inline uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

/* Whether the count values of a DataRow payload p[0..n) are well formed
 * (each a be32 length, -1 for NULL, then that many bytes; nothing after). */
static bool row_values_ok(const uint8_t *p, size_t n, size_t count)
{
    const uint8_t *q = p + 2;
    size_t left = n - 2; /* the bytes after q */
    for (; count > 0; count--) {
        if (left < 4) {
            return false;
        }
        uint32_t cl = load_be32(q);
        /* the length and its bytes (none for NULL) */
        size_t step = 4 + (cl != 0xffffffffu ? (size_t)cl : 0);
        if (step > left) {
            return false;
        }
        q += step;
        left -= step;
    }
    return left == 0;
}

/* DataRow: counts it and keeps up to max_rows rows of text values
 * (keep_text; else the rows within max_rows are only counted in nrows). */
static bool parse_data_row(struct pg_msg *m, const struct pg_parse_ctx *ctx, const uint8_t *p,
                           size_t n)
{
    if (n < 2) {
        return false;
    }
    size_t count = be16_at(p, n, 0);
    size_t off = 2;
    bool keep = ctx->max_rows > 0 && (int64_t)m->nrows < ctx->max_rows;
    if (!keep || !ctx->keep_text) {
        if (!row_values_ok(p, n, count)) {
            return false;
        }
        m->num_rows++;
        m->nrows += keep;
        return true;
    }
    /* a kept row */
    struct pg_strv row = {0};
    size_t row_len = 0;
    /* a value takes 4 bytes at least; kept texts and NULs fit in n + cap */
    size_t cap = count < (n - 2) / 4 + 1 ? count : (n - 2) / 4 + 1;
    if (ctx->max_row_length > 0 && !strv_pack(&row, cap, n - 2 + cap)) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (n <= off || n - off < 4) {
            goto fail;
        }
        uint32_t cl = be32_at(p, n, off);
        off += 4;
        size_t vlen = 0;
        const uint8_t *v = p + off;
        if (cl != 0xffffffffu) { /* NULL: an empty value */
            if (cl > n - off) {
                goto fail;
            }
            uint8_t fmt = i < m->nformats ? m->formats[i] : 0;
            if (fmt == 0) {
                vlen = cl;
            }
            off += cl;
        }
        if (ctx->max_row_length >= 0 && (int64_t)row_len < ctx->max_row_length) {
            if ((int64_t)(row_len + vlen) > ctx->max_row_length) {
                vlen = (size_t)ctx->max_row_length - row_len;
            }
            if (!strv_pack_add(&row, v, vlen)) {
                goto fail;
            }
            row_len += vlen;
        }
    }
    if (off < n) {
        goto fail;
    }
    struct pg_strv *r = add_row(m);
    if (r == NULL) {
        goto fail;
    }
    *r = row;
    m->num_rows++;
    return true;
fail:
    pg_strv_free(&row);
    return false;
}

static void parse_error_fields(struct pg_msg *m, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        uint8_t typ = p[off];
        if (typ == 0) {
            break;
        }
        long vl = cstr_len(p, n, off + 1);
        if (vl < 0) {
            break;
        }
        const uint8_t *v = p + off + 1;
        char **dst = NULL;
        size_t *dlen = NULL;
        switch (typ) {
        case 'M':
            dst = &m->err_msg;
            dlen = &m->err_msg_len;
            break;
        case 'C':
            dst = &m->err_code;
            dlen = &m->err_code_len;
            break;
        case 'S':
            dst = &m->err_sev;
            dlen = &m->err_sev_len;
            break;
        default:
            break;
        }
        if (dst != NULL) {
            char *c = dup_bytes(v, (size_t)vl);
            if (c != NULL) {
                pb_free(*dst);
                *dst = c;
                *dlen = (size_t)vl;
            }
        }
        off += (size_t)vl + 2;
    }
}

static bool valid_type(uint8_t t)
{
    switch (t) {
    case '1':
    case '2':
    case '3':
    case 'A':
    case 'B':
    case 'C':
    case 'D':
    case 'E':
    case 'F':
    case 'G':
    case 'H':
    case 'I':
    case 'K':
    case 'N':
    case 'P':
    case 'Q':
    case 'R':
    case 'S':
    case 'T':
    case 'V':
    case 'W':
    case 'X':
    case 'Z':
    case 'c':
    case 'd':
    case 'f':
    case 'n':
    case 'p':
    case 's':
    case 't':
        return true;
    default:
        return false;
    }
}

/* ---- the state machine ---------------------------------------------------- */

/* Complete message ending at s->off, counted from m->start. */
static enum pg_result done_at(struct pg_stream *s)
{
    s->msg.end = s->off;
    s->msg.size = (uint64_t)(s->msg.end - s->msg.start);
    s->state = PG_ST_START;
    return PG_DONE;
}

static enum pg_result start_message(struct pg_stream *s, const struct pg_parse_ctx *ctx,
                                    const uint8_t *buf, size_t len)
{
    struct pg_msg *m = &s->msg;
    size_t off = s->off;
    size_t avail = len - off;

    if (ctx->expect_ssl_response && avail >= 1 &&
        (buf[off] == 'N' || buf[off] == 'S' || buf[off] == 'G')) {
        m->start = off;
        m->is_ssl_response = true;
        m->ssl_accepted = buf[off] != 'N';
        s->off = off + 1;
        return done_at(s);
    }
    if (avail < 5) {
        return PG_MORE;
    }
    /* messages without a type byte start with a length's high byte: 0 */
    if (buf[off] == 0 && avail < 8) {
        return PG_MORE;
    }
    if (avail >= 8) {
        uint32_t length = be32_at(buf, len, off);
        uint32_t code = be32_at(buf, len, off + 4);
        bool ssl = length == 8 && (code == PG_CODE_SSL || code == PG_CODE_GSSENC);
        bool special = ssl || (length == 16 && code == PG_CODE_CANCEL) || code == PG_CODE_V3 ||
                       code == PG_CODE_V3_2;
        if (special) {
            if (length < 8) {
                return PG_FAIL;
            }
            if (avail < length) {
                return PG_MORE;
            }
            if (!ssl) {
                s->off = off + length; /* skipped; the message goes on */
                return PG_MORE;
            }
            m->start = off;
            m->is_ssl_request = true;
            s->off = off + length;
            return done_at(s);
        }
    }

    uint8_t typ = buf[off];
    uint32_t length = be32_at(buf, len, off + 1);
    if (length < 4) {
        return PG_FAIL;
    }
    if (avail - 1 < length) {
        return PG_MORE;
    }
    const uint8_t *pl = buf + off + 5;
    size_t plen = length - 4;
    size_t next = off + 1 + length;

    switch (typ) {
    case 'Q': {
        const uint8_t *q;
        size_t ql;
        if (!payload_string(pl, plen, &q, &ql)) {
            return PG_FAIL;
        }
        m->start = off;
        m->is_request = true;
        m->to_export = true;
        /* handled before the buffer goes: not copied */
        m->query = (const char *)q;
        m->query_len = ql;
        m->query_borrowed = true;
        s->off = next;
        return done_at(s);
    }
    case 'P': { /* Parse: statement name, query, parameter types */
        if (!ctx->is_client) {
            break;
        }
        long nl = cstr_len(pl, plen, 0);
        long ql = nl < 0 ? -1 : cstr_len(pl, plen, (size_t)nl + 1);
        if (ql < 0) {
            return PG_FAIL;
        }
        m->start = off;
        m->is_request = true;
        m->to_export = true;
        /* left in the buffer until the message ends (pg_parse) */
        m->parse_in_buf = true;
        m->stmt_name_len = (size_t)nl;
        m->query_len = (size_t)ql;
        if (starts_with_set((const char *)pl + nl + 1, (size_t)ql)) {
            m->to_export = false;
        }
        s->off = next;
        m->end = next;
        m->size = (uint64_t)(next - off);
        s->state = PG_ST_EXTQ;
        return PG_MORE;
    }
    case 'B': { /* Bind without Parse: a prepared statement run again */
        if (!ctx->is_client) {
            break;
        }
        long pn = cstr_len(pl, plen, 0);
        long sn = pn < 0 ? -1 : cstr_len(pl, plen, (size_t)pn + 1);
        if (sn < 0) {
            break; /* skip it as Packetbeat does */
        }
        m->start = off;
        m->is_request = true;
        m->to_export = true;
        size_t qlen = 0;
        const char *q = ctx->lookup != NULL
                            ? ctx->lookup(ctx->lookup_ud, pl + pn + 1, (size_t)sn, &qlen)
                            : NULL;
        if (q != NULL) {
            m->query = dup_bytes(q, qlen);
            m->query_len = m->query != NULL ? qlen : 0;
            if (starts_with_set(q, qlen)) {
                m->to_export = false;
            }
        }
        s->off = next;
        m->end = next;
        m->size = (uint64_t)(next - off);
        s->state = PG_ST_EXTQ;
        return PG_MORE;
    }
    case 'T':
        if (ctx->is_client) {
            break;
        }
        m->start = off;
        m->is_request = false;
        m->is_ok = true;
        m->to_export = true;
        if (!parse_fields(m, ctx, pl, plen)) {
            return PG_FAIL;
        }
        s->off = next;
        s->state = PG_ST_GETDATA;
        return PG_MORE;
    case 'I':
        if (ctx->is_client) {
            break;
        }
        m->start = off;
        m->is_ok = true;
        m->to_export = true;
        s->off = next;
        return done_at(s);
    case 'C': {
        if (ctx->is_client) {
            break; /* Close */
        }
        const uint8_t *tag;
        size_t tl;
        if (!payload_string(pl, plen, &tag, &tl)) {
            return PG_FAIL;
        }
        m->start = off;
        m->is_ok = true;
        m->to_export = true;
        s->off = next;
        return done_at(s);
    }
    case 'E':
        if (ctx->is_client) {
            break; /* Execute */
        }
        m->start = off;
        m->is_error = true;
        m->to_export = true;
        parse_error_fields(m, pl, plen);
        s->off = next;
        return done_at(s);
    case '1': /* ParseComplete */
    case '2': /* BindComplete (a Bind without Parse) */
        if (ctx->is_client) {
            break;
        }
        m->start = off;
        m->is_ok = true;
        m->to_export = true;
        s->off = next;
        s->state = PG_ST_GETDATA;
        return PG_MORE;
    default:
        break;
    }
    if (!valid_type(typ)) {
        return PG_FAIL;
    }
    /* skipped: complete but not exported */
    s->off = next;
    m->to_export = false;
    return done_at(s);
}

static enum pg_result get_data(struct pg_stream *s, const struct pg_parse_ctx *ctx,
                               const uint8_t *buf, size_t len)
{
    struct pg_msg *m = &s->msg;
    size_t off = s->off;
    if (len - off < 5) {
        return PG_MORE;
    }
    uint8_t typ = buf[off];
    uint32_t length = be32_at(buf, len, off + 1);
    if (length < 4) {
        return PG_FAIL;
    }
    if (len - off - 1 < length) {
        return PG_MORE;
    }
    const uint8_t *pl = buf + off + 5;
    size_t plen = length - 4;
    size_t next = off + 1 + length;
    switch (typ) {
    case 'D':
        /* a result's rows come in a run: walk the complete ones here
         * rather than one per round of pg_parse */
        for (;;) {
            if (!parse_data_row(m, ctx, pl, plen)) {
                return PG_FAIL;
            }
            s->off = next;
            if (len - next < 5 || buf[next] != 'D') {
                return PG_MORE;
            }
            length = load_be32(buf + next + 1);
            if (length < 4 || len - next - 1 < length) {
                return PG_MORE; /* the next round fails or waits for it */
            }
            pl = buf + next + 5;
            plen = length - 4;
            next += 1 + (size_t)length;
        }
    case 'C': {
        const uint8_t *tag;
        size_t tl;
        if (!payload_string(pl, plen, &tag, &tl)) {
            return PG_FAIL;
        }
        s->off = next;
        return done_at(s);
    }
    case 'T': /* described again: counted from here */
        m->start = off;
        m->is_ok = true;
        m->to_export = true;
        if (!parse_fields(m, ctx, pl, plen)) {
            return PG_FAIL;
        }
        s->off = next;
        return PG_MORE;
    case '2': /* BindComplete */
    case 'n': /* NoData */
    case 't': /* ParameterDescription */
    case 'N': /* NoticeResponse */
    case 'S': /* ParameterStatus */
    case 'A': /* NotificationResponse */
        s->off = next;
        return PG_MORE;
    case 'E':
        m->is_ok = false;
        m->is_error = true;
        parse_error_fields(m, pl, plen);
        s->off = next;
        return done_at(s);
    case 'I': /* EmptyQueryResponse */
    case 's': /* PortalSuspended */
        s->off = next;
        return done_at(s);
    case 'Z': /* a Parse answered without Execute: the answer ends here */
        return done_at(s);
    default:
        return PG_FAIL;
    }
}

static enum pg_result ext_query(struct pg_stream *s, const uint8_t *buf, size_t len)
{
    size_t off = s->off;
    if (len - off < 5) {
        return PG_MORE;
    }
    uint8_t typ = buf[off];
    uint32_t length = be32_at(buf, len, off + 1);
    if (length < 4) {
        return PG_FAIL;
    }
    if (len - off - 1 < length) {
        return PG_MORE;
    }
    switch (typ) {
    case 'B': /* Bind */
    case 'D': /* Describe */
    case 'E': /* Execute */
    case 'H': /* Flush */
    case 'C': /* Close */
        s->off = off + 1 + length;
        return PG_MORE;
    case 'S': /* Sync */
        s->off = off + 1 + length;
        return done_at(s);
    case 'P': /* the next statement of a pipelined batch */
        s->msg.more_follows = true;
        return done_at(s);
    default:
        return PG_FAIL;
    }
}

/* A Parse's statement name and query, left in buf while its message was
 * parsed: pointed at when it is complete, else copied (the caller waits
 * for more bytes, and buf goes with the call). */
static void settle_parse(struct pg_msg *m, const uint8_t *buf, bool complete)
{
    m->parse_in_buf = false;
    /* type byte, length, then the two strings */
    const char *name = (const char *)buf + m->start + 5;
    const char *q = name + m->stmt_name_len + 1;
    if (complete) {
        m->query = q;
        m->stmt_name = name;
        m->query_borrowed = true;
        return;
    }
    m->query = dup_bytes(q, m->query_len);
    m->query_len = m->query != NULL ? m->query_len : 0;
    m->stmt_name = dup_bytes(name, m->stmt_name_len);
    m->stmt_name_len = m->stmt_name != NULL ? m->stmt_name_len : 0;
}

static enum pg_result parse_step(struct pg_stream *s, const struct pg_parse_ctx *ctx,
                                 const uint8_t *buf, size_t len)
{
    for (unsigned guard = 0; s->off < len && guard < 1000000u; guard++) {
        size_t before = s->off;
        enum pg_state st = s->state;
        enum pg_result r;
        switch (s->state) {
        case PG_ST_START:
            r = start_message(s, ctx, buf, len);
            break;
        case PG_ST_GETDATA:
            r = get_data(s, ctx, buf, len);
            break;
        default:
            r = ext_query(s, buf, len);
            break;
        }
        if (r != PG_MORE) {
            return r;
        }
        if (s->off == before && s->state == st) {
            return PG_MORE;
        }
    }
    return PG_MORE;
}

enum pg_result pg_parse(struct pg_stream *s, const struct pg_parse_ctx *ctx, const uint8_t *buf,
                        size_t len)
{
    enum pg_result r = parse_step(s, ctx, buf, len);
    if (s->msg.parse_in_buf && r != PG_FAIL) {
        settle_parse(&s->msg, buf, r == PG_DONE);
    }
    return r;
}

/* ---- queries --------------------------------------------------------------- */

/* Length of a white-space rune starting at p (l > 0 bytes), 0 if none. An
 * ASCII byte is a rune of its own: tested without decoding. */
static size_t space_after(const uint8_t *p, size_t l)
{
    if (p[0] < 0x80) {
        return pb_unicode_is_space(p[0]) ? 1 : 0;
    }
    return pb_utf8_space_len(p, l);
}

/* Length of a white-space rune ending at p[n-1] (n > 0), 0 if none. An
 * ASCII byte ends no longer rune (those end in bytes >= 0x80): tested on
 * its own. */
static size_t space_before(const uint8_t *p, size_t n)
{
    if (p[n - 1] < 0x80) {
        return pb_unicode_is_space(p[n - 1]) ? 1 : 0;
    }
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        if (pb_utf8_space_len(p + n - k, k) == k) {
            return k;
        }
    }
    return 0;
}

size_t pg_split_queries(const char *q, size_t n, const char **parts, size_t *lens, size_t max)
{
    size_t count = 0;
    size_t i = 0;
    while (i <= n && count < max) {
        const char *semi = i < n ? memchr(q + i, ';', n - i) : NULL;
        size_t end = semi != NULL ? (size_t)(semi - q) : n;
        const uint8_t *b = (const uint8_t *)q + i;
        size_t l = end - i;
        size_t k;
        while (l > 0 && (k = space_after(b, l)) > 0) {
            b += k;
            l -= k;
        }
        while (l > 0 && (k = space_before(b, l)) > 0) {
            l -= k;
        }
        if (l > 0) {
            parts[count] = (const char *)b;
            lens[count] = l;
            count++;
        }
        if (semi == NULL) {
            break;
        }
        i = end + 1;
    }
    return count;
}

size_t pg_query_method_into(const char *q, size_t n, char *out)
{
    const char *sp = memchr(q, ' ', n);
    size_t l = (sp != NULL && sp > q) ? (size_t)(sp - q) : n;
    for (size_t i = 0; i < l; i++) {
        char c = q[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    out[l] = '\0';
    return l;
}

char *pg_query_method(const char *q, size_t n, size_t *outlen)
{
    char *m = pb_malloc(n + 1);
    if (m != NULL) {
        *outlen = pg_query_method_into(q, n, m);
    }
    return m;
}

/* ---- CSV ----------------------------------------------------------------- */

char *pg_csv(const struct pg_strv *fields, const struct pg_strv *rows, size_t nrows, size_t *outlen)
{
    struct pb_csv b = {0};
    pb_csv_put(&b, "", 0);
    if (fields != NULL && fields->n > 0) {
        pb_csv_line(&b, fields->v, fields->lens, fields->n, false);
    }
    for (size_t r = 0; r < nrows; r++) {
        pb_csv_line(&b, rows[r].v, rows[r].lens, rows[r].n, true);
    }
    return pb_csv_end(&b, outlen);
}
