/* SPDX-License-Identifier: Apache-2.0
 * packet/afpacket.c - the af_packet sniffer: PF_PACKET socket, TPACKET_V3
 * receive ring, BPF filter, fanout, kernel counters (see afpacket.h).
 *
 * The ring is block_nr blocks of block_size bytes shared with the kernel.
 * The kernel fills one block at a time with frames of any length, hands it
 * over (TP_STATUS_USER) when it is full or tp_retire_blk_tov ms after its
 * first frame, and moves on to the next one; a block we still hold is not
 * written to: frames arriving then are dropped and counted (tp_drops). We
 * walk the blocks in order, give each back (TP_STATUS_KERNEL) once all its
 * frames were handed out, and poll() when the next one is not ready.
 *
 *  block:  | tpacket_block_desc | ... | frame | frame | ... |
 *                  offset_to_first_pkt ^       ^ tp_next_offset
 *  frame:  | tpacket3_hdr | sockaddr_ll | (room) | link header + data |
 *          ^ 0            ^ TPACKET_ALIGN(hdr)            ^ tp_mac
 * The room in front of tp_mac (PACKET_RESERVE adds VLAN_TAG_LEN to it) is
 * where the cooked header and a VLAN tag are written, as libpcap does.
 */
#include "afpacket.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/lazy/lazylib.h"
#include "decoder.h"

#define DEFAULT_FRAMES_PER_BLOCK 128u /* as Packetbeat (gopacket's default) */

int pb_afp_compute_size(uint32_t buffer_mb, uint32_t snaplen, uint32_t page, uint32_t *frame_size,
                        uint32_t *block_size, uint32_t *block_nr)
{
    if (snaplen == 0 || page == 0) {
        return -1;
    }
    uint64_t frame;
    if (snaplen < page) {
        frame = page / (page / snaplen);
    } else {
        frame = ((uint64_t)snaplen / page + 1) * page;
    }
    /* the kernel wants frames on 16 bytes and blocks on pages: Packetbeat's
       sizes already are for a snaplen that is a page divisor or above a
       page; round the others up */
    frame = (frame + 15u) & ~(uint64_t)15u;
    uint64_t block = frame * DEFAULT_FRAMES_PER_BLOCK;
    block = (block + page - 1) / page * page;
    uint64_t nr = (uint64_t)buffer_mb * 1024u * 1024u / block;
    if (nr == 0 || block > UINT32_MAX || nr > UINT32_MAX) {
        return -1;
    }
    *frame_size = (uint32_t)frame;
    *block_size = (uint32_t)block;
    *block_nr = (uint32_t)nr;
    return 0;
}

void pb_afp_split_blocks(uint32_t frame_size, uint32_t *block_size, uint32_t *block_nr)
{
    if (*block_size <= PB_AFP_MAX_BLOCK || frame_size == 0) {
        return;
    }
    uint64_t total = (uint64_t)*block_size * *block_nr;
    uint32_t per = PB_AFP_MAX_BLOCK / frame_size;
    uint32_t block = frame_size * (per > 0 ? per : 1);
    *block_size = block;
    *block_nr = (uint32_t)(total / block);
}

#ifdef __linux__

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLOCK_TIMEOUT_MS 64 /* tp_retire_blk_tov: gopacket's default */
#define VLAN_TAG_LEN 4
#define SLL_HDR_LEN 16
#define SLL_ADDR_LEN 8
#define ETH_ADDRS_LEN 12
/* the frame header and the sockaddr_ll after it */
#define FRAME_HDR_LEN (TPACKET_ALIGN(sizeof(struct tpacket3_hdr)))
#define FRAME_SLL_END (FRAME_HDR_LEN + sizeof(struct sockaddr_ll))

