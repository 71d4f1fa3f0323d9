/* SPDX-License-Identifier: Apache-2.0
 * protos/cassandra/cassandra_snappy.h - a bounded decoder for the snappy
 * block format (what Cassandra's native protocol compresses frame bodies
 * with), accepting and rejecting exactly what golang/snappy's Decode does.
 * Format: https://github.com/google/snappy/blob/main/format_description.txt
 */
#ifndef PB_CASSANDRA_SNAPPY_H
#define PB_CASSANDRA_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

/* Largest decoded block we produce (bytes). Snappy expands at most ~21x,
 * frame bodies are capped by the stream buffer; this bounds memory. */
#define CASS_SNAPPY_MAX_DECODED (64u * 1024u * 1024u)

/* Decodes src[0..n). 0 with *out (pb_malloc'd, owned by the caller; may be
 * non-NULL for an empty result) and *outlen; -PB_EPROTO on corrupt input,
 * -PB_ELIMIT above CASS_SNAPPY_MAX_DECODED, -PB_ENOMEM. */
int cass_snappy_decode(const uint8_t *src, size_t n, uint8_t **out, size_t *outlen);

#endif
