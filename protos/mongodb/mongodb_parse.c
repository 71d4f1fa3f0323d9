/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_parse.c - MongoDB wire messages as Packetbeat
 * reads them; pure: no I/O, no globals.
 *
 * Packetbeat's own reader treats int32 fields as unsigned (numberToReturn
 * -1 reads as 4294967295) and advances its position even on a short read;
 * both are kept. Documents go through mongodb_bson.c.
 */
#include "mongodb_parse.h"

#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/limits.h"
#include "mongodb_bson.h"

#define MAX_DOCS_KEPT 100000u

/* Known commands sent through OP_QUERY on <db>.$cmd (case-insensitive). */
static const char *const db_commands[] = {
    "getLastError",
    "connPoolSync",
    "top",
    "dropIndexes",
    "explain",
    "grantRolesToRole",
    "dropRole",
    "dropAllRolesFromDatabase",
    "listCommands",
    "replSetReconfig",
    "replSetFresh",
    "writebacklisten",
    "setParameter",
    "update",
    "replSetGetStatus",
    "find",
    "resync",
    "appendOplogNote",
    "revokeRolesFromRole",
    "compact",
    "createUser",
    "replSetElect",
    "getPrevError",
    "serverStatus",
    "getShardVersion",
    "updateRole",
    "replSetFreeze",
    "getCmdLineOpts",
    "applyOps",
    "count",
    "aggregate",
    "copydbsaslstart",
    "distinct",
    "repairDatabase",
    "profile",
    "replSetStepDown",
    "findAndModify",
    "_transferMods",
    "filemd5",
    "forceerror",
    "getnonce",
    "saslContinue",
    "clone",
    "saslStart",
    "_getUserCacheGeneration",
    "_recvChunkCommit",
    "whatsmyuri",
    "repairCursor",
    "validate",
    "dbHash",
    "planCacheListFilters",
    "touch",
    "mergeChunks",
    "cursorInfo",
    "_recvChunkStart",
    "unsetSharding",
    "revokePrivilegesFromRole",
    "logout",
    "group",
    "shardConnPoolStats",
    "listDatabases",
    "buildInfo",
    "availableQueryOptions",
    "_isSelf",
    "splitVector",
    "geoSearch",
    "dbStats",
    "connectionStatus",
    "currentOpCtx",
    "copydb",
    "insert",
    "reIndex",
    "moveChunk",
    "cleanupOrphaned",
    "driverOIDTest",
    "isMaster",
    "getParameter",
    "replSetHeartbeat",
    "ping",
    "listIndexes",
    "dropUser",
    "dropDatabase",
    "dataSize",
    "convertToCapped",
    "planCacheSetFilter",
    "usersInfo",
    "grantPrivilegesToRole",
    "handshake",
    "_mergeAuthzCollections",
    "mapreduce.shardedfinish",
    "_recvChunkAbort",
    "authSchemaUpgrade",
    "replSetGetConfig",
    "replSetSyncFrom",
    "collStats",
    "replSetMaintenance",
    "createRole",
    "copydbgetnonce",
    "cloneCollectionAsCapped",
    "_migrateClone",
    "parallelCollectionScan",
    "connPoolStats",
    "revokeRolesFromUser",
    "authenticate",
    "create",
    "shutdown",
    "invalidateUserCache",
    "shardingState",
    "renameCollection",
    "replSetGetRBID",
    "splitChunk",
    "createIndexes",
    "updateUser",
    "cloneCollection",
    "logRotate",
    "planCacheListPlans",
    "medianKey",
    "hostInfo",
    "geoNear",
    "fsync",
    "checkShardingIndex",
    "getShardMap",
    "planCacheClear",
    "listCollections",
    "collMod",
    "_recvChunkStatus",
    "planCacheListQueryShapes",
    "delete",
    "planCacheClearFilters",
    "mapReduce",
    "rolesInfo",
    "eval",
    "drop",
    "grantRolesToUser",
    "resetError",
    "getLog",
    "dropAllUsersFromDatabase",
    "diagLogging",
    "replSetUpdatePosition",
    "setShardVersion",
    "replSetInitiate",
};

/* Packetbeat's message decoder over one message. */
struct pdec {
    const uint8_t *in;
    size_t len;
    size_t i;
    char *err;
    size_t errlen;
};

