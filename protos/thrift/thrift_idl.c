/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_idl.c - Thrift IDL reader: a tokenizer and a
 * recursive descent parser over the Thrift IDL grammar that keeps the
 * services' functions (argument and exception field ids and names).
 * Grammar: https://thrift.apache.org/docs/idl
 */
#include "thrift_idl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"

/* ---- tokens ---- */

enum tok_kind {
    TK_EOF,
    TK_IDENT,
    TK_INT,
    TK_DOUBLE,
    TK_LITERAL,
    TK_PUNCT,
};

struct tok {
    enum tok_kind kind;
    const char *s; /* borrowed from the text */
    size_t n;
    int line, col;
    size_t off;
};

struct parser {
    const char *text, *p, *end;
    int line;
    const char *line_start;
    struct tok cur;
    bool have; /* cur is a peeked token */
    bool failed;
    const char *why;
    int err_line, err_col;
    size_t err_off;
    struct thrift_idl *idl;
    const char *service; /* current service name (borrowed, NUL-terminated copy) */
    /* include paths found (owned strings) */
    char **includes;
    size_t nincludes;
    int depth;
};

static void fail(struct parser *ps, const char *why)
{
    if (!ps->failed) {
        ps->failed = true;
        ps->why = why;
        ps->err_line = ps->have ? ps->cur.line : ps->line;
        ps->err_col = ps->have ? ps->cur.col : (int)(ps->p - ps->line_start) + 1;
        ps->err_off = ps->have ? ps->cur.off : (size_t)(ps->p - ps->text);
    }
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void advance_char(struct parser *ps)
{
    if (*ps->p == '\n') {
        ps->line++;
        ps->line_start = ps->p + 1;
    }
    ps->p++;
}

/* Skips blanks and the three comment styles (block comments nest, as in
 * go-thrift's parser). */
static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            advance_char(ps);
        } else if (c == '#' || (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '/')) {
            while (ps->p < ps->end && *ps->p != '\n') {
                ps->p++;
            }
        } else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
            int nest = 0;
            do {
                if (ps->p + 1 < ps->end && ps->p[0] == '/' && ps->p[1] == '*') {
                    nest++;
                    ps->p += 2;
                } else if (ps->p + 1 < ps->end && ps->p[0] == '*' && ps->p[1] == '/') {
                    nest--;
                    ps->p += 2;
                } else {
                    advance_char(ps);
                }
            } while (nest > 0 && ps->p < ps->end);
            if (nest > 0) {
                fail(ps, "unterminated comment");
                return;
            }
        } else {
            return;
        }
    }
}

static void lex(struct parser *ps, struct tok *t)
{
    skip_space(ps);
    memset(t, 0, sizeof *t);
    t->line = ps->line;
    t->col = (int)(ps->p - ps->line_start) + 1;
    t->off = (size_t)(ps->p - ps->text);
    t->s = ps->p;
    if (ps->failed || ps->p >= ps->end) {
        t->kind = TK_EOF;
        return;
    }
    char c = *ps->p;
    if (is_alpha(c)) {
        while (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p) || *ps->p == '.')) {
            ps->p++;
        }
        t->kind = TK_IDENT;
    } else if (is_digit(c) || ((c == '+' || c == '-' || c == '.') && ps->p + 1 < ps->end &&
                               (is_digit(ps->p[1]) || ps->p[1] == '.'))) {
        bool dbl = false;
        ps->p++;
        if (c == '0' && ps->p < ps->end && (*ps->p == 'x' || *ps->p == 'X')) {
            ps->p++;
            while (ps->p < ps->end && (is_digit(*ps->p) || (*ps->p >= 'a' && *ps->p <= 'f') ||
                                       (*ps->p >= 'A' && *ps->p <= 'F'))) {
                ps->p++;
            }
        } else {
            dbl = c == '.';
            while (ps->p < ps->end) {
                char d = *ps->p;
                if (is_digit(d)) {
                    ps->p++;
                } else if (d == '.') {
                    dbl = true;
                    ps->p++;
                } else if ((d == 'e' || d == 'E') && ps->p + 1 < ps->end &&
                           (is_digit(ps->p[1]) || ((ps->p[1] == '+' || ps->p[1] == '-') &&
                                                   ps->p + 2 < ps->end && is_digit(ps->p[2])))) {
                    dbl = true;
                    ps->p += 2;
                } else {
                    break;
                }
            }
        }
        t->kind = dbl ? TK_DOUBLE : TK_INT;
    } else if (c == '"' || c == '\'') {
        ps->p++;
        while (ps->p < ps->end && *ps->p != c) {
            if (*ps->p == '\\' && ps->p + 1 < ps->end) {
                advance_char(ps);
            }
            advance_char(ps);
        }
        if (ps->p >= ps->end) {
            fail(ps, "unterminated string literal");
            t->kind = TK_EOF;
            return;
        }
        ps->p++;
        t->kind = TK_LITERAL;
    } else if (strchr("{}()<>,;:=[]*", c) != NULL) {
        ps->p++;
        t->kind = TK_PUNCT;
    } else {
        fail(ps, "unexpected character");
        t->kind = TK_EOF;
        return;
    }
    t->n = (size_t)(ps->p - t->s);
}

