/* pipeline — what its files share (never installed; names carry the pipe_ prefix). */
#ifndef MM_PIPELINE_INTERNAL_H
#define MM_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "musicmap/nn.h"
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

/* The model `embed` and `scan --model` name: a model in the catalog first (a folder of that name in the
 * working directory must not shadow it), otherwise a model file, registered under its file name. Not a
 * pseudo-model (descriptors, the mel baseline): MM_ERR_ARG. */
mm_status pipe_find_model(mm_catalog *cat, const char *model, mm_model_record *rec, mm_error *err);
/* The record's model file, checked against the front-end the catalog's spectrograms were made with. */
mm_status pipe_load_model(mm_catalog *cat, const mm_model_record *rec, mm_model **model, mm_error *err);

#endif
