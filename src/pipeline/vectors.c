/* The song vectors maps and similar songs are made from: the descriptors, the spectrogram baseline, or
 * a model's outputs or hidden state, loaded from the catalog in one form (ids ascending, n x dim). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/features.h"
#include "musicmap/pipeline.h"

static const char *const kind_names[] = {"descriptors", "mel", "softmax", "hidden"};

const char *mm_vector_kind_name(mm_vector_kind kind)
{
    return kind >= MM_VECTORS_DESCRIPTORS && kind <= MM_VECTORS_HIDDEN ? kind_names[kind] : "?";
}

int mm_vector_kind_parse(const char *name, mm_vector_kind *out)
{
    for (int k = 0; k < 4; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (mm_vector_kind)k;
            return 0;
        }
    return -1;
}

void mm_song_vectors_free(mm_song_vectors *v)
{
    if (!v)
        return;
    free(v->ids);
    free(v->x);
    memset(v, 0, sizeof *v);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every ok track with a spectrogram, each log-mel mean-pooled over time, reduced by PCA. */
static mm_status load_mel(mm_catalog *cat, int threads, mm_song_vectors *v, mm_error *err)
{
    mm_status st = mm_catalog_feature_ids(cat, &v->ids, &v->n, err);
    if (st != MM_OK)
        return st;
    if (v->n)
        qsort(v->ids, v->n, sizeof *v->ids, cmp_id); /* they come in storage order; rows go by id */
    const int pooled_frames = MM_N_FRAMES / MM_MEL_POOL_FRAMES, dim = MM_N_MELS * pooled_frames;
    float *pooled = malloc(sizeof(float) * (size_t)dim * (v->n ? v->n : 1));
    float *logmel = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    if (!pooled || !logmel) {
        free(pooled);
        free(logmel);
        return mm_error_set(err, MM_ERR_NOMEM, "mel baseline: out of memory for %zu tracks", v->n);
    }
    for (size_t i = 0; i < v->n && st == MM_OK; i++) {
        st = mm_catalog_read_features(cat, v->ids[i], logmel, err);
        for (int m = 0; st == MM_OK && m < MM_N_MELS; m++)
            for (int b = 0; b < pooled_frames; b++) {
                float s = 0;
                for (int t = 0; t < MM_MEL_POOL_FRAMES; t++)
                    s += logmel[m * MM_N_FRAMES + b * MM_MEL_POOL_FRAMES + t];
                pooled[i * (size_t)dim + (size_t)(m * pooled_frames + b)] = s / MM_MEL_POOL_FRAMES;
            }
    }
    free(logmel);
    int k = (int)(v->n < MM_MEL_PCA_DIMS ? v->n : MM_MEL_PCA_DIMS);
    float *reduced = st == MM_OK ? malloc(sizeof(float) * (size_t)(k ? k : 1) * (v->n ? v->n : 1)) : NULL;
    if (st == MM_OK && !reduced)
        st = mm_error_set(err, MM_ERR_NOMEM, "mel baseline: out of memory");
    if (st == MM_OK && v->n)
        st = mm_pca(pooled, v->n, (size_t)dim, k, reduced, NULL, NULL, NULL, threads, err);
    free(pooled);
    if (st != MM_OK) {
        free(reduced);
        return st;
    }
    v->x = reduced;
    v->dim = k;
    return MM_OK;
}

static mm_status load_model(mm_catalog *cat, mm_vector_kind kind, const char *model, mm_song_vectors *v,
                            mm_error *err)
{
    mm_model_record rec;
    mm_status st = mm_catalog_get_model(cat, model, &rec, err);
    if (st != MM_OK)
        return st;
    float *probs = NULL, *emb = NULL;
    int k = 0, dim = 0;
    v->model_id = rec.id;
    snprintf(v->model_name, sizeof v->model_name, "%s", rec.name ? rec.name : "");
    mm_model_record_free(&rec);
    st = mm_catalog_get_vectors(cat, v->model_id, &v->n, &v->ids, &probs, &k, &emb, &dim, err);
    if (st != MM_OK)
        return st;
    if (kind == MM_VECTORS_OUTPUTS) {
        v->x = probs, v->dim = k;
        free(emb);
    } else {
        v->x = emb, v->dim = dim;
        free(probs);
        if (!emb || dim == 0) /* e.g. a model whose embed stored no hidden state */
            v->n = 0;
    }
    return MM_OK;
}

mm_status mm_song_vectors_load(mm_catalog *cat, mm_vector_kind kind, const char *model, int threads,
                               mm_song_vectors *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    mm_status st;
    switch (kind) {
    case MM_VECTORS_DESCRIPTORS:
        st = mm_catalog_get_descriptors(cat, &out->n, &out->ids, &out->x, err);
        if (st == MM_OK) {
            mm_descriptors_standardise(out->x, out->n);
            out->dim = MM_DESCRIPTOR_DIM;
            snprintf(out->model_name, sizeof out->model_name, "descriptors");
        }
        break;
    case MM_VECTORS_MEL:
        st = load_mel(cat, threads, out, err);
        snprintf(out->model_name, sizeof out->model_name, "mel-pca50");
        break;
    case MM_VECTORS_OUTPUTS:
    case MM_VECTORS_HIDDEN: st = load_model(cat, kind, model, out, err); break;
    default: st = mm_error_set(err, MM_ERR_ARG, "unknown kind of song vectors (%d)", (int)kind);
    }
    if (st != MM_OK)
        mm_song_vectors_free(out);
    return st;
}

long mm_song_vectors_find(const mm_song_vectors *v, int64_t track_id)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->ids[mid] < track_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->ids[lo] == track_id ? (long)lo : -1;
}

size_t mm_song_vectors_nearest(const mm_song_vectors *v, size_t row, int k, mm_similar_song *out)
{
    if (k <= 0 || row >= v->n)
        return 0;
    const size_t d = (size_t)v->dim;
    const float *q = v->x + row * d;
    size_t n = 0;
    /* one pass with a small sorted list: O(N d), a few ms for 100k songs; squared distances until the end */
    for (size_t j = 0; j < v->n; j++) {
        if (j == row)
            continue;
        const float *p = v->x + j * d;
        double s = 0;
        for (size_t c = 0; c < d; c++) {
            double t = (double)p[c] - q[c];
            s += t * t;
        }
        if (n == (size_t)k && s >= out[n - 1].distance)
            continue;
        size_t pos = n < (size_t)k ? n++ : n - 1;
        while (pos > 0 && out[pos - 1].distance > s) {
            out[pos] = out[pos - 1];
            pos--;
        }
        out[pos].distance = s;
        out[pos].id = v->ids[j];
    }
    for (size_t i = 0; i < n; i++)
        out[i].distance = sqrt(out[i].distance);
    return n;
}
