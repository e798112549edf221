/* The plot module: every figure renders from a catalog made here (tagged tracks, a model with its
 * predictions and stored training history, maps laid out by hand), and the PNGs are checked by decoding
 * them: the size, each legend colour present on the map in proportion to its songs, nothing drawn
 * outside the map's frame but the legend; SVG and PDF files are what they claim to be; the metrics
 * history is parsed back; refusals (unknown map, format, no history) leave no file behind. The palette
 * is checked against the web page's, so a figure and the page colour a genre alike. */
#include <cairo.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "musicmap/plot.h"
#include "testutil.h"

#define N_GROUPS 4
/* unequal groups, so proportions are tested, not just presence */
static const int GROUP_SIZE[N_GROUPS] = {10, 20, 30, 40};
static const char *const GROUPS[N_GROUPS] = {"Rock", "Jazz", "Folk", "Blues"};
#define N_SONGS 100

static int group_of(int i) /* track id i in 1..N */
{
    int g = 0, edge = GROUP_SIZE[0];
    while (i > edge)
        edge += GROUP_SIZE[++g];
    return g;
}

static const char *METRICS =
    "{\"epochs\": 6, \"best_epoch\": 4, \"train_accuracy\": 0.9, \"val_accuracy\": 0.8, \"test_accuracy\": 0.91, "
    "\"test_loss\": 0.3, \"tracks\": 100, \"seed\": 1, \"history\": {"
    "\"train_loss\": [1.4, 1.1, 0.9, 0.7, 0.6, 0.55], \"train_acc\": [0.3, 0.5, 0.6, 0.7, 0.8, 0.82], "
    "\"val_loss\": [1.3, 1.2, 1.0, 0.8, 0.85, null], \"val_acc\": [0.35, 0.45, 0.6, 0.75, 0.74, 0.73], "
    "\"learning_rate\": [0.001, 0.001, 0.001, 0.001, 0.0005, 0.0005]}, "
    "\"test_confusion\": [[2, 0, 0, 0], [0, 4, 1, 0], [0, 0, 6, 0], [1, 0, 0, 7]]}";

