/* SPDX-License-Identifier: Apache-2.0
 * protos/tls/tls_int.h - types shared by the tls plugin files: the parsed
 * handshake of one direction (tls_parse.c), the name tables (tls_names.c),
 * certificates through OpenSSL (tls_x509.c) and the event (tls_event.c).
 *
 * Only the handshake is looked at (no decryption), as Packetbeat does: each
 * direction is parsed until its ChangeCipherSpec record.
 */
#ifndef PB_TLS_INT_H
#define PB_TLS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/event.h"
#include "protos/proto.h"

/* Record layer: Packetbeat accepts records up to 2^14 + 2048 bytes. */
#define TLS_RECORD_HEADER 5
#define TLS_MAX_RECORD ((1u << 14) + 2048u)
/* Handshake messages longer than this are refused (as Packetbeat does). */
#define TLS_MAX_HANDSHAKE (1u << 16)
#define TLS_HANDSHAKE_HEADER 4
/* Cap on handshake bytes buffered per direction: one message at its largest
 * plus the record that completes it. */
#define TLS_MAX_HS_BUFFER (TLS_HANDSHAKE_HEADER + TLS_MAX_HANDSHAKE + TLS_MAX_RECORD)
/* Certificates kept per direction (count and DER bytes), alerts kept per
 * direction. Beyond these, further ones are counted and dropped. */
#define TLS_MAX_CERTS 32u
#define TLS_MAX_CERT_BYTES (256u * 1024u)
#define TLS_MAX_ALERTS 64u
/* A hello keeps at most this many extensions, and an extension's list at
 * most this many items (real hellos carry a few dozen). */
#define TLS_MAX_EXTENSIONS 256u
#define TLS_MAX_EXT_ITEMS 1024u

enum tls_role { TLS_ROLE_UNKNOWN = 0, TLS_ROLE_CLIENT, TLS_ROLE_SERVER };

/* A parsed ClientHello or ServerHello (owned by its direction). */
struct tls_hello {
    uint8_t major, minor;
    uint8_t random[32];
    uint8_t sid[32];
    uint8_t sid_len;
    uint16_t *ciphers; /* owned: client: offered suites, GREASE removed */
    size_t nciphers;
    uint8_t *comp; /* owned: client: offered compression methods */
    size_t ncomp;
    uint16_t sel_cipher; /* server: selected suite */
    uint8_t sel_comp;    /* server: selected compression */
    json_t *parsed;      /* owned: extensions by name, NULL when none */
    uint16_t *ext_order; /* owned: extension ids as sent, GREASE removed */
    size_t next;
    /* raw bodies kept for supported_groups (10), ec_points_formats (11) and
     * supported_versions (43) */
    uint8_t *raw[3]; /* owned */
    size_t raw_len[3];
    bool has_raw[3];
    bool ticket_present;  /* a session_ticket extension was sent */
    bool ticket_nonempty; /* ... with a ticket in it */
};

enum { TLS_RAW_GROUPS = 0, TLS_RAW_POINTS = 1, TLS_RAW_VERSIONS = 2 };

struct tls_alert {
    uint8_t severity, code;
};

struct tls_cert {
    uint8_t *der; /* owned */
    size_t len;
    void *x509; /* owned: X509 * */
};

/* What one direction's parser has learnt. */
struct tls_parser {
    enum tls_role role;
    struct tls_hello *hello; /* owned, NULL until a hello was seen */
    struct tls_cert *certs;  /* owned: TLS_MAX_CERTS slots, allocated on first use */
    size_t ncerts;
    size_t cert_bytes;
    struct tls_alert *alerts; /* owned: TLS_MAX_ALERTS slots, allocated on first use */
    size_t nalerts;
    bool cert_requested;
    bool key_exchanged;
    bool ocsp_valid;
    uint8_t ocsp_status;
    /* handshake messages being reassembled across records */
    uint8_t *hs; /* owned */
    size_t hs_len, hs_cap;
    uint64_t dropped; /* certificates/alerts beyond the caps */
};

/* Results of feeding one complete record. */
enum tls_rec { TLS_REC_OK, TLS_REC_FAILED, TLS_REC_ENCRYPTED };

/* ---- tls_parse.c ---- */

/* Handles one complete record (header included, len = 5 + its length;
 * the caller checked the header). FAILED: the direction must be dropped. */
