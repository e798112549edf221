/* Writes Gaussian blobs for reduce's tests: make_blobs VECTORS.npy LABELS.npy N DIMS CLUSTERS SEED.
 * Cluster centres are 6 standard deviations apart on average, so a good layout keeps them apart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "musicmap/util.h"

static double gaussian(mm_rng *rng)
{
    double u = mm_rng_uniform(rng), v = mm_rng_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: make_blobs VECTORS.npy LABELS.npy N DIMS CLUSTERS SEED\n");
        return 2;
    }
    size_t n = strtoul(argv[3], NULL, 10), d = strtoul(argv[4], NULL, 10), k = strtoul(argv[5], NULL, 10);
    if (!n || !d || !k) {
        fprintf(stderr, "make_blobs: N, DIMS and CLUSTERS must be positive\n");
        return 2;
    }
    mm_rng rng;
    mm_rng_seed(&rng, strtoull(argv[6], NULL, 10));
    float *centres = malloc(sizeof(float) * k * d), *x = malloc(sizeof(float) * n * d);
    int32_t *labels = malloc(sizeof(int32_t) * n);
    if (!centres || !x || !labels)
        return 1;
    for (size_t i = 0; i < k * d; i++)
        centres[i] = (float)(6.0 / sqrt(2.0) * gaussian(&rng));
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % k);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = centres[(size_t)labels[i] * d + j] + (float)gaussian(&rng);
    }
    mm_error err;
    size_t shape[2] = {n, d};
    int rc = 0;
    if (mm_npy_write(argv[1], MM_NPY_F32, x, 2, shape, &err) != MM_OK ||
        mm_npy_write(argv[2], MM_NPY_I32, labels, 1, shape, &err) != MM_OK) {
        fprintf(stderr, "make_blobs: %s\n", err.msg);
        rc = 1;
    }
    free(centres), free(x), free(labels);
    return rc;
}
