/* catalog — the library database: tracks with their tags, errors and loudness, the log-mel features of
 * each track (half floats in a fixed-record file beside the database), and the tables later stages fill
 * (label sets, models, per-model vectors, maps and map points); and the scan that fills it: a walk of
 * the music folders, incremental (size + mtime), parallel, resumable after a kill.
 *
 * Files: PATH (SQLite, WAL mode) and PATH's .features twin (library.db -> library.features).
 * Schema, crash-safety and the JSON forms of the CLI are documented in docs/catalog.md.
 *
 * Thread safety: mm_catalog_read_features and mm_catalog_read_features_half may be called on one
 * mm_catalog from several threads at once. Any other use of one mm_catalog from two threads must be
 * serialised by the caller; to work in parallel, open the same database once per thread (SQLite's WAL
 * mode lets readers run beside one writer, and waits up to 10 s for a lock). One scan runs per catalog
 * file at a time: a second, from any handle or process, fails with MM_ERR_IO. A scan's callbacks are
 * called from its own threads, never two at once. Records and arrays returned belong to the caller. */
#ifndef MUSICMAP_CATALOG_H
#define MUSICMAP_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/features.h"
#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_CATALOG_SCHEMA_VERSION 6
/* One feature record: the 96 x 1366 log-mel, band-major, IEEE half floats, little-endian. */
#define MM_FEATURE_VALUES (MM_N_MELS * MM_N_FRAMES)
#define MM_FEATURE_RECORD_BYTES (MM_FEATURE_VALUES * 2)
/* The feature file starts with a header of this many bytes; record k is at HEADER + k * RECORD. */
#define MM_FEATURE_HEADER_BYTES 4096

typedef struct mm_catalog mm_catalog;

enum {
    MM_CATALOG_CREATE = 1 /* create the database (and its folder) when missing; else missing is an error */
};

/* $XDG_DATA_HOME/musicmap/library.db, or ~/.local/share/musicmap/library.db. */
MM_API mm_status mm_catalog_default_path(char *buf, size_t size, mm_error *err);

/* Opens (and creates, or migrates to MM_CATALOG_SCHEMA_VERSION) a catalog. A database written by a
 * newer musicmap, or a file that is not a musicmap database, is refused with a message. */
MM_API mm_status mm_catalog_open(mm_catalog **out, const char *path, int flags, mm_error *err);
MM_API void mm_catalog_close(mm_catalog *cat);
MM_API const char *mm_catalog_path(const mm_catalog *cat);
MM_API const char *mm_catalog_features_path(const mm_catalog *cat);
MM_API int mm_catalog_schema_version(const mm_catalog *cat);

typedef enum mm_track_status { MM_TRACK_OK = 0, MM_TRACK_FAILED = 1, MM_TRACK_MISSING = 2 } mm_track_status;
MM_API const char *mm_track_status_name(mm_track_status status); /* "ok", "failed", "missing" */

/* A track as stored. Strings are never NULL ("" when unknown) except error (NULL unless a failure). */
typedef struct mm_track {
    int64_t id;
    const char *path; /* bytes as the file system gave them: not necessarily UTF-8 */
    size_t path_len;
    int64_t size;
    int64_t mtime_ns; /* nanoseconds since the epoch */
    uint64_t hash;    /* content hash (size + first/middle/last 64 KiB); 0 if never read */
    mm_track_status status;
    const char *error;
    double duration; /* seconds; NAN if unknown */
    const char *container, *codec;
    int sample_rate, channels;
    int64_t bit_rate;
    const char *title, *artist, *album, *genre, *date, *track_no;
    int year;          /* from the date tag; 0 if none */
    double loudness;   /* EBU R128 integrated, LUFS; NAN: not measured; -INFINITY: silence */
    int loudness_song; /* 1: over the whole song, 0: over the 29.12 s clip */
    int has_features;
    int64_t scanned_at; /* unix seconds of the last scan that read the file */
} mm_track;

/* Calls fn for each track (status filter: -1 for all), ordered by id. The track and its strings are
 * valid during the call only. fn returns non-zero to stop early. */
