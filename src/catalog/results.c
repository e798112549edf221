/* What the later stages store: label sets, models, per-model vectors, maps and their points; and the
 * look-ups the server needs (a track by id, search). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static char *dup_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static mm_status prepare(mm_catalog *cat, const char *sql, sqlite3_stmt **st, mm_error *err, const char *what)
{
    if (sqlite3_prepare_v2(cat->db, sql, -1, st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, what);
    return MM_OK;
}

/* Runs fn inside one transaction, rolling back on failure. */
typedef mm_status (*txn_fn)(mm_catalog *cat, void *ctx, mm_error *err);
static mm_status in_transaction(mm_catalog *cat, txn_fn fn, void *ctx, mm_error *err)
{
    mm_status s = cat_exec(cat, "BEGIN IMMEDIATE", err);
    if (s != MM_OK)
        return s;
    s = fn(cat, ctx, err);
    if (s == MM_OK)
        s = cat_exec(cat, "COMMIT", err);
    if (s != MM_OK)
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    return s;
}

/* --- tracks ----------------------------------------------------------------------------------- */

mm_status mm_catalog_get_track(mm_catalog *cat, int64_t id, mm_track_fn fn, void *user, mm_error *err)
{
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT " CAT_TRACK_COLUMNS " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
                          " WHERE t.id = ?1",
                          &st, err, "reading a track");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, id);
    size_t found = 0;
    s = cat_each_track_stmt(cat, st, fn, user, &found, err);
    sqlite3_finalize(st);
    if (s == MM_OK && found == 0)
        s = mm_error_set(err, MM_ERR_NOT_FOUND, "no track %lld", (long long)id);
    return s;
}

mm_status mm_catalog_get_track_by_path(mm_catalog *cat, const char *path, mm_track_fn fn, void *user, mm_error *err)
{
    /* paths are stored absolute and resolved (the scan's realpath): so is the question */
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT " CAT_TRACK_COLUMNS " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
                          " WHERE t.path = ?1",
                          &st, err, "reading a track");
    if (s == MM_OK) {
        sqlite3_bind_blob(st, 1, key, (int)strlen(key), SQLITE_TRANSIENT);
        size_t found = 0;
        s = cat_each_track_stmt(cat, st, fn, user, &found, err);
        sqlite3_finalize(st);
        if (s == MM_OK && found == 0)
            s = mm_error_set(err, MM_ERR_NOT_FOUND, "%s: not in the catalog", path);
    }
    free(real);
    return s;
}

