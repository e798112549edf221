/* Figures at scale: how long a map of N points takes to draw (issue 18 asks <= 10 s for a million).
 *   bench_plot [N] [OUT_DIR]        N points (default 1000000) in 20 labelled clusters of uneven size and
 *                                   spread, drawn to PNG, SVG and PDF with mm_plot_scatter
 *   bench_plot --db DB [OUT_DIR]    the page's first map of a catalog, with mm_plot_map (catalog read
 *                                   included; tests/make_fixture_map DB --fake N makes a big one)
 * Prints the seconds per figure and the file sizes; results in bench/RESULTS.md, "Figures". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "musicmap/plot.h"

static long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *dir = "/tmp";
    long n = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (argv[i][0] >= '0' && argv[i][0] <= '9')
            n = strtol(argv[i], NULL, 10);
        else
            dir = argv[i];
    }
    mm_error err;
    mm_plot_options o;
    mm_plot_options_init(&o);
    char path[4096];
    static const char *const ext[] = {"png", "svg", "pdf"};
    if (db) {
        mm_catalog *cat;
        int64_t id;
        if (mm_catalog_open(&cat, db, 0, &err) != MM_OK || mm_plot_find_map(cat, NULL, &id, &err) != MM_OK) {
            fprintf(stderr, "bench_plot: %s\n", err.msg);
            return 1;
        }
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s/bench-map.%s", dir, ext[f]);
            const double t0 = mm_now();
            if (mm_plot_map(cat, id, &o, path, &err) != MM_OK) {
                fprintf(stderr, "bench_plot: %s\n", err.msg);
                return 1;
            }
            printf("map of the catalog -> %-28s %7.2f s  %9ld bytes\n", path, mm_now() - t0, size_of(path));
        }
        mm_catalog_close(cat);
        return 0;
    }
    /* clusters of uneven size and spread, as genres are: the density image must show both the crowded
     * centres and the thin outskirts */
    enum { K = 20 };
    float *xy = malloc(sizeof *xy * 2 * (size_t)n);
    int32_t *labels = malloc(sizeof *labels * (size_t)n);
    if (!xy || !labels)
        return 1;
    mm_rng rng;
    mm_rng_seed(&rng, 18);
    double cx[K], cy[K], sd[K], weight[K], total = 0;
    for (int k = 0; k < K; k++) {
        cx[k] = mm_rng_uniform(&rng) * 10;
        cy[k] = mm_rng_uniform(&rng) * 10;
        sd[k] = 0.15 + mm_rng_uniform(&rng) * 0.8;
        total += weight[k] = 1.0 / (k + 1);
    }
    for (long i = 0; i < n; i++) {
        double u = mm_rng_uniform(&rng) * total;
        int k = 0;
        while (k < K - 1 && (u -= weight[k]) > 0)
            k++;
        const double r = sqrt(-2 * log(mm_rng_uniform(&rng) + 1e-300)), a = 2 * M_PI * mm_rng_uniform(&rng);
        xy[2 * i] = (float)(cx[k] + sd[k] * r * cos(a));
        xy[2 * i + 1] = (float)(cy[k] + sd[k] * r * sin(a));
        labels[i] = i % 50 == 0 ? -1 : k;
    }
    char names[K][16];
    const char *name_ptr[K];
    for (int k = 0; k < K; k++) {
        snprintf(names[k], sizeof names[k], "cluster %d", k + 1);
        name_ptr[k] = names[k];
    }
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/bench-scatter.%s", dir, ext[f]);
        const double t0 = mm_now();
        if (mm_plot_scatter(xy, (size_t)n, 2, labels, name_ptr, K, "bench", &o, path, &err) != MM_OK) {
            fprintf(stderr, "bench_plot: %s\n", err.msg);
            return 1;
        }
        printf("%ld points -> %-28s %7.2f s  %9ld bytes\n", n, path, mm_now() - t0, size_of(path));
    }
    free(xy);
    free(labels);
    return 0;
}
