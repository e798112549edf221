/* The scan's state and the steps the cluster scan (scan_remote.c, src/cluster/) shares with the
 * single-process one (scan.c). Internal to the library. */
#ifndef MM_CATALOG_SCAN_INTERNAL_H
#define MM_CATALOG_SCAN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "internal.h"
#include "musicmap/audio.h"
#include "musicmap/features.h"


typedef struct db_entry {
    int64_t id;
    char *path;
    size_t len;
    int64_t size, mtime_ns, ctime_ns;
    uint64_t hash;
    int status;
    int has_features;
    int has_descriptors; /* of this build's MM_DESCRIPTOR_VERSION */
    int has_vectors;     /* under the scan's embedder's model (no embedder: 1) */
    int seen;       /* the walk found this path */
    int under_root; /* under a scanned root (and not under a folder that could not be read) */
    int vanished;   /* under a root, not found: becomes missing unless a moved file claims it */
    int claimed;    /* taken by a moved file (guarded by move_lock) */
    int returned;   /* a missing track found again, unchanged, at its path */
} db_entry;

typedef struct candidate {
    char *path;
    size_t len;
    int64_t size, mtime_ns, ctime_ns;
    dev_t dev;
    ino_t ino;
    const char *problem; /* set when the walk already knows it is not a readable file */
    unsigned via_link : 1, dropped : 1;
} candidate;

/* WORK_EMBED: an unchanged ok file read again only for its vectors under the embedder's model */
enum work_kind { WORK_NEW, WORK_CHANGED, WORK_EMBED };

typedef struct work {
    size_t cand;
    enum work_kind kind;
    int no_move; /* a cluster worker proposed a move the coordinator could not grant: read it */
    /* WORK_NEW: the id its row gets (0: the database's next), given in walk order when the scan starts,
     * so songs are numbered the same whichever thread or rank finishes first */
    int64_t new_id;
} work;

enum item_kind { ITEM_OK, ITEM_FAILED, ITEM_MOVED, ITEM_SKIPPED };

typedef struct scan_item {
    const work *w;
    enum item_kind kind;
    int64_t size, mtime_ns, ctime_ns;
    uint64_t hash;
    int have_info;
    mm_audio_info info;
    double loudness;
    uint16_t *halves;
    float *descriptors; /* MM_DESCRIPTOR_DIM */
    float *vectors;     /* the embedder's outputs then hidden state (outputs + dim floats), or NULL */
    int64_t slot;
    uint64_t checksum;
    db_entry *moved_from;
    char error[2 * MM_ERROR_MSG_MAX + 64];
} scan_item;

/* open addressing: path -> db entry */
typedef struct path_map {
    size_t mask;
    db_entry **slots;
} path_map;

/* open addressing set of (dev, ino) for folders already walked */
typedef struct dir_set {
    size_t mask, count;
    struct dir_key {
        dev_t dev;
        ino_t ino;
        int used;
    } *keys;
} dir_set;

typedef struct scan {
    mm_catalog *cat;
    const mm_scan_options *opt;
    mm_scan_result *res;
    double t0;
    mm_status fatal; /* the scan can't go on (out of memory, database) */
    mm_error fatal_err;

    /* catalog, as loaded */
    db_entry *entries;
    size_t n_entries;
    path_map by_path;
    /* move candidates: hash -> entry */
    db_entry **by_hash;
    size_t hash_mask;
    pthread_mutex_t move_lock;

    /* walk */
    candidate *cands;
    size_t n_cands, cap_cands;
    dir_set dirs;
    char **roots; /* resolved, for "is under a root" */
    size_t n_roots;
    char **bad_dirs;
    size_t n_bad_dirs, cap_bad_dirs;

    /* work */
    work *work;
    size_t n_work;
    mm_mel **mels;
    mm_descriptors **descs;
    float **clips, **logmels, **powers;
    atomic_int stop;
    mm_queue *queue;
    mm_scan_progress progress;

    /* writer: slots in use in the feature file */
    unsigned char *slot_used;
    int64_t slot_cap, slot_cursor;
    int64_t *released; /* slots freed by the current batch, reusable after it commits */
    size_t n_released, cap_released;
    sqlite3_stmt *st_upsert, *st_old_slot, *st_set_features, *st_drop_features, *st_move_clear, *st_move;
    sqlite3_stmt *st_set_descriptors, *st_drop_vectors, *st_put_vectors;
    int embedder_open; /* the embedder's open succeeded: close it at the end */

    /* a cluster worker (scan_remote.c): results land in out[work index] instead of the writer's queue,
     * and a new file that matches a vanished track is only proposed as a move (the coordinator, which
     * holds the catalog, grants it) */
    scan_item **out;
    int remote;
    int locked; /* holds the catalog's scan lock */
    double writer_cpu; /* CPU seconds of the writer thread, when it ended */
} scan;

/* Opens a scan: locks the catalog, loads it, walks the roots and sorts what was found into work
 * (s->work, s->n_work). On failure nothing is left to free but cat_scan_end must still be called. */
mm_status cat_scan_begin(scan *s, mm_catalog *cat, const char *const *roots, size_t n_roots,
                         const mm_scan_options *options, mm_scan_result *result, mm_error *err);
/* Marks what is missing (unless st is already an error), frees everything and unlocks the catalog;
 * returns the scan's status. */
mm_status cat_scan_end(scan *s, mm_status st, mm_error *err);

/* One decoding front-end per worker thread (clip, log-mel, descriptors). */
mm_status cat_scan_frontends_open(scan *s, int workers, mm_error *err);
void cat_scan_frontends_close(scan *s, int workers);
/* Reads work item `index` on front-end `worker`; the item goes to the writer's queue (or s->out). */
void cat_scan_process(size_t index, int worker, void *scan_arg);
void cat_scan_free_item(scan_item *it);
/* The writer thread and its bounded queue of items (capacity items). */
mm_status cat_scan_writer_start(scan *s, size_t capacity, pthread_t *writer, mm_error *err);
void cat_scan_writer_join(scan *s, pthread_t writer);
/* A move claim against the catalog as loaded: the vanished or missing track with this content, or NULL. */
db_entry *cat_scan_claim_moved(scan *s, uint64_t hash, int64_t size);
void cat_scan_set_fatal(scan *s, mm_status code, const mm_error *err);
/* Whether the scan keeps each song's spectrogram (mm_scan_options.no_spectrograms). */
static inline int cat_scan_keeps_spectrograms(const scan *s) { return !s->opt->no_spectrograms; }
/* Floats of an embedded song's vectors (0: the scan embeds nothing). */
static inline int cat_scan_vector_floats(const scan *s)
{
    return s->opt->embedder ? s->opt->embedder->outputs + s->opt->embedder->dim : 0;
}

#endif
