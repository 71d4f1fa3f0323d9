/* SPDX-License-Identifier: Apache-2.0
 * protos/nfs/nfs_parse.c - ONC-RPC call/reply headers (RFC 5531) and the NFS
 * request summary that Packetbeat reports: the v3 procedure name (RFC 1813),
 * and for v4 COMPOUND (RFC 7530, 8881, 7862) the tag, the minor version and
 * the "main" operation: the first one that does real work, skipping over
 * PUTFH/GETATTR/SEQUENCE-like helpers, or the last one seen.
 *
 * Call body after the record mark (all XDR, big endian, 4-byte aligned):
 *   xid | msg_type=0 | rpcvers | prog | vers | proc |
 *   cred{flavor, opaque<400>} | verf{flavor, opaque<400>} | args...
 * Reply body:
 *   xid | msg_type=1 | reply_stat | (accepted:) verf{flavor, opaque} |
 *   accept_stat | results...
 * AUTH_UNIX credential body:
 *   stamp | machinename<255> | uid | gid | gids<16>
 */
#include "nfs_parse.h"

#include <string.h>

/* ---- XDR on the bounds-checked reader ---- */

static uint32_t x_u32(struct pb_rd *r)
{
    return pb_rd_be32(r);
}

/* A variable-length opaque: length word, bytes, padding to 4. The padding
 * may be missing at the very end (later reads then fail), as in Packetbeat. */
static struct pb_slice x_opaque(struct pb_rd *r)
{
    uint32_t len = pb_rd_be32(r);
    struct pb_slice s = pb_rd_slice(r, len);
    if (!pb_rd_ok(r)) {
        return s;
    }
    size_t pad = (4u - (len & 3u)) & 3u;
    size_t left = pb_rd_left(r);
    r->p += pad < left ? pad : left;
    return s;
}

static void x_fixed_opaque(struct pb_rd *r, uint32_t len)
{
    pb_rd_skip(r, len);
    if (!pb_rd_ok(r)) {
        return;
    }
    size_t pad = (4u - (len & 3u)) & 3u;
    size_t left = pb_rd_left(r);
    r->p += pad < left ? pad : left;
}

/* An array of words: count then count words (count checked against what is
 * left before anything is read). */
static void x_skip_u32_vector(struct pb_rd *r)
{
    uint32_t n = pb_rd_be32(r);
    if (!pb_rd_ok(r)) {
        return;
    }
    if ((uint64_t)n * 4u > pb_rd_left(r)) {
        r->bad = true;
        return;
    }
    pb_rd_skip(r, (size_t)n * 4u);
}

/* ---- names ---- */

static const char *const v3_ops[] = {
    "NULL",    "GETATTR",     "SETATTR",  "LOOKUP", "ACCESS",   "READLINK", "READ",   "WRITE",
    "CREATE",  "MKDIR",       "SYM_LINK", "MKNODE", "REMOVE",   "RMDIR",    "RENAME", "LINK",
    "READDIR", "READDIRPLUS", "FSSTAT",   "FSINFO", "PATHINFO", "COMMIT",
};

const char *nfs_v3_opname(uint32_t proc)
{
    if (proc < sizeof v3_ops / sizeof v3_ops[0]) {
        return v3_ops[proc];
    }
    return "ILLEGAL";
}

