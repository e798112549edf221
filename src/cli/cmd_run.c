/* musicmap run DIR: one command from a folder of music to a map in the browser. It chains the other
 * commands (scan, train, embed, map, serve) exactly as a user would type them. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/pipeline.h"
#include "musicmap/catalog.h"

#define RUN_MODEL "run"
/* What run's maps are made from, chosen by measurement (bench/RESULTS.md, "Map quality"): even on
 * generated music with every song tagged, maps of the descriptors keep genres together better (UMAP
 * k-NN(5) 0.66) than maps of a genre model trained on those tags for the demo's 15 epochs (0.40); on
 * real music without tags there is no model to use. The model still names each song's likely genre. */
#define RUN_FEATURES "descriptors"
#define MM_RUN_MAX_GENRES 256

static void run_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap run [OPTIONS] DIR...\n\n"
            "The whole pipeline: scans DIR (incrementally), trains a genre model on the files' genre tags when\n"
            "there are enough (at least two genres with --min-count tracks; otherwise it maps the raw\n"
            "spectrograms and says so), embeds every song, lays out UMAP, t-SNE and PCA maps, and serves the\n"
            "page. Run it again after adding music: only new songs are read and embedded.\n\n"
            "Options:\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "      --preset NAME     the model: small (default: minutes on a laptop), crnn4 (the original,\n"
            "                        slower, better) or crnn6\n"
            "      --epochs N        training epochs at most (default 20)\n"
            "      --min-count N     tracks a genre needs to be learnt (default 10)\n"
            "      --retrain         train again even if a model from an earlier run exists\n"
            "      --no-serve        stop after the maps\n"
            "  -p, --port N          port to serve on (default 8080)\n"
            "      --host ADDR       address to serve on (default 127.0.0.1)\n"
            "      --open            open the page in the desktop's browser\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "  -q, --quiet           print only errors and the address\n"
            "  -h, --help            show this help\n");
}

/* Runs one subcommand with printf-built arguments (NULL-terminated list of strings). */
static int run_step(mm_cli *cli, mm_command_fn fn, const char *name, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)name;
    va_list ap;
    va_start(ap, name);
    for (const char *a = va_arg(ap, const char *); a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return fn(cli, argc, argv);
}

typedef struct tag_count {
    char genres[MM_RUN_MAX_GENRES][MM_LABEL_NAME_MAX];
    size_t counts[MM_RUN_MAX_GENRES];
    int n;
    size_t songs; /* ok tracks with features, tagged or not */
} tag_count;

static int count_tag(const mm_track *t, void *user)
{
    tag_count *c = user;
    char norm[MM_LABEL_NAME_MAX];
    if (!t->has_features)
        return 0;
    c->songs++;
    mm_label_normalise(t->genre, norm, sizeof norm);
    if (!norm[0])
        return 0;
    int i = 0;
    while (i < c->n && strcmp(c->genres[i], norm) != 0)
        i++;
    if (i == c->n) {
        if (c->n == MM_RUN_MAX_GENRES)
            return 0;
        snprintf(c->genres[c->n++], MM_LABEL_NAME_MAX, "%s", norm);
    }
    c->counts[i]++;
    return 0;
}

/* Says which genre colours the page will start with, and why (the rule is the library's; maps made
 * without the model, of the descriptors, carry no predictions). */
