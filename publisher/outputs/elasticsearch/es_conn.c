/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/elasticsearch/es_conn.c - one HTTP connection to one
 * Elasticsearch host through libcurl, as libbeat's eslegclient.Connection
 * talks: every request carries `Accept: application/json`, the User-Agent,
 * basic auth or `Authorization: ApiKey <base64>`, the configured headers;
 * the URL gets the configured `parameters`; bodies are JSON
 * (`Content-Type: application/json; charset=UTF-8`), gzipped with
 * `Content-Encoding: gzip` when compression_level > 0. The curl handle is
 * kept between requests (keep-alive) and idle connections are dropped after
 * idle_connection_timeout.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "es.h"

#define SEL "elasticsearch"

void es_conn_cfg_free(struct es_conn_cfg *c)
{
    if (c == NULL) {
        return;
    }
    pb_free(c->username);
    pb_free(c->password);
    pb_free(c->api_key);
    for (size_t i = 0; i < c->nheaders; i++) {
        pb_free(c->headers[i]);
    }
    pb_free(c->headers);
    pb_free(c->query);
    pb_free(c->proxy_url);
    for (size_t i = 0; i < c->ncas; i++) {
        pb_free(c->cas[i]);
    }
    pb_free(c->cas);
    pb_free(c->cert);
    pb_free(c->key);
    pb_free(c->key_passphrase);
    memset(c, 0, sizeof *c);
}

/* ---- URLs ----------------------------------------------------------------- */

static char *str_cat(const char *a, const char *b, const char *c, const char *d)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c), ld = strlen(d);
    char *p = pb_malloc(la + lb + lc + ld + 1);
    if (p != NULL) {
        memcpy(p, a, la);
        memcpy(p + la, b, lb);
        memcpy(p + la + lb, c, lc);
        memcpy(p + la + lb + lc, d, ld + 1);
    }
    return p;
}

/* %XX decoding of URL user info. */
static char *pct_decode(const char *s, size_t n)
{
    char *o = pb_malloc(n + 1);
    size_t k = 0;
    if (o == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            o[k++] = (char)strtol(hx, NULL, 16);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    return o;
}

char *es_make_url(const char *host, const char *protocol, const char *path, char **user,
                  char **pass, char *err, size_t errlen)
{
    *user = NULL;
    *pass = NULL;
    if (host == NULL || host[0] == '\0') {
        snprintf(err, errlen, "empty host");
        return NULL;
    }
    const char *scheme = (protocol != NULL && protocol[0] != '\0') ? protocol : "http";
    const char *rest = host;
    const char *sep = strstr(host, "://");
    char sbuf[16];
    if (sep != NULL) {
        size_t sl = (size_t)(sep - host);
        if (sl == 0 || sl >= sizeof sbuf) {
            snprintf(err, errlen, "parse \"%s\": invalid URI scheme", host);
            return NULL;
        }
        memcpy(sbuf, host, sl);
        sbuf[sl] = '\0';
        for (size_t i = 0; i < sl; i++) {
            sbuf[i] = (char)tolower((unsigned char)sbuf[i]);
        }
        scheme = sbuf;
        rest = sep + 3;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "unsupported protocol scheme \"%s\" in host %s", scheme, host);
        return NULL;
    }
    /* authority ends at '/', '?' or '#' */
    size_t alen = strcspn(rest, "/?#");
    const char *upath = rest + alen;
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (rest[i] == '@') {
            at = rest + i;
        }
    }
    const char *hp = rest;
    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        size_t ul = colon != NULL ? (size_t)(colon - rest) : (size_t)(at - rest);
        *user = pct_decode(rest, ul);
        if (colon != NULL) {
            *pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            *pass = pb_strdup("");
        }
        hp = at + 1;
    }
    size_t hpl = (size_t)(rest + alen - hp);
    if (hpl == 0 || hpl > 512) {
        snprintf(err, errlen, "parse \"%s\": missing host", host);
        goto fail;
    }
    char hostport[600];
    memcpy(hostport, hp, hpl);
    hostport[hpl] = '\0';
    /* add the default port when none is given ([v6] aware) */
    const char *lastcolon = strrchr(hostport, ':');
    const char *rb = strrchr(hostport, ']');
    bool has_port = lastcolon != NULL && (rb == NULL || lastcolon > rb);
    if (hostport[0] != '[' && lastcolon != NULL && strchr(hostport, ':') != lastcolon) {
        /* bare IPv6 without brackets */
        char tmp[600];
        size_t hl = strlen(hostport);
        tmp[0] = '[';
        memcpy(tmp + 1, hostport, hl);
        tmp[hl + 1] = ']';
        tmp[hl + 2] = '\0';
        memcpy(hostport, tmp, hl + 3);
        has_port = false;
    }
    if (!has_port) {
        size_t l = strlen(hostport);
        snprintf(hostport + l, sizeof hostport - l, ":9200");
    } else {
        const char *pp = strrchr(hostport, ':') + 1;
        if (*pp == '\0' || strspn(pp, "0123456789") != strlen(pp)) {
            snprintf(err, errlen, "parse \"%s\": invalid port \"%s\" after host", host,
                     strrchr(hostport, ':'));
            goto fail;
        }
    }
    /* path: the configured `path` joined with the URL's own path */
    const char *p1 = path != NULL ? path : "";
    char pathbuf[1024];
    size_t ul = strcspn(upath, "?#");
    if (strlen(p1) + ul + 3 > sizeof pathbuf) {
        snprintf(err, errlen, "path too long");
        goto fail;
    }
    pathbuf[0] = '\0';
    if (p1[0] != '\0') {
        if (p1[0] != '/') {
            strncat(pathbuf, "/", sizeof pathbuf - strlen(pathbuf) - 1);
        }
        strncat(pathbuf, p1, sizeof pathbuf - strlen(pathbuf) - 1);
    }
    if (ul > 0) {
        size_t l = strlen(pathbuf);
        if (l > 0 && pathbuf[l - 1] == '/' && upath[0] == '/') {
            pathbuf[--l] = '\0';
        }
        memcpy(pathbuf + l, upath, ul);
        pathbuf[l + ul] = '\0';
    }
    size_t pl = strlen(pathbuf);
    while (pl > 0 && pathbuf[pl - 1] == '/') {
        pathbuf[--pl] = '\0';
    }
    char *url = str_cat(scheme, "://", hostport, pathbuf);
    if (url == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return url;
fail:
    pb_free(*user);
    pb_free(*pass);
    *user = *pass = NULL;
    return NULL;
}

