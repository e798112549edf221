/* Maps: lay out a kind of song vectors, measure the map, store it with its parameters as data. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/nn.h"
#include "musicmap/pipeline.h"
#include "../util/shared.h"

/* --- the stored parameters ------------------------------------------------------------------------ */

static void number_or_null(char *buf, size_t size, double v)
{
    if (isfinite(v))
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "null");
}

int mm_map_params_format(const mm_map_params *p, char *buf, size_t size)
{
    /* only the parameters that shaped this map (the page shows them) */
    char method_params[96] = "", trust[32], agree[32];
    if (p->method == MM_LAYOUT_TSNE)
        snprintf(method_params, sizeof method_params, "\"perplexity\": %g, ", p->perplexity);
    else if (p->method == MM_LAYOUT_UMAP)
        snprintf(method_params, sizeof method_params, "\"n_neighbors\": %d, \"min_dist\": %g, ", p->n_neighbors,
                 p->min_dist);
    number_or_null(trust, sizeof trust, p->trustworthiness);
    number_or_null(agree, sizeof agree, p->label_agreement);
    char frame[160] = "";
    if (isfinite(p->frame_scale) && p->frame_scale > 0)
        /* %.9g: the frame must take new points exactly where the old ones' units were */
        snprintf(frame, sizeof frame, ", \"frame_scale\": %.9g, \"frame_x\": %.9g, \"frame_y\": %.9g, \"frame_z\": %.9g",
                 p->frame_scale, p->frame_shift[0], p->frame_shift[1], p->frame_shift[2]);
    return snprintf(buf, size,
                    "{\"features\": \"%s\", %s\"metric\": \"%s\", \"seed\": %llu, \"trustworthiness\": %s, "
                    "\"label_agreement\": %s, \"method\": \"%s\", \"dims\": %d%s}",
                    mm_vector_kind_name(p->features), method_params, mm_metric_name(p->metric),
                    (unsigned long long)p->seed, trust, agree, mm_layout_method_name(p->method), p->dims, frame);
}

/* A flat JSON object of strings, numbers and null: calls on(key, string, number) for each member
 * (string NULL for a number or null; number NaN for null or a string). Returns 0, or -1 on bad text. */
typedef void (*member_fn)(mm_map_params *p, const char *key, const char *string, double number);

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* Reads a plain string (no escapes: the library never writes any) into buf; returns past its quote. */
static const char *read_string(const char *s, char *buf, size_t size)
{
    if (*s != '"')
        return NULL;
    size_t n = 0;
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' || n + 1 >= size)
            return NULL;
        buf[n++] = *s;
    }
    if (*s != '"')
        return NULL;
    buf[n] = '\0';
    return s + 1;
}

static int parse_flat(const char *json, mm_map_params *p, member_fn on)
{
    const char *s = skip_space(json);
    if (*s++ != '{')
        return -1;
    s = skip_space(s);
    if (*s == '}')
        return *skip_space(s + 1) ? -1 : 0;
    for (;;) {
        char key[64], text[64];
        s = read_string(skip_space(s), key, sizeof key);
        if (!s)
            return -1;
        s = skip_space(s);
        if (*s++ != ':')
            return -1;
        s = skip_space(s);
        if (*s == '"') {
            if (!(s = read_string(s, text, sizeof text)))
                return -1;
            on(p, key, text, NAN);
        } else if (strncmp(s, "null", 4) == 0) {
            s += 4;
            on(p, key, NULL, NAN);
        } else {
            char *end;
            double v = strtod(s, &end);
            if (end == s)
                return -1;
            s = end;
            on(p, key, NULL, v);
        }
        s = skip_space(s);
        if (*s == '}')
            return *skip_space(s + 1) ? -1 : 0;
        if (*s++ != ',')
            return -1;
    }
}

