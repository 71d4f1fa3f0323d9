/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_event.h - builds the Packetbeat "dns" transaction event
 * from a decoded request and/or response.
 */
#ifndef PB_DNS_EVENT_H
#define PB_DNS_EVENT_H

#include <jansson.h>

#include "beat/event.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/net.h"
#include "dns_parse.h"

/* Notes Packetbeat attaches to transactions (error.message). */
#define DNS_NOTE_NON_DNS "Message's data could not be decoded as DNS"
#define DNS_NOTE_DUPLICATE                                                                         \
    "Another query with the same DNS ID from this client was received so this query was "          \
    "closed without receiving a response"
#define DNS_NOTE_NO_RESPONSE "No response to this query was received"
#define DNS_NOTE_ORPHANED "Response: received without an associated Query"
#define DNS_NOTE_TOO_LARGE "Non-EDNS packet has size greater than 512"
#define DNS_NOTE_TOO_LARGE_RESP "Response: Non-EDNS packet has size greater than 512"
#define DNS_NOTE_EDNS_NO_SUPPORT "Responder does not support EDNS"
#define DNS_NOTE_EDNS_UNEXPECTED "Unexpected EDNS answer"
#define DNS_NOTE_ZERO_LENGTH "Message's length was set to zero"
#define DNS_NOTE_INCOMPLETE "Message's data is incomplete"

#define DNS_MAX_NOTES 8u

struct dns_event_in {
    const struct pb_tuple *tuple; /* client -> server; proto TCP or UDP */
    const struct dns_msg *req;    /* NULL when absent */
    const struct dns_msg *resp;   /* NULL when absent */
    uint64_t req_ts_ns, resp_ts_ns;
    const char *notes[DNS_MAX_NOTES];
    size_t nnotes;
    bool include_authorities;
    bool include_additionals;
    bool send_request;
    bool send_response;
    struct dns_psl_memo *psl_memo; /* borrowed: the worker's, or NULL */
};

/* A new event, NULL on allocation failure. */
pb_event *dns_event_build(const struct dns_event_in *in);

/* dns.* of m as its compact JSON text, written in one pass into buf (cap
 * bytes, and buf holds DNS_SECTION_SLACK bytes more, written on the way):
 * its length, or 0 when it cannot be written so (a string that needs
 * escaping, no room), and the event builder writes the section member by
 * member instead. auth, add: include_authorities and include_additionals;
 * memo: for the public suffix lookups (NULL: none). */
#define DNS_SECTION_SLACK 256u
size_t dns_section_json(const struct dns_msg *m, bool auth, bool add, struct dns_psl_memo *memo,
                        char *buf, size_t cap);

/* Tests: false makes dns_event_build write dns.* member by member only
 * (the two ways give the same text). */
extern bool dns_event_one_pass;

/* Packetbeat's one-line text of a message (send_request/send_response).
 * Owned; NULL on allocation failure. */
char *dns_msg_to_string(const struct dns_msg *m);

#endif
