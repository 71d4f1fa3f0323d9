/* SPDX-License-Identifier: Apache-2.0
 * protos/mongodb/mongodb_bson.h - BSON documents decoded the way Packetbeat
 * sees them (mgo's bson.Unmarshal into a map, then Go's encoding/json):
 * the same corruption checks and error texts, map semantics (a repeated key
 * keeps its last value), JSON with sorted keys, Go's float, time, base64
 * and string escaping rules. Pure: no I/O, no globals.
 * Spec: https://bsonspec.org/spec.html
 */
#ifndef PB_MONGODB_BSON_H
#define PB_MONGODB_BSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protos/common/strutil.h"

/* Deepest nesting accepted (mgo recurses without a bound). */
#define BSON_MAX_DEPTH 128u

/* One top-level element of a decoded document. */
struct bson_entry {
    const uint8_t *key; /* borrowed from the document bytes */
    size_t klen;
    uint8_t kind;
    bool dead;       /* a later element has the same key */
    bool json_ok;    /* its value can be rendered as JSON */
    size_t frag_off; /* its value's JSON in bson_doc.frags */
    size_t frag_len;
    const uint8_t *str; /* kind 0x02: the string bytes (borrowed) */
    size_t str_len;
    double dbl; /* kind 0x01 */
};

struct bson_doc {
    struct bson_entry *e; /* owned */
    size_t n, cap;
    struct pb_bytes frags; /* owned: the values' JSON text */
};

/* Decodes the document p[0..len) (exactly the bytes Packetbeat hands to
 * bson.Unmarshal). 0, or -PB_EPROTO with mgo's message in err ("Document
 * is corrupted", ...), -PB_ENOMEM, -PB_ELIMIT (too deep). On success the
 * entries borrow p; on failure doc is empty. */
int bson_decode(const uint8_t *p, size_t len, struct bson_doc *doc, char *err, size_t errlen);
void bson_doc_free(struct bson_doc *doc);

/* The live entry with this key (map lookup), NULL when absent. */
const struct bson_entry *bson_get(const struct bson_doc *doc, const char *key);
/* Marks the entry with this key deleted (Go's delete on the map). */
void bson_del(struct bson_doc *doc, const char *key);
/* Number of live keys. */
size_t bson_len(const struct bson_doc *doc);

/* JSON of the whole map (keys sorted), without `skip` when not NULL.
 * Appends to out; false when Go's json.Marshal would fail (NaN, a time
 * outside years 0..9999) or on ENOMEM, out then unchanged. */
bool bson_doc_json(const struct bson_doc *doc, const char *skip, struct pb_bytes *out);
/* JSON of one entry's value. */
bool bson_entry_json(const struct bson_doc *doc, const struct bson_entry *e, struct pb_bytes *out);

/* Go's strconv/json float text ("1", "0.5", "1e+21", "1e-7"); false for
 * NaN and infinities. buf >= 32 bytes. */
bool bson_go_float(double f, char *buf, size_t cap);

#endif
