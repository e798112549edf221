/* server — the local web app: an HTTP server (libmicrohttpd, a thread per connection) that serves the embedded map
 * page, a JSON API over the catalog (maps, tracks, similar tracks, search), map points as compact
 * binary, and each catalogued track's audio by id with HTTP Range (transcoded when a browser can't play
 * the file's codec). Also writes the same page and data as a static site. Requests never name files:
 * audio is found by track id in the catalog, and the page's files are compiled in.
 * The API and the points format are documented in docs/server.md.
 *
 * Thread safety: start and stop a server from one thread; it then serves from threads of its own,
 * which log through the options' logger concurrently (a logger callback must allow that). Several
 * servers (on different ports) and exports may run in one process; each opens its own catalog
 * connections, so they may share a database with other users of it. */
#ifndef MUSICMAP_SERVER_H
#define MUSICMAP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mm_server mm_server;

typedef struct mm_server_options {
    size_t size;               /* sizeof the struct, set by mm_server_options_init (docs/api.md: option structs) */
    const char *host;          /* address to bind; NULL: 127.0.0.1 */
    int port;                  /* 0: any free port (see mm_server_port) */
    int threads;               /* requests that read the catalog at once (its connections); 0: max(4, cores) */
    int max_connections;       /* 0: 1024 */
    int per_ip_connections;    /* 0: 128 */
    int timeout_seconds;       /* an idle or slow connection is closed after this long; 0: 30 */
    const char *transcode_dir; /* where transcoded audio is cached; NULL: a folder under $XDG_CACHE_HOME */
    const mm_logger *log;      /* requests at DEBUG, problems at WARN; may be NULL */
    /* Serving beyond loopback (docs/server.md, "Serving to other devices"). A server bound to any other
     * address needs an access token on every /api/ request (Authorization: Bearer T, or ?token=T). */
    const char *token;         /* the token (1..128 URL-safe characters); NULL: beyond loopback, the one in
                                * the file DB.token beside the catalog (made once, mode 0600); on loopback
                                * none is needed */
    int no_auth;               /* 1: beyond loopback without a token (anyone who reaches the port can read the
                                * catalog and its audio; a warning is logged). Not with token. */
    const char *tls_cert_file; /* PEM certificate (chain) and its key: HTTPS; NULL: plain HTTP */
    const char *tls_key_file;
    int rate_limit;            /* requests per second per client address (IPv6: per /64), in bursts of up to
                                * 2 s' worth, then 429; 0: 200 when bound beyond loopback, none on loopback;
                                * < 0: none */
} mm_server_options;

/* All fields to the defaults noted above, and size. */
MM_API void mm_server_options_init(mm_server_options *options);

/* Opens the catalog at db_path (read-only use: it never writes) and starts serving in background
 * threads. Fails if the catalog can't be opened or the address can't be bound. */
MM_API mm_status mm_server_start(mm_server **out, const char *db_path, const mm_server_options *options, mm_error *err);
MM_API int mm_server_port(const mm_server *server);
/* The access token the server requires (for the URL to print: http(s)://HOST:PORT/?token=T), or NULL
 * when it requires none. Valid until mm_server_stop. */
MM_API const char *mm_server_token(const mm_server *server);
/* 1 when the server speaks HTTPS. */
MM_API int mm_server_tls(const mm_server *server);
/* Stops accepting, finishes nothing that is in flight, frees everything. */
MM_API void mm_server_stop(mm_server *server);

typedef struct mm_export_options {
    size_t size;               /* sizeof the struct, set by mm_export_options_init */
    int audio;                 /* 1: put each track's audio in the site (copied, or transcoded) */
    const char *transcode_dir; /* as for the server */
    const mm_logger *log;
} mm_export_options;

MM_API void mm_export_options_init(mm_export_options *options);

/* Writes the page and its data as files under dir (created if missing): index.html, app.js, style.css
 * and data/ (maps, points, tracks, a search index, precomputed similar tracks, and audio when asked).
 * Any static file server (or file://, except for audio in some browsers) can then show the map. */
MM_API mm_status mm_server_export(const char *db_path, const char *dir, const mm_export_options *options,
                                  mm_error *err);

/* Whether the page was built with its Three.js front-end (0: the fallback page that says it wasn't). */
MM_API int mm_server_has_web_ui(void);

#ifdef __cplusplus
}
#endif
#endif
