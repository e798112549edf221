/* Training from the catalog: the labels and the genres to learn (or, self-supervised, every song), the
 * model (new, or from a trained one's weights), the trainer with its checkpoint, the saved file, and what
 * the catalog remembers of it (label set with its split, the model, its scores). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/shared.h"
#include "internal.h"

/* The self-supervised kind's defaults (docs/network.md): a batch of 16 songs x 2 views, augmented
 * views, a 90/10 split with no test set, and neither early stopping nor the plateau schedule (the
 * held-out loss of a few songs dips in the first epochs and recovers only after ~30, which they would
 * take for the end). */
#define SSL_BATCH 32
#define SSL_PATIENCE 0
#define SSL_LR_DECAY 1.0
#define SSL_TRAIN_FRAC 0.9
#define SSL_VAL_FRAC 0.1

void mm_train_request_init(mm_train_request *req)
{
    mm_train_options o;
    mm_train_options_init(&o);
    *req = (mm_train_request){.size = sizeof *req,
                              .labels = MM_LABELS_TAGS,
                              .min_count = 10,
                              .preset = "crnn4",
                              .epochs = o.epochs,
                              .patience = -1,
                              .batch = -1,
                              .learning_rate = o.learning_rate,
                              .lr_decay = -1,
                              .lr_patience = o.lr_patience,
                              .augment = -1,
                              .train_frac = -1,
                              .val_frac = -1,
                              .seed = 1,
                              .temperature = 0.1,
                              .projection = 32,
                              .view_seconds = -1};
}

void mm_train_outcome_free(mm_train_outcome *out)
{
    if (!out)
        return;
    for (int i = 0; out->classes && i < out->n_classes; i++)
        free(out->classes[i]);
    free(out->classes);
    mm_train_result_free(&out->result);
    memset(out, 0, sizeof *out);
}

/* The trainer's options: the request's, with the kind's defaults where it left -1. */
static void trainer_options(const mm_train_request *r, mm_train_options *o)
{
    mm_train_options_init(o);
    const int ssl = r->self_supervised;
    o->epochs = r->epochs;
    o->learning_rate = r->learning_rate;
    o->lr_patience = r->lr_patience;
    o->patience = r->patience >= 0 ? r->patience : ssl ? SSL_PATIENCE : o->patience;
    o->batch = r->batch >= 0 ? r->batch : ssl ? SSL_BATCH : o->batch;
    o->lr_decay = r->lr_decay >= 0 ? r->lr_decay : ssl ? SSL_LR_DECAY : o->lr_decay;
    o->augment = r->augment >= 0 ? r->augment : ssl ? 1 : o->augment;
    o->train_frac = r->train_frac >= 0 ? r->train_frac : ssl ? SSL_TRAIN_FRAC : o->train_frac;
    o->val_frac = r->val_frac >= 0 ? r->val_frac : ssl ? SSL_VAL_FRAC : o->val_frac;
    o->seed = r->seed;
    o->warm_start = r->init != NULL;
    o->threads = r->threads > 0 ? r->threads : mm_cpu_count();
    o->resume = r->resume;
    o->progress = r->progress;
    o->progress_ctx = r->progress_ctx;
}