static bool pd_fail(struct pdec *d, const char *why)
{
    snprintf(d->err, d->errlen, "%s", why);
    return false;
}

static bool pd_bytes(struct pdec *d, size_t n, const uint8_t **p)
{
    size_t start = d->i;
    d->i += n;
    if (d->i > d->len || d->i < start) {
        return pd_fail(d, "No byte to read");
    }
    *p = d->in + start;
    return true;
}

static bool pd_u32(struct pdec *d, uint64_t *v)
{
    const uint8_t *b = NULL;
    *v = 0;
    if (!pd_bytes(d, 4, &b)) {
        return false;
    }
    *v = (uint64_t)b[0] | ((uint64_t)b[1] << 8) | ((uint64_t)b[2] << 16) | ((uint64_t)b[3] << 24);
    return true;
}

static bool pd_i64(struct pdec *d, int64_t *v)
{
    const uint8_t *b = NULL;
    *v = 0;
    if (!pd_bytes(d, 8, &b)) {
        return false;
    }
    uint64_t x = 0;
    for (int k = 7; k >= 0; k--) {
        x = (x << 8) | b[k];
    }
    *v = (int64_t)x;
    return true;
}

static bool pd_byte(struct pdec *d, uint8_t *v)
{
    size_t i = d->i;
    d->i++;
    if (d->i > d->len) {
        return pd_fail(d, "Read byte failed");
    }
    *v = d->in[i];
    return true;
}

static bool pd_cstr(struct pdec *d, char **out)
{
    size_t start = d->i;
    if (start > d->len) {
        return pd_fail(d, "cstring not finished");
    }
    const uint8_t *nul = memchr(d->in + start, 0, d->len - start);
    size_t end = nul != NULL ? (size_t)(nul - d->in) : d->len;
    d->i = end + 1;
    if (d->i > d->len) {
        return pd_fail(d, "cstring not finished");
    }
    *out = pb_strndup((const char *)d->in + start, end - start);
    if (*out == NULL) {
        return pd_fail(d, "out of memory");
    }
    return true;
}

/* readDocument: the document's own length decides where the reader goes. */
static bool pd_doc(struct pdec *d, struct bson_doc *doc)
{
    size_t start = d->i;
    uint64_t n;
    if (!pd_u32(d, &n)) {
        return false;
    }
    d->i = start + (size_t)n;
    if (d->i > d->len || d->i < start) {
        return pd_fail(d, "document out of bounds");
    }
    return bson_decode(d->in + start, (size_t)n, doc, d->err, d->errlen) == 0;
}

static char *bytes_dup(const struct pb_bytes *b)
{
    return pb_strndup(b->p != NULL ? (const char *)b->p : "", b->len);
}

static bool pd_doc_str(struct pdec *d, char **out)
{
    struct bson_doc doc;
    if (!pd_doc(d, &doc)) {
        return false;
    }
    struct pb_bytes j = {0};
    bool ok = bson_doc_json(&doc, NULL, &j);
    bson_doc_free(&doc);
    if (!ok) {
        pb_bytes_free(&j);
        return pd_fail(d, "json: unsupported value");
    }
    *out = bytes_dup(&j);
    pb_bytes_free(&j);
    return *out != NULL || pd_fail(d, "out of memory");
}

void mongo_msg_free(struct mongo_msg *m)
{
    if (m == NULL) {
        return;
    }
    pb_free(m->method);
    pb_free(m->resource);
    pb_free(m->full_collection_name);
    pb_free(m->return_fields_selector);
    pb_free(m->selector);
    pb_free(m->update);
    pb_free(m->message);
    pb_free(m->error);
    pb_free(m->query);
    pb_free(m->request);
    for (size_t i = 0; i < m->ndocs; i++) {
        pb_free(m->docs[i]);
    }
    pb_free(m->docs);
    pb_free(m);
}

