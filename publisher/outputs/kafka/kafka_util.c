/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/kafka/kafka_util.c - see kafka_util.h.
 *
 * ApiVersions v0 on the wire (big endian):
 *   request:  size:i32 | api_key=18:i16 | api_version=0:i16 | corr:i32 |
 *             client_id:(len:i16, bytes)
 *   response: size:i32 | corr:i32 | error:i16 | n:i32 |
 *             n x (api_key:i16, min:i16, max:i16)
 */
#include "publisher/outputs/kafka/kafka_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/err.h"
#include "beat/rd.h"

/* Sarama's SupportedVersions (what libbeat 8.x accepts for `version`). */
static const char *const supported[] = {
    "0.8.2.0",  "0.8.2.1",  "0.8.2.2",  "0.9.0.0",  "0.9.0.1",  "0.10.0.0", "0.10.0.1", "0.10.1.0",
    "0.10.1.1", "0.10.2.0", "0.10.2.1", "0.10.2.2", "0.11.0.0", "0.11.0.1", "0.11.0.2", "1.0.0",
    "1.0.1",    "1.0.2",    "1.1.0",    "1.1.1",    "2.0.0",    "2.0.1",    "2.1.0",    "2.1.1",
    "2.2.0",    "2.2.1",    "2.2.2",    "2.3.0",    "2.3.1",    "2.4.0",    "2.4.1",    "2.5.0",
    "2.5.1",    "2.6.0",    "2.6.1",    "2.6.2",    "2.6.3",    "2.7.0",    "2.7.1",    "2.7.2",
    "2.8.0",    "2.8.1",    "2.8.2",    "3.0.0",    "3.0.1",    "3.0.2",    "3.1.0",    "3.1.1",
    "3.1.2",    "3.2.0",    "3.2.1",    "3.2.2",    "3.2.3",    "3.3.0",    "3.3.1",    "3.3.2",
    "3.4.0",    "3.4.1",    "3.5.0",    "3.5.1",    "3.5.2",    "3.6.0",
};

int pb_kafka_version_parse(const char *s, struct pb_kafka_version *out)
{
    bool ok = false;
    memset(out, 0, sizeof *out);
    if (s == NULL) {
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++) {
        if (strcmp(s, supported[i]) == 0) {
            ok = true;
            break;
        }
    }
    if (!ok) {
        return -PB_EINVAL;
    }
    const char *p = s;
    for (int i = 0; i < 4 && *p != '\0'; i++) {
        out->v[i] = (int)strtol(p, (char **)&p, 10);
        if (*p == '.') {
            p++;
        }
    }
    return 0;
}

int pb_kafka_version_cmp(const struct pb_kafka_version *a, int maj, int min, int patch)
{
    const int b[3] = {maj, min, patch};
    for (int i = 0; i < 3; i++) {
        if (a->v[i] != b[i]) {
            return a->v[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

int pb_kafka_version_produce(const struct pb_kafka_version *v)
{
    if (pb_kafka_version_cmp(v, 2, 1, 0) >= 0) {
        return 7;
    }
    if (pb_kafka_version_cmp(v, 2, 0, 0) >= 0) {
        return 6;
    }
    if (pb_kafka_version_cmp(v, 1, 0, 0) >= 0) {
        return 5;
    }
    if (pb_kafka_version_cmp(v, 0, 11, 0) >= 0) {
        return 3;
    }
    if (pb_kafka_version_cmp(v, 0, 10, 0) >= 0) {
        return 2;
    }
    return 0;
}

const char *pb_kafka_version_for_produce(int p)
{
    static const char *const names[] = {"0.8.2.0", "0.9.0.0", "0.10.0.0", "0.11.0.0", "1.0.0",
                                        "1.0.0",   "2.0.0",   "2.1.0",    "2.4.0",    "2.8.0"};
    if (p < 0) {
        return "0.8.2.0";
    }
    if (p >= (int)(sizeof names / sizeof names[0])) {
        return "2.8.0";
    }
    return names[p];
}

uint32_t pb_kafka_fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

int32_t pb_kafka_hash2partition(uint32_t hash, int32_t n)
{
    if (n <= 0) {
        return 0;
    }
    int64_t p = (int32_t)hash;
    if (p < 0) {
        p = -p;
    }
    return (int32_t)(p % n);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

size_t pb_kafka_apiversions_req(uint8_t *buf, size_t cap, int32_t corr, const char *client_id)
{
    size_t cl = client_id != NULL ? strlen(client_id) : 0;
    if (cl > 0x7fff) {
        cl = 0x7fff;
    }
    size_t total = 4 + 2 + 2 + 4 + 2 + cl;
    if (cap < total) {
        return 0;
    }
    put32(buf, (uint32_t)(total - 4));
    put16(buf + 4, 18);
    put16(buf + 6, 0);
    put32(buf + 8, (uint32_t)corr);
    put16(buf + 12, (uint16_t)cl);
    if (cl > 0) {
        memcpy(buf + 14, client_id, cl);
    }
    return total;
}

int pb_kafka_apiversions_parse(const uint8_t *p, size_t len, int32_t corr,
                               struct pb_kafka_api_range *produce,
                               struct pb_kafka_api_range *metadata)
{
    struct pb_rd r = pb_rd_make(p, len);
    memset(produce, 0, sizeof *produce);
    memset(metadata, 0, sizeof *metadata);
    int32_t c = (int32_t)pb_rd_be32(&r);
    int16_t err = (int16_t)pb_rd_be16(&r);
    int32_t n = (int32_t)pb_rd_be32(&r);
    if (!pb_rd_ok(&r) || c != corr) {
        return -PB_EPROTO;
    }
    if (err != 0) {
        return err > 0 ? err : -PB_EPROTO;
    }
    if (n < 0 || (size_t)n > pb_rd_left(&r) / 6) {
        return -PB_EPROTO;
    }
    for (int32_t i = 0; i < n; i++) {
        int16_t key = (int16_t)pb_rd_be16(&r);
        int16_t mn = (int16_t)pb_rd_be16(&r);
        int16_t mx = (int16_t)pb_rd_be16(&r);
        struct pb_kafka_api_range *dst = key == 0 ? produce : key == 3 ? metadata : NULL;
        if (dst != NULL) {
            dst->min = mn;
            dst->max = mx;
            dst->present = true;
        }
    }
    return pb_rd_ok(&r) ? 0 : -PB_EPROTO;
}