/* ---- connection ------------------------------------------------------------ */

int es_conn_init(struct es_conn *c, const struct es_conn_cfg *cfg, const char *url,
                 const char *user, const char *pass)
{
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->url = pb_strdup(url);
    c->user = user != NULL ? pb_strdup(user) : NULL;
    c->pass = pass != NULL ? pb_strdup(pass) : NULL;
    if (c->url == NULL || (user != NULL && c->user == NULL) || (pass != NULL && c->pass == NULL)) {
        es_conn_fini(c);
        return -PB_ENOMEM;
    }
    return 0;
}

void es_conn_fini(struct es_conn *c)
{
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
    }
    pb_free(c->url);
    pb_free(c->user);
    pb_free(c->pass);
    pb_codec_buf_free(&c->resp);
    pb_codec_buf_free(&c->gz);
    pb_deflater_fini(&c->deflater);
    memset(c, 0, sizeof *c);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct es_conn *c = ud;
    size_t n = sz * nm;
    if (c->resp.len + n > ES_MAX_RESPONSE_BYTES) {
        return n; /* keep reading, drop the excess */
    }
    if (pb_codec_buf_append(&c->resp, p, n) != 0) {
        return 0;
    }
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct es_conn *c = ud;
    size_t n = sz * nm;
    if (n > 9 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', n);
        if (sp != NULL) {
            size_t l = n - (size_t)(sp + 1 - p);
            while (l > 0 && (sp[1 + l - 1] == '\r' || sp[1 + l - 1] == '\n')) {
                l--;
            }
            if (l >= sizeof c->status_line) {
                l = sizeof c->status_line - 1;
            }
            memcpy(c->status_line, sp + 1, l);
            c->status_line[l] = '\0';
        }
    }
    return n;
}

