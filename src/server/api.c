/* The JSON endpoints: maps, one track, similar tracks, search. Each writes a complete body into a buffer
 * and returns the HTTP status; the transport is http.c's business. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int srv_api_error(srv_buf *out, int status, const char *message)
{
    out->len = 0;
    srv_buf_puts(out, "{\"error\": ");
    srv_buf_json_string(out, message);
    srv_buf_puts(out, "}");
    return status;
}

static int status_of(mm_status s)
{
    return s == MM_ERR_NOT_FOUND ? 404 : s == MM_ERR_ARG ? 400 : s == MM_ERR_NOMEM ? 503 : 500;
}

static void json_g(srv_buf *out, double v)
{
    if (isfinite(v))
        srv_buf_printf(out, "%g", v);
    else
        srv_buf_puts(out, "null");
}

/* A map's parameters as the page reads them: what shaped the map, then its quality (null: not measured). */
static void write_params(srv_buf *out, const mm_map_params *p)
{
    srv_buf_puts(out, "{\"features\": ");
    srv_buf_json_string(out, mm_vector_kind_name(p->features));
    if (p->method == MM_LAYOUT_TSNE) {
        srv_buf_puts(out, ", \"perplexity\": ");
        json_g(out, p->perplexity);
    } else if (p->method == MM_LAYOUT_UMAP) {
        srv_buf_printf(out, ", \"n_neighbors\": %d, \"min_dist\": ", p->n_neighbors);
        json_g(out, p->min_dist);
    }
    srv_buf_puts(out, ", \"metric\": ");
    srv_buf_json_string(out, mm_metric_name(p->metric));
    srv_buf_printf(out, ", \"seed\": %llu, \"trustworthiness\": ", (unsigned long long)p->seed);
    srv_buf_json_number(out, p->trustworthiness, 4);
    srv_buf_puts(out, ", \"label_agreement\": ");
    srv_buf_json_number(out, p->label_agreement, 4);
    srv_buf_puts(out, "}");
}

int srv_api_maps(srv_state *srv, mm_catalog *cat, srv_buf *out)
{
    (void)srv;
    mm_map_record *maps = NULL;
    size_t n = 0;
    mm_error err;
    if (mm_catalog_list_maps(cat, &maps, &n, &err) != MM_OK)
        return srv_api_error(out, 500, err.msg);
    srv_buf_puts(out, "{\"maps\": [");
    int64_t cached_model = 0;
    char *model_name = NULL;
    double accuracy = -1.0;
    for (size_t i = 0; i < n; i++) {
        const mm_map_record *m = &maps[i];
        if (m->model_id != cached_model) {
            mm_model_record rec;
            free(model_name);
            model_name = NULL;
            accuracy = -1.0;
            if (mm_catalog_get_model_by_id(cat, m->model_id, &rec, NULL) == MM_OK) {
                model_name = rec.name ? strdup(rec.name) : NULL;
                accuracy = mm_model_record_test_accuracy(&rec);
                mm_model_record_free(&rec);
            }
            cached_model = m->model_id;
        }
        srv_buf_printf(out, "%s\n  {\"id\": %lld, \"name\": ", i ? "," : "", (long long)m->id);
        srv_buf_json_string(out, m->name);
        srv_buf_printf(out, ", \"model_id\": %lld, \"model\": ", (long long)m->model_id);
        srv_buf_json_string(out, model_name);
        srv_buf_puts(out, ", \"source\": ");
        srv_buf_json_string(out, m->source);
        srv_buf_puts(out, ", \"method\": ");
        srv_buf_json_string(out, m->method);
        srv_buf_printf(out, ", \"dims\": %d, \"params\": ", m->dims);
        /* written from the parsed parameters, never passed through: a damaged or foreign params text
         * becomes null */
        mm_map_params p;
        const int parsed = mm_map_params_parse(m->params, m->source, &p) == 0;
        if (parsed && m->params)
            write_params(out, &p);
        else
            srv_buf_puts(out, "null");
        /* which colouring the page starts with: predictions only from a model that is sure enough */
        srv_buf_printf(out, ", \"colors\": {\"default\": \"%s\", \"model_accuracy\": ",
                      accuracy >= MM_PREDICTED_COLOURS_MIN_ACCURACY ? "predicted" : "tagged");
        if (accuracy >= 0)
            srv_buf_printf(out, "%.4f", accuracy);
        else
            srv_buf_puts(out, "null");
        srv_buf_printf(out, ", \"bound\": %.2f, \"features\": ", MM_PREDICTED_COLOURS_MIN_ACCURACY);
        srv_buf_json_string(out, mm_vector_kind_name(parsed ? p.features : MM_VECTORS_HIDDEN));
        srv_buf_printf(out, "}, \"created_at\": %lld, \"points\": %zu, \"generation\": %d}", (long long)m->created_at,
                      m->n_points, m->generation);
    }
    srv_buf_puts(out, n ? "\n]}" : "]}");
    free(model_name);
    mm_map_records_free(maps, n);
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}