mm_status mm_catalog_search(mm_catalog *cat, const char *query, int limit, mm_track_fn fn, void *user, mm_error *err)
{
    /* Every word must appear in title, artist or album, compared folded (case and accents: "beyonce"
     * finds "Beyoncé"). Words are bound as parameters, never spliced into the SQL. */
    enum { MAX_WORDS = 8 };
    char words[MAX_WORDS][66];
    int n_words = 0;
    for (const char *p = query; *p && n_words < MAX_WORDS;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        size_t len = 0;
        words[n_words][len++] = '%';
        while (*p && !isspace((unsigned char)*p)) {
            if (len < 63 && *p != '%' && *p != '_' && *p != '\\')
                words[n_words][len++] = *p;
            p++;
        }
        words[n_words][len++] = '%';
        words[n_words][len] = '\0';
        if (len > 2) {
            char folded[sizeof words[0]];
            mm_text_fold(words[n_words], folded, sizeof folded);
            memcpy(words[n_words], folded, sizeof folded);
            n_words++;
        }
    }
    if (n_words == 0)
        return MM_OK;
    char sql[4096]; /* 8 words of about 190 characters, the columns and the ordering */
    int len = snprintf(sql, sizeof sql,
                       "SELECT " CAT_TRACK_COLUMNS " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
                       " WHERE +t.status = 'ok'");
    /* "+": read the table in order rather than through tracks_status: nearly every track is ok, and
     * the index only added a lookup per row (48 -> 34 ms over 100k tracks).
     * The folded tags stored by the scan (schema 6: search_title, and search_text = artist, newline,
     * album) are compared as they are; calling mm_fold on three tags per word per row made a search of
     * 100k tracks slow (docs/catalog.md, "Search"). Rows without stored text (written by another
     * tool) are folded on the fly, as before. A word that folds to nothing ("%%": combining marks
     * only) matches any row with a tag, as mm_fold(tag) LIKE '%%' did. */
    for (int i = 0; i < n_words; i++) {
        if (strcmp(words[i], "%%") == 0)
            len += snprintf(sql + len, sizeof sql - (size_t)len,
                            " AND (t.title IS NOT NULL OR t.artist IS NOT NULL OR t.album IS NOT NULL)");
        else
            len += snprintf(sql + len, sizeof sql - (size_t)len,
                            " AND (CASE WHEN t.search_text IS NULL"
                            " THEN mm_fold(t.title) LIKE ?%d OR mm_fold(t.artist) LIKE ?%d OR mm_fold(t.album) LIKE ?%d"
                            " ELSE t.search_title LIKE ?%d OR t.search_text LIKE ?%d END)",
                            i + 1, i + 1, i + 1, i + 1, i + 1);
    }
    /* title matches first: search_title is NULL exactly when the title is, as mm_fold(title) was */
    snprintf(sql + len, sizeof sql - (size_t)len,
             " ORDER BY (CASE WHEN t.search_text IS NULL THEN mm_fold(t.title) ELSE t.search_title END LIKE ?1) DESC,"
             " t.artist, t.title LIMIT %d",
             limit > 0 && limit <= 10000 ? limit : 50);
    sqlite3_stmt *st;
    mm_status s = prepare(cat, sql, &st, err, "searching");
    if (s != MM_OK)
        return s;
    for (int i = 0; i < n_words; i++)
        sqlite3_bind_text(st, i + 1, words[i], -1, SQLITE_TRANSIENT);
    s = cat_each_track_stmt(cat, st, fn, user, NULL, err);
    sqlite3_finalize(st);
    return s;
}

/* --- label sets ----------------------------------------------------------------------------------- */

typedef struct labels_job {
    const char *name, *source;
    size_t n;
    const int64_t *ids;
    const char *const *labels, *const *splits;
    int64_t id;
} labels_job;