static void apply_tls(CURL *h, const struct es_conn_cfg *cfg)
{
    if (!cfg->ssl_enabled) {
        return;
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->verify >= 1 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->verify >= 2 ? 2L : 0L);
    for (size_t i = 0; i < cfg->ncas; i++) {
        const char *ca = cfg->cas[i];
        if (strstr(ca, "-----BEGIN") != NULL) {
            struct curl_blob blob = {
                .data = (void *)(uintptr_t)ca, .len = strlen(ca), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        }
        break; /* libcurl takes one bundle; the first one wins */
    }
    if (cfg->cert != NULL) {
        if (strstr(cfg->cert, "-----BEGIN") != NULL) {
            struct curl_blob blob = {
                .data = cfg->cert, .len = strlen(cfg->cert), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert);
        }
    }
    if (cfg->key != NULL) {
        if (strstr(cfg->key, "-----BEGIN") != NULL) {
            struct curl_blob blob = {
                .data = cfg->key, .len = strlen(cfg->key), .flags = CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
        } else {
            curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key);
        }
    }
    if (cfg->key_passphrase != NULL) {
        curl_easy_setopt(h, CURLOPT_KEYPASSWD, cfg->key_passphrase);
    }
    curl_easy_setopt(h, CURLOPT_SSLVERSION, cfg->tls_min | cfg->tls_max);
}

static CURL *handle(struct es_conn *c)
{
    if (c->curl != NULL) {
        return c->curl;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        return NULL;
    }
    const struct es_conn_cfg *cfg = c->cfg;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    long ms = cfg->timeout_ns > 0 ? (long)(cfg->timeout_ns / 1000000) : 0;
    if (cfg->timeout_ns > 0 && ms == 0) {
        ms = 1;
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
#if LIBCURL_VERSION_NUM >= 0x074100
    if (cfg->idle_ns > 0) {
        long s = (long)((cfg->idle_ns + 999999999) / 1000000000);
        curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, s);
    }
#endif
    curl_easy_setopt(h, CURLOPT_USERAGENT, cfg->user_agent);
    if (cfg->proxy_disable) {
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    } else if (cfg->proxy_url != NULL) {
        curl_easy_setopt(h, CURLOPT_PROXY, cfg->proxy_url);
    }
    const char *user = c->user != NULL ? c->user : cfg->username;
    const char *pass = c->user != NULL ? c->pass : cfg->password;
    if ((user != NULL && user[0] != '\0') || (pass != NULL && pass[0] != '\0')) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, user != NULL ? user : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, pass != NULL ? pass : "");
    }
    apply_tls(h, cfg);
    c->curl = h;
    return h;
}

/* Go's wording for a failed round trip. */
static void transport_error(const char *method, const char *url, CURLcode rc, const char *detail,
                            char *err, size_t errlen)
{
    const char *why = detail != NULL && detail[0] != '\0' ? detail : curl_easy_strerror(rc);
    char m[16];
    snprintf(m, sizeof m, "%c%s", method[0], method + 1);
    for (size_t i = 1; m[i] != '\0'; i++) {
        m[i] = (char)tolower((unsigned char)m[i]);
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errlen,
                 "%s \"%s\": context deadline exceeded (Client.Timeout exceeded while awaiting "
                 "headers)",
                 m, url);
    } else if (rc == CURLE_COULDNT_CONNECT) {
        snprintf(err, errlen, "%s \"%s\": dial tcp: connect: connection refused (%s)", m, url, why);
    } else if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
               rc == CURLE_PARTIAL_FILE) {
        snprintf(err, errlen, "%s \"%s\": EOF (%s)", m, url, why);
    } else {
        snprintf(err, errlen, "%s \"%s\": %s", m, url, why);
    }
}

