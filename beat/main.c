/* SPDX-License-Identifier: Apache-2.0
 * beat/main.c - the packetbeat binary: command line as Packetbeat's (Go-style
 * flags before or after the subcommand), config loading, and the one place
 * that wires capture, protocols, client and pipeline together.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/client.h"
#include "beat/err.h"
#include "beat/dashboards.h"
#include "beat/export.h"
#include "beat/keystore.h"
#include "beat/log.h"
#include "beat/monitoring.h"
#include "beat/privs.h"
#include "beat/procs.h"
#include "beat/replay/replay.h"
#include "beat/summary/summary.h"
#include "packet/decoder.h"
#include "packet/flows.h"
#include "packet/packet.h"
#include "packet/tcp.h"
#include "protos/protos.h"
#include "publisher/pipeline.h"
#include "publisher/setup.h"

#ifndef PB_COMMIT
#define PB_COMMIT "unknown"
#endif
#define MAX_CONFIGS 8
#define MAX_OVERRIDES 128
#define MAX_WORDS 8

enum flag_kind { FLAG_BOOL, FLAG_STR, FLAG_INT, FLAG_LIST };

struct cli {
    const char *configs[MAX_CONFIGS];
    size_t nconfigs;
    const char *overrides[MAX_OVERRIDES];
    size_t noverrides;
    const char *debug[MAX_OVERRIDES];
    size_t ndebug;
    bool to_stderr, verbose, no_publish, topspeed, one_at_a_time;
    bool strict_perms;
    const char *file, *dump, *environment;
    const char *path_home, *path_config, *path_data, *path_logs;
    int64_t loops;
    const char *es_version, *export_dir; /* export --es.version, --dir */
    bool noilm;                          /* export template --noilm */
    const char *dash_id, *dash_folder;   /* export dashboard --id, --folder */
    bool summary;                        /* --summary: service statistics table (extension) */
    bool setup_index, setup_pipelines, setup_dashboards; /* setup --index-management ... */
    bool ks_force, ks_stdin; /* keystore --force, --stdin */
    const char *words[MAX_WORDS]; /* subcommand and its arguments */
    size_t nwords;
};

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t off; /* offset in struct cli (bool, const char *, int64_t) */
};

#define OFF(f) offsetof(struct cli, f)
#define IGNORED ((size_t)-1)

static const struct flag flags[] = {
    {"c", FLAG_LIST, OFF(configs)},
    {"E", FLAG_LIST, OFF(overrides)},
    {"d", FLAG_LIST, OFF(debug)},
    {"e", FLAG_BOOL, OFF(to_stderr)},
    {"v", FLAG_BOOL, OFF(verbose)},
    {"N", FLAG_BOOL, OFF(no_publish)},
    {"t", FLAG_BOOL, OFF(topspeed)},
    {"O", FLAG_BOOL, OFF(one_at_a_time)},
    {"I", FLAG_STR, OFF(file)},
    {"l", FLAG_INT, OFF(loops)},
    {"dump", FLAG_STR, OFF(dump)},
    {"environment", FLAG_STR, OFF(environment)},
    {"path.home", FLAG_STR, OFF(path_home)},
    {"path.config", FLAG_STR, OFF(path_config)},
    {"path.data", FLAG_STR, OFF(path_data)},
    {"path.logs", FLAG_STR, OFF(path_logs)},
    {"strict.perms", FLAG_BOOL, OFF(strict_perms)},
    {"es.version", FLAG_STR, OFF(es_version)},
    {"dir", FLAG_STR, OFF(export_dir)},
    {"noilm", FLAG_BOOL, OFF(noilm)},
    {"id", FLAG_STR, OFF(dash_id)},
    {"folder", FLAG_STR, OFF(dash_folder)},
    {"summary", FLAG_BOOL, OFF(summary)},
    {"index-management", FLAG_BOOL, OFF(setup_index)},
    {"pipelines", FLAG_BOOL, OFF(setup_pipelines)},
    {"dashboards", FLAG_BOOL, OFF(setup_dashboards)},
    {"force", FLAG_BOOL, OFF(ks_force)},
    {"stdin", FLAG_BOOL, OFF(ks_stdin)},
    {"machine-learning", FLAG_BOOL, IGNORED},
    /* accepted for compatibility, no effect */
    {"httpprof", FLAG_STR, IGNORED},
    {"cpuprofile", FLAG_STR, IGNORED},
    {"memprofile", FLAG_STR, IGNORED},
    {"systemTest", FLAG_BOOL, IGNORED},
    {"test.coverprofile", FLAG_STR, IGNORED},
    {"waitstop", FLAG_INT, IGNORED},
    {"once", FLAG_BOOL, IGNORED},
};

