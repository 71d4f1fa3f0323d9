/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz.h - the libFuzzer entry point every target defines. The
 * same sources build two ways: with clang and -DPB_FUZZ=ON as libFuzzer
 * binaries (scripts/fuzz.sh), and otherwise as replay binaries that run
 * each file of a corpus once (replay_main.c), which ctest runs on every
 * build.
 */
#ifndef PB_FUZZ_H
#define PB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "beat/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Only critical log lines: a fuzzer prints nothing else. */
static inline void fuzz_quiet(void)
{
    struct pb_log_opts o = {.level = PB_LOG_CRITICAL, .to_stderr = true};
    pb_log_setup(&o);
}

#endif
