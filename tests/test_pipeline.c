/* The pipeline module: song vectors of each kind from a catalog, exact similar songs, maps with their
 * parameters stored as data and read back, the parameters' text form (and what it refuses); the tag
 * census and run's rule, what training and embedding refuse before any work, and run's orchestration
 * up to its maps (without training: the tags never make a model worth it here).
 *
 * The catalog is made here: made-up ok tracks in four tagged groups, each with descriptors drawn around
 * its group's centre (so groups are what a good map keeps together), and a model's vectors. */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "musicmap/features.h"
#include "musicmap/pipeline.h"
#include "testutil.h"

#define N_SONGS 60
#define N_GROUPS 4

static const char *const GROUPS[N_GROUPS] = {"Jazz", "Rock", "Hip-Hop", "Folk"};

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* A catalog of N_SONGS tracks (ids 1..N), song i in group i % N_GROUPS; descriptors for all but the
 * last two (as if scanned by an older version). Returns its path. */
static const char *make_catalog(void)
{
    static char path[512];
    static int made;
    snprintf(path, sizeof path, "%s/pipeline%d.db", tu_temp_dir(), ++made);
    static char paths[N_SONGS][64], titles[N_SONGS][32];
    static float v[N_SONGS][MM_DESCRIPTOR_DIM];
    tu_song songs[N_SONGS];
    float centre[N_GROUPS][MM_DESCRIPTOR_DIM];
    for (int g = 0; g < N_GROUPS; g++)
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            centre[g][j] = (float)(4.0 * uniform() * (j + 1)); /* dimensions of different scales */
    for (int i = 1; i <= N_SONGS; i++) {
        snprintf(paths[i - 1], sizeof paths[0], "/nonexistent/%03d.mp3", i);
        snprintf(titles[i - 1], sizeof titles[0], "Song %d", i);
        songs[i - 1] = (tu_song){.path = paths[i - 1], .title = titles[i - 1], .artist = "A", .album = "B",
                                 .genre = GROUPS[i % N_GROUPS], .duration = 180};
        if (i > N_SONGS - 2)
            continue;
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            v[i - 1][j] = centre[i % N_GROUPS][j] + (float)((uniform() - 0.5) * (j + 1));
        songs[i - 1].descriptor = v[i - 1];
    }
    tu_fake_catalog(path, songs, N_SONGS);
    return path;
}

static void test_kind_names(void **state)
{
    for (int k = MM_VECTORS_DESCRIPTORS; k <= MM_VECTORS_HIDDEN; k++) {
        mm_vector_kind back;
        assert_int_equal(mm_vector_kind_parse(mm_vector_kind_name((mm_vector_kind)k), &back), 0);
        assert_int_equal(back, k);
    }
    mm_vector_kind x;
    assert_int_equal(mm_vector_kind_parse("probs", &x), -1);
    assert_int_equal(mm_vector_kind_parse(NULL, &x), -1);
}

/* Descriptors come standardised, one unit row per song that has them, ids ascending; the nearest songs
 * are exactly those a plain double-precision search over all pairs finds. */
static void test_descriptor_vectors_and_nearest(void **state)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, make_catalog(), 0, &err), MM_OK);
    mm_song_vectors v;
    assert_int_equal(mm_song_vectors_load(cat, MM_VECTORS_DESCRIPTORS, NULL, 1, &v, &err), MM_OK);
    assert_int_equal(v.n, N_SONGS - 2);
    assert_int_equal(v.dim, MM_DESCRIPTOR_DIM);
    assert_int_equal(v.model_id, 0); /* registered only when a map is made of them */
    for (size_t i = 0; i < v.n; i++) {
        assert_int_equal(v.ids[i], (int64_t)i + 1);
        assert_int_equal(mm_song_vectors_find(&v, v.ids[i]), (long)i);
        double norm = 0;
        for (int j = 0; j < v.dim; j++)
            norm += (double)v.x[i * MM_DESCRIPTOR_DIM + j] * v.x[i * MM_DESCRIPTOR_DIM + j];
        assert_float_equal(norm, 1.0, 1e-5);
    }
    assert_int_equal(mm_song_vectors_find(&v, N_SONGS), -1);
    assert_int_equal(mm_song_vectors_find(&v, 0), -1);

    size_t same_group = 0;
    for (size_t q = 0; q < v.n; q++) {
        mm_similar_song near[10];
        size_t got = mm_song_vectors_nearest(&v, q, 10, near);
        assert_int_equal(got, 10);
        /* the reference: every distance, then the 10 smallest by (distance, row) */
        double dist[N_SONGS];
        for (size_t j = 0; j < v.n; j++) {
            double s = 0;
            for (int c = 0; c < v.dim; c++) {
                double t = (double)v.x[j * MM_DESCRIPTOR_DIM + c] - v.x[q * MM_DESCRIPTOR_DIM + c];
                s += t * t;
            }
            dist[j] = j == q ? INFINITY : sqrt(s);
        }
        for (int r = 0; r < 10; r++) {
            size_t best = 0;
            for (size_t j = 1; j < v.n; j++)
                if (dist[j] < dist[best])
                    best = j;
            assert_int_equal(near[r].id, v.ids[best]);
            assert_float_equal(near[r].distance, dist[best], 1e-9);
            same_group += (near[r].id % N_GROUPS) == (v.ids[q] % N_GROUPS);
            dist[best] = INFINITY;
        }
    }
    /* well-separated groups: nearly every neighbour is from the song's own group */
    print_message("  10 nearest from the same group: %.3f\n", (double)same_group / (10.0 * v.n));
    assert_true(same_group >= 0.9 * 10 * v.n);
    mm_similar_song one[3];
    assert_int_equal(mm_song_vectors_nearest(&v, v.n, 3, one), 0); /* no such row */
    assert_int_equal(mm_song_vectors_nearest(&v, 0, 0, one), 0);
    mm_song_vectors_free(&v);
    mm_catalog_close(cat);
}

