/* GET /api/playlist: the pipeline's playlists (docs/playlists.md) over HTTP, as JSON or as an M3U file.
 *   kind     similar | mix | journey | radio
 *   seed     the songs: track ids (or catalogued paths) separated by commas; a journey's FROM,TO
 *   to       a journey's destination, when seed names only its start
 *   n        songs (1..1000, default 20; a journey's count includes both ends)
 *   model    the model id of the map shown (as /similar takes it): its vectors; default the newest model's
 *   rule, with_seeds, random, artist_gap, album_gap, min_duration, max_duration, genre, exclude_genre,
 *   state (radio: go on from it), format (json | m3u | m3u8)
 *   links    1: the M3U lists the server's audio address of each song (with the token, when the server
 *            asks for one) instead of its path, for a player on another machine */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_SEEDS 16

/* The server's one query-number parser (digits only, bounded), an empty value taking the default as an
 * absent one does (the page sends empty fields). */
static int arg_long(const char *s, long lo, long hi, long dflt, long *out)
{
    return srv_query_int(s && *s ? s : NULL, lo, hi, dflt, out);
}

static int arg_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static void to_buf(const void *bytes, size_t n, void *ctx)
{
    srv_buf_put(ctx, bytes, n);
}

static void write_json(const mm_playlist_engine *e, const mm_song_vectors *v, const mm_playlist_request *q,
                       const mm_playlist *pl, srv_buf *out)
{
    srv_buf_printf(out, "{\"kind\": \"%s\", \"space\": \"%s\", \"seeds\": [", mm_playlist_kind_name(pl->kind),
                   mm_vector_kind_name(v->kind));
    for (size_t i = 0; i < q->n_seeds; i++)
        srv_buf_printf(out, "%s%lld", i ? ", " : "", (long long)q->seeds[i]);
    srv_buf_puts(out, "], \"max_step\": ");
    srv_buf_json_number(out, pl->max_step, 4);
    srv_buf_puts(out, ", \"mean_step\": ");
    srv_buf_json_number(out, pl->mean_step, 4);
    srv_buf_puts(out, ", \"nn_distance\": ");
    srv_buf_json_number(out, pl->nn_distance, 4);
    srv_buf_puts(out, ", \"state\": ");
    srv_buf_json_string(out, pl->state);
    srv_buf_puts(out, ", \"songs\": [");
    for (size_t i = 0; i < pl->n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(e, pl->songs[i].id);
        srv_buf_puts(out, i ? ",\n  " : "\n  ");
        srv_buf_track_head(out, pl->songs[i].id, s->title, s->artist, s->album, s->genre);
        const char *slash = strrchr(s->path, '/');
        srv_buf_puts(out, ", \"file\": ");
        srv_buf_json_string(out, slash ? slash + 1 : s->path);
        srv_buf_puts(out, ", \"duration\": ");
        srv_buf_json_number(out, s->duration, 2);
        srv_buf_puts(out, ", \"distance\": ");
        srv_buf_json_number(out, pl->songs[i].distance, 4);
        srv_buf_puts(out, ", \"step\": ");
        srv_buf_json_number(out, pl->songs[i].step, 4);
        srv_buf_puts(out, "}");
    }
    srv_buf_puts(out, pl->n ? "\n]}" : "]}");
}

/* Splits text at commas into songs the engine knows; returns how many, or -1 (message in err). */
static int parse_seeds(const mm_playlist_engine *e, const char *text, int64_t *ids, int have, mm_error *err)
{
    char buf[4096];
    if (!text)
        return have;
    if (strlen(text) >= sizeof buf) {
        mm_error_set(err, MM_ERR_ARG, "seed is too long");
        return -1;
    }
    strcpy(buf, text);
    for (char *p = buf, *tok; (tok = strsep(&p, ",")) != NULL;) {
        if (!*tok)
            continue;
        if (have == MAX_SEEDS) {
            mm_error_set(err, MM_ERR_ARG, "at most %d seed songs", MAX_SEEDS);
            return -1;
        }
        if (mm_playlist_engine_resolve(e, tok, &ids[have], err) != MM_OK)
            return -1;
        have++;
    }
    return have;
}