static const char *make_catalog(int64_t *model_id, int64_t *map_id)
{
    static char path[512];
    static int made;
    snprintf(path, sizeof path, "%s/plot%d.db", tu_temp_dir(), ++made);
    static char paths[N_SONGS][64];
    tu_song songs[N_SONGS];
    for (int i = 1; i <= N_SONGS; i++) {
        snprintf(paths[i - 1], sizeof paths[0], "/nonexistent/%s/%03d.mp3", GROUPS[group_of(i)], i);
        songs[i - 1] = (tu_song){.path = paths[i - 1], .title = "T", .artist = "A", .album = "B",
                                 .genre = GROUPS[group_of(i)], .duration = 180};
    }
    tu_fake_catalog(path, songs, N_SONGS);
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, path, 0, &err), MM_OK);
    /* a classifier over the groups in alphabetical order, predicting each song's own group */
    char *classes[N_GROUPS] = {"blues", "folk", "jazz", "rock"};
    const int class_of_group[N_GROUPS] = {3, 2, 1, 0};
    mm_model_record m = {.name = "m1", .file = "/nonexistent/m1.mmm", .architecture = "small", .n_classes = N_GROUPS,
                         .classes = classes, .embedding_dim = 2, .metrics = (char *)METRICS};
    assert_int_equal(mm_catalog_put_model(cat, &m, model_id, &err), MM_OK);
    int64_t ids[N_SONGS];
    float probs[N_SONGS * N_GROUPS] = {0}, emb[N_SONGS * 2] = {0}, xy[N_SONGS * 2];
    for (int i = 0; i < N_SONGS; i++) {
        ids[i] = i + 1;
        probs[i * N_GROUPS + class_of_group[group_of(i + 1)]] = 1;
        /* a 10 x 10 grid: every song its own dot, none touching another */
        xy[2 * i] = (float)(i % 10);
        xy[2 * i + 1] = (float)(i / 10);
    }
    assert_int_equal(mm_catalog_put_vectors(cat, *model_id, N_SONGS, ids, probs, N_GROUPS, emb, 2, &err), MM_OK);
    mm_map_record map = {.name = "umap-test", .model_id = *model_id, .source = "probs", .method = "umap", .dims = 2,
                         .params = "{\"features\": \"softmax\", \"n_neighbors\": 15, \"min_dist\": 0.1, \"metric\": "
                                   "\"euclidean\", \"seed\": 42, \"trustworthiness\": 0.9123, \"label_agreement\": "
                                   "0.6543, \"method\": \"umap\", \"dims\": 2}"};
    assert_int_equal(mm_catalog_put_map(cat, &map, N_SONGS, ids, xy, map_id, &err), MM_OK);
    /* two of the grid's maps (the others are drawn as missing) */
    mm_map_record g1 = {.name = "tsne-p30-softmax", .model_id = *model_id, .source = "probs", .method = "tsne",
                        .dims = 2,
                        .params = "{\"features\": \"softmax\", \"perplexity\": 30, \"metric\": \"euclidean\", \"seed\": "
                                  "42, \"trustworthiness\": 0.95, \"label_agreement\": 0.7, \"method\": \"tsne\", "
                                  "\"dims\": 2}"};
    mm_map_record g2 = {.name = "umap-n5-d0.5-softmax", .model_id = *model_id, .source = "probs", .method = "umap",
                        .dims = 2,
                        .params = "{\"features\": \"softmax\", \"n_neighbors\": 5, \"min_dist\": 0.5, \"metric\": "
                                  "\"euclidean\", \"seed\": 42, \"trustworthiness\": null, \"label_agreement\": null, "
                                  "\"method\": \"umap\", \"dims\": 2}"};
    int64_t gid;
    for (int i = 0; i < N_SONGS; i++)
        xy[2 * i] = sinf((float)i), xy[2 * i + 1] = cosf((float)i * 0.7f);
    assert_int_equal(mm_catalog_put_map(cat, &g1, N_SONGS, ids, xy, &gid, &err), MM_OK);
    assert_int_equal(mm_catalog_put_map(cat, &g2, N_SONGS, ids, xy, &gid, &err), MM_OK);
    mm_catalog_close(cat);
    return path;
}

static const char *out_path(const char *name)
{
    static char buf[4][600], dir[300];
    static int k;
    if (!dir[0]) /* one folder for the suite: tu_temp_dir makes a new one on every call */
        snprintf(dir, sizeof dir, "%s", tu_temp_dir());
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(const void *)(d + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + (size_t)x * 4) &
           0xffffffu;
}

static int close_rgb(uint32_t a, uint32_t b, int tol)
{
    for (int sh = 0; sh <= 16; sh += 8)
        if (abs((int)((a >> sh) & 255) - (int)((b >> sh) & 255)) > tol)
            return 0;
    return 1;
}