/* A map of the descriptors: stored with its points and parameters, its quality measured against the
 * genre tags ("Hip-Hop" and "hiphop" would be one genre); the stored text reads back to the same. */
static void test_map_make(void **state)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, make_catalog(), 0, &err), MM_OK);
    const mm_layout_method methods[2] = {MM_LAYOUT_PCA, MM_LAYOUT_UMAP};
    for (int m = 0; m < 2; m++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = methods[m];
        spec.threads = 1;
        mm_map_request req = {.features = MM_VECTORS_DESCRIPTORS, .spec = &spec}; /* size 0: as 0.1 */
        mm_map_result r;
        assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
        assert_int_equal(r.n, N_SONGS - 2);
        assert_int_equal(r.tagged, N_SONGS - 2);
        assert_true(r.map_id > 0);
        print_message("  %s: trustworthiness %.3f, genre agreement %.3f\n", r.name, r.params.trustworthiness,
                      r.params.label_agreement);
        assert_true(r.params.label_agreement > 0.8);
        assert_true(r.params.trustworthiness > 0.8);
        assert_int_equal(r.params.features, MM_VECTORS_DESCRIPTORS);

        mm_map_record *maps;
        size_t n_maps;
        assert_int_equal(mm_catalog_list_maps(cat, &maps, &n_maps, &err), MM_OK);
        const mm_map_record *found = NULL;
        for (size_t i = 0; i < n_maps; i++)
            if (maps[i].id == r.map_id)
                found = &maps[i];
        assert_non_null(found);
        assert_string_equal(found->name, r.name);
        assert_int_equal(found->n_points, N_SONGS - 2);
        mm_model_record pseudo;
        assert_int_equal(mm_catalog_get_model_by_id(cat, found->model_id, &pseudo, &err), MM_OK);
        assert_string_equal(pseudo.name, "descriptors");
        mm_model_record_free(&pseudo);
        mm_map_params back;
        assert_int_equal(mm_map_params_parse(found->params, found->source, &back), 0);
        assert_int_equal(back.features, r.params.features);
        assert_int_equal(back.method, r.params.method);
        assert_int_equal(back.dims, r.params.dims);
        assert_int_equal(back.metric, r.params.metric);
        assert_int_equal(back.seed, r.params.seed);
        assert_int_equal(back.n_neighbors, r.params.n_neighbors);
        assert_float_equal(back.min_dist, r.params.min_dist, 1e-12);
        assert_float_equal(back.trustworthiness, r.params.trustworthiness, 1e-4);
        assert_float_equal(back.label_agreement, r.params.label_agreement, 1e-4);
        mm_map_records_free(maps, n_maps);
    }
    /* a kind with no vectors yet: refused, saying what to run */
    mm_map_request req = {.features = MM_VECTORS_HIDDEN};
    mm_map_result r;
    assert_int_not_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
    print_message("  no model yet: %s\n", err.msg);
    mm_catalog_close(cat);
}

/* mm_layout_extend on twins: new points that are copies of old ones land on (PCA: exactly at) their
 * twin's place, for each method, and the old points are not touched. */
