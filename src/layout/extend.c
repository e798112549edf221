/* New points on an existing layout: the old points stay where they are (a user's familiar map). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

/* PCA's transform: the old points' principal axes, and the affine map from their scores to the stored
 * y_old. With unchanged vectors the fit is exact (the map is the same projection, normalised); when
 * the vectors moved a little (new standardisation statistics) it is the closest such map. */
static mm_status extend_pca(const float *x_old, size_t n_old, size_t d, const float *y_old, const float *x_new,
                            size_t n_new, const mm_layout_spec *spec, float *y_new, mm_error *err)
{
    const int k = spec->dims;
    const float *px_old = NULL, *px_new = NULL;
    float *own_old = NULL, *own_new = NULL, *scores = NULL, *comp = NULL, *mean = NULL;
    double *a = NULL, *b = NULL;
    mm_status st = layout_prepare(x_old, n_old, d, spec->metric, &px_old, &own_old, err);
    if (st == MM_OK)
        st = layout_prepare(x_new, n_new, d, spec->metric, &px_new, &own_new, err);
    if (st != MM_OK)
        goto done;
    scores = malloc(sizeof(float) * n_old * (size_t)k);
    comp = malloc(sizeof(float) * (size_t)k * d);
    mean = malloc(sizeof(float) * d);
    a = malloc(sizeof(double) * n_old * (size_t)(k + 1));
    b = malloc(sizeof(double) * n_old * (size_t)k);
    if (!scores || !comp || !mean || !a || !b) {
        st = mm_error_set(err, MM_ERR_NOMEM, "pca transform: out of memory for %zu points", n_old);
        goto done;
    }
    if ((st = mm_pca(px_old, n_old, d, k, scores, comp, mean, NULL, spec->threads, err)) != MM_OK)
        goto done;
    /* least squares: [scores 1] A = y_old, one right-hand side per axis */
    for (size_t i = 0; i < n_old; i++) {
        for (int j = 0; j < k; j++) {
            a[i * (size_t)(k + 1) + (size_t)j] = scores[i * (size_t)k + (size_t)j];
            b[i * (size_t)k + (size_t)j] = y_old[i * (size_t)k + (size_t)j];
        }
        a[i * (size_t)(k + 1) + (size_t)k] = 1.0;
    }
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)n_old, k + 1, k, a, k + 1, b, k);
    if (info != 0) {
        st = mm_error_set(err, MM_ERR_INTERNAL, "pca transform: the least-squares fit failed (%d)", (int)info);
        goto done;
    }
    /* b's first k + 1 rows are A */
    for (size_t i = 0; i < n_new; i++) {
        double s[3] = {0, 0, 0};
        const float *row = px_new + i * d;
        for (int j = 0; j < k; j++) {
            double acc = 0;
            for (size_t c = 0; c < d; c++)
                acc += ((double)row[c] - mean[c]) * comp[(size_t)j * d + c];
            s[j] = acc;
        }
        for (int out = 0; out < k; out++) {
            double v = b[(size_t)k * (size_t)k + (size_t)out];
            for (int j = 0; j < k; j++)
                v += s[j] * b[(size_t)j * (size_t)k + (size_t)out];
            y_new[i * (size_t)k + (size_t)out] = (float)v;
        }
    }
done:
    free(own_old);
    free(own_new);
    free(scores);
    free(comp);
    free(mean);
    free(a);
    free(b);
    return st;
}

mm_status mm_layout_extend(const float *x_old, size_t n_old, size_t d, const float *y_old, const float *x_new,
                           size_t n_new, const mm_layout_spec *given, float *y_new, mm_error *err)
{
    if (!given)
        return mm_error_set(err, MM_ERR_ARG, "layout: no spec");
    const mm_layout_spec spec = layout_spec_read(given);
    if (spec.dims != 2 && spec.dims != 3)
        return mm_error_set(err, MM_ERR_ARG, "layout: a map has 2 or 3 dimensions, not %d", spec.dims);
    if (n_new == 0)
        return MM_OK;
    if (!x_old || !y_old || !x_new || !y_new || d == 0 || n_old < (size_t)spec.dims + 2)
        return mm_error_set(err, MM_ERR_ARG, "layout: placing new points needs a map of at least %d points",
                            spec.dims + 2);
    mm_status st = mm_layout_check_finite(x_old, n_old, d, "layout: old points", err);
    if (st == MM_OK)
        st = mm_layout_check_finite(x_new, n_new, d, "layout: new points", err);
    if (st != MM_OK)
        return st;
    switch (spec.method) {
    case MM_LAYOUT_PCA:
        return extend_pca(x_old, n_old, d, y_old, x_new, n_new, &spec, y_new, err);
    case MM_LAYOUT_TSNE: {
        mm_tsne_options o;
        layout_tsne_options(&spec, &o);
        return mm_tsne_transform(x_old, n_old, d, y_old, x_new, n_new, &o, y_new, err);
    }
    case MM_LAYOUT_UMAP: {
        mm_umap_options o;
        layout_umap_options(&spec, &o);
        return mm_umap_transform(x_old, n_old, d, y_old, x_new, n_new, &o, y_new, err);
    }
    }
    return mm_error_set(err, MM_ERR_ARG, "layout: unknown method %d", (int)spec.method);
}
