/* SPDX-License-Identifier: Apache-2.0
 * packet/capture.c - the sniffer: a live libpcap device or an -I file, the
 * read loop with pacing (-t, -l, -O, -dump), and per frame: decode, then TCP
 * tracking, UDP or ICMP dispatch, then the packet hook (flows).
 *
 * Timers run on the wall clock as in Packetbeat: about every 100 ms (also
 * while sleeping to pace a file) the protocols tick and idle TCP
 * connections expire. Without -t a file is replayed with its original
 * spacing and, as Packetbeat's file reader does, each packet then carries
 * the time it was delivered; with -t packets keep their pcap timestamps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/lazy/lazylib.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "afpacket.h"
#include "decoder.h"
#include "filter.h"
#include "tunnel.h"
#include "flows.h"
#include "packet.h"
#include "pcapfile.h"
#include "tcp.h"
#include "workers.h"

#define TICK_NS (100ull * 1000000ull)
#define LIVE_TIMEOUT_MS 100
#define DEFAULT_BUFFER_MB 30
#define DEVNAME_MAX 256

struct pb_capture {
    struct pb_protos *ps; /* borrowed */
    pb_emit_fn emit;      /* for flows */
    void *emit_ctx;
    pb_stage_fn stage; /* NULL: events are not staged */
    void *stage_ctx;
    bool flows;

    /* source */
    char *file; /* owned: -I */
    struct pb_pcapfile *pf;
    pcap_t *live;
    struct pb_afp *afp; /* interfaces.type: af_packet */
    bool live_nano;
    int live_fd; /* selectable fd of the live handle, or -1 */
    char device[DEVNAME_MAX];
    int linktype;
    bool topspeed;
    int loops, loops_done;
    bool one_at_a_time;

    /* -dump */
    pcap_t *dead;
    pcap_dumper_t *dumper;

    struct pb_decoder *dec;
    struct pb_tcp *tcp;
    pb_packet_hook_fn hook;
    void *hook_ctx;
    struct pb_flows *fl; /* packetbeat.flows, NULL when off */
    /* packetbeat.interfaces.workers > 1: worker 0 runs on ps, tcp and fl */
    struct pb_workers *wk;
    struct pb_tcp_stats tcp_sum; /* summed over the workers for monitoring */
    struct pb_flows_stats flows_sum;
    uint64_t flows_start; /* wall clock the flow tables start their timer at */

    uint64_t next_tick; /* monotonic ns */
    /* The frames' clock, for timeouts: the coarse monotonic clock tick()
       read last, plus the coarse wall clock's lead over it, taken each
       time a tick fires (a step of the wall clock shows within TICK_NS):
       one clock read a frame instead of two. */
    uint64_t mono_now;
    uint64_t wall_lead;
    bool anchored;      /* pacing */
    uint64_t anchor_pcap, anchor_mono, last_pcap;
    uint64_t packets;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool pb_capture_flows_enabled(const struct pb_cfg *root)
{
    return pb_flows_enabled(root);
}

int pb_capture_check_flows(const struct pb_cfg *root, char *err, size_t errlen)
{
    if (!pb_flows_enabled(root)) {
        return 0;
    }
    struct pb_flows_config fcfg;
    return pb_flows_config_read(pb_cfg_get(root, "packetbeat.flows"), &fcfg, err, errlen);
}

void pb_capture_set_packet_hook(struct pb_capture *c, pb_packet_hook_fn fn, void *ctx)
{
    c->hook = fn;
    c->hook_ctx = ctx;
    if (c->wk != NULL) {
        pb_workers_set_hook(c->wk, fn, ctx); /* called from the worker threads */
    }
}

void pb_capture_set_stage(struct pb_capture *c, pb_stage_fn fn, void *ctx)
{
    c->stage = fn;
    c->stage_ctx = ctx;
    if (c->wk != NULL) {
        pb_workers_set_stage(c->wk, fn, ctx);
    }
}

static void stage(const struct pb_capture *c, bool on)
{
    if (c->stage != NULL) {
        c->stage(c->stage_ctx, on);
    }
}

const struct pb_decode_stats *pb_capture_decode_stats(const struct pb_capture *c)
{
    return pb_decoder_stats(c->dec);
}

const struct pb_tcp_stats *pb_capture_tcp_stats(const struct pb_capture *c)
{
    if (c->wk == NULL) {
        return pb_tcp_stats(c->tcp);
    }
    struct pb_capture *m = (struct pb_capture *)c; /* the sum is a cache */
    size_t mem = 0;
    pb_workers_tcp_stats(m->wk, &m->tcp_sum, &mem);
    return &m->tcp_sum;
}

const struct pb_flows_stats *pb_capture_flows_stats(const struct pb_capture *c)
{
    if (c->fl == NULL || c->wk == NULL) {
        return c->fl != NULL ? pb_flows_stats(c->fl) : NULL;
    }
    struct pb_capture *m = (struct pb_capture *)c;
    pb_workers_flows_stats(m->wk, &m->flows_sum);
    return &m->flows_sum;
}

