/* The catalog database: opening, pragmas, schema and migrations, and the read-side queries. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each migration takes the schema from version i to i + 1 inside one transaction. Never edit a
 * migration that has shipped: add a new one (and a test that opens a database of the old version). */
static const char *const MIGRATIONS[MM_CATALOG_SCHEMA_VERSION] = {
    /* 0 -> 1: tracks and their features */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE tracks("
    "  id INTEGER PRIMARY KEY,"
    "  path BLOB NOT NULL UNIQUE,"       /* the file name's bytes, absolute; not necessarily UTF-8 */
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  ctime_ns INTEGER NOT NULL DEFAULT 0,"
    "  hash INTEGER,"                     /* content hash, 64 bits stored as a signed integer */
    "  status TEXT NOT NULL CHECK(status IN ('ok','failed','missing')),"
    "  error TEXT,"
    "  duration REAL, container TEXT, codec TEXT, sample_rate INTEGER, channels INTEGER, bit_rate INTEGER,"
    "  title TEXT, artist TEXT, album TEXT, genre TEXT, date TEXT, track_no TEXT, year INTEGER,"
    "  loudness REAL,"                    /* LUFS; NULL for an ok track = silence */
    "  loudness_song INTEGER,"            /* 1: over the whole song, 0: over the clip */
    "  scanned_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX tracks_status ON tracks(status);"
    "CREATE TABLE features("
    "  track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,"
    "  slot INTEGER NOT NULL UNIQUE,"     /* record number in the .features file */
    "  checksum INTEGER NOT NULL"         /* mm_hash64 of the record's bytes */
    ");"
    "INSERT INTO meta(key, value) VALUES"
    "  ('frontend.sample_rate', '12000'), ('frontend.n_fft', '512'), ('frontend.hop', '256'),"
    "  ('frontend.n_mels', '96'), ('frontend.n_frames', '1366'), ('frontend.pad', 'reflect'),"
    "  ('features.dtype', 'float16'), ('features.layout', 'band-major 96x1366');",

    /* 1 -> 2: what training, inference and layout fill */
    "CREATE TABLE label_sets("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  source TEXT NOT NULL,"             /* 'folders', 'fma', 'csv', 'tags' */
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE labels("
    "  label_set INTEGER NOT NULL REFERENCES label_sets(id) ON DELETE CASCADE,"
    "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    "  label TEXT NOT NULL,"
    "  split TEXT CHECK(split IN ('train','val','test')),"
    "  PRIMARY KEY(label_set, track_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX labels_track ON labels(track_id);"
    "CREATE TABLE models("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  file TEXT NOT NULL,"               /* the self-describing model file */
    "  architecture TEXT NOT NULL,"       /* 'crnn4', 'crnn6' */
    "  label_set INTEGER REFERENCES label_sets(id) ON DELETE SET NULL,"
    "  classes TEXT NOT NULL,"            /* JSON array of the K label names, in output order */
    "  embedding_dim INTEGER NOT NULL,"
    "  metrics TEXT,"                     /* JSON */
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE vectors("
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    "  probs BLOB NOT NULL,"              /* K float32, little-endian */
    "  embedding BLOB NOT NULL,"          /* embedding_dim float32, little-endian */
    "  PRIMARY KEY(model_id, track_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX vectors_track ON vectors(track_id);"
    "CREATE TABLE maps("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  source TEXT NOT NULL CHECK(source IN ('probs','embedding')),"
    "  method TEXT NOT NULL,"             /* 'pca', 'tsne', 'umap' */
    "  dims INTEGER NOT NULL CHECK(dims IN (2,3)),"
    "  params TEXT,"                      /* JSON */
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE map_points("
    "  map_id INTEGER NOT NULL REFERENCES maps(id) ON DELETE CASCADE,"
    "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    "  x REAL NOT NULL, y REAL NOT NULL, z REAL,"
    "  PRIMARY KEY(map_id, track_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX map_points_track ON map_points(track_id);",
    /* 2 -> 3: a map's point count, stored when the map is made: counting a million rows on every
     * listing made the server's /api/maps take over a second */
    "ALTER TABLE maps ADD COLUMN n_points INTEGER NOT NULL DEFAULT 0;"
    "UPDATE maps SET n_points = (SELECT count(*) FROM map_points p WHERE p.map_id = maps.id);",
    /* 3 -> 4: each track's descriptors (docs/descriptors.md), computed by the scan from the same clip;
     * a track whose vector is of an older version is read again by the next scan */
    "CREATE TABLE descriptors("
    "  track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL,"         /* MM_DESCRIPTOR_VERSION */
    "  clips INTEGER NOT NULL DEFAULT 1," /* excerpts averaged (mm_scan_options.clips) */
    "  vector BLOB NOT NULL"              /* MM_DESCRIPTOR_DIM float32, little-endian */
    ");",
    /* 4 -> 5: maps grow: new songs are placed on a stored map without moving it (docs/pipeline.md);
     * a map counts its growths, and each point remembers the growth that added it (0: drawn) */
    "ALTER TABLE maps ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE map_points ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;",
    /* 5 -> 6: each track's tags stored folded, so search compares stored text instead of calling
     * mm_fold three times per word on every row (docs/catalog.md, "Search"). search_title is
     * mm_fold(title) (NULL when there is no title: the ordering tells NULL from no match);
     * search_text is the folded artist and album joined by a newline (a search word never holds
     * whitespace, so no match can straddle the two), never NULL once written. NULL search_text: not
     * written (a row from another tool); search folds that row on the fly. The trigger forgets the
     * stored text when another tool changes the tags without rewriting it. mm_fold is registered
     * before migrations run. */
    "ALTER TABLE tracks ADD COLUMN search_title TEXT;"
    "ALTER TABLE tracks ADD COLUMN search_text TEXT;"
    "UPDATE tracks SET search_title = mm_fold(title),"
    "  search_text = mm_fold(coalesce(artist, '')) || char(10) || mm_fold(coalesce(album, ''));"
    "CREATE TRIGGER tracks_search_stale AFTER UPDATE OF title, artist, album ON tracks"
    "  WHEN new.search_text IS old.search_text AND new.search_title IS old.search_title"
    "   AND (new.title IS NOT old.title OR new.artist IS NOT old.artist OR new.album IS NOT old.album)"
    "  BEGIN UPDATE tracks SET search_title = NULL, search_text = NULL WHERE id = new.id; END;",
};

mm_status cat_sql_error(mm_catalog *cat, mm_error *err, const char *what)
{
    int code = sqlite3_errcode(cat->db);
    mm_status st = (code == SQLITE_NOMEM) ? MM_ERR_NOMEM
                   : (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) ? MM_ERR_FORMAT
                   : (code == SQLITE_IOERR || code == SQLITE_CANTOPEN || code == SQLITE_FULL ||
                      code == SQLITE_READONLY || code == SQLITE_BUSY || code == SQLITE_PERM)
                       ? MM_ERR_IO
                       : MM_ERR_INTERNAL;
    if (!what)
        return mm_error_set(err, st, "%s: %s", cat->path, sqlite3_errmsg(cat->db));
    return mm_error_set(err, st, "%s: %s: %s", cat->path, what, sqlite3_errmsg(cat->db));
}

mm_status cat_exec(mm_catalog *cat, const char *sql, mm_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(cat->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        mm_status st = cat_sql_error(cat, err, NULL);
        sqlite3_free(msg);
        return st;
    }
    return MM_OK;
}

mm_status mm_catalog_default_path(char *buf, size_t size, mm_error *err)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/musicmap/library.db", xdg);
    else if (home && home[0])
        n = snprintf(buf, size, "%s/.local/share/musicmap/library.db", home);
    else
        return mm_error_set(err, MM_ERR_ARG, "no database location: set HOME or XDG_DATA_HOME, or pass --db");
    if (n < 0 || (size_t)n >= size)
        return mm_error_set(err, MM_ERR_ARG, "database path too long");
    return MM_OK;
}

/* mm_fold(text): the search key of a title, artist or album (see mm_text_fold). Folding never makes text
 * longer, so the input's length bounds the output. */
static void sql_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    if (!text) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t cap = (size_t)sqlite3_value_bytes(argv[0]) + 1;
    char small[512];
    char *out = cap <= sizeof small ? small : sqlite3_malloc64(cap);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t len = mm_text_fold(text, out, cap);
    sqlite3_result_text(ctx, out, (int)len, SQLITE_TRANSIENT);
    if (out != small)
        sqlite3_free(out);
}

/* mkdir -p of the folder holding path. */
static mm_status make_parent_dirs(const char *path, mm_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) {
        *slash = '\0';
        for (char *p = copy + 1; *p; p++) {
            if (*p == '/') {
                *p = '\0';
                if (mkdir(copy, 0777) != 0 && errno != EEXIST)
                    break;
                *p = '/';
            }
        }
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            mm_status st = mm_error_set(err, MM_ERR_IO, "%s: cannot create folder: %s", copy, strerror(errno));
            free(copy);
            return st;
        }
    }
    free(copy);
    return MM_OK;
}