static void usage(FILE *f)
{
    fputs("Usage:\n"
          "  packetbeat [flags]\n"
          "  packetbeat [command]\n\n"
          "Available Commands:\n"
          "  devices     List available devices\n"
          "  export      Export current config or index template\n"
          "  help        Help about any command\n"
          "  keystore    Manage secrets keystore\n"
          "  replay      Replay captured transactions against a server (extension)\n"
          "  run         Run packetbeat\n"
          "  setup       Setup index template, dashboards and ML jobs\n"
          "  test        Test config\n"
          "  version     Show current version info\n\n"
          "Flags:\n"
          "  -E, --E setting=value      Configuration overwrite\n"
          "  -I, --I string             Read packet data from specified file\n"
          "  -N, --N                    Disable actual publishing for testing\n"
          "  -O, --O                    Read packets one at a time (press Enter)\n"
          "  -c, --c string             Configuration file, relative to path.config "
          "(default \"packetbeat.yml\")\n"
          "  -d, --d string             Enable certain debug selectors\n"
          "      --dump string          Write all captured packets to this libpcap file\n"
          "  -e, --e                    Log to stderr and disable syslog/file output\n"
          "      --environment string   set environment being ran in (default default)\n"
          "  -h, --help                 help for packetbeat\n"
          "  -l, --l int                Loop file. 0 - loop forever (default 1)\n"
          "      --path.config string   Configuration path\n"
          "      --path.data string     Data path\n"
          "      --path.home string     Home path\n"
          "      --path.logs string     Logs path\n"
          "      --summary              Print per-service statistics when done (extension)\n"
          "      --strict.perms         Strict permission checking on config files "
          "(default true)\n"
          "  -t, --t                    Read packets as fast as possible, without sleeping\n"
          "  -v, --v                    Log at INFO level\n",
          f);
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Go flag semantics: -name, --name, -name=value, -name value (non-bool);
 * flags may come before or after the subcommand; "--" ends flags. */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
    bool only_words = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_words || a[0] != '-' || a[1] == '\0') {
            if (cli->nwords < MAX_WORDS) {
                cli->words[cli->nwords++] = a;
            }
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_words = true;
            continue;
        }
        const char *name = a + 1;
        if (*name == '-') {
            name++;
        }
        if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
            usage(stdout);
            exit(0);
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct flag *f = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
            if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, name, nlen) == 0) {
                f = &flags[k];
                break;
            }
        }
        if (f == NULL) {
            fprintf(stderr, "Error: unknown flag: %s\n", a);
            usage(stderr);
            return -1;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (f->kind == FLAG_BOOL) {
            bool b = true;
            if (val != NULL && !parse_bool(val, &b)) {
                fprintf(stderr, "Error: invalid boolean value \"%s\" for -%s\n", val, f->name);
                return -1;
            }
            if (f->off != IGNORED) {
                *(bool *)((char *)cli + f->off) = b;
            }
            continue;
        }
        if (val == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "Error: flag needs an argument: -%s\n", f->name);
                return -1;
            }
            val = argv[++i];
        }
        if (f->off == IGNORED) {
            continue; /* accepted, ignored */
        }
        char *base = (char *)cli + f->off;
        switch (f->kind) {
        case FLAG_STR:
            *(const char **)base = val;
            break;
        case FLAG_INT: {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(val, &end, 0);
            if (errno != 0 || end == val || *end != '\0') {
                fprintf(stderr, "Error: invalid argument \"%s\" for -%s\n", val, f->name);
                return -1;
            }
            *(int64_t *)base = v;
            break;
        }
        case FLAG_LIST: {
            const char **arr = (const char **)base;
            size_t *n = f->off == OFF(configs)     ? &cli->nconfigs
                        : f->off == OFF(overrides) ? &cli->noverrides
                                                   : &cli->ndebug;
            size_t cap = f->off == OFF(configs) ? MAX_CONFIGS : MAX_OVERRIDES;
            if (*n >= cap) {
                fprintf(stderr, "Error: too many -%s flags\n", f->name);
                return -1;
            }
            arr[(*n)++] = val;
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* ---- paths and config ---------------------------------------------------- */

struct paths {
    char home[PATH_MAX], config[PATH_MAX], data[PATH_MAX], logs[PATH_MAX];
};

static void abs_path(const char *p, char out[PATH_MAX])
{
    if (p[0] == '/') {
        snprintf(out, PATH_MAX, "%s", p);
        return;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) {
        snprintf(cwd, sizeof cwd, ".");
    }
    if (strcmp(p, ".") == 0) {
        snprintf(out, PATH_MAX, "%s", cwd);
    } else {
        snprintf(out, PATH_MAX, "%.2048s/%.2000s", cwd, p);
    }
}

static void resolve_paths(const struct cli *cli, const struct pb_cfg *cfg, struct paths *p)
{
    const char *home = cli->path_home;
    if (home == NULL) {
        pb_cfg_str(cfg, "path.home", NULL, &home);
    }
    if (home == NULL) {
        /* libbeat: the directory of the binary's working directory */
        home = ".";
    }
    abs_path(home, p->home);
    const char *v = cli->path_config;
    if (v == NULL) {
        pb_cfg_str(cfg, "path.config", NULL, &v);
    }
    if (v != NULL) {
        abs_path(v, p->config);
    } else {
        snprintf(p->config, PATH_MAX, "%s", p->home);
    }
    v = cli->path_data;
    if (v == NULL) {
        pb_cfg_str(cfg, "path.data", NULL, &v);
    }
    if (v != NULL) {
        abs_path(v, p->data);
    } else {
        snprintf(p->data, PATH_MAX, "%.4000s/data", p->home);
    }
    v = cli->path_logs;
    if (v == NULL) {
        pb_cfg_str(cfg, "path.logs", NULL, &v);
    }
    if (v != NULL) {
        abs_path(v, p->logs);
    } else {
        snprintf(p->logs, PATH_MAX, "%.4000s/logs", p->home);
    }
}

static struct pb_cfg *load_config(const struct cli *cli, struct paths *paths)
{
    char err[1024];
    /* path.config may come from the flags only at this point */
    struct paths pre;
    resolve_paths(cli, NULL, &pre);
    struct pb_cfg *root = NULL;
    size_t n = cli->nconfigs;
    const char *def = "packetbeat.yml";
    for (size_t i = 0; i < (n ? n : 1); i++) {
        const char *c = n ? cli->configs[i] : def;
        char path[PATH_MAX];
        if (c[0] == '/') {
            snprintf(path, sizeof path, "%s", c);
        } else {
            snprintf(path, sizeof path, "%.2048s/%.2000s", pre.config, c);
        }
        if (cli->strict_perms && pb_cfg_check_perms(path, err, sizeof err) < 0) {
            fprintf(stderr, "Exiting: error loading config file: %s\n", err);
            pb_cfg_free(root);
            return NULL;
        }
        struct pb_cfg *one = pb_cfg_load_file(path, err, sizeof err);
        if (one == NULL) {
            fprintf(stderr, "Exiting: error loading config file: %s\n", err);
            pb_cfg_free(root);
            return NULL;
        }
        if (root == NULL) {
            root = one;
        } else {
            pb_cfg_merge(root, one);
        }
    }
    for (size_t i = 0; i < cli->noverrides; i++) {
        if (pb_cfg_set_override(root, cli->overrides[i], err, sizeof err) < 0) {
            fprintf(stderr, "Exiting: error loading config file: %s\n", err);
            pb_cfg_free(root);
            return NULL;
        }
    }
    resolve_paths(cli, root, paths);
    pb_cfg_set(root, "path.home", paths->home);
    pb_cfg_set(root, "path.config", paths->config);
    pb_cfg_set(root, "path.data", paths->data);
    pb_cfg_set(root, "path.logs", paths->logs);
    return root;
}

static int setup_logging(const struct cli *cli, const struct pb_cfg *root,
                         const struct paths *paths)
{
    struct pb_log_opts o = {.level = PB_LOG_INFO, .json = true, .name = "packetbeat"};
    char lerr[512];
    if (pb_log_read_cfg(root, &o, lerr, sizeof lerr) < 0) {
        fprintf(stderr, "Exiting: error initializing logging: %s\n", lerr);
        return -1;
    }
    const char *level = "info";
    bool to_stderr = false, to_files = true;
    pb_cfg_str(root, "logging.level", "info", &level);
    pb_cfg_bool(root, "logging.to_stderr", false, &to_stderr);
    pb_cfg_bool(root, "logging.to_files", true, &to_files);
    if (strcmp(level, "debug") == 0) {
        o.level = PB_LOG_DEBUG;
    } else if (strcmp(level, "warning") == 0 || strcmp(level, "warn") == 0) {
        o.level = PB_LOG_WARN;
    } else if (strcmp(level, "error") == 0) {
        o.level = PB_LOG_ERROR;
    } else if (strcmp(level, "critical") == 0) {
        o.level = PB_LOG_CRITICAL;
    }
    static char sel[1024];
    sel[0] = '\0';
    char **sels = NULL;
    size_t nsel = 0;
    if (pb_cfg_strv(root, "logging.selectors", &sels, &nsel) == 0 && sels != NULL) {
        for (size_t i = 0; i < nsel; i++) {
            size_t used = strlen(sel);
            snprintf(sel + used, sizeof sel - used, "%s%s", used ? "," : "", sels[i]);
        }
    }
    pb_cfg_strv_free(sels);
    for (size_t i = 0; i < cli->ndebug; i++) {
        size_t used = strlen(sel);
        snprintf(sel + used, sizeof sel - used, "%s%s", used ? "," : "", cli->debug[i]);
    }
    if (cli->ndebug > 0) {
        o.level = PB_LOG_DEBUG;
    }
    if (sel[0] != '\0') {
        o.selectors = sel;
    } else if (o.level == PB_LOG_DEBUG) {
        o.selectors = "*";
    }
    if (cli->verbose && o.level > PB_LOG_INFO) {
        o.level = PB_LOG_INFO;
    }
    o.to_stderr = cli->to_stderr || to_stderr || cli->verbose || cli->ndebug > 0;
    o.logs_path = (!o.to_stderr && to_files) ? paths->logs : NULL;
    return pb_log_setup(&o);
}

/* ---- run ------------------------------------------------------------------ */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct frame {
    struct pb_client *client;
    struct pb_pipeline *pipeline; /* NULL with -N */
    bool block;                   /* -I: never drop */
    /* for monitoring (read from its thread; counters only grow) */
    struct pb_capture *cap;
    struct pb_protos *protos;
    const char *output_type;
    /* at shutdown, once those are gone: what they last said */
    json_t *pb_final;
    bool have_final;
    struct pb_pipeline_stats final;
    /* service statistics (--summary, packetbeat.summary.period); its thread
       emits too, so emits are serialised while it exists */
    struct pb_summary_runner *summary;
    pthread_mutex_t emit_mu;
    /* packet workers (packetbeat.interfaces.workers > 1) emit from their
       threads: the client and its processors run under emit_mu */
    bool serial;
};

static const char *enabled_output(const struct pb_cfg *root)
{
    const struct pb_cfg *outs = pb_cfg_get(root, "output");
    size_t n = outs != NULL && outs->kind == PB_CFG_MAP ? pb_cfg_len(outs) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *sub = pb_cfg_at(outs, i);
        bool enabled = true;
        if (sub != NULL && (sub->kind == PB_CFG_MAP || sub->kind == PB_CFG_NULL) &&
            pb_cfg_bool(sub, "enabled", true, &enabled) == 0 && enabled) {
            return sub->key != NULL ? sub->key : "";
        }
    }
    return "";
}

/* Fills libbeat's pipeline and output counters and packetbeat's own
 * (capture, decoder, TCP, per protocol) for the monitoring endpoint and the
 * metrics log line. */
static void frame_stats(void *ctx, json_t *st)
{
    struct frame *fr = ctx;
    json_t *libbeat = json_object();
    if (fr->pipeline != NULL || fr->have_final) {
        struct pb_pipeline_stats ps = fr->final;
        if (!fr->have_final) {
            pb_pipeline_get_stats(fr->pipeline, &ps);
        }
        json_object_set_new(
            libbeat, "pipeline",
            json_pack("{s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "clients", (json_int_t)1,
                      "events", "active", (json_int_t)ps.active, "dropped",
                      (json_int_t)ps.dropped, "failed", (json_int_t)ps.failed, "published",
                      (json_int_t)ps.published, "retry", (json_int_t)ps.retried, "total",
                      (json_int_t)(ps.published + ps.dropped)));
        json_object_set_new(
            libbeat, "output",
            json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I}}", "type", fr->output_type, "events",
                      "acked", (json_int_t)ps.acked, "active", (json_int_t)ps.active,
                      "batches", (json_int_t)ps.batches, "failed", (json_int_t)ps.failed,
                      "total", (json_int_t)(ps.acked + ps.failed)));
    }
    json_object_set_new_nocheck(st, "libbeat", libbeat);
    if (fr->pb_final != NULL) {
        json_object_set(st, "packetbeat", fr->pb_final);
        return;
    }
    json_t *pb = json_object();
    if (fr->cap != NULL) {
        const struct pb_decode_stats *d = pb_capture_decode_stats(fr->cap);
        const struct pb_tcp_stats *t = pb_capture_tcp_stats(fr->cap);
        json_object_set_new(
            pb, "decoder",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "frames", (json_int_t)d->frames,
                      "decoded", (json_int_t)d->decoded, "unsupported",
                      (json_int_t)d->unsupported, "malformed", (json_int_t)d->malformed,
                      "truncated", (json_int_t)d->truncated, "fragments",
                      (json_int_t)d->fragments, "reassembled", (json_int_t)d->reassembled,
                      "fragments_dropped", (json_int_t)d->frag_dropped));
        json_object_set_new(
            pb, "tcp",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "segments",
                      (json_int_t)t->segments, "connections_created",
                      (json_int_t)t->conns_created, "connections_expired",
                      (json_int_t)t->conns_expired, "connections_evicted",
                      (json_int_t)t->conns_evicted, "retransmits", (json_int_t)t->retransmits,
                      "overlaps", (json_int_t)t->overlaps, "gaps", (json_int_t)t->gaps,
                      "gap_bytes", (json_int_t)t->gap_bytes, "stream_overflows",
                      (json_int_t)t->stream_overflow, "parse_drops", (json_int_t)t->parse_drops));
        /* the caps on memory (beat/limits.h): what was dropped at them */
        json_t *jt = json_object_get(pb, "tcp");
        json_object_set_new_nocheck(jt, "memory_evictions",
                                    json_integer((json_int_t)t->mem_evicted));
        json_object_set_new_nocheck(jt, "memory_drops", json_integer((json_int_t)t->mem_drops));
        json_t *jd = json_object_get(pb, "decoder");
        json_object_set_new_nocheck(jd, "fragments_evicted",
                                    json_integer((json_int_t)d->frag_evicted));
        json_object_set_new_nocheck(jd, "fragments_timed_out",
                                    json_integer((json_int_t)d->frag_timeouts));
        /* tunnels and TCP reordering (packet/tunnel.h, pb_tcp_set_reorder) */
        json_object_set_new_nocheck(jd, "tunnels", json_integer((json_int_t)d->tunnels));
        json_object_set_new_nocheck(jd, "tunnels_too_deep",
                                    json_integer((json_int_t)d->tunnel_too_deep));
        json_object_set_new_nocheck(jt, "reorder_held", json_integer((json_int_t)t->reorder_held));
        json_object_set_new_nocheck(jt, "reordered", json_integer((json_int_t)t->reordered));
        json_object_set_new_nocheck(jt, "reorder_gaps", json_integer((json_int_t)t->reorder_gaps));
        const struct pb_flows_stats *fs = pb_capture_flows_stats(fr->cap);
        if (fs != NULL) {
            json_object_set_new_nocheck(
                pb, "flows",
                json_pack("{s:I, s:I, s:I, s:I}", "created", (json_int_t)fs->created, "dropped",
                          (json_int_t)fs->dropped, "timed_out", (json_int_t)fs->timed_out, "events",
                          (json_int_t)fs->events));
        }
        /* the live sniffer and the kernel's drops: af_packet under
           Packetbeat's af_packet metric names, pcap under ours */
        struct pb_capture_sniffer_stats ss;
        if (pb_capture_sniffer_stats(fr->cap, &ss) && strcmp(ss.type, "af_packet") == 0) {
            json_object_set_new_nocheck(
                pb, "af_packet",
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "device", ss.device, "socket_packets",
                          (json_int_t)ss.received, "socket_drops", (json_int_t)ss.dropped,
                          "socket_queue_freezes", (json_int_t)ss.queue_freezes, "packets",
                          (json_int_t)ss.packets, "polls", (json_int_t)ss.polls));
        } else if (ss.type != NULL) {
            json_object_set_new(
                pb, "pcap",
                json_pack("{s:s, s:I, s:I, s:I, s:I}", "device", ss.device, "received",
                          (json_int_t)ss.received, "dropped", (json_int_t)ss.dropped, "if_dropped",
                          (json_int_t)ss.if_dropped, "packets", (json_int_t)ss.packets));
        }
    }
    if (fr->protos != NULL) {
        json_t *protos = json_object();
        for (size_t i = 0; i < fr->protos->n; i++) {
            const struct pb_proto *p = &fr->protos->list[i];
            struct pb_proto_stats ps = p->stats;
            if (fr->cap != NULL) {
                pb_capture_proto_stats(fr->cap, i, &ps); /* summed over the workers */
            }
            json_object_set_new(
                protos, p->ops->name,
                json_pack("{s:I, s:I, s:I, s:I, s:I}", "events", (json_int_t)ps.events,
                          "parse_errors", (json_int_t)ps.parse_errors, "gaps",
                          (json_int_t)ps.gaps, "unmatched", (json_int_t)ps.unmatched,
                          "dropped", (json_int_t)ps.dropped));
        }
        json_object_set_new_nocheck(pb, "protocols", protos);
    }
    json_object_set_new_nocheck(st, "packetbeat", pb);
}

