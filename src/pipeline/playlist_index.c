/* Nearest songs to a query vector: an exact scan up to exact_max songs; above, an inverted file over
 * PCA projections (the songs clustered into about sqrt(n) cells by k-means; a query scans the cells
 * nearest to it, keeps the best candidates by projected distance and ranks those exactly). A 1M-song
 * scan of 299 floats a song reads 1.2 GB, far over the 50 ms a `similar` may take; the cells cut the
 * scan to a few per cent of the songs and the projections to a ninth of the bytes (bench/RESULTS.md). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "playlist.h"

double pl_dist2(const mm_playlist_engine *e, const float *q, size_t r)
{
    const float *p = e->v->x + r * (size_t)e->d;
    /* eight running sums, so the loop vectorises without reassociating anything */
    float s[8] = {0};
    int c = 0;
    for (; c + 8 <= e->d; c += 8)
        for (int j = 0; j < 8; j++) {
            float t = p[c + j] - q[c + j];
            s[j] += t * t;
        }
    double sum = 0;
    for (int j = 0; j < 8; j++)
        sum += s[j];
    for (; c < e->d; c++) {
        double t = (double)p[c] - q[c];
        sum += t * t;
    }
    return sum;
}

/* ---- a bounded max-heap of hits (the worst on top), ties broken by row ----------------------------- */

static int worse(const pl_hit *a, const pl_hit *b)
{
    return a->dist > b->dist || (a->dist == b->dist && a->row > b->row);
}

static void sift_down(pl_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < n && worse(&h[l], &h[big]))
            big = l;
        if (r < n && worse(&h[r], &h[big]))
            big = r;
        if (big == i)
            return;
        pl_hit t = h[i];
        h[i] = h[big], h[big] = t;
        i = big;
    }
}

static void heap_offer(pl_hit *h, size_t *n, size_t k, size_t row, double dist)
{
    pl_hit x = {row, dist};
    if (*n < k) {
        size_t i = (*n)++;
        h[i] = x;
        while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
            pl_hit t = h[i];
            h[i] = h[(i - 1) / 2], h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (worse(&h[0], &x)) {
        h[0] = x;
        sift_down(h, *n, 0);
    }
}

static int cmp_hit(const void *a, const void *b)
{
    const pl_hit *x = a, *y = b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

/* The candidates measured again exactly, the k best kept, nearest first, as distances; frees heap. */
static long rerank(const mm_playlist_engine *e, const float *q, pl_hit *heap, size_t n, size_t k, pl_hit *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        heap_offer(out, &m, k, heap[i].row, pl_dist2(e, q, heap[i].row));
    free(heap);
    qsort(out, m, sizeof *out, cmp_hit);
    for (size_t i = 0; i < m; i++)
        out[i].dist = sqrt(out[i].dist);
    return (long)m;
}


/* ---- exact ------------------------------------------------------------------------------------------ */

/* All the products with q in one BLAS call (the matrix streams from memory once), distances as
 * |x|^2 - 2 x.q + |q|^2; the best k + 8 by those are measured again exactly, since the sum loses a few
 * digits where two distances nearly tie. */
static long search_exact(const mm_playlist_engine *e, const float *q, size_t k, const uint8_t *skip, pl_hit *out)
{
    const size_t margin = k + 8;
    float *dots = malloc(sizeof(float) * (e->n ? e->n : 1));
    pl_hit *heap = malloc(sizeof *heap * margin);
    if (!dots || !heap) {
        free(dots), free(heap);
        return -1;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)e->n, e->d, 1.0f, e->v->x, e->d, q, 1, 0.0f, dots, 1);
    double qn = 0;
    for (int c = 0; c < e->d; c++)
        qn += (double)q[c] * q[c];
    size_t n = 0;
    for (size_t r = 0; r < e->n; r++) {
        if (skip && skip[r])
            continue;
        double d2 = (double)e->norms[r] - 2.0 * dots[r] + qn;
        if (n == margin && d2 > heap[0].dist)
            continue;
        heap_offer(heap, &n, margin, r, d2);
    }
    free(dots);
    return rerank(e, q, heap, n, k, out);
}

int pl_search_many(const mm_playlist_engine *e, const float *q, size_t m, size_t k, const uint8_t *skip,
                   pl_hit *out, size_t *counts)
{
    if (e->approximate || m == 1) {
        for (size_t i = 0; i < m; i++) {
            long got = pl_search(e, q + i * (size_t)e->d, k, skip, out + i * k);
            if (got < 0)
                return -1;
            counts[i] = (size_t)got;
        }
        return 0;
    }
    const size_t margin = k + 8, block = 1024, d = (size_t)e->d;
    float *dots = malloc(sizeof(float) * block * m);
    pl_hit *heap = malloc(sizeof *heap * margin * m);
    double *qn = malloc(sizeof(double) * m);
    size_t *hn = calloc(m, sizeof *hn);
    if (!dots || !heap || !qn || !hn) {
        free(dots), free(heap), free(qn), free(hn);
        return -1;
    }
    for (size_t j = 0; j < m; j++) {
        double s = 0;
        for (size_t c = 0; c < d; c++)
            s += (double)q[j * d + c] * q[j * d + c];
        qn[j] = s;
    }
    for (size_t b = 0; b < e->n; b += block) {
        size_t rows = e->n - b < block ? e->n - b : block;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m, (int)d, 1.0f, e->v->x + b * d, (int)d,
                    q, (int)d, 0.0f, dots, (int)m);
        for (size_t i = 0; i < rows; i++) {
            size_t r = b + i;
            if (skip && skip[r])
                continue;
            for (size_t j = 0; j < m; j++) {
                double d2 = (double)e->norms[r] - 2.0 * dots[i * m + j] + qn[j];
                pl_hit *h = heap + j * margin;
                if (hn[j] == margin && d2 > h[0].dist)
                    continue;
                heap_offer(h, &hn[j], margin, r, d2);
            }
        }
    }
    for (size_t j = 0; j < m; j++) {
        pl_hit *o = out + j * k;
        size_t got = 0;
        for (size_t i = 0; i < hn[j]; i++)
            heap_offer(o, &got, k, heap[j * margin + i].row, pl_dist2(e, q + j * d, heap[j * margin + i].row));
        qsort(o, got, sizeof *o, cmp_hit);
        for (size_t i = 0; i < got; i++)
            o[i].dist = sqrt(o[i].dist);
        counts[j] = got;
    }
    free(dots), free(heap), free(qn), free(hn);
    return 0;
}

