/* Shared pieces of the layout module: random numbers, metric preparation, small kernels. */
#ifndef MM_LAYOUT_INTERNAL_H
#define MM_LAYOUT_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "musicmap/layout.h"

/* Hot loops also built for AVX-512 and AVX2, chosen at load time for the running CPU; not under
 * ThreadSanitizer, whose runtime is not up yet when the loader runs the choosing (ifunc) code. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_THREAD__)
#define LAYOUT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LAYOUT_CLONES
#endif

/* splitmix64: a seed mixer good enough to derive independent streams from (seed, purpose, index). */
static inline uint64_t layout_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* xorshift64* stream: cheap, and each point/tree/epoch gets its own, so no stream is shared by threads. */
typedef struct layout_rng {
    uint64_t s;
} layout_rng;

static inline layout_rng layout_rng_make(uint64_t seed, uint64_t stream, uint64_t index)
{
    layout_rng r = {layout_mix64(seed ^ layout_mix64(stream * 0x632be59bd9b4e019ULL ^ layout_mix64(index)))};
    if (!r.s)
        r.s = 0x853c49e6748fea9bULL;
    return r;
}

static inline uint64_t layout_rng_next(layout_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n). */
static inline uint64_t layout_rng_below(layout_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)layout_rng_next(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double layout_rng_uniform(layout_rng *r)
{
    return (double)(layout_rng_next(r) >> 11) * 0x1.0p-53;
}

static inline double layout_rng_normal(layout_rng *r)
{
    /* Box-Muller; the second value is thrown away to keep the stream simple. */
    double u = layout_rng_uniform(r), v = layout_rng_uniform(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static inline float layout_sqdist(const float *a, const float *b, size_t d)
{
    float s = 0;
    for (size_t i = 0; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}

/* A spec of any size (docs/api.md) as this build's struct, and the method options it stands for. */
mm_layout_spec layout_spec_read(const mm_layout_spec *given);
void layout_tsne_options(const mm_layout_spec *spec, mm_tsne_options *o);
void layout_umap_options(const mm_layout_spec *spec, mm_umap_options *o);

/* Data in a space where the metric is squared-euclidean based: for euclidean x itself (no copy), for
 * cosine rows scaled to unit length, for correlation rows centred then scaled. *owned is set when a
 * copy was made (free it). */
mm_status layout_prepare(const float *x, size_t n, size_t d, mm_metric metric, const float **out,
                         float **owned, mm_error *err);
/* Squared distance in the prepared space -> distance in the metric's units. */
static inline float layout_metric_from_sq(mm_metric metric, float sq)
{
    if (sq < 0)
        sq = 0;
    return metric == MM_METRIC_EUCLIDEAN ? sqrtf(sq) : 0.5f * sq;
}

/* Exact k-NN in the prepared space (squared distances out), optionally leaving out self (query == base). */
mm_status layout_knn_exact_sq(const float *base, size_t nb, const float *query, size_t nq, size_t d, int k,
                              int exclude_self, mm_pool *pool, int32_t *idx, float *sq, mm_error *err);
/* Approximate k-NN (RP forest + NN-descent) in the prepared space, self excluded, squared distances. */
mm_status layout_knn_approx_sq(const float *x, size_t n, size_t d, int k, const mm_knn_options *opt,
                               mm_pool *pool, int32_t *idx, float *sq, mm_error *err);
/* The k-NN used by t-SNE and UMAP: exact up to 10k points (auto), approximate above (tuned for large k),
 * in the prepared space. */
mm_status layout_knn_prepared(const float *px, size_t n, size_t d, int k, mm_knn_method method,
                              uint64_t seed, mm_pool *pool, mm_layout_progress progress, void *user,
                              int32_t *idx, float *sq, mm_error *err);

/* A symmetric sparse matrix in CSR form (rows sorted by column). */
/* perm[i]: the point to put i-th so that neighbours in space sit near each other in memory */
mm_status layout_locality_order(const float *x, size_t n, size_t d, uint64_t seed, int32_t *perm, mm_error *err);

/* Above this many points t-SNE and UMAP work in locality order (below, everything fits the caches). */
enum { LAYOUT_LOCALITY_MIN = 50000 };
/* Large layouts run on their rows in locality order: the k-NN search, the graph and the optimisation
 * then read neighbours that mostly share cache lines. Above min_n points, replaces *px by a reordered
 * copy (taking over and freeing *owned, which becomes the copy) and sets *order (free it); below, leaves
 * both alone and *order NULL. */
mm_status layout_order_begin(const float **px, float **owned, size_t n, size_t d, size_t min_n, uint64_t seed,
                             int32_t **order, mm_error *err);
/* dst[i] = src[order[i]] (rows of D floats); a plain copy when order is NULL */
void layout_rows_gather(float *dst, const float *src, const int32_t *order, size_t n, int D);
/* Puts a layout computed in locality order back in the caller's order (nothing when order is NULL). */
mm_status layout_order_end(float *y, size_t n, int D, const int32_t *order, mm_error *err);

typedef struct layout_csr {
    size_t n;
    size_t *rowptr; /* n + 1 */
    int32_t *col;
    float *val;
} layout_csr;
void layout_csr_free(layout_csr *m);
/* From n rows of k (idx, val) entries, the symmetric S (common.c): LAYOUT_SYM_MEAN (A + A^T) / 2, t-SNE's
 * joint probabilities; LAYOUT_SYM_FUZZY_UNION A + A^T - A o A^T, UMAP's fuzzy set union. Zeros are dropped. */
typedef enum { LAYOUT_SYM_MEAN, LAYOUT_SYM_FUZZY_UNION } layout_sym_mode;
mm_status layout_csr_symmetrize(size_t n, int k, const int32_t *idx, const float *val, layout_sym_mode mode,
                                mm_pool *pool, layout_csr *out, mm_error *err);

/* PCA initialisation scaled so that the first axis has standard deviation `std`. */
mm_status layout_pca_init(const float *x, size_t n, size_t d, int dims, double std, int threads,
                          float *y, mm_error *err);

int layout_cancelled(mm_layout_progress progress, void *user, const char *stage, size_t done,
                     size_t total);

/* FFT-accelerated interpolation (fftgrid.c): potentials of the kernel 1 / (1 + r^2)^2 over point charges,
 * as FIt-SNE (Linderman et al. 2019). */
typedef struct layout_fftgrid layout_fftgrid;
mm_status layout_fftgrid_open(layout_fftgrid **out, int dims, int interp_points, int min_boxes, mm_error *err);
void layout_fftgrid_close(layout_fftgrid *g);
/* Sets the grid over [lo, hi] per axis, spreads the charges (1, y, |y|^2) of the n source points and
 * convolves. */
mm_status layout_fftgrid_compute(layout_fftgrid *g, const float *y, size_t n, const double *lo, const double *hi,
                                 mm_pool *pool, mm_error *err);
/* Interpolated potentials at m target points inside the grid: pot is m x (dims + 2):
 * [sum K, sum K y_1 .. sum K y_dims, sum K |y|^2] with K = 1 / (1 + |t - y_j|^2)^2. */
void layout_fftgrid_gather(layout_fftgrid *g, const float *t, size_t m, double *pot, mm_pool *pool);

#endif
