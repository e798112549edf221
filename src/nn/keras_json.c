/* A small recursive-descent JSON reader, enough for the model configurations Keras writes. */
#include "keras_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KJ_MAX_DEPTH 64

typedef struct kj_parser {
    const char *start, *p, *end;
    char *why;
    size_t why_size;
    int failed;
} kj_parser;

static void fail(kj_parser *ps, const char *what)
{
    if (!ps->failed && ps->why && ps->why_size)
        snprintf(ps->why, ps->why_size, "%s at byte %zu", what, (size_t)(ps->p - ps->start));
    ps->failed = 1;
}

static void skip_space(kj_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int literal(kj_parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static kj_node *new_node(kj_type type)
{
    kj_node *n = calloc(1, sizeof *n);
    if (n)
        n->type = type;
    return n;
}

/* Appends the UTF-8 encoding of code point cp. */
static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(const char *p, unsigned long *out)
{
    unsigned long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned long)d;
    }
    *out = v;
    return 0;
}

/* A string at ps->p (the opening quote); returns a malloc'd UTF-8 copy. Escaped text never grows
 * (an escape of k bytes decodes to at most k bytes), so the raw length bounds the result. */
static char *parse_string(kj_parser *ps)
{
    ps->p++;
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p != '"')
        ps->p += *ps->p == '\\' && ps->p + 1 < ps->end ? 2 : 1;
    if (ps->p >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    const char *stop = ps->p++;
    char *out = malloc((size_t)(stop - start) + 1), *o = out;
    if (!out) {
        fail(ps, "out of memory");
        return NULL;
    }
    for (const char *s = start; s < stop; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        s++;
        switch (*s) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned long cp, low;
            if (stop - s < 5 || hex4(s + 1, &cp) != 0) {
                free(out);
                fail(ps, "bad \\u escape");
                return NULL;
            }
            s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && stop - s >= 7 && s[1] == '\\' && s[2] == 'u' && hex4(s + 3, &low) == 0 &&
                low >= 0xDC00 && low < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                s += 6;
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            free(out);
            fail(ps, "bad escape");
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

static kj_node *parse_value(kj_parser *ps, int depth);

static int append(kj_node *n, kj_node *item, char *key, size_t *cap)
{
    if (n->count == *cap) {
        size_t grown = *cap ? *cap * 2 : 8;
        kj_node **items = realloc(n->items, grown * sizeof *items);
        if (!items)
            return -1;
        n->items = items;
        if (n->type == KJ_OBJECT) {
            char **keys = realloc(n->keys, grown * sizeof *keys);
            if (!keys)
                return -1;
            n->keys = keys;
        }
        *cap = grown;
    }
    n->items[n->count] = item;
    if (n->type == KJ_OBJECT)
        n->keys[n->count] = key;
    n->count++;
    return 0;
}

static kj_node *parse_container(kj_parser *ps, int depth, int object)
{
    char close = object ? '}' : ']';
    kj_node *n = new_node(object ? KJ_OBJECT : KJ_ARRAY);
    size_t cap = 0;
    if (!n) {
        fail(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return n;
    }
    for (;;) {
        char *key = NULL;
        skip_space(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "expected a key");
                break;
            }
            key = parse_string(ps);
            skip_space(ps);
            if (!key || ps->p >= ps->end || *ps->p != ':') {
                free(key);
                fail(ps, "expected ':'");
                break;
            }
            ps->p++;
        }
        kj_node *item = parse_value(ps, depth + 1);
        if (!item || append(n, item, key, &cap) != 0) {
            kj_free(item);
            free(key);
            fail(ps, "out of memory");
            break;
        }
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return n;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    kj_free(n);
    return NULL;
}

static kj_node *parse_value(kj_parser *ps, int depth)
{
    if (depth > KJ_MAX_DEPTH) {
        fail(ps, "nested too deep");
        return NULL;
    }
    skip_space(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end");
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[')
        return parse_container(ps, depth, c == '{');
    if (c == '"') {
        char *s = parse_string(ps);
        kj_node *n = s ? new_node(KJ_STRING) : NULL;
        if (!n) {
            free(s);
            fail(ps, "out of memory");
            return NULL;
        }
        n->string = s;
        return n;
    }
    kj_node *n = NULL;
    if (literal(ps, "true") || literal(ps, "false")) {
        n = new_node(KJ_BOOL);
        if (n)
            n->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
    } else if (literal(ps, "null")) {
        n = new_node(KJ_NULL);
    } else if (literal(ps, "NaN")) {
        if ((n = new_node(KJ_NUMBER)))
            n->number = NAN;
    } else if (literal(ps, "Infinity") || literal(ps, "-Infinity")) {
        if ((n = new_node(KJ_NUMBER)))
            n->number = c == '-' ? -INFINITY : INFINITY;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t len = 0;
        while (ps->p + len < ps->end && len < sizeof buf - 1 && strchr("+-.0123456789eE", ps->p[len]))
            len++;
        memcpy(buf, ps->p, len);
        buf[len] = '\0';
        char *stop;
        double v = strtod(buf, &stop);
        if (stop == buf) {
            fail(ps, "bad number");
            return NULL;
        }
        ps->p += stop - buf;
        if ((n = new_node(KJ_NUMBER)))
            n->number = v;
    } else {
        fail(ps, "unexpected character");
        return NULL;
    }
    if (!n)
        fail(ps, "out of memory");
    return n;
}

kj_node *kj_parse(const char *text, size_t len, char *why, size_t why_size)
{
    kj_parser ps = {text, text, text + len, why, why_size, 0};
    kj_node *root = parse_value(&ps, 0);
    skip_space(&ps);
    /* Python's bytes attributes may end in NULs */
    while (root && ps.p < ps.end && *ps.p == '\0')
        ps.p++;
    if (root && ps.p != ps.end) {
        fail(&ps, "text after the value");
        kj_free(root);
        root = NULL;
    }
    return root;
}

void kj_free(kj_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++) {
        kj_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->string);
    free(n);
}

const kj_node *kj_get(const kj_node *n, const char *key)
{
    if (!n || n->type != KJ_OBJECT)
        return NULL;
    for (size_t i = 0; i < n->count; i++)
        if (strcmp(n->keys[i], key) == 0)
            return n->items[i];
    return NULL;
}

const char *kj_string(const kj_node *n)
{
    return n && n->type == KJ_STRING ? n->string : NULL;
}

int kj_numbers_equal(const kj_node *n, const double *values, size_t count)
{
    if (!n || n->type != KJ_ARRAY || n->count != count)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (n->items[i]->type != KJ_NUMBER || n->items[i]->number != values[i])
            return 0;
    return 1;
}
