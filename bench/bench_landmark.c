/* The layout beyond one machine's full UMAP (docs/scale.md): lay out L landmarks (a seeded random
 * sample) with UMAP, then place every other point with mm_layout_extend in blocks, the way a sharded
 * run would place each shard's songs on the landmark map. Prints the seconds of each part, the peak
 * memory and the trustworthiness (k = 10) of a random subsample of the result.
 *
 * Usage: bench_landmark X.npy L [--threads T] [--block B] [--check N]
 * X.npy: n x d float32 (bench_layout --write softmax10 1000000 X.npy labels.npy makes one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "musicmap/layout.h"
#include "musicmap/util.h"

static void shuffle(size_t *idx, size_t n, mm_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(mm_rng_uniform(rng) * (double)i);
        if (j >= i)
            j = i - 1;
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_landmark X.npy LANDMARKS [--threads T] [--block B] [--check N]\n");
        return 2;
    }
    size_t n_land = strtoul(argv[2], NULL, 10), block = 100000, n_check = 10000;
    int threads = 2;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--block"))
            block = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--check"))
            n_check = strtoul(argv[i + 1], NULL, 10);
    }
    mm_error err;
    mm_npy npy;
    if (mm_npy_read(argv[1], &npy, &err) != MM_OK || npy.dtype != MM_NPY_F32 || npy.ndim != 2) {
        fprintf(stderr, "bench_landmark: %s: %s\n", argv[1], npy.ndim != 2 ? "not n x d float32" : err.msg);
        return 1;
    }
    const size_t n = npy.shape[0], d = npy.shape[1];
    const float *x = npy.data;
    if (n_land == 0 || n_land > n)
        n_land = n;
    size_t *order = malloc(sizeof *order * n);
    float *xl = malloc(sizeof(float) * n_land * d), *xr = malloc(sizeof(float) * n * d);
    float *y = malloc(sizeof(float) * 2 * n);
    if (!order || !xl || !xr || !y)
        return 1;
    mm_rng rng;
    mm_rng_seed(&rng, 7);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    shuffle(order, n, &rng);
    /* the landmarks first, then the rest, both in the shuffled order */
    for (size_t i = 0; i < n; i++)
        memcpy((i < n_land ? xl + i * d : xr + (i - n_land) * d), x + order[i] * d, sizeof(float) * d);
    mm_layout_spec spec;
    mm_layout_spec_init(&spec);
    spec.method = MM_LAYOUT_UMAP;
    spec.threads = threads;
    double t0 = mm_now();
    if (mm_layout_compute(xl, n_land, d, &spec, y, &err) != MM_OK) {
        fprintf(stderr, "bench_landmark: %s\n", err.msg);
        return 1;
    }
    double t_land = mm_now() - t0;
    t0 = mm_now();
    for (size_t at = 0; at < n - n_land; at += block) {
        size_t m = n - n_land - at < block ? n - n_land - at : block;
        if (mm_layout_extend(xl, n_land, d, y, xr + at * d, m, &spec, y + 2 * (n_land + at), &err) != MM_OK) {
            fprintf(stderr, "bench_landmark: %s\n", err.msg);
            return 1;
        }
    }
    double t_extend = mm_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* trustworthiness over a random subsample of all points (landmarks and placed alike) */
    if (n_check > n)
        n_check = n;
    float *xc = malloc(sizeof(float) * n_check * d), *yc = malloc(sizeof(float) * 2 * n_check);
    size_t *pick = malloc(sizeof *pick * n);
    for (size_t i = 0; i < n; i++)
        pick[i] = i;
    shuffle(pick, n, &rng);
    for (size_t i = 0; i < n_check; i++) {
        size_t j = pick[i]; /* position in the landmark-first order */
        memcpy(xc + i * d, j < n_land ? xl + j * d : xr + (j - n_land) * d, sizeof(float) * d);
        memcpy(yc + 2 * i, y + 2 * j, sizeof(float) * 2);
    }
    double trust = 0;
    mm_trustworthiness(xc, n_check, d, yc, 2, 10, MM_METRIC_EUCLIDEAN, threads, &trust, NULL);
    printf("| %zu | %zu | %zu | %.1f | %.1f | %.1f | %.0f | %.3f |\n", n, d, n_land, t_land, t_extend,
           t_extend / (double)(n - n_land > 0 ? n - n_land : 1) * 1e6, (double)ru.ru_maxrss / 1024.0, trust);
    free(xc);
    free(yc);
    free(pick);
    free(order);
    free(xl);
    free(xr);
    free(y);
    mm_npy_free(&npy);
    return 0;
}