size_t pb_capture_tcp_memory(const struct pb_capture *c)
{
    if (c->wk == NULL) {
        return c->tcp != NULL ? pb_tcp_memory(c->tcp) : 0;
    }
    struct pb_tcp_stats st;
    size_t mem = 0;
    pb_workers_tcp_stats(c->wk, &st, &mem);
    return mem;
}

unsigned pb_capture_workers(const struct pb_capture *c)
{
    return c->wk != NULL ? pb_workers_count(c->wk) : 1;
}

void pb_capture_proto_stats(const struct pb_capture *c, size_t i, struct pb_proto_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c->wk != NULL) {
        pb_workers_proto_stats(c->wk, i, out);
    } else if (c->ps != NULL && i < c->ps->n) {
        *out = c->ps->list[i].stats;
    }
}

uint64_t pb_capture_packets(const struct pb_capture *c)
{
    return c->packets;
}

bool pb_capture_sniffer_stats(struct pb_capture *c, struct pb_capture_sniffer_stats *st)
{
    memset(st, 0, sizeof *st);
    st->packets = c->packets;
    st->device = c->device;
    if (c->afp != NULL) {
        struct pb_afp_stats as;
        pb_afp_stats(c->afp, &as);
        st->type = "af_packet";
        st->received = as.socket_packets;
        st->dropped = as.socket_drops;
        st->queue_freezes = as.socket_queue_freezes;
        st->polls = as.polls;
        return true;
    }
    if (c->live != NULL) {
        struct pcap_stat ps;
        st->type = "pcap";
        if (pcap_stats(c->live, &ps) == 0) {
            st->received = ps.ps_recv;
            st->dropped = ps.ps_drop;
            st->if_dropped = ps.ps_ifdrop;
        }
        return true;
    }
    return false;
}

/* ---- devices ---- */

/* An address as Go's net.IP prints it (IPv4-mapped IPv6 as dotted quad). */
static void addr_str(const struct sockaddr *sa, char *buf, size_t n)
{
    buf[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)n);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)n);
        } else {
            inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)n);
        }
    }
}

int pb_capture_list_devices(FILE *out)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t *devs = NULL;
    if (pb_lazy_pcap(ebuf, sizeof ebuf) != 0 || pcap_findalldevs(&devs, ebuf) != 0) {
        fprintf(stderr, "Error getting devices list: %s\n", ebuf);
        return -PB_EIO;
    }
    if (devs == NULL) {
        fprintf(out, "No devices found. You might need sudo?\n");
        return 0;
    }
    int i = 0;
    for (pcap_if_t *d = devs; d != NULL; d = d->next, i++) {
        fprintf(out, "%d: %s (%s) (", i, d->name,
                d->description != NULL && d->description[0] != '\0' ? d->description
                                                                    : "No description available");
        int naddr = 0;
        for (pcap_addr_t *a = d->addresses; a != NULL; a = a->next) {
            char ip[INET6_ADDRSTRLEN];
            if (a->addr == NULL) {
                continue;
            }
            addr_str(a->addr, ip, sizeof ip);
            if (ip[0] == '\0') {
                continue;
            }
            fprintf(out, "%s%s", naddr > 0 ? " " : "", ip);
            naddr++;
        }
        fprintf(out, "%s)\n", naddr == 0 ? "Not assigned ip address" : "");
    }
    pcap_freealldevs(devs);
    return 0;
}

/* The device of the default route: IPv4 from /proc/net/route, IPv6 from
 * /proc/net/ipv6_route (lowest metric, the first on a tie). */
static bool default_route_v4(char *out, size_t n)
{
    FILE *fp = fopen("/proc/net/route", "r");
    if (fp == NULL) {
        return false;
    }
    char line[512];
    bool found = false;
    unsigned long best = 0;
    if (fgets(line, sizeof line, fp) == NULL) { /* header */
        fclose(fp);
        return false;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        char ifname[64], dest[16], gw[16], mask[16];
        unsigned flags = 0;
        unsigned long metric = 0;
        if (sscanf(line, "%63s %15s %15s %x %*d %*d %lu %15s", ifname, dest, gw, &flags, &metric,
                   mask) != 6) {
            continue;
        }
        if (strcmp(dest, "00000000") != 0 || strcmp(mask, "00000000") != 0 || (flags & 0x1u) == 0) {
            continue;
        }
        if (!found || metric < best) {
            snprintf(out, n, "%s", ifname);
            best = metric;
            found = true;
        }
    }
    fclose(fp);
    return found;
}

static bool default_route_v6(char *out, size_t n)
{
    FILE *fp = fopen("/proc/net/ipv6_route", "r");
    if (fp == NULL) {
        return false;
    }
    char line[512];
    bool found = false;
    unsigned long best = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        char dest[40], plen[4], ifname[64];
        unsigned long metric = 0;
        unsigned flags = 0;
        if (sscanf(line, "%39s %3s %*s %*s %*s %lx %*s %*s %x %63s", dest, plen, &metric, &flags,
                   ifname) != 5) {
            continue;
        }
        if (strspn(dest, "0") != 32 || strcmp(plen, "00") != 0 || (flags & 0x1u) == 0 ||
            (flags & 0x200u) != 0 || strcmp(ifname, "lo") == 0) {
            continue;
        }
        if (!found || metric < best) {
            snprintf(out, n, "%s", ifname);
            best = metric;
            found = true;
        }
    }
    fclose(fp);
    return found;
}

