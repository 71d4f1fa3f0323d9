/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_event.c - the "dns" event: common transaction fields from
 * pb_tx_event(), then method/query/resource, dns.* (question with public
 * suffix parts, flags, header_flags, opt, answers, authorities,
 * additionals, resolved_ip) and the request/response texts.
 */
#include "dns_event.h"

#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "dns_text.h"

static void put_question_text(struct dns_text *t, const struct dns_question *q)
{
    char b1[24], b2[24];
    dns_text_puts(t, "class ");
    dns_text_puts(t, dns_class_str(q->qclass, b1));
    dns_text_puts(t, ", type ");
    dns_text_puts(t, dns_type_str(q->qtype, b2));
    dns_text_puts(t, ", ");
    dns_text_puts(t, q->name);
}

static int kv_cmp(const void *a, const void *b)
{
    const struct dns_kv *x = *(const struct dns_kv *const *)a;
    const struct dns_kv *y = *(const struct dns_kv *const *)b;
    return strcmp(x->key, y->key);
}

/* rrToString: the string-valued fields sorted by key ("k v, "), then the
 * data; numbers are not shown (Packetbeat only prints int and string). */
static void put_rr_text(struct dns_text *t, const struct dns_rr *rr)
{
    if (rr->is_opt) {
        return;
    }
    const struct dns_kv *keys[DNS_MAX_KV];
    size_t n = 0;
    for (size_t i = 0; i < rr->nkv; i++) {
        if (rr->kv[i].str != NULL) {
            keys[n++] = &rr->kv[i];
        }
    }
    qsort(keys, n, sizeof keys[0], kv_cmp);
    struct dns_text part = {0};
    for (size_t i = 0; i < n; i++) {
        dns_text_puts(&part, keys[i]->key);
        dns_text_putc(&part, ' ');
        dns_text_puts(&part, keys[i]->str);
        dns_text_puts(&part, ", ");
    }
    if (rr->data == NULL) {
        if (part.len >= 2 && !part.bad) {
            part.len -= 2; /* TrimSuffix ", " */
        }
    } else {
        dns_text_puts(&part, rr->data);
    }
    if (part.bad) {
        t->bad = true;
    } else if (part.len > 0) {
        dns_text_putn(t, part.p, part.len);
    }
    dns_text_reset(&part);
}

static void put_rrs_text(struct dns_text *t, const char *label, const struct dns_rr *rrs, size_t n)
{
    if (n == 0) {
        return;
    }
    dns_text_puts(t, "; ");
    dns_text_puts(t, label);
    dns_text_putc(t, ' ');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            dns_text_puts(t, "; ");
        }
        put_rr_text(t, &rrs[i]);
    }
}

char *dns_msg_to_string(const struct dns_msg *m)
{
    struct dns_text t = {0};
    char b1[24], b2[24];
    dns_text_puts(&t, "ID ");
    dns_text_putu(&t, m->id);
    dns_text_puts(&t, "; QR ");
    dns_text_puts(&t, m->response ? "response" : "query");
    dns_text_puts(&t, "; OPCODE ");
    dns_text_puts(&t, dns_opcode_str(m->opcode, b1));
    dns_text_puts(&t, "; FLAGS ");
    const char *flags[6];
    size_t nf = 0;
    if (m->aa) {
        flags[nf++] = "aa";
    }
    if (m->tc) {
        flags[nf++] = "tc";
    }
    if (m->rd) {
        flags[nf++] = "rd";
    }
    if (m->ra) {
        flags[nf++] = "ra";
    }
    if (m->ad) {
        flags[nf++] = "ad";
    }
    if (m->cd) {
        flags[nf++] = "cd";
    }
    for (size_t i = 0; i < nf; i++) {
        if (i > 0) {
            dns_text_putc(&t, ' ');
        }
        dns_text_puts(&t, flags[i]);
    }
    dns_text_puts(&t, "; RCODE ");
    dns_text_puts(&t, dns_rcode_str(m->rcode, b2));
    if (m->nq > 0) {
        dns_text_puts(&t, "; QUESTION ");
        for (size_t i = 0; i < m->nq; i++) {
            if (i > 0) {
                dns_text_puts(&t, "; ");
            }
            put_question_text(&t, &m->q[i]);
        }
    }
    put_rrs_text(&t, "ANSWER", m->rr[DNS_ANSWER], m->nrr[DNS_ANSWER]);
    put_rrs_text(&t, "AUTHORITY", m->rr[DNS_AUTHORITY], m->nrr[DNS_AUTHORITY]);
    put_rrs_text(&t, "ADDITIONAL", m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]);
    return dns_text_take(&t);
}

