/* similar, mix and journey, and mm_playlist_make. Each is greedy: position by position, the best song
 * that the rules allow there (docs/playlists.md says why, and measures it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "playlist.h"

static const float *row_of(const mm_playlist_engine *e, size_t r)
{
    return e->v->x + r * (size_t)e->d;
}

/* The songs nearest to a set of queries by their distance to the nearest query, best first: a search
 * per query, merged (whatever ranks in the first k by the smallest distance ranks in the first k of the
 * query it is nearest to). */
typedef struct pool {
    pl_hit *h;
    size_t n, k;
    int complete;   /* every song that may be picked is in it */
} pool;

static int cmp_pool(const void *a, const void *b)
{
    const pl_hit *x = a, *y = b;
    return x->dist < y->dist ? -1 : x->dist > y->dist ? 1 : (x->row > y->row) - (x->row < y->row);
}

static mm_status pool_load(pl_run *run, const float *const *qs, size_t nq, size_t k, pool *p, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    if (k > e->n)
        k = e->n;
    free(p->h);
    p->h = malloc(sizeof *p->h * (k * nq + 1));
    if (!p->h)
        return mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    p->n = 0, p->k = k, p->complete = 1;
    for (size_t i = 0; i < nq; i++) {
        long m = pl_search(e, qs[i], k, run->skip, p->h + p->n);
        if (m < 0)
            return mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
        if ((size_t)m == k && k < e->n)
            p->complete = 0;
        p->n += (size_t)m;
    }
    if (nq > 1) {
        for (size_t i = 0; i < p->n; i++) {
            double best = INFINITY;
            for (size_t j = 0; j < nq; j++) {
                double d = sqrt(pl_dist2(e, qs[j], p->h[i].row));
                best = d < best ? d : best;
            }
            p->h[i].dist = best;
        }
        qsort(p->h, p->n, sizeof *p->h, cmp_pool);
        size_t w = 0;
        for (size_t i = 0; i < p->n; i++)
            if (w == 0 || p->h[w - 1].row != p->h[i].row || p->h[w - 1].dist != p->h[i].dist)
                p->h[w++] = p->h[i];
        p->n = w;
    }
    return MM_OK;
}

/* The best song of the pool that fits next, growing the pool as needed; SIZE_MAX when none does. */
static size_t pool_take(pl_run *run, const float *const *qs, size_t nq, pool *p, double *dist, mm_error *err,
                        mm_status *st)
{
    *st = MM_OK;
    for (;;) {
        for (size_t i = 0; i < p->n; i++)
            if (pl_fits(run, p->h[i].row)) {
                *dist = p->h[i].dist;
                return p->h[i].row;
            }
        if (p->complete)
            return SIZE_MAX;
        if ((*st = pool_load(run, qs, nq, p->k * 4, p, err)) != MM_OK)
            return SIZE_MAX;
    }
}

static size_t pool_size(const pl_run *run)
{
    return 2 * (size_t)run->req.length + 16;
}

mm_status pl_similar(pl_run *run, mm_error *err)
{
    const float *q = row_of(run->e, run->seed_rows[0]);
    mm_status st = MM_OK;
    if (run->req.with_seeds)
        st = pl_append(run, run->seed_rows[0], 0, err);
    pool p = {0};
    if (st == MM_OK)
        st = pool_load(run, &q, 1, pool_size(run), &p, err);
    while (st == MM_OK && run->out->n < (size_t)run->req.length) {
        double d;
        size_t r = pool_take(run, &q, 1, &p, &d, err, &st);
        if (r == SIZE_MAX)
            break;
        st = pl_append(run, r, d, err);
    }
    free(p.h);
    return st;
}

/* The distance from row r to the nearest seed. */
static double to_seeds(const pl_run *run, size_t r)
{
    double best = INFINITY;
    for (size_t s = 0; s < run->req.n_seeds; s++) {
        double d = sqrt(pl_dist2(run->e, row_of(run->e, run->seed_rows[s]), r));
        best = d < best ? d : best;
    }
    return best;
}