static mm_status put_labels_txn(mm_catalog *cat, void *ctx, mm_error *err)
{
    labels_job *job = ctx;
    sqlite3_stmt *st = NULL;
    mm_status s = prepare(cat,
                          "INSERT INTO label_sets(name, source, created_at) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT(name) DO UPDATE SET source = ?2, created_at = ?3 RETURNING id",
                          &st, err, "storing labels");
    if (s != MM_OK)
        return s;
    sqlite3_bind_text(st, 1, job->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = cat_sql_error(cat, err, "storing labels");
        sqlite3_finalize(st);
        return s;
    }
    job->id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char del[96];
    snprintf(del, sizeof del, "DELETE FROM labels WHERE label_set = %lld", (long long)job->id);
    if ((s = cat_exec(cat, del, err)) != MM_OK)
        return s;
    if ((s = prepare(cat, "INSERT INTO labels(label_set, track_id, label, split) VALUES (?1, ?2, ?3, ?4)", &st, err,
                     "storing labels")) != MM_OK)
        return s;
    for (size_t i = 0; i < job->n && s == MM_OK; i++) {
        sqlite3_bind_int64(st, 1, job->id);
        sqlite3_bind_int64(st, 2, job->ids[i]);
        sqlite3_bind_text(st, 3, job->labels[i], -1, SQLITE_STATIC);
        if (job->splits && job->splits[i])
            sqlite3_bind_text(st, 4, job->splits[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = cat_sql_error(cat, err, "storing labels");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return s;
}

mm_status mm_catalog_put_labels(mm_catalog *cat, const char *name, const char *source, size_t n,
                                const int64_t *track_ids, const char *const *labels, const char *const *splits,
                                int64_t *label_set, mm_error *err)
{
    labels_job job = {name, source, n, track_ids, labels, splits, 0};
    mm_status s = in_transaction(cat, put_labels_txn, &job, err);
    if (s == MM_OK && label_set)
        *label_set = job.id;
    return s;
}

/* --- models ----------------------------------------------------------------------------------- */

/* The class names as a JSON array (names are plain labels; quotes and backslashes escaped). */
static char *classes_json(int n, char *const *classes)
{
    size_t cap = 3;
    for (int i = 0; i < n; i++)
        cap += 2 * strlen(classes[i]) + 4;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *c = classes[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *p++ = '\\';
            *p++ = (unsigned char)*c < 0x20 ? ' ' : *c;
        }
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    return out;
}

/* Parses what classes_json wrote. */
static int parse_classes(const char *json, char ***out)
{
    int n = 0;
    char **list = NULL;
    const char *p = json ? strchr(json, '[') : NULL;
    while (p && (p = strchr(p, '"'))) {
        p++;
        size_t cap = strlen(p) + 1, len = 0;
        char *name = malloc(cap);
        char **grown = realloc(list, sizeof *list * (size_t)(n + 1));
        if (!name || !grown) {
            free(name);
            free(grown ? grown : list);
            return -1;
        }
        list = grown;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            name[len++] = *p++;
        }
        name[len] = '\0';
        list[n++] = name;
        if (*p)
            p++;
    }
    *out = list;
    return n;
}

void mm_model_record_free(mm_model_record *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->file);
    free(m->architecture);
    for (int i = 0; i < m->n_classes; i++)
        free(m->classes[i]);
    free(m->classes);
    free(m->metrics);
    memset(m, 0, sizeof *m);
}

typedef struct model_job {
    const mm_model_record *m;
    int64_t id;
} model_job;

static mm_status put_model_txn(mm_catalog *cat, void *ctx, mm_error *err)
{
    model_job *job = ctx;
    const mm_model_record *m = job->m;
    char *classes = classes_json(m->n_classes, m->classes);
    if (!classes)
        return mm_error_set(err, MM_ERR_NOMEM, "storing a model: out of memory");
    sqlite3_stmt *st = NULL;
    mm_status s = prepare(cat,
                          "INSERT INTO models(name, file, architecture, label_set, classes, embedding_dim, metrics,"
                          " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                          " ON CONFLICT(name) DO UPDATE SET file = ?2, architecture = ?3, label_set = ?4,"
                          " classes = ?5, embedding_dim = ?6, metrics = ?7, created_at = ?8 RETURNING id",
                          &st, err, "storing a model");
    if (s == MM_OK) {
        sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->file, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, m->architecture, -1, SQLITE_STATIC);
        if (m->label_set > 0)
            sqlite3_bind_int64(st, 4, m->label_set);
        sqlite3_bind_text(st, 5, classes, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, m->embedding_dim);
        if (m->metrics)
            sqlite3_bind_text(st, 7, m->metrics, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
        if (sqlite3_step(st) == SQLITE_ROW)
            job->id = sqlite3_column_int64(st, 0);
        else
            s = cat_sql_error(cat, err, "storing a model");
        sqlite3_finalize(st);
    }
    free(classes);
    if (s != MM_OK)
        return s;
    /* the weights changed: what was computed from the old ones no longer holds */
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM vectors WHERE model_id = %lld; DELETE FROM maps WHERE model_id = %lld",
             (long long)job->id, (long long)job->id);
    return cat_exec(cat, sql, err);
}

mm_status mm_catalog_put_model(mm_catalog *cat, const mm_model_record *model, int64_t *id, mm_error *err)
{
    model_job job = {model, 0};
    mm_status s = in_transaction(cat, put_model_txn, &job, err);
    if (s == MM_OK && id)
        *id = job.id;
    return s;
}