mm_status pl_norms(mm_playlist_engine *e, mm_error *err)
{
    e->norms = malloc(sizeof(float) * (e->n ? e->n : 1));
    if (!e->norms)
        return mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
    for (size_t r = 0; r < e->n; r++) {
        const float *x = e->v->x + r * (size_t)e->d;
        double s = 0;
        for (int c = 0; c < e->d; c++)
            s += (double)x[c] * x[c];
        e->norms[r] = (float)s;
    }
    return MM_OK;
}

/* ---- approximate ------------------------------------------------------------------------------------ */

typedef struct cell_dist {
    float d;
    uint32_t cell;
} cell_dist;

static int cmp_cell(const void *a, const void *b)
{
    const cell_dist *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->cell > y->cell) - (x->cell < y->cell);
}

static void project(const pl_index *ix, int d, const float *q, float *out)
{
    for (int a = 0; a < ix->dims; a++) {
        const float *ax = ix->axes + (size_t)a * (size_t)d;
        double s = 0;
        for (int c = 0; c < d; c++)
            s += (double)ax[c] * ((double)q[c] - ix->mean[c]);
        out[a] = (float)s;
    }
}

static float proj_dist2(const float *a, const float *b, int dims)
{
    float s[8] = {0}, t;
    int c = 0;
    for (; c + 8 <= dims; c += 8)
        for (int j = 0; j < 8; j++) {
            t = a[c + j] - b[c + j];
            s[j] += t * t;
        }
    float sum = 0;
    for (int j = 0; j < 8; j++)
        sum += s[j];
    for (; c < dims; c++) {
        t = a[c] - b[c];
        sum += t * t;
    }
    return sum;
}

static long search_index(const mm_playlist_engine *e, const float *q, size_t k, const uint8_t *skip, pl_hit *out)
{
    const pl_index *ix = &e->index;
    /* candidates ranked exactly: enough that the projection's misorderings rarely cost a true neighbour */
    size_t cand = 8 * k + 64;
    size_t probe = ix->n_cells / 40 > 8 ? ix->n_cells / 40 : 8;
    float qp[256];
    cell_dist *cells = malloc(sizeof *cells * ix->n_cells);
    pl_hit *heap = malloc(sizeof *heap * cand);
    if (!cells || !heap) {
        free(cells), free(heap);
        return -1;
    }
    project(ix, e->d, q, qp);
    for (size_t c = 0; c < ix->n_cells; c++)
        cells[c] = (cell_dist){proj_dist2(qp, ix->centroids + c * (size_t)ix->dims, ix->dims), (uint32_t)c};
    qsort(cells, ix->n_cells, sizeof *cells, cmp_cell);
    size_t n = 0;
    /* the nearest cells first; go on past `probe` while too few candidates fit (filters, used songs) */
    for (size_t i = 0; i < ix->n_cells && (i < probe || n < cand); i++) {
        size_t c = cells[i].cell;
        for (size_t j = ix->cell_start[c]; j < ix->cell_start[c + 1]; j++) {
            size_t r = ix->rows[j];
            if (skip && skip[r])
                continue;
            float d2 = proj_dist2(qp, ix->proj + j * (size_t)ix->dims, ix->dims);
            if (n == cand && d2 > heap[0].dist)
                continue;
            heap_offer(heap, &n, cand, r, d2);
        }
    }
    free(cells);
    return rerank(e, q, heap, n, k, out);
}