static void test_palette_matches_page(void **state)
{
    (void)state;
    FILE *f = fopen(MM_WEB_MAIN, "r");
    assert_non_null(f);
    static char js[1 << 17];
    size_t n = fread(js, 1, sizeof js - 1, f);
    fclose(f);
    js[n] = '\0';
    const char *p = strstr(js, "const PALETTE = [");
    assert_non_null(p);
    for (int i = 0; i < MM_PLOT_PALETTE_SIZE; i++) {
        p = strchr(p, '#');
        assert_non_null(p);
        assert_int_equal(strtoul(p + 1, NULL, 16), mm_plot_palette(i));
        p++;
    }
    assert_int_equal(mm_plot_palette(MM_PLOT_PALETTE_SIZE + 1), mm_plot_palette(1));
    const char *u = strstr(js, "const UNLABELLED = '#");
    assert_non_null(u);
    assert_int_equal(strtoul(u + strlen("const UNLABELLED = '#"), NULL, 16), MM_PLOT_UNLABELLED);

    mm_plot_format fmt;
    assert_int_equal(mm_plot_format_of("a/b.PNG", &fmt), 0);
    assert_int_equal(fmt, MM_PLOT_PNG);
    assert_int_equal(mm_plot_format_of("x.svg", &fmt), 0);
    assert_int_equal(fmt, MM_PLOT_SVG);
    assert_int_equal(mm_plot_format_of("x.pdf", &fmt), 0);
    assert_int_equal(fmt, MM_PLOT_PDF);
    assert_int_equal(mm_plot_format_of("x.jpg", &fmt), -1);
    assert_int_equal(mm_plot_format_of("dir.png/x", &fmt), -1);
    mm_plot_color c;
    assert_int_equal(mm_plot_color_parse("folder", &c), 0);
    assert_int_equal(c, MM_PLOT_COLOR_FOLDER);
    assert_string_equal(mm_plot_color_name(MM_PLOT_COLOR_PREDICTED), "predicted");
    assert_int_equal(mm_plot_color_parse("rainbow", &c), -1);
}

/* Decodes a map PNG: the frame is the bounding box of the panel's background colour; each palette
 * colour's pixels inside it are counted; any outside it must lie in the legend column to its right. */
static void check_map_png(const char *path, int width, int height, const uint32_t *colours, const int *counts,
                          int n_colours, int proportions)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), width);
    assert_int_equal(cairo_image_surface_get_height(s), height);
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            if (pixel(s, x, y) == 0x11141bu) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    assert_true(x1 > x0 + 100 && y1 > y0 + 100);
    long inside[8] = {0}, legend[8] = {0}, total = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            const uint32_t p = pixel(s, x, y);
            for (int c = 0; c < n_colours; c++) {
                if (!close_rgb(p, colours[c], 2))
                    continue;
                if (x >= x0 - 1 && x <= x1 + 1 && y >= y0 - 1 && y <= y1 + 1) {
                    inside[c]++;
                    total++;
                } else {
                    /* only the legend's swatches, right of the frame and level with it */
                    assert_true(x > x1 + 4);
                    assert_true(y >= y0 && y <= y1);
                    legend[c]++;
                }
            }
        }
    int sum = 0;
    for (int c = 0; c < n_colours; c++)
        sum += counts[c];
    for (int c = 0; c < n_colours && proportions; c++) {
        const double want = (double)counts[c] / sum, got = (double)inside[c] / (double)total;
        if (fabs(got - want) > 0.1 * want)
            fail_msg("colour %06x: %.3f of the map's coloured pixels, expected %.3f (%d of %d songs)", colours[c], got,
                     want, counts[c], sum);
        assert_true(legend[c] > 10); /* its swatch */
    }
    cairo_surface_destroy(s);
}