struct pb_afp {
    int fd;
    uint8_t *ring; /* mmap'ed, block_size * block_nr */
    size_t ring_len;
    uint32_t block_size, block_nr;
    uint32_t snaplen;
    bool cooked;    /* SOCK_DGRAM: we build DLT_LINUX_SLL headers */
    int lo_ifindex; /* outgoing frames on it are skipped; -1 none */

    /* the walk */
    uint32_t cur;  /* block we hold or wait for */
    bool holding;  /* cur is ours (TP_STATUS_USER) */
    uint32_t left; /* frames of cur not yet handed out */
    size_t pos;    /* offset of the next frame header in cur */

    /* a filter the kernel could not run (cooked frames): run here */
    struct bpf_program ufilter;
    bool has_ufilter;

    pthread_mutex_t mu; /* socket_* counters (PACKET_STATISTICS resets them) */
    uint64_t k_packets, k_drops, k_freezes;
    uint64_t packets, polls, skipped; /* reader thread only */
};

static uint8_t *block_at(const struct pb_afp *a, uint32_t i)
{
    return a->ring + (size_t)i * a->block_size;
}

static uint32_t block_status(const uint8_t *b)
{
    const struct tpacket_block_desc *d = (const struct tpacket_block_desc *)(const void *)b;
    return __atomic_load_n(&d->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}

static void release_block(struct pb_afp *a)
{
    struct tpacket_block_desc *d = (struct tpacket_block_desc *)(void *)block_at(a, a->cur);
    __atomic_store_n(&d->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    a->holding = false;
    a->left = 0;
    a->cur = (a->cur + 1) % a->block_nr;
}

/* ---- the filter ---- */

/* A program compiled for DLT_LINUX_SLL made to run on what a SOCK_DGRAM
 * socket's filter sees: the packet from its network header, the cooked
 * header's fields only through the kernel's ancillary loads. False when an
 * instruction cannot be translated (the filter then runs here). */
static bool cook_program(struct sock_filter *ins, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t cls = BPF_CLASS(ins[i].code);
        uint16_t mode = BPF_MODE(ins[i].code);
        if (cls != BPF_LD && cls != BPF_LDX) {
            continue;
        }
        if (mode != BPF_ABS && mode != BPF_IND && mode != BPF_MSH) {
            continue;
        }
        if (ins[i].k >= SLL_HDR_LEN) {
            ins[i].k -= SLL_HDR_LEN;
            continue;
        }
        if (cls != BPF_LD || mode != BPF_ABS) {
            return false;
        }
        /* | pkttype (2) | hatype (2) | halen (2) | address (8) | protocol (2) | */
        if (ins[i].k == 14 && BPF_SIZE(ins[i].code) == BPF_H) {
            ins[i].k = (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL);
        } else if (ins[i].k == 0 && BPF_SIZE(ins[i].code) == BPF_H) {
            ins[i].k = (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE);
        } else if (ins[i].k == 2 && BPF_SIZE(ins[i].code) == BPF_H) {
            ins[i].k = (uint32_t)(SKF_AD_OFF + SKF_AD_HATYPE);
        } else {
            return false;
        }
    }
    return true;
}

/* Compiles expr for our link type and attaches it, after a prefix that
 * leaves out the outgoing copies of loopback frames. A program that returns
 * snaplen is attached when there is no expression: the kernel cuts frames
 * to the filter's answer. */
static int attach_filter(struct pb_afp *a, const char *expr, int linktype, char *err, size_t errlen)
{
    struct bpf_program prog = {0, NULL};
    bool compiled = false;
    if (expr != NULL && expr[0] != '\0') {
        if (pb_lazy_pcap(err, errlen) != 0) {
            return -1; /* libpcap compiles the filter */
        }
        pcap_t *dead = pcap_open_dead(linktype == PB_LINK_LINUX_SLL ? DLT_LINUX_SLL : DLT_EN10MB,
                                      (int)a->snaplen);
        if (dead == NULL) {
            snprintf(err, errlen, "cannot open a pcap handle to compile the filter");
            return -1;
        }
        if (pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "invalid filter '%s': %s", expr, pcap_geterr(dead));
            pcap_close(dead);
            return -1;
        }
        pcap_close(dead);
        compiled = true;
    }
    size_t plen = compiled ? prog.bf_len : 1;
    size_t pre = a->lo_ifindex >= 0 ? 5 : 0;
    if (plen + pre > BPF_MAXINSNS) {
        snprintf(err, errlen, "filter '%s' is too long for the kernel", expr);
        pcap_freecode(&prog);
        return -1;
    }
    struct sock_filter *ins = pb_calloc(plen + pre, sizeof *ins);
    if (ins == NULL) {
        snprintf(err, errlen, "out of memory");
        pcap_freecode(&prog);
        return -1;
    }
    if (pre > 0) {
        /* 0: ld pkttype; 1: jeq OUTGOING ? 2 : 5; 2: ld ifindex;
           3: jeq lo ? 4 : 5; 4: ret 0; 5: the filter */
        ins[0] =
            (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE);
        ins[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 3);
        ins[2] =
            (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX);
        ins[3] =
            (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a->lo_ifindex, 0, 1);
        ins[4] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
    }
    struct sock_filter *body = ins + pre;
    if (compiled) {
        /* struct bpf_insn and struct sock_filter have the same layout */
        for (size_t i = 0; i < plen; i++) {
            body[i].code = prog.bf_insns[i].code;
            body[i].jt = prog.bf_insns[i].jt;
            body[i].jf = prog.bf_insns[i].jf;
            body[i].k = prog.bf_insns[i].k;
        }
        if (a->cooked && !cook_program(body, plen)) {
            /* the kernel keeps every frame; the filter runs on the frames
               as we build them */
            a->ufilter = prog;
            a->has_ufilter = true;
            prog.bf_insns = NULL;
            plen = 1;
            compiled = false;
        }
    }
    if (!compiled) {
        body[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, a->snaplen);
    }
    pcap_freecode(&prog);
    struct sock_fprog fp = {.len = (unsigned short)(plen + pre), .filter = ins};
    int rc = setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
    int e = errno;
    pb_free(ins);
    if (rc != 0) {
        snprintf(err, errlen, "cannot attach the BPF filter: %s", strerror(e));
        return -1;
    }
    return 0;
}

