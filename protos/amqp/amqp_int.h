/* SPDX-License-Identifier: Apache-2.0
 * protos/amqp/amqp_int.h - types shared by the amqp plugin files (amqp.c:
 * streams, the transaction slot and its timers; amqp_event.c: the event).
 */
#ifndef PB_AMQP_INT_H
#define PB_AMQP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amqp_parse.h"
#include "protos/proto.h"

#define AMQP_MAX_TX_NOTES (AMQP_MAX_NOTES + 1)

struct amqp_conn;

/* Packetbeat's amqpTransaction: one per connection at a time. */
struct amqp_tx {
    struct amqp_tx *prev, *next; /* timer list (when timed) */
    bool timed;                  /* in the plugin's timer list */
    uint64_t timer_at;           /* wall clock: close-ok wait ends */
    uint64_t put_at;             /* wall clock: entered the connection's slot */
    struct amqp_conn *owner;     /* borrowed; NULL once detached from its connection */
    struct pb_tuple tuple;       /* the connection, client -> server */
    bool reversed;               /* source is the server side (a request it sent) */
    uint64_t ts_ns, end_ns;
    const char *method; /* static */
    char *request;      /* owned, NULL means "" */
    size_t request_len;
    bool response_ok;  /* response text "OK" (else "") */
    uint8_t *body;     /* owned copy of the message body shown */
    size_t body_kept;  /* bytes in body */
    uint64_t body_len; /* length Packetbeat would show (may exceed body_kept) */
    bool to_string;    /* body is text (content-type has text/json) */
    uint64_t bytes_in, bytes_out;
    json_t *amqp; /* owned reference; may be shared with a message */
    const char *notes[AMQP_MAX_TX_NOTES];
    size_t nnotes;
};

/* The transaction event Packetbeat publishes for t. NULL on ENOMEM. */
pb_event *amqp_tx_event(const struct pb_proto *p, const struct amqp_tx *t);

/* isError: basic.return, basic.reject, or a close with reply code >= 300. */
bool amqp_tx_is_error(const struct amqp_tx *t);
bool amqp_tx_is_close_error(const struct amqp_tx *t);

#endif
