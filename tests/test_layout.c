/* layout: PCA, k-NN, t-SNE, UMAP, new points and quality on the original's map input and on data with
 * known structure; bad input. */
#include "testutil.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "musicmap/layout.h"

static uint64_t rng_state = 12345;
static double urand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double nrand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* c well-separated Gaussian clusters of m points in d dimensions. */
static float *clusters(int c, int m, int d, double sep, int32_t *lab)
{
    float *x = malloc(sizeof(float) * (size_t)(c * m * d));
    for (int k = 0; k < c; k++) {
        double centre[64];
        for (int j = 0; j < d; j++)
            centre[j] = sep * nrand();
        for (int i = 0; i < m; i++) {
            lab[k * m + i] = k;
            for (int j = 0; j < d; j++)
                x[(size_t)((k * m + i) * d + j)] = (float)(centre[j] + nrand());
        }
    }
    return x;
}

static void all_finite(const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            fail_msg("value %zu is not finite", i);
}

/* ---- the original system's map input --------------------------------------------------------------- */

typedef struct gtzan {
    float *x;
    int32_t *lab;
    size_t n;
} gtzan;

static gtzan load_gtzan(void)
{
    gtzan g = {0};
    size_t shape[2] = {970, 10};
    g.x = tu_read_npy_f32(tu_ref("layout/gtzan970_softmax.npy"), 2, shape);
    mm_npy lab;
    mm_error err;
    if (mm_npy_read(tu_ref("layout/gtzan970_labels.npy"), &lab, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(lab.dtype, MM_NPY_I32);
    assert_int_equal(lab.count, 970);
    g.lab = lab.data;
    g.n = 970;
    return g;
}

static void check_gtzan(mm_layout_method method, mm_metric metric, double min_agree, double min_trust)
{
    gtzan g = load_gtzan();
    mm_layout_spec spec;
    mm_layout_spec_init(&spec);
    spec.method = method;
    spec.metric = metric;
    spec.threads = 2;
    float *y = malloc(sizeof(float) * g.n * 2);
    mm_error err;
    double t0 = mm_now();
    if (mm_layout_compute(g.x, g.n, 10, &spec, y, &err) != MM_OK)
        fail_msg("%s", err.msg);
    double secs = mm_now() - t0;
    all_finite(y, g.n * 2);
    mm_quality_options qo;
    mm_quality_options_init(&qo);
    qo.metric = metric;
    mm_layout_quality q;
    assert_int_equal(mm_layout_quality_compute(g.x, g.n, 10, y, 2, g.lab, &qo, &q, &err), MM_OK);
    print_message("gtzan970 %s (%s): %.2f s, 10-NN label agreement %.3f, trustworthiness %.4f, 10-NN preservation %.3f\n",
                  mm_layout_method_name(method), mm_metric_name(metric), secs, q.label_agreement,
                  q.trustworthiness, q.knn_preservation);
    if (q.label_agreement < min_agree || q.trustworthiness < min_trust)
        fail_msg("below the bounds %.3f / %.4f", min_agree, min_trust);
    free(y), free(g.x), free(g.lab);
}

/* Anchors (reference/layout/README.md): PCA 0.647 / 0.927, t-SNE 0.810 / 0.9986, UMAP 0.804 / 0.997. */
static void test_gtzan_pca(void **state) { check_gtzan(MM_LAYOUT_PCA, MM_METRIC_EUCLIDEAN, 0.640, 0.920); }
static void test_gtzan_tsne(void **state) { check_gtzan(MM_LAYOUT_TSNE, MM_METRIC_EUCLIDEAN, 0.795, 0.9975); }
static void test_gtzan_umap(void **state) { check_gtzan(MM_LAYOUT_UMAP, MM_METRIC_EUCLIDEAN, 0.785, 0.993); }
/* the original's UMAP metric. Its SGD is deterministic per build, but compiler flags change the float
 * sums: trustworthiness 0.9917 in Release, 0.9895 in the ASan build (RelWithDebInfo); the bound leaves
 * room for such builds and machines, and a broken correlation metric lands far below it. */
static void test_gtzan_umap_correlation(void **state) { check_gtzan(MM_LAYOUT_UMAP, MM_METRIC_CORRELATION, 0.770, 0.985); }

/* ---- PCA --------------------------------------------------------------------------------------------- */

static void test_pca_matches_svd(void **state)
{
    enum { N = 60, D = 7, K = 3 };
    float x[N * D], xc[N * D], s[D], u[N * N], vt[D * D], superb[D];
    for (int i = 0; i < N * D; i++)
        x[i] = (float)(nrand() * (1 + i % D) + 5); /* unequal variances, non-zero mean */
    for (int j = 0; j < D; j++) {
        double m = 0;
        for (int i = 0; i < N; i++)
            m += x[i * D + j];
        m /= N;
        for (int i = 0; i < N; i++)
            xc[i * D + j] = (float)(x[i * D + j] - m);
    }
    assert_int_equal(LAPACKE_sgesvd(LAPACK_ROW_MAJOR, 'A', 'A', N, D, xc, D, s, u, N, vt, D, superb), 0);
    float scores[N * K], comp[K * D], mean[D], var[K];
    mm_error err;
    assert_int_equal(mm_pca(x, N, D, K, scores, comp, mean, var, 1, &err), MM_OK);
    for (int c = 0; c < K; c++) {
        assert_float_equal(var[c], s[c] * s[c] / (N - 1), 1e-3 * s[0] * s[0] / (N - 1));
        /* same axis up to sign */
        double dot = 0;
        for (int j = 0; j < D; j++)
            dot += comp[c * D + j] * vt[c * D + j];
        assert_float_equal(fabs(dot), 1.0, 1e-4);
        for (int i = 0; i < N; i++)
            assert_float_equal(fabs(scores[i * K + c]), fabs(u[i * N + c] * s[c]), 1e-3 * s[0]);
    }
    /* more axes than columns: the extra ones are zero */
    float wide[N * (D + 2)];
    assert_int_equal(mm_pca(x, N, D, D + 2, wide, NULL, NULL, NULL, 1, &err), MM_OK);
    for (int i = 0; i < N; i++)
        assert_true(wide[i * (D + 2) + D] == 0 && wide[i * (D + 2) + D + 1] == 0);
}

/* ---- k-NN ---------------------------------------------------------------------------------------------- */

static void test_knn_exact_and_approx(void **state)
{
    enum { N = 6000, D = 10, K = 15 };
    float *x = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N * D; i++)
        x[i] = (float)nrand();
    int32_t *ex = malloc(sizeof(int32_t) * N * K), *ap = malloc(sizeof(int32_t) * N * K);
    float *dist = malloc(sizeof(float) * N * K);
    mm_knn_options o;
    mm_knn_options_init(&o);
    o.threads = 2;
    o.method = MM_KNN_EXACT;
    mm_error err;
    assert_int_equal(mm_knn(x, N, D, K, &o, ex, dist, &err), MM_OK);
    /* brute force check of a few rows */
    for (int i = 0; i < N; i += 997) {
        for (int t = 1; t < K; t++)
            assert_true(dist[i * K + t] >= dist[i * K + t - 1]);
        float kth = dist[i * K + K - 1];
        int closer = 0;
        for (int j = 0; j < N; j++) {
            if (j == i)
                continue;
            double s = 0;
            for (int q = 0; q < D; q++)
                s += (x[i * D + q] - x[j * D + q]) * (double)(x[i * D + q] - x[j * D + q]);
            closer += sqrt(s) < kth - 1e-4;
        }
        assert_true(closer <= K - 1);
    }
    o.method = MM_KNN_APPROX;
    double t0 = mm_now();
    assert_int_equal(mm_knn(x, N, D, K, &o, ap, NULL, &err), MM_OK);
    double recall = mm_knn_recall(ap, ex, N, K);
    print_message("approximate 15-NN of 6000 random 10-d points: recall %.4f in %.2f s\n", recall, mm_now() - t0);
    assert_true(recall > 0.95);
    free(x), free(ex), free(ap), free(dist);

    /* t-SNE's 90 neighbours take the large-k settings (more trees, short refinement): still most of them */
    enum { K2 = 90 };
    x = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N * D; i++)
        x[i] = (float)nrand();
    ex = malloc(sizeof(int32_t) * N * K2);
    ap = malloc(sizeof(int32_t) * N * K2);
    o.method = MM_KNN_EXACT;
    assert_int_equal(mm_knn(x, N, D, K2, &o, ex, NULL, &err), MM_OK);
    o.method = MM_KNN_APPROX;
    t0 = mm_now();
    assert_int_equal(mm_knn(x, N, D, K2, &o, ap, NULL, &err), MM_OK);
    recall = mm_knn_recall(ap, ex, N, K2);
    print_message("approximate 90-NN of 6000 random 10-d points: recall %.4f in %.2f s\n", recall, mm_now() - t0);
    assert_true(recall > 0.9);
    free(x), free(ex), free(ap);
}