mm_status pl_mix(pl_run *run, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    const size_t ns = run->req.n_seeds, len = (size_t)run->req.length;
    mm_status st = MM_OK;
    for (size_t s = 0; st == MM_OK && run->req.with_seeds && s < ns && run->out->n < len; s++)
        st = pl_append(run, run->seed_rows[s], 0, err);
    const float **qs = malloc(sizeof *qs * ns);
    float *centroid = calloc((size_t)e->d, sizeof *centroid);
    size_t n_pools = run->req.mix == MM_MIX_ROUND_ROBIN ? ns : 1;
    pool *pools = calloc(n_pools, sizeof *pools);
    if (!qs || !centroid || !pools) {
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
        goto done;
    }
    for (size_t s = 0; s < ns; s++) {
        qs[s] = row_of(e, run->seed_rows[s]);
        for (int c = 0; c < e->d; c++)
            centroid[c] += qs[s][c] / (float)ns;
    }
    /* round robin: a pool per seed, each as deep as its share; the others: one pool */
    size_t depth = run->req.mix == MM_MIX_ROUND_ROBIN ? pool_size(run) / ns + 16 : pool_size(run);
    const float *cq = centroid;
    for (size_t i = 0; st == MM_OK && i < n_pools; i++) {
        if (run->req.mix == MM_MIX_ROUND_ROBIN)
            st = pool_load(run, &qs[i], 1, depth, &pools[i], err);
        else if (run->req.mix == MM_MIX_CENTROID)
            st = pool_load(run, &cq, 1, depth, &pools[i], err);
        else
            st = pool_load(run, qs, ns, depth, &pools[i], err);
    }
    size_t turn = 0, misses = 0;
    while (st == MM_OK && run->out->n < len && misses < n_pools) {
        size_t i = turn++ % n_pools;
        const float *const *q = run->req.mix == MM_MIX_ROUND_ROBIN ? &qs[i] : run->req.mix == MM_MIX_CENTROID ? &cq : qs;
        size_t nq = run->req.mix == MM_MIX_NEAREST_SEED ? ns : 1;
        double d;
        size_t r = pool_take(run, q, nq, &pools[i], &d, err, &st);
        if (r == SIZE_MAX) {
            misses++; /* this seed's neighbourhood is used up: the others go on */
            continue;
        }
        misses = 0;
        st = pl_append(run, r, to_seeds(run, r), err);
    }
done:
    for (size_t i = 0; pools && i < n_pools; i++)
        free(pools[i].h);
    free(pools);
    free(qs);
    free(centroid);
    return st;
}

/* ---- journey ---------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The distance from row r to the segment a-b (dir = b - a, len2 = |dir|^2). */
static double to_line(const mm_playlist_engine *e, const float *a, const float *dir, double len2, size_t r)
{
    const float *x = row_of(e, r);
    double t = 0;
    for (int c = 0; c < e->d; c++)
        t += ((double)x[c] - a[c]) * dir[c];
    t = len2 > 0 ? t / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double s = 0;
    for (int c = 0; c < e->d; c++) {
        double u = (double)x[c] - (a[c] + t * dir[c]);
        s += u * u;
    }
    return sqrt(s);
}

static double step2(const mm_playlist_engine *e, size_t a, size_t b)
{
    return pl_dist2(e, row_of(e, a), b);
}

/* Fewer, larger steps where the greedy pass left a jump: each inner song may give way to one near the
 * middle of its neighbours when that shrinks the larger of its two steps and keeps it near the line. */
static mm_status smooth(pl_run *run, const float *a, const float *dir, double len2, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    mm_playlist *o = run->out;
    const size_t K = 16, d = (size_t)e->d;
    float *mid = malloc(sizeof(float) * d * o->n);
    pl_hit *hits = malloc(sizeof *hits * K * o->n);
    size_t *counts = malloc(sizeof *counts * o->n), *at = malloc(sizeof *at * o->n);
    double *steps = malloc(sizeof(double) * o->n);
    mm_status st = mid && hits && counts && at && steps ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    for (int pass = 0; st == MM_OK && pass < 3; pass++) {
        /* only around the steps that stand out: a quarter over the median step */
        size_t ns = 0, m = 0;
        for (size_t t = 1; t < o->n; t++)
            steps[ns++] = step2(e, run->rows[t - 1], run->rows[t]);
        qsort(steps, ns, sizeof *steps, cmp_double);
        const double bar = 1.5625 * steps[ns / 2];
        for (size_t t = 1; t + 1 < o->n; t++) {
            size_t prev = run->rows[t - 1], cur = run->rows[t], next = run->rows[t + 1];
            if (fmax(step2(e, prev, cur), step2(e, cur, next)) <= bar)
                continue;
            for (size_t c = 0; c < d; c++)
                mid[m * d + c] = 0.5f * (row_of(e, prev)[c] + row_of(e, next)[c]);
            at[m++] = t;
        }
        /* the candidates near every midpoint in one search, then each place in turn with its neighbours
         * as they are by then */
        if (m == 0)
            break;
        if (pl_search_many(e, mid, m, K, run->skip, hits, counts) != 0) {
            st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
            break;
        }
        int changed = 0;
        for (size_t i = 0; i < m; i++) {
            size_t t = at[i], prev = run->rows[t - 1], cur = run->rows[t], next = run->rows[t + 1];
            double now = fmax(step2(e, prev, cur), step2(e, cur, next));
            double dev = to_line(e, a, dir, len2, cur);
            for (size_t j = 0; j < counts[i]; j++) {
                size_t r = hits[i * K + j].row;
                if (run->skip[r]) /* taken by an earlier place in this pass */
                    continue;
                double worst = fmax(step2(e, prev, r), step2(e, r, next));
                if (worst < now * (1 - 1e-9) && pl_fits_at(run, r, t) &&
                    to_line(e, a, dir, len2, r) <= 1.5 * dev + e->nn_distance) {
                    run->skip[cur] = 0, run->skip[r] = 1;
                    run->rows[t] = r;
                    o->songs[t].id = e->v->ids[r];
                    o->songs[t].distance = to_line(e, a, dir, len2, r);
                    cur = r, now = worst, changed = 1;
                }
            }
        }
        if (!changed)
            break;
    }
    free(mid), free(hits), free(counts), free(at), free(steps);
    return st;
}

