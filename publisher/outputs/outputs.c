/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/outputs.c - the registry of outputs: one line per
 * output type. Adding an output is one file in this folder plus one line
 * in pb_outputs[] (and its name removed from unimplemented[]).
 */
#include <stddef.h>
#include <string.h>

#include "publisher/output.h"

extern const struct pb_output_ops pb_output_console;
extern const struct pb_output_ops pb_output_elasticsearch;
extern const struct pb_output_ops pb_output_file;
extern const struct pb_output_ops pb_output_logstash;
extern const struct pb_output_ops pb_output_kafka;
extern const struct pb_output_ops pb_output_redis;

static const struct pb_output_ops *const pb_outputs[] = {
    &pb_output_console,
    &pb_output_elasticsearch,
    &pb_output_file,
    &pb_output_logstash,
    &pb_output_kafka,
    &pb_output_redis,
};

/* libbeat output types this build does not have yet. */
static const char *const unimplemented[] = {
    "discard",
};

#define PB_MAX_TEST_OUTPUTS 8
static const struct pb_output_ops *test_outputs[PB_MAX_TEST_OUTPUTS];

void pb_output_register_test(const struct pb_output_ops *ops)
{
    if (ops == NULL) {
        memset(test_outputs, 0, sizeof test_outputs);
        return;
    }
    for (size_t i = 0; i < PB_MAX_TEST_OUTPUTS; i++) {
        if (test_outputs[i] == NULL || test_outputs[i] == ops) {
            test_outputs[i] = ops;
            return;
        }
    }
}

const struct pb_output_ops *pb_output_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < PB_MAX_TEST_OUTPUTS; i++) {
        if (test_outputs[i] != NULL && strcmp(test_outputs[i]->name, name) == 0) {
            return test_outputs[i];
        }
    }
    for (size_t i = 0; i < sizeof pb_outputs / sizeof pb_outputs[0]; i++) {
        if (strcmp(pb_outputs[i]->name, name) == 0) {
            return pb_outputs[i];
        }
    }
    return NULL;
}

bool pb_output_known_unimplemented(const char *name)
{
    if (name == NULL || pb_output_find(name) != NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof unimplemented / sizeof unimplemented[0]; i++) {
        if (strcmp(unimplemented[i], name) == 0) {
            return true;
        }
    }
    return false;
}
