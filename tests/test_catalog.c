/* The catalog: half floats, schema and migrations, scanning (incremental, moved, missing, prune),
 * broken files of every kind, symlink loops, a file vanishing mid-scan, and kill -9 during a scan. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "musicmap/audio.h"
#include "musicmap/catalog.h"
#include "musicmap/features.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

static const char *fmt_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt_path(const char *fmt, ...)
{
    static char ring[16][1024];
    static int next;
    char *p = ring[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof ring[0], fmt, ap);
    va_end(ap);
    return p;
}

/* a copy that lives as long as the test program (fmt_path's buffers are reused) */
static const char *keep(const char *s)
{
    static char pool[64][1024];
    static int next;
    char *p = pool[next++ % 64];
    snprintf(p, sizeof pool[0], "%s", s);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(*size ? *size : 1);
    assert_int_equal(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

/* A short song: a chord that depends on seed, so every file has different content and features. */
static void write_song(const char *path, const char *format, double seconds, int seed, const char *genre)
{
    const int rate = 16000, channels = 1;
    int64_t frames = (int64_t)(seconds * rate);
    float *pcm = malloc(sizeof(float) * (size_t)frames);
    assert_non_null(pcm);
    double f1 = 110.0 * pow(2.0, (seed % 24) / 12.0), f2 = f1 * 1.5, f3 = 220.0 + 37.0 * seed;
    for (int64_t i = 0; i < frames; i++) {
        double t = (double)i / rate;
        double env = 0.5 + 0.5 * sin(2 * M_PI * (0.5 + 0.1 * seed) * t);
        pcm[i] = (float)(0.25 * sin(2 * M_PI * f1 * t) + 0.15 * env * sin(2 * M_PI * f2 * t) +
                         0.1 * sin(2 * M_PI * f3 * t));
    }
    mm_audio_tags tags;
    memset(&tags, 0, sizeof tags);
    snprintf(tags.title, sizeof tags.title, "Song %d", seed);
    snprintf(tags.artist, sizeof tags.artist, "Artist %d", seed % 3);
    snprintf(tags.genre, sizeof tags.genre, "%s", genre);
    snprintf(tags.date, sizeof tags.date, "%d-05-01", 1990 + seed);
    mm_audio_write_options o = {.format = format, .tags = &tags};
    mm_error err;
    if (mm_audio_write(path, pcm, frames, channels, rate, &o, &err) != MM_OK)
        fail_msg("%s", err.msg);
    free(pcm);
}

static const char *const FORMATS[] = {"wav", "flac", "mp3", "ogg", "m4a", "opus"};
static const char *const GENRES[] = {"rock", "jazz", "blues", "pop"};

/* n songs of the given length under dir/a and dir/b, formats in turn */
static void make_corpus(const char *dir, int n, double seconds)
{
    mkdir(fmt_path("%s/a", dir), 0755);
    mkdir(fmt_path("%s/b", dir), 0755);
    for (int i = 0; i < n; i++) {
        const char *fmt = FORMATS[i % 6];
        write_song(fmt_path("%s/%s/song%02d.%s", dir, i % 2 ? "b" : "a", i, fmt), fmt, seconds, i, GENRES[i % 4]);
    }
    /* not audio: ignored without a trace */
    write_bytes(fmt_path("%s/a/cover.jpg", dir), "jpeg?", 5);
    write_bytes(fmt_path("%s/a/notes.txt", dir), "hello", 5);
}

static mm_catalog *open_cat(const char *db)
{
    mm_catalog *cat = NULL;
    mm_error err;
    if (mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &err) != MM_OK)
        fail_msg("%s", err.msg);
    return cat;
}

typedef struct failure_log {
    int n;
    char paths[64][512];
    char msgs[64][1024];
} failure_log;

static void log_failure(const char *path, const char *msg, void *user)
{
    failure_log *log = user;
    if (log && log->n < 64) {
        snprintf(log->paths[log->n], sizeof log->paths[0], "%s", path);
        snprintf(log->msgs[log->n], sizeof log->msgs[0], "%s", msg);
        log->n++;
    }
}

static mm_scan_result scan_opts(mm_catalog *cat, const char *root, mm_scan_options *o)
{
    mm_scan_result r;
    mm_error err;
    const char *roots[1] = {root};
    if (mm_catalog_scan(cat, roots, 1, o, &r, &err) != MM_OK)
        fail_msg("scan failed: %s", err.msg);
    return r;
}

static mm_scan_result scan_dir(mm_catalog *cat, const char *root, int jobs)
{
    mm_scan_options o = {.jobs = jobs};
    return scan_opts(cat, root, &o);
}

typedef struct found_track {
    int64_t id;
    mm_track_status status;
    int has_features;
    char error[1024];
    char genre[64];
    int year;
    int count;
} found_track;

typedef struct find_ctx {
    const char *path;
    found_track out;
} find_ctx;

static int find_cb(const mm_track *t, void *user)
{
    find_ctx *c = user;
    if (strcmp(t->path, c->path) == 0) {
        c->out.id = t->id;
        c->out.status = t->status;
        c->out.has_features = t->has_features;
        snprintf(c->out.error, sizeof c->out.error, "%s", t->error ? t->error : "");
        snprintf(c->out.genre, sizeof c->out.genre, "%s", t->genre);
        c->out.year = t->year;
        c->out.count++;
    }
    return 0;
}

/* the track at path, count = how many rows have it */
static found_track find_track(mm_catalog *cat, const char *path)
{
    find_ctx c = {.path = path}; /* the temporary folders have no links in their paths */
    mm_error err;
    assert_int_equal(mm_catalog_each_track(cat, -1, find_cb, &c, &err), MM_OK);
    return c.out;
}

static int count_cb(const mm_track *t, void *user)
{
    (*(int *)user)++;
    return 0;
}

static int count_tracks(mm_catalog *cat, int status)
{
    int n = 0;
    mm_error err;
    assert_int_equal(mm_catalog_each_track(cat, status, count_cb, &n, &err), MM_OK);
    return n;
}

static uint16_t *features_of(mm_catalog *cat, int64_t id)
{
    uint16_t *h = malloc(MM_FEATURE_RECORD_BYTES);
    assert_non_null(h);
    mm_error err;
    if (mm_catalog_read_features_half(cat, id, h, &err) != MM_OK)
        fail_msg("%s", err.msg);
    return h;
}

/* The features computed afresh from the file, as halves: what the catalog must hold bit for bit. */
static uint16_t *fresh_features(const char *path)
{
    mm_audio *a = NULL;
    mm_error err;
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES), *mel = malloc(sizeof(float) * MM_FEATURE_VALUES);
    uint16_t *h = malloc(MM_FEATURE_RECORD_BYTES);
    mm_mel *m = NULL;
    assert_int_equal(mm_audio_open(&a, path, &err), MM_OK);
    mm_clip_options o = {.min_seconds = 1.0};
    assert_int_equal(mm_audio_read_clip(a, &o, clip, NULL, &err), MM_OK);
    assert_int_equal(mm_mel_open(&m, MM_PAD_REFLECT, &err), MM_OK);
    mm_mel_compute(m, clip, mel);
    mm_floats_to_halves(mel, h, MM_FEATURE_VALUES);
    mm_mel_close(m);
    mm_audio_close(a);
    free(clip);
    free(mel);
    return h;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static const char *sql_text(sqlite3 *db, const char *sql)
{
    static char buf[256];
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* ---------------------------------------------------------------- half floats */

static void test_half(void **state)
{
    /* every half survives half -> float -> half (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mm_half_to_float((uint16_t)h);
        if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu)) {
            assert_true(isnan(f));
            uint16_t back = mm_float_to_half(f);
            assert_int_equal(back & 0x7C00u, 0x7C00u);
            assert_int_not_equal(back & 0x3FFu, 0);
            continue;
        }
        if (mm_float_to_half(f) != h)
            fail_msg("half 0x%04x -> %g -> 0x%04x", h, (double)f, mm_float_to_half(f));
    }
    /* known values */
    assert_int_equal(mm_float_to_half(1.0f), 0x3C00);
    assert_int_equal(mm_float_to_half(-2.0f), 0xC000);
    assert_int_equal(mm_float_to_half(65504.0f), 0x7BFF);
    assert_int_equal(mm_float_to_half(65520.0f), 0x7C00); /* halfway to the next: even = infinity */
    assert_int_equal(mm_float_to_half(1e9f), 0x7C00);
    assert_int_equal(mm_float_to_half(-INFINITY), 0xFC00);
    assert_int_equal(mm_float_to_half(5.9604645e-8f), 0x0001); /* 2^-24 */
    assert_int_equal(mm_float_to_half(2.9802322e-8f), 0x0000); /* 2^-25: tie, to even (0) */
    assert_int_equal(mm_float_to_half(4.4703484e-8f), 0x0001); /* 1.5 * 2^-25 */
    assert_int_equal(mm_float_to_half(-0.0f), 0x8000);
    /* ties to even: 1 + 2^-11 -> 1; 1 + 3 * 2^-11 -> 1 + 2^-9 */
    assert_int_equal(mm_float_to_half(1.0f + 0x1p-11f), 0x3C00);
    assert_int_equal(mm_float_to_half(1.0f + 3 * 0x1p-11f), 0x3C02);
    assert_true(mm_half_to_float(0x3555) > 0.333f && mm_half_to_float(0x3555) < 0.3334f);
#ifdef __FLT16_MAX__
    /* against the compiler's own conversion, on many floats of every magnitude */
    uint32_t s = 1;
    for (int i = 0; i < 2000000; i++) {
        s = s * 1664525u + 1013904223u;
        uint32_t bits = s;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isnan(f))
            continue;
        _Float16 ref = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &ref, sizeof rb);
        if (mm_float_to_half(f) != rb)
            fail_msg("%a -> 0x%04x, the compiler says 0x%04x", (double)f, mm_float_to_half(f), rb);
    }
#endif
    /* the dB range of log-mel features: error within half's precision */
    for (float v = -100.0f; v <= 60.0f; v += 0.01f) {
        float back = mm_half_to_float(mm_float_to_half(v));
        assert_true(fabsf(back - v) <= fabsf(v) * 0x1p-11f + 1e-7f);
    }
}