long pl_search(const mm_playlist_engine *e, const float *q, size_t k, const uint8_t *skip, pl_hit *out)
{
    if (k == 0)
        return 0;
    return e->approximate ? search_index(e, q, k, skip, out) : search_exact(e, q, k, skip, out);
}

/* ---- building the index ----------------------------------------------------------------------------- */

/* Each of n rows of x (n x dims) to its nearest centroid: |x|^2 - 2 x.c + |c|^2 with the products in
 * blocks through BLAS. */
static int assign(const float *x, size_t n, const float *cent, size_t k, int dims, uint32_t *label)
{
    const size_t block = 2048;
    float *dots = malloc(sizeof(float) * block * k), *cn = malloc(sizeof(float) * k);
    if (!dots || !cn) {
        free(dots), free(cn);
        return -1;
    }
    for (size_t c = 0; c < k; c++) {
        double s = 0;
        for (int a = 0; a < dims; a++)
            s += (double)cent[c * (size_t)dims + a] * cent[c * (size_t)dims + a];
        cn[c] = (float)s;
    }
    for (size_t b = 0; b < n; b += block) {
        size_t m = n - b < block ? n - b : block;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, dims, 1.0f, x + b * (size_t)dims, dims,
                    cent, dims, 0.0f, dots, (int)k);
        for (size_t i = 0; i < m; i++) {
            const float *row = dots + i * k;
            size_t best = 0;
            float bd = cn[0] - 2 * row[0];
            for (size_t c = 1; c < k; c++) {
                float d = cn[c] - 2 * row[c];
                if (d < bd)
                    bd = d, best = c;
            }
            label[b + i] = (uint32_t)best;
        }
    }
    free(dots), free(cn);
    return 0;
}

/* Lloyd's k-means on a sample, started from distinct sample rows; an emptied cell restarts at a random row. */
static int kmeans(const float *x, size_t n, int dims, size_t k, mm_rng *rng, float *cent)
{
    uint32_t *label = malloc(sizeof(uint32_t) * n);
    size_t *count = malloc(sizeof(size_t) * k);
    double *sum = malloc(sizeof(double) * k * (size_t)dims);
    size_t *perm = malloc(sizeof(size_t) * n);
    int rc = label && count && sum && perm ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        perm[i] = i;
    for (size_t c = 0; rc == 0 && c < k; c++) { /* a partial shuffle: k distinct rows */
        size_t j = c + (size_t)mm_rng_below(rng, n - c), t = perm[c];
        perm[c] = perm[j], perm[j] = t;
        memcpy(cent + c * (size_t)dims, x + perm[c] * (size_t)dims, sizeof(float) * (size_t)dims);
    }
    for (int it = 0; rc == 0 && it < 10; it++) {
        if (assign(x, n, cent, k, dims, label) != 0) {
            rc = -1;
            break;
        }
        memset(count, 0, sizeof(size_t) * k);
        memset(sum, 0, sizeof(double) * k * (size_t)dims);
        for (size_t i = 0; i < n; i++) {
            count[label[i]]++;
            for (int a = 0; a < dims; a++)
                sum[label[i] * (size_t)dims + a] += x[i * (size_t)dims + a];
        }
        for (size_t c = 0; c < k; c++) {
            if (count[c] == 0) {
                size_t r = (size_t)mm_rng_below(rng, n);
                memcpy(cent + c * (size_t)dims, x + r * (size_t)dims, sizeof(float) * (size_t)dims);
                continue;
            }
            for (int a = 0; a < dims; a++)
                cent[c * (size_t)dims + a] = (float)(sum[c * (size_t)dims + a] / (double)count[c]);
        }
    }
    free(label), free(count), free(sum), free(perm);
    return rc;
}

