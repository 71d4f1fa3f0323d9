/* SPDX-License-Identifier: Apache-2.0
 * protos/memcache/memcache_parse.c - memcache text and binary parser; pure:
 * no I/O, no globals (the command tables are constant).
 *
 * Text:   <command> <args...> CRLF [<value> CRLF]
 * Binary: 24-byte header, then extras, key, value:
 *    0      1        2..3     4        5       6..7            8..11
 *   magic  opcode  key len  extras  dtype  vbucket/status  total body len
 *   12..15 opaque, 16..23 CAS
 */
#include "memcache_parse.h"

#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/limits.h"
#include "beat/rd.h"

/* Caps on what one message may hold. */
#define MC_MAX_ITEMS 65536u
#define MC_MAX_ITEM_BYTES (16u * 1024u * 1024u)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char mc_note_request_loss[] = "Packet loss while capturing the request";
const char mc_note_response_loss[] = "Packet loss while capturing the response";
const char mc_note_no_request[] = "Invalid transaction. Request missing";
const char mc_note_non_quiet_only[] = "Missing response for non-quiet request";
const char mc_note_unfinished[] = "Unfinished transaction";

/* Parser errors (Packetbeat's texts). */
static const char err_caught[] = "memcache parser caught in error loop";
static const char err_unknown_cmd[] = "unknown memcache command found";
static const char err_no_more_arg[] = "no more command arguments";
static const char err_no_reply[] = "expected noreply in argument list";
static const char err_keys[] = "message has no keys";
static const char err_len[] = "length field error";
static const char err_eob[] = "unexpected end of buffer";
static const char err_digit[] = "Expected digit";
static const char err_mismatch[] = "expected byte sequence did not match";
static const char err_nomem[] = "out of memory";
static const char err_too_large[] = "Stream data too large";

/* Internal parser kinds of struct mc_cmd.parse. */
enum {
    P_MSG,
    P_DATA,
    P_SUB_SLABS,
    P_SUB_LRU,
    P_UNKNOWN,
    P_COUNTER_RESP,
    P_BINARY,
};

#define OPT(a) ((uint8_t)((a) | MC_A_OPTIONAL))

#define TEXT(n, t, c, p, s, ...)                                                                   \
    {                                                                                              \
        .name = (n), .nlen = sizeof(n) - 1, .typ = (t), .code = (c), .parse = (p), .ser = (s),     \
        .nargs = sizeof((uint8_t[]){0, __VA_ARGS__}) - 1, .args = {__VA_ARGS__},                   \
    }

static const struct mc_cmd text_requests[] = {
    TEXT("get", MC_T_LOAD, MC_CMD_GET, P_MSG, MC_SER_REQUEST, MC_A_MULTIKEYS),
    TEXT("gets", MC_T_LOAD, MC_CMD_GETS, P_MSG, MC_SER_REQUEST, MC_A_MULTIKEYS),
    TEXT("set", MC_T_STORE, MC_CMD_SET, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS, MC_A_EXPTIME,
         MC_A_BYTES, OPT(MC_A_NOREPLY)),
    TEXT("add", MC_T_STORE, MC_CMD_ADD, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS, MC_A_EXPTIME,
         MC_A_BYTES, OPT(MC_A_NOREPLY)),
    TEXT("replace", MC_T_STORE, MC_CMD_REPLACE, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS,
         MC_A_EXPTIME, MC_A_BYTES, OPT(MC_A_NOREPLY)),
    TEXT("append", MC_T_STORE, MC_CMD_APPEND, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS,
         MC_A_EXPTIME, MC_A_BYTES, OPT(MC_A_NOREPLY)),
    TEXT("prepend", MC_T_STORE, MC_CMD_PREPEND, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS,
         MC_A_EXPTIME, MC_A_BYTES, OPT(MC_A_NOREPLY)),
    TEXT("cas", MC_T_STORE, MC_CMD_CAS, P_DATA, MC_SER_DATA_REQ, MC_A_KEY, MC_A_FLAGS, MC_A_EXPTIME,
         MC_A_BYTES, MC_A_CAS, OPT(MC_A_NOREPLY)),
    TEXT("incr", MC_T_COUNTER, MC_CMD_INCR, P_MSG, MC_SER_REQUEST, MC_A_KEY, MC_A_DELTA,
         OPT(MC_A_NOREPLY)),
    TEXT("decr", MC_T_COUNTER, MC_CMD_DECR, P_MSG, MC_SER_REQUEST, MC_A_KEY, MC_A_DELTA,
         OPT(MC_A_NOREPLY)),
    TEXT("touch", MC_T_STORE, MC_CMD_TOUCH, P_MSG, MC_SER_REQUEST, MC_A_KEY, MC_A_EXPTIME,
         OPT(MC_A_NOREPLY)),
    TEXT("delete", MC_T_DELETE, MC_CMD_DELETE, P_MSG, MC_SER_REQUEST, MC_A_KEY, OPT(MC_A_NOREPLY)),
    TEXT("flush_all", MC_T_DELETE, MC_CMD_FLUSH_ALL, P_MSG, MC_SER_REQUEST, OPT(MC_A_EXPTIME)),
    TEXT("slabs", MC_T_SLABCTRL, MC_CMD_UNKNOWN, P_SUB_SLABS, MC_SER_NOP),
    TEXT("lru_crawler", MC_T_LRUCRAWLER, MC_CMD_UNKNOWN, P_SUB_LRU, MC_SER_NOP),
    TEXT("stats", MC_T_STATS, MC_CMD_STATS, P_MSG, MC_SER_REQUEST, MC_A_RAW),
    TEXT("verbosity", MC_T_INFO, MC_CMD_VERBOSITY, P_MSG, MC_SER_REQUEST, MC_A_VERBOSITY),
    TEXT("version", MC_T_INFO, MC_CMD_VERSION, P_MSG, MC_SER_REQUEST),
    TEXT("quit", MC_T_INFO, MC_CMD_QUIT, P_MSG, MC_SER_REQUEST, OPT(MC_A_NOREPLY)),
};