static const struct tok *peek(struct parser *ps)
{
    if (!ps->have) {
        lex(ps, &ps->cur);
        ps->have = true;
    }
    return &ps->cur;
}

static struct tok next(struct parser *ps)
{
    peek(ps);
    ps->have = false;
    return ps->cur;
}

static bool tok_is(const struct tok *t, enum tok_kind k, const char *s)
{
    return t->kind == k && t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

static bool peek_punct(struct parser *ps, const char *s)
{
    return tok_is(peek(ps), TK_PUNCT, s);
}

static bool peek_word(struct parser *ps, const char *s)
{
    return tok_is(peek(ps), TK_IDENT, s);
}

static bool accept_punct(struct parser *ps, const char *s)
{
    if (peek_punct(ps, s)) {
        next(ps);
        return true;
    }
    return false;
}

static bool expect_punct(struct parser *ps, const char *s)
{
    if (accept_punct(ps, s)) {
        return true;
    }
    fail(ps, "syntax error");
    return false;
}

static bool expect_ident(struct parser *ps, struct tok *out)
{
    if (peek(ps)->kind != TK_IDENT) {
        fail(ps, "syntax error: identifier expected");
        return false;
    }
    *out = next(ps);
    return true;
}

static void accept_list_sep(struct parser *ps)
{
    if (!accept_punct(ps, ",")) {
        accept_punct(ps, ";");
    }
}

/* ---- grammar ---- */

static void parse_const_value(struct parser *ps);

/* ( name [= "value"] [,;] ... ) */
static void parse_annotations(struct parser *ps)
{
    if (!peek_punct(ps, "(")) {
        return;
    }
    next(ps);
    while (!ps->failed && !peek_punct(ps, ")")) {
        struct tok name;
        if (!expect_ident(ps, &name)) {
            return;
        }
        if (accept_punct(ps, "=")) {
            if (peek(ps)->kind != TK_LITERAL) {
                fail(ps, "syntax error: literal expected");
                return;
            }
            next(ps);
        }
        accept_list_sep(ps);
    }
    expect_punct(ps, ")");
}

static void parse_cpp_type(struct parser *ps)
{
    if (peek_word(ps, "cpp_type")) {
        next(ps);
        if (peek(ps)->kind != TK_LITERAL) {
            fail(ps, "syntax error: literal expected");
            return;
        }
        next(ps);
    }
}

static void parse_field_type(struct parser *ps)
{
    if (++ps->depth > 64) {
        fail(ps, "type nesting too deep");
        return;
    }
    parse_cpp_type(ps);
    struct tok t;
    if (!expect_ident(ps, &t)) {
        return;
    }
    if (tok_is(&t, TK_IDENT, "map")) {
        parse_cpp_type(ps);
        expect_punct(ps, "<");
        parse_field_type(ps);
        expect_punct(ps, ",");
        parse_field_type(ps);
        expect_punct(ps, ">");
    } else if (tok_is(&t, TK_IDENT, "set") || tok_is(&t, TK_IDENT, "list")) {
        parse_cpp_type(ps);
        expect_punct(ps, "<");
        parse_field_type(ps);
        expect_punct(ps, ">");
        parse_cpp_type(ps);
    }
    if (!ps->failed) {
        parse_annotations(ps);
    }
    ps->depth--;
}

static void parse_const_value(struct parser *ps)
{
    if (++ps->depth > 64) {
        fail(ps, "constant nesting too deep");
        return;
    }
    const struct tok *t = peek(ps);
    if (t->kind == TK_INT || t->kind == TK_DOUBLE || t->kind == TK_LITERAL || t->kind == TK_IDENT) {
        next(ps);
    } else if (accept_punct(ps, "[")) {
        while (!ps->failed && !peek_punct(ps, "]")) {
            parse_const_value(ps);
            accept_list_sep(ps);
            if (peek(ps)->kind == TK_EOF) {
                fail(ps, "syntax error");
            }
        }
        expect_punct(ps, "]");
    } else if (accept_punct(ps, "{")) {
        while (!ps->failed && !peek_punct(ps, "}")) {
            parse_const_value(ps);
            expect_punct(ps, ":");
            parse_const_value(ps);
            accept_list_sep(ps);
            if (peek(ps)->kind == TK_EOF) {
                fail(ps, "syntax error");
            }
        }
        expect_punct(ps, "}");
    } else {
        fail(ps, "syntax error: constant expected");
    }
    ps->depth--;
}

static char *tok_dup(const struct tok *t)
{
    return pb_strndup(t->s, t->n);
}

/* Parses a field list up to `close`; when out is non-NULL the fields are
 * kept there. Missing ids continue from the highest seen (go-thrift). */
static void parse_fields(struct parser *ps, const char *close, struct thrift_idl_field **out,
                         size_t *nout)
{
    int64_t next_id = 1;
    size_t cap = 0;
    while (!ps->failed && !peek_punct(ps, close)) {
        if (peek(ps)->kind == TK_EOF) {
            fail(ps, "syntax error: unexpected end of file");
            return;
        }
        int64_t id = next_id;
        if (peek(ps)->kind == TK_INT) {
            struct tok t = next(ps);
            char num[32];
            size_t n = t.n < sizeof num - 1 ? t.n : sizeof num - 1;
            memcpy(num, t.s, n);
            num[n] = '\0';
            errno = 0;
            id = strtoll(num, NULL, 0);
            if (errno != 0) {
                fail(ps, "field id out of range");
                return;
            }
            if (!expect_punct(ps, ":")) {
                return;
            }
        }
        if (id >= next_id) {
            next_id = id + 1;
        }
        if (peek_word(ps, "required") || peek_word(ps, "optional")) {
            next(ps);
        }
        parse_field_type(ps);
        struct tok name;
        if (!expect_ident(ps, &name)) {
            return;
        }
        if (accept_punct(ps, "=")) {
            parse_const_value(ps);
        }
        /* xsd options of old IDLs */
        while (peek_word(ps, "xsd_optional") || peek_word(ps, "xsd_nillable")) {
            next(ps);
        }
        if (peek_word(ps, "xsd_attrs")) {
            next(ps);
            if (expect_punct(ps, "{")) {
                size_t dummy_n = 0;
                parse_fields(ps, "}", NULL, &dummy_n);
                expect_punct(ps, "}");
            }
        }
        parse_annotations(ps);
        accept_list_sep(ps);
        if (ps->failed || out == NULL) {
            continue;
        }
        if (*nout == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct thrift_idl_field *nf = pb_realloc(*out, ncap * sizeof *nf);
            if (nf == NULL) {
                fail(ps, "out of memory");
                return;
            }
            *out = nf;
            cap = ncap;
        }
        (*out)[*nout].id = id;
        (*out)[*nout].name = tok_dup(&name);
        if ((*out)[*nout].name == NULL) {
            fail(ps, "out of memory");
            return;
        }
        (*nout)++;
    }
}

static void fields_free(struct thrift_idl_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pb_free(f[i].name);
    }
    pb_free(f);
}

