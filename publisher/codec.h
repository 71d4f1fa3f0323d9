/* SPDX-License-Identifier: Apache-2.0
 * publisher/codec.h - event serialisation for outputs (libbeat's
 * outputs/codec): `codec.json` (pretty, escape_html) and `codec.format`
 * (string). JSON is written as Beats writes it: "@timestamp" first, then
 * "@metadata", then the other fields; no escaping of '/', UTF-8 kept as is,
 * '<', '>' and '&' escaped only with escape_html; U+2028/U+2029 escaped;
 * floats in Go's shortest 'g' form; pretty printing indents by two spaces.
 */
#ifndef PB_CODEC_H
#define PB_CODEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"

/* One serialised event may not exceed this (a larger one is dropped and
   counted by the output, as a failed encode is in libbeat). */
#define PB_CODEC_MAX_EVENT_BYTES (64u * 1024u * 1024u)

enum pb_codec_kind {
    PB_CODEC_JSON,
    PB_CODEC_FORMAT,
};

struct pb_codec {
    enum pb_codec_kind kind;
    bool pretty;      /* codec.json.pretty, default false */
    bool escape_html; /* codec.json.escape_html, default false */
    char *format;     /* owned: codec.format.string */
};

/* A growable byte buffer, capped at PB_CODEC_MAX_EVENT_BYTES past its
   length at the start of an encode. A fixed buffer writes into room it
   borrows (p, cap): it never grows nor frees it, and what does not fit
   fails with -PB_ELIMIT. */
struct pb_codec_buf {
    char *p; /* owned unless fixed */
    size_t len;
    size_t cap;
    bool fixed;
};

/* Reads the `codec` section below an output's node (NULL or absent: json
   with defaults). legacy_pretty is used when no codec section is set (the
   console output's old `pretty` key). 0 or -PB_EINVAL with a message. */
int pb_codec_init(struct pb_codec *c, const struct pb_cfg *out_node, bool legacy_pretty, char *err,
                  size_t errlen);
void pb_codec_fini(struct pb_codec *c);

/* Appends the encoded event (no trailing newline) to b. 0, -PB_ENOMEM, or
   -PB_ELIMIT when the event exceeds the cap; on failure b->len is what it
   was before the call. */
int pb_codec_encode(const struct pb_codec *c, const json_t *ev, struct pb_codec_buf *b);

/* Any JSON value, Beats style (see above; objects keep their key order,
   except that the top level puts @timestamp and @metadata first). */
int pb_json_encode(const json_t *v, bool pretty, bool escape_html, struct pb_codec_buf *b);

/* pb_json_encode(v, false, false, b), and *exact tells whether decoding
   the result (json_loadb with JSON_ALLOW_NUL) gives back the same values,
   so that encoding that tree again, with any codec, writes what encoding
   v would: false when an invalid UTF-8 byte was replaced, a float was
   written without a '.' or exponent (it would read back as an integer) or
   as null, or a key holds a NUL byte. */
int pb_json_encode_exact(const json_t *v, struct pb_codec_buf *b, bool *exact);
/* An event (either form) as pb_json_encode writes its tree; *exact as
 * pb_json_encode_exact sets it (exact may be NULL). */
int pb_ev_encode(const pb_event *ev, bool pretty, bool escape_html, struct pb_codec_buf *b,
                 bool *exact);
/* An event still in its arena as a bulk document: compact, every field
 * but @metadata, @timestamp first. -PB_EINVAL for a tree-backed event. */
int pb_ev_encode_doc(const pb_event *ev, bool escape_html, struct pb_codec_buf *b);

/* Where two top-level members of an event's compact encoding lie, as
 * offsets from its first byte: @metadata with the comma before it (or,
 * first in the object, without one: then a comma follows), and agent with
 * the comma before it. A length of 0: not written, or not known. */
struct pb_enc_spans {
    uint32_t meta_at, meta_len;
    uint32_t agent_at, agent_len;
};
/* pb_ev_encode in the compact form without escape_html, noting *sp. */
int pb_ev_encode_spans(const pb_event *ev, struct pb_codec_buf *b, bool *exact,
                       struct pb_enc_spans *sp);

/* The json codec with its defaults (compact, no escape_html): what
   pb_batch_event_json holds. */
bool pb_codec_is_plain_json(const struct pb_codec *c);

int pb_codec_buf_append(struct pb_codec_buf *b, const void *p, size_t n);
void pb_codec_buf_free(struct pb_codec_buf *b);

#endif