/* ---- t-SNE pieces --------------------------------------------------------------------------------------- */

static void test_perplexity_calibration(void **state)
{
    float d2[90], p[90];
    for (int j = 0; j < 90; j++)
        d2[j] = (float)(urand() * 10);
    const double targets[] = {2, 5, 10, 30};
    for (int t = 0; t < 4; t++) {
        double beta;
        double h = mm_perplexity_row(d2, 90, targets[t], p, &beta);
        assert_float_equal(h, log(targets[t]), 1e-4);
        double s = 0;
        for (int j = 0; j < 90; j++)
            s += p[j];
        assert_float_equal(s, 1.0, 1e-5);
    }
    /* all distances equal: uniform, no NaN */
    for (int j = 0; j < 90; j++)
        d2[j] = 0;
    mm_perplexity_row(d2, 90, 30, p, NULL);
    for (int j = 0; j < 90; j++)
        assert_float_equal(p[j], 1.0 / 90, 1e-6);
}

static void test_umap_ab(void **state)
{
    double a, b;
    mm_error err;
    assert_int_equal(mm_umap_fit_ab(0.1, 1.0, &a, &b, &err), MM_OK);
    /* umap-learn's find_ab_params(1.0, 0.1) = (1.577, 0.895) */
    assert_float_equal(a, 1.577, 0.01);
    assert_float_equal(b, 0.895, 0.01);
    assert_int_equal(mm_umap_fit_ab(0.001, 1.0, &a, &b, &err), MM_OK);
    assert_true(a > 0 && b > 0);
}

