/* Maps: lay out a kind of song vectors, measure the map, store it with its parameters as data. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/nn.h"
#include "musicmap/pipeline.h"

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
    return snprintf(buf, size,
                    "{\"features\": \"%s\", %s\"metric\": \"%s\", \"seed\": %llu, \"trustworthiness\": %s, "
                    "\"label_agreement\": %s, \"method\": \"%s\", \"dims\": %d}",
                    mm_vector_kind_name(p->features), method_params, mm_metric_name(p->metric),
                    (unsigned long long)p->seed, trust, agree, mm_layout_method_name(p->method), p->dims);
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
                           .label_agreement = NAN};
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

mm_status mm_map_make_from(mm_catalog *cat, mm_song_vectors *v, const mm_layout_spec *spec, const char *name,
                           mm_map_result *result, mm_error *err)
{
    memset(result, 0, sizeof *result);
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
    const size_t n = v->n;
    float *y = malloc(sizeof(float) * n * 3);
    int32_t *labels = malloc(sizeof(int32_t) * n);
    if (!y || !labels) {
        free(y);
        free(labels);
        return mm_error_set(err, MM_ERR_NOMEM, "map: out of memory for %zu songs", n);
    }
    int n_tags = mm_tag_labels(cat, v->ids, n, labels, MM_MAX_LABELS, err);
    if (n_tags < 0) {
        st = err ? err->code : MM_ERR_IO;
        goto done;
    }
    double t0 = mm_now();
    if ((st = mm_layout_compute(v->x, n, (size_t)v->dim, spec, y, err)) != MM_OK)
        goto done;
    result->seconds = mm_now() - t0;
    mm_quality_options qo;
    mm_quality_defaults(&qo);
    qo.threads = spec->threads;
    mm_layout_quality q;
    if ((st = mm_layout_quality_compute(v->x, n, (size_t)v->dim, y, spec->dims, n_tags ? labels : NULL, &qo, &q,
                                        err)) != MM_OK)
        goto done;
    mm_layout_normalize(y, n, spec->dims);
    for (size_t i = 0; i < n; i++)
        result->tagged += labels[i] >= 0;
    result->n = n;
    result->params = (mm_map_params){.features = v->kind,
                                     .method = spec->method,
                                     .dims = spec->dims,
                                     .metric = spec->metric,
                                     .perplexity = spec->perplexity,
                                     .n_neighbors = spec->n_neighbors,
                                     .min_dist = spec->min_dist,
                                     .seed = spec->seed,
                                     .trustworthiness = q.trustworthiness,
                                     .label_agreement = n_tags ? q.label_agreement : NAN};
    char spec_name[96], params[512];
    mm_layout_spec_name(spec, spec_name, sizeof spec_name);
    if (name)
        snprintf(result->name, sizeof result->name, "%s", name);
    else if (!no_model)
        snprintf(result->name, sizeof result->name, "%s-%s (%.100s)", spec_name, mm_vector_kind_name(v->kind),
                 v->model_name);
    else
        snprintf(result->name, sizeof result->name, "%s-%s", spec_name, mm_vector_kind_name(v->kind));
    mm_map_params_format(&result->params, params, sizeof params);
    mm_map_record map = {.name = result->name,
                         .model_id = v->model_id,
                         .source = v->kind == MM_VECTORS_OUTPUTS ? "probs" : "embedding",
                         .method = (char *)mm_layout_method_name(spec->method),
                         .dims = spec->dims,
                         .params = params};
    st = mm_catalog_put_map(cat, &map, n, v->ids, y, &result->map_id, err);
done:
    free(y);
    free(labels);
    return st;
}

mm_status mm_map_make(mm_catalog *cat, const mm_map_request *req, mm_map_result *result, mm_error *err)
{
    mm_song_vectors v;
    mm_status st = mm_song_vectors_load(cat, req->features, req->model, req->spec.threads, &v, err);
    if (st != MM_OK)
        return st;
    st = mm_map_make_from(cat, &v, &req->spec, req->name, result, err);
    mm_song_vectors_free(&v);
    return st;
}
