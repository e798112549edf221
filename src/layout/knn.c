/* k nearest neighbours: exact by blocked BLAS distance products, approximate by a forest of
 * random-projection trees refined with NN-descent (Dong, Moses & Li 2011). */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

void mm_knn_options_init(mm_knn_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->metric = MM_METRIC_EUCLIDEAN;
    opt->method = MM_KNN_AUTO;
    opt->exact_max = 10000;
    opt->seed = 42;
    opt->max_iters = 0; /* auto */
    opt->delta = 0.001;
}

/* ---- bounded max-heaps of (distance, index), ordered so that ties break by index ----------------- */

static inline int worse(float da, int32_t ia, float db, int32_t ib)
{
    return da > db || (da == db && ia > ib);
}

static void heap_sift_down(float *d, int32_t *ix, uint8_t *fl, int k, int pos)
{
    for (;;) {
        int l = 2 * pos + 1, r = l + 1, big = pos;
        if (l < k && worse(d[l], ix[l], d[big], ix[big]))
            big = l;
        if (r < k && worse(d[r], ix[r], d[big], ix[big]))
            big = r;
        if (big == pos)
            return;
        float td = d[pos];
        d[pos] = d[big];
        d[big] = td;
        int32_t ti = ix[pos];
        ix[pos] = ix[big];
        ix[big] = ti;
        if (fl) {
            uint8_t tf = fl[pos];
            fl[pos] = fl[big];
            fl[big] = tf;
        }
        pos = big;
    }
}

/* Inserts (dist, j) when it beats the worst kept and is not there already; returns 1 if it went in.
 * The final set is the k best of everything offered, whatever the order of the offers. */
static int heap_push(float *d, int32_t *ix, uint8_t *fl, int k, float dist, int32_t j)
{
    if (!worse(d[0], ix[0], dist, j))
        return 0;
    for (int t = 0; t < k; t++)
        if (ix[t] == j)
            return 0;
    d[0] = dist;
    ix[0] = j;
    if (fl)
        fl[0] = 1;
    heap_sift_down(d, ix, fl, k, 0);
    return 1;
}

typedef struct pair_fi {
    float d;
    int32_t i;
} pair_fi;