typedef int (*mm_track_fn)(const mm_track *track, void *user);
MM_API mm_status mm_catalog_each_track(mm_catalog *cat, int status, mm_track_fn fn, void *user, mm_error *err);

typedef struct mm_catalog_count {
    char *name;
    int64_t count;
} mm_catalog_count;

typedef struct mm_catalog_stats {
    int schema_version;
    int64_t total, ok, failed, missing;
    int64_t with_features;      /* tracks with a feature record */
    double duration;            /* seconds, over ok tracks */
    int64_t db_bytes;           /* the database file + its WAL */
    int64_t features_bytes;     /* the feature file */
    mm_catalog_count *formats;  /* ok tracks by codec, most frequent first */
    size_t n_formats;
    mm_catalog_count *genres;   /* ok tracks by genre tag ("" = untagged), most frequent first */
    size_t n_genres;
} mm_catalog_stats;

MM_API mm_status mm_catalog_get_stats(mm_catalog *cat, mm_catalog_stats *out, mm_error *err);
MM_API void mm_catalog_stats_free(mm_catalog_stats *stats);

/* The front-end the stored features were computed with (a model checks these match its own);
 * mm_frontend_params is in features.h. */
MM_API mm_status mm_catalog_frontend(mm_catalog *cat, mm_frontend_params *out, mm_error *err);

/* Features for training: the ids of ok tracks with a feature record, in file order (reading them in
 * this order streams the file sequentially); *ids is malloc'd. */
MM_API mm_status mm_catalog_feature_ids(mm_catalog *cat, int64_t **ids, size_t *count, mm_error *err);
/* Reads one track's record as floats (out[MM_FEATURE_VALUES]) or as the stored halves. The record's
 * checksum is verified; MM_ERR_NOT_FOUND for a track without a record. Thread-safe. */
MM_API mm_status mm_catalog_read_features(mm_catalog *cat, int64_t track_id, float *out, mm_error *err);
MM_API mm_status mm_catalog_read_features_half(mm_catalog *cat, int64_t track_id, uint16_t *out, mm_error *err);

/* The content hash used to recognise moved files: 64 bits over the size and the first, middle and
 * last 64 KiB (the whole file when smaller than 192 KiB). */
MM_API mm_status mm_content_hash_fd(int fd, int64_t size, uint64_t *out, mm_error *err);
/* The 64-bit hash of a buffer (also the feature record checksum). */
MM_API uint64_t mm_hash64(const void *data, size_t n, uint64_t seed);

/* ---- scanning ---- */

typedef enum mm_scan_phase { MM_SCAN_WALKING = 0, MM_SCAN_PROCESSING, MM_SCAN_FINISHING } mm_scan_phase;

typedef struct mm_scan_progress {
    mm_scan_phase phase;
    int64_t found;     /* audio files found by the walk so far */
    int64_t total;     /* files to read (new or changed) */
    int64_t done;      /* of those, read (stored, moved or failed) */
    int64_t committed; /* of those, committed to the database */
    int64_t failed;
    double elapsed;    /* seconds since the scan started */
} mm_scan_progress;

/* Excerpts per song for the descriptors by default. Three (at 20, 50 and 80 %) describe a song better
 * than its centre alone (real collection, UMAP k-NN(5) same soundtrack 0.572 -> 0.613) for about 2.4
 * times the scan's CPU on songs of a few minutes; songs shorter than two clips are read once
 * (bench/RESULTS.md, "Map quality"). `scan --clips 1` for the fastest first scan of a huge collection. */
#define MM_SCAN_DEFAULT_CLIPS 3
#define MM_SCAN_MAX_CLIPS 9

/* A network run on every song as the scan reads it (`scan --model`, docs/scale.md): its output vector
 * and hidden state are stored with the song's row, in the same transaction, under model_id (as
 * mm_catalog_put_vectors would), so a collection scanned without spectrograms never reads its audio a
 * second time. The catalog module knows nothing of networks; mm_pipeline_scan makes one from a model.
 * open is called once before the first song with the number of decoding threads; run on decoding
 * thread `thread` (0 .. threads-1, never two calls at once for one thread) with the centre clip's
 * log-mel (MM_N_MELS x MM_N_FRAMES, the spectrogram the scan stores); a failing run stops the scan
 * (it is the model's or the machine's problem, not the file's). close after the last. */