/* ---- structure is kept --------------------------------------------------------------------------------- */

static double agreement(const float *x, size_t n, size_t d, const float *y, const int32_t *lab, double *trust)
{
    mm_quality_options qo;
    mm_quality_options_init(&qo);
    mm_layout_quality q;
    mm_error err;
    assert_int_equal(mm_layout_quality_compute(x, n, d, y, 2, lab, &qo, &q, &err), MM_OK);
    *trust = q.trustworthiness;
    return q.label_agreement;
}

static void test_clusters_stay_separated(void **state)
{
    enum { C = 4, M = 150, D = 12, N = C * M };
    int32_t lab[N];
    float *x = clusters(C, M, D, 6.0, lab);
    float *y = malloc(sizeof(float) * N * 2);
    mm_error err;
    for (int m = 0; m < 3; m++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = (mm_layout_method)m;
        spec.threads = 2;
        assert_int_equal(mm_layout_compute(x, N, D, &spec, y, &err), MM_OK);
        all_finite(y, N * 2);
        double trust, agree = agreement(x, N, D, y, lab, &trust);
        print_message("4 clusters, %s: label agreement %.3f, trustworthiness %.4f\n", mm_layout_method_name(spec.method), agree, trust);
        assert_true(agree > 0.99);
        assert_true(trust > (m == MM_LAYOUT_PCA ? 0.80 : 0.90));
    }
    free(x), free(y);
}