static void method_clear(struct thrift_idl_method *m)
{
    pb_free(m->name);
    pb_free(m->service);
    fields_free(m->params, m->nparams);
    fields_free(m->exceptions, m->nexceptions);
    memset(m, 0, sizeof *m);
}

static bool add_method(struct parser *ps, struct thrift_idl_method *m)
{
    struct thrift_idl *idl = ps->idl;
    if (idl->nmethods >= THRIFT_IDL_MAX_METHODS) {
        fail(ps, "too many functions");
        return false;
    }
    if (idl->nmethods == idl->cap) {
        size_t ncap = idl->cap == 0 ? 16 : idl->cap * 2;
        struct thrift_idl_method *nm = pb_realloc(idl->methods, ncap * sizeof *nm);
        if (nm == NULL) {
            fail(ps, "out of memory");
            return false;
        }
        idl->methods = nm;
        idl->cap = ncap;
    }
    idl->methods[idl->nmethods++] = *m;
    return true;
}

static void parse_function(struct parser *ps)
{
    struct thrift_idl_method m = {0};
    if (peek_word(ps, "oneway") || peek_word(ps, "async")) {
        next(ps);
    }
    if (peek_word(ps, "void")) {
        next(ps);
        parse_annotations(ps);
    } else {
        parse_field_type(ps);
    }
    struct tok name;
    if (ps->failed || !expect_ident(ps, &name) || !expect_punct(ps, "(")) {
        return;
    }
    parse_fields(ps, ")", &m.params, &m.nparams);
    if (!expect_punct(ps, ")")) {
        method_clear(&m);
        return;
    }
    if (peek_word(ps, "throws")) {
        next(ps);
        if (!expect_punct(ps, "(")) {
            method_clear(&m);
            return;
        }
        parse_fields(ps, ")", &m.exceptions, &m.nexceptions);
        if (!expect_punct(ps, ")")) {
            method_clear(&m);
            return;
        }
    }
    parse_annotations(ps);
    accept_list_sep(ps);
    if (ps->failed) {
        method_clear(&m);
        return;
    }
    m.name = tok_dup(&name);
    m.service = pb_strdup(ps->service);
    if (m.name == NULL || m.service == NULL || !add_method(ps, &m)) {
        fail(ps, "out of memory");
        method_clear(&m);
    }
}

