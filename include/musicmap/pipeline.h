/* pipeline — the module that wires the others together: what the program and the server do with a
 * catalog, as functions a host program can call. Label sources for training, the song vectors a map or
 * "similar songs" is made from (descriptors, the spectrogram baseline, a model's outputs or hidden
 * state), maps with their parameters as data, similar songs, training from the catalog, embedding, and
 * `run` (scan, decide, train, embed, map) in one call.
 *
 * The other modules never include this header; this one uses them all (docs/pipeline.md).
 * Progress and what was chosen go to the caller's logger and callbacks; nothing is printed.
 *
 * Thread safety: functions taking a catalog use it as the catalog module allows (one mm_catalog per
 * thread, or serialised by the caller); everything else works on the caller's data only. */
#ifndef MUSICMAP_PIPELINE_H
#define MUSICMAP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"
#include "musicmap/cluster.h"
#include "musicmap/export.h"
#include "musicmap/layout.h"
#include "musicmap/nn.h"
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
MM_API int mm_label_source_parse(const char *text, mm_label_source *kind, const char **file);
/* Lower case, letters and digits only, up to the first '/', ';', ',' or '|'. */
MM_API void mm_label_normalise(const char *tag, char *out, size_t size);
/* file: the CSV for MM_LABELS_CSV / MM_LABELS_FMA (tracks.csv), else NULL. */
MM_API mm_status mm_labels_collect(mm_catalog *cat, mm_label_source kind, const char *file, mm_label_list *out,
                                   mm_error *err);
MM_API void mm_label_list_free(mm_label_list *list);

/* Each of the n tracks' normalised genre tag as a small integer (labels[i], -1: untagged); returns the
 * number of distinct tags (at most max_names; further tags count as untagged), or -1 with err set. */
MM_API int mm_tag_labels(mm_catalog *cat, const int64_t *ids, size_t n, int32_t *labels, int max_names, mm_error *err);

/* ---- song vectors -------------------------------------------------------------------------------- */
typedef enum mm_vector_kind {
    MM_VECTORS_DESCRIPTORS = 0, /* the scan's audio descriptors, standardised (mm_descriptors_standardise) */
    MM_VECTORS_MEL,             /* the raw spectrogram baseline: log-mel pooled over time, PCA to 50 */
    MM_VECTORS_OUTPUTS,         /* a model's output vector (softmax, sigmoid, or a contrastive projection) */
    MM_VECTORS_HIDDEN           /* a model's last GRU state */
} mm_vector_kind;
/* "descriptors", "mel", "softmax", "hidden" (the names `map --features` takes). */
MM_API const char *mm_vector_kind_name(mm_vector_kind kind);
MM_API int mm_vector_kind_parse(const char *name, mm_vector_kind *out);
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
MM_API mm_status mm_song_vectors_load(mm_catalog *cat, mm_vector_kind kind, const char *model, int threads,
                                      mm_song_vectors *out, mm_error *err);
MM_API void mm_song_vectors_free(mm_song_vectors *v);
/* The row of a track, or -1. */
MM_API long mm_song_vectors_find(const mm_song_vectors *v, int64_t track_id);

/* ---- similar songs --------------------------------------------------------------------------------- */
typedef struct mm_similar_song {
    int64_t id;
    double distance; /* euclidean, in the vectors' space */
} mm_similar_song;

/* The up-to-k songs nearest to row `row` of v (itself left out), nearest first, ties by row; exact.
 * Returns how many were written to out. */
MM_API size_t mm_song_vectors_nearest(const mm_song_vectors *v, size_t row, int k, mm_similar_song *out);

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
    /* The frame the layout was normalised into (mm_layout_frame): stored = raw * frame_scale +
     * frame_shift[axis]; new songs are placed in the layout's own units, then framed alike. NaN for
     * maps made before maps could grow: those are redrawn when songs are added. */
    double frame_scale;
    double frame_shift[3];
} mm_map_params;