typedef struct track_out {
    srv_buf *out;
    int found;
} track_out;

static int write_track(const mm_track *t, void *user)
{
    track_out *to = user;
    srv_buf *b = to->out;
    if (t->status != MM_TRACK_OK)
        return 1; /* failed and missing tracks are not served */
    to->found = 1;
    srv_buf_track_head(b, t->id, t->title, t->artist, t->album, t->genre);
    srv_buf_puts(b, ", \"date\": ");
    srv_buf_json_string(b, t->date);
    srv_buf_puts(b, ", \"track_no\": ");
    srv_buf_json_string(b, t->track_no);
    if (t->year)
        srv_buf_printf(b, ", \"year\": %d", t->year);
    else
        srv_buf_puts(b, ", \"year\": null");
    /* the file name only (never the folder): a title for untagged songs */
    const char *slash = strrchr(t->path, '/');
    srv_buf_puts(b, ", \"file\": ");
    srv_buf_json_string(b, slash ? slash + 1 : t->path);
    srv_buf_puts(b, ", \"duration\": ");
    srv_buf_json_number(b, t->duration, 3);
    srv_buf_puts(b, ", \"codec\": ");
    srv_buf_json_string(b, t->codec);
    srv_buf_puts(b, ", \"container\": ");
    srv_buf_json_string(b, t->container);
    srv_buf_printf(b, ", \"sample_rate\": %d, \"channels\": %d, \"bit_rate\": %lld", t->sample_rate, t->channels,
                  (long long)t->bit_rate);
    /* loudness: null is either silence or not measured; "silent" tells them apart */
    srv_buf_puts(b, ", \"loudness\": ");
    srv_buf_json_number(b, t->loudness, 2);
    srv_buf_printf(b, ", \"silent\": %s, \"loudness_span\": \"%s\"", isinf(t->loudness) ? "true" : "false",
                  t->loudness_song ? "song" : "clip");
    const char *ct = srv_browser_content_type(t->container, t->codec);
    srv_buf_printf(b, ", \"audio\": {\"content_type\": \"%s\", \"transcoded\": %s}", ct ? ct : "audio/mpeg",
                  ct ? "false" : "true");
    return 0;
}

int srv_api_track(srv_state *srv, mm_catalog *cat, int64_t id, srv_buf *out)
{
    track_out to = {out, 0};
    mm_error err;
    mm_status s = mm_catalog_get_track(cat, id, write_track, &to, &err);
    if (s != MM_OK)
        return srv_api_error(out, status_of(s), err.msg);
    if (!to.found)
        return srv_api_error(out, 404, "no such track");
    /* the newest model's output for the track, when it has one */
    srv_vectors *v = srv_vectors_get(srv, cat, 0, &err);
    long i = v ? srv_vectors_find(v, id) : -1;
    if (i >= 0) {
        srv_buf_puts(out, ", \"predicted\": {\"model\": ");
        srv_buf_json_string(out, v->model_name);
        srv_buf_puts(out, ", \"labels\": [");
        for (int c = 0; c < v->k; c++) {
            srv_buf_puts(out, c ? ", " : "");
            srv_buf_json_string(out, v->classes[c]);
        }
        srv_buf_puts(out, "], \"probs\": [");
        for (int c = 0; c < v->k; c++)
            srv_buf_printf(out, "%s%.4f", c ? ", " : "", (double)v->probs[(size_t)i * (size_t)v->k + (size_t)c]);
        srv_buf_puts(out, "]}");
    } else {
        srv_buf_puts(out, ", \"predicted\": null");
    }
    srv_vectors_release(srv, v);
    srv_buf_puts(out, "}");
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}