static void test_layout_extend_twins(void **state)
{
    enum { N = 80, D = 6, T = 5 };
    static float x[N * D], y[N * 2], y_copy[N * 2], twins[T * D], placed[T * 2];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((i % 4) * 3.0 * (j == i % 4) + uniform());
    const mm_layout_method methods[3] = {MM_LAYOUT_PCA, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP};
    for (int m = 0; m < 3; m++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = methods[m];
        spec.perplexity = 10;
        spec.threads = 1;
        mm_error err;
        assert_int_equal(mm_layout_compute(x, N, D, &spec, y, &err), MM_OK);
        if (methods[m] == MM_LAYOUT_PCA)
            mm_layout_normalize(y, N, 2); /* PCA's transform takes any affine frame */
        memcpy(y_copy, y, sizeof y);
        for (int t = 0; t < T; t++)
            memcpy(twins + t * D, x + (size_t)(t * 13) * D, sizeof(float) * D);
        assert_int_equal(mm_layout_extend(x, N, D, y, twins, T, &spec, placed, &err), MM_OK);
        assert_memory_equal(y, y_copy, sizeof y);
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < N * 2; i++) {
            lo = y[i] < lo ? y[i] : lo;
            hi = y[i] > hi ? y[i] : hi;
        }
        for (int t = 0; t < T; t++) {
            const float *twin = y + (size_t)(t * 13) * 2;
            double dist = hypot(placed[t * 2] - twin[0], placed[t * 2 + 1] - twin[1]);
            print_message("  %s: twin %d placed %.4f of the map's extent from its original\n",
                          mm_layout_method_name(methods[m]), t, dist / (hi - lo));
            assert_true(dist <= (methods[m] == MM_LAYOUT_PCA ? 1e-4 : 0.05) * (hi - lo));
        }
    }
}

/* A stored map grows: new songs are placed on it, the others keep their coordinates exactly, the
 * points are marked as the map's first growth; a map with every song is kept; --redraw and a grow
 * limit lay it out anew. */
