/* pipeline playlists — what playlist_*.c share (never installed; names carry the pl_ prefix).
 * engine: vectors, songs, index; index: nearest rows of a query; rules: the request's filters and
 * spacing; make: similar, mix, journey; radio: the walk and its state; m3u: the file. */
#ifndef MM_PIPELINE_PLAYLIST_H
#define MM_PIPELINE_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/pipeline.h"

/* A search hit: a row of the vectors and its euclidean distance to the query. */
typedef struct pl_hit {
    size_t row;
    double dist;
} pl_hit;

/* The approximate index (above exact_max songs): PCA projections clustered into cells (an inverted
 * file); a query scans the projections of the cells nearest to it and ranks the best exactly. */
typedef struct pl_index {
    int dims;             /* projection axes */
    float *mean;          /* d */
    float *axes;          /* dims x d */
    size_t n_cells;
    float *centroids;     /* n_cells x dims */
    size_t *cell_start;   /* n_cells + 1, into rows / proj */
    uint32_t *rows;       /* n: the rows, cell by cell */
    float *proj;          /* n x dims, in the order of rows */
} pl_index;

struct mm_playlist_engine {
    const mm_song_vectors *v;
    size_t n;
    int d;
    mm_playlist_song *songs;   /* n, by row */
    char *text;                /* the songs' strings */
    uint32_t *artist, *album;  /* n: interned keys, 0 unknown */
    size_t *by_path;           /* n rows sorted by path, for resolve */
    int approximate;
    float *norms;              /* exact search: each row's squared length */
    pl_index index;
    double nn_distance;
};

/* Squared euclidean distance between a vector and row r. */
double pl_dist2(const mm_playlist_engine *e, const float *q, size_t r);
/* Up to k rows nearest to q (d floats) whose skip byte is 0 (skip may be NULL), nearest first, ties by
 * row. Exact below exact_max, else through the index, widening its probe until k are found or all were
 * seen. Returns how many were written; -1 when out of memory. */
long pl_search(const mm_playlist_engine *e, const float *q, size_t k, const uint8_t *skip, pl_hit *out);
/* The rows' squared lengths, for the exact search. */
mm_status pl_norms(mm_playlist_engine *e, mm_error *err);
/* pl_search for m queries (m x d) at once: out is m x k, counts[i] the hits of query i. The exact search
 * reads the vectors once for all of them (a BLAS matrix product). Returns 0, or -1 when out of memory. */
int pl_search_many(const mm_playlist_engine *e, const float *q, size_t m, size_t k, const uint8_t *skip,
                   pl_hit *out, size_t *counts);
mm_status pl_index_build(mm_playlist_engine *e, const mm_playlist_engine_options *opt, mm_error *err);
void pl_index_free(pl_index *ix);

/* A request in progress: which rows may be picked, and the songs placed so far. */
typedef struct pl_run {
    const mm_playlist_engine *e;
    mm_playlist_request req;   /* the caller's, read up to its size, over the defaults */
    uint8_t *skip;             /* n: 1 filtered out or used */
    size_t *seed_rows;
    mm_playlist *out;
    size_t *rows;              /* the rows of out->songs */
    size_t cap;
    /* spacing also looks ahead at a song fixed at the end (a journey's destination); SIZE_MAX: none */
    size_t tail_row;
    size_t tail_pos;
} pl_run;

/* Copies the request, checks it, resolves its seeds, and marks the rows the filters leave out.
 * Free with pl_run_free. */
mm_status pl_run_init(pl_run *run, const mm_playlist_engine *e, const mm_playlist_request *req, mm_playlist *out,
                      mm_error *err);
void pl_run_free(pl_run *run);
/* 1 when row r may go next (at position out->n): unused, allowed, and spaced from the songs before it
 * (and from the tail). */
int pl_fits(const pl_run *run, size_t r);
/* As pl_fits at a given position of the playlist built so far, ignoring the song now there. */
int pl_fits_at(const pl_run *run, size_t r, size_t pos);
/* Appends row r (distance as given) and marks it used. */
mm_status pl_append(pl_run *run, size_t r, double distance, mm_error *err);
/* Steps between consecutive songs, and their largest and mean. */
void pl_finish(pl_run *run);

/* The kinds (playlist_make.c, playlist_radio.c). */
mm_status pl_similar(pl_run *run, mm_error *err);
mm_status pl_mix(pl_run *run, mm_error *err);
mm_status pl_journey(pl_run *run, mm_error *err);
mm_status pl_radio(pl_run *run, mm_error *err);
/* Picks the nearest row to q that fits, among a widening search; SIZE_MAX when none does. */
size_t pl_pick_nearest(pl_run *run, const float *q, double *dist, mm_error *err, mm_status *st);

#endif
