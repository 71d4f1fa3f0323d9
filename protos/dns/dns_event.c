/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_event.c - the "dns" event: common transaction fields from
 * pb_tx_event(), then method/query/resource, dns.* (question with public
 * suffix parts, flags, header_flags, opt, answers, authorities,
 * additionals, resolved_ip) and the request/response texts.
 */
#include "dns_event.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/secw.h"
#include "dns_text.h"

bool dns_event_one_pass = true;

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

/* A code's name at a new literal key: by reference when it is the table's
 * string, copied when it was written into buf (a number). */
static void add_code(pb_node *n, const char *key, size_t klen, const char *s, const char *buf)
{
    if (s == buf) {
        pb_node_add_plain(n, key, klen, s);
    } else {
        pb_node_add_static(n, key, klen, s);
    }
}

/* A question's name at a new literal key (plain: needs no escaping). */
static void add_name(pb_node *n, const char *key, size_t klen, const struct dns_question *q)
{
    if (q->name_plain) {
        pb_node_add_plain(n, key, klen, q->name);
    } else {
        pb_node_add_strn(n, key, klen, q->name, q->name_len);
    }
}

/* The section writer's add_code and add_name (DOM mode: copies). */
static void sw_str(struct pb_secw *w, const char *key, size_t klen, const char *s)
{
    if (s != NULL) {
        pb_secw_strn(w, key, klen, s, strlen(s));
    }
}

