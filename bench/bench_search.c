/* bench_search: mm_catalog_search on a large catalog (docs/catalog.md, "Search").
 *
 *   bench_search [--n 100000] [--db PATH]
 *
 * Makes a catalog of n ok tracks with mixed-script, accented, mixed-case titles, artists and albums
 * (some tags missing), written straight into SQLite the way another tool would (no stored search text).
 * Then times, per query:
 *   reference  the query as it was before schema 6: mm_fold on every row's three tags, per word;
 *   fallback   mm_catalog_search on those rows (no stored search text: folded on the fly);
 *   stored     mm_catalog_search after the rows are given their search text (the database is turned
 *              back into a version-5 catalog and reopened, so migration 5 -> 6 fills it; timed too).
 * Every query's results (ids, in order) must equal the reference's; the exit status is 1 if not. */
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "musicmap/catalog.h"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_search: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

/* Word pieces: ASCII, Latin-1 and Latin Extended-A accents, decomposed accents, Greek, Cyrillic,
 * CJK, and capitals of each, so folding has work to do on most rows. */
static const char *const PIECES[] = {
    "Love",   "NIGHT",  "Beyoncé", "Mötley",  "Crüe",    "Ærø",    "Straße", "Łódź",   "Ελλάδα", "ΣΟΦΙΑ",
    "Москва", "ЁЛКА",   "東京",    "음악",    "Café",    "Cafe\xcc\x81", "Noël", "Zoë",  "dream",  "Rain",
    "fire",   "Blue",   "Élan",    "Señor",   "Déjà",    "vu",     "Ørsted", "Ğüzel",  "Şarkı",  "Über",
    "the",    "of",     "Live",    "Remix",   "Žižek",   "Ça",     "Île",    "Œuvre",  "Ñandú",  "Ýmir",
};
#define N_PIECES (sizeof PIECES / sizeof PIECES[0])

static uint64_t rng = 42;
static size_t pick(size_t n) { return (size_t)(mm_splitmix64(&rng) % n); }

static void phrase(char *out, size_t cap, int words)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < words; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", PIECES[pick(N_PIECES)]);
}

static void make_rows(const char *path, size_t n)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    exec(db, "BEGIN");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           /* the other columns as a scan fills them, so rows are of a real size */
                           "INSERT INTO tracks(path, size, mtime_ns, hash, status, duration, container, codec,"
                           " sample_rate, channels, bit_rate, title, artist, album, genre, date, track_no, year,"
                           " loudness, loudness_song, scanned_at)"
                           " VALUES(?1, 31415926, 1700000000123456789, -1234567890123456789, 'ok', 245.3, 'flac',"
                           " 'flac', 44100, 2, 1024000, ?2, ?3, ?4, 'Rock', '1999-05-01', '7', 1999, -9.5, 0,"
                           " 1700000000)",
                           -1, &st, NULL) != SQLITE_OK)
        die("insert", sqlite3_errmsg(db));
    char p[1024], t[256], a[256], b[256];
    for (size_t i = 0; i < n; i++) {
        phrase(t, sizeof t, 1 + (int)pick(4));
        phrase(a, sizeof a, 1 + (int)pick(2));
        phrase(b, sizeof b, 1 + (int)pick(3));
        snprintf(p, sizeof p, "/home/someone/Music/%s/%s/%06zu %s.flac", a, b, i, t);
        sqlite3_bind_blob(st, 1, p, (int)strlen(p), SQLITE_TRANSIENT);
        /* a few tags missing, as in real collections */
        if (pick(50)) sqlite3_bind_text(st, 2, t, -1, SQLITE_TRANSIENT); else sqlite3_bind_null(st, 2);
        if (pick(20)) sqlite3_bind_text(st, 3, a, -1, SQLITE_TRANSIENT); else sqlite3_bind_null(st, 3);
        if (pick(10)) sqlite3_bind_text(st, 4, b, -1, SQLITE_TRANSIENT); else sqlite3_bind_null(st, 4);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "COMMIT");
    sqlite3_close(db);
}

/* The reference: the search query as it was (schema 5), on its own connection. */
static void ref_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    if (!text) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t cap = (size_t)sqlite3_value_bytes(argv[0]) + 1;
    char *out = malloc(cap);
    size_t len = mm_text_fold(text, out, cap);
    sqlite3_result_text(ctx, out, (int)len, free);
}

typedef struct ids {
    int64_t v[64];
    int n;
} ids;

static int collect(const mm_track *t, void *user)
{
    ids *r = user;
    if (r->n < 64)
        r->v[r->n++] = t->id;
    return 0;
}

static void reference(sqlite3 *db, const char *query, int limit, ids *out)
{
    char words[8][66];
    int n = 0;
    for (const char *p = query; *p && n < 8;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        size_t len = 0;
        words[n][len++] = '%';
        while (*p && !isspace((unsigned char)*p)) {
            if (len < 63 && *p != '%' && *p != '_' && *p != '\\')
                words[n][len++] = *p;
            p++;
        }
        words[n][len++] = '%';
        words[n][len] = '\0';
        if (len > 2) {
            char folded[66];
            mm_text_fold(words[n], folded, sizeof folded);
            memcpy(words[n], folded, sizeof folded);
            n++;
        }
    }
    char sql[2048];
    int len = snprintf(sql, sizeof sql, "SELECT t.id FROM tracks t WHERE t.status = 'ok'");
    for (int i = 0; i < n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND (mm_fold(t.title) LIKE ?%d OR mm_fold(t.artist) LIKE ?%d OR mm_fold(t.album) LIKE ?%d)",
                        i + 1, i + 1, i + 1);
    snprintf(sql + len, sizeof sql - (size_t)len,
             " ORDER BY (mm_fold(t.title) LIKE ?1) DESC, t.artist, t.title LIMIT %d", limit);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die("reference", sqlite3_errmsg(db));
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, words[i], -1, SQLITE_TRANSIENT);
    out->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && out->n < 64)
        out->v[out->n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
}