static const struct mc_cmd slabs_commands[] = {
    TEXT("reassign", MC_T_SLABCTRL, MC_CMD_SLABS_REASSIGN, P_MSG, MC_SER_REQUEST, MC_A_SOURCE_CLASS,
         MC_A_DEST_CLASS),
    TEXT("automove", MC_T_SLABCTRL, MC_CMD_SLABS_AUTOMOVE, P_MSG, MC_SER_REQUEST, MC_A_AUTOMOVE),
};

static const struct mc_cmd lru_commands[] = {
    TEXT("enable", MC_T_LRUCRAWLER, MC_CMD_LRU_ENABLE, P_MSG, MC_SER_REQUEST),
    TEXT("disable", MC_T_LRUCRAWLER, MC_CMD_LRU_DISABLE, P_MSG, MC_SER_REQUEST),
    TEXT("sleep", MC_T_LRUCRAWLER, MC_CMD_LRU_SLEEP, P_MSG, MC_SER_REQUEST, MC_A_SLEEP_US),
    TEXT("tocrawl", MC_T_LRUCRAWLER, MC_CMD_LRU_TOCRAWL, P_MSG, MC_SER_REQUEST, MC_A_VALUE),
    /* Packetbeat files "crawl" under the tocrawl code */
    TEXT("crawl", MC_T_LRUCRAWLER, MC_CMD_LRU_TOCRAWL, P_MSG, MC_SER_REQUEST, MC_A_RAW),
};