static bool all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* Packetbeat's device resolution: "" is any, a number is an index in the
 * `packetbeat devices` list, default_route* the device of a default route. */
static int resolve_device(const char *name, char *out, size_t n, char *err, size_t errlen)
{
    if (name == NULL || name[0] == '\0') {
        snprintf(out, n, "any");
        return 0;
    }
    if (all_digits(name)) {
        long idx = strtol(name, NULL, 10);
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        pcap_if_t *devs = NULL;
        if (pb_lazy_pcap(ebuf, sizeof ebuf) != 0 || pcap_findalldevs(&devs, ebuf) != 0) {
            snprintf(err, errlen, "Error getting devices list: %s", ebuf);
            return -PB_EIO;
        }
        long i = 0;
        pcap_if_t *d = devs;
        for (; d != NULL && i < idx; d = d->next) {
            i++;
        }
        if (d == NULL) {
            long count = 0;
            for (pcap_if_t *e = devs; e != NULL; e = e->next) {
                count++;
            }
            snprintf(err, errlen,
                     "Couldn't understand device index %ld: Looking for device index %ld, but "
                     "there are only %ld devices",
                     idx, idx, count);
            pcap_freealldevs(devs);
            return -PB_EINVAL;
        }
        snprintf(out, n, "%s", d->name);
        pcap_freealldevs(devs);
        pb_info("sniffer", "Resolved device index %ld to device: %s", idx, out);
        return 0;
    }
    bool v4 = strcmp(name, "default_route") == 0 || strcmp(name, "default_route_ipv4") == 0;
    bool v6 = strcmp(name, "default_route") == 0 || strcmp(name, "default_route_ipv6") == 0;
    if (v4 || v6) {
        if ((v4 && default_route_v4(out, n)) || (v6 && default_route_v6(out, n))) {
            pb_info("sniffer", "Resolved %s to device: %s", name, out);
            return 0;
        }
        snprintf(err, errlen, "no %s device found: no default route", name);
        return -PB_EINVAL;
    }
    snprintf(out, n, "%s", name);
    return 0;
}

/* ---- opening ---- */

/* interfaces.type af_packet (packet/afpacket.h); fanout_group and
 * auto_promisc_mode are read here. */
