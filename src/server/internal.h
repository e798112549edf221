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
typedef struct srv_buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the contents are incomplete */
} srv_buf;

void srv_buf_put(srv_buf *b, const void *data, size_t n);
void srv_buf_puts(srv_buf *b, const char *s);
void srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_buf_free(srv_buf *b);
/* A JSON string (bytes that are not valid UTF-8 become U+FFFD), or null for NULL. */
void srv_buf_json_string(srv_buf *b, const char *s);
/* A number, or null when not finite. */
void srv_buf_json_number(srv_buf *b, double v, int decimals);
/* The fields every track summary starts with, left open for more:
 * {"id": N, "title": ..., "artist": ..., "album": ..., "genre": ... */
void srv_buf_track_head(srv_buf *b, int64_t id, const char *title, const char *artist, const char *album,
                       const char *genre);

/* --- catalog connections: one per request at a time ----------------------------------------------- */
/* A SQLite connection is used by one thread at a time; the server keeps a few and lends them out. */
typedef struct srv_cat_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    mm_catalog **free_list;
    size_t n_free, n_all;
    mm_catalog **all;
} srv_cat_pool;

mm_status srv_cat_pool_open(srv_cat_pool *pool, const char *path, size_t n, mm_error *err);
mm_catalog *srv_cat_pool_get(srv_cat_pool *pool);
void srv_cat_pool_put(srv_cat_pool *pool, mm_catalog *cat);
void srv_cat_pool_close(srv_cat_pool *pool);

/* --- per-model vectors, kept in memory for look-ups and similar-track searches ---------------------- */
typedef struct srv_vectors {
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
    /* playlists over these vectors: the engine (its index, the songs' tags) is built by the first
     * /api/playlist request and shared by the later ones while these vectors are */
    pthread_mutex_t engine_lock;
    mm_song_vectors view;
    struct mm_playlist_engine *engine;
} srv_vectors;

/* The playlist engine over v (built once, under v's engine_lock); NULL with err set. */
struct mm_playlist_engine *srv_vectors_engine(srv_vectors *v, mm_catalog *cat, mm_error *err);

/* The encoded points of one map (format in docs/server.md), shared between requests. */
typedef struct srv_points {
    int64_t map_id, created_at;
    int generation;     /* of the map when encoded: a grown map is encoded again */
    double checked_at; /* when the map's record was last seen unchanged (mm_now) */
    unsigned char *data;
    size_t size;
    int refs;
} srv_points;

/* /api/playlist without a model: what the CLI's playlists use (mm_playlist_vectors_load: the newest
 * map's vectors, or the descriptors) with its engine, built once and shared while the newest map stays
 * the same, for at most VECTORS_MAX_AGE (a million songs' index is not rebuilt per request). */
typedef struct srv_default_playlist {
    int64_t map_id, map_created_at; /* the newest map when loaded (0: none, the descriptors) */
    int map_generation;
    double loaded_at;
    mm_song_vectors vectors;
    struct mm_playlist_engine *engine;
    int refs;
} srv_default_playlist;

/* Shared state of a running server (or an export in progress). */
typedef struct srv_state {
    srv_cat_pool cats;
    const mm_logger *log;
    char *transcode_dir;
    pthread_mutex_t cache_lock; /* points and vectors below */
    srv_points *points[8];       /* a few recent maps */
    srv_vectors *vectors[4];     /* a few recent models */
    srv_default_playlist *default_playlist;
    pthread_mutex_t default_build_lock; /* one default engine built at a time (state.c) */
    pthread_mutex_t transcode_lock; /* one transcode at a time (CPU-bound) */
} srv_state;

mm_status srv_state_init(srv_state *srv, const char *db_path, size_t connections, const char *transcode_dir,
                      const mm_logger *log, mm_error *err);
void srv_state_free(srv_state *srv);

/* The newest model (model_id 0) or a given one's vectors; release with srv_vectors_release. NULL when
 * there are none (err says why). */
srv_vectors *srv_vectors_get(srv_state *srv, mm_catalog *cat, int64_t model_id, mm_error *err);
void srv_vectors_release(srv_state *srv, srv_vectors *v);
/* The playlists' default vectors and engine (see srv_default_playlist); release with
 * srv_default_playlist_release. NULL with err set (MM_ERR_NOT_FOUND: nothing to make playlists from). */
srv_default_playlist *srv_default_playlist_get(srv_state *srv, mm_catalog *cat, mm_error *err);
void srv_default_playlist_release(srv_state *srv, srv_default_playlist *d);
/* Index of a track in v, or -1. */
long srv_vectors_find(const srv_vectors *v, int64_t track_id);

/* A map's encoded points; release with srv_points_release. */
srv_points *srv_points_get(srv_state *srv, mm_catalog *cat, int64_t map_id, mm_status *status, mm_error *err);
void srv_points_release(srv_state *srv, srv_points *p);
/* The points as JSON (for small maps): {"dims", "labels", "points": [[id, x, y(, z), pred, tag], ...]}. */
void srv_points_json(const srv_points *p, srv_buf *out);

/* --- JSON endpoints (api.c): each fills out with a body and returns an HTTP status ------------------ */
int srv_api_maps(srv_state *srv, mm_catalog *cat, srv_buf *out);
/* The newest trained model's training history and confusion matrix (model.c); 404 without a model. */
int srv_api_model(srv_state *srv, mm_catalog *cat, srv_buf *out);
int srv_api_track(srv_state *srv, mm_catalog *cat, int64_t id, srv_buf *out);
int srv_api_similar(srv_state *srv, mm_catalog *cat, int64_t id, int k, int64_t model_id, srv_buf *out);
/* The songs the map's latest growth placed on it: {"map", "generation", "ids"} (the page marks them). */
int srv_api_map_added(srv_state *srv, mm_catalog *cat, int64_t id, srv_buf *out);
int srv_api_search(srv_state *srv, mm_catalog *cat, const char *query, int limit, srv_buf *out);
/* GET /api/playlist (api_playlist.c): query(ctx, key) gives the request's arguments (NULL when absent);
 * *content_type is JSON, or M3U for format=m3u. */