static mm_status check_request(const mm_train_request *r, const mm_train_options *o, const mm_preset **preset,
                               mm_error *err)
{
    *preset = r->preset ? mm_preset_find(r->preset) : NULL;
    if (!*preset)
        return mm_error_set(err, MM_ERR_ARG, "unknown preset '%s' (crnn4, crnn6, small)", r->preset ? r->preset : "");
    if (o->epochs < 1 || o->batch < 1 || o->lr_patience < 1 || o->patience < 0)
        return mm_error_set(err, MM_ERR_ARG, "epochs, batch and lr_patience must be positive, patience >= 0");
    if (!(o->learning_rate > 0) || !(o->lr_decay > 0 && o->lr_decay <= 1))
        return mm_error_set(err, MM_ERR_ARG, "the learning rate must be positive and its decay in (0, 1]");
    /* slack for fractions made from percentages (0.9 + 0.1) */
    const double eps = 1e-9;
    if (!(o->train_frac > 0) || o->val_frac < 0 || o->train_frac + o->val_frac > 1 + eps)
        return mm_error_set(err, MM_ERR_ARG, "the split takes train / validation / test fractions that add up to 1");
    if (r->self_supervised) {
        if (r->n_genres)
            return mm_error_set(err, MM_ERR_ARG, "self-supervised training learns without labels: no genres");
        if (o->batch < 4 || o->batch % 2)
            return mm_error_set(err, MM_ERR_ARG, "self-supervised training needs an even batch of at least 4 (2 views "
                                                 "per song)");
        if (r->projection < 2 || r->projection > MM_MAX_LABELS || !(r->temperature > 0))
            return mm_error_set(err, MM_ERR_ARG, "the projection needs 2 to %d dimensions and a positive temperature",
                                MM_MAX_LABELS);
        return MM_OK;
    }
    if (!(o->val_frac > 0) || o->train_frac + o->val_frac >= 1 - eps)
        return mm_error_set(err, MM_ERR_ARG, "a classifier's split needs validation and test tracks, e.g. 60/20/20");
    if (r->min_count < 1)
        return mm_error_set(err, MM_ERR_ARG, "min_count must be at least 1");
    return MM_OK;
}

/* models/NAME.mmm beside the catalog (the folder is made when missing). */
static mm_status default_model_path(const char *db_path, const char *name, char *out, size_t size, mm_error *err)
{
    char copy[4096], models[4200];
    snprintf(copy, sizeof copy, "%s", db_path);
    snprintf(models, sizeof models, "%.4000s/models", dirname(copy));
    if (mkdir(models, 0777) != 0 && errno != EEXIST)
        return mm_error_set(err, MM_ERR_IO, "cannot create the models folder beside %s: %s", db_path, strerror(errno));
    int n = snprintf(out, size, "%s/%s.mmm", models, name);
    if (n < 0 || (size_t)n >= size)
        return mm_error_set(err, MM_ERR_ARG, "the model's path beside %s is too long", db_path);
    return MM_OK;
}

/* The model's name and file: as asked, or PRESET-WORD and models/NAME.mmm beside the catalog. */
static mm_status name_model(mm_catalog *cat, const mm_train_request *r, const mm_preset *preset, const char *word,
                            mm_train_outcome *out, mm_error *err)
{
    if (r->name)
        snprintf(out->name, sizeof out->name, "%s", r->name);
    else
        snprintf(out->name, sizeof out->name, "%s-%s", preset->name, word);
    snprintf(out->preset, sizeof out->preset, "%s", preset->name);
    if (!r->path)
        return default_model_path(mm_catalog_path(cat), out->name, out->path, sizeof out->path, err);
    if (strlen(r->path) >= sizeof out->path - 8) /* room for ".ckpt" */
        return mm_error_set(err, MM_ERR_ARG, "the model's path is too long");
    snprintf(out->path, sizeof out->path, "%s", r->path);
    return MM_OK;
}

/* `init`: start from a trained model's weights (a second phase at a lower learning rate, or fine-tuning
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

/* A new model with random weights, or `init`'s. */
static mm_status make_model(mm_model **model, const mm_train_request *r, const mm_preset *preset, int k,
                            const char *const *classes, mm_head head, const mm_frontend_params *fe, mm_error *err)
{
    mm_status st = mm_model_create(model, preset, k, classes, head, fe, err);
    if (st == MM_OK)
        st = mm_model_init_random(*model, r->seed, err);
    if (st == MM_OK && head == MM_HEAD_CONTRASTIVE)
        mm_model_set_temperature(*model, (float)r->temperature);
    if (st == MM_OK && r->init)
        st = init_from(*model, r->init, err);
    return st;
}

typedef struct feature_reader {
    mm_catalog *cat;
    const int64_t *ids;
} feature_reader;