/* The stored form; returns the length written (as snprintf). */
MM_API int mm_map_params_format(const mm_map_params *p, char *buf, size_t size);
/* Reads the stored form (fields absent from older maps keep their defaults: descriptors is not assumed
 * -- features then comes from `source`, "probs" -> outputs, else hidden). Returns 0, or -1 when the text
 * is not a flat JSON object of strings and numbers. */
MM_API int mm_map_params_parse(const char *json, const char *source, mm_map_params *out);

/* Maps grow rather than move: when a map of the same name and parameters is stored, songs that are not
 * on it yet are placed on it with the layout's transform (mm_layout_extend) and the others keep their
 * places, unless they are more than grow_limit of the map or redraw is set (docs/pipeline.md: the
 * quality of grown maps against redrawn ones, measured). */
#define MM_MAP_GROW_LIMIT 0.2

typedef struct mm_map_request {
    size_t size;              /* sizeof the struct, set by mm_map_request_init (docs/api.md: option structs) */
    mm_vector_kind features;  /* MM_VECTORS_DESCRIPTORS */
    const char *model;        /* outputs / hidden: whose (NULL: the newest trained model) */
    const mm_layout_spec *spec; /* method, dims, parameters, seed, threads, progress; NULL: mm_layout_spec_init's
                               * (a pointer: the spec grows on its own, docs/api.md) */
    const char *name;         /* NULL: from the method, parameters and features, e.g. "umap-n15-d0.1-descriptors" */
    int redraw;               /* 0: grow a stored map of this name; 1: lay every song out anew */
    double grow_limit;        /* MM_MAP_GROW_LIMIT: more new songs than this share of the map's redraw it */
} mm_map_request;

MM_API void mm_map_request_init(mm_map_request *req);

typedef enum mm_map_change {
    MM_MAP_DRAWN = 0,         /* laid out anew (no such map, other parameters, redraw, or too many new songs) */
    MM_MAP_GROWN,             /* new songs placed on the stored map; the others did not move */
    MM_MAP_KEPT               /* stored map already holds every song: nothing changed */
} mm_map_change;

typedef struct mm_map_result {
    int64_t map_id;
    char name[256];
    size_t n;                 /* songs on the map */
    double seconds;
    mm_map_params params;     /* as stored, with its quality */
    int tagged;               /* songs with a genre tag (label agreement is measured over them) */
    mm_map_change change;
    size_t added;             /* songs placed on a grown map */
    char why[160];            /* why a stored map was redrawn; "" otherwise */
} mm_map_result;

/* Makes the request's map, or grows or keeps the stored one (above), and stores it. Fails when fewer
 * than 3 songs have such vectors, saying what to run first. */
MM_API mm_status mm_map_make(mm_catalog *cat, const mm_map_request *req, mm_map_result *result, mm_error *err);
/* The same from vectors already loaded (e.g. several maps of one kind: the grid); req->features and
 * req->model are v's. */
MM_API mm_status mm_map_make_from(mm_catalog *cat, mm_song_vectors *v, const mm_map_request *req,
                                  mm_map_result *result, mm_error *err);

/* ---- training from the catalog ------------------------------------------------------------------- */
/* What to train (docs/pipeline.md). mm_train_request_init fills the defaults; fields marked "kind"
 * are -1 there, meaning the default of the kind of training: a classifier's, or the self-supervised
 * one's (whose held-out loss dips in the first epochs and recovers only after ~30, docs/network.md, so
 * early stopping and the plateau schedule are off, and its batch holds two views of each song). */