/* ---- opening ---- */

static int sockopt_int(int fd, int name, int v, const char *what, char *err, size_t errlen)
{
    if (setsockopt(fd, SOL_PACKET, name, &v, sizeof v) != 0) {
        snprintf(err, errlen, "failed creating af_packet socket: %s: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

struct pb_afp *pb_afp_open(const struct pb_afp_opts *o, char *err, size_t errlen)
{
    uint32_t frame = 0, block = 0, nr = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (pb_afp_compute_size(o->buffer_mb, o->snaplen, page > 0 ? (uint32_t)page : 4096u, &frame,
                            &block, &nr) != 0) {
        snprintf(err, errlen, "Buffer size too small (buffer_size_mb %u, snaplen %u)",
                 (unsigned)o->buffer_mb, (unsigned)o->snaplen);
        return NULL;
    }
    pb_afp_split_blocks(frame, &block, &nr);
    struct pb_afp *a = pb_calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->fd = -1;
    a->snaplen = o->snaplen;
    a->lo_ifindex = -1;
    pthread_mutex_init(&a->mu, NULL);

    bool any = o->device == NULL || o->device[0] == '\0' || strcmp(o->device, "any") == 0;
    int ifindex = 0;
    if (!any) {
        ifindex = (int)if_nametoindex(o->device);
        if (ifindex == 0) {
            snprintf(err, errlen, "failed creating af_packet socket: %s: no such device",
                     o->device);
            goto fail;
        }
    }
    a->fd = socket(PF_PACKET, SOCK_RAW, 0);
    if (a->fd < 0) {
        snprintf(err, errlen, "failed creating af_packet socket: %s", strerror(errno));
        goto fail;
    }
    /* Ethernet and loopback devices give Ethernet frames; any and the other
       devices (tun, ppp, ...) cooked ones */
    a->cooked = any;
    bool loopback = false;
    if (!any) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", o->device);
        if (ioctl(a->fd, SIOCGIFHWADDR, &ifr) != 0) {
            snprintf(err, errlen, "failed creating af_packet socket: %s: %s", o->device,
                     strerror(errno));
            goto fail;
        }
        int hatype = ifr.ifr_hwaddr.sa_family;
        loopback = hatype == ARPHRD_LOOPBACK;
        a->cooked = hatype != ARPHRD_ETHER && !loopback;
    }
    if (a->cooked) {
        close(a->fd);
        a->fd = socket(PF_PACKET, SOCK_DGRAM, 0);
        if (a->fd < 0) {
            snprintf(err, errlen, "failed creating af_packet socket: %s", strerror(errno));
            goto fail;
        }
    }
    if (any) {
        unsigned lo = if_nametoindex("lo");
        a->lo_ifindex = lo != 0 ? (int)lo : -1;
    } else if (loopback) {
        a->lo_ifindex = ifindex;
    }
    if (sockopt_int(a->fd, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION", err, errlen) < 0 ||
        sockopt_int(a->fd, PACKET_RESERVE, VLAN_TAG_LEN, "PACKET_RESERVE", err, errlen) < 0) {
        goto fail;
    }
    if (attach_filter(a, o->filter, pb_afp_linktype(a), err, errlen) < 0) {
        goto fail;
    }
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = block;
    req.tp_block_nr = nr;
    req.tp_frame_size = frame;
    req.tp_frame_nr = (block / frame) * nr;
    req.tp_retire_blk_tov = BLOCK_TIMEOUT_MS;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
        snprintf(err, errlen, "failed creating af_packet socket: ring of %u blocks of %u bytes: %s",
                 (unsigned)nr, (unsigned)block, strerror(errno));
        goto fail;
    }
    a->block_size = block;
    a->block_nr = nr;
    a->ring_len = (size_t)block * nr;
    void *m = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "failed creating af_packet socket: mmap: %s", strerror(errno));
        goto fail;
    }
    a->ring = m;

    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "failed creating af_packet socket: bind %s: %s",
                 any ? "any" : o->device, strerror(errno));
        goto fail;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0) {
        snprintf(err, errlen, "failed creating af_packet socket: %s: %s", any ? "any" : o->device,
                 strerror(soerr));
        goto fail;
    }
    if (o->fanout >= 0) {
        if (o->fanout > 0xffff) {
            snprintf(err, errlen, "failed setting af_packet fanout group: %d is not a group id",
                     o->fanout);
            goto fail;
        }
        /* mode and flags in the high 16 bits, the group id in the low */
        uint32_t uarg = ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16) |
                        (uint32_t)o->fanout;
        int arg = (int)uarg;
        if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
            snprintf(err, errlen, "failed setting af_packet fanout group: %s", strerror(errno));
            goto fail;
        }
    }
    if (o->promisc && !any) {
        struct packet_mreq mr;
        memset(&mr, 0, sizeof mr);
        mr.mr_ifindex = ifindex;
        mr.mr_type = PACKET_MR_PROMISC;
        if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
            snprintf(err, errlen, "Failed to set promiscuous mode for device '%s': %s", o->device,
                     strerror(errno));
            goto fail;
        }
    }
    return a;

