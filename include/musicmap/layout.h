/* layout — PCA, k nearest neighbours, t-SNE, UMAP, placing new points, and layout quality.
 *
 * Plain arrays in, plain arrays out: data is row-major float32, N rows of D values; layouts are N rows of
 * `dims` (2 or 3) values. Nothing here reads or writes files or prints; long runs report through an
 * optional progress callback. Every random choice comes from the options' seed.
 *
 * Determinism: for the same input, options and seed, every function returns bit-identical results
 * whatever the thread count (work is split so that no result depends on which thread did it; UMAP's
 * parallel SGD moves each point only in its own thread and reads the others from a per-epoch snapshot).
 * The one exception is OpenBLAS, which may sum in a different order with a different number of its own
 * threads: exact k-NN and PCA are then identical up to the last bit of float rounding.
 *
 * Metrics: euclidean, cosine (1 - cos) and correlation (1 - Pearson r). Cosine and correlation are
 * computed by centring (correlation) and scaling each row to unit length, where squared euclidean
 * distance is 2 * (1 - cos). A zero row (cosine) or a constant row (correlation) has no direction: it is
 * kept as the zero vector, so its distance is 0.5 to every other row and 0 to another such row — finite,
 * documented, never NaN.
 *
 * Thread safety: every function works on the caller's arrays and its own temporaries only, so any of
 * them may run in several threads at once (t-SNE's FFTW plans are made under the library's one planner
 * lock). `threads` is the size of the call's own worker pool; a progress callback is called on the
 * calling thread.
 */
#ifndef MUSICMAP_LAYOUT_H
#define MUSICMAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mm_metric { MM_METRIC_EUCLIDEAN = 0, MM_METRIC_COSINE, MM_METRIC_CORRELATION } mm_metric;
MM_API const char *mm_metric_name(mm_metric metric);
/* "euclidean", "cosine", "correlation"; returns 0 on success. */
MM_API int mm_metric_parse(const char *name, mm_metric *out);

/* Called now and then from the calling thread: stage is a short name ("knn", "affinities",
 * "optimize"), done/total the progress within it. Return non-zero to cancel (the call then fails with
 * MM_ERR_CANCELLED). */
typedef int (*mm_layout_progress)(const char *stage, size_t done, size_t total, void *user);

/* Checks that every value is finite; names the first bad row in the message. */
MM_API mm_status mm_layout_check_finite(const float *x, size_t n, size_t d, const char *what, mm_error *err);

/* ---- PCA --------------------------------------------------------------------------------------- */
/* Projects x onto its first k principal axes: out is n x k (scores), components k x d (may be NULL),
 * mean d (may be NULL), variance k (explained variance per axis, may be NULL). Axes are ordered by
 * variance and signed so that each axis's largest-magnitude coefficient is positive. Uses the d x d
 * covariance (double precision, LAPACK dsyevr) when d <= 4096, the n x n Gram matrix when n <= 4096,
 * and a seeded randomised SVD (Halko et al. 2011) otherwise. k may exceed rank: the extra axes are 0. */
MM_API mm_status mm_pca(const float *x, size_t n, size_t d, int k, float *out, float *components, float *mean,
                        float *variance, int threads, mm_error *err);

/* ---- k nearest neighbours ------------------------------------------------------------------------- */
typedef enum mm_knn_method { MM_KNN_AUTO = 0, MM_KNN_EXACT, MM_KNN_APPROX } mm_knn_method;

typedef struct mm_knn_options {
    size_t size; /* sizeof the struct, set by mm_knn_options_init (docs/api.md: option structs) */
    mm_metric metric;
    mm_knn_method method; /* auto: exact up to exact_max points, approximate above */
    size_t exact_max;     /* default 10000: beyond, the approximate search is faster for the k layouts use,
                             at the same quality (bench/RESULTS.md, "Layouts") */
    int threads;          /* <= 0: all cores */
    uint64_t seed;
    int n_trees;       /* random-projection trees for the approximate start (0: 6, or 12 for k > 30; +2 above
                          200k points) */
    int max_iters;     /* NN-descent rounds (0: 10, or 3 for k > 30) */
    double delta;      /* NN-descent stops when fewer than delta * N * k neighbours change (0.001) */
    int max_candidates; /* NN-descent candidates per point and round (0: k, or 15 for k > 30) */
    mm_layout_progress progress;
    void *progress_user;
} mm_knn_options;
/* All fields to the defaults noted above. */
MM_API void mm_knn_options_init(mm_knn_options *opt);