static void frame_emit(void *ctx, struct pb_proto *p, pb_event *ev)
{
    struct frame *fr = ctx;
    bool locked = fr->summary != NULL || fr->serial;
    if (locked) {
        pthread_mutex_lock(&fr->emit_mu);
    }
    if (fr->summary != NULL) {
        pb_summary_runner_observe(fr->summary, ev); /* reads only */
    }
    ev = pb_client_finalize(fr->client, ev, p != NULL ? p->cfg : NULL);
    if (fr->serial) {
        /* the pipeline takes events from any thread (and encodes them
           outside its lock) */
        pthread_mutex_unlock(&fr->emit_mu);
        locked = false;
    }
    if (ev != NULL && fr->pipeline == NULL) {
        pb_ev_free(ev);
    } else if (ev != NULL) {
        pb_pipeline_publish_event(fr->pipeline, ev, fr->block);
    }
    if (locked) {
        pthread_mutex_unlock(&fr->emit_mu);
    }
}

/* pb_stage_fn: a packet thread's events gather before they are queued */
static void frame_stage(void *ctx, bool on)
{
    struct frame *fr = ctx;
    if (fr->pipeline != NULL) {
        pb_pipeline_stage(fr->pipeline, on);
    }
}

static void summary_emit(void *ctx, json_t *ev)
{
    frame_emit(ctx, NULL, pb_ev_wrap(ev));
}

