/* PCA: eigenvectors of the covariance (double precision, LAPACK) for moderate d, a randomised SVD
 * (Halko, Martinsson & Tropp 2011, with power iterations) for very wide data such as raw spectrograms. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { PCA_COV_MAX_D = 4096, PCA_BLOCK = 2048, PCA_OVERSAMPLE = 10, PCA_POWER_ITERS = 3 };

/* Sign convention: the largest-magnitude coefficient of each axis is positive, so results do not flip
 * between LAPACK versions. comp is k x d. */
static void fix_signs(float *comp, int k, size_t d, float *scores, size_t n)
{
    for (int c = 0; c < k; c++) {
        float *v = comp + (size_t)c * d;
        size_t best = 0;
        for (size_t j = 1; j < d; j++)
            if (fabsf(v[j]) > fabsf(v[best]))
                best = j;
        if (v[best] < 0) {
            for (size_t j = 0; j < d; j++)
                v[j] = -v[j];
            for (size_t i = 0; i < n; i++)
                scores[i * (size_t)k + (size_t)c] = -scores[i * (size_t)k + (size_t)c];
        }
    }
}

/* scores (n x k) = (x - mean) comp^T, one block of rows at a time so the centred copy stays small. */
static mm_status project(const float *x, size_t n, size_t d, const double *mean, const float *comp, int k,
                         float *scores, mm_error *err)
{
    float *blk = malloc(sizeof(float) * PCA_BLOCK * d);
    if (!blk)
        return mm_error_set(err, MM_ERR_NOMEM, "pca: out of memory");
    for (size_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        size_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++)
                blk[i * d + j] = (float)(x[(r0 + i) * d + j] - mean[j]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, k, (int)d, 1.0f, blk, (int)d, comp,
                    (int)d, 0.0f, scores + r0 * (size_t)k, k);
    }
    free(blk);
    return MM_OK;
}

static mm_status pca_covariance(const float *x, size_t n, size_t d, int kk, const double *mean,
                                float *comp, double *eig, mm_error *err)
{
    double *cov = calloc(d * d, sizeof *cov);
    double *blk = malloc(sizeof(double) * PCA_BLOCK * d);
    double *w = malloc(sizeof(double) * d);
    double *z = malloc(sizeof(double) * d * (size_t)kk);
    lapack_int *isuppz = malloc(sizeof(lapack_int) * 2 * (size_t)kk);
    mm_status st = MM_OK;
    if (!cov || !blk || !w || !z || !isuppz) {
        st = mm_error_set(err, MM_ERR_NOMEM, "pca: out of memory for a %zu x %zu covariance", d, d);
        goto out;
    }
    for (size_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        size_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++)
                blk[i * d + j] = (double)x[(r0 + i) * d + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, blk, (int)d, 1.0, cov, (int)d);
    }
    double denom = n > 1 ? (double)(n - 1) : 1.0;
    for (size_t i = 0; i < d * d; i++)
        cov[i] /= denom;
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)d, cov, (lapack_int)d, 0, 0,
                                     (lapack_int)(d - (size_t)kk + 1), (lapack_int)d, 0.0, &found, w, z,
                                     (lapack_int)kk, isuppz);
    if (info != 0 || found != kk) {
        st = mm_error_set(err, MM_ERR_INTERNAL, "pca: LAPACK dsyevr failed (info %d)", (int)info);
        goto out;
    }
    /* dsyevr returns ascending eigenvalues: reverse to put the largest first. */
    for (int c = 0; c < kk; c++) {
        int src = kk - 1 - c;
        eig[c] = w[src] > 0 ? w[src] : 0;
        for (size_t j = 0; j < d; j++)
            comp[(size_t)c * d + j] = (float)z[j * (size_t)kk + (size_t)src];
    }
out:
    free(cov), free(blk), free(w), free(z), free(isuppz);
    return st;
}

/* Orthonormal basis of the columns of a (rows x cols, row-major) in place. */
static mm_status orthonormalize(float *a, size_t rows, int cols, mm_error *err)
{
    float *tau = malloc(sizeof(float) * (size_t)cols);
    if (!tau)
        return mm_error_set(err, MM_ERR_NOMEM, "pca: out of memory");
    lapack_int info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)rows, cols, a, cols, tau);
    if (info == 0)
        info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)rows, cols, cols, a, cols, tau);
    free(tau);
    return info == 0 ? MM_OK : mm_error_set(err, MM_ERR_INTERNAL, "pca: LAPACK QR failed (info %d)", (int)info);
}

/* out (n x l) = (x - mean) b, b is d x l. */
static void times_right(const float *x, size_t n, size_t d, const float *mean_f, const float *b, int l,
                        float *out, float *tmp_l)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, l, (int)d, 1.0f, x, (int)d, b, l, 0.0f,
                out, l);
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)d, l, 1.0f, b, l, mean_f, 1, 0.0f, tmp_l, 1);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < l; c++)
            out[i * (size_t)l + (size_t)c] -= tmp_l[c];
}

/* out (d x l) = (x - mean)^T q, q is n x l. */
static void times_left(const float *x, size_t n, size_t d, const float *mean_f, const float *q, int l,
                       float *out, float *tmp_l)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, l, (int)n, 1.0f, x, (int)d, q, l, 0.0f, out, l);
    for (int c = 0; c < l; c++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += q[i * (size_t)l + (size_t)c];
        tmp_l[c] = (float)s;
    }
    for (size_t j = 0; j < d; j++)
        for (int c = 0; c < l; c++)
            out[j * (size_t)l + (size_t)c] -= mean_f[j] * tmp_l[c];
}