static void parse_service(struct parser *ps)
{
    struct tok name;
    if (!expect_ident(ps, &name)) {
        return;
    }
    if (peek_word(ps, "extends")) {
        struct tok base;
        next(ps);
        if (!expect_ident(ps, &base)) {
            return;
        }
    }
    if (!expect_punct(ps, "{")) {
        return;
    }
    char *svc = tok_dup(&name);
    if (svc == NULL) {
        fail(ps, "out of memory");
        return;
    }
    ps->service = svc;
    while (!ps->failed && !peek_punct(ps, "}")) {
        if (peek(ps)->kind == TK_EOF) {
            fail(ps, "parser: expected end of service");
            break;
        }
        parse_function(ps);
    }
    ps->service = NULL;
    pb_free(svc);
    if (!ps->failed) {
        expect_punct(ps, "}");
        parse_annotations(ps);
    }
}

static void parse_struct_like(struct parser *ps)
{
    struct tok name;
    if (!expect_ident(ps, &name)) {
        return;
    }
    if (peek_word(ps, "xsd_all")) {
        next(ps);
    }
    if (!expect_punct(ps, "{")) {
        return;
    }
    size_t n = 0;
    parse_fields(ps, "}", NULL, &n);
    if (expect_punct(ps, "}")) {
        parse_annotations(ps);
    }
}

static void parse_enum(struct parser *ps)
{
    struct tok name;
    if (!expect_ident(ps, &name) || !expect_punct(ps, "{")) {
        return;
    }
    while (!ps->failed && !peek_punct(ps, "}")) {
        struct tok v;
        if (!expect_ident(ps, &v)) {
            return;
        }
        if (accept_punct(ps, "=")) {
            if (peek(ps)->kind != TK_INT) {
                fail(ps, "syntax error: integer expected");
                return;
            }
            next(ps);
        }
        parse_annotations(ps);
        accept_list_sep(ps);
    }
    if (expect_punct(ps, "}")) {
        parse_annotations(ps);
    }
}

static void parse_senum(struct parser *ps)
{
    struct tok name;
    if (!expect_ident(ps, &name) || !expect_punct(ps, "{")) {
        return;
    }
    while (!ps->failed && !peek_punct(ps, "}")) {
        if (peek(ps)->kind != TK_LITERAL) {
            fail(ps, "syntax error: literal expected");
            return;
        }
        next(ps);
        accept_list_sep(ps);
    }
    expect_punct(ps, "}");
}

