/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_redis_reply.c - the Redis output's RESP reply reader
 * (publisher/outputs/redis/resp.h: pb_resp_parse) over a server's byte
 * stream: replies taken one after another off the front, each result
 * checked against the contract, and every strict prefix of a short reply
 * must ask for more bytes rather than give a different answer.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "publisher/outputs/redis/resp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check(const uint8_t *buf, size_t len, long got, const struct pb_resp_reply *r)
{
    if (got < -1 || got > (long)len) {
        __builtin_trap();
    }
    if (got <= 0) {
        return;
    }
    switch (r->type) {
    case PB_RESP_SIMPLE:
    case PB_RESP_ERROR:
    case PB_RESP_BULK:
        if (r->str == NULL || (const uint8_t *)r->str < buf ||
            (const uint8_t *)r->str + r->len > buf + got) {
            __builtin_trap(); /* the payload lies inside what the reply took */
        }
        break;
    case PB_RESP_INT:
    case PB_RESP_ARRAY:
    case PB_RESP_NIL:
        break;
    default:
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size > 0 ? size : 1); /* exactly sized */
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    size_t off = 0;
    bool first = true;
    while (off < size) {
        struct pb_resp_reply r;
        memset(&r, 0, sizeof r);
        long got = pb_resp_parse(buf + off, size - off, &r);
        check(buf + off, size - off, got, &r);
        if (got <= 0) {
            break;
        }
        if (first && got <= 512) {
            for (long cut = 0; cut < got; cut++) {
                struct pb_resp_reply p;
                long pg = pb_resp_parse(buf + off, (size_t)cut, &p);
                if (pg > 0) {
                    __builtin_trap(); /* a prefix cannot hold the whole reply */
                }
            }
        }
        first = false;
        off += (size_t)got;
    }
    free(buf);
    return 0;
}