/* rrsToMapStrs: one object per record, OPT and empty records left out. */
static void put_rrs(struct pb_secw *w, const char *key, size_t klen, const struct dns_rr *rrs,
                    size_t n)
{
    pb_secw_arr(w, key, klen);
    for (size_t i = 0; i < n; i++) {
        const struct dns_rr *rr = &rrs[i];
        if (rr->is_opt || (rr->data == NULL && rr->nkv == 0)) {
            continue;
        }
        pb_secw_obj(w, NULL, 0);
        char b1[24], b2[24], ttl[24];
        /* the parser's keys: literals, distinct within a record and from
           the five below */
        for (size_t k = 0; k < rr->nkv; k++) {
            const char *kk = rr->kv[k].key;
            if (rr->kv[k].str != NULL) {
                sw_str(w, kk, strlen(kk), rr->kv[k].str);
            } else {
                pb_secw_int(w, kk, strlen(kk), (int64_t)rr->kv[k].num);
            }
        }
        sw_str(w, PB_KEY("data"), rr->data);
        sw_str(w, PB_KEY("name"), rr->name);
        sw_str(w, PB_KEY("type"), dns_type_str(rr->type, b1));
        sw_str(w, PB_KEY("class"), dns_class_str(rr->klass, b2));
        sw_str(w, PB_KEY("ttl"), u64_str(rr->ttl, ttl));
        pb_secw_end(w);
    }
    pb_secw_end(w);
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

static void put_opt(struct pb_secw *w, const struct dns_opt *o)
{
    char b[24], ver[24];
    pb_secw_obj(w, PB_KEY("opt"));
    pb_secw_bool(w, PB_KEY("do"), o->do_bit);
    sw_str(w, PB_KEY("version"), u64_str(o->version, ver));
    pb_secw_int(w, PB_KEY("udp_size"), o->udp_size);
    sw_str(w, PB_KEY("ext_rcode"), dns_rcode_str(o->ext_rcode, b));
    /* NULL: none */
    sw_str(w, PB_KEY("dau"), o->dau);
    sw_str(w, PB_KEY("dhu"), o->dhu);
    sw_str(w, PB_KEY("local"), o->local);
    sw_str(w, PB_KEY("llq"), o->llq);
    sw_str(w, PB_KEY("n3u"), o->n3u);
    sw_str(w, PB_KEY("nsid"), o->nsid);
    sw_str(w, PB_KEY("subnet"), o->subnet);
    sw_str(w, PB_KEY("ul"), o->ul);
    pb_secw_end(w);
}

static void add_question(struct pb_secw *w, const struct dns_question *q)
{
    char b1[24], b2[24];
    pb_secw_obj(w, PB_KEY("question"));
    size_t nl = strlen(q->name);
    pb_secw_strn(w, PB_KEY("name"), q->name, nl);
    sw_str(w, PB_KEY("type"), dns_type_str(q->qtype, b1));
    sw_str(w, PB_KEY("class"), dns_class_str(q->qclass, b2));
    const char *reg = dns_etld_plus_one(q->name);
    if (reg != NULL) {
        /* a suffix of the name */
        size_t rl = nl - (size_t)(reg - q->name);
        const char *dot = memchr(reg, '.', rl);
        pb_secw_strn(w, PB_KEY("etld_plus_one"), reg, rl);
        pb_secw_strn(w, PB_KEY("registered_domain"), reg, rl);
        if (dot != NULL) {
            pb_secw_strn(w, PB_KEY("top_level_domain"), dot + 1, rl - (size_t)(dot + 1 - reg));
        }
        /* subdomain: the name without ".<registered domain>" */
        if (nl > rl) {
            size_t sl = nl - rl;
            if (q->name[sl - 1] == '.') {
                sl--;
            }
            if (sl > 0) {
                pb_secw_strn(w, PB_KEY("subdomain"), q->name, sl);
            }
        }
    }
    pb_secw_end(w);
}

/* dns.header_flags for each set of the six flags (bit 5 AA ... bit 0
 * CD): the names in order. */
static const char *const hf_name[6] = {"AA", "TC", "RD", "RA", "AD", "CD"};

/* The answers' A/AAAA addresses, as related.ip and dns.resolved_ip list
 * them: *n of them, the first MAX_IPS in v. */
enum { MAX_IPS = 16 };
static void answer_ips(const struct dns_msg *m, const char *v[MAX_IPS], size_t *n)
{
    *n = 0;
    if (m->count[DNS_ANSWER] == 0) {
        return;
    }
    for (size_t i = 0; i < m->nrr[DNS_ANSWER]; i++) {
        const struct dns_rr *rr = &m->rr[DNS_ANSWER][i];
        if (!rr->is_opt && rr->is_ip && rr->data != NULL) {
            if (*n < MAX_IPS) {
                v[*n] = rr->data;
            }
            (*n)++;
        }
    }
}

/* addDNSToMapStr: the dns section */
static void dns_section(struct pb_secw *w, const struct dns_msg *m, bool auth, bool add,
                        size_t nips)
{
    char b[24];
    pb_secw_int(w, PB_KEY("id"), m->id);
    sw_str(w, PB_KEY("op_code"), dns_opcode_str(m->opcode, b));
    pb_secw_obj(w, PB_KEY("flags"));
    pb_secw_bool(w, PB_KEY("authoritative"), m->aa);
    pb_secw_bool(w, PB_KEY("truncated_response"), m->tc);
    pb_secw_bool(w, PB_KEY("recursion_desired"), m->rd);
    pb_secw_bool(w, PB_KEY("recursion_available"), m->ra);
    pb_secw_bool(w, PB_KEY("authentic_data"), m->ad);
    pb_secw_bool(w, PB_KEY("checking_disabled"), m->cd);
    pb_secw_end(w);
    sw_str(w, PB_KEY("response_code"), dns_rcode_str(m->rcode, b));

    bool hf[6] = {m->aa, m->tc, m->rd, m->ra, m->ad, m->cd};
    if (m->aa || m->tc || m->rd || m->ra || m->ad || m->cd) {
        pb_secw_arr(w, PB_KEY("header_flags"));
        for (int i = 0; i < 6; i++) {
            if (hf[i]) {
                pb_secw_static(w, NULL, 0, hf_name[i]);
            }
        }
        pb_secw_end(w);
    }
    pb_secw_static(w, PB_KEY("type"), m->response ? "answer" : "query");

    if (m->nq > 0) {
        add_question(w, &m->q[0]);
    }
    if (m->opt.present) {
        put_opt(w, &m->opt);
    }

    pb_secw_int(w, PB_KEY("answers_count"), (int64_t)m->count[DNS_ANSWER]);
    if (m->count[DNS_ANSWER] > 0) {
        put_rrs(w, PB_KEY("answers"), m->rr[DNS_ANSWER], m->nrr[DNS_ANSWER]);
        if (nips > 0) {
            pb_secw_arr(w, PB_KEY("resolved_ip"));
            for (size_t i = 0; i < m->nrr[DNS_ANSWER]; i++) {
                const struct dns_rr *rr = &m->rr[DNS_ANSWER][i];
                if (!rr->is_opt && rr->is_ip && rr->data != NULL) {
                    sw_str(w, NULL, 0, rr->data);
                }
            }
            pb_secw_end(w);
        }
    }

    pb_secw_int(w, PB_KEY("authorities_count"), (int64_t)m->count[DNS_AUTHORITY]);
    if (auth && m->count[DNS_AUTHORITY] > 0) {
        put_rrs(w, PB_KEY("authorities"), m->rr[DNS_AUTHORITY], m->nrr[DNS_AUTHORITY]);
    }

    size_t addc = m->count[DNS_ADDITIONAL];
    if (m->opt.present && addc > 0) {
        addc--;
    }
    pb_secw_int(w, PB_KEY("additionals_count"), (int64_t)addc);
    if (add && m->count[DNS_ADDITIONAL] > 0 &&
        rrs_listed(m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]) > 0) {
        put_rrs(w, PB_KEY("additionals"), m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]);
    }
}