static mm_status get_model_where(mm_catalog *cat, const char *where, const char *text, int64_t num,
                                 mm_model_record *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT id, name, file, architecture, label_set, classes, embedding_dim, metrics, created_at FROM models %s",
             where);
    sqlite3_stmt *st;
    mm_status s = prepare(cat, sql, &st, err, "reading a model");
    if (s != MM_OK)
        return s;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else if (num)
        sqlite3_bind_int64(st, 1, num);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->name = dup_text(st, 1);
        out->file = dup_text(st, 2);
        out->architecture = dup_text(st, 3);
        out->label_set = sqlite3_column_int64(st, 4);
        int n = parse_classes((const char *)sqlite3_column_text(st, 5), &out->classes);
        out->n_classes = n > 0 ? n : 0;
        out->embedding_dim = sqlite3_column_int(st, 6);
        out->metrics = dup_text(st, 7);
        out->created_at = sqlite3_column_int64(st, 8);
        if (!out->name || !out->file || !out->architecture || n < 0)
            s = mm_error_set(err, MM_ERR_NOMEM, "reading a model: out of memory");
    } else if (rc == SQLITE_DONE) {
        s = text ? mm_error_set(err, MM_ERR_NOT_FOUND, "%s: no model named '%s'", cat->path, text)
                 : num ? mm_error_set(err, MM_ERR_NOT_FOUND, "%s: no model %lld", cat->path, (long long)num)
                       : mm_error_set(err, MM_ERR_NOT_FOUND, "%s: no model yet (train one, or import one with "
                                                             "import-keras --db)", cat->path);
    } else {
        s = cat_sql_error(cat, err, "reading a model");
    }
    sqlite3_finalize(st);
    if (s != MM_OK)
        mm_model_record_free(out);
    return s;
}

double mm_model_record_test_accuracy(const mm_model_record *model)
{
    /* metrics is JSON written by `train` itself: a flat object of numbers */
    const char *key = model && model->metrics ? strstr(model->metrics, "\"test_accuracy\":") : NULL;
    if (!key)
        return -1.0;
    char *end;
    double v = strtod(key + strlen("\"test_accuracy\":"), &end);
    return end != key + strlen("\"test_accuracy\":") && v >= 0.0 && v <= 1.0 ? v : -1.0;
}

int mm_model_record_colours_by_prediction(const mm_model_record *model)
{
    return mm_model_record_test_accuracy(model) >= MM_PREDICTED_COLOURS_MIN_ACCURACY;
}

mm_status mm_catalog_get_model(mm_catalog *cat, const char *name, mm_model_record *out, mm_error *err)
{
    if (name)
        return get_model_where(cat, "WHERE name = ?1", name, 0, out, err);
    /* the newest trained one: the baselines registered for maps (mel, descriptors) are not models */
    return get_model_where(cat, "WHERE architecture NOT IN ('mel', 'descriptors') ORDER BY created_at DESC, id DESC LIMIT 1",
                           NULL, 0, out, err);
}

mm_status mm_catalog_get_model_by_id(mm_catalog *cat, int64_t id, mm_model_record *out, mm_error *err)
{
    return get_model_where(cat, "WHERE id = ?1", NULL, id, out, err);
}

/* --- vectors ---------------------------------------------------------------------------------- */

/* Appends the int64 of column 0 of each row to a growing array. */
static mm_status collect_ids(mm_catalog *cat, sqlite3_stmt *st, int64_t **ids, size_t *n, mm_error *err)
{
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            int64_t *grown = realloc(*ids, sizeof **ids * cap);
            if (!grown) {
                free(*ids);
                *ids = NULL;
                return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        return cat_sql_error(cat, err, "listing tracks");
    }
    return MM_OK;
}

mm_status mm_catalog_tracks_needing_vectors(mm_catalog *cat, int64_t model_id, int64_t **ids, size_t *n,
                                            mm_error *err)
{
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT t.id FROM tracks t JOIN features f ON f.track_id = t.id WHERE t.status = 'ok'"
                          " AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model_id = ?1 AND v.track_id = t.id)"
                          " ORDER BY f.slot",
                          &st, err, "listing tracks to embed");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, model_id);
    s = collect_ids(cat, st, ids, n, err);
    sqlite3_finalize(st);
    return s;
}

