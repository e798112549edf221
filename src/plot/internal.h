/* plot internals: the canvas (a Cairo surface of the output's format), text and axes helpers, the
 * density renderer of points, a map's points with their colours, and a small JSON reader for the
 * model metrics. Names carry the plot_ prefix. */
#ifndef MM_PLOT_INTERNAL_H
#define MM_PLOT_INTERNAL_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

#include "musicmap/pipeline.h"
#include "musicmap/plot.h"

/* ---- canvas (canvas.c) ---- */
typedef struct plot_canvas {
    mm_plot_format format;
    cairo_surface_t *surface;
    cairo_t *cr;
    double width, height; /* points */
    double scale;         /* device pixels per point (PNG); rasters inside vector files use raster_scale */
    double raster_scale;  /* pixels per point of the density images */
    char path[4096], tmp[4112];
} plot_canvas;

mm_status plot_canvas_open(plot_canvas *c, const char *path, double width, double height, double scale,
                           mm_error *err);
/* Writes the file (PNG) or finishes it (SVG, PDF), renames it into place; frees the canvas either way. */
mm_status plot_canvas_close(plot_canvas *c, mm_error *err);
/* Frees without writing (after an error): the temporary file goes. */
void plot_canvas_discard(plot_canvas *c);

/* Colours: 0xRRGGBB. */
void plot_rgb(cairo_t *cr, uint32_t rgb, double alpha);
/* Text, always valid UTF-8 (bytes that are not become '?', or Cairo would refuse the whole figure).
 * align: 0 left, 0.5 centre, 1 right, at baseline y. Returns the width drawn. */
double plot_text(cairo_t *cr, double x, double y, double size, int bold, double align, const char *text);
double plot_text_width(cairo_t *cr, double size, int bold, const char *text);
/* The text shortened with "…" to fit width. */
void plot_text_fit(cairo_t *cr, double size, int bold, double width, const char *text, char *out, size_t cap);

/* Axes: "nice" tick positions over [lo, hi] (about `want` of them); returns how many were written. */
int plot_ticks(double lo, double hi, int want, double *ticks, int max);
void plot_format_tick(double v, double step, char *out, size_t cap);

/* ---- points (density.c) ---- */
/* Rasterises n points into a w x h ARGB32 image: each point a disc of radius r pixels (r < 1: spread over
 * the four nearest pixels), counts tone-mapped logarithmically, colour the count-weighted mean of the
 * points' colours. xy in pixel units already. colours: 0xRRGGBB per label; label < 0 or >= n_colours:
 * `grey`. Returns NULL when out of memory. */
cairo_surface_t *plot_density(const float *px, const float *py, size_t n, const int32_t *labels,
                              const uint32_t *colours, int n_colours, uint32_t grey, int w, int h, double r);

/* ---- a map's data (mapdata.c) ---- */
typedef struct plot_legend_entry {
    char *name;
    uint32_t colour;
    size_t count;
    int32_t label;
} plot_legend_entry;

typedef struct plot_map {
    mm_map_record rec;   /* name, method, dims, params text */
    mm_map_params params;
    int have_params;
    size_t n;
    int64_t *ids;
    float *xy;           /* n x dims */
    int dims;
    int32_t *labels;     /* n; -1: unlabelled */
} plot_map;

/* One colouring shared by all the panels of a figure: label names and their colours. */
typedef struct plot_colouring {
    mm_plot_color by;    /* resolved: never AUTO */
    char **names;
    uint32_t *colours;
    int n;
    char note[160];      /* e.g. "genre tags" or "predicted by run (test accuracy 0.91)" */
    /* track id -> label, ascending ids */
    int64_t *ids;
    int32_t *of_id;
    size_t n_ids;
} plot_colouring;

mm_status plot_map_load(mm_catalog *cat, int64_t map_id, plot_map *out, mm_error *err);
void plot_map_free(plot_map *m);
/* The colouring for the first map's model (predictions) or the catalog's tags / folders. */
mm_status plot_colouring_make(mm_catalog *cat, const plot_map *first, const mm_plot_options *opt,
                              plot_colouring *out, mm_error *err);
void plot_colouring_free(plot_colouring *c);
/* Fills m->labels from the colouring. */
mm_status plot_map_label(plot_map *m, const plot_colouring *c, mm_error *err);
/* Legend entries over the given maps' points (counts of the first map), most frequent first, the
 * unlabelled last; free with plot_legend_free. */
mm_status plot_legend_make(const plot_map *m, const plot_colouring *c, plot_legend_entry **out, size_t *n,
                           mm_error *err);
void plot_legend_free(plot_legend_entry *e, size_t n);
/* "UMAP n_neighbors 15, min_dist 0.1" etc. and "trustworthiness 0.912 · genre agreement 0.634". */
void plot_map_describe(const plot_map *m, char *params, size_t pcap, char *quality, size_t qcap);

/* ---- drawing maps (figures.c) ---- */
/* A map panel: dark frame at (x, y, w, h) in points, the points inside, title lines above it (may be
 * NULL). */
void plot_draw_panel(plot_canvas *c, const plot_map *m, const plot_colouring *col, double x, double y, double w,
                     double h, double radius);
/* The legend in a column at (x, y) of width w, at most `max` lines; returns the height used. */
double plot_draw_legend(plot_canvas *c, const plot_legend_entry *e, size_t n, size_t total, double x, double y,
                        double w, double max_h, int max);

/* ---- JSON (json.c): just enough for the metrics the library writes ---- */
/* The value of key in the top-level object, or NULL. */
const char *plot_json_get(const char *json, const char *key);
/* A number (null: NaN); returns 0, -1 when it is not a number or null. */
int plot_json_number(const char *v, double *out);
/* An array of numbers: malloc'd; returns the count, -1 when it is not one. */
long plot_json_numbers(const char *v, double **out);
/* An array of arrays of numbers, as rows (each must be `cols` long, or cols is taken from the first).
 * malloc'd rows x cols; returns rows, -1 when it is not one. */
long plot_json_matrix(const char *v, double **out, long *cols);

/* Figure colours (the page's dark theme for maps; a light one for the model figures). */
#define PLOT_BG 0x0b0d12u
#define PLOT_PANEL 0x11141bu
#define PLOT_FRAME 0x3a4150u
#define PLOT_TEXT 0xe6e8ecu
#define PLOT_MUTED 0x9aa1ad
#define PLOT_FONT "DejaVu Sans"

#endif