typedef struct mm_scan_embedder {
    int64_t model_id;
    int outputs, dim; /* floats of the output vector and of the hidden state */
    mm_status (*open)(int threads, mm_error *err, void *user);
    mm_status (*run)(int thread, const float *logmel, float *outputs, float *hidden, mm_error *err, void *user);
    void (*close)(void *user);
    void *user;
} mm_scan_embedder;

typedef struct mm_scan_options {
    size_t size; /* sizeof the struct, set by mm_scan_options_init (docs/api.md: option structs) */
    int jobs;           /* decoding threads; 0: all cores */
    int full_loudness;  /* loudness over the whole song (decodes all of it) instead of the clip */
    int prune;          /* delete missing tracks under the scanned folders (and their features) */
    int retry_failed;   /* read unchanged files that failed before again */
    int clips;          /* excerpts per song the descriptors are averaged over, spread from 20 % to 80 % of
                         * the song (1: the centre clip alone); 0: MM_SCAN_DEFAULT_CLIPS. The stored
                         * spectrogram is always the centre clip's. Songs described with another count are
                         * read again. */
    int batch_size;     /* files per transaction; 0: 64 */
    double batch_seconds; /* longest time between commits; 0: 1 s */
    /* Called often, never concurrently (during the walk from the calling thread, then from the writer
     * thread); return non-zero to stop the scan early (what is done so far is kept). May be NULL. */
    int (*progress)(const mm_scan_progress *progress, void *user);
    /* Called once for each file that fails (and each folder that can't be read), from the same
     * threads as progress. May be NULL. */
    void (*failure)(const char *path, const char *message, void *user);
    /* Tests: called after the walk, before any file is read. May be NULL. */
    void (*after_walk)(void *user);
    void *user;
    /* 1: keep each song's descriptors and tags but not its 262 KB spectrogram (`scan
     * --keep-spectrograms no`, for collections of millions: docs/scale.md); training and `embed` then
     * need the audio again. A track counts as read when it has descriptors; a changed file loses the
     * record it had. 0 (default): keep them. */
    int no_spectrograms;
    /* Embeds every song the scan reads, and reads again the unchanged ok songs that have no vectors
     * under the embedder's model (they count as unchanged). A changed file always loses the vectors
     * its old content had, under every model. NULL: none. */
    const mm_scan_embedder *embedder;
    /* 1 (with an embedder): embed only. Of the files found, the unchanged ok tracks without vectors under
     * the embedder's model are read for their vectors (the centre clip alone), and nothing else is
     * stored: no file is added or read again, none is marked missing or moved. How `embed` reaches
     * songs without a stored spectrogram, and `embed --mpi` every song, given their files as roots. */
    int vectors_only;
} mm_scan_options;
/* All defaults (zeros: every count above takes its default). */
MM_API void mm_scan_options_init(mm_scan_options *options);

/* Every audio file the walk found lands in exactly one of unchanged, added, changed, moved, failed
 * (or none, when the scan was stopped early). */
typedef struct mm_scan_result {
    int64_t found;        /* audio files (by extension) found under the folders */
    int64_t unchanged;    /* same size and mtime: skipped (includes unchanged earlier failures) */
    int64_t kept_failed;  /* of those, files that failed before and were not retried */
    int64_t added;        /* new paths read and stored */
    int64_t changed;      /* known paths whose size or mtime changed, read again */
    int64_t moved;        /* new paths whose content matches a vanished track: id and features kept
                           * (includes missing tracks found again at their old path) */
    int64_t failed;       /* files read in this scan that failed (each recorded with its error) */
    int64_t missing;      /* tracks under the folders whose files are gone: marked missing */
    int64_t pruned;       /* missing tracks deleted (prune) */
    int64_t duplicates;   /* files reached again through a symbolic link: catalogued once */
    int64_t folder_errors; /* folders (or given paths) that could not be read: their tracks are left as they were */
    int stopped;          /* 1 when the progress callback stopped the scan */
    double seconds;
} mm_scan_result;

