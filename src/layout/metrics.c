/* Layout quality: trustworthiness (Venna & Kaski 2001, as scikit-learn), k-NN preservation and k-NN label
 * agreement in the layout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

void mm_quality_options_init(mm_quality_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->k = 10;
    opt->metric = MM_METRIC_EUCLIDEAN;
    opt->sample = 5000;
    opt->query_sample = 2000;
    opt->seed = 42;
}

typedef struct trust_job {
    const float *px, *y;
    size_t n, d;
    int dims, k;
    double *penalty; /* per point */
    int failed;
} trust_job;

static void trust_row(size_t i, int worker, void *arg)
{
    trust_job *job = arg;
    size_t n = job->n, d = job->d;
    int k = job->k, D = job->dims;
    float ld[64];
    int32_t li[64];
    int have = 0;
    const float *yi = job->y + i * (size_t)D;
    /* the k nearest in the layout (insertion into a short sorted list; ties by index) */
    for (size_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        float dd = layout_sqdist(yi, job->y + j * (size_t)D, (size_t)D);
        if (have == k && dd >= ld[k - 1])
            continue;
        int pos = have < k ? have++ : k - 1;
        while (pos > 0 && ld[pos - 1] > dd) {
            ld[pos] = ld[pos - 1];
            li[pos] = li[pos - 1];
            pos--;
        }
        ld[pos] = dd;
        li[pos] = (int32_t)j;
    }
    /* their ranks in the original space: 1 + how many points are closer (ties by index, as a stable sort) */
    const float *xi = job->px + i * d;
    float hd[64];
    for (int t = 0; t < have; t++)
        hd[t] = layout_sqdist(xi, job->px + (size_t)li[t] * d, d);
    size_t rank[64];
    for (int t = 0; t < have; t++)
        rank[t] = 1;
    for (size_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        float dj = layout_sqdist(xi, job->px + j * d, d);
        for (int t = 0; t < have; t++)
            if (dj < hd[t] || (dj == hd[t] && (int32_t)j < li[t]))
                rank[t]++;
    }
    double pen = 0;
    for (int t = 0; t < have; t++)
        if (rank[t] > (size_t)k)
            pen += (double)(rank[t] - (size_t)k);
    job->penalty[i] = pen;
}

static mm_status trust_prepared(const float *px, size_t n, size_t d, const float *y, int dims, int k,
                                mm_pool *pool, double *out, mm_error *err)
{
    if (k < 1 || k > 64 || (double)k >= (double)n / 2.0)
        return mm_error_set(err, MM_ERR_ARG, "trustworthiness: k = %d needs 1 <= k < n / 2 (n = %zu) and k <= 64", k, n);
    double *pen = malloc(sizeof(double) * n);
    if (!pen)
        return mm_error_set(err, MM_ERR_NOMEM, "trustworthiness: out of memory");
    trust_job job = {px, y, n, d, dims, k, pen, 0};
    mm_pool_for(pool, n, trust_row, &job);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += pen[i];
    free(pen);
    double nn = (double)n;
    *out = 1.0 - 2.0 / (nn * k * (2.0 * nn - 3.0 * k - 1.0)) * s;
    return MM_OK;
}