int srv_api_playlist(srv_state *srv, mm_catalog *cat, srv_query_fn query, void *ctx, const char *origin,
                     const char *token, srv_buf *out, const char **content_type)
{
    *content_type = "application/json; charset=utf-8";
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    const char *kind = query(ctx, "kind"), *format = query(ctx, "format");
    if (!kind || mm_playlist_kind_parse(kind, &q.kind) != 0)
        return srv_api_error(out, 400, "kind is similar, mix, journey or radio");
    int m3u = format && (strcmp(format, "m3u") == 0 || strcmp(format, "m3u8") == 0);
    if (format && !m3u && strcmp(format, "json") != 0)
        return srv_api_error(out, 400, "format is json, m3u or m3u8");
    long n, model, with_seeds, random, artist_gap, album_gap, links;
    if (arg_long(query(ctx, "n"), 1, 1000, q.kind == MM_PLAYLIST_JOURNEY ? 12 : 20, &n) != 0 ||
        arg_long(query(ctx, "model"), 1, 1L << 40, 0, &model) != 0 ||
        arg_long(query(ctx, "with_seeds"), 0, 1, 0, &with_seeds) != 0 || arg_long(query(ctx, "links"), 0, 1, 0, &links) != 0 ||
        arg_long(query(ctx, "random"), 0, 1L << 40, 1, &random) != 0 ||
        arg_long(query(ctx, "artist_gap"), 0, 1000, q.artist_gap, &artist_gap) != 0 ||
        arg_long(query(ctx, "album_gap"), 0, 1000, q.album_gap, &album_gap) != 0 ||
        arg_double(query(ctx, "min_duration"), 0, 1e6, &q.min_duration) != 0 ||
        arg_double(query(ctx, "max_duration"), 0, 1e6, &q.max_duration) != 0)
        return srv_api_error(out, 400, "n is 1..1000; model, random, gaps and durations are numbers >= 0; with_seeds and links 0 or 1");
    /* links: origin + "api/tracks/" ID "/audio" [?token=T] */
    char prefix[300], suffix[16 + SRV_TOKEN_MAX];
    if (links && m3u) {
        if (!origin)
            return srv_api_error(out, 400, "links=1 needs the request's Host header (host[:port])");
        snprintf(prefix, sizeof prefix, "%sapi/tracks/", origin);
        snprintf(suffix, sizeof suffix, "/audio%s%s", token ? "?token=" : "", token ? token : "");
    }
    const char *rule = query(ctx, "rule");
    if (rule && mm_mix_rule_parse(rule, &q.mix) != 0)
        return srv_api_error(out, 400, "rule is round-robin, centroid or nearest-seed");
    q.length = (int)n, q.with_seeds = (int)with_seeds, q.seed = (uint64_t)random;
    q.artist_gap = (int)artist_gap, q.album_gap = (int)album_gap;
    const char *genre = query(ctx, "genre"), *exclude_genre = query(ctx, "exclude_genre");
    if (genre)
        q.genres = &genre, q.n_genres = 1;
    if (exclude_genre)
        q.exclude_genres = &exclude_genre, q.n_exclude_genres = 1;
    q.state = query(ctx, "state");

    mm_error err;
    /* a map's model: the space that map was made from, as /similar uses it; none: what the CLI uses,
     * the newest map's vectors (or the descriptors). Either way the engine is cached: a million songs'
     * index is built once, not per request. */
    srv_vectors *sv = NULL;
    srv_default_playlist *dp = NULL;
    mm_song_vectors v;
    mm_playlist_engine *e;
    if (model > 0) {
        if (!(sv = srv_vectors_get(srv, cat, model, &err)))
            return srv_api_error(out, 404, err.msg);
        if (!(e = srv_vectors_engine(sv, cat, &err))) {
            srv_vectors_release(srv, sv);
            return srv_api_error(out, err.code == MM_ERR_NOMEM ? 503 : 500, err.msg);
        }
        v = sv->view;
    } else {
        if (!(dp = srv_default_playlist_get(srv, cat, &err)))
            return srv_api_error(out, err.code == MM_ERR_NOT_FOUND ? 404 : err.code == MM_ERR_NOMEM ? 503 : 500, err.msg);
        e = dp->engine, v = dp->vectors;
    }
    mm_playlist pl = {0};
    int64_t seeds[MAX_SEEDS];
    int status = 200;
    int ns = parse_seeds(e, query(ctx, "seed"), seeds, 0, &err);
    if (ns >= 0)
        ns = parse_seeds(e, query(ctx, "to"), seeds, ns, &err);
    if (ns < 0) {
        status = srv_api_error(out, err.code == MM_ERR_NOT_FOUND ? 404 : 400, err.msg);
    } else {
        q.seeds = seeds, q.n_seeds = (size_t)ns;
        mm_status st = mm_playlist_make(e, &q, &pl, &err);
        if (st != MM_OK)
            status = srv_api_error(out, st == MM_ERR_NOT_FOUND ? 404 : st == MM_ERR_ARG ? 400 : 500, err.msg);
        else if (m3u) {
            *content_type = "audio/x-mpegurl; charset=utf-8";
            mm_m3u_options o;
            mm_m3u_options_init(&o);
            if (links)
                o.url_prefix = prefix, o.url_suffix = suffix;
            mm_playlist_write_m3u(e, &pl, &o, to_buf, out);
        } else {
            write_json(e, &v, &q, &pl, out);
        }
    }
    mm_playlist_free(&pl);
    srv_vectors_release(srv, sv);
    srv_default_playlist_release(srv, dp);
    if (status == 200 && out->failed) {
        srv_buf_free(out);
        *content_type = "application/json; charset=utf-8";
        return srv_api_error(out, 503, "out of memory");
    }
    return status;
}
