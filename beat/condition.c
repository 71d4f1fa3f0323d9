/* SPDX-License-Identifier: Apache-2.0
 * beat/condition.c - libbeat conditions: equals, contains, regexp, range,
 * network, has_fields, or, and, not. Field names in the config may be
 * nested or dotted (the loader nests them; we flatten back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/net.h"
#include "beat/processors.h"
#include "beat/processors_int.h"

#ifdef PB_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

#define COND_MAX_ITEMS 64
#define COND_MAX_DEPTH 16
#define COND_PATH 256

enum cond_kind { C_EQUALS, C_CONTAINS, C_REGEXP, C_RANGE, C_NETWORK, C_HAS_FIELDS, C_OR,
                 C_AND, C_NOT };

enum range_op { R_GT, R_GTE, R_LT, R_LTE };

struct item {
    char *field;  /* owned, dotted */
    struct pb_path path; /* of field */
    json_t *value; /* owned: equals/contains value, range number, network list */
    enum range_op op;
#ifdef PB_HAVE_PCRE2
    pcre2_code *re; /* owned */
#endif
};

struct pb_cond {
    enum cond_kind kind;
    struct item items[COND_MAX_ITEMS];
    size_t nitems;
    struct pb_cond *subs[COND_MAX_ITEMS]; /* owned: or/and/not */
    size_t nsubs;
};

void pb_cond_free(struct pb_cond *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nitems; i++) {
        pb_free(c->items[i].field);
        json_decref(c->items[i].value);
#ifdef PB_HAVE_PCRE2
        pcre2_code_free(c->items[i].re);
#endif
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        pb_cond_free(c->subs[i]);
    }
    pb_free(c);
}

/* Collects the leaves of a map subtree as dotted names. */
static int flatten(struct pb_cond *c, const struct pb_cfg *n, const char *prefix, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < pb_cfg_len(n); i++) {
        const struct pb_cfg *ch = pb_cfg_at(n, i);
        char name[COND_PATH];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", ch->key);
        if (ch->kind == PB_CFG_MAP) {
            if (flatten(c, ch, name, err, errlen) < 0) {
                return -1;
            }
            continue;
        }
        if (c->nitems == COND_MAX_ITEMS) {
            snprintf(err, errlen, "too many fields in condition");
            return -1;
        }
        struct item *it = &c->items[c->nitems++];
        it->field = pb_strdup(name);
        it->value = pb_cfg_to_json(ch);
    }
    return 0;
}

static const char *const kind_names[] = {"equals", "contains", "regexp", "range", "network",
                                         "has_fields", "or", "and", "not"};

static struct pb_cond *cond_new_depth(const struct pb_cfg *node, int depth, char *err,
                                      size_t errlen);

static int setup_items(struct pb_cond *c, const struct pb_cfg *body, char *err, size_t errlen)
{
    const char *kname = kind_names[c->kind];
    if (c->kind == C_HAS_FIELDS) {
        char **v = NULL;
        size_t n = 0;
        if (pb_cfg_strv(body->parent, body->key, &v, &n) < 0) {
            snprintf(err, errlen, "has_fields: %s", pb_cfg_errmsg());
            return -1;
        }
        for (size_t i = 0; i < n && c->nitems < COND_MAX_ITEMS; i++) {
            c->items[c->nitems++].field = pb_strdup(v[i]);
        }
        pb_cfg_strv_free(v);
        return 0;
    }
    if (body == NULL || body->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "condition '%s' needs a map of fields", kname);
        return -1;
    }
    if (flatten(c, body, "", err, errlen) < 0) {
        return -1;
    }
    for (size_t i = 0; i < c->nitems; i++) {
        struct item *it = &c->items[i];
        if (c->kind == C_RANGE) {
            char *dot = strrchr(it->field, '.');
            const char *op = dot ? dot + 1 : "";
            if (strcmp(op, "gt") == 0) {
                it->op = R_GT;
            } else if (strcmp(op, "gte") == 0) {
                it->op = R_GTE;
            } else if (strcmp(op, "lt") == 0) {
                it->op = R_LT;
            } else if (strcmp(op, "lte") == 0) {
                it->op = R_LTE;
            } else {
                snprintf(err, errlen, "unexpected range operator in '%s'", it->field);
                return -1;
            }
            *dot = '\0';
            if (!json_is_number(it->value)) {
                snprintf(err, errlen, "range: value of '%s' must be a number", it->field);
                return -1;
            }
        } else if (c->kind == C_REGEXP) {
#ifdef PB_HAVE_PCRE2
            if (!json_is_string(it->value)) {
                snprintf(err, errlen, "regexp: pattern of '%s' must be a string", it->field);
                return -1;
            }
            int ec = 0;
            PCRE2_SIZE eo = 0;
            it->re = pcre2_compile((PCRE2_SPTR)json_string_value(it->value),
                                   PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_NO_UTF_CHECK, &ec,
                                   &eo, NULL);
            if (it->re == NULL) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(ec, msg, sizeof msg);
                snprintf(err, errlen, "regexp: bad pattern for '%s': %s", it->field,
                         (const char *)msg);
                return -1;
            }
#else
            snprintf(err, errlen, "regexp conditions need PCRE2 (not found at build time)");
            return -1;
#endif
        } else if (c->kind == C_NETWORK) {
            json_t *v = it->value;
            if (json_is_string(v)) {
                it->value = json_pack("[O]", v);
                json_decref(v);
            } else if (!json_is_array(v)) {
                snprintf(err, errlen, "network: value of '%s' must be a string or list",
                         it->field);
                return -1;
            }
        }
    }
    return 0;
}

