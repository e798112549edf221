/* musicmap map: lay out the catalogued songs' vectors with PCA, t-SNE or UMAP and store the map. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/pipeline.h"
#include "musicmap/catalog.h"
#include "musicmap/features.h"
#include "musicmap/layout.h"
#include "musicmap/nn.h"


static void map_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap map [OPTIONS]\n\n"
            "Lays out the catalogued songs in 2-D or 3-D and stores the map (musicmap serve shows it).\n\n"
            "Options:\n"
            "      --method M        pca, tsne or umap (default umap)\n"
            "      --dims N          2 (default) or 3\n"
            "      --features F      descriptors (the default without -m: timbre, spectral shape, rhythm,\n"
            "                        harmony and dynamics statistics from the scan, no model needed; they\n"
            "                        map best, bench/RESULTS.md), softmax (the default with -m: the model's\n"
            "                        output vector), hidden (its 32-d last GRU state; better for a model\n"
            "                        trained on other music), or mel (the raw spectrograms, pooled and\n"
            "                        reduced to %d by PCA: the baseline)\n"
            "  -m, --model NAME      whose vectors for softmax and hidden (default: the newest model; run\n"
            "                        `musicmap embed` first)\n"
            "      --perplexity P    t-SNE (default 30)\n"
            "      --neighbors K     UMAP n_neighbors (default 15)\n"
            "      --min-dist D      UMAP min_dist (default 0.1)\n"
            "      --metric M        euclidean (default), cosine or correlation\n"
            "      --seed N          (default 42)\n"
            "      --grid            the original's figure grid: t-SNE perplexity 5, 30, 50, 100 and UMAP\n"
            "                        n_neighbors 5, 30, 50 x min_dist 0.01, 0.1, 0.5 (13 maps)\n"
            "      --name NAME       the map's name (default: method and parameters, e.g. umap-n15-d0.1-softmax)\n"
            "      --redraw          lay every song out anew; without it, songs new since a stored map of\n"
            "                        the same name and parameters are placed on it and the others keep\n"
            "                        their places, unless they are more than the grow limit\n"
            "      --grow-limit F    new songs beyond this share of the map redraw it (default %.2f)\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print only errors\n"
            "  -h, --help            show this help\n"
            "\nEach map's quality is printed: trustworthiness (k = 10) and the share of each song's 10 nearest\n"
            "neighbours on the map that have its genre tag.\n",
            MM_MEL_PCA_DIMS, MM_MAP_GROW_LIMIT);
}

void cli_print_map(const cli_context *cli, const mm_map_result *r)
{
    if (cli->log.level < MM_LOG_INFO)
        return;
    printf("%-40s %6zu songs %7.2f s", r->name, r->n, r->seconds);
    if (isnan(r->params.trustworthiness))
        printf("  (too few songs to measure the map's quality at k = 10)");
    else
        printf("  trustworthiness %.4f", r->params.trustworthiness);
    if (!isnan(r->params.label_agreement))
        printf("  genre agreement (k=10) %.3f", r->params.label_agreement);
    if (r->change == MM_MAP_GROWN)
        printf("\n  %zu new songs placed on the map; the others kept their places (--redraw lays it out anew)",
               r->added);
    else if (r->change == MM_MAP_KEPT)
        printf("  (unchanged: no new songs)");
    else if (r->why[0])
        printf("\n  redrawn: %s", r->why);
    printf("\n");
    fflush(stdout);
}

int cmd_map(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"method", required_argument, NULL, 'M'},    {"dims", required_argument, NULL, 'd'},
        {"features", required_argument, NULL, 'F'},  {"model", required_argument, NULL, 'm'},
        {"perplexity", required_argument, NULL, 'p'}, {"neighbors", required_argument, NULL, 'n'},
        {"min-dist", required_argument, NULL, 'x'},  {"metric", required_argument, NULL, 'e'},
        {"seed", required_argument, NULL, 's'},      {"grid", no_argument, NULL, 'g'},
        {"name", required_argument, NULL, 'N'},      {"jobs", required_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'D'},        {"help", no_argument, NULL, 'h'},
        {"redraw", no_argument, NULL, 'R'},          {"grow-limit", required_argument, NULL, 'G'},
        MM_CLI_COMMON_LONGOPTS,                      {NULL, 0, NULL, 0},
    };
    mm_layout_spec base;
    mm_layout_spec_defaults(&base);
    /* with -m, softmax by measurement: with a model trained on the collection's own tags, maps of the
     * output vectors agree with the genre tags more than maps of the hidden state (bench/RESULTS.md) */
    mm_vector_kind features = MM_VECTORS_OUTPUTS;
    const char *model_name = NULL, *name = NULL, *db = NULL;
    int grid = 0, features_given = 0, redraw = 0;
    double grow_limit = MM_MAP_GROW_LIMIT;
    long jobs = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        long v;
        double d;
        switch (o) {
        case 'M':
            if (mm_layout_method_parse(optarg, &base.method) != 0)
                return cli_usage_error(cli, "map", "--method is pca, tsne or umap, not '%s'", optarg);
            break;
        case 'd':
            if (cli_parse_int(optarg, 2, 3, &v))
                return cli_usage_error(cli, "map", "--dims is 2 or 3");
            base.dims = (int)v;
            break;
        case 'F':
            if (mm_vector_kind_parse(optarg, &features) != 0)
                return cli_usage_error(cli, "map", "--features is hidden, softmax, mel or descriptors, not '%s'",
                                          optarg);
            features_given = 1;
            break;
        case 'm': model_name = optarg; break;
        case 'p':
            if (cli_parse_double(optarg, 1, 10000, &d))
                return cli_usage_error(cli, "map", "--perplexity needs a number from 1 to 10000");
            base.perplexity = d;
            break;
        case 'n':
            if (cli_parse_int(optarg, 2, 1000, &v))
                return cli_usage_error(cli, "map", "--neighbors needs a number from 2 to 1000");
            base.n_neighbors = (int)v;
            break;
        case 'x':
            if (cli_parse_double(optarg, 0, 10, &d))
                return cli_usage_error(cli, "map", "--min-dist needs a number from 0 to 10");
            base.min_dist = d;
            break;
        case 'e':
            if (mm_metric_parse(optarg, &base.metric) != 0)
                return cli_usage_error(cli, "map", "--metric is euclidean, cosine or correlation");
            break;
        case 's':
            if (cli_parse_int(optarg, 0, 0x7fffffffL, &v))
                return cli_usage_error(cli, "map", "--seed needs a number >= 0");
            base.seed = (uint64_t)v;
            break;
        case 'g': grid = 1; break;
        case 'R': redraw = 1; break;
        case 'G':
            if (cli_parse_double(optarg, 0.001, 1000, &d))
                return cli_usage_error(cli, "map", "--grow-limit needs a share above 0 (0.25 = 25 %%)");
            grow_limit = d;
            break;
        case 'N': name = optarg; break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &jobs))
                return cli_usage_error(cli, "map", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'h': map_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "map", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error(cli, "map", "unexpected argument '%s'", argv[optind]);
    if (grid && name)
        return cli_usage_error(cli, "map", "--grid makes 13 maps: it names them itself");
    base.threads = (int)(jobs > 0 ? jobs : mm_cpu_count());

    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "map", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    int rc = CLI_EXIT_FAILURE;
    mm_error err;
    /* without a model named, the descriptors: they need no model and map best (bench/RESULTS.md) */
    if (!features_given && !model_name)
        features = MM_VECTORS_DESCRIPTORS;
    mm_song_vectors v;
    if (mm_song_vectors_load(cat, features, model_name, base.threads, &v, &err) != MM_OK)
        goto fail;
    mm_layout_spec specs[16];
    size_t n_specs = grid ? mm_layout_grid(&base, specs, 16) : 1;
    if (!grid)
        specs[0] = base;
    for (size_t s = 0; s < n_specs; s++) {
        mm_map_result r;
        mm_map_request req;
        mm_map_request_init(&req);
        req.spec = &specs[s];
        req.name = grid ? NULL : name;
        req.redraw = redraw;
        req.grow_limit = grow_limit;
        if (mm_map_make_from(cat, &v, &req, &r, &err) != MM_OK) {
            mm_song_vectors_free(&v);
            goto fail;
        }
        cli_print_map(cli, &r);
    }
    mm_song_vectors_free(&v);
    rc = CLI_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap map: %s\n", err.msg);
done:
    mm_catalog_close(cat);
    return rc;
}
