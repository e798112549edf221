/* musicmap plot FIGURE -o FILE: a map, the parameter grid, two maps side by side, a model's training
 * curves or its confusion matrix as PNG, SVG or PDF (the plot module draws; this file parses and prints). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/plot.h"

static void plot_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap plot map [--map NAME|ID] [--color-by tag|predicted|folder] -o FILE\n"
            "       musicmap plot grid [--features F] -o FILE\n"
            "       musicmap plot training [--model M] -o FILE\n"
            "       musicmap plot confusion [--model M] -o FILE\n"
            "       musicmap plot compare MAP_A MAP_B -o FILE\n\n"
            "Draws a figure from the catalog; the format comes from FILE's extension: .png, .svg or .pdf.\n\n"
            "  map        a map's songs coloured by genre, a legend with counts, the method, its parameters\n"
            "             and the map's quality (default: the map the page opens with)\n"
            "  grid       the original's 13 maps on one page (t-SNE perplexity 5, 30, 50, 100; UMAP\n"
            "             n_neighbors 5, 30, 50 x min_dist 0.01, 0.1, 0.5: `musicmap map --grid` makes them)\n"
            "  training   loss and accuracy per epoch, training and validation, learning-rate changes and\n"
            "             the best epoch (default: the newest trained model)\n"
            "  confusion  the test songs' confusion matrix with counts and each genre's recall\n"
            "  compare    two maps (names or ids) side by side\n\n"
            "Options:\n"
            "  -o, --output FILE     the figure (required)\n"
            "      --map NAME|ID     map: which map\n"
            "      --color-by C      maps: tag (genre tags), predicted (a model's genres), folder; default as\n"
            "                        the page: predictions of a model trusted on its test songs, else tags\n"
            "  -m, --model M         training, confusion, predicted colours: the model (default: the newest)\n"
            "      --features F      grid: maps of descriptors, mel, softmax or hidden (default: the newest grid's)\n"
            "      --title TEXT      the figure's title\n"
            "      --width W         the figure's size in points (1/72 inch; PNG: times --scale pixels)\n"
            "      --height H\n"
            "      --scale S         PNG pixels per point (default 2)\n"
            "      --point-size R    maps: point radius in points (default: from the number of songs)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print nothing but errors\n"
            "  -h, --help            show this help\n");
}

int cmd_plot(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"map", required_argument, NULL, 'M'},
        {"color-by", required_argument, NULL, 'c'}, {"colour-by", required_argument, NULL, 'c'},
        {"model", required_argument, NULL, 'm'},  {"features", required_argument, NULL, 'F'},
        {"title", required_argument, NULL, 'T'},  {"width", required_argument, NULL, 'W'},
        {"height", required_argument, NULL, 'H'}, {"scale", required_argument, NULL, 'S'},
        {"point-size", required_argument, NULL, 'R'}, {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},         MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    mm_plot_options opt;
    mm_plot_options_init(&opt);
    const char *output = NULL, *map = NULL, *db = NULL;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "o:m:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        double d;
        switch (o) {
        case 'o': output = optarg; break;
        case 'M': map = optarg; break;
        case 'c':
            if (mm_plot_color_parse(optarg, &opt.color_by) != 0)
                return cli_usage_error(cli, "plot", "--color-by is tag, predicted or folder, not '%s'", optarg);
            break;
        case 'm': opt.model = optarg; break;
        case 'F': opt.features = optarg; break;
        case 'T': opt.title = optarg; break;
        case 'W':
        case 'H':
            if (cli_parse_double(optarg, 100, 20000, &d))
                return cli_usage_error(cli, "plot", "--%s needs a number of points from 100 to 20000",
                                          o == 'W' ? "width" : "height");
            *(o == 'W' ? &opt.width : &opt.height) = d;
            break;
        case 'S':
            if (cli_parse_double(optarg, 0.25, 8, &d))
                return cli_usage_error(cli, "plot", "--scale needs a number from 0.25 to 8");
            opt.scale = d;
            break;
        case 'R':
            if (cli_parse_double(optarg, 0.05, 50, &d))
                return cli_usage_error(cli, "plot", "--point-size needs a number from 0.05 to 50");
            opt.point_radius = d;
            break;
        case 'D': db = optarg; break;
        case 'h': plot_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "plot", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cli, "plot", "which figure? map, grid, training, confusion or compare");
    const char *what = argv[optind++];
    const int compare = strcmp(what, "compare") == 0;
    if (!compare && strcmp(what, "map") && strcmp(what, "grid") && strcmp(what, "training") && strcmp(what, "confusion"))
        return cli_usage_error(cli, "plot", "no figure '%s': map, grid, training, confusion or compare", what);
    if (compare ? argc - optind != 2 : optind != argc)
        return cli_usage_error(cli, "plot", compare ? "compare needs two maps: MAP_A MAP_B"
                                                       : "unexpected argument '%s'", argv[optind]);
    if (!output)
        return cli_usage_error(cli, "plot", "-o FILE is required (.png, .svg or .pdf)");
    mm_plot_format fmt;
    if (mm_plot_format_of(output, &fmt) != 0)
        return cli_usage_error(cli, "plot", "%s: the format comes from the extension: .png, .svg or .pdf", output);
    if (map && strcmp(what, "map") != 0)
        return cli_usage_error(cli, "plot", "--map is for `plot map` (compare takes its maps as arguments)");

    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "plot", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    mm_error err;
    mm_status st;
    int64_t a = 0, b = 0;
    double t0 = mm_now();
    if (strcmp(what, "map") == 0) {
        if ((st = mm_plot_find_map(cat, map, &a, &err)) == MM_OK)
            st = mm_plot_map(cat, a, &opt, output, &err);
    } else if (compare) {
        if ((st = mm_plot_find_map(cat, argv[optind], &a, &err)) == MM_OK &&
            (st = mm_plot_find_map(cat, argv[optind + 1], &b, &err)) == MM_OK)
            st = mm_plot_compare(cat, a, b, &opt, output, &err);
    } else if (strcmp(what, "grid") == 0) {
        st = mm_plot_grid(cat, &opt, output, &err);
    } else if (strcmp(what, "training") == 0) {
        st = mm_plot_training(cat, &opt, output, &err);
    } else {
        st = mm_plot_confusion(cat, &opt, output, &err);
    }
    mm_catalog_close(cat);
    if (st != MM_OK) {
        fprintf(stderr, "musicmap plot: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    if (cli->log.level >= MM_LOG_INFO)
        printf("%s (%.2f s)\n", output, mm_now() - t0);
    return CLI_EXIT_OK;
}