static void on_member(mm_map_params *p, const char *key, const char *string, double number)
{
    if (string) {
        if (strcmp(key, "features") == 0)
            mm_vector_kind_parse(string, &p->features);
        else if (strcmp(key, "method") == 0)
            mm_layout_method_parse(string, &p->method);
        else if (strcmp(key, "metric") == 0)
            mm_metric_parse(string, &p->metric);
        return;
    }
    if (strcmp(key, "trustworthiness") == 0)
        p->trustworthiness = number >= 0 ? number : NAN; /* older maps wrote -1 for "not measured" */
    else if (strcmp(key, "label_agreement") == 0)
        p->label_agreement = number >= 0 ? number : NAN;
    else if (isnan(number))
        return;
    else if (strcmp(key, "dims") == 0 && (number == 2 || number == 3))
        p->dims = (int)number;
    else if (strcmp(key, "perplexity") == 0)
        p->perplexity = number;
    else if (strcmp(key, "n_neighbors") == 0 && number >= 1 && number <= 1e6)
        p->n_neighbors = (int)number;
    else if (strcmp(key, "min_dist") == 0)
        p->min_dist = number;
    else if (strcmp(key, "seed") == 0 && number >= 0)
        p->seed = (uint64_t)number;
    else if (strcmp(key, "frame_scale") == 0 && number > 0)
        p->frame_scale = number;
    else if (strcmp(key, "frame_x") == 0)
        p->frame_shift[0] = number;
    else if (strcmp(key, "frame_y") == 0)
        p->frame_shift[1] = number;
    else if (strcmp(key, "frame_z") == 0)
        p->frame_shift[2] = number;
}

int mm_map_params_parse(const char *json, const char *source, mm_map_params *out)
{
    mm_layout_spec d;
    mm_layout_spec_defaults(&d);
    *out = (mm_map_params){.features = source && strcmp(source, "probs") == 0 ? MM_VECTORS_OUTPUTS : MM_VECTORS_HIDDEN,
                           .method = d.method,
                           .dims = d.dims,
                           .metric = d.metric,
                           .perplexity = d.perplexity,
                           .n_neighbors = d.n_neighbors,
                           .min_dist = d.min_dist,
                           .seed = d.seed,
                           .trustworthiness = NAN,
                           .label_agreement = NAN,
                           .frame_scale = NAN};
    return json ? parse_flat(json, out, on_member) : 0;
}

/* --- making a map ------------------------------------------------------------------------------------ */

/* Descriptors and the spectrogram baseline have no model: each is registered as a pseudo-model once,
 * so that maps can refer to what they were made from. */
static mm_status register_pseudo_model(mm_catalog *cat, mm_song_vectors *v, mm_error *err)
{
    const int mel = v->kind == MM_VECTORS_MEL;
    char *no_classes[1] = {NULL};
    mm_model_record pseudo = {.name = mel ? "mel-pca50" : "descriptors",
                              .file = "",
                              .architecture = mel ? "mel" : "descriptors",
                              .n_classes = 0,
                              .classes = no_classes,
                              .embedding_dim = mel ? MM_MEL_PCA_DIMS : MM_DESCRIPTOR_DIM};
    mm_model_record existing;
    if (mm_catalog_get_model(cat, pseudo.name, &existing, NULL) == MM_OK) {
        v->model_id = existing.id;
        mm_model_record_free(&existing);
        return MM_OK;
    }
    return mm_catalog_put_model(cat, &pseudo, &v->model_id, err);
}

void mm_map_request_init(mm_map_request *req)
{
    memset(req, 0, sizeof *req);
    req->size = sizeof *req;
    req->features = MM_VECTORS_DESCRIPTORS;
    req->grow_limit = MM_MAP_GROW_LIMIT;
}

static void map_name(const mm_song_vectors *v, const mm_layout_spec *spec, const char *name, char *out, size_t size)
{
    char spec_name[96];
    mm_layout_spec_name(spec, spec_name, sizeof spec_name);
    if (name)
        snprintf(out, size, "%s", name);
    else if (v->kind != MM_VECTORS_DESCRIPTORS && v->kind != MM_VECTORS_MEL)
        snprintf(out, size, "%s-%s (%.100s)", spec_name, mm_vector_kind_name(v->kind), v->model_name);
    else
        snprintf(out, size, "%s-%s", spec_name, mm_vector_kind_name(v->kind));
}