/* ---- dns.* in one pass ---------------------------------------------------- */

/* The usual dns section is written straight as its text: keys and the
 * punctuation around them are literals, so a record costs a few copies
 * where the section writer checks and writes every member on its own
 * (dns.* was a tenth of a DNS-heavy capture's instructions). Anything
 * this writer does not take (a string that needs escaping, more than
 * PB_SECW_BYTES of text) spoils the text and dns_section writes the
 * section instead; the text is byte for byte what that would write
 * (tests/protos/test_dns.c compares the two on random messages).
 *
 * The writer is two pointers, passed and returned by value by the writers
 * that are not inlined, so that o stays in a register (a store through o
 * could change o if o lived in memory). */
struct dtw {
    char *o, *end; /* the buffer goes on for DNS_SECTION_SLACK bytes past end */
};

/* Text of a length known only here (strings, numbers, the parser's keys)
 * is checked against end; a failed check spoils the text: o goes to just
 * past end, where every later check fails too. Literals are not checked:
 * every record, list item and member of a variable length has a checked
 * write, so fewer than DNS_SECTION_SLACK literal bytes come between two
 * checks (the longest run, the flags, is 180 bytes), and o never passes
 * the buffer. The text fits when o has not passed end at its end. */
static inline bool dtw_fits(const struct dtw *t, size_t n)
{
    /* signed: o may be past end (n is far below PTRDIFF_MAX, as are the
       parser's texts) */
    return t->end - t->o >= (ptrdiff_t)n;
}

static inline void dtw_spoil(struct dtw *t)
{
    t->o = t->end + 1;
}

static inline void dtw_mem(struct dtw *t, const char *s, size_t n)
{
    if (!dtw_fits(t, n)) {
        dtw_spoil(t);
        return;
    }
    memcpy(t->o, s, n);
    t->o += n;
}

static inline void dtw_lit(struct dtw *t, const char *s, size_t n)
{
    assert((size_t)(t->end + DNS_SECTION_SLACK - t->o) >= n);
    memcpy(t->o, s, n);
    t->o += n;
}
#define DTW_LIT(t, lit) dtw_lit((t), "" lit "", sizeof(lit) - 1)

/* A string between quotes, when it needs no escaping. */
static inline void dtw_strn(struct dtw *t, const char *s, size_t n)
{
    if (!dtw_fits(t, n + 2) || !pb_json_plain(s, n)) {
        dtw_spoil(t);
        return;
    }
    t->o = pb_jw_quoted(t->o, s, n);
}

static inline void dtw_str(struct dtw *t, const char *s)
{
    dtw_strn(t, s, strlen(s));
}

/* A string known to need no escaping (our tables' names, numbers,
 * addresses, plain names), between quotes. */
static inline void dtw_plainn(struct dtw *t, const char *s, size_t n)
{
    assert(pb_json_plain(s, n));
    if (!dtw_fits(t, n + 2)) {
        dtw_spoil(t);
        return;
    }
    t->o = pb_jw_quoted(t->o, s, n);
}

/* The parser's text s (n bytes): plain when it says so, else checked. */
static inline void dtw_text(struct dtw *t, const char *s, size_t n, bool plain)
{
    if (plain) {
        dtw_plainn(t, s, n);
    } else {
        dtw_strn(t, s, n);
    }
}

/* A record's or question's type and class, after `"type":` */
static inline void dtw_type_class(struct dtw *t, uint16_t type, uint16_t klass)
{
    char b[24];
    size_t n;
    const char *s = dns_type_strn(type, b, &n);
    dtw_plainn(t, s, n);
    if (klass == 1) {
        DTW_LIT(t, ",\"class\":\"IN\"");
        return;
    }
    DTW_LIT(t, ",\"class\":");
    s = dns_class_strn(klass, b, &n);
    dtw_plainn(t, s, n);
}

static inline void dtw_int(struct dtw *t, int64_t v)
{
    if (!dtw_fits(t, 20)) {
        dtw_spoil(t);
        return;
    }
    t->o = pb_jw_int(t->o, v);
}