static int open_afpacket(struct pb_capture *c, const struct pb_cfg *root, uint32_t snaplen,
                         uint32_t bufmb, char *err, size_t errlen)
{
    const struct pb_cfg *ifc = pb_interfaces_cfg(root);
    int64_t fanout = PB_AFP_NO_FANOUT;
    bool promisc = false;
    if (pb_cfg_int(ifc, "fanout_group", PB_AFP_NO_FANOUT, &fanout) < 0 ||
        pb_cfg_bool(ifc, "auto_promisc_mode", false, &promisc) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (pb_cfg_has(ifc, "fanout_group") && (fanout < 0 || fanout > 65535)) {
        snprintf(err, errlen,
                 "fanout_group %lld out of range [0, 65535] accessing "
                 "'packetbeat.interfaces.fanout_group'",
                 (long long)fanout);
        return -PB_EINVAL;
    }
    char *filter = pb_capture_filter(root, c->ps);
    if (filter == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    pb_debug("sniffer", "BPF filter: '%s'", filter);
    struct pb_afp_opts o = {c->device, snaplen, bufmb, (int)fanout, filter, promisc};
    c->afp = pb_afp_open(&o, err, errlen);
    pb_free(filter);
    if (c->afp == NULL) {
        return -PB_EIO;
    }
    if (fanout >= 0) {
        pb_info("sniffer", "Joined af_packet fanout group %lld", (long long)fanout);
    }
    c->linktype = pb_afp_linktype(c->afp);
    pb_info("sniffer", "Sniffer type: af_packet device: %s", c->device);
    return 0;
}

static int open_live(struct pb_capture *c, const struct pb_cfg *root, char *err, size_t errlen)
{
    const struct pb_cfg *ifc = pb_interfaces_cfg(root);
    const struct pb_cfg *list = pb_cfg_get(root, "packetbeat.interfaces");
    if (list != NULL && list->kind == PB_CFG_LIST && pb_cfg_len(list) > 1) {
        pb_warn("sniffer", "only the first of %zu packetbeat.interfaces is captured",
                pb_cfg_len(list));
    }
    const char *device = "";
    const char *type = "";
    int64_t snaplen = 0, bufmb = 0;
    if (pb_cfg_str(ifc, "device", "", &device) < 0 || pb_cfg_str(ifc, "type", "", &type) < 0 ||
        pb_cfg_int(ifc, "snaplen", PB_DEFAULT_SNAPLEN, &snaplen) < 0 ||
        pb_cfg_int(ifc, "buffer_size_mb", DEFAULT_BUFFER_MB, &bufmb) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (type == NULL || type[0] == '\0' || strcmp(type, "autodetect") == 0) {
        type = "pcap";
    }
    bool afp = strcmp(type, "af_packet") == 0;
    if (!afp && strcmp(type, "pcap") != 0) {
        snprintf(err, errlen, "Unknown sniffer type: %s", type);
        return -PB_EINVAL;
    }
    if (!afp && pb_cfg_has(ifc, "fanout_group")) {
        snprintf(err, errlen,
                 "fanout_group is only valid with af_packet type accessing "
                 "'packetbeat.interfaces'");
        return -PB_EINVAL;
    }
    if (snaplen <= 0 || snaplen > (int64_t)PB_MAX_FRAME_BYTES) {
        snaplen = snaplen <= 0 ? PB_DEFAULT_SNAPLEN : (int64_t)PB_MAX_FRAME_BYTES;
    }
    if (bufmb <= 0 || bufmb > 4096) {
        bufmb = bufmb <= 0 ? DEFAULT_BUFFER_MB : 4096;
    }
    int rc = resolve_device(device, c->device, sizeof c->device, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (afp) {
        return open_afpacket(c, root, (uint32_t)snaplen, (uint32_t)bufmb, err, errlen);
    }
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (pb_lazy_pcap(ebuf, sizeof ebuf) == 0) {
        c->live = pcap_create(c->device, ebuf);
    }
    if (c->live == NULL) {
        snprintf(err, errlen, "Error starting sniffer: %s: %s", c->device, ebuf);
        return -PB_EIO;
    }
    pcap_set_snaplen(c->live, (int)snaplen);
    pcap_set_promisc(c->live, strcmp(c->device, "any") != 0);
    pcap_set_timeout(c->live, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(c->live, (int)(bufmb * 1024 * 1024));
    if (pcap_set_tstamp_precision(c->live, PCAP_TSTAMP_PRECISION_NANO) != 0) {
        pb_debug("sniffer", "nanosecond timestamps not supported on %s", c->device);
    }
    rc = pcap_activate(c->live);
    if (rc < 0) {
        snprintf(err, errlen, "Error starting sniffer: %s: %s (%s)", c->device,
                 pcap_statustostr(rc), pcap_geterr(c->live));
        return -PB_EIO;
    }
    if (rc > 0) {
        pb_warn("sniffer", "%s: %s (%s)", c->device, pcap_statustostr(rc), pcap_geterr(c->live));
    }
    c->live_nano = pcap_get_tstamp_precision(c->live) == PCAP_TSTAMP_PRECISION_NANO;
    /* With TPACKET_V3 a blocking read waits for the first packet however long
     * that takes, so a quiet interface would never see a stop request or a
     * tick: read non-blocking and wait in our own poll() with a timeout. */
    c->live_fd = pcap_get_selectable_fd(c->live);
    if (c->live_fd >= 0 && pcap_setnonblock(c->live, 1, ebuf) != 0) {
        pb_warn("sniffer", "%s: cannot read non-blocking: %s", c->device, ebuf);
        c->live_fd = -1;
    }
    c->linktype = pcap_datalink(c->live);

    char *filter = pb_capture_filter(root, c->ps);
    if (filter == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    pb_debug("sniffer", "BPF filter: '%s'", filter);
    if (filter[0] != '\0') {
        struct bpf_program prog;
        if (pcap_compile(c->live, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "invalid filter '%s': %s", filter, pcap_geterr(c->live));
            pb_free(filter);
            return -PB_EINVAL;
        }
        rc = pcap_setfilter(c->live, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            snprintf(err, errlen, "Error setting the BPF filter '%s': %s", filter,
                     pcap_geterr(c->live));
            pb_free(filter);
            return -PB_EIO;
        }
    }
    pb_free(filter);
    pb_info("sniffer", "Sniffer type: pcap device: %s", c->device);
    return 0;
}

/* packetbeat.limits (ours, not Packetbeat's): tcp_connections and
 * tcp_memory (a size: "16MiB") override PB_MAX_TCP_CONNS and
 * PB_MAX_TCP_MEMORY. */
static int read_limits(const struct pb_cfg *root, struct pb_tcp *tcp, char *err, size_t errlen)
{
    const struct pb_cfg *lim = pb_cfg_get(root, "packetbeat.limits");
    int64_t conns = 0;
    uint64_t mem = 0;
    if (pb_cfg_int(lim, "tcp_connections", PB_MAX_TCP_CONNS, &conns) < 0 ||
        pb_cfg_size(lim, "tcp_memory", PB_MAX_TCP_MEMORY, &mem) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (conns < 1 || mem < 1) {
        snprintf(err, errlen, "%s must be >= 1 accessing 'packetbeat.limits.%s'",
                 conns < 1 ? "tcp_connections" : "tcp_memory",
                 conns < 1 ? "tcp_connections" : "tcp_memory");
        return -PB_EINVAL;
    }
    pb_tcp_set_limits(tcp, (size_t)conns, (size_t)mem);
    return 0;
}

/* packetbeat.interfaces.tcp_reorder (ours): enabled, max_bytes (a size),
 * max_segments, timeout (a duration); see pb_tcp_set_reorder. */
static int read_reorder(const struct pb_cfg *root, struct pb_tcp *tcp, char *err, size_t errlen)
{
    const struct pb_cfg *sec = pb_cfg_get(pb_interfaces_cfg(root), "tcp_reorder");
    /* off by default: a hole that never fills (a frame cut at snaplen on a
       quiet connection, a live shutdown) would hold data Packetbeat shows */
    bool on = false;
    uint64_t bytes = 0;
    int64_t segs = 0, timeout = 0;
    if (pb_cfg_bool(sec, "enabled", false, &on) < 0 ||
        pb_cfg_size(sec, "max_bytes", PB_TCP_REORDER_BYTES, &bytes) < 0 ||
        pb_cfg_int(sec, "max_segments", PB_TCP_REORDER_SEGMENTS, &segs) < 0 ||
        pb_cfg_duration(sec, "timeout", (int64_t)PB_TCP_REORDER_TIMEOUT_NS, &timeout) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (segs < 1 || segs > 65536 || timeout < 0 || bytes > PB_MAX_STREAM_BYTES) {
        snprintf(err, errlen,
                 "invalid value accessing 'packetbeat.interfaces.tcp_reorder' "
                 "(max_segments 1..65536, timeout >= 0, max_bytes <= 10MiB)");
        return -PB_EINVAL;
    }
    pb_tcp_set_reorder(tcp, on ? (size_t)bytes : 0, (unsigned)segs, (uint64_t)timeout);
    return 0;
}

/* packetbeat.interfaces.decapsulation (ours, packet/tunnel.h). */
static int read_decap(const struct pb_cfg *root, struct pb_decoder *dec, char *err, size_t errlen)
{
    struct pb_decap_cfg dc;
    if (pb_decap_config_read(pb_interfaces_cfg(root), &dc, err, errlen) < 0) {
        return -PB_EINVAL;
    }
    pb_decoder_set_decap(dec, &dc);
    return 0;
}

/* packetbeat.interfaces.workers (ours): packet worker threads; 1 (the
 * default) keeps everything on the capture thread, 0 or "auto" is one per
 * CPU; at most PB_MAX_WORKERS. */
static int read_workers(const struct pb_cfg *root, unsigned *out, char *err, size_t errlen)
{
    const struct pb_cfg *ifc = pb_interfaces_cfg(root);
    const struct pb_cfg *v = pb_cfg_get(ifc, "workers");
    *out = 1;
    if (v == NULL || v->kind == PB_CFG_NULL) {
        return 0;
    }
    int64_t n = 0;
    if (v->kind == PB_CFG_SCALAR && v->value != NULL && strcmp(v->value, "auto") == 0) {
        n = 0;
    } else if (pb_cfg_int(ifc, "workers", 1, &n) < 0 || n < 0) {
        snprintf(err, errlen,
                 "invalid value accessing 'packetbeat.interfaces.workers' (an integer >= 0 or "
                 "\"auto\")");
        return -PB_EINVAL;
    }
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? cpus : 1;
    }
    if (n > (int64_t)PB_MAX_WORKERS) {
        pb_warn("sniffer", "packetbeat.interfaces.workers: %lld is more than %u, using %u",
                (long long)n, PB_MAX_WORKERS, PB_MAX_WORKERS);
        n = PB_MAX_WORKERS;
    }
    *out = (unsigned)n;
    return 0;
}

/* Workers 1..n-1 get a tracker, protocols and a flow table of their own,
 * configured as the capture's (worker 0 borrows those). */
static int open_workers(struct pb_capture *c, const struct pb_cfg *root, unsigned n, char *err,
                        size_t errlen)
{
    struct pb_worker_parts parts[PB_MAX_WORKERS];
    memset(parts, 0, sizeof parts);
    parts[0] = (struct pb_worker_parts){.ps = c->ps, .tcp = c->tcp, .fl = c->fl, .owned = false};
    int rc = 0;
    for (unsigned i = 1; i < n && rc == 0; i++) {
        struct pb_worker_parts *p = &parts[i];
        p->owned = true;
        if (c->ps != NULL) {
            p->ps = pb_calloc(1, sizeof *p->ps);
            if (p->ps == NULL) {
                rc = -PB_ENOMEM;
                break;
            }
            rc = pb_protos_setup(p->ps, root, c->emit, c->emit_ctx, err, errlen);
            if (rc < 0) {
                break;
            }
        }
        p->tcp = pb_tcp_new(p->ps);
        if (p->tcp == NULL) {
            rc = -PB_ENOMEM;
            break;
        }
        rc = read_limits(root, p->tcp, err, errlen);
        if (rc == 0) {
            rc = read_reorder(root, p->tcp, err, errlen);
        }
        pb_tcp_set_track_empty(p->tcp, c->flows);
        if (rc == 0 && c->flows) {
            const struct pb_cfg *fsec = pb_cfg_get(root, "packetbeat.flows");
            struct pb_flows_config fcfg;
            rc = pb_flows_config_read(fsec, &fcfg, err, errlen);
            if (rc == 0) {
                /* the same start: the same timer schedule as worker 0 */
                p->fl = pb_flows_new(&fcfg, fsec, c->emit, c->emit_ctx, c->flows_start);
                rc = p->fl == NULL ? -PB_ENOMEM : 0;
            }
        }
    }
    if (rc == -PB_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    if (rc < 0) {
        for (unsigned i = 1; i < n; i++) {
            pb_worker_parts_free(&parts[i]);
        }
        return rc;
    }
    c->wk = pb_workers_new(n, parts, c->hook, c->hook_ctx, err, errlen);
    return c->wk == NULL ? -PB_ENOMEM : 0;
}

struct pb_capture *pb_capture_open(const struct pb_cfg *root, const struct pb_capture_opts *o,
                                   struct pb_protos *protos, pb_emit_fn emit, void *emit_ctx,
                                   char *err, size_t errlen)
{
    struct pb_capture *c = pb_calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ps = protos;
    c->emit = emit;
    c->emit_ctx = emit_ctx;
    c->flows = pb_flows_enabled(root);
    c->topspeed = o != NULL && o->topspeed;
    c->loops = o != NULL ? o->loops : 1;
    c->one_at_a_time = o != NULL && o->one_at_a_time;

    if (o != NULL && o->file != NULL && o->file[0] != '\0') {
        c->file = pb_strdup(o->file);
        if (c->file == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        const char *bpf = "";
        if (pb_cfg_str(pb_interfaces_cfg(root), "bpf_filter", "", &bpf) == 0 && bpf != NULL &&
            bpf[0] != '\0') {
            pb_warn("sniffer", "Packet filters are not applied to pcap files.");
        }
        c->pf = pb_pcapfile_open(c->file, err, errlen);
        if (c->pf == NULL) {
            goto fail;
        }
        c->linktype = pb_pcapfile_linktype(c->pf);
        pb_debug("sniffer", "Reading from file: %s", c->file);
    } else if (open_live(c, root, err, errlen) < 0) {
        goto fail;
    }

    c->dec = pb_decoder_new(c->linktype, err, errlen);
    if (c->dec == NULL) {
        goto fail;
    }
    if (read_decap(root, c->dec, err, errlen) < 0) {
        goto fail;
    }
    c->tcp = pb_tcp_new(protos);
    if (c->tcp == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (read_limits(root, c->tcp, err, errlen) < 0) {
        goto fail;
    }
    if (read_reorder(root, c->tcp, err, errlen) < 0) {
        goto fail;
    }
    pb_tcp_set_track_empty(c->tcp, c->flows);
    if (c->flows) {
        const struct pb_cfg *fsec = pb_cfg_get(root, "packetbeat.flows");
        struct pb_flows_config fcfg;
        if (pb_flows_config_read(fsec, &fcfg, err, errlen) < 0) {
            goto fail;
        }
        c->flows_start = pb_now_ns();
        c->fl = pb_flows_new(&fcfg, fsec, emit, emit_ctx, c->flows_start);
        if (c->fl == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }

    unsigned nworkers = 1;
    if (read_workers(root, &nworkers, err, errlen) < 0) {
        goto fail;
    }
    if (nworkers > 1 && open_workers(c, root, nworkers, err, errlen) < 0) {
        goto fail;
    }

    if (o != NULL && o->dump != NULL && o->dump[0] != '\0') {
        int dlt = c->linktype == PB_LINK_RAW ? DLT_RAW : c->linktype;
        if (pb_lazy_pcap(err, errlen) != 0) {
            goto fail;
        }
        c->dead = pcap_open_dead(dlt, (int)PB_MAX_FRAME_BYTES);
        if (c->dead == NULL) {
            snprintf(err, errlen, "%s: cannot open a pcap handle for the dump", o->dump);
            goto fail;
        }
        c->dumper = pcap_dump_open(c->dead, o->dump);
        if (c->dumper == NULL) {
            snprintf(err, errlen, "%s", pcap_geterr(c->dead));
            goto fail;
        }
    }
    return c;

fail:
    pb_capture_close(c);
    return NULL;
}

void pb_capture_close(struct pb_capture *c)
{
    if (c == NULL) {
        return;
    }
    pb_workers_free(c->wk); /* before what worker 0 borrows */
    pb_flows_free(c->fl);
    pb_tcp_free(c->tcp);
    pb_decoder_free(c->dec);
    if (c->dumper != NULL) {
        pcap_dump_close(c->dumper);
    }
    if (c->dead != NULL) {
        pcap_close(c->dead);
    }
    if (c->live != NULL || c->afp != NULL) {
        struct pb_capture_sniffer_stats st;
        pb_capture_sniffer_stats(c, &st);
        pb_info("sniffer",
                "%s on %s: %llu packets captured, %llu received by filter, %llu dropped by "
                "kernel, %llu dropped by interface, %llu queue freezes",
                st.type, c->device, (unsigned long long)st.packets, (unsigned long long)st.received,
                (unsigned long long)st.dropped, (unsigned long long)st.if_dropped,
                (unsigned long long)st.queue_freezes);
    }
    pb_afp_close(c->afp);
    if (c->live != NULL) {
        pcap_close(c->live);
    }
    pb_pcapfile_close(c->pf);
    pb_free(c->file);
    pb_free(c);
    pb_ev_tunnels_free();
}

/* ---- running ---- */

/* The clock of tick(), read for every frame: the kernel's tick is precise
 * enough for TICK_NS and costs a fraction of the precise clock. */
static uint64_t mono_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void take_wall_lead(struct pb_capture *c, uint64_t mono)
{
    c->wall_lead = pb_now_coarse_ns() - mono; /* the boot time, in effect */
}

/* The wall clock in ns as of the latest tick(), coarse. */
static uint64_t frame_now(const struct pb_capture *c)
{
    return c->mono_now + c->wall_lead;
}

/* The timers, when due: tick()'s rest, out of line. */
static __attribute__((noinline)) void tick_due(struct pb_capture *c, uint64_t mono)
{
    c->next_tick = mono + TICK_NS;
    take_wall_lead(c, mono);
    stage(c, true); /* what waited in the stage goes (a tick at the latest) */
    uint64_t now = pb_now_ns();
    if (c->wk != NULL) {
        pb_workers_tick(c->wk, now); /* in-band, after the packets handed out */
        return;
    }
    if (c->ps != NULL) {
        pb_protos_tick(c->ps, now);
    }
    pb_tcp_expire(c->tcp, now);
    pb_flows_tick(c->fl, now);
}

/* Reads the frames' clock and runs the timers when due: inlined, every
 * frame calls it. */
static inline void tick(struct pb_capture *c)
{
    uint64_t mono = mono_coarse_ns();
    c->mono_now = mono;
    if (mono >= c->next_tick) {
        tick_due(c, mono);
    }
}

static bool stopped(volatile sig_atomic_t *stop)
{
    return stop != NULL && *stop;
}

/* Sleeps until the frame stamped ts is due (the file's original spacing),
 * ticking on the way. False when asked to stop. */
static bool pace(struct pb_capture *c, uint64_t ts, volatile sig_atomic_t *stop)
{
    uint64_t mono = mono_ns();
    if (!c->anchored || ts < c->last_pcap) {
        if (c->anchored) {
            pb_warn("sniffer", "Time in pcap went backwards: %lld",
                    -(long long)(c->last_pcap - ts));
        }
        c->anchored = true;
        c->anchor_pcap = ts;
        c->anchor_mono = mono;
    }
    c->last_pcap = ts;
    uint64_t due = c->anchor_mono + (ts - c->anchor_pcap);
    while (mono < due) {
        if (stopped(stop)) {
            return false;
        }
        uint64_t wait = due - mono;
        uint64_t to_tick = c->next_tick > mono ? c->next_tick - mono : 0;
        if (wait > to_tick && to_tick > 0) {
            wait = to_tick;
        }
        if (wait > TICK_NS) {
            wait = TICK_NS;
        }
        struct timespec ts_sleep = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
        nanosleep(&ts_sleep, NULL);
        tick(c);
        mono = mono_ns();
    }
    return true;
}

/* -O: Packetbeat prints a prompt and waits for a line on stdin. */
static void wait_enter(void)
{
    fputs("Press enter to read packet\n", stdout);
    fflush(stdout);
    int ch;
    do {
        ch = getchar();
    } while (ch != '\n' && ch != EOF);
}

static void process_frame(struct pb_capture *c, const uint8_t *data, uint32_t caplen,
                          uint32_t wirelen, uint64_t ts)
{
    struct pb_decoded d;
    bool ok = pb_decode(c->dec, data, caplen, wirelen, ts, &d);
    uint64_t now = frame_now(c); /* timeouts only */
    if (c->wk != NULL) {
        pb_workers_packet(c->wk, &d, ok, now);
        return;
    }
    const struct pb_worker_parts parts = {.ps = c->ps, .tcp = c->tcp, .fl = c->fl};
    pb_worker_parts_frame(&parts, &d, ok, now, c->hook, c->hook_ctx);
}

/* Next frame from the file or the device: 1 frame, 0 nothing yet (live
 * timeout), 2 end of input, -1 error (logged). */
static int next_frame(struct pb_capture *c, const uint8_t **data, uint32_t *caplen,
                      uint32_t *wirelen, uint64_t *ts)
{
    char err[512];
    if (c->pf != NULL) {
        int rc = pb_pcapfile_next(c->pf, data, caplen, wirelen, ts, err, sizeof err);
        if (rc < 0) {
            pb_error("sniffer", "Sniffing error: %s", err);
            return -1;
        }
        if (rc > 0) {
            return 1;
        }
        c->loops_done++;
        if (c->loops > 0 && c->loops_done >= c->loops) {
            return 2;
        }
        pb_debug("sniffer", "Reopening the file");
        pb_pcapfile_close(c->pf);
        c->pf = pb_pcapfile_open(c->file, err, sizeof err);
        if (c->pf == NULL) {
            pb_error("sniffer", "Error reopening file: %s", err);
            return -1;
        }
        if (pb_pcapfile_linktype(c->pf) != c->linktype) {
            pb_error("sniffer", "Error reopening file: %s: the link type changed", c->file);
            return -1;
        }
        c->anchored = false;
        return 0;
    }
    if (c->afp != NULL) {
        struct pb_afp_frame f;
        int rc = pb_afp_next(c->afp, LIVE_TIMEOUT_MS, &f, err, sizeof err);
        if (rc < 0) {
            pb_error("sniffer", "Sniffing error: %s", err);
            return -1;
        }
        if (rc > 0) {
            *data = f.data;
            *caplen = f.caplen;
            *wirelen = f.wirelen;
            *ts = f.ts_ns;
        }
        return rc;
    }
    struct pcap_pkthdr *h = NULL;
    const u_char *d = NULL;
    int rc = pcap_next_ex(c->live, &h, &d);
    if (rc == 0) {
        if (c->live_fd >= 0) {
            struct pollfd pfd = {.fd = c->live_fd, .events = POLLIN};
            (void)poll(&pfd, 1, LIVE_TIMEOUT_MS);
        }
        return 0;
    }
    if (rc == PCAP_ERROR_BREAK) {
        return 2;
    }
    if (rc < 0) {
        pb_error("sniffer", "Sniffing error: %s", pcap_geterr(c->live));
        return -1;
    }
    *data = d;
    *caplen = h->caplen;
    *wirelen = h->len;
    uint64_t frac = (uint64_t)h->ts.tv_usec;
    *ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (c->live_nano ? frac : frac * 1000ull);
    return 1;
}

int pb_capture_run(struct pb_capture *c, volatile sig_atomic_t *stop)
{
    int status = 0;
    bool end_of_input = false;
    c->mono_now = mono_coarse_ns();
    c->next_tick = c->mono_now + TICK_NS;
    take_wall_lead(c, c->mono_now);
    if (c->wk != NULL && pb_workers_start(c->wk) < 0) {
        pb_workers_finish(c->wk, false);
        return -PB_EIO;
    }
    stage(c, true);
    while (!stopped(stop)) {
        if (c->one_at_a_time) {
            stage(c, true);
            wait_enter();
        }
        const uint8_t *data = NULL;
        uint32_t caplen = 0, wirelen = 0;
        uint64_t ts = 0;
        int rc = next_frame(c, &data, &caplen, &wirelen, &ts);
        tick(c); /* after the read, which may have waited: the frame's clock */
        if (rc == 0) {
            stage(c, true); /* nothing came in: let the staged events go */
            continue;
        }
        if (rc == 2 || rc < 0) {
            end_of_input = c->pf != NULL || c->file != NULL;
            status = rc < 0 ? -PB_EIO : 0;
            break;
        }
        if (caplen == 0) {
            continue;
        }
        if (c->file != NULL && !c->topspeed) {
            stage(c, true);
            if (!pace(c, ts, stop)) {
                break;
            }
            ts = pb_now_ns();
        }
        if (c->dumper != NULL) {
            struct pcap_pkthdr h;
            h.ts.tv_sec = (time_t)(ts / 1000000000ull);
            h.ts.tv_usec = (suseconds_t)((ts % 1000000000ull) / 1000ull);
            h.caplen = caplen;
            h.len = wirelen;
            pcap_dump((u_char *)c->dumper, &h, data);
        }
        c->packets++;
        process_frame(c, data, caplen, wirelen, ts);
    }
    if (c->dumper != NULL) {
        pcap_dump_flush(c->dumper);
    }
    if (c->wk != NULL) {
        /* each worker as below, then every shard's flows */
        pb_workers_finish(c->wk, end_of_input);
        uint64_t now = pb_now_ns();
        for (unsigned i = 0; i < pb_workers_count(c->wk); i++) {
            pb_flows_final(pb_workers_part(c->wk, i)->fl, now);
        }
        stage(c, false);
        pb_workers_refresh_stats(c->wk);
        return status;
    }
    if (end_of_input) {
        /* segments held for a hole go first, as if they had come in order */
        pb_tcp_flush(c->tcp);
        /* Packetbeat drops what is pending at the end of a file. */
        if (c->ps != NULL) {
            pb_protos_shutdown(c->ps);
        }
        pb_tcp_close_all(c->tcp);
    }
    /* flows still open are reported as final (end of file or shutdown) */
    pb_flows_final(c->fl, pb_now_ns());
    stage(c, false);
    return status;
}
