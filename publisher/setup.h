/* SPDX-License-Identifier: Apache-2.0
 * publisher/setup.h - `packetbeat setup`: index management (composable
 * index template, ILM policy or DSL lifecycle, data stream) through the
 * Elasticsearch output's connection settings, and dashboards.
 */
#ifndef PB_SETUP_H
#define PB_SETUP_H

#include <stddef.h>

#include "beat/cfg.h"

enum {
    PB_SETUP_INDEX = 1u << 0,      /* --index-management */
    PB_SETUP_PIPELINES = 1u << 1,  /* --pipelines */
    PB_SETUP_DASHBOARDS = 1u << 2, /* --dashboards */
};

/* Runs the parts in `what` (0: all, as `setup` without flags does), printing
 * Packetbeat's progress lines to stdout. 0, or negative with the error
 * (without "Exiting: ") in err. */
int pb_setup_run(const struct pb_cfg *root, unsigned what, char *err, size_t errlen);

#endif
