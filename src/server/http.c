/* The HTTP side: a libmicrohttpd daemon with a thread pool and hard limits (per-connection memory,
 * which bounds request headers; connections in all and per client address; an idle timeout that ends
 * slow or stalled clients), and the routing of GET/HEAD requests to the page, the API and audio.
 * Nothing in a URL is ever used as a file name: routes are fixed strings around validated ids. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "../util/shared.h"

/* Request headers beyond this (MHD's per-connection pool) are refused with 431. */
#define CONNECTION_MEMORY (32 * 1024)
#define MAX_URL 1024
#define MAX_QUERY_VALUE 256
/* ?format=json is for small maps; larger ones must use the binary form */
#define MAX_JSON_POINTS 200000

struct mm_server {
    srv_state srv;
    struct MHD_Daemon *daemon;
    int port;
    int check_host; /* bound to loopback: only loopback Host headers (defeats DNS rebinding) */
    int need_token; /* every /api/ request must carry token */
    char token[SRV_TOKEN_MAX + 1];
    int tls;
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    srv_ratelimit *ratelimit; /* NULL: no limit */
};

static void add_common_headers(struct MHD_Response *r, const char *content_type)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    srv_security_headers(r, content_type);
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, int status, srv_buf *body, const char *content_type,
                                   const char *cache)
{
    /* ownership of the buffer moves to MHD, which frees it after sending */
    struct MHD_Response *r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        srv_buf_free(body);
        return MHD_NO;
    }
    body->data = NULL;
    body->len = body->cap = 0;
    add_common_headers(r, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache ? cache : "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, srv_buf *body)
{
    if (body->failed) {
        srv_buf_free(body);
        srv_api_error(body, 503, "out of memory");
        status = 503;
    }
    return send_buffer(c, status, body, "application/json; charset=utf-8", NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *message)
{
    srv_buf b = {0};
    srv_api_error(&b, status, message);
    return send_json(c, status, &b);
}

/* --- points ---------------------------------------------------------------------------------------- */

typedef struct points_ref {
    srv_state *srv;
    srv_points *points;
} points_ref;

static void release_points(void *cls)
{
    points_ref *ref = cls;
    srv_points_release(ref->srv, ref->points);
    free(ref);
}

static enum MHD_Result serve_points(mm_server *s, struct MHD_Connection *c, mm_catalog *cat, int64_t map_id)
{
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    int json = format && strcmp(format, "json") == 0;
    if (format && !json && strcmp(format, "binary") != 0)
        return send_error(c, 400, "format is binary or json");
    mm_error err;
    mm_status st;
    srv_points *p = srv_points_get(&s->srv, cat, map_id, &st, &err);
    if (!p)
        return send_error(c, st == MM_ERR_NOT_FOUND ? 404 : st == MM_ERR_ARG ? 400 : st == MM_ERR_NOMEM ? 503 : 500,
                          err.msg);
    char etag[64];
    snprintf(etag, sizeof etag, "\"%lld-%lld-%d-%s\"", (long long)p->map_id, (long long)p->created_at, p->generation,
             json ? "j" : "b");
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strcmp(inm, etag) == 0) {
        srv_points_release(&s->srv, p);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
        srv_security_headers(r, "application/octet-stream");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (json) {
        uint32_t n;
        memcpy(&n, p->data + 8, 4);
        if (n > MAX_JSON_POINTS) {
            srv_points_release(&s->srv, p);
            return send_error(c, 413, "map too large for format=json; use the binary points");
        }
        srv_buf b = {0};
        srv_points_json(p, &b);
        srv_points_release(&s->srv, p);
        return send_json(c, 200, &b);
    }
    points_ref *ref = malloc(sizeof *ref);
    struct MHD_Response *r = NULL;
    if (ref) {
        ref->srv = &s->srv;
        ref->points = p;
        r = MHD_create_response_from_buffer_with_free_callback_cls(p->size, p->data, release_points, ref);
    }
    if (!r) {
        free(ref);
        srv_points_release(&s->srv, p);
        return MHD_NO;
    }
    add_common_headers(r, "application/octet-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- audio ----------------------------------------------------------------------------------------- */

static enum MHD_Result serve_audio(mm_server *s, struct MHD_Connection *c, mm_catalog *cat, int64_t id)
{
    srv_audio_source src;
    mm_error err;
    int status = srv_audio_source_open(&s->srv, cat, id, &src, &err);
    if (status != 200)
        return send_error(c, status, err.msg);
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    int64_t start = 0, end = src.size - 1;
    int r = srv_parse_range(range, src.size, &start, &end);
    struct MHD_Response *resp;
    char cr[96];
    if (r < 0) {
        close(src.fd);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)src.size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
    } else {
        /* MHD sends from the descriptor (sendfile where it can) and closes it when done */
        uint64_t len = r > 0 ? (uint64_t)(end - start + 1) : (uint64_t)src.size;
        resp = MHD_create_response_from_fd_at_offset64(len, src.fd, (uint64_t)(r > 0 ? start : 0));
        if (!resp) {
            close(src.fd);
            return MHD_NO;
        }
        if (r > 0) {
            snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)start, (long long)end, (long long)src.size);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            status = MHD_HTTP_PARTIAL_CONTENT;
        }
    }
    add_common_headers(resp, src.content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=300");
    if (src.transcoded)
        MHD_add_response_header(resp, "X-Musicmap-Transcoded", "mp3");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- routing --------------------------------------------------------------------------------------- */

static int query_int(struct MHD_Connection *c, const char *key, long lo, long hi, long dflt, long *out)
{
    return srv_query_int(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key), lo, hi, dflt, out);
}

#define id_route srv_id_route

static const char *query_arg(void *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result route_api(mm_server *s, struct MHD_Connection *c, const char *url, mm_catalog *cat)
{
    srv_buf b = {0};
    int64_t id;
    const char *rest;
    int r;
    if (strcmp(url, "/api/maps") == 0)
        return send_json(c, srv_api_maps(&s->srv, cat, &b), &b);
    if (strcmp(url, "/api/model") == 0)
        return send_json(c, srv_api_model(&s->srv, cat, &b), &b);
    if (strcmp(url, "/api/search") == 0) {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
        long limit;
        if (!q)
            return send_error(c, 400, "missing q");
        if (strlen(q) > MAX_QUERY_VALUE)
            return send_error(c, 414, "query too long");
        if (query_int(c, "limit", 1, 200, 20, &limit) != 0)
            return send_error(c, 400, "limit is 1..200");
        return send_json(c, srv_api_search(&s->srv, cat, q, (int)limit, &b), &b);
    }
    if (strcmp(url, "/api/playlist") == 0) {
        const char *type;
        char origin[300];
        int has_origin = srv_origin_from_host(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST), s->tls,
                                              origin, sizeof origin) == 0;
        int status = srv_api_playlist(&s->srv, cat, query_arg, c, has_origin ? origin : NULL,
                                      s->need_token ? s->token : NULL, &b, &type);
        /* links carry the token: kept out of the browser's cache */
        const char *links = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "links");
        return status == 200 ? send_buffer(c, status, &b, type, links && strcmp(links, "1") == 0 ? "no-store" : NULL)
                             : send_json(c, status, &b);
    }
    if ((r = id_route(url, "/api/maps/", &id, &rest)) != -1) {
        if (r == 0 && strcmp(rest, "/points") == 0)
            return serve_points(s, c, cat, id);
        if (r == 0 && strcmp(rest, "/added") == 0)
            return send_json(c, srv_api_map_added(&s->srv, cat, id, &b), &b);
        return send_error(c, r == -2 ? 400 : 404, r == -2 ? "bad map id" : "no such endpoint");
    }
    if ((r = id_route(url, "/api/tracks/", &id, &rest)) != -1) {
        if (r == -2)
            return send_error(c, 400, "bad track id");
        if (!*rest)
            return send_json(c, srv_api_track(&s->srv, cat, id, &b), &b);
        if (strcmp(rest, "/audio") == 0)
            return serve_audio(s, c, cat, id);
        if (strcmp(rest, "/similar") == 0) {
            long k, model;
            if (query_int(c, "k", 1, 100, 12, &k) != 0 || query_int(c, "model", 1, 1L << 40, 0, &model) != 0)
                return send_error(c, 400, "k is 1..100, model an id");
            return send_json(c, srv_api_similar(&s->srv, cat, id, (int)k, model, &b), &b);
        }
    }
    return send_error(c, 404, "no such endpoint");
}

/* MHD's unescaping, replaced (srv_unescape: %00 stays as it is). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return srv_unescape(s);
}

/* An answer with no body (401, 429): nothing in it for a client that should not be asking. */
static enum MHD_Result send_empty(struct MHD_Connection *c, int status, const char *header, const char *value)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (header)
        MHD_add_response_header(r, header, value);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    srv_security_headers(r, NULL);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The per-address rate limit, then the token for the API, before anything is looked up: 1 when the
 * request was answered so (*ret is the result), 0 to go on. */
static int refused(mm_server *s, struct MHD_Connection *c, const char *url, enum MHD_Result *ret)
{
    if (s->ratelimit) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int wait = srv_ratelimit_take(s->ratelimit, ci ? ci->client_addr : NULL, mm_now());
        if (wait > 0) {
            char after[16];
            snprintf(after, sizeof after, "%d", wait);
            *ret = send_empty(c, MHD_HTTP_TOO_MANY_REQUESTS, MHD_HTTP_HEADER_RETRY_AFTER, after);
            return 1;
        }
    }
    /* the page's own files hold no data: they load without the token, then the page sends it */
    if (s->need_token && strncmp(url, "/api/", 5) == 0 &&
        !srv_auth_ok(s->token, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"))) {
        *ret = send_empty(c, MHD_HTTP_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        return 1;
    }
    return 0;
}

static enum MHD_Result add_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 2;
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **req)
{
    mm_server *s = cls;
    (void)version;
    (void)upload_data;
    static int seen; /* its address marks a request whose headers were checked */
    double t0 = mm_now();
    if (*req != &seen) {
        /* The first call has the headers. Bad requests are answered now (MHD then closes the
         * connection); good ones on the second call, once MHD has the whole request, so that the
         * connection can be kept alive. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            if (!r)
                return MHD_NO;
            MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
            srv_security_headers(r, NULL); /* no CORS headers: an OPTIONS preflight fails here */
            enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
            MHD_destroy_response(r);
            return ret;
        }
        const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
            (len && strcmp(len, "0") != 0))
            return send_error(c, 400, "requests have no body here");
        *req = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0)
        return send_error(c, 400, "requests have no body here");
    enum MHD_Result ret;
    if (refused(s, c, url, &ret))
        return ret;
    if (s->check_host && !srv_loopback_host(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)))
        return send_error(c, 421, "this server answers only to localhost");
    size_t query = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_length, &query);
    if (strlen(url) > MAX_URL || query > MAX_URL)
        return send_error(c, 414, "URL too long");
    if (strncmp(url, "/api/", 5) == 0) {
        mm_catalog *cat = srv_cat_pool_get(&s->srv.cats);
        ret = route_api(s, c, url, cat);
        srv_cat_pool_put(&s->srv.cats, cat);
    } else {
        const srv_asset *a = srv_asset_find(url);
        if (!a)
            return send_error(c, 404, "not found");
        struct MHD_Response *r = MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        add_common_headers(r, a->content_type); /* with the page's Content-Security-Policy (headers.c) */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
    }
    mm_log(s->srv.log, MM_LOG_DEBUG, "%s %s (%.1f ms)", method, url, (mm_now() - t0) * 1000);
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    /* through the host's logger (stream or callback), as debug: MHD's own notes on connections */
    mm_logv(cls, MM_LOG_DEBUG, fmt, ap);
}