int srv_api_map_added(srv_state *srv, mm_catalog *cat, int64_t id, srv_buf *out)
{
    (void)srv;
    mm_error err;
    int generation;
    size_t n;
    int64_t *ids;
    mm_status st = mm_catalog_get_map_added(cat, id, &generation, &n, &ids, &err);
    if (st != MM_OK)
        return srv_api_error(out, st == MM_ERR_NOT_FOUND ? 404 : 503, err.msg);
    srv_buf_printf(out, "{\"map\": %lld, \"generation\": %d, \"ids\": [", (long long)id, generation);
    for (size_t i = 0; i < n; i++)
        srv_buf_printf(out, "%s%lld", i ? "," : "", (long long)ids[i]);
    srv_buf_puts(out, "]}");
    free(ids);
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}

/* A short form of a track for lists (similar, search). */
static int write_brief(const mm_track *t, void *user)
{
    track_out *to = user;
    if (t->status != MM_TRACK_OK)
        return 0;
    srv_buf *b = to->out;
    srv_buf_puts(b, to->found ? ",\n  " : "\n  ");
    srv_buf_track_head(b, t->id, t->title, t->artist, t->album, t->genre);
    const char *slash = strrchr(t->path, '/');
    srv_buf_puts(b, ", \"file\": ");
    srv_buf_json_string(b, slash ? slash + 1 : t->path);
    srv_buf_puts(b, "}");
    to->found++;
    return 0;
}

int srv_api_similar(srv_state *srv, mm_catalog *cat, int64_t id, int k, int64_t model_id, srv_buf *out)
{
    mm_error err;
    srv_vectors *v = srv_vectors_get(srv, cat, model_id, &err);
    if (!v)
        return srv_api_error(out, 404, err.msg);
    long i = srv_vectors_find(v, id);
    if (i < 0) {
        srv_vectors_release(srv, v);
        return srv_api_error(out, 404, "the track has no vectors under this model");
    }
    mm_similar_song near[100];
    size_t n = srv_similar_indices(v, (size_t)i, k < 100 ? k : 100, near);
    srv_buf_printf(out, "{\"id\": %lld, \"model\": ", (long long)id);
    srv_buf_json_string(out, v->model_name);
    srv_buf_printf(out, ", \"space\": \"%s\", \"similar\": [",
                  v->k == 0 && v->dim ? "descriptors" : v->dim ? "embedding" : "probs");
    track_out to = {out, 0};
    for (size_t j = 0; j < n; j++) {
        int before = to.found;
        if (mm_catalog_get_track(cat, near[j].id, write_brief, &to, NULL) == MM_OK && to.found > before) {
            /* append the distance inside the object just written */
            out->len--;
            srv_buf_puts(out, ", \"distance\": ");
            srv_buf_json_number(out, near[j].distance, 4);
            srv_buf_puts(out, "}");
        }
    }
    srv_buf_puts(out, to.found ? "\n]}" : "]}");
    srv_vectors_release(srv, v);
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}

int srv_api_search(srv_state *srv, mm_catalog *cat, const char *query, int limit, srv_buf *out)
{
    (void)srv;
    srv_buf_puts(out, "{\"query\": ");
    srv_buf_json_string(out, query);
    srv_buf_puts(out, ", \"results\": [");
    track_out to = {out, 0};
    mm_error err;
    mm_status s = mm_catalog_search(cat, query, limit, write_brief, &to, &err);
    if (s != MM_OK)
        return srv_api_error(out, 500, err.msg);
    srv_buf_puts(out, to.found ? "\n]}" : "]}");
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}