static void add_descriptors_for_last_two(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* each a copy of a song of its group (4 before it), slightly moved */
    for (int i = N_SONGS - 1; i <= N_SONGS; i++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT vector FROM descriptors WHERE track_id = ?1", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_int(st, 1, i - N_GROUPS);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        float v[MM_DESCRIPTOR_DIM];
        memcpy(v, sqlite3_column_blob(st, 0), sizeof v);
        sqlite3_finalize(st);
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            v[j] += (float)((uniform() - 0.5) * 0.1 * (j + 1));
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "INSERT INTO descriptors(track_id, version, clips, vector) VALUES (?1, ?2, 1, ?3)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_int(st, 2, MM_DESCRIPTOR_VERSION);
        sqlite3_bind_blob(st, 3, v, (int)sizeof v, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static void test_map_grows(void **state)
{
    const mm_layout_method methods[3] = {MM_LAYOUT_PCA, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP};
    for (int m = 0; m < 3; m++) {
        const char *path = make_catalog();
        mm_catalog *cat;
        mm_error err;
        assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = methods[m];
        spec.perplexity = 10;
        spec.threads = 1;
        mm_map_request req;
        mm_map_request_init(&req);
        req.spec = &spec;
        mm_map_result r;
        assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
        assert_int_equal(r.change, MM_MAP_DRAWN);
        assert_true(r.params.frame_scale > 0);
        size_t n0, n1;
        int64_t *ids0, *ids1;
        float *y0, *y1;
        int dims;
        assert_int_equal(mm_catalog_get_map_points(cat, r.map_id, &n0, &ids0, &y0, &dims, &err), MM_OK);
        assert_int_equal(n0, N_SONGS - 2);
        mm_catalog_close(cat);

        add_descriptors_for_last_two(path);
        assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
        const int64_t first_id = r.map_id;
        assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
        assert_int_equal(r.change, MM_MAP_GROWN);
        assert_int_equal(r.map_id, first_id);
        assert_int_equal(r.added, 2);
        assert_int_equal(r.n, N_SONGS);
        assert_int_equal(mm_catalog_get_map_points(cat, r.map_id, &n1, &ids1, &y1, &dims, &err), MM_OK);
        assert_int_equal(n1, N_SONGS);
        /* the old points did not move, by a bit */
        assert_memory_equal(ids0, ids1, sizeof(int64_t) * n0);
        assert_memory_equal(y0, y1, sizeof(float) * n0 * 2);
        /* each new song lies among its group: most of its 5 nearest points on the map are of it */
        for (size_t q = n0; q < n1; q++) {
            double d5[5] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
            int64_t who[5] = {0};
            for (size_t j = 0; j < n0; j++) {
                double d = hypot(y1[q * 2] - y1[j * 2], y1[q * 2 + 1] - y1[j * 2 + 1]);
                for (int s = 0; s < 5; s++)
                    if (d < d5[s]) {
                        for (int u = 4; u > s; u--) {
                            d5[u] = d5[u - 1];
                            who[u] = who[u - 1];
                        }
                        d5[s] = d;
                        who[s] = ids1[j];
                        break;
                    }
            }
            int same = 0;
            for (int s = 0; s < 5; s++)
                same += who[s] % N_GROUPS == ids1[q] % N_GROUPS;
            print_message("  %s: new song %lld has %d of its 5 nearest on the map in its group\n",
                          mm_layout_method_name(methods[m]), (long long)ids1[q], same);
            assert_true(same >= 4);
        }
        int generation;
        size_t n_added;
        int64_t *added;
        assert_int_equal(mm_catalog_get_map_added(cat, r.map_id, &generation, &n_added, &added, &err), MM_OK);
        assert_int_equal(generation, 1);
        assert_int_equal(n_added, 2);
        assert_int_equal(added[0], N_SONGS - 1);
        assert_int_equal(added[1], N_SONGS);
        free(added);
        mm_map_params stored;
        mm_map_record *maps;
        size_t n_maps;
        assert_int_equal(mm_catalog_list_maps(cat, &maps, &n_maps, &err), MM_OK);
        assert_int_equal(n_maps, 1);
        assert_int_equal(maps[0].generation, 1);
        assert_int_equal(maps[0].n_points, N_SONGS);
        assert_int_equal(mm_map_params_parse(maps[0].params, maps[0].source, &stored), 0);
        assert_float_equal(stored.trustworthiness, r.params.trustworthiness, 1e-4);
        mm_map_records_free(maps, n_maps);

        /* nothing new: kept as it is */
        assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
        assert_int_equal(r.change, MM_MAP_KEPT);
        assert_int_equal(r.map_id, first_id);
        /* asked to redraw: laid out anew, no growth left to show */
        req.redraw = 1;
        assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
        assert_int_equal(r.change, MM_MAP_DRAWN);
        assert_int_equal(mm_catalog_get_map_added(cat, r.map_id, &generation, &n_added, &added, &err), MM_OK);
        assert_int_equal(generation, 0);
        assert_int_equal(n_added, 0);
        free(added);
        free(ids0);
        free(ids1);
        free(y0);
        free(y1);
        mm_catalog_close(cat);
    }
}

/* New songs beyond the grow limit redraw the map, saying why. */
static void test_map_grow_limit(void **state)
{
    const char *path = make_catalog();
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    mm_layout_spec spec;
    mm_layout_spec_init(&spec);
    spec.method = MM_LAYOUT_PCA;
    spec.threads = 1;
    mm_map_request req;
    mm_map_request_init(&req);
    req.spec = &spec;
    mm_map_result r;
    assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
    mm_catalog_close(cat);
    add_descriptors_for_last_two(path);
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    req.grow_limit = 0.02; /* 2 new songs on 58 are 3.4 % */
    assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
    assert_int_equal(r.change, MM_MAP_DRAWN);
    assert_int_equal(r.n, N_SONGS);
    print_message("  %s\n", r.why);
    assert_non_null(strstr(r.why, "grow limit"));
    /* other parameters under the same name: drawn anew, not grown */
    req.name = "mine";
    assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
    spec.seed = 7;
    spec.method = MM_LAYOUT_UMAP;
    assert_int_equal(mm_map_make(cat, &req, &r, &err), MM_OK);
    assert_int_equal(r.change, MM_MAP_DRAWN);
    assert_non_null(strstr(r.why, "other vectors or parameters"));
    mm_catalog_close(cat);
}

/* Evaluation as the library does it: a header, then one row per kind and map method, in order; the
 * fixture's groups are far apart, so the descriptors keep them together in the space and on the map;
 * kinds without vectors (no spectrograms here: no mel baseline) come as unscored rows. */
typedef struct eval_seen {
    int headers;
    size_t labelled;
    int rows, scored;
    char first[64], last[64];
    double desc_space5, desc_map5;
} eval_seen;

static void on_eval_header(const mm_evaluate_summary *s, void *user)
{
    eval_seen *e = user;
    e->headers++;
    e->labelled = s->labelled;
}

static void on_eval_row(const mm_evaluate_row *r, void *user)
{
    eval_seen *e = user;
    if (!e->rows++)
        snprintf(e->first, sizeof e->first, "%s", r->vectors);
    snprintf(e->last, sizeof e->last, "%s", r->vectors);
    e->scored += r->scored;
    if (strcmp(r->vectors, "descriptors") == 0) {
        e->desc_space5 = r->space5;
        e->desc_map5 = r->map5;
    }
}

static void test_evaluate(void **state)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, make_catalog(), 0, &err), MM_OK);
    eval_seen seen = {0};
    const mm_layout_method pca[1] = {MM_LAYOUT_PCA};
    mm_evaluate_request req;
    mm_evaluate_request_init(&req);
    req.labels = MM_LABELS_TAGS;
    req.methods = pca;
    req.n_methods = 1;
    req.threads = 1;
    req.header = on_eval_header;
    req.row = on_eval_row;
    req.user = &seen;
    mm_evaluate_summary sum;
    assert_int_equal(mm_pipeline_evaluate(cat, &req, &sum, &err), MM_OK);
    print_message("  %d rows, %d scored; descriptors space@5 %.3f, PCA map@5 %.3f; chance %.3f\n", seen.rows,
                  seen.scored, seen.desc_space5, seen.desc_map5, sum.chance);
    assert_int_equal(seen.headers, 1);
    assert_int_equal(sum.labelled, N_SONGS);
    assert_int_equal(sum.groups, N_GROUPS);
    assert_int_equal(sum.descriptors, N_SONGS - 2);
    assert_int_equal(seen.rows, 4);   /* descriptors, mfcc, band profile (one method each), mel unscored */
    assert_int_equal(seen.scored, 3);
    assert_string_equal(seen.first, "descriptors");
    assert_string_equal(seen.last, "mel (pooled, PCA)");
    assert_true(seen.desc_space5 > 0.9 && seen.desc_map5 > sum.chance);
    /* an unknown model */
    const char *models[1] = {"nosuch"};
    req.models = models;
    req.n_models = 1;
    assert_int_equal(mm_pipeline_evaluate(cat, &req, &sum, &err), MM_ERR_NOT_FOUND);
    mm_catalog_close(cat);
}