void mongo_opcode_str(int32_t op, char *buf, size_t n)
{
    const char *name = NULL;
    switch (op) {
    case MONGO_OP_REPLY:
        name = "OP_REPLY";
        break;
    case MONGO_OP_MSG_LEGACY:
    case MONGO_OP_MSG:
        name = "OP_MSG";
        break;
    case MONGO_OP_UPDATE:
        name = "OP_UPDATE";
        break;
    case MONGO_OP_INSERT:
        name = "OP_INSERT";
        break;
    case MONGO_OP_RESERVED:
        name = "RESERVED";
        break;
    case MONGO_OP_QUERY:
        name = "OP_QUERY";
        break;
    case MONGO_OP_GET_MORE:
        name = "OP_GET_MORE";
        break;
    case MONGO_OP_DELETE:
        name = "OP_DELETE";
        break;
    case MONGO_OP_KILL_CURSORS:
        name = "OP_KILL_CURSORS";
        break;
    default:
        break;
    }
    if (name != NULL) {
        snprintf(buf, n, "%s", name);
    } else {
        snprintf(buf, n, "(value=%d)", (int)op);
    }
}

static bool valid_opcode(int32_t op)
{
    return op == MONGO_OP_REPLY || op == MONGO_OP_MSG_LEGACY ||
           (op >= MONGO_OP_UPDATE && op <= MONGO_OP_KILL_CURSORS) || op == MONGO_OP_MSG;
}

static bool set_str(char **dst, const char *s)
{
    pb_free(*dst);
    *dst = pb_strdup(s);
    return *dst != NULL;
}

/* ---- per opcode ---- */

/* Reads a u32 into *field and marks it present in m; on failure the field
 * is left alone. */
static bool pd_u32_field(struct pdec *d, struct mongo_msg *m, unsigned flag, uint64_t *field)
{
    uint64_t v;
    if (!pd_u32(d, &v)) {
        return false;
    }
    *field = v;
    m->present |= flag;
    return true;
}

static bool op_reply(struct pdec *d, struct mongo_msg *m, const struct mongo_cfg *cfg)
{
    uint64_t flags;
    int64_t cursor;
    if (!pd_u32(d, &flags) || !pd_i64(d, &cursor)) {
        return false;
    }
    m->cursor_id = cursor;
    m->present |= MF_CURSOR_ID;
    if (!pd_u32_field(d, m, MF_STARTING_FROM, &m->starting_from) ||
        !pd_u32_field(d, m, MF_NUMBER_RETURNED, &m->number_returned)) {
        return false;
    }
    uint64_t nret = m->number_returned;
    size_t keep = 0;
    if (cfg->want_docs) {
        keep = nret;
        if (cfg->max_docs > 0 && (uint64_t)cfg->max_docs < keep) {
            keep = (size_t)cfg->max_docs;
            m->more_docs = true;
        }
        if (keep > MAX_DOCS_KEPT) {
            keep = MAX_DOCS_KEPT;
        }
        /* every document takes 5 bytes at least */
        size_t room = (d->len - d->i) / 5u + 1u;
        if (keep > room) {
            keep = room;
        }
        if (keep > 0) {
            m->docs = pb_calloc(keep, sizeof *m->docs);
            if (m->docs == NULL) {
                return pd_fail(d, "out of memory");
            }
        }
    }
    for (uint64_t i = 0; i < nret; i++) {
        struct bson_doc doc;
        if (!pd_doc(d, &doc)) {
            return false;
        }
        if (i == 0) {
            const struct bson_entry *e = bson_get(&doc, "$err");
            for (int k = 0; k < 2; k++) {
                if (e != NULL) {
                    struct pb_bytes j = {0};
                    bool ok = bson_entry_json(&doc, e, &j);
                    if (ok) {
                        pb_free(m->error);
                        m->error = bytes_dup(&j);
                    }
                    pb_bytes_free(&j);
                    if (!ok || m->error == NULL) {
                        bson_doc_free(&doc);
                        return pd_fail(d, "json: unsupported value");
                    }
                }
                e = bson_get(&doc, "writeErrors");
            }
        }
        if (i < keep && m->docs != NULL) {
            struct pb_bytes j = {0};
            if (bson_doc_json(&doc, NULL, &j)) {
                m->docs[i] = bytes_dup(&j);
            }
            pb_bytes_free(&j);
            m->ndocs = (size_t)i + 1;
        }
        bson_doc_free(&doc);
    }
    if (m->ndocs < keep) {
        m->more_docs = false;
    }
    return true;
}

