/* Feature vectors that have no model behind them, shared by map and evaluate. */
#include <stdlib.h>

#include "musicmap/features.h"
#include "musicmap/layout.h"
#include "vectors.h"

/* The mel baseline's input: every ok track with features, pooled over time, reduced by PCA. */
mm_status mm_cli_mel_vectors(mm_catalog *cat, int threads, int64_t **ids, size_t *n, float **x, int *d, mm_error *err)
{
    mm_status st = mm_catalog_feature_ids(cat, ids, n, err);
    if (st != MM_OK)
        return st;
    const int pooled_frames = MM_N_FRAMES / MEL_POOL, dim = MM_N_MELS * pooled_frames;
    float *pooled = malloc(sizeof(float) * (size_t)dim * (*n ? *n : 1));
    float *logmel = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    if (!pooled || !logmel) {
        free(pooled);
        free(logmel);
        return mm_error_set(err, MM_ERR_NOMEM, "mel baseline: out of memory for %zu tracks", *n);
    }
    for (size_t i = 0; i < *n && st == MM_OK; i++) {
        st = mm_catalog_read_features(cat, (*ids)[i], logmel, err);
        for (int m = 0; st == MM_OK && m < MM_N_MELS; m++)
            for (int b = 0; b < pooled_frames; b++) {
                float s = 0;
                for (int t = 0; t < MEL_POOL; t++)
                    s += logmel[m * MM_N_FRAMES + b * MEL_POOL + t];
                pooled[i * (size_t)dim + (size_t)(m * pooled_frames + b)] = s / MEL_POOL;
            }
    }
    free(logmel);
    int k = (int)(*n < MEL_PCA_DIMS ? *n : MEL_PCA_DIMS);
    float *reduced = st == MM_OK ? malloc(sizeof(float) * (size_t)k * (*n ? *n : 1)) : NULL;
    if (st == MM_OK && !reduced)
        st = mm_error_set(err, MM_ERR_NOMEM, "mel baseline: out of memory");
    if (st == MM_OK)
        st = mm_pca(pooled, *n, (size_t)dim, k, reduced, NULL, NULL, NULL, threads, err);
    free(pooled);
    if (st != MM_OK) {
        free(reduced);
        return st;
    }
    *x = reduced;
    *d = k;
    return MM_OK;
}

