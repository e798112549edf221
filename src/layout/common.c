/* Layout helpers: metric names, input checks, metric preparation, sparse symmetrisation, scaling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *mm_metric_name(mm_metric metric)
{
    switch (metric) {
    case MM_METRIC_EUCLIDEAN: return "euclidean";
    case MM_METRIC_COSINE: return "cosine";
    case MM_METRIC_CORRELATION: return "correlation";
    }
    return "?";
}

int mm_metric_parse(const char *name, mm_metric *out)
{
    static const mm_metric all[] = {MM_METRIC_EUCLIDEAN, MM_METRIC_COSINE, MM_METRIC_CORRELATION};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(name, mm_metric_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

mm_status mm_layout_check_finite(const float *x, size_t n, size_t d, const char *what, mm_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return mm_error_set(err, MM_ERR_ARG, "%s: row %zu, column %zu is %s", what, i, j,
                                    isnan(x[i * d + j]) ? "NaN" : "infinite");
    return MM_OK;
}

int layout_cancelled(mm_layout_progress progress, void *user, const char *stage, size_t done,
                     size_t total)
{
    return progress && progress(stage, done, total, user) != 0;
}

mm_status layout_prepare(const float *x, size_t n, size_t d, mm_metric metric, const float **out,
                         float **owned, mm_error *err)
{
    *owned = NULL;
    if (metric == MM_METRIC_EUCLIDEAN) {
        *out = x;
        return MM_OK;
    }
    float *c = malloc(sizeof(float) * (n * d + 1));
    if (!c)
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory preparing %zu x %zu data", n, d);
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * d;
        float *o = c + i * d;
        double mean = 0;
        if (metric == MM_METRIC_CORRELATION) {
            for (size_t j = 0; j < d; j++)
                mean += r[j];
            mean /= (double)d;
        }
        double ss = 0;
        for (size_t j = 0; j < d; j++) {
            double v = r[j] - mean;
            ss += v * v;
        }
        /* A row with no direction (zero, or constant under correlation) stays the zero vector: finite
         * distances (0.5 to the rest) instead of 0/0. The relative threshold catches rounding residue. */
        double scale = ss > 1e-30 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t j = 0; j < d; j++)
            o[j] = (float)((r[j] - mean) * scale);
    }
    *out = c;
    *owned = c;
    return MM_OK;
}

void layout_csr_free(layout_csr *m)
{
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

typedef struct sym_entry {
    int32_t col;
    int32_t dir; /* 0: the row's own entry (row -> col), 1: the transposed one (col -> row) */
    float val;
} sym_entry;

static int cmp_sym(const void *a, const void *b)
{
    const sym_entry *x = a, *y = b;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->dir - y->dir;
}

typedef struct sym_job {
    size_t *start;
    sym_entry *entries;
    size_t *count; /* merged entries per row */
    layout_sym_mode mode;
} sym_job;

static void sym_row(size_t i, int worker, void *arg)
{
    sym_job *job = arg;
    sym_entry *e = job->entries + job->start[i];
    size_t m = job->start[i + 1] - job->start[i];
    qsort(e, m, sizeof *e, cmp_sym);
    size_t w = 0;
    for (size_t r = 0; r < m;) {
        float a = 0, b = 0;
        int32_t c = e[r].col;
        for (; r < m && e[r].col == c; r++) {
            if (e[r].dir == 0)
                a = e[r].val;
            else
                b = e[r].val;
        }
        float v = job->mode == LAYOUT_SYM_MEAN ? 0.5f * (a + b) : a + b - a * b;
        if (v > 0) {
            e[w].col = c;
            e[w].val = v;
            w++;
        }
    }
    job->count[i] = w;
}

mm_status layout_csr_symmetrize(size_t n, int k, const int32_t *idx, const float *val, layout_sym_mode mode,
                                mm_pool *pool, layout_csr *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    size_t nk = n * (size_t)k;
    size_t *start = calloc(n + 1, sizeof *start);
    size_t *fill = malloc(sizeof *fill * (n ? n : 1));
    size_t *count = malloc(sizeof *count * (n ? n : 1));
    sym_entry *entries = malloc(sizeof *entries * (2 * nk + 1));
    if (!start || !fill || !count || !entries) {
        free(start), free(fill), free(count), free(entries);
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory building a %zu-row graph", n);
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            start[i + 1]++;
            start[(size_t)idx[i * (size_t)k + (size_t)j] + 1]++;
        }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    memcpy(fill, start, sizeof *fill * n);
    /* One serial pass fixes the order of every row's entries, so the result never depends on threads. */
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            size_t p = i * (size_t)k + (size_t)j;
            int32_t c = idx[p];
            entries[fill[i]++] = (sym_entry){c, 0, val[p]};
            entries[fill[c]++] = (sym_entry){(int32_t)i, 1, val[p]};
        }
    free(fill);
    sym_job job = {start, entries, count, mode};
    mm_pool_for(pool, n, sym_row, &job);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += count[i];
    out->n = n;
    out->rowptr = malloc(sizeof *out->rowptr * (n + 1));
    out->col = malloc(sizeof *out->col * (total + 1));
    out->val = malloc(sizeof *out->val * (total + 1));
    if (!out->rowptr || !out->col || !out->val) {
        free(start), free(count), free(entries);
        layout_csr_free(out);
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory building a %zu-row graph", n);
    }
    out->rowptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const sym_entry *e = entries + start[i];
        size_t base = out->rowptr[i];
        for (size_t r = 0; r < count[i]; r++) {
            out->col[base + r] = e[r].col;
            out->val[base + r] = e[r].val;
        }
        out->rowptr[i + 1] = base + count[i];
    }
    free(start), free(count), free(entries);
    return MM_OK;
}

