/* A map's data for a figure: its record and parameters, its points, and the labels that colour them
 * (genre tags as the page groups them, a model's predictions, or folders), with the legend's counts. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* As the page's legend (src/server/points.c): the most frequent names keep a colour each, the rest are
 * one "other". */
#define MAX_LABELS 24

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

mm_status plot_map_load(mm_catalog *cat, int64_t map_id, plot_map *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_map_record *maps = NULL;
    size_t n_maps = 0;
    mm_status st = mm_catalog_list_maps(cat, &maps, &n_maps, err);
    if (st != MM_OK)
        return st;
    const mm_map_record *rec = NULL;
    for (size_t i = 0; i < n_maps; i++)
        if (maps[i].id == map_id)
            rec = &maps[i];
    if (!rec) {
        mm_map_records_free(maps, n_maps);
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no map %lld", (long long)map_id);
    }
    out->rec = *rec;
    out->rec.name = dup_or_null(rec->name);
    out->rec.source = dup_or_null(rec->source);
    out->rec.method = dup_or_null(rec->method);
    out->rec.params = dup_or_null(rec->params);
    mm_map_records_free(maps, n_maps);
    if ((rec = &out->rec, !rec->name || !rec->source || !rec->method)) {
        plot_map_free(out);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    out->have_params = rec->params && mm_map_params_parse(rec->params, rec->source, &out->params) == 0;
    st = mm_catalog_get_map_points(cat, map_id, &out->n, &out->ids, &out->xy, &out->dims, err);
    if (st == MM_OK && !(out->labels = malloc(sizeof *out->labels * (out->n ? out->n : 1))))
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == MM_OK && i < out->n; i++)
        out->labels[i] = -1;
    if (st != MM_OK)
        plot_map_free(out);
    return st;
}

void plot_map_free(plot_map *m)
{
    free(m->rec.name);
    free(m->rec.source);
    free(m->rec.method);
    free(m->rec.params);
    free(m->ids);
    free(m->xy);
    free(m->labels);
    memset(m, 0, sizeof *m);
}

/* --- names per track: tags or folders ------------------------------------------------------------- */
typedef struct keyed {
    mm_plot_color by;
    int64_t *ids;
    char **keys, **names; /* keys[i] NULL: no label */
    size_t n, cap;
    int failed;
} keyed;

static int collect_key(const mm_track *t, void *user)
{
    keyed *k = user;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        int64_t *ids = realloc(k->ids, cap * sizeof *ids);
        if (ids)
            k->ids = ids;
        char **keys = realloc(k->keys, cap * sizeof *keys);
        if (keys)
            k->keys = keys;
        char **names = realloc(k->names, cap * sizeof *names);
        if (names)
            k->names = names;
        if (!ids || !keys || !names) {
            k->failed = 1;
            return 1;
        }
        k->cap = cap;
    }
    char name[256] = "", key[256] = "";
    if (k->by == MM_PLOT_COLOR_FOLDER) {
        /* the folder's own name: the last component before the file's */
        size_t end = t->path_len;
        while (end > 0 && t->path[end - 1] != '/')
            end--;
        if (end > 0)
            end--;
        size_t start = end;
        while (start > 0 && t->path[start - 1] != '/')
            start--;
        size_t len = end - start < sizeof name - 1 ? end - start : sizeof name - 1;
        memcpy(name, t->path + start, len);
        name[len] = '\0';
        memcpy(key, name, len + 1);
    } else {
        /* grouped as the page groups them: trimmed, case-insensitive; shown as first seen */
        const char *g = t->genre ? t->genre : "";
        while (*g && isspace((unsigned char)*g))
            g++;
        size_t len = strlen(g);
        while (len && isspace((unsigned char)g[len - 1]))
            len--;
        if (len > sizeof name - 1)
            len = sizeof name - 1;
        memcpy(name, g, len);
        name[len] = '\0';
        for (size_t i = 0; i <= len; i++)
            key[i] = (char)tolower((unsigned char)name[i]);
    }
    k->ids[k->n] = t->id;
    k->keys[k->n] = key[0] ? strdup(key) : NULL;
    k->names[k->n] = key[0] ? strdup(name) : NULL;
    if (key[0] && (!k->keys[k->n] || !k->names[k->n])) {
        free(k->keys[k->n]);
        free(k->names[k->n]);
        k->failed = 1;
        return 1;
    }
    k->n++;
    return 0;
}

