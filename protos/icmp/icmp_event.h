/* SPDX-License-Identifier: Apache-2.0
 * protos/icmp/icmp_event.h - the Packetbeat "icmp" transaction event.
 */
#ifndef PB_ICMP_EVENT_H
#define PB_ICMP_EVENT_H

#include <jansson.h>

#include "beat/event.h"
#include <stdbool.h>
#include <stdint.h>

#include "beat/net.h"
#include "icmp_parse.h"

#define ICMP_NOTE_DUPLICATE                                                                        \
    "Another request with the same Id and Seq was received so this request was closed without "    \
    "receiving a response."
#define ICMP_NOTE_ORPHAN_REQUEST "Request was received without an associated response."
#define ICMP_NOTE_ORPHAN_RESPONSE "Response was received without an associated request."

#define ICMP_MAX_NOTES 4u

struct icmp_side {
    bool present;
    struct icmp_msg msg;
    uint64_t ts_ns;
};

struct icmp_event_in {
    uint8_t version;
    struct pb_ip src, dst; /* requester -> responder */
    uint64_t ts_ns;        /* transaction time: @timestamp */
    struct icmp_side req, resp;
    const char *notes[ICMP_MAX_NOTES];
    size_t nnotes;
};

/* Packetbeat's status rule: Error when there is no request, when either
 * side is an error type, or when a request that needs a reply got none. */
bool icmp_tx_has_error(const struct icmp_event_in *in);

/* A new event, NULL on allocation failure. */
pb_event *icmp_event_build(const struct icmp_event_in *in);

#endif
