/* cluster — a scan spread over many processes and machines with MPI (docs/scale.md).
 *
 * Rank 0 is the coordinator: it holds the catalog, walks the folders, compares with the catalog (so a
 * second run reads only new and changed files), deals the files out in small chunks to whichever rank
 * asks next (slow files and slow nodes balance themselves), and writes every result into the catalog
 * from its writer thread, exactly as `mm_catalog_scan` would have. The other ranks decode. The result is
 * the single-process scan's catalog, row for row and byte for byte in the features (apart from the
 * order of ids and slots, which depends on which file finished first in both).
 *
 * A build without MPI has the same functions: mm_cluster_available() is 0 and the others fail with
 * MM_ERR_UNSUPPORTED (rank and size say 0 and 1). */
#ifndef MUSICMAP_CLUSTER_H
#define MUSICMAP_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"
#include "musicmap/export.h"
#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this library was built with MPI. */
MM_API int mm_cluster_available(void);
/* MPI_Init (threads: only the calling thread talks MPI). Call once, from the main thread, before any
 * cluster call; argc/argv may be NULL. */
MM_API mm_status mm_cluster_init(int *argc, char ***argv, mm_error *err);
/* This process's rank and the job's size (0 and 1 before mm_cluster_init, or without MPI). */
MM_API int mm_cluster_rank(void);
MM_API int mm_cluster_size(void);
/* MPI_Finalize; nothing after it. */
MM_API void mm_cluster_finalize(void);

/* Rank 0's bytes to every rank; all ranks call it together. On rank 0, *data and *n are what it sends
 * (left as they are); on the others *data becomes a malloc'd copy (NULL when n is 0; free it) and *n
 * its length. With one rank (or before mm_cluster_init) it does nothing. How the pipeline hands every
 * rank the model a `scan --mpi --model` embeds with. */
MM_API mm_status mm_cluster_broadcast(void **data, size_t *n, mm_error *err);

/* What each rank did, gathered at rank 0 when the scan ends. */
typedef struct mm_cluster_rank_stats {
    int64_t files;      /* files it read (rank 0: results it received from all the others) */
    double cpu_seconds; /* user + system CPU of the whole process during the scan, all threads */
    double seconds;     /* wall time of its part of the scan */
} mm_cluster_rank_stats;

typedef struct mm_cluster_scan_stats {
    int ranks;
    mm_cluster_rank_stats *rank;  /* ranks entries, malloc'd; NULL on ranks other than 0 */
    int64_t bytes_to_workers;     /* work messages rank 0 sent */
    int64_t bytes_from_workers;   /* result messages rank 0 received */
    int64_t messages;             /* result messages (one per chunk) */
    double writer_cpu_seconds;    /* rank 0's writer thread alone (the catalog's share of the cost) */
} mm_cluster_scan_stats;
MM_API void mm_cluster_scan_stats_free(mm_cluster_scan_stats *stats);

/* Every rank calls this together. Rank 0 passes the catalog and the folders and gets the result and the
 * stats as mm_catalog_scan would give them (options->progress and ->failure are called on rank 0 only);
 * the others pass cat = NULL and get their own status. Rank 0 passing cat = NULL (it could not open the
 * catalog) sends everyone home and returns MM_ERR_ARG. options->jobs is the decoding threads per worker
 * rank (0: the cores of its machine divided among the ranks that share it); the options that change a
 * result (clips, full_loudness, no_spectrograms) are rank 0's. With one rank, this is mm_catalog_scan.
 * A rank that dies takes the job down (MPI's default); what rank 0 committed stays, and the next scan
 * goes on from there. */
MM_API mm_status mm_cluster_scan(mm_catalog *cat, const char *const *roots, size_t n_roots,
                                 const mm_scan_options *options, mm_scan_result *result, mm_cluster_scan_stats *stats,
                                 mm_error *err);

#ifdef __cplusplus
}
#endif
#endif