/* The best sequence through each step's candidates (Viterbi): the sum of every song's squared distance
 * to its point on the line plus every squared step, A and B included. Squares make one long jump cost
 * more than two halves, and the line term puts an unavoidable jump (between two clusters) midway rather
 * than at the end. Candidate rows per step in cand[t * K ...], n_cand[t] of them; the path into path. */
static mm_status best_path(const pl_run *run, size_t A, size_t B, size_t steps, const pl_hit *cand,
                           const size_t *n_cand, size_t K, size_t *path, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    double *cost = malloc(sizeof(double) * steps * K);
    uint32_t *back = malloc(sizeof(uint32_t) * steps * K);
    if (!cost || !back) {
        free(cost), free(back);
        return mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    }
    for (size_t t = 0; t < steps; t++)
        for (size_t i = 0; i < n_cand[t]; i++) {
            const pl_hit *h = &cand[t * K + i];
            double here = h->dist * h->dist, best = INFINITY;
            uint32_t from = 0;
            if (t == 0)
                best = step2(e, A, h->row);
            for (size_t j = 0; t > 0 && j < n_cand[t - 1]; j++) {
                size_t r = cand[(t - 1) * K + j].row;
                if (r == h->row || !isfinite(cost[(t - 1) * K + j]))
                    continue; /* a song twice in a row is no step */
                double c = cost[(t - 1) * K + j] + step2(e, r, h->row);
                if (c < best)
                    best = c, from = (uint32_t)j;
            }
            if (t + 1 == steps)
                best += step2(e, h->row, B);
            cost[t * K + i] = best + here;
            back[t * K + i] = from;
        }
    size_t last = 0;
    for (size_t i = 1; i < n_cand[steps - 1]; i++)
        if (cost[(steps - 1) * K + i] < cost[(steps - 1) * K + last])
            last = i;
    for (size_t t = steps; t-- > 0;) {
        path[t] = cand[t * K + last].row;
        last = back[t * K + last];
    }
    free(cost), free(back);
    return MM_OK;
}

