/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_parse.h - DNS message decoder (RFC 1035, 3597, 4034, 5155,
 * 6891). Pure: no I/O, no globals. Decodes a whole message into a tree of
 * owned strings rendered the way Packetbeat shows them (names in
 * presentation form without the trailing dot, record data as text), and
 * rejects what Packetbeat's decoder rejects.
 */
#ifndef PB_DNS_PARSE_H
#define PB_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps: records kept per section (more are counted and dropped) and the
 * longest rendered text of one record. */
#define DNS_MAX_RRS 4096u
#define DNS_MAX_QUESTIONS 64u
#define DNS_MAX_KV 10u
#define DNS_HDR_LEN 12u

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_OPT 41
#define DNS_TYPE_DS 43
#define DNS_TYPE_RRSIG 46
#define DNS_TYPE_NSEC 47
#define DNS_TYPE_DNSKEY 48
#define DNS_TYPE_NSEC3 50
#define DNS_TYPE_NSEC3PARAM 51

/* One extra field of a record: a string or an unsigned number. */
struct dns_kv {
    const char *key; /* static */
    char *str;       /* in the message's memory; NULL when the value is a number */
    uint64_t num;
};

/* Every string and array below lives in the message's memory (dns_msg.mem)
 * and goes with dns_msg_free. */
struct dns_rr {
    char *name;        /* presentation form without the trailing dot */
    char *data;        /* NULL when the record renders nothing */
    struct dns_kv *kv; /* nkv (<= DNS_MAX_KV) extra fields, NULL when none */
    size_t nkv;
    uint32_t name_len; /* strlen(name) */
    uint32_t data_len; /* strlen(data), 0 when NULL */
    uint32_t ttl;
    uint16_t type;
    uint16_t klass;
    bool is_opt;     /* OPT pseudo-record: never listed */
    bool is_ip;      /* A/AAAA: data is an address */
    bool name_plain; /* no backslash in name (see dns_question) */
    bool data_plain; /* data needs no JSON escaping (false: not known) */
};

/* A name's text is printable ASCII in which '"', '\\' and every byte JSON
 * would escape come after a backslash: without one (plain), it needs no
 * JSON escaping. */
struct dns_question {
    char *name;
    uint32_t name_len; /* strlen(name) */
    bool name_plain;   /* no backslash in name */
    uint16_t qtype;
    uint16_t qclass;
};

/* EDNS (the last OPT record of the additional section). */
struct dns_opt {
    bool present;
    bool do_bit;
    uint8_t version;
    uint16_t udp_size;
    int ext_rcode;
    /* Option texts as Packetbeat names them; NULL when absent. */
    char *dau, *dhu, *local, *llq, *n3u, *nsid, *subnet, *ul;
};

enum dns_section { DNS_ANSWER = 0, DNS_AUTHORITY = 1, DNS_ADDITIONAL = 2 };

/* The memory of one decoded message: a few blocks, freed together. */
struct dns_blk;

/* A decoded message holds at most this much memory (a guard: a 64 KiB
 * message renders to well under half of it). */
#define DNS_MAX_MSG_MEM (32u * 1024u * 1024u)

struct dns_msg {
    uint16_t id;
    bool response; /* QR */
    uint8_t opcode;
    bool aa, tc, rd, ra, ad, cd;
    int rcode; /* with the EDNS extended bits merged in */
    struct dns_question *q;
    size_t nq;
    struct dns_rr *rr[3];
    size_t nrr[3];   /* records kept */
    size_t count[3]; /* records decoded (>= nrr when capped) */
    struct dns_opt opt;
    size_t length;       /* bytes on the wire (TCP: with the 2-byte prefix) */
    struct dns_blk *mem; /* owned: the strings and arrays above */
};

/* Decodes one message (no TCP length prefix). 0, -PB_EPROTO when the bytes
 * are not a DNS message Packetbeat would accept, -PB_ENOMEM. On failure msg
 * is left empty (free it anyway). */
int dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg *msg);
/* What dns_msg_parse_in keeps (dns_msg_parse: DNS_KEEP_ALL). The header,
 * the questions, the counts and the EDNS record are always there, and the
 * answers unless DNS_KEEP_QUESTIONS. */
#define DNS_KEEP_AUTHORITIES 1u /* the authority records */
#define DNS_KEEP_ADDITIONALS 2u /* the additional records */
#define DNS_KEEP_ALL (DNS_KEEP_AUTHORITIES | DNS_KEEP_ADDITIONALS)
/* Only the header and the questions: the sections are not read (counts
 * stay 0, opt absent) and a message without questions is not refused.
 * For a message dns_msg_check accepted before. */
