/* bench_playlist: how fast and how good the playlists are (docs/playlists.md, bench/RESULTS.md).
 *
 *   bench_playlist speed [--n 1000000] [--dim 299]
 *     synthetic song vectors (clusters with a low-rank spread, like descriptors of albums), the engine
 *     built from them (the approximate index above 50000 songs); times `similar` (20 songs), a 100-song
 *     journey and 100 songs of radio once the vectors are in memory, and the index's recall of the 10
 *     nearest against the exact search.
 *   bench_playlist quality DB tags|folders [--features descriptors|mel|softmax|hidden]
 *     on a catalog: for every song as seed, the share of its 10 similar songs with the seed's label (and
 *     the share a random song has); mixes of two seeds of different labels under each rule (the share of
 *     each seed's label, the smaller of the two); journeys between random pairs (largest and mean step
 *     against the median nearest-neighbour distance); 100 songs of radio (labels visited); and, over all
 *     of them, repeats and artist / album spacing violations (both must be 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/pipeline.h"

static uint64_t rng_state = 12345;
static double uni(void)
{
    return (double)(mm_splitmix64(&rng_state) >> 11) * 0x1.0p-53;
}
static double gauss(void)
{
    double u = uni(), v = uni();
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const mm_error *err)
{
    fprintf(stderr, "bench_playlist: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* ---- speed ----------------------------------------------------------------------------------------- */

static int speed(size_t n, int dim)
{
    const int clusters = 2000, rank = 6;
    mm_song_vectors v = {.kind = MM_VECTORS_DESCRIPTORS, .n = n, .dim = dim};
    v.ids = malloc(sizeof *v.ids * n);
    v.x = malloc(sizeof(float) * n * (size_t)dim);
    float *centre = malloc(sizeof(float) * (size_t)clusters * (size_t)dim);
    float *basis = malloc(sizeof(float) * (size_t)clusters * (size_t)rank * (size_t)dim);
    if (!v.ids || !v.x || !centre || !basis)
        die("out of memory", NULL);
    for (size_t i = 0; i < (size_t)clusters * (size_t)dim; i++)
        centre[i] = (float)(1.5 * gauss());
    for (size_t i = 0; i < (size_t)clusters * (size_t)rank * (size_t)dim; i++)
        basis[i] = (float)(0.25 * gauss());
    double t0 = mm_now();
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(uni() * clusters);
        double z[8];
        for (int r = 0; r < rank; r++)
            z[r] = gauss();
        v.ids[i] = (int64_t)i + 1;
        float *row = v.x + i * (size_t)dim;
        for (int j = 0; j < dim; j++) {
            double s = centre[c * (size_t)dim + (size_t)j] + 0.15 * gauss();
            for (int r = 0; r < rank; r++)
                s += z[r] * basis[(c * (size_t)rank + (size_t)r) * (size_t)dim + (size_t)j];
            row[j] = (float)s;
        }
    }
    free(centre), free(basis);
    printf("data: %zu songs x %d, made in %.1f s\n", n, dim, mm_now() - t0);
    mm_error err;
    mm_playlist_engine *e;
    t0 = mm_now();
    if (mm_playlist_engine_open(NULL, &v, NULL, &e, &err) != MM_OK)
        die("engine", &err);
    printf("engine: %s search, built in %.2f s; nearest-neighbour distance %.3f\n",
           mm_playlist_engine_approximate(e) ? "approximate" : "exact", mm_now() - t0,
           mm_playlist_engine_nn_distance(e));

    enum { RUNS = 50 };
    double times[RUNS];
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    mm_playlist pl;
    size_t found = 0, asked = 0;
    for (int i = 0; i < RUNS; i++) {
        int64_t seed = 1 + (int64_t)(uni() * (double)n);
        q.kind = MM_PLAYLIST_SIMILAR, q.seeds = &seed, q.n_seeds = 1, q.length = 20;
        double t = mm_now();
        if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
            die("similar", &err);
        times[i] = (mm_now() - t) * 1e3;
        if (i < 10) { /* recall of the 10 nearest (no spacing rules: the catalog-free engine has no artists) */
            mm_similar_song near[10];
            size_t m = mm_song_vectors_nearest(&v, (size_t)(seed - 1), 10, near);
            for (size_t a = 0; a < m; a++)
                for (size_t b = 0; b < 10 && b < pl.n; b++)
                    found += near[a].id == pl.songs[b].id;
            asked += m;
        }
        mm_playlist_free(&pl);
    }
    qsort(times, RUNS, sizeof *times, cmp_double);
    printf("similar -n 20: median %.2f ms, worst %.2f ms (%d seeds); recall@10 %.3f\n", times[RUNS / 2],
           times[RUNS - 1], RUNS, (double)found / (double)asked);
    for (int i = 0; i < 5; i++) {
        int64_t ends[2] = {1 + (int64_t)(uni() * (double)n), 1 + (int64_t)(uni() * (double)n)};
        q.kind = MM_PLAYLIST_JOURNEY, q.seeds = ends, q.n_seeds = 2, q.length = 100;
        double t = mm_now();
        if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
            die("journey", &err);
        times[i] = (mm_now() - t) * 1e3;
        printf("journey of 100: %.0f ms, %zu songs, largest step %.2f x the nearest-neighbour distance\n", times[i],
               pl.n, pl.max_step / pl.nn_distance);
        mm_playlist_free(&pl);
    }
    int64_t seed = 1;
    q.kind = MM_PLAYLIST_RADIO, q.seeds = &seed, q.n_seeds = 1, q.length = 100;
    double t = mm_now();
    if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
        die("radio", &err);
    printf("radio, 100 songs: %.0f ms\n", (mm_now() - t) * 1e3);
    mm_playlist_free(&pl);
    mm_playlist_engine_close(e);
    mm_song_vectors_free(&v);
    return 0;
}

