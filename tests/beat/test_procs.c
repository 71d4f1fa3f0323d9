/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_procs.c - process enrichment (beat/procs.c) against a fake
 * /proc tree: socket tables (IPv4, IPv6, IPv4-mapped, any-address), fd
 * links, stat/cmdline/exe/cwd, monitored[].cmdline_grep renaming, the
 * transaction and flow layouts of the process fields, and "disabled".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/procs.h"
#include "tests/support/ptrun.h"

#define NOW (1700000000ull * 1000000000ull)

static char root[] = "/tmp/pb-test-procs.XXXXXX";

static void write_file(const char *rel, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void mk(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void link_to(const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ck_assert_int_eq(symlink(target, path), 0);
}

static const char tcp4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    /* 127.0.0.1:15353 listening, inode 1001 */
    "   0: 0100007F:3BF9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1001 1 0000000000000000 100 0 0 10 0\n"
    /* 0.0.0.0:8080, inode 1002 */
    "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1002 1 0000000000000000 100 0 0 10 0\n"
    "   2: garbage\n";
static const char tcp6[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    /* [::1]:443, inode 1003 */
    "   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 100 0 0 10 0\n"
    /* [::ffff:127.0.0.2]:9000, inode 1004 */
    "   1: 0000000000000000FFFF00000200007F:2328 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 100 0 0 10 0\n";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(root));
    mk("net");
    write_file("net/tcp", tcp4, sizeof tcp4 - 1);
    write_file("net/tcp6", tcp6, sizeof tcp6 - 1);
    write_file("net/udp", "", 0);
    write_file("net/udp6", "", 0);
    write_file("stat", "cpu 1 2 3\nbtime 1600000000\n", 26);
    /* pid 42: a DNS server holding inodes 1001 and 1003 */
    mk("42");
    mk("42/fd");
    link_to("socket:[1001]", "42/fd/3");
    link_to("socket:[1003]", "42/fd/4");
    link_to("/dev/null", "42/fd/0");
    link_to("/usr/sbin/dnsmasq", "42/exe");
    link_to("/var/lib/dns", "42/cwd");
    static const char stat42[] = "42 (dnsmasq) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                                 "500 1000 100 18446744073709551615\n";
    write_file("42/stat", stat42, sizeof stat42 - 1);
    static const char cmd42[] = "dnsmasq\0--conf-file=/etc/pb.conf\0";
    write_file("42/cmdline", cmd42, sizeof cmd42 - 1);
    /* pid 77: a long name cut to 15 characters, holding 1002 and 1004 */
    mk("77");
    mk("77/fd");
    link_to("socket:[1002]", "77/fd/5");
    link_to("socket:[1004]", "77/fd/6");
    link_to("/opt/bin/very-long-server-name", "77/exe");
    static const char stat77[] = "77 (very-long-serve) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
                                 "100 1000 100\n";
    write_file("77/stat", stat77, sizeof stat77 - 1);
    static const char cmd77[] = "very-long-server-name\0-p\0008080\0";
    write_file("77/cmdline", cmd77, sizeof cmd77 - 1);
    mk("self"); /* not a pid: ignored */
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
    memcpy(root + strlen(root) - 6, "XXXXXX", 6);
}

static struct pb_procs *open_procs(const char *yaml)
{
    char err[256] = "";
    struct pb_cfg *cfg = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_ptr_nonnull(cfg);
    struct pb_procs *p = pb_procs_new(cfg, root, err, sizeof err);
    pb_cfg_free(cfg);
    return p;
}

static struct pb_ip ip(const char *s)
{
    struct pb_ip a;
    ck_assert(pb_ip_parse(s, &a));
    return a;
}

START_TEST(procs_disabled)
{
    ck_assert_ptr_null(open_procs("packetbeat.procs.enabled: false\n"));
    ck_assert_ptr_null(open_procs("name: x\n"));
    char err[256] = "";
    struct pb_cfg *cfg =
        pb_cfg_parse("packetbeat.procs.enabled: maybe\n", 32, "t", err, sizeof err);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_ptr_null(pb_procs_new(cfg, root, err, sizeof err));
    ck_assert_str_ne(err, "");
    pb_cfg_free(cfg);
}
END_TEST

START_TEST(procs_find)
{
    struct pb_procs *p = open_procs("packetbeat.procs.enabled: true\n");
    ck_assert_ptr_nonnull(p);
    struct pb_ip lo = ip("127.0.0.1");
    const struct pb_proc_info *pi = pb_procs_find(p, PB_IPPROTO_TCP, &lo, 15353, NOW);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(pi->pid, 42);
    ck_assert_int_eq(pi->ppid, 7);
    ck_assert_str_eq(pi->name, "dnsmasq");
    ck_assert_str_eq(pi->exe, "/usr/sbin/dnsmasq");
    ck_assert_str_eq(pi->cwd, "/var/lib/dns");
    ck_assert_uint_eq(json_array_size(pi->args), 2);
    ck_assert_str_eq(json_string_value(json_array_get(pi->args, 1)), "--conf-file=/etc/pb.conf");
    long tck = sysconf(_SC_CLK_TCK);
    ck_assert_uint_eq(pi->start_ns, 1600000000ull * 1000000000ull +
                                        500ull * 1000000000ull / (unsigned long long)tck);

    /* any-address listener, long name from the executable */
    pi = pb_procs_find(p, PB_IPPROTO_TCP, &lo, 8080, NOW);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(pi->pid, 77);
    ck_assert_str_eq(pi->name, "very-long-server-name");
    /* IPv6 and IPv4-mapped sockets */
    struct pb_ip lo6 = ip("::1");
    pi = pb_procs_find(p, PB_IPPROTO_TCP, &lo6, 443, NOW);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(pi->pid, 42);
    struct pb_ip lo2 = ip("127.0.0.2");
    pi = pb_procs_find(p, PB_IPPROTO_TCP, &lo2, 9000, NOW);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(pi->pid, 77);
    /* wrong transport, unknown port, non-local address */
    ck_assert_ptr_null(pb_procs_find(p, PB_IPPROTO_UDP, &lo, 15353, NOW));
    ck_assert_ptr_null(pb_procs_find(p, PB_IPPROTO_TCP, &lo, 1, NOW + 1000000000ull));
    struct pb_ip far = ip("192.0.2.1");
    ck_assert_ptr_null(pb_procs_find(p, PB_IPPROTO_TCP, &far, 15353, NOW));
    ck_assert_ptr_null(pb_procs_find(p, PB_IPPROTO_ICMP, &lo, 15353, NOW));

    /* a socket that went away keeps its last owner */
    write_file("net/tcp", "", 0);
    ck_assert_ptr_null(pb_procs_find(p, PB_IPPROTO_TCP, &lo, 2, NOW + 5000000000ull));
    pi = pb_procs_find(p, PB_IPPROTO_TCP, &lo, 15353, NOW + 6000000000ull);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(pi->pid, 42);
    pb_procs_free(p);
}
END_TEST

static json_t *event(const char *transport, const char *sip, int sport, const char *dip, int dport)
{
    json_t *ev = json_object();
    pb_json_put_str(ev, "network.transport", transport);
    pb_json_put_str(ev, "source.ip", sip);
    pb_json_put_int(ev, "source.port", sport);
    pb_json_put_str(ev, "destination.ip", dip);
    pb_json_put_int(ev, "destination.port", dport);
    return ev;
}

/* pb_procs_enrich on a jansson event (changed in place). */
static void enrich(struct pb_procs *p, json_t *ev, bool flow, uint64_t now)
{
    pb_event *e = pb_ev_wrap(json_incref(ev));
    pb_procs_enrich(p, e, flow, now);
    pb_ev_free(e);
}

START_TEST(procs_enrich_transaction_and_flow)
{
    struct pb_procs *p = open_procs("packetbeat.procs:\n  enabled: true\n  monitored:\n"
                                    "  - process: dns-server\n    cmdline_grep: pb.conf\n");
    ck_assert_ptr_nonnull(p);
    /* transaction: 127.0.0.1:8080 (pid 77) -> 127.0.0.1:15353 (pid 42) */
    json_t *ev = event("tcp", "127.0.0.1", 8080, "127.0.0.1", 15353);
    enrich(p, ev, false, NOW);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "destination.process.name")), "dns-server");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "destination.process.parent.pid")), 7);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "source.process.name")),
                     "very-long-server-name");
    ck_assert_ptr_null(pb_json_get(ev, "source.process.working_directory")); /* empty: left out */
    /* process: the destination's */
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "process.pid")), 42);
    ck_assert_ptr_nonnull(pb_json_get(ev, "process.start"));
    json_decref(ev);

    /* flow: ppid, every key, the destination's cwd falls back to the source's */
    ev = event("tcp", "127.0.0.1", 15353, "127.0.0.1", 8080);
    enrich(p, ev, true, NOW);
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "source.process.ppid")), 7);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "destination.process.working_directory")),
                     "/var/lib/dns");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "destination.process.executable")),
                     "/opt/bin/very-long-server-name");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "process.pid")), 77);
    json_decref(ev);

    /* ICMP and remote endpoints get nothing */
    ev = event("icmp", "127.0.0.1", 0, "127.0.0.1", 0);
    enrich(p, ev, true, NOW);
    ck_assert_ptr_null(pb_json_get(ev, "process"));
    json_decref(ev);
    ev = event("udp", "192.0.2.1", 53, "192.0.2.2", 53);
    enrich(p, ev, false, NOW);
    ck_assert_ptr_null(pb_json_get(ev, "process"));
    json_decref(ev);
    pb_procs_free(p);
}
END_TEST

static Suite *procs_suite(void)
{
    Suite *s = suite_create("procs");
    TCase *tc = tcase_create("procs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, procs_disabled);
    tcase_add_test(tc, procs_find);
    tcase_add_test(tc, procs_enrich_transaction_and_flow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(procs_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