static void test_map_png(void **state)
{
    (void)state;
    int64_t model_id, map_id;
    const char *db = make_catalog(&model_id, &map_id);
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, db, 0, &err), MM_OK);
    int64_t found;
    /* by default the page's first map: the newest 2-D UMAP map */
    int64_t newest;
    assert_int_equal(mm_plot_find_map(cat, NULL, &found, &err), MM_OK);
    assert_int_equal(mm_plot_find_map(cat, "umap-n5-d0.5-softmax", &newest, &err), MM_OK);
    assert_int_equal(found, newest);
    assert_int_equal(mm_plot_find_map(cat, "umap-test", &found, &err), MM_OK);
    assert_int_equal(found, map_id);
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", (long long)map_id);
    assert_int_equal(mm_plot_find_map(cat, id_text, &found, &err), MM_OK);
    assert_int_equal(found, map_id);
    assert_int_equal(mm_plot_find_map(cat, "nosuch", &found, &err), MM_ERR_NOT_FOUND);

    mm_plot_options o;
    mm_plot_options_init(&o);
    /* tags: ranked by count, so Blues (40) is palette 0, Folk 1, Jazz 2, Rock 3 */
    o.color_by = MM_PLOT_COLOR_TAG;
    const char *png = out_path("map-tag.png");
    assert_int_equal(mm_plot_map(cat, map_id, &o, png, &err), MM_OK);
    uint32_t colours[N_GROUPS] = {mm_plot_palette(0), mm_plot_palette(1), mm_plot_palette(2), mm_plot_palette(3)};
    int by_rank[N_GROUPS] = {40, 30, 20, 10};
    check_map_png(png, 1800, 1280, colours, by_rank, N_GROUPS, 1);
    assert_false(exists(out_path("map-tag.png.tmp")));

    /* predicted: class order blues, folk, jazz, rock -> the same counts in the same colours here;
     * a big point size must still stay inside the frame */
    o.color_by = MM_PLOT_COLOR_PREDICTED;
    o.width = 700;
    o.height = 500;
    o.scale = 1;
    o.point_radius = 14; /* wider than the padding: the frame must clip it */
    png = out_path("map-pred.png");
    assert_int_equal(mm_plot_map(cat, map_id, &o, png, &err), MM_OK);
    check_map_png(png, 700, 500, colours, by_rank, N_GROUPS, 0);

    /* folders: the same groups by path */
    o = (mm_plot_options){0}; /* a hand-zeroed struct is the first layout, all defaults */
    o.color_by = MM_PLOT_COLOR_FOLDER;
    png = out_path("map-folder.png");
    assert_int_equal(mm_plot_map(cat, map_id, &o, png, &err), MM_OK);
    check_map_png(png, 1800, 1280, colours, by_rank, N_GROUPS, 1);

    /* auto: the model's test accuracy is 0.91, over the bound: its predictions */
    mm_plot_options_init(&o);
    png = out_path("map-auto.png");
    assert_int_equal(mm_plot_map(cat, map_id, &o, png, &err), MM_OK);
    check_map_png(png, 1800, 1280, colours, by_rank, N_GROUPS, 1);
    mm_catalog_close(cat);
}

static int starts_with_file(const char *path, const char *prefix)
{
    char buf[64] = "";
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strncmp(buf, prefix, strlen(prefix)) == 0;
}

static int svg_well_formed(const char *path)
{
    /* the structure the parse in tests/plot_cli_test.sh checks fully: an XML declaration, one <svg>
     * element closed at the end */
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return strncmp(buf, "<?xml", 5) == 0 && strstr(buf, "<svg") && n > 6 && strcmp(buf + n - 6, "</svg>") == 0;
}