/* ---- quality ----------------------------------------------------------------------------------------- */

typedef struct labels {
    const mm_song_vectors *v;
    int *of;      /* per row: label index, -1 none */
    int n_names;
    char **names;
} labels;

static int label_of(const labels *l, int64_t id)
{
    long r = mm_song_vectors_find(l->v, id);
    return r < 0 ? -1 : l->of[r];
}

typedef struct tally {
    size_t songs, repeats, artist_clash, album_clash;
} tally;

/* Repeats and spacing violations in one playlist (seeds among themselves excepted). */
static void audit(const mm_playlist_engine *e, const mm_playlist *pl, const mm_playlist_request *q, tally *t)
{
    for (size_t i = 0; i < pl->n; i++) {
        t->songs++;
        const mm_playlist_song *a = mm_playlist_engine_song(e, pl->songs[i].id);
        for (size_t j = 0; j < i; j++) {
            const mm_playlist_song *b = mm_playlist_engine_song(e, pl->songs[j].id);
            t->repeats += a->id == b->id;
            int seeds = 0;
            for (size_t s = 0; s < q->n_seeds; s++)
                seeds += q->seeds[s] == a->id || q->seeds[s] == b->id;
            if (seeds == 2)
                continue;
            if (i - j < (size_t)q->artist_gap && a->artist[0] && strcasecmp(a->artist, b->artist) == 0)
                t->artist_clash++;
            if (i - j < (size_t)q->album_gap && a->album[0] && strcasecmp(a->album, b->album) == 0)
                t->album_clash++;
        }
    }
}

