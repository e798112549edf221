/* The cluster API in a build without MPI (cluster.h): present, so that programs link either way, and
 * saying why it can't run. */
#include <string.h>

#include "musicmap/cluster.h"

int mm_cluster_available(void) { return 0; }

mm_status mm_cluster_init(int *argc, char ***argv, mm_error *err)
{
    (void)argc;
    (void)argv;
    return mm_error_set(err, MM_ERR_UNSUPPORTED, "this musicmap was built without MPI (cmake -DMM_WITH_MPI=ON, "
                                                  "with an MPI such as Debian's libopenmpi-dev installed)");
}

int mm_cluster_rank(void) { return 0; }
int mm_cluster_size(void) { return 1; }
void mm_cluster_finalize(void) {}

mm_status mm_cluster_broadcast(void **data, size_t *n, mm_error *err)
{
    (void)data; /* one process: every rank already has rank 0's bytes */
    (void)n;
    (void)err;
    return MM_OK;
}

void mm_cluster_scan_stats_free(mm_cluster_scan_stats *stats)
{
    if (stats)
        stats->rank = NULL;
}

mm_status mm_cluster_scan(mm_catalog *cat, const char *const *roots, size_t n_roots, const mm_scan_options *options,
                          mm_scan_result *result, mm_cluster_scan_stats *stats, mm_error *err)
{
    (void)cat;
    (void)roots;
    (void)n_roots;
    (void)options;
    if (result)
        memset(result, 0, sizeof *result);
    if (stats)
        memset(stats, 0, sizeof *stats);
    return mm_cluster_init(NULL, NULL, err);
}