mm_status mm_catalog_files_needing_vectors(mm_catalog *cat, int64_t model_id, int with_spectrograms,
                                          char ***paths, size_t *n, mm_error *err)
{
    *paths = NULL;
    *n = 0;
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT t.path FROM tracks t WHERE t.status = 'ok'"
                          " AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model_id = ?1 AND v.track_id = t.id)"
                          " AND (?2 OR NOT EXISTS (SELECT 1 FROM features f WHERE f.track_id = t.id))"
                          " ORDER BY t.id",
                          &st, err, "listing tracks to embed");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_int(st, 2, with_spectrograms != 0);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            char **grown = realloc(*paths, sizeof *grown * (cap = cap ? 2 * cap : 256));
            if (!grown) {
                s = mm_error_set(err, MM_ERR_NOMEM, "listing tracks to embed: out of memory");
                break;
            }
            *paths = grown;
        }
        int len = sqlite3_column_bytes(st, 0);
        char *path = malloc((size_t)len + 1);
        if (!path) {
            s = mm_error_set(err, MM_ERR_NOMEM, "listing tracks to embed: out of memory");
            break;
        }
        if (len)
            memcpy(path, sqlite3_column_blob(st, 0), (size_t)len);
        path[len] = '\0';
        (*paths)[(*n)++] = path;
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "listing tracks to embed");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        mm_catalog_files_free(*paths, *n);
        *paths = NULL;
        *n = 0;
    }
    return s;
}

void mm_catalog_files_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

typedef struct vectors_job {
    int64_t model_id;
    size_t n;
    const int64_t *ids;
    const float *probs, *embedding;
    int k, dim;
} vectors_job;

static mm_status put_vectors_txn(mm_catalog *cat, void *ctx, mm_error *err)
{
    vectors_job *job = ctx;
    sqlite3_stmt *st;
    mm_status s = prepare(cat, "INSERT OR REPLACE INTO vectors(model_id, track_id, probs, embedding) VALUES (?1, ?2, ?3, ?4)",
                          &st, err, "storing vectors");
    for (size_t i = 0; s == MM_OK && i < job->n; i++) {
        /* float32 little-endian, which is this machine's layout (x86-64, ARM64) */
        sqlite3_bind_int64(st, 1, job->model_id);
        sqlite3_bind_int64(st, 2, job->ids[i]);
        sqlite3_bind_blob(st, 3, job->probs + i * (size_t)job->k, (int)(sizeof(float) * (size_t)job->k), SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, job->embedding + i * (size_t)job->dim, (int)(sizeof(float) * (size_t)job->dim),
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = cat_sql_error(cat, err, "storing vectors");
        sqlite3_reset(st);
    }
    if (st)
        sqlite3_finalize(st);
    return s;
}

mm_status mm_catalog_put_vectors(mm_catalog *cat, int64_t model_id, size_t n, const int64_t *track_ids,
                                 const float *probs, int k, const float *embedding, int dim, mm_error *err)
{
    vectors_job job = {model_id, n, track_ids, probs, embedding, k, dim};
    return in_transaction(cat, put_vectors_txn, &job, err);
}

mm_status mm_catalog_get_descriptors(mm_catalog *cat, size_t *n, int64_t **track_ids, float **x, mm_error *err)
{
    *n = 0;
    *track_ids = NULL;
    *x = NULL;
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT d.track_id, d.vector FROM descriptors d JOIN tracks t ON t.id = d.track_id"
                          " WHERE d.version = ?1 AND t.status = 'ok' ORDER BY d.track_id",
                          &st, err, "reading descriptors");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int(st, 1, MM_DESCRIPTOR_VERSION);
    const int bytes = (int)(sizeof(float) * MM_DESCRIPTOR_DIM);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != bytes)
            continue; /* damaged row: the track reads as having none */
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *ids = realloc(*track_ids, sizeof *ids * cap);
            if (ids)
                *track_ids = ids;
            float *v = realloc(*x, sizeof *v * cap * MM_DESCRIPTOR_DIM);
            if (v)
                *x = v;
            if (!ids || !v) {
                s = mm_error_set(err, MM_ERR_NOMEM, "reading descriptors: out of memory");
                break;
            }
        }
        (*track_ids)[*n] = sqlite3_column_int64(st, 0);
        memcpy(*x + *n * MM_DESCRIPTOR_DIM, sqlite3_column_blob(st, 1), (size_t)bytes);
        (*n)++;
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "reading descriptors");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        free(*track_ids), free(*x);
        *track_ids = NULL, *x = NULL, *n = 0;
    }
    return s;
}