/* For each of the n rows of x, its k nearest other rows: idx n x k (ascending distance, ties by index),
 * dist n x k in the metric's units (may be NULL). Self is excluded; duplicates of a row are neighbours at
 * distance 0. Needs 1 <= k < n. */
MM_API mm_status mm_knn(const float *x, size_t n, size_t d, int k, const mm_knn_options *opt, int32_t *idx,
                        float *dist, mm_error *err);
/* k nearest rows of base (nb x d) for each of the nq rows of query, exact (blocked BLAS products). */
MM_API mm_status mm_knn_query(const float *base, size_t nb, const float *query, size_t nq, size_t d, int k,
                              mm_metric metric, int threads, int32_t *idx, float *dist, mm_error *err);
/* Mean fraction of the true neighbours found (recall of approx against exact, both n x k). */
MM_API double mm_knn_recall(const int32_t *approx, const int32_t *exact, size_t n, int k);

/* ---- t-SNE ------------------------------------------------------------------------------------------ */
typedef enum mm_tsne_method { MM_TSNE_AUTO = 0, MM_TSNE_EXACT, MM_TSNE_FFT } mm_tsne_method;
typedef enum mm_layout_init { MM_INIT_PCA = 0, MM_INIT_RANDOM, MM_INIT_SPECTRAL, MM_INIT_GIVEN } mm_layout_init;

typedef struct mm_tsne_options {
    size_t size; /* sizeof the struct, set by mm_tsne_options_init (docs/api.md: option structs) */
    int dims;                   /* 2 or 3 */
    double perplexity;          /* 30; clamped to (n - 1) / 3 for small n */
    mm_metric metric;           /* euclidean */
    mm_tsne_method method;      /* auto: exact below exact_max points, FFT interpolation above */
    size_t exact_max;           /* 1000 */
    int n_iter;                 /* 750 in all, including... */
    int early_iter;             /* ...250 with early exaggeration */
    double early_exaggeration;  /* 12 */
    double exaggeration;        /* 1 after the early phase */
    double learning_rate;       /* <= 0: auto, max(N / early_exaggeration, 200) (Belkina et al. 2019) */
    double momentum, final_momentum; /* 0.5, 0.8 */
    mm_layout_init init;        /* PCA (scaled to std 1e-4 on the first axis), random, or given */
    const float *init_y;        /* n x dims when init is MM_INIT_GIVEN */
    mm_knn_method knn;          /* how the 3 * perplexity neighbours are found (auto: exact up to 10000 points) */
    size_t locality_min;        /* above this many points work on the rows in a locality order (0: 50000) */
    int interp_points;          /* FFT: interpolation nodes per box and axis (3) */
    int min_boxes;              /* FFT: boxes per axis at least (0: 50 in 2-D, 10 in 3-D, 100 in 1-D) */
    int threads;
    uint64_t seed;
    mm_layout_progress progress;
    void *progress_user;
} mm_tsne_options;
/* All fields to the defaults noted above. */
MM_API void mm_tsne_options_init(mm_tsne_options *opt);

/* Lays out x (n x d) in opt->dims dimensions: y is n x dims. kl (may be NULL) gets the final KL
 * divergence estimate (exact method only; NaN otherwise). */
MM_API mm_status mm_tsne(const float *x, size_t n, size_t d, const mm_tsne_options *opt, float *y, double *kl,
                         mm_error *err);

/* Perplexity calibration of one row: given the squared distances d2[0..k) to a point's neighbours,
 * finds beta so that p_j = exp(-beta d2_j) / sum has entropy log(perplexity) (natural log) by bisection,
 * writes p (sums to 1) and returns the entropy reached. Distances may repeat or be 0. */
MM_API double mm_perplexity_row(const float *d2, int k, double perplexity, float *p, double *beta);

