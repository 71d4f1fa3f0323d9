/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_packet.c - the whole packet path: link/VLAN/IP decoding
 * with fragment reassembly, the TCP tracker, UDP and ICMP dispatch, every
 * compiled-in protocol on its usual ports and the flows (a small table, so
 * it fills), through pb_worker_parts_frame as packet/capture.c drives them.
 *
 * Every tunnel is decapsulated (VXLAN, GENEVE, GRE, ERSPAN, IP in IP) and
 * TCP reordering is on with small caps, so holes fill, overflow and time out.
 *
 * Input: byte 0 picks the link type; then frames, each a big-endian u16
 * length and that many bytes. The packet clock advances 1 ms per frame and
 * the wall clock with it, so timeouts, expiry and flow reports run too.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "beat/cfg.h"
#include "fuzz.h"
#include "packet/decoder.h"
#include "packet/flows.h"
#include "packet/tcp.h"
#include "packet/tunnel.h"
#include "packet/workers.h"
#include "publisher/codec.h"
#include "protos/protos.h"

static const int links[] = {PB_LINK_EN10MB,     PB_LINK_LINUX_SLL, PB_LINK_LINUX_SLL2,
                            PB_LINK_NULL,       PB_LINK_LOOP,      PB_LINK_RAW,
                            PB_LINK_IPV4,       PB_LINK_IPV6};

/* Usual ports (as the shipped packetbeat.yml has them); a protocol not
 * listed gets a port of its own. */
static const struct {
    const char *name, *ports;
} usual[] = {
    {"icmp", NULL},          {"dhcpv4", "[67, 68]"},    {"dns", "[53]"},
    {"http", "[80, 8080]"},  {"amqp", "[5672]"},        {"cassandra", "[9042]"},
    {"memcache", "[11211]"}, {"mysql", "[3306, 3307]"}, {"pgsql", "[5432]"},
    {"redis", "[6379]"},     {"thrift", "[9090]"},      {"mongodb", "[27017]"},
    {"nfs", "[2049]"},       {"tls", "[443, 993]"},     {"sip", "[5060]"},
};

static struct pb_protos *protos;
static uint64_t emitted;
static struct pb_decap_cfg decap;

static void emit(void *ctx, struct pb_proto *p, pb_event *ev)
{
    (void)ctx;
    (void)p;
    if (ev != NULL) {
        /* encoded from the arena, then as a tree: both must hold up */
        struct pb_codec_buf b = {0};
        bool exact = false;
        emitted += pb_ev_encode(ev, false, false, &b, &exact) == 0;
        pb_codec_buf_free(&b);
        char *s = json_dumps(pb_ev_json(ev), JSON_COMPACT);
        emitted += s != NULL;
        free(s);
        pb_ev_free(ev);
    }
}

static const char *ports_of(const char *name, size_t i, char *buf, size_t n)
{
    for (size_t k = 0; k < sizeof usual / sizeof usual[0]; k++) {
        if (strcmp(usual[k].name, name) == 0) {
            return usual[k].ports;
        }
    }
    snprintf(buf, n, "[%zu]", 20000 + i);
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    char yaml[8192];
    size_t off = (size_t)snprintf(yaml, sizeof yaml,
                                  "packetbeat.interfaces.decapsulation:\n"
                                  "  {vxlan: true, geneve: true, gre: true, erspan: true, "
                                  "ipip: true}\n"
                                  "packetbeat.protocols:\n");
    for (size_t i = 0; pb_proto_registry[i] != NULL && off < sizeof yaml; i++) {
        const char *name = pb_proto_registry[i]->name;
        char buf[32];
        const char *ports = ports_of(name, i, buf, sizeof buf);
        off += (size_t)snprintf(yaml + off, sizeof yaml - off, "- type: %s\n", name);
        if (ports != NULL && off < sizeof yaml) {
            off += (size_t)snprintf(yaml + off, sizeof yaml - off, "  ports: %s\n", ports);
        }
    }
    char err[512] = "";
    struct pb_cfg *root = pb_cfg_parse(yaml, strlen(yaml), "fuzz", err, sizeof err);
    protos = calloc(1, sizeof *protos);
    if (root == NULL || protos == NULL ||
        pb_protos_setup(protos, root, emit, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_packet: setup failed: %s\n", err);
        abort();
    }
    const struct pb_cfg *ifc = pb_cfg_get(root, "packetbeat.interfaces");
    if (pb_decap_config_read(ifc, &decap, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_packet: decapsulation: %s\n", err);
        abort();
    }
    /* protocols keep what they need from the config during setup */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    char err[256];
    struct pb_decoder *dec =
        pb_decoder_new(links[data[0] % (sizeof links / sizeof links[0])], err, sizeof err);
    struct pb_tcp *tcp = pb_tcp_new(protos);
    uint64_t now = 1577836800ull * 1000000000ull;
    struct pb_flows_config fc = {
        .timeout_ns = 30ll * 1000000000ll, .period_ns = 10ll * 1000000000ll, .max_flows = 64};
    struct pb_flows *fl = pb_flows_new(&fc, NULL, emit, NULL, now);
    if (dec == NULL || tcp == NULL || fl == NULL) {
        pb_decoder_free(dec);
        pb_tcp_free(tcp);
        pb_flows_free(fl);
        return 0;
    }
    pb_tcp_set_track_empty(tcp, true); /* as with flows on */
    const struct pb_worker_parts parts = {.ps = protos, .tcp = tcp, .fl = fl};
    pb_decoder_set_decap(dec, &decap);
    /* small caps: a few segments fill them; 5 ms holes (frames are 1 ms apart) */
    pb_tcp_set_reorder(tcp, 4096, 8, 5000000ull);
    size_t off = 1, nframes = 0;
    while (off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off) {
            len = size - off;
        }
        const uint8_t *frame = data + off;
        off += len;
        now += 1000000;
        struct pb_decoded d;
        bool ok = pb_decode(dec, frame, len, (uint32_t)len, now, &d);
        pb_worker_parts_frame(&parts, &d, ok, now, NULL, NULL);
        if (++nframes % 16 == 0) {
            now += 60ull * 1000000000ull; /* jump: let things time out */
            pb_tcp_expire(tcp, now);
            pb_protos_tick(protos, now);
            pb_flows_tick(fl, now);
        }
    }
    pb_tcp_flush(tcp);
    pb_tcp_close_all(tcp);
    pb_tcp_free(tcp);
    pb_flows_final(fl, now);
    pb_flows_free(fl);
    pb_decoder_free(dec);
    /* UDP/ICMP protocols keep pending requests across inputs otherwise */
    pb_protos_tick(protos, now + 3600ull * 1000000000ull);
    return 0;
}