static struct pb_cond *cond_new_depth(const struct pb_cfg *node, int depth, char *err,
                                      size_t errlen)
{
    if (depth > COND_MAX_DEPTH) {
        snprintf(err, errlen, "condition nested too deeply");
        return NULL;
    }
    if (node == NULL || node->kind != PB_CFG_MAP || pb_cfg_len(node) != 1) {
        snprintf(err, errlen, "a condition must have exactly one key (equals, contains, regexp, "
                              "range, network, has_fields, or, and, not)");
        return NULL;
    }
    const struct pb_cfg *body = pb_cfg_at(node, 0);
    struct pb_cond *c = pb_calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t k;
    for (k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++) {
        if (strcmp(body->key, kind_names[k]) == 0) {
            break;
        }
    }
    if (k == sizeof kind_names / sizeof kind_names[0]) {
        snprintf(err, errlen, "unknown condition '%s'", body->key);
        pb_free(c);
        return NULL;
    }
    c->kind = (enum cond_kind)k;
    if (c->kind == C_OR || c->kind == C_AND) {
        if (body->kind != PB_CFG_LIST) {
            snprintf(err, errlen, "'%s' needs a list of conditions", body->key);
            pb_cond_free(c);
            return NULL;
        }
        for (size_t i = 0; i < pb_cfg_len(body) && c->nsubs < COND_MAX_ITEMS; i++) {
            c->subs[c->nsubs] = cond_new_depth(pb_cfg_at(body, i), depth + 1, err, errlen);
            if (c->subs[c->nsubs] == NULL) {
                pb_cond_free(c);
                return NULL;
            }
            c->nsubs++;
        }
        return c;
    }
    if (c->kind == C_NOT) {
        c->subs[0] = cond_new_depth(body, depth + 1, err, errlen);
        if (c->subs[0] == NULL) {
            pb_cond_free(c);
            return NULL;
        }
        c->nsubs = 1;
        return c;
    }
    if (setup_items(c, body, err, errlen) < 0) {
        pb_cond_free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->nitems; i++) {
        if (c->items[i].field == NULL) {
            snprintf(err, errlen, "out of memory");
            pb_cond_free(c);
            return NULL;
        }
        pb_path_init(&c->items[i].path, c->items[i].field);
    }
    return c;
}

struct pb_cond *pb_cond_new(const struct pb_cfg *node, char *err, size_t errlen)
{
    return cond_new_depth(node, 0, err, errlen);
}

static bool num_of(const json_t *v, double *out)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return true;
    }
    if (json_is_string(v)) {
        char *end = NULL;
        const char *s = json_string_value(v);
        double d = strtod(s, &end);
        if (end != s && *end == '\0') {
            *out = d;
            return true;
        }
    }
    return false;
}

static bool equals_one(const json_t *have, const json_t *want)
{
    if (json_is_string(want)) {
        return json_is_string(have) && strcmp(json_string_value(have), json_string_value(want)) == 0;
    }
    if (json_is_boolean(want)) {
        return json_is_boolean(have) && json_is_true(have) == json_is_true(want);
    }
    if (json_is_integer(want)) {
        double d;
        return !json_is_string(have) && num_of(have, &d) && d == (double)json_integer_value(want);
    }
    return json_equal((json_t *)have, (json_t *)want);
}

