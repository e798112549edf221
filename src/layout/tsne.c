/* t-SNE (van der Maaten & Hinton 2008) with sparse input affinities on the 3 * perplexity nearest
 * neighbours (van der Maaten 2014), exact O(N^2) repulsion for small N and FFT-accelerated interpolation
 * (Linderman et al. 2019) for large N; learning rate N / early exaggeration (Belkina et al. 2019).
 *
 * Gradient convention (as bhtsne and FIt-SNE, without the factor 4): for point i,
 *   g_i = exaggeration * sum_j p_ij w_ij (y_i - y_j) - sum_j w_ij^2 (y_i - y_j) / Z,
 *   w_ij = 1 / (1 + |y_i - y_j|^2),  Z = sum_{k != l} w_kl. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

void mm_tsne_options_init(mm_tsne_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->dims = 2;
    opt->perplexity = 30;
    opt->metric = MM_METRIC_EUCLIDEAN;
    opt->method = MM_TSNE_AUTO;
    opt->exact_max = 1000;
    opt->n_iter = 750;
    opt->early_iter = 250;
    opt->early_exaggeration = 12;
    opt->exaggeration = 1;
    opt->learning_rate = 0;
    opt->momentum = 0.5;
    opt->final_momentum = 0.8;
    opt->init = MM_INIT_PCA;
    opt->knn = MM_KNN_AUTO;
    opt->interp_points = 3;
    opt->min_boxes = 0;
    opt->threads = 0;
    opt->seed = 42;
}

double mm_perplexity_row(const float *d2, int k, double perplexity, float *p, double *beta_out)
{
    if (k <= 0)
        return 0;
    double dmin = d2[0];
    for (int j = 1; j < k; j++)
        dmin = d2[j] < dmin ? d2[j] : dmin;
    /* Shifting by the nearest distance changes nothing in p but keeps exp() away from underflow. */
    double target = log(perplexity), beta = 1, lo = 0, hi = INFINITY, h = 0;
    /* Start from a scale that fits the data: distances of order 1 after scaling. */
    double mean = 0;
    for (int j = 0; j < k; j++)
        mean += d2[j] - dmin;
    mean /= k;
    if (mean > 0)
        beta = 1.0 / mean;
    for (int it = 0; it < 200; it++) {
        double sum = 0, wsum = 0;
        for (int j = 0; j < k; j++) {
            double e = exp(-beta * (d2[j] - dmin));
            p[j] = (float)e;
            sum += e;
            wsum += e * (d2[j] - dmin);
        }
        h = log(sum) + beta * wsum / sum;
        if (fabs(h - target) < 1e-5)
            break;
        if (h > target) {
            lo = beta;
            beta = isinf(hi) ? beta * 2 : 0.5 * (beta + hi);
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    double sum = 0;
    for (int j = 0; j < k; j++) {
        p[j] = (float)exp(-beta * (d2[j] - dmin));
        sum += p[j];
    }
    for (int j = 0; j < k; j++)
        p[j] = (float)(p[j] / sum);
    if (beta_out)
        *beta_out = beta;
    /* entropy of the normalised row as it is returned */
    double ent = 0;
    for (int j = 0; j < k; j++)
        if (p[j] > 0)
            ent -= p[j] * log(p[j]);
    return ent;
}

typedef struct calib_job {
    const float *sq;
    float *p;
    int k;
    double perplexity;
} calib_job;

static void calib_row(size_t i, int worker, void *arg)
{
    calib_job *job = arg;
    size_t k = (size_t)job->k;
    mm_perplexity_row(job->sq + i * k, job->k, job->perplexity, job->p + i * k, NULL);
}

/* ---- gradient pieces ------------------------------------------------------------------------------------- */

typedef struct grad_job {
    const layout_csr *P;
    const float *y;
    size_t n;
    int dims;
    double exag;
    double *attr; /* n x dims */
    double *rep;  /* n x dims: sum w^2 (y_i - y_j) */
    double *zrow; /* n: sum_j w_ij */
    const double *pot;
    const float *dense_p; /* exact mode: n x n P */
    float *soa;           /* exact mode: the layout by axis, dims x n */
} grad_job;

/* Attraction over the sparse P rows lo..hi: float, 2-D specialised so it vectorises (with gathers where
 * the CPU has them). */
LAYOUT_CLONES static void
attr_rows(const size_t *restrict rowptr, const int32_t *restrict col, const float *restrict val,
          const float *restrict y, int D, size_t lo, size_t hi, double *restrict attr)
{
    for (size_t i = lo; i < hi; i++) {
        if (D == 2) {
            float xi = y[2 * i], yi = y[2 * i + 1], ax = 0, ay = 0;
            for (size_t t = rowptr[i]; t < rowptr[i + 1]; t++) {
                size_t j = (size_t)col[t];
                float dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
                float f = val[t] / (1.0f + dx * dx + dy * dy);
                ax += f * dx;
                ay += f * dy;
            }
            attr[2 * i] = ax;
            attr[2 * i + 1] = ay;
        } else {
            double acc[3] = {0, 0, 0};
            for (size_t t = rowptr[i]; t < rowptr[i + 1]; t++) {
                const float *yj = y + (size_t)col[t] * (size_t)D;
                float diff[3], r2 = 0;
                for (int a = 0; a < D; a++) {
                    diff[a] = y[i * (size_t)D + (size_t)a] - yj[a];
                    r2 += diff[a] * diff[a];
                }
                float f = val[t] / (1.0f + r2);
                for (int a = 0; a < D; a++)
                    acc[a] += f * diff[a];
            }
            for (int a = 0; a < D; a++)
                attr[i * (size_t)D + (size_t)a] = acc[a];
        }
    }
}

static void attr_chunk(size_t c, int worker, void *arg)
{
    grad_job *job = arg;
    size_t lo = c * 256, hi = lo + 256 < job->n ? lo + 256 : job->n;
    attr_rows(job->P->rowptr, job->P->col, job->P->val, job->y, job->dims, lo, hi, job->attr);
}

/* Exact mode: attraction (dense P) and repulsion in one pass over all points; the layout by axis so
 * the loop vectorises. The self term adds w = 1 and no force, taken off z after the loop. */
LAYOUT_CLONES static void exact_row(size_t i, int worker, void *arg)
{
    grad_job *job = arg;
    int D = job->dims;
    size_t n = job->n;
    const float *pi = job->dense_p + i * n;
    double ra[3] = {0, 0, 0}, aa[3] = {0, 0, 0};
    float z = 0;
    if (D == 2) {
        const float *X = job->soa, *Y = job->soa + n;
        float xi = X[i], yi = Y[i], rx = 0, ry = 0, ax = 0, ay = 0;
        for (size_t j = 0; j < n; j++) {
            float dx = xi - X[j], dy = yi - Y[j];
            float w = 1.0f / (1.0f + dx * dx + dy * dy);
            float w2 = w * w, pw = pi[j] * w;
            z += w;
            rx += w2 * dx;
            ry += w2 * dy;
            ax += pw * dx;
            ay += pw * dy;
        }
        ra[0] = rx, ra[1] = ry, aa[0] = ax, aa[1] = ay;
    } else {
        for (size_t j = 0; j < n; j++) {
            float df[3], r2 = 0;
            for (int a = 0; a < D; a++) {
                df[a] = job->soa[(size_t)a * n + i] - job->soa[(size_t)a * n + j];
                r2 += df[a] * df[a];
            }
            float w = 1.0f / (1.0f + r2);
            z += w;
            for (int a = 0; a < D; a++) {
                ra[a] += w * w * df[a];
                aa[a] += pi[j] * w * df[a];
            }
        }
    }
    for (int a = 0; a < D; a++) {
        job->rep[i * (size_t)D + (size_t)a] = ra[a];
        job->attr[i * (size_t)D + (size_t)a] = aa[a];
    }
    job->zrow[i] = (double)z - 1.0;
}

/* From the interpolated potentials [sum K, sum K y, sum K |y|^2] (self included) to the repulsion and
 * the row sum of w = 1 / (1 + r^2): w = (1 + r^2) K, r^2 = |y_i|^2 - 2 y_i.y_j + |y_j|^2. */
static void fft_rep_row(size_t i, int worker, void *arg)
{
    grad_job *job = arg;
    int D = job->dims, C = D + 2;
    const float *yi = job->y + i * (size_t)D;
    const double *pt = job->pot + i * (size_t)C;
    double y2 = 0, dot = 0;
    for (int a = 0; a < D; a++) {
        y2 += (double)yi[a] * yi[a];
        dot += (double)yi[a] * pt[1 + a];
        job->rep[i * (size_t)D + (size_t)a] = yi[a] * pt[0] - pt[1 + a];
    }
    job->zrow[i] = (1 + y2) * pt[0] - 2 * dot + pt[C - 1] - 1.0; /* less the self term, w_ii = 1 */
}

static void rows_chunk_exact(size_t c, int worker, void *arg)
{
    grad_job *job = arg;
    size_t lo = c * 16, hi = lo + 16 < job->n ? lo + 16 : job->n;
    for (size_t i = lo; i < hi; i++)
        exact_row(i, worker, arg);
}

static void to_soa(const float *y, size_t n, int D, float *soa)
{
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < D; a++)
            soa[(size_t)a * n + i] = y[i * (size_t)D + (size_t)a];
}