/* NFSv4.x operation numbers 3..71 (RFC 7530, 8881, 7862). */
static const char *const v4_ops[] = {
    "ACCESS",
    "CLOSE",
    "COMMIT",
    "CREATE",
    "DELEGPURGE",
    "DELEGRETURN",
    "GETATTR",
    "GETFH",
    "LINK",
    "LOCK",
    "LOCKT",
    "LOCKU",
    "LOOKUP",
    "LOOKUPP",
    "NVERIFY",
    "OPEN",
    "OPENATTR",
    "OPEN_CONFIRM",
    "OPEN_DOWNGRADE",
    "PUTFH",
    "PUTPUBFH",
    "PUTROOTFH",
    "READ",
    "READDIR",
    "READLINK",
    "REMOVE",
    "RENAME",
    "RENEW",
    "RESTOREFH",
    "SAVEFH",
    "SECINFO",
    "SETATTR",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "VERIFY",
    "WRITE",
    "RELEASE_LOCKOWNER",
    "BACKCHANNEL_CTL",
    "BIND_CONN_TO_SESSION",
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "DESTROY_SESSION",
    "FREE_STATEID",
    "GET_DIR_DELEGATION",
    "GETDEVICEINFO",
    "GETDEVICELIST",
    "LAYOUTCOMMIT",
    "LAYOUTGET",
    "LAYOUTRETURN",
    "SECINFO_NO_NAME",
    "SEQUENCE",
    "SET_SSV",
    "TEST_STATEID",
    "WANT_DELEGATION",
    "DESTROY_CLIENTID",
    "RECLAIM_COMPLETE",
    "ALLOCATE",
    "COPY",
    "COPY_NOTIFY",
    "DEALLOCATE",
    "IO_ADVISE",
    "LAYOUTERROR",
    "LAYOUTSTATS",
    "OFFLOAD_CANCEL",
    "OFFLOAD_STATUS",
    "READ_PLUS",
    "SEEK",
    "WRITE_SAME",
    "CLONE",
};

#define V4_FIRST 3u
#define V4_ILLEGAL 10044u

enum {
    OP_GETATTR = 9,
    OP_GETFH = 10,
    OP_LOOKUP = 15,
    OP_LOOKUPP = 16,
    OP_NVERIFY = 17,
    OP_PUTFH = 22,
    OP_PUTPUBFH = 23,
    OP_PUTROOTFH = 24,
    OP_RENEW = 30,
    OP_RESTOREFH = 31,
    OP_SAVEFH = 32,
    OP_SECINFO = 33,
    OP_VERIFY = 37,
    OP_SEQUENCE = 53,
};

const char *nfs_v4_opname(uint32_t op)
{
    if (op >= V4_FIRST && op - V4_FIRST < sizeof v4_ops / sizeof v4_ops[0]) {
        return v4_ops[op - V4_FIRST];
    }
    if (op == V4_ILLEGAL) {
        return "ILLEGAL";
    }
    return NULL;
}

/* Helper operations that prepare the main one; every other known operation
 * (READLINK included) is "first class" and ends the search. */
static bool v4_helper(uint32_t op)
{
    switch (op) {
    case OP_GETATTR:
    case OP_GETFH:
    case OP_LOOKUP:
    case OP_LOOKUPP:
    case OP_NVERIFY:
    case OP_PUTFH:
    case OP_PUTPUBFH:
    case OP_PUTROOTFH:
    case OP_RENEW:
    case OP_RESTOREFH:
    case OP_SAVEFH:
    case OP_SECINFO:
    case OP_VERIFY:
    case OP_SEQUENCE:
    case V4_ILLEGAL:
        return true;
    default:
        return false;
    }
}

/* Skips a helper's arguments so that the next operation can be read. */
static void v4_skip_args(uint32_t op, struct pb_rd *r)
{
    switch (op) {
    case OP_GETATTR:
        x_skip_u32_vector(r); /* attr request bitmap */
        break;
    case OP_LOOKUP:
    case OP_PUTFH:
    case OP_SECINFO:
        (void)x_opaque(r); /* component name / file handle */
        break;
    case OP_NVERIFY:
    case OP_VERIFY:
        x_skip_u32_vector(r); /* fattr4: bitmap + attr values */
        (void)x_opaque(r);
        break;
    case OP_RENEW:
        pb_rd_skip(r, 8); /* clientid */
        break;
    case OP_SEQUENCE:
        x_fixed_opaque(r, 16); /* sessionid */
        pb_rd_skip(r, 16);     /* sequenceid, slotid, highest slotid, cachethis */
        break;
    default:
        break; /* no arguments */
    }
}