/* Scans the given folders (or single files) into the catalog. Per-file problems are recorded in the
 * catalog and counted in result->failed; the return value is an error only when the scan itself
 * could not run (database, feature file, out of memory, another scan running on the same catalog). */
MM_API mm_status mm_catalog_scan(mm_catalog *cat, const char *const *roots, size_t n_roots,
                                 const mm_scan_options *options, mm_scan_result *result, mm_error *err);

/* --- What training, inference and layout store ------------------------------------------------ */

/* The files of the ok tracks without vectors under the model (all of them with with_spectrograms 1;
 * only those without a stored spectrogram with 0: what `embed` must read the audio of), in track id
 * order. *paths: n malloc'd strings in a malloc'd array, freed with mm_catalog_files_free. */
MM_API mm_status mm_catalog_files_needing_vectors(mm_catalog *cat, int64_t model_id, int with_spectrograms,
                                                  char ***paths, size_t *n, mm_error *err);
MM_API void mm_catalog_files_free(char **paths, size_t n);

/* Finds damaged spectrogram records: those a truncated feature file cut off (always, cheap: a look at
 * the slots against the file's size; every scan does it first) and, with full,
 * those whose bytes fail their checksum (reads every record: a power cut, a bad disk). Each damaged
 * record is forgotten and its track marked changed, so the next scan reads the file again; *checked
 * records were looked at, *damaged of them forgotten. */
MM_API mm_status mm_catalog_verify_features(mm_catalog *cat, int full, size_t *checked, size_t *damaged,
                                            mm_error *err);

/* One track by id (fn is called once), or MM_ERR_NOT_FOUND "no track N". */
MM_API mm_status mm_catalog_get_track(mm_catalog *cat, int64_t id, mm_track_fn fn, void *user, mm_error *err);
/* The track of a file (the path as given, resolved like the scan's: absolute, links followed), or
 * MM_ERR_NOT_FOUND "PATH: not in the catalog". */
MM_API mm_status mm_catalog_get_track_by_path(mm_catalog *cat, const char *path, mm_track_fn fn, void *user,
                                              mm_error *err);
/* Ok tracks whose title, artist or album contain every word of query (case-insensitive), best first
 * (title matches before artist/album matches), at most limit. */
MM_API mm_status mm_catalog_search(mm_catalog *cat, const char *query, int limit, mm_track_fn fn, void *user,
                                   mm_error *err);

/* A named set of labels for tracks (replacing a set of the same name). splits may be NULL; each split is
 * "train", "val", "test" or NULL. */
MM_API mm_status mm_catalog_put_labels(mm_catalog *cat, const char *name, const char *source, size_t n,
                                       const int64_t *track_ids, const char *const *labels, const char *const *splits,
                                       int64_t *label_set, mm_error *err);

typedef struct mm_model_record {
    int64_t id;
    char *name;         /* unique */
    char *file;         /* the model file */
    char *architecture; /* preset name */
    int64_t label_set;  /* 0 if none */
    int n_classes;
    char **classes;     /* output order */
    int embedding_dim;
    char *metrics;      /* JSON, or NULL */
    int64_t created_at;
} mm_model_record;

/* Registers a model by name. Re-registering a name updates it and drops its old vectors and maps. */
MM_API mm_status mm_catalog_put_model(mm_catalog *cat, const mm_model_record *model, int64_t *id, mm_error *err);
/* By name, or the newest trained model when name is NULL (not the "mel-pca50" and "descriptors"
 * entries that maps of those features refer to); MM_ERR_NOT_FOUND when there is none. Free with ..._free. */
MM_API mm_status mm_catalog_get_model(mm_catalog *cat, const char *name, mm_model_record *out, mm_error *err);
MM_API mm_status mm_catalog_get_model_by_id(mm_catalog *cat, int64_t id, mm_model_record *out, mm_error *err);
MM_API void mm_model_record_free(mm_model_record *model);