typedef struct mm_train_request {
    size_t size;                  /* sizeof the struct, set by mm_train_request_init (docs/api.md: option structs) */
    int self_supervised;          /* 0: a genre classifier from labels; 1: contrastive, no labels (NT-Xent) */
    /* labels (classifiers only) */
    mm_label_source labels;       /* MM_LABELS_TAGS */
    const char *labels_file;      /* the CSV of MM_LABELS_CSV / MM_LABELS_FMA */
    const char *const *genres;    /* only these genres (normalised like the tags); NULL: all */
    size_t n_genres;
    int min_count;                /* 10: genres with fewer tracks are left out */
    /* the model */
    const char *preset;           /* "crnn4" (mm_preset_find) */
    const char *name;             /* its name in the catalog; NULL: PRESET-SOURCE ("crnn4-tags"), PRESET-ssl */
    const char *path;             /* the model file; NULL: models/NAME.mmm beside the catalog */
    const char *init;             /* a trained model file to start from (same preset, genres, head); NULL */
    /* training */
    int epochs;                   /* 40: the most */
    int patience;                 /* kind: 5; self-supervised 0 (never stop early) */
    int batch;                    /* kind: 16; self-supervised 32 (16 songs x 2 views; even, >= 4) */
    double learning_rate;         /* 1e-3 */
    double lr_decay;              /* kind: 0.5; self-supervised 1 (constant) */
    int lr_patience;              /* 2 */
    int augment;                  /* kind: 0; self-supervised 1 */
    double train_frac, val_frac;  /* kind: 0.6 / 0.2 (the rest tests); self-supervised 0.9 / 0.1 */
    uint64_t seed;                /* 1: split, shuffling, initialisation */
    int threads;                  /* 0: all cores */
    int resume;                   /* continue from the checkpoint (PATH.ckpt) when there is one */
    /* self-supervised */
    double temperature;           /* 0.1 */
    int projection;               /* 32: the projection head's size */
    double view_seconds;          /* -1: half the clip; 0: the whole clip, shifted */
    /* reporting */
    const mm_logger *log;         /* what was chosen (tracks, genres, split); NULL: nothing */
    mm_train_progress_fn progress; /* every batch and epoch; non-zero stops (MM_ERR_CANCELLED; --resume) */
    void *progress_ctx;
} mm_train_request;

MM_API void mm_train_request_init(mm_train_request *req);

typedef struct mm_train_outcome {
    char name[256];               /* the model's name in the catalog */
    char path[4096];              /* its file */
    int64_t model_id, label_set;  /* label_set 0 when self-supervised */
    char preset[32];
    char source[8];               /* "tags", "folders", "fma", "csv"; "" when self-supervised */
    int self_supervised;
    int n_classes;
    char **classes;               /* the output names, in order (self-supervised: p1, p2, ...) */
    size_t tracks_used;           /* labelled tracks of the chosen genres (self-supervised: all tracks) */
    size_t tracks_dropped;        /* labelled tracks of rarer or unchosen genres */
    double view_seconds, temperature; /* self-supervised: as trained */
    mm_train_result result;       /* epochs, best epoch, train / validation / test scores, confusion */
} mm_train_outcome;

/* Collects the labels (or takes every track), chooses the genres (at least min_count tracks, among
 * `genres` when given; alphabetical), creates and initialises the model (or starts from `init`),
 * trains it with a checkpoint after every epoch, saves it, and registers it in the catalog with its
 * label set (and split) and metrics; the finished checkpoint is removed. Fewer than two genres, a bad
 * request or an `init` of another network: MM_ERR_ARG saying why; what was chosen before a failure
 * stays in out (e.g. the one genre that qualified). Free out with mm_train_outcome_free (also after a
 * failure). */
MM_API mm_status mm_pipeline_train(mm_catalog *cat, const mm_train_request *req, mm_train_outcome *out,
                                   mm_error *err);
MM_API void mm_train_outcome_free(mm_train_outcome *out);

/* ---- embedding: a model's vectors for every song --------------------------------------------------- */
typedef struct mm_embed_progress {
    size_t done, total;           /* tracks */
    double elapsed;               /* seconds since the first batch began */
} mm_embed_progress;