static bool contains_one(const json_t *have, const json_t *want)
{
    if (!json_is_string(want)) {
        return false;
    }
    const char *w = json_string_value(want);
    if (json_is_string(have)) {
        return strstr(json_string_value(have), w) != NULL;
    }
    if (json_is_array(have)) {
        size_t i;
        json_t *v;
        json_array_foreach(have, i, v)
        {
            if (json_is_string(v) && strstr(json_string_value(v), w) != NULL) {
                return true;
            }
        }
    }
    return false;
}

#ifdef PB_HAVE_PCRE2
static bool regexp_one(const struct item *it, const json_t *have)
{
    if (!json_is_string(have)) {
        return false;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(it->re, NULL);
    if (md == NULL) {
        return false;
    }
    int rc = pcre2_match(it->re, (PCRE2_SPTR)json_string_value(have), json_string_length(have),
                         0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}
#endif

static bool named_net(const char *name, const struct pb_ip *ip)
{
    const uint8_t *b = ip->b;
    bool v6 = ip->v6 != 0;
    static const uint8_t zero[16], lo6[16] = {[15] = 1};
    bool loopback = v6 ? memcmp(b, lo6, 16) == 0 : b[0] == 127;
    bool multicast = v6 ? b[0] == 0xff : (b[0] & 0xf0) == 0xe0;
    bool unspecified = memcmp(b, zero, v6 ? 16 : 4) == 0;
    bool link_local = v6 ? (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) : (b[0] == 169 && b[1] == 254);
    bool priv = v6 ? (b[0] & 0xfe) == 0xfc
                   : (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
                      (b[0] == 192 && b[1] == 168));
    if (strcmp(name, "loopback") == 0) {
        return loopback;
    }
    if (strcmp(name, "private") == 0) {
        return priv;
    }
    if (strcmp(name, "multicast") == 0) {
        return multicast;
    }
    if (strcmp(name, "unspecified") == 0) {
        return unspecified;
    }
    if (strcmp(name, "link_local_unicast") == 0) {
        return link_local;
    }
    if (strcmp(name, "link_local_multicast") == 0) {
        return v6 ? (b[0] == 0xff && (b[1] & 0x0f) == 2) : (b[0] == 224 && b[1] == 0 && b[2] == 0);
    }
    if (strcmp(name, "interface_local_multicast") == 0) {
        return v6 && b[0] == 0xff && (b[1] & 0x0f) == 1;
    }
    if (strcmp(name, "unicast") == 0) {
        return !multicast && !unspecified && !(!v6 && memcmp(b, "\xff\xff\xff\xff", 4) == 0);
    }
    if (strcmp(name, "global_unicast") == 0) {
        return !multicast && !unspecified && !loopback && !link_local;
    }
    if (strcmp(name, "public") == 0) {
        return !priv && !loopback && !multicast && !unspecified && !link_local;
    }
    return false;
}

static bool cidr_match(const char *spec, const struct pb_ip *ip)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", spec);
    char *slash = strchr(buf, '/');
    if (slash == NULL) {
        struct pb_ip one;
        return pb_ip_parse(buf, &one) ? pb_ip_eq(&one, ip) : named_net(buf, ip);
    }
    *slash = '\0';
    struct pb_ip net;
    if (!pb_ip_parse(buf, &net) || net.v6 != ip->v6) {
        return false;
    }
    long bits = strtol(slash + 1, NULL, 10);
    if (bits < 0 || bits > (ip->v6 ? 128 : 32)) {
        return false;
    }
    for (long i = 0; i < bits; i++) {
        unsigned byte = (unsigned)i / 8, bit = 7 - (unsigned)i % 8;
        if (((ip->b[byte] >> bit) & 1) != ((net.b[byte] >> bit) & 1)) {
            return false;
        }
    }
    return true;
}

static bool network_one(const json_t *have, const json_t *nets)
{
    struct pb_ip ip;
    if (!json_is_string(have) || !pb_ip_parse(json_string_value(have), &ip)) {
        return false;
    }
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n)
    {
        if (json_is_string(n) && cidr_match(json_string_value(n), &ip)) {
            return true;
        }
    }
    return false;
}

/* The value of field: borrowed from tree, or a new reference made from ev
 * (*owned set) when the event is still in its arena. */