int es_request(struct es_conn *c, const char *method, const char *path, const char *query,
               const void *body, size_t len, long *status, char *err, size_t errlen)
{
    *status = 0;
    c->resp.len = 0;
    c->status_line[0] = '\0';
    CURL *h = handle(c);
    if (h == NULL) {
        snprintf(err, errlen, "cannot create an HTTP client");
        return -PB_ENOMEM;
    }
    const struct es_conn_cfg *cfg = c->cfg;
    /* URL: base + path + ?parameters&query */
    struct pb_codec_buf u = {0};
    int rc = pb_codec_buf_append(&u, c->url, strlen(c->url));
    if (rc == 0 && path != NULL && path[0] != '\0' && strcmp(path, "/") != 0) {
        rc = pb_codec_buf_append(&u, path, strlen(path));
    } else if (rc == 0) {
        rc = pb_codec_buf_append(&u, "/", 1);
    }
    bool q = false;
    if (rc == 0 && cfg->query != NULL && cfg->query[0] != '\0') {
        rc = pb_codec_buf_append(&u, "?", 1);
        if (rc == 0) {
            rc = pb_codec_buf_append(&u, cfg->query, strlen(cfg->query));
        }
        q = true;
    }
    if (rc == 0 && query != NULL && query[0] != '\0') {
        rc = pb_codec_buf_append(&u, q ? "&" : "?", 1);
        if (rc == 0) {
            rc = pb_codec_buf_append(&u, query, strlen(query));
        }
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(&u, "", 1);
    }
    if (rc != 0) {
        pb_codec_buf_free(&u);
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }

    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Accept: application/json");
    const void *send = body;
    size_t sendlen = len;
    if (body != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=UTF-8");
        if (cfg->compression > 0) {
            c->gz.len = 0;
            if (pb_deflate_append(&c->deflater, PB_DEFLATE_GZIP, cfg->compression, &c->gz, body,
                                  len) != 0) {
                curl_slist_free_all(hdr);
                pb_codec_buf_free(&u);
                snprintf(err, errlen, "failed to compress the request body");
                return -PB_ENOMEM;
            }
            hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
            send = c->gz.p;
            sendlen = c->gz.len;
        }
    }
    if (cfg->api_key != NULL) {
        char line[1024];
        snprintf(line, sizeof line, "Authorization: ApiKey %s", cfg->api_key);
        hdr = curl_slist_append(hdr, line);
    }
    for (size_t i = 0; i < cfg->nheaders; i++) {
        hdr = curl_slist_append(hdr, cfg->headers[i]);
    }
    /* no "Expect: 100-continue" round trip */
    hdr = curl_slist_append(hdr, "Expect:");

    curl_easy_setopt(h, CURLOPT_URL, u.p);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0 || body != NULL) {
        if (body != NULL) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, send);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sendlen);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    char ebuf[CURL_ERROR_SIZE];
    ebuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode cr = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    if (cr != CURLE_OK) {
        transport_error(method, u.p, cr, ebuf, err, errlen);
        pb_codec_buf_free(&u);
        /* start over with a fresh connection next time */
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        return -PB_EIO;
    }
    pb_codec_buf_free(&u);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    *status = code;
    if (pb_codec_buf_append(&c->resp, "", 1) == 0) {
        c->resp.len--;
    }
    if (c->resp.p == NULL) {
        (void)pb_codec_buf_append(&c->resp, "", 1);
        c->resp.len = 0;
    }
    return 0;
}

static void parse_version(struct es_conn *c, const char *v)
{
    snprintf(c->version, sizeof c->version, "%s", v);
    c->major = c->minor = c->patch = 0;
    if (sscanf(v, "%d.%d.%d", &c->major, &c->minor, &c->patch) < 1) {
        pb_error(SEL, "Invalid version from Elasticsearch: %s", v);
    }
}

int es_ping(struct es_conn *c, char *err, size_t errlen)
{
    long status = 0;
    pb_debug(SEL, "ES Ping(url=%s)", c->url);
    int rc = es_request(c, "GET", "", NULL, NULL, 0, &status, err, errlen);
    if (rc != 0) {
        pb_debug(SEL, "Ping request failed with: %s", err);
        return rc;
    }
    if (status >= 300) {
        snprintf(err, errlen, "%s: %.*s", c->status_line[0] ? c->status_line : "error",
                 (int)(c->resp.len > 2048 ? 2048 : c->resp.len), c->resp.p ? c->resp.p : "");
        return -PB_EIO;
    }
    json_error_t je;
    json_t *doc = json_loadb(c->resp.p != NULL ? c->resp.p : "", c->resp.len, 0, &je);
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(err, errlen, "failed to parse JSON response: %s",
                 doc == NULL ? je.text : "not an object");
        json_decref(doc);
        return -PB_EPROTO;
    }
    json_t *ver = json_object_get(doc, "version");
    const char *num = json_string_value(json_object_get(ver, "number"));
    const char *flavor = json_string_value(json_object_get(ver, "build_flavor"));
    parse_version(c, num != NULL ? num : "");
    c->serverless = flavor != NULL && strcmp(flavor, "serverless") == 0;
    pb_debug(SEL, "Ping status code: %ld", status);
    pb_info(SEL, "Attempting to connect to Elasticsearch version %s (%s)", c->version,
            flavor != NULL ? flavor : "default");
    json_decref(doc);
    return 0;
}

/* ---- `test output` ---------------------------------------------------------- */


/* Copies src into dst (size n > 0), cut to fit. */
static void copy_cut(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) {
        l = n - 1;
    }
    memcpy(dst, src, l);
    dst[l] = '\0';
}

static int split_hostport(const char *url, char *host, size_t hl, char *port, size_t pl)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    size_t al = strcspn(p, "/?#");
    char a[600];
    if (al >= sizeof a) {
        return -1;
    }
    memcpy(a, p, al);
    a[al] = '\0';
    char *colon = strrchr(a, ':');
    char *rb = strrchr(a, ']');
    if (colon == NULL || (rb != NULL && colon < rb)) {
        return -1;
    }
    *colon = '\0';
    snprintf(port, pl, "%s", colon + 1);
    if (a[0] == '[') {
        size_t l = strlen(a);
        if (l >= 2 && a[l - 1] == ']') {
            a[l - 1] = '\0';
        }
        copy_cut(host, hl, a + 1);
    } else {
        copy_cut(host, hl, a);
    }
    return 0;
}