static void test_queue(void **state)
{
    mm_queue *q = NULL;
    mm_error err;
    assert_int_equal(mm_queue_open(&q, 2, &err), MM_OK);
    int a = 1, b = 2;
    void *p = NULL;
    assert_int_equal(mm_queue_pop(q, &p, 0.01), 0); /* empty: timeout */
    assert_int_equal(mm_queue_push(q, &a), 0);
    assert_int_equal(mm_queue_push(q, &b), 0);
    assert_int_equal(mm_queue_pop(q, &p, -1), 1);
    assert_ptr_equal(p, &a);
    mm_queue_close(q);
    assert_int_equal(mm_queue_push(q, &a), -1);
    assert_int_equal(mm_queue_pop(q, &p, -1), 1); /* drained after close */
    assert_ptr_equal(p, &b);
    assert_int_equal(mm_queue_pop(q, &p, -1), -1);
    mm_queue_free(q);
}

/* ---------------------------------------------------------------- schema */

/* Version 1 exactly as it shipped: a catalog of that version must open and be migrated. */
static const char *const SCHEMA_V1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE tracks(id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL DEFAULT 0, hash INTEGER,"
    "  status TEXT NOT NULL CHECK(status IN ('ok','failed','missing')), error TEXT,"
    "  duration REAL, container TEXT, codec TEXT, sample_rate INTEGER, channels INTEGER, bit_rate INTEGER,"
    "  title TEXT, artist TEXT, album TEXT, genre TEXT, date TEXT, track_no TEXT, year INTEGER,"
    "  loudness REAL, loudness_song INTEGER, scanned_at INTEGER NOT NULL);"
    "CREATE INDEX tracks_status ON tracks(status);"
    "CREATE TABLE features(track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,"
    "  slot INTEGER NOT NULL UNIQUE, checksum INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES"
    "  ('frontend.sample_rate', '12000'), ('frontend.n_fft', '512'), ('frontend.hop', '256'),"
    "  ('frontend.n_mels', '96'), ('frontend.n_frames', '1366'), ('frontend.pad', 'reflect'),"
    "  ('features.dtype', 'float16'), ('features.layout', 'band-major 96x1366');"
    "INSERT INTO tracks(path, size, mtime_ns, status, genre, scanned_at) VALUES(x'2f612f622e6d7033', 10, 5, 'ok', 'rock', 1);"
    "PRAGMA user_version = 1;";

static void test_schema(void **state)
{
    const char *dir = keep(tu_temp_dir());
    mm_catalog *cat = NULL;
    mm_error err;

    /* a missing catalog is an error unless asked to create it */
    assert_int_equal(mm_catalog_open(&cat, fmt_path("%s/none.db", dir), 0, &err), MM_ERR_IO);
    assert_non_null(strstr(err.msg, "none.db"));

    /* new: the current version, the front-end recorded, the feature file created beside it */
    cat = open_cat(fmt_path("%s/deep/er/new.db", dir));
    assert_int_equal(mm_catalog_schema_version(cat), MM_CATALOG_SCHEMA_VERSION);
    assert_string_equal(mm_catalog_features_path(cat), fmt_path("%s/deep/er/new.features", dir));
    mm_frontend_params fp;
    assert_int_equal(mm_catalog_frontend(cat, &fp, &err), MM_OK);
    assert_int_equal(fp.sample_rate, MM_SAMPLE_RATE);
    assert_int_equal(fp.n_fft, MM_N_FFT);
    assert_int_equal(fp.hop, MM_HOP);
    assert_int_equal(fp.n_mels, MM_N_MELS);
    assert_int_equal(fp.n_frames, MM_N_FRAMES);
    assert_int_equal(fp.pad, MM_PAD_REFLECT);
    mm_catalog_stats st;
    assert_int_equal(mm_catalog_get_stats(cat, &st, &err), MM_OK);
    assert_int_equal(st.total, 0);
    assert_int_equal(st.features_bytes, MM_FEATURE_HEADER_BYTES);
    mm_catalog_stats_free(&st);
    mm_catalog_close(cat);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fmt_path("%s/deep/er/new.db", dir), &db), SQLITE_OK);
    assert_string_equal(sql_text(db, "PRAGMA journal_mode"), "wal");
    assert_int_equal(sql_int(db, "PRAGMA user_version"), MM_CATALOG_SCHEMA_VERSION);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('label_sets','labels','models',"
                                 "'vectors','maps','map_points')"),
                     6);
    sqlite3_close(db);

    /* version 1 -> migrated, its data kept */
    const char *old = keep(fmt_path("%s/v1.db", dir));
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    sql_exec(db, SCHEMA_V1);
    sqlite3_close(db);
    cat = open_cat(old);
    assert_int_equal(mm_catalog_schema_version(cat), MM_CATALOG_SCHEMA_VERSION);
    found_track t = find_track(cat, "/a/b.mp3");
    assert_int_equal(t.count, 1);
    assert_string_equal(t.genre, "rock");
    mm_catalog_close(cat);
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), MM_CATALOG_SCHEMA_VERSION);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'map_points'"), 1);
    sqlite3_close(db);

    /* newer than we know: refused, untouched */
    const char *newer = keep(fmt_path("%s/v99.db", dir));
    assert_int_equal(sqlite3_open(newer, &db), SQLITE_OK);
    sql_exec(db, "CREATE TABLE x(y); PRAGMA user_version = 99;");
    sqlite3_close(db);
    assert_int_equal(mm_catalog_open(&cat, newer, MM_CATALOG_CREATE, &err), MM_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "newer"));
    /* someone else's SQLite database, and a file that is not a database at all */
    const char *other = keep(fmt_path("%s/other.db", dir));
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    sql_exec(db, "CREATE TABLE people(name TEXT);");
    sqlite3_close(db);
    assert_int_equal(mm_catalog_open(&cat, other, MM_CATALOG_CREATE, &err), MM_ERR_FORMAT);
    const char *text = keep(fmt_path("%s/text.db", dir));
    const char words[] = "this is not a database, just some words long enough to look like a header....";
    write_bytes(text, words, sizeof words);
    assert_int_not_equal(mm_catalog_open(&cat, text, MM_CATALOG_CREATE, &err), MM_OK);
    print_message("  refused: %s\n", err.msg);
    /* a damaged feature file header */
    const char *dmg = keep(fmt_path("%s/dmg.db", dir));
    mm_catalog_close(open_cat(dmg));
    write_bytes(fmt_path("%s/dmg.features", dir), "garbage", 7);
    assert_int_equal(mm_catalog_open(&cat, dmg, MM_CATALOG_CREATE, &err), MM_ERR_FORMAT);
}

