/* SPDX-License-Identifier: Apache-2.0
 * beat/kibana.c - the Kibana client (see kibana.h): URL building as
 * libbeat's MakeURL does (default scheme `protocol` or http, default port
 * 5601, `path` and /s/<space.id> appended, credentials taken out of the URL),
 * requests through libcurl, the status/version check, saved-object import
 * (multipart) and export.
 * API: https://www.elastic.co/guide/en/kibana/current/saved-objects-api.html
 */
#include "beat/kibana.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/lazy/lazylib.h"
#include "beat/log.h"

#define SEL "kibana"
#define MAX_HEADERS 64

#ifndef PB_COMMIT
#define PB_COMMIT "unknown"
#endif

struct kbuf {
    char *p;
    size_t len, cap;
    bool over; /* PB_KIBANA_MAX_RESPONSE reached */
};

struct pb_kibana {
    char *url;                  /* owned */
    char *user;                 /* owned, NULL none */
    char *pass;                 /* owned */
    char *auth;                 /* owned "Authorization: ApiKey ..." or NULL */
    char *headers[MAX_HEADERS]; /* owned "Name: value" */
    size_t nheaders;
    bool ssl_enabled;
    int verify;                       /* 2 full, 1 certificate, 0 none */
    char *ca, *cert, *key, *key_pass; /* owned */
    long timeout_ms;
    char user_agent[192];
    char version[64];
    int major, minor, patch;
    bool serverless;
};

static int kbuf_add(struct kbuf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > PB_KIBANA_MAX_RESPONSE) {
        b->over = true;
        return -PB_ELIMIT;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *np = pb_realloc(b->p, cap);
        if (np == NULL) {
            return -PB_ENOMEM;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct kbuf *b = ud;
    return kbuf_add(b, p, sz * n) == 0 ? sz * n : 0;
}

/* ---- config ------------------------------------------------------------ */

static int set_str(char **dst, const char *v)
{
    pb_free(*dst);
    *dst = NULL;
    if (v == NULL) {
        return 0;
    }
    *dst = pb_strdup(v);
    return *dst != NULL ? 0 : -PB_ENOMEM;
}

/* scheme://[user[:pass]@]host[:port][/path] -> url (owned) and credentials. */
static int make_url(struct pb_kibana *k, const char *host, const char *protocol, const char *path,
                    const char *space, char *err, size_t errlen)
{
    char scheme[16] = "http";
    const char *rest = host;
    const char *sep = strstr(host, "://");
    if (sep != NULL) {
        size_t n = (size_t)(sep - host);
        if (n == 0 || n >= sizeof scheme) {
            snprintf(err, errlen, "invalid Kibana host: parse \"%s\": missing protocol scheme",
                     host);
            return -PB_EINVAL;
        }
        memcpy(scheme, host, n);
        scheme[n] = '\0';
        rest = sep + 3;
    } else if (protocol != NULL && protocol[0] != '\0') {
        snprintf(scheme, sizeof scheme, "%s", protocol);
    }
    for (char *s = scheme; *s; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "invalid Kibana host: unsupported scheme \"%s\"", scheme);
        return -PB_EINVAL;
    }
    size_t alen = strcspn(rest, "/?#");
    char auth[512];
    if (alen == 0 || alen >= sizeof auth) {
        snprintf(err, errlen, "invalid Kibana host: empty or too long host in \"%s\"", host);
        return -PB_EINVAL;
    }
    memcpy(auth, rest, alen);
    auth[alen] = '\0';
    const char *hostpath = rest + alen;
    char *hp = auth;
    char *at = strrchr(auth, '@');
    if (at != NULL) {
        *at = '\0';
        char *colon = strchr(auth, ':');
        if (colon != NULL) {
            *colon = '\0';
            if (set_str(&k->pass, colon + 1) != 0) {
                return -PB_ENOMEM;
            }
        }
        if (set_str(&k->user, auth) != 0) {
            return -PB_ENOMEM;
        }
        hp = at + 1;
    }
    if (hp[0] == '\0') {
        snprintf(err, errlen, "invalid Kibana host: no host in \"%s\"", host);
        return -PB_EINVAL;
    }
    bool has_port;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        has_port = rb != NULL && rb[1] == ':';
    } else {
        has_port = strchr(hp, ':') != NULL;
    }
    char url[2048];
    size_t hplen = strcspn(hostpath, "?#");
    int n = snprintf(url, sizeof url, "%s://%s%s%.*s", scheme, hp, has_port ? "" : ":5601",
                     (int)hplen, hostpath);
    /* `path`, then /s/<space> */
    const char *parts[2] = {path, space};
    for (int i = 0; i < 2 && n > 0 && (size_t)n < sizeof url; i++) {
        const char *p = parts[i];
        if (p == NULL || p[0] == '\0') {
            continue;
        }
        while (n > 0 && url[n - 1] == '/') {
            url[--n] = '\0';
        }
        while (*p == '/') {
            p++;
        }
        n += snprintf(url + n, sizeof url - (size_t)n, "/%s%s", i == 1 ? "s/" : "", p);
    }
    if (n < 0 || (size_t)n >= sizeof url) {
        snprintf(err, errlen, "invalid Kibana host: URL too long");
        return -PB_EINVAL;
    }
    while (n > 0 && url[n - 1] == '/' && strstr(url, "://") + 3 < url + n - 1) {
        url[--n] = '\0';
    }
    return set_str(&k->url, url);
}