/* A model's outputs and hidden state, as embed stores them. */
static void test_model_vectors(void **state)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, make_catalog(), 0, &err), MM_OK);
    char *classes[3] = {"a", "b", "c"};
    mm_model_record m = {.name = "m1", .file = "/nonexistent.mmm", .architecture = "small", .n_classes = 3,
                         .classes = classes, .embedding_dim = 5};
    int64_t model_id;
    assert_int_equal(mm_catalog_put_model(cat, &m, &model_id, &err), MM_OK);
    enum { N = 20 };
    int64_t ids[N];
    float probs[N * 3], emb[N * 5];
    for (int i = 0; i < N; i++) {
        ids[i] = N - i; /* stored in any order, read back by id */
        for (int c = 0; c < 3; c++)
            probs[i * 3 + c] = (float)(ids[i] * 10 + c);
        for (int c = 0; c < 5; c++)
            emb[i * 5 + c] = (float)(-ids[i] * 10 - c);
    }
    assert_int_equal(mm_catalog_put_vectors(cat, model_id, N, ids, probs, 3, emb, 5, &err), MM_OK);
    mm_song_vectors out, hid;
    assert_int_equal(mm_song_vectors_load(cat, MM_VECTORS_OUTPUTS, NULL, 1, &out, &err), MM_OK);
    assert_int_equal(mm_song_vectors_load(cat, MM_VECTORS_HIDDEN, "m1", 1, &hid, &err), MM_OK);
    assert_int_equal(out.n, N);
    assert_int_equal(out.dim, 3);
    assert_int_equal(hid.dim, 5);
    assert_int_equal(out.model_id, model_id);
    assert_string_equal(hid.model_name, "m1");
    for (int i = 0; i < N; i++) {
        assert_int_equal(out.ids[i], i + 1);
        assert_float_equal(out.x[i * 3 + 2], (i + 1) * 10 + 2, 0);
        assert_float_equal(hid.x[i * 5 + 4], -(i + 1) * 10 - 4, 0);
    }
    mm_song_vectors_free(&out);
    mm_song_vectors_free(&hid);
    assert_int_not_equal(mm_song_vectors_load(cat, MM_VECTORS_OUTPUTS, "nosuch", 1, &out, &err), MM_OK);
    assert_null(out.ids);
    mm_catalog_close(cat);
}

/* The stored text: what this build writes reads back; older maps' text (no method or dims, -1 for "not
 * measured") reads with defaults; anything but a flat object of strings and numbers is refused. */