typedef struct search_hits {
    int64_t ids[8];
    int n;
} search_hits;

static int search_cb(const mm_track *t, void *user)
{
    search_hits *h = user;
    if (h->n < 8)
        h->ids[h->n++] = t->id;
    return 0;
}

static search_hits search(mm_catalog *cat, const char *query)
{
    search_hits h = {.n = 0};
    mm_error err;
    if (mm_catalog_search(cat, query, 8, search_cb, &h, &err) != MM_OK)
        fail_msg("%s", err.msg);
    return h;
}

/* Version 5 -> 6: the folded search text is filled for existing rows; rows without it (another tool's)
 * are still found, and so are rows whose tags another tool changed. */
static void test_search_migration(void **state)
{
    const char *dir = keep(tu_temp_dir());
    const char *path = keep(fmt_path("%s/v5.db", dir));
    /* a version-5 catalog: this version's, less what migration 5 -> 6 added */
    mm_catalog_close(open_cat(path));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql_exec(db, "DROP TRIGGER tracks_search_stale;"
                 "ALTER TABLE tracks DROP COLUMN search_title; ALTER TABLE tracks DROP COLUMN search_text;"
                 "PRAGMA user_version = 5;"
                 "INSERT INTO tracks(id, path, size, mtime_ns, status, title, artist, album, scanned_at) VALUES"
                 " (1, x'2f31', 1, 1, 'ok', 'Crazy in Love', 'Beyoncé', 'Dangerously In Love', 1),"
                 " (2, x'2f32', 1, 1, 'ok', NULL, 'MÖTLEY CRÜE', NULL, 1),"
                 " (3, x'2f33', 1, 1, 'ok', 'Love Me Like You Do', 'Ellie Goulding', NULL, 1),"
                 " (4, x'2f34', 1, 1, 'missing', 'Straße', 'Москва', 'Ελλάδα', 1);");
    sqlite3_close(db);

    mm_catalog *cat = open_cat(path);
    assert_int_equal(mm_catalog_schema_version(cat), 6);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_string_equal(sql_text(db, "SELECT search_title FROM tracks WHERE id = 1"), "crazy in love");
    assert_string_equal(sql_text(db, "SELECT search_text FROM tracks WHERE id = 1"), "beyonce\ndangerously in love");
    assert_int_equal(sql_int(db, "SELECT search_title IS NULL FROM tracks WHERE id = 2"), 1);
    assert_string_equal(sql_text(db, "SELECT search_text FROM tracks WHERE id = 2"), "motley crue\n");
    /* every row, not only ok ones: a missing track that comes back is searched without a rescan */
    assert_string_equal(sql_text(db, "SELECT search_text FROM tracks WHERE id = 4"), "москва\nελλάδα");

    search_hits h = search(cat, "BEYONCE love");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], 1);
    assert_int_equal(search(cat, "motley").ids[0], 2);
    assert_int_equal(search(cat, "strasse").n, 0); /* missing tracks are not searched */
    /* a word must lie inside one tag: none spans the artist and the album */
    assert_int_equal(search(cat, "beyoncedanger").n, 0);
    /* title matches first, then by artist */
    h = search(cat, "love");
    assert_int_equal(h.n, 2);
    assert_int_equal(h.ids[0], 1);
    assert_int_equal(h.ids[1], 3);
    h = search(cat, "e");
    assert_int_equal(h.n, 3);
    assert_int_equal(h.ids[2], 2); /* no title: after the titles that do not match */

    /* another tool's row, without search text: folded on the fly */
    sql_exec(db, "INSERT INTO tracks(id, path, size, mtime_ns, status, title, artist, scanned_at)"
                 " VALUES (5, x'2f35', 1, 1, 'ok', 'Ærøskøbing', 'Ýmir', 1)");
    assert_int_equal(search(cat, "aeroskobing ymir").ids[0], 5);
    /* another tool changing the tags: the stored text is forgotten, not left stale */
    sql_exec(db, "UPDATE tracks SET title = 'Halo' WHERE id = 1");
    assert_int_equal(sql_int(db, "SELECT search_text IS NULL FROM tracks WHERE id = 1"), 1);
    assert_int_equal(search(cat, "halo beyonce").ids[0], 1);
    assert_int_equal(search(cat, "crazy").n, 0);
    sqlite3_close(db);
    mm_catalog_close(cat);
}

