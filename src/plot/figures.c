/* The map figures: one map, two side by side, the 13-map parameter grid, the caller's own points, and
 * every figure of a catalog into a folder. Dark like the page, so a figure and the page look alike. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/shared.h"
#include "internal.h"

#define MARGIN 16.0
#define LEGEND_W 210.0
#define LINE 15.0

static mm_plot_options read_options(const mm_plot_options *given)
{
    mm_plot_options o;
    mm_plot_options_init(&o);
    util_options_copy(&o, sizeof o, given, UTIL_OPTIONS_END(mm_plot_options, max_legend));
    if (o.max_legend <= 0)
        o.max_legend = 24;
    return o;
}

/* --- drawing ----------------------------------------------------------------------------------------- */

/* The points inside a frame at (x, y, w, h), drawn as a density image (density.c) at the canvas's raster
 * resolution; equal scales on both axes, as the map was laid out. */
static mm_status draw_points(plot_canvas *c, const float *xy, size_t n, int dims, const int32_t *labels,
                             const uint32_t *colours, int n_colours, double x, double y, double w, double h,
                             double radius, mm_error *err)
{
    cairo_t *cr = c->cr;
    plot_rgb(cr, PLOT_PANEL, 1);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
    const double rs = c->raster_scale, pad = 8;
    const int rw = (int)ceil(w * rs), rh = (int)ceil(h * rs);
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            const float v = xy[i * (size_t)dims + (size_t)a];
            if (isfinite(v)) {
                lo[a] = v < lo[a] ? v : lo[a];
                hi[a] = v > hi[a] ? v : hi[a];
            }
        }
    if (n && lo[0] <= hi[0]) {
        const double iw = w - 2 * pad, ih = h - 2 * pad;
        const double sx = hi[0] > lo[0] ? iw / (hi[0] - lo[0]) : INFINITY,
                     sy = hi[1] > lo[1] ? ih / (hi[1] - lo[1]) : INFINITY;
        double s = sx < sy ? sx : sy;
        if (!isfinite(s))
            s = 1;
        const double ox = pad + (iw - (hi[0] - lo[0]) * s) / 2, oy = pad + (ih - (hi[1] - lo[1]) * s) / 2;
        float *px = malloc(sizeof *px * n), *py = malloc(sizeof *py * n);
        if (!px || !py) {
            free(px);
            free(py);
            return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            px[i] = (float)((ox + (xy[i * (size_t)dims] - lo[0]) * s) * rs);
            /* y up, as in the page */
            py[i] = (float)((h - oy - (xy[i * (size_t)dims + 1] - lo[1]) * s) * rs);
        }
        /* dots of about 40 % of the spacing songs would have if spread evenly, 0.3 to 3 points */
        double r = radius > 0 ? radius : 0.42 * sqrt(iw * ih / (double)n);
        if (radius <= 0)
            r = r < 0.3 ? 0.3 : r > 3 ? 3 : r;
        cairo_surface_t *img = plot_density(px, py, n, labels, colours, n_colours, MM_PLOT_UNLABELLED, rw, rh, r * rs);
        free(px);
        free(py);
        if (!img)
            return mm_error_set(err, MM_ERR_NOMEM, "out of memory for a %d x %d image", rw, rh);
        cairo_save(cr);
        cairo_rectangle(cr, x, y, w, h);
        cairo_clip(cr);
        cairo_translate(cr, x, y);
        cairo_scale(cr, 1 / rs, 1 / rs);
        cairo_set_source_surface(cr, img, 0, 0);
        if (c->format == MM_PLOT_PNG)
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST); /* pixel for pixel */
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(img);
    }
    plot_rgb(cr, PLOT_FRAME, 1);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x + 0.5, y + 0.5, w - 1, h - 1);
    cairo_stroke(cr);
    return MM_OK;
}