static int read_item(size_t index, float *logmel, mm_error *err, void *ctx)
{
    feature_reader *d = ctx;
    return mm_catalog_read_features(d->cat, d->ids[index], logmel, err) == MM_OK ? 0 : -1;
}

static mm_status open_trainer(mm_trainer **trainer, mm_model *model, const mm_dataset *data, mm_train_options *opt,
                              const char *ckpt, const mm_logger *log, mm_error *err)
{
    opt->checkpoint = ckpt;
    if (opt->resume && access(ckpt, R_OK) != 0)
        mm_log(log, MM_LOG_WARN, "train: no checkpoint at %s; starting afresh", ckpt);
    return mm_trainer_open(trainer, model, data, opt, err);
}

/* Epochs to the end (or until the progress callback stops them), then the model file. */
static mm_status run_and_save(mm_trainer *trainer, const mm_model *model, mm_train_outcome *out, mm_error *err)
{
    mm_status st = mm_trainer_run(trainer, &out->result, err);
    if (st != MM_OK)
        return st;
    if (out->result.interrupted)
        return mm_error_set(err, MM_ERR_CANCELLED, "training interrupted; continue with --resume");
    return mm_model_save(model, out->path, err);
}

static void put_number(FILE *f, double v)
{
    if (v == v && v - v == 0) /* finite; JSON has no NaN */
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* The metrics JSON with the epochs' history and the test confusion matrix added (docs/catalog.md), for
 * the figures and the page's Model panel: the trainer forgets them when it closes. malloc'd; NULL when
 * out of memory (the caller then stores the metrics without them). */
static char *with_history(const char *metrics, const mm_trainer *trainer, const mm_eval *test)
{
    const mm_train_epoch_stats *h;
    const int n = mm_trainer_history(trainer, &h);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const char *end = strrchr(metrics, '}');
    fwrite(metrics, 1, end ? (size_t)(end - metrics) : strlen(metrics), f);
    static const char *const names[] = {"train_loss", "train_acc", "val_loss", "val_acc", "learning_rate"};
    fputs(", \"history\": {", f);
    for (int k = 0; k < 5; k++) {
        fprintf(f, "%s\"%s\": [", k ? ", " : "", names[k]);
        for (int e = 0; e < n; e++) {
            const mm_train_epoch_stats *s = &h[e];
            fputs(e ? ", " : "", f);
            put_number(f, k == 0 ? s->train_loss : k == 1 ? s->train_acc : k == 2 ? s->val_loss
                          : k == 3 ? s->val_acc : s->learning_rate);
        }
        fputs("]", f);
    }
    fputs("}", f);
    if (test && test->confusion && test->n_labels > 0) {
        fputs(", \"test_confusion\": [", f);
        for (int r = 0; r < test->n_labels; r++) {
            fputs(r ? ", [" : "[", f);
            for (int c = 0; c < test->n_labels; c++)
                fprintf(f, "%s%zu", c ? ", " : "", test->confusion[(size_t)r * (size_t)test->n_labels + (size_t)c]);
            fputs("]", f);
        }
        fputs("]", f);
    }
    fputs("}", f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Registers the saved model; the finished checkpoint goes (nothing is left to resume). */
static mm_status register_model(mm_catalog *cat, const mm_preset *preset, int64_t label_set, const char *metrics,
                                const char *ckpt, mm_train_outcome *out, mm_error *err)
{
    char abs[PATH_MAX];
    mm_model_record rec = {.name = out->name,
                           .file = realpath(out->path, abs) ? abs : out->path,
                           .architecture = (char *)preset->name,
                           .label_set = label_set,
                           .n_classes = out->n_classes,
                           .classes = out->classes,
                           .embedding_dim = preset->gru_units,
                           .metrics = (char *)metrics};
    mm_status st = mm_catalog_put_model(cat, &rec, &out->model_id, err);
    if (st == MM_OK)
        unlink(ckpt);
    return st;
}

static char **copy_model_labels(const mm_model *model)
{
    const int k = mm_model_n_labels(model);
    char **names = calloc((size_t)k, sizeof *names);
    for (int i = 0; names && i < k; i++)
        if (!(names[i] = strdup(mm_model_label(model, i)))) {
            while (i > 0)
                free(names[--i]);
            free(names);
            return NULL;
        }
    return names;
}

/* Self-supervised: every track with features, no labels; the model is registered without a label set
 * and with its pair accuracy instead of a test accuracy (so maps are never coloured by its outputs). */
static mm_status train_self_supervised(mm_catalog *cat, const mm_train_request *r, mm_train_options *opt,
                                       const mm_preset *preset, mm_train_outcome *out, mm_error *err)
{
    int64_t *ids = NULL;
    size_t n = 0;
    mm_model *model = NULL;
    mm_trainer *trainer = NULL;
    mm_frontend_params fe;
    char ckpt[sizeof out->path + 8];
    mm_status st = mm_catalog_feature_ids(cat, &ids, &n, err);
    if (st == MM_OK)
        st = mm_catalog_frontend(cat, &fe, err);
    if (st == MM_OK && n < 4)
        st = mm_error_set(err, MM_ERR_ARG, "%zu tracks with features: self-supervised training needs at least 4", n);
    if (st != MM_OK)
        goto done;
    out->self_supervised = 1;
    out->tracks_used = n;
    out->temperature = r->temperature;
    mm_log(r->log, MM_LOG_INFO, "train: %zu tracks, self-supervised (no labels)", n);
    if ((st = make_model(&model, r, preset, r->projection, NULL, MM_HEAD_CONTRASTIVE, &fe, err)) != MM_OK ||
        (st = name_model(cat, r, preset, "ssl", out, err)) != MM_OK)
        goto done;
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out->path);
    if (r->view_seconds >= 0) /* else the trainer's default: half the clip */
        opt->view_frames = (int)(r->view_seconds * fe.sample_rate / fe.hop + 0.5);
    out->view_seconds = (opt->view_frames > 0 && opt->view_frames < MM_N_FRAMES ? opt->view_frames : MM_N_FRAMES) *
                        (double)fe.hop / fe.sample_rate;

    feature_reader reader = {cat, ids};
    mm_dataset data = {n, NULL, read_item, &reader};
    if ((st = open_trainer(&trainer, model, &data, opt, ckpt, r->log, err)) != MM_OK)
        goto done;
    const mm_split *split = mm_trainer_split(trainer);
    mm_log(r->log, MM_LOG_INFO,
           "train: %s on %zu / %zu songs (train / validation), %d songs x 2 views per batch, views of %.1f s, "
           "temperature %g, checkpoint %s",
           preset->name, split->n_train, split->n_val, opt->batch / 2, out->view_seconds, r->temperature, ckpt);
    if ((st = run_and_save(trainer, model, out, err)) != MM_OK)
        goto done;
    out->n_classes = mm_model_n_labels(model);
    if (!(out->classes = copy_model_labels(model))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        goto done;
    }
    const mm_train_result *res = &out->result;
    char metrics[512];
    snprintf(metrics, sizeof metrics,
             "{\"self_supervised\": true, \"epochs\": %d, \"best_epoch\": %d, \"train_pair_accuracy\": %.4f, "
             "\"val_pair_accuracy\": %.4f, \"val_loss\": %.4f, \"temperature\": %g, \"projection\": %d, "
             "\"view_seconds\": %g, \"tracks\": %zu, \"seed\": %llu}",
             res->epochs_run, res->best_epoch, res->train.accuracy, res->val.accuracy, res->val.loss, r->temperature,
             out->n_classes, out->view_seconds, n, (unsigned long long)r->seed);
    char *full = with_history(metrics, trainer, NULL);
    st = register_model(cat, preset, 0, full ? full : metrics, ckpt, out, err);
    free(full);
done:
    mm_trainer_close(trainer);
    mm_model_close(model);
    free(ids);
    return st;
}

/* --- a genre classifier ---------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mm_status pipe_count_genres(const mm_label_list *list, pipe_genre **out, size_t *n, mm_error *err)
{
    *out = NULL;
    *n = 0;
    char **sorted = malloc(sizeof *sorted * (list->n ? list->n : 1));
    pipe_genre *genres = malloc(sizeof *genres * (list->n ? list->n : 1));
    if (!sorted || !genres) {
        free(sorted);
        free(genres);
        return mm_error_set(err, MM_ERR_NOMEM, "counting genres: out of memory");
    }
    if (list->n)
        memcpy(sorted, list->labels, sizeof *sorted * list->n);
    qsort(sorted, list->n, sizeof *sorted, cmp_str);
    for (size_t i = 0, j; i < list->n; i = j) {
        for (j = i; j < list->n && strcmp(sorted[j], sorted[i]) == 0; j++)
            ;
        genres[(*n)++] = (pipe_genre){sorted[i], j - i};
    }
    free(sorted);
    *out = genres;
    return MM_OK;
}

static int wanted(const mm_train_request *r, const char *genre)
{
    if (!r->genres || !r->n_genres)
        return 1;
    for (size_t w = 0; w < r->n_genres; w++) {
        char norm[MM_LABEL_NAME_MAX];
        mm_label_normalise(r->genres[w], norm, sizeof norm);
        if (strcmp(norm, genre) == 0)
            return 1;
    }
    return 0;
}

/* The classes: wanted genres with at least min_count tracks, in alphabetical order (so a model's output
 * order never depends on the scan's). */
static mm_status choose_genres(const mm_train_request *r, const mm_label_list *list, mm_train_outcome *out,
                               mm_error *err)
{
    pipe_genre *genres;
    size_t n;
    mm_status st = pipe_count_genres(list, &genres, &n, err);
    if (st != MM_OK)
        return st;
    out->classes = calloc(MM_MAX_LABELS, sizeof *out->classes);
    for (size_t g = 0; out->classes && g < n; g++) {
        int keep = (long)genres[g].count >= r->min_count && wanted(r, genres[g].name) && out->n_classes < MM_MAX_LABELS;
        if (keep && !(out->classes[out->n_classes++] = strdup(genres[g].name)))
            st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        if (keep)
            out->tracks_used += genres[g].count;
        else
            out->tracks_dropped += genres[g].count;
    }
    free(genres);
    if (!out->classes)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st == MM_OK && out->n_classes < 2)
        st = mm_error_set(err, MM_ERR_ARG,
                          "%zu labelled tracks, but fewer than two genres have %d or more (see --labels, --min-count)",
                          list->n, r->min_count);
    return st;
}

/* Each item's class, or -1 for a label left out. */
static int *class_of_items(const mm_label_list *list, const mm_train_outcome *out)
{
    int *labels = malloc(sizeof *labels * (list->n ? list->n : 1));
    for (size_t i = 0; labels && i < list->n; i++) {
        labels[i] = -1;
        for (int c = 0; c < out->n_classes; c++)
            if (strcmp(list->labels[i], out->classes[c]) == 0)
                labels[i] = c;
    }
    return labels;
}

/* The label set (each track's label and split, so evaluation can score the test songs alone), then the
 * model with its scores. */
static mm_status register_classifier(mm_catalog *cat, const mm_train_request *r, const mm_preset *preset,
                                     const mm_label_list *list, const mm_trainer *trainer, const char *ckpt,
                                     mm_train_outcome *out, mm_error *err)
{
    const mm_split *split = mm_trainer_split(trainer);
    const char **splits = calloc(list->n ? list->n : 1, sizeof *splits);
    if (!splits)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < split->n_train; i++)
        splits[split->train[i]] = "train";
    for (size_t i = 0; i < split->n_val; i++)
        splits[split->val[i]] = "val";
    for (size_t i = 0; i < split->n_test; i++)
        splits[split->test[i]] = "test";
    mm_status st = mm_catalog_put_labels(cat, out->name, out->source, list->n, list->ids,
                                         (const char *const *)list->labels, splits, &out->label_set, err);
    free(splits);
    if (st != MM_OK)
        return st;
    const mm_train_result *res = &out->result;
    char metrics[512];
    snprintf(metrics, sizeof metrics,
             "{\"epochs\": %d, \"best_epoch\": %d, \"train_accuracy\": %.4f, \"val_accuracy\": %.4f, "
             "\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"tracks\": %zu, \"seed\": %llu}",
             res->epochs_run, res->best_epoch, res->train.accuracy, res->val.accuracy, res->test.accuracy,
             res->test.loss, out->tracks_used, (unsigned long long)r->seed);
    char *full = with_history(metrics, trainer, &res->test);
    st = register_model(cat, preset, out->label_set, full ? full : metrics, ckpt, out, err);
    free(full);
    return st;
}

