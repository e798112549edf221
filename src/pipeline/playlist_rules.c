/* The rules every playlist keeps: no song twice, an artist or album at most once in any artist_gap /
 * album_gap consecutive songs, duration bounds, genres and folders to keep or leave out. The filters are
 * one skip byte per song, so the searches never even offer a filtered song; spacing depends on the
 * position and is checked on what a search offers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "playlist.h"

void mm_playlist_request_init(mm_playlist_request *req)
{
    memset(req, 0, sizeof *req);
    req->size = sizeof *req;
    req->kind = MM_PLAYLIST_SIMILAR;
    req->length = 20;
    req->mix = MM_MIX_ROUND_ROBIN;
    req->seed = 1;
    req->artist_gap = 3;
    req->album_gap = 3;
}

void mm_playlist_free(mm_playlist *pl)
{
    if (!pl)
        return;
    free(pl->songs);
    free(pl->state);
    memset(pl, 0, sizeof *pl);
}

static int genre_in(const char *genre, const char *const *list, size_t n)
{
    char g[MM_LABEL_NAME_MAX], w[MM_LABEL_NAME_MAX];
    mm_label_normalise(genre, g, sizeof g);
    if (!g[0])
        return 0;
    for (size_t i = 0; i < n; i++) {
        mm_label_normalise(list[i] ? list[i] : "", w, sizeof w);
        if (strcmp(g, w) == 0)
            return 1;
    }
    return 0;
}

/* Whether path lies under one of the folders (a whole leading path component, not "/music2" for "/music"). */
static int under(const char *path, const char *const *folders, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *f = folders[i];
        if (!f || !*f)
            continue;
        size_t len = strlen(f);
        while (len > 1 && f[len - 1] == '/')
            len--;
        if (strncmp(path, f, len) == 0 && (path[len] == '/' || path[len] == '\0' || (len == 1 && f[0] == '/')))
            return 1;
    }
    return 0;
}

static int filtered_out(const mm_playlist_request *q, const mm_playlist_song *s)
{
    if (q->min_duration > 0 && !(s->duration >= q->min_duration))
        return 1;
    if (q->max_duration > 0 && !(s->duration <= q->max_duration))
        return 1;
    if (q->genres && q->n_genres && !genre_in(s->genre, q->genres, q->n_genres))
        return 1;
    if (q->exclude_genres && genre_in(s->genre, q->exclude_genres, q->n_exclude_genres))
        return 1;
    if (q->folders && q->n_folders && !under(s->path, q->folders, q->n_folders))
        return 1;
    if (q->exclude_folders && under(s->path, q->exclude_folders, q->n_exclude_folders))
        return 1;
    return 0;
}

mm_status pl_run_init(pl_run *run, const mm_playlist_engine *e, const mm_playlist_request *req, mm_playlist *out,
                      mm_error *err)
{
    memset(run, 0, sizeof *run);
    memset(out, 0, sizeof *out);
    run->e = e, run->out = out;
    run->tail_row = SIZE_MAX;
    mm_playlist_request_init(&run->req);
    util_options_copy(&run->req, sizeof run->req, req, UTIL_OPTIONS_END(mm_playlist_request, state));
    const mm_playlist_request *q = &run->req;
    out->kind = q->kind;
    out->nn_distance = e->nn_distance;
    if (q->kind < MM_PLAYLIST_SIMILAR || q->kind > MM_PLAYLIST_RADIO)
        return mm_error_set(err, MM_ERR_ARG, "unknown kind of playlist (%d)", (int)q->kind);
    if (q->length < 1 || q->length > 1000000)
        return mm_error_set(err, MM_ERR_ARG, "a playlist's length is 1 .. 1000000, not %d", q->length);
    if (q->n_seeds && !q->seeds)
        return mm_error_set(err, MM_ERR_ARG, "%zu seeds but no seed array", q->n_seeds);
    switch (q->kind) {
    case MM_PLAYLIST_SIMILAR:
        if (q->n_seeds != 1)
            return mm_error_set(err, MM_ERR_ARG, "similar takes one seed song, not %zu", q->n_seeds);
        break;
    case MM_PLAYLIST_MIX:
        if (q->n_seeds < 1)
            return mm_error_set(err, MM_ERR_ARG, "a mix takes one or more seed songs");
        if (q->mix < MM_MIX_ROUND_ROBIN || q->mix > MM_MIX_NEAREST_SEED)
            return mm_error_set(err, MM_ERR_ARG, "unknown mix rule (%d)", (int)q->mix);
        break;
    case MM_PLAYLIST_JOURNEY:
        if (q->n_seeds != 2)
            return mm_error_set(err, MM_ERR_ARG, "a journey takes two songs, from and to, not %zu", q->n_seeds);
        if (q->length < 2)
            return mm_error_set(err, MM_ERR_ARG, "a journey has at least 2 songs (its two ends)");
        if (q->seeds[0] == q->seeds[1])
            return mm_error_set(err, MM_ERR_ARG, "a journey's ends are two different songs");
        break;
    case MM_PLAYLIST_RADIO:
        if (q->n_seeds > 1 || (q->n_seeds == 0 && !q->state))
            return mm_error_set(err, MM_ERR_ARG, "radio takes one seed song, or a state to go on from");
        break;
    }
    run->skip = calloc(e->n ? e->n : 1, 1);
    run->seed_rows = calloc(q->n_seeds ? q->n_seeds : 1, sizeof *run->seed_rows);
    if (!run->skip || !run->seed_rows)
        return mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
    for (size_t i = 0; i < q->n_seeds; i++) {
        long r = mm_song_vectors_find(e->v, q->seeds[i]);
        if (r < 0)
            return mm_error_set(err, MM_ERR_NOT_FOUND, "song %lld has no vectors", (long long)q->seeds[i]);
        run->seed_rows[i] = (size_t)r;
    }
    /* no filters: nothing to look at (a million songs cost milliseconds even so) */
    const int filters = q->min_duration > 0 || q->max_duration > 0 || (q->genres && q->n_genres) ||
                        (q->exclude_genres && q->n_exclude_genres) || (q->folders && q->n_folders) ||
                        (q->exclude_folders && q->n_exclude_folders);
    for (size_t r = 0; filters && r < e->n; r++)
        run->skip[r] = (uint8_t)filtered_out(q, &e->songs[r]);
    for (size_t i = 0; q->exclude && i < q->n_exclude; i++) {
        long r = mm_song_vectors_find(e->v, q->exclude[i]);
        if (r >= 0)
            run->skip[r] = 1;
    }
    /* a seed is there already (or is the destination): never picked again */
    for (size_t i = 0; i < q->n_seeds; i++)
        run->skip[run->seed_rows[i]] = 1;
    return MM_OK;
}

