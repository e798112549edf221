/* Test and benchmark helper: gives a catalog a model, per-track vectors and maps, so the server has
 * real data before `musicmap train/embed/map` have run. Vectors: each track's genre tag as a smoothed
 * one-hot plus noise; embeddings cluster by genre. Maps: a 2-D "pca", a different 2-D "umap" and a 3-D
 * "tsne" arrangement, all clustered by genre, deterministic.
 *   make_fixture_map DB              for the tracks a scan put there
 *   make_fixture_map DB --fake N     first inserts N made-up ok tracks (benchmarks of big maps; their
 *                                    files do not exist, so their audio is a 404) */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/catalog.h"

static const char *const FAKE_GENRES[] = {"blues", "classical", "country", "disco", "hiphop",
                                          "jazz",  "metal",     "pop",     "reggae", "rock"};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

typedef struct tracks {
    int64_t *ids;
    char **genres;
    size_t n, cap;
} tracks;

static int take(const mm_track *t, void *user)
{
    tracks *ts = user;
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 1024;
        ts->ids = realloc(ts->ids, ts->cap * sizeof *ts->ids);
        ts->genres = realloc(ts->genres, ts->cap * sizeof *ts->genres);
        if (!ts->ids || !ts->genres)
            exit(1);
    }
    ts->ids[ts->n] = t->id;
    ts->genres[ts->n] = strdup(t->genre[0] ? t->genre : "unknown");
    ts->n++;
    return 0;
}