static inline void dtw_bool(struct dtw *t, bool v)
{
    if (v) {
        DTW_LIT(t, "true");
    } else {
        DTW_LIT(t, "false");
    }
}

/* A comma before every member but an object's first. */
static inline void dtw_sep(struct dtw *t, bool *any)
{
    if (*any) {
        DTW_LIT(t, ",");
    }
    *any = true;
}

/* put_rrs: the records as objects, after `"key":` */
static struct dtw dtw_rrs(struct dtw w, const struct dns_rr *rrs, size_t n)
{
    struct dtw *t = &w;
    bool first = true;
    DTW_LIT(t, "[");
    for (size_t i = 0; i < n; i++) {
        const struct dns_rr *rr = &rrs[i];
        if (rr->is_opt || (rr->data == NULL && rr->nkv == 0)) {
            continue;
        }
        if (!first) {
            DTW_LIT(t, ",");
        }
        first = false;
        DTW_LIT(t, "{");
        bool any = false;
        for (size_t k = 0; k < rr->nkv; k++) {
            dtw_sep(t, &any);
            DTW_LIT(t, "\"");
            dtw_mem(t, rr->kv[k].key, strlen(rr->kv[k].key)); /* the parser's literals */
            DTW_LIT(t, "\":");
            if (rr->kv[k].str != NULL) {
                dtw_str(t, rr->kv[k].str);
            } else {
                dtw_int(t, (int64_t)rr->kv[k].num);
            }
        }
        if (rr->data != NULL) {
            dtw_sep(t, &any);
            DTW_LIT(t, "\"data\":");
            dtw_text(t, rr->data, rr->data_len, rr->data_plain);
        }
        if (rr->name != NULL) {
            dtw_sep(t, &any);
            DTW_LIT(t, "\"name\":");
            dtw_text(t, rr->name, rr->name_len, rr->name_plain);
        }
        dtw_sep(t, &any);
        DTW_LIT(t, "\"type\":");
        dtw_type_class(t, rr->type, rr->klass);
        DTW_LIT(t, ",\"ttl\":\""); /* a string, as Packetbeat has it */
        dtw_int(t, rr->ttl);
        DTW_LIT(t, "\"}");
    }
    DTW_LIT(t, "]");
    return w;
}

/* add_question, after `"question":` */
static struct dtw dtw_question(struct dtw w, const struct dns_question *q,
                               struct dns_psl_memo *memo)
{
    struct dtw *t = &w;
    size_t nl = q->name_len;
    bool plain = q->name_plain; /* and so every part of the name */
    DTW_LIT(t, "{\"name\":");
    dtw_text(t, q->name, nl, plain);
    DTW_LIT(t, ",\"type\":");
    dtw_type_class(t, q->qtype, q->qclass);
    const char *reg = dns_etld_plus_one_n(memo, q->name, nl);
    if (reg != NULL) {
        size_t rl = nl - (size_t)(reg - q->name);
        const char *dot = memchr(reg, '.', rl);
        DTW_LIT(t, ",\"etld_plus_one\":");
        dtw_text(t, reg, rl, plain);
        DTW_LIT(t, ",\"registered_domain\":");
        dtw_text(t, reg, rl, plain);
        if (dot != NULL) {
            DTW_LIT(t, ",\"top_level_domain\":");
            dtw_text(t, dot + 1, rl - (size_t)(dot + 1 - reg), plain);
        }
        if (nl > rl) {
            size_t sl = nl - rl;
            if (q->name[sl - 1] == '.') {
                sl--;
            }
            if (sl > 0) {
                DTW_LIT(t, ",\"subdomain\":");
                dtw_text(t, q->name, sl, plain);
            }
        }
    }
    DTW_LIT(t, "}");
    return w;
}

/* put_opt, after `"opt":` */
static struct dtw dtw_opt(struct dtw w, const struct dns_opt *o)
{
    struct dtw *t = &w;
    char b[24];
    DTW_LIT(t, "{\"do\":");
    dtw_bool(t, o->do_bit);
    DTW_LIT(t, ",\"version\":\""); /* a string, as Packetbeat has it */
    dtw_int(t, o->version);
    DTW_LIT(t, "\",\"udp_size\":");
    dtw_int(t, o->udp_size);
    DTW_LIT(t, ",\"ext_rcode\":");
    size_t n;
    const char *rc = dns_rcode_strn(o->ext_rcode, b, &n);
    dtw_plainn(t, rc, n);
    static const char *const keys[] = {"dau", "dhu", "local", "llq", "n3u", "nsid", "subnet", "ul"};
    const char *const vals[] = {o->dau, o->dhu,  o->local,  o->llq,
                                o->n3u, o->nsid, o->subnet, o->ul};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (vals[i] != NULL) {
            DTW_LIT(t, ",\"");
            dtw_mem(t, keys[i], strlen(keys[i]));
            DTW_LIT(t, "\":");
            dtw_str(t, vals[i]);
        }
    }
    DTW_LIT(t, "}");
    return w;
}

