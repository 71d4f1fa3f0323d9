/* SPDX-License-Identifier: Apache-2.0
 * beat/mime.c - content sniffing for detect_mime_type: the WHATWG MIME
 * sniffing rules as Go's http.DetectContentType applies them (first 512
 * bytes), which is what libbeat's detector falls back to for text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "beat/processors.h"

#define SNIFF_LEN 512

static bool is_ws(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\x0c' || c == '\r' || c == ' ';
}

static bool is_tt(unsigned char c) /* tag-terminating byte */
{
    return c == ' ' || c == '>';
}

/* An HTML signature: case-insensitive, after leading whitespace, followed by
 * a tag-terminating byte. */
static bool html_sig(const unsigned char *d, size_t n, const char *sig)
{
    size_t i = 0;
    while (i < n && is_ws(d[i])) {
        i++;
    }
    size_t sl = strlen(sig);
    if (n - i < sl + 1) {
        return false;
    }
    for (size_t k = 0; k < sl; k++) {
        unsigned char c = d[i + k];
        if (sig[k] >= 'A' && sig[k] <= 'Z') {
            c &= 0xdf;
        }
        if (c != (unsigned char)sig[k]) {
            return false;
        }
    }
    return is_tt(d[i + sl]);
}

static bool prefix(const unsigned char *d, size_t n, const void *sig, size_t sl)
{
    return n >= sl && memcmp(d, sig, sl) == 0;
}

const char *pb_mime_detect(const unsigned char *d, size_t n)
{
    static const char *const html[] = {"<!DOCTYPE HTML", "<HTML", "<HEAD", "<SCRIPT", "<IFRAME",
                                       "<H1", "<DIV", "<FONT", "<TABLE", "<A", "<STYLE",
                                       "<TITLE", "<B", "<BODY", "<BR", "<P", "<!--"};
    if (n > SNIFF_LEN) {
        n = SNIFF_LEN;
    }
    if (n == 0) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof html / sizeof html[0]; i++) {
        if (html_sig(d, n, html[i])) {
            return "text/html; charset=utf-8";
        }
    }
    size_t ws = 0;
    while (ws < n && is_ws(d[ws])) {
        ws++;
    }
    if (prefix(d + ws, n - ws, "<?xml", 5)) {
        return "text/xml; charset=utf-8";
    }
    static const struct {
        const char *sig;
        size_t len;
        const char *type;
    } exact[] = {
        {"%PDF-", 5, "application/pdf"},
        {"%!PS-Adobe-", 11, "application/postscript"},
        {"\xfe\xff", 2, "text/plain; charset=utf-16be"},
        {"\xff\xfe", 2, "text/plain; charset=utf-16le"},
        {"\xef\xbb\xbf", 3, "text/plain; charset=utf-8"},
        {"\x00\x00\x01\x00", 4, "image/x-icon"},
        {"\x00\x00\x02\x00", 4, "image/x-icon"},
        {"BM", 2, "image/bmp"},
        {"GIF87a", 6, "image/gif"},
        {"GIF89a", 6, "image/gif"},
        {"\x89PNG\x0d\x0a\x1a\x0a", 8, "image/png"},
        {"\xff\xd8\xff", 3, "image/jpeg"},
        {"\x1f\x8b\x08", 3, "application/x-gzip"},
        {"PK\x03\x04", 4, "application/zip"},
        {"Rar!\x1a\x07\x00", 7, "application/x-rar-compressed"},
        {"Rar!\x1a\x07\x01\x00", 8, "application/x-rar-compressed"},
        {"\x00\x61\x73\x6d", 4, "application/wasm"},
        {"OggS\x00", 5, "application/ogg"},
        {"\x1a\x45\xdf\xa3", 4, "video/webm"},
        {"wOFF", 4, "font/woff"},
        {"wOF2", 4, "font/woff2"},
        {"ID3", 3, "audio/mpeg"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (prefix(d, n, exact[i].sig, exact[i].len)) {
            return exact[i].type;
        }
    }
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBPVP", 6) == 0) {
        return "image/webp";
    }
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WAVE", 4) == 0) {
        return "audio/wave";
    }
    /* text unless a binary byte shows up */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = d[i];
        if (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)) {
            return "application/octet-stream";
        }
    }
    return "text/plain; charset=utf-8";
}