static void test_every_figure(void **state)
{
    (void)state;
    int64_t model_id, map_id;
    const char *db = make_catalog(&model_id, &map_id);
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, db, 0, &err), MM_OK);
    mm_plot_options o;
    mm_plot_options_init(&o);
    const char *svg = out_path("map.svg"), *pdf = out_path("map.pdf");
    assert_int_equal(mm_plot_map(cat, map_id, &o, svg, &err), MM_OK);
    assert_true(svg_well_formed(svg));
    assert_int_equal(mm_plot_map(cat, map_id, &o, pdf, &err), MM_OK);
    assert_true(starts_with_file(pdf, "%PDF"));

    const char *grid = out_path("grid.pdf");
    assert_int_equal(mm_plot_grid(cat, &o, grid, &err), MM_OK);
    assert_true(starts_with_file(grid, "%PDF"));
    o.features = "mel"; /* no grid maps of those */
    assert_int_equal(mm_plot_grid(cat, &o, out_path("nogrid.pdf"), &err), MM_ERR_NOT_FOUND);
    assert_false(exists(out_path("nogrid.pdf")));
    o.features = NULL;

    int64_t other;
    assert_int_equal(mm_plot_find_map(cat, "tsne-p30-softmax", &other, &err), MM_OK);
    const char *ab = out_path("ab.png");
    assert_int_equal(mm_plot_compare(cat, map_id, other, &o, ab, &err), MM_OK);
    cairo_surface_t *s = cairo_image_surface_create_from_png(ab);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), 2480);
    cairo_surface_destroy(s);

    const char *curves = out_path("curves.svg");
    assert_int_equal(mm_plot_training(cat, &o, curves, &err), MM_OK);
    assert_true(svg_well_formed(curves));
    const char *curves_png = out_path("curves.png");
    assert_int_equal(mm_plot_training(cat, &o, curves_png, &err), MM_OK);
    s = cairo_image_surface_create_from_png(curves_png);
    assert_int_equal(cairo_image_surface_get_width(s), 1800);
    assert_int_equal(cairo_image_surface_get_height(s), 840);
    cairo_surface_destroy(s);

    const char *cm = out_path("cm.png");
    assert_int_equal(mm_plot_confusion(cat, &o, cm, &err), MM_OK);
    s = cairo_image_surface_create_from_png(cm);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_true(cairo_image_surface_get_width(s) >= 400 && cairo_image_surface_get_height(s) >= 300);
    /* the darkest cell colour (a row all on the diagonal) is there */
    int dark = 0;
    for (int y = 0; y < cairo_image_surface_get_height(s); y++)
        for (int x = 0; x < cairo_image_surface_get_width(s); x++)
            dark += close_rgb(pixel(s, x, y), 0x1d4f9e, 3);
    assert_true(dark > 1000);
    cairo_surface_destroy(s);
    assert_int_equal(mm_plot_confusion(cat, &o, out_path("cm.pdf"), &err), MM_OK);
    assert_true(starts_with_file(out_path("cm.pdf"), "%PDF"));

    size_t written = 0;
    const char *dir = out_path("all");
    assert_int_equal(mm_plot_all(cat, dir, &o, &written, &err), MM_OK);
    /* map.png, three maps, grid, training, confusion */
    assert_int_equal(written, 7);
    char p[700];
    snprintf(p, sizeof p, "%s/maps/umap-test.png", dir);
    assert_true(file_size(p) > 1000);
    snprintf(p, sizeof p, "%s/training.svg", dir);
    assert_true(svg_well_formed(p));
    mm_catalog_close(cat);
}

static void test_history(void **state)
{
    (void)state;
    int64_t model_id, map_id;
    const char *db = make_catalog(&model_id, &map_id);
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, db, 0, &err), MM_OK);
    mm_model_history h;
    assert_int_equal(mm_model_history_load(cat, NULL, &h, &err), MM_OK);
    assert_string_equal(h.model, "m1");
    assert_int_equal(h.n_epochs, 6);
    assert_int_equal(h.best_epoch, 4);
    assert_false(h.self_supervised);
    assert_true(fabs(h.test_accuracy - 0.91) < 1e-12);
    assert_true(fabs(h.learning_rate[4] - 0.0005) < 1e-12);
    assert_true(isnan(h.val_loss[5]));
    assert_int_equal(h.n_classes, 4);
    assert_string_equal(h.classes[3], "rock");
    assert_non_null(h.confusion);
    assert_int_equal(h.confusion[1 * 4 + 2], 1);
    assert_int_equal(h.confusion[3 * 4 + 0], 1);
    mm_model_history_free(&h);
    assert_int_equal(mm_model_history_load(cat, "nosuch", &h, &err), MM_ERR_NOT_FOUND);
    mm_model_history_free(&h);

    /* a model from before the history was stored (and a damaged metrics text) reads, without figures */
    static const char *const older[] = {
        "{\"epochs\": 3, \"best_epoch\": 2, \"test_accuracy\": 0.5}",
        "{\"history\": {\"train_loss\": [1, 2], \"train_acc\": [1,", /* cut short */
        "{\"history\": [1, 2], \"test_confusion\": [[1, 2], [3]]}",
        NULL,
    };
    char *classes[2] = {"a", "b"};
    for (size_t i = 0; i < sizeof older / sizeof older[0]; i++) {
        mm_model_record m = {.name = "old", .file = "/nonexistent/old.mmm", .architecture = "small", .n_classes = 2,
                             .classes = classes, .embedding_dim = 2, .metrics = (char *)older[i]};
        int64_t id;
        assert_int_equal(mm_catalog_put_model(cat, &m, &id, &err), MM_OK);
        assert_int_equal(mm_model_history_load(cat, "old", &h, &err), MM_OK);
        assert_int_equal(h.n_epochs, 0);
        assert_null(h.train_loss);
        assert_null(h.confusion);
        mm_model_history_free(&h);
        mm_plot_options o;
        mm_plot_options_init(&o);
        o.model = "old";
        const char *f = out_path("old.svg");
        assert_int_equal(mm_plot_training(cat, &o, f, &err), MM_ERR_NOT_FOUND);
        assert_non_null(strstr(err.msg, "train it again"));
        assert_int_equal(mm_plot_confusion(cat, &o, f, &err), MM_ERR_NOT_FOUND);
        assert_false(exists(f));
        assert_false(exists(out_path("old.svg.tmp")));
    }
    mm_catalog_close(cat);
}