static int user_version(mm_catalog *cat)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static mm_status migrate(mm_catalog *cat, mm_error *err)
{
    int v = user_version(cat);
    if (v < 0)
        return cat_sql_error(cat, err, "not a readable musicmap database");
    if (v > MM_CATALOG_SCHEMA_VERSION)
        return mm_error_set(err, MM_ERR_UNSUPPORTED,
                            "%s: database schema version %d is newer than this musicmap understands (%d); "
                            "upgrade musicmap",
                            cat->path, v, MM_CATALOG_SCHEMA_VERSION);
    if (v == 0) {
        /* an empty file is a new database; anything else with version 0 is not ours */
        sqlite3_stmt *st = NULL;
        int tables = -1;
        if (sqlite3_prepare_v2(cat->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            tables = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (tables != 0)
            return mm_error_set(err, MM_ERR_FORMAT, "%s: a SQLite database, but not a musicmap catalog", cat->path);
    }
    for (; v < MM_CATALOG_SCHEMA_VERSION; v++) {
        mm_status s = cat_exec(cat, "BEGIN IMMEDIATE", err);
        if (s != MM_OK)
            return s;
        /* another process may have migrated meanwhile */
        int now = user_version(cat);
        if (now != v) {
            cat_exec(cat, "ROLLBACK", NULL);
            v = now - 1;
            continue;
        }
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if ((s = cat_exec(cat, MIGRATIONS[v], err)) != MM_OK || (s = cat_exec(cat, bump, err)) != MM_OK ||
            (s = cat_exec(cat, "COMMIT", err)) != MM_OK) {
            cat_exec(cat, "ROLLBACK", NULL);
            return s;
        }
    }
    cat->schema_version = MM_CATALOG_SCHEMA_VERSION;
    return MM_OK;
}

mm_status mm_catalog_open(mm_catalog **out, const char *path, int flags, mm_error *err)
{
    *out = NULL;
    if (!path || !path[0])
        return mm_error_set(err, MM_ERR_ARG, "catalog: no database path");
    int create = (flags & MM_CATALOG_CREATE) != 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT || !create)
            return mm_error_set(err, MM_ERR_IO, "%s: %s%s", path, strerror(errno),
                                errno == ENOENT ? " (no catalog yet: run 'musicmap scan' first)" : "");
        mm_status s = make_parent_dirs(path, err);
        if (s != MM_OK)
            return s;
    } else if (!S_ISREG(sb.st_mode)) {
        return mm_error_set(err, MM_ERR_IO, "%s: not a regular file", path);
    }
    mm_catalog *cat = calloc(1, sizeof *cat);
    if (!cat)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    cat->features_fd = -1;
    pthread_mutex_init(&cat->read_lock, NULL);
    size_t n = strlen(path);
    cat->path = strdup(path);
    cat->features_path = malloc(n + 16);
    if (!cat->path || !cat->features_path) {
        mm_catalog_close(cat);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    if (n > 3 && strcmp(path + n - 3, ".db") == 0)
        snprintf(cat->features_path, n + 16, "%.*s.features", (int)(n - 3), path);
    else
        snprintf(cat->features_path, n + 16, "%s.features", path);

    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &cat->db, oflags, NULL) != SQLITE_OK) {
        mm_status s = cat->db ? cat_sql_error(cat, err, "cannot open")
                              : mm_error_set(err, MM_ERR_NOMEM, "%s: cannot open: out of memory", path);
        mm_catalog_close(cat);
        return s;
    }
    sqlite3_busy_timeout(cat->db, 10000);
    sqlite3_extended_result_codes(cat->db, 0);
    sqlite3_create_function(cat->db, "mm_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                            sql_fold, NULL, NULL);
    /* WAL: readers never block the writer, and a killed process leaves a consistent database (a
     * transaction is in the WAL whole or not at all). NORMAL: commits are not fsync'd, only
     * checkpoints; after a power loss the last transactions may be lost, never half of one. */
    mm_status s = cat_exec(cat, "PRAGMA journal_mode = WAL", err);
    if (s == MM_OK)
        s = cat_exec(cat, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err);
    if (s == MM_OK)
        s = migrate(cat, err);
    if (s == MM_OK)
        s = cat_features_open(cat, create, err);
    if (s != MM_OK) {
        mm_catalog_close(cat);
        return s;
    }
    *out = cat;
    return MM_OK;
}