typedef const char *(*srv_query_fn)(void *ctx, const char *key);
/* origin: srv_origin_from_host's, NULL when the request had no usable Host (links=1 is then refused);
 * token: what a link must carry to be let in (NULL when the server asks for none) */
int srv_api_playlist(srv_state *srv, mm_catalog *cat, srv_query_fn query, void *ctx, const char *origin,
                     const char *token, srv_buf *out,
                     const char **content_type);
/* {"error": message} with the given status, for every failure. */
int srv_api_error(srv_buf *out, int status, const char *message);
/* The k nearest tracks of track index i in v (by embedding, or probs when there is none). */
size_t srv_similar_indices(const srv_vectors *v, size_t i, int k, mm_similar_song *out);

/* --- audio (audio.c) --------------------------------------------------------------------------- */
typedef struct srv_audio_source {
    int fd;                   /* open, positioned anywhere; the caller closes it */
    int64_t size;
    const char *content_type;
    int transcoded;
} srv_audio_source;

/* Opens the file to send for a track: the catalogued file itself when browsers play its codec, else a
 * cached transcode. HTTP status: 200 ok, 404 no such (ok) track, 500/503 failures (message in err). */
int srv_audio_source_open(srv_state *srv, mm_catalog *cat, int64_t id, srv_audio_source *src, mm_error *err);
/* Whether browsers play a codec natively (then the file is sent as it is), and its content type. */
const char *srv_browser_content_type(const char *container, const char *codec);

/* Parses a Range header against a size: 0 none/ignored (send everything), 1 one satisfiable range
 * [*start, *end] inclusive, -1 unsatisfiable (416). Malformed headers and multiple ranges are ignored
 * (RFC 9110 allows it), so the answer is the whole file. */
int srv_parse_range(const char *header, int64_t size, int64_t *start, int64_t *end);

/* Parses a track or map id: digits only, 1..2^53; returns 0 on success. */
int srv_parse_id(const char *s, size_t len, int64_t *out);

/* request.c: a request's text, parsed (pure functions; tests/fuzz/fuzz_http.c drives them). */
/* A query value as a number in [lo, hi]: 0 (absent: dflt), -1 when it is not one. */
int srv_query_int(const char *value, long lo, long hi, long dflt, long *out);
/* Splits "/api/tracks/123/audio" after prefix into the id and what follows ("" or "/audio"): 0, -1
 * when url does not start with prefix, -2 for a bad id. */
int srv_id_route(const char *url, const char *prefix, int64_t *id, const char **rest);
/* Percent-decoding in place, as MHD's except that %00 stays as it is (a NUL would cut the string
 * short: "/index.html%00.js" would read as "/index.html"). Returns the new length. */
size_t srv_unescape(char *s);
/* 1 when a Host header names this machine's loopback (or there is none: HTTP/1.0). */
int srv_loopback_host(const char *host);
/* The server's address as a client named it, for links in a file it downloads: "http[s]://HOST/" into
 * out (cap bytes). -1 when there is no Host header or it is not a plain host[:port] (names, IPv4,
 * bracketed IPv6: nothing that could break out of a line or a URL). */
int srv_origin_from_host(const char *host, int tls, char *out, size_t cap);

/* --- access beyond loopback (auth.c, ratelimit.c, headers.c) ------------------------------------------ */
#define SRV_TOKEN_MAX 128
/* The token in the file at path, made once (getrandom, 256 bits as 64 hex digits, mode 0600) when it is
 * missing. A file that others may read, or that is not a regular file of ours, is refused. */
mm_status srv_token_file(const char *path, char token[SRV_TOKEN_MAX + 1], mm_error *err);
/* 1 when a token is acceptable in options and URLs: 1..SRV_TOKEN_MAX of [A-Za-z0-9._~-]. */
int srv_token_valid(const char *token);
/* 1 when a request carries the token: Authorization "Bearer T" or the token query value. The
 * comparison takes the same time wherever the first difference is. */
int srv_auth_ok(const char *token, const char *authorization, const char *query_token);
/* A certificate or key file's text (at most 1 MiB, must look like PEM); free *out. */
mm_status srv_read_pem(const char *path, char **out, mm_error *err);

/* Token buckets per client address, in a bounded table (the stalest entry gives way to a new one). */
struct sockaddr;
typedef struct srv_ratelimit srv_ratelimit;
srv_ratelimit *srv_ratelimit_new(double per_second, double burst);
void srv_ratelimit_free(srv_ratelimit *rl);
/* 0 when the address (IPv4, or IPv6 by its /64) may make a request now (one token taken), else the
 * seconds until it may (>= 1, for Retry-After). now: seconds on a monotonic clock. */
int srv_ratelimit_take(srv_ratelimit *rl, const struct sockaddr *addr, double now);

/* The headers every response gets: nosniff, no referrer, no framing, and a Content-Security-Policy
 * for the kind of content (the page's own for text/html, none-at-all for data). */
struct MHD_Response;
void srv_security_headers(struct MHD_Response *r, const char *content_type);

/* --- the embedded page (static.c; assets generated at build time) ----------------------------------- */
typedef struct srv_asset {
    const char *path; /* "/", "/app.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t size;
} srv_asset;
const srv_asset *srv_asset_find(const char *path);
const srv_asset *srv_asset_at(size_t i); /* NULL past the end */

#endif