/* The locality order (normally above 50k points), forced on small data: the layouts must be as good, and
 * a given initial layout must come back in the caller's order. */
static void test_locality_order(void **state)
{
    enum { C = 4, M = 150, D = 12, N = C * M };
    int32_t lab[N];
    float *x = clusters(C, M, D, 6.0, lab);
    float *y = malloc(sizeof(float) * N * 2), *y0 = malloc(sizeof(float) * N * 2);
    mm_error err;
    for (int use_umap = 0; use_umap < 2; use_umap++) {
        mm_tsne_options to;
        mm_tsne_options_init(&to);
        to.method = MM_TSNE_FFT;
        to.locality_min = 100;
        to.threads = 2;
        mm_umap_options uo;
        mm_umap_options_init(&uo);
        uo.locality_min = 100;
        uo.threads = 2;
        assert_int_equal(use_umap ? mm_umap(x, N, D, &uo, y, &err) : mm_tsne(x, N, D, &to, y, NULL, &err), MM_OK);
        all_finite(y, N * 2);
        double trust, agree = agreement(x, N, D, y, lab, &trust);
        print_message("4 clusters in locality order, %s: label agreement %.3f, trustworthiness %.4f\n",
                      use_umap ? "umap" : "tsne", agree, trust);
        assert_true(agree > 0.99);
        assert_true(trust > 0.90);
        /* a given start and a negligible step: the output is the start, row for row */
        for (int i = 0; i < N * 2; i++)
            y0[i] = (float)(10 * urand());
        to.init = uo.init = MM_INIT_GIVEN;
        to.init_y = uo.init_y = y0;
        to.learning_rate = 1e-9;
        to.n_iter = 2;
        uo.learning_rate = 1e-9;
        assert_int_equal(use_umap ? mm_umap(x, N, D, &uo, y, &err) : mm_tsne(x, N, D, &to, y, NULL, &err), MM_OK);
        for (int i = 0; i < N * 2; i++)
            assert_true(fabsf(y[i] - y0[i]) < 1e-3f);
    }
    free(x), free(y), free(y0);
}

static void test_determinism(void **state)
{
    enum { C = 3, M = 200, D = 8, N = C * M };
    int32_t lab[N];
    float *x = clusters(C, M, D, 3.0, lab);
    float *a = malloc(sizeof(float) * N * 2), *b = malloc(sizeof(float) * N * 2);
    mm_error err;
    mm_tsne_options to;
    mm_tsne_options_init(&to);
    to.method = MM_TSNE_FFT; /* the large-N path, on small data */
    to.n_iter = 300;
    to.early_iter = 100;
    to.threads = 1;
    assert_int_equal(mm_tsne(x, N, D, &to, a, NULL, &err), MM_OK);
    to.threads = 2;
    assert_int_equal(mm_tsne(x, N, D, &to, b, NULL, &err), MM_OK);
    assert_memory_equal(a, b, sizeof(float) * N * 2);
    to.seed = 7;
    to.init = MM_INIT_RANDOM;
    assert_int_equal(mm_tsne(x, N, D, &to, b, NULL, &err), MM_OK);
    assert_memory_not_equal(a, b, sizeof(float) * N * 2);

    mm_umap_options uo;
    mm_umap_options_init(&uo);
    uo.threads = 1;
    assert_int_equal(mm_umap(x, N, D, &uo, a, &err), MM_OK);
    uo.threads = 2;
    assert_int_equal(mm_umap(x, N, D, &uo, b, &err), MM_OK);
    assert_memory_equal(a, b, sizeof(float) * N * 2);
    uo.seed = 99;
    assert_int_equal(mm_umap(x, N, D, &uo, b, &err), MM_OK);
    assert_memory_not_equal(a, b, sizeof(float) * N * 2);

    /* approximate k-NN too */
    int32_t *k1 = malloc(sizeof(int32_t) * N * 10), *k2 = malloc(sizeof(int32_t) * N * 10);
    mm_knn_options ko;
    mm_knn_options_init(&ko);
    ko.method = MM_KNN_APPROX;
    ko.threads = 1;
    assert_int_equal(mm_knn(x, N, D, 10, &ko, k1, NULL, &err), MM_OK);
    ko.threads = 2;
    assert_int_equal(mm_knn(x, N, D, 10, &ko, k2, NULL, &err), MM_OK);
    assert_memory_equal(k1, k2, sizeof(int32_t) * N * 10);
    free(x), free(a), free(b), free(k1), free(k2);
}

