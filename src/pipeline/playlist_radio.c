/* radio: an endless walk that never repeats a song. It wanders rather than orbits its seed: it heads for
 * a far, randomly drawn song, a small step at a time (each step the song nearest to a point a little
 * further along the way, one of the best three by chance), and draws a new destination when it gets
 * there. Everything it needs to go on is in its state string:
 *   mmr1.START.TARGET.RNG.RECENT.PLAYED
 * START and TARGET track ids, RNG the generator's 256 bits in hex, RECENT the last songs (newest last,
 * '-' between; the first is the song playing), PLAYED every song played so far as base64url varints of
 * the gaps between ascending ids. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playlist.h"

#define STATE_TAG "mmr1"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

typedef struct radio_state {
    int64_t start, target;
    mm_rng rng;
    int64_t *recent;
    size_t n_recent;
    int64_t *played;
    size_t n_played;
} radio_state;

static void state_free(radio_state *s)
{
    free(s->recent);
    free(s->played);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses a state; -1 when it is not one (a damaged or foreign string). */
static int state_parse(const char *text, radio_state *s)
{
    memset(s, 0, sizeof *s);
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len + 1);
    char *field[6];
    int nf = 0;
    for (char *p = copy, *tok; nf < 6 && (tok = strsep(&p, ".")) != NULL;)
        field[nf++] = tok;
    int rc = nf == 6 && strcmp(field[0], STATE_TAG) == 0 && strlen(field[3]) == 64 ? 0 : -1;
    char *end;
    if (rc == 0) {
        s->start = strtoll(field[1], &end, 10);
        rc = *end || s->start < 1 ? -1 : 0;
        s->target = strtoll(field[2], &end, 10);
        rc = rc || *end ? -1 : 0;
    }
    for (int w = 0; rc == 0 && w < 4; w++) {
        char hex[17];
        memcpy(hex, field[3] + 16 * w, 16);
        hex[16] = '\0';
        s->rng.s[w] = strtoull(hex, &end, 16);
        rc = *end ? -1 : 0;
    }
    if (rc == 0) {
        size_t cap = 1;
        for (const char *p = field[4]; *p; p++)
            cap += *p == '-';
        s->recent = malloc(sizeof *s->recent * cap);
        rc = s->recent ? 0 : -1;
        for (char *p = field[4], *tok; rc == 0 && (tok = strsep(&p, "-")) != NULL;) {
            int64_t id = strtoll(tok, &end, 10);
            rc = *end || id < 1 ? -1 : 0;
            s->recent[s->n_recent++] = id;
        }
        rc = rc || s->n_recent == 0 ? -1 : 0;
    }
    if (rc == 0) {
        size_t cap = strlen(field[5]) + 1; /* at least a character per id */
        s->played = malloc(sizeof *s->played * cap);
        rc = s->played ? 0 : -1;
        uint64_t v = 0, prev = 0;
        int shift = 0;
        unsigned bits = 0, nbits = 0;
        for (const char *p = field[5]; rc == 0 && *p; p++) {
            const char *at = strchr(B64, *p);
            if (!at) {
                rc = -1;
                break;
            }
            bits = (bits << 6) | (unsigned)(at - B64);
            nbits += 6;
            while (rc == 0 && nbits >= 8) {
                unsigned byte = (bits >> (nbits - 8)) & 0xff;
                nbits -= 8;
                if (shift > 56) {
                    rc = -1;
                    break;
                }
                v |= (uint64_t)(byte & 0x7f) << shift;
                shift += 7;
                if (!(byte & 0x80)) {
                    prev += v;
                    s->played[s->n_played++] = (int64_t)prev;
                    v = 0, shift = 0;
                }
            }
        }
        rc = rc || shift ? -1 : 0;
    }
    free(copy);
    if (rc != 0)
        state_free(s);
    return rc;
}

typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *d = realloc(t->data, cap);
        if (!d) {
            t->failed = 1;
            return;
        }
        t->data = d, t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static char *state_format(const radio_state *s)
{
    text t = {0};
    char buf[96];
    int n = snprintf(buf, sizeof buf, STATE_TAG ".%lld.%lld.", (long long)s->start, (long long)s->target);
    put(&t, buf, (size_t)n);
    for (int w = 0; w < 4; w++) {
        n = snprintf(buf, sizeof buf, "%016llx", (unsigned long long)s->rng.s[w]);
        put(&t, buf, (size_t)n);
    }
    put(&t, ".", 1);
    for (size_t i = 0; i < s->n_recent; i++) {
        n = snprintf(buf, sizeof buf, "%s%lld", i ? "-" : "", (long long)s->recent[i]);
        put(&t, buf, (size_t)n);
    }
    put(&t, ".", 1);
    uint64_t prev = 0;
    unsigned bits = 0, nbits = 0;
    for (size_t i = 0; i < s->n_played; i++) {
        uint64_t gap = (uint64_t)s->played[i] - prev;
        prev = (uint64_t)s->played[i];
        do {
            unsigned byte = (unsigned)(gap & 0x7f);
            gap >>= 7;
            byte |= gap ? 0x80 : 0;
            bits = (bits << 8) | byte;
            nbits += 8;
            while (nbits >= 6) {
                put(&t, &B64[(bits >> (nbits - 6)) & 63], 1);
                nbits -= 6;
            }
            bits &= (1u << nbits) - 1;
        } while (gap);
    }
    if (nbits) /* zero bits fill the last character; the parser ignores a partial byte */
        put(&t, &B64[(bits << (6 - nbits)) & 63], 1);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

/* ---- the walk ---------------------------------------------------------------------------------------- */

/* A new destination: the farthest of a few songs drawn at random among those that may be played, so the
 * walk crosses the collection instead of circling where it is. SIZE_MAX: none left. */
static size_t draw_target(pl_run *run, size_t cur, mm_rng *rng)
{
    const mm_playlist_engine *e = run->e;
    size_t best = SIZE_MAX;
    double best_d = -1;
    for (int tries = 0; tries < 64; tries++) {
        size_t r = (size_t)mm_rng_below(rng, e->n);
        if (run->skip[r])
            continue;
        double d = pl_dist2(e, e->v->x + cur * (size_t)e->d, r);
        if (d > best_d)
            best_d = d, best = r;
        if (tries >= 7 && best != SIZE_MAX)
            break;
    }
    if (best == SIZE_MAX) /* nearly everything played: any song still allowed */
        for (size_t r = 0; r < e->n && best == SIZE_MAX; r++)
            if (!run->skip[r])
                best = r;
    return best;
}

static mm_status walk(pl_run *run, radio_state *s, size_t goal, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    const size_t d = (size_t)e->d;
    float *q = malloc(sizeof(float) * d);
    const size_t k = 24;
    pl_hit *hits = malloc(sizeof *hits * k);
    mm_status st = q && hits ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "radio: out of memory");
    long t = mm_song_vectors_find(e->v, s->target);
    size_t target = t >= 0 && !run->skip[t] ? (size_t)t : SIZE_MAX;
    const double reach = 2 * e->nn_distance;
    while (st == MM_OK && run->out->n < goal) {
        size_t cur = run->rows[run->out->n - 1];
        const float *c = e->v->x + cur * d;
        if (target == SIZE_MAX || run->skip[target] || sqrt(pl_dist2(e, c, target)) <= reach)
            target = draw_target(run, cur, &s->rng);
        if (target == SIZE_MAX)
            break;
        /* a point a step and a half of the usual nearest-neighbour distance towards the destination */
        const float *g = e->v->x + target * d;
        double dist = sqrt(pl_dist2(e, c, target));
        double f = dist > 0 ? fmin(1.0, 1.5 * e->nn_distance / dist) : 1.0;
        for (size_t j = 0; j < d; j++)
            q[j] = (float)(c[j] + f * (g[j] - c[j]));
        size_t pick[3], n_pick = 0;
        for (size_t want = k; n_pick == 0;) {
            pl_hit *h = want == k ? hits : malloc(sizeof *h * want);
            long m = h ? pl_search(e, q, want, run->skip, h) : -1;
            if (m < 0) {
                st = mm_error_set(err, MM_ERR_NOMEM, "radio: out of memory");
                break;
            }
            for (long i = 0; i < m && n_pick < 3; i++)
                if (pl_fits(run, h[i].row))
                    pick[n_pick++] = h[i].row;
            if (h != hits)
                free(h);
            if (n_pick || (size_t)m < want || want >= e->n)
                break;
            want *= 4;
        }
        if (st != MM_OK || n_pick == 0)
            break;
        /* mostly the best, sometimes the second or third: the same seed still walks the same way */
        double u = mm_rng_uniform(&s->rng);
        size_t choice = u < 0.6 || n_pick == 1 ? 0 : u < 0.85 || n_pick == 2 ? 1 : 2;
        size_t r = pick[choice];
        long start = mm_song_vectors_find(e->v, s->start);
        double from_start = start >= 0 ? sqrt(pl_dist2(e, e->v->x + (size_t)start * d, r)) : NAN;
        st = pl_append(run, r, from_start, err);
    }
    s->target = target == SIZE_MAX ? 0 : e->v->ids[target];
    free(q), free(hits);
    return st;
}