static int add_header(struct pb_kibana *k, const char *name, const char *value)
{
    if (k->nheaders >= MAX_HEADERS) {
        return -PB_ELIMIT;
    }
    size_t n = strlen(name) + strlen(value) + 3;
    char *h = pb_malloc(n);
    if (h == NULL) {
        return -PB_ENOMEM;
    }
    snprintf(h, n, "%s: %s", name, value);
    k->headers[k->nheaders++] = h;
    return 0;
}

static const char *str_or(const struct pb_cfg *c, const char *key, const char *def, int *rc)
{
    const char *v = NULL;
    if (pb_cfg_str(c, key, def, &v) != 0) {
        *rc = -PB_EINVAL;
        return def;
    }
    return v;
}

struct pb_kibana *pb_kibana_new(const struct pb_cfg *root, char *err, size_t errlen)
{
    struct pb_kibana *k = pb_calloc(1, sizeof *k);
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const struct pb_cfg *kc = pb_cfg_get(root, "setup.kibana");
    int rc = 0;
    const char *host = str_or(kc, "host", "localhost:5601", &rc);
    const char *protocol = str_or(kc, "protocol", NULL, &rc);
    const char *path = str_or(kc, "path", NULL, &rc);
    const char *space = str_or(kc, "space.id", NULL, &rc);
    const char *user = str_or(kc, "username", NULL, &rc);
    const char *pass = str_or(kc, "password", NULL, &rc);
    const char *api_key = str_or(kc, "api_key", NULL, &rc);
    int64_t timeout_ns = 0;
    if (pb_cfg_duration(kc, "timeout", 90LL * 1000000000LL, &timeout_ns) != 0) {
        rc = -PB_EINVAL;
    }
    /* libbeat's InitKibanaConfig: credentials of the Elasticsearch output
       when setup.kibana has none of its own */
    const struct pb_cfg *es = pb_cfg_get(root, "output.elasticsearch");
    bool es_on = es != NULL;
    if (es_on && pb_cfg_bool(es, "enabled", true, &es_on) != 0) {
        rc = -PB_EINVAL;
    }
    if (es_on) {
        if (!pb_cfg_has(kc, "username")) {
            user = str_or(es, "username", user, &rc);
        }
        if (!pb_cfg_has(kc, "password")) {
            pass = str_or(es, "password", pass, &rc);
        }
        if (!pb_cfg_has(kc, "api_key")) {
            api_key = str_or(es, "api_key", api_key, &rc);
        }
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        pb_kibana_free(k);
        return NULL;
    }
    if (api_key != NULL && api_key[0] != '\0' &&
        ((user != NULL && user[0] != '\0') || (pass != NULL && pass[0] != '\0'))) {
        snprintf(err, errlen, "cannot set both api_key and username/password");
        pb_kibana_free(k);
        return NULL;
    }
    k->timeout_ms = (long)(timeout_ns / 1000000);
    if (set_str(&k->user, user != NULL && user[0] != '\0' ? user : NULL) != 0 ||
        set_str(&k->pass, pass != NULL && pass[0] != '\0' ? pass : NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        pb_kibana_free(k);
        return NULL;
    }
    bool had_creds = k->user != NULL || k->pass != NULL;
    char *cfg_user = k->user, *cfg_pass = k->pass;
    k->user = k->pass = NULL;
    rc = make_url(k, host, protocol, path, space, err, errlen);
    if (rc == 0 && (k->user != NULL || k->pass != NULL)) {
        /* credentials in the URL win over the configured ones */
        pb_free(cfg_user);
        pb_free(cfg_pass);
        if (api_key != NULL && api_key[0] != '\0') {
            snprintf(err, errlen, "cannot set api_key with username/password in Kibana URL");
            rc = -PB_EINVAL;
        }
    } else {
        k->user = cfg_user;
        k->pass = cfg_pass;
    }
    (void)had_creds;
    if (rc == 0 && api_key != NULL && api_key[0] != '\0') {
        /* libbeat sends base64 of the configured id:key */
        size_t n = strlen(api_key);
        size_t cap = 4 * ((n + 2) / 3) + 32;
        k->auth = pb_malloc(cap);
        if (k->auth == NULL) {
            rc = -PB_ENOMEM;
        } else {
            int off = snprintf(k->auth, cap, "Authorization: ApiKey ");
            EVP_EncodeBlock((unsigned char *)k->auth + off, (const unsigned char *)api_key, (int)n);
        }
    }
    /* headers */
    const struct pb_cfg *hs = pb_cfg_get(kc, "headers");
    for (size_t i = 0; rc == 0 && i < pb_cfg_len(hs); i++) {
        const struct pb_cfg *h = pb_cfg_at(hs, i);
        const char *v = NULL;
        if (h->key == NULL || pb_cfg_str(h, NULL, "", &v) != 0 || v == NULL) {
            continue;
        }
        rc = add_header(k, h->key, v);
    }
    /* ssl.* */
    const struct pb_cfg *ssl = pb_cfg_get(kc, "ssl");
    bool ssl_on = true;
    const char *mode = "full";
    char **cas = NULL;
    size_t ncas = 0;
    if (rc == 0) {
        int r2 = 0;
        if (pb_cfg_bool(ssl, "enabled", true, &ssl_on) != 0 ||
            pb_cfg_str(ssl, "verification_mode", "full", &mode) != 0 ||
            pb_cfg_strv(ssl, "certificate_authorities", &cas, &ncas) != 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            rc = -PB_EINVAL;
        } else {
            const char *cert = str_or(ssl, "certificate", NULL, &r2);
            const char *key = str_or(ssl, "key", NULL, &r2);
            const char *kp = str_or(ssl, "key_passphrase", NULL, &r2);
            if (r2 != 0) {
                snprintf(err, errlen, "%s", pb_cfg_errmsg());
                rc = r2;
            } else if (set_str(&k->cert, cert) != 0 || set_str(&k->key, key) != 0 ||
                       set_str(&k->key_pass, kp) != 0 ||
                       set_str(&k->ca, ncas > 0 ? cas[0] : NULL) != 0) {
                rc = -PB_ENOMEM;
            }
        }
    }
    pb_cfg_strv_free(cas);
    if (rc == 0) {
        k->ssl_enabled = ssl_on && strncmp(k->url, "https:", 6) == 0;
        if (strcmp(mode, "none") == 0) {
            k->verify = 0;
        } else if (strcmp(mode, "certificate") == 0) {
            k->verify = 1;
        } else if (strcmp(mode, "full") == 0 || strcmp(mode, "strict") == 0) {
            k->verify = 2;
        } else {
            snprintf(
                err, errlen,
                "unknown verification mode '%s' accessing 'setup.kibana.ssl.verification_mode'",
                mode);
            rc = -PB_EINVAL;
        }
    }
    if (rc != 0) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        pb_kibana_free(k);
        return NULL;
    }
#if defined(__x86_64__)
    const char *arch = "amd64";
#elif defined(__aarch64__)
    const char *arch = "arm64";
#else
    const char *arch = "unknown";
#endif
    snprintf(k->user_agent, sizeof k->user_agent, "Packetbeat/%s (linux; %s; %s; %s)", PB_VERSION,
             arch, PB_COMMIT, __DATE__ " " __TIME__);
    pb_info(SEL, "Kibana url: %s", k->url);
    return k;
}

