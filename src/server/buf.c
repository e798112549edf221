/* A growable buffer and the JSON the API writes into it. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int grow(srv_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void srv_buf_put(srv_buf *b, const void *data, size_t n)
{
    if (grow(b, n) != 0)
        return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void srv_buf_puts(srv_buf *b, const char *s) { srv_buf_put(b, s, strlen(s)); }

void srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        srv_buf_put(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void write_buf(const void *bytes, size_t n, void *ctx)
{
    srv_buf_put(ctx, bytes, n);
}

void srv_buf_json_string(srv_buf *b, const char *s)
{
    if (!s)
        srv_buf_puts(b, "null");
    else
        mm_json_write_string(s, write_buf, b);
}

void srv_buf_json_number(srv_buf *b, double v, int decimals)
{
    if (isfinite(v))
        srv_buf_printf(b, "%.*f", decimals, v);
    else
        srv_buf_puts(b, "null");
}

void srv_buf_track_head(srv_buf *b, int64_t id, const char *title, const char *artist, const char *album,
                       const char *genre)
{
    srv_buf_printf(b, "{\"id\": %lld, \"title\": ", (long long)id);
    srv_buf_json_string(b, title);
    srv_buf_puts(b, ", \"artist\": ");
    srv_buf_json_string(b, artist);
    srv_buf_puts(b, ", \"album\": ");
    srv_buf_json_string(b, album);
    srv_buf_puts(b, ", \"genre\": ");
    srv_buf_json_string(b, genre);
}