fail:
    pb_afp_close(a);
    return NULL;
}

int pb_afp_linktype(const struct pb_afp *a)
{
    return a->cooked ? PB_LINK_LINUX_SLL : PB_LINK_EN10MB;
}

/* ---- reading ---- */

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Turns the frame at a->pos of the held block into f. False when it is to
 * be skipped. The kernel wrote these headers, but they are checked against
 * the block all the same. */
static bool take_frame(struct pb_afp *a, struct pb_afp_frame *f)
{
    uint8_t *blk = block_at(a, a->cur);
    size_t avail = a->block_size - a->pos;
    uint8_t *h = blk + a->pos;
    if (avail < FRAME_SLL_END) {
        a->left = 0;
        return false;
    }
    struct tpacket3_hdr t;
    memcpy(&t, h, sizeof t);
    if (a->left > 1) {
        if (t.tp_next_offset == 0 || t.tp_next_offset >= avail) {
            a->left = 1; /* this frame is the last we trust */
        } else {
            a->pos += t.tp_next_offset;
        }
    }
    a->left--;
    size_t need = (a->cooked ? SLL_HDR_LEN : 0) + VLAN_TAG_LEN;
    if (t.tp_mac < FRAME_SLL_END + need || t.tp_mac > avail || t.tp_snaplen > avail - t.tp_mac) {
        return false;
    }
    struct sockaddr_ll sll;
    memcpy(&sll, h + FRAME_HDR_LEN, sizeof sll);
    if (a->lo_ifindex >= 0 && sll.sll_pkttype == PACKET_OUTGOING &&
        sll.sll_ifindex == a->lo_ifindex) {
        return false; /* the filter's prefix leaves these out already */
    }
    uint8_t *data = h + t.tp_mac;
    uint32_t caplen = t.tp_snaplen, wire = t.tp_len;
    bool vlan = (t.tp_status & TP_STATUS_VLAN_VALID) != 0 || t.hv1.tp_vlan_tci != 0;
    uint16_t tpid = ETH_P_8021Q;
    if (t.hv1.tp_vlan_tpid != 0 || (t.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0) {
        tpid = t.hv1.tp_vlan_tpid;
    }
    if (a->cooked) {
        /* | pkttype | hatype | halen | address (8) | protocol | ([tpid] tci protocol) */
        uint32_t add = SLL_HDR_LEN + (vlan ? VLAN_TAG_LEN : 0);
        data -= add;
        put_be16(data, sll.sll_pkttype);
        put_be16(data + 2, sll.sll_hatype);
        put_be16(data + 4, sll.sll_halen);
        memset(data + 6, 0, SLL_ADDR_LEN);
        memcpy(data + 6, sll.sll_addr, sll.sll_halen < SLL_ADDR_LEN ? sll.sll_halen : SLL_ADDR_LEN);
        if (vlan) {
            put_be16(data + 14, tpid);
            put_be16(data + 16, t.hv1.tp_vlan_tci);
            memcpy(data + 18, &sll.sll_protocol, 2); /* network order already */
        } else {
            memcpy(data + 14, &sll.sll_protocol, 2);
        }
        caplen += add;
        wire += add;
    } else if (vlan && caplen >= ETH_ADDRS_LEN) {
        /* | dst | src | tpid | tci | the original type ... */
        memmove(data - VLAN_TAG_LEN, data, ETH_ADDRS_LEN);
        data -= VLAN_TAG_LEN;
        put_be16(data + ETH_ADDRS_LEN, tpid);
        put_be16(data + ETH_ADDRS_LEN + 2, t.hv1.tp_vlan_tci);
        caplen += VLAN_TAG_LEN;
        wire += VLAN_TAG_LEN;
    }
    if (caplen > a->snaplen) {
        caplen = a->snaplen;
    }
    f->data = data;
    f->caplen = caplen;
    f->wirelen = wire;
    f->ts_ns = (uint64_t)t.tp_sec * 1000000000ull + t.tp_nsec;
    if (a->has_ufilter) {
        struct pcap_pkthdr ph;
        ph.ts.tv_sec = (time_t)t.tp_sec;
        ph.ts.tv_usec = (suseconds_t)(t.tp_nsec / 1000u);
        ph.caplen = caplen;
        ph.len = wire;
        if (pcap_offline_filter(&a->ufilter, &ph, data) == 0) {
            return false;
        }
    }
    return true;
}

int pb_afp_next(struct pb_afp *a, int timeout_ms, struct pb_afp_frame *f, char *err, size_t errlen)
{
    bool waited = false;
    for (;;) {
        if (a->holding && a->left == 0) {
            release_block(a);
        }
        if (!a->holding) {
            uint8_t *blk = block_at(a, a->cur);
            if ((block_status(blk) & TP_STATUS_USER) == 0) {
                if (waited) {
                    return 0;
                }
                struct pollfd pfd = {.fd = a->fd, .events = POLLIN | POLLERR};
                a->polls++;
                int rc = poll(&pfd, 1, timeout_ms);
                if (rc < 0 && errno != EINTR) {
                    snprintf(err, errlen, "poll: %s", strerror(errno));
                    return -1;
                }
                if (rc > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                    int soerr = 0;
                    socklen_t sl = sizeof soerr;
                    getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                    snprintf(err, errlen, "af_packet socket: %s",
                             soerr != 0 ? strerror(soerr) : "error on the socket");
                    return -1;
                }
                waited = true;
                continue;
            }
            const struct tpacket_block_desc *d = (const void *)blk;
            uint32_t n = d->hdr.bh1.num_pkts;
            uint32_t first = d->hdr.bh1.offset_to_first_pkt;
            a->holding = true;
            if (n == 0 || first < sizeof *d || first >= a->block_size) {
                a->skipped += n;
                a->left = 0;
                continue;
            }
            a->pos = first;
            a->left = n;
        }
        if (take_frame(a, f)) {
            a->packets++;
            return 1;
        }
        a->skipped++;
    }
}

void pb_afp_stats(struct pb_afp *a, struct pb_afp_stats *st)
{
    memset(st, 0, sizeof *st);
    if (a == NULL) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    struct tpacket_stats_v3 ks;
    socklen_t len = sizeof ks;
    memset(&ks, 0, sizeof ks);
    if (a->fd >= 0 && getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) {
        /* each read resets the kernel's counters */
        a->k_packets += ks.tp_packets;
        a->k_drops += ks.tp_drops;
        a->k_freezes += ks.tp_freeze_q_cnt;
    }
    st->socket_packets = a->k_packets;
    st->socket_drops = a->k_drops;
    st->socket_queue_freezes = a->k_freezes;
    pthread_mutex_unlock(&a->mu);
    st->packets = a->packets;
    st->polls = a->polls;
    st->skipped = a->skipped;
}

void pb_afp_close(struct pb_afp *a)
{
    if (a == NULL) {
        return;
    }
    if (a->ring != NULL) {
        munmap(a->ring, a->ring_len);
    }
    if (a->fd >= 0) {
        close(a->fd);
    }
    if (a->has_ufilter) {
        pcap_freecode(&a->ufilter);
    }
    pthread_mutex_destroy(&a->mu);
    pb_free(a);
}

#else /* !__linux__ */

struct pb_afp {
    int unused;
};

struct pb_afp *pb_afp_open(const struct pb_afp_opts *o, char *err, size_t errlen)
{
    (void)o;
    snprintf(err, errlen, "af_packet is only available on Linux");
    return NULL;
}

int pb_afp_linktype(const struct pb_afp *a)
{
    (void)a;
    return PB_LINK_EN10MB;
}

int pb_afp_next(struct pb_afp *a, int timeout_ms, struct pb_afp_frame *f, char *err, size_t errlen)
{
    (void)a;
    (void)timeout_ms;
    (void)f;
    snprintf(err, errlen, "af_packet is only available on Linux");
    return -1;
}

void pb_afp_stats(struct pb_afp *a, struct pb_afp_stats *st)
{
    (void)a;
    memset(st, 0, sizeof *st);
}

void pb_afp_close(struct pb_afp *a)
{
    (void)a;
}

#endif