static void free_access(mm_server *s)
{
    free(s->tls_cert);
    free(s->tls_key);
    srv_ratelimit_free(s->ratelimit);
}

/* Who may ask: the token (beyond loopback), the rate limit, TLS. loopback: the bound address is one. */
static mm_status setup_access(mm_server *s, const char *db_path, const mm_server_options *o, int loopback,
                              mm_error *err)
{
    if (o->token) {
        memcpy(s->token, o->token, strlen(o->token) + 1);
        s->need_token = 1;
    } else if (!loopback && !o->no_auth) {
        size_t n = strlen(db_path);
        char *path = malloc(n + 7);
        if (!path)
            return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        memcpy(path, db_path, n);
        memcpy(path + n, ".token", 7);
        mm_status st = srv_token_file(path, s->token, err);
        free(path);
        if (st != MM_OK)
            return st;
        s->need_token = 1;
    } else if (!loopback) {
        mm_log(o->log, MM_LOG_WARN, "musicmap serve: serving beyond this machine without an access token: anyone "
                                    "who can reach %s can read the catalog and play its audio", o->host);
    }
    int rate = o->rate_limit > 0 ? o->rate_limit : o->rate_limit == 0 && !loopback ? 200 : 0;
    if (rate > 0 && !(s->ratelimit = srv_ratelimit_new(rate, 2.0 * rate)))
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (o->tls_cert_file || o->tls_key_file) {
        if (!o->tls_cert_file || !o->tls_key_file)
            return mm_error_set(err, MM_ERR_ARG, "TLS needs both a certificate and a key");
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return mm_error_set(err, MM_ERR_UNSUPPORTED, "this libmicrohttpd was built without TLS");
        mm_status st = srv_read_pem(o->tls_cert_file, &s->tls_cert, err);
        if (st == MM_OK)
            st = srv_read_pem(o->tls_key_file, &s->tls_key, err);
        if (st != MM_OK)
            return st;
        s->tls = 1;
    }
    return MM_OK;
}