double plot_draw_legend(plot_canvas *c, const plot_legend_entry *e, size_t n, size_t total, double x, double y,
                        double w, double max_h, int max)
{
    cairo_t *cr = c->cr;
    plot_rgb(cr, PLOT_TEXT, 1);
    plot_text(cr, x, y + 11, 11, 1, 0, "Legend");
    char buf[64];
    snprintf(buf, sizeof buf, "%zu songs", total);
    plot_rgb(cr, PLOT_MUTED, 1);
    plot_text(cr, x + w, y + 11, 10, 0, 1, buf);
    double yy = y + 11 + 8;
    size_t fit = (size_t)((max_h - 19) / LINE);
    if (fit > (size_t)max)
        fit = (size_t)max;
    size_t shown = n <= fit ? n : (fit ? fit - 1 : 0);
    for (size_t i = 0; i < shown; i++, yy += LINE) {
        plot_rgb(cr, e[i].colour, 1);
        cairo_arc(cr, x + 5, yy + LINE / 2, 4.5, 0, 2 * M_PI);
        cairo_fill(cr);
        snprintf(buf, sizeof buf, "%zu", e[i].count);
        plot_rgb(cr, PLOT_MUTED, 1);
        const double cw = plot_text(cr, x + w, yy + 11, 10, 0, 1, buf);
        char name[256];
        plot_text_fit(cr, 10, 0, w - 16 - cw - 6, e[i].name, name, sizeof name);
        plot_rgb(cr, PLOT_TEXT, 1);
        plot_text(cr, x + 16, yy + 11, 10, 0, 0, name);
    }
    if (shown < n) {
        size_t rest = 0;
        for (size_t i = shown; i < n; i++)
            rest += e[i].count;
        snprintf(buf, sizeof buf, "+ %zu more (%zu songs)", n - shown, rest);
        plot_rgb(cr, PLOT_MUTED, 1);
        plot_text(cr, x + 16, yy + 11, 10, 0, 0, buf);
        yy += LINE;
    }
    return yy - y;
}

static void background(plot_canvas *c)
{
    plot_rgb(c->cr, PLOT_BG, 1);
    cairo_paint(c->cr);
}

/* Title (bold) and up to two lines under it; returns the y below them. */
static double header(plot_canvas *c, double x, double y, double w, double size, const char *title, const char *l1,
                     const char *l2)
{
    char buf[512];
    plot_rgb(c->cr, PLOT_TEXT, 1);
    plot_text_fit(c->cr, size, 1, w, title, buf, sizeof buf);
    plot_text(c->cr, x, y + size, size, 1, 0, buf);
    y += size * 1.45;
    const double small = size > 13 ? 11 : 9;
    plot_rgb(c->cr, PLOT_MUTED, 1);
    for (int i = 0; i < 2; i++) {
        const char *l = i ? l2 : l1;
        if (!l || !*l)
            continue;
        plot_text_fit(c->cr, small, 0, w, l, buf, sizeof buf);
        plot_text(c->cr, x, y + small, small, 0, 0, buf);
        y += small * 1.4;
    }
    return y;
}

void plot_draw_panel(plot_canvas *c, const plot_map *m, const plot_colouring *col, double x, double y, double w,
                     double h, double radius)
{
    mm_error err;
    draw_points(c, m->xy, m->n, m->dims, m->labels, col->colours, col->n, x, y, w, h, radius, &err);
}

/* --- finding maps ------------------------------------------------------------------------------------- */

mm_status mm_plot_find_map(mm_catalog *cat, const char *name_or_id, int64_t *map_id, mm_error *err)
{
    mm_map_record *maps = NULL;
    size_t n = 0;
    mm_status st = mm_catalog_list_maps(cat, &maps, &n, err);
    if (st != MM_OK)
        return st;
    long found = -1;
    if (name_or_id && *name_or_id) {
        char *end;
        long long id = strtoll(name_or_id, &end, 10);
        for (size_t i = 0; i < n && found < 0; i++)
            if (strcmp(maps[i].name, name_or_id) == 0)
                found = (long)i;
        for (size_t i = 0; i < n && found < 0 && !*end; i++)
            if (maps[i].id == id)
                found = (long)i;
        if (found < 0)
            st = mm_error_set(err, MM_ERR_NOT_FOUND, "no map '%s' (`musicmap status` lists them)", name_or_id);
    } else {
        /* oldest first: the last of each kind is the newest */
        for (int pass = 0; pass < 3 && found < 0; pass++)
            for (size_t i = n; i-- > 0 && found < 0;)
                if ((pass == 2 || maps[i].dims == 2) && (pass >= 1 || strcmp(maps[i].method, "umap") == 0))
                    found = (long)i;
        if (found < 0)
            st = mm_error_set(err, MM_ERR_NOT_FOUND, "the catalog has no maps yet: run `musicmap map`");
    }
    if (found >= 0)
        *map_id = maps[found].id;
    mm_map_records_free(maps, n);
    return st;
}