static int cmp_pair(const void *a, const void *b)
{
    const pair_fi *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Sorts one row ascending by (distance, index). */
static void sort_row(float *d, int32_t *ix, int k)
{
    pair_fi buf[256];
    pair_fi *p = k <= 256 ? buf : malloc(sizeof *p * (size_t)k);
    if (!p) {
        /* insertion sort fallback: rows are short */
        for (int a = 1; a < k; a++)
            for (int b = a; b > 0 && worse(d[b - 1], ix[b - 1], d[b], ix[b]); b--) {
                float td = d[b];
                d[b] = d[b - 1];
                d[b - 1] = td;
                int32_t ti = ix[b];
                ix[b] = ix[b - 1];
                ix[b - 1] = ti;
            }
        return;
    }
    for (int t = 0; t < k; t++)
        p[t] = (pair_fi){d[t], ix[t]};
    qsort(p, (size_t)k, sizeof *p, cmp_pair);
    for (int t = 0; t < k; t++) {
        d[t] = p[t].d;
        ix[t] = p[t].i;
    }
    if (p != buf)
        free(p);
}

/* Squared distance with four accumulators, so the compiler can keep it in vector registers. */
static inline float sqdist(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        float t0 = a[j] - b[j], t1 = a[j + 1] - b[j + 1], t2 = a[j + 2] - b[j + 2], t3 = a[j + 3] - b[j + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; j < d; j++) {
        float t = a[j] - b[j];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

/* ---- exact ------------------------------------------------------------------------------------------ */

enum { QBLOCK = 512, BBLOCK = 4096 };

typedef struct exact_job {
    const float *base, *query;
    size_t nb, d, q0, b0, bm;
    int k, exclude_self;
    const float *bnorm, *qnorm;
    const float *g; /* QBLOCK x bm products */
    float *hd;      /* heaps for the query block */
    int32_t *hi;
} exact_job;

/* |q|^2 + |b|^2 - 2 q.b for a row of products, in place; a plain loop the compiler vectorises. */
LAYOUT_CLONES static void
row_distances(float *restrict g, const float *restrict bnorm, float qn, size_t m)
{
    for (size_t c = 0; c < m; c++) {
        float dd = qn + bnorm[c] - 2.0f * g[c];
        g[c] = dd > 0 ? dd : 0;
    }
}

static void exact_select(size_t r, int worker, void *arg)
{
    exact_job *job = arg;
    int k = job->k;
    float *hd = job->hd + r * (size_t)k;
    int32_t *hi = job->hi + r * (size_t)k;
    float *g = (float *)job->g + r * job->bm;
    row_distances(g, job->bnorm + job->b0, job->qnorm[r], job->bm);
    size_t self = job->exclude_self ? job->q0 + r : (size_t)-1;
    float top = hd[0];
    for (size_t c = 0; c < job->bm; c++) {
        float dd = g[c];
        if (dd > top)
            continue;
        int32_t j = (int32_t)(job->b0 + c);
        if (dd < top || j < hi[0]) {
            if ((size_t)j == self)
                continue;
            hd[0] = dd;
            hi[0] = j;
            heap_sift_down(hd, hi, NULL, k, 0);
            top = hd[0];
        }
    }
}

typedef struct exact_fin {
    const float *base, *query;
    size_t d, q0;
    int k;
    float *hd;
    int32_t *hi;
    int32_t *idx;
    float *sq;
} exact_fin;

static void exact_finish(size_t r, int worker, void *arg)
{
    exact_fin *f = arg;
    int k = f->k;
    float *hd = f->hd + r * (size_t)k;
    int32_t *hi = f->hi + r * (size_t)k;
    /* The expanded form |q|^2 + |b|^2 - 2 q.b loses digits for close points: recompute the kept ones. */
    for (int t = 0; t < k; t++)
        hd[t] = sqdist(f->query + (f->q0 + r) * f->d, f->base + (size_t)hi[t] * f->d, f->d);
    sort_row(hd, hi, k);
    memcpy(f->idx + (f->q0 + r) * (size_t)k, hi, sizeof *hi * (size_t)k);
    memcpy(f->sq + (f->q0 + r) * (size_t)k, hd, sizeof *hd * (size_t)k);
}

mm_status layout_knn_exact_sq(const float *base, size_t nb, const float *query, size_t nq, size_t d, int k,
                              int exclude_self, mm_pool *pool, int32_t *idx, float *sq, mm_error *err)
{
    float *bnorm = malloc(sizeof(float) * nb);
    float *qnorm = malloc(sizeof(float) * QBLOCK);
    float *g = malloc(sizeof(float) * QBLOCK * BBLOCK);
    float *hd = malloc(sizeof(float) * QBLOCK * (size_t)k);
    int32_t *hi = malloc(sizeof(int32_t) * QBLOCK * (size_t)k);
    mm_status st = MM_OK;
    if (!bnorm || !qnorm || !g || !hd || !hi) {
        st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nb; i++)
        bnorm[i] = (float)cblas_sdot((int)d, base + i * d, 1, base + i * d, 1);
    for (size_t q0 = 0; q0 < nq; q0 += QBLOCK) {
        size_t qm = nq - q0 < QBLOCK ? nq - q0 : QBLOCK;
        for (size_t r = 0; r < qm; r++)
            qnorm[r] = (float)cblas_sdot((int)d, query + (q0 + r) * d, 1, query + (q0 + r) * d, 1);
        for (size_t t = 0; t < qm * (size_t)k; t++) {
            hd[t] = INFINITY;
            hi[t] = INT32_MAX;
        }
        for (size_t b0 = 0; b0 < nb; b0 += BBLOCK) {
            size_t bm = nb - b0 < BBLOCK ? nb - b0 : BBLOCK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qm, (int)bm, (int)d, 1.0f, query + q0 * d,
                        (int)d, base + b0 * d, (int)d, 0.0f, g, (int)bm);
            exact_job job = {base, query, nb, d, q0, b0, bm, k, exclude_self, bnorm, qnorm, g, hd, hi};
            mm_pool_for(pool, qm, exact_select, &job);
        }
        exact_fin fin = {base, query, d, q0, k, hd, hi, idx, sq};
        mm_pool_for(pool, qm, exact_finish, &fin);
    }
out:
    free(bnorm), free(qnorm), free(g), free(hd), free(hi);
    return st;
}

/* ---- approximate: random-projection forest ------------------------------------------------------------ */

typedef struct rp_leaf {
    uint32_t start, size;
} rp_leaf;

typedef struct rp_tree {
    int32_t *perm;
    rp_leaf *leaves;
    size_t n_leaves, cap;
    int failed;
} rp_tree;

typedef struct forest_job {
    const float *x;
    size_t n, d;
    int leaf_max;
    uint64_t seed;
    rp_tree *trees;
    float *side_buf; /* n floats per tree */
} forest_job;

static int leaf_add(rp_tree *t, size_t start, size_t size)
{
    if (t->n_leaves == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        rp_leaf *p = realloc(t->leaves, sizeof *p * cap);
        if (!p)
            return -1;
        t->leaves = p;
        t->cap = cap;
    }
    t->leaves[t->n_leaves++] = (rp_leaf){(uint32_t)start, (uint32_t)size};
    return 0;
}

static void build_tree(size_t ti, int worker, void *arg)
{
    forest_job *job = arg;
    rp_tree *t = &job->trees[ti];
    size_t n = job->n, d = job->d;
    float *side = job->side_buf + ti * n;
    layout_rng rng = layout_rng_make(job->seed, 101, ti);
    for (size_t i = 0; i < n; i++)
        t->perm[i] = (int32_t)i;
    /* explicit stack of (start, size) ranges to split */
    size_t stack_cap = 128, top = 0;
    size_t *stack = malloc(sizeof(size_t) * 2 * stack_cap);
    if (!stack) {
        t->failed = 1;
        return;
    }
    stack[top++] = 0;
    stack[top++] = n;
    while (top) {
        size_t size = stack[--top], start = stack[--top];
        int32_t *p = t->perm + start;
        if (size <= (size_t)job->leaf_max) {
            if (leaf_add(t, start, size) != 0) {
                t->failed = 1;
                break;
            }
            continue;
        }
        /* Hyperplane halfway between two random points of the node. */
        size_t a = layout_rng_below(&rng, size), b = layout_rng_below(&rng, size - 1);
        if (b >= a)
            b++;
        const float *pa = job->x + (size_t)p[a] * d, *pb = job->x + (size_t)p[b] * d;
        double off = 0;
        for (size_t j = 0; j < d; j++)
            off += 0.5 * ((double)pa[j] - pb[j]) * ((double)pa[j] + pb[j]);
        for (size_t i = 0; i < size; i++) {
            const float *q = job->x + (size_t)p[i] * d;
            double sd = -off;
            for (size_t j = 0; j < d; j++)
                sd += ((double)pa[j] - pb[j]) * q[j];
            side[i] = (float)sd;
        }
        size_t left = 0;
        for (size_t i = 0; i < size; i++)
            if (side[i] <= 0) {
                int32_t tmp = p[left];
                p[left] = p[i];
                p[i] = tmp;
                float ts = side[left];
                side[left] = side[i];
                side[i] = ts;
                left++;
            }
        if (left == 0 || left == size) {
            /* All on one side (duplicates): split at random in half so the recursion ends. */
            for (size_t i = size - 1; i > 0; i--) {
                size_t j = layout_rng_below(&rng, i + 1);
                int32_t tmp = p[i];
                p[i] = p[j];
                p[j] = tmp;
            }
            left = size / 2;
        }
        if (top + 4 > 2 * stack_cap) {
            stack_cap *= 2;
            size_t *ns = realloc(stack, sizeof(size_t) * 2 * stack_cap);
            if (!ns) {
                t->failed = 1;
                break;
            }
            stack = ns;
        }
        stack[top++] = start;
        stack[top++] = left;
        stack[top++] = start + left;
        stack[top++] = size - left;
    }
    free(stack);
}

/* A locality order for large layouts: the points as the leaves of one random-projection tree list them,
 * left to right, so that points close in space are mostly close in memory. */
mm_status layout_locality_order(const float *x, size_t n, size_t d, uint64_t seed, int32_t *perm, mm_error *err)
{
    rp_tree tree = {.perm = perm};
    float *side = malloc(sizeof(float) * (n ? n : 1));
    if (!side)
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory ordering %zu points", n);
    forest_job job = {x, n, d, 32, seed, &tree, side};
    build_tree(0, 0, &job);
    free(side);
    free(tree.leaves);
    if (tree.failed)
        return mm_error_set(err, MM_ERR_NOMEM, "layout: out of memory ordering %zu points", n);
    return MM_OK;
}

/* ---- NN-descent ---------------------------------------------------------------------------------------- */

typedef struct nnd {
    const float *x;
    size_t n, d;
    int k, mc;
    uint64_t seed;
    int iter;
    float *hd;
    int32_t *hi;
    uint8_t *hf;
    _Atomic float *thresh; /* the worst kept distance per point, read without the lock as a filter */
    atomic_flag *locks;
    /* candidates, mc per point, with their random priorities */
    int32_t *cnew, *cold;
    uint32_t *pnew, *pold;
    int *nnew, *nold;
    const rp_tree *tree;
} nnd;

/* A spin lock that yields: held for a few instructions, but when the machine has more threads than cores
 * a holder can be descheduled, and pure spinning then burns whole time slices (measured: NN-descent 14x
 * slower beside another busy process). */
static inline void lock(atomic_flag *l)
{
    int spins = 0;
    while (atomic_flag_test_and_set_explicit(l, memory_order_acquire))
        if (++spins == 64) {
            sched_yield();
            spins = 0;
        }
}
static inline void unlock(atomic_flag *l)
{
    atomic_flag_clear_explicit(l, memory_order_release);
}

static void offer(nnd *s, int32_t u, int32_t v, float dist)
{
    if (dist > atomic_load_explicit(&s->thresh[u], memory_order_relaxed))
        return;
    size_t k = (size_t)s->k;
    lock(&s->locks[u]);
    if (heap_push(s->hd + (size_t)u * k, s->hi + (size_t)u * k, s->hf + (size_t)u * k, s->k, dist, v))
        atomic_store_explicit(&s->thresh[u], s->hd[(size_t)u * k], memory_order_relaxed);
    unlock(&s->locks[u]);
}

static void leaf_join(size_t li, int worker, void *arg)
{
    nnd *s = arg;
    rp_leaf lf = s->tree->leaves[li];
    const int32_t *p = s->tree->perm + lf.start;
    for (uint32_t a = 0; a < lf.size; a++)
        for (uint32_t b = a + 1; b < lf.size; b++) {
            float dd = sqdist(s->x + (size_t)p[a] * s->d, s->x + (size_t)p[b] * s->d, s->d);
            offer(s, p[a], p[b], dd);
            offer(s, p[b], p[a], dd);
        }
}

/* Bounded candidate set by priority (smallest priorities kept): order-independent. */
static void cand_push(int32_t *c, uint32_t *pr, int *cnt, int mc, int32_t v, uint32_t prio)
{
    for (int t = 0; t < *cnt; t++)
        if (c[t] == v)
            return;
    if (*cnt < mc) {
        c[*cnt] = v;
        pr[*cnt] = prio;
        (*cnt)++;
        return;
    }
    int worst = 0;
    for (int t = 1; t < mc; t++)
        if (pr[t] > pr[worst] || (pr[t] == pr[worst] && c[t] > c[worst]))
            worst = t;
    if (prio < pr[worst] || (prio == pr[worst] && v < c[worst])) {
        c[worst] = v;
        pr[worst] = prio;
    }
}

static inline uint32_t prio_of(const nnd *s, int32_t u, int32_t v)
{
    uint64_t a = (uint64_t)(uint32_t)(u < v ? u : v), b = (uint64_t)(uint32_t)(u < v ? v : u);
    return (uint32_t)(layout_mix64(s->seed ^ layout_mix64(((uint64_t)s->iter << 1) ^ layout_mix64((a << 32) | b))) >> 32);
}

static void gather_cands(size_t ui, int worker, void *arg)
{
    nnd *s = arg;
    size_t k = (size_t)s->k, mc = (size_t)s->mc;
    int32_t u = (int32_t)ui;
    for (size_t t = 0; t < k; t++) {
        int32_t v = s->hi[ui * k + t];
        if (v < 0 || v == INT32_MAX)
            continue;
        uint32_t pr = prio_of(s, u, v);
        int isnew = s->hf[ui * k + t];
        int32_t *c = isnew ? s->cnew : s->cold;
        uint32_t *pp = isnew ? s->pnew : s->pold;
        int *cnt = isnew ? s->nnew : s->nold;
        lock(&s->locks[u]);
        cand_push(c + ui * mc, pp + ui * mc, &cnt[u], s->mc, v, pr);
        unlock(&s->locks[u]);
        lock(&s->locks[v]);
        cand_push(c + (size_t)v * mc, pp + (size_t)v * mc, &cnt[v], s->mc, u, pr);
        unlock(&s->locks[v]);
    }
}

static void clear_flags(size_t ui, int worker, void *arg)
{
    nnd *s = arg;
    size_t k = (size_t)s->k, mc = (size_t)s->mc;
    for (size_t t = 0; t < k; t++) {
        if (!s->hf[ui * k + t])
            continue;
        int32_t v = s->hi[ui * k + t];
        for (int c = 0; c < s->nnew[ui]; c++)
            if (s->cnew[ui * mc + (size_t)c] == v) {
                s->hf[ui * k + t] = 0;
                break;
            }
    }
}

static void local_join(size_t ui, int worker, void *arg)
{
    nnd *s = arg;
    size_t mc = (size_t)s->mc, d = s->d;
    const int32_t *cn = s->cnew + ui * mc, *co = s->cold + ui * mc;
    int nn = s->nnew[ui], no = s->nold[ui];
    for (int a = 0; a < nn; a++) {
        const float *xa = s->x + (size_t)cn[a] * d;
        for (int b = a + 1; b < nn; b++) {
            float dd = sqdist(xa, s->x + (size_t)cn[b] * d, d);
            offer(s, cn[a], cn[b], dd);
            offer(s, cn[b], cn[a], dd);
        }
        for (int b = 0; b < no; b++) {
            if (co[b] == cn[a])
                continue;
            float dd = sqdist(xa, s->x + (size_t)co[b] * d, d);
            offer(s, cn[a], co[b], dd);
            offer(s, co[b], cn[a], dd);
        }
    }
}

static void fill_random(size_t ui, int worker, void *arg)
{
    nnd *s = arg;
    size_t k = (size_t)s->k;
    layout_rng rng = layout_rng_make(s->seed, 103, ui);
    for (int tries = 0; tries < 8 * s->k && s->hi[ui * k] == INT32_MAX; tries++) {
        int32_t v = (int32_t)layout_rng_below(&rng, s->n);
        if ((size_t)v == ui)
            continue;
        heap_push(s->hd + ui * k, s->hi + ui * k, s->hf + ui * k, s->k, sqdist(s->x + ui * s->d, s->x + (size_t)v * s->d, s->d), v);
    }
    s->thresh[ui] = s->hd[ui * k];
}

mm_status layout_knn_approx_sq(const float *x, size_t n, size_t d, int k, const mm_knn_options *opt,
                               mm_pool *pool, int32_t *idx, float *sq, mm_error *err)
{
    mm_status st = MM_OK;
    /* For large k (t-SNE's 3 x perplexity neighbours) NN-descent's local joins grow as k x candidates: start
     * from more trees and refine briefly instead, with fewer candidates. k = 90 on 6000 Gaussian 10-d points:
     * recall 0.97 in 0.4 s (two rounds of 10: 0.83); on 23k softmax-like points about 2 s against 11 s with
     * the small-k settings (4.4 s exact), and t-SNE's trustworthiness does not change. */
    const int large_k = k > 30;
    int n_trees = opt->n_trees > 0 ? opt->n_trees : (large_k ? 12 : 6);
    if (n > 200000 && opt->n_trees <= 0)
        n_trees += 2;
    int leaf_max = k + 1 > 32 ? k + 1 : 32;
    if ((size_t)leaf_max > n)
        leaf_max = (int)n;
    int mc = opt->max_candidates > 0 ? opt->max_candidates : (large_k ? 15 : k);
    const int max_iters = opt->max_iters > 0 ? opt->max_iters : (large_k ? 3 : 10);
    size_t nk = n * (size_t)k;
    nnd s = {.x = x, .n = n, .d = d, .k = k, .mc = mc, .seed = opt->seed};
    rp_tree *trees = calloc((size_t)n_trees, sizeof *trees);
    float *side = malloc(sizeof(float) * n * (size_t)n_trees);
    s.hd = malloc(sizeof(float) * nk);
    s.hi = malloc(sizeof(int32_t) * nk);
    s.hf = calloc(nk, 1);
    s.thresh = malloc(sizeof(*s.thresh) * n);
    s.locks = malloc(sizeof(atomic_flag) * n);
    s.cnew = malloc(sizeof(int32_t) * n * (size_t)mc);
    s.cold = malloc(sizeof(int32_t) * n * (size_t)mc);
    s.pnew = malloc(sizeof(uint32_t) * n * (size_t)mc);
    s.pold = malloc(sizeof(uint32_t) * n * (size_t)mc);
    s.nnew = malloc(sizeof(int) * n);
    s.nold = malloc(sizeof(int) * n);
    if (!trees || !side || !s.hd || !s.hi || !s.hf || !s.thresh || !s.locks || !s.cnew || !s.cold || !s.pnew ||
        !s.pold || !s.nnew || !s.nold) {
        st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory for approximate neighbours of %zu points", n);
        goto out;
    }
    for (size_t i = 0; i < nk; i++) {
        s.hd[i] = INFINITY;
        s.hi[i] = INT32_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        atomic_init(&s.thresh[i], INFINITY);
        atomic_flag_clear(&s.locks[i]);
    }
    for (int t = 0; t < n_trees; t++)
        if (!(trees[t].perm = malloc(sizeof(int32_t) * n))) {
            st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory for trees");
            goto out;
        }
    forest_job fj = {x, n, d, leaf_max, opt->seed, trees, side};
    mm_pool_for(pool, (size_t)n_trees, build_tree, &fj);
    free(side);
    side = NULL;
    for (int t = 0; t < n_trees; t++) {
        if (trees[t].failed) {
            st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory building trees");
            goto out;
        }
        s.tree = &trees[t];
        mm_pool_for(pool, trees[t].n_leaves, leaf_join, &s);
        free(trees[t].perm);
        trees[t].perm = NULL;
        if (layout_cancelled(opt->progress, opt->progress_user, "knn", (size_t)t + 1, (size_t)(n_trees + max_iters))) {
            st = mm_error_set(err, MM_ERR_CANCELLED, "knn: cancelled");
            goto out;
        }
    }
    mm_pool_for(pool, n, fill_random, &s);
    for (int it = 0; it < max_iters; it++) {
        s.iter = it;
        memset(s.nnew, 0, sizeof(int) * n);
        memset(s.nold, 0, sizeof(int) * n);
        mm_pool_for(pool, n, gather_cands, &s);
        mm_pool_for(pool, n, clear_flags, &s);
        mm_pool_for(pool, n, local_join, &s);
        size_t changed = 0;
        for (size_t i = 0; i < nk; i++)
            changed += s.hf[i];
        if (layout_cancelled(opt->progress, opt->progress_user, "knn", (size_t)(n_trees + it + 1), (size_t)(n_trees + max_iters))) {
            st = mm_error_set(err, MM_ERR_CANCELLED, "knn: cancelled");
            goto out;
        }
        if ((double)changed < opt->delta * (double)nk)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        /* Rare: a point the trees and the random fill left short (tiny n); complete it by a scan. */
        for (size_t v = 0; v < n && s.hi[i * (size_t)k] == INT32_MAX; v++)
            if (v != i)
                heap_push(s.hd + i * (size_t)k, s.hi + i * (size_t)k, s.hf + i * (size_t)k, k,
                          sqdist(x + i * d, x + v * d, d), (int32_t)v);
        sort_row(s.hd + i * (size_t)k, s.hi + i * (size_t)k, k);
        memcpy(idx + i * (size_t)k, s.hi + i * (size_t)k, sizeof(int32_t) * (size_t)k);
        memcpy(sq + i * (size_t)k, s.hd + i * (size_t)k, sizeof(float) * (size_t)k);
    }
out:
    for (int t = 0; trees && t < n_trees; t++) {
        free(trees[t].perm);
        free(trees[t].leaves);
    }
    free(trees), free(side), free(s.hd), free(s.hi), free(s.hf), free((void *)s.thresh), free(s.locks);
    free(s.cnew), free(s.cold), free(s.pnew), free(s.pold), free(s.nnew), free(s.nold);
    return st;
}

/* ---- public entry points -------------------------------------------------------------------------------- */

mm_status layout_knn_prepared(const float *px, size_t n, size_t d, int k, mm_knn_method method, uint64_t seed,
                              mm_pool *pool, mm_layout_progress progress, void *user, int32_t *idx, float *sq,
                              mm_error *err)
{
    mm_knn_options o;
    mm_knn_options_init(&o);
    o.seed = seed;
    o.progress = progress;
    o.progress_user = user;
    if (method == MM_KNN_EXACT || (method == MM_KNN_AUTO && n <= o.exact_max))
        return layout_knn_exact_sq(px, n, px, n, d, k, 1, pool, idx, sq, err);
    return layout_knn_approx_sq(px, n, d, k, &o, pool, idx, sq, err);
}

mm_status mm_knn(const float *x, size_t n, size_t d, int k, const mm_knn_options *opt_in, int32_t *idx,
                 float *dist, mm_error *err)
{
    mm_knn_options opt;
    mm_knn_options_init(&opt);
    util_options_copy(&opt, sizeof opt, opt_in, UTIL_OPTIONS_END(mm_knn_options, progress_user));
    if (!x || !idx || d == 0)
        return mm_error_set(err, MM_ERR_ARG, "knn: no data");
    if (k < 1 || (size_t)k >= n)
        return mm_error_set(err, MM_ERR_ARG, "knn: %d neighbours need more than %d points; there are %zu", k, k, n);
    mm_status st = mm_layout_check_finite(x, n, d, "knn: input", err);
    if (st != MM_OK)
        return st;
    const float *px;
    float *owned;
    if ((st = layout_prepare(x, n, d, opt.metric, &px, &owned, err)) != MM_OK)
        return st;
    mm_pool *pool = NULL;
    float *sq = malloc(sizeof(float) * n * (size_t)k);
    if (!sq)
        st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory");
    if (st == MM_OK)
        st = mm_pool_open(&pool, opt.threads, err);
    if (st == MM_OK) {
        if (opt.method == MM_KNN_EXACT || (opt.method == MM_KNN_AUTO && n <= opt.exact_max))
            st = layout_knn_exact_sq(px, n, px, n, d, k, 1, pool, idx, sq, err);
        else
            st = layout_knn_approx_sq(px, n, d, k, &opt, pool, idx, sq, err);
    }
    if (st == MM_OK && dist)
        for (size_t i = 0; i < n * (size_t)k; i++)
            dist[i] = layout_metric_from_sq(opt.metric, sq[i]);
    mm_pool_close(pool);
    free(sq);
    free(owned);
    return st;
}

mm_status mm_knn_query(const float *base, size_t nb, const float *query, size_t nq, size_t d, int k,
                       mm_metric metric, int threads, int32_t *idx, float *dist, mm_error *err)
{
    if (!base || !query || !idx || d == 0)
        return mm_error_set(err, MM_ERR_ARG, "knn: no data");
    if (k < 1 || (size_t)k > nb)
        return mm_error_set(err, MM_ERR_ARG, "knn: %d neighbours need at least %d points; there are %zu", k, k, nb);
    mm_status st = mm_layout_check_finite(base, nb, d, "knn: base", err);
    if (st == MM_OK)
        st = mm_layout_check_finite(query, nq, d, "knn: query", err);
    if (st != MM_OK)
        return st;
    const float *pb, *pq;
    float *ob = NULL, *oq = NULL, *sq = NULL;
    mm_pool *pool = NULL;
    if ((st = layout_prepare(base, nb, d, metric, &pb, &ob, err)) != MM_OK)
        return st;
    if ((st = layout_prepare(query, nq, d, metric, &pq, &oq, err)) != MM_OK)
        goto out;
    if (!(sq = malloc(sizeof(float) * (nq * (size_t)k + 1)))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "knn: out of memory");
        goto out;
    }
    if ((st = mm_pool_open(&pool, threads, err)) != MM_OK)
        goto out;
    st = layout_knn_exact_sq(pb, nb, pq, nq, d, k, 0, pool, idx, sq, err);
    if (st == MM_OK && dist)
        for (size_t i = 0; i < nq * (size_t)k; i++)
            dist[i] = layout_metric_from_sq(metric, sq[i]);
out:
    mm_pool_close(pool);
    free(ob), free(oq), free(sq);
    return st;
}

double mm_knn_recall(const int32_t *approx, const int32_t *exact, size_t n, int k)
{
    size_t hit = 0;
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
                if (approx[i * (size_t)k + (size_t)a] == exact[i * (size_t)k + (size_t)b]) {
                    hit++;
                    break;
                }
    return n ? (double)hit / ((double)n * k) : 1.0;
}