void mm_server_options_init(mm_server_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

mm_status mm_server_start(mm_server **out, const char *db_path, const mm_server_options *options, mm_error *err)
{
    *out = NULL;
    mm_server_options o;
    mm_server_options_init(&o);
    /* size 0 (filled by hand, or written before the size field): the whole struct as this build has it */
    util_options_copy(&o, sizeof o, options, UTIL_OPTIONS_END(mm_server_options, rate_limit));
    const char *host = o.host ? o.host : "127.0.0.1";
    int threads = o.threads > 0 ? o.threads : (mm_cpu_count() > 4 ? mm_cpu_count() : 4);
    if (o.port < 0 || o.port > 65535)
        return mm_error_set(err, MM_ERR_ARG, "port %d out of range", o.port);
    if (o.token && (o.no_auth || !srv_token_valid(o.token)))
        return mm_error_set(err, MM_ERR_ARG, o.no_auth ? "a token and no_auth exclude each other"
                                                       : "a token is 1..%d of A-Z a-z 0-9 - . _ ~", SRV_TOKEN_MAX);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o.port);
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return mm_error_set(err, MM_ERR_ARG, "can't resolve the address '%s'", host);
    mm_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    mm_status st = srv_state_init(&s->srv, db_path, (size_t)threads, o.transcode_dir, o.log, err);
    if (st != MM_OK) {
        freeaddrinfo(ai);
        free(s);
        return st;
    }
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
        s->check_host = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    } else if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
        s->check_host = memcmp(&sin6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0;
    }
    if ((st = setup_access(s, db_path, &o, s->check_host, err)) != MM_OK) {
        freeaddrinfo(ai);
        free_access(s);
        srv_state_free(&s->srv);
        free(s);
        return st;
    }
    /* A thread per connection, not a pool: a pool thread serves its connections in turn, so one slow
     * request (a transcode, a search on a loaded machine) stalled every other connection on that thread.
     * Connections are bounded (max_connections, per IP, timeout); threads bounds catalog use instead. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (s->tls ? MHD_USE_TLS : 0);
    /* TLS options go in only when asked for: MHD refuses them on a plain daemon */
    struct MHD_OptionItem tls_options[] = {
        {s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o.port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o.max_connections > 0 ? o.max_connections : 1024),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(o.per_ip_connections > 0 ? o.per_ip_connections : 128),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o.timeout_seconds > 0 ? o.timeout_seconds : 30),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)o.log,
        MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        free_access(s);
        srv_state_free(&s->srv);
        free(s);
        return mm_error_set(err, MM_ERR_IO, "can't listen on %s port %d (in use, or not allowed%s)", host, o.port,
                            o.tls_cert_file ? ", or the certificate and key don't load or match" : "");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o.port;
    *out = s;
    return MM_OK;
}

int mm_server_port(const mm_server *server) { return server->port; }

const char *mm_server_token(const mm_server *server) { return server->need_token ? server->token : NULL; }

int mm_server_tls(const mm_server *server) { return server->tls; }

void mm_server_stop(mm_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    free_access(server);
    srv_state_free(&server->srv);
    free(server);
}