mm_status mm_catalog_get_vectors(mm_catalog *cat, int64_t model_id, size_t *n, int64_t **track_ids, float **probs,
                                 int *k, float **embedding, int *dim, mm_error *err)
{
    *n = 0;
    *track_ids = NULL;
    *probs = *embedding = NULL;
    *k = *dim = 0;
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT v.track_id, v.probs, v.embedding FROM vectors v JOIN tracks t ON t.id = v.track_id"
                          " WHERE v.model_id = ?1 AND t.status = 'ok' ORDER BY v.track_id",
                          &st, err, "reading vectors");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, model_id);
    size_t cap = 0;
    int rc;
    while (s == MM_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int pk = sqlite3_column_bytes(st, 1) / (int)sizeof(float), pd = sqlite3_column_bytes(st, 2) / (int)sizeof(float);
        if (*n == 0) {
            *k = pk;
            *dim = pd;
        }
        if (pk != *k || pd != *dim || pk == 0) {
            s = mm_error_set(err, MM_ERR_FORMAT, "%s: vectors of model %lld have inconsistent sizes", cat->path,
                             (long long)model_id);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *ids = realloc(*track_ids, sizeof *ids * cap);
            if (ids)
                *track_ids = ids;
            float *p = realloc(*probs, sizeof *p * cap * (size_t)*k);
            if (p)
                *probs = p;
            float *e = realloc(*embedding, sizeof *e * cap * (size_t)(*dim ? *dim : 1));
            if (e)
                *embedding = e;
            if (!ids || !p || !e) {
                s = mm_error_set(err, MM_ERR_NOMEM, "reading vectors: out of memory");
                break;
            }
        }
        (*track_ids)[*n] = sqlite3_column_int64(st, 0);
        memcpy(*probs + *n * (size_t)*k, sqlite3_column_blob(st, 1), sizeof(float) * (size_t)*k);
        if (*dim)
            memcpy(*embedding + *n * (size_t)*dim, sqlite3_column_blob(st, 2), sizeof(float) * (size_t)*dim);
        (*n)++;
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "reading vectors");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        free(*track_ids);
        free(*probs);
        free(*embedding);
        *track_ids = NULL;
        *probs = *embedding = NULL;
        *n = 0;
    }
    return s;
}

/* --- maps ----------------------------------------------------------------------------------- */

typedef struct map_job {
    const mm_map_record *map;
    size_t n;
    const int64_t *ids;
    const float *coords;
    int64_t id;
} map_job;

