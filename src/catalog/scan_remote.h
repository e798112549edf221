/* The scan split across processes (docs/scale.md), without the transport: the coordinator (which
 * holds the catalog, walks and writes) deals work out as byte messages and takes results back; a
 * worker turns a work message into a results message. src/cluster/ carries the messages over MPI.
 * Messages are the host's byte order and struct layout: the ranks of one job run one build. */
#ifndef MM_CATALOG_SCAN_REMOTE_H
#define MM_CATALOG_SCAN_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"

typedef struct scan scan;

/* A growing byte buffer; oom is set (and the data left as it was) when it could not grow. */
typedef struct cat_buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} cat_buf;
/* Appends n bytes of data (data NULL: n bytes left as they are, to be filled). */
void cat_buf_put(cat_buf *b, const void *data, size_t n);
void cat_buf_free(cat_buf *b);

/* What every worker must know before the first file: the options that change a result, and the
 * (content hash, size) of each track a new file could be a move of. */
typedef struct cat_remote_config {
    int clips, full_loudness, no_spectrograms;
    int vector_floats; /* the coordinator's embedder's outputs + dim (0: it embeds nothing) */
    size_t n_moves;
    uint64_t *moves; /* 2 * n_moves: hash, size */
} cat_remote_config;

/* --- coordinator (a scan opened with cat_scan_begin) */

/* The config to send; free moves with free(). */
mm_status cat_remote_config_of(scan *s, cat_remote_config *out, mm_error *err);
/* Reads, on the calling thread, the work items the walk already knows to be failures (a dangling link,
 * a FIFO): no worker needs to see them. Needs the writer running. */
void cat_remote_local_failures(scan *s);
/* Whether work item i goes to a worker (not a walk-known failure). */
int cat_remote_dealt(const scan *s, size_t i);
/* Appends work items to a work message. */
void cat_remote_pack_work(scan *s, const size_t *indices, size_t n, cat_buf *out);
/* The work item indices of a work message (out: one per item; n set), for a worker that gives its
 * chunk back; -1 when malformed. */
int cat_remote_work_indices(const unsigned char *msg, size_t len, size_t *out, size_t cap, size_t *n);
/* Takes a worker's results: each is handed to the writer, except proposed moves that the catalog
 * can't grant (another file took that track first), whose indices are appended to redo (capacity: one
 * per result) to be dealt again as ordinary new files. *files gets the number of results. */
mm_status cat_remote_take_results(scan *s, const unsigned char *msg, size_t len, size_t *redo, size_t *n_redo,
                                  int64_t *files, mm_error *err);

/* --- worker */

typedef struct cat_remote_worker cat_remote_worker;
/* threads: decoding threads (at least 1). embedder: this process's copy of the coordinator's (the same
 * model; its vector sizes must match config->vector_floats), or NULL when that is 0. */
mm_status cat_remote_worker_open(cat_remote_worker **out, const cat_remote_config *config, int threads,
                                 const mm_scan_embedder *embedder, mm_error *err);
/* Reads the files of one work message; their results are appended to out. */
mm_status cat_remote_worker_run(cat_remote_worker *w, const unsigned char *msg, size_t len, cat_buf *out,
                                size_t *files, mm_error *err);
void cat_remote_worker_close(cat_remote_worker *w);

#endif