/* The main operation of a COMPOUND: NULL when the bytes end too early. */
static const char *v4_main_op(struct pb_rd *r)
{
    const char *name = "ILLEGAL";
    uint32_t count = x_u32(r);
    if (!pb_rd_ok(r)) {
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t op = x_u32(r);
        if (!pb_rd_ok(r)) {
            return NULL;
        }
        const char *n = nfs_v4_opname(op);
        if (n == NULL) {
            return "ILLEGAL";
        }
        name = n;
        if (!v4_helper(op)) {
            break;
        }
        v4_skip_args(op, r);
        if (!pb_rd_ok(r)) {
            return NULL;
        }
        /* every iteration consumed at least the opcode word, so the loop
           ends when the bytes do (the next read fails) */
    }
    return name;
}

static const struct {
    uint32_t code;
    const char *name;
} nfs_stats[] = {
    {0, "NFS_OK"},         {1, "NFSERR_PERM"},         {2, "NFSERR_NOENT"},
    {5, "NFSERR_IO"},      {6, "NFSERR_NXIO"},         {13, "NFSERR_ACCESS"},
    {17, "NFSERR_EXIST"},  {18, "NFSERR_XDEV"},        {19, "NFSERR_NODEV"},
    {20, "NFSERR_NOTDIR"}, {21, "NFSERR_ISDIR"},       {22, "NFSERR_INVAL"},
    {27, "NFSERR_FBIG"},   {28, "NFSERR_NOSPC"},       {30, "NFSERR_ROFS"},
    {31, "NFSERR_MLINK"},  {63, "NFSERR_NAMETOOLONG"}, {66, "NFSERR_NOTEMPTY"},
    {69, "NFSERR_DQUOT"},  {70, "NFSERR_STALE"},       {71, "NFSERR_REMOTE"},
    {99, "NFSERR_WFLUSH"},
};