static void test_params_text(void **state)
{
    mm_map_params p = {.features = MM_VECTORS_HIDDEN, .method = MM_LAYOUT_TSNE, .dims = 3,
                       .metric = MM_METRIC_COSINE, .perplexity = 50, .seed = 7, .trustworthiness = 0.91234,
                       .label_agreement = NAN};
    char text[512];
    assert_true(mm_map_params_format(&p, text, sizeof text) < (int)sizeof text);
    print_message("  %s\n", text);
    mm_map_params q;
    assert_int_equal(mm_map_params_parse(text, "embedding", &q), 0);
    assert_int_equal(q.features, MM_VECTORS_HIDDEN);
    assert_int_equal(q.method, MM_LAYOUT_TSNE);
    assert_int_equal(q.dims, 3);
    assert_int_equal(q.metric, MM_METRIC_COSINE);
    assert_float_equal(q.perplexity, 50, 0);
    assert_int_equal(q.seed, 7);
    assert_float_equal(q.trustworthiness, 0.9123, 1e-9);
    assert_true(isnan(q.label_agreement));

    const char *old = "{\"features\": \"softmax\", \"n_neighbors\": 30, \"min_dist\": 0.5, \"metric\": \"correlation\", "
                      "\"seed\": 42, \"trustworthiness\": 0.8800, \"label_agreement\": -1.0000}";
    assert_int_equal(mm_map_params_parse(old, "probs", &q), 0);
    assert_int_equal(q.features, MM_VECTORS_OUTPUTS);
    assert_int_equal(q.n_neighbors, 30);
    assert_float_equal(q.min_dist, 0.5, 0);
    assert_int_equal(q.metric, MM_METRIC_CORRELATION);
    assert_true(isnan(q.label_agreement));
    /* no text at all: what the source says */
    assert_int_equal(mm_map_params_parse(NULL, "probs", &q), 0);
    assert_int_equal(q.features, MM_VECTORS_OUTPUTS);
    assert_int_equal(mm_map_params_parse(NULL, "embedding", &q), 0);
    assert_int_equal(q.features, MM_VECTORS_HIDDEN);

    static const char *const bad[] = {"",
                                      "not json",
                                      "{\"features\": \"mel\"",
                                      "{\"features\": \"mel\",}",
                                      "{\"a\": {\"b\": 1}}",
                                      "{\"a\": [1, 2]}",
                                      "{\"a\": \"x\\\"y\"}",
                                      "{\"a\": 1} trailing",
                                      "{\"a\" 1}",
                                      "{\"a\": }"};
    for (size_t i = 0; i < TU_COUNT(bad); i++)
        if (mm_map_params_parse(bad[i], "embedding", &q) != -1)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(mm_map_params_parse("{}", "embedding", &q), 0);
    assert_int_equal(mm_map_params_parse(" { \"dims\" : 3 } ", "embedding", &q), 0);
    assert_int_equal(q.dims, 3);
}

/* --- training, embedding, run ------------------------------------------------------------------------ */

/* Runs SQL on a catalog made by make_catalog (as a scan would have left it). */
static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Feature records (the rows only: nothing here reads them) for tracks first..last. */
static void add_feature_rows(const char *path, int first, int last)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO features(track_id, slot, checksum) SELECT i, i, 0 FROM n",
             first, last);
    exec_sql(path, sql);
}

/* The census counts normalised tags of the songs with spectrograms; the rule trains only on >= 2
 * learnable genres that cover at least half of them. */