static const char *source_word(mm_label_source kind)
{
    return kind == MM_LABELS_TAGS ? "tags" : kind == MM_LABELS_FOLDERS ? "folders" : kind == MM_LABELS_FMA ? "fma" : "csv";
}

static mm_status train_classifier(mm_catalog *cat, const mm_train_request *r, mm_train_options *opt,
                                  const mm_preset *preset, mm_train_outcome *out, mm_error *err)
{
    mm_label_list list = {0};
    int *labels = NULL;
    mm_model *model = NULL;
    mm_trainer *trainer = NULL;
    mm_frontend_params fe;
    char ckpt[sizeof out->path + 8];
    snprintf(out->source, sizeof out->source, "%s", source_word(r->labels));
    mm_status st = mm_labels_collect(cat, r->labels, r->labels_file, &list, err);
    if (st == MM_OK)
        st = choose_genres(r, &list, out, err);
    if (st == MM_OK && !(labels = class_of_items(&list, out)))
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st != MM_OK)
        goto done;
    mm_log(r->log, MM_LOG_INFO,
           "train: %zu tracks in %d genres from %s%s%s (%zu tracks of rarer or unchosen genres left out)",
           out->tracks_used, out->n_classes, out->source, r->labels_file ? ":" : "",
           r->labels_file ? r->labels_file : "", out->tracks_dropped);
    if ((st = mm_catalog_frontend(cat, &fe, err)) != MM_OK ||
        (st = make_model(&model, r, preset, out->n_classes, (const char *const *)out->classes, MM_HEAD_SOFTMAX, &fe,
                         err)) != MM_OK ||
        (st = name_model(cat, r, preset, out->source, out, err)) != MM_OK)
        goto done;
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out->path);

    feature_reader reader = {cat, list.ids};
    mm_dataset data = {list.n, labels, read_item, &reader};
    if ((st = open_trainer(&trainer, model, &data, opt, ckpt, r->log, err)) != MM_OK)
        goto done;
    const mm_split *split = mm_trainer_split(trainer);
    mm_log(r->log, MM_LOG_INFO,
           "train: %s on %zu / %zu / %zu clips (train / validation / test), batch %d, checkpoint %s", preset->name,
           split->n_train, split->n_val, split->n_test, opt->batch, ckpt);
    if ((st = run_and_save(trainer, model, out, err)) == MM_OK)
        st = register_classifier(cat, r, preset, &list, trainer, ckpt, out, err);
done:
    mm_trainer_close(trainer);
    mm_model_close(model);
    free(labels);
    mm_label_list_free(&list);
    return st;
}

mm_status mm_pipeline_train(mm_catalog *cat, const mm_train_request *req_in, mm_train_outcome *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_train_request r;
    mm_train_request_init(&r);
    util_options_copy(&r, sizeof r, req_in, UTIL_OPTIONS_END(mm_train_request, progress_ctx));
    mm_train_options opt;
    trainer_options(&r, &opt);
    const mm_preset *preset;
    mm_status st = check_request(&r, &opt, &preset, err);
    if (st != MM_OK)
        return st;
    return r.self_supervised ? train_self_supervised(cat, &r, &opt, preset, out, err)
                             : train_classifier(cat, &r, &opt, preset, out, err);
}
