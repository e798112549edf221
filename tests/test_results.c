/* The catalog's store for later stages: track look-up and search, label sets, models, vectors, maps. */
#include <math.h>
#include <string.h>

#include <sqlite3.h>

#include "musicmap/audio.h"
#include "musicmap/catalog.h"
#include "testutil.h"

typedef struct fixture {
    const char *dir;
    mm_catalog *cat;
    int64_t ids[4];
} fixture;

static const char *const TITLES[4] = {"Blue Train", "Moonlight Sonata", "Train of Thought", "Paranoid"};
static const char *const ARTISTS[4] = {"John Coltrane", "Ludwig van Beethoven", "Reverend Horton Heat", "Motörhead & Mötley Crüe"};

static int collect_ids(const mm_track *t, void *user)
{
    fixture *f = user;
    for (int i = 0; i < 4; i++)
        if (strcmp(t->title, TITLES[i]) == 0)
            f->ids[i] = t->id;
    return 0;
}

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.dir = tu_temp_dir();
    char path[600];
    float *pcm = malloc(sizeof(float) * 12000 * 3);
    for (int i = 0; i < 12000 * 3; i++)
        pcm[i] = 0.2f * sinf((float)i * 0.05f);
    for (int i = 0; i < 4; i++) {
        mm_audio_tags tags = {0};
        snprintf(tags.title, sizeof tags.title, "%s", TITLES[i]);
        snprintf(tags.artist, sizeof tags.artist, "%s", ARTISTS[i]);
        snprintf(tags.album, sizeof tags.album, "Album %d", i);
        snprintf(tags.genre, sizeof tags.genre, "%s", i == 3 ? "Metal" : "Jazz");
        mm_audio_write_options opt = {.tags = &tags};
        snprintf(path, sizeof path, "%s/song%d.wav", f.dir, i);
        pcm[i] = 0.5f; /* distinct content, so the files are not seen as moved copies */
        assert_int_equal(mm_audio_write(path, pcm, 12000 * 3, 1, 12000, &opt, NULL), MM_OK);
    }
    free(pcm);
    snprintf(path, sizeof path, "%s/lib.db", f.dir);
    mm_error err;
    if (mm_catalog_open(&f.cat, path, MM_CATALOG_CREATE, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_scan_options opt = {.jobs = 1};
    mm_scan_result res;
    const char *roots[1] = {f.dir};
    assert_int_equal(mm_catalog_scan(f.cat, roots, 1, &opt, &res, &err), MM_OK);
    assert_int_equal(res.added, 4);
    /* the scan stores each track's folded tags with them (schema 6), so search need not fold them */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM tracks WHERE search_title IS NULL"
                                            " OR search_title IS NOT lower(title) OR search_text IS NOT"
                                            " replace(replace(lower(artist), 'ö', 'o'), 'ü', 'u') || char(10) || lower(album)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(mm_catalog_each_track(f.cat, MM_TRACK_OK, collect_ids, &f, &err), MM_OK);
    for (int i = 0; i < 4; i++)
        assert_true(f.ids[i] > 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mm_catalog_close(f->cat);
    return 0;
}

typedef struct seen {
    char titles[8][64];
    int n;
} seen;

static int remember(const mm_track *t, void *user)
{
    seen *s = user;
    if (s->n < 8)
        snprintf(s->titles[s->n++], 64, "%s", t->title);
    return 0;
}

static void test_get_track_and_search(void **state)
{
    fixture *f = *state;
    seen s = {0};
    mm_error err;
    assert_int_equal(mm_catalog_get_track(f->cat, f->ids[1], remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.titles[0], "Moonlight Sonata");
    assert_int_equal(mm_catalog_get_track(f->cat, 999999, remember, &s, &err), MM_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no track 999999"));

    memset(&s, 0, sizeof s);
    assert_int_equal(mm_catalog_search(f->cat, "train", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 2); /* Blue Train, Train of Thought */
    memset(&s, 0, sizeof s);
    assert_int_equal(mm_catalog_search(f->cat, "TRAIN coltrane", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 1); /* every word must match; case-insensitive; artist counts */
    assert_string_equal(s.titles[0], "Blue Train");
    memset(&s, 0, sizeof s);
    assert_int_equal(mm_catalog_search(f->cat, "paranoid", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 1);
    /* folded: accents and case, either side */
    const char *folded[] = {"motorhead", "MOTLEY crue", "MÖTÖRHEAD", "mötley", "CRÜE"};
    for (int i = 0; i < 5; i++) {
        memset(&s, 0, sizeof s);
        assert_int_equal(mm_catalog_search(f->cat, folded[i], 10, remember, &s, &err), MM_OK);
        if (s.n != 1 || strcmp(s.titles[0], "Paranoid") != 0)
            fail_msg("search '%s' found %d tracks", folded[i], s.n);
    }
    memset(&s, 0, sizeof s);
    assert_int_equal(mm_catalog_search(f->cat, "motorheadx", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 0);
    /* SQL and LIKE metacharacters are plain text */
    memset(&s, 0, sizeof s);
    assert_int_equal(mm_catalog_search(f->cat, "%' OR 1=1 --", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(mm_catalog_search(f->cat, "_", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(mm_catalog_search(f->cat, "   ", 10, remember, &s, &err), MM_OK);
    assert_int_equal(s.n, 0);
}

/* The search key: lower case, no accents, whole characters, never longer than its input. */
typedef struct json_out {
    char text[256];
    size_t len;
} json_out;

static void json_append(const void *bytes, size_t n, void *ctx)
{
    json_out *o = ctx;
    assert_true(o->len + n < sizeof o->text);
    memcpy(o->text + o->len, bytes, n);
    o->len += n;
    o->text[o->len] = 0;
}

/* RFC 8259 escapes, UTF-8 kept, invalid bytes and truncated sequences replaced by U+FFFD */
static void test_json_string(void **state)
{
    const char *cases[][2] = {
        {"plain", "\"plain\""},
        {"say \"hi\" \\ bye", "\"say \\\"hi\\\" \\\\ bye\""},
        {"tab\tnl\n\x01\x1f", "\"tab\\u0009nl\\u000a\\u0001\\u001f\""},
        {"Mötley Crüe 日本 🎵", "\"Mötley Crüe 日本 🎵\""},
        {"caf\xe9 \xff", "\"caf\\ufffd \\ufffd\""},
        {"cut \xe6\x97", "\"cut \\ufffd\\ufffd\""},
        {"", "\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_out o = {{0}, 0};
        mm_json_write_string(cases[i][0], json_append, &o);
        assert_string_equal(o.text, cases[i][1]);
    }
}

static void test_text_fold(void **state)
{
    (void)state;
    char out[64];
    const char *cases[][2] = {
        {"Beyoncé", "beyonce"},      {"Ærøskøbing", "aeroskobing"}, {"Straße", "strasse"},
        {"Łódź", "lodz"},            {"Œuvre", "oeuvre"},           {"ДДТ Ёлка", "ддт ёлка"},
        {"ΑΒΓ", "αβγ"},              {"Cafe\xcc\x81", "cafe"},      /* e + combining acute */
        {"bad \xff\xfe bytes", "bad \xff\xfe bytes"},             {"日本 ROCK", "日本 rock"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = mm_text_fold(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(len, strlen(cases[i][1]));
        assert_true(len <= strlen(cases[i][0]));
    }
    /* a small buffer cuts between characters, never inside one */
    assert_int_equal(mm_text_fold("ДДТ", out, 4), 2);
    assert_string_equal(out, "д");
    assert_int_equal(mm_text_fold("Straße", out, 6), 4);
    assert_string_equal(out, "stra");
    assert_int_equal(mm_text_fold("x", out, 1), 0);
    assert_string_equal(out, "");
}

/* The colouring rule: predictions only from a model whose held-out accuracy reaches the bound. */
static void test_colour_rule(void **state)
{
    mm_model_record m = {.metrics = "{\"epochs\": 15, \"test_accuracy\": 0.4167, \"test_loss\": 1.2}"};
    assert_float_equal(mm_model_record_test_accuracy(&m), 0.4167, 1e-9);
    assert_false(mm_model_record_colours_by_prediction(&m));
    m.metrics = "{\"test_accuracy\": 0.8500}";
    assert_true(mm_model_record_colours_by_prediction(&m));
    m.metrics = "{\"test_accuracy\": 0.8499}";
    assert_false(mm_model_record_colours_by_prediction(&m));
    m.metrics = "{\"val_accuracy\": 0.99}"; /* no held-out figure: unknown, so tags */
    assert_true(mm_model_record_test_accuracy(&m) < 0);
    assert_false(mm_model_record_colours_by_prediction(&m));
    m.metrics = "{\"test_accuracy\": nope}";
    assert_true(mm_model_record_test_accuracy(&m) < 0);
    m.metrics = NULL;
    assert_true(mm_model_record_test_accuracy(&m) < 0);
    assert_true(mm_model_record_test_accuracy(NULL) < 0);
}

static void test_models_vectors_maps(void **state)
{
    fixture *f = *state;
    mm_error err;
    const char *labels[4] = {"jazz", "classical", "jazz", "metal"};
    const char *splits[4] = {"train", "train", "val", "test"};
    int64_t set = 0;
    assert_int_equal(mm_catalog_put_labels(f->cat, "genres", "tags", 4, f->ids, labels, splits, &set, &err), MM_OK);
    assert_true(set > 0);
    int64_t again = 0;
    assert_int_equal(mm_catalog_put_labels(f->cat, "genres", "tags", 2, f->ids, labels, NULL, &again, &err), MM_OK);
    assert_int_equal(again, set); /* replaced, same set */

    mm_model_record none;
    assert_int_equal(mm_catalog_get_model(f->cat, NULL, &none, &err), MM_ERR_NOT_FOUND);
    char *classes[3] = {"classical", "jazz", "metal \"heavy\""};
    mm_model_record rec = {.name = "m1", .file = "/x/m1.mmm", .architecture = "small", .label_set = set,
                           .n_classes = 3, .classes = classes, .embedding_dim = 2, .metrics = "{\"a\": 1}"};
    int64_t m1 = 0;
    assert_int_equal(mm_catalog_put_model(f->cat, &rec, &m1, &err), MM_OK);
    mm_model_record got;
    assert_int_equal(mm_catalog_get_model(f->cat, "m1", &got, &err), MM_OK);
    assert_int_equal(got.id, m1);
    assert_int_equal(got.n_classes, 3);
    assert_string_equal(got.classes[2], "metal \"heavy\"");
    assert_string_equal(got.architecture, "small");
    assert_int_equal(got.embedding_dim, 2);
    mm_model_record_free(&got);
    assert_int_equal(mm_catalog_get_model(f->cat, "nope", &got, &err), MM_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no model named 'nope'"));

    int64_t *need;
    size_t n_need;
    assert_int_equal(mm_catalog_tracks_needing_vectors(f->cat, m1, &need, &n_need, &err), MM_OK);
    assert_int_equal(n_need, 4);
    free(need);
    float probs[4 * 3], emb[4 * 2];
    for (int i = 0; i < 12; i++)
        probs[i] = (float)i / 12.0f;
    for (int i = 0; i < 8; i++)
        emb[i] = (float)-i;
    assert_int_equal(mm_catalog_put_vectors(f->cat, m1, 3, f->ids, probs, 3, emb, 2, &err), MM_OK);
    assert_int_equal(mm_catalog_tracks_needing_vectors(f->cat, m1, &need, &n_need, &err), MM_OK);
    assert_int_equal(n_need, 1);
    assert_int_equal(need[0], f->ids[3]);
    free(need);
    size_t n;
    int64_t *ids;
    float *p, *e;
    int k, dim;
    assert_int_equal(mm_catalog_get_vectors(f->cat, m1, &n, &ids, &p, &k, &e, &dim, &err), MM_OK);
    assert_int_equal(n, 3);
    assert_int_equal(k, 3);
    assert_int_equal(dim, 2);
    for (size_t i = 0; i < n; i++) {
        int j = ids[i] == f->ids[0] ? 0 : ids[i] == f->ids[1] ? 1 : 2;
        assert_memory_equal(p + i * 3, probs + j * 3, sizeof(float) * 3);
        assert_memory_equal(e + i * 2, emb + j * 2, sizeof(float) * 2);
    }
    free(ids);
    free(p);
    free(e);

    float coords[4 * 2] = {0, 0, 1, 1, 2, 4, -1, 3};
    mm_map_record map = {.name = "umap-2d", .model_id = m1, .source = "probs", .method = "umap", .dims = 2,
                         .params = "{\"n_neighbors\": 15}"};
    int64_t map_id = 0;
    assert_int_equal(mm_catalog_put_map(f->cat, &map, 4, f->ids, coords, &map_id, &err), MM_OK);
    map.dims = 4;
    assert_int_equal(mm_catalog_put_map(f->cat, &map, 4, f->ids, coords, NULL, &err), MM_ERR_ARG);
    map.dims = 2;
    mm_map_record *maps;
    size_t n_maps;
    assert_int_equal(mm_catalog_list_maps(f->cat, &maps, &n_maps, &err), MM_OK);
    assert_int_equal(n_maps, 1);
    assert_string_equal(maps[0].method, "umap");
    assert_int_equal(maps[0].n_points, 4);
    assert_string_equal(maps[0].params, "{\"n_neighbors\": 15}");
    mm_map_records_free(maps, n_maps);
    float *c;
    int dims;
    assert_int_equal(mm_catalog_get_map_points(f->cat, map_id, &n, &ids, &c, &dims, &err), MM_OK);
    assert_int_equal(n, 4);
    assert_int_equal(dims, 2);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++)
            if (ids[i] == f->ids[j])
                assert_memory_equal(c + i * 2, coords + j * 2, sizeof(float) * 2);
    free(ids);
    free(c);
    assert_int_equal(mm_catalog_get_map_points(f->cat, 12345, &n, &ids, &c, &dims, &err), MM_ERR_NOT_FOUND);

    /* re-registering the model (new weights) drops its vectors and maps */
    assert_int_equal(mm_catalog_put_model(f->cat, &rec, &m1, &err), MM_OK);
    assert_int_equal(mm_catalog_tracks_needing_vectors(f->cat, m1, &need, &n_need, &err), MM_OK);
    assert_int_equal(n_need, 4);
    free(need);
    assert_int_equal(mm_catalog_list_maps(f->cat, &maps, &n_maps, &err), MM_OK);
    assert_int_equal(n_maps, 0);
    mm_map_records_free(maps, n_maps);
    /* the newest model is the default */
    rec.name = "m2";
    int64_t m2;
    assert_int_equal(mm_catalog_put_model(f->cat, &rec, &m2, &err), MM_OK);
    assert_int_equal(mm_catalog_get_model(f->cat, NULL, &got, &err), MM_OK);
    assert_int_equal(got.id, m2);
    mm_model_record_free(&got);
}

int main(void)
{
    mm_audio_set_library_logging(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_fold),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_get_track_and_search),
        cmocka_unit_test(test_models_vectors_maps),
        cmocka_unit_test(test_colour_rule),
    };
    return cmocka_run_group_tests_name("catalog results", tests, setup, teardown);
}