typedef struct mm_embed_request {
    size_t size;                  /* sizeof the struct, set by mm_embed_request_init (docs/api.md: option structs) */
    const char *model;            /* a model's name in the catalog (NULL: the newest), or a model file, which
                                   * is then registered under its file name without extension */
    int batch;                    /* 16 clips per inference batch (1 .. 1024) */
    int threads;                  /* 0: all cores */
    const mm_logger *log;         /* "embed: N tracks embedded ..." ; NULL: nothing */
    /* After every batch (and once before the first); non-zero stops: MM_ERR_CANCELLED, what was stored
     * is kept. May be NULL. */
    int (*progress)(const mm_embed_progress *progress, void *user);
    /* A track whose stored spectrogram can't be read (a damaged record): reported and skipped. May be NULL. */
    void (*failure)(int64_t track_id, const char *message, void *user);
    void *user;
    /* 1: every rank of an MPI job calls this together (`embed --mpi`; cat on rank 0 only, NULL on the
     * others): every song without vectors is read from its audio on the other ranks, as `scan --mpi
     * --model` reads songs (docs/scale.md). progress is not called; failure gets track id 0 and a
     * message naming the file. */
    int cluster;
} mm_embed_request;

MM_API void mm_embed_request_init(mm_embed_request *req);

typedef struct mm_embed_outcome {
    int64_t model_id;
    char model_name[256];
    size_t needed;                /* tracks that had no vectors under the model (0: nothing to do) */
    size_t embedded, failed;
    double seconds;
} mm_embed_outcome;

/* Runs the model over every ok track with no vectors under it yet, storing its output vector and hidden
 * state: from the stored spectrogram, or for a track without one (`scan --keep-spectrograms no`) from
 * its audio's centre clip (an mm_pipeline_scan with vectors_only over those files). An unknown name
 * that is no file: MM_ERR_NOT_FOUND; a damaged model file or one of another front-end than the
 * catalog's: MM_ERR_FORMAT. */
MM_API mm_status mm_pipeline_embed(mm_catalog *cat, const mm_embed_request *req, mm_embed_outcome *out,
                                   mm_error *err);

/* ---- scanning, with a model's vectors made as the songs are read --------------------------------------- */
typedef struct mm_scan_request {
    size_t size;                  /* sizeof the struct, set by mm_scan_request_init (docs/api.md: option structs) */
    const mm_scan_options *options; /* the scan's (NULL: defaults); its embedder is replaced when model is set */
    /* Embed every song as it is read (`scan --model`): a model's name in the catalog or a model file
     * (registered as `embed` registers it). Its vectors are then made without a second read of the audio
     * and without stored spectrograms (docs/scale.md); unchanged songs without vectors under it are read
     * again. The network runs on the decoding threads, one clip at a time, so the process-wide network
     * thread count is set to 1 (mm_nn_set_threads). NULL: a plain scan. */
    const char *model;
    /* 1: every rank of an MPI job calls this together (mm_cluster_scan: cat on rank 0 only, NULL on the
     * others); rank 0 resolves the model and hands every rank its bytes. 0: this process alone. */
    int cluster;
    const mm_logger *log;         /* the model chosen; NULL: nothing */
} mm_scan_request;

MM_API void mm_scan_request_init(mm_scan_request *req);

typedef struct mm_scan_outcome {
    mm_scan_result result;        /* as mm_catalog_scan fills it (cluster: on rank 0) */
    mm_cluster_scan_stats cluster; /* cluster: rank 0's figures for every rank (mm_scan_outcome_free) */
    int64_t model_id;             /* the model embedded with (0: none) */
    char model_name[256];
    size_t embedded;              /* songs this process ran the model on (cluster: the workers' share is theirs) */
} mm_scan_outcome;

/* Scans the folders (mm_catalog_scan, or mm_cluster_scan when req->cluster), embedding the songs with
 * req->model when given. Errors as mm_catalog_scan's, and as mm_pipeline_embed's for the model. */
MM_API mm_status mm_pipeline_scan(mm_catalog *cat, const char *const *roots, size_t n_roots,
                                  const mm_scan_request *req, mm_scan_outcome *out, mm_error *err);