static int dial(const struct addrinfo *ai, int64_t timeout_ns, char *why, size_t wl)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "%s", strerror(errno));
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int ms = timeout_ns > 0 ? (int)(timeout_ns / 1000000) : 90000;
        rc = poll(&pf, 1, ms);
        if (rc == 0) {
            snprintf(why, wl, "i/o timeout");
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        rc = soerr == 0 ? 0 : -1;
        errno = soerr;
    }
    if (rc != 0) {
        snprintf(why, wl, "connect: %s", strerror(errno));
        for (char *q = why; *q != '\0'; q++) {
            *q = (char)tolower((unsigned char)*q);
        }
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int es_conn_test(struct es_conn *c, FILE *out)
{
    char host[512], port[16];
    fprintf(out, "elasticsearch: %s...\n", c->url);
    if (split_hostport(c->url, host, sizeof host, port, sizeof port) != 0) {
        fprintf(out, "  parse url... ERROR invalid URL %s\n", c->url);
        return -PB_EINVAL;
    }
    fprintf(out, "  parse url... OK\n");
    fprintf(out, "  connection...\n");
    fprintf(out, "    parse host... OK\n");
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int gr = getaddrinfo(host, port, &hints, &res);
    if (gr != 0) {
        fprintf(out, "    dns lookup... ERROR lookup %s: %s\n", host, gai_strerror(gr));
        return -PB_EIO;
    }
    fprintf(out, "    dns lookup... OK\n");
    fprintf(out, "    addresses: ");
    bool first = true;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, a, ip, sizeof ip);
        fprintf(out, "%s%s", first ? "" : ", ", ip);
        first = false;
    }
    fprintf(out, "\n");
    char why[256] = "";
    int dr = dial(res, c->cfg->timeout_ns, why, sizeof why);
    if (dr != 0) {
        char ip[INET6_ADDRSTRLEN];
        const void *a = res->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        inet_ntop(res->ai_family, a, ip, sizeof ip);
        fprintf(out, "    dial up... ERROR dial tcp %s%s%s:%s: %s\n",
                res->ai_family == AF_INET6 ? "[" : "", ip, res->ai_family == AF_INET6 ? "]" : "",
                port, why);
        freeaddrinfo(res);
        return -PB_EIO;
    }
    freeaddrinfo(res);
    fprintf(out, "    dial up... OK\n");
    if (strncmp(c->url, "https://", 8) != 0) {
        fprintf(out, "  TLS... WARN secure connection disabled\n");
    } else {
        fprintf(out, "  TLS...\n");
        if (c->cfg->verify >= 1) {
            fprintf(out, "    security: server's certificate chain verification is enabled\n");
        } else {
            fprintf(out, "    security... WARN server's certificate chain verification is "
                         "disabled\n");
        }
        CURL *h = curl_easy_init();
        if (h == NULL) {
            fprintf(out, "    handshake... ERROR out of memory\n");
            return -PB_ENOMEM;
        }
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        long ms = (long)(c->cfg->timeout_ns / 1000000);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 90000L);
        apply_tls(h, c->cfg);
        char ebuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        CURLcode cr = curl_easy_perform(h);
        if (cr != CURLE_OK) {
            fprintf(out, "    handshake... ERROR %s\n", ebuf[0] ? ebuf : curl_easy_strerror(cr));
            curl_easy_cleanup(h);
            return -PB_EIO;
        }
        fprintf(out, "    handshake... OK\n");
        const struct curl_tlssessioninfo *ti = NULL;
        const char *ver = "unknown";
        if (curl_easy_getinfo(h, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti != NULL &&
            ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals != NULL) {
            ver = SSL_get_version((SSL *)ti->internals);
        }
        char vbuf[32];
        snprintf(vbuf, sizeof vbuf, "%s", ver);
        /* Go prints "TLSv1.3" style names */
        fprintf(out, "    TLS version: %s\n", vbuf);
        fprintf(out, "    dial up... OK\n");
        curl_easy_cleanup(h);
    }
    char err[1024] = "";
    if (es_ping(c, err, sizeof err) != 0) {
        fprintf(out, "  talk to server... ERROR %s\n", err);
        return -PB_EIO;
    }
    fprintf(out, "  talk to server... OK\n");
    fprintf(out, "  version: %s\n", c->version);
    return 0;
}