mm_status pl_index_build(mm_playlist_engine *e, const mm_playlist_engine_options *opt, mm_error *err)
{
    pl_index *ix = &e->index;
    const size_t n = e->n, d = (size_t)e->d;
    int dims = opt->index_dims < 1 ? 1 : opt->index_dims > 256 ? 256 : opt->index_dims;
    if ((size_t)dims > d)
        dims = (int)d;
    ix->dims = dims;
    /* the axes from an even sample: the collection's main directions, at a fraction of the cost */
    size_t m = n < 20000 ? n : 20000;
    float *sample = malloc(sizeof(float) * m * d), *scores = malloc(sizeof(float) * m * (size_t)dims);
    ix->mean = malloc(sizeof(float) * d);
    ix->axes = malloc(sizeof(float) * d * (size_t)dims);
    float *proj = malloc(sizeof(float) * n * (size_t)dims);
    uint32_t *label = malloc(sizeof(uint32_t) * n);
    mm_status st = MM_OK;
    if (!sample || !scores || !ix->mean || !ix->axes || !proj || !label)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist index: out of memory for %zu songs", n);
    for (size_t i = 0; st == MM_OK && i < m; i++)
        memcpy(sample + i * d, e->v->x + (i * n / m) * d, sizeof(float) * d);
    if (st == MM_OK)
        st = mm_pca(sample, m, d, dims, scores, ix->axes, ix->mean, NULL, opt->threads, err);
    free(sample), free(scores);
    if (st == MM_OK) {
        /* (x - mean) . axis = x . axis - mean . axis */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, dims, (int)d, 1.0f, e->v->x, (int)d, ix->axes,
                    (int)d, 0.0f, proj, dims);
        float off[256];
        for (int a = 0; a < dims; a++) {
            double s = 0;
            for (size_t c = 0; c < d; c++)
                s += (double)ix->mean[c] * ix->axes[(size_t)a * d + c];
            off[a] = (float)s;
        }
        for (size_t i = 0; i < n; i++)
            for (int a = 0; a < dims; a++)
                proj[i * (size_t)dims + a] -= off[a];
        size_t cells = (size_t)sqrt((double)n);
        ix->n_cells = cells < 16 ? 16 : cells > 4096 ? 4096 : cells;
        size_t train = n < 64 * ix->n_cells ? n : 64 * ix->n_cells;
        float *tx = malloc(sizeof(float) * train * (size_t)dims);
        ix->centroids = malloc(sizeof(float) * ix->n_cells * (size_t)dims);
        ix->cell_start = calloc(ix->n_cells + 1, sizeof(size_t));
        ix->rows = malloc(sizeof(uint32_t) * n);
        ix->proj = malloc(sizeof(float) * n * (size_t)dims);
        mm_rng rng;
        mm_rng_seed(&rng, opt->seed);
        if (!tx || !ix->centroids || !ix->cell_start || !ix->rows || !ix->proj)
            st = mm_error_set(err, MM_ERR_NOMEM, "playlist index: out of memory");
        for (size_t i = 0; st == MM_OK && i < train; i++)
            memcpy(tx + i * (size_t)dims, proj + (i * n / train) * (size_t)dims, sizeof(float) * (size_t)dims);
        if (st == MM_OK && (kmeans(tx, train, dims, ix->n_cells, &rng, ix->centroids) != 0 ||
                            assign(proj, n, ix->centroids, ix->n_cells, dims, label) != 0))
            st = mm_error_set(err, MM_ERR_NOMEM, "playlist index: out of memory");
        free(tx);
        if (st == MM_OK) {
            /* the rows cell by cell (a counting sort), their projections alongside for a linear scan */
            for (size_t i = 0; i < n; i++)
                ix->cell_start[label[i] + 1]++;
            for (size_t c = 0; c < ix->n_cells; c++)
                ix->cell_start[c + 1] += ix->cell_start[c];
            size_t *next = malloc(sizeof(size_t) * ix->n_cells);
            if (!next)
                st = mm_error_set(err, MM_ERR_NOMEM, "playlist index: out of memory");
            else {
                memcpy(next, ix->cell_start, sizeof(size_t) * ix->n_cells);
                for (size_t i = 0; i < n; i++) {
                    size_t j = next[label[i]]++;
                    ix->rows[j] = (uint32_t)i;
                    memcpy(ix->proj + j * (size_t)dims, proj + i * (size_t)dims, sizeof(float) * (size_t)dims);
                }
                free(next);
            }
        }
    }
    free(proj), free(label);
    return st;
}

void pl_index_free(pl_index *ix)
{
    free(ix->mean);
    free(ix->axes);
    free(ix->centroids);
    free(ix->cell_start);
    free(ix->rows);
    free(ix->proj);
    memset(ix, 0, sizeof *ix);
}