static void keyed_free(keyed *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->keys[i]);
        free(k->names[i]);
    }
    free(k->ids);
    free(k->keys);
    free(k->names);
}

typedef struct group {
    size_t first; /* index into the keyed arrays of its first member (in key order) */
    size_t count;
} group;

static int by_key(const void *a, const void *b, void *keys)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(((char **)keys)[x], ((char **)keys)[y]);
    return c ? c : (x < y ? -1 : x > y);
}

typedef struct group_sort {
    group g;
    const char *key;
} group_sort;

static int by_count(const void *a, const void *b)
{
    const group_sort *x = a, *y = b;
    if (x->g.count != y->g.count)
        return x->g.count > y->g.count ? -1 : 1;
    return strcmp(x->key, y->key);
}

static mm_status build_from_keys(keyed *k, plot_colouring *out, mm_error *err)
{
    size_t n_keyed = 0;
    for (size_t i = 0; i < k->n; i++)
        n_keyed += k->keys[i] != NULL;
    size_t *order = malloc(sizeof *order * (n_keyed ? n_keyed : 1));
    group_sort *groups = malloc(sizeof *groups * (n_keyed ? n_keyed : 1));
    out->ids = malloc(sizeof *out->ids * (k->n ? k->n : 1));
    out->of_id = malloc(sizeof *out->of_id * (k->n ? k->n : 1));
    if (!order || !groups || !out->ids || !out->of_id) {
        free(order);
        free(groups);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    out->n_ids = k->n;
    for (size_t i = 0, j = 0; i < k->n; i++) {
        out->ids[i] = k->ids[i];
        out->of_id[i] = -1;
        if (k->keys[i])
            order[j++] = i;
    }
    qsort_r(order, n_keyed, sizeof *order, by_key, k->keys);
    size_t n_groups = 0;
    for (size_t i = 0, j; i < n_keyed; i = j) {
        for (j = i; j < n_keyed && strcmp(k->keys[order[j]], k->keys[order[i]]) == 0; j++)
            ;
        groups[n_groups++] = (group_sort){{i, j - i}, k->keys[order[i]]};
    }
    qsort(groups, n_groups, sizeof *groups, by_count);
    const int other = n_groups > MAX_LABELS;
    const int named = other ? MAX_LABELS - 1 : (int)n_groups;
    out->n = named + other;
    out->names = calloc((size_t)(out->n ? out->n : 1), sizeof *out->names);
    out->colours = malloc(sizeof *out->colours * (size_t)(out->n ? out->n : 1));
    mm_status st = out->names && out->colours ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (size_t g = 0; st == MM_OK && g < n_groups; g++) {
        const int rank = g < (size_t)named ? (int)g : named;
        if (g < (size_t)named && !(out->names[g] = strdup(k->names[order[groups[g].g.first]])))
            st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        for (size_t m = 0; m < groups[g].g.count; m++)
            out->of_id[order[groups[g].g.first + m]] = rank;
    }
    if (st == MM_OK && other && !(out->names[named] = strdup("other")))
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (int c = 0; st == MM_OK && c < out->n; c++)
        out->colours[c] = mm_plot_palette(c);
    free(order);
    free(groups);
    return st;
}

static mm_status colour_by_keys(mm_catalog *cat, mm_plot_color by, plot_colouring *out, mm_error *err)
{
    keyed k = {.by = by};
    mm_status st = mm_catalog_each_track(cat, MM_TRACK_OK, collect_key, &k, err);
    if (st == MM_OK && k.failed)
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st == MM_OK)
        st = build_from_keys(&k, out, err);
    keyed_free(&k);
    out->by = by;
    snprintf(out->note, sizeof out->note, "%s", by == MM_PLOT_COLOR_FOLDER ? "folders" : "genre tags");
    return st;
}

/* --- predictions ---------------------------------------------------------------------------------------- */
static int is_pseudo_model(const mm_model_record *m)
{
    return m->architecture && (strcmp(m->architecture, "descriptors") == 0 || strcmp(m->architecture, "mel") == 0);
}

