/* musicmap train: a genre classifier from the catalog's spectrograms and a label source, or (with
 * --self-supervised) a network that learns song vectors from the spectrograms alone. The training is
 * the library's (mm_pipeline_train); this file parses the options and prints the progress and results,
 * which `run` prints the same way. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/pipeline.h"

static void train_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap train [OPTIONS]\n\n"
            "Trains a genre classifier (CRNN) on the spectrograms `musicmap scan` stored; never decodes audio.\n\n"
            "Labels:\n"
            "      --labels SOURCE   tags (default: the files' genre tags, normalised), folders (a folder per\n"
            "                        genre, as GTZAN), fma:FILE (FMA's tracks.csv, genre_top), csv:FILE (path,label)\n"
            "      --genres LIST     only these genres (comma-separated, normalised like the tags)\n"
            "      --min-count N     drop genres with fewer than N tracks (default 10)\n\n"
            "Model and training:\n"
            "      --preset NAME     crnn4 (default, the original), crnn6, or small (fast)\n"
            "      --name NAME       the model's name in the catalog (default: PRESET-SOURCE)\n"
            "  -o, --out FILE        the model file (default: models/NAME.mmm beside the catalog)\n"
            "      --epochs N        at most N epochs (default 40)\n"
            "      --patience N      stop after N epochs without a better validation loss (default 5)\n"
            "      --batch N         mini-batch size (default 16)\n"
            "      --lr X            Adam's learning rate (default 0.001)\n"
            "      --lr-decay F      multiply the learning rate by F after --lr-patience epochs without a\n"
            "                        better validation loss (default 0.5; 1 keeps it constant)\n"
            "      --lr-patience N   (default 2)\n"
            "      --init MODEL      start from this trained model's weights (same preset and genres), e.g. a\n"
            "                        second phase at a lower --lr\n"
            "      --split T/V/E     train/validation/test percentages (default 60/20/20)\n"
            "      --seed N          split, shuffling and initialisation (default 1)\n"
            "      --augment, --no-augment\n"
            "                        vary the training clips each epoch: time shift, gain, masked bands and\n"
            "                        spans (default: off)\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "      --resume          continue a killed training from its checkpoint (FILE.ckpt)\n"
            "\nSelf-supervised (no labels; docs/network.md):\n"
            "      --self-supervised train on every catalogued track: two excerpts of a song should be more\n"
            "                        alike than excerpts of the batch's other songs (contrastive, NT-Xent). The\n"
            "                        model's song vector is its hidden state (`map --features hidden`).\n"
            "                        Defaults change to: --name PRESET-ssl, --split 90/10/0, --augment,\n"
            "                        --batch 32 (16 songs x 2 views), --patience 0, --lr-decay 1\n"
            "      --temperature T   similarity temperature (default 0.1)\n"
            "      --projection K    the projection head's size (default 32)\n"
            "      --view SECONDS    each view is an excerpt this long of the stored clip, repeated to fill it\n"
            "                        (default: half the clip, 14.6 s; 0: the whole clip, shifted)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print only the final table and errors\n"
            "  -h, --help            show this help\n");
}

void cli_progress_init(cli_progress *p, const cli_context *cli)
{
    *p = (cli_progress){.cli = cli, .tty = isatty(STDERR_FILENO)};
}

int cli_train_progress(const mm_train_progress *p, void *ctx)
{
    const cli_progress *ui = ctx;
    const char *acc = ui->self_supervised ? "pair_acc" : "acc";
    if (ui->cli->log.level < MM_LOG_INFO)
        return 0;
    if (p->end) {
        const mm_train_epoch_stats *e = p->end;
        fprintf(stderr, "%sepoch %2d/%d  loss %.4f  %s %.3f  val_loss %.4f  val_%s %.3f  lr %.2g  %.0f s%s\n",
                ui->tty ? "\r\033[K" : "", e->epoch, p->epochs, e->train_loss, acc, e->train_acc, e->val_loss, acc,
                e->val_acc, e->learning_rate, e->seconds, e->improved ? "  (best)" : "");
        return 0;
    }
    if (ui->tty) {
        int width = 30, done = p->batches ? (int)(width * p->batch / p->batches) : 0;
        fprintf(stderr, "\r\033[Kepoch %2d/%d [%.*s%*s] %zu/%zu  loss %.4f  %s %.3f  %.1f clips/s", p->epoch,
                p->epochs, done, "==============================", width - done, "", p->batch, p->batches, p->loss,
                acc, p->accuracy, p->clips_per_s);
        fflush(stderr);
    }
    return 0;
}

static void print_confusion(const mm_eval *e, char *const *names, int k)
{
    printf("\nconfusion matrix (test; rows: true, columns: predicted)\n%12s", "");
    for (int j = 0; j < k; j++)
        printf(" %6.6s", names[j]);
    printf("\n");
    for (int i = 0; i < k; i++) {
        printf("%12.12s", names[i]);
        for (int j = 0; j < k; j++)
            printf(" %6zu", e->confusion[(size_t)i * (size_t)k + (size_t)j]);
        printf("\n");
    }
}

void cli_train_report(const cli_context *cli, const mm_train_outcome *o)
{
    const mm_train_result *r = &o->result;
    char dataset[64];
    if (o->self_supervised) {
        printf("\n%-8s %-26s %6s %15s %13s %9s\n", "model", "dataset", "epochs", "train pair acc", "val pair acc",
               "val loss");
        snprintf(dataset, sizeof dataset, "self-supervised (%zu)", o->tracks_used);
        printf("%-8s %-26s %6d %15.3f %13.3f %9.4f\n", o->preset, dataset, r->epochs_run, r->train.accuracy,
               r->val.accuracy, r->val.loss);
    } else {
        printf("\n%-8s %-26s %6s %10s %10s %10s\n", "model", "dataset", "epochs", "train acc", "val acc", "test acc");
        snprintf(dataset, sizeof dataset, "%s (%d genres, %zu)", o->source, o->n_classes, o->tracks_used);
        printf("%-8s %-26s %6d %10.3f %10.3f %10.3f\n", o->preset, dataset, r->epochs_run, r->train.accuracy,
               r->val.accuracy, r->test.accuracy);
        if (r->test.confusion)
            print_confusion(&r->test, o->classes, o->n_classes);
    }
    fflush(stdout);
    const int ssl = o->self_supervised;
    mm_log(&cli->log, MM_LOG_INFO, "train: model '%s' saved to %s (best epoch %d%s)%s%s", o->name, o->path,
           r->best_epoch, r->stopped_early ? ", stopped early" : "", ssl ? "; next: musicmap embed -m " : "",
           ssl ? o->name : "");
}

int cmd_train(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, NULL, 'L'},  {"genres", required_argument, NULL, 'G'},
        {"min-count", required_argument, NULL, 'M'}, {"preset", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'N'},    {"out", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, 'E'},  {"patience", required_argument, NULL, 'T'},
        {"batch", required_argument, NULL, 'B'},   {"lr", required_argument, NULL, 'R'},
        {"split", required_argument, NULL, 'S'},   {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},    {"resume", no_argument, NULL, 'r'},
        {"db", required_argument, NULL, 'D'},      {"help", no_argument, NULL, 'h'},
        {"augment", no_argument, NULL, 'A'},       {"no-augment", no_argument, NULL, 'a'},
        {"lr-decay", required_argument, NULL, 'K'}, {"lr-patience", required_argument, NULL, 'k'},
        {"init", required_argument, NULL, 'I'},
        {"self-supervised", no_argument, NULL, 'Z'}, {"temperature", required_argument, NULL, 'Y'},
        {"projection", required_argument, NULL, 'X'}, {"view", required_argument, NULL, 'W'},
        MM_CLI_COMMON_LONGOPTS,                    {NULL, 0, NULL, 0},
    };
    const char *source = "tags", *genres = NULL, *db = NULL;
    long tv = -1, vv = -1;
    int labels_given = 0;
    /* what isn't given stays at the library's default (or the kind's: -1) */
    mm_train_request req;
    mm_train_request_init(&req);
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "o:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        long v;
        double d;
        switch (o) {
        case 'L': source = optarg, labels_given = 1; break;
        case 'G': genres = optarg, labels_given = 1; break;
        case 'Z': req.self_supervised = 1; break;
        case 'Y':
            if (cli_parse_double(optarg, 0.01, 10, &req.temperature))
                return cli_usage_error(cli, "train", "--temperature needs a number from 0.01 to 10");
            break;
        case 'X':
            if (cli_parse_int(optarg, 2, MM_MAX_LABELS, &v))
                return cli_usage_error(cli, "train", "--projection needs a number from 2 to %d", MM_MAX_LABELS);
            req.projection = (int)v;
            break;
        case 'W':
            if (cli_parse_double(optarg, 0, 3600, &req.view_seconds))
                return cli_usage_error(cli, "train", "--view needs a number of seconds >= 0");
            break;
        case 'M':
            if (cli_parse_int(optarg, 1, 1000000, &v))
                return cli_usage_error(cli, "train", "--min-count needs a positive number");
            req.min_count = (int)v;
            labels_given = 1;
            break;
        case 'P': req.preset = optarg; break;
        case 'N': req.name = optarg; break;
        case 'o': req.path = optarg; break;
        case 'E':
            if (cli_parse_int(optarg, 1, 100000, &v))
                return cli_usage_error(cli, "train", "--epochs needs a positive number");
            req.epochs = (int)v;
            break;
        case 'T':
            if (cli_parse_int(optarg, 0, 100000, &v))
                return cli_usage_error(cli, "train", "--patience needs a number >= 0");
            req.patience = (int)v;
            break;
        case 'B':
            if (cli_parse_int(optarg, 1, 4096, &v))
                return cli_usage_error(cli, "train", "--batch needs a number from 1 to 4096");
            req.batch = (int)v;
            break;
        case 'R':
            if (cli_parse_double(optarg, 1e-8, 10, &d))
                return cli_usage_error(cli, "train", "--lr needs a positive number");
            req.learning_rate = d;
            break;
        case 'S':
            if (sscanf(optarg, "%ld/%ld/%*d", &tv, &vv) != 2 || tv < 1 || vv < 0 || tv + vv > 100)
                return cli_usage_error(cli, "train", "--split takes T/V/E percentages, e.g. 60/20/20");
            break;
        case 's':
            if (cli_parse_int(optarg, 0, 0x7fffffffL, &v))
                return cli_usage_error(cli, "train", "--seed needs a number >= 0");
            req.seed = (uint64_t)v;
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &v))
                return cli_usage_error(cli, "train", "--jobs needs a number from 1 to 1024");
            req.threads = (int)v;
            break;
        case 'r': req.resume = 1; break;
        case 'K':
            if (cli_parse_double(optarg, 1e-6, 1, &d))
                return cli_usage_error(cli, "train", "--lr-decay needs a number in (0, 1]");
            req.lr_decay = d;
            break;
        case 'k':
            if (cli_parse_int(optarg, 1, 100000, &v))
                return cli_usage_error(cli, "train", "--lr-patience needs a positive number");
            req.lr_patience = (int)v;
            break;
        case 'I': req.init = optarg; break;
        case 'A': req.augment = 1; break;
        case 'a': req.augment = 0; break;
        case 'D': db = optarg; break;
        case 'h': train_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "train", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error(cli, "train", "unexpected argument '%s'", argv[optind]);
    if (!mm_preset_find(req.preset))
        return cli_usage_error(cli, "train", "unknown preset '%s' (crnn4, crnn6, small)", req.preset);
    if (req.self_supervised) {
        if (labels_given)
            return cli_usage_error(cli, "train", "--self-supervised learns without labels: no --labels, --genres "
                                      "or --min-count");
        if (req.batch >= 0 && (req.batch < 4 || req.batch % 2))
            return cli_usage_error(cli, "train", "--self-supervised needs an even --batch of at least 4 (2 views "
                                      "per song)");
    } else {
        if (tv >= 0 && (vv < 1 || tv + vv >= 100))
            return cli_usage_error(cli, "train", "--split takes T/V/E percentages, e.g. 60/20/20");
        if (mm_label_source_parse(source, &req.labels, &req.labels_file) != 0)
            return cli_usage_error(cli, "train", "--labels is tags, folders, fma:FILE or csv:FILE, not '%s'", source);
    }
    if (tv >= 0) {
        req.train_frac = (double)tv / 100.0;
        req.val_frac = (double)vv / 100.0;
    }
    /* --genres a,b,c: the library normalises each */
    char genre_buf[4096];
    const char *wanted[MM_MAX_LABELS];
    size_t n_wanted = 0;
    if (genres) {
        snprintf(genre_buf, sizeof genre_buf, "%s", genres);
        for (char *save = NULL, *t = strtok_r(genre_buf, ",", &save); t && n_wanted < MM_MAX_LABELS;
             t = strtok_r(NULL, ",", &save))
            wanted[n_wanted++] = t;
        req.genres = wanted;
        req.n_genres = n_wanted;
    }
    cli_progress ui;
    cli_progress_init(&ui, cli);
    ui.self_supervised = req.self_supervised;
    req.log = &cli->log;
    req.progress = cli_train_progress;
    req.progress_ctx = &ui;

    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "train", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    mm_train_outcome out;
    mm_error err;
    int rc = CLI_EXIT_OK;
    if (mm_pipeline_train(cat, &req, &out, &err) == MM_OK) {
        cli_train_report(cli, &out);
    } else {
        fprintf(stderr, "musicmap train: %s\n", err.msg);
        rc = CLI_EXIT_FAILURE;
    }
    mm_train_outcome_free(&out);
    mm_catalog_close(cat);
    return rc;
}
