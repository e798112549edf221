/* Feature vectors that have no model behind them (the spectrogram baseline), shared by map and evaluate. */
#ifndef MM_CLI_VECTORS_H
#define MM_CLI_VECTORS_H

#include "musicmap/catalog.h"

/* The spectrogram baseline: each log-mel mean-pooled over blocks of this many frames, then PCA. */
#define MEL_POOL 8
#define MEL_PCA_DIMS 50

/* The mel baseline's input: every ok track with features (ids, n), pooled over time, reduced by PCA to
 * x (n x d, d = min(n, MEL_PCA_DIMS)); ids and x are malloc'd. */
mm_status mm_cli_mel_vectors(mm_catalog *cat, int threads, int64_t **ids, size_t *n, float **x, int *d, mm_error *err);

#endif
