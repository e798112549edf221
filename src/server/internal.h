/* server internals: shared by http.c (daemon, routing), api.c (JSON endpoints), points.c (binary
 * points), audio.c (streaming, transcoding), static.c (embedded page) and export.c. */
#ifndef MM_SERVER_INTERNAL_H
#define MM_SERVER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"
#include "musicmap/pipeline.h"
#include "musicmap/server.h"

/* --- a growable byte buffer, and JSON written into it ------------------------------------------- */
typedef struct mm_buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the contents are incomplete */
} mm_buf;

void mm_buf_put(mm_buf *b, const void *data, size_t n);
void mm_buf_puts(mm_buf *b, const char *s);
void mm_buf_printf(mm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mm_buf_free(mm_buf *b);
/* A JSON string (bytes that are not valid UTF-8 become U+FFFD), or null for NULL. */
void mm_buf_json_string(mm_buf *b, const char *s);
/* A number, or null when not finite. */
void mm_buf_json_number(mm_buf *b, double v, int decimals);
/* The fields every track summary starts with, left open for more:
 * {"id": N, "title": ..., "artist": ..., "album": ..., "genre": ... */
void mm_buf_track_head(mm_buf *b, int64_t id, const char *title, const char *artist, const char *album,
                       const char *genre);

/* --- catalog connections: one per request at a time ----------------------------------------------- */
/* A SQLite connection is used by one thread at a time; the server keeps a few and lends them out. */
typedef struct mm_cat_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    mm_catalog **free_list;
    size_t n_free, n_all;
    mm_catalog **all;
} mm_cat_pool;

mm_status mm_cat_pool_open(mm_cat_pool *pool, const char *path, size_t n, mm_error *err);
mm_catalog *mm_cat_pool_get(mm_cat_pool *pool);
void mm_cat_pool_put(mm_cat_pool *pool, mm_catalog *cat);
void mm_cat_pool_close(mm_cat_pool *pool);

/* --- per-model vectors, kept in memory for look-ups and similar-track searches ---------------------- */
typedef struct mm_vectors {
    int64_t model_id;
    int64_t created_at; /* of the model when loaded: a re-trained model is loaded again */
    double loaded_at;
    char *model_name;
    char **classes;
    int k, dim;
    size_t n;
    int64_t *ids; /* ascending */
    float *probs, *embedding;
    int refs;
} mm_vectors;

/* The encoded points of one map (format in docs/server.md), shared between requests. */
typedef struct mm_points {
    int64_t map_id, created_at;
    double checked_at; /* when the map's record was last seen unchanged (mm_now) */
    unsigned char *data;
    size_t size;
    int refs;
} mm_points;

/* Shared state of a running server (or an export in progress). */
typedef struct mm_srv {
    mm_cat_pool cats;
    const mm_logger *log;
    char *transcode_dir;
    pthread_mutex_t cache_lock; /* points and vectors below */
    mm_points *points[8];       /* a few recent maps */
    mm_vectors *vectors[4];     /* a few recent models */
    pthread_mutex_t transcode_lock; /* one transcode at a time (CPU-bound) */
} mm_srv;

mm_status mm_srv_init(mm_srv *srv, const char *db_path, size_t connections, const char *transcode_dir,
                      const mm_logger *log, mm_error *err);
void mm_srv_free(mm_srv *srv);

/* The newest model (model_id 0) or a given one's vectors; release with mm_vectors_release. NULL when
 * there are none (err says why). */
mm_vectors *mm_vectors_get(mm_srv *srv, mm_catalog *cat, int64_t model_id, mm_error *err);
void mm_vectors_release(mm_srv *srv, mm_vectors *v);
/* Index of a track in v, or -1. */
long mm_vectors_find(const mm_vectors *v, int64_t track_id);

/* A map's encoded points; release with mm_points_release. */
mm_points *mm_points_get(mm_srv *srv, mm_catalog *cat, int64_t map_id, mm_status *status, mm_error *err);
void mm_points_release(mm_srv *srv, mm_points *p);
/* The points as JSON (for small maps): {"dims", "labels", "points": [[id, x, y(, z), pred, tag], ...]}. */
void mm_points_json(const mm_points *p, mm_buf *out);

/* --- JSON endpoints (api.c): each fills out with a body and returns an HTTP status ------------------ */
int mm_api_maps(mm_srv *srv, mm_catalog *cat, mm_buf *out);
int mm_api_track(mm_srv *srv, mm_catalog *cat, int64_t id, mm_buf *out);
int mm_api_similar(mm_srv *srv, mm_catalog *cat, int64_t id, int k, int64_t model_id, mm_buf *out);
int mm_api_search(mm_srv *srv, mm_catalog *cat, const char *query, int limit, mm_buf *out);
/* {"error": message} with the given status, for every failure. */
int mm_api_error(mm_buf *out, int status, const char *message);
/* The k nearest tracks of track index i in v (by embedding, or probs when there is none). */
size_t mm_similar_indices(const mm_vectors *v, size_t i, int k, mm_similar_song *out);

/* --- audio (audio.c) --------------------------------------------------------------------------- */
typedef struct mm_audio_source {
    int fd;                   /* open, positioned anywhere; the caller closes it */
    int64_t size;
    const char *content_type;
    int transcoded;
} mm_audio_source;

/* Opens the file to send for a track: the catalogued file itself when browsers play its codec, else a
 * cached transcode. HTTP status: 200 ok, 404 no such (ok) track, 500/503 failures (message in err). */
int mm_audio_source_open(mm_srv *srv, mm_catalog *cat, int64_t id, mm_audio_source *src, mm_error *err);
/* Whether browsers play a codec natively (then the file is sent as it is), and its content type. */
const char *mm_browser_content_type(const char *container, const char *codec);

/* Parses a Range header against a size: 0 none/ignored (send everything), 1 one satisfiable range
 * [*start, *end] inclusive, -1 unsatisfiable (416). Malformed headers and multiple ranges are ignored
 * (RFC 9110 allows it), so the answer is the whole file. */
int mm_parse_range(const char *header, int64_t size, int64_t *start, int64_t *end);

/* Parses a track or map id: digits only, 1..2^53; returns 0 on success. */
int mm_parse_id(const char *s, size_t len, int64_t *out);

/* --- the embedded page (static.c; assets generated at build time) ----------------------------------- */
typedef struct mm_asset {
    const char *path; /* "/", "/app.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t size;
} mm_asset;
const mm_asset *mm_asset_find(const char *path);
const mm_asset *mm_asset_at(size_t i); /* NULL past the end */

#endif