MM_API void mm_scan_outcome_free(mm_scan_outcome *out);

/* ---- whether the genre tags are worth a model -------------------------------------------------------- */
typedef struct mm_genre_census {
    int min_count;                /* as asked */
    size_t songs;                 /* ok tracks with a spectrogram, tagged or not */
    size_t tagged;                /* of those, with a genre tag */
    int genres;                   /* distinct normalised genre tags among them */
    int learnable;                /* genres with at least min_count songs */
    size_t covered;               /* songs tagged with one of the learnable genres */
} mm_genre_census;

/* Counts the songs' normalised genre tags. */
MM_API mm_status mm_tag_census(mm_catalog *cat, int min_count, mm_genre_census *out, mm_error *err);

typedef enum mm_tags_verdict {
    MM_TAGS_ENOUGH = 0,           /* >= 2 learnable genres covering at least half the songs: train on them */
    MM_TAGS_TOO_FEW_GENRES,       /* fewer than 2 genres with min_count songs */
    MM_TAGS_MINORITY              /* learnable genres, but on fewer than half the songs: a model trained on a
                                   * minority's genres would map everyone else by guesswork */
} mm_tags_verdict;

/* 1 when a genre model should be trained on the tags, else 0; *why (may be NULL) says which case. */
MM_API int mm_tags_worth_training(const mm_genre_census *census, mm_tags_verdict *why);

/* ---- evaluation: how well each kind of vector and map keeps labelled songs together --------------- */
#define MM_EVALUATE_MIN_SONGS 12  /* fewer labelled songs with a kind of vectors: that kind is not scored */

/* One kind of vectors on one map method: the share of each labelled song's 5 / 10 nearest neighbours
 * that carry its label, in the vectors' own space (what similar songs returns; the same on each of the
 * kind's rows) and on the 2-D map, and the map's trustworthiness (k = 10). */
typedef struct mm_evaluate_row {
    char vectors[64];             /* "descriptors", "mfcc (timbre group)", "mel band profile",
                                   * "mel (pooled, PCA)", "MODEL softmax", "MODEL hidden" */
    int dim;
    size_t songs;                 /* labelled songs with these vectors */
    int scored;                   /* 0: fewer than MM_EVALUATE_MIN_SONGS: the figures are NaN */
    double space5, space10;
    mm_layout_method method;
    double map5, map10, trust;
} mm_evaluate_row;

typedef struct mm_evaluate_summary {
    size_t labelled;              /* songs with a label */
    int groups;                   /* distinct labels */
    double chance;                /* what a random neighbour scores */
    size_t descriptors;           /* songs with descriptors (0: scan again to compute them) */
} mm_evaluate_summary;

typedef struct mm_evaluate_request {
    size_t size;                  /* sizeof the struct, set by mm_evaluate_request_init (docs/api.md) */
    mm_label_source labels;       /* MM_LABELS_FOLDERS */
    const char *labels_file;      /* the CSV of MM_LABELS_CSV / MM_LABELS_FMA */
    const char *const *models;    /* also score these models' output and hidden vectors */
    size_t n_models;
    const mm_layout_method *methods; /* the maps to score; 0 methods: PCA, t-SNE and UMAP */
    size_t n_methods;
    uint64_t seed;                /* 42: the layouts' */
    int threads;                  /* 0: all cores */
    /* Called once the labels are known (before the first row), then for each row as it is scored;
     * both may be NULL. */
    void (*header)(const mm_evaluate_summary *summary, void *user);
    void (*row)(const mm_evaluate_row *row, void *user);
    void *user;
} mm_evaluate_request;

MM_API void mm_evaluate_request_init(mm_evaluate_request *req);

/* Scores the descriptors (all, their timbre group alone, their band profile alone), the spectrogram
 * baseline and each requested model's vectors against the labels, handing each row to req->row. An
 * unknown model: MM_ERR_NOT_FOUND. */