/* Measures the map y (v's rows) and fills result's count, tags and params (quality, frame). */
static mm_status measure(mm_catalog *cat, const mm_song_vectors *v, const mm_layout_spec *spec, const float *y,
                         mm_map_result *result, mm_error *err)
{
    const size_t n = v->n;
    int32_t *labels = malloc(sizeof(int32_t) * n);
    if (!labels)
        return mm_error_set(err, MM_ERR_NOMEM, "map: out of memory for %zu songs", n);
    mm_status st = MM_OK;
    int n_tags = mm_tag_labels(cat, v->ids, n, labels, MM_MAX_LABELS, err);
    if (n_tags < 0) {
        free(labels);
        return err ? err->code : MM_ERR_IO;
    }
    mm_quality_options qo;
    mm_quality_defaults(&qo);
    qo.threads = spec->threads;
    mm_layout_quality q;
    if ((st = mm_layout_quality_compute(v->x, n, (size_t)v->dim, y, spec->dims, n_tags ? labels : NULL, &qo, &q,
                                        err)) == MM_OK) {
        result->tagged = 0;
        for (size_t i = 0; i < n; i++)
            result->tagged += labels[i] >= 0;
        result->n = n;
        result->params.trustworthiness = q.trustworthiness;
        result->params.label_agreement = n_tags ? q.label_agreement : NAN;
    }
    free(labels);
    return st;
}

static mm_map_params params_of(const mm_song_vectors *v, const mm_layout_spec *spec)
{
    return (mm_map_params){.features = v->kind,
                           .method = spec->method,
                           .dims = spec->dims,
                           .metric = spec->metric,
                           .perplexity = spec->perplexity,
                           .n_neighbors = spec->n_neighbors,
                           .min_dist = spec->min_dist,
                           .seed = spec->seed,
                           .trustworthiness = NAN,
                           .label_agreement = NAN,
                           .frame_scale = NAN};
}

/* Lays every song out anew and stores the map (replacing one of the same name). */
static mm_status draw(mm_catalog *cat, mm_song_vectors *v, const mm_layout_spec *spec, mm_map_result *result,
                      mm_error *err)
{
    const size_t n = v->n;
    float *y = malloc(sizeof(float) * n * 3);
    if (!y)
        return mm_error_set(err, MM_ERR_NOMEM, "map: out of memory for %zu songs", n);
    double t0 = mm_now();
    mm_status st = mm_layout_compute(v->x, n, (size_t)v->dim, spec, y, err);
    if (st != MM_OK)
        goto done;
    result->seconds = mm_now() - t0;
    result->params = params_of(v, spec);
    if ((st = measure(cat, v, spec, y, result, err)) != MM_OK)
        goto done;
    mm_layout_frame(y, n, spec->dims, &result->params.frame_scale, result->params.frame_shift);
    mm_layout_normalize(y, n, spec->dims);
    char params[640];
    mm_map_params_format(&result->params, params, sizeof params);
    mm_map_record map = {.name = result->name,
                         .model_id = v->model_id,
                         .source = v->kind == MM_VECTORS_OUTPUTS ? "probs" : "embedding",
                         .method = (char *)mm_layout_method_name(spec->method),
                         .dims = spec->dims,
                         .params = params};
    st = mm_catalog_put_map(cat, &map, n, v->ids, y, &result->map_id, err);
    result->change = MM_MAP_DRAWN;
done:
    free(y);
    return st;
}

/* The stored map of result->name when it can grow into v's songs: its record, else a reason why not
 * (why[0] != 0) or none at all (no map of that name). */
static int growable(mm_catalog *cat, const mm_song_vectors *v, const mm_layout_spec *spec, mm_map_record *out,
                    mm_map_params *stored, char *why, size_t why_size, mm_error *err)
{
    mm_map_record *maps;
    size_t n_maps;
    why[0] = '\0';
    if (mm_catalog_list_maps(cat, &maps, &n_maps, err) != MM_OK)
        return -1;
    int found = 0;
    for (size_t i = 0; i < n_maps && !found; i++) {
        const mm_map_record *m = &maps[i];
        if (strcmp(m->name, out->name) != 0)
            continue;
        found = 1;
        mm_map_params p;
        if (m->model_id != v->model_id || m->dims != spec->dims || !m->params ||
            mm_map_params_parse(m->params, m->source, &p) != 0 || p.features != v->kind || p.method != spec->method ||
            p.metric != spec->metric || p.seed != spec->seed ||
            (spec->method == MM_LAYOUT_TSNE && p.perplexity != spec->perplexity) ||
            (spec->method == MM_LAYOUT_UMAP && (p.n_neighbors != spec->n_neighbors || p.min_dist != spec->min_dist))) {
            snprintf(why, why_size, "the stored map of this name was made from other vectors or parameters");
            break;
        }
        if (!isfinite(p.frame_scale)) {
            snprintf(why, why_size, "the stored map predates growing maps (no frame stored)");
            break;
        }
        *stored = p;
        out->id = m->id;
        out->generation = m->generation;
        mm_map_records_free(maps, n_maps);
        return 1;
    }
    mm_map_records_free(maps, n_maps);
    return 0;
}