/* The model whose predictions colour a map: the one named, else the map's own, else the newest trained. */
static mm_status predicting_model(mm_catalog *cat, const plot_map *first, const char *name, mm_model_record *out,
                                  mm_error *err)
{
    if (name)
        return mm_catalog_get_model(cat, name, out, err);
    if (first && mm_catalog_get_model_by_id(cat, first->rec.model_id, out, NULL) == MM_OK) {
        if (!is_pseudo_model(out) && out->n_classes > 0)
            return MM_OK;
        mm_model_record_free(out);
    }
    return mm_catalog_get_model(cat, NULL, out, err);
}

static mm_status colour_by_model(mm_catalog *cat, const mm_model_record *m, plot_colouring *out, mm_error *err)
{
    size_t n = 0;
    int64_t *ids = NULL;
    float *probs = NULL, *emb = NULL;
    int k = 0, dim = 0;
    mm_status st = mm_catalog_get_vectors(cat, m->id, &n, &ids, &probs, &k, &emb, &dim, err);
    free(emb);
    if (st != MM_OK)
        return st;
    const int stride = k; /* rows as stored; the class list names the first n_classes of them */
    if (k > m->n_classes)
        k = m->n_classes;
    if (!n || k < 1) {
        free(ids);
        free(probs);
        return mm_error_set(err, MM_ERR_NOT_FOUND,
                            "model '%s' has no predictions stored: run `musicmap embed -m %s`, or colour by tag",
                            m->name, m->name);
    }
    out->by = MM_PLOT_COLOR_PREDICTED;
    out->ids = ids;
    out->n_ids = n;
    out->of_id = malloc(sizeof *out->of_id * n);
    out->names = calloc((size_t)k, sizeof *out->names);
    out->colours = malloc(sizeof *out->colours * (size_t)k);
    out->n = k;
    st = out->of_id && out->names && out->colours ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (int c = 0; st == MM_OK && c < k; c++) {
        out->colours[c] = mm_plot_palette(c);
        if (!(out->names[c] = strdup(m->classes[c] ? m->classes[c] : "")))
            st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; st == MM_OK && i < n; i++) {
        const float *row = probs + i * (size_t)stride;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (row[c] > row[best])
                best = c;
        out->of_id[i] = isfinite(row[best]) ? best : -1;
    }
    free(probs);
    double acc = mm_model_record_test_accuracy(m);
    if (acc >= 0)
        snprintf(out->note, sizeof out->note, "predicted by %s (test accuracy %.2f)", m->name, acc);
    else
        snprintf(out->note, sizeof out->note, "predicted by %s", m->name);
    return st;
}

mm_status plot_colouring_make(mm_catalog *cat, const plot_map *first, const mm_plot_options *opt,
                              plot_colouring *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_plot_color by = opt->color_by;
    if (by == MM_PLOT_COLOR_TAG || by == MM_PLOT_COLOR_FOLDER)
        return colour_by_keys(cat, by, out, err);
    mm_model_record m;
    mm_error merr;
    mm_status st = predicting_model(cat, first, opt->model, &m, by == MM_PLOT_COLOR_PREDICTED ? err : &merr);
    if (st != MM_OK) {
        if (by == MM_PLOT_COLOR_PREDICTED)
            return st == MM_ERR_NOT_FOUND && !opt->model
                       ? mm_error_set(err, MM_ERR_NOT_FOUND, "no trained model to colour by its predictions: "
                                                             "train and embed one, or colour by tag")
                       : st;
        return colour_by_keys(cat, MM_PLOT_COLOR_TAG, out, err);
    }
    if (by == MM_PLOT_COLOR_PREDICTED) {
        st = colour_by_model(cat, &m, out, err);
    } else {
        /* auto: as the page starts, predictions only from a model that classified its test songs well */
        st = colour_by_keys(cat, MM_PLOT_COLOR_TAG, out, err);
        int tagged = 0;
        for (size_t i = 0; st == MM_OK && i < out->n_ids; i++)
            tagged |= out->of_id[i] >= 0;
        if (st == MM_OK && (mm_model_record_colours_by_prediction(&m) || !tagged)) {
            plot_colouring pred;
            memset(&pred, 0, sizeof pred);
            if (colour_by_model(cat, &m, &pred, &merr) == MM_OK) {
                plot_colouring_free(out);
                *out = pred;
            } else {
                plot_colouring_free(&pred);
            }
        }
    }
    mm_model_record_free(&m);
    return st;
}

