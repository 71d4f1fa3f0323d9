/* SPDX-License-Identifier: Apache-2.0
 * protos/sip/sip_parse.h - a pure SIP message parser (RFC 3261) with
 * Packetbeat 8.x's rules: start line, headers (compact names expanded), the
 * body framed by Content-Length; and the helpers that split URIs and
 * From/To/Contact values the way Packetbeat does. Everything it returns is
 * borrowed from the input bytes.
 */
#ifndef PB_SIP_PARSE_H
#define PB_SIP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/rd.h"

/* Bounds: headers of one message, and Via values kept per message. */
#define SIP_MAX_HEADER_BYTES (64u * 1024u)
#define SIP_MAX_VIA 32u

struct sip_msg {
    bool is_request;
    struct pb_slice method, uri; /* requests */
    uint16_t status_code;        /* responses */
    struct pb_slice phrase;      /* responses */
    uint8_t vmajor, vminor;      /* as Packetbeat reads them: digit - '0' */
    bool has_content_length;
    int64_t content_length;
    int64_t max_forwards;
    struct pb_slice content_type, user_agent, to, from, cseq, call_id;
    bool has_allow, has_supported;
    struct pb_slice allow, supported; /* raw values (last header wins) */
    struct pb_slice via[SIP_MAX_VIA]; /* distinct values in order */
    size_t nvia;
    /* first value of headers looked at by name */
    bool has_contact, has_authorization, has_content_encoding, has_accept, has_p_assoc;
    struct pb_slice authorization, accept, p_assoc;
    struct pb_slice body;
    size_t len; /* bytes of the message from the input start (leading CRLFs included) */
};

enum sip_result {
    SIP_DONE, /* a whole message */
    SIP_MORE, /* incomplete */
    SIP_BAD,  /* not SIP (or a header block past SIP_MAX_HEADER_BYTES) */
};

/* Parses one message at the start of p[0..n). */
enum sip_result sip_parse(const uint8_t *p, size_t n, struct sip_msg *m);

/* A SIP URI split as Packetbeat's parseURI does (including its quirks, e.g.
 * a leading '<' stays in the scheme). Absent parts have ptr == NULL. */
struct sip_uri {
    struct pb_slice scheme, username, host;
    int64_t port;                    /* 0: none or not a number */
    struct pb_slice line, transport; /* ;line= and ;transport= parameters */
};
void sip_parse_uri(struct pb_slice uri, struct sip_uri *u);

/* From/To/Contact: display name, URI, and the tag/expires/q parameters.
 * False when Packetbeat would fail on the value ('>' before '<'). */
struct sip_addr {
    struct pb_slice display, uri;
    struct pb_slice tag, expires, q;
    bool has_tag, has_expires, has_q;
};
bool sip_parse_addr(struct pb_slice v, struct sip_addr *a);

/* Byte helpers shared with the event code. */
struct pb_slice sip_trim(struct pb_slice s); /* ASCII white space */
struct pb_slice sip_trim_set(struct pb_slice s, const char *set);
bool sip_atoi_strict(struct pb_slice s, int64_t *out); /* Go strconv.Atoi */

#endif
