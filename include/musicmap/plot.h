/* plot — figures as images: a map's songs coloured by genre, the original system's 13-map parameter
 * grid, two maps side by side, a model's training curves and its test confusion matrix. PNG, SVG or PDF,
 * chosen by the output file's extension (Cairo; text through fontconfig). docs/figures.md shows each.
 *
 * Maps are drawn density-aware, as datashader does: every point adds to the pixels it covers, then the
 * counts are tone-mapped (logarithmically), so a map of 300 songs shows each as a dot and a map of a
 * million still shows where they crowd. Colours are the web page's palette, in the page's order.
 *
 * The figures read the catalog through the pipeline (maps, their parameters and quality, genre tags,
 * model predictions, each model's training history); mm_plot_scatter draws the caller's own arrays.
 * A file is written whole or not at all (a temporary file renamed into place).
 *
 * Thread safety: the functions taking a catalog use it as the catalog module allows (one mm_catalog per
 * thread); the others work on the caller's data only. */
#ifndef MUSICMAP_PLOT_H
#define MUSICMAP_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/catalog.h"
#include "musicmap/export.h"
#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mm_plot_format { MM_PLOT_PNG = 0, MM_PLOT_SVG, MM_PLOT_PDF } mm_plot_format;
/* The format a path's extension names (".png", ".svg", ".pdf", any case); returns 0, or -1 for
 * another extension. */
MM_API int mm_plot_format_of(const char *path, mm_plot_format *out);

/* What colours a map's points. Auto is what the page starts with: the model's predictions when it
 * classified its held-out songs well enough (MM_PREDICTED_COLOURS_MIN_ACCURACY), else the genre tags. */
typedef enum mm_plot_color {
    MM_PLOT_COLOR_AUTO = 0,
    MM_PLOT_COLOR_TAG,       /* the files' genre tags (the page's "tagged": most frequent first, 24 at most) */
    MM_PLOT_COLOR_PREDICTED, /* the argmax of a model's output: the map's model, else the newest trained one */
    MM_PLOT_COLOR_FOLDER     /* the folder a file is in (its last path component) */
} mm_plot_color;
MM_API const char *mm_plot_color_name(mm_plot_color color); /* "auto", "tag", "predicted", "folder" */
MM_API int mm_plot_color_parse(const char *name, mm_plot_color *out); /* those names; 0 = ok */

/* The web page's palette (20 colours, 0xRRGGBB), used in order of the legend, and the grey of
 * points without a label. */
#define MM_PLOT_PALETTE_SIZE 20
MM_API uint32_t mm_plot_palette(int index); /* index modulo the palette */
#define MM_PLOT_UNLABELLED 0x5c6370u

typedef struct mm_plot_options {
    size_t size;          /* sizeof the struct, set by mm_plot_options_init (docs/api.md: option structs) */
    double width, height; /* the figure in points (1/72 inch); 0: the figure's own default */
    double scale;         /* PNG pixels per point: 2 (sharp on high-density screens and in print) */
    mm_plot_color color_by; /* maps: auto */
    const char *model;    /* training and confusion figures, and predicted colours: whose (NULL: for the
                           * figures the newest trained model; for colours the map's model, else the newest) */
    const char *features; /* grid: maps of these vectors ("descriptors", "softmax", ...); NULL: whichever
                           * kind the newest grid map is of */
    const char *title;    /* NULL: from the map's or model's name */
    double point_radius;  /* in points; 0: from the number of points and the panel's area */
    int max_legend;       /* legend entries at most (the rest become one "N more" line); 0: 24 */
} mm_plot_options;
/* All defaults (zeros but scale 2). */
MM_API void mm_plot_options_init(mm_plot_options *options);

/* A map by name or by id (decimal); NULL or "": the map the page opens with (the newest 2-D UMAP map,
 * else the newest 2-D map, else the newest map). MM_ERR_NOT_FOUND when there is none. */