MM_API mm_status mm_pipeline_evaluate(mm_catalog *cat, const mm_evaluate_request *req, mm_evaluate_summary *out,
                                      mm_error *err);

/* ---- run: a folder of music to maps in one call ------------------------------------------------------ */
typedef enum mm_run_step {
    MM_RUN_SCANNED = 0,           /* out->scan is filled */
    MM_RUN_TRAINED,               /* out->train is filled */
    MM_RUN_EMBEDDED,              /* out->embed is filled */
    MM_RUN_MAPPED                 /* out->maps[out->n_maps - 1] is new */
} mm_run_step;

#define MM_RUN_MODEL "run"        /* the name of the model run trains */
#define MM_RUN_MAPS 3             /* UMAP, t-SNE, PCA */

typedef struct mm_run_outcome mm_run_outcome;

typedef struct mm_run_request {
    size_t size;                  /* sizeof the struct, set by mm_run_request_init (docs/api.md: option structs) */
    const char *const *folders;   /* scanned first (incrementally), any number; 0: the catalog as it is */
    size_t n_folders;
    const mm_scan_options *scan;  /* the scan's options and callbacks; NULL: defaults, jobs = threads */
    const char *preset;           /* "small" (minutes on a laptop) */
    int epochs;                   /* 20 */
    int min_count;                /* 10: songs a genre needs to be learnt */
    int retrain;                  /* 1: train again even when a model from an earlier run exists */
    int threads;                  /* 0: all cores */
    const mm_logger *log;         /* what was chosen and why; NULL: nothing */
    /* May be NULL; each gets user (as mm_train_request's and mm_embed_request's do). */
    mm_train_progress_fn train_progress;
    int (*embed_progress)(const mm_embed_progress *progress, void *user);
    void (*embed_failure)(int64_t track_id, const char *message, void *user);
    void (*step)(mm_run_step step, const mm_run_outcome *so_far, void *user); /* after each step */
    void *user;
    /* added after 0.1 (docs/api.md: fields are only ever appended) */
    int redraw;                   /* 1: lay the maps out anew; 0: new songs join the stored maps (mm_map_request) */
} mm_run_request;

MM_API void mm_run_request_init(mm_run_request *req);

struct mm_run_outcome {
    mm_scan_result scan;          /* zeros without folders */
    mm_genre_census tags;
    mm_tags_verdict verdict;
    int trained;                  /* a model was trained in this run: train is filled */
    mm_train_outcome train;
    int have_model;               /* MM_RUN_MODEL exists (trained now or by an earlier run) */
    int embedded;                 /* the model ran over the new songs: embed is filled */
    mm_embed_outcome embed;
    mm_vector_kind features;      /* what the maps are made of */
    size_t n_maps;
    mm_map_result maps[MM_RUN_MAPS];
};

/* Scans the folders, takes the tag census, trains MM_RUN_MODEL on the tags when they are worth it
 * (mm_tags_worth_training) and there is no such model yet (or retrain), embeds the songs with it when
 * there is one, and makes the UMAP, t-SNE and PCA maps of the chosen features, saying through the
 * logger what it chose and why. A failed file is counted, not an error; a scan that could not run or
 * was stopped is. Free out with mm_run_outcome_free (also after a failure). */
MM_API mm_status mm_pipeline_run(mm_catalog *cat, const mm_run_request *req, mm_run_outcome *out, mm_error *err);
MM_API void mm_run_outcome_free(mm_run_outcome *out);

/* ---- playlists: similar, mix, journey, radio (docs/playlists.md) ------------------------------------ */
/* Playlists are made in the song vectors' space (not on the 2-D map), from the vectors the map is made
 * of. A song is named by its track id or its catalogued path everywhere. */
