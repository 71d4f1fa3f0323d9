/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/kafka/kafka_util.h - pure helpers of the Kafka output:
 * the `version` table (Sarama's supported versions, as libbeat accepts
 * them), what a version implies on the wire, libbeat's partition hashing,
 * and the ApiVersions (v0) request/response used to check that the broker
 * speaks the configured version. No I/O, no librdkafka.
 */
#ifndef PB_KAFKA_UTIL_H
#define PB_KAFKA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_kafka_version {
    int v[4]; /* 0.10.2.1 -> {0,10,2,1}; 2.1.0 -> {2,1,0,0} */
};

/* Parses a `version` value. 0 when it is one libbeat accepts (Sarama's
 * SupportedVersions), -PB_EINVAL otherwise. */
int pb_kafka_version_parse(const char *s, struct pb_kafka_version *out);
/* a < b: negative, equal: 0, a > b: positive. */
int pb_kafka_version_cmp(const struct pb_kafka_version *a, int maj, int min, int patch);
/* The Produce request version a client configured for this Kafka version
 * sends (Sarama: 0 up to 0.9, 2 for 0.10, 3 for 0.11, 5 for 1.x, 6 for
 * 2.0, 7 from 2.1). */
int pb_kafka_version_produce(const struct pb_kafka_version *v);
/* The oldest Kafka release whose brokers accept Produce version p, as a
 * hint for messages ("0.10.0", "2.1.0", ...). */
const char *pb_kafka_version_for_produce(int p);

/* FNV-1a 32 (Go's hash/fnv New32a) over p, continuing from h (start with
 * PB_FNV32_INIT). */
#define PB_FNV32_INIT 2166136261u
uint32_t pb_kafka_fnv1a(uint32_t h, const void *p, size_t n);
/* libbeat's hash2Partition: int32(hash), made positive, modulo n. */
int32_t pb_kafka_hash2partition(uint32_t hash, int32_t n);

/* ApiVersions v0 request with correlation id corr into buf; the bytes
 * written, 0 if cap is too small. */
size_t pb_kafka_apiversions_req(uint8_t *buf, size_t cap, int32_t corr, const char *client_id);

struct pb_kafka_api_range {
    int16_t min, max;
    bool present;
};

/* Parses an ApiVersions v0 response body (after the 4-byte size): fills
 * ranges for Produce (0), Metadata (3). 0 ok, -PB_EPROTO on malformed
 * bytes or a wrong correlation id, or the broker's error code (> 0). */
int pb_kafka_apiversions_parse(const uint8_t *p, size_t len, int32_t corr,
                               struct pb_kafka_api_range *produce,
                               struct pb_kafka_api_range *metadata);

#endif