MM_API mm_status mm_plot_find_map(mm_catalog *cat, const char *name_or_id, int64_t *map_id, mm_error *err);

/* One map: its points, a legend with each colour's count, and a title with the method, its parameters
 * and the map's quality (trustworthiness, genre agreement of the 10 nearest). 3-D maps are drawn from
 * above (their first two axes). */
MM_API mm_status mm_plot_map(mm_catalog *cat, int64_t map_id, const mm_plot_options *options, const char *path,
                             mm_error *err);
/* Two maps side by side, one legend, each titled with its parameters and quality. */
MM_API mm_status mm_plot_compare(mm_catalog *cat, int64_t map_a, int64_t map_b, const mm_plot_options *options,
                                 const char *path, mm_error *err);
/* The original system's figure (mm_layout_grid: t-SNE perplexity 5, 30, 50, 100; UMAP n_neighbors 5, 30,
 * 50 x min_dist 0.01, 0.1, 0.5) on one page, from the stored 2-D maps with those parameters (`musicmap
 * map --grid` makes them); a panel whose map is missing says so. MM_ERR_NOT_FOUND when none is there. */
MM_API mm_status mm_plot_grid(mm_catalog *cat, const mm_plot_options *options, const char *path, mm_error *err);
/* Loss and accuracy per epoch, training and validation, with the learning rate's changes and the best
 * epoch (whose weights the model kept) marked. MM_ERR_NOT_FOUND for a model trained before its history
 * was stored. */
MM_API mm_status mm_plot_training(mm_catalog *cat, const mm_plot_options *options, const char *path,
                                  mm_error *err);
/* The test songs' confusion matrix as a heat map (cells shaded by the share of their row) with the
 * counts and each genre's recall. MM_ERR_NOT_FOUND when the model has none stored (self-supervised, or
 * trained before it was). */
MM_API mm_status mm_plot_confusion(mm_catalog *cat, const mm_plot_options *options, const char *path,
                                   mm_error *err);

/* A map of the caller's own points: xy is n rows of `dims` floats (the first two are drawn), labels
 * (may be NULL) each point's index into names (-1: unlabelled, grey), colours in order of names. */
MM_API mm_status mm_plot_scatter(const float *xy, size_t n, int dims, const int32_t *labels,
                                 const char *const *names, int n_names, const char *title,
                                 const mm_plot_options *options, const char *path, mm_error *err);

/* Every figure the catalog can give, into folder dir (made if missing): map.png (the page's first map),
 * maps/NAME.png for every 2-D map, grid.pdf when grid maps are stored, and MODEL-training.svg and
 * MODEL-confusion.png for each model with a stored history. *written (may be NULL) counts the files. */
MM_API mm_status mm_plot_all(mm_catalog *cat, const char *dir, const mm_plot_options *options, size_t *written,
                             mm_error *err);

/* ---- a model's training, as stored with it ------------------------------------------------------------ */
/* What training stored in the model's metrics (docs/catalog.md): per epoch, and the test confusion. */
typedef struct mm_model_history {
    char *model;            /* its name */
    int self_supervised;    /* accuracy is the pair accuracy; no confusion matrix */
    int n_epochs;           /* 0: trained before the history was stored */
    double *train_loss, *train_acc, *val_loss, *val_acc, *learning_rate; /* n_epochs each (epochs 1..n) */
    int best_epoch;         /* 1-based; 0: unknown */
    double test_accuracy;   /* NaN: unknown */
    int n_classes;
    char **classes;         /* the model's outputs, in order */
    int64_t *confusion;     /* n_classes x n_classes test songs: rows true genre, columns predicted; NULL: none */
} mm_model_history;

/* The named model's (NULL: the newest trained one). MM_ERR_NOT_FOUND: no such model. */
MM_API mm_status mm_model_history_load(mm_catalog *cat, const char *model, mm_model_history *out, mm_error *err);
MM_API void mm_model_history_free(mm_model_history *history);

#ifdef __cplusplus
}
#endif
#endif