mm_status pl_radio(pl_run *run, mm_error *err)
{
    const mm_playlist_engine *e = run->e;
    radio_state s = {0};
    mm_status st = MM_OK;
    if (run->req.state) {
        if (state_parse(run->req.state, &s) != 0)
            return mm_error_set(err, MM_ERR_ARG, "radio: not a radio state (or a damaged one)");
    } else {
        s.start = run->req.seeds[0];
        s.recent = malloc(sizeof *s.recent);
        if (!s.recent)
            return mm_error_set(err, MM_ERR_NOMEM, "radio: out of memory");
        s.recent[s.n_recent++] = s.start;
        mm_rng_seed(&s.rng, run->req.seed);
    }
    if (run->req.n_seeds && run->req.state) {
        state_free(&s);
        return mm_error_set(err, MM_ERR_ARG, "radio: a seed song or a state, not both");
    }
    /* the songs played before: never again; the last few go first in the list, so the spacing rules see
     * them, and are taken off again at the end */
    for (size_t i = 0; i < s.n_played; i++) {
        long r = mm_song_vectors_find(e->v, s.played[i]);
        if (r >= 0)
            run->skip[r] = 1;
    }
    size_t prefix = 0;
    for (size_t i = 0; st == MM_OK && i < s.n_recent; i++) {
        long r = mm_song_vectors_find(e->v, s.recent[i]);
        if (r < 0)
            continue; /* a song gone from the catalog since */
        st = pl_append(run, (size_t)r, 0, err);
        prefix++;
    }
    if (st == MM_OK && prefix == 0)
        st = mm_error_set(err, MM_ERR_NOT_FOUND, "radio: none of the state's recent songs has vectors");
    /* a fresh radio that starts with its seed keeps it in the list */
    size_t drop = run->req.state || !run->req.with_seeds ? prefix : prefix - 1;
    if (st == MM_OK)
        st = walk(run, &s, drop + (size_t)run->req.length, err);
    if (st == MM_OK) {
        pl_finish(run);
        mm_playlist *o = run->out;
        /* the state: every song played, the last few, the destination and the generator */
        size_t total = s.n_played + o->n;
        int64_t *played = realloc(s.played, sizeof *played * (total ? total : 1));
        int gap = run->req.artist_gap > run->req.album_gap ? run->req.artist_gap : run->req.album_gap;
        size_t keep = gap > 1 ? (size_t)gap : 1;
        int64_t *recent = malloc(sizeof *recent * keep);
        if (!played || !recent) {
            free(recent);
            if (played)
                s.played = played;
            st = mm_error_set(err, MM_ERR_NOMEM, "radio: out of memory");
        } else {
            s.played = played;
            for (size_t i = 0; i < o->n; i++)
                s.played[s.n_played++] = o->songs[i].id;
            qsort(s.played, s.n_played, sizeof *s.played, cmp_i64);
            size_t w = 0;
            for (size_t i = 0; i < s.n_played; i++)
                if (w == 0 || s.played[w - 1] != s.played[i])
                    s.played[w++] = s.played[i];
            s.n_played = w;
            size_t from = o->n > keep ? o->n - keep : 0;
            free(s.recent);
            s.recent = recent;
            s.n_recent = 0;
            for (size_t i = from; i < o->n; i++)
                s.recent[s.n_recent++] = o->songs[i].id;
            o->state = state_format(&s);
            if (!o->state)
                st = mm_error_set(err, MM_ERR_NOMEM, "radio: out of memory");
        }
        /* the songs of the state's past are not this call's */
        if (st == MM_OK && drop) {
            memmove(o->songs, o->songs + drop, sizeof *o->songs * (o->n - drop));
            memmove(run->rows, run->rows + drop, sizeof *run->rows * (o->n - drop));
            o->n -= drop;
            double sum = 0;
            o->max_step = 0;
            for (size_t i = 0; i < o->n; i++) {
                sum += o->songs[i].step;
                o->max_step = fmax(o->max_step, o->songs[i].step);
            }
            o->mean_step = o->n ? sum / (double)o->n : 0;
        }
    }
    state_free(&s);
    return st;
}