static const json_t *field_of(const json_t *tree, pb_event *ev, const struct item *it,
                              json_t **owned)
{
    if (tree != NULL) {
        return pb_json_get(tree, it->field);
    }
    *owned = pb_ev_get_json_p(ev, &it->path);
    return *owned;
}

/* One of tree (a jansson event) or ev. */
static bool eval(const struct pb_cond *c, const json_t *tree, pb_event *ev)
{
    if (c == NULL) {
        return true;
    }
    switch (c->kind) {
    case C_OR:
        for (size_t i = 0; i < c->nsubs; i++) {
            if (eval(c->subs[i], tree, ev)) {
                return true;
            }
        }
        return false;
    case C_AND:
        for (size_t i = 0; i < c->nsubs; i++) {
            if (!eval(c->subs[i], tree, ev)) {
                return false;
            }
        }
        return true;
    case C_NOT:
        return !eval(c->subs[0], tree, ev);
    default:
        break;
    }
    for (size_t i = 0; i < c->nitems; i++) {
        const struct item *it = &c->items[i];
        json_t *owned = NULL;
        const json_t *have = field_of(tree, ev, it, &owned);
        if (have == NULL) {
            return false;
        }
        bool ok = false;
        double d = 0, w = 0;
        switch (c->kind) {
        case C_EQUALS:
            ok = equals_one(have, it->value);
            break;
        case C_CONTAINS:
            ok = contains_one(have, it->value);
            break;
        case C_REGEXP:
#ifdef PB_HAVE_PCRE2
            ok = regexp_one(it, have);
#endif
            break;
        case C_RANGE:
            if (num_of(have, &d) && num_of(it->value, &w)) {
                ok = it->op == R_GT    ? d > w
                     : it->op == R_GTE ? d >= w
                     : it->op == R_LT  ? d < w
                                       : d <= w;
            }
            break;
        case C_NETWORK:
            ok = network_one(have, it->value);
            break;
        case C_HAS_FIELDS:
            ok = true;
            break;
        default:
            break;
        }
        json_decref(owned);
        if (!ok) {
            return false;
        }
    }
    return true;
}

uint64_t pb_cond_root_bits(const struct pb_cond *c)
{
    uint64_t bits = 0;
    for (size_t i = 0; c != NULL && i < c->nsubs; i++) {
        bits |= pb_cond_root_bits(c->subs[i]);
    }
    for (size_t i = 0; c != NULL && i < c->nitems; i++) {
        const char *f = c->items[i].field;
        size_t len = strcspn(f, ".");
        bits |= pb_key_bit(pb_key_tag(f, len));
    }
    return bits;
}

bool pb_cond_eval_absent(const struct pb_cond *c)
{
    /* eval's answer when every field lookup finds nothing */
    if (c == NULL) {
        return true;
    }
    switch (c->kind) {
    case C_OR:
        for (size_t i = 0; i < c->nsubs; i++) {
            if (pb_cond_eval_absent(c->subs[i])) {
                return true;
            }
        }
        return false;
    case C_AND:
        for (size_t i = 0; i < c->nsubs; i++) {
            if (!pb_cond_eval_absent(c->subs[i])) {
                return false;
            }
        }
        return true;
    case C_NOT:
        return !pb_cond_eval_absent(c->subs[0]);
    default:
        return c->nitems == 0; /* the first item's field is missing */
    }
}

bool pb_cond_eval(const struct pb_cond *c, const json_t *ev)
{
    return eval(c, ev, NULL);
}

bool pb_cond_eval_ev(const struct pb_cond *c, pb_event *ev)
{
    return pb_ev_is_tree(ev) ? eval(c, pb_ev_json(ev), NULL) : eval(c, NULL, ev);
}

bool pb_net_match(const char *spec, const char *ip)
{
    struct pb_ip a;
    return spec != NULL && ip != NULL && pb_ip_parse(ip, &a) && cidr_match(spec, &a);
}

bool pb_net_spec_valid(const char *spec)
{
    static const char *const named[] = {"loopback", "private", "multicast", "unspecified",
                                        "link_local_unicast", "link_local_multicast",
                                        "interface_local_multicast", "unicast",
                                        "global_unicast", "public"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(spec, named[i]) == 0) {
            return true;
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", spec);
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        struct pb_ip net;
        return end != slash + 1 && *end == '\0' && pb_ip_parse(buf, &net) && bits >= 0 &&
               bits <= (net.v6 ? 128 : 32);
    }
    struct pb_ip one;
    return pb_ip_parse(buf, &one);
}