void pb_kibana_free(struct pb_kibana *k)
{
    if (k == NULL) {
        return;
    }
    pb_free(k->url);
    pb_free(k->user);
    pb_free(k->pass);
    pb_free(k->auth);
    for (size_t i = 0; i < k->nheaders; i++) {
        pb_free(k->headers[i]);
    }
    pb_free(k->ca);
    pb_free(k->cert);
    pb_free(k->key);
    pb_free(k->key_pass);
    pb_free(k);
}

const char *pb_kibana_url(const struct pb_kibana *k)
{
    return k->url;
}

const char *pb_kibana_version(const struct pb_kibana *k)
{
    return k->version;
}

bool pb_kibana_serverless(const struct pb_kibana *k)
{
    return k->serverless;
}

bool pb_kibana_version_before(const struct pb_kibana *k, int major, int minor, int patch)
{
    if (k->major != major) {
        return k->major < major;
    }
    if (k->minor != minor) {
        return k->minor < minor;
    }
    return k->patch < patch;
}

/* ---- requests ---------------------------------------------------------------- */

static void apply_tls(CURL *h, const struct pb_kibana *k)
{
    if (!k->ssl_enabled) {
        return;
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, k->verify >= 1 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, k->verify >= 2 ? 2L : 0L);
    if (k->ca != NULL) {
        if (strstr(k->ca, "-----BEGIN") != NULL) {
            struct curl_blob blob = {.data = k->ca, .len = strlen(k->ca), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_CAINFO, k->ca);
        }
    }
    if (k->cert != NULL) {
        if (strstr(k->cert, "-----BEGIN") != NULL) {
            struct curl_blob blob = {
                .data = k->cert, .len = strlen(k->cert), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_SSLCERT, k->cert);
        }
    }
    if (k->key != NULL) {
        if (strstr(k->key, "-----BEGIN") != NULL) {
            struct curl_blob blob = {
                .data = k->key, .len = strlen(k->key), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_SSLKEY, k->key);
        }
    }
    if (k->key_pass != NULL) {
        curl_easy_setopt(h, CURLOPT_KEYPASSWD, k->key_pass);
    }
}