/* The text of a literal token without its quotes (escapes kept as Go's
 * parser keeps them for include paths: none are expected there). */
static char *literal_text(const struct tok *t)
{
    if (t->n < 2) {
        return pb_strdup("");
    }
    return pb_strndup(t->s + 1, t->n - 2);
}

static void parse_document(struct parser *ps)
{
    while (!ps->failed) {
        const struct tok *t = peek(ps);
        if (t->kind == TK_EOF) {
            return;
        }
        if (t->kind == TK_PUNCT && (tok_is(t, TK_PUNCT, ";") || tok_is(t, TK_PUNCT, ","))) {
            next(ps);
            continue;
        }
        if (t->kind != TK_IDENT) {
            fail(ps, "syntax error");
            return;
        }
        struct tok kw = next(ps);
        if (tok_is(&kw, TK_IDENT, "include") || tok_is(&kw, TK_IDENT, "cpp_include")) {
            if (peek(ps)->kind != TK_LITERAL) {
                fail(ps, "syntax error: literal expected");
                return;
            }
            struct tok lit = next(ps);
            if (tok_is(&kw, TK_IDENT, "include")) {
                char *path = literal_text(&lit);
                char **ni = pb_realloc(ps->includes, (ps->nincludes + 1) * sizeof *ni);
                if (path == NULL || ni == NULL) {
                    pb_free(path);
                    if (ni != NULL) {
                        ps->includes = ni;
                    }
                    fail(ps, "out of memory");
                    return;
                }
                ps->includes = ni;
                ps->includes[ps->nincludes++] = path;
            }
        } else if (tok_is(&kw, TK_IDENT, "namespace")) {
            /* scope (or *) and name */
            if (accept_punct(ps, "*")) {
                struct tok n;
                expect_ident(ps, &n);
            } else {
                struct tok s1, n;
                if (expect_ident(ps, &s1)) {
                    if (peek(ps)->kind == TK_LITERAL) {
                        next(ps);
                    } else {
                        expect_ident(ps, &n);
                    }
                }
            }
            parse_annotations(ps);
        } else if (tok_is(&kw, TK_IDENT, "php_namespace") ||
                   tok_is(&kw, TK_IDENT, "xsd_namespace") ||
                   tok_is(&kw, TK_IDENT, "cpp_namespace") ||
                   tok_is(&kw, TK_IDENT, "java_package") || tok_is(&kw, TK_IDENT, "py_module") ||
                   tok_is(&kw, TK_IDENT, "perl_package") ||
                   tok_is(&kw, TK_IDENT, "ruby_namespace") ||
                   tok_is(&kw, TK_IDENT, "smalltalk_category") ||
                   tok_is(&kw, TK_IDENT, "smalltalk_prefix") ||
                   tok_is(&kw, TK_IDENT, "cocoa_prefix") ||
                   tok_is(&kw, TK_IDENT, "csharp_namespace")) {
            const struct tok *a = peek(ps);
            if (a->kind == TK_IDENT || a->kind == TK_LITERAL) {
                next(ps);
            } else {
                fail(ps, "syntax error");
            }
        } else if (tok_is(&kw, TK_IDENT, "const")) {
            struct tok name;
            parse_field_type(ps);
            if (expect_ident(ps, &name) && expect_punct(ps, "=")) {
                parse_const_value(ps);
                accept_list_sep(ps);
            }
        } else if (tok_is(&kw, TK_IDENT, "typedef")) {
            struct tok name;
            parse_field_type(ps);
            if (expect_ident(ps, &name)) {
                parse_annotations(ps);
                accept_list_sep(ps);
            }
        } else if (tok_is(&kw, TK_IDENT, "enum")) {
            parse_enum(ps);
        } else if (tok_is(&kw, TK_IDENT, "senum")) {
            parse_senum(ps);
        } else if (tok_is(&kw, TK_IDENT, "struct") || tok_is(&kw, TK_IDENT, "union") ||
                   tok_is(&kw, TK_IDENT, "exception")) {
            parse_struct_like(ps);
        } else if (tok_is(&kw, TK_IDENT, "service")) {
            parse_service(ps);
        } else {
            ps->have = true;
            ps->cur = kw;
            fail(ps, "syntax error");
            return;
        }
    }
}