static bool is_db_command(const struct bson_entry *e)
{
    bool known = false;
    for (size_t i = 0; i < sizeof db_commands / sizeof db_commands[0]; i++) {
        if (strlen(db_commands[i]) == e->klen) {
            bool eq = true;
            for (size_t k = 0; k < e->klen && eq; k++) {
                uint8_t a = e->key[k], b = (uint8_t)db_commands[i][k];
                if (a >= 'A' && a <= 'Z') {
                    a = (uint8_t)(a - 'A' + 'a');
                }
                if (b >= 'A' && b <= 'Z') {
                    b = (uint8_t)(b - 'A' + 'a');
                }
                eq = a == b;
            }
            if (eq) {
                known = true;
                break;
            }
        }
    }
    if (!known) {
        return false;
    }
    return e->kind == 0x02 || (e->kind == 0x01 && e->dbl == 1.0);
}

/* Packetbeat's reconstructQuery: resource.method(params).skip(n).limit(n). */
static char *build_query(const struct mongo_msg *m, const struct bson_doc *params, bool have,
                         bool full)
{
    struct pb_bytes q = {0};
    const char *res = m->resource != NULL ? m->resource : "";
    const char *meth = m->method != NULL ? m->method : "";
    bool ok = pb_bytes_append(&q, res, strlen(res), PB_MAX_STREAM_BYTES * 4u) == 0 &&
              pb_bytes_append(&q, ".", 1, PB_MAX_STREAM_BYTES * 4u) == 0 &&
              pb_bytes_append(&q, meth, strlen(meth), PB_MAX_STREAM_BYTES * 4u) == 0 &&
              pb_bytes_append(&q, "(", 1, PB_MAX_STREAM_BYTES * 4u) == 0;
    if (ok && have && bson_len(params) > 0) {
        if (full) {
            (void)bson_doc_json(params, NULL, &q);
        } else if (strcmp(meth, "insert") == 0) {
            (void)bson_doc_json(params, "documents", &q);
        } else if (strcmp(meth, "update") == 0) {
            (void)bson_doc_json(params, "updates", &q);
        } else if (strcmp(meth, "findandmodify") == 0) {
            (void)bson_doc_json(params, "update", &q);
        }
    }
    char tail[64] = ")";
    size_t tl = 1;
    if ((m->present & MF_NUMBER_TO_SKIP) && m->number_to_skip > 0) {
        tl += (size_t)snprintf(tail + tl, sizeof tail - tl, ".skip(%llu)",
                               (unsigned long long)m->number_to_skip);
    }
    if ((m->present & MF_NUMBER_TO_RETURN) && m->number_to_return > 0 &&
        m->number_to_return < 0x7fffffff) {
        tl += (size_t)snprintf(tail + tl, sizeof tail - tl, ".limit(%llu)",
                               (unsigned long long)m->number_to_return);
    }
    ok = ok && pb_bytes_append(&q, tail, tl, PB_MAX_STREAM_BYTES * 4u) == 0;
    char *s = ok ? bytes_dup(&q) : NULL;
    pb_bytes_free(&q);
    return s;
}