/* 10001.. in order (NFSv3 and NFSv4.x error codes). */
static const char *const nfs_stats_10k[] = {
    "NFSERR_BADHANDLE",
    "NFSERR_NOT_SYNC",
    "NFSERR_BAD_COOKIE",
    "NFSERR_NOTSUPP",
    "NFSERR_TOOSMALL",
    "NFSERR_SERVERFAULT",
    "NFSERR_BADTYPE",
    "NFSERR_DELAY",
    "NFSERR_SAME",
    "NFSERR_DENIED",
    "NFSERR_EXPIRED",
    "NFSERR_LOCKED",
    "NFSERR_GRACE",
    "NFSERR_FHEXPIRED",
    "NFSERR_SHARE_DENIED",
    "NFSERR_WRONGSEC",
    "NFSERR_CLID_INUSE",
    "NFSERR_RESOURCE",
    "NFSERR_MOVED",
    "NFSERR_NOFILEHANDLE",
    "NFSERR_MINOR_VERS_MISMATCH",
    "NFSERR_STALE_CLIENTID",
    "NFSERR_STALE_STATEID",
    "NFSERR_OLD_STATEID",
    "NFSERR_BAD_STATEID",
    "NFSERR_BAD_SEQID",
    "NFSERR_NOT_SAME",
    "NFSERR_LOCK_RANGE",
    "NFSERR_SYMLINK",
    "NFSERR_RESTOREFH",
    "NFSERR_LEASE_MOVED",
    "NFSERR_ATTRNOTSUPP",
    "NFSERR_NO_GRACE",
    "NFSERR_RECLAIM_BAD",
    "NFSERR_RECLAIM_CONFLICT",
    "NFSERR_BADXDR",
    "NFSERR_LOCKS_HELD",
    "NFSERR_OPENMODE",
    "NFSERR_BADOWNER",
    "NFSERR_BADCHAR",
    "NFSERR_BADNAME",
    "NFSERR_BAD_RANGE",
    "NFSERR_LOCK_NOTSUPP",
    "NFSERR_OP_ILLEGAL",
    "NFSERR_DEADLOCK",
    "NFSERR_FILE_OPEN",
    "NFSERR_ADMIN_REVOKED",
    "NFSERR_CB_PATH_DOWN",
    "NFSERR_BADIOMODE",
    "NFSERR_BADLAYOUT",
    "NFSERR_BAD_SESSION_DIGEST",
    "NFSERR_BADSESSION",
    "NFSERR_BADSLOT",
    "NFSERR_COMPLETE_ALREADY",
    "NFSERR_CONN_NOT_BOUND_TO_SESSION",
    "NFSERR_DELEG_ALREADY_WANTED",
    "NFSERR_BACK_CHAN_BUSY",
    "NFSERR_LAYOUTTRYLATER",
    "NFSERR_LAYOUTUNAVAILABLE",
    "NFSERR_NOMATCHING_LAYOUT",
    "NFSERR_RECALLCONFLICT",
    "NFSERR_UNKNOWN_LAYOUTTYPE",
    "NFSERR_SEQ_MISORDERED",
    "NFSERR_SEQUENCE_POS",
    "NFSERR_REQ_TOO_BIG",
    "NFSERR_REP_TOO_BIG",
    "NFSERR_REP_TOO_BIG_TO_CACHE",
    "NFSERR_RETRY_UNCACHED_REP",
    "NFSERR_UNSAFE_COMPOUND",
    "NFSERR_TOO_MANY_OPS",
    "NFSERR_OP_NOT_IN_SESSION",
    "NFSERR_HASH_ALG_UNSUPP",
    "NFSERR_CONN_BINDING_NOT_ENFORCED",
    "NFSERR_CLIENTID_BUSY",
    "NFSERR_PNFS_IO_HOLE",
    "NFSERR_SEQ_FALSE_RETRY",
    "NFSERR_BAD_HIGH_SLOT",
    "NFSERR_DEADSESSION",
    "NFSERR_ENCR_ALG_UNSUPP",
    "NFSERR_PNFS_NO_LAYOUT",
    "NFSERR_NOT_ONLY_OP",
    "NFSERR_WRONG_CRED",
    "NFSERR_WRONG_TYPE",
    "NFSERR_DIRDELEG_UNAVAIL",
    "NFSERR_REJECT_DELEG",
    "NFSERR_RETURNCONFLICT",
};

const char *nfs_status_name(uint32_t stat)
{
    for (size_t i = 0; i < sizeof nfs_stats / sizeof nfs_stats[0]; i++) {
        if (nfs_stats[i].code == stat) {
            return nfs_stats[i].name;
        }
    }
    if (stat >= 10001u && stat - 10001u < sizeof nfs_stats_10k / sizeof nfs_stats_10k[0]) {
        return nfs_stats_10k[stat - 10001u];
    }
    return "";
}

static const char *const accept_names[] = {
    "success", "prog_unavail", "prog_mismatch", "proc_unavail", "garbage_args", "system_err",
};

const char *rpc_accept_name(uint32_t stat)
{
    if (stat < sizeof accept_names / sizeof accept_names[0]) {
        return accept_names[stat];
    }
    return NULL;
}

/* ---- records ---- */

bool rpc_head(const uint8_t *p, size_t n, struct rpc_head *h)
{
    struct pb_rd r = pb_rd_make(p, n);
    h->xid = pb_rd_be32(&r);
    h->msg_type = pb_rd_be32(&r);
    return pb_rd_ok(&r);
}

static bool parse_unix_cred(struct pb_slice body, struct nfs_call *c)
{
    struct pb_rd r = pb_rd_make(body.ptr, body.len);
    c->stamp = x_u32(&r);
    c->machine = x_opaque(&r);
    c->uid = x_u32(&r);
    c->gid = x_u32(&r);
    uint32_t n = x_u32(&r);
    if (!pb_rd_ok(&r) || c->machine.len > NFS_MAX_MACHINE || n > NFS_MAX_GIDS) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        c->gids[i] = x_u32(&r);
    }
    c->ngids = n;
    c->has_cred = true;
    return pb_rd_ok(&r);
}

