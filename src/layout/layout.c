/* The single entry point the map command uses: a method, its few parameters, and the original's grid. */
#include <stdio.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

const char *mm_layout_method_name(mm_layout_method method)
{
    switch (method) {
    case MM_LAYOUT_PCA: return "pca";
    case MM_LAYOUT_TSNE: return "tsne";
    case MM_LAYOUT_UMAP: return "umap";
    }
    return "?";
}

int mm_layout_method_parse(const char *name, mm_layout_method *out)
{
    static const mm_layout_method all[] = {MM_LAYOUT_PCA, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(name, mm_layout_method_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

void mm_layout_spec_init(mm_layout_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->size = sizeof *spec;
    spec->method = MM_LAYOUT_UMAP;
    spec->dims = 2;
    spec->metric = MM_METRIC_EUCLIDEAN;
    spec->perplexity = 30;
    spec->n_neighbors = 15;
    spec->min_dist = 0.1;
    spec->seed = 42;
}

/* The 0.1 layout of mm_layout_spec (a size of 0 means it), and its sizeof: the stride of the arrays
 * that mm_layout_grid fills for such callers. */
#define SPEC_FIRST_SIZE UTIL_OPTIONS_END(mm_layout_spec, progress_user)
#define SPEC_FIRST_STRIDE                                                                                     \
    ((SPEC_FIRST_SIZE + _Alignof(mm_layout_spec) - 1) / _Alignof(mm_layout_spec) * _Alignof(mm_layout_spec))

/* The caller's spec, read by its size into a full one with defaults beyond it. */
mm_layout_spec layout_spec_read(const mm_layout_spec *given)
{
    mm_layout_spec spec;
    mm_layout_spec_init(&spec);
    util_options_copy(&spec, sizeof spec, given, SPEC_FIRST_SIZE);
    return spec;
}

void mm_layout_spec_name(const mm_layout_spec *given, char *buf, size_t size)
{
    mm_layout_spec s = layout_spec_read(given);
    const mm_layout_spec *spec = &s;
    const char *suffix = spec->dims == 3 ? "-3d" : "";
    switch (spec->method) {
    case MM_LAYOUT_PCA: snprintf(buf, size, "pca%s", suffix); break;
    case MM_LAYOUT_TSNE: snprintf(buf, size, "tsne-p%g%s", spec->perplexity, suffix); break;
    case MM_LAYOUT_UMAP: snprintf(buf, size, "umap-n%d-d%g%s", spec->n_neighbors, spec->min_dist, suffix); break;
    default: snprintf(buf, size, "?");
    }
}

/* Writes spec as out[i] of the caller's array, whose elements are the caller's size: a newer
 * caller's fields beyond ours are carried over from base. */
static void grid_put(mm_layout_spec *out, size_t i, const mm_layout_spec *spec, const mm_layout_spec *base)
{
    size_t stride = base->size ? base->size : SPEC_FIRST_STRIDE;
    unsigned char *slot = (unsigned char *)out + i * stride;
    memcpy(slot, spec, stride < sizeof *spec ? stride : sizeof *spec);
    if (stride > sizeof *spec)
        memcpy(slot + sizeof *spec, (const unsigned char *)base + sizeof *spec, stride - sizeof *spec);
    memcpy(slot, &stride, sizeof stride); /* each element says its own size, as base did */
}

size_t mm_layout_grid(const mm_layout_spec *base, mm_layout_spec *out, size_t max)
{
    static const double perplexities[] = {5, 30, 50, 100};
    static const int neighbors[] = {5, 30, 50};
    static const double min_dists[] = {0.01, 0.1, 0.5};
    const mm_layout_spec given = layout_spec_read(base);
    size_t count = 0;
    for (size_t i = 0; i < 4; i++, count++)
        if (count < max) {
            mm_layout_spec s = given;
            s.method = MM_LAYOUT_TSNE;
            s.perplexity = perplexities[i];
            grid_put(out, count, &s, base);
        }
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++, count++)
            if (count < max) {
                mm_layout_spec s = given;
                s.method = MM_LAYOUT_UMAP;
                s.n_neighbors = neighbors[i];
                s.min_dist = min_dists[j];
                grid_put(out, count, &s, base);
            }
    return count;
}

void layout_tsne_options(const mm_layout_spec *spec, mm_tsne_options *o)
{
    mm_tsne_options_init(o);
    o->dims = spec->dims;
    o->metric = spec->metric;
    o->perplexity = spec->perplexity;
    if (spec->n_iter > 0) {
        o->n_iter = spec->n_iter;
        if (o->early_iter > o->n_iter / 3)
            o->early_iter = o->n_iter / 3;
    }
    o->seed = spec->seed;
    o->threads = spec->threads;
    o->progress = spec->progress;
    o->progress_user = spec->progress_user;
}

void layout_umap_options(const mm_layout_spec *spec, mm_umap_options *o)
{
    mm_umap_options_init(o);
    o->dims = spec->dims;
    o->metric = spec->metric;
    o->n_neighbors = spec->n_neighbors;
    o->min_dist = spec->min_dist;
    o->n_epochs = spec->n_iter;
    o->seed = spec->seed;
    o->threads = spec->threads;
    o->progress = spec->progress;
    o->progress_user = spec->progress_user;
}

mm_status mm_layout_compute(const float *x, size_t n, size_t d, const mm_layout_spec *given, float *y,
                            mm_error *err)
{
    if (!given)
        return mm_error_set(err, MM_ERR_ARG, "layout: no spec");
    const mm_layout_spec s = layout_spec_read(given), *spec = &s;
    switch (spec->method) {
    case MM_LAYOUT_PCA: {
        /* PCA is linear: the metric's row normalisation (cosine, correlation) is applied first. */
        const float *px;
        float *owned;
        mm_status st = mm_layout_check_finite(x, n, d, "pca: input", err);
        if (st == MM_OK)
            st = layout_prepare(x, n, d, spec->metric, &px, &owned, err);
        if (st != MM_OK)
            return st;
        st = mm_pca(px, n, d, spec->dims, y, NULL, NULL, NULL, spec->threads, err);
        free(owned);
        return st;
    }
    case MM_LAYOUT_TSNE: {
        mm_tsne_options o;
        layout_tsne_options(spec, &o);
        return mm_tsne(x, n, d, &o, y, NULL, err);
    }
    case MM_LAYOUT_UMAP: {
        mm_umap_options o;
        layout_umap_options(spec, &o);
        return mm_umap(x, n, d, &o, y, err);
    }
    }
    return mm_error_set(err, MM_ERR_ARG, "layout: unknown method %d", (int)spec->method);
}