typedef enum mm_playlist_kind {
    MM_PLAYLIST_SIMILAR = 0,      /* the songs nearest to one seed, nearest first */
    MM_PLAYLIST_MIX,              /* near every one of several seeds (mm_mix_rule) */
    MM_PLAYLIST_JOURNEY,          /* from seeds[0] to seeds[1] along the straight line, in small steps */
    MM_PLAYLIST_RADIO             /* an endless walk from a seed that never repeats a song; resumable */
} mm_playlist_kind;
/* "similar", "mix", "journey", "radio". */
MM_API const char *mm_playlist_kind_name(mm_playlist_kind kind);
MM_API int mm_playlist_kind_parse(const char *name, mm_playlist_kind *out);

/* How a mix stays near all its seeds (measured in docs/playlists.md). */
typedef enum mm_mix_rule {
    MM_MIX_ROUND_ROBIN = 0,       /* each seed's nearest in turn: every seed keeps its share */
    MM_MIX_CENTROID,              /* nearest to the seeds' mean */
    MM_MIX_NEAREST_SEED           /* nearest to the closest seed (the distance to the seeds' set) */
} mm_mix_rule;
/* "round-robin", "centroid", "nearest-seed". */
MM_API const char *mm_mix_rule_name(mm_mix_rule rule);
MM_API int mm_mix_rule_parse(const char *name, mm_mix_rule *out);

/* The vectors playlists use: those of the named map (NULL: the newest map, which is what the page shows
 * first and what `run` chose), or the descriptors when the catalog has no map. */
MM_API mm_status mm_playlist_vectors_load(mm_catalog *cat, const char *map, int threads, mm_song_vectors *out,
                                          mm_error *err);

/* The vectors with what the rules need of each song, and a search index over them. Opaque; once open it
 * is read only, so several threads may make playlists from one engine at once. */
typedef struct mm_playlist_engine mm_playlist_engine;

typedef struct mm_playlist_engine_options {
    size_t size;                  /* sizeof the struct, set by mm_playlist_engine_options_init (docs/api.md) */
    size_t exact_max;             /* 50000: exact searches up to this many songs, an approximate index above */
    int index_dims;               /* 32: the approximate index compares PCA projections of this many axes,
                                   * then ranks its candidates exactly */
    int threads;                  /* building the index; 0: all cores */
    uint64_t seed;                /* the index's clustering */
} mm_playlist_engine_options;
MM_API void mm_playlist_engine_options_init(mm_playlist_engine_options *opt);

/* cat: where each song's path and tags come from (NULL: none; the rules then see no artists, albums,
 * genres, durations or folders). v must outlive the engine. opt may be NULL (defaults). */
MM_API mm_status mm_playlist_engine_open(mm_catalog *cat, const mm_song_vectors *v,
                                         const mm_playlist_engine_options *opt, mm_playlist_engine **out,
                                         mm_error *err);
MM_API void mm_playlist_engine_close(mm_playlist_engine *e);
/* 1 when searches go through the approximate index. */
MM_API int mm_playlist_engine_approximate(const mm_playlist_engine *e);
/* The median distance from a song to its nearest neighbour (over a sample): the scale of a small step. */
MM_API double mm_playlist_engine_nn_distance(const mm_playlist_engine *e);

/* One song as the engine knows it (strings never NULL, "" when unknown; valid while the engine is). */
typedef struct mm_playlist_song {
    int64_t id;
    const char *path;             /* bytes as the file system gave them */
    const char *title, *artist, *album, *genre;
    double duration;              /* seconds; NAN when unknown */
} mm_playlist_song;
/* The song of a track id, or NULL when it has no vectors. */
MM_API const mm_playlist_song *mm_playlist_engine_song(const mm_playlist_engine *e, int64_t id);
/* A song named by a track id (digits) or a catalogued path (as stored, or one that resolves to it).
 * MM_ERR_NOT_FOUND when no song with vectors has that id or path. */
MM_API mm_status mm_playlist_engine_resolve(const mm_playlist_engine *e, const char *song, int64_t *id,
                                            mm_error *err);