static mm_status pca_randomized(const float *x, size_t n, size_t d, int kk, const double *mean, float *comp,
                                double *eig, mm_error *err)
{
    int l = kk + PCA_OVERSAMPLE;
    if ((size_t)l > n)
        l = (int)n;
    if ((size_t)l > d)
        l = (int)d;
    float *mean_f = malloc(sizeof(float) * d);
    float *omega = malloc(sizeof(float) * d * (size_t)l);
    float *q = malloc(sizeof(float) * n * (size_t)l);
    float *tmp = malloc(sizeof(float) * (size_t)l);
    double *c = malloc(sizeof(double) * (size_t)l * (size_t)l);
    double *w = malloc(sizeof(double) * (size_t)l);
    mm_status st = MM_OK;
    if (!mean_f || !omega || !q || !tmp || !c || !w) {
        st = mm_error_set(err, MM_ERR_NOMEM, "pca: out of memory for a randomised SVD of %zu x %zu", n, d);
        goto out;
    }
    for (size_t j = 0; j < d; j++)
        mean_f[j] = (float)mean[j];
    layout_rng rng = layout_rng_make(0x5ca1ab1eULL, 1, 0); /* PCA is deterministic: a fixed test matrix */
    for (size_t i = 0; i < d * (size_t)l; i++)
        omega[i] = (float)layout_rng_normal(&rng);
    times_right(x, n, d, mean_f, omega, l, q, tmp);
    if ((st = orthonormalize(q, n, l, err)) != MM_OK)
        goto out;
    for (int it = 0; it < PCA_POWER_ITERS; it++) {
        times_left(x, n, d, mean_f, q, l, omega, tmp);
        if ((st = orthonormalize(omega, d, l, err)) != MM_OK)
            goto out;
        times_right(x, n, d, mean_f, omega, l, q, tmp);
        if ((st = orthonormalize(q, n, l, err)) != MM_OK)
            goto out;
    }
    /* B^T = (x - mean)^T q (d x l); B B^T = its Gram matrix (l x l), whose eigenvectors rotate q's span
     * onto the principal axes. */
    times_left(x, n, d, mean_f, q, l, omega, tmp);
    for (int a = 0; a < l; a++)
        for (int b = 0; b < l; b++) {
            double s = 0;
            for (size_t j = 0; j < d; j++)
                s += (double)omega[j * (size_t)l + (size_t)a] * omega[j * (size_t)l + (size_t)b];
            c[a * l + b] = s;
        }
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', l, c, l, w);
    if (info != 0) {
        st = mm_error_set(err, MM_ERR_INTERNAL, "pca: LAPACK dsyev failed (info %d)", (int)info);
        goto out;
    }
    double denom = n > 1 ? (double)(n - 1) : 1.0;
    for (int cc = 0; cc < kk; cc++) {
        int src = l - 1 - cc;
        double lam = cc < l && w[src] > 0 ? w[src] : 0;
        eig[cc] = lam / denom;
        double inv = lam > 0 ? 1.0 / sqrt(lam) : 0;
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            if (cc < l)
                for (int a = 0; a < l; a++)
                    s += (double)omega[j * (size_t)l + (size_t)a] * c[a * l + src];
            comp[(size_t)cc * d + j] = (float)(s * inv);
        }
    }
out:
    free(mean_f), free(omega), free(q), free(tmp), free(c), free(w);
    return st;
}

mm_status mm_pca(const float *x, size_t n, size_t d, int k, float *out, float *components, float *mean_out,
                 float *variance, int threads, mm_error *err)
{
    (void)threads; /* OpenBLAS runs the products on its own threads */
    if (!x || !out || n == 0 || d == 0 || k < 1)
        return mm_error_set(err, MM_ERR_ARG, "pca: need at least one row, one column and one axis");
    mm_status st = mm_layout_check_finite(x, n, d, "pca: input", err);
    if (st != MM_OK)
        return st;
    int kk = (size_t)k < d ? k : (int)d; /* axes that exist */
    double *mean = calloc(d, sizeof *mean);
    double *eig = calloc((size_t)k, sizeof *eig);
    float *comp = calloc((size_t)k * d, sizeof *comp);
    float *scores = malloc(sizeof(float) * n * (size_t)kk);
    if (!mean || !eig || !comp || !scores) {
        st = mm_error_set(err, MM_ERR_NOMEM, "pca: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    st = d <= PCA_COV_MAX_D ? pca_covariance(x, n, d, kk, mean, comp, eig, err)
                            : pca_randomized(x, n, d, kk, mean, comp, eig, err);
    if (st != MM_OK)
        goto out;
    if ((st = project(x, n, d, mean, comp, kk, scores, err)) != MM_OK)
        goto out;
    fix_signs(comp, kk, d, scores, n);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            out[i * (size_t)k + (size_t)c] = c < kk ? scores[i * (size_t)kk + (size_t)c] : 0.0f;
    if (components)
        memcpy(components, comp, sizeof(float) * (size_t)k * d);
    if (mean_out)
        for (size_t j = 0; j < d; j++)
            mean_out[j] = (float)mean[j];
    if (variance)
        for (int c = 0; c < k; c++)
            variance[c] = (float)eig[c];
out:
    free(mean), free(eig), free(comp), free(scores);
    return st;
}