#define DNS_KEEP_QUESTIONS 4u
/* Bytes of a scratch that holds what a usual message renders to. */
#define DNS_SCRATCH 2048u
/* dns_msg_parse keeping what keep says, with its memory starting in
 * scratch (scratch_len bytes, 16-aligned, borrowed: it must outlive msg;
 * NULL: none) and going on in the heap when that is full. */
int dns_msg_parse_in(const uint8_t *buf, size_t len, struct dns_msg *msg, unsigned keep,
                     void *scratch, size_t scratch_len);
/* A message decoded before, and its bytes (both borrowed). */
struct dns_twin {
    const uint8_t *raw;
    size_t len;
    const struct dns_msg *msg; /* from raw, its questions kept */
};
/* dns_msg_parse_in, the first question's name taken from twin when both
 * messages spell it with the same bytes (a response repeats its query's
 * question): msg's text is then twin's, and twin's memory must outlive
 * msg. twin NULL: dns_msg_parse_in. */
int dns_msg_parse_twin(const uint8_t *buf, size_t len, struct dns_msg *msg, unsigned keep,
                       void *scratch, size_t scratch_len, const struct dns_twin *twin);
/* dns_msg_parse's verdict (the same checks, in the same order) without
 * rendering or keeping anything: msg gets the header fields, count[] and
 * opt without its option texts; q, rr and nq, nrr stay empty. Never
 * -PB_ENOMEM. msg needs no dns_msg_free (it does no harm). */
int dns_msg_check(const uint8_t *buf, size_t len, struct dns_msg *msg);
void dns_msg_free(struct dns_msg *msg);

/* Names of codes as Packetbeat prints them; the number as text when
 * unknown. buf must hold 24 bytes. */
const char *dns_type_str(uint16_t t, char buf[24]);
const char *dns_class_str(uint16_t c, char buf[24]);
const char *dns_opcode_str(unsigned op, char buf[24]);
/* The same with the text's length in *len. */
const char *dns_type_strn(uint16_t t, char buf[24], size_t *len);
const char *dns_class_strn(uint16_t c, char buf[24], size_t *len);
const char *dns_opcode_strn(unsigned op, char buf[24], size_t *len);
const char *dns_rcode_strn(int rc, char buf[24], size_t *len);
const char *dns_rcode_str(int rc, char buf[24]);

/* The registered domain (eTLD+1) of a question name, following Go's
 * publicsuffix.EffectiveTLDPlusOne (ICANN and private rules). Returns a
 * pointer into name, or NULL when there is none. */
const char *dns_etld_plus_one(const char *name);
/* A memo of the answers for the suffixes looked up last (bounded: 2 *
 * sets entries of 64 bytes; sets rounded up to a power of two, 0: 256),
 * for one thread. NULL on allocation failure, and without libpsl. */
struct dns_psl_memo;
struct dns_psl_memo *dns_psl_memo_new(size_t sets);
void dns_psl_memo_free(struct dns_psl_memo *m);
/* dns_etld_plus_one for name[0..n) (n: strlen(name)), through memo (NULL:
 * none; the answers are the same). */
const char *dns_etld_plus_one_n(struct dns_psl_memo *memo, const char *name, size_t n);
/* The same straight from libpsl, without our own walk over the list
 * (tests). */
const char *dns_etld_plus_one_uncached(const char *name);
/* Tests: whether our walk over the list's DAFSA answers (rather than
 * libpsl); and the answer given for one suffix, as psl_is_public_suffix's. */
bool dns_psl_walker(void);
int dns_psl_public(const char *s);
/* Tests: the walk over a given graph (a DAFSA file past its header line,
 * borrowed), with or without its index (NULL without libpsl); its answer
 * for a suffix: 1 or 0, or -1 for a name it leaves to libpsl. */
struct dns_psl_walk;
struct dns_psl_walk *dns_psl_walk_new(const uint8_t *graph, size_t len, bool index);
bool dns_psl_walk_indexed(const struct dns_psl_walk *w);
int dns_psl_walk_public(const struct dns_psl_walk *w, const char *s);
void dns_psl_walk_free(struct dns_psl_walk *w);
/* Loads the Public Suffix List data ahead of the first lookup. */
void dns_psl_load(void);
/* Releases the Public Suffix List data (tests, shutdown). */
void dns_psl_release(void);

#endif
