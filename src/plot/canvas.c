/* The canvas: a Cairo surface of the format the output's extension names, written to a temporary file
 * renamed into place (so a failed figure never leaves half a file where a good one was), and the text
 * and axis helpers every figure uses. */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

/* The page's palette, in its order (web/src/main.js, PALETTE): a figure and the page colour a genre alike. */
static const uint32_t PALETTE[MM_PLOT_PALETTE_SIZE] = {
    0x4e9cff, 0xff6b6b, 0xffd166, 0x06d6a0, 0xc77dff, 0xff9f43, 0x48dbfb, 0xf368e0, 0xa3e048, 0xff4d94,
    0x1dd1a1, 0xfeca57, 0x8395fa, 0xe17055, 0x00cec9, 0xfd79a8, 0xbadc58, 0xe056fd, 0x7ed6df, 0xf0932b};

uint32_t mm_plot_palette(int index)
{
    int i = index % MM_PLOT_PALETTE_SIZE;
    return PALETTE[i < 0 ? i + MM_PLOT_PALETTE_SIZE : i];
}

int mm_plot_format_of(const char *path, mm_plot_format *out)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return -1;
    static const char *const ext[] = {".png", ".svg", ".pdf"};
    for (int i = 0; i < 3; i++)
        if (strcasecmp(dot, ext[i]) == 0) {
            *out = (mm_plot_format)i;
            return 0;
        }
    return -1;
}

static const char *const COLOR_NAMES[] = {"auto", "tag", "predicted", "folder"};

const char *mm_plot_color_name(mm_plot_color color)
{
    return (unsigned)color < 4 ? COLOR_NAMES[color] : "?";
}

int mm_plot_color_parse(const char *name, mm_plot_color *out)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, COLOR_NAMES[i]) == 0) {
            *out = (mm_plot_color)i;
            return 0;
        }
    /* the page calls them "tagged"; accept its word too */
    if (name && strcmp(name, "tagged") == 0) {
        *out = MM_PLOT_COLOR_TAG;
        return 0;
    }
    return -1;
}

void mm_plot_options_init(mm_plot_options *options)
{
    *options = (mm_plot_options){.size = sizeof *options, .scale = 2};
}

mm_status plot_canvas_open(plot_canvas *c, const char *path, double width, double height, double scale,
                           mm_error *err)
{
    memset(c, 0, sizeof *c);
    if (!path || !*path)
        return mm_error_set(err, MM_ERR_ARG, "no output file given");
    if (mm_plot_format_of(path, &c->format) != 0)
        return mm_error_set(err, MM_ERR_ARG, "%s: the figure's format comes from the extension: .png, .svg or .pdf",
                            path);
    if (snprintf(c->path, sizeof c->path, "%s", path) >= (int)sizeof c->path)
        return mm_error_set(err, MM_ERR_ARG, "%s: path too long", path);
    snprintf(c->tmp, sizeof c->tmp, "%s.tmp", path);
    if (!(scale > 0 && scale <= 16))
        scale = 2;
    c->width = width;
    c->height = height;
    c->scale = c->format == MM_PLOT_PNG ? scale : 1;
    /* a vector file embeds the density images at 300 dpi: sharp in print, a few MB at most */
    c->raster_scale = c->format == MM_PLOT_PNG ? scale : 300.0 / 72.0;
    switch (c->format) {
    case MM_PLOT_PNG:
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)ceil(width * c->scale),
                                                (int)ceil(height * c->scale));
        break;
    case MM_PLOT_SVG: c->surface = cairo_svg_surface_create(c->tmp, width, height); break;
    case MM_PLOT_PDF: c->surface = cairo_pdf_surface_create(c->tmp, width, height); break;
    }
    if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
        mm_status st = mm_error_set(err, MM_ERR_IO, "%s: %s", c->format == MM_PLOT_PNG ? path : c->tmp,
                                    cairo_status_to_string(cairo_surface_status(c->surface)));
        cairo_surface_destroy(c->surface);
        if (c->format != MM_PLOT_PNG)
            unlink(c->tmp);
        c->surface = NULL;
        return st;
    }
    c->cr = cairo_create(c->surface);
    cairo_scale(c->cr, c->scale, c->scale);
    return MM_OK;
}

