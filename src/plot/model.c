/* A model's figures: the training curves (loss and accuracy per epoch, training and validation, the
 * learning rate's changes and the best epoch) and the test confusion matrix, from what training stored
 * in the model's metrics (src/pipeline/train.c). Light, like a paper's figures: these are read, not
 * explored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

#define INK 0x23272fu
#define GRIDLINE 0xe3e6eau
#define TRAIN_COLOUR 0x2f7fe0u /* the page's blue, darkened to read on white */
#define VAL_COLOUR 0xe0484bu
#define BEST_COLOUR 0x139a74u
#define LR_COLOUR 0x8a8f99u

static void history_clear(mm_model_history *h)
{
    memset(h, 0, sizeof *h);
    h->test_accuracy = NAN;
}

mm_status mm_model_history_load(mm_catalog *cat, const char *model, mm_model_history *out, mm_error *err)
{
    history_clear(out);
    mm_model_record m;
    mm_status st = mm_catalog_get_model(cat, model, &m, err);
    if (st != MM_OK)
        return st;
    out->model = strdup(m.name ? m.name : "");
    out->n_classes = m.n_classes > 0 ? m.n_classes : 0;
    out->classes = calloc((size_t)(out->n_classes ? out->n_classes : 1), sizeof *out->classes);
    if (!out->model || !out->classes)
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (int i = 0; st == MM_OK && i < out->n_classes; i++)
        if (!(out->classes[i] = strdup(m.classes[i] ? m.classes[i] : "")))
            st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    const char *metrics = m.metrics;
    const char *v;
    double d;
    if (st == MM_OK && metrics) {
        out->self_supervised = (v = plot_json_get(metrics, "self_supervised")) && strncmp(v, "true", 4) == 0;
        if ((v = plot_json_get(metrics, "best_epoch")) && plot_json_number(v, &d) == 0 && d >= 1 && d < 1e6)
            out->best_epoch = (int)d;
        if ((v = plot_json_get(metrics, "test_accuracy")) && plot_json_number(v, &d) == 0)
            out->test_accuracy = d;
        const char *h = plot_json_get(metrics, "history");
        double **cols[5] = {&out->train_loss, &out->train_acc, &out->val_loss, &out->val_acc, &out->learning_rate};
        static const char *const names[5] = {"train_loss", "train_acc", "val_loss", "val_acc", "learning_rate"};
        long n = -1;
        for (int k = 0; h && k < 5; k++) {
            long len = (v = plot_json_get(h, names[k])) ? plot_json_numbers(v, cols[k]) : -1;
            n = len < 0 ? -1 : (k == 0 || len < n ? len : n);
            if (n < 0)
                break;
        }
        if (n > 0) {
            out->n_epochs = (int)n;
        } else {
            for (int k = 0; k < 5; k++) {
                free(*cols[k]);
                *cols[k] = NULL;
            }
        }
        double *cm = NULL;
        long cols_n = 0, rows = (v = plot_json_get(metrics, "test_confusion")) ? plot_json_matrix(v, &cm, &cols_n) : -1;
        if (rows == out->n_classes && cols_n == out->n_classes && rows > 0) {
            out->confusion = malloc(sizeof *out->confusion * (size_t)(rows * rows));
            for (long i = 0; out->confusion && i < rows * rows; i++)
                out->confusion[i] = isfinite(cm[i]) && cm[i] >= 0 ? (int64_t)cm[i] : 0;
        }
        free(cm);
    }
    mm_model_record_free(&m);
    if (st != MM_OK)
        mm_model_history_free(out);
    return st;
}

void mm_model_history_free(mm_model_history *h)
{
    free(h->model);
    free(h->train_loss);
    free(h->train_acc);
    free(h->val_loss);
    free(h->val_acc);
    free(h->learning_rate);
    for (int i = 0; h->classes && i < h->n_classes; i++)
        free(h->classes[i]);
    free(h->classes);
    free(h->confusion);
    history_clear(h);
}

static mm_plot_options read_options(const mm_plot_options *given)
{
    mm_plot_options o;
    mm_plot_options_init(&o);
    util_options_copy(&o, sizeof o, given, UTIL_OPTIONS_END(mm_plot_options, max_legend));
    return o;
}