/* Decimal text of v in buf (at least 21 bytes); returns the start. */
static const char *u64_str(uint64_t v, char buf[24])
{
    char *p = buf + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

/* rrsToMapStrs: one object per record, OPT and empty records left out;
 * A/AAAA data of the answer section appended to ips (when not NULL). */
static void put_rrs(pb_node *arr, const struct dns_rr *rrs, size_t n, pb_node *ips)
{
    if (arr == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct dns_rr *rr = &rrs[i];
        if (rr->is_opt || (rr->data == NULL && rr->nkv == 0)) {
            continue;
        }
        pb_node *o = pb_node_obj(arr, NULL);
        if (o == NULL) {
            break;
        }
        char b1[24], b2[24], ttl[24];
        for (size_t k = 0; k < rr->nkv; k++) {
            if (rr->kv[k].str != NULL) {
                pb_node_set_str(o, rr->kv[k].key, rr->kv[k].str);
            } else {
                pb_node_set_int(o, rr->kv[k].key, (int64_t)rr->kv[k].num);
            }
        }
        pb_node_set_str(o, "data", rr->data); /* NULL: no-op */
        pb_node_set_str(o, "name", rr->name);
        pb_node_set_str(o, "type", dns_type_str(rr->type, b1));
        pb_node_set_str(o, "class", dns_class_str(rr->klass, b2));
        pb_node_set_str(o, "ttl", u64_str(rr->ttl, ttl));
        if (ips != NULL && rr->is_ip && rr->data != NULL) {
            pb_node_set_str(ips, NULL, rr->data);
        }
    }
}

/* The records rrsToMapStrs would list. */
static size_t rrs_listed(const struct dns_rr *rrs, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += !rrs[i].is_opt && (rrs[i].data != NULL || rrs[i].nkv != 0);
    }
    return c;
}

static void put_opt(pb_node *j, const struct dns_opt *o)
{
    char b[24], ver[24];
    pb_node_set_bool(j, "do", o->do_bit);
    pb_node_set_str(j, "version", u64_str(o->version, ver));
    pb_node_set_int(j, "udp_size", o->udp_size);
    pb_node_set_str(j, "ext_rcode", dns_rcode_str(o->ext_rcode, b));
    const struct {
        const char *k;
        const char *v;
    } kv[] = {{"dau", o->dau}, {"dhu", o->dhu},   {"local", o->local},   {"llq", o->llq},
              {"n3u", o->n3u}, {"nsid", o->nsid}, {"subnet", o->subnet}, {"ul", o->ul}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        pb_node_set_str(j, kv[i].k, kv[i].v); /* NULL: no-op */
    }
}

static void add_question(pb_node *d, const struct dns_question *q)
{
    char b1[24], b2[24];
    pb_node *qo = pb_node_obj(d, "question");
    if (qo == NULL) {
        return;
    }
    pb_node_set_str(qo, "name", q->name);
    pb_node_set_str(qo, "type", dns_type_str(q->qtype, b1));
    pb_node_set_str(qo, "class", dns_class_str(q->qclass, b2));
    const char *reg = dns_etld_plus_one(q->name);
    if (reg != NULL) {
        pb_node_set_str(qo, "etld_plus_one", reg);
        pb_node_set_str(qo, "registered_domain", reg);
        const char *dot = strchr(reg, '.');
        if (dot != NULL) {
            pb_node_set_str(qo, "top_level_domain", dot + 1);
        }
        /* subdomain: the name without ".<registered domain>" */
        size_t nl = strlen(q->name), rl = strlen(reg);
        if (nl > rl && memcmp(q->name + nl - rl, reg, rl) == 0) {
            size_t sl = nl - rl;
            if (q->name[sl - 1] == '.') {
                sl--;
            }
            if (sl > 0) {
                pb_node_set_strn(qo, "subdomain", q->name, sl);
            }
        }
    }
}

