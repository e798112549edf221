/* bench_grow: is a map grown by placing new songs on it as good as one redrawn with them?
 *
 * From a catalog's song vectors (the descriptors, as `run` maps them), for each method and each growth
 * share g: a seeded random 1 / (1 + g) of the songs is laid out (the map a user has), the rest placed
 * on it with mm_layout_extend (what `map` and `run` do when songs are added), and the grown map's
 * quality compared with a map of all songs drawn anew: trustworthiness (k = 10) and k-NN(10) label
 * agreement on the map. Averaged over several splits (small collections move between runs).
 *
 * Usage: bench_grow --db CATALOG [--labels folders|tags] [--growth 0.1,0.25,0.5] [--splits 5]
 *                   [--methods umap,tsne,pca] [--threads N]
 * Prints a table for bench/RESULTS.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/musicmap.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* labels[i] for v's row i: a small integer per distinct label, -1 unlabelled */
static int load_labels(mm_catalog *cat, const mm_song_vectors *v, mm_label_source src, int32_t *labels)
{
    mm_label_list list = {0};
    mm_error err;
    if (mm_labels_collect(cat, src, NULL, &list, &err) != MM_OK) {
        fprintf(stderr, "bench_grow: %s\n", err.msg);
        return -1;
    }
    char **names = calloc(list.n + 1, sizeof *names);
    int n_names = 0;
    for (size_t i = 0; i < v->n; i++)
        labels[i] = -1;
    for (size_t j = 0; j < list.n; j++) {
        long row = mm_song_vectors_find(v, list.ids[j]);
        if (row < 0)
            continue;
        int k = 0;
        while (k < n_names && strcmp(names[k], list.labels[j]) != 0)
            k++;
        if (k == n_names)
            names[n_names++] = list.labels[j];
        labels[row] = k;
    }
    free(names);
    mm_label_list_free(&list);
    return n_names;
}

static int quality(const float *x, size_t n, int d, const float *y, const int32_t *labels, int threads, double *trust,
                   double *agree)
{
    mm_quality_options qo;
    mm_quality_options_init(&qo);
    qo.threads = threads;
    mm_layout_quality q;
    mm_error err;
    if (mm_layout_quality_compute(x, n, (size_t)d, y, 2, labels, &qo, &q, &err) != MM_OK) {
        fprintf(stderr, "bench_grow: %s\n", err.msg);
        return -1;
    }
    *trust = q.trustworthiness;
    *agree = q.label_agreement;
    return 0;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *labels_name = "folders", *methods_arg = "umap,tsne,pca", *growth_arg = "0.1,0.25,0.5";
    int splits = 5, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0) db = argv[i + 1];
        else if (strcmp(argv[i], "--labels") == 0) labels_name = argv[i + 1];
        else if (strcmp(argv[i], "--methods") == 0) methods_arg = argv[i + 1];
        else if (strcmp(argv[i], "--growth") == 0) growth_arg = argv[i + 1];
        else if (strcmp(argv[i], "--splits") == 0) splits = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_grow: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    mm_label_source src;
    const char *file;
    if (!db || mm_label_source_parse(labels_name, &src, &file) != 0 || splits < 1) {
        fprintf(stderr, "usage: bench_grow --db CATALOG [--labels folders|tags] [--growth 0.1,0.5] [--splits 5]\n");
        return 2;
    }
    mm_catalog *cat;
    mm_error err;
    mm_song_vectors v;
    if (mm_catalog_open(&cat, db, 0, &err) != MM_OK ||
        mm_song_vectors_load(cat, MM_VECTORS_DESCRIPTORS, NULL, threads, &v, &err) != MM_OK) {
        fprintf(stderr, "bench_grow: %s\n", err.msg);
        return 1;
    }
    const size_t n = v.n, d = (size_t)v.dim;
    int32_t *labels = malloc(sizeof(int32_t) * n), *lab_perm = malloc(sizeof(int32_t) * n);
    float *xp = malloc(sizeof(float) * n * d), *y = malloc(sizeof(float) * n * 2);
    size_t *perm = malloc(sizeof(size_t) * n);
    int n_labels = load_labels(cat, &v, src, labels);
    if (n_labels < 0)
        return 1;
    printf("# %s: %zu songs, %d labels (%s), descriptors, %d splits per growth\n", db, n, n_labels, labels_name,
           splits);
    printf("| method | growth | new songs | trustworthiness grown / redrawn | k-NN(10) label agreement grown / redrawn |\n");
    printf("|---|---|---|---|---|\n");
    char methods[128];
    snprintf(methods, sizeof methods, "%s", methods_arg);
    for (char *save = NULL, *m = strtok_r(methods, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        if (mm_layout_method_parse(m, &spec.method) != 0) {
            fprintf(stderr, "bench_grow: unknown method %s\n", m);
            return 2;
        }
        spec.threads = threads;
        char growths[128];
        snprintf(growths, sizeof growths, "%s", growth_arg);
        for (char *save2 = NULL, *g = strtok_r(growths, ",", &save2); g; g = strtok_r(NULL, ",", &save2)) {
            const double share = atof(g);
            const size_t n_old = (size_t)llround((double)n / (1.0 + share)), n_new = n - n_old;
            double tg = 0, tr = 0, ag = 0, ar = 0;
            for (int s = 0; s < splits; s++) {
                uint64_t rng = 1000 + (uint64_t)s;
                for (size_t i = 0; i < n; i++)
                    perm[i] = i;
                for (size_t i = n - 1; i > 0; i--) {
                    size_t j = (size_t)(rng_next(&rng) % (i + 1)), t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                for (size_t i = 0; i < n; i++) {
                    memcpy(xp + i * d, v.x + perm[i] * d, sizeof(float) * d);
                    lab_perm[i] = labels[perm[i]];
                }
                spec.seed = 42 + (uint64_t)s;
                double t1, a1, t2, a2;
                if (mm_layout_compute(xp, n_old, d, &spec, y, &err) != MM_OK ||
                    mm_layout_extend(xp, n_old, d, y, xp + n_old * d, n_new, &spec, y + n_old * 2, &err) != MM_OK) {
                    fprintf(stderr, "bench_grow: %s\n", err.msg);
                    return 1;
                }
                if (quality(xp, n, (int)d, y, n_labels ? lab_perm : NULL, threads, &t1, &a1) != 0)
                    return 1;
                if (mm_layout_compute(xp, n, d, &spec, y, &err) != MM_OK) {
                    fprintf(stderr, "bench_grow: %s\n", err.msg);
                    return 1;
                }
                if (quality(xp, n, (int)d, y, n_labels ? lab_perm : NULL, threads, &t2, &a2) != 0)
                    return 1;
                tg += t1;
                ag += a1;
                tr += t2;
                ar += a2;
            }
            printf("| %s | %.0f %% | %zu | %.3f / %.3f | %.3f / %.3f |\n", m, 100 * share, n_new, tg / splits,
                   tr / splits, ag / splits, ar / splits);
            fflush(stdout);
        }
    }
    free(labels);
    free(lab_perm);
    free(xp);
    free(y);
    free(perm);
    mm_song_vectors_free(&v);
    mm_catalog_close(cat);
    return 0;
}
