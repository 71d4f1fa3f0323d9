/* SPDX-License-Identifier: Apache-2.0
 * protos/nfs/nfs_parse.h - pure parsers for ONC-RPC (RFC 5531) records that
 * carry NFS (program 100003): the call header with its credentials and the
 * NFS request summary (v3 procedure name; v4 COMPOUND tag, minor version and
 * main operation), and the reply header with the accept and NFS status.
 * No I/O, no globals, no allocation.
 */
#ifndef PB_NFS_PARSE_H
#define PB_NFS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/rd.h"

#define NFS_PROGRAM 100003u
#define RPC_CALL 0u
#define RPC_REPLY 1u
/* Record marking: the high bit flags the last fragment, the rest is its size. */
#define RPC_LAST_FRAG 0x80000000u
#define RPC_SIZE_MASK 0x7fffffffu

/* Caps on what a call may carry into an event (RFC 5531 allows 255 bytes of
 * machine name and 16 group ids; larger values are treated as malformed). */
#define NFS_MAX_MACHINE 1024u
#define NFS_MAX_GIDS 64u
#define NFS_MAX_TAG 1024u

/* Where an RPC message starts: xid and direction. */
struct rpc_head {
    uint32_t xid;
    uint32_t msg_type; /* RPC_CALL, RPC_REPLY or anything else */
};

struct nfs_call {
    uint32_t xid;
    uint32_t vers, proc;
    uint32_t auth_flavor;
    bool has_cred; /* AUTH_UNIX credentials decoded */
    uint32_t stamp, uid, gid;
    struct pb_slice machine; /* borrowed from the record */
    uint32_t ngids;
    uint32_t gids[NFS_MAX_GIDS];
    /* NFS request summary */
    const char *opcode;  /* static string, NULL: none */
    bool has_v4;         /* COMPOUND: tag and minor_version present */
    struct pb_slice tag; /* borrowed */
    uint32_t minor_version;
};

struct nfs_reply {
    uint32_t xid;
    uint32_t reply_stat;  /* 0: accepted */
    uint32_t accept_stat; /* valid when reply_stat == 0 and has_accept */
    bool has_accept;
    uint32_t nfs_stat; /* the first word of the results */
    bool has_nfs_stat;
};

enum nfs_result {
    NFS_OK_MSG = 0,  /* parsed */
    NFS_NOT_NFS = 1, /* a well-formed call for another program */
    NFS_MALFORMED = -1,
};

/* xid and message type of a record (8 bytes); false when shorter. */
bool rpc_head(const uint8_t *p, size_t n, struct rpc_head *h);
/* Parses a call record (without its record mark). */
enum nfs_result nfs_parse_call(const uint8_t *p, size_t n, struct nfs_call *c);
/* Parses a reply record up to the first word of the results. A reply that
 * is not accepted (reply_stat != 0) stops after reply_stat. */
enum nfs_result nfs_parse_reply(const uint8_t *p, size_t n, struct nfs_reply *r);

/* Names used in events. */
const char *nfs_v3_opname(uint32_t proc);   /* "ILLEGAL" past the table */
const char *nfs_v4_opname(uint32_t op);     /* NULL when unknown */
const char *nfs_status_name(uint32_t stat); /* "" when unknown (Go map miss) */
const char *rpc_accept_name(uint32_t stat); /* NULL past the table */

/* True when the bytes at p look like the start of an RPC record (mark with
 * the last-fragment bit, a plausible size, a call of RPC version 2 or a
 * reply): used to find the next record after a gap. */
bool rpc_plausible_record(const uint8_t *p, size_t n, size_t max_size);

#endif