static void report_colours(mm_cli *cli, const char *db, int maps_of_model)
{
    mm_catalog *cat = NULL;
    mm_model_record rec;
    if (mm_cli_open_catalog(cli, "run", db, 0, &cat) != 0)
        return;
    if (mm_catalog_get_model(cat, RUN_MODEL, &rec, NULL) == MM_OK) {
        double acc = mm_model_record_test_accuracy(&rec);
        if (mm_model_record_colours_by_prediction(&rec) && !maps_of_model)
            mm_log(&cli->log, MM_LOG_INFO,
                   "run: the maps are coloured by the files' genre tags: they are maps of the descriptors; the genre "
                   "model (held-out accuracy %.2f) colours maps made from it (musicmap map -m %s)",
                   acc, RUN_MODEL);
        else if (mm_model_record_colours_by_prediction(&rec))
            mm_log(&cli->log, MM_LOG_INFO,
                   "run: the map is coloured by the model's predicted genres (held-out accuracy %.2f, at least %.2f)",
                   acc, MM_PREDICTED_COLOURS_MIN_ACCURACY);
        else if (acc >= 0)
            mm_log(&cli->log, MM_LOG_INFO,
                   "run: the map is coloured by the files' genre tags: the model's held-out accuracy %.2f is below "
                   "%.2f, too low to trust its predicted genres (the page can still show them)",
                   acc, MM_PREDICTED_COLOURS_MIN_ACCURACY);
        else
            mm_log(&cli->log, MM_LOG_INFO,
                   "run: the map is coloured by the files' genre tags (the model's accuracy is unknown)");
        mm_model_record_free(&rec);
    }
    mm_catalog_close(cat);
}

