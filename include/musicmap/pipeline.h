/* pipeline — the module that wires the others together: what the program and the server do with a
 * catalog, as functions a host program can call. Label sources for training, the song vectors a map or
 * "similar songs" is made from (descriptors, the spectrogram baseline, a model's outputs or hidden
 * state), maps with their parameters as data, and similar songs.
 *
 * The other modules never include this header; this one uses them all (docs/architecture.md).
 *
 * Thread safety: functions taking a catalog use it as the catalog module allows (one mm_catalog per
 * thread, or serialised by the caller); everything else works on the caller's data only. */
#ifndef MUSICMAP_PIPELINE_H
#define MUSICMAP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"
#include "musicmap/layout.h"
#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- labels: where training and evaluation labels come from ------------------------------------ */
#define MM_LABEL_NAME_MAX 64

typedef enum mm_label_source { MM_LABELS_TAGS, MM_LABELS_FOLDERS, MM_LABELS_FMA, MM_LABELS_CSV } mm_label_source;

/* Parallel arrays: track ids (ok tracks with features) and their normalised labels. */
typedef struct mm_label_list {
    int64_t *ids;
    char **labels;
    size_t n, cap;
} mm_label_list;

/* "tags", "folders", "fma:FILE" or "csv:FILE"; *file points into text (NULL for the first two).
 * Returns 0 on success. */
int mm_label_source_parse(const char *text, mm_label_source *kind, const char **file);
/* Lower case, letters and digits only, up to the first '/', ';', ',' or '|'. */
void mm_label_normalise(const char *tag, char *out, size_t size);
/* file: the CSV for MM_LABELS_CSV / MM_LABELS_FMA (tracks.csv), else NULL. */
mm_status mm_labels_collect(mm_catalog *cat, mm_label_source kind, const char *file, mm_label_list *out,
                            mm_error *err);
void mm_label_list_free(mm_label_list *list);

/* Each of the n tracks' normalised genre tag as a small integer (labels[i], -1: untagged); returns the
 * number of distinct tags (at most max_names; further tags count as untagged), or -1 with err set. */
int mm_tag_labels(mm_catalog *cat, const int64_t *ids, size_t n, int32_t *labels, int max_names, mm_error *err);

/* ---- song vectors -------------------------------------------------------------------------------- */
typedef enum mm_vector_kind {
    MM_VECTORS_DESCRIPTORS = 0, /* the scan's audio descriptors, standardised (mm_descriptors_standardise) */
    MM_VECTORS_MEL,             /* the raw spectrogram baseline: log-mel pooled over time, PCA to 50 */
    MM_VECTORS_OUTPUTS,         /* a model's output vector (softmax, sigmoid, or a contrastive projection) */
    MM_VECTORS_HIDDEN           /* a model's last GRU state */
} mm_vector_kind;
/* "descriptors", "mel", "softmax", "hidden" (the names `map --features` takes). */
const char *mm_vector_kind_name(mm_vector_kind kind);
int mm_vector_kind_parse(const char *name, mm_vector_kind *out);
/* The spectrogram baseline: each log-mel mean-pooled over blocks of this many frames, then PCA. */
#define MM_MEL_POOL_FRAMES 8
#define MM_MEL_PCA_DIMS 50

/* The n songs' vectors (row i is track ids[i], ascending ids) of one kind, ready for distances. */
typedef struct mm_song_vectors {
    mm_vector_kind kind;
    size_t n;
    int dim;
    int64_t *ids;
    float *x;            /* n x dim */
    int64_t model_id;    /* the model they come from; 0 for descriptors and mel until mm_map_make registers
                          * them as the catalog's pseudo-models "descriptors" / "mel-pca50" */
    char model_name[128];
} mm_song_vectors;

/* Loads the vectors of kind. model: for outputs and hidden, the model's name (NULL: the newest trained
 * one); ignored otherwise. Songs without such vectors are left out (n may be 0). threads: PCA's. */
mm_status mm_song_vectors_load(mm_catalog *cat, mm_vector_kind kind, const char *model, int threads,
                               mm_song_vectors *out, mm_error *err);
void mm_song_vectors_free(mm_song_vectors *v);
/* The row of a track, or -1. */
long mm_song_vectors_find(const mm_song_vectors *v, int64_t track_id);

/* ---- similar songs --------------------------------------------------------------------------------- */
typedef struct mm_similar_song {
    int64_t id;
    double distance; /* euclidean, in the vectors' space */
} mm_similar_song;

/* The up-to-k songs nearest to row `row` of v (itself left out), nearest first, ties by row; exact.
 * Returns how many were written to out. */
size_t mm_song_vectors_nearest(const mm_song_vectors *v, size_t row, int k, mm_similar_song *out);

/* ---- maps ------------------------------------------------------------------------------------------ */
/* What a map was made from and how, and how good it is: stored with the map (as JSON the library writes
 * and reads; docs/catalog.md) and served with it. */
typedef struct mm_map_params {
    mm_vector_kind features;
    mm_layout_method method;
    int dims;
    mm_metric metric;
    double perplexity;        /* t-SNE */
    int n_neighbors;          /* UMAP */
    double min_dist;          /* UMAP */
    uint64_t seed;
    double trustworthiness;   /* k = 10; NaN: too few songs to measure */
    double label_agreement;   /* genre-tag agreement of the 10 nearest on the map; NaN: no tags */
} mm_map_params;

/* The stored form; returns the length written (as snprintf). */
int mm_map_params_format(const mm_map_params *p, char *buf, size_t size);
/* Reads the stored form (fields absent from older maps keep their defaults: descriptors is not assumed
 * -- features then comes from `source`, "probs" -> outputs, else hidden). Returns 0, or -1 when the text
 * is not a flat JSON object of strings and numbers. */
int mm_map_params_parse(const char *json, const char *source, mm_map_params *out);

typedef struct mm_map_request {
    mm_vector_kind features;
    const char *model;        /* outputs / hidden: whose (NULL: the newest trained model) */
    mm_layout_spec spec;      /* method, dims, parameters, seed, threads, progress */
    const char *name;         /* NULL: from the method, parameters and features, e.g. "umap-n15-d0.1-descriptors" */
} mm_map_request;

typedef struct mm_map_result {
    int64_t map_id;
    char name[256];
    size_t n;
    double seconds;
    mm_map_params params;     /* as stored, with its quality */
    int tagged;               /* songs with a genre tag (label agreement is measured over them) */
} mm_map_result;

/* Lays out the request's vectors and stores the map (replacing one of the same name). Fails when fewer
 * than 3 songs have such vectors, saying what to run first. */
mm_status mm_map_make(mm_catalog *cat, const mm_map_request *req, mm_map_result *result, mm_error *err);
/* The same from vectors already loaded (e.g. several maps of one kind: the grid). */
mm_status mm_map_make_from(mm_catalog *cat, mm_song_vectors *v, const mm_layout_spec *spec, const char *name,
                           mm_map_result *result, mm_error *err);

#ifdef __cplusplus
}
#endif
#endif