mm_status mm_trustworthiness(const float *x, size_t n, size_t d, const float *y, int dims, int k,
                             mm_metric metric, int threads, double *out, mm_error *err)
{
    const float *px;
    float *owned;
    mm_pool *pool = NULL;
    mm_status st = layout_prepare(x, n, d, metric, &px, &owned, err);
    if (st != MM_OK)
        return st;
    if ((st = mm_pool_open(&pool, threads, err)) == MM_OK)
        st = trust_prepared(px, n, d, y, dims, k, pool, out, err);
    mm_pool_close(pool);
    free(owned);
    return st;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* m distinct indices of [0, n), sorted; all of them when m >= n. */
static size_t *sample_indices(size_t n, size_t m, uint64_t seed, size_t *got)
{
    if (m >= n)
        m = n;
    size_t *all = malloc(sizeof(size_t) * (n ? n : 1));
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    layout_rng r = layout_rng_make(seed, 29, 0);
    if (m < n)
        for (size_t i = 0; i < m; i++) {
            size_t j = i + (size_t)layout_rng_below(&r, n - i);
            size_t t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
    qsort(all, m, sizeof *all, cmp_size);
    *got = m;
    return all;
}

/* k nearest of each query row (its own index given) among all n, self left out. */
static mm_status knn_of_sample(const float *base, size_t n, size_t d, const size_t *q, size_t m, int k,
                               mm_pool *pool, int32_t *out, mm_error *err)
{
    float *qx = calloc(m * d + 1, sizeof(float));
    int32_t *idx = malloc(sizeof(int32_t) * m * (size_t)(k + 1));
    float *sq = malloc(sizeof(float) * m * (size_t)(k + 1));
    mm_status st = MM_OK;
    if (!qx || !idx || !sq) {
        st = mm_error_set(err, MM_ERR_NOMEM, "quality: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m; i++)
        memcpy(qx + i * d, base + q[i] * d, sizeof(float) * d);
    if ((st = layout_knn_exact_sq(base, n, qx, m, d, k + 1, 0, pool, idx, sq, err)) != MM_OK)
        goto out;
    for (size_t i = 0; i < m; i++) {
        int w = 0;
        for (int t = 0; t <= k && w < k; t++)
            if ((size_t)idx[i * (size_t)(k + 1) + (size_t)t] != q[i])
                out[i * (size_t)k + (size_t)w++] = idx[i * (size_t)(k + 1) + (size_t)t];
    }
out:
    free(qx), free(idx), free(sq);
    return st;
}

mm_status mm_layout_quality_compute(const float *x, size_t n, size_t d, const float *y, int dims,
                                    const int32_t *labels, const mm_quality_options *opt_in,
                                    mm_layout_quality *out, mm_error *err)
{
    mm_quality_options opt;
    mm_quality_options_init(&opt);
    util_options_copy(&opt, sizeof opt, opt_in, UTIL_OPTIONS_END(mm_quality_options, seed));
    out->trustworthiness = out->knn_preservation = out->label_agreement = NAN;
    int k = opt.k;
    if (!x || !y || n == 0 || d == 0 || dims < 1 || dims > 3)
        return mm_error_set(err, MM_ERR_ARG, "quality: no data");
    if (k < 1 || (size_t)k + 1 >= n)
        return mm_error_set(err, MM_ERR_ARG, "quality: k = %d needs more than %d points; there are %zu", k, k + 1, n);
    const float *px;
    float *owned = NULL, *sx = NULL, *sy = NULL;
    size_t *samp = NULL, *qs = NULL;
    int32_t *hi = NULL, *lo = NULL;
    mm_pool *pool = NULL;
    mm_status st = layout_prepare(x, n, d, opt.metric, &px, &owned, err);
    if (st != MM_OK)
        return st;
    if ((st = mm_pool_open(&pool, opt.threads, err)) != MM_OK)
        goto out;
    /* trustworthiness on a sample (the sample is the whole data set for it) */
    size_t m;
    if (!(samp = sample_indices(n, opt.sample ? opt.sample : n, opt.seed, &m))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "quality: out of memory");
        goto out;
    }
    sx = malloc(sizeof(float) * m * d);
    sy = malloc(sizeof(float) * m * (size_t)dims);
    if (!sx || !sy) {
        st = mm_error_set(err, MM_ERR_NOMEM, "quality: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m; i++) {
        memcpy(sx + i * d, px + samp[i] * d, sizeof(float) * d);
        memcpy(sy + i * (size_t)dims, y + samp[i] * (size_t)dims, sizeof(float) * (size_t)dims);
    }
    if ((double)k < (double)m / 2.0 && k <= 64)
        if ((st = trust_prepared(sx, m, d, sy, dims, k, pool, &out->trustworthiness, err)) != MM_OK)
            goto out;
    /* neighbour preservation and label agreement: sampled queries against all points */
    size_t mq;
    if (!(qs = sample_indices(n, opt.query_sample ? opt.query_sample : n, opt.seed + 1, &mq))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "quality: out of memory");
        goto out;
    }
    hi = malloc(sizeof(int32_t) * mq * (size_t)k);
    lo = malloc(sizeof(int32_t) * mq * (size_t)k);
    if (!hi || !lo) {
        st = mm_error_set(err, MM_ERR_NOMEM, "quality: out of memory");
        goto out;
    }
    if ((st = knn_of_sample(px, n, d, qs, mq, k, pool, hi, err)) != MM_OK ||
        (st = knn_of_sample(y, n, (size_t)dims, qs, mq, k, pool, lo, err)) != MM_OK)
        goto out;
    out->knn_preservation = mm_knn_recall(lo, hi, mq, k);
    if (labels) {
        size_t same = 0;
        for (size_t i = 0; i < mq; i++)
            for (int t = 0; t < k; t++)
                same += labels[lo[i * (size_t)k + (size_t)t]] == labels[qs[i]];
        out->label_agreement = (double)same / ((double)mq * k);
    }
out:
    mm_pool_close(pool);
    free(owned), free(sx), free(sy), free(samp), free(qs), free(hi), free(lo);
    return st;
}