static void test_refusals_and_scatter(void **state)
{
    (void)state;
    int64_t model_id, map_id;
    const char *db = make_catalog(&model_id, &map_id);
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, db, 0, &err), MM_OK);
    mm_plot_options o;
    mm_plot_options_init(&o);
    assert_int_equal(mm_plot_map(cat, map_id, &o, out_path("x.gif"), &err), MM_ERR_ARG);
    assert_int_equal(mm_plot_map(cat, 999999, &o, out_path("x.png"), &err), MM_ERR_NOT_FOUND);
    assert_false(exists(out_path("x.png")));
    assert_int_equal(mm_plot_map(cat, map_id, &o, "/nonexistent/dir/x.png", &err), MM_ERR_IO);
    assert_int_equal(mm_plot_map(cat, map_id, &o, "/nonexistent/dir/x.svg", &err), MM_ERR_IO);
    mm_catalog_close(cat);

    /* the caller's points: names with bytes that are not UTF-8 still draw */
    enum { N = 5000 };
    float *xy = malloc(sizeof *xy * N * 3);
    int32_t *labels = malloc(sizeof *labels * N);
    mm_rng rng;
    mm_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        labels[i] = i % 7 == 6 ? -1 : i % 3;
        xy[3 * i] = (float)(labels[i] * 4 + mm_rng_uniform(&rng));
        xy[3 * i + 1] = (float)mm_rng_uniform(&rng);
        xy[3 * i + 2] = NAN; /* a third axis the figure does not read */
    }
    xy[0] = NAN; /* skipped, not drawn at the origin */
    const char *const names[3] = {"one", "tw\xff\xfeo", "three \xe2\x80\x94 long name that needs to be cut short to fit"};
    const char *png = out_path("scatter.png");
    assert_int_equal(mm_plot_scatter(xy, N, 3, labels, names, 3, "scatter", &o, png, &err), MM_OK);
    cairo_surface_t *s = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    assert_int_equal(mm_plot_scatter(xy, N, 1, labels, names, 3, "bad", &o, png, &err), MM_ERR_ARG);
    assert_int_equal(mm_plot_scatter(xy, 0, 2, NULL, NULL, 0, NULL, &o, out_path("empty.pdf"), &err), MM_OK);
    assert_true(starts_with_file(out_path("empty.pdf"), "%PDF"));
    free(xy);
    free(labels);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_palette_matches_page),
        cmocka_unit_test(test_map_png),
        cmocka_unit_test(test_every_figure),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_refusals_and_scatter),
    };
    return tu_main(argc, argv, "plot", tests, TU_COUNT(tests), NULL, 0);
}