static int fake_tracks(const char *db, long n)
{
    sqlite3 *s;
    if (sqlite3_open(db, &s) != SQLITE_OK)
        return -1;
    sqlite3_exec(s, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s,
                       "INSERT INTO tracks(path, size, mtime_ns, status, duration, container, codec, sample_rate,"
                       " channels, bit_rate, title, artist, album, genre, loudness, loudness_song, scanned_at,"
                       " search_title, search_text)"
                       " VALUES (?1, 1000, 0, 'ok', 180, 'mp3', 'mp3float', 44100, 2, 192000, ?2, ?3, ?4, ?5, ?6, 0, 0,"
                       " ?7, ?8)",
                       -1, &st, NULL);
    for (long i = 0; i < n; i++) {
        char path[64], title[64], artist[64], album[64];
        snprintf(path, sizeof path, "/nonexistent/fake/%07ld.mp3", i);
        snprintf(title, sizeof title, "Song %ld", i);
        snprintf(artist, sizeof artist, "Artist %ld", i / 12);
        snprintf(album, sizeof album, "Album %ld", i / 12);
        sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, artist, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, album, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, FAKE_GENRES[(size_t)(i * 7 + i / 13) % 10], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 6, -20 + 8 * uniform());
        /* the folded text a scan stores (schema 6): without it search folds every row on the fly, which
         * is the path for rows written by other tools, not a scanned catalog's */
        char folded_title[64], folded_artist[64], folded_album[64], folded_text[130];
        mm_text_fold(title, folded_title, sizeof folded_title);
        mm_text_fold(artist, folded_artist, sizeof folded_artist);
        mm_text_fold(album, folded_album, sizeof folded_album);
        snprintf(folded_text, sizeof folded_text, "%s\n%s", folded_artist, folded_album);
        sqlite3_bind_text(st, 7, folded_title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, folded_text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(s);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--fake") == 0)) {
        fprintf(stderr, "usage: make_fixture_map DB [--fake N]\n");
        return 2;
    }
    mm_error err;
    mm_catalog *cat;
    if (mm_catalog_open(&cat, argv[1], argc == 4 ? MM_CATALOG_CREATE : 0, &err) != MM_OK) {
        fprintf(stderr, "make_fixture_map: %s\n", err.msg);
        return 1;
    }
    if (argc == 4 && fake_tracks(argv[1], atol(argv[3])) != 0) {
        fprintf(stderr, "make_fixture_map: inserting fake tracks failed\n");
        return 1;
    }
    tracks ts = {0};
    if (mm_catalog_each_track(cat, MM_TRACK_OK, take, &ts, &err) != MM_OK || ts.n < 2) {
        fprintf(stderr, "make_fixture_map: %s\n", ts.n < 2 ? "fewer than 2 ok tracks" : err.msg);
        return 1;
    }
    /* the classes: distinct genres, sorted */
    char **classes = malloc(ts.n * sizeof *classes);
    memcpy(classes, ts.genres, ts.n * sizeof *classes);
    qsort(classes, ts.n, sizeof *classes, by_name);
    size_t k = 0;
    for (size_t i = 0; i < ts.n; i++)
        if (k == 0 || strcmp(classes[k - 1], classes[i]) != 0)
            classes[k++] = classes[i];
    int *label = malloc(ts.n * sizeof *label);
    for (size_t i = 0; i < ts.n; i++) {
        char **hit = bsearch(&ts.genres[i], classes, k, sizeof *classes, by_name);
        label[i] = (int)(hit - classes);
    }
    const int dim = 8;
    mm_model_record m = {.name = "fixture", .file = "fixture.mmm", .architecture = "crnn4",
                         .n_classes = (int)k, .classes = classes, .embedding_dim = dim,
                         /* its "predictions" are the tags themselves: sure enough to colour by */
                         .metrics = "{\"epochs\": 1, \"test_accuracy\": 0.9500}"};
    int64_t model_id;
    if (mm_catalog_put_model(cat, &m, &model_id, &err) != MM_OK) {
        fprintf(stderr, "make_fixture_map: %s\n", err.msg);
        return 1;
    }
    float *probs = malloc(ts.n * k * sizeof *probs), *emb = malloc(ts.n * (size_t)dim * sizeof *emb);
    for (size_t i = 0; i < ts.n; i++) {
        double sum = 0;
        for (size_t c = 0; c < k; c++) {
            double p = ((int)c == label[i] ? 3.0 : 0.1) + 0.3 * uniform();
            probs[i * k + c] = (float)p;
            sum += p;
        }
        for (size_t c = 0; c < k; c++)
            probs[i * k + c] = (float)(probs[i * k + c] / sum);
        for (int d = 0; d < dim; d++)
            emb[i * (size_t)dim + (size_t)d] = (float)(((label[i] >> (d % 4)) & 1) * 2.0 + 0.3 * gauss() + (d >= 4 ? 0.05 * label[i] : 0));
    }
    if (mm_catalog_put_vectors(cat, model_id, ts.n, ts.ids, probs, (int)k, emb, dim, &err) != MM_OK) {
        fprintf(stderr, "make_fixture_map: %s\n", err.msg);
        return 1;
    }
    struct {
        const char *name, *method, *params;
        int dims;
    } maps[] = {{"fixture-pca", "pca", "{\"components\": 2}", 2},
                {"fixture-umap", "umap", "{\"n_neighbors\": 15, \"min_dist\": 0.1}", 2},
                {"fixture-tsne-3d", "tsne", "{\"perplexity\": 30}", 3}};
    float *coords = malloc(ts.n * 3 * sizeof *coords);
    for (size_t mi = 0; mi < sizeof maps / sizeof maps[0]; mi++) {
        double spread = ts.n > 1000 ? 0.25 + 0.1 * mi : 0.12;
        for (size_t i = 0; i < ts.n; i++) {
            /* genre centres on a circle (rotated and reordered per map, so a switch moves points) */
            double a = 2 * M_PI * (double)((label[i] * (int)(mi * 3 + 1)) % (int)k) / (double)k + 0.7 * (double)mi;
            double r = mi == 1 ? 1.0 + 0.3 * (label[i] % 3) : 1.0;
            coords[i * 3 + 0] = (float)(r * cos(a) + spread * gauss());
            coords[i * 3 + 1] = (float)(r * sin(a) + spread * gauss());
            coords[i * 3 + 2] = (float)((label[i] % 2 ? 0.5 : -0.5) + spread * gauss());
        }
        if (maps[mi].dims == 2)
            for (size_t i = 0; i < ts.n; i++) {
                coords[i * 2 + 0] = coords[i * 3 + 0];
                coords[i * 2 + 1] = coords[i * 3 + 1];
            }
        mm_map_record rec = {.name = (char *)maps[mi].name, .model_id = model_id, .source = "probs",
                             .method = (char *)maps[mi].method, .dims = maps[mi].dims, .params = (char *)maps[mi].params};
        int64_t map_id;
        if (mm_catalog_put_map(cat, &rec, ts.n, ts.ids, coords, &map_id, &err) != MM_OK) {
            fprintf(stderr, "make_fixture_map: %s\n", err.msg);
            return 1;
        }
        printf("map %lld %s %zu\n", (long long)map_id, maps[mi].name, ts.n);
    }
    mm_catalog_close(cat);
    for (size_t i = 0; i < ts.n; i++)
        free(ts.genres[i]);
    free(ts.genres);
    free(ts.ids);
    free(classes);
    free(label);
    free(probs);
    free(emb);
    free(coords);
    return 0;
}