/* ---------------------------------------------------------------- incremental scans */

/* Several roots at once, given in any order, folders and single files among them: what lies under one
 * of them and is gone becomes missing; what lies beside them does not, even where its folder's name
 * starts with a root's ("music" does not hold "musicx"). */
static void test_roots(void **state)
{
    (void)state;
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir)), *musicx = keep(fmt_path("%s/musicx", dir));
    mkdir(music, 0755);
    mkdir(musicx, 0755);
    make_corpus(music, 6, 2.0);  /* a: song00, 02, 04; b: song01, 03, 05 */
    make_corpus(musicx, 2, 2.0); /* a: song00; b: song01 */
    const char *a = keep(fmt_path("%s/a", music)), *b1 = keep(fmt_path("%s/b/song01.%s", music, FORMATS[1]));
    const char *a2 = keep(fmt_path("%s/a/song02.%s", music, FORMATS[2]));
    const char *x0 = keep(fmt_path("%s/a/song00.%s", musicx, FORMATS[0]));
    mm_catalog *cat = open_cat(fmt_path("%s/lib.db", dir));
    mm_scan_options o = {.jobs = 2};
    mm_scan_result r;
    mm_error err;
    const char *first[3] = {musicx, b1, a}; /* out of order: a file, folders */
    assert_int_equal(mm_catalog_scan(cat, first, 3, &o, &r, &err), MM_OK);
    assert_int_equal(r.added, 2 + 1 + 3);
    assert_int_equal(unlink(b1), 0);
    assert_int_equal(unlink(x0), 0);
    /* music alone: the file root under it is gone, musicx is beside it */
    const char *just_music[1] = {music};
    assert_int_equal(mm_catalog_scan(cat, just_music, 1, &o, &r, &err), MM_OK);
    assert_int_equal(r.missing, 1);
    assert_int_equal(find_track(cat, b1).status, MM_TRACK_MISSING);
    assert_int_equal(find_track(cat, x0).status, MM_TRACK_OK);
    assert_int_equal(r.added, 2); /* music/b's other two, never scanned before */
    /* the first roots again, after one more goes: both now */
    assert_int_equal(unlink(a2), 0);
    assert_int_equal(mm_catalog_scan(cat, first, 3, &o, &r, &err), MM_OK);
    assert_int_equal(r.missing, 2);
    assert_int_equal(find_track(cat, x0).status, MM_TRACK_MISSING);
    assert_int_equal(find_track(cat, a2).status, MM_TRACK_MISSING);
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), 2 + 1 + 3 + 2 - 3);
    mm_catalog_close(cat);
}

typedef struct id_order {
    char last[512];
    int64_t last_id;
    int n, out_of_order;
} id_order;

static int check_id_order(const mm_track *t, void *user)
{
    id_order *o = user;
    if (o->n++ && (t->id <= o->last_id || strcmp(t->path, o->last) <= 0))
        o->out_of_order++;
    o->last_id = t->id;
    snprintf(o->last, sizeof o->last, "%s", t->path);
    return 0;
}

/* New songs are numbered in walk order (folders and names sorted), not in the order threads finish:
 * two scans of the same files with any number of threads number them alike. */
static void test_ids_in_walk_order(void **state)
{
    (void)state;
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir));
    mkdir(music, 0755);
    make_corpus(music, 8, 2.0); /* a/ and b/: walk order is path order here */
    /* the first in walk order takes longest to read: with threads it finishes last */
    write_song(fmt_path("%s/a/000 long.wav", music), "wav", 90.0, 99, "rock");
    for (int jobs = 1; jobs <= 3; jobs += 2) {
        mm_catalog *cat = open_cat(fmt_path("%s/lib%d.db", dir, jobs));
        mm_scan_result r = scan_dir(cat, music, jobs);
        assert_int_equal(r.added, 9);
        id_order o = {.n = 0};
        mm_error err;
        assert_int_equal(mm_catalog_each_track(cat, -1, check_id_order, &o, &err), MM_OK);
        assert_int_equal(o.n, 9);
        assert_int_equal(o.out_of_order, 0);
        assert_int_equal(o.last_id, 9);
        mm_catalog_close(cat);
    }
}