int mm_cmd_run(mm_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},      {"preset", required_argument, NULL, 'P'},
        {"epochs", required_argument, NULL, 'E'},  {"min-count", required_argument, NULL, 'M'},
        {"retrain", no_argument, NULL, 'R'},       {"no-serve", no_argument, NULL, 'n'},
        {"port", required_argument, NULL, 'p'},    {"host", required_argument, NULL, 'H'},
        {"open", no_argument, NULL, 'O'},          {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *preset = "small", *epochs = "20", *min_count = "10", *port = "8080", *host = "127.0.0.1";
    const char *jobs = NULL;
    int retrain = 0, serve = 1, open_page = 0;
    long v;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "p:j:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'D': db = optarg; break;
        case 'P': preset = optarg; break;
        case 'E':
            if (mm_cli_parse_int(optarg, 1, 100000, &v))
                return mm_cli_usage_error(cli, "run", "--epochs needs a positive number");
            epochs = optarg;
            break;
        case 'M':
            if (mm_cli_parse_int(optarg, 1, 1000000, &v))
                return mm_cli_usage_error(cli, "run", "--min-count needs a positive number");
            min_count = optarg;
            break;
        case 'R': retrain = 1; break;
        case 'n': serve = 0; break;
        case 'p': port = optarg; break;
        case 'H': host = optarg; break;
        case 'O': open_page = 1; break;
        case 'j':
            if (mm_cli_parse_int(optarg, 1, 1024, &v))
                return mm_cli_usage_error(cli, "run", "--jobs needs a number from 1 to 1024");
            jobs = optarg;
            break;
        case 'h': run_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "run", "bad option");
        }
    }
    if (optind >= argc)
        return mm_cli_usage_error(cli, "run", "give the folder(s) of music to map");
    char db_buf[4096];
    if (!db) {
        mm_error err;
        if (mm_catalog_default_path(db_buf, sizeof db_buf, &err) != MM_OK) {
            fprintf(stderr, "musicmap run: %s\n", err.msg);
            return MM_EXIT_FAILURE;
        }
        db = db_buf;
    }
    char jobs_buf[16];
    snprintf(jobs_buf, sizeof jobs_buf, "%d", jobs ? atoi(jobs) : mm_cpu_count());

    /* 1. scan: failures of single files are reported but don't stop the map */
    char *scan_argv[1100];
    int scan_argc = 0;
    scan_argv[scan_argc++] = "scan";
    scan_argv[scan_argc++] = "--db";
    scan_argv[scan_argc++] = (char *)db;
    scan_argv[scan_argc++] = "-j";
    scan_argv[scan_argc++] = jobs_buf;
    for (int i = optind; i < argc && scan_argc < 1099; i++)
        scan_argv[scan_argc++] = argv[i];
    scan_argv[scan_argc] = NULL;
    int rc = mm_cmd_scan(cli, scan_argc, scan_argv);
    if (rc == MM_EXIT_USAGE)
        return rc;

    /* 2. a model: trained on the tags when there are enough, kept from an earlier run otherwise */
    mm_catalog *cat = NULL;
    if (mm_cli_open_catalog(cli, "run", db, 0, &cat) != 0)
        return MM_EXIT_FAILURE;
    tag_count tags = {0};
    mm_error err;
    mm_model_record existing;
    int have_model = mm_catalog_get_model(cat, RUN_MODEL, &existing, NULL) == MM_OK;
    if (have_model)
        mm_model_record_free(&existing);
    mm_status st = mm_catalog_each_track(cat, MM_TRACK_OK, count_tag, &tags, &err);
    mm_catalog_close(cat);
    if (st != MM_OK) {
        fprintf(stderr, "musicmap run: %s\n", err.msg);
        return MM_EXIT_FAILURE;
    }
    long need = atol(min_count);
    int learnable = 0;
    size_t covered = 0;
    for (int i = 0; i < tags.n; i++)
        if ((long)tags.counts[i] >= need) {
            learnable++;
            covered += tags.counts[i];
        }
    /* A classifier is trained only on tags that describe most of the collection: one trained on a
     * minority's genres maps everyone else by guesswork (bench/RESULTS.md, "Map quality"). */
    int enough_tags = learnable >= 2 && 2 * covered >= tags.songs;
    const char *features = RUN_FEATURES, *features_note = "";
    if (learnable >= 2 && !enough_tags)
        mm_log(&cli->log, MM_LOG_WARN,
               "run: only %zu of %zu songs carry one of the %d genre tags with %ld or more songs: too few to train "
               "a genre model on; the maps use the songs' audio descriptors",
               covered, tags.songs, learnable, need);
    if ((!have_model || retrain) && enough_tags) {
        mm_log(&cli->log, MM_LOG_INFO, "run: %d genres have %ld or more tagged songs: training a %s model on them",
               learnable, need, preset);
        rc = run_step(cli, mm_cmd_train, "train", "--db", db, "--preset", preset, "--epochs", epochs, "--min-count",
                      min_count, "--name", RUN_MODEL, "-j", jobs_buf, (char *)NULL);
        if (rc != MM_EXIT_OK)
            return rc;
        have_model = 1;
    } else if (!have_model && learnable < 2) {
        mm_log(&cli->log, MM_LOG_WARN,
               "run: too few genre tags to learn genres from (%d genres with %ld or more songs; 2 needed): the maps use "
               "the songs' audio descriptors, and are coloured by nothing but what tags there are. Tag your music, or "
               "train on folders or a CSV (musicmap train --labels ...), then run again.",
               learnable, need);
    }
    if (!have_model || !enough_tags)
        features = "descriptors";
    if (have_model && strcmp(features, "descriptors") == 0)
        features_note = " (the genre model names each song's likely genre, in its details)";
    mm_log(&cli->log, MM_LOG_INFO, "run: the maps are made from the %s%s", strcmp(features, "descriptors") == 0
           ? "songs' audio descriptors (timbre, spectral shape, rhythm, harmony, dynamics; no model needed)"
           : "genre model's output vectors", features_note);
    if (have_model) {
        rc = run_step(cli, mm_cmd_embed, "embed", "--db", db, "-m", RUN_MODEL, "-j", jobs_buf, (char *)NULL);
        if (rc != MM_EXIT_OK)
            return rc;
        report_colours(cli, db, strcmp(features, "descriptors") != 0);
    }
    /* 3. the maps */
    static const char *const methods[3] = {"umap", "tsne", "pca"};
    for (int i = 0; i < 3; i++) {
        rc = have_model ? run_step(cli, mm_cmd_map, "map", "--db", db, "-m", RUN_MODEL, "--method", methods[i],
                                   "--features", features, "-j", jobs_buf, (char *)NULL)
                        : run_step(cli, mm_cmd_map, "map", "--db", db, "--method", methods[i], "--features", features,
                                   "-j", jobs_buf, (char *)NULL);
        if (rc != MM_EXIT_OK)
            return rc;
    }
    if (!serve)
        return MM_EXIT_OK;
    /* 4. serve: prints the address and runs until Ctrl-C */
    return open_page ? run_step(cli, mm_cmd_serve, "serve", "--db", db, "--port", port, "--host", host, "--open",
                                (char *)NULL)
                     : run_step(cli, mm_cmd_serve, "serve", "--db", db, "--port", port, "--host", host, (char *)NULL);
}