/* ---- new points ------------------------------------------------------------------------------------------ */

static void check_placement(int use_umap)
{
    enum { C = 4, M = 150, D = 10, N = C * M, NEW = 40 };
    int32_t lab[N];
    float *x = clusters(C, M, D, 5.0, lab);
    float *y = malloc(sizeof(float) * N * 2), *y0 = malloc(sizeof(float) * N * 2);
    float xn[NEW * D], yn[NEW * 2];
    int src[NEW];
    for (int i = 0; i < NEW; i++) {
        src[i] = (int)(urand() * N);
        for (int j = 0; j < D; j++)
            xn[i * D + j] = x[src[i] * D + j] + (float)(0.05 * nrand());
    }
    mm_error err;
    mm_umap_options uo;
    mm_umap_options_init(&uo);
    mm_tsne_options to;
    mm_tsne_options_init(&to);
    if (use_umap) {
        assert_int_equal(mm_umap(x, N, D, &uo, y, &err), MM_OK);
    } else {
        assert_int_equal(mm_tsne(x, N, D, &to, y, NULL, &err), MM_OK);
    }
    memcpy(y0, y, sizeof(float) * N * 2);
    if (use_umap)
        assert_int_equal(mm_umap_transform(x, N, D, y, xn, NEW, &uo, yn, &err), MM_OK);
    else
        assert_int_equal(mm_tsne_transform(x, N, D, y, xn, NEW, &to, yn, &err), MM_OK);
    assert_memory_equal(y0, y, sizeof(float) * N * 2); /* the old map never moves */
    all_finite(yn, NEW * 2);
    /* each new point lands next to the old point it was copied from: closer to it than that point's
     * 10th nearest neighbour in the layout, and in its cluster */
    int good = 0, same_cluster = 0;
    for (int i = 0; i < NEW; i++) {
        int s = src[i], best = 0;
        float bd = INFINITY, radius[10];
        for (int t = 0; t < 10; t++)
            radius[t] = INFINITY;
        for (int j = 0; j < N; j++) {
            float dx = yn[2 * i] - y[2 * j], dy = yn[2 * i + 1] - y[2 * j + 1];
            if (dx * dx + dy * dy < bd)
                bd = dx * dx + dy * dy, best = j;
            if (j == s)
                continue;
            float ex = y[2 * s] - y[2 * j], ey = y[2 * s + 1] - y[2 * j + 1], e = ex * ex + ey * ey;
            for (int t = 0; t < 10; t++)
                if (e < radius[t]) {
                    for (int u = 9; u > t; u--)
                        radius[u] = radius[u - 1];
                    radius[t] = e;
                    break;
                }
        }
        float ds = (yn[2 * i] - y[2 * s]) * (yn[2 * i] - y[2 * s]) + (yn[2 * i + 1] - y[2 * s + 1]) * (yn[2 * i + 1] - y[2 * s + 1]);
        good += ds <= radius[9];
        same_cluster += lab[best] == lab[s];
    }
    print_message("%s transform: %d of %d new points within their source's 10-NN radius in the layout, %d in the right cluster\n",
                  use_umap ? "UMAP" : "t-SNE", good, NEW, same_cluster);
    assert_int_equal(same_cluster, NEW);
    /* UMAP packs a cluster tightly and its SGD keeps jittering: within the radius for 19-23 of 40 here */
    assert_true(good >= (use_umap ? NEW / 3 : NEW * 9 / 10));
    free(x), free(y), free(y0);
}

