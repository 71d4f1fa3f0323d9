/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_event.c - the "dns" event: common transaction fields from
 * pb_tx_event(), then method/query/resource, dns.* (question with public
 * suffix parts, flags, header_flags, opt, answers, authorities,
 * additionals, resolved_ip) and the request/response texts.
 */
#include "dns_event.h"

#include <stdio.h>
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

static json_t *str_or_null(const char *s)
{
    return s != NULL ? pb_json_strn(s, strlen(s)) : NULL;
}

/* rrsToMapStrs: one object per record, OPT and empty records left out;
 * A/AAAA data of the answer section collected into ips. */
static json_t *rrs_json(const struct dns_rr *rrs, size_t n, json_t *ips)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct dns_rr *rr = &rrs[i];
        if (rr->is_opt || (rr->data == NULL && rr->nkv == 0)) {
            continue;
        }
        json_t *o = json_object();
        if (o == NULL) {
            break;
        }
        char b1[24], b2[24], ttl[24];
        for (size_t k = 0; k < rr->nkv; k++) {
            json_t *v = rr->kv[k].str != NULL ? str_or_null(rr->kv[k].str)
                                              : json_integer((json_int_t)rr->kv[k].num);
            if (v != NULL) {
                json_object_set_new(o, rr->kv[k].key, v);
            }
        }
        if (rr->data != NULL) {
            json_object_set_new_nocheck(o, "data", str_or_null(rr->data));
        }
        json_object_set_new_nocheck(o, "name", str_or_null(rr->name));
        json_object_set_new_nocheck(o, "type", json_string(dns_type_str(rr->type, b1)));
        json_object_set_new_nocheck(o, "class", json_string(dns_class_str(rr->klass, b2)));
        snprintf(ttl, sizeof ttl, "%lu", (unsigned long)rr->ttl);
        json_object_set_new_nocheck(o, "ttl", json_string(ttl));
        json_array_append_new(arr, o);
        if (ips != NULL && rr->is_ip && rr->data != NULL) {
            json_array_append_new(ips, json_string(rr->data));
        }
    }
    return arr;
}

static json_t *opt_json(const struct dns_opt *o)
{
    json_t *j = json_object();
    if (j == NULL) {
        return NULL;
    }
    char b[24], ver[8];
    snprintf(ver, sizeof ver, "%u", (unsigned)o->version);
    json_object_set_new_nocheck(j, "do", json_boolean(o->do_bit));
    json_object_set_new_nocheck(j, "version", json_string(ver));
    json_object_set_new_nocheck(j, "udp_size", json_integer(o->udp_size));
    json_object_set_new_nocheck(j, "ext_rcode", json_string(dns_rcode_str(o->ext_rcode, b)));
    const struct {
        const char *k;
        const char *v;
    } kv[] = {{"dau", o->dau}, {"dhu", o->dhu},   {"local", o->local},   {"llq", o->llq},
              {"n3u", o->n3u}, {"nsid", o->nsid}, {"subnet", o->subnet}, {"ul", o->ul}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (kv[i].v != NULL) {
            json_object_set_new(j, kv[i].k, str_or_null(kv[i].v));
        }
    }
    return j;
}

static void add_question(json_t *d, const struct dns_question *q)
{
    char b1[24], b2[24];
    json_t *qo = json_object();
    if (qo == NULL) {
        return;
    }
    json_object_set_new_nocheck(qo, "name", str_or_null(q->name));
    json_object_set_new_nocheck(qo, "type", json_string(dns_type_str(q->qtype, b1)));
    json_object_set_new_nocheck(qo, "class", json_string(dns_class_str(q->qclass, b2)));
    const char *reg = dns_etld_plus_one(q->name);
    if (reg != NULL) {
        json_object_set_new_nocheck(qo, "etld_plus_one", str_or_null(reg));
        json_object_set_new_nocheck(qo, "registered_domain", str_or_null(reg));
        const char *dot = strchr(reg, '.');
        if (dot != NULL) {
            json_object_set_new_nocheck(qo, "top_level_domain", str_or_null(dot + 1));
        }
        /* subdomain: the name without ".<registered domain>" */
        size_t nl = strlen(q->name), rl = strlen(reg);
        if (nl > rl && memcmp(q->name + nl - rl, reg, rl) == 0) {
            size_t sl = nl - rl;
            if (q->name[sl - 1] == '.') {
                sl--;
            }
            if (sl > 0) {
                json_object_set_new_nocheck(qo, "subdomain", pb_json_strn(q->name, sl));
            }
        }
    }
    json_object_set_new_nocheck(d, "question", qo);
}