enum tls_rec tls_parse_record(struct tls_parser *ps, const uint8_t *rec, size_t len);
/* Checks a record header: 1 valid, 0 invalid (not TLS), -1 not enough bytes.
 * *total is the whole record length. */
int tls_record_header(const uint8_t *p, size_t len, size_t *total);
/* Parses one handshake message body. false: a malformed hello. */
bool tls_parse_handshake(struct tls_parser *ps, uint8_t type, const uint8_t *body, size_t len);
/* Parses a hello body; NULL on malformed input or no memory. */
struct tls_hello *tls_parse_client_hello(const uint8_t *p, size_t len);
struct tls_hello *tls_parse_server_hello(const uint8_t *p, size_t len);
void tls_hello_free(struct tls_hello *h);
void tls_parser_reset(struct tls_parser *ps); /* frees all, zeroes */
bool tls_parser_has_info(const struct tls_parser *ps);
bool tls_is_grease(uint16_t v);
/* JA3 string and md5 (32 hex + NUL) of a client hello. The string is owned
 * by the caller (pb_free); NULL on no memory. */
char *tls_ja3(const struct tls_hello *h, char md5hex[33]);

/* ---- tls_names.c ---- */

/* Names as Packetbeat prints them; unknown values as "(unknown:0x....)".
 * Each writes into buf (at least 32 bytes) or returns a static string. */
const char *tls_cipher_name(uint16_t v, char *buf, size_t n);
const char *tls_group_name(uint16_t v, char *buf, size_t n);
const char *tls_sigscheme_name(uint16_t v, char *buf, size_t n);
const char *tls_compression_name(uint8_t v, char *buf, size_t n);
const char *tls_ecpoint_name(uint8_t v, char *buf, size_t n);
const char *tls_alert_name(uint8_t v, char *buf, size_t n);
const char *tls_severity_name(uint8_t v, char *buf, size_t n);
const char *tls_ocsp_status_name(uint8_t v, char *buf, size_t n);
/* "TLS 1.2", "SSL 3.0", "(raw 1.9)" */
const char *tls_version_name(uint8_t major, uint8_t minor, char *buf, size_t n);

/* ---- tls_x509.c ---- */

/* Parses DER; NULL when OpenSSL refuses it. */
void *tls_x509_parse(const uint8_t *der, size_t len);
void tls_x509_free(void *x);
/* The certificate as Packetbeat's detailed map (issuer, subject, serial,
 * dates, algorithms, key size, alternative names, version), set in the
 * object m (NULL: nothing). */
void tls_x509_fill(pb_node *m, void *x);
/* Subject / issuer distinguished names as Go prints them; owned strings. */
char *tls_x509_dn(void *x, bool issuer);
/* not_before / not_after in ns since the epoch; false when unreadable. */
bool tls_x509_time(void *x, bool after, int64_t *ns);
/* A certificate time as Packetbeat prints it ("2020-12-02T12:00:00.000Z"),
 * in buf or a static string. */
const char *tls_time_str(int64_t ns, char buf[64]);
/* PEM text of DER bytes; owned string. */
char *tls_pem(const uint8_t *der, size_t len);
/* Upper-case hex digest of DER: algo "md5", "sha1" or "sha256". */
bool tls_digest(const char *algo, const uint8_t *der, size_t len, char *out, size_t n);

/* ---- tls_event.c ---- */

enum { TLS_FP_MD5 = 1, TLS_FP_SHA1 = 2, TLS_FP_SHA256 = 4 };

struct tls_priv {
    bool send_certificates;
    bool include_raw_certificates;
    bool include_detailed_fields;
    const char *fp_names[8]; /* fingerprints in config order (static names) */
    size_t nfp;
};

struct tls_event_in {
    const struct tls_priv *cfg;
    const struct pb_tuple *tuple; /* client -> server */
    uint64_t start_ns, end_ns;
    uint8_t completed;                        /* bit per direction that saw ChangeCipherSpec */
    bool keep_null;                           /* keep JSON nulls in tls.detailed */
    const struct tls_parser *client, *server; /* never NULL */
};

/* Builds the event Packetbeat publishes for a connection. NULL on ENOMEM. */
pb_event *tls_build_event(const struct tls_event_in *in);

#endif
