/* SPDX-License-Identifier: Apache-2.0
 * beat/log.h - libbeat-style logging: levels, debug selectors (-d), output to
 * stderr (-e), syslog or files under path.logs. Lines are ECS JSON as Beats 8
 * print (or tab-separated text with logging.json: false).
 *
 * Files are named as libbeat's date rotator names them: <name>-YYYYMMDD.ndjson
 * for the first file of a day, then <name>-YYYYMMDD-1.ndjson, -2, ... Rotation
 * starts a new file (old ones are never renamed) when the next line would
 * pass rotateeverybytes, when `interval` ticks over, and at start-up
 * (rotateonstartup); then all but the newest `keepfiles` rotated files are
 * deleted. New files get `permissions` (default 0600).
 *
 * Lines that carry event data (pb_log_event_data: an event an output could
 * not deliver, with the error) go to a second, separate sink configured by
 * logging.event_data.*, as libbeat's event logger: files named
 * <name>-events-data-YYYYMMDD[-N].ndjson (5 MiB, 2 kept, no start-up
 * rotation) in path.logs, whatever the main log's output (-e included), or
 * stderr with logging.event_data.to_stderr. Level and selectors are the main
 * log's. The file is created by its first line.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum pb_log_level {
    PB_LOG_DEBUG = 0,
    PB_LOG_INFO = 1,
    PB_LOG_WARN = 2,
    PB_LOG_ERROR = 3,
    PB_LOG_CRITICAL = 4,
};

/* One rotating file sink: logging.files.* or logging.event_data.files.*. */
struct pb_log_files {
    const char *path;          /* files.path; NULL: pb_log_opts.logs_path */
    const char *name;          /* files.name; NULL: the sink's default name */
    uint64_t rotate_bytes;     /* rotateeverybytes; 0: the sink's default */
    unsigned keepfiles;        /* 0: the sink's default */
    unsigned permissions;      /* 0: 0600 */
    int64_t interval_ns;       /* 0: no time-based rotation */
    bool no_rotate_on_startup; /* rotateonstartup: false */
};

struct pb_log_opts {
    enum pb_log_level level;
    const char *selectors; /* comma separated, "*" for all; borrowed (copied) */
    bool to_stderr;
    const char *logs_path; /* directory for the log file when !to_stderr; NULL: none */
    const char *name;      /* the beat's name, default "packetbeat": file names, syslog */
    bool json;             /* ECS JSON lines (default) or plain text */
    /* logging.to_syslog: used when not to_stderr (before files, as libbeat) */
    bool to_syslog;
    /* logging.files.*; zero values mean libbeat's defaults (<name>, 10 MiB,
     * 7 files, rotate on start-up) */
    struct pb_log_files files;
    /* logging.event_data.*: where pb_log_event_data() lines go. stderr when
     * event_to_stderr, else files when event_to_files (their path defaults
     * to path.logs, set by pb_log_read_cfg), else nowhere. Zero values of
     * event_files mean <name>-events-data, 5 MiB, 2 files. */
    bool event_to_stderr;
    bool event_to_files;
    struct pb_log_files event_files;
};

struct pb_cfg;
/* Reads logging.json, logging.to_syslog, logging.files.* and
 * logging.event_data.* (to_stderr, to_files, files.*; files.path defaults to
 * path.logs) from the config into o (level, selectors, to_stderr and
 * logs_path are the caller's). 0, or -1 with a message naming the key in err
 * on a bad value. Strings stay borrowed from root. */
int pb_log_read_cfg(const struct pb_cfg *root, struct pb_log_opts *o, char *err, size_t errlen);
/* The file currently written ("" when not logging to a file). */
void pb_log_active_file(char *buf, size_t len);

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

/* A line that carries event data (an event, an error about one): written
 * only to the event data sink (logging.event_data.*), never to the main log,
 * with "log.type":"event" (libbeat's marker for its event logger). The
 * message may be up to PB_LOG_EVENT_DATA_MAX bytes. Level and selector are
 * checked as for pb_log. */
void pb_log_event_data(enum pb_log_level lvl, const char *selector, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
