/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/pcap.c - the libpcap functions packetbeat calls, each one
 * calling libpcap's own, loaded on first use (lazylib.h). Classic pcap
 * files are read without libpcap (packet/pcapfile.c); live capture,
 * pcapng files, BPF filters, `devices` and -dump load it.
 */
#include <pcap/pcap.h>

#include "beat/lazy/lazylib.h"

#define FN(name) PB_LAZY_FN(pb_lazy_pcap_lib, name)

pcap_t *pcap_create(const char *source, char *errbuf)
{
    FN(pcap_create);
    return f(source, errbuf);
}

int pcap_activate(pcap_t *p)
{
    FN(pcap_activate);
    return f(p);
}

void pcap_close(pcap_t *p)
{
    FN(pcap_close);
    f(p);
}

int pcap_set_snaplen(pcap_t *p, int snaplen)
{
    FN(pcap_set_snaplen);
    return f(p, snaplen);
}

int pcap_set_promisc(pcap_t *p, int promisc)
{
    FN(pcap_set_promisc);
    return f(p, promisc);
}

int pcap_set_timeout(pcap_t *p, int ms)
{
    FN(pcap_set_timeout);
    return f(p, ms);
}

int pcap_set_buffer_size(pcap_t *p, int size)
{
    FN(pcap_set_buffer_size);
    return f(p, size);
}

int pcap_set_tstamp_precision(pcap_t *p, int precision)
{
    FN(pcap_set_tstamp_precision);
    return f(p, precision);
}

int pcap_get_tstamp_precision(pcap_t *p)
{
    FN(pcap_get_tstamp_precision);
    return f(p);
}

int pcap_get_selectable_fd(pcap_t *p)
{
    FN(pcap_get_selectable_fd);
    return f(p);
}

int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
    FN(pcap_setnonblock);
    return f(p, nonblock, errbuf);
}

int pcap_datalink(pcap_t *p)
{
    FN(pcap_datalink);
    return f(p);
}

int pcap_compile(pcap_t *p, struct bpf_program *prog, const char *expr, int optimize,
                 bpf_u_int32 netmask)
{
    FN(pcap_compile);
    return f(p, prog, expr, optimize, netmask);
}

int pcap_setfilter(pcap_t *p, struct bpf_program *prog)
{
    FN(pcap_setfilter);
    return f(p, prog);
}

void pcap_freecode(struct bpf_program *prog)
{
    FN(pcap_freecode);
    f(prog);
}

int pcap_offline_filter(const struct bpf_program *prog, const struct pcap_pkthdr *h,
                        const u_char *pkt)
{
    FN(pcap_offline_filter);
    return f(prog, h, pkt);
}

char *pcap_geterr(pcap_t *p)
{
    FN(pcap_geterr);
    return f(p);
}

const char *pcap_statustostr(int status)
{
    FN(pcap_statustostr);
    return f(status);
}

int pcap_stats(pcap_t *p, struct pcap_stat *ps)
{
    FN(pcap_stats);
    return f(p, ps);
}

int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **data)
{
    FN(pcap_next_ex);
    return f(p, h, data);
}

int pcap_findalldevs(pcap_if_t **devs, char *errbuf)
{
    FN(pcap_findalldevs);
    return f(devs, errbuf);
}

void pcap_freealldevs(pcap_if_t *devs)
{
    FN(pcap_freealldevs);
    f(devs);
}

pcap_t *pcap_open_dead(int linktype, int snaplen)
{
    FN(pcap_open_dead);
    return f(linktype, snaplen);
}

pcap_t *pcap_open_offline_with_tstamp_precision(const char *path, u_int precision, char *errbuf)
{
    FN(pcap_open_offline_with_tstamp_precision);
    return f(path, precision, errbuf);
}

pcap_dumper_t *pcap_dump_open(pcap_t *p, const char *path)
{
    FN(pcap_dump_open);
    return f(p, path);
}

void pcap_dump(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    FN(pcap_dump);
    f(user, h, data);
}

int pcap_dump_flush(pcap_dumper_t *d)
{
    FN(pcap_dump_flush);
    return f(d);
}

void pcap_dump_close(pcap_dumper_t *d)
{
    FN(pcap_dump_close);
    f(d);
}
