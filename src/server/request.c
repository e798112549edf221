/* What a request's text is parsed into before anything is looked up: query numbers, ids in paths,
 * percent-escapes, the Host header. Pure functions of their text (the HTTP fuzz target drives them). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

int srv_query_int(const char *v, long lo, long hi, long dflt, long *out)
{
    *out = dflt;
    if (!v)
        return 0;
    if (!*v || strlen(v) > 15) /* 10^15 - 1 fits a long: no overflow to check */
        return -1;
    long x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (*p - '0');
    }
    if (x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int srv_id_route(const char *url, const char *prefix, int64_t *id, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(url, prefix, n) != 0)
        return -1;
    const char *p = url + n, *q = p;
    while (*q && *q != '/')
        q++;
    if (srv_parse_id(p, (size_t)(q - p), id) != 0)
        return -2;
    *rest = q;
    return 0;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

size_t srv_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

int srv_origin_from_host(const char *host, int tls, char *out, size_t cap)
{
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > 255)
        return -1;
    for (const char *p = host; *p; p++) /* ASCII by hand: isalnum follows the locale */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
            return -1;
    int w = snprintf(out, cap, "%s://%s/", tls ? "https" : "http", host);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

int srv_loopback_host(const char *host)
{
    if (!host)
        return 1; /* HTTP/1.0 without Host: nothing to check */
    const char *names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(host, names[i], n) == 0 && (host[n] == '\0' || host[n] == ':'))
            return 1;
    }
    return 0;
}