/* --- one map, two maps -------------------------------------------------------------------------------- */

mm_status mm_plot_map(mm_catalog *cat, int64_t map_id, const mm_plot_options *options, const char *path,
                      mm_error *err)
{
    const mm_plot_options o = read_options(options);
    const double W = o.width > 0 ? o.width : 900, H = o.height > 0 ? o.height : 640;
    plot_map m;
    plot_colouring col;
    plot_legend_entry *legend = NULL;
    size_t n_legend = 0;
    memset(&col, 0, sizeof col);
    mm_status st = plot_map_load(cat, map_id, &m, err);
    if (st != MM_OK)
        return st;
    if ((st = plot_colouring_make(cat, &m, &o, &col, err)) != MM_OK ||
        (st = plot_map_label(&m, &col, err)) != MM_OK || (st = plot_legend_make(&m, &col, &legend, &n_legend, err)) != MM_OK)
        goto done;
    plot_canvas c;
    if ((st = plot_canvas_open(&c, path, W, H, o.scale, err)) != MM_OK)
        goto done;
    background(&c);
    char params[256], quality[256], l2[512];
    plot_map_describe(&m, params, sizeof params, quality, sizeof quality);
    snprintf(l2, sizeof l2, "%s \xc2\xb7 colours: %s", quality, col.note);
    const double top = header(&c, MARGIN, MARGIN, W - 2 * MARGIN, 16, o.title ? o.title : m.rec.name, params, l2) + 6;
    const double pw = W - 3 * MARGIN - LEGEND_W, ph = H - top - MARGIN;
    st = draw_points(&c, m.xy, m.n, m.dims, m.labels, col.colours, col.n, MARGIN, top, pw, ph, o.point_radius, err);
    plot_draw_legend(&c, legend, n_legend, m.n, W - MARGIN - LEGEND_W, top, LEGEND_W, ph, o.max_legend);
    if (st == MM_OK)
        st = plot_canvas_close(&c, err);
    else
        plot_canvas_discard(&c);
done:
    plot_legend_free(legend, n_legend);
    plot_colouring_free(&col);
    plot_map_free(&m);
    return st;
}

/* A panel's own title: the map's parameters and its quality, above the frame. */
static double panel_title(plot_canvas *c, const plot_map *m, double x, double y, double w, double size)
{
    char params[256], quality[256], title[300];
    plot_map_describe(m, params, sizeof params, quality, sizeof quality);
    /* "UMAP n_neighbors 15, min_dist 0.1 · descriptors · 300 songs": the method part is the title */
    char *dot = strstr(params, " \xc2\xb7 ");
    snprintf(title, sizeof title, "%.*s", dot ? (int)(dot - params) : (int)strlen(params), params);
    return header(c, x, y, w, size, title, quality, NULL);
}

