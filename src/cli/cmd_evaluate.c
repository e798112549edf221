/* musicmap evaluate: how well each kind of song vector, and each map made from it, keeps songs that
 * belong together (same folder, soundtrack, genre tag or CSV label) next to each other. The figures the
 * defaults are chosen by (bench/quality, bench/RESULTS.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/pipeline.h"

#define EVAL_MAX_MODELS 8

static void evaluate_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap evaluate [OPTIONS]\n\n"
            "Scores every kind of song vector in the catalog, and the maps made from them, against labels:\n"
            "the share of each song's k nearest neighbours (k = 5, 10) that carry its label, in the vectors'\n"
            "own space (what \"similar songs\" returns) and on the 2-D map, and the map's trustworthiness\n"
            "(k = 10). Chance is what a random neighbour would score.\n\n"
            "Kinds: descriptors (all groups), mfcc (the descriptors' timbre group alone), mel band profile\n"
            "(their band group alone), mel (the raw spectrogram baseline) and, for each --model, its\n"
            "output vector and hidden state.\n\n"
            "Options:\n"
            "      --labels SRC      folders (default: each song's folder), tags, fma:FILE or csv:FILE\n"
            "  -m, --model NAME      also score this model's vectors (repeatable; run `musicmap embed` first)\n"
            "      --methods LIST    map methods, from pca,tsne,umap (default all three)\n"
            "      --seed N          layouts' seed (default 42)\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print only the table\n"
            "  -h, --help            show this help\n");
}

static void print_header(const mm_evaluate_summary *sum, void *user)
{
    printf("labels: %s, %zu songs in %d groups; chance (a random neighbour shares the label) %.3f\n",
           (const char *)user, sum->labelled, sum->groups, sum->chance);
    printf("%-22s %5s %5s %8s %8s  %-5s %8s %8s %8s\n", "vectors", "dim", "songs", "space@5", "space@10", "map",
           "map@5", "map@10", "trust@10");
}

static void print_row(const mm_evaluate_row *r, void *user)
{
    (void)user;
    if (!r->scored && r->songs == 0)
        printf("%-22s %5d  (no labelled song has these vectors%s)\n", r->vectors, r->dim,
               strcmp(r->vectors, "descriptors") == 0 ? ": scan again to compute them" : "");
    else if (!r->scored)
        printf("%-22s %5d  (only %zu labelled songs have these vectors: not scored)\n", r->vectors, r->dim, r->songs);
    else
        printf("%-22s %5d %5zu %8.3f %8.3f  %-5s %8.3f %8.3f %8.3f\n", r->vectors, r->dim, r->songs, r->space5,
               r->space10, mm_layout_method_name(r->method), r->map5, r->map10, r->trust);
    fflush(stdout);
}

int cmd_evaluate(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, NULL, 'L'}, {"model", required_argument, NULL, 'm'},
        {"methods", required_argument, NULL, 'M'}, {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},   {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},         MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *source = "folders", *db = NULL, *models[EVAL_MAX_MODELS];
    int n_models = 0;
    mm_evaluate_request req;
    mm_evaluate_request_init(&req);
    mm_layout_method methods[3];
    long v, jobs = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'L': source = optarg; break;
        case 'm':
            if (n_models == EVAL_MAX_MODELS)
                return cli_usage_error(cli, "evaluate", "at most %d models", EVAL_MAX_MODELS);
            models[n_models++] = optarg;
            break;
        case 'M': {
            req.n_methods = 0;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (req.n_methods == 3 || mm_layout_method_parse(t, &methods[req.n_methods]) != 0)
                    return cli_usage_error(cli, "evaluate", "--methods is a list of pca, tsne, umap");
                req.n_methods++;
            }
            req.methods = methods;
            break;
        }
        case 's':
            if (cli_parse_int(optarg, 0, 0x7fffffffL, &v))
                return cli_usage_error(cli, "evaluate", "--seed needs a number >= 0");
            req.seed = (uint64_t)v;
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &jobs))
                return cli_usage_error(cli, "evaluate", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'h': evaluate_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "evaluate", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error(cli, "evaluate", "unexpected argument '%s'", argv[optind]);
    if (mm_label_source_parse(source, &req.labels, &req.labels_file) != 0)
        return cli_usage_error(cli, "evaluate", "--labels is folders, tags, fma:FILE or csv:FILE, not '%s'", source);
    req.threads = (int)jobs;
    req.models = models;
    req.n_models = (size_t)n_models;
    req.header = print_header;
    req.row = print_row;
    req.user = (void *)source;

    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "evaluate", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    mm_evaluate_summary sum;
    mm_error err;
    int rc = CLI_EXIT_OK;
    if (mm_pipeline_evaluate(cat, &req, &sum, &err) != MM_OK) {
        fprintf(stderr, "musicmap evaluate: %s\n", err.msg);
        rc = CLI_EXIT_FAILURE;
    }
    mm_catalog_close(cat);
    return rc;
}