static void test_tag_census(void **state)
{
    const char *path = make_catalog();
    mm_catalog *cat;
    mm_error err;
    mm_genre_census c;
    mm_tags_verdict why;
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    /* no spectrograms yet: nothing to learn from */
    assert_int_equal(mm_tag_census(cat, 10, &c, &err), MM_OK);
    assert_int_equal(c.songs, 0);
    assert_int_equal(c.learnable, 0);
    assert_int_equal(mm_tags_worth_training(&c, &why), 0);
    assert_int_equal(why, MM_TAGS_TOO_FEW_GENRES);
    mm_catalog_close(cat);

    add_feature_rows(path, 1, N_SONGS);
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    assert_int_equal(mm_tag_census(cat, 10, &c, &err), MM_OK);
    assert_int_equal(c.songs, N_SONGS);
    assert_int_equal(c.tagged, N_SONGS);
    assert_int_equal(c.genres, N_GROUPS);
    assert_int_equal(c.learnable, N_GROUPS); /* 15 songs each */
    assert_int_equal(c.covered, N_SONGS);
    assert_int_equal(mm_tags_worth_training(&c, &why), 1);
    assert_int_equal(why, MM_TAGS_ENOUGH);
    assert_int_equal(mm_tag_census(cat, 16, &c, &err), MM_OK);
    assert_int_equal(c.learnable, 0);
    assert_int_equal(mm_tags_worth_training(&c, NULL), 0);
    assert_int_equal(mm_tag_census(cat, 0, &c, &err), MM_ERR_ARG);
    mm_catalog_close(cat);

    /* tags on a third of the songs: learnable, but a minority's */
    exec_sql(path, "UPDATE tracks SET genre = '' WHERE id > 20");
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    assert_int_equal(mm_tag_census(cat, 5, &c, &err), MM_OK);
    assert_int_equal(c.songs, N_SONGS);
    assert_int_equal(c.tagged, 20);
    assert_int_equal(c.learnable, N_GROUPS);
    assert_int_equal(c.covered, 20);
    assert_int_equal(mm_tags_worth_training(&c, &why), 0);
    assert_int_equal(why, MM_TAGS_MINORITY);
    mm_catalog_close(cat);

    /* the bounds: exactly half is enough; two genres are */
    mm_genre_census half = {.songs = 10, .covered = 5, .learnable = 2};
    assert_int_equal(mm_tags_worth_training(&half, &why), 1);
    half.covered = 4;
    assert_int_equal(mm_tags_worth_training(&half, &why), 0);
    assert_int_equal(why, MM_TAGS_MINORITY);
    half.covered = 10, half.learnable = 1;
    assert_int_equal(mm_tags_worth_training(&half, &why), 0);
    assert_int_equal(why, MM_TAGS_TOO_FEW_GENRES);
}

/* What training refuses before it builds a model, each with a reason; the genre selection behind
 * "fewer than two genres" (normalised names, min_count, the wanted list). */
static void test_train_refusals(void **state)
{
    mm_train_request req;
    mm_train_request_init(&req);
    assert_int_equal(req.size, sizeof req);
    assert_string_equal(req.preset, "crnn4");
    assert_int_equal(req.min_count, 10);
    /* left to the kind of training */
    assert_true(req.batch < 0 && req.patience < 0 && req.lr_decay < 0 && req.augment < 0 && req.train_frac < 0);

    const char *path = make_catalog();
    add_feature_rows(path, 1, N_SONGS);
    mm_catalog *cat;
    mm_error err;
    mm_train_outcome out;
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);

    mm_train_request_init(&req);
    req.min_count = 16;
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    print_message("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "fewer than two genres have 16 or more"));
    assert_int_equal(out.n_classes, 0);
    assert_int_equal(out.tracks_dropped, N_SONGS);
    mm_train_outcome_free(&out);

    static const char *const one[] = {" JAZZ ", "nosuch"};
    req.min_count = 10;
    req.genres = one;
    req.n_genres = 2;
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "fewer than two genres"));
    assert_int_equal(out.n_classes, 1);
    assert_string_equal(out.classes[0], "jazz");
    assert_int_equal(out.tracks_used, N_SONGS / N_GROUPS);
    assert_int_equal(out.tracks_dropped, N_SONGS - N_SONGS / N_GROUPS);
    assert_string_equal(out.source, "tags");
    mm_train_outcome_free(&out);
    assert_null(out.classes);

    mm_train_request_init(&req);
    req.preset = "huge";
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "unknown preset 'huge'"));
    mm_train_request_init(&req);
    req.val_frac = 0; /* a classifier needs validation songs for early stopping */
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    mm_train_request_init(&req);
    req.self_supervised = 1;
    req.batch = 5; /* two views of each song */
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "even batch"));
    req.batch = -1;
    req.genres = one;
    req.n_genres = 1;
    assert_int_equal(mm_pipeline_train(cat, &req, &out, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "without labels"));
    mm_train_outcome_free(&out);
    mm_catalog_close(cat);
}