/* Genre colours come from a model's predictions only when it classified its held-out (test) songs at
 * least this well; below it (or when the accuracy is unknown) a map is coloured by the genre tags, and
 * the page and `run` say so. A confident, wrong legend is worse than none. */
#define MM_PREDICTED_COLOURS_MIN_ACCURACY 0.85
/* The model's held-out accuracy from its metrics ("test_accuracy"), or a negative number when unknown. */
MM_API double mm_model_record_test_accuracy(const mm_model_record *model);
/* 1 when a map of this model should be coloured by its predictions (see the bound above), else 0. */
MM_API int mm_model_record_colours_by_prediction(const mm_model_record *model);

/* Ok tracks with features but no vectors for the model (what `embed` still has to do), by id. */
MM_API mm_status mm_catalog_tracks_needing_vectors(mm_catalog *cat, int64_t model_id, int64_t **ids, size_t *n,
                                                   mm_error *err);
/* Stores n tracks' output vectors (n x k) and embeddings (n x dim) in one transaction. */
MM_API mm_status mm_catalog_put_vectors(mm_catalog *cat, int64_t model_id, size_t n, const int64_t *track_ids,
                                        const float *probs, int k, const float *embedding, int dim, mm_error *err);
/* All ok tracks' vectors for a model, by track id; arrays are malloc'd (probs n x k, embedding n x dim). */
MM_API mm_status mm_catalog_get_vectors(mm_catalog *cat, int64_t model_id, size_t *n, int64_t **track_ids,
                                        float **probs, int *k, float **embedding, int *dim, mm_error *err);

/* All ok tracks' descriptors of this build's version (docs/descriptors.md), by track id: ids (n) and
 * x (n x MM_DESCRIPTOR_DIM) are malloc'd. Tracks scanned by an older version have none until the next
 * scan reads them again. */
MM_API mm_status mm_catalog_get_descriptors(mm_catalog *cat, size_t *n, int64_t **track_ids, float **x, mm_error *err);

typedef struct mm_map_record {
    int64_t id;
    char *name;    /* unique */
    int64_t model_id;
    char *source;  /* "probs" or "embedding" */
    char *method;  /* "pca", "tsne", "umap" */
    int dims;      /* 2 or 3 */
    char *params;  /* JSON, or NULL */
    int64_t created_at;
    size_t n_points; /* stored when the map was made or grew (tracks that went missing since still count) */
    int generation;  /* how many times new songs were placed on it since it was drawn (0: never) */
} mm_map_record;

/* Stores a map (replacing one of the same name): coords is n x dims. */
MM_API mm_status mm_catalog_put_map(mm_catalog *cat, const mm_map_record *map, size_t n, const int64_t *track_ids,
                                    const float *coords, int64_t *id, mm_error *err);
/* All maps, oldest first; free with mm_map_records_free. */
MM_API mm_status mm_catalog_list_maps(mm_catalog *cat, mm_map_record **maps, size_t *n, mm_error *err);
MM_API void mm_map_records_free(mm_map_record *maps, size_t n);
/* Adds points to a stored map without touching the others (new songs placed on it) and replaces its
 * params; the points are marked as the map's next generation. n may be 0 (only the params change). */
MM_API mm_status mm_catalog_grow_map(mm_catalog *cat, int64_t map_id, const char *params, size_t n,
                                     const int64_t *track_ids, const float *coords, mm_error *err);
/* The ok tracks the map's latest growth added (none when it never grew): *generation is the map's
 * generation, track_ids (n) malloc'd. MM_ERR_NOT_FOUND: no such map. */
MM_API mm_status mm_catalog_get_map_added(mm_catalog *cat, int64_t map_id, int *generation, size_t *n,
                                          int64_t **track_ids, mm_error *err);
/* A map's points (ok tracks only), by track id: coords is n x dims, malloc'd. MM_ERR_NOT_FOUND: no such map. */
MM_API mm_status mm_catalog_get_map_points(mm_catalog *cat, int64_t map_id, size_t *n, int64_t **track_ids,
                                           float **coords, int *dims, mm_error *err);

#ifdef __cplusplus
}
#endif
#endif