static void test_tsne_transform(void **state) { check_placement(0); }
static void test_umap_transform(void **state) { check_placement(1); }

/* ---- bad input -------------------------------------------------------------------------------------------- */

static void test_nan_rows_are_refused(void **state)
{
    enum { N = 50, D = 4 };
    float x[N * D], y[N * 2];
    for (int i = 0; i < N * D; i++)
        x[i] = (float)nrand();
    x[17 * D + 2] = NAN;
    mm_error err;
    assert_int_equal(mm_tsne(x, N, D, NULL, y, NULL, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "row 17"));
    assert_int_equal(mm_umap(x, N, D, NULL, y, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "row 17"));
    x[17 * D + 2] = INFINITY;
    assert_int_equal(mm_pca(x, N, D, 2, y, NULL, NULL, NULL, 1, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "infinite"));
}

static void test_too_few_points(void **state)
{
    float x[3 * 2] = {0, 0, 1, 0, 0, 1}, y[3 * 2];
    int32_t idx[3 * 5];
    mm_error err;
    assert_int_equal(mm_tsne(x, 3, 2, NULL, y, NULL, &err), MM_ERR_ARG);
    assert_int_equal(mm_knn(x, 3, 2, 5, NULL, idx, NULL, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "neighbours"));
    /* perplexity 30 and n_neighbors 15 on 20 points: lowered to what the data allows */
    enum { N = 20, D = 3 };
    float xs[N * D], ys[N * 2];
    for (int i = 0; i < N * D; i++)
        xs[i] = (float)nrand();
    assert_int_equal(mm_tsne(xs, N, D, NULL, ys, NULL, &err), MM_OK);
    all_finite(ys, N * 2);
    mm_umap_options uo;
    mm_umap_options_init(&uo);
    uo.n_neighbors = 50;
    assert_int_equal(mm_umap(xs, N, D, &uo, ys, &err), MM_OK);
    all_finite(ys, N * 2);
}

static void test_degenerate_data(void **state)
{
    enum { N = 120, D = 6 };
    float x[N * D], y[N * 3];
    mm_error err;
    /* duplicates, a constant column and zero rows, under every metric and method */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = j == 2 ? 3.0f : (float)(i % 10 == 0 ? 0 : (i % 7) + 0.1 * j * (i % 3));
    for (int j = 0; j < D; j++)
        x[5 * D + j] = 0; /* a zero row (constant too, so also a correlation edge case) */
    for (int metric = 0; metric < 3; metric++)
        for (int m = 0; m < 3; m++) {
            mm_layout_spec spec;
            mm_layout_spec_init(&spec);
            spec.method = (mm_layout_method)m;
            spec.metric = (mm_metric)metric;
            spec.n_iter = m == MM_LAYOUT_TSNE ? 200 : 100;
            if (mm_layout_compute(x, N, D, &spec, y, &err) != MM_OK)
                fail_msg("%s/%s: %s", mm_layout_method_name(spec.method), mm_metric_name(spec.metric), err.msg);
            all_finite(y, N * 2);
        }
    /* every point the same */
    for (int i = 0; i < N * D; i++)
        x[i] = 1.5f;
    for (int m = 0; m < 3; m++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = (mm_layout_method)m;
        spec.dims = 3;
        spec.n_iter = 100;
        assert_int_equal(mm_layout_compute(x, N, D, &spec, y, &err), MM_OK);
        all_finite(y, N * 3);
    }
}