static void parser_free_includes(struct parser *ps)
{
    for (size_t i = 0; i < ps->nincludes; i++) {
        pb_free(ps->includes[i]);
    }
    pb_free(ps->includes);
    ps->includes = NULL;
    ps->nincludes = 0;
}

/* Parses one file's text; the include paths found are left in ps. */
static int parse_one(struct parser *ps, struct thrift_idl *idl, const char *text, size_t len,
                     const char *fname, char *err, size_t errlen)
{
    memset(ps, 0, sizeof *ps);
    ps->text = ps->p = ps->line_start = text;
    ps->end = text + len;
    ps->line = 1;
    ps->idl = idl;
    parse_document(ps);
    if (ps->failed) {
        snprintf(err, errlen,
                 "Error parsing Thrift IDL file %s: Syntax Error %s:%d column %d offset %zu (%s)",
                 fname, fname, ps->err_line, ps->err_col, ps->err_off, ps->why);
        return -PB_EINVAL;
    }
    return 0;
}

int thrift_idl_parse_text(struct thrift_idl *idl, const char *text, size_t len, char *err,
                          size_t errlen)
{
    struct parser ps;
    int rc = parse_one(&ps, idl, text, len, "<text>", err, errlen);
    parser_free_includes(&ps);
    return rc;
}

/* ---- files and paths ---- */

/* Lexically cleans an absolute path as Go's filepath.Clean does. */
static void path_clean(char *p)
{
    char *out = p;
    const char *in = p;
    size_t root = 0;
    if (*in == '/') {
        *out++ = '/';
        in++;
        root = 1;
    }
    while (*in != '\0') {
        const char *seg = in;
        while (*in != '\0' && *in != '/') {
            in++;
        }
        size_t n = (size_t)(in - seg);
        if (*in == '/') {
            in++;
        }
        if (n == 0 || (n == 1 && seg[0] == '.')) {
            continue;
        }
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if ((size_t)(out - p) > root) {
                out--;
                while ((size_t)(out - p) > root && out[-1] != '/') {
                    out--;
                }
                if ((size_t)(out - p) > root) {
                    out--;
                }
            }
            continue;
        }
        if ((size_t)(out - p) > root) {
            *out++ = '/';
        }
        memmove(out, seg, n);
        out += n;
    }
    if (out == p) {
        *out++ = '.';
    }
    *out = '\0';
}

/* An absolute, cleaned copy of path (relative paths are taken from the
 * working directory); joined under base when base is non-NULL. */
static char *path_abs(const char *base, const char *path)
{
    char cwd[4096];
    const char *prefix = base;
    if (prefix == NULL && path[0] != '/') {
        if (getcwd(cwd, sizeof cwd) == NULL) {
            return NULL;
        }
        prefix = cwd;
    }
    size_t n = (prefix != NULL ? strlen(prefix) + 1 : 0) + strlen(path) + 1;
    char *out = pb_malloc(n);
    if (out == NULL) {
        return NULL;
    }
    if (prefix != NULL) {
        snprintf(out, n, "%s/%s", prefix, path);
    } else {
        snprintf(out, n, "%s", path);
    }
    path_clean(out);
    return out;
}