/* Embedding needs a network: none yet, an unknown name, a map's pseudo-model, a missing file. */
static void test_embed_refusals(void **state)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, make_catalog(), 0, &err), MM_OK);
    mm_embed_request req;
    mm_embed_request_init(&req);
    mm_embed_outcome out;
    assert_int_equal(mm_pipeline_embed(cat, &req, &out, &err), MM_ERR_NOT_FOUND);
    print_message("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "no model yet"));
    req.model = "nosuch";
    assert_int_equal(mm_pipeline_embed(cat, &req, &out, &err), MM_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no model named 'nosuch'"));
    req.batch = 0;
    assert_int_equal(mm_pipeline_embed(cat, &req, &out, &err), MM_ERR_ARG);

    mm_layout_spec pca;
    mm_layout_spec_init(&pca);
    pca.method = MM_LAYOUT_PCA;
    mm_map_request map;
    mm_map_request_init(&map);
    map.spec = &pca;
    mm_map_result r;
    assert_int_equal(mm_map_make(cat, &map, &r, &err), MM_OK); /* registers "descriptors" */
    mm_embed_request_init(&req);
    req.model = "descriptors";
    assert_int_equal(mm_pipeline_embed(cat, &req, &out, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "not a network"));

    char *classes[2] = {"a", "b"};
    mm_model_record gone = {.name = "gone", .file = "/nonexistent/gone.mmm", .architecture = "small",
                            .n_classes = 2, .classes = classes, .embedding_dim = 32};
    int64_t id;
    assert_int_equal(mm_catalog_put_model(cat, &gone, &id, &err), MM_OK);
    req.model = "gone";
    assert_int_not_equal(mm_pipeline_embed(cat, &req, &out, &err), MM_OK);
    assert_non_null(strstr(err.msg, "gone.mmm"));
    mm_catalog_close(cat);
}

typedef struct run_seen {
    char log[8192];
    int steps[8];
    int n_steps;
} run_seen;

static void capture_log(mm_log_level level, const char *message, void *user)
{
    run_seen *seen = user;
    size_t n = strlen(seen->log);
    snprintf(seen->log + n, sizeof seen->log - n, "%s\n", message);
}

static void capture_step(mm_run_step step, const mm_run_outcome *so_far, void *user)
{
    run_seen *seen = user;
    if (seen->n_steps < 8)
        seen->steps[seen->n_steps++] = (int)step;
    if (step == MM_RUN_MAPPED)
        assert_true(so_far->n_maps >= 1 && so_far->maps[so_far->n_maps - 1].n == N_SONGS - 2);
}

/* run without folders on a catalog whose tags don't make a model worth training: it says why, trains
 * and embeds nothing, and makes the three maps of the descriptors, reporting each. */
static void test_run_without_model(void **state)
{
    const char *path = make_catalog();
    add_feature_rows(path, 1, N_SONGS);
    exec_sql(path, "UPDATE tracks SET genre = '' WHERE id > 20");
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    run_seen seen;
    memset(&seen, 0, sizeof seen);
    mm_logger log = {.level = MM_LOG_INFO, .callback = capture_log, .user = &seen};
    mm_run_request req;
    mm_run_request_init(&req);
    assert_string_equal(req.preset, "small");
    req.min_count = 5;
    req.threads = 1;
    req.log = &log;
    req.step = capture_step;
    req.user = &seen;
    mm_run_outcome out;
    assert_int_equal(mm_pipeline_run(cat, &req, &out, &err), MM_OK);
    print_message("%s", seen.log);
    assert_int_equal(out.verdict, MM_TAGS_MINORITY);
    assert_int_equal(out.tags.covered, 20);
    assert_false(out.trained);
    assert_false(out.have_model);
    assert_false(out.embedded);
    assert_int_equal(out.features, MM_VECTORS_DESCRIPTORS);
    assert_int_equal(out.n_maps, MM_RUN_MAPS);
    assert_int_equal(out.maps[0].params.method, MM_LAYOUT_UMAP);
    assert_int_equal(out.maps[1].params.method, MM_LAYOUT_TSNE);
    assert_int_equal(out.maps[2].params.method, MM_LAYOUT_PCA);
    assert_string_equal(out.maps[2].name, "pca-descriptors");
    assert_int_equal(seen.n_steps, 3); /* no folders: no scan step */
    for (int i = 0; i < 3; i++)
        assert_int_equal(seen.steps[i], MM_RUN_MAPPED);
    assert_non_null(strstr(seen.log, "only 20 of 60 songs carry one of the 4 genre tags"));
    assert_non_null(strstr(seen.log, "the maps are made from the songs' audio descriptors"));
    mm_run_outcome_free(&out);

    mm_run_request_init(&req);
    req.preset = "huge";
    assert_int_equal(mm_pipeline_run(cat, &req, &out, &err), MM_ERR_ARG);
    assert_int_equal(out.n_maps, 0);
    mm_catalog_close(cat);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_descriptor_vectors_and_nearest),
        cmocka_unit_test(test_map_make),
        cmocka_unit_test(test_layout_extend_twins),
        cmocka_unit_test(test_map_grows),
        cmocka_unit_test(test_map_grow_limit),
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_model_vectors),
        cmocka_unit_test(test_params_text),
        cmocka_unit_test(test_tag_census),
        cmocka_unit_test(test_train_refusals),
        cmocka_unit_test(test_embed_refusals),
        cmocka_unit_test(test_run_without_model),
    };
    return tu_main(argc, argv, "pipeline", tests, TU_COUNT(tests), NULL, 0);
}