/* Go's wording for a round trip that got no answer. */
static void transport_error(const char *method, const char *url, CURLcode rc, const char *detail,
                            char *err, size_t errlen)
{
    char m[16];
    snprintf(m, sizeof m, "%c", method[0]);
    for (size_t i = 1; method[i] != '\0' && i < sizeof m - 1; i++) {
        m[i] = (char)tolower((unsigned char)method[i]);
        m[i + 1] = '\0';
    }
    const char *why = detail != NULL && detail[0] != '\0' ? detail : curl_easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT) {
        snprintf(err, errlen,
                 "fail to execute the HTTP %s request: %s \"%s\": dial tcp: connect: connection "
                 "refused (%s)",
                 method, m, url, why);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errlen,
                 "fail to execute the HTTP %s request: %s \"%s\": context deadline exceeded "
                 "(Client.Timeout exceeded while awaiting headers)",
                 method, m, url);
    } else {
        snprintf(err, errlen, "fail to execute the HTTP %s request: %s \"%s\": %s", method, m, url,
                 why);
    }
}

static int do_request(struct pb_kibana *k, const char *method, const char *path, const char *query,
                      const char *content_type, const void *body, size_t len, long *status,
                      struct kbuf *resp, bool *no_answer, char *err, size_t errlen)
{
    *status = 0;
    if (no_answer != NULL) {
        *no_answer = false;
    }
    char url[4096];
    int n = snprintf(url, sizeof url, "%s%s%s%s", k->url, path, query != NULL ? "?" : "",
                     query != NULL ? query : "");
    if (n < 0 || (size_t)n >= sizeof url) {
        snprintf(err, errlen, "fail to create the HTTP %s request: URL too long", method);
        return -PB_EINVAL;
    }
    if (pb_lazy_curl(err, errlen) != 0) {
        return -PB_EINVAL;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    struct curl_slist *hdr = NULL;
    char ct[256];
    snprintf(ct, sizeof ct, "Content-Type: %s",
             content_type != NULL ? content_type : "application/json");
    hdr = curl_slist_append(hdr, ct);
    hdr = curl_slist_append(hdr, "Accept: application/json");
    hdr = curl_slist_append(hdr, "kbn-xsrf: 1");
    hdr = curl_slist_append(hdr, "Expect:");
    if (k->auth != NULL) {
        hdr = curl_slist_append(hdr, k->auth);
    }
    for (size_t i = 0; i < k->nheaders; i++) {
        hdr = curl_slist_append(hdr, k->headers[i]);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, k->user_agent);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    if (k->timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->timeout_ms);
    }
    if (k->user != NULL || k->pass != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, k->user != NULL ? k->user : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, k->pass != NULL ? k->pass : "");
    }
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? (const char *)body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? len : 0));
    }
    apply_tls(h, k);
    CURLcode cr = curl_easy_perform(h);
    int rc = 0;
    if (cr != CURLE_OK) {
        if (resp->over) {
            snprintf(err, errlen, "fail to read response: larger than %u bytes",
                     PB_KIBANA_MAX_RESPONSE);
            rc = -PB_ELIMIT;
        } else {
            transport_error(method, url, cr, ebuf, err, errlen);
            if (no_answer != NULL) {
                *no_answer = true;
            }
            rc = -PB_EIO;
        }
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (resp->p == NULL && kbuf_add(resp, "", 0) != 0) {
            rc = -PB_ENOMEM;
            snprintf(err, errlen, "out of memory");
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    pb_debug(SEL, "%s %s -> %ld", method, url, *status);
    return rc;
}

int pb_kibana_request(struct pb_kibana *k, const char *method, const char *path, const char *query,
                      const char *content_type, const void *body, size_t len, long *status,
                      char **resp, size_t *resplen, char *err, size_t errlen)
{
    struct kbuf b = {0};
    int rc =
        do_request(k, method, path, query, content_type, body, len, status, &b, NULL, err, errlen);
    if (rc != 0) {
        pb_free(b.p);
        *resp = NULL;
        return rc;
    }
    *resp = b.p;
    if (resplen != NULL) {
        *resplen = b.len;
    }
    return 0;
}

/* At most 250 characters, newlines as spaces (libbeat's truncateString). */
static void truncated(const char *s, char *out, size_t n)
{
    size_t i = 0, o = 0;
    size_t chars = 0;
    while (s != NULL && s[i] != '\0' && o + 5 < n && chars < 250) {
        char c = s[i++];
        out[o++] = c == '\n' ? ' ' : c;
        if (((unsigned char)c & 0xC0) != 0x80) {
            chars++;
        }
    }
    out[o] = '\0';
    if (s != NULL && s[i] != '\0' && o + 16 < n) {
        snprintf(out + o, n - o, "... (truncated)");
    }
}

int pb_kibana_connect(struct pb_kibana *k, bool *no_answer, char *err, size_t errlen)
{
    struct kbuf b = {0};
    long status = 0;
    char why[1024];
    bool na = false;
    int rc =
        do_request(k, "GET", "/api/status", NULL, NULL, NULL, 0, &status, &b, &na, why, sizeof why);
    if (no_answer != NULL) {
        *no_answer = na;
    }
    char body[300];
    truncated(b.p, body, sizeof body);
    if (rc != 0 || status >= 400) {
        if (rc == 0) {
            snprintf(why, sizeof why, "%ld %s", status, status == 401 ? "Unauthorized" : "error");
        }
        snprintf(err, errlen,
                 "fail to get the Kibana version: HTTP GET request to %s/api/status fails: %s. "
                 "Response: %s.",
                 k->url, why, body);
        pb_free(b.p);
        return rc != 0 ? rc : -PB_EIO;
    }
    json_error_t je;
    json_t *doc = json_loadb(b.p, b.len, 0, &je);
    json_t *ver = json_object_get(json_object_get(doc, "version"), "number");
    if (doc == NULL || !json_is_string(ver)) {
        snprintf(err, errlen,
                 "fail to get the Kibana version: fail to unmarshal the response from GET "
                 "%s/api/status. Response: %s. Kibana status api returns: %s",
                 k->url, body, doc == NULL ? je.text : "no version.number");
        json_decref(doc);
        pb_free(b.p);
        return -PB_EPROTO;
    }
    const char *v = json_string_value(ver);
    int maj = 0, min = 0, pat = 0;
    if (sscanf(v, "%d.%d.%d", &maj, &min, &pat) != 3) {
        snprintf(err, errlen, "fail to get the Kibana version: fail to parse kibana version (%s)",
                 v);
        json_decref(doc);
        pb_free(b.p);
        return -PB_EPROTO;
    }
    k->major = maj;
    k->minor = min;
    k->patch = pat;
    bool snap = json_is_true(json_object_get(json_object_get(doc, "version"), "build_snapshot"));
    snprintf(k->version, sizeof k->version, "%s%s", v, snap ? "-SNAPSHOT" : "");
    json_t *fl = json_object_get(json_object_get(doc, "version"), "build_flavor");
    k->serverless = json_is_string(fl) && strcmp(json_string_value(fl), "serverless") == 0;
    json_decref(doc);
    pb_free(b.p);
    return 0;
}

/* libbeat's extractMessage: an import answer with success false lists its
 * errors. */
static void import_errors(const char *body, size_t len, char *out, size_t n)
{
    out[0] = '\0';
    json_t *doc = json_loadb(body, len, 0, NULL);
    json_t *errs = json_object_get(doc, "errors");
    size_t o = 0;
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *et = json_string_value(json_object_get(json_object_get(e, "error"), "type"));
        int w = snprintf(out + o, n - o, "%serror: %s, asset ID=%s; asset type=%s", o ? "; " : "",
                         et ? et : "", id ? id : "", type ? type : "");
        if (w < 0 || (size_t)w >= n - o) {
            break;
        }
        o += (size_t)w;
    }
    json_decref(doc);
}

