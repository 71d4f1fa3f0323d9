/* SPDX-License-Identifier: Apache-2.0
 * packet/filter.c - the BPF filter Packetbeat installs (protos.BpfFilter in
 * packetbeat/protos/protos.go and setupSniffer in the beater):
 * bpf_filter when set, verbatim; else nothing when flows are on; else the
 * protocols' ports. With -I the capture installs no filter at all.
 */
#include "filter.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/lazy/lazylib.h"
#include "packet.h"
#include "tunnel.h"

const struct pb_cfg *pb_interfaces_cfg(const struct pb_cfg *root)
{
    const struct pb_cfg *ifc = pb_cfg_get(root, "packetbeat.interfaces");
    if (ifc != NULL && ifc->kind == PB_CFG_LIST) {
        ifc = pb_cfg_len(ifc) > 0 ? pb_cfg_at(ifc, 0) : NULL;
    }
    if (ifc != NULL && ifc->kind != PB_CFG_MAP) {
        return NULL;
    }
    return ifc;
}

bool pb_flows_enabled(const struct pb_cfg *root)
{
    const struct pb_cfg *f = pb_cfg_get(root, "packetbeat.flows");
    if (f == NULL || f->kind == PB_CFG_NULL) {
        return false;
    }
    bool enabled = true;
    if (f->kind == PB_CFG_MAP && pb_cfg_bool(f, "enabled", true, &enabled) < 0) {
        return true; /* a bad value is reported by the config check */
    }
    return enabled;
}

/* A growable string with a hard cap (a filter over every port of every
 * protocol stays far below it). */
struct sbuf {
    char *p;
    size_t len, cap;
    bool bad;
};

#define FILTER_MAX (1u << 20)

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->bad) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > FILTER_MAX) {
            b->bad = true;
            return;
        }
        char *q = pb_realloc(b->p, cap);
        if (q == NULL) {
            b->bad = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static int by_name(const void *a, const void *b)
{
    const struct pb_proto *x = *(const struct pb_proto *const *)a;
    const struct pb_proto *y = *(const struct pb_proto *const *)b;
    return strcmp(x->ops->name, y->ops->name);
}

char *pb_filter_from_ports(const struct pb_protos *ps, bool with_vlans)
{
    struct sbuf b = {NULL, 0, 0, false};
    size_t n = ps != NULL ? ps->n : 0;
    const struct pb_proto **order = NULL;
    if (n > 0) {
        order = pb_calloc(n, sizeof *order);
        if (order == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            order[i] = &ps->list[i];
        }
        qsort(order, n, sizeof *order, by_name);
    }
    for (size_t i = 0; i < n; i++) {
        const struct pb_proto *p = order[i];
        bool tcp = (p->ops->transports & PB_TCP) != 0;
        bool udp = (p->ops->transports & PB_UDP) != 0;
        if (!tcp && !udp) {
            continue;
        }
        const char *kind = tcp && !udp ? "tcp " : !tcp && udp ? "udp " : "";
        for (size_t j = 0; j < p->nports && j < PB_MAX_PORTS; j++) {
            char item[32];
            int k = snprintf(item, sizeof item, "%sport %u", kind, (unsigned)p->ports[j]);
            if (b.len > 0) {
                sb_str(&b, " or ");
            }
            sb_add(&b, item, (size_t)k);
        }
    }
    pb_free(order);
    if (ps != NULL && ps->icmp != NULL) {
        if (b.len > 0) {
            sb_str(&b, " or ");
        }
        sb_str(&b, "icmp or icmp6");
    }
    if (b.bad) {
        pb_free(b.p);
        return NULL;
    }
    if (b.len == 0) {
        return pb_strdup("");
    }
    if (!with_vlans) {
        return b.p;
    }
    struct sbuf v = {NULL, 0, 0, false};
    sb_add(&v, b.p, b.len);
    sb_str(&v, " or (vlan and (");
    sb_add(&v, b.p, b.len);
    sb_str(&v, "))");
    pb_free(b.p);
    if (v.bad) {
        pb_free(v.p);
        return NULL;
    }
    return v.p;
}

char *pb_capture_filter(const struct pb_cfg *root, const struct pb_protos *protos)
{
    const struct pb_cfg *ifc = pb_interfaces_cfg(root);
    const char *bpf = "";
    if (pb_cfg_str(ifc, "bpf_filter", "", &bpf) < 0 || bpf == NULL) {
        bpf = "";
    }
    if (bpf[0] != '\0') {
        return pb_strdup(bpf);
    }
    if (pb_flows_enabled(root)) {
        return pb_strdup("");
    }
    bool with_vlans = false;
    if (pb_cfg_bool(ifc, "with_vlans", false, &with_vlans) < 0) {
        with_vlans = false;
    }
    char *f = pb_filter_from_ports(protos, with_vlans);
    struct pb_decap_cfg dc;
    char err[256];
    if (f == NULL || f[0] == '\0' || pb_decap_config_read(ifc, &dc, err, sizeof err) < 0 ||
        !pb_decap_any(&dc)) {
        return f;
    }
    /* decapsulation on (ours): the tunnels' outer packets get through too,
     * whatever they carry */
    struct sbuf b = {NULL, 0, 0, false};
    char item[64];
    sb_str(&b, "(");
    sb_str(&b, f);
    sb_str(&b, ")");
    if (dc.vxlan) {
        snprintf(item, sizeof item, " or udp dst port %u", (unsigned)dc.vxlan_port);
        sb_str(&b, item);
    }
    if (dc.geneve) {
        snprintf(item, sizeof item, " or udp dst port %u", (unsigned)dc.geneve_port);
        sb_str(&b, item);
    }
    if (dc.gre || dc.erspan) {
        sb_str(&b, " or ip proto 47 or ip6 proto 47");
    }
    pb_free(f);
    if (b.bad) {
        pb_free(b.p);
        return NULL;
    }
    return b.p;
}

int pb_capture_check_filter(const struct pb_cfg *root, char *err, size_t errlen)
{
    const struct pb_cfg *ifc = pb_interfaces_cfg(root);
    const char *bpf = "";
    if (pb_cfg_str(ifc, "bpf_filter", "", &bpf) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (bpf == NULL || bpf[0] == '\0') {
        return 0;
    }
    if (pb_lazy_pcap(err, errlen) != 0) {
        return -PB_EIO;
    }
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    if (p == NULL) {
        snprintf(err, errlen, "OpenDead: cannot open a pcap handle");
        return -PB_EIO;
    }
    struct bpf_program prog;
    int rc = 0;
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "invalid filter '%s': %s", bpf, pcap_geterr(p));
        rc = -PB_EINVAL;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return rc;
}
