/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_http.c - HTTP replay client on libcurl: one easy handle per
 * worker (keep-alive), the recorded method, target, headers and body, with
 * the --header rewrites applied; the response body is counted and kept (up
 * to RP_MAX_BODY) for --compare-body.
 */
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "beat/alloc.h"
#include "beat/lazy/lazylib.h"
#include "beat/replay/rp_int.h"

struct http_cl {
    CURL *h;
    char *body;
    size_t len, cap;
    int64_t total;
    bool keep;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct http_cl *c = ctx;
    size_t k = size * n;
    c->total += (int64_t)k;
    if (c->keep && c->len + k <= RP_MAX_BODY) {
        if (c->len + k > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + k) {
                cap *= 2;
            }
            char *nb = pb_realloc(c->body, cap);
            if (nb == NULL) {
                return k; /* count it, stop keeping */
            }
            c->body = nb;
            c->cap = cap;
        }
        memcpy(c->body + c->len, p, k);
        c->len += k;
    }
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void *http_open(const struct rp_opts *o, char *err, size_t errlen)
{
    struct http_cl *c = pb_calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pb_lazy_curl(err, errlen) != 0) {
        pb_free(c);
        return NULL;
    }
    c->h = curl_easy_init();
    if (c->h == NULL) {
        pb_free(c);
        snprintf(err, errlen, "curl_easy_init failed");
        return NULL;
    }
    (void)o;
    return c;
}

/* "Name: value" whose name matches `line`'s name */
static bool same_name(const char *a, const char *b)
{
    const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
    if (ca == NULL || cb == NULL || ca - a != cb - b) {
        return false;
    }
    return strncasecmp(a, b, (size_t)(ca - a)) == 0;
}

static void http_send(void *vc, const struct rp_opts *o, struct rp_req *r)
{
    struct http_cl *c = vc;
    CURL *h = c->h;
    c->len = 0;
    c->total = 0;
    c->keep = o->compare_body;
    char *url = rp_strfmt("%s%s%s", o->t.base, r->target[0] == '/' ? "" : "/", r->target);
    struct curl_slist *hl = NULL;
    /* recorded headers unless a rewrite names them; then the rewrites
       ("Name:" alone removes the header, as curl does) */
    for (size_t i = 0; i < r->nheaders; i++) {
        bool replaced = false;
        for (size_t k = 0; k < o->nheaders; k++) {
            replaced |= same_name(r->headers[i], o->headers[k]);
        }
        if (!replaced) {
            hl = curl_slist_append(hl, r->headers[i]);
        }
    }
    for (size_t k = 0; k < o->nheaders; k++) {
        hl = curl_slist_append(hl, o->headers[k]);
    }
    hl = curl_slist_append(hl, "Expect:");
    bool accept = false;
    for (size_t i = 0; i < r->nheaders; i++) {
        accept |= strncasecmp(r->headers[i], "accept:", 7) == 0;
    }
    if (!accept) {
        hl = curl_slist_append(hl, "Accept:"); /* only what was recorded */
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url != NULL ? url : o->t.base);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->verb);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, NULL);
    if (strcasecmp(r->verb, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (r->body_len > 0 || strcasecmp(r->verb, "POST") == 0 ||
               strcasecmp(r->verb, "PUT") == 0 || strcasecmp(r->verb, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->verb);
    }
    uint64_t t0 = rp_mono_ns();
    CURLcode rc = curl_easy_perform(h);
    r->got.dur_ns = (int64_t)(rp_mono_ns() - t0);
    curl_slist_free_all(hl);
    pb_free(url);
    if (rc != CURLE_OK) {
        r->got.fail = rp_strfmt("%s", curl_easy_strerror(rc));
        return;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    r->got.have = true;
    r->got.status = (int)code;
    r->got.error = code >= 400;
    r->got.size = c->total;
    if (c->keep) {
        r->got.body = pb_malloc(c->len + 1);
        if (r->got.body != NULL) {
            memcpy(r->got.body, c->body, c->len);
            r->got.body[c->len] = '\0';
            r->got.body_len = c->len;
        }
    }
}

static void http_close(void *vc)
{
    struct http_cl *c = vc;
    if (c != NULL) {
        curl_easy_cleanup(c->h);
        pb_free(c->body);
        pb_free(c);
    }
}

const struct rp_client_ops rp_http_ops = {http_open, http_send, http_close};