typedef struct mm_playlist_request {
    size_t size;                  /* sizeof the struct, set by mm_playlist_request_init (docs/api.md) */
    mm_playlist_kind kind;        /* MM_PLAYLIST_SIMILAR */
    const int64_t *seeds;         /* similar, radio: 1 (radio: none when resuming); mix: 1 or more; journey: 2 */
    size_t n_seeds;
    int length;                   /* 20 songs; a journey's count includes both ends (>= 2) */
    int with_seeds;               /* 0; 1: similar, mix and a fresh radio start with their seeds */
    mm_mix_rule mix;              /* MM_MIX_ROUND_ROBIN */
    uint64_t seed;                /* 1: radio's wandering; the same value, the same playlist */
    /* rules, for every kind (seeds are exempt from the filters, not from the spacing) */
    int artist_gap;               /* 3: an artist at most once in any this many consecutive songs (0, 1: off) */
    int album_gap;                /* 3: the same for albums */
    double min_duration;          /* seconds; 0: no bound (songs of unknown duration fail a bound) */
    double max_duration;          /* seconds; 0: no bound */
    const char *const *genres;    /* only songs of these genre tags (normalised: mm_label_normalise); NULL: any */
    size_t n_genres;
    const char *const *exclude_genres;
    size_t n_exclude_genres;
    const char *const *folders;   /* only songs under these folders (absolute paths); NULL: anywhere */
    size_t n_folders;
    const char *const *exclude_folders;
    size_t n_exclude_folders;
    const int64_t *exclude;       /* songs never to pick (e.g. those already queued) */
    size_t n_exclude;
    const char *state;            /* radio: mm_playlist.state of an earlier call, to go on from there */
} mm_playlist_request;
MM_API void mm_playlist_request_init(mm_playlist_request *req);

typedef struct mm_playlist_entry {
    int64_t id;
    double distance;              /* similar: to the seed; mix: to the nearest seed; journey: to the line;
                                   * radio: to the walk's starting song */
    double step;                  /* from the song before (0 for the first) */
} mm_playlist_entry;

typedef struct mm_playlist {
    mm_playlist_kind kind;
    mm_playlist_entry *songs;
    size_t n;                     /* fewer than asked when the rules leave too few songs */
    double max_step, mean_step;   /* between consecutive songs */
    double nn_distance;           /* mm_playlist_engine_nn_distance: what a step is measured against */
    char *state;                  /* radio: where to go on from (a short ASCII string); NULL otherwise */
} mm_playlist;

/* Makes the playlist the request asks for. An unknown seed: MM_ERR_NOT_FOUND; a request wrong in
 * itself (seed count, length, a damaged state): MM_ERR_ARG. No repeated song, and the rules hold for
 * every song but the seeds' own filters; deterministic for a given request. Free with mm_playlist_free
 * (also after a failure). */
MM_API mm_status mm_playlist_make(const mm_playlist_engine *e, const mm_playlist_request *req, mm_playlist *out,
                                  mm_error *err);
MM_API void mm_playlist_free(mm_playlist *pl);

typedef struct mm_m3u_options {
    size_t size;                  /* sizeof the struct, set by mm_m3u_options_init (docs/api.md) */
    int extended;                 /* 1: #EXTM3U and an #EXTINF line (seconds, artist - title) per song */
    const char *relative_to;      /* a folder: paths relative to it (the playlist's own folder); NULL: absolute */
    /* a URL per song instead of its path: url_prefix, the song's track id, url_suffix (NULL: ""), as a
     * server's audio address; the file is then playable on any machine that reaches the server */
    const char *url_prefix, *url_suffix;
} mm_m3u_options;
MM_API void mm_m3u_options_init(mm_m3u_options *opt);
/* The playlist as an M3U file through write (bytes, n, ctx): one path per line, paths as stored (UTF-8
 * when the file system's names are: .m3u8), tag text with line breaks replaced by spaces. */
MM_API void mm_playlist_write_m3u(const mm_playlist_engine *e, const mm_playlist *pl, const mm_m3u_options *opt,
                                  mm_json_writer write, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