static void test_three_dims(void **state)
{
    enum { C = 3, M = 200, D = 10, N = C * M };
    int32_t lab[N];
    float *x = clusters(C, M, D, 5.0, lab);
    float *y = malloc(sizeof(float) * N * 3);
    mm_error err;
    mm_tsne_options to;
    mm_tsne_options_init(&to);
    to.dims = 3;
    double t;
    for (int fft = 0; fft < 2; fft++) {
        to.method = fft ? MM_TSNE_FFT : MM_TSNE_EXACT;
        to.n_iter = fft ? 300 : 750; /* the 3-D grid is the slow one: fewer iterations keep the test short */
        to.early_iter = fft ? 100 : 250;
        assert_int_equal(mm_tsne(x, N, D, &to, y, NULL, &err), MM_OK);
        all_finite(y, N * 3);
        assert_int_equal(mm_trustworthiness(x, N, D, y, 3, 10, MM_METRIC_EUCLIDEAN, 2, &t, &err), MM_OK);
        print_message("3-D t-SNE (%s) trustworthiness %.4f\n", fft ? "FFT" : "exact", t);
        assert_true(t > 0.9);
    }
    mm_umap_options uo;
    mm_umap_options_init(&uo);
    uo.dims = 3;
    assert_int_equal(mm_umap(x, N, D, &uo, y, &err), MM_OK);
    assert_int_equal(mm_trustworthiness(x, N, D, y, 3, 10, MM_METRIC_EUCLIDEAN, 2, &t, &err), MM_OK);
    print_message("3-D UMAP trustworthiness %.4f\n", t);
    assert_true(t > 0.9);
    free(x), free(y);
}

/* Label agreement by hand: two neighbours each, and the chance a random other point shares a label. */
static void test_label_agreement(void **state)
{
    (void)state;
    /* labels 0 0 1 1 1 and one unlabelled: chance (2*1 + 3*2) / (5*4) = 0.4 */
    const int32_t labels[6] = {0, 0, 1, 1, 1, -1};
    assert_true(fabs(mm_label_chance_agreement(labels, 6) - 0.4) < 1e-12);
    const int32_t none[2] = {-1, -1};
    assert_true(isnan(mm_label_chance_agreement(none, 2)));
    /* each point's two stored neighbours, of which k = 1 or 2 count */
    const int32_t idx[12] = {1, 2, 0, 3, 3, 4, 4, 2, 2, 3, 0, 1};
    /* k=1: 0->1 same, 1->0 same, 2->3 same, 3->4 same, 4->2 same; point 5 unlabelled: 1.0 */
    assert_true(fabs(mm_knn_label_agreement(idx, 6, 2, 1, labels) - 1.0) < 1e-12);
    /* k=2: 0: {1 same, 2 no} .5; 1: {0, 3} .5; 2: {3, 4} 1; 3: {4, 2} 1; 4: {2, 3} 1 -> 4 / 5 */
    assert_true(fabs(mm_knn_label_agreement(idx, 6, 2, 2, labels) - 0.8) < 1e-12);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest reference[] = {
        cmocka_unit_test(test_gtzan_pca),
        cmocka_unit_test(test_gtzan_tsne),
        cmocka_unit_test(test_gtzan_umap),
        cmocka_unit_test(test_gtzan_umap_correlation),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pca_matches_svd),
        cmocka_unit_test(test_knn_exact_and_approx),
        cmocka_unit_test(test_perplexity_calibration),
        cmocka_unit_test(test_umap_ab),
        cmocka_unit_test(test_clusters_stay_separated),
        cmocka_unit_test(test_locality_order),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_tsne_transform),
        cmocka_unit_test(test_umap_transform),
        cmocka_unit_test(test_nan_rows_are_refused),
        cmocka_unit_test(test_too_few_points),
        cmocka_unit_test(test_degenerate_data),
        cmocka_unit_test(test_three_dims),
        cmocka_unit_test(test_label_agreement),
    };
    return tu_main(argc, argv, "layout", tests, TU_COUNT(tests), reference, TU_COUNT(reference));
}