mm_status mm_plot_compare(mm_catalog *cat, int64_t map_a, int64_t map_b, const mm_plot_options *options,
                          const char *path, mm_error *err)
{
    const mm_plot_options o = read_options(options);
    const double W = o.width > 0 ? o.width : 1240, H = o.height > 0 ? o.height : 640;
    plot_map m[2];
    plot_colouring col;
    plot_legend_entry *legend = NULL;
    size_t n_legend = 0;
    memset(m, 0, sizeof m);
    memset(&col, 0, sizeof col);
    mm_status st = plot_map_load(cat, map_a, &m[0], err);
    if (st == MM_OK)
        st = plot_map_load(cat, map_b, &m[1], err);
    if (st == MM_OK)
        st = plot_colouring_make(cat, &m[0], &o, &col, err);
    for (int i = 0; st == MM_OK && i < 2; i++)
        st = plot_map_label(&m[i], &col, err);
    if (st == MM_OK)
        st = plot_legend_make(&m[0], &col, &legend, &n_legend, err);
    plot_canvas c;
    if (st == MM_OK && (st = plot_canvas_open(&c, path, W, H, o.scale, err)) == MM_OK) {
        background(&c);
        char title[600], l1[256];
        snprintf(title, sizeof title, "%s  vs  %s", m[0].rec.name, m[1].rec.name);
        snprintf(l1, sizeof l1, "colours: %s", col.note);
        const double top = header(&c, MARGIN, MARGIN, W - 2 * MARGIN, 16, o.title ? o.title : title, l1, NULL) + 4;
        const double pw = (W - 4 * MARGIN - LEGEND_W) / 2;
        double ph = 0;
        for (int i = 0; st == MM_OK && i < 2; i++) {
            const double x = MARGIN + i * (pw + MARGIN);
            const double y = panel_title(&c, &m[i], x, top, pw, 12) + 4;
            ph = H - y - MARGIN;
            st = draw_points(&c, m[i].xy, m[i].n, m[i].dims, m[i].labels, col.colours, col.n, x, y, pw, ph,
                             o.point_radius, err);
        }
        plot_draw_legend(&c, legend, n_legend, m[0].n, W - MARGIN - LEGEND_W, H - MARGIN - ph, LEGEND_W, ph,
                         o.max_legend);
        if (st == MM_OK)
            st = plot_canvas_close(&c, err);
        else
            plot_canvas_discard(&c);
    }
    plot_legend_free(legend, n_legend);
    plot_colouring_free(&col);
    plot_map_free(&m[0]);
    plot_map_free(&m[1]);
    return st;
}

/* --- the grid ------------------------------------------------------------------------------------------- */

#define GRID_MAPS 13

static int same(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
}

/* The stored 2-D map of each grid spec (0: none), of the requested features or the newest grid map's. */
static mm_status grid_maps(mm_catalog *cat, const char *features, int64_t ids[GRID_MAPS], mm_error *err)
{
    mm_layout_spec base, specs[GRID_MAPS];
    mm_layout_spec_init(&base);
    mm_layout_grid(&base, specs, GRID_MAPS);
    mm_vector_kind want = MM_VECTORS_DESCRIPTORS;
    int want_given = 0;
    if (features) {
        if (mm_vector_kind_parse(features, &want) != 0)
            return mm_error_set(err, MM_ERR_ARG, "features are descriptors, mel, softmax or hidden, not '%s'", features);
        want_given = 1;
    }
    mm_map_record *maps = NULL;
    size_t n = 0;
    mm_status st = mm_catalog_list_maps(cat, &maps, &n, err);
    if (st != MM_OK)
        return st;
    memset(ids, 0, sizeof(int64_t) * GRID_MAPS);
    /* newest first: the first match of each spec wins */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = n; i-- > 0;) {
            mm_map_params p;
            if (maps[i].dims != 2 || mm_map_params_parse(maps[i].params, maps[i].source, &p) != 0 || !maps[i].params)
                continue;
            int s = -1;
            for (int k = 0; k < GRID_MAPS && s < 0; k++)
                if (p.method == specs[k].method &&
                    (p.method == MM_LAYOUT_TSNE ? same(p.perplexity, specs[k].perplexity)
                                                : p.n_neighbors == specs[k].n_neighbors && same(p.min_dist, specs[k].min_dist)))
                    s = k;
            if (s < 0)
                continue;
            if (pass == 0) {
                /* the first pass only picks the features: the newest grid map's, unless given */
                if (!want_given) {
                    want = p.features;
                    want_given = 1;
                }
                break;
            }
            if (p.features == want && !ids[s])
                ids[s] = maps[i].id;
        }
    }
    mm_map_records_free(maps, n);
    for (int k = 0; k < GRID_MAPS; k++)
        if (ids[k])
            return MM_OK;
    return mm_error_set(err, MM_ERR_NOT_FOUND, "no maps of the parameter grid%s%s: run `musicmap map --grid`",
                        features ? " of " : "", features ? features : "");
}

