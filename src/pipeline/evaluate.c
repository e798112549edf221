/* Evaluation: how well each kind of song vector, and each map made from it, keeps songs that share a
 * label next to each other (the figures bench/quality and the defaults are chosen by). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/features.h"
#include "musicmap/pipeline.h"
#include "../util/shared.h"
#include "internal.h"

/* Labels as small integers for a set of track ids (-1: no label), sorted by id. */
typedef struct label_index {
    int64_t *ids;
    int32_t *label;
    size_t n;
    int n_names;
} label_index;

typedef struct id_label {
    int64_t id;
    int32_t label;
} id_label;

static int cmp_id_label(const void *a, const void *b)
{
    int64_t x = ((const id_label *)a)->id, y = ((const id_label *)b)->id;
    return x < y ? -1 : x > y;
}

static int cmp_label_text(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Labels are numbered through a sort of their texts: the same number for the same text, in n log n
 * (a label per artist over a million songs has hundreds of thousands of names). */
static int build_index(const mm_label_list *list, label_index *out)
{
    const size_t cap = list->n ? list->n : 1;
    id_label *pairs = malloc(sizeof *pairs * cap);
    char *const **by_text = malloc(sizeof *by_text * cap); /* each points at its list->labels slot */
    out->ids = malloc(sizeof *out->ids * cap);
    out->label = malloc(sizeof *out->label * cap);
    if (!pairs || !by_text || !out->ids || !out->label) {
        free(pairs);
        free(by_text);
        return -1;
    }
    for (size_t i = 0; i < list->n; i++)
        by_text[i] = &list->labels[i];
    qsort(by_text, list->n, sizeof *by_text, cmp_label_text);
    int n_names = 0;
    for (size_t r = 0; r < list->n; r++) {
        if (r == 0 || strcmp(*by_text[r], *by_text[r - 1]) != 0)
            n_names++;
        size_t i = (size_t)(by_text[r] - list->labels);
        pairs[i] = (id_label){list->ids[i], n_names - 1};
    }
    qsort(pairs, list->n, sizeof *pairs, cmp_id_label);
    for (size_t i = 0; i < list->n; i++) {
        out->ids[i] = pairs[i].id;
        out->label[i] = pairs[i].label;
    }
    out->n = list->n;
    out->n_names = n_names;
    free(pairs);
    free(by_text);
    return 0;
}

static int32_t label_of(const label_index *ix, int64_t id)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->ids[lo] == id ? ix->label[lo] : -1;
}

typedef struct eval_ctx {
    const mm_evaluate_request *req;
    const label_index *labels;
    mm_layout_method methods[3];
    size_t n_methods;
} eval_ctx;

/* Scores one kind of vectors (n x d, rows in ids order): keeps the labelled rows, then the neighbour
 * agreement in the space and on each map, one row per map (or one "not scored" row). */
static mm_status score(eval_ctx *c, const char *kind, const int64_t *ids, const float *x, size_t n, int d,
                       mm_error *err)
{
    const size_t cap = n ? n : 1;
    float *xs = malloc(sizeof(float) * cap * (size_t)d);
    int32_t *lab = malloc(sizeof(int32_t) * cap);
    float *y = malloc(sizeof(float) * cap * 2);
    int32_t *idx = malloc(sizeof(int32_t) * cap * 10);
    mm_status st = MM_OK;
    mm_evaluate_row row = {.dim = d, .space5 = NAN, .space10 = NAN, .map5 = NAN, .map10 = NAN, .trust = NAN};
    snprintf(row.vectors, sizeof row.vectors, "%s", kind);
    if (!xs || !lab || !y || !idx) {
        st = mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t l = label_of(c->labels, ids[i]);
        if (l < 0)
            continue;
        memcpy(xs + m * (size_t)d, x + i * (size_t)d, sizeof(float) * (size_t)d);
        lab[m++] = l;
    }
    row.songs = m;
    if (m < MM_EVALUATE_MIN_SONGS) {
        if (c->req->row)
            c->req->row(&row, c->req->user);
        goto done;
    }
    mm_knn_options ko;
    mm_knn_options_init(&ko);
    ko.method = MM_KNN_EXACT;
    ko.threads = c->req->threads;
    if ((st = mm_knn(xs, m, (size_t)d, 10, &ko, idx, NULL, err)) != MM_OK)
        goto done;
    row.scored = 1;
    row.space5 = mm_knn_label_agreement(idx, m, 10, 5, lab);
    row.space10 = mm_knn_label_agreement(idx, m, 10, 10, lab);
    for (size_t k = 0; k < c->n_methods; k++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = c->methods[k];
        spec.seed = c->req->seed;
        spec.threads = c->req->threads;
        if ((st = mm_layout_compute(xs, m, (size_t)d, &spec, y, err)) != MM_OK)
            goto done;
        if ((st = mm_knn(y, m, 2, 10, &ko, idx, NULL, err)) != MM_OK)
            goto done;
        if ((st = mm_trustworthiness(xs, m, (size_t)d, y, 2, 10, MM_METRIC_EUCLIDEAN, c->req->threads, &row.trust,
                                     err)) != MM_OK)
            goto done;
        row.method = spec.method;
        row.map5 = mm_knn_label_agreement(idx, m, 10, 5, lab);
        row.map10 = mm_knn_label_agreement(idx, m, 10, 10, lab);
        if (c->req->row)
            c->req->row(&row, c->req->user);
    }
done:
    free(xs);
    free(lab);
    free(y);
    free(idx);
    return st;
}

