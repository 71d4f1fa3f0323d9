/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_es_bulk.c - the Elasticsearch output's _bulk response
 * parser (publisher/outputs/elasticsearch/es.h: es_bulk_parse) and the
 * classification of each item's status, on whatever a server answers.
 *
 * Input: byte 0 the number of items the request carried (0..255); the rest
 * is the response body. Also checks that es_bulk_parse's reading of the
 * usual answer agrees with the tree parser (es_bulk_parse_tree).
 */
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "fuzz.h"
#include "publisher/outputs/elasticsearch/es.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t n = data[0];
    size_t len = size - 1;
    char *body = malloc(len > 0 ? len : 1); /* exactly sized: no NUL after it */
    if (body == NULL) {
        return 0;
    }
    memcpy(body, data + 1, len);
    int status[256];
    char *msg[256];
    char err[256];
    for (int with_msg = 0; with_msg < 2; with_msg++) {
        memset(status, 0x55, sizeof status);
        int got = es_bulk_parse(len > 0 ? body : NULL, len, n, status,
                                with_msg ? msg : NULL, err, sizeof err);
        if (got != -PB_EPROTO && (got < 0 || (size_t)got > n)) {
            __builtin_trap(); /* outside the contract */
        }
        if (got == -PB_EPROTO && memchr(err, '\0', sizeof err) == NULL) {
            __builtin_trap(); /* the reason must be a string */
        }
        for (size_t i = 0; i < n; i++) {
            if (got == -PB_EPROTO && status[i] != 0) {
                __builtin_trap(); /* every status stays 0 */
            }
            (void)es_item_classify(status[i]);
            if (with_msg) {
                if (msg[i] != NULL && got == -PB_EPROTO) {
                    __builtin_trap();
                }
                if (msg[i] != NULL) {
                    (void)strlen(msg[i]);
                }
                pb_free(msg[i]);
            }
        }
    }
    /* the reading of the usual answer gives what the tree parser gives */
    int tstatus[256];
    char terr[256];
    int got = es_bulk_parse(len > 0 ? body : NULL, len, n, status, NULL, err, sizeof err);
    int tgot = es_bulk_parse_tree(len > 0 ? body : NULL, len, n, tstatus, NULL, terr, sizeof terr);
    if (got != tgot || memcmp(status, tstatus, n * sizeof *status) != 0) {
        __builtin_trap();
    }
    free(body);
    return 0;
}