void mm_catalog_close(mm_catalog *cat)
{
    if (!cat)
        return;
    sqlite3_finalize(cat->read_stmt);
    if (cat->db)
        sqlite3_close(cat->db);
    if (cat->features_fd >= 0)
        close(cat->features_fd);
    pthread_mutex_destroy(&cat->read_lock);
    free(cat->path);
    free(cat->features_path);
    free(cat);
}

const char *mm_catalog_path(const mm_catalog *cat) { return cat->path; }
const char *mm_catalog_features_path(const mm_catalog *cat) { return cat->features_path; }
int mm_catalog_schema_version(const mm_catalog *cat) { return cat->schema_version; }

const char *mm_track_status_name(mm_track_status status)
{
    switch (status) {
    case MM_TRACK_OK: return "ok";
    case MM_TRACK_FAILED: return "failed";
    case MM_TRACK_MISSING: return "missing";
    }
    return "?";
}

static mm_track_status parse_status(const unsigned char *s)
{
    if (s && s[0] == 'f')
        return MM_TRACK_FAILED;
    if (s && s[0] == 'm')
        return MM_TRACK_MISSING;
    return MM_TRACK_OK;
}

static const char *text_or_empty(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

int cat_row_to_track(sqlite3_stmt *st, mm_track *out)
{
    mm_track t;
    memset(&t, 0, sizeof t);
    t.id = sqlite3_column_int64(st, 0);
    /* blobs are not NUL-terminated by SQLite: read the text form, which is the same bytes + NUL */
    t.path = (const char *)sqlite3_column_text(st, 1);
    t.path_len = (size_t)sqlite3_column_bytes(st, 1);
    t.size = sqlite3_column_int64(st, 2);
    t.mtime_ns = sqlite3_column_int64(st, 3);
    t.hash = (uint64_t)sqlite3_column_int64(st, 4);
    t.status = parse_status(sqlite3_column_text(st, 5));
    t.error = (const char *)sqlite3_column_text(st, 6);
    t.duration = sqlite3_column_type(st, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 7);
    t.container = text_or_empty(st, 8);
    t.codec = text_or_empty(st, 9);
    t.sample_rate = sqlite3_column_int(st, 10);
    t.channels = sqlite3_column_int(st, 11);
    t.bit_rate = sqlite3_column_int64(st, 12);
    t.title = text_or_empty(st, 13);
    t.artist = text_or_empty(st, 14);
    t.album = text_or_empty(st, 15);
    t.genre = text_or_empty(st, 16);
    t.date = text_or_empty(st, 17);
    t.track_no = text_or_empty(st, 18);
    t.year = sqlite3_column_int(st, 19);
    if (sqlite3_column_type(st, 20) != SQLITE_NULL)
        t.loudness = sqlite3_column_double(st, 20);
    else
        t.loudness = (t.status == MM_TRACK_OK || t.status == MM_TRACK_MISSING) && sqlite3_column_type(st, 21) != SQLITE_NULL
                         ? -INFINITY
                         : NAN;
    t.loudness_song = sqlite3_column_int(st, 21);
    t.has_features = sqlite3_column_int(st, 22);
    t.scanned_at = sqlite3_column_int64(st, 23);
    *out = t;
    return t.path ? 0 : -1;
}

mm_status cat_each_track_stmt(mm_catalog *cat, sqlite3_stmt *st, mm_track_fn fn, void *user, size_t *found,
                              mm_error *err)
{
    int rc;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_track t;
        if (cat_row_to_track(st, &t) != 0)
            return mm_error_set(err, MM_ERR_NOMEM, "listing tracks: out of memory");
        n++;
        if (fn(&t, user))
            break;
    }
    if (found)
        *found = n;
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? MM_OK : cat_sql_error(cat, err, "listing tracks");
}