/* Places v's songs that are not on the stored map with the layout's transform. */
static mm_status grow(mm_catalog *cat, mm_song_vectors *v, const mm_layout_spec *spec, const mm_map_record *map,
                      const mm_map_params *stored, double limit, mm_map_result *result, int *redraw, mm_error *err)
{
    size_t n_pts;
    int64_t *pt_ids = NULL;
    float *pt_y = NULL;
    int dims;
    mm_status st = mm_catalog_get_map_points(cat, map->id, &n_pts, &pt_ids, &pt_y, &dims, err);
    if (st != MM_OK)
        return st;
    const size_t n = v->n, d = (size_t)v->dim, D = (size_t)spec->dims;
    /* each of v's rows: its point on the stored map (both by ascending track id), or -1: new */
    long *on_map = malloc(sizeof(long) * n);
    float *x_old = malloc(sizeof(float) * n * d), *x_new = malloc(sizeof(float) * n * d);
    float *y_old = malloc(sizeof(float) * n * D), *y_new = malloc(sizeof(float) * n * D);
    float *y_all = malloc(sizeof(float) * n * D);
    int64_t *new_ids = malloc(sizeof(int64_t) * n);
    if (!on_map || !x_old || !x_new || !y_old || !y_new || !y_all || !new_ids) {
        st = mm_error_set(err, MM_ERR_NOMEM, "map: out of memory for %zu songs", n);
        goto done;
    }
    size_t n_old = 0, n_new = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        while (j < n_pts && pt_ids[j] < v->ids[i])
            j++;
        on_map[i] = j < n_pts && pt_ids[j] == v->ids[i] ? (long)j : -1;
        if (on_map[i] >= 0) {
            memcpy(x_old + n_old * d, v->x + i * d, sizeof(float) * d);
            /* back to the layout's own units: the transforms' forces are measured in them */
            for (size_t a = 0; a < D; a++)
                y_old[n_old * D + a] =
                    (float)((pt_y[(size_t)on_map[i] * D + a] - stored->frame_shift[a]) / stored->frame_scale);
            n_old++;
        } else {
            memcpy(x_new + n_new * d, v->x + i * d, sizeof(float) * d);
            new_ids[n_new++] = v->ids[i];
        }
    }
    if (n_new > 0 && n_old < 10) {
        snprintf(result->why, sizeof result->why, "the stored map has only %zu of these songs: too few to place new "
                 "ones by", n_old);
        *redraw = 1;
        goto done;
    }
    if (n_new > 0 && (double)n_new > limit * (double)n_old) {
        snprintf(result->why, sizeof result->why, "%zu new songs are %.0f %% of the map's %zu (grow limit %.0f %%)",
                 n_new, 100.0 * (double)n_new / (double)n_old, n_old, 100.0 * limit);
        *redraw = 1;
        goto done;
    }
    double t0 = mm_now();
    if (n_new > 0 && (st = mm_layout_extend(x_old, n_old, d, y_old, x_new, n_new, spec, y_new, err)) != MM_OK) {
        if (st == MM_ERR_INTERNAL) {
            /* e.g. PCA's fit on degenerate old songs (fewer independent axes than dimensions): draw anew */
            snprintf(result->why, sizeof result->why, "new songs could not be placed (%.100s)", err ? err->msg : "");
            *redraw = 1;
            st = MM_OK;
        }
        goto done;
    }
    result->seconds = mm_now() - t0;
    /* the whole map in v's order and the layout's units, for its quality */
    for (size_t i = 0, o = 0, w = 0; i < n; i++) {
        const float *src = on_map[i] >= 0 ? y_old + (o++) * D : y_new + (w++) * D;
        memcpy(y_all + i * D, src, sizeof(float) * D);
    }
    result->params = *stored;
    if (n_new == 0) {
        /* kept: the stored quality still describes it */
        result->n = n_pts;
        result->change = MM_MAP_KEPT;
        result->map_id = map->id;
        goto done;
    }
    if ((st = measure(cat, v, spec, y_all, result, err)) != MM_OK)
        goto done;
    for (size_t i = 0; i < n_new; i++)
        for (size_t a = 0; a < D; a++)
            y_new[i * D + a] = (float)(y_new[i * D + a] * stored->frame_scale + stored->frame_shift[a]);
    char params[640];
    mm_map_params_format(&result->params, params, sizeof params);
    if ((st = mm_catalog_grow_map(cat, map->id, params, n_new, new_ids, y_new, err)) != MM_OK)
        goto done;
    result->map_id = map->id;
    result->change = MM_MAP_GROWN;
    result->added = n_new;
    result->n = n_old + n_new;