int pb_kibana_import(struct pb_kibana *k, const char *filename, const char *ndjson, size_t len,
                     char *err, size_t errlen)
{
    static const char boundary[] = "pbKibanaImportBoundary7MA4YWxkTrZu0gW";
    struct kbuf body = {0};
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                      "Content-Type: application/ndjson\r\n\r\n",
                      boundary, filename);
    char tail[128];
    int tn = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", boundary);
    if (hn < 0 || (size_t)hn >= sizeof head || kbuf_add(&body, head, (size_t)hn) != 0 ||
        kbuf_add(&body, ndjson, len) != 0 || kbuf_add(&body, tail, (size_t)tn) != 0) {
        pb_free(body.p);
        snprintf(err, errlen, "failed to create multipart writer for payload: out of memory");
        return -PB_ENOMEM;
    }
    char ct[128];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
    struct kbuf resp = {0};
    long status = 0;
    char why[1024];
    int rc = do_request(k, "POST", "/api/saved_objects/_import", "overwrite=true", ct, body.p,
                        body.len, &status, &resp, NULL, why, sizeof why);
    pb_free(body.p);
    if (rc == 0) {
        json_t *doc = json_loadb(resp.p, resp.len, 0, NULL);
        json_t *ok = json_object_get(doc, "success");
        if (status >= 300) {
            const char *msg = json_string_value(json_object_get(doc, "message"));
            snprintf(why, sizeof why, "%s", msg != NULL ? msg : "<nil>");
            rc = -PB_EIO;
        } else if (json_is_false(ok)) {
            import_errors(resp.p, resp.len, why, sizeof why);
            rc = -PB_EIO;
        }
        json_decref(doc);
    }
    if (rc != 0) {
        char r[300];
        truncated(resp.p, r, sizeof r);
        snprintf(err, errlen, "returned %ld to import file: %s. Response: %s", status, why, r);
    } else {
        pb_debug(SEL, "Imported multipart file to /api/saved_objects/_import with params "
                      "overwrite=true");
    }
    pb_free(resp.p);
    return rc;
}

int pb_kibana_export_dashboard(struct pb_kibana *k, const char *id, char **out, size_t *outlen,
                               char *err, size_t errlen)
{
    json_t *req = json_pack("{s:[{s:s,s:s}],s:b,s:b}", "objects", "type", "dashboard", "id", id,
                            "includeReferencesDeep", 1, "excludeExportDetails", 1);
    char *text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    long status = 0;
    char *resp = NULL;
    size_t rlen = 0;
    char why[1024];
    int rc = pb_kibana_request(k, "POST", "/api/saved_objects/_export", NULL, NULL, text,
                               strlen(text), &status, &resp, &rlen, why, sizeof why);
    free(text);
    if (rc != 0 || status >= 300) {
        if (rc == 0) {
            json_t *doc = json_loadb(resp, rlen, 0, NULL);
            const char *msg = json_string_value(json_object_get(doc, "message"));
            snprintf(why, sizeof why, "%s", msg != NULL ? msg : "<nil>");
            json_decref(doc);
        }
        snprintf(err, errlen, "error exporting dashboard: %s, code: %ld", why, status);
        pb_free(resp);
        return rc != 0 ? rc : -PB_EIO;
    }
    *out = resp;
    *outlen = rlen;
    return 0;
}