static int cmd_run(const struct cli *cli, struct pb_cfg *root, const struct paths *paths)
{
    char err[1024];
    int rc = 1;
    struct pb_beat_info info;
    const char *name = NULL;
    pb_cfg_str(root, "name", NULL, &name);
    mkdir(paths->data, 0750);
    pb_beat_info_init(&info, paths->data, name);
    pb_info("beat", "Home path: [%s] Config path: [%s] Data path: [%s] Logs path: [%s]",
            paths->home, paths->config, paths->data, paths->logs);
    pb_info("beat", "Beat ID: %s", info.agent_id);

    struct frame fr = {.block = cli->file != NULL};
    struct pb_protos *protos = pb_calloc(1, sizeof *protos);
    struct pb_capture *cap = NULL;
    struct pb_procs *procs = NULL;
    struct pb_monitoring *mon = NULL;
    if (protos == NULL) {
        fprintf(stderr, "Exiting: out of memory\n");
        return 1;
    }
    fr.client = pb_client_new(root, &info, err, sizeof err);
    if (fr.client == NULL) {
        fprintf(stderr, "Exiting: %s\n", err);
        goto out;
    }
    if (!cli->no_publish) {
        fr.pipeline = pb_pipeline_new(root, err, sizeof err);
        if (fr.pipeline == NULL) {
            fprintf(stderr, "Exiting: error initializing publisher: %s\n", err);
            pb_error("beat", "error initializing publisher: %s", err);
            goto out;
        }
    }
    /* setup.dashboards.enabled: into Kibana before running, as libbeat does */
    if (pb_dashboards_load(root, false, err, sizeof err) != 0) {
        fprintf(stderr, "Exiting: %s\n", err);
        pb_error("beat", "%s", err);
        goto out;
    }
    if (cli->file != NULL) {
        pb_info("procs", "Process watcher disabled when file input is used");
    } else {
        err[0] = '\0';
        procs = pb_procs_new(root, "/proc", err, sizeof err);
        if (procs == NULL && err[0] != '\0') {
            fprintf(stderr, "Exiting: %s\n", err);
            goto out;
        }
        pb_client_set_procs(fr.client, procs);
    }
    pthread_mutex_init(&fr.emit_mu, NULL);
    fr.summary = pb_summary_runner_new(root, cli->summary, summary_emit, &fr, err, sizeof err);
    if (fr.summary == NULL && err[0] != '\0') {
        fprintf(stderr, "Exiting: %s\n", err);
        goto out;
    }
    if (pb_protos_setup(protos, root, frame_emit, &fr, err, sizeof err) < 0) {
        fprintf(stderr, "Exiting: Initializing protocol analyzers failed: %s\n", err);
        pb_error("beat", "Initializing protocol analyzers failed: %s", err);
        goto out;
    }
    struct pb_capture_opts co = {
        .file = cli->file,
        .topspeed = cli->topspeed,
        .loops = (int)cli->loops,
        .dump = cli->dump,
        .one_at_a_time = cli->one_at_a_time,
    };
    cap = pb_capture_open(root, &co, protos, frame_emit, &fr, err, sizeof err);
    if (cap == NULL) {
        fprintf(stderr, "Exiting: Initializing sniffer failed: %s\n", err);
        pb_error("beat", "Initializing sniffer failed: %s", err);
        goto out;
    }
    fr.serial = pb_capture_workers(cap) > 1;
    pb_capture_set_stage(cap, frame_stage, &fr);
    /* the capture handles are open: root is not needed any more */
    if (pb_privs_drop(root, err, sizeof err) < 0) {
        fprintf(stderr, "Exiting: %s\n", err);
        pb_error("beat", "%s", err);
        goto out;
    }
    if (fr.pipeline != NULL && pb_pipeline_start(fr.pipeline) < 0) {
        fprintf(stderr, "Exiting: could not start the output\n");
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fr.cap = cap;
    fr.protos = protos;
    fr.output_type = enabled_output(root);
    mon = pb_monitoring_start(root, &info, frame_stats, &fr, err, sizeof err);
    if (mon == NULL && err[0] != '\0') {
        fprintf(stderr, "Exiting: %s\n", err);
        pb_error("beat", "%s", err);
        goto out;
    }
    pb_info("beat", "packetbeat start running.");
    int crc = pb_capture_run(cap, &stop_flag);
    if (crc < 0 && !stop_flag) {
        pb_error("sniffer", "Sniffer main loop failed: %s", pb_strerror(crc));
    }
    rc = crc < 0 && !stop_flag ? 1 : 0;
out:
    if (mon != NULL) {
        /* no more stats reads from the monitoring thread; keep the last
           capture and protocol counters for the "Total metrics" line */
        pb_monitoring_halt(mon);
        json_t *st = json_object();
        frame_stats(&fr, st);
        fr.pb_final = json_incref(json_object_get(st, "packetbeat"));
        json_decref(st);
        fr.cap = NULL;
        fr.protos = NULL;
    }
    pb_capture_close(cap);
    pb_protos_free(protos);
    pb_free(protos);
    pb_summary_runner_finish(fr.summary); /* last summary events, before the drain */
    if (fr.pipeline != NULL) {
        int64_t timeout = 0;
        pb_cfg_duration(root, "packetbeat.shutdown_timeout", 0, &timeout);
        /* -I publishes everything it read; live capture waits shutdown_timeout */
        pb_pipeline_set_stop(fr.pipeline, &stop_flag, timeout);
        pb_pipeline_close_stats(fr.pipeline, cli->file != NULL ? -1 : timeout, &fr.final);
        fr.have_final = true;
        fr.pipeline = NULL;
    }
    /* after the pipeline drained, so that "Total metrics" counts it all */
    pb_monitoring_stop(mon);
    pb_summary_runner_print(fr.summary, stdout);
    pb_summary_runner_free(fr.summary);
    json_decref(fr.pb_final);
    pb_client_free(fr.client);
    pb_procs_free(procs);
    pb_info("beat", "packetbeat stopped.");
    return rc;
}

static int cmd_test_config(struct pb_cfg *root)
{
    char err[1024];
    struct pb_protos *protos = pb_calloc(1, sizeof *protos);
    int rc = 1;
    if (protos == NULL) {
        return 1;
    }
    if (pb_protos_setup(protos, root, NULL, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "Initializing protocol analyzers failed: %s\n", err);
        goto out;
    }
    if (pb_capture_check_filter(root, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    if (pb_capture_check_flows(root, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    struct pb_pipeline *pl = pb_pipeline_new(root, err, sizeof err);
    if (pl == NULL) {
        fprintf(stderr, "error initializing publisher: %s\n", err);
        goto out;
    }
    pb_pipeline_close(pl, 0);
    printf("Config OK\n");
    rc = 0;
out:
    pb_protos_free(protos);
    pb_free(protos);
    return rc;
}

static int cmd_version(void)
{
#if defined(__x86_64__)
    const char *arch = "amd64";
#elif defined(__aarch64__)
    const char *arch = "arm64";
#else
    const char *arch = "unknown";
#endif
    printf("packetbeat version %s (%s), libbeat %s [%s built %s]\n", PB_VERSION, arch,
           PB_VERSION, PB_COMMIT, __DATE__ " " __TIME__);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = {.strict_perms = true, .loops = 1};
    if (argc > 1 && strcmp(argv[1], "replay") == 0) {
        return pb_replay_main(argc - 1, argv + 1); /* own flags (extension) */
    }
    if (parse_cli(argc, argv, &cli) < 0) {
        return 1;
    }
    const char *cmd = cli.nwords > 0 ? cli.words[0] : "run";

    if (strcmp(cmd, "version") == 0) {
        return cmd_version();
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "devices") == 0) {
        return pb_capture_list_devices(stdout) < 0 ? 1 : 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "test") != 0 && strcmp(cmd, "export") != 0 &&
        strcmp(cmd, "setup") != 0 && strcmp(cmd, "keystore") != 0) {
        fprintf(stderr, "Error: unknown command \"%s\" for \"packetbeat\"\n"
                        "Run 'packetbeat --help' for usage.\n", cmd);
        return 1;
    }

    struct paths paths;
    if (strcmp(cmd, "keystore") == 0) {
        /* the config may name keystore secrets: the path comes from the flags */
        resolve_paths(&cli, NULL, &paths);
        char ksp[PATH_MAX];
        snprintf(ksp, sizeof ksp, "%.4000s/packetbeat.keystore", paths.data);
        return pb_keystore_cmd(ksp, cli.words + 1, cli.nwords - 1, cli.ks_force, cli.ks_stdin,
                               cli.strict_perms);
    }
    pb_keystore_install_resolver(cli.path_data, cli.path_home);
    struct pb_cfg *root = load_config(&cli, &paths);
    if (root == NULL) {
        return 1;
    }
    if (setup_logging(&cli, root, &paths) < 0) {
        pb_cfg_free(root);
        return 1;
    }
    int rc = 1;
    if (strcmp(cmd, "run") == 0) {
        rc = cmd_run(&cli, root, &paths);
    } else if (strcmp(cmd, "test") == 0) {
        const char *what = cli.nwords > 1 ? cli.words[1] : "";
        if (strcmp(what, "config") == 0) {
            rc = cmd_test_config(root);
        } else if (strcmp(what, "output") == 0) {
            char err[1024];
            rc = pb_pipeline_test_output(root, err, sizeof err) < 0 ? 1 : 0;
            /* outputs that print libbeat's step report themselves leave err empty */
            if (rc != 0 && err[0] != '\0') {
                fprintf(stderr, "%s\n", err);
            }
        } else {
            fprintf(stderr, "Usage: packetbeat test [config|output]\n");
        }
    } else if (strcmp(cmd, "export") == 0) {
        const char *what = cli.nwords > 1 ? cli.words[1] : "";
        if (strcmp(what, "config") == 0) {
            char *y = pb_cfg_to_yaml(root);
            if (y != NULL) {
                fputs(y, stdout);
                pb_free(y);
                rc = 0;
            }
        } else if (strcmp(what, "template") == 0 || strcmp(what, "ilm-policy") == 0 ||
                   strcmp(what, "index-pattern") == 0 || strcmp(what, "dashboard") == 0) {
            struct pb_export_opts eo = {cli.es_version, cli.export_dir, cli.noilm, cli.dash_id,
                                        cli.dash_folder};
            rc = pb_export_run(root, what, &eo, stdout, stderr);
        } else {
            fprintf(stderr, "Error: export %s is not supported yet\n", what);
        }
    } else if (strcmp(cmd, "setup") == 0) {
        char err[4096];
        unsigned what = (cli.setup_index ? PB_SETUP_INDEX : 0u) |
                        (cli.setup_pipelines ? PB_SETUP_PIPELINES : 0u) |
                        (cli.setup_dashboards ? PB_SETUP_DASHBOARDS : 0u);
        rc = pb_setup_run(root, what, err, sizeof err) < 0 ? 1 : 0;
        if (rc != 0) {
            fprintf(stderr, "Exiting: %s\n", err);
        }
    } else {
        fprintf(stderr, "Error: %s is not supported yet\n", cmd);
    }
    pb_cfg_free(root);
    pb_log_close();
    return rc;
}
