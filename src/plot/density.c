/* Points as a density image, the way datashader draws a million of them: every point adds its coverage
 * and its colour to the pixels under it, then each pixel's count is tone-mapped. Drawing dots one over
 * another instead would saturate: past a few dozen per pixel every dense region is the same flat
 * colour, and whichever genre was drawn last hides the others. Here a crowded pixel is brighter than a
 * sparse one (on a logarithmic scale, so both stay visible) and its colour is the mix of its points'. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* The faintest a covered pixel gets: a lone song among a million must still show. */
#define ALPHA_MIN 0.45

static void add(float *acc, int w, int h, int x, int y, float weight, const float *rgb)
{
    if (x < 0 || y < 0 || x >= w || y >= h || weight <= 0)
        return;
    float *p = acc + 4 * ((size_t)y * (size_t)w + (size_t)x);
    p[0] += weight;
    p[1] += weight * rgb[0];
    p[2] += weight * rgb[1];
    p[3] += weight * rgb[2];
}

cairo_surface_t *plot_density(const float *px, const float *py, size_t n, const int32_t *labels,
                              const uint32_t *colours, int n_colours, uint32_t grey, int w, int h, double r)
{
    if (w < 1 || h < 1)
        return NULL;
    float *acc = calloc((size_t)w * (size_t)h * 4, sizeof *acc);
    float *table = malloc(sizeof *table * 3 * (size_t)(n_colours + 1));
    if (!acc || !table) {
        free(acc);
        free(table);
        return NULL;
    }
    for (int c = 0; c <= n_colours; c++) {
        const uint32_t rgb = c < n_colours ? colours[c] : grey;
        table[3 * c] = (float)((rgb >> 16) & 255);
        table[3 * c + 1] = (float)((rgb >> 8) & 255);
        table[3 * c + 2] = (float)(rgb & 255);
    }
    for (size_t i = 0; i < n; i++) {
        const float x = px[i], y = py[i];
        if (!isfinite(x) || !isfinite(y))
            continue;
        const int32_t l = labels ? labels[i] : -1;
        const float *rgb = table + 3 * (l >= 0 && l < n_colours ? l : n_colours);
        if (r < 1) {
            /* smaller than a pixel: its unit weight split over the four nearest pixel centres */
            const float fx = x - 0.5f, fy = y - 0.5f;
            const int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
            const float tx = fx - (float)x0, ty = fy - (float)y0;
            add(acc, w, h, x0, y0, (1 - tx) * (1 - ty), rgb);
            add(acc, w, h, x0 + 1, y0, tx * (1 - ty), rgb);
            add(acc, w, h, x0, y0 + 1, (1 - tx) * ty, rgb);
            add(acc, w, h, x0 + 1, y0 + 1, tx * ty, rgb);
            continue;
        }
        /* a disc, its edge antialiased by the distance of each pixel centre to the rim */
        const int ylo = (int)floor(y - r - 0.5), yhi = (int)ceil(y + r + 0.5);
        const int xlo = (int)floor(x - r - 0.5), xhi = (int)ceil(x + r + 0.5);
        for (int iy = ylo < 0 ? 0 : ylo; iy <= yhi && iy < h; iy++) {
            const double dy = iy + 0.5 - y;
            for (int ix = xlo < 0 ? 0 : xlo; ix <= xhi && ix < w; ix++) {
                const double dx = ix + 0.5 - x, cover = r + 0.5 - sqrt(dx * dx + dy * dy);
                if (cover > 0)
                    add(acc, w, h, ix, iy, (float)(cover < 1 ? cover : 1), rgb);
            }
        }
    }
    free(table);
    float cmax = 0;
    for (size_t p = 0; p < (size_t)w * (size_t)h; p++)
        if (acc[4 * p] > cmax)
            cmax = acc[4 * p];
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        free(acc);
        return NULL;
    }
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    const double log_max = log1p(cmax > 1 ? cmax : 1);
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            const float *p = acc + 4 * ((size_t)y * (size_t)w + (size_t)x);
            const double c = p[0];
            if (c <= 1e-6) {
                row[x] = 0;
                continue;
            }
            /* full colour where the most points are, ALPHA_MIN for one; a partly covered edge pixel
             * of a lone point fades with its coverage */
            const double t = cmax > 1 ? log1p(c) / log_max : 1;
            double a = (ALPHA_MIN + (1 - ALPHA_MIN) * t) * (c < 1 ? c : 1);
            if (a > 1)
                a = 1;
            const double rr = p[1] / c, gg = p[2] / c, bb = p[3] / c;
            const uint32_t A = (uint32_t)lround(a * 255), R = (uint32_t)lround(rr * a), G = (uint32_t)lround(gg * a),
                           B = (uint32_t)lround(bb * a);
            row[x] = A << 24 | (R > A ? A : R) << 16 | (G > A ? A : G) << 8 | (B > A ? A : B);
        }
    }
    cairo_surface_mark_dirty(img);
    free(acc);
    return img;
}