static void rows_chunk_fft(size_t c, int worker, void *arg)
{
    grad_job *job = arg;
    size_t lo = c * 1024, hi = lo + 1024 < job->n ? lo + 1024 : job->n;
    for (size_t i = lo; i < hi; i++)
        fft_rep_row(i, worker, arg);
}

static void bounds(const float *y, size_t n, int D, double *lo, double *hi)
{
    for (int a = 0; a < D; a++) {
        lo[a] = INFINITY;
        hi[a] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < D; a++) {
            double v = y[i * (size_t)D + (size_t)a];
            lo[a] = v < lo[a] ? v : lo[a];
            hi[a] = v > hi[a] ? v : hi[a];
        }
}

static int default_min_boxes(int dims)
{
    return dims == 3 ? 10 : (dims == 2 ? 50 : 100);
}

static mm_status check_common(const mm_tsne_options *opt, const char *what, mm_error *err)
{
    if (opt->dims < 1 || opt->dims > 3)
        return mm_error_set(err, MM_ERR_ARG, "%s: dims must be 1, 2 or 3, not %d", what, opt->dims);
    if (!(opt->perplexity >= 1) || !isfinite(opt->perplexity))
        return mm_error_set(err, MM_ERR_ARG, "%s: perplexity must be at least 1", what);
    if (opt->n_iter < 0 || opt->early_iter < 0)
        return mm_error_set(err, MM_ERR_ARG, "%s: iteration counts must not be negative", what);
    if (opt->interp_points < 2 || opt->interp_points > 8)
        return mm_error_set(err, MM_ERR_ARG, "%s: interp_points must be 2..8", what);
    return MM_OK;
}