static const char *const QUERIES[] = {"beyonce", "MOTLEY crue", "strasse", "москва", "ελλάδα", "cafe",
                                      "zz-nothing", "e",        "lodz love", "東京 rain", "oeuvre", "the of"};
#define N_QUERIES (sizeof QUERIES / sizeof QUERIES[0])
enum { LIMIT = 50, REPEAT = 3 };

/* Median-free but steady: the best of REPEAT runs, in ms. */
static double time_search(mm_catalog *cat, const char *q, ids *out)
{
    double best = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        mm_error err;
        out->n = 0;
        double t0 = mm_now();
        if (mm_catalog_search(cat, q, LIMIT, collect, out, &err) != MM_OK)
            die("search", err.msg);
        double dt = (mm_now() - t0) * 1e3;
        best = dt < best ? dt : best;
    }
    return best;
}

static int same(const ids *a, const ids *b)
{
    return a->n == b->n && memcmp(a->v, b->v, sizeof a->v[0] * (size_t)a->n) == 0;
}

int main(int argc, char **argv)
{
    size_t n = 100000;
    const char *path = "/tmp/bench_search.db";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            die("usage", "bench_search [--n N] [--db PATH]");
    }
    char features[4096];
    unlink(path);
    snprintf(features, sizeof features, "%.*s.features", (int)strlen(path) - 3, path);
    unlink(features);

    mm_catalog *cat = NULL;
    mm_error err;
    if (mm_catalog_open(&cat, path, MM_CATALOG_CREATE, &err) != MM_OK)
        die("open", err.msg);
    mm_catalog_close(cat);
    double t0 = mm_now();
    make_rows(path, n);
    printf("catalog: %zu tracks in %.1f s (%s), schema %d\n", n, mm_now() - t0, path, MM_CATALOG_SCHEMA_VERSION);

    sqlite3 *ref = NULL;
    if (sqlite3_open(path, &ref) != SQLITE_OK)
        die(path, "cannot open");
    sqlite3_create_function(ref, "mm_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, ref_fold, NULL, NULL);

    ids want[N_QUERIES];
    double t_ref[N_QUERIES], t_fallback[N_QUERIES];
    if (mm_catalog_open(&cat, path, 0, &err) != MM_OK)
        die("open", err.msg);
    int bad = 0;
    for (size_t q = 0; q < N_QUERIES; q++) {
        t0 = mm_now();
        reference(ref, QUERIES[q], LIMIT, &want[q]);
        t_ref[q] = (mm_now() - t0) * 1e3;
        ids got;
        t_fallback[q] = time_search(cat, QUERIES[q], &got);
        bad += !same(&got, &want[q]);
    }
    mm_catalog_close(cat);

    /* Back to a version-5 catalog (what schema 6 added, removed), so opening it runs the migration. */
    if (MM_CATALOG_SCHEMA_VERSION >= 6) {
        exec(ref, "DROP TRIGGER IF EXISTS tracks_search_stale;"
                  "ALTER TABLE tracks DROP COLUMN search_title; ALTER TABLE tracks DROP COLUMN search_text;"
                  "PRAGMA user_version = 5;");
        t0 = mm_now();
        if (mm_catalog_open(&cat, path, 0, &err) != MM_OK)
            die("open", err.msg);
        printf("migration 5 -> %d: %.0f ms\n", MM_CATALOG_SCHEMA_VERSION, (mm_now() - t0) * 1e3);
    } else if (mm_catalog_open(&cat, path, 0, &err) != MM_OK) {
        die("open", err.msg);
    }
    printf("%-14s %8s %12s %12s %10s\n", "query", "results", "reference", "fallback", "stored");
    double total[3] = {0, 0, 0};
    for (size_t q = 0; q < N_QUERIES; q++) {
        ids got;
        double t = time_search(cat, QUERIES[q], &got);
        int ok = same(&got, &want[q]);
        bad += !ok;
        printf("%-14s %8d %9.1f ms %9.1f ms %7.1f ms%s\n", QUERIES[q], want[q].n, t_ref[q], t_fallback[q], t,
               ok ? "" : "  DIFFERENT RESULTS");
        total[0] += t_ref[q];
        total[1] += t_fallback[q];
        total[2] += t;
    }
    printf("%-14s %8s %9.1f ms %9.1f ms %7.1f ms  (mean per query)\n", "mean", "", total[0] / N_QUERIES,
           total[1] / N_QUERIES, total[2] / N_QUERIES);
    mm_catalog_close(cat);
    sqlite3_close(ref);
    if (bad)
        fprintf(stderr, "bench_search: %d result lists differ from the reference\n", bad);
    return bad ? 1 : 0;
}