size_t dns_section_json(const struct dns_msg *m, bool auth, bool add, struct dns_psl_memo *memo,
                        char *buf, size_t cap)
{
    struct dtw t = {buf, buf + cap};
    struct dtw *w = &t;
    char b[24];
    DTW_LIT(w, "{\"id\":");
    dtw_int(w, m->id);
    DTW_LIT(w, ",\"op_code\":");
    size_t n;
    const char *code = dns_opcode_strn(m->opcode, b, &n);
    dtw_plainn(w, code, n);
    DTW_LIT(w, ",\"flags\":{\"authoritative\":");
    dtw_bool(w, m->aa);
    DTW_LIT(w, ",\"truncated_response\":");
    dtw_bool(w, m->tc);
    DTW_LIT(w, ",\"recursion_desired\":");
    dtw_bool(w, m->rd);
    DTW_LIT(w, ",\"recursion_available\":");
    dtw_bool(w, m->ra);
    DTW_LIT(w, ",\"authentic_data\":");
    dtw_bool(w, m->ad);
    DTW_LIT(w, ",\"checking_disabled\":");
    dtw_bool(w, m->cd);
    DTW_LIT(w, "},\"response_code\":");
    code = dns_rcode_strn(m->rcode, b, &n);
    dtw_plainn(w, code, n);
    const bool hf[6] = {m->aa, m->tc, m->rd, m->ra, m->ad, m->cd};
    if (m->aa || m->tc || m->rd || m->ra || m->ad || m->cd) {
        DTW_LIT(w, ",\"header_flags\":[");
        bool any = false;
        for (int i = 0; i < 6; i++) {
            if (hf[i]) {
                dtw_sep(w, &any);
                dtw_plainn(w, hf_name[i], 2);
            }
        }
        DTW_LIT(w, "]");
    }
    if (m->response) {
        DTW_LIT(w, ",\"type\":\"answer\"");
    } else {
        DTW_LIT(w, ",\"type\":\"query\"");
    }
    if (m->nq > 0) {
        DTW_LIT(w, ",\"question\":");
        t = dtw_question(t, &m->q[0], memo);
    }
    if (m->opt.present) {
        DTW_LIT(w, ",\"opt\":");
        t = dtw_opt(t, &m->opt);
    }
    DTW_LIT(w, ",\"answers_count\":");
    dtw_int(w, (int64_t)m->count[DNS_ANSWER]);
    if (m->count[DNS_ANSWER] > 0) {
        const struct dns_rr *an = m->rr[DNS_ANSWER];
        DTW_LIT(w, ",\"answers\":");
        t = dtw_rrs(t, an, m->nrr[DNS_ANSWER]);
        bool any = false;
        for (size_t i = 0; i < m->nrr[DNS_ANSWER]; i++) {
            if (!an[i].is_opt && an[i].is_ip && an[i].data != NULL) {
                if (!any) {
                    DTW_LIT(w, ",\"resolved_ip\":[");
                } else {
                    DTW_LIT(w, ",");
                }
                any = true;
                dtw_text(w, an[i].data, an[i].data_len, an[i].data_plain);
            }
        }
        if (any) {
            DTW_LIT(w, "]");
        }
    }
    DTW_LIT(w, ",\"authorities_count\":");
    dtw_int(w, (int64_t)m->count[DNS_AUTHORITY]);
    if (auth && m->count[DNS_AUTHORITY] > 0) {
        DTW_LIT(w, ",\"authorities\":");
        t = dtw_rrs(t, m->rr[DNS_AUTHORITY], m->nrr[DNS_AUTHORITY]);
    }
    size_t addc = m->count[DNS_ADDITIONAL];
    if (m->opt.present && addc > 0) {
        addc--;
    }
    DTW_LIT(w, ",\"additionals_count\":");
    dtw_int(w, (int64_t)addc);
    if (add && m->count[DNS_ADDITIONAL] > 0 &&
        rrs_listed(m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]) > 0) {
        DTW_LIT(w, ",\"additionals\":");
        t = dtw_rrs(t, m->rr[DNS_ADDITIONAL], m->nrr[DNS_ADDITIONAL]);
    }
    DTW_LIT(w, "}");
    return t.o > t.end ? 0 : (size_t)(t.o - buf);
}