enum nfs_result nfs_parse_call(const uint8_t *p, size_t n, struct nfs_call *c)
{
    memset(c, 0, sizeof *c);
    struct pb_rd r = pb_rd_make(p, n);
    c->xid = x_u32(&r);
    (void)x_u32(&r); /* msg_type, checked by the caller */
    (void)x_u32(&r); /* rpcvers */
    uint32_t prog = x_u32(&r);
    if (!pb_rd_ok(&r)) {
        return NFS_MALFORMED;
    }
    if (prog != NFS_PROGRAM) {
        return NFS_NOT_NFS;
    }
    c->vers = x_u32(&r);
    c->proc = x_u32(&r);
    c->auth_flavor = x_u32(&r);
    struct pb_slice cred = x_opaque(&r);
    if (!pb_rd_ok(&r)) {
        return NFS_MALFORMED;
    }
    if (c->auth_flavor == 1 && !parse_unix_cred(cred, c)) {
        return NFS_MALFORMED;
    }
    (void)x_u32(&r); /* verifier flavor */
    (void)x_opaque(&r);
    if (!pb_rd_ok(&r)) {
        return NFS_MALFORMED;
    }
    if (c->vers == 3) {
        c->opcode = nfs_v3_opname(c->proc);
    } else if (c->vers == 4) {
        if (c->proc == 0) {
            c->opcode = "NULL";
        } else if (c->proc == 1) {
            c->tag = x_opaque(&r);
            c->minor_version = x_u32(&r);
            if (!pb_rd_ok(&r) || c->tag.len > NFS_MAX_TAG) {
                return NFS_MALFORMED;
            }
            c->has_v4 = true;
            c->opcode = v4_main_op(&r);
            if (c->opcode == NULL) {
                return NFS_MALFORMED;
            }
        }
    }
    return NFS_OK_MSG;
}

enum nfs_result nfs_parse_reply(const uint8_t *p, size_t n, struct nfs_reply *rp)
{
    memset(rp, 0, sizeof *rp);
    struct pb_rd r = pb_rd_make(p, n);
    rp->xid = x_u32(&r);
    (void)x_u32(&r); /* msg_type */
    rp->reply_stat = x_u32(&r);
    if (!pb_rd_ok(&r)) {
        return NFS_MALFORMED;
    }
    if (rp->reply_stat != 0) {
        return NFS_OK_MSG;
    }
    (void)x_u32(&r); /* verifier flavor */
    (void)x_opaque(&r);
    if (!pb_rd_ok(&r)) {
        return NFS_MALFORMED;
    }
    rp->accept_stat = x_u32(&r);
    rp->has_accept = pb_rd_ok(&r);
    if (rp->has_accept) {
        rp->nfs_stat = x_u32(&r);
        rp->has_nfs_stat = pb_rd_ok(&r);
    }
    return NFS_OK_MSG;
}

bool rpc_plausible_record(const uint8_t *p, size_t n, size_t max_size)
{
    struct pb_rd r = pb_rd_make(p, n);
    uint32_t mark = pb_rd_be32(&r);
    (void)pb_rd_be32(&r); /* xid */
    uint32_t type = pb_rd_be32(&r);
    uint32_t third = pb_rd_be32(&r);
    if (!pb_rd_ok(&r)) {
        return false;
    }
    uint32_t size = mark & RPC_SIZE_MASK;
    if (!(mark & RPC_LAST_FRAG) || size < 12 || size > max_size) {
        return false;
    }
    if (type == RPC_CALL) {
        return third == 2; /* RPC version */
    }
    return type == RPC_REPLY && third <= 1; /* MSG_ACCEPTED / MSG_DENIED */
}