static mm_status put_map_txn(mm_catalog *cat, void *ctx, mm_error *err)
{
    map_job *job = ctx;
    const mm_map_record *m = job->map;
    sqlite3_stmt *st;
    mm_status s = prepare(cat, "DELETE FROM maps WHERE name = ?1", &st, err, "storing a map");
    if (s != MM_OK)
        return s;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        s = cat_sql_error(cat, err, "storing a map");
    sqlite3_finalize(st);
    if (s != MM_OK || (s = prepare(cat,
                                   "INSERT INTO maps(name, model_id, source, method, dims, params, created_at, n_points)"
                                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                   &st, err, "storing a map")) != MM_OK)
        return s;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m->model_id);
    sqlite3_bind_text(st, 3, m->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, m->method, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, m->dims);
    if (m->params)
        sqlite3_bind_text(st, 6, m->params, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
    sqlite3_bind_int64(st, 8, (int64_t)job->n);
    if (sqlite3_step(st) != SQLITE_DONE)
        s = cat_sql_error(cat, err, "storing a map");
    sqlite3_finalize(st);
    if (s != MM_OK)
        return s;
    job->id = sqlite3_last_insert_rowid(cat->db);
    if ((s = prepare(cat, "INSERT INTO map_points(map_id, track_id, x, y, z) VALUES (?1, ?2, ?3, ?4, ?5)", &st, err,
                     "storing a map")) != MM_OK)
        return s;
    for (size_t i = 0; i < job->n && s == MM_OK; i++) {
        const float *c = job->coords + i * (size_t)m->dims;
        sqlite3_bind_int64(st, 1, job->id);
        sqlite3_bind_int64(st, 2, job->ids[i]);
        sqlite3_bind_double(st, 3, c[0]);
        sqlite3_bind_double(st, 4, c[1]);
        if (m->dims == 3)
            sqlite3_bind_double(st, 5, c[2]);
        else
            sqlite3_bind_null(st, 5);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = cat_sql_error(cat, err, "storing a map");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return s;
}

mm_status mm_catalog_put_map(mm_catalog *cat, const mm_map_record *map, size_t n, const int64_t *track_ids,
                             const float *coords, int64_t *id, mm_error *err)
{
    if (map->dims != 2 && map->dims != 3)
        return mm_error_set(err, MM_ERR_ARG, "a map has 2 or 3 dimensions, not %d", map->dims);
    map_job job = {map, n, track_ids, coords, 0};
    mm_status s = in_transaction(cat, put_map_txn, &job, err);
    if (s == MM_OK && id)
        *id = job.id;
    return s;
}

typedef struct grow_job {
    int64_t map_id;
    const char *params;
    size_t n;
    const int64_t *ids;
    const float *coords;
} grow_job;

static mm_status grow_map_txn(mm_catalog *cat, void *ctx, mm_error *err)
{
    grow_job *job = ctx;
    sqlite3_stmt *st;
    mm_status s = prepare(cat, "SELECT dims, generation FROM maps WHERE id = ?1", &st, err, "growing a map");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, job->map_id);
    int rc = sqlite3_step(st);
    int dims = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    int generation = rc == SQLITE_ROW ? sqlite3_column_int(st, 1) + 1 : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no map %lld", (long long)job->map_id);
    if (job->n > 0) {
        /* a track that left the map's songs and came back is placed anew */
        if ((s = prepare(cat,
                         "INSERT OR REPLACE INTO map_points(map_id, track_id, x, y, z, generation)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         &st, err, "growing a map")) != MM_OK)
            return s;
        for (size_t i = 0; i < job->n && s == MM_OK; i++) {
            const float *c = job->coords + i * (size_t)dims;
            sqlite3_bind_int64(st, 1, job->map_id);
            sqlite3_bind_int64(st, 2, job->ids[i]);
            sqlite3_bind_double(st, 3, c[0]);
            sqlite3_bind_double(st, 4, c[1]);
            if (dims == 3)
                sqlite3_bind_double(st, 5, c[2]);
            else
                sqlite3_bind_null(st, 5);
            sqlite3_bind_int(st, 6, generation);
            if (sqlite3_step(st) != SQLITE_DONE)
                s = cat_sql_error(cat, err, "growing a map");
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        if (s != MM_OK)
            return s;
    }
    if ((s = prepare(cat,
                     "UPDATE maps SET params = ?2, generation = ?3,"
                     " n_points = (SELECT count(*) FROM map_points p WHERE p.map_id = ?1) WHERE id = ?1",
                     &st, err, "growing a map")) != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, job->map_id);
    if (job->params)
        sqlite3_bind_text(st, 2, job->params, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, job->n > 0 ? generation : generation - 1);
    if (sqlite3_step(st) != SQLITE_DONE)
        s = cat_sql_error(cat, err, "growing a map");
    sqlite3_finalize(st);
    return s;
}

mm_status mm_catalog_grow_map(mm_catalog *cat, int64_t map_id, const char *params, size_t n, const int64_t *track_ids,
                              const float *coords, mm_error *err)
{
    if (n > 0 && (!track_ids || !coords))
        return mm_error_set(err, MM_ERR_ARG, "growing a map: no points");
    grow_job job = {map_id, params, n, track_ids, coords};
    return in_transaction(cat, grow_map_txn, &job, err);
}

mm_status mm_catalog_get_map_added(mm_catalog *cat, int64_t map_id, int *generation, size_t *n, int64_t **track_ids,
                                   mm_error *err)
{
    *n = 0;
    *track_ids = NULL;
    *generation = 0;
    sqlite3_stmt *st;
    mm_status s = prepare(cat, "SELECT generation FROM maps WHERE id = ?1", &st, err, "reading a map");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, map_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *generation = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no map %lld", (long long)map_id);
    if (*generation == 0)
        return MM_OK;
    if ((s = prepare(cat,
                     "SELECT p.track_id FROM map_points p JOIN tracks t ON t.id = p.track_id"
                     " WHERE p.map_id = ?1 AND p.generation = ?2 AND t.status = 'ok' ORDER BY p.track_id",
                     &st, err, "reading a map")) != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, map_id);
    sqlite3_bind_int(st, 2, *generation);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            int64_t *ids = realloc(*track_ids, sizeof *ids * cap);
            if (!ids) {
                s = mm_error_set(err, MM_ERR_NOMEM, "reading a map: out of memory");
                break;
            }
            *track_ids = ids;
        }
        (*track_ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "reading a map");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        free(*track_ids);
        *track_ids = NULL;
        *n = 0;
    }
    return s;
}

void mm_map_records_free(mm_map_record *maps, size_t n)
{
    for (size_t i = 0; maps && i < n; i++) {
        free(maps[i].name);
        free(maps[i].source);
        free(maps[i].method);
        free(maps[i].params);
    }
    free(maps);
}

mm_status mm_catalog_list_maps(mm_catalog *cat, mm_map_record **maps, size_t *n, mm_error *err)
{
    *maps = NULL;
    *n = 0;
    sqlite3_stmt *st;
    mm_status s = prepare(cat,
                          "SELECT m.id, m.name, m.model_id, m.source, m.method, m.dims, m.params, m.created_at,"
                          " m.n_points, m.generation FROM maps m ORDER BY m.id",
                          &st, err, "listing maps");
    if (s != MM_OK)
        return s;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            mm_map_record *grown = realloc(*maps, sizeof **maps * cap);
            if (!grown) {
                s = mm_error_set(err, MM_ERR_NOMEM, "listing maps: out of memory");
                break;
            }
            *maps = grown;
        }
        mm_map_record *m = &(*maps)[(*n)++];
        memset(m, 0, sizeof *m);
        m->id = sqlite3_column_int64(st, 0);
        m->name = dup_text(st, 1);
        m->model_id = sqlite3_column_int64(st, 2);
        m->source = dup_text(st, 3);
        m->method = dup_text(st, 4);
        m->dims = sqlite3_column_int(st, 5);
        m->params = dup_text(st, 6);
        m->created_at = sqlite3_column_int64(st, 7);
        m->n_points = (size_t)sqlite3_column_int64(st, 8);
        m->generation = sqlite3_column_int(st, 9);
        if (!m->name || !m->source || !m->method) {
            s = mm_error_set(err, MM_ERR_NOMEM, "listing maps: out of memory");
            break;
        }
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "listing maps");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        mm_map_records_free(*maps, *n);
        *maps = NULL;
        *n = 0;
    }
    return s;
}

