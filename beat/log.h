/* SPDX-License-Identifier: Apache-2.0
 * beat/log.h - libbeat-style logging: levels, debug selectors (-d), output to
 * stderr (-e) or files under path.logs. Lines are ECS JSON as Beats 8 print.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum pb_log_level {
    PB_LOG_DEBUG = 0,
    PB_LOG_INFO = 1,
    PB_LOG_WARN = 2,
    PB_LOG_ERROR = 3,
    PB_LOG_CRITICAL = 4,
};

struct pb_log_opts {
    enum pb_log_level level;
    const char *selectors; /* comma separated, "*" for all; borrowed (copied) */
    bool to_stderr;
    const char *logs_path; /* directory for the log file when !to_stderr; NULL: none */
    const char *name;      /* logging.files.name, default "packetbeat" */
    bool json;             /* ECS JSON lines (default) or plain text */
};

/* (Re)configures logging; before the first call, info and up go to stderr. */
int pb_log_setup(const struct pb_log_opts *o);
void pb_log_close(void);

bool pb_log_enabled(enum pb_log_level lvl, const char *selector);
void pb_log(enum pb_log_level lvl, const char *selector, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with extra top-level fields on the JSON line (an object whose
 * members are added after "message"; borrowed). Plain-text logs append them
 * as JSON. */
void pb_log_fields(enum pb_log_level lvl, const char *selector, const json_t *fields,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define pb_debug(sel, ...)                                                                         \
    do {                                                                                           \
        if (pb_log_enabled(PB_LOG_DEBUG, (sel))) {                                                 \
            pb_log(PB_LOG_DEBUG, (sel), __VA_ARGS__);                                              \
        }                                                                                          \
    } while (0)
#define pb_info(sel, ...) pb_log(PB_LOG_INFO, (sel), __VA_ARGS__)
#define pb_warn(sel, ...) pb_log(PB_LOG_WARN, (sel), __VA_ARGS__)
#define pb_error(sel, ...) pb_log(PB_LOG_ERROR, (sel), __VA_ARGS__)

#endif