/* addDNSToMapStr */
static void add_dns(pb_event *ev, const struct dns_msg *m, bool auth, bool add)
{
    /* related.ip gets the answers' addresses before dns is added, as in
     * the jansson build (related, when missing, comes before dns); the
     * count says whether resolved_ip is shown */
    size_t nips = 0;
    if (m->count[DNS_ANSWER] > 0) {
        for (size_t i = 0; i < m->nrr[DNS_ANSWER]; i++) {
            const struct dns_rr *rr = &m->rr[DNS_ANSWER][i];
            if (!rr->is_opt && rr->is_ip && rr->data != NULL) {
                pb_ev_add_related_ip(ev, rr->data);
                nips++;
            }
        }
    }

    pb_node *d = pb_ev_obj(ev, "dns");
    if (d == NULL) {
        return;
    }
    char b[24];
    pb_node_set_int(d, "id", m->id);
    pb_node_set_str(d, "op_code", dns_opcode_str(m->opcode, b));
    pb_node *flags = pb_node_obj(d, "flags");
    pb_node_set_bool(flags, "authoritative", m->aa);
    pb_node_set_bool(flags, "truncated_response", m->tc);
    pb_node_set_bool(flags, "recursion_desired", m->rd);
    pb_node_set_bool(flags, "recursion_available", m->ra);
    pb_node_set_bool(flags, "authentic_data", m->ad);
    pb_node_set_bool(flags, "checking_disabled", m->cd);
    pb_node_set_str(d, "response_code", dns_rcode_str(m->rcode, b));

    if (m->aa || m->tc || m->rd || m->ra || m->ad || m->cd) {
        const struct {
            bool on;
            const char *name;
        } hflags[] = {{m->aa, "AA"}, {m->tc, "TC"}, {m->rd, "RD"},
                      {m->ra, "RA"}, {m->ad, "AD"}, {m->cd, "CD"}};
        pb_node *hf = pb_node_arr(d, "header_flags");
        for (size_t i = 0; i < sizeof hflags / sizeof hflags[0]; i++) {
            if (hflags[i].on) {
                pb_node_set_str(hf, NULL, hflags[i].name);
            }
        }
    }
    pb_node_set_str(d, "type", m->response ? "answer" : "query");

    if (m->nq > 0) {
        add_question(d, &m->q[0]);
    }
    if (m->opt.present) {
        put_opt(pb_node_obj(d, "opt"), &m->opt);
    }

    pb_node_set_int(d, "answers_count", (int64_t)m->count[DNS_ANSWER]);
    if (m->count[DNS_ANSWER] > 0) {
        pb_node *arr = pb_node_arr(d, "answers");
        pb_node *ips = nips > 0 ? pb_node_arr(d, "resolved_ip") : NULL;
        put_rrs(arr, m->rr[DNS_ANSWER], m->nrr[DNS_ANSWER], ips);
    }

    pb_node_set_int(d, "authorities_count", (int64_t)m->count[DNS_AUTHORITY]);
    if (auth && m->count[DNS_AUTHORITY] > 0) {
        put_rrs(pb_node_arr(d, "authorities"), m->rr[DNS_AUTHORITY], m->nrr[DNS_AUTHORITY], NULL);
    }

    size_t addc = m->count[DNS_ADDITIONAL];
    if (m->opt.present && addc > 0) {
        addc--;
    }
    pb_node_set_int(d, "additionals_count", (int64_t)addc);
    if (add && m->count[DNS_ADDITIONAL] > 0 &&
        rrs_listed(m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]) > 0) {
        put_rrs(pb_node_arr(d, "additionals"), m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL], NULL);
    }
}

static void put_text(pb_node *root, const char *key, const struct dns_msg *m)
{
    char *s = dns_msg_to_string(m);
    if (s != NULL) {
        pb_node_set_str(root, key, s);
        pb_free(s);
    }
}

pb_event *dns_event_build(const struct dns_event_in *in)
{
    const struct dns_msg *req = in->req, *resp = in->resp;
    const struct dns_msg *info = req != NULL ? req : resp;  /* method, query, resource */
    const struct dns_msg *body = resp != NULL ? resp : req; /* dns.* */
    if (info == NULL) {
        return NULL;
    }
    struct pb_tx tx = {0};
    tx.type = "dns";
    tx.tuple = in->tuple;
    tx.start_ns = req != NULL ? in->req_ts_ns : in->resp_ts_ns;
    tx.end_ns = resp != NULL ? in->resp_ts_ns : 0;
    tx.status = (req != NULL && resp != NULL && resp->rcode == 0) ? "OK" : "Error";
    tx.src_bytes = req != NULL ? (int64_t)req->length : -1;
    tx.dst_bytes = resp != NULL ? (int64_t)resp->length : -1;
    tx.error = in->nnotes == 1 ? in->notes[0] : NULL;
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    if (req == NULL) {
        /* an orphaned response has an end but no start */
        pb_ev_del(ev, "event.start");
        pb_ev_del(ev, "event.duration");
    }
    if (in->nnotes > 1) {
        pb_node *arr = pb_ev_arr(ev, "error.message");
        for (size_t i = 0; i < in->nnotes; i++) {
            pb_node_set_str(arr, NULL, in->notes[i]);
        }
    }

    pb_node *root = pb_ev_obj(ev, "");
    char b[24];
    pb_node_set_str(root, "method", dns_opcode_str(info->opcode, b));
    if (info->nq > 0) {
        struct dns_text t = {0};
        put_question_text(&t, &info->q[0]);
        char *q = dns_text_take(&t);
        if (q != NULL) {
            pb_node_set_str(root, "query", q);
            pb_free(q);
        }
        pb_node_set_str(root, "resource", info->q[0].name);
    }
    add_dns(ev, body, in->include_authorities, in->include_additionals);
    if (req != NULL && in->send_request) {
        put_text(root, "request", req);
    }
    if (resp != NULL && in->send_response) {
        put_text(root, "response", resp);
    }
    return ev;
}