mm_status mm_catalog_get_map_points(mm_catalog *cat, int64_t map_id, size_t *n, int64_t **track_ids, float **coords,
                                    int *dims, mm_error *err)
{
    *n = 0;
    *track_ids = NULL;
    *coords = NULL;
    sqlite3_stmt *st;
    mm_status s = prepare(cat, "SELECT dims FROM maps WHERE id = ?1", &st, err, "reading a map");
    if (s != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, map_id);
    int rc = sqlite3_step(st);
    *dims = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no map %lld", (long long)map_id);
    if ((s = prepare(cat,
                     "SELECT p.track_id, p.x, p.y, p.z FROM map_points p JOIN tracks t ON t.id = p.track_id"
                     " WHERE p.map_id = ?1 AND t.status = 'ok' ORDER BY p.track_id",
                     &st, err, "reading a map")) != MM_OK)
        return s;
    sqlite3_bind_int64(st, 1, map_id);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *ids = realloc(*track_ids, sizeof *ids * cap);
            if (ids)
                *track_ids = ids;
            float *c = realloc(*coords, sizeof *c * cap * (size_t)*dims);
            if (c)
                *coords = c;
            if (!ids || !c) {
                s = mm_error_set(err, MM_ERR_NOMEM, "reading a map: out of memory");
                break;
            }
        }
        (*track_ids)[*n] = sqlite3_column_int64(st, 0);
        for (int d = 0; d < *dims; d++)
            (*coords)[*n * (size_t)*dims + (size_t)d] = (float)sqlite3_column_double(st, 1 + d);
        (*n)++;
    }
    if (s == MM_OK && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "reading a map");
    sqlite3_finalize(st);
    if (s != MM_OK) {
        free(*track_ids);
        free(*coords);
        *track_ids = NULL;
        *coords = NULL;
        *n = 0;
    }
    return s;
}