static char *path_dir(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (slash == NULL) {
        return pb_strdup(".");
    }
    if (slash == p) {
        return pb_strdup("/");
    }
    return pb_strndup(p, (size_t)(slash - p));
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen, const char *name)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "Error parsing Thrift IDL file %s: open %s: %s", name, path,
                 strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = pb_malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= THRIFT_IDL_MAX_FILE_BYTES) {
                snprintf(err, errlen, "Error parsing Thrift IDL file %s: file too large", name);
                pb_free(buf);
                buf = NULL;
                break;
            }
            char *nb = pb_realloc(buf, cap * 2);
            if (nb == NULL) {
                pb_free(buf);
                buf = NULL;
                snprintf(err, errlen, "Error parsing Thrift IDL file %s: out of memory", name);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "Error parsing Thrift IDL file %s: read %s: %s", name, path,
                         strerror(errno));
                pb_free(buf);
                buf = NULL;
            }
            break;
        }
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Orders methods by name, then by declaration order. */
static int method_cmp(const void *a, const void *b)
{
    const struct thrift_idl_method *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0) {
        return c;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* Loads one configured file and everything it includes (paths relative to
 * its directory), each file once. */
static int load_tree(struct thrift_idl *idl, const char *file, char *err, size_t errlen)
{
    char *files[THRIFT_IDL_MAX_FILES];
    size_t nfiles = 0, next_file = 0;
    int rc = 0;
    char *root = path_abs(NULL, file);
    char *base = root != NULL ? path_dir(root) : NULL;
    if (root == NULL || base == NULL) {
        pb_free(root);
        pb_free(base);
        snprintf(err, errlen, "Error parsing Thrift IDL file %s: out of memory", file);
        return -PB_ENOMEM;
    }
    files[nfiles++] = root;
    while (rc == 0 && next_file < nfiles) {
        const char *path = files[next_file++];
        size_t len = 0;
        char *text = read_file(path, &len, err, errlen, file);
        if (text == NULL) {
            rc = -PB_EINVAL;
            break;
        }
        struct parser ps;
        rc = parse_one(&ps, idl, text, len, path, err, errlen);
        pb_free(text);
        for (size_t i = 0; rc == 0 && i < ps.nincludes; i++) {
            char *inc = path_abs(base, ps.includes[i]);
            if (inc == NULL) {
                rc = -PB_ENOMEM;
                break;
            }
            bool seen = false;
            for (size_t k = 0; k < nfiles && !seen; k++) {
                seen = strcmp(files[k], inc) == 0;
            }
            if (seen) {
                pb_free(inc);
                continue;
            }
            if (nfiles >= THRIFT_IDL_MAX_FILES) {
                pb_free(inc);
                snprintf(err, errlen, "Error parsing Thrift IDL file %s: too many includes", file);
                rc = -PB_EINVAL;
                break;
            }
            files[nfiles++] = inc;
        }
        parser_free_includes(&ps);
    }
    for (size_t i = 0; i < nfiles; i++) {
        pb_free(files[i]);
    }
    pb_free(base);
    return rc;
}

void thrift_idl_free(struct thrift_idl *idl)
{
    if (idl == NULL) {
        return;
    }
    for (size_t i = 0; i < idl->nmethods; i++) {
        method_clear(&idl->methods[i]);
    }
    pb_free(idl->methods);
    pb_free(idl);
}

int thrift_idl_load(char *const *files, size_t nfiles, struct thrift_idl **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    struct thrift_idl *idl = pb_calloc(1, sizeof *idl);
    if (idl == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < nfiles; i++) {
        int rc = load_tree(idl, files[i], err, errlen);
        if (rc < 0) {
            thrift_idl_free(idl);
            return rc;
        }
    }
    /* Later definitions of a name win. */
    for (size_t i = 0; i < idl->nmethods; i++) {
        idl->methods[i].seq = i;
    }
    if (idl->nmethods > 1) {
        qsort(idl->methods, idl->nmethods, sizeof *idl->methods, method_cmp);
        size_t kept = 0;
        for (size_t i = 0; i < idl->nmethods; i++) {
            bool last = i + 1 == idl->nmethods ||
                        strcmp(idl->methods[i].name, idl->methods[i + 1].name) != 0;
            if (last) {
                idl->methods[kept++] = idl->methods[i];
            } else {
                method_clear(&idl->methods[i]);
            }
        }
        idl->nmethods = kept;
    }
    *out = idl;
    return 0;
}

const struct thrift_idl_method *thrift_idl_find(const struct thrift_idl *idl, const char *name,
                                                size_t n)
{
    if (idl == NULL) {
        return NULL;
    }
    size_t lo = 0, hi = idl->nmethods;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = idl->methods[mid].name;
        size_t ml = strlen(m);
        int c = memcmp(m, name, ml < n ? ml : n);
        if (c == 0) {
            c = ml < n ? -1 : (ml > n ? 1 : 0);
        }
        if (c == 0) {
            return &idl->methods[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *thrift_idl_field_name(const struct thrift_idl_field *f, size_t n, uint16_t id)
{
    const char *name = NULL;
    for (size_t i = 0; i < n; i++) {
        if (f[i].id == (int64_t)id && f[i].name != NULL && f[i].name[0] != '\0') {
            name = f[i].name;
        }
    }
    return name;
}