mm_status layout_pca_init(const float *x, size_t n, size_t d, int dims, double std, int threads,
                          float *y, mm_error *err)
{
    mm_status st = mm_pca(x, n, d, dims, y, NULL, NULL, NULL, threads, err);
    if (st != MM_OK)
        return st;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i * (size_t)dims] * y[i * (size_t)dims];
    s = n ? sqrt(s / (double)n) : 0;
    /* Degenerate data (all rows equal): no axis to scale by; leave the zeros, callers add jitter. */
    double scale = s > 0 ? std / s : 0;
    for (size_t i = 0; i < n * (size_t)dims; i++)
        y[i] = (float)(y[i] * scale);
    return MM_OK;
}

void mm_layout_frame(const float *y, size_t n, int dims, double *scale, double shift[3])
{
    double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int a = 0; a < dims && a < 3; a++) {
        lo[a] = n ? INFINITY : 0;
        hi[a] = n ? -INFINITY : 0;
    }
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < dims && a < 3; a++) {
            double v = y[i * (size_t)dims + (size_t)a];
            lo[a] = v < lo[a] ? v : lo[a];
            hi[a] = v > hi[a] ? v : hi[a];
        }
    double range = 0;
    for (int a = 0; a < dims && a < 3; a++)
        range = hi[a] - lo[a] > range ? hi[a] - lo[a] : range;
    *scale = range > 0 ? 1.0 / range : 0.0;
    for (int a = 0; a < 3; a++)
        /* the shorter axes centred in [0, 1] */
        shift[a] = a < dims ? -lo[a] * *scale + 0.5 * (1.0 - (hi[a] - lo[a]) * *scale) : 0.0;
}

void mm_layout_normalize(float *y, size_t n, int dims)
{
    double scale, shift[3];
    mm_layout_frame(y, n, dims, &scale, shift);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < dims && a < 3; a++) {
            float *v = &y[i * (size_t)dims + (size_t)a];
            *v = (float)(*v * scale + shift[a]);
        }
}

mm_status layout_order_begin(const float **px, float **owned, size_t n, size_t d, size_t min_n, uint64_t seed,
                             int32_t **order, mm_error *err)
{
    *order = NULL;
    if (n <= min_n)
        return MM_OK;
    int32_t *o = malloc(sizeof(int32_t) * n);
    float *copy = malloc(sizeof(float) * n * d);
    if (!o || !copy) {
        free(o), free(copy);
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory for %zu points", n);
    }
    mm_status st = layout_locality_order(*px, n, d, seed, o, err);
    if (st != MM_OK) {
        free(o), free(copy);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(copy + i * d, *px + (size_t)o[i] * d, sizeof(float) * d);
    free(*owned);
    *owned = copy;
    *px = copy;
    *order = o;
    return MM_OK;
}

void layout_rows_gather(float *dst, const float *src, const int32_t *order, size_t n, int D)
{
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * (size_t)D, src + (order ? (size_t)order[i] : i) * (size_t)D, sizeof(float) * (size_t)D);
}

mm_status layout_order_end(float *y, size_t n, int D, const int32_t *order, mm_error *err)
{
    if (!order)
        return MM_OK;
    float *tmp = malloc(sizeof(float) * n * (size_t)D);
    if (!tmp)
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory for %zu points", n);
    memcpy(tmp, y, sizeof(float) * n * (size_t)D);
    for (size_t i = 0; i < n; i++)
        memcpy(y + (size_t)order[i] * (size_t)D, tmp + i * (size_t)D, sizeof(float) * (size_t)D);
    free(tmp);
    return MM_OK;
}