static void test_incremental(void **state)
{
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir));
    mkdir(music, 0755);
    make_corpus(music, 8, 3.0);
    mm_catalog *cat = open_cat(fmt_path("%s/lib.db", dir));

    mm_scan_result r = scan_dir(cat, music, 2);
    assert_int_equal(r.found, 8);
    assert_int_equal(r.added, 8);
    assert_int_equal(r.failed, 0);
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), 8);
    mm_error err;
    found_track t0 = find_track(cat, fmt_path("%s/a/song00.wav", music));
    assert_int_equal(t0.count, 1);
    assert_true(t0.has_features);
    assert_string_equal(t0.genre, "rock");
    assert_int_equal(t0.year, 1990);
    /* features are what a fresh computation gives, bit for bit */
    uint16_t *stored = features_of(cat, t0.id), *fresh = fresh_features(fmt_path("%s/a/song00.wav", music));
    assert_memory_equal(stored, fresh, MM_FEATURE_RECORD_BYTES);
    free(fresh);
    float *asfloat = malloc(sizeof(float) * MM_FEATURE_VALUES);
    assert_int_equal(mm_catalog_read_features(cat, t0.id, asfloat, &err), MM_OK);
    assert_true(asfloat[100] == mm_half_to_float(stored[100]));
    free(asfloat);
    free(stored);
    int64_t *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(mm_catalog_feature_ids(cat, &ids, &n_ids, &err), MM_OK);
    assert_int_equal(n_ids, 8);
    free(ids);

    /* unchanged: nothing read */
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.unchanged, 8);
    assert_int_equal(r.added + r.changed + r.moved + r.failed + r.missing, 0);
    /* every track has descriptors; a vector of an older version (or none) is computed again by the next
     * scan, to the same bits */
    float *desc = NULL, *desc2 = NULL;
    int64_t *desc_ids = NULL;
    size_t n_desc = 0;
    assert_int_equal(mm_catalog_get_descriptors(cat, &n_desc, &desc_ids, &desc, &err), MM_OK);
    assert_int_equal(n_desc, 8);
    for (size_t i = 0; i < n_desc * MM_DESCRIPTOR_DIM; i++)
        assert_true(isfinite(desc[i]));
    free(desc_ids);
    {
        sqlite3 *raw = NULL;
        assert_int_equal(sqlite3_open(fmt_path("%s/lib.db", dir), &raw), SQLITE_OK);
        sql_exec(raw, "UPDATE descriptors SET version = 0 WHERE track_id IN (SELECT id FROM tracks ORDER BY id LIMIT 3)");
        sql_exec(raw, "DELETE FROM descriptors WHERE track_id = (SELECT max(id) FROM tracks)");
        sqlite3_close(raw);
    }
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.changed, 4);
    assert_int_equal(r.unchanged, 4);
    assert_int_equal(mm_catalog_get_descriptors(cat, &n_desc, &desc_ids, &desc2, &err), MM_OK);
    assert_int_equal(n_desc, 8);
    assert_memory_equal(desc, desc2, sizeof(float) * 8 * MM_DESCRIPTOR_DIM);
    free(desc_ids), free(desc), free(desc2);
    /* overlapping roots: a folder inside another, and a file also given on its own: all once */
    const char *roots3[3] = {music, fmt_path("%s/a", music), fmt_path("%s/a/song00.wav", music)};
    assert_int_equal(mm_catalog_scan(cat, roots3, 3, NULL, &r, &err), MM_OK);
    assert_int_equal(r.found, 8);
    assert_int_equal(r.unchanged, 8);

    /* modified in place: read again, same id, new features */
    const char *mod = keep(fmt_path("%s/b/song01.flac", music));
    found_track before = find_track(cat, mod);
    uint16_t *old_features = features_of(cat, before.id);
    write_song(mod, "flac", 3.5, 77, "metal");
    struct timespec ts[2] = {{0, UTIME_NOW}, {time(NULL) + 10, 0}}; /* make sure mtime differs */
    utimensat(AT_FDCWD, mod, ts, 0);
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.unchanged, 7);
    found_track after = find_track(cat, mod);
    assert_int_equal(after.id, before.id);
    assert_string_equal(after.genre, "metal");
    uint16_t *new_features = features_of(cat, after.id);
    assert_memory_not_equal(old_features, new_features, MM_FEATURE_RECORD_BYTES);
    free(old_features);
    free(new_features);

    /* moved and renamed: same id, same features, nothing decoded */
    const char *from = keep(fmt_path("%s/a/song02.mp3", music));
    mkdir(fmt_path("%s/c", music), 0755);
    const char *to = keep(fmt_path("%s/c/renamed.mp3", music));
    found_track m0 = find_track(cat, from);
    uint16_t *m0f = features_of(cat, m0.id);
    assert_int_equal(rename(from, to), 0);
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.moved, 1);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.missing, 0);
    found_track m1 = find_track(cat, to);
    assert_int_equal(m1.id, m0.id);
    assert_int_equal(m1.status, MM_TRACK_OK);
    uint16_t *m1f = features_of(cat, m1.id);
    assert_memory_equal(m0f, m1f, MM_FEATURE_RECORD_BYTES);
    free(m0f);
    free(m1f);
    assert_int_equal(count_tracks(cat, -1), 8);

    /* deleted: missing (kept, with its features) */
    const char *gone = keep(fmt_path("%s/b/song03.ogg", music));
    found_track g0 = find_track(cat, gone);
    size_t saved_size;
    void *saved = slurp(gone, &saved_size);
    assert_int_equal(unlink(gone), 0);
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.missing, 1);
    assert_int_equal(count_tracks(cat, MM_TRACK_MISSING), 1);
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), 7);
    /* a scan of another folder does not touch it */
    const char *elsewhere = keep(fmt_path("%s/elsewhere", dir));
    mkdir(elsewhere, 0755);
    r = scan_dir(cat, elsewhere, 1);
    assert_int_equal(r.missing + r.pruned, 0);
    /* nor does a scan of a folder that is not there (an unplugged drive) */
    mm_scan_options po = {.prune = 1};
    r = scan_opts(cat, fmt_path("%s/unplugged", dir), &po);
    assert_int_equal(r.folder_errors, 1);
    assert_int_equal(r.missing + r.pruned, 0);
    assert_int_equal(count_tracks(cat, MM_TRACK_MISSING), 1);

    /* it comes back elsewhere: moved, same id */
    write_bytes(fmt_path("%s/c/back.ogg", music), saved, saved_size);
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.moved, 1);
    found_track g1 = find_track(cat, fmt_path("%s/c/back.ogg", music));
    assert_int_equal(g1.id, g0.id);
    assert_int_equal(count_tracks(cat, MM_TRACK_MISSING), 0);
    free(saved);

    /* deleted again, then pruned: gone from the catalog, its feature slot reused */
    assert_int_equal(unlink(fmt_path("%s/c/back.ogg", music)), 0);
    r = scan_dir(cat, music, 1);
    assert_int_equal(r.missing, 1);
    r = scan_opts(cat, music, &po);
    assert_int_equal(r.pruned, 1);
    assert_int_equal(count_tracks(cat, -1), 7);
    assert_int_equal(find_track(cat, fmt_path("%s/c/back.ogg", music)).count, 0);
    mm_catalog_stats st;
    assert_int_equal(mm_catalog_get_stats(cat, &st, &err), MM_OK);
    int64_t feature_bytes = st.features_bytes;
    assert_int_equal(st.with_features, 7);
    mm_catalog_stats_free(&st);
    write_song(fmt_path("%s/c/new.wav", music), "wav", 2.0, 99, "pop");
    r = scan_dir(cat, music, 1);
    assert_int_equal(r.added, 1);
    assert_int_equal(mm_catalog_get_stats(cat, &st, &err), MM_OK);
    assert_int_equal(st.features_bytes, feature_bytes); /* a freed slot was reused: the file did not grow */
    assert_int_equal(st.ok, 8);
    assert_int_equal(st.n_genres, 5);
    mm_catalog_stats_free(&st);

    mm_catalog_close(cat);
}