static const struct mc_cmd text_responses[] = {
    TEXT("VALUE", MC_T_LOAD, MC_RES_VALUE, P_DATA, MC_SER_DATA_RESP, MC_A_KEY, MC_A_FLAGS,
         MC_A_BYTES, OPT(MC_A_CAS)),
    TEXT("END", MC_T_LOAD, MC_RES_END, P_MSG, MC_SER_REQUEST),
    TEXT("STORED", MC_T_SUCCESS, MC_RES_STORED, P_MSG, MC_SER_REQUEST),
    TEXT("NOT_STORED", MC_T_FAIL, MC_RES_NOT_STORED, P_MSG, MC_SER_REQUEST),
    TEXT("EXISTS", MC_T_SUCCESS, MC_RES_EXISTS, P_MSG, MC_SER_REQUEST),
    TEXT("NOT_FOUND", MC_T_FAIL, MC_RES_NOT_FOUND, P_MSG, MC_SER_REQUEST),
    TEXT("TOUCHED", MC_T_SUCCESS, MC_RES_TOUCHED, P_MSG, MC_SER_REQUEST),
    TEXT("DELETED", MC_T_SUCCESS, MC_RES_DELETED, P_MSG, MC_SER_REQUEST),
    TEXT("OK", MC_T_SUCCESS, MC_RES_OK, P_MSG, MC_SER_REQUEST),
    TEXT("ERROR", MC_T_FAIL, MC_ERR_ERROR, P_MSG, MC_SER_REQUEST),
    TEXT("CLIENT_ERROR", MC_T_FAIL, MC_ERR_CLIENT_ERROR, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("SERVER_ERROR", MC_T_FAIL, MC_ERR_SERVER_ERROR, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("BUSY", MC_T_FAIL, MC_ERR_BUSY, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("BADCLASS", MC_T_FAIL, MC_ERR_BADCLASS, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("NOSPARE", MC_T_FAIL, MC_ERR_NOSPARE, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("NOTFULL", MC_T_FAIL, MC_ERR_NOTFULL, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("UNSAFE", MC_T_FAIL, MC_ERR_UNSAFE, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("SAME", MC_T_FAIL, MC_ERR_SAME, P_MSG, MC_SER_REQUEST, MC_A_ERRMSG),
    TEXT("STAT", MC_T_STATS, MC_RES_STAT, P_MSG, MC_SER_REQUEST, MC_A_STAT),
    TEXT("VERSION", MC_T_INFO, MC_RES_VERSION, P_MSG, MC_SER_REQUEST),
};

static const struct mc_cmd counter_response =
    TEXT("", MC_T_COUNTER, MC_RES_COUNTER_OP, P_COUNTER_RESP, MC_SER_COUNTER);
static const struct mc_cmd unknown_command =
    TEXT("UNKNOWN", MC_T_UNKNOWN, MC_CMD_UNKNOWN, P_UNKNOWN, MC_SER_UNKNOWN);

/* Binary commands: request extras in args, response extras in rargs. */
#define BIN(t, c, vp, nreq, r0, r1, r2, nresp, s0)                                                 \
    {                                                                                              \
        .name = NULL, .typ = (t), .code = (c), .parse = P_BINARY, .ser = MC_SER_BINARY,            \
        .nargs = (nreq), .args = {(r0), (r1), (r2)}, .nrargs = (nresp), .rargs = {(s0)},           \
        .value_parser = (vp),                                                                      \
    }

enum {
    B_UNKNOWN,
    B_GET,
    B_DELETE,
    B_FLUSH,
    B_SET,
    B_ADD,
    B_REPLACE,
    B_APPEND,
    B_PREPEND,
    B_NOOP,
    B_INCR,
    B_DECR,
    B_QUIT,
    B_VERSION,
    B_TOUCH,
    B_VERBOSITY,
    B_SASL_LIST,
    B_SASL_AUTH,
    B_SASL_STEP,
    B_STAT,
};

static const struct mc_cmd bin_commands[] = {
    [B_UNKNOWN] = BIN(MC_T_UNKNOWN, MC_CMD_UNKNOWN, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_GET] = BIN(MC_T_LOAD, MC_CMD_GET, MC_VP_NONE, 0, 0, 0, 0, 1, MC_B_FLAGS),
    [B_DELETE] = BIN(MC_T_DELETE, MC_CMD_DELETE, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_FLUSH] = BIN(MC_T_DELETE, MC_CMD_DELETE, MC_VP_NONE, 1, MC_B_EXPTIME, 0, 0, 0, 0),
    [B_SET] = BIN(MC_T_STORE, MC_CMD_SET, MC_VP_NONE, 2, MC_B_FLAGS, MC_B_EXPTIME, 0, 0, 0),
    [B_ADD] = BIN(MC_T_STORE, MC_CMD_ADD, MC_VP_NONE, 2, MC_B_FLAGS, MC_B_EXPTIME, 0, 0, 0),
    [B_REPLACE] = BIN(MC_T_STORE, MC_CMD_REPLACE, MC_VP_NONE, 2, MC_B_FLAGS, MC_B_EXPTIME, 0, 0, 0),
    [B_APPEND] = BIN(MC_T_STORE, MC_CMD_APPEND, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_PREPEND] = BIN(MC_T_STORE, MC_CMD_PREPEND, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_NOOP] = BIN(MC_T_INFO, MC_CMD_NOOP, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_INCR] = BIN(MC_T_COUNTER, MC_CMD_INCR, MC_VP_COUNTER, 3, MC_B_DELTA, MC_B_INITIAL,
                   MC_B_EXPTIME, 0, 0),
    [B_DECR] = BIN(MC_T_COUNTER, MC_CMD_DECR, MC_VP_COUNTER, 3, MC_B_DELTA, MC_B_INITIAL,
                   MC_B_EXPTIME, 0, 0),
    [B_QUIT] = BIN(MC_T_INFO, MC_CMD_QUIT, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_VERSION] = BIN(MC_T_INFO, MC_CMD_VERSION, MC_VP_VERSION, 0, 0, 0, 0, 0, 0),
    [B_TOUCH] = BIN(MC_T_STORE, MC_CMD_TOUCH, MC_VP_NONE, 1, MC_B_EXPTIME, 0, 0, 0, 0),
    [B_VERBOSITY] = BIN(MC_T_INFO, MC_CMD_VERBOSITY, MC_VP_NONE, 1, MC_B_VERBOSITY, 0, 0, 0, 0),
    [B_SASL_LIST] = BIN(MC_T_AUTH, MC_CMD_SASL_LIST, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_SASL_AUTH] = BIN(MC_T_AUTH, MC_CMD_SASL_AUTH, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_SASL_STEP] = BIN(MC_T_AUTH, MC_CMD_SASL_STEP, MC_VP_NONE, 0, 0, 0, 0, 0, 0),
    [B_STAT] = BIN(MC_T_STATS, MC_CMD_STATS, MC_VP_STAT, 0, 0, 0, 0, 1, MC_B_STATS),
};

static const struct mc_cmd *bin_command(uint8_t opcode)
{
    switch (opcode) {
    case 0x00: /* Get */
    case 0x09: /* GetQ */
    case 0x0c: /* GetK */
    case 0x0d: /* GetKQ */
        return &bin_commands[B_GET];
    case 0x04: /* Delete */
    case 0x14: /* DeleteQ */
        return &bin_commands[B_DELETE];
    case 0x08: /* Flush */
    case 0x18: /* FlushQ */
        return &bin_commands[B_FLUSH];
    case 0x01: /* Set */
    case 0x11: /* SetQ */
        return &bin_commands[B_SET];
    case 0x02: /* Add */
    case 0x12: /* AddQ */
        return &bin_commands[B_ADD];
    case 0x03: /* Replace */
    case 0x13: /* ReplaceQ */
        return &bin_commands[B_REPLACE];
    case 0x0e: /* Append */
    case 0x19: /* AppendQ */
        return &bin_commands[B_APPEND];
    case 0x0f: /* Prepend */
    case 0x1a: /* PrependQ */
        return &bin_commands[B_PREPEND];
    case 0x0a: /* No-op */
        return &bin_commands[B_NOOP];
    case 0x05: /* Increment */
    case 0x15: /* IncrementQ */
        return &bin_commands[B_INCR];
    case 0x06: /* Decrement */
    case 0x16: /* DecrementQ */
        return &bin_commands[B_DECR];
    case 0x07: /* Quit */
    case 0x17: /* QuitQ */
        return &bin_commands[B_QUIT];
    case 0x0b: /* Version */
        return &bin_commands[B_VERSION];
    case 0x1c: /* Touch */
        return &bin_commands[B_TOUCH];
    case 0x1b: /* Verbosity */
        return &bin_commands[B_VERBOSITY];
    case 0x20:
        return &bin_commands[B_SASL_LIST];
    case 0x21:
        return &bin_commands[B_SASL_AUTH];
    case 0x22:
        return &bin_commands[B_SASL_STEP];
    case 0x10: /* Stat */
        return &bin_commands[B_STAT];
    default:
        return &bin_commands[B_UNKNOWN];
    }
}

static bool quiet_opcode(uint8_t o)
{
    switch (o) {
    case 0x09: /* GetQ */
    case 0x0d: /* GetKQ */
    case 0x11: /* SetQ */
    case 0x12: /* AddQ */
    case 0x13: /* ReplaceQ */
    case 0x14: /* DeleteQ */
    case 0x15: /* IncrementQ */
    case 0x16: /* DecrementQ */
    case 0x17: /* QuitQ */
    case 0x18: /* FlushQ */
    case 0x19: /* AppendQ */
    case 0x1a: /* PrependQ */
    case 0x1e: /* GATQ */
    case 0x24: /* GatKQ */
    case 0x32: /* RSetQ */
    case 0x34: /* RAppendQ */
    case 0x36: /* RPrependQ */
    case 0x38: /* RDeleteQ */
    case 0x3a: /* RIncrQ */
    case 0x3c: /* RDecrQ */
        return true;
    default:
        return false;
    }
}

/* A name of the event, and the member that shows it in compact JSON
 * ("command":"get", ,"type":"Load") with its length. */
struct mc_name {
    const char *s;
    const char *json;
    uint8_t json_n;
};
#define MEMBER(pre, s)                                                                             \
    {                                                                                              \
        (s), pre s "\"", sizeof(pre s "\"") - 1                                                    \
    }
#define CODE(s) MEMBER("\"command\":\"", s)
#define TYPE(s) MEMBER(",\"type\":\"", s)

static const struct mc_name type_names[] = {
    TYPE("UNKNOWN"), TYPE("Load"),    TYPE("Store"),    TYPE("Delete"),
    TYPE("Counter"), TYPE("Info"),    TYPE("SlabCtrl"), TYPE("LRUCrawler"),
    TYPE("Stats"),   TYPE("Success"), TYPE("Fail"),     TYPE("Auth"),
};

static const struct mc_name code_names[] = {
    CODE("UNKNOWN"),
    CODE("noop"),
    CODE("set"),
    CODE("add"),
    CODE("replace"),
    CODE("append"),
    CODE("prepend"),
    CODE("cas"),
    CODE("get"),
    CODE("gets"),
    CODE("incr"),
    CODE("decr"),
    CODE("<counter_op_res>"),
    CODE("touch"),
    CODE("delete"),
    CODE("slabs"),
    CODE("slabs reassign"),
    CODE("slabs automove"),
    CODE("lru_crawler"),
    CODE("lru_crawler enable"),
    CODE("lru_crawler disable"),
    CODE("lru_crawler sleep"),
    CODE("lru_crawler tocrawl"),
    CODE("lru_crawler crawl"),
    CODE("stats"),
    CODE("STAT"),
    CODE("flush_all"),
    CODE("verbosity"),
    CODE("quit"),
    CODE("version"),
    CODE("sasl_list"),
    CODE("sasl_auth"),
    CODE("sasl_step"),
    CODE("OK"),
    CODE("VALUE"),
    CODE("END"),
    CODE("STORED"),
    CODE("NOT_STORED"),
    CODE("EXISTS"),
    CODE("NOT_FOUND"),
    CODE("TOCHED"), /* sic, as Packetbeat spells it */
    CODE("DELETED"),
    CODE("ERROR"),
    CODE("CLIENT_ERROR"),
    CODE("SERVER_ERROR"),
    CODE("BUSY"),
    CODE("BADCLASS"),
    CODE("NOSPARE"),
    CODE("NOTFULL"),
    CODE("UNSAFE"),
    CODE("SAME"),
    CODE("VERSION"),
};

const char *mc_type_member(unsigned typ, size_t *n)
{
    const struct mc_name *m = &type_names[typ < NELEM(type_names) ? typ : MC_T_UNKNOWN];
    *n = m->json_n;
    return m->json;
}

const char *mc_code_member(unsigned code, size_t *n)
{
    const struct mc_name *m = &code_names[code < NELEM(code_names) ? code : MC_CMD_UNKNOWN];
    *n = m->json_n;
    return m->json;
}

const char *mc_type_name(unsigned typ)
{
    return type_names[typ < NELEM(type_names) ? typ : MC_T_UNKNOWN].s;
}

const char *mc_code_name(unsigned code)
{
    return code_names[code < NELEM(code_names) ? code : MC_CMD_UNKNOWN].s;
}

const char *mc_opcode_name(unsigned o)
{
    static const char *const low[] = {
        "Get",        "Set",        "Add",   "Replace", "Delete",  "Increment", "Decrement",
        "Quit",       "Flush",      "GetQ",  "No-op",   "Version", "GetK",      "GetKQ",
        "Append",     "Prepend",    "Stat",  "SetQ",    "AddQ",    "ReplaceQ",  "DeleteQ",
        "IncrementQ", "DecrementQ", "QuitQ", "FlushQ",  "AppendQ", "PrependQ",  "Verbosity",
        "Touch",      "GAT",        "GATQ",
    };
    if (o < sizeof low / sizeof low[0]) {
        return low[o];
    }
    switch (o) {
    case 0x20:
        return "SASL list mechs";
    case 0x21:
        return "SASL Auth";
    case 0x22:
        return "SASL Step";
    case 0x23:
        return "GatK";
    case 0x24:
        return "GatKQ";
    case 0x30:
        return "RGet";
    case 0x31:
        return "RSet";
    case 0x32:
        return "RSetQ";
    case 0x33:
        return "RAppend";
    case 0x34:
        return "RAppendQ";
    case 0x35:
        return "RPrepend";
    case 0x36:
        return "RPrependQ";
    case 0x37:
        return "RDelete";
    case 0x38:
        return "RDeleteQ";
    case 0x39:
        return "RIncr";
    case 0x3a:
        return "RIncrQ";
    case 0x3b:
        return "RDecr";
    case 0x3c:
        return "RDecrQ";
    case 0x3d:
        return "Set VBucket";
    case 0x3e:
        return "Get VBucket";
    case 0x3f:
        return "Del VBucket";
    case 0x40:
        return "TAP Connect";
    case 0x41:
        return "TAP Mutation";
    case 0x42:
        return "TAP Delete";
    case 0x43:
        return "TAP Flush";
    case 0x44:
        return "TAP Opaque";
    case 0x45:
        return "TAP VBucket Set";
    case 0x46:
        return "TAP Checkpoint Start";
    case 0x47:
        return "TAP Checkpoint End";
    default:
        return "";
    }
}

const char *mc_status_name(unsigned s)
{
    switch (s) {
    case 0x00:
        return "Success";
    case 0x01:
        return "Key not found";
    case 0x02:
        return "Key exists";
    case 0x03:
        return "Value too large";
    case 0x04:
        return "Invalid arguments";
    case 0x05:
        return "Item not stored";
    case 0x06:
        return "Incr/Decr on non-numeric value.";
    case 0x07:
        return "The vbucket belongs to another server";
    case 0x20:
        return "Authentication error";
    case 0x21:
        return "Authentication continue";
    case 0x81:
        return "Unknown command";
    case 0x82:
        return "Out of memory";
    case 0x83:
        return "Not supported";
    case 0x84:
        return "Internal error";
    case 0x85:
        return "Busy";
    case 0x86:
        return "Temporary failure";
    default:
        return "";
    }
}

/* ---- messages ---- */

int mc_strv_add(struct mc_strv *v, const void *p, size_t n)
{
    if (v->n >= MC_MAX_ITEMS) {
        return -PB_ELIMIT;
    }
    if (v->bytes > MC_MAX_ITEM_BYTES || n > MC_MAX_ITEM_BYTES - v->bytes) {
        return -PB_ELIMIT;
    }
    uint32_t l = (uint32_t)n;
    size_t need = v->len + sizeof l + n; /* no overflow: both are capped */
    size_t room = v->heap != NULL ? v->cap : sizeof v->inl;
    if (need > room) {
        size_t cap = room * 2 > need ? room * 2 : need;
        uint8_t *h;
        if (v->heap != NULL) {
            h = pb_realloc(v->heap, cap);
        } else {
            h = pb_malloc(cap);
            if (h != NULL) {
                memcpy(h, v->inl, v->len);
            }
        }
        if (h == NULL) {
            return -PB_ENOMEM;
        }
        v->heap = h;
        v->cap = cap;
    }
    uint8_t *r = (v->heap != NULL ? v->heap : v->inl) + v->len;
    memcpy(r, &l, sizeof l);
    if (n > 0) {
        memcpy(r + sizeof l, p, n);
    }
    v->len = need;
    v->bytes += n;
    v->n++;
    return 0;
}

/* Frees only what was allocated: most fields of a message are unused. */
static void bytes_free(struct pb_bytes *b)
{
    if (b->p != NULL) {
        pb_bytes_free(b);
    }
}

void mc_strv_free(struct mc_strv *v)
{
    if (v->heap != NULL) {
        pb_free(v->heap);
        v->heap = NULL;
        v->cap = 0;
    }
    v->len = v->n = v->bytes = 0;
}

/* Frees what m owns besides itself. */
static void msg_release(struct mc_msg *m)
{
    bytes_free(&m->line);
    bytes_free(&m->error_msg);
    bytes_free(&m->str);
    bytes_free(&m->data);
    mc_strv_free(&m->keys);
    mc_strv_free(&m->values);
    mc_strv_free(&m->stats);
}

void mc_msg_free(struct mc_msg *m)
{
    if (m == NULL) {
        return;
    }
    msg_release(m);
    pb_free(m);
}

void mc_msg_recycle(struct mc_parser *ps, struct mc_msg *m)
{
    if (m == NULL) {
        return;
    }
    unsigned i = ps->spare[0] == NULL ? 0 : 1;
    if (ps->spare[i] != NULL) {
        mc_msg_free(m);
        return;
    }
    msg_release(m);
    memset(m, 0, sizeof *m);
    ps->spare[i] = m;
}

void mc_msg_note(struct mc_msg *m, const char *note)
{
    if (m->nnotes < MC_MAX_NOTES) {
        m->notes[m->nnotes++] = note;
    }
}

void mc_parser_reset(struct mc_parser *ps)
{
    mc_msg_free(ps->msg);
    mc_msg_free(ps->spare[0]);
    mc_msg_free(ps->spare[1]);
    memset(ps, 0, sizeof *ps);
}

static int set_bytes(struct pb_bytes *b, const void *p, size_t n)
{
    pb_bytes_reset(b);
    /* an empty pb_bytes is allocated anyway so that "set" differs from "absent" */
    return pb_bytes_append(b, p, n, MC_MAX_ITEM_BYTES) < 0 ? -PB_ENOMEM : 0;
}

/* Keeps a value as Packetbeat does: only when maxvalues != 0, cut to
 * maxbytespervalue; always counts it. */
static void append_value(struct mc_msg *m, const struct mc_config *cfg, const uint8_t *p, size_t n)
{
    if (cfg->max_values != 0) {
        size_t keep = n;
        if (cfg->max_bytes_per_value > 0 && (uint64_t)keep > (uint64_t)cfg->max_bytes_per_value) {
            keep = (size_t)cfg->max_bytes_per_value;
        }
        if (set_bytes(&m->data, p, keep) == 0) {
            m->has_data = true;
            (void)mc_strv_add(&m->values, p, keep);
        }
    }
    m->count_values++;
}

/* ---- text arguments ---- */

struct args {
    const uint8_t *p;
    size_t n, i;
};

enum aerr { A_OK, A_NOMORE, A_DIGIT, A_BAD };

static enum aerr next_arg(struct args *a)
{
    while (a->i < a->n && a->p[a->i] == ' ') {
        a->i++;
    }
    return a->i < a->n ? A_OK : A_NOMORE;
}

static enum aerr string_arg(struct args *a, const uint8_t **s, size_t *n)
{
    *s = NULL;
    *n = 0;
    if (next_arg(a) != A_OK) {
        return A_NOMORE;
    }
    size_t start = a->i;
    const uint8_t *sp = memchr(a->p + start, ' ', a->n - start);
    a->i = sp != NULL ? (size_t)(sp - a->p) : a->n;
    *s = a->p + start;
    *n = a->i - start;
    return A_OK;
}

static enum aerr uint_arg(struct args *a, uint64_t *v)
{
    next_arg(a);
    if (a->i >= a->n) {
        return A_NOMORE;
    }
    size_t start = a->i;
    uint64_t x = 0;
    while (a->i < a->n && a->p[a->i] >= '0' && a->p[a->i] <= '9') {
        x = x * 10u + (uint64_t)(a->p[a->i] - '0');
        a->i++;
    }
    if (a->i == start) {
        return A_DIGIT;
    }
    *v = x;
    return A_OK;
}

static enum aerr int_arg(struct args *a, int64_t *v)
{
    next_arg(a);
    if (a->i >= a->n) {
        return A_NOMORE;
    }
    bool neg = a->p[a->i] == '-';
    if (neg || a->p[a->i] == '+') {
        if (a->i + 1 >= a->n) {
            return A_NOMORE;
        }
        a->i++;
    }
    uint64_t x = 0;
    enum aerr e = uint_arg(a, &x);
    if (e != A_OK) {
        return e == A_NOMORE ? A_DIGIT : e;
    }
    *v = neg ? (int64_t)(0u - x) : (int64_t)x;
    return A_OK;
}

static const char *aerr_text(enum aerr e)
{
    switch (e) {
    case A_NOMORE:
        return err_no_more_arg;
    case A_DIGIT:
        return err_digit;
    default:
        return err_no_reply;
    }
}

static int add_key(struct mc_msg *m, const uint8_t *p, size_t n)
{
    int rc = mc_strv_add(&m->keys, p, n);
    return rc == -PB_ELIMIT ? 0 : rc;
}

/* Parses one text argument; A_OK or an error. */
static enum aerr parse_arg(struct mc_msg *m, struct args *a, unsigned id, const char **err)
{
    uint64_t u = 0;
    int64_t s = 0;
    enum aerr e = A_OK;
    const uint8_t *tok;
    size_t tlen;
    switch (id) {
    case MC_A_KEY:
        e = string_arg(a, &tok, &tlen);
        mc_strv_free(&m->keys);
        if (e == A_OK && add_key(m, tok, tlen) < 0) {
            *err = err_nomem;
            return A_BAD;
        }
        return e;
    case MC_A_MULTIKEYS:
        mc_strv_free(&m->keys);
        while (string_arg(a, &tok, &tlen) == A_OK) {
            if (add_key(m, tok, tlen) < 0) {
                *err = err_nomem;
                return A_BAD;
            }
        }
        if (m->keys.n == 0) {
            *err = err_keys;
            return A_BAD;
        }
        return A_OK;
    case MC_A_FLAGS:
    case MC_A_EXPTIME:
    case MC_A_BYTES:
        e = uint_arg(a, &u);
        if (e == A_OK) {
            if (id == MC_A_FLAGS) {
                m->flags = (uint32_t)u;
            } else if (id == MC_A_EXPTIME) {
                m->exptime = (uint32_t)u;
            } else {
                m->bytes = (uint32_t)u;
            }
        }
        return e;
    case MC_A_CAS:
        e = uint_arg(a, &u);
        if (e == A_OK) {
            m->is_cas = true;
            m->cas = u;
        }
        return e;
    case MC_A_AUTOMOVE:
    case MC_A_DELTA:
    case MC_A_SLEEP_US:
    case MC_A_VALUE:
    case MC_A_VERBOSITY:
        e = uint_arg(a, &u);
        if (e == A_OK) {
            m->value = u;
        }
        return e;
    case MC_A_SOURCE_CLASS:
    case MC_A_DEST_CLASS:
        e = int_arg(a, &s);
        if (e == A_OK) {
            if (id == MC_A_SOURCE_CLASS) {
                m->ivalue = s;
            } else {
                m->ivalue2 = s;
            }
        }
        return e;
    case MC_A_RAW:
        return A_OK;
    case MC_A_STAT: {
        const uint8_t *name, *value;
        size_t nlen, vlen;
        (void)string_arg(a, &name, &nlen);
        (void)string_arg(a, &value, &vlen);
        if (mc_strv_add(&m->stats, name != NULL ? name : (const uint8_t *)"", nlen) < 0 ||
            mc_strv_add(&m->stats, value != NULL ? value : (const uint8_t *)"", vlen) < 0) {
            *err = err_nomem;
            return A_BAD;
        }
        return A_OK;
    }
    case MC_A_NOREPLY:
        if (next_arg(a) != A_OK) {
            return A_NOMORE;
        }
        if (a->n - a->i < 7 || memcmp(a->p + a->i, "noreply", 7) != 0) {
            *err = err_no_reply;
            return A_BAD;
        }
        m->noreply = true;
        return A_OK;
    case MC_A_ERRMSG:
        /* an empty line has no bytes at all (a->p may be NULL) */
        if (set_bytes(&m->error_msg, a->n > a->i ? (const void *)(a->p + a->i) : (const void *)"",
                      a->n - a->i) < 0) {
            *err = err_nomem;
            return A_BAD;
        }
        m->has_errmsg = true;
        return A_OK;
    default:
        return A_OK;
    }
}

/* Parses the command's argument list from p[0..n). */
static bool parse_text_args(struct mc_msg *m, const struct mc_cmd *cmd, const uint8_t *p, size_t n,
                            const char **err)
{
    struct args a = {p, n, 0};
    for (unsigned i = 0; i < cmd->nargs; i++) {
        unsigned id = MC_A_ID(cmd->args[i]);
        bool optional = (cmd->args[i] & MC_A_OPTIONAL) != 0;
        const char *e2 = NULL;
        enum aerr e = parse_arg(m, &a, id, &e2);
        if (e == A_OK || (optional && e == A_NOMORE)) {
            continue;
        }
        *err = e2 != NULL ? e2 : aerr_text(e);
        return false;
    }
    return true;
}

/* Whether the event of a command shows its line or raw arguments. */
static bool keeps_line(const struct mc_cmd *c)
{
    if (c->ser == MC_SER_UNKNOWN) {
        return true;
    }
    for (unsigned i = 0; i < c->nargs; i++) {
        if (MC_A_ID(c->args[i]) == MC_A_RAW) {
            return true;
        }
    }
    return false;
}

/* Splits "<command> <args>" as Packetbeat does: args start after the one
 * space that ends the command. */
static bool split_command(const uint8_t *p, size_t n, const uint8_t **cmd, size_t *clen,
                          const uint8_t **args, size_t *alen)
{
    struct args a = {p, n, 0};
    if (string_arg(&a, cmd, clen) != A_OK) {
        return false;
    }
    *args = NULL;
    *alen = 0;
    if (a.i < a.n) {
        *args = p + a.i + 1;
        *alen = a.n - a.i - 1;
    }
    return true;
}

/* a[0..n) == b[0..n): names are short, compared by two overlapping
 * loads from each end instead of a memcmp call. */
static inline bool same_name(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    if (n >= 8 && n <= 16) {
        uint64_t p0, p1, q0, q1;
        memcpy(&p0, p, 8);
        memcpy(&p1, p + n - 8, 8);
        memcpy(&q0, q, 8);
        memcpy(&q1, q + n - 8, 8);
        return ((p0 ^ q0) | (p1 ^ q1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t p0, p1, q0, q1;
        memcpy(&p0, p, 4);
        memcpy(&p1, p + n - 4, 4);
        memcpy(&q0, q, 4);
        memcpy(&q1, q + n - 4, 4);
        return ((p0 ^ q0) | (p1 ^ q1)) == 0;
    }
    return memcmp(p, q, n) == 0;
}

static const struct mc_cmd *find_text(const struct mc_cmd *tab, size_t n, const uint8_t *name,
                                      size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (tab[i].nlen == len && tab[i].name[0] == name[0] && same_name(name, tab[i].name, len)) {
            return &tab[i];
        }
    }
    return NULL;
}

static size_t find_crlf(const uint8_t *data, size_t len, size_t from)
{
    while (from + 1 < len) {
        const uint8_t *cr = memchr(data + from, '\r', len - from - 1);
        if (cr == NULL) {
            return SIZE_MAX;
        }
        size_t at = (size_t)(cr - data);
        if (data[at + 1] == '\n') {
            return at;
        }
        from = at + 1;
    }
    return SIZE_MAX;
}

/* Result helpers: the message leaves the parser on MC_MSG. */
static enum mc_result yield(struct mc_parser *ps, size_t used_now, size_t *used,
                            struct mc_msg **out)
{
    struct mc_msg *m = ps->msg;
    m->size += used_now;
    *used += used_now;
    *out = m;
    ps->msg = NULL;
    ps->state = MC_PS_COMMAND;
    ps->crlf_from = 0;
    return MC_MSG;
}

static enum mc_result fail(struct mc_parser *ps, const char *why, const char **err)
{
    *err = why;
    mc_parser_reset(ps);
    return MC_ERR;
}

static enum mc_result parse_text_data(struct mc_parser *ps, const struct mc_config *cfg,
                                      const uint8_t *data, size_t len, bool fixed, size_t *used,
                                      struct mc_msg **out, const char **err)
{
    struct mc_msg *m = ps->msg;
    if (m->bytes_lost > m->bytes) {
        return fail(ps, err_len, err);
    }
    uint64_t need = m->bytes - m->bytes_lost;
    if (need > PB_MAX_STREAM_BYTES) {
        return fail(ps, err_too_large, err);
    }
    if (len < need + 2) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    if (data[need] != '\r' || data[need + 1] != '\n') {
        return fail(ps, err_mismatch, err);
    }
    if (m->bytes_lost > 0) {
        m->count_values++;
    } else {
        append_value(m, cfg, data, (size_t)need);
    }
    return yield(ps, (size_t)need + 2, used, out);
}

static enum mc_result parse_text(struct mc_parser *ps, const struct mc_config *cfg,
                                 const uint8_t *data, size_t len, bool fixed, size_t *used,
                                 struct mc_msg **out, const char **err)
{
    struct mc_msg *m = ps->msg;
    size_t eol = find_crlf(data, len, ps->crlf_from);
    if (eol == SIZE_MAX) {
        if (fixed) {
            return fail(ps, err_eob, err);
        }
        ps->crlf_from = len > 0 ? len - 1 : 0;
        return MC_MORE;
    }
    const uint8_t *cmd, *args;
    size_t clen, alen;
    if (!split_command(data, eol, &cmd, &clen, &args, &alen)) {
        return fail(ps, err_no_more_arg, err);
    }
    m->is_request = cmd[0] >= 'a' && cmd[0] <= 'z';
    const struct mc_cmd *c;
    if (m->is_request) {
        c = find_text(text_requests, NELEM(text_requests), cmd, clen);
    } else {
        c = find_text(text_responses, NELEM(text_responses), cmd, clen);
        if (c == NULL && cmd[0] >= '0' && cmd[0] <= '9') {
            c = &counter_response;
        }
    }
    if (c == NULL) {
        if (!cfg->parse_unknown) {
            return fail(ps, err_unknown_cmd, err);
        }
        c = &unknown_command;
    }
    m->cmd = c;
    const uint8_t *rargs = alen > 0 ? args : NULL; /* in data */
    size_t ralen = alen;
    size_t line_used = eol + 2;

    if (c->parse == P_SUB_SLABS || c->parse == P_SUB_LRU) {
        const uint8_t *sub, *sargs;
        size_t slen, salen;
        if (!split_command(rargs, ralen, &sub, &slen, &sargs, &salen)) {
            return fail(ps, err_no_more_arg, err);
        }
        const struct mc_cmd *sc = c->parse == P_SUB_SLABS
                                      ? find_text(slabs_commands, NELEM(slabs_commands), sub, slen)
                                      : find_text(lru_commands, NELEM(lru_commands), sub, slen);
        if (sc == NULL) {
            if (!cfg->parse_unknown) {
                return fail(ps, err_unknown_cmd, err);
            }
            sc = &unknown_command;
        }
        rargs = salen > 0 ? sargs : NULL;
        ralen = salen;
        m->cmd = c = sc;
    }
    /* the line is copied only for the commands whose event shows it or
       their raw arguments (a view of that copy) */
    if (keeps_line(c)) {
        if (set_bytes(&m->line, data, eol) < 0) {
            return fail(ps, err_nomem, err);
        }
        m->raw_args.p = rargs != NULL ? m->line.p + (rargs - data) : NULL;
        m->raw_args.len = ralen;
    }

    switch (c->parse) {
    case P_UNKNOWN:
        return yield(ps, line_used, used, out);
    case P_COUNTER_RESP: {
        struct args a = {cmd, clen, 0};
        uint64_t v = 0;
        (void)uint_arg(&a, &v);
        m->value = v;
        return yield(ps, line_used, used, out);
    }
    case P_MSG:
        if (!parse_text_args(m, c, rargs, ralen, err)) {
            mc_parser_reset(ps);
            return MC_ERR;
        }
        return yield(ps, line_used, used, out);
    case P_DATA:
        if (!parse_text_args(m, c, rargs, ralen, err)) {
            mc_parser_reset(ps);
            return MC_ERR;
        }
        ps->state = MC_PS_DATA;
        m->size += line_used;
        *used += line_used;
        return parse_text_data(ps, cfg, data + line_used, len - line_used, fixed, used, out, err);
    default:
        return fail(ps, err_caught, err);
    }
}

/* ---- binary ---- */

static enum mc_result parse_bin_data(struct mc_parser *ps, const struct mc_config *cfg,
                                     const uint8_t *data, size_t len, bool fixed, size_t *used,
                                     struct mc_msg **out, const char **err)
{
    struct mc_msg *m = ps->msg;
    if (m->bytes_lost > m->bytes) {
        return fail(ps, err_len, err);
    }
    uint64_t need = m->bytes - m->bytes_lost;
    if (need > PB_MAX_STREAM_BYTES) {
        return fail(ps, err_too_large, err);
    }
    if (len < need) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    if (m->bytes_lost > 0) {
        m->count_values++;
    } else {
        append_value(m, cfg, data, (size_t)need);
    }
    return yield(ps, (size_t)need, used, out);
}

/* Reads the extras the command defines; the first short read is noted. */
static void parse_extras(struct mc_msg *m, const uint8_t *ids, unsigned n, const uint8_t *p,
                         size_t len)
{
    struct pb_rd r = pb_rd_make(p, len);
    for (unsigned i = 0; i < n; i++) {
        switch (ids[i]) {
        case MC_B_FLAGS: {
            uint32_t v = pb_rd_be32(&r);
            if (pb_rd_ok(&r)) {
                m->flags = v;
            }
            break;
        }
        case MC_B_EXPTIME: {
            uint32_t v = pb_rd_be32(&r);
            if (pb_rd_ok(&r)) {
                m->exptime = v;
            }
            break;
        }
        case MC_B_VERBOSITY: {
            uint32_t v = pb_rd_be32(&r);
            if (pb_rd_ok(&r)) {
                m->value = v;
            }
            break;
        }
        case MC_B_DELTA: {
            uint64_t v = pb_rd_be64(&r);
            if (pb_rd_ok(&r)) {
                m->value = v;
            }
            break;
        }
        case MC_B_INITIAL: {
            uint64_t v = pb_rd_be64(&r);
            if (pb_rd_ok(&r)) {
                m->value2 = v;
            }
            break;
        }
        default: /* MC_B_STATS: nothing to read */
            break;
        }
        if (!pb_rd_ok(&r)) {
            mc_msg_note(m, err_eob);
            return;
        }
    }
}

static enum mc_result parse_binary(struct mc_parser *ps, const struct mc_config *cfg,
                                   const uint8_t *data, size_t len, bool fixed, size_t *used,
                                   struct mc_msg **out, const char **err)
{
    struct mc_msg *m = ps->msg;
    if (len < 24) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    struct pb_rd r = pb_rd_make(data, len);
    uint8_t magic = pb_rd_u8(&r);
    uint8_t opcode = pb_rd_u8(&r);
    uint16_t key_len = pb_rd_be16(&r);
    uint8_t extra_len = pb_rd_u8(&r);
    pb_rd_skip(&r, 1); /* data type */
    uint16_t vb_status = pb_rd_be16(&r);
    uint32_t total = pb_rd_be32(&r);
    uint32_t opaque = pb_rd_be32(&r);
    uint64_t cas = pb_rd_be64(&r);
    if (!pb_rd_ok(&r)) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    size_t hdr_len = 24u + extra_len + key_len;
    if (len < hdr_len) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    const struct mc_cmd *c = bin_command(opcode);
    int64_t value_len = (int64_t)total - (int64_t)extra_len - (int64_t)key_len;
    if (total != 0 && value_len < 0) {
        return fail(ps, err_len, err);
    }
    if (total != 0 && value_len > 0 && c->value_parser != MC_VP_NONE) {
        if ((uint64_t)total > PB_MAX_STREAM_BYTES) {
            return fail(ps, err_too_large, err);
        }
        if (len < 24u + (size_t)total) {
            return fixed ? fail(ps, err_eob, err) : MC_MORE;
        }
    }

    m->is_binary = true;
    m->is_request = magic == 0x80;
    m->opcode = opcode;
    m->cmd = c;
    m->is_quiet = quiet_opcode(opcode);
    if (m->is_request) {
        m->vbucket = vb_status;
    } else {
        m->status = vb_status;
    }
    if (cas != 0) {
        m->is_cas = true;
        m->cas = cas;
    }
    m->opaque = opaque;
    if (total == 0) {
        return yield(ps, 24, used, out);
    }
    const uint8_t *extras = data + 24;
    if (extra_len > 0) {
        if (m->is_request && c->nargs > 0) {
            parse_extras(m, c->args, c->nargs, extras, extra_len);
        } else if (c->nrargs > 0) {
            parse_extras(m, c->rargs, c->nrargs, extras, extra_len);
        }
    }
    if (key_len > 0) {
        mc_strv_free(&m->keys);
        if (add_key(m, extras + extra_len, key_len) < 0) {
            return fail(ps, err_nomem, err);
        }
    }
    if (value_len == 0) {
        return yield(ps, hdr_len, used, out);
    }
    m->bytes = (uint64_t)value_len;
    const uint8_t *val = data + hdr_len;
    if (c->value_parser == MC_VP_NONE || m->is_request) {
        ps->state = MC_PS_DATA_BIN;
        m->size += hdr_len;
        *used += hdr_len;
        return parse_bin_data(ps, cfg, val, len - hdr_len, fixed, used, out, err);
    }
    size_t vlen = (size_t)value_len;
    switch (c->value_parser) {
    case MC_VP_COUNTER: {
        struct pb_rd vr = pb_rd_make(val, vlen);
        uint64_t v = pb_rd_be64(&vr);
        if (!pb_rd_ok(&vr)) {
            return fail(ps, err_eob, err);
        }
        m->value = v;
        break;
    }
    case MC_VP_VERSION:
        if (set_bytes(&m->str, val, vlen) < 0) {
            return fail(ps, err_nomem, err);
        }
        m->has_str = true;
        break;
    case MC_VP_STAT:
        if (m->keys.n == 0) {
            return fail(ps, err_keys, err);
        }
        size_t at = 0, klen;
        const uint8_t *key = mc_strv_next(&m->keys, &at, &klen);
        if (mc_strv_add(&m->stats, key, klen) < 0 || mc_strv_add(&m->stats, val, vlen) < 0) {
            return fail(ps, err_nomem, err);
        }
        break;
    default:
        break;
    }
    return yield(ps, hdr_len + vlen, used, out);
}

enum mc_result mc_parse(struct mc_parser *ps, const struct mc_config *cfg, const uint8_t *data,
                        size_t len, bool fixed, uint64_t ts_ns, size_t *used, struct mc_msg **out,
                        const char **err)
{
    *used = 0;
    *out = NULL;
    *err = NULL;
    if (ps->msg == NULL) {
        unsigned i = ps->spare[1] != NULL ? 1 : 0;
        ps->msg = ps->spare[i] != NULL ? ps->spare[i] : pb_calloc(1, sizeof *ps->msg);
        ps->spare[i] = NULL;
        if (ps->msg == NULL) {
            return fail(ps, err_nomem, err);
        }
        ps->msg->ts_ns = ts_ns;
        ps->state = MC_PS_COMMAND;
        ps->crlf_from = 0;
    }
    switch (ps->state) {
    case MC_PS_DATA:
        return parse_text_data(ps, cfg, data, len, fixed, used, out, err);
    case MC_PS_DATA_BIN:
        return parse_bin_data(ps, cfg, data, len, fixed, used, out, err);
    default:
        break;
    }
    if (len < 2) {
        return fixed ? fail(ps, err_eob, err) : MC_MORE;
    }
    if (data[0] == 0x80 || data[0] == 0x81) {
        return parse_binary(ps, cfg, data, len, fixed, used, out, err);
    }
    return parse_text(ps, cfg, data, len, fixed, used, out, err);
}