mm_status mm_catalog_each_track(mm_catalog *cat, int status, mm_track_fn fn, void *user, mm_error *err)
{
    static const char *const SQL = "SELECT " CAT_TRACK_COLUMNS " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
                                   " WHERE ?1 IS NULL OR t.status = ?1 ORDER BY t.id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db, SQL, -1, &st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, "listing tracks");
    if (status >= 0)
        sqlite3_bind_text(st, 1, mm_track_status_name((mm_track_status)status), -1, SQLITE_STATIC);
    mm_status s = cat_each_track_stmt(cat, st, fn, user, NULL, err);
    sqlite3_finalize(st);
    return s;
}

static mm_status count_by(mm_catalog *cat, const char *sql, mm_catalog_count **out, size_t *n, mm_error *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, "counting");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            mm_catalog_count *grown = realloc(*out, cap * sizeof **out);
            if (!grown)
                break;
            *out = grown;
        }
        (*out)[*n].name = strdup(text_or_empty(st, 0));
        (*out)[*n].count = sqlite3_column_int64(st, 1);
        if (!(*out)[*n].name)
            break;
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return mm_error_set(err, MM_ERR_NOMEM, "counting: out of memory");
    if (rc != SQLITE_DONE)
        return cat_sql_error(cat, err, "counting");
    return MM_OK;
}