static bool op_query(struct pdec *d, struct mongo_msg *m, const struct mongo_cfg *cfg)
{
    uint64_t flags;
    char *fcn = NULL;
    if (!pd_u32(d, &flags) || !pd_cstr(d, &fcn)) {
        return false;
    }
    m->full_collection_name = fcn;
    m->present |= MF_FULL_COLLECTION_NAME;
    if (!pd_u32_field(d, m, MF_NUMBER_TO_SKIP, &m->number_to_skip) ||
        !pd_u32_field(d, m, MF_NUMBER_TO_RETURN, &m->number_to_return)) {
        return false;
    }

    struct bson_doc query = {0};
    bool ok = pd_doc(d, &query);
    bool have = ok;
    if (d->i < d->len) {
        char *sel = NULL;
        ok = pd_doc_str(d, &sel);
        pb_free(m->return_fields_selector);
        m->return_fields_selector = sel != NULL ? sel : pb_strdup("");
        m->present |= MF_RETURN_FIELDS_SELECTOR;
    }
    size_t flen = strlen(fcn);
    bool good = true;
    if (flen >= 5 && strcmp(fcn + flen - 5, ".$cmd") == 0) {
        good = set_str(&m->method, "otherCommand") && set_str(&m->resource, fcn);
        for (size_t i = 0; have && good && i < query.n; i++) {
            const struct bson_entry *e = &query.e[i];
            if (e->dead || !is_db_command(e)) {
                continue;
            }
            if (e->kind == 0x02) {
                /* <db>.$cmd -> <db>.<collection> */
                size_t base = flen - 4;
                char *r = pb_malloc(base + e->str_len + 1);
                if (r == NULL) {
                    good = false;
                    break;
                }
                memcpy(r, fcn, base);
                memcpy(r + base, e->str, e->str_len);
                r[base + e->str_len] = '\0';
                pb_free(m->resource);
                m->resource = r;
            }
            char *meth = pb_strndup((const char *)e->key, e->klen);
            if (meth == NULL) {
                good = false;
                break;
            }
            pb_free(m->method);
            m->method = meth;
            query.e[i].dead = true;
        }
    } else {
        good = set_str(&m->method, "find") && set_str(&m->resource, fcn);
    }
    if (good && ok) {
        m->query = build_query(m, &query, have, false);
        if (cfg->want_request) {
            m->request = build_query(m, &query, have, true);
        }
        good = m->query != NULL && (!cfg->want_request || m->request != NULL);
    }
    if (have) {
        bson_doc_free(&query);
    }
    if (!good) {
        return pd_fail(d, "out of memory");
    }
    return ok;
}

static bool op_msg(struct pdec *d, struct mongo_msg *m)
{
    uint64_t flags;
    uint8_t kind = 0;
    if (!pd_u32(d, &flags) || !pd_byte(d, &kind)) {
        return false;
    }
    struct bson_doc doc;
    if (kind == 0) {
        if (!pd_doc(d, &doc)) {
            return false;
        }
        bson_doc_free(&doc);
        return true;
    }
    if (kind == 1) {
        size_t start = d->i;
        uint64_t size;
        char *id = NULL;
        if (!pd_u32(d, &size) || !pd_cstr(d, &id)) {
            return false;
        }
        m->message = id;
        m->present |= MF_MESSAGE;
        while (d->i < start + size) {
            if (!pd_doc(d, &doc)) {
                return false;
            }
            bson_doc_free(&doc);
        }
        return true;
    }
    snprintf(d->err, d->errlen, "Unknown message kind: %u", kind);
    return false;
}

static const char *op_name(int32_t op)
{
    switch (op) {
    case MONGO_OP_REPLY:
        return "OP_REPLY";
    case MONGO_OP_UPDATE:
        return "OP_UPDATE";
    case MONGO_OP_INSERT:
        return "OP_INSERT";
    case MONGO_OP_QUERY:
        return "OP_QUERY";
    case MONGO_OP_GET_MORE:
        return "OP_GET_MORE";
    case MONGO_OP_DELETE:
        return "OP_DELETE";
    default:
        return "OP_MSG";
    }
}

