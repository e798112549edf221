/* Text that comes from files' tags and from search boxes: the JSON writers (the library's and the
 * server's) must give one valid JSON string of valid UTF-8 for any bytes; folding (search's case and
 * accent removal) stays inside its buffer and gives UTF-8; the catalog's search takes any query. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/internal.h"
#include "fuzz.h"
#include "musicmap/catalog.h"
#include "musicmap/util.h"

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when it is not well-formed (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    if (s[0] < 0x80)
        return *cp = s[0], 1;
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (!len || len > n || (s[0] >= 0xF5))
        return 0;
    unsigned v = s[0] & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static int valid_utf8(const char *s, size_t n)
{
    unsigned cp;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_seq((const unsigned char *)s + i, n - i, &cp)))
            return 0;
    return 1;
}

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (unsigned)d;
    }
    return 0;
}

/* One JSON string (RFC 8259) of valid UTF-8, escapes included, and nothing after it. */
static void check_json_string(const char *s, size_t n, const char *who)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"' || !valid_utf8(s, n))
        fuzz_fail(who);
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"')
            fuzz_fail(who);
        if (c != '\\')
            continue;
        if (i + 1 >= n - 1)
            fuzz_fail(who);
        char e = s[++i];
        if (strchr("\"\\/bfnrt", e))
            continue;
        unsigned v = 0, w = 0;
        if (e != 'u' || i + 4 >= n - 1 || hex4(s + i + 1, &v) != 0)
            fuzz_fail(who);
        i += 4;
        if (v >= 0xDC00 && v <= 0xDFFF)
            fuzz_fail(who); /* a lone low surrogate */
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (i + 6 >= n - 1 || s[i + 1] != '\\' || s[i + 2] != 'u' || hex4(s + i + 3, &w) != 0 || w < 0xDC00 ||
                w > 0xDFFF)
                fuzz_fail(who);
            i += 6;
        }
    }
}

typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static void to_sink(const void *bytes, size_t n, void *ctx)
{
    sink *s = ctx;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 16;
        s->buf = realloc(s->buf, s->cap);
        if (!s->buf)
            abort();
    }
    memcpy(s->buf + s->len, bytes, n);
    s->len += n;
}

static int count_track(const mm_track *t, void *user)
{
    (void)t;
    (*(int *)user)++;
    return 0;
}

static mm_catalog *catalog(void)
{
    static mm_catalog *cat;
    if (cat)
        return cat;
    char dir[] = "/tmp/mm-fuzz-text-XXXXXX", path[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/c.db", dir);
    mm_error err;
    if (mm_catalog_open(&cat, path, MM_CATALOG_CREATE, &err) != MM_OK)
        abort();
    mm_catalog_close(cat);
    /* three tracks with tags the way a scan stores them */
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "INSERT INTO tracks(id, path, size, mtime_ns, status, title, artist, album, genre, scanned_at) VALUES"
                     " (1, '/m/a.mp3', 1, 0, 'ok', 'Café del Mar', 'Beyoncé', 'Ünïcödé', 'Pop', 0),"
                     " (2, '/m/b.mp3', 1, 0, 'ok', 'ナイト', '50% off_', 'a\"b\\c', 'Jazz', 0),"
                     " (3, '/m/c.mp3', 1, 0, 'ok', 'plain', 'x', 'y', 'z', 0)",
                     NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_close(db);
    if (mm_catalog_open(&cat, path, 0, &err) != MM_OK)
        abort();
    return cat;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    sink s = {0};
    mm_json_write_string(text, to_sink, &s);
    check_json_string(s.buf, s.len, "mm_json_write_string: not one valid JSON string");
    free(s.buf);
    srv_buf b = {0};
    srv_buf_json_string(&b, text);
    if (!b.failed)
        check_json_string(b.data, b.len, "srv_buf_json_string: not one valid JSON string");
    srv_buf_free(&b);
    char folded[256];
    size_t n = mm_text_fold(text, folded, sizeof folded);
    if (n >= sizeof folded || strlen(folded) != n)
        fuzz_fail("mm_text_fold: outside its buffer or a wrong length");
    int found = 0;
    mm_error err;
    mm_catalog_search(catalog(), text, 20, count_track, &found, &err);
    if (found > 3)
        fuzz_fail("search: more results than tracks");
    free(text);
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    static const char *const seeds[] = {"Beyonce", "cafe del", "\xe3\x83\x8a", "50%", "a\"b\\c \x01\x7f",
                                        "\xed\xa0\x80 lone surrogate", "\xf4\x90\x80\x80 too high", "\xc0\xaf overlong"};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "text%zu", i);
        if (fuzz_write_seed(dir, name, seeds[i], strlen(seeds[i])))
            return -1;
    }
    return (int)(sizeof seeds / sizeof seeds[0]);
}
