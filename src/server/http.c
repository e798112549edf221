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
};

static void add_common_headers(struct MHD_Response *r, const char *content_type)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
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
    if (s->check_host && !srv_loopback_host(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)))
        return send_error(c, 421, "this server answers only to localhost");
    size_t query = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_length, &query);
    if (strlen(url) > MAX_URL || query > MAX_URL)
        return send_error(c, 414, "URL too long");
    enum MHD_Result ret;
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
        add_common_headers(r, a->content_type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        /* the page needs nothing from elsewhere: say so, so an injected script could not reach out */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'");
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

mm_status mm_server_start(mm_server **out, const char *db_path, const mm_server_options *options, mm_error *err)
{
    *out = NULL;
    mm_server_options o = options ? *options : (mm_server_options){0};
    const char *host = o.host ? o.host : "127.0.0.1";
    int threads = o.threads > 0 ? o.threads : (mm_cpu_count() > 4 ? mm_cpu_count() : 4);
    if (o.port < 0 || o.port > 65535)
        return mm_error_set(err, MM_ERR_ARG, "port %d out of range", o.port);
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o.port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o.max_connections > 0 ? o.max_connections : 1024),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(o.per_ip_connections > 0 ? o.per_ip_connections : 128),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o.timeout_seconds > 0 ? o.timeout_seconds : 30),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)o.log,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        srv_state_free(&s->srv);
        free(s);
        return mm_error_set(err, MM_ERR_IO, "can't listen on %s port %d (in use, or not allowed)", host, o.port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o.port;
    *out = s;
    return MM_OK;
}

int mm_server_port(const mm_server *server) { return server->port; }

void mm_server_stop(mm_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    srv_state_free(&server->srv);
    free(server);
}
