/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_config.c - the YAML config loader, ${VAR} expansion and
 * typed accessors, then protocol setup from whatever tree came out.
 */
#include <string.h>

#include "beat/cfg.h"
#include "fuzz.h"
#include "protos/protos.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void emit(void *ctx, struct pb_proto *p, pb_event *ev)
{
    (void)ctx;
    (void)p;
    pb_ev_free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct pb_cfg *root = pb_cfg_parse((const char *)data, size, "fuzz.yml", err, sizeof err);
    if (root == NULL) {
        return 0;
    }
    const char *s = NULL;
    int64_t i = 0;
    (void)pb_cfg_str(root, "output.file.path", "", &s);
    (void)pb_cfg_int(root, "queue.mem.events", 0, &i);
    struct pb_protos *ps = calloc(1, sizeof *ps);
    if (ps != NULL && pb_protos_setup(ps, root, emit, NULL, err, sizeof err) == 0) {
        pb_protos_shutdown(ps);
    }
    if (ps != NULL) {
        pb_protos_free(ps);
        free(ps);
    }
    pb_cfg_free(root);
    return 0;
}
