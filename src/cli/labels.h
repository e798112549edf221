/* Training labels for catalogued tracks (the CLI's wiring of label sources to the catalog). */
#ifndef MM_CLI_LABELS_H
#define MM_CLI_LABELS_H

#include "musicmap/catalog.h"

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

#endif
