/* pipeline — what its files share (never installed; names carry the pipe_ prefix). */
#ifndef MM_PIPELINE_INTERNAL_H
#define MM_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "musicmap/pipeline.h"

/* One distinct label of a list and how many tracks carry it. */
typedef struct pipe_genre {
    const char *name; /* points into the list it was counted from */
    size_t count;
} pipe_genre;

/* The distinct labels of list, alphabetical, with their counts (*out malloc'd, *n of them; valid while
 * list is). */
mm_status pipe_count_genres(const mm_label_list *list, pipe_genre **out, size_t *n, mm_error *err);

/* mm_labels_collect, or with any_track the labels of every ok track, spectrogram or not (evaluation
 * scores vectors that need none: descriptors). */
mm_status pipe_labels_collect(mm_catalog *cat, mm_label_source kind, const char *file, int any_track,
                              mm_label_list *out, mm_error *err);

#endif
