/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/curl.c - the libcurl functions packetbeat calls, each one
 * calling libcurl's own, loaded on first use (lazylib.h).
 */
#define CURL_DISABLE_TYPECHECK /* the functions themselves, not their checks */
#include <curl/curl.h>

#include <stdarg.h>

#include "beat/lazy/lazylib.h"

#define FN(name) PB_LAZY_FN(pb_lazy_curl_lib, name)

CURLcode curl_global_init(long flags)
{
    FN(curl_global_init);
    return f(flags);
}

void curl_global_cleanup(void)
{
    /* nothing to clean when the library never came */
    if (pb_lazy_curl_lib.handle == NULL) {
        return;
    }
    FN(curl_global_cleanup);
    f();
}

CURL *curl_easy_init(void)
{
    FN(curl_easy_init);
    return f();
}

void curl_easy_cleanup(CURL *h)
{
    FN(curl_easy_cleanup);
    f(h);
}

void curl_easy_reset(CURL *h)
{
    FN(curl_easy_reset);
    f(h);
}

CURLcode curl_easy_perform(CURL *h)
{
    FN(curl_easy_perform);
    return f(h);
}

const char *curl_easy_strerror(CURLcode code)
{
    FN(curl_easy_strerror);
    return f(code);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    FN(curl_slist_append);
    return f(l, s);
}

void curl_slist_free_all(struct curl_slist *l)
{
    FN(curl_slist_free_all);
    f(l);
}

/* The option's one argument is read as libcurl reads it: its type follows
   from the option's number range (CURLOPTTYPE_*). */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    FN(curl_easy_setopt);
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        rc = f(h, opt, va_arg(ap, long));
    } else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
        rc = f(h, opt, va_arg(ap, void *));
    } else if (opt < CURLOPTTYPE_OFF_T) {
        rc = f(h, opt, va_arg(ap, void (*)(void)));
    } else if (opt < CURLOPTTYPE_BLOB) {
        rc = f(h, opt, va_arg(ap, curl_off_t));
    } else {
        rc = f(h, opt, va_arg(ap, void *));
    }
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes one pointer. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    FN(curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    CURLcode rc = f(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}