/* ---------------------------------------------------------------- broken files */

static void remove_file(void *user) { unlink((const char *)user); }

static void test_broken(void **state)
{
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir));
    mkdir(music, 0755);
    make_corpus(music, 4, 2.0);
    char good_wav[1024];
    snprintf(good_wav, sizeof good_wav, "%s/a/song00.wav", music);
    size_t wav_size;
    unsigned char *wav = slurp(good_wav, &wav_size);
    const char *bad = keep(fmt_path("%s/bad", music));
    mkdir(bad, 0755);

    int expect_failed = 0;
    write_bytes(fmt_path("%s/empty.mp3", bad), "", 0), expect_failed++;
    const char text[] = "This is not music. It is a shopping list: eggs, milk, bread.\n";
    write_bytes(fmt_path("%s/notes.flac", bad), text, sizeof text), expect_failed++;
    /* a WAV header promising 2 s with 0.3 s of data: truncated */
    write_bytes(fmt_path("%s/truncated.wav", bad), wav, 44 + 16000 * 2 * 3 / 10), expect_failed++;
    /* a 0.5 s song: too short */
    write_song(fmt_path("%s/tiny.wav", bad), "wav", 0.5, 5, "pop"), expect_failed++;
    /* random bytes */
    unsigned char noise[40000];
    uint32_t s = 7;
    for (size_t i = 0; i < sizeof noise; i++) {
        s = s * 1664525u + 1013904223u;
        noise[i] = (unsigned char)(s >> 24);
    }
    write_bytes(fmt_path("%s/noise.ogg", bad), noise, sizeof noise), expect_failed++;
    /* a folder named like a song (with a real song inside it, which is found) */
    mkdir(fmt_path("%s/album.mp3", bad), 0755), expect_failed++;
    write_bytes(fmt_path("%s/album.mp3/inside.wav", bad), wav, wav_size);
    /* a dangling link and a FIFO */
    assert_int_equal(symlink("/nonexistent/x.mp3", fmt_path("%s/dangling.mp3", bad)), 0), expect_failed++;
    assert_int_equal(mkfifo(fmt_path("%s/pipe.wav", bad), 0644), 0), expect_failed++;
    /* non-UTF-8 names: a good one (stored) and a bad one (recorded) */
    write_bytes(fmt_path("%s/caf\xe9 \"q\" \xff.wav", music), wav, wav_size);
    write_bytes(fmt_path("%s/bad \xfe\xfe.mp3", bad), text, sizeof text), expect_failed++;
    /* a wrong extension on a good file is fine: the content decides */
    write_bytes(fmt_path("%s/actually-wav.mp3", music), wav, wav_size);
    /* a symlink loop, a link to a folder already walked, and a link to a file already found */
    assert_int_equal(symlink("..", fmt_path("%s/a/loop", music)), 0);
    assert_int_equal(symlink(fmt_path("%s/b", music), fmt_path("%s/to-b", music)), 0);
    assert_int_equal(symlink(good_wav, fmt_path("%s/link-to-song.wav", music)), 0);
    /* a file that vanishes between the walk and its reading */
    const char *vanish = keep(fmt_path("%s/vanishing.flac", bad));
    write_bytes(vanish, wav, wav_size), expect_failed++;
    /* unreadable: root reads anything, so as root this part runs as 'nobody' below */
    const char *locked = keep(fmt_path("%s/locked.wav", bad));
    write_bytes(locked, wav, wav_size);
    chmod(locked, 0);
    expect_failed++;
    free(wav);

    const char *db = keep(fmt_path("%s/lib.db", dir));
    mm_scan_result r;
    if (geteuid() == 0) {
        /* the whole scan as nobody: the catalog folder must be theirs to write, and the folder of
         * the vanishing file theirs to delete it from */
        chmod(dir, 0777);
        chmod(bad, 0777);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            mm_catalog *cat = NULL;
            mm_error err;
            if (mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &err) != MM_OK)
                _exit(4);
            mm_scan_options co = {.jobs = 2, .after_walk = remove_file, .user = (void *)vanish};
            const char *roots[1] = {music};
            mm_scan_result cr;
            if (mm_catalog_scan(cat, roots, 1, &co, &cr, &err) != MM_OK)
                _exit(5);
            mm_catalog_close(cat);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        /* the parent's own scan: the counts, everything unchanged but the vanished file, now missing */
        mm_catalog *cat = open_cat(db);
        failure_log log = {0};
        mm_scan_options again = {.jobs = 2, .failure = log_failure, .user = &log};
        r = scan_opts(cat, music, &again);
        for (int i = 0; i < log.n; i++)
            print_message("  rescan failure: %s\n", log.msgs[i]);
        assert_int_equal(r.kept_failed, expect_failed - 1); /* all but the vanished file, now missing */
        assert_int_equal(r.missing, 1);
        assert_int_equal(r.failed, 0);
        assert_int_equal(log.n, 0);
        mm_catalog_close(cat);
    } else {
        mm_catalog *cat = open_cat(db);
        mm_scan_options co = {.jobs = 2, .after_walk = remove_file, .user = (void *)vanish};
        r = scan_opts(cat, music, &co);
        assert_int_equal(r.failed, expect_failed);
        mm_catalog_close(cat);
    }

    mm_catalog *cat = open_cat(db);
    /* every good file stored once: 4 songs, the one inside album.mp3, the odd name, the wrong extension */
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), 7);
    assert_int_equal(find_track(cat, good_wav).count, 1);
    assert_int_equal(find_track(cat, fmt_path("%s/album.mp3/inside.wav", bad)).status, MM_TRACK_OK);
    found_track odd = find_track(cat, fmt_path("%s/caf\xe9 \"q\" \xff.wav", music));
    assert_int_equal(odd.count, 1);
    assert_int_equal(odd.status, MM_TRACK_OK);
    assert_int_equal(find_track(cat, fmt_path("%s/actually-wav.mp3", music)).status, MM_TRACK_OK);
    /* links: nothing twice */
    assert_int_equal(find_track(cat, fmt_path("%s/link-to-song.wav", music)).count, 0);
    assert_int_equal(find_track(cat, fmt_path("%s/to-b/song01.flac", music)).count, 0);
    /* every bad file recorded with an error naming it */
    const char *bad_names[] = {"empty.mp3", "notes.flac", "truncated.wav", "tiny.wav", "noise.ogg", "album.mp3",
                               "dangling.mp3", "pipe.wav", "bad \xfe\xfe.mp3", "locked.wav"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", bad, bad_names[i]);
        found_track t = find_track(cat, p);
        if (t.count != 1 || t.status != MM_TRACK_FAILED)
            fail_msg("%s: expected one failed row, got %d (status %d)", bad_names[i], t.count, t.status);
        assert_non_null(strstr(t.error, bad_names[i]));
        print_message("  %s\n", t.error);
    }
    assert_non_null(strstr(find_track(cat, fmt_path("%s/locked.wav", bad)).error, "ermission denied"));
    assert_non_null(strstr(find_track(cat, fmt_path("%s/empty.mp3", bad)).error, "empty"));
    assert_non_null(strstr(find_track(cat, fmt_path("%s/tiny.wav", bad)).error, "too short"));
    assert_non_null(strstr(find_track(cat, fmt_path("%s/album.mp3", bad)).error, "folder"));
    /* the vanished file: its failure was recorded by the first scan, then it is missing */
    found_track v = find_track(cat, vanish);
    assert_int_equal(v.count, 1);
    if (geteuid() == 0)
        assert_int_equal(v.status, MM_TRACK_MISSING);
    assert_non_null(strstr(v.error, "vanished"));
    mm_catalog_close(cat);
}