/* addDNSToMapStr */
static void add_dns(pb_event *ev, json_t *d, const struct dns_msg *m, bool auth, bool add)
{
    char b[24];
    json_object_set_new_nocheck(d, "id", json_integer(m->id));
    json_object_set_new_nocheck(d, "op_code", json_string(dns_opcode_str(m->opcode, b)));
    json_t *flags = json_object();
    if (flags != NULL) {
        json_object_set_new_nocheck(flags, "authoritative", json_boolean(m->aa));
        json_object_set_new_nocheck(flags, "truncated_response", json_boolean(m->tc));
        json_object_set_new_nocheck(flags, "recursion_desired", json_boolean(m->rd));
        json_object_set_new_nocheck(flags, "recursion_available", json_boolean(m->ra));
        json_object_set_new_nocheck(flags, "authentic_data", json_boolean(m->ad));
        json_object_set_new_nocheck(flags, "checking_disabled", json_boolean(m->cd));
        json_object_set_new_nocheck(d, "flags", flags);
    }
    json_object_set_new_nocheck(d, "response_code", json_string(dns_rcode_str(m->rcode, b)));

    json_t *hf = json_array();
    if (hf != NULL) {
        const struct {
            bool on;
            const char *name;
        } hflags[] = {{m->aa, "AA"}, {m->tc, "TC"}, {m->rd, "RD"},
                      {m->ra, "RA"}, {m->ad, "AD"}, {m->cd, "CD"}};
        for (size_t i = 0; i < sizeof hflags / sizeof hflags[0]; i++) {
            if (hflags[i].on) {
                json_array_append_new(hf, json_string(hflags[i].name));
            }
        }
        if (json_array_size(hf) > 0) {
            json_object_set_new_nocheck(d, "header_flags", hf);
        } else {
            json_decref(hf);
        }
    }
    json_object_set_new_nocheck(d, "type", json_string(m->response ? "answer" : "query"));

    if (m->nq > 0) {
        add_question(d, &m->q[0]);
    }
    if (m->opt.present) {
        json_t *o = opt_json(&m->opt);
        if (o != NULL) {
            json_object_set_new_nocheck(d, "opt", o);
        }
    }

    json_object_set_new_nocheck(d, "answers_count", json_integer((json_int_t)m->count[DNS_ANSWER]));
    if (m->count[DNS_ANSWER] > 0) {
        json_t *ips = json_array();
        json_t *arr = rrs_json(m->rr[DNS_ANSWER], m->nrr[DNS_ANSWER], ips);
        if (arr != NULL) {
            json_object_set_new_nocheck(d, "answers", arr);
        }
        if (ips != NULL && json_array_size(ips) > 0) {
            size_t i;
            json_t *v;
            json_array_foreach(ips, i, v)
            {
                pb_ev_add_related_ip(ev, json_string_value(v));
            }
            json_object_set_new_nocheck(d, "resolved_ip", ips);
        } else {
            json_decref(ips);
        }
    }

    json_object_set_new_nocheck(d, "authorities_count",
                                json_integer((json_int_t)m->count[DNS_AUTHORITY]));
    if (auth && m->count[DNS_AUTHORITY] > 0) {
        json_t *arr = rrs_json(m->rr[DNS_AUTHORITY], m->nrr[DNS_AUTHORITY], NULL);
        if (arr != NULL) {
            json_object_set_new_nocheck(d, "authorities", arr);
        }
    }

    size_t addc = m->count[DNS_ADDITIONAL];
    if (m->opt.present && addc > 0) {
        addc--;
    }
    json_object_set_new_nocheck(d, "additionals_count", json_integer((json_int_t)addc));
    if (add && m->count[DNS_ADDITIONAL] > 0) {
        json_t *arr = rrs_json(m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL], NULL);
        if (arr != NULL && json_array_size(arr) > 0) {
            json_object_set_new_nocheck(d, "additionals", arr);
        } else {
            json_decref(arr);
        }
    }
}

static void put_text(pb_event *ev, const char *key, const struct dns_msg *m)
{
    char *s = dns_msg_to_string(m);
    if (s != NULL) {
        pb_ev_put(ev, key, pb_json_strn(s, strlen(s)));
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
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < in->nnotes; i++) {
            json_array_append_new(arr, json_string(in->notes[i]));
        }
        pb_ev_put(ev, "error.message", arr);
    }

    char b[24];
    pb_ev_put(ev, "method", json_string(dns_opcode_str(info->opcode, b)));
    if (info->nq > 0) {
        struct dns_text t = {0};
        put_question_text(&t, &info->q[0]);
        char *q = dns_text_take(&t);
        if (q != NULL) {
            pb_ev_put(ev, "query", pb_json_strn(q, strlen(q)));
            pb_free(q);
        }
        pb_ev_put(ev, "resource", str_or_null(info->q[0].name));
    }
    json_t *d = json_object();
    if (d != NULL) {
        add_dns(ev, d, body, in->include_authorities, in->include_additionals);
        pb_ev_put(ev, "dns", d);
    }
    if (req != NULL && in->send_request) {
        put_text(ev, "request", req);
    }
    if (resp != NULL && in->send_response) {
        put_text(ev, "response", resp);
    }
    return ev;
}