mm_status mm_plot_grid(mm_catalog *cat, const mm_plot_options *options, const char *path, mm_error *err)
{
    const mm_plot_options o = read_options(options);
    const double W = o.width > 0 ? o.width : 1100, H = o.height > 0 ? o.height : 1240;
    int64_t ids[GRID_MAPS];
    mm_status st = grid_maps(cat, o.features, ids, err);
    if (st != MM_OK)
        return st;
    plot_map first;
    memset(&first, 0, sizeof first);
    plot_colouring col;
    memset(&col, 0, sizeof col);
    plot_legend_entry *legend = NULL;
    size_t n_legend = 0;
    for (int k = 0; k < GRID_MAPS && !first.rec.name && st == MM_OK; k++)
        if (ids[k])
            st = plot_map_load(cat, ids[k], &first, err);
    if (st == MM_OK)
        st = plot_colouring_make(cat, &first, &o, &col, err);
    if (st == MM_OK)
        st = plot_map_label(&first, &col, err);
    if (st == MM_OK)
        st = plot_legend_make(&first, &col, &legend, &n_legend, err);
    plot_canvas c;
    if (st == MM_OK && (st = plot_canvas_open(&c, path, W, H, o.scale, err)) == MM_OK) {
        background(&c);
        char l1[300];
        snprintf(l1, sizeof l1, "t-SNE perplexity 5, 30, 50, 100; UMAP n_neighbors 5, 30, 50 x min_dist 0.01, 0.1, 0.5 "
                                "\xc2\xb7 %s \xc2\xb7 colours: %s",
                 first.have_params ? mm_vector_kind_name(first.params.features) : first.rec.source, col.note);
        const double top = header(&c, MARGIN, MARGIN, W - 2 * MARGIN, 16, o.title ? o.title : "The parameter grid",
                                  l1, NULL) + 4;
        const double gap = 10, cw = (W - 2 * MARGIN - 3 * gap) / 4, ch = (H - top - MARGIN - 3 * gap) / 4;
        for (int k = 0; k < GRID_MAPS && st == MM_OK; k++) {
            /* row 0: t-SNE by perplexity; rows 1-3: UMAP by n_neighbors, columns by min_dist */
            const int row = k < 4 ? 0 : 1 + (k - 4) / 3, colm = k < 4 ? k : (k - 4) % 3;
            const double x = MARGIN + colm * (cw + gap), y = top + row * (ch + gap);
            if (!ids[k]) {
                mm_layout_spec base, specs[GRID_MAPS];
                mm_layout_spec_init(&base);
                mm_layout_grid(&base, specs, GRID_MAPS);
                char name[64], l[96];
                mm_layout_spec_name(&specs[k], name, sizeof name);
                snprintf(l, sizeof l, "not made yet: musicmap map --grid");
                const double yy = header(&c, x, y, cw, 11, name, l, NULL) + 2;
                plot_rgb(c.cr, PLOT_FRAME, 1);
                cairo_set_line_width(c.cr, 1);
                cairo_rectangle(c.cr, x + 0.5, yy + 0.5, cw - 1, y + ch - yy - 1);
                cairo_stroke(c.cr);
                continue;
            }
            plot_map m;
            if ((st = plot_map_load(cat, ids[k], &m, err)) != MM_OK)
                break;
            plot_map_label(&m, &col, err);
            const double yy = panel_title(&c, &m, x, y, cw, 11) + 2;
            st = draw_points(&c, m.xy, m.n, m.dims, m.labels, col.colours, col.n, x, yy, cw, y + ch - yy,
                             o.point_radius, err);
            plot_map_free(&m);
        }
        plot_draw_legend(&c, legend, n_legend, first.n, MARGIN + 3 * (cw + gap), top + ch + gap, cw,
                         3 * ch + 2 * gap, o.max_legend);
        if (st == MM_OK)
            st = plot_canvas_close(&c, err);
        else
            plot_canvas_discard(&c);
    }
    plot_legend_free(legend, n_legend);
    plot_colouring_free(&col);
    plot_map_free(&first);
    return st;
}

/* --- the caller's points ---------------------------------------------------------------------------------- */