/* ---------------------------------------------------------------- kill -9 */

static int slow_progress(const mm_scan_progress *p, void *user)
{
    usleep(25000);
    return 0;
}

static pid_t start_scan_child(const char *db, const char *music)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mm_catalog *cat = NULL;
        mm_error err;
        if (mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &err) != MM_OK)
            _exit(4);
        mm_scan_options o = {.jobs = 2, .batch_size = 3, .progress = slow_progress};
        const char *roots[1] = {music};
        mm_scan_result r;
        mm_status st = mm_catalog_scan(cat, roots, 1, &o, &r, &err);
        mm_catalog_close(cat);
        _exit(st == MM_OK ? 0 : 5);
    }
    return pid;
}

static int64_t ok_rows(const char *db)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return 0;
    }
    sqlite3_busy_timeout(h, 1000);
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM tracks WHERE status = 'ok'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_kill9(void **state)
{
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir));
    const char *db = keep(fmt_path("%s/lib.db", dir));
    mkdir(music, 0755);
    const int N = 40;
    make_corpus(music, N, 2.0);

    int64_t done = 0;
    const int64_t kill_at[] = {6, 20};
    for (int round = 0; round < 2; round++) {
        pid_t pid = start_scan_child(db, music);
        double t0 = mm_now();
        while (ok_rows(db) < kill_at[round] && mm_now() - t0 < 60)
            usleep(2000);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* killed mid-scan, not finished */
        int64_t now_ok = ok_rows(db);
        print_message("  round %d: killed with %lld of %d tracks committed\n", round, (long long)now_ok, N);
        assert_true(now_ok >= done && now_ok < N);
        done = now_ok;
    }

    /* consistent after the kills */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_string_equal(sql_text(h, "PRAGMA integrity_check"), "ok");
    assert_int_equal(sql_int(h, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    sqlite3_close(h);

    /* the scan again: only what was not committed is read */
    mm_catalog *cat = open_cat(db);
    mm_scan_result r = scan_dir(cat, music, 2);
    assert_int_equal(r.unchanged, done);
    assert_int_equal(r.added, N - done);
    assert_int_equal(r.failed, 0);
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), N);
    assert_int_equal(count_tracks(cat, -1), N);

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_string_equal(sql_text(h, "PRAGMA integrity_check"), "ok");
    assert_int_equal(sql_int(h, "SELECT count(DISTINCT path) FROM tracks"), N);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM features"), N);
    assert_int_equal(sql_int(h, "SELECT count(DISTINCT slot) FROM features"), N);
    sqlite3_close(h);

    /* every record passes its checksum, and some equal a fresh computation bit for bit */
    int64_t *ids = NULL;
    size_t n_ids = 0;
    mm_error err;
    assert_int_equal(mm_catalog_feature_ids(cat, &ids, &n_ids, &err), MM_OK);
    assert_int_equal(n_ids, N);
    uint16_t *h16 = malloc(MM_FEATURE_RECORD_BYTES);
    for (size_t i = 0; i < n_ids; i++)
        if (mm_catalog_read_features_half(cat, ids[i], h16, &err) != MM_OK)
            fail_msg("%s", err.msg);
    free(h16);
    free(ids);
    const int check[] = {0, 7, 19, 39};
    for (size_t k = 0; k < sizeof check / sizeof check[0]; k++) {
        int i = check[k];
        const char *p = fmt_path("%s/%s/song%02d.%s", music, i % 2 ? "b" : "a", i, FORMATS[i % 6]);
        found_track t = find_track(cat, p);
        assert_int_equal(t.count, 1);
        uint16_t *stored = features_of(cat, t.id), *fresh = fresh_features(p);
        assert_memory_equal(stored, fresh, MM_FEATURE_RECORD_BYTES);
        free(stored);
        free(fresh);
    }
    /* and a last scan has nothing to do */
    r = scan_dir(cat, music, 2);
    assert_int_equal(r.unchanged, N);
    mm_catalog_close(cat);
}