void plot_colouring_free(plot_colouring *c)
{
    for (int i = 0; c->names && i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->colours);
    free(c->ids);
    free(c->of_id);
    memset(c, 0, sizeof *c);
}

mm_status plot_map_label(plot_map *m, const plot_colouring *c, mm_error *err)
{
    (void)err;
    /* both in ascending track id: one merge */
    size_t j = 0;
    for (size_t i = 0; i < m->n; i++) {
        while (j < c->n_ids && c->ids[j] < m->ids[i])
            j++;
        m->labels[i] = j < c->n_ids && c->ids[j] == m->ids[i] ? c->of_id[j] : -1;
    }
    return MM_OK;
}

static int by_legend(const void *a, const void *b)
{
    const plot_legend_entry *x = a, *y = b;
    if ((x->label < 0) != (y->label < 0))
        return x->label < 0 ? 1 : -1; /* the unlabelled last */
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->label < y->label ? -1 : x->label > y->label;
}

mm_status plot_legend_make(const plot_map *m, const plot_colouring *c, plot_legend_entry **out, size_t *n,
                           mm_error *err)
{
    *out = NULL;
    *n = 0;
    size_t *count = calloc((size_t)c->n + 1, sizeof *count);
    plot_legend_entry *e = calloc((size_t)c->n + 1, sizeof *e);
    if (!count || !e) {
        free(count);
        free(e);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        const int32_t l = m->labels[i];
        count[l >= 0 && l < c->n ? l : c->n]++;
    }
    size_t k = 0;
    for (int l = 0; l <= c->n; l++) {
        if (!count[l])
            continue;
        const char *name = l < c->n ? c->names[l]
                           : c->by == MM_PLOT_COLOR_PREDICTED ? "(no prediction)"
                           : c->by == MM_PLOT_COLOR_FOLDER    ? "(no folder)"
                                                              : "(untagged)";
        e[k] = (plot_legend_entry){strdup(name), l < c->n ? c->colours[l] : MM_PLOT_UNLABELLED, count[l],
                                   l < c->n ? l : -1};
        if (!e[k++].name) {
            plot_legend_free(e, k);
            free(count);
            return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        }
    }
    free(count);
    qsort(e, k, sizeof *e, by_legend);
    *out = e;
    *n = k;
    return MM_OK;
}

void plot_legend_free(plot_legend_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i].name);
    free(e);
}

void plot_map_describe(const plot_map *m, char *params, size_t pcap, char *quality, size_t qcap)
{
    const mm_map_params *p = &m->params;
    char what[128];
    if (!m->have_params) {
        snprintf(what, sizeof what, "%s", strcmp(m->rec.method, "tsne") == 0   ? "t-SNE"
                                          : strcmp(m->rec.method, "umap") == 0 ? "UMAP"
                                          : strcmp(m->rec.method, "pca") == 0  ? "PCA"
                                                                               : m->rec.method);
    } else if (p->method == MM_LAYOUT_TSNE) {
        snprintf(what, sizeof what, "t-SNE perplexity %g", p->perplexity);
    } else if (p->method == MM_LAYOUT_UMAP) {
        snprintf(what, sizeof what, "UMAP n_neighbors %d, min_dist %g", p->n_neighbors, p->min_dist);
    } else {
        snprintf(what, sizeof what, "PCA");
    }
    char extra[96] = "";
    if (m->have_params && p->metric != MM_METRIC_EUCLIDEAN)
        snprintf(extra, sizeof extra, ", %s", mm_metric_name(p->metric));
    snprintf(params, pcap, "%s%s%s \xc2\xb7 %s \xc2\xb7 %zu songs", what, extra, m->rec.dims == 3 ? " (3-D, from above)" : "",
             m->have_params ? mm_vector_kind_name(p->features) : m->rec.source, m->n);
    if (!m->have_params || (isnan(p->trustworthiness) && isnan(p->label_agreement))) {
        snprintf(quality, qcap, "quality not measured");
        return;
    }
    char t[48] = "", a[48] = "";
    if (!isnan(p->trustworthiness))
        snprintf(t, sizeof t, "trustworthiness %.3f", p->trustworthiness);
    if (!isnan(p->label_agreement))
        snprintf(a, sizeof a, "genre agreement %.3f", p->label_agreement);
    snprintf(quality, qcap, "%s%s%s", t, t[0] && a[0] ? " \xc2\xb7 " : "", a);
}