void pl_run_free(pl_run *run)
{
    free(run->skip);
    free(run->seed_rows);
    free(run->rows);
    run->skip = NULL, run->seed_rows = NULL, run->rows = NULL;
}

static int clash(const uint32_t *key, size_t a, size_t b)
{
    return key[a] != 0 && key[a] == key[b];
}

int pl_fits_at(const pl_run *run, size_t r, size_t pos)
{
    const mm_playlist_engine *e = run->e;
    const int gaps[2] = {run->req.artist_gap, run->req.album_gap};
    const uint32_t *keys[2] = {e->artist, e->album};
    for (int g = 0; g < 2; g++) {
        if (gaps[g] <= 1 || keys[g][r] == 0)
            continue;
        size_t w = (size_t)gaps[g] - 1;
        size_t lo = pos > w ? pos - w : 0, hi = pos + w;
        for (size_t j = lo; j <= hi && j < run->out->n; j++)
            if (j != pos && clash(keys[g], r, run->rows[j]))
                return 0;
        if (run->tail_row != SIZE_MAX && run->tail_pos != pos && run->tail_pos >= lo && run->tail_pos <= hi &&
            clash(keys[g], r, run->tail_row))
            return 0;
    }
    return 1;
}

int pl_fits(const pl_run *run, size_t r)
{
    return !run->skip[r] && pl_fits_at(run, r, run->out->n);
}

mm_status pl_append(pl_run *run, size_t r, double distance, mm_error *err)
{
    mm_playlist *o = run->out;
    if (o->n == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 32;
        mm_playlist_entry *s = realloc(o->songs, cap * sizeof *s);
        if (s)
            o->songs = s;
        size_t *rows = s ? realloc(run->rows, cap * sizeof *rows) : NULL;
        if (!s || !rows)
            return mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
        run->rows = rows;
        run->cap = cap;
    }
    o->songs[o->n] = (mm_playlist_entry){.id = run->e->v->ids[r], .distance = distance};
    run->rows[o->n++] = r;
    run->skip[r] = 1;
    return MM_OK;
}

void pl_finish(pl_run *run)
{
    mm_playlist *o = run->out;
    const mm_playlist_engine *e = run->e;
    double sum = 0;
    o->max_step = 0;
    for (size_t i = 0; i < o->n; i++) {
        o->songs[i].step = i ? sqrt(pl_dist2(e, e->v->x + run->rows[i - 1] * (size_t)e->d, run->rows[i])) : 0;
        sum += o->songs[i].step;
        if (o->songs[i].step > o->max_step)
            o->max_step = o->songs[i].step;
    }
    o->mean_step = o->n > 1 ? sum / (double)(o->n - 1) : 0;
}

size_t pl_pick_nearest(pl_run *run, const float *q, double *dist, mm_error *err, mm_status *st)
{
    *st = MM_OK;
    size_t k = 16;
    for (;;) {
        if (k > run->e->n)
            k = run->e->n;
        pl_hit *hits = malloc(sizeof *hits * (k ? k : 1));
        long m = hits ? pl_search(run->e, q, k, run->skip, hits) : -1;
        if (m < 0) {
            free(hits);
            *st = mm_error_set(err, MM_ERR_NOMEM, "playlist: out of memory");
            return SIZE_MAX;
        }
        for (long i = 0; i < m; i++)
            if (pl_fits_at(run, hits[i].row, run->out->n)) {
                size_t r = hits[i].row;
                *dist = hits[i].dist;
                free(hits);
                return r;
            }
        free(hits);
        /* every song that is left was offered and none is spaced well enough here */
        if ((size_t)m < k || k >= run->e->n)
            return SIZE_MAX;
        k *= 4;
    }
}