mm_status mm_plot_scatter(const float *xy, size_t n, int dims, const int32_t *labels, const char *const *names,
                          int n_names, const char *title, const mm_plot_options *options, const char *path,
                          mm_error *err)
{
    const mm_plot_options o = read_options(options);
    if (dims < 2 || (n && !xy) || n_names < 0 || (n_names && !names))
        return mm_error_set(err, MM_ERR_ARG, "plot: %s", dims < 2 ? "points need 2 or more dimensions" : "no data");
    const double W = o.width > 0 ? o.width : 900, H = o.height > 0 ? o.height : 640;
    uint32_t *colours = malloc(sizeof *colours * (size_t)(n_names ? n_names : 1));
    size_t *count = calloc((size_t)n_names + 1, sizeof *count);
    plot_legend_entry *e = calloc((size_t)n_names + 1, sizeof *e);
    if (!colours || !count || !e) {
        free(colours);
        free(count);
        free(e);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n_names; i++)
        colours[i] = mm_plot_palette(i);
    for (size_t i = 0; i < n; i++) {
        const int32_t l = labels ? labels[i] : -1;
        count[l >= 0 && l < n_names ? l : n_names]++;
    }
    size_t k = 0;
    for (int l = 0; l <= n_names; l++)
        if (count[l])
            e[k++] = (plot_legend_entry){(char *)(l < n_names ? names[l] : "(no label)"),
                                         l < n_names ? colours[l] : MM_PLOT_UNLABELLED, count[l], l < n_names ? l : -1};
    plot_canvas c;
    mm_status st = plot_canvas_open(&c, path, W, H, o.scale, err);
    if (st == MM_OK) {
        background(&c);
        char l1[64];
        snprintf(l1, sizeof l1, "%zu points", n);
        const double top = header(&c, MARGIN, MARGIN, W - 2 * MARGIN, 16, o.title ? o.title : title ? title : "Map", l1,
                                  NULL) + 6;
        const double pw = W - 3 * MARGIN - LEGEND_W, ph = H - top - MARGIN;
        st = draw_points(&c, xy, n, dims, labels, colours, n_names, MARGIN, top, pw, ph, o.point_radius, err);
        if (n_names || !labels)
            plot_draw_legend(&c, e, k, n, W - MARGIN - LEGEND_W, top, LEGEND_W, ph, o.max_legend);
        if (st == MM_OK)
            st = plot_canvas_close(&c, err);
        else
            plot_canvas_discard(&c);
    }
    free(colours);
    free(count);
    free(e); /* the names are the caller's */
    return st;
}

/* --- all of them ------------------------------------------------------------------------------------------ */

static mm_status make_dir(const char *path, mm_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    return MM_OK;
}

mm_status mm_plot_all(mm_catalog *cat, const char *dir, const mm_plot_options *options, size_t *written,
                      mm_error *err)
{
    mm_plot_options o = read_options(options);
    size_t count = 0;
    char path[4096];
    mm_status st = make_dir(dir, err);
    int64_t id;
    mm_error quiet;
    if (st == MM_OK && mm_plot_find_map(cat, NULL, &id, &quiet) == MM_OK) {
        snprintf(path, sizeof path, "%s/map.png", dir);
        if ((st = mm_plot_map(cat, id, &o, path, err)) == MM_OK)
            count++;
    }
    mm_map_record *maps = NULL;
    size_t n = 0;
    if (st == MM_OK)
        st = mm_catalog_list_maps(cat, &maps, &n, err);
    if (st == MM_OK && n) {
        snprintf(path, sizeof path, "%s/maps", dir);
        st = make_dir(path, err);
    }
    for (size_t i = 0; st == MM_OK && i < n; i++) {
        if (maps[i].dims != 2)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", maps[i].name);
        for (char *p = name; *p; p++)
            if (*p == '/' || *p == '\\' || (unsigned char)*p < 32)
                *p = '_';
        if (snprintf(path, sizeof path, "%s/maps/%s.png", dir, name) >= (int)sizeof path)
            continue;
        if ((st = mm_plot_map(cat, maps[i].id, &o, path, err)) == MM_OK)
            count++;
    }
    mm_map_records_free(maps, n);
    /* the figures that may not apply (no grid maps, no model, no history) are left out, not errors */
    struct {
        const char *file;
        mm_status (*fn)(mm_catalog *, const mm_plot_options *, const char *, mm_error *);
    } const optional[] = {{"grid.pdf", mm_plot_grid}, {"training.svg", mm_plot_training}, {"confusion.png", mm_plot_confusion}};
    for (size_t k = 0; st == MM_OK && k < sizeof optional / sizeof optional[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, optional[k].file);
        mm_status s = optional[k].fn(cat, &o, path, err);
        if (s == MM_OK)
            count++;
        else if (s != MM_ERR_NOT_FOUND)
            st = s;
    }
    if (written)
        *written = count;
    return st;
}