/* --- training curves ------------------------------------------------------------------------------------- */

typedef struct axes {
    double x, y, w, h;       /* the plotting area, points */
    double x0, x1, y0, y1;   /* data range */
} axes;

static double ax_x(const axes *a, double v) { return a->x + (v - a->x0) / (a->x1 - a->x0) * a->w; }
static double ax_y(const axes *a, double v) { return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h; }

static void draw_axes(cairo_t *cr, const axes *a, const char *title, const char *ylabel)
{
    double ticks[32];
    char buf[32];
    cairo_set_line_width(cr, 0.8);
    int n = plot_ticks(a->y0, a->y1, 6, ticks, 32);
    for (int i = 0; i < n; i++) {
        const double y = ax_y(a, ticks[i]);
        plot_rgb(cr, GRIDLINE, 1);
        cairo_move_to(cr, a->x, y);
        cairo_line_to(cr, a->x + a->w, y);
        cairo_stroke(cr);
        plot_format_tick(ticks[i], n > 1 ? ticks[1] - ticks[0] : 1, buf, sizeof buf);
        plot_rgb(cr, INK, 1);
        plot_text(cr, a->x - 5, y + 3.5, 9, 0, 1, buf);
    }
    n = plot_ticks(a->x0, a->x1, 8, ticks, 32);
    const double step = n > 1 ? ticks[1] - ticks[0] : 1;
    for (int i = 0; i < n; i++) {
        if (step < 1 && fabs(ticks[i] - round(ticks[i])) > 1e-9)
            continue; /* epochs are whole */
        const double x = ax_x(a, ticks[i]);
        plot_rgb(cr, INK, 1);
        cairo_move_to(cr, x, a->y + a->h);
        cairo_line_to(cr, x, a->y + a->h + 4);
        cairo_stroke(cr);
        plot_format_tick(ticks[i], step < 1 ? 1 : step, buf, sizeof buf);
        plot_text(cr, x, a->y + a->h + 14, 9, 0, 0.5, buf);
    }
    plot_rgb(cr, INK, 1);
    cairo_rectangle(cr, a->x, a->y, a->w, a->h);
    cairo_stroke(cr);
    plot_text(cr, a->x, a->y - 8, 12, 1, 0, title);
    plot_text(cr, a->x + a->w / 2, a->y + a->h + 28, 10, 0, 0.5, "epoch");
    cairo_save(cr);
    cairo_translate(cr, a->x - 38, a->y + a->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    plot_text(cr, 0, 0, 10, 0, 0.5, ylabel);
    cairo_restore(cr);
}

static void draw_curve(cairo_t *cr, const axes *a, const double *v, int n, uint32_t colour, int dashed)
{
    plot_rgb(cr, colour, 1);
    cairo_set_line_width(cr, 1.8);
    const double dash[] = {5, 3};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    int open = 0;
    for (int e = 0; e < n; e++) {
        if (!isfinite(v[e])) {
            open = 0;
            continue;
        }
        if (open)
            cairo_line_to(cr, ax_x(a, e + 1), ax_y(a, v[e]));
        else
            cairo_move_to(cr, ax_x(a, e + 1), ax_y(a, v[e]));
        open = 1;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    for (int e = 0; e < n && n <= 60; e++) {
        if (!isfinite(v[e]))
            continue;
        cairo_arc(cr, ax_x(a, e + 1), ax_y(a, v[e]), 2.2, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

static void range(const double *a, const double *b, int n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            const double v = k ? b[i] : a[i];
            if (isfinite(v)) {
                *lo = v < *lo ? v : *lo;
                *hi = v > *hi ? v : *hi;
            }
        }
    if (!(*lo <= *hi))
        *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-9)
        *lo -= 0.5, *hi += 0.5;
    const double pad = (*hi - *lo) * 0.06;
    *lo -= pad;
    *hi += pad;
}

/* The epochs where the learning rate changed, and the best epoch, as vertical lines. */
static void draw_marks(cairo_t *cr, const axes *a, const mm_model_history *h, int labels)
{
    char buf[64];
    const double dash[] = {2, 2};
    cairo_set_line_width(cr, 1);
    for (int e = 1; e < h->n_epochs; e++) {
        const double prev = h->learning_rate[e - 1], cur = h->learning_rate[e];
        if (!isfinite(prev) || !isfinite(cur) || fabs(cur - prev) <= 1e-12 * fabs(prev))
            continue;
        /* the rate changed between epochs e and e + 1 */
        const double x = ax_x(a, e + 0.5);
        plot_rgb(cr, LR_COLOUR, 1);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, x, a->y);
        cairo_line_to(cr, x, a->y + a->h);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        if (labels) {
            snprintf(buf, sizeof buf, "lr %.2g", cur);
            cairo_save(cr);
            cairo_translate(cr, x + 3, a->y + 4);
            cairo_rotate(cr, M_PI / 2);
            plot_text(cr, 0, 0, 8, 0, 0, buf);
            cairo_restore(cr);
        }
    }
    if (h->best_epoch >= 1 && h->best_epoch <= h->n_epochs) {
        const double x = ax_x(a, h->best_epoch);
        plot_rgb(cr, BEST_COLOUR, 1);
        cairo_set_line_width(cr, 1.4);
        cairo_move_to(cr, x, a->y);
        cairo_line_to(cr, x, a->y + a->h);
        cairo_stroke(cr);
        if (labels) {
            snprintf(buf, sizeof buf, "best: epoch %d", h->best_epoch);
            const double tw = plot_text_width(cr, 9, 1, buf);
            const int right = x + 4 + tw > a->x + a->w;
            plot_text(cr, right ? x - 4 : x + 4, a->y + a->h - 6, 9, 1, right ? 1 : 0, buf);
        }
    }
}

static void key(cairo_t *cr, double x, double y, uint32_t colour, int dashed, const char *text)
{
    const double dash[] = {5, 3};
    plot_rgb(cr, colour, 1);
    cairo_set_line_width(cr, 1.8);
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(cr, x, y - 3.5);
    cairo_line_to(cr, x + 22, y - 3.5);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    plot_rgb(cr, INK, 1);
    plot_text(cr, x + 27, y, 10, 0, 0, text);
}

/* The named model's history, or the newest trained model's, saying what to run when there is none. */
static mm_status load_history(mm_catalog *cat, const mm_plot_options *o, mm_model_history *h, mm_error *err)
{
    mm_status st = mm_model_history_load(cat, o->model, h, err);
    if (st == MM_ERR_NOT_FOUND && !o->model)
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no trained model in the catalog: run `musicmap train`");
    return st;
}

mm_status mm_plot_training(mm_catalog *cat, const mm_plot_options *options, const char *path, mm_error *err)
{
    const mm_plot_options o = read_options(options);
    mm_model_history h;
    mm_status st = load_history(cat, &o, &h, err);
    if (st != MM_OK)
        return st;
    if (!h.n_epochs) {
        st = mm_error_set(err, MM_ERR_NOT_FOUND,
                          "model '%s' has no training history stored (trained by an older musicmap, or imported): "
                          "train it again to plot its curves",
                          h.model);
        mm_model_history_free(&h);
        return st;
    }
    const double W = o.width > 0 ? o.width : 900, H = o.height > 0 ? o.height : 420;
    plot_canvas c;
    if ((st = plot_canvas_open(&c, path, W, H, o.scale, err)) != MM_OK) {
        mm_model_history_free(&h);
        return st;
    }
    cairo_t *cr = c.cr;
    plot_rgb(cr, 0xffffff, 1);
    cairo_paint(cr);
    char title[300], sub[300];
    snprintf(title, sizeof title, "%s", o.title ? o.title : "");
    if (!o.title)
        snprintf(title, sizeof title, "Training: %s", h.model);
    int changes = 0;
    for (int e = 1; e < h.n_epochs; e++)
        changes += isfinite(h.learning_rate[e]) && fabs(h.learning_rate[e] - h.learning_rate[e - 1]) >
                                                       1e-12 * fabs(h.learning_rate[e - 1]);
    char acc[64] = "";
    if (isfinite(h.test_accuracy))
        snprintf(acc, sizeof acc, " \xc2\xb7 test accuracy %.3f", h.test_accuracy);
    snprintf(sub, sizeof sub, "%d epochs \xc2\xb7 best epoch %d (its weights are kept)%s \xc2\xb7 learning rate %.2g, %d change%s",
             h.n_epochs, h.best_epoch, acc, h.learning_rate[0], changes, changes == 1 ? "" : "s");
    plot_rgb(cr, INK, 1);
    plot_text(cr, 16, 30, 16, 1, 0, title);
    plot_rgb(cr, 0x5b616e, 1);
    plot_text(cr, 16, 48, 10, 0, 0, sub);
    const double left = 60, gap = 70, top = 86, bottom = 48;
    const double pw = (W - left - gap - 20) / 2, ph = H - top - bottom;
    axes a[2];
    for (int k = 0; k < 2; k++) {
        a[k] = (axes){left + k * (pw + gap), top, pw, ph, 1, h.n_epochs > 1 ? h.n_epochs : 2, 0, 1};
        if (k == 0)
            range(h.train_loss, h.val_loss, h.n_epochs, &a[k].y0, &a[k].y1);
        else
            range(h.train_acc, h.val_acc, h.n_epochs, &a[k].y0, &a[k].y1);
        draw_axes(cr, &a[k], k ? (h.self_supervised ? "Pair accuracy" : "Accuracy") : "Loss", k ? "accuracy" : "loss");
        draw_marks(cr, &a[k], &h, k == 0);
        draw_curve(cr, &a[k], k ? h.train_acc : h.train_loss, h.n_epochs, TRAIN_COLOUR, 0);
        draw_curve(cr, &a[k], k ? h.val_acc : h.val_loss, h.n_epochs, VAL_COLOUR, 1);
    }
    /* the key, above the accuracy panel's right end */
    key(cr, W - 20 - 200, 72, TRAIN_COLOUR, 0, "training");
    key(cr, W - 20 - 100, 72, VAL_COLOUR, 1, "validation");
    mm_model_history_free(&h);
    return plot_canvas_close(&c, err);
}

/* --- the confusion matrix ------------------------------------------------------------------------------------- */

/* White to the page's blue, darkened, by the share v in [0, 1]. */
static uint32_t heat(double v)
{
    const double r0 = 255, g0 = 255, b0 = 255, r1 = 0x1d, g1 = 0x4f, b1 = 0x9e;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint32_t)lround(r0 + (r1 - r0) * v) << 16 | (uint32_t)lround(g0 + (g1 - g0) * v) << 8 |
           (uint32_t)lround(b0 + (b1 - b0) * v);
}

mm_status mm_plot_confusion(mm_catalog *cat, const mm_plot_options *options, const char *path, mm_error *err)
{
    const mm_plot_options o = read_options(options);
    mm_model_history h;
    mm_status st = load_history(cat, &o, &h, err);
    if (st != MM_OK)
        return st;
    if (!h.confusion) {
        st = mm_error_set(err, MM_ERR_NOT_FOUND, "model '%s' has no test confusion matrix stored (%s)", h.model,
                          h.self_supervised ? "it is self-supervised: no genres"
                                            : "trained by an older musicmap, or imported: train it again");
        mm_model_history_free(&h);
        return st;
    }
    const int n = h.n_classes;
    const double cell = n <= 8 ? 52 : n >= 20 ? 24 : 420.0 / n;
    /* text widths need a context: measured on a scratch image */
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t *m = cairo_create(scratch);
    double label_w = 40;
    for (int i = 0; i < n; i++) {
        const double w = plot_text_width(m, 10, 0, h.classes[i]);
        label_w = w > label_w ? w : label_w;
    }
    cairo_destroy(m);
    cairo_surface_destroy(scratch);
    if (label_w > 160)
        label_w = 160;
    const double x0 = 16 + 18 + label_w + 8, y0 = 70 + label_w * 0.72 + 14;
    const double natural_w = x0 + n * cell + 70 + 16, natural_h = y0 + n * cell + 40;
    double W = natural_w < 420 ? 420 : natural_w, H = natural_h;
    double zoom = 1;
    if (o.width > 0 || o.height > 0) {
        const double zw = o.width > 0 ? o.width / W : INFINITY, zh = o.height > 0 ? o.height / H : INFINITY;
        zoom = zw < zh ? zw : zh;
        W = o.width > 0 ? o.width : W * zoom;
        H = o.height > 0 ? o.height : H * zoom;
    }
    plot_canvas c;
    if ((st = plot_canvas_open(&c, path, W, H, o.scale, err)) != MM_OK) {
        mm_model_history_free(&h);
        return st;
    }
    cairo_t *cr = c.cr;
    plot_rgb(cr, 0xffffff, 1);
    cairo_paint(cr);
    cairo_scale(cr, zoom, zoom);
    int64_t total = 0, right = 0;
    for (int r = 0; r < n; r++)
        for (int k = 0; k < n; k++) {
            total += h.confusion[r * n + k];
            right += r == k ? h.confusion[r * n + k] : 0;
        }
    char title[300], sub[300], buf[64];
    if (o.title)
        snprintf(title, sizeof title, "%s", o.title);
    else
        snprintf(title, sizeof title, "Confusion matrix: %s", h.model);
    snprintf(sub, sizeof sub, "%lld test songs \xc2\xb7 accuracy %.3f \xc2\xb7 rows: true genre, columns: predicted",
             (long long)total, total ? (double)right / (double)total : 0.0);
    plot_rgb(cr, INK, 1);
    plot_text(cr, 16, 30, 16, 1, 0, title);
    plot_rgb(cr, 0x5b616e, 1);
    plot_text(cr, 16, 48, 10, 0, 0, sub);
    const double fs = cell * 0.3 < 12 ? cell * 0.3 : 12;
    for (int r = 0; r < n; r++) {
        int64_t row = 0;
        for (int k = 0; k < n; k++)
            row += h.confusion[r * n + k];
        for (int k = 0; k < n; k++) {
            const int64_t v = h.confusion[r * n + k];
            const double share = row ? (double)v / (double)row : 0;
            plot_rgb(cr, heat(share), 1);
            cairo_rectangle(cr, x0 + k * cell, y0 + r * cell, cell, cell);
            cairo_fill(cr);
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            plot_rgb(cr, share > 0.5 ? 0xffffff : v ? INK : 0xb0b5bd, 1);
            plot_text(cr, x0 + (k + 0.5) * cell, y0 + (r + 0.5) * cell + fs * 0.36, fs, r == k, 0.5, buf);
        }
        /* recall: the share of the genre's test songs recognised */
        if (row)
            snprintf(buf, sizeof buf, "%.2f", (double)h.confusion[r * n + r] / (double)row);
        else
            snprintf(buf, sizeof buf, "\xe2\x80\x93");
        plot_rgb(cr, INK, 1);
        plot_text(cr, x0 + n * cell + 12, y0 + (r + 0.5) * cell + 3.5, 10, 0, 0, buf);
        char name[256];
        plot_text_fit(cr, 10, 0, label_w, h.classes[r], name, sizeof name);
        plot_text(cr, x0 - 6, y0 + (r + 0.5) * cell + 3.5, 10, 0, 1, name);
        /* column names, slanted */
        cairo_save(cr);
        cairo_translate(cr, x0 + (r + 0.5) * cell, y0 - 6);
        cairo_rotate(cr, -M_PI / 4);
        plot_text(cr, 0, 0, 10, 0, 0, name);
        cairo_restore(cr);
    }
    plot_rgb(cr, INK, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_rectangle(cr, x0, y0, n * cell, n * cell);
    cairo_stroke(cr);
    plot_text(cr, x0 + n * cell + 12, y0 - 6, 10, 1, 0, "recall");
    plot_text(cr, x0 + n * cell / 2, y0 + n * cell + 22, 10, 1, 0.5, "predicted");
    cairo_save(cr);
    cairo_translate(cr, 16 + 10, y0 + n * cell / 2);
    cairo_rotate(cr, -M_PI / 2);
    plot_text(cr, 0, 0, 10, 1, 0.5, "true genre");
    cairo_restore(cr);
    mm_model_history_free(&h);
    return plot_canvas_close(&c, err);
}