done:
    free(pt_ids);
    free(pt_y);
    free(on_map);
    free(x_old);
    free(x_new);
    free(y_old);
    free(y_new);
    free(y_all);
    free(new_ids);
    return st;
}

mm_status mm_map_make_from(mm_catalog *cat, mm_song_vectors *v, const mm_map_request *req_in, mm_map_result *result,
                           mm_error *err)
{
    memset(result, 0, sizeof *result);
    mm_map_request req;
    mm_map_request_init(&req);
    util_options_copy(&req, sizeof req, req_in, UTIL_OPTIONS_END(mm_map_request, grow_limit));
    if (!(req.grow_limit > 0))
        req.grow_limit = MM_MAP_GROW_LIMIT;
    mm_layout_spec spec_copy;
    mm_layout_spec_init(&spec_copy);
    util_options_copy(&spec_copy, sizeof spec_copy, req.spec, UTIL_OPTIONS_END(mm_layout_spec, progress_user));
    const mm_layout_spec *spec = &spec_copy;
    if (spec->dims != 2 && spec->dims != 3)
        return mm_error_set(err, MM_ERR_ARG, "map: a map has 2 or 3 dimensions, not %d", spec->dims);
    const int no_model = v->kind == MM_VECTORS_DESCRIPTORS || v->kind == MM_VECTORS_MEL;
    if (v->n < 3)
        return mm_error_set(err, MM_ERR_ARG, "%zu songs have %s vectors%s: too few for a map", v->n,
                            mm_vector_kind_name(v->kind),
                            v->kind == MM_VECTORS_DESCRIPTORS ? " (run `musicmap scan` again: it computes them)"
                            : no_model                        ? ""
                                                              : " (run `musicmap embed`)");
    mm_status st = MM_OK;
    if (no_model && v->model_id == 0 && (st = register_pseudo_model(cat, v, err)) != MM_OK)
        return st;
    map_name(v, spec, req.name, result->name, sizeof result->name);
    if (!req.redraw) {
        mm_map_record stored = {.name = result->name};
        mm_map_params params;
        int g = growable(cat, v, spec, &stored, &params, result->why, sizeof result->why, err);
        if (g < 0)
            return err ? err->code : MM_ERR_IO;
        if (g == 1) {
            int redraw = 0;
            if ((st = grow(cat, v, spec, &stored, &params, req.grow_limit, result, &redraw, err)) != MM_OK || !redraw)
                return st;
        }
    }
    char why[sizeof result->why];
    memcpy(why, result->why, sizeof why);
    st = draw(cat, v, spec, result, err);
    memcpy(result->why, why, sizeof why);
    return st;
}

mm_status mm_map_make(mm_catalog *cat, const mm_map_request *req_in, mm_map_result *result, mm_error *err)
{
    mm_map_request req;
    mm_map_request_init(&req);
    util_options_copy(&req, sizeof req, req_in, UTIL_OPTIONS_END(mm_map_request, grow_limit));
    mm_song_vectors v;
    mm_status st = mm_song_vectors_load(cat, req.features, req.model, req.spec ? req.spec->threads : 0, &v, err);
    if (st != MM_OK)
        return st;
    st = mm_map_make_from(cat, &v, &req, result, err);
    mm_song_vectors_free(&v);
    return st;
}
