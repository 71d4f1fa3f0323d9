/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_int.h - types shared by the thrift plugin files
 * (thrift.c: streams and correlation, thrift_event.c: the JSON event).
 */
#ifndef PB_THRIFT_INT_H
#define PB_THRIFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"
#include "protos/proto.h"
#include "thrift_idl.h"
#include "thrift_parse.h"

/* The plugin's configuration (p->priv). */
struct thrift_priv {
    struct thrift_fmt fmt;
    bool capture_reply;
    bool framed;
    struct thrift_idl *idl; /* owned; NULL without idl_files */
};

/* One field of a message's top-level struct. */
struct thrift_field {
    uint16_t id;
    char *value; /* owned, formatted */
    size_t len;
};

/* One request or reply. */
struct thrift_msg {
    uint64_t ts_ns;  /* time of the packet holding its first byte */
    enum pb_dir dir; /* direction it travelled */
    bool is_request;
    bool has_exception;
    bool gap_note; /* "Packet loss while capturing the response" */
    uint32_t type;
    uint32_t seqid;
    uint32_t frame_size; /* frame header, or the message's wire size */
    size_t start;        /* parse offset the message began at */
    struct pb_bytes method;
    struct thrift_field *fields; /* owned */
    size_t nfields, fcap;
    struct pb_bytes params;
    struct pb_bytes return_value;
    struct pb_bytes exceptions;
    const char *service; /* borrowed from the IDL; NULL none */
};

/* A request waiting for its reply (one per connection, as Packetbeat keys
 * its transactions by the TCP tuple). */
struct thrift_tx {
    struct pb_tuple tuple;      /* request sender -> receiver */
    uint64_t last_access_ns;    /* wall clock, for the transaction timeout */
    struct thrift_msg *request; /* owned */
    struct thrift_msg *reply;   /* owned, NULL none */
};

void thrift_msg_free(struct thrift_msg *m);

/* Builds the transaction event (request and reply borrowed). NULL on
 * ENOMEM. */
pb_event *thrift_tx_event(const struct pb_proto *p, const struct thrift_tx *tx);

#endif