mm_status plot_canvas_close(plot_canvas *c, mm_error *err)
{
    mm_status st = MM_OK;
    cairo_status_t cs = cairo_status(c->cr);
    if (cs != CAIRO_STATUS_SUCCESS)
        st = mm_error_set(err, MM_ERR_INTERNAL, "%s: drawing failed: %s", c->path, cairo_status_to_string(cs));
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (st == MM_OK && c->format == MM_PLOT_PNG) {
        cs = cairo_surface_write_to_png(c->surface, c->tmp);
        if (cs != CAIRO_STATUS_SUCCESS)
            st = mm_error_set(err, MM_ERR_IO, "%s: %s", c->tmp, cs == CAIRO_STATUS_WRITE_ERROR ? strerror(errno)
                                                                                                : cairo_status_to_string(cs));
    }
    cairo_surface_finish(c->surface);
    cs = cairo_surface_status(c->surface);
    if (st == MM_OK && cs != CAIRO_STATUS_SUCCESS)
        st = mm_error_set(err, MM_ERR_IO, "%s: %s", c->tmp, cairo_status_to_string(cs));
    cairo_surface_destroy(c->surface);
    c->surface = NULL;
    if (st == MM_OK && rename(c->tmp, c->path) != 0)
        st = mm_error_set(err, MM_ERR_IO, "%s: %s", c->path, strerror(errno));
    if (st != MM_OK)
        unlink(c->tmp);
    return st;
}

void plot_canvas_discard(plot_canvas *c)
{
    if (c->cr)
        cairo_destroy(c->cr);
    if (c->surface) {
        cairo_surface_finish(c->surface);
        cairo_surface_destroy(c->surface);
        unlink(c->tmp);
    }
    c->cr = NULL;
    c->surface = NULL;
}

void plot_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0, alpha);
}

/* Valid UTF-8 only: any byte that does not start a well-formed sequence becomes '?'. */
static void clean_utf8(const char *in, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t o = 0;
    while (*p && o + 5 < cap) {
        int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        int ok = len > 0;
        for (int k = 1; ok && k < len; k++)
            ok = (p[k] & 0xC0) == 0x80;
        if (ok && len == 2 && *p < 0xC2)
            ok = 0; /* overlong */
        if (!ok) {
            out[o++] = '?';
            p++;
            continue;
        }
        memcpy(out + o, p, (size_t)len);
        o += (size_t)len;
        p += len;
    }
    out[o] = '\0';
}

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double plot_text_width(cairo_t *cr, double size, int bold, const char *text)
{
    char clean[1024];
    clean_utf8(text, clean, sizeof clean);
    set_font(cr, size, bold);
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean, &e);
    return e.x_advance;
}

double plot_text(cairo_t *cr, double x, double y, double size, int bold, double align, const char *text)
{
    char clean[1024];
    clean_utf8(text, clean, sizeof clean);
    set_font(cr, size, bold);
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, clean);
    cairo_new_path(cr);
    return e.x_advance;
}

void plot_text_fit(cairo_t *cr, double size, int bold, double width, const char *text, char *out, size_t cap)
{
    clean_utf8(text, out, cap);
    if (plot_text_width(cr, size, bold, out) <= width)
        return;
    size_t len = strlen(out);
    while (len > 0) {
        /* back off one whole UTF-8 character */
        do
            len--;
        while (len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80);
        if (len + 4 > cap)
            continue;
        memcpy(out + len, "\xe2\x80\xa6", 4); /* … */
        if (plot_text_width(cr, size, bold, out) <= width)
            return;
    }
    snprintf(out, cap, "\xe2\x80\xa6");
}

int plot_ticks(double lo, double hi, int want, double *ticks, int max)
{
    if (!(hi > lo) || want < 2)
        return 0;
    double raw = (hi - lo) / (want - 1), mag = pow(10, floor(log10(raw))), step = mag;
    const double f = raw / mag;
    step = f < 1.5 ? mag : f < 3 ? 2 * mag : f < 7 ? 5 * mag : 10 * mag;
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max; t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    return n;
}

void plot_format_tick(double v, double step, char *out, size_t cap)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (decimals > 6)
        decimals = 6;
    snprintf(out, cap, "%.*f", decimals, v);
}