mm_status pl_journey(pl_run *run, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    const size_t A = run->seed_rows[0], B = run->seed_rows[1], len = (size_t)run->req.length;
    const float *a = row_of(e, A), *b = row_of(e, B);
    const size_t steps = len - 2, K = 24;
    float *dir = malloc(sizeof(float) * (size_t)e->d), *p = malloc(sizeof(float) * (size_t)e->d);
    pl_hit *cand = malloc(sizeof *cand * (steps * K + 1));
    size_t *n_cand = malloc(sizeof *n_cand * (steps + 1)), *path = malloc(sizeof *path * (steps + 1));
    mm_status st = dir && p && cand && n_cand && path ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    double len2 = 0;
    for (int c = 0; st == MM_OK && c < e->d; c++) {
        dir[c] = b[c] - a[c];
        len2 += (double)dir[c] * dir[c];
    }
    /* each step's candidates: the songs nearest to its point on the line that the filters allow */
    size_t usable = steps;
    float *points = st == MM_OK ? malloc(sizeof(float) * (steps ? steps : 1) * (size_t)e->d) : NULL;
    if (st == MM_OK && !points)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    for (size_t t = 0; st == MM_OK && t < steps; t++) {
        double f = (double)(t + 1) / (double)(len - 1);
        for (int c = 0; c < e->d; c++)
            points[t * (size_t)e->d + (size_t)c] = (float)(a[c] + f * dir[c]);
    }
    if (st == MM_OK && steps && pl_search_many(e, points, steps, K, run->skip, cand, n_cand) != 0)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    /* a reserve for the steps whose own candidates are all used (a long journey over a short way shares
     * its candidates between many steps): the songs nearest to a few points along the line, found at once */
    const size_t n_res = steps < 8 ? steps : 8, k_res = steps + K;
    pl_hit *reserve = st == MM_OK && n_res ? malloc(sizeof *reserve * n_res * k_res) : NULL;
    size_t *res_n = st == MM_OK && n_res ? calloc(n_res, sizeof *res_n) : NULL;
    if (st == MM_OK && n_res && (!reserve || !res_n))
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    for (size_t i = 0; st == MM_OK && i < n_res; i++)
        memmove(points + i * (size_t)e->d, points + (i * steps / n_res) * (size_t)e->d, sizeof(float) * (size_t)e->d);
    if (st == MM_OK && n_res && pl_search_many(e, points, n_res, k_res, run->skip, reserve, res_n) != 0)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    free(points);
    for (size_t t = 0; st == MM_OK && t < steps; t++)
        if (n_cand[t] == 0 && usable == steps)
            usable = t;
    if (st == MM_OK && usable > 0)
        st = best_path(run, A, B, usable, cand, n_cand, K, path, err);
    else
        usable = 0;
    if (st == MM_OK)
        st = pl_append(run, A, 0, err);
    run->tail_row = B, run->tail_pos = len - 1;
    /* the best path as the rules allow it: a song used already or too close to its artist's or album's
     * last song gives way to the step's best candidate that fits, then to the widening search */
    for (size_t t = 0; st == MM_OK && t < steps; t++) {
        double f = (double)(t + 1) / (double)(len - 1);
        for (int c = 0; c < e->d; c++)
            p[c] = (float)(a[c] + f * dir[c]);
        size_t prev = run->rows[run->out->n - 1], best = SIZE_MAX;
        const int on_path = t < usable && pl_fits(run, path[t]);
        if (on_path)
            best = path[t];
        double best_cost = INFINITY;
        for (size_t i = 0; !on_path && t < usable && i < n_cand[t]; i++) {
            const pl_hit *h = &cand[t * K + i];
            if (!pl_fits(run, h->row))
                continue;
            double c = h->dist * h->dist + step2(e, prev, h->row) +
                       (t + 1 < usable ? step2(e, h->row, path[t + 1]) : step2(e, h->row, B));
            if (c < best_cost)
                best_cost = c, best = h->row;
        }
        const int from_reserve = best == SIZE_MAX;
        for (size_t i = 0; from_reserve && i < n_res; i++)
            for (size_t j = 0; j < res_n[i]; j++) {
                size_t r = reserve[i * k_res + j].row;
                if (!pl_fits(run, r))
                    continue;
                double c = pl_dist2(e, p, r) + step2(e, prev, r);
                if (c < best_cost)
                    best_cost = c, best = r;
            }
        if (best == SIZE_MAX) {
            double d;
            best = pl_pick_nearest(run, p, &d, err, &st);
        }
        if (best == SIZE_MAX)
            break;
        st = pl_append(run, best, to_line(e, a, dir, len2, best), err);
    }
    if (st == MM_OK && run->out->n > 2)
        st = smooth(run, a, dir, len2, err);
    if (st == MM_OK) {
        /* too few songs for every step: the destination comes sooner, spaced from the songs before it */
        run->tail_row = SIZE_MAX;
        while (run->out->n > 1 && !pl_fits_at(run, B, run->out->n))
            run->skip[run->rows[--run->out->n]] = 0;
        st = pl_append(run, B, 0, err);
    }
    free(dir), free(p), free(cand), free(n_cand), free(path), free(reserve), free(res_n);
    return st;
}

mm_status mm_playlist_make(const mm_playlist_engine *e, const mm_playlist_request *req, mm_playlist *out,
                           mm_error *err)
{
    pl_run run;
    mm_status st = pl_run_init(&run, e, req, out, err);
    if (st == MM_OK) {
        switch (run.req.kind) {
        case MM_PLAYLIST_SIMILAR: st = pl_similar(&run, err); break;
        case MM_PLAYLIST_MIX: st = pl_mix(&run, err); break;
        case MM_PLAYLIST_JOURNEY: st = pl_journey(&run, err); break;
        case MM_PLAYLIST_RADIO: st = pl_radio(&run, err); break;
        }
    }
    if (st == MM_OK && run.req.kind != MM_PLAYLIST_RADIO) /* radio measures its own steps */
        pl_finish(&run);
    pl_run_free(&run);
    return st;
}