/* The columns of one descriptor group (the baselines made of it), raw. */
static float *group_only(const float *x, size_t n, mm_descriptor_group group, int *d)
{
    int cols[MM_DESCRIPTOR_DIM], k = 0;
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
        if (mm_descriptor_group_of(j) == group)
            cols[k++] = j;
    float *out = malloc(sizeof(float) * (n ? n : 1) * (size_t)(k ? k : 1));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            out[i * (size_t)k + (size_t)j] = x[i * MM_DESCRIPTOR_DIM + (size_t)cols[j]];
    *d = k;
    return out;
}

void mm_evaluate_request_init(mm_evaluate_request *req)
{
    memset(req, 0, sizeof *req);
    req->size = sizeof *req;
    req->labels = MM_LABELS_FOLDERS;
    req->seed = 42;
}

/* descriptors, then their timbre group alone and their band profile alone, each standardised itself */
static mm_status score_descriptors(mm_catalog *cat, eval_ctx *c, mm_evaluate_summary *out, mm_error *err)
{
    size_t n = 0;
    int64_t *ids = NULL;
    float *x = NULL;
    mm_status st = mm_catalog_get_descriptors(cat, &n, &ids, &x, err);
    if (st != MM_OK)
        return st;
    out->descriptors = n;
    if (n == 0) {
        /* none stored (a catalog scanned by an older version): said as a row of its own */
        mm_evaluate_row none = {.dim = MM_DESCRIPTOR_DIM, .space5 = NAN, .space10 = NAN, .map5 = NAN, .map10 = NAN,
                                .trust = NAN};
        snprintf(none.vectors, sizeof none.vectors, "descriptors");
        if (c->req->row)
            c->req->row(&none, c->req->user);
    } else {
        int d_timbre = 0, d_bands = 0;
        float *timbre = group_only(x, n, MM_DESC_TIMBRE, &d_timbre);
        float *bands = group_only(x, n, MM_DESC_BANDS, &d_bands);
        if (!timbre || !bands)
            st = mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
        if (st == MM_OK) {
            mm_descriptors_standardise(x, n);
            st = score(c, "descriptors", ids, x, n, MM_DESCRIPTOR_DIM, err);
        }
        if (st == MM_OK) {
            mm_vectors_standardise(timbre, n, d_timbre);
            st = score(c, "mfcc (timbre group)", ids, timbre, n, d_timbre, err);
        }
        if (st == MM_OK) {
            mm_vectors_standardise(bands, n, d_bands);
            st = score(c, "mel band profile", ids, bands, n, d_bands, err);
        }
        free(timbre);
        free(bands);
    }
    free(ids);
    free(x);
    return st;
}

static mm_status score_model(mm_catalog *cat, eval_ctx *c, const char *model, mm_error *err)
{
    mm_model_record rec;
    mm_status st = mm_catalog_get_model(cat, model, &rec, err);
    if (st != MM_OK)
        return st;
    size_t n = 0;
    int64_t *ids = NULL;
    float *probs = NULL, *emb = NULL;
    int k = 0, dim = 0;
    st = mm_catalog_get_vectors(cat, rec.id, &n, &ids, &probs, &k, &emb, &dim, err);
    mm_model_record_free(&rec);
    char name[64];
    snprintf(name, sizeof name, "%.40s softmax", model);
    if (st == MM_OK)
        st = score(c, name, ids, probs, n, k, err);
    snprintf(name, sizeof name, "%.40s hidden", model);
    if (st == MM_OK && dim)
        st = score(c, name, ids, emb, n, dim, err);
    free(ids);
    free(probs);
    free(emb);
    return st;
}

mm_status mm_pipeline_evaluate(mm_catalog *cat, const mm_evaluate_request *req_in, mm_evaluate_summary *out,
                               mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_evaluate_request req;
    mm_evaluate_request_init(&req);
    util_options_copy(&req, sizeof req, req_in, UTIL_OPTIONS_END(mm_evaluate_request, user));
    if (req.n_models && !req.models)
        return mm_error_set(err, MM_ERR_ARG, "evaluate: %zu models but no list of them", req.n_models);
    eval_ctx c = {.req = &req, .methods = {MM_LAYOUT_PCA, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP}, .n_methods = 3};
    if (req.n_methods) {
        if (req.n_methods > 3 || !req.methods)
            return mm_error_set(err, MM_ERR_ARG, "evaluate: at most the three map methods");
        memcpy(c.methods, req.methods, sizeof *req.methods * req.n_methods);
        c.n_methods = req.n_methods;
    }
    if (req.threads <= 0)
        req.threads = mm_cpu_count();
    mm_label_list list = {0};
    label_index ix = {0};
    mm_status st = pipe_labels_collect(cat, req.labels, req.labels_file, 1, &list, err);
    if (st == MM_OK && build_index(&list, &ix) != 0)
        st = mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
    if (st == MM_OK) {
        c.labels = &ix;
        out->labelled = ix.n;
        out->groups = ix.n_names;
        out->chance = mm_label_chance_agreement(ix.label, ix.n);
        if (req.header)
            req.header(out, req.user);
        st = score_descriptors(cat, &c, out, err);
    }
    if (st == MM_OK) {
        mm_song_vectors mel;
        if ((st = mm_song_vectors_load(cat, MM_VECTORS_MEL, NULL, req.threads, &mel, err)) == MM_OK) {
            st = score(&c, "mel (pooled, PCA)", mel.ids, mel.x, mel.n, mel.dim, err);
            mm_song_vectors_free(&mel);
        }
    }
    for (size_t i = 0; st == MM_OK && i < req.n_models; i++)
        st = score_model(cat, &c, req.models[i], err);
    free(ix.ids);
    free(ix.label);
    mm_label_list_free(&list);
    return st;
}