/* Places new points on an existing t-SNE map without moving it: each new point's affinities to its
 * 3 * perplexity nearest old points (conditional, as in openTSNE's transform), starts at their weighted
 * mean and is optimised against the fixed old points (250 iterations). */
MM_API mm_status mm_tsne_transform(const float *x_old, size_t n_old, size_t d, const float *y_old,
                                   const float *x_new, size_t n_new, const mm_tsne_options *opt, float *y_new,
                                   mm_error *err);

/* ---- UMAP ------------------------------------------------------------------------------------------- */
typedef struct mm_umap_options {
    size_t size; /* sizeof the struct, set by mm_umap_options_init (docs/api.md: option structs) */
    int dims;               /* 2 or 3 */
    int n_neighbors;        /* 15, self included as in umap-learn */
    double min_dist;        /* 0.1 */
    double spread;          /* 1.0 */
    mm_metric metric;       /* euclidean */
    int n_epochs;           /* 0: 500 */
    double learning_rate;   /* 1.0 */
    double negative_sample_rate; /* 5 */
    double repulsion_strength;   /* 1.0 */
    double a, b;            /* <= 0: fitted from min_dist and spread */
    mm_layout_init init;    /* spectral (default; PCA when the graph is too disconnected), PCA, random, given */
    const float *init_y;
    mm_knn_method knn;      /* auto: exact up to 10000 points, NN-descent above */
    size_t locality_min;    /* above this many points work on the rows in a locality order (0: 50000) */
    int threads;
    uint64_t seed;
    mm_layout_progress progress;
    void *progress_user;
} mm_umap_options;
/* All fields to the defaults noted above. */
MM_API void mm_umap_options_init(mm_umap_options *opt);

/* The curve 1 / (1 + a d^(2b)) fitted by least squares to 1 for d < min_dist and
 * exp(-(d - min_dist) / spread) beyond, on 300 points of [0, 3 spread] (as umap-learn). */
MM_API mm_status mm_umap_fit_ab(double min_dist, double spread, double *a, double *b, mm_error *err);

MM_API mm_status mm_umap(const float *x, size_t n, size_t d, const mm_umap_options *opt, float *y, mm_error *err);

/* Places new points on an existing UMAP map: fuzzy memberships to their n_neighbors nearest old points,
 * start at the membership-weighted mean, SGD of the new points only (n_epochs / 3). */
MM_API mm_status mm_umap_transform(const float *x_old, size_t n_old, size_t d, const float *y_old,
                                   const float *x_new, size_t n_new, const mm_umap_options *opt, float *y_new,
                                   mm_error *err);

/* ---- quality ------------------------------------------------------------------------------------------ */
typedef struct mm_quality_options {
    size_t size; /* sizeof the struct, set by mm_quality_options_init (docs/api.md: option structs) */
    int k;                /* 10 */
    mm_metric metric;     /* of the high-dimensional space (euclidean) */
    size_t sample;        /* trustworthiness on a seeded sample of this many points when n is larger (5000) */
    size_t query_sample;  /* k-NN preservation and label agreement from this many query points (all when
                             n <= it; 2000) against all n points */
    int threads;
    uint64_t seed;
} mm_quality_options;
/* All fields to the defaults noted above. */
MM_API void mm_quality_options_init(mm_quality_options *opt);

typedef struct mm_layout_quality {
    double trustworthiness;   /* Venna & Kaski, as scikit-learn's, on the sample */
    double knn_preservation;  /* mean fraction of the k high-d neighbours among the k low-d ones */
    double label_agreement;   /* mean fraction of the k low-d neighbours with the point's label; NaN
                                 without labels */
} mm_layout_quality;

MM_API mm_status mm_layout_quality_compute(const float *x, size_t n, size_t d, const float *y, int dims,
                                           const int32_t *labels, const mm_quality_options *opt,
                                           mm_layout_quality *out, mm_error *err);
/* Mean fraction of each labelled point's first k neighbours (idx: n rows of k_stored >= k, as mm_knn
 * writes) that share its label; points with a negative label are not counted (but are neighbours).
 * NaN without labels. And what a random neighbour would score: sum n_c (n_c - 1) / (N (N - 1)) over the
 * labelled points. */