mm_status mm_tsne(const float *x, size_t n, size_t d, const mm_tsne_options *opt_in, float *y, double *kl,
                  mm_error *err)
{
    mm_tsne_options opt;
    mm_tsne_options_init(&opt);
    util_options_copy(&opt, sizeof opt, opt_in, UTIL_OPTIONS_END(mm_tsne_options, progress_user));
    if (kl)
        *kl = NAN;
    mm_status st = check_common(&opt, "tsne", err);
    if (st != MM_OK)
        return st;
    if (!x || !y || d == 0)
        return mm_error_set(err, MM_ERR_ARG, "tsne: no data");
    if (n < 4)
        return mm_error_set(err, MM_ERR_ARG, "tsne: needs at least 4 points, got %zu", n);
    if ((st = mm_layout_check_finite(x, n, d, "tsne: input", err)) != MM_OK)
        return st;
    int D = opt.dims;
    /* Documented fallback: a perplexity too large for n is lowered to (n - 1) / 3, so that the 3 *
     * perplexity neighbours exist. */
    double perp = opt.perplexity;
    if (3 * perp > (double)(n - 1))
        perp = (double)(n - 1) / 3.0;
    if (perp < 1)
        perp = 1;
    int exact = opt.method == MM_TSNE_EXACT || (opt.method == MM_TSNE_AUTO && n <= opt.exact_max);
    int k = exact ? (int)(n - 1) : (int)fmin((double)(n - 1), floor(3 * perp));
    if (k < 1)
        k = 1;

    const float *px;
    float *owned = NULL, *sq = NULL, *pc = NULL, *uy = NULL, *gains = NULL;
    int32_t *idx = NULL, *order = NULL;
    double *attr = NULL, *rep = NULL, *zrow = NULL, *pot = NULL;
    layout_csr P = {0};
    mm_pool *pool = NULL;
    layout_fftgrid *grid = NULL;
    if ((st = layout_prepare(x, n, d, opt.metric, &px, &owned, err)) != MM_OK)
        return st;
    /* large inputs in locality order, put back at the end (see layout_order_begin) */
    if ((st = layout_order_begin(&px, &owned, n, d, opt.locality_min ? opt.locality_min : LAYOUT_LOCALITY_MIN, opt.seed, &order, err)) != MM_OK)
        goto out;
    size_t nk = n * (size_t)k;
    sq = malloc(sizeof(float) * nk);
    pc = malloc(sizeof(float) * nk);
    idx = malloc(sizeof(int32_t) * nk);
    uy = calloc(n * (size_t)D, sizeof(float));
    gains = malloc(sizeof(float) * n * (size_t)D);
    attr = malloc(sizeof(double) * n * (size_t)D);
    rep = malloc(sizeof(double) * n * (size_t)D);
    zrow = malloc(sizeof(double) * n);
    if (!sq || !pc || !idx || !uy || !gains || !attr || !rep || !zrow) {
        st = mm_error_set(err, MM_ERR_NOMEM, "tsne: out of memory for %zu points", n);
        goto out;
    }
    if ((st = mm_pool_open(&pool, opt.threads, err)) != MM_OK)
        goto out;
    st = layout_knn_prepared(px, n, d, k, exact ? MM_KNN_EXACT : opt.knn, opt.seed, pool, opt.progress,
                             opt.progress_user, idx, sq, err);
    if (st != MM_OK)
        goto out;
    calib_job cj = {sq, pc, k, perp};
    mm_pool_for(pool, n, calib_row, &cj);
    free(sq);
    sq = NULL;
    if ((st = layout_csr_symmetrize(n, k, idx, pc, LAYOUT_SYM_MEAN, pool, &P, err)) != MM_OK)
        goto out;
    free(pc), free(idx);
    pc = NULL, idx = NULL;
    for (size_t t = 0; t < P.rowptr[n]; t++)
        P.val[t] /= (float)n;
    if (layout_cancelled(opt.progress, opt.progress_user, "affinities", 1, 1)) {
        st = mm_error_set(err, MM_ERR_CANCELLED, "tsne: cancelled");
        goto out;
    }

    /* initial layout */
    int random_init = opt.init == MM_INIT_RANDOM;
    if (opt.init == MM_INIT_GIVEN) {
        if (!opt.init_y) {
            st = mm_error_set(err, MM_ERR_ARG, "tsne: init is 'given' but no initial layout was passed");
            goto out;
        }
        /* checked in the caller's order, so that an error names the caller's row */
        if ((st = mm_layout_check_finite(opt.init_y, n, (size_t)D, "tsne: initial layout", err)) != MM_OK)
            goto out;
        layout_rows_gather(y, opt.init_y, order, n, D);
    } else if (!random_init) {
        if ((st = layout_pca_init(px, n, d, D, 1e-4, opt.threads, y, err)) != MM_OK)
            goto out;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += fabs(y[i * (size_t)D]);
        random_init = !(s > 0); /* all points equal: PCA has no axis */
    }
    if (random_init) {
        for (size_t i = 0; i < n; i++) {
            layout_rng r = layout_rng_make(opt.seed, 7, i);
            for (int a = 0; a < D; a++)
                y[i * (size_t)D + (size_t)a] = (float)(1e-4 * layout_rng_normal(&r));
        }
    }
    for (size_t i = 0; i < n * (size_t)D; i++)
        gains[i] = 1.0f;

    double lr = opt.learning_rate > 0 ? opt.learning_rate : fmax((double)n / opt.early_exaggeration, 200.0);
    if (!exact) {
        if ((st = layout_fftgrid_open(&grid, D, opt.interp_points, opt.min_boxes > 0 ? opt.min_boxes : default_min_boxes(D), err)) != MM_OK)
            goto out;
        if (!(pot = malloc(sizeof(double) * n * (size_t)(D + 2)))) {
            st = mm_error_set(err, MM_ERR_NOMEM, "tsne: out of memory");
            goto out;
        }
    }
    float *dense = NULL, *soa = NULL;
    if (exact) {
        /* small n: P dense, so attraction rides along the all-pairs repulsion loop */
        dense = calloc(n * n, sizeof(float));
        soa = malloc(sizeof(float) * n * (size_t)D);
        if (!dense || !soa) {
            free(dense), free(soa);
            st = mm_error_set(err, MM_ERR_NOMEM, "tsne: out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t t = P.rowptr[i]; t < P.rowptr[i + 1]; t++)
                dense[i * n + (size_t)P.col[t]] = P.val[t];
    }
    grad_job gj = {&P, y, n, D, 1, attr, rep, zrow, pot, dense, soa};
    size_t n_iter = (size_t)opt.n_iter;
    for (size_t it = 0; it < n_iter; it++) {
        int early = it < (size_t)opt.early_iter;
        double exag = early ? opt.early_exaggeration : opt.exaggeration;
        double mom = early ? opt.momentum : opt.final_momentum;
        if (exact) {
            to_soa(y, n, D, soa);
            mm_pool_for(pool, (n + 15) / 16, rows_chunk_exact, &gj);
        } else {
            mm_pool_for(pool, (n + 255) / 256, attr_chunk, &gj);
            double lo[3], hi[3];
            bounds(y, n, D, lo, hi);
            if ((st = layout_fftgrid_compute(grid, y, n, lo, hi, pool, err)) != MM_OK)
                goto out;
            layout_fftgrid_gather(grid, y, n, pot, pool);
            mm_pool_for(pool, (n + 1023) / 1024, rows_chunk_fft, &gj);
        }
        double z = 0;
        for (size_t i = 0; i < n; i++)
            z += zrow[i];
        if (!(z > 1e-300))
            z = 1e-300;
        for (size_t i = 0; i < n * (size_t)D; i++) {
            double g = exag * attr[i] - rep[i] / z;
            /* delta-bar-delta gains (Jacobs 1988), as every t-SNE since the original */
            float gn = (g > 0) != (uy[i] > 0) ? gains[i] + 0.2f : gains[i] * 0.8f;
            gains[i] = gn < 0.01f ? 0.01f : gn;
            uy[i] = (float)(mom * uy[i] - lr * gains[i] * g);
            y[i] += uy[i];
        }
        if ((it + 1) % 50 == 0 || it + 1 == n_iter) {
            if (layout_cancelled(opt.progress, opt.progress_user, "optimize", it + 1, n_iter)) {
                st = mm_error_set(err, MM_ERR_CANCELLED, "tsne: cancelled");
                free(dense), free(soa);
                goto out;
            }
        }
    }
    if (kl && exact) {
        /* KL(P || Q) over the stored P entries (the rest of P is 0). */
        double z = 0;
        to_soa(y, n, D, soa);
        mm_pool_for(pool, (n + 15) / 16, rows_chunk_exact, &gj);
        for (size_t i = 0; i < n; i++)
            z += zrow[i];
        double s = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t t = P.rowptr[i]; t < P.rowptr[i + 1]; t++) {
                double pij = P.val[t];
                if (pij <= 0)
                    continue;
                double r2 = 0;
                for (int a = 0; a < D; a++) {
                    double df = (double)y[i * (size_t)D + (size_t)a] - y[(size_t)P.col[t] * (size_t)D + (size_t)a];
                    r2 += df * df;
                }
                s += pij * log(pij / (1.0 / (1.0 + r2) / z));
            }
        *kl = s;
    }
    free(dense), free(soa);
    for (size_t i = 0; i < n * (size_t)D; i++)
        if (!isfinite(y[i])) {
            size_t row = i / (size_t)D;
            st = mm_error_set(err, MM_ERR_INTERNAL, "tsne: the optimisation diverged (point %zu); try a smaller "
                              "learning rate", order ? (size_t)order[row] : row);
            goto out;
        }
    st = layout_order_end(y, n, D, order, err);
out:
    layout_fftgrid_close(grid);
    mm_pool_close(pool);
    layout_csr_free(&P);
    free(owned), free(sq), free(pc), free(idx), free(uy), free(gains), free(attr), free(rep), free(zrow), free(pot);
    free(order);
    return st;
}

/* ---- new points on a fixed map ------------------------------------------------------------------------------ */

typedef struct place_job {
    const float *y_old;
    const int32_t *idx;
    const float *p;
    int k, D;
    float *yn;
    const double *pot;
    double *grad;
    const double *lo;
    double range;
} place_job;

static void place_grad(size_t i, int worker, void *arg)
{
    place_job *job = arg;
    int D = job->D, C = D + 2, k = job->k;
    const float *yi = job->yn + i * (size_t)D;
    double attr[3] = {0, 0, 0};
    for (int t = 0; t < k; t++) {
        const float *yj = job->y_old + (size_t)job->idx[i * (size_t)k + (size_t)t] * (size_t)D;
        double diff[3], r2 = 0;
        for (int a = 0; a < D; a++) {
            diff[a] = (double)yi[a] - yj[a];
            r2 += diff[a] * diff[a];
        }
        double f = job->p[i * (size_t)k + (size_t)t] / (1.0 + r2);
        for (int a = 0; a < D; a++)
            attr[a] += f * diff[a];
    }
    const double *pt = job->pot + i * (size_t)C;
    double y2 = 0, dot = 0;
    for (int a = 0; a < D; a++) {
        y2 += (double)yi[a] * yi[a];
        dot += (double)yi[a] * pt[1 + a];
    }
    double z = (1 + y2) * pt[0] - 2 * dot + pt[C - 1];
    if (!(z > 1e-300))
        z = 1e-300;
    for (int a = 0; a < D; a++)
        job->grad[i * (size_t)D + (size_t)a] = attr[a] - (yi[a] * pt[0] - pt[1 + a]) / z;
}

mm_status mm_tsne_transform(const float *x_old, size_t n_old, size_t d, const float *y_old,
                            const float *x_new, size_t n_new, const mm_tsne_options *opt_in, float *y_new,
                            mm_error *err)
{
    mm_tsne_options opt;
    mm_tsne_options_init(&opt);
    util_options_copy(&opt, sizeof opt, opt_in, UTIL_OPTIONS_END(mm_tsne_options, progress_user));
    mm_status st = check_common(&opt, "tsne transform", err);
    if (st != MM_OK)
        return st;
    if (!x_old || !y_old || !x_new || !y_new || d == 0 || n_old < 2)
        return mm_error_set(err, MM_ERR_ARG, "tsne transform: needs an existing map of at least 2 points");
    if (n_new == 0)
        return MM_OK;
    if ((st = mm_layout_check_finite(x_new, n_new, d, "tsne transform: new points", err)) != MM_OK)
        return st;
    if ((st = mm_layout_check_finite(y_old, n_old, (size_t)opt.dims, "tsne transform: old layout", err)) != MM_OK)
        return st;
    int D = opt.dims;
    double perp = fmin(opt.perplexity, (double)n_old / 3.0);
    if (perp < 1)
        perp = 1;
    int k = (int)fmin((double)n_old, floor(3 * perp));
    if (k < 1)
        k = 1;
    int32_t *idx = malloc(sizeof(int32_t) * n_new * (size_t)k);
    float *sq = malloc(sizeof(float) * n_new * (size_t)k);
    float *p = malloc(sizeof(float) * n_new * (size_t)k);
    double *pot = malloc(sizeof(double) * n_new * (size_t)(D + 2));
    double *grad = malloc(sizeof(double) * n_new * (size_t)D);
    float *uy = calloc(n_new * (size_t)D, sizeof(float));
    float *gains = malloc(sizeof(float) * n_new * (size_t)D);
    float *tpos = malloc(sizeof(float) * n_new * (size_t)D);
    float *ob = NULL, *oq = NULL;
    const float *pb, *pq;
    mm_pool *pool = NULL;
    layout_fftgrid *grid = NULL;
    if (!idx || !sq || !p || !pot || !grad || !uy || !gains || !tpos) {
        st = mm_error_set(err, MM_ERR_NOMEM, "tsne transform: out of memory");
        goto out;
    }
    if ((st = layout_prepare(x_old, n_old, d, opt.metric, &pb, &ob, err)) != MM_OK ||
        (st = layout_prepare(x_new, n_new, d, opt.metric, &pq, &oq, err)) != MM_OK ||
        (st = mm_pool_open(&pool, opt.threads, err)) != MM_OK)
        goto out;
    if ((st = layout_knn_exact_sq(pb, n_old, pq, n_new, d, k, 0, pool, idx, sq, err)) != MM_OK)
        goto out;
    calib_job cj = {sq, p, k, perp};
    mm_pool_for(pool, n_new, calib_row, &cj);
    /* start at the affinity-weighted mean of the old neighbours */
    for (size_t i = 0; i < n_new; i++)
        for (int a = 0; a < D; a++) {
            double s = 0;
            for (int t = 0; t < k; t++)
                s += (double)p[i * (size_t)k + (size_t)t] * y_old[(size_t)idx[i * (size_t)k + (size_t)t] * (size_t)D + (size_t)a];
            y_new[i * (size_t)D + (size_t)a] = (float)s;
        }
    /* The old points never move: their potential field is computed once, on a grid with a margin so
     * that new points near the edge stay inside it. */
    double lo[3], hi[3], range = 0;
    bounds(y_old, n_old, D, lo, hi);
    for (int a = 0; a < D; a++)
        range = hi[a] - lo[a] > range ? hi[a] - lo[a] : range;
    for (int a = 0; a < D; a++) {
        lo[a] -= 0.1 * range + 1;
        hi[a] += 0.1 * range + 1;
    }
    if ((st = layout_fftgrid_open(&grid, D, opt.interp_points, opt.min_boxes > 0 ? opt.min_boxes : default_min_boxes(D), err)) != MM_OK ||
        (st = layout_fftgrid_compute(grid, y_old, n_old, lo, hi, pool, err)) != MM_OK)
        goto out;
    double glo[3], ghi[3], grange = 0;
    for (int a = 0; a < D; a++)
        grange = hi[a] - lo[a] > grange ? hi[a] - lo[a] : grange;
    for (int a = 0; a < D; a++) {
        double mid = 0.5 * (lo[a] + hi[a]);
        glo[a] = mid - 0.5 * grange;
        ghi[a] = mid + 0.5 * grange;
    }
    for (size_t i = 0; i < n_new * (size_t)D; i++)
        gains[i] = 1;
    place_job pj = {y_old, idx, p, k, D, y_new, pot, grad, glo, grange};
    int iters = 250;
    double lr = opt.learning_rate > 0 ? opt.learning_rate : 1.0;
    for (int it = 0; it < iters; it++) {
        for (size_t i = 0; i < n_new; i++)
            for (int a = 0; a < D; a++) {
                float v = y_new[i * (size_t)D + (size_t)a];
                tpos[i * (size_t)D + (size_t)a] = (float)fmin(fmax(v, glo[a]), ghi[a]);
            }
        layout_fftgrid_gather(grid, tpos, n_new, pot, pool);
        mm_pool_for(pool, n_new, place_grad, &pj);
        double mom = it < 100 ? 0.5 : 0.8;
        for (size_t i = 0; i < n_new * (size_t)D; i++) {
            double g = grad[i];
            float gn = (g > 0) != (uy[i] > 0) ? gains[i] + 0.2f : gains[i] * 0.8f;
            gains[i] = gn < 0.01f ? 0.01f : gn;
            uy[i] = (float)(mom * uy[i] - lr * gains[i] * g);
            y_new[i] += uy[i];
        }
    }
    for (size_t i = 0; i < n_new * (size_t)D; i++)
        if (!isfinite(y_new[i])) {
            st = mm_error_set(err, MM_ERR_INTERNAL, "tsne transform: the optimisation diverged");
            goto out;
        }
out:
    layout_fftgrid_close(grid);
    mm_pool_close(pool);
    free(idx), free(sq), free(p), free(pot), free(grad), free(uy), free(gains), free(tpos), free(ob), free(oq);
    return st;
}
