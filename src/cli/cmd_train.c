/* musicmap train: a genre classifier from the catalog's spectrograms and a label source, or (with
 * --self-supervised) a network that learns song vectors from the spectrograms alone. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/pipeline.h"
#include "musicmap/catalog.h"
#include "musicmap/nn.h"

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

typedef struct train_data {
    mm_catalog *cat;
    const int64_t *ids;
} train_data;

static int read_item(void *ctx, size_t index, float *logmel, mm_error *err)
{
    train_data *d = ctx;
    return mm_catalog_read_features(d->cat, d->ids[index], logmel, err) == MM_OK ? 0 : -1;
}

typedef struct progress_ctx {
    const mm_cli *cli;
    int tty;
    const char *acc; /* what accuracy means: "acc", or "pair_acc" (self-supervised) */
} progress_ctx;

static int on_progress(void *ctx, const mm_train_progress *p)
{
    progress_ctx *pc = ctx;
    if (pc->cli->log.level < MM_LOG_INFO)
        return 0;
    if (p->end) {
        const mm_train_epoch_stats *e = p->end;
        fprintf(stderr, "%sepoch %2d/%d  loss %.4f  %s %.3f  val_loss %.4f  val_%s %.3f  lr %.2g  %.0f s%s\n",
                pc->tty ? "\r\033[K" : "", e->epoch, p->epochs, e->train_loss, pc->acc, e->train_acc, e->val_loss,
                pc->acc, e->val_acc, e->learning_rate, e->seconds, e->improved ? "  (best)" : "");
        return 0;
    }
    if (pc->tty) {
        int width = 30, done = p->batches ? (int)(width * p->batch / p->batches) : 0;
        fprintf(stderr, "\r\033[Kepoch %2d/%d [%.*s%*s] %zu/%zu  loss %.4f  %s %.3f  %.1f clips/s", p->epoch,
                p->epochs, done, "==============================", width - done, "", p->batch, p->batches, p->loss,
                pc->acc, p->accuracy, p->clips_per_s);
        fflush(stderr);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
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

/* A default model path: models/NAME.mmm beside the catalog. */
static int default_model_path(const char *db_path, const char *name, char *out, size_t size)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", db_path);
    const char *dir = dirname(copy);
    char models[4200];
    snprintf(models, sizeof models, "%.4000s/models", dir);
    if (mkdir(models, 0777) != 0 && errno != EEXIST)
        return -1;
    int n = snprintf(out, size, "%.4100s/%.255s.mmm", models, name);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* --init: start from a trained model's weights (a second phase at a lower learning rate, or fine-tuning
 * on new songs). It must be the same network for the same genres, in the same order. */
static mm_status init_from(mm_model *model, const char *path, mm_error *err)
{
    mm_model *from;
    mm_status st = mm_model_load(&from, path, err);
    if (st != MM_OK)
        return st;
    /* an imported model of another GRU variant: this trainer would compute it differently */
    if ((st = mm_model_check_trainable(from, err)) != MM_OK) {
        mm_model_close(from);
        return st;
    }
    const char *why = NULL;
    if (strcmp(mm_model_preset(from)->name, mm_model_preset(model)->name) != 0)
        why = "another preset";
    else if (mm_model_n_labels(from) != mm_model_n_labels(model))
        why = "another number of genres";
    for (int i = 0; !why && i < mm_model_n_labels(model); i++)
        if (strcmp(mm_model_label(from, i), mm_model_label(model, i)) != 0)
            why = "other genres";
    if (!why && mm_model_head(from) != mm_model_head(model))
        why = "another output head";
    mm_error fe_err;
    if (!why && mm_frontend_check(mm_model_frontend(from), mm_model_frontend(model), &fe_err) != 0)
        why = "another front-end";
    if (why) {
        st = mm_error_set(err, MM_ERR_ARG, "--init %s: %s (%s, %d genres) than this training (%s, %d genres)", path, why,
                          mm_model_preset(from)->name, mm_model_n_labels(from), mm_model_preset(model)->name,
                          mm_model_n_labels(model));
    } else {
        for (int i = 0; i < mm_model_n_params(model); i++)
            memcpy(mm_model_param(model, i)->data, mm_model_param(from, i)->data,
                   sizeof(float) * mm_model_param(model, i)->count);
    }
    mm_model_close(from);
    return st;
}

/* What --self-supervised needs from the command line. */
typedef struct ssl_args {
    const mm_preset *preset;
    const char *name, *out_path, *init_path;
    long seed, jobs, tv, vv, projection;
    double temperature, view_seconds;
} ssl_args;

/* --self-supervised: every track with features, no labels; the model is registered without a label set
 * and with its pair accuracy instead of a test accuracy (so maps are never coloured by its outputs). */
static int train_self_supervised(mm_cli *cli, mm_catalog *cat, const ssl_args *a, mm_train_options *opt)
{
    int rc = MM_EXIT_FAILURE, have_result = 0;
    mm_error err;
    int64_t *ids = NULL;
    size_t n = 0;
    char **names = NULL;
    mm_model *model = NULL;
    mm_trainer *trainer = NULL;
    mm_train_result result;
    memset(&result, 0, sizeof result);
    char model_path[4400], ckpt[4500], model_name[256];
    mm_frontend_params fe;
    if (mm_catalog_feature_ids(cat, &ids, &n, &err) != MM_OK || mm_catalog_frontend(cat, &fe, &err) != MM_OK)
        goto fail;
    if (n < 4) {
        mm_error_set(&err, MM_ERR_ARG, "%zu tracks with features: self-supervised training needs at least 4", n);
        goto fail;
    }
    mm_log(&cli->log, MM_LOG_INFO, "train: %zu tracks, self-supervised (no labels)", n);
    const mm_preset *preset = a->preset;
    if (mm_model_create(&model, preset, (int)a->projection, NULL, MM_HEAD_CONTRASTIVE, &fe, &err) != MM_OK ||
        mm_model_init_random(model, (uint64_t)a->seed, &err) != MM_OK)
        goto fail;
    mm_model_set_temperature(model, (float)a->temperature);
    if (a->init_path && init_from(model, a->init_path, &err) != MM_OK)
        goto fail;
    snprintf(model_name, sizeof model_name, "%s", a->name ? a->name : "");
    if (!a->name)
        snprintf(model_name, sizeof model_name, "%s-ssl", preset->name);
    if (a->out_path)
        snprintf(model_path, sizeof model_path, "%s", a->out_path);
    else if (default_model_path(mm_catalog_path(cat), model_name, model_path, sizeof model_path) != 0) {
        mm_error_set(&err, MM_ERR_IO, "cannot create the models folder beside %s: %s", mm_catalog_path(cat), strerror(errno));
        goto fail;
    }
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", model_path);

    train_data data = {cat, ids};
    mm_dataset dataset = {n, NULL, read_item, &data};
    progress_ctx pc = {cli, isatty(STDERR_FILENO), "pair_acc"};
    opt->seed = (uint64_t)a->seed;
    opt->warm_start = a->init_path != NULL;
    opt->threads = (int)(a->jobs > 0 ? a->jobs : mm_cpu_count());
    opt->train_frac = (double)a->tv / 100.0;
    opt->val_frac = (double)a->vv / 100.0;
    if (a->view_seconds >= 0) /* else the library's default: half the clip */
        opt->view_frames = (int)(a->view_seconds * fe.sample_rate / fe.hop + 0.5);
    const double view_seconds = (opt->view_frames > 0 && opt->view_frames < MM_N_FRAMES ? opt->view_frames : MM_N_FRAMES) *
                                (double)fe.hop / fe.sample_rate;
    opt->checkpoint = ckpt;
    opt->progress = on_progress;
    opt->progress_ctx = &pc;
    if (opt->resume && access(ckpt, R_OK) != 0)
        mm_log(&cli->log, MM_LOG_WARN, "train: no checkpoint at %s; starting afresh", ckpt);
    if (mm_trainer_open(&trainer, model, &dataset, opt, &err) != MM_OK)
        goto fail;
    const mm_split *split = mm_trainer_split(trainer);
    mm_log(&cli->log, MM_LOG_INFO,
           "train: %s on %zu / %zu songs (train / validation), %d songs x 2 views per batch, views of %.1f s, "
           "temperature %g, checkpoint %s",
           preset->name, split->n_train, split->n_val, opt->batch / 2, view_seconds, a->temperature, ckpt);
    if (mm_trainer_run(trainer, &result, &err) != MM_OK)
        goto fail;
    have_result = 1;
    if (result.interrupted) {
        mm_error_set(&err, MM_ERR_IO, "training interrupted; continue with --resume");
        goto fail;
    }
    if (mm_model_save(model, model_path, &err) != MM_OK)
        goto fail;

    const int k = mm_model_n_labels(model);
    names = calloc((size_t)k, sizeof *names);
    if (!names) {
        mm_error_set(&err, MM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < k; i++)
        names[i] = (char *)mm_model_label(model, i);
    char metrics[512];
    snprintf(metrics, sizeof metrics,
             "{\"self_supervised\": true, \"epochs\": %d, \"best_epoch\": %d, \"train_pair_accuracy\": %.4f, "
             "\"val_pair_accuracy\": %.4f, \"val_loss\": %.4f, \"temperature\": %g, \"projection\": %d, "
             "\"view_seconds\": %g, \"tracks\": %zu, \"seed\": %ld}",
             result.epochs_run, result.best_epoch, result.train.accuracy, result.val.accuracy, result.val.loss,
             a->temperature, k, view_seconds, n, a->seed);
    char model_abs[PATH_MAX];
    mm_model_record rec = {.name = model_name,
                           .file = realpath(model_path, model_abs) ? model_abs : model_path,
                           .architecture = (char *)preset->name,
                           .n_classes = k,
                           .classes = names,
                           .embedding_dim = preset->gru_units,
                           .metrics = metrics};
    int64_t model_id;
    if (mm_catalog_put_model(cat, &rec, &model_id, &err) != MM_OK)
        goto fail;
    unlink(ckpt); /* finished: nothing to resume */

    printf("\n%-8s %-26s %6s %15s %13s %9s\n", "model", "dataset", "epochs", "train pair acc", "val pair acc",
           "val loss");
    char dataset_desc[64];
    snprintf(dataset_desc, sizeof dataset_desc, "self-supervised (%zu)", n);
    printf("%-8s %-26s %6d %15.3f %13.3f %9.4f\n", preset->name, dataset_desc, result.epochs_run,
           result.train.accuracy, result.val.accuracy, result.val.loss);
    mm_log(&cli->log, MM_LOG_INFO, "train: model '%s' saved to %s (best epoch %d%s); next: musicmap embed -m %s",
           model_name, model_path, result.best_epoch, result.stopped_early ? ", stopped early" : "", model_name);
    rc = MM_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap train: %s\n", err.msg);
done:
    if (have_result)
        mm_train_result_free(&result);
    mm_trainer_close(trainer);
    mm_model_close(model);
    free(names);
    free(ids);
    return rc;
}

int mm_cmd_train(mm_cli *cli, int argc, char **argv)
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
    const char *source = "tags", *genres = NULL, *preset_name = "crnn4", *name = NULL, *out_path = NULL, *db = NULL,
               *init_path = NULL;
    long min_count = 10, jobs = 0, seed = 1, tv = -1, vv = -1, projection = 32;
    int ssl = 0, labels_given = 0, batch_given = 0, augment_given = 0;
    double temperature = 0.1, view_seconds = -1;
    int patience_given = 0, decay_given = 0;
    mm_train_options opt;
    mm_train_options_default(&opt);
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "o:j:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, o))
            continue;
        long v;
        double d;
        switch (o) {
        case 'L': source = optarg, labels_given = 1; break;
        case 'G': genres = optarg, labels_given = 1; break;
        case 'Z': ssl = 1; break;
        case 'Y':
            if (mm_cli_parse_double(optarg, 0.01, 10, &temperature))
                return mm_cli_usage_error(cli, "train", "--temperature needs a number from 0.01 to 10");
            break;
        case 'X':
            if (mm_cli_parse_int(optarg, 2, MM_MAX_LABELS, &projection))
                return mm_cli_usage_error(cli, "train", "--projection needs a number from 2 to %d", MM_MAX_LABELS);
            break;
        case 'W':
            if (mm_cli_parse_double(optarg, 0, 3600, &view_seconds))
                return mm_cli_usage_error(cli, "train", "--view needs a number of seconds >= 0");
            break;
        case 'M':
            if (mm_cli_parse_int(optarg, 1, 1000000, &min_count))
                return mm_cli_usage_error(cli, "train", "--min-count needs a positive number");
            labels_given = 1;
            break;
        case 'P': preset_name = optarg; break;
        case 'N': name = optarg; break;
        case 'o': out_path = optarg; break;
        case 'E':
            if (mm_cli_parse_int(optarg, 1, 100000, &v))
                return mm_cli_usage_error(cli, "train", "--epochs needs a positive number");
            opt.epochs = (int)v;
            break;
        case 'T':
            if (mm_cli_parse_int(optarg, 0, 100000, &v))
                return mm_cli_usage_error(cli, "train", "--patience needs a number >= 0");
            opt.patience = (int)v;
            patience_given = 1;
            break;
        case 'B':
            if (mm_cli_parse_int(optarg, 1, 4096, &v))
                return mm_cli_usage_error(cli, "train", "--batch needs a number from 1 to 4096");
            opt.batch = (int)v;
            batch_given = 1;
            break;
        case 'R':
            if (mm_cli_parse_double(optarg, 1e-8, 10, &d))
                return mm_cli_usage_error(cli, "train", "--lr needs a positive number");
            opt.learning_rate = d;
            break;
        case 'S':
            if (sscanf(optarg, "%ld/%ld/%*d", &tv, &vv) != 2 || tv < 1 || vv < 0 || tv + vv > 100)
                return mm_cli_usage_error(cli, "train", "--split takes T/V/E percentages, e.g. 60/20/20");
            break;
        case 's':
            if (mm_cli_parse_int(optarg, 0, 0x7fffffffL, &seed))
                return mm_cli_usage_error(cli, "train", "--seed needs a number >= 0");
            break;
        case 'j':
            if (mm_cli_parse_int(optarg, 1, 1024, &jobs))
                return mm_cli_usage_error(cli, "train", "--jobs needs a number from 1 to 1024");
            break;
        case 'r': opt.resume = 1; break;
        case 'K':
            if (mm_cli_parse_double(optarg, 1e-6, 1, &d))
                return mm_cli_usage_error(cli, "train", "--lr-decay needs a number in (0, 1]");
            opt.lr_decay = d;
            decay_given = 1;
            break;
        case 'k':
            if (mm_cli_parse_int(optarg, 1, 100000, &v))
                return mm_cli_usage_error(cli, "train", "--lr-patience needs a positive number");
            opt.lr_patience = (int)v;
            break;
        case 'I': init_path = optarg; break;
        case 'A': opt.augment = 1, augment_given = 1; break;
        case 'a': opt.augment = 0, augment_given = 1; break;
        case 'D': db = optarg; break;
        case 'h': train_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "train", "bad option");
        }
    }
    if (optind != argc)
        return mm_cli_usage_error(cli, "train", "unexpected argument '%s'", argv[optind]);
    const mm_preset *preset = mm_preset_find(preset_name);
    if (!preset)
        return mm_cli_usage_error(cli, "train", "unknown preset '%s' (crnn4, crnn6, small)", preset_name);
    if (ssl) {
        if (labels_given)
            return mm_cli_usage_error(cli, "train", "--self-supervised learns without labels: no --labels, --genres "
                                      "or --min-count");
        if (batch_given && (opt.batch < 4 || opt.batch % 2))
            return mm_cli_usage_error(cli, "train", "--self-supervised needs an even --batch of at least 4 (2 views "
                                      "per song)");
        if (tv >= 0 && tv + vv > 100)
            return mm_cli_usage_error(cli, "train", "--split takes T/V/E percentages, e.g. 90/10/0");
        ssl_args a = {preset, name, out_path, init_path, seed, jobs, tv >= 0 ? tv : 90, tv >= 0 ? vv : 10,
                      projection, temperature, view_seconds};
        if (!batch_given)
            opt.batch = 32;
        if (!augment_given)
            opt.augment = 1;
        /* the held-out loss of a few songs dips in the first epochs and recovers only after ~30 (measured,
         * docs/network.md): early stopping and the plateau schedule would end the run at the dip */
        if (!patience_given)
            opt.patience = 0;
        if (!decay_given)
            opt.lr_decay = 1;
        mm_catalog *cat = NULL;
        if (mm_cli_open_catalog(cli, "train", db, 0, &cat) != 0)
            return MM_EXIT_FAILURE;
        int rc = train_self_supervised(cli, cat, &a, &opt);
        mm_catalog_close(cat);
        return rc;
    }
    if (tv < 0)
        tv = 60, vv = 20;
    if (vv < 1 || tv + vv >= 100)
        return mm_cli_usage_error(cli, "train", "--split takes T/V/E percentages, e.g. 60/20/20");
    mm_label_source kind;
    const char *file = NULL;
    if (mm_label_source_parse(source, &kind, &file) != 0)
        return mm_cli_usage_error(cli, "train", "--labels is tags, folders, fma:FILE or csv:FILE, not '%s'", source);

    mm_catalog *cat = NULL;
    if (mm_cli_open_catalog(cli, "train", db, 0, &cat) != 0)
        return MM_EXIT_FAILURE;
    int rc = MM_EXIT_FAILURE;
    mm_error err;
    mm_label_list list = {0};
    char **classes = NULL;
    int k = 0, *labels = NULL;
    mm_model *model = NULL;
    mm_trainer *trainer = NULL;
    mm_train_result result;
    memset(&result, 0, sizeof result);
    int have_result = 0;
    char model_path[4400], ckpt[4500], set_name[256], model_name[256];

    if (mm_labels_collect(cat, kind, file, &list, &err) != MM_OK)
        goto fail;
    /* the classes: wanted genres with at least min_count tracks, in alphabetical order */
    char *wanted[MM_MAX_LABELS];
    int n_wanted = 0;
    char genre_buf[4096];
    if (genres) {
        snprintf(genre_buf, sizeof genre_buf, "%s", genres);
        for (char *save = NULL, *t = strtok_r(genre_buf, ",", &save); t && n_wanted < MM_MAX_LABELS;
             t = strtok_r(NULL, ",", &save)) {
            char norm[MM_LABEL_NAME_MAX];
            mm_label_normalise(t, norm, sizeof norm);
            if (norm[0])
                wanted[n_wanted++] = strdup(norm);
        }
    }
    char **sorted = malloc(sizeof *sorted * (list.n ? list.n : 1));
    classes = calloc(MM_MAX_LABELS, sizeof *classes);
    if (!sorted || !classes) {
        free(sorted);
        mm_error_set(&err, MM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(sorted, list.labels, sizeof *sorted * list.n);
    qsort(sorted, list.n, sizeof *sorted, cmp_str);
    size_t dropped = 0;
    for (size_t i = 0; i < list.n;) {
        size_t j = i;
        while (j < list.n && strcmp(sorted[j], sorted[i]) == 0)
            j++;
        int keep = (long)(j - i) >= min_count;
        if (keep && n_wanted) {
            keep = 0;
            for (int w = 0; w < n_wanted; w++)
                keep |= strcmp(wanted[w], sorted[i]) == 0;
        }
        if (keep && k < MM_MAX_LABELS)
            classes[k++] = sorted[i];
        else
            dropped += j - i;
        i = j;
    }
    for (int w = 0; w < n_wanted; w++)
        free(wanted[w]);
    free(sorted);
    if (k < 2) {
        mm_error_set(&err, MM_ERR_ARG,
                     "%zu labelled tracks, but fewer than two genres have %ld or more (see --labels, --min-count)",
                     list.n, min_count);
        goto fail;
    }
    labels = malloc(sizeof *labels * list.n);
    if (!labels) {
        mm_error_set(&err, MM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t used = 0;
    for (size_t i = 0; i < list.n; i++) {
        labels[i] = -1;
        for (int c = 0; c < k; c++)
            if (strcmp(list.labels[i], classes[c]) == 0)
                labels[i] = c;
        used += labels[i] >= 0;
    }
    mm_log(&cli->log, MM_LOG_INFO, "train: %zu tracks in %d genres from %s (%zu tracks of rarer or unchosen genres left out)",
           used, k, source, dropped);

    /* the model */
    mm_frontend_params fe;
    if (mm_catalog_frontend(cat, &fe, &err) != MM_OK)
        goto fail;
    if (mm_model_create(&model, preset, k, (const char *const *)classes, MM_HEAD_SOFTMAX, &fe, &err) != MM_OK ||
        mm_model_init_random(model, (uint64_t)seed, &err) != MM_OK)
        goto fail;
    if (init_path && init_from(model, init_path, &err) != MM_OK)
        goto fail;
    const char *src_word = kind == MM_LABELS_TAGS ? "tags" : kind == MM_LABELS_FOLDERS ? "folders" : kind == MM_LABELS_FMA ? "fma" : "csv";
    snprintf(model_name, sizeof model_name, "%s", name ? name : "");
    if (!name)
        snprintf(model_name, sizeof model_name, "%s-%s", preset->name, src_word);
    if (out_path)
        snprintf(model_path, sizeof model_path, "%s", out_path);
    else if (default_model_path(mm_catalog_path(cat), model_name, model_path, sizeof model_path) != 0) {
        mm_error_set(&err, MM_ERR_IO, "cannot create the models folder beside %s: %s", mm_catalog_path(cat), strerror(errno));
        goto fail;
    }
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", model_path);

    train_data data = {cat, list.ids};
    mm_dataset dataset = {list.n, labels, read_item, &data};
    progress_ctx pc = {cli, isatty(STDERR_FILENO), "acc"};
    opt.seed = (uint64_t)seed;
    opt.warm_start = init_path != NULL;
    opt.threads = (int)(jobs > 0 ? jobs : mm_cpu_count());
    opt.train_frac = (double)tv / 100.0;
    opt.val_frac = (double)vv / 100.0;
    opt.checkpoint = ckpt;
    opt.progress = on_progress;
    opt.progress_ctx = &pc;
    if (opt.resume && access(ckpt, R_OK) != 0)
        mm_log(&cli->log, MM_LOG_WARN, "train: no checkpoint at %s; starting afresh", ckpt);
    if (mm_trainer_open(&trainer, model, &dataset, &opt, &err) != MM_OK)
        goto fail;
    const mm_split *split = mm_trainer_split(trainer);
    mm_log(&cli->log, MM_LOG_INFO, "train: %s on %zu / %zu / %zu clips (train / validation / test), batch %d, checkpoint %s",
           preset->name, split->n_train, split->n_val, split->n_test, opt.batch, ckpt);
    if (mm_trainer_run(trainer, &result, &err) != MM_OK)
        goto fail;
    have_result = 1;
    if (result.interrupted) {
        mm_error_set(&err, MM_ERR_IO, "training interrupted; continue with --resume");
        goto fail;
    }
    if (mm_model_save(model, model_path, &err) != MM_OK)
        goto fail;

    /* the catalog remembers the labels (with their split), the model and its scores */
    const char **splits = calloc(list.n, sizeof *splits);
    if (splits) {
        for (size_t i = 0; i < split->n_train; i++)
            splits[split->train[i]] = "train";
        for (size_t i = 0; i < split->n_val; i++)
            splits[split->val[i]] = "val";
        for (size_t i = 0; i < split->n_test; i++)
            splits[split->test[i]] = "test";
    }
    int64_t set_id = 0, model_id = 0;
    snprintf(set_name, sizeof set_name, "%s", model_name);
    char metrics[512];
    snprintf(metrics, sizeof metrics,
             "{\"epochs\": %d, \"best_epoch\": %d, \"train_accuracy\": %.4f, \"val_accuracy\": %.4f, "
             "\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"tracks\": %zu, \"seed\": %ld}",
             result.epochs_run, result.best_epoch, result.train.accuracy, result.val.accuracy, result.test.accuracy,
             result.test.loss, used, seed);
    char model_abs[PATH_MAX];
    mm_model_record rec = {.name = model_name,
                           .file = realpath(model_path, model_abs) ? model_abs : model_path,
                           .architecture = (char *)preset->name,
                           .n_classes = k,
                           .classes = classes,
                           .embedding_dim = preset->gru_units,
                           .metrics = metrics};
    mm_status st = mm_catalog_put_labels(cat, set_name, src_word, list.n, list.ids, (const char *const *)list.labels,
                                         splits, &set_id, &err);
    free(splits);
    rec.label_set = set_id;
    if (st == MM_OK)
        st = mm_catalog_put_model(cat, &rec, &model_id, &err);
    if (st != MM_OK)
        goto fail;
    unlink(ckpt); /* finished: nothing to resume */

    printf("\n%-8s %-26s %6s %10s %10s %10s\n", "model", "dataset", "epochs", "train acc", "val acc", "test acc");
    char dataset_desc[64];
    snprintf(dataset_desc, sizeof dataset_desc, "%s (%d genres, %zu)", src_word, k, used);
    printf("%-8s %-26s %6d %10.3f %10.3f %10.3f\n", preset->name, dataset_desc, result.epochs_run,
           result.train.accuracy, result.val.accuracy, result.test.accuracy);
    print_confusion(&result.test, classes, k);
    mm_log(&cli->log, MM_LOG_INFO, "train: model '%s' saved to %s (best epoch %d%s)", model_name, model_path,
           result.best_epoch, result.stopped_early ? ", stopped early" : "");
    rc = MM_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap train: %s\n", err.msg);
done:
    if (have_result)
        mm_train_result_free(&result);
    mm_trainer_close(trainer);
    mm_model_close(model);
    free(labels);
    free(classes);
    mm_label_list_free(&list);
    mm_catalog_close(cat);
    return rc;
}