static int quality(const char *db, const char *source, mm_vector_kind kind)
{
    mm_catalog *cat;
    mm_error err;
    if (mm_catalog_open(&cat, db, 0, &err) != MM_OK)
        die(db, &err);
    mm_song_vectors v;
    if (mm_song_vectors_load(cat, kind, NULL, 0, &v, &err) != MM_OK)
        die("vectors", &err);
    mm_label_source ls;
    const char *file;
    mm_label_list list = {0};
    if (mm_label_source_parse(source, &ls, &file) != 0 || mm_labels_collect(cat, ls, file, &list, &err) != MM_OK)
        die("labels", &err);
    labels l = {.v = &v, .of = malloc(sizeof(int) * v.n), .names = calloc(list.n + 1, sizeof(char *))};
    for (size_t r = 0; r < v.n; r++)
        l.of[r] = -1;
    for (size_t i = 0; i < list.n; i++) {
        long r = mm_song_vectors_find(&v, list.ids[i]);
        if (r < 0)
            continue;
        int k = 0;
        while (k < l.n_names && strcmp(l.names[k], list.labels[i]) != 0)
            k++;
        if (k == l.n_names)
            l.names[l.n_names++] = list.labels[i];
        l.of[r] = k;
    }
    mm_playlist_engine *e;
    if (mm_playlist_engine_open(cat, &v, NULL, &e, &err) != MM_OK)
        die("engine", &err);
    const double nn = mm_playlist_engine_nn_distance(e);
    printf("%s: %zu songs, %s vectors (%d-d), labels from %s (%d), nearest-neighbour distance %.3f\n", db, v.n,
           mm_vector_kind_name(kind), v.dim, source, l.n_names, nn);

    /* the chance level: the share of songs that share a random song's label */
    size_t *count = calloc((size_t)l.n_names + 1, sizeof(size_t)), labelled = 0;
    for (size_t r = 0; r < v.n; r++)
        if (l.of[r] >= 0)
            count[l.of[r]]++, labelled++;
    double chance = 0;
    for (int k = 0; k < l.n_names; k++)
        chance += (double)count[k] * (double)count[k];
    chance /= (double)labelled * (double)labelled;

    mm_playlist_request q;
    mm_playlist_request_init(&q);
    mm_playlist pl;
    tally t = {0};
    /* similar: every labelled song as seed */
    double same = 0;
    size_t seeds = 0;
    for (size_t r = 0; r < v.n; r++) {
        if (l.of[r] < 0)
            continue;
        int64_t seed = v.ids[r];
        q.kind = MM_PLAYLIST_SIMILAR, q.seeds = &seed, q.n_seeds = 1, q.length = 10;
        if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
            die("similar", &err);
        size_t hit = 0;
        for (size_t i = 0; i < pl.n; i++)
            hit += label_of(&l, pl.songs[i].id) == l.of[r];
        same += pl.n ? (double)hit / (double)pl.n : 0;
        seeds++;
        audit(e, &pl, &q, &t);
        mm_playlist_free(&pl);
    }
    printf("| similar (10) | seed's label %.3f (chance %.3f) |\n", same / (double)seeds, chance);

    /* mixes of two seeds of different labels, under each rule */
    for (int rule = MM_MIX_ROUND_ROBIN; rule <= MM_MIX_NEAREST_SEED; rule++) {
        double lo = 0, both = 0;
        int pairs = 0;
        rng_state = 777;
        while (pairs < 100) {
            size_t a = (size_t)(uni() * (double)v.n), b = (size_t)(uni() * (double)v.n);
            if (l.of[a] < 0 || l.of[b] < 0 || l.of[a] == l.of[b])
                continue;
            int64_t s2[2] = {v.ids[a], v.ids[b]};
            q.kind = MM_PLAYLIST_MIX, q.seeds = s2, q.n_seeds = 2, q.length = 10, q.mix = (mm_mix_rule)rule;
            if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
                die("mix", &err);
            size_t ha = 0, hb = 0;
            for (size_t i = 0; i < pl.n; i++) {
                int lab = label_of(&l, pl.songs[i].id);
                ha += lab == l.of[a], hb += lab == l.of[b];
            }
            double fa = pl.n ? (double)ha / (double)pl.n : 0, fb = pl.n ? (double)hb / (double)pl.n : 0;
            lo += fmin(fa, fb), both += fa + fb;
            pairs++;
            audit(e, &pl, &q, &t);
            mm_playlist_free(&pl);
        }
        printf("| mix of 2 (10), %s | each seed's label: the smaller share %.3f, both %.3f |\n",
               mm_mix_rule_name((mm_mix_rule)rule), lo / pairs, both / pairs);
    }

    /* journeys between random pairs */
    double worst = 0, max_sum = 0, mean_sum = 0, direct = 0;
    rng_state = 99;
    for (int j = 0; j < 50; j++) {
        int64_t ends[2] = {v.ids[(size_t)(uni() * (double)v.n)], v.ids[(size_t)(uni() * (double)v.n)]};
        if (ends[0] == ends[1]) {
            j--;
            continue;
        }
        q.kind = MM_PLAYLIST_JOURNEY, q.seeds = ends, q.n_seeds = 2, q.length = 10;
        if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
            die("journey", &err);
        worst = fmax(worst, pl.max_step / nn);
        max_sum += pl.max_step / nn, mean_sum += pl.mean_step / nn;
        double d = 0;
        const float *x = v.x + (size_t)mm_song_vectors_find(&v, ends[0]) * (size_t)v.dim;
        const float *y = v.x + (size_t)mm_song_vectors_find(&v, ends[1]) * (size_t)v.dim;
        for (int c = 0; c < v.dim; c++)
            d += ((double)x[c] - y[c]) * ((double)x[c] - y[c]);
        direct += sqrt(d) / nn;
        audit(e, &pl, &q, &t);
        mm_playlist_free(&pl);
    }
    printf("| journey (10 songs) | largest step %.2f x nn (worst %.2f), mean step %.2f x nn; the ends %.2f x nn "
           "apart |\n",
           max_sum / 50, worst, mean_sum / 50, direct / 50);

    /* radio: labels visited in 100 songs, from 10 seeds */
    double visited = 0, radio_step = 0, radio_max = 0, far = 0;
    for (int s = 0; s < 10; s++) {
        int64_t seed = v.ids[(size_t)s * v.n / 10];
        q.kind = MM_PLAYLIST_RADIO, q.seeds = &seed, q.n_seeds = 1, q.length = v.n > 120 ? 100 : (int)v.n / 2;
        q.seed = (uint64_t)s + 1;
        if (mm_playlist_make(e, &q, &pl, &err) != MM_OK)
            die("radio", &err);
        char *seen = calloc((size_t)l.n_names + 1, 1);
        int distinct = 0;
        for (size_t i = 0; i < pl.n; i++) {
            int lab = label_of(&l, pl.songs[i].id);
            if (lab >= 0 && !seen[lab])
                seen[lab] = 1, distinct++;
            far = fmax(far, pl.songs[i].distance / nn);
        }
        free(seen);
        visited += distinct;
        radio_step += pl.mean_step / nn, radio_max = fmax(radio_max, pl.max_step / nn);
        audit(e, &pl, &q, &t);
        mm_playlist_free(&pl);
    }
    printf("| radio (%d songs) | %.1f of %d labels visited; mean step %.2f x nn (largest %.2f); farthest from the "
           "seed %.2f x nn |\n",
           v.n > 120 ? 100 : (int)v.n / 2, visited / 10, l.n_names, radio_step / 10, radio_max, far);
    printf("| all | %zu songs: %zu repeats, %zu artist and %zu album spacing violations |\n", t.songs, t.repeats,
           t.artist_clash, t.album_clash);
    free(count);
    free(l.of);
    free(l.names);
    mm_label_list_free(&list);
    mm_playlist_engine_close(e);
    mm_song_vectors_free(&v);
    mm_catalog_close(cat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "speed") == 0) {
        size_t n = 1000000;
        int dim = 299;
        for (int i = 2; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--n") == 0)
                n = (size_t)atol(argv[i + 1]);
            else if (strcmp(argv[i], "--dim") == 0)
                dim = atoi(argv[i + 1]);
        }
        return speed(n, dim);
    }
    if (argc >= 4 && strcmp(argv[1], "quality") == 0) {
        mm_vector_kind kind = MM_VECTORS_DESCRIPTORS;
        if (argc >= 6 && strcmp(argv[4], "--features") == 0 && mm_vector_kind_parse(argv[5], &kind) != 0)
            die("unknown --features", NULL);
        return quality(argv[2], argv[3], kind);
    }
    fprintf(stderr, "usage: bench_playlist speed [--n N] [--dim D]\n"
                    "       bench_playlist quality DB tags|folders [--features descriptors|mel|softmax|hidden]\n");
    return 2;
}