MM_API double mm_knn_label_agreement(const int32_t *idx, size_t n, int k_stored, int k, const int32_t *labels);
MM_API double mm_label_chance_agreement(const int32_t *labels, size_t n);
/* Trustworthiness of all n points (O(n^2) memory-light, O(n^2 log n) time). */
MM_API mm_status mm_trustworthiness(const float *x, size_t n, size_t d, const float *y, int dims, int k,
                                    mm_metric metric, int threads, double *out, mm_error *err);

/* ---- one call for the map command ------------------------------------------------------------------------ */
typedef enum mm_layout_method { MM_LAYOUT_PCA = 0, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP } mm_layout_method;
MM_API const char *mm_layout_method_name(mm_layout_method method);
MM_API int mm_layout_method_parse(const char *name, mm_layout_method *out); /* "pca", "tsne", "umap"; 0 = ok */

typedef struct mm_layout_spec {
    size_t size; /* sizeof the struct, set by mm_layout_spec_init (docs/api.md: option structs) */
    mm_layout_method method; /* umap */
    int dims;                /* 2 */
    mm_metric metric;        /* euclidean (the original's UMAP used correlation) */
    double perplexity;       /* t-SNE: 30 */
    int n_neighbors;         /* UMAP: 15 */
    double min_dist;         /* UMAP: 0.1 */
    int n_iter;              /* t-SNE iterations / UMAP epochs; 0: the method's default */
    uint64_t seed;           /* 42 */
    int threads;             /* <= 0: all cores */
    mm_layout_progress progress;
    void *progress_user;
} mm_layout_spec;
/* All fields to the defaults noted above. */
MM_API void mm_layout_spec_init(mm_layout_spec *spec);
/* A short name for the layout's parameters: "pca", "tsne-p30", "umap-n15-d0.1" (3-D adds "-3d"). */
MM_API void mm_layout_spec_name(const mm_layout_spec *spec, char *buf, size_t size);
/* The original system's figure grid: t-SNE perplexity 5, 30, 50, 100 and UMAP n_neighbors 5, 30, 50 x
 * min_dist 0.01, 0.1, 0.5, each a copy of base with those fields set. Writes up to max specs, returns 13.
 * out is an array of the caller's mm_layout_spec, as base is (its elements are base->size bytes). */
MM_API size_t mm_layout_grid(const mm_layout_spec *base, mm_layout_spec *out, size_t max);
/* Computes the layout (y: n x spec->dims) with the spec's method; validates the input first. */
MM_API mm_status mm_layout_compute(const float *x, size_t n, size_t d, const mm_layout_spec *spec, float *y,
                                   mm_error *err);

/* Scales each axis of y (n x dims) to [0, 1] together, keeping the aspect ratio (as the original's maps). */
MM_API void mm_layout_normalize(float *y, size_t n, int dims);
/* The frame mm_layout_normalize puts y in, without applying it: normalised = raw * scale + shift[axis]
 * (scale 0 when all points coincide; shift[a] 0 for a >= dims). Stored with a map, it takes new points
 * placed in the layout's own units into the map's frame. */
MM_API void mm_layout_frame(const float *y, size_t n, int dims, double *scale, double shift[3]);

/* Places new points on a layout of old points, never moving the old ones: t-SNE and UMAP with their
 * transforms (y_old in the layout's own units, before mm_layout_normalize), PCA by projecting onto the
 * old points' principal axes and fitting that projection to y_old by least squares (so y_old may be in
 * any affine frame, e.g. normalised). x_old (n_old x d) are the old points' vectors now (they may have
 * moved a little since the layout was made, e.g. when standardisation statistics changed); y_new is
 * n_new x spec->dims. */
MM_API mm_status mm_layout_extend(const float *x_old, size_t n_old, size_t d, const float *y_old, const float *x_new,
                                  size_t n_new, const mm_layout_spec *spec, float *y_new, mm_error *err);

/* The names 0.1 development used for the _init functions; kept until the programs in this tree move. */
#define mm_knn_defaults mm_knn_options_init
#define mm_tsne_defaults mm_tsne_options_init
#define mm_umap_defaults mm_umap_options_init
#define mm_quality_defaults mm_quality_options_init
#define mm_layout_spec_defaults mm_layout_spec_init

#ifdef __cplusplus
}
#endif
#endif