/* related.ip from the answers, then root's new "dns" */
static void add_dns(pb_event *ev, pb_node *root, const struct dns_msg *m, bool auth, bool add,
                    struct dns_psl_memo *memo)
{
    /* related.ip gets the answers' addresses before dns is added, as in
     * the jansson build (related, when missing, comes before dns); the
     * count says whether resolved_ip is shown */
    const char *ipv[MAX_IPS];
    size_t nips = 0;
    answer_ips(m, ipv, &nips);
    if (nips > MAX_IPS) {
        for (size_t i = 0; i < m->nrr[DNS_ANSWER]; i++) {
            const struct dns_rr *rr = &m->rr[DNS_ANSWER][i];
            if (!rr->is_opt && rr->is_ip && rr->data != NULL) {
                pb_ev_add_related_ip(ev, rr->data);
            }
        }
    } else if (nips > 0) {
        pb_ev_add_related_ips(ev, ipv, nips);
    }
    /* in one pass (the usual case), else through the section writer: as
       its text when it can be, else as members */
    char text[PB_SECW_BYTES + DNS_SECTION_SLACK];
    size_t n = dns_event_one_pass ? dns_section_json(m, auth, add, memo, text, PB_SECW_BYTES) : 0;
    if (n > 0 && pb_node_add_raw(root, PB_KEY("dns"), text, n) == 0) {
        return;
    }
    struct pb_secw w;
    pb_secw_text(&w);
    dns_section(&w, m, auth, add, nips);
    if (pb_secw_finish(&w, root, PB_KEY("dns")) != 0) {
        pb_node *d = pb_node_add_obj(root, PB_KEY("dns"));
        if (d != NULL) {
            pb_secw_dom(&w, d);
            dns_section(&w, m, auth, add, nips);
        }
    }
}

static void put_text(pb_node *root, const char *key, size_t klen, const struct dns_msg *m)
{
    char *s = dns_msg_to_string(m);
    if (s != NULL) {
        pb_node_add_str(root, key, klen, s);
        pb_free(s);
    }
}

/* Appends s (n bytes) at *o when it fits before end; false when not. */
static bool put_mem(char **o, const char *end, const char *s, size_t n)
{
    if ((size_t)(end - *o) < n) {
        return false;
    }
    memcpy(*o, s, n);
    *o += n;
    return true;
}

/* root.query: put_question_text's text, on the stack when it fits. */
static void add_query(pb_node *root, const struct dns_question *q)
{
    char b1[24], b2[24], buf[320];
    size_t cll, tyl;
    const char *cl = dns_class_strn(q->qclass, b1, &cll), *ty = dns_type_strn(q->qtype, b2, &tyl);
    char *o = buf;
    const char *end = buf + sizeof buf;
    if (put_mem(&o, end, "class ", 6) && put_mem(&o, end, cl, cll) &&
        put_mem(&o, end, ", type ", 7) && put_mem(&o, end, ty, tyl) && put_mem(&o, end, ", ", 2) &&
        put_mem(&o, end, q->name, (size_t)q->name_len + 1)) {
        /* the code names are plain, and so the text when the name is */
        if (q->name_plain) {
            pb_node_add_plain(root, PB_KEY("query"), buf);
        } else {
            pb_node_add_strn(root, PB_KEY("query"), buf, (size_t)(o - buf) - 1);
        }
        return;
    }
    struct dns_text t = {0};
    put_question_text(&t, q);
    char *s = dns_text_take(&t);
    if (s != NULL) {
        pb_node_add_str(root, PB_KEY("query"), s);
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
    const char *method = dns_opcode_str(info->opcode, b);
    add_code(root, PB_KEY("method"), method, b);
    if (info->nq > 0) {
        add_query(root, &info->q[0]);
        add_name(root, PB_KEY("resource"), &info->q[0]);
    }
    add_dns(ev, root, body, in->include_authorities, in->include_additionals, in->psl_memo);
    if (req != NULL && in->send_request) {
        put_text(root, PB_KEY("request"), req);
    }
    if (resp != NULL && in->send_response) {
        put_text(root, PB_KEY("response"), resp);
    }
    return ev;
}