static int64_t file_bytes(const char *path, const char *suffix)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", path, suffix);
    struct stat sb;
    return stat(buf, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

mm_status mm_catalog_get_stats(mm_catalog *cat, mm_catalog_stats *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    out->schema_version = cat->schema_version;
    sqlite3_stmt *st = NULL;
    /* one read transaction, so the numbers agree with each other while a scan writes */
    mm_status s = cat_exec(cat, "BEGIN", err);
    if (s != MM_OK)
        return s;
    if (sqlite3_prepare_v2(cat->db,
                           "SELECT (SELECT count(*) FROM tracks WHERE status = 'ok'),"
                           " (SELECT count(*) FROM tracks WHERE status = 'failed'),"
                           " (SELECT count(*) FROM tracks WHERE status = 'missing'),"
                           " (SELECT count(*) FROM features),"
                           " (SELECT total(duration) FROM tracks WHERE status = 'ok')",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        s = cat_sql_error(cat, err, "counting tracks");
        sqlite3_finalize(st);
        cat_exec(cat, "ROLLBACK", NULL);
        return s;
    }
    out->ok = sqlite3_column_int64(st, 0);
    out->failed = sqlite3_column_int64(st, 1);
    out->missing = sqlite3_column_int64(st, 2);
    out->with_features = sqlite3_column_int64(st, 3);
    out->duration = sqlite3_column_double(st, 4);
    out->total = out->ok + out->failed + out->missing;
    sqlite3_finalize(st);
    s = count_by(cat,
                 "SELECT coalesce(codec, ''), count(*) FROM tracks WHERE status = 'ok'"
                 " GROUP BY 1 ORDER BY 2 DESC, 1",
                 &out->formats, &out->n_formats, err);
    if (s == MM_OK)
        s = count_by(cat,
                     "SELECT coalesce(genre, ''), count(*) FROM tracks WHERE status = 'ok'"
                     " GROUP BY 1 ORDER BY 2 DESC, 1",
                     &out->genres, &out->n_genres, err);
    cat_exec(cat, "COMMIT", NULL);
    out->db_bytes = file_bytes(cat->path, "") + file_bytes(cat->path, "-wal");
    out->features_bytes = file_bytes(cat->features_path, "");
    if (s != MM_OK)
        mm_catalog_stats_free(out);
    return s;
}

void mm_catalog_stats_free(mm_catalog_stats *stats)
{
    for (size_t i = 0; i < stats->n_formats; i++)
        free(stats->formats[i].name);
    for (size_t i = 0; i < stats->n_genres; i++)
        free(stats->genres[i].name);
    free(stats->formats);
    free(stats->genres);
    stats->formats = stats->genres = NULL;
    stats->n_formats = stats->n_genres = 0;
}

mm_status mm_catalog_frontend(mm_catalog *cat, mm_frontend_params *out, mm_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db, "SELECT key, value FROM meta WHERE key LIKE 'frontend.%'", -1, &st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, "reading the front-end parameters");
    memset(out, 0, sizeof *out);
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = text_or_empty(st, 0) + 9;
        const char *v = text_or_empty(st, 1);
        found++;
        if (strcmp(k, "sample_rate") == 0) out->sample_rate = atoi(v);
        else if (strcmp(k, "n_fft") == 0) out->n_fft = atoi(v);
        else if (strcmp(k, "hop") == 0) out->hop = atoi(v);
        else if (strcmp(k, "n_mels") == 0) out->n_mels = atoi(v);
        else if (strcmp(k, "n_frames") == 0) out->n_frames = atoi(v);
        else if (strcmp(k, "pad") == 0) found -= mm_pad_mode_parse(v, &out->pad) != 0 ? 100 : 0;
        else found--;
    }
    sqlite3_finalize(st);
    if (found != 6)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: the front-end parameters in the meta table are damaged", cat->path);
    return MM_OK;
}