/* ---------------------------------------------------------------- concurrency guard */

static int hold_progress(const mm_scan_progress *p, void *user)
{
    if (p->phase == MM_SCAN_PROCESSING) {
        /* while this scan runs, a second one on the same catalog is refused */
        mm_catalog *other = open_cat((const char *)user);
        mm_error err;
        const char *roots[1] = {"/nonexistent"};
        mm_scan_result r;
        mm_status st = mm_catalog_scan(other, roots, 1, NULL, &r, &err);
        mm_catalog_close(other);
        return st == MM_ERR_IO && strstr(err.msg, "another scan") ? 1 : 0; /* stop: 1 = the check passed */
    }
    return 0;
}

static void test_one_scan_at_a_time(void **state)
{
    const char *dir = keep(tu_temp_dir());
    const char *music = keep(fmt_path("%s/music", dir));
    mkdir(music, 0755);
    make_corpus(music, 3, 1.5);
    const char *db = keep(fmt_path("%s/lib.db", dir));
    mm_catalog *cat = open_cat(db);
    mm_scan_options o = {.jobs = 1, .progress = hold_progress, .user = (void *)db};
    mm_scan_result r = scan_opts(cat, music, &o);
    assert_true(r.stopped); /* the progress callback stopped the scan once the check passed */
    /* a stopped scan keeps what it did, and the next one finishes */
    mm_scan_result r2 = scan_dir(cat, music, 1);
    assert_int_equal(r.added + r2.added, 3);
    assert_int_equal(count_tracks(cat, MM_TRACK_OK), 3);
    mm_catalog_close(cat);
}

/* The descriptors of one excerpt at `position` (0.5: the centre crop), as the scan computes them. */
static void excerpt_descriptors(const char *path, double position, float *out)
{
    mm_audio *a = NULL;
    mm_error err;
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES), *mel = malloc(sizeof(float) * MM_FEATURE_VALUES);
    float *power = malloc(sizeof(float) * MM_N_BINS * MM_N_FRAMES);
    mm_mel *m = NULL;
    mm_descriptors *d = NULL;
    assert_int_equal(mm_audio_open(&a, path, &err), MM_OK);
    mm_clip_options o = {.size = sizeof o, .position = position};
    mm_clip_report rep;
    assert_int_equal(mm_audio_read_clip(a, &o, clip, &rep, &err), MM_OK);
    assert_int_equal(mm_mel_open(&m, MM_PAD_REFLECT, &err), MM_OK);
    assert_int_equal(mm_descriptors_open(&d, &err), MM_OK);
    mm_mel_compute_with_power(m, clip, mel, power);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, mel, power, out, &err), MM_OK);
    mm_descriptors_close(d);
    mm_mel_close(m);
    mm_audio_close(a);
    free(clip), free(mel), free(power);
}

/* scan --clips 3: a 75 s song's descriptors are the mean of those of its excerpts at 20, 50 and 80 %
 * (computed here one by one; tolerance 1e-5 relative, the order of float sums may differ); a 40 s song
 * (shorter than two clips) is described by its centre alone, as with --clips 1; changing the count
 * reads the songs again. */
static void test_scan_clips(void **state)
{
    const char *dir = tu_temp_dir();
    const char *music = keep(fmt_path("%s/clips", dir));
    mkdir(music, 0755);
    const char *longer = keep(fmt_path("%s/long.wav", music)), *shorter = keep(fmt_path("%s/short.wav", music));
    write_song(longer, "wav", 75.0, 5, "jazz");
    write_song(shorter, "wav", 40.0, 6, "jazz");
    mm_catalog *cat = NULL;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, fmt_path("%s/clips.db", dir), MM_CATALOG_CREATE, &err), MM_OK);
    mm_scan_options o = {.jobs = 1, .clips = 1};
    mm_scan_result r = scan_opts(cat, music, &o);
    assert_int_equal(r.added, 2);
    float *one = NULL, *three = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(mm_catalog_get_descriptors(cat, &n, &ids, &one, &err), MM_OK);
    assert_int_equal(n, 2);
    free(ids);
    o.clips = 3;
    r = scan_opts(cat, music, &o);
    assert_int_equal(r.changed, 2); /* described with another count: read again */
    assert_int_equal(mm_catalog_get_descriptors(cat, &n, &ids, &three, &err), MM_OK);
    assert_int_equal(n, 2);
    found_track tl = find_track(cat, longer);
    const int row_long = ids[0] == tl.id ? 0 : 1, row_short = 1 - row_long;
    free(ids);
    /* the short song: its centre alone, bit for bit */
    assert_memory_equal(one + row_short * MM_DESCRIPTOR_DIM, three + row_short * MM_DESCRIPTOR_DIM,
                        sizeof(float) * MM_DESCRIPTOR_DIM);
    /* the long one: the mean of three excerpts, which differs from its centre alone */
    static float e[3][MM_DESCRIPTOR_DIM];
    const double at[3] = {0.2, 0.5, 0.8};
    for (int c = 0; c < 3; c++)
        excerpt_descriptors(longer, at[c], e[c]);
    double worst = 0, moved = 0;
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++) {
        double mean = ((double)e[0][j] + e[1][j] + e[2][j]) / 3.0, got = three[row_long * MM_DESCRIPTOR_DIM + j];
        worst = fmax(worst, fabs(got - mean) / fmax(1.0, fabs(mean)));
        moved = fmax(moved, fabs(got - one[row_long * MM_DESCRIPTOR_DIM + j]));
        assert_float_equal(one[row_long * MM_DESCRIPTOR_DIM + j], e[1][j], 1e-5 * fmax(1.0, fabs(e[1][j])));
    }
    print_message("  3 clips: |stored - mean of excerpts| <= %.2e (relative); differs from the centre by up to %.3f\n",
                  worst, moved);
    assert_true(worst <= 1e-5);
    assert_true(moved > 1e-3);
    free(one), free(three);
    mm_catalog_close(cat);
}

int main(void)
{
    mm_audio_set_library_logging(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_search_migration),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_ids_in_walk_order),
        cmocka_unit_test(test_scan_clips),
        cmocka_unit_test(test_broken),
        cmocka_unit_test(test_one_scan_at_a_time),
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