static bool parse_body(struct pdec *d, struct mongo_msg *m, const struct mongo_cfg *cfg)
{
    uint64_t zero;
    switch (m->opcode) {
    case MONGO_OP_REPLY:
        m->is_response = true;
        return op_reply(d, m, cfg);
    case MONGO_OP_MSG_LEGACY:
        return set_str(&m->method, "msg") && pd_cstr(d, &m->message) &&
               (m->present |= MF_MESSAGE, true);
    case MONGO_OP_UPDATE:
        if (!set_str(&m->method, "update") || !pd_u32(d, &zero) ||
            !pd_cstr(d, &m->full_collection_name)) {
            return false;
        }
        m->present |= MF_FULL_COLLECTION_NAME;
        if (!pd_u32(d, &zero) || !pd_doc_str(d, &m->selector)) {
            return false;
        }
        m->present |= MF_SELECTOR;
        if (!pd_doc_str(d, &m->update)) {
            return false;
        }
        m->present |= MF_UPDATE;
        return true;
    case MONGO_OP_INSERT:
        if (!set_str(&m->method, "insert") || !pd_u32(d, &zero) ||
            !pd_cstr(d, &m->full_collection_name)) {
            return false;
        }
        m->present |= MF_FULL_COLLECTION_NAME;
        return true;
    case MONGO_OP_QUERY:
        return op_query(d, m, cfg);
    case MONGO_OP_GET_MORE: {
        int64_t cursor;
        if (!set_str(&m->method, "getMore") || !pd_u32(d, &zero) ||
            !pd_cstr(d, &m->full_collection_name)) {
            return false;
        }
        m->present |= MF_FULL_COLLECTION_NAME;
        if (!pd_u32_field(d, m, MF_NUMBER_TO_RETURN, &m->number_to_return)) {
            return false;
        }
        if (!pd_i64(d, &cursor)) {
            return false;
        }
        m->cursor_id = cursor;
        m->present |= MF_CURSOR_ID;
        return true;
    }
    case MONGO_OP_DELETE:
        if (!set_str(&m->method, "delete") || !pd_u32(d, &zero) ||
            !pd_cstr(d, &m->full_collection_name)) {
            return false;
        }
        m->present |= MF_FULL_COLLECTION_NAME;
        if (!pd_u32(d, &zero) || !pd_doc_str(d, &m->selector)) {
            return false;
        }
        m->present |= MF_SELECTOR;
        return true;
    case MONGO_OP_KILL_CURSORS:
        return set_str(&m->method, "killCursors");
    case MONGO_OP_MSG:
        return set_str(&m->method, "msg") && op_msg(d, m);
    default:
        return false;
    }
}

enum mongo_result mongo_parse(const uint8_t *data, size_t len, const struct mongo_cfg *cfg,
                              uint64_t ts_ns, struct mongo_msg **out, size_t *msg_len,
                              int32_t *opcode, char *err, size_t errlen)
{
    *out = NULL;
    *msg_len = 0;
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (len < 4) {
        return MONGO_MORE;
    }
    uint64_t length = (uint64_t)data[0] | ((uint64_t)data[1] << 8) | ((uint64_t)data[2] << 16) |
                      ((uint64_t)data[3] << 24);
    if (length > len) {
        if (length > PB_MAX_STREAM_BYTES) {
            return MONGO_ERR; /* can never complete */
        }
        return MONGO_MORE;
    }
    /* header fields past the declared length read as zero */
    struct pdec d = {.in = data, .len = (size_t)length, .i = 4, .err = err, .errlen = errlen};
    uint64_t req = 0, resp_to = 0, code = 0;
    (void)pd_u32(&d, &req);
    (void)pd_u32(&d, &resp_to);
    (void)pd_u32(&d, &code);
    int32_t op = (int32_t)(uint32_t)code;
    if (!valid_opcode(op)) {
        *opcode = op;
        return MONGO_BAD_OPCODE;
    }
    if (errlen > 0) {
        err[0] = '\0';
    }
    struct mongo_msg *m = pb_calloc(1, sizeof *m);
    if (m == NULL) {
        return MONGO_ERR;
    }
    m->ts_ns = ts_ns;
    m->length = (uint32_t)length;
    m->request_id = (uint32_t)req;
    m->response_to = (uint32_t)resp_to;
    m->opcode = op;
    d.i = 16;
    char why[200];
    d.err = why;
    d.errlen = sizeof why;
    why[0] = '\0';
    if (!parse_body(&d, m, cfg)) {
        if (why[0] != '\0' && errlen > 0) {
            if (strncmp(why, "Unknown message kind", 20) == 0) {
                snprintf(err, errlen, "%s", why);
            } else {
                snprintf(err, errlen, "An error occurred while parsing %s message: %s", op_name(op),
                         why);
            }
        }
        mongo_msg_free(m);
        return MONGO_ERR;
    }
    if (!m->is_response && m->query == NULL) {
        /* every request gets its query text, as reconstructQuery builds it */
        m->query = build_query(m, NULL, false, false);
        if (cfg->want_request) {
            m->request = build_query(m, NULL, false, true);
        }
        if (m->query == NULL || (cfg->want_request && m->request == NULL)) {
            mongo_msg_free(m);
            return MONGO_ERR;
        }
    }
    *out = m;
    *msg_len = (size_t)length;
    return MONGO_MSG;
}
