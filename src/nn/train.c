/* Training: initialisation, the stratified split, evaluation, and the trainer (Adam, mini-batches,
 * shuffling, early stopping on the validation loss, a checkpoint after every epoch), supervised or
 * contrastive (self-supervised: pairs of views of the same song, NT-Xent). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/shared.h"
#include "binio.h"
#include "layers.h"

/* --- initialisation ------------------------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Running statistics are estimates, not trained: Adam leaves them alone. */
static int trainable(const mm_tensor *t)
{
    return !ends_with(t->name, ".mean") && !ends_with(t->name, ".var");
}

static void glorot_uniform(float *w, size_t count, double fan_in, double fan_out, mm_rng *rng)
{
    const double limit = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < count; i++)
        w[i] = (float)((2.0 * mm_rng_uniform(rng) - 1.0) * limit);
}

/* rows x cols (rows <= cols) with orthonormal rows: Gram-Schmidt on a Gaussian matrix, which is what
 * Keras' orthogonal initialiser gives for a wide matrix (the V of its SVD). */
static mm_status orthogonal(float *w, int rows, int cols, mm_rng *rng, mm_error *err)
{
    double *a = malloc(sizeof(double) * (size_t)rows * (size_t)cols);
    if (!a)
        return mm_error_set(err, MM_ERR_NOMEM, "init: out of memory");
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        a[i] = nn_rng_normal(rng);
    for (int i = 0; i < rows; i++) {
        double *ri = a + (size_t)i * cols;
        for (int pass = 0; pass < 2; pass++) /* twice: keeps orthogonality to rounding */
            for (int j = 0; j < i; j++) {
                const double *rj = a + (size_t)j * cols;
                double dot = 0;
                for (int k = 0; k < cols; k++)
                    dot += ri[k] * rj[k];
                for (int k = 0; k < cols; k++)
                    ri[k] -= dot * rj[k];
            }
        double norm = 0;
        for (int k = 0; k < cols; k++)
            norm += ri[k] * ri[k];
        norm = sqrt(norm);
        for (int k = 0; k < cols; k++)
            ri[k] /= norm;
    }
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        w[i] = (float)a[i];
    free(a);
    return MM_OK;
}

mm_status mm_model_init_random(mm_model *m, uint64_t seed, mm_error *err)
{
    mm_rng rng;
    mm_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_params; i++) {
        mm_tensor *t = &m->params[i];
        if (ends_with(t->name, ".gamma") || ends_with(t->name, ".var")) {
            for (size_t j = 0; j < t->count; j++)
                t->data[j] = 1.0f;
        } else if (ends_with(t->name, ".w")) { /* conv [f][cin][3][3]: fans count the 3 x 3 field */
            glorot_uniform(t->data, t->count, (double)t->dims[1] * 9, (double)t->dims[0] * 9, &rng);
        } else if (ends_with(t->name, ".U")) {
            mm_status st = orthogonal(t->data, t->dims[0], t->dims[1], &rng, err);
            if (st != MM_OK)
                return st;
        } else if (ends_with(t->name, ".W")) { /* GRU input kernel, dense kernel: [in][out] */
            glorot_uniform(t->data, t->count, t->dims[0], t->dims[1], &rng);
        } else {
            memset(t->data, 0, sizeof(float) * t->count); /* biases, beta, mean */
        }
    }
    return MM_OK;
}

/* --- split ------------------------------------------------------------------------------------------ */

static void shuffle(size_t *v, size_t n, mm_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mm_rng_below(rng, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

void mm_split_free(mm_split *s)
{
    if (!s)
        return;
    free(s->train);
    free(s->val);
    free(s->test);
    memset(s, 0, sizeof *s);
}

mm_status mm_split_stratified(const int *labels, size_t count, int n_labels, double train_frac, double val_frac,
                              uint64_t seed, mm_split *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!(train_frac > 0 && val_frac >= 0 && train_frac + val_frac <= 1.0))
        return mm_error_set(err, MM_ERR_ARG, "split: fractions %g / %g out of range", train_frac, val_frac);
    size_t *items = malloc(sizeof(size_t) * (count ? count : 1));
    out->train = malloc(sizeof(size_t) * (count ? count : 1));
    out->val = malloc(sizeof(size_t) * (count ? count : 1));
    out->test = malloc(sizeof(size_t) * (count ? count : 1));
    if (!items || !out->train || !out->val || !out->test) {
        free(items);
        mm_split_free(out);
        return mm_error_set(err, MM_ERR_NOMEM, "split: out of memory");
    }
    for (size_t i = 0; i < count; i++)
        if (labels[i] >= n_labels) {
            free(items);
            mm_split_free(out);
            return mm_error_set(err, MM_ERR_ARG, "split: item %zu has label %d, beyond the %d classes", i, labels[i],
                                n_labels);
        }
    for (int c = 0; c < n_labels; c++) {
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (labels[i] == c)
                items[n++] = i;
        mm_rng rng;
        mm_rng_seed(&rng, nn_rng_derive(seed, 0x73706c6974ULL /* "split" */, (uint64_t)c));
        shuffle(items, n, &rng);
        size_t ntr = (size_t)llround((double)n * train_frac), nva = (size_t)llround((double)n * val_frac);
        if (ntr > n)
            ntr = n;
        if (nva > n - ntr)
            nva = n - ntr;
        memcpy(out->train + out->n_train, items, sizeof(size_t) * ntr);
        memcpy(out->val + out->n_val, items + ntr, sizeof(size_t) * nva);
        memcpy(out->test + out->n_test, items + ntr + nva, sizeof(size_t) * (n - ntr - nva));
        out->n_train += ntr;
        out->n_val += nva;
        out->n_test += n - ntr - nva;
    }
    free(items);
    return MM_OK;
}

/* --- evaluation ----------------------------------------------------------------------------------- */

void mm_eval_free(mm_eval *e)
{
    if (!e)
        return;
    free(e->confusion);
    memset(e, 0, sizeof *e);
}

static mm_status read_item(const mm_dataset *d, size_t index, float *x, mm_error *err)
{
    mm_error inner;
    mm_error_clear(&inner);
    if (d->read(index, x, &inner, d->ctx) != 0)
        return mm_error_set(err, MM_ERR_IO, "training data: item %zu can't be read: %s", index,
                            inner.msg[0] ? inner.msg : "no reason given");
    return MM_OK;
}

/* Contrastive scoring (see mm_evaluate in nn.h): fixed views, so that the figure moves only with the
 * weights, and batches of about batch/2 songs, so that a view has as many rivals as in training. */
static mm_status contrastive_evaluate(const mm_model *m, const mm_dataset *d, const size_t *items, size_t n, int batch,
                                     mm_eval *out, mm_error *err)
{
    if (n < 2) /* a lone song has nothing to be told apart from */
        return MM_OK;
    size_t per = batch >= 4 ? (size_t)batch / 2 : 8;
    if (per > n)
        per = n;
    const size_t groups = n / per, most = (n + groups - 1) / groups;
    const size_t item = (size_t)MM_N_MELS * MM_N_FRAMES;
    const int K = m->n_labels;
    mm_infer *inf = NULL;
    float *song = malloc(sizeof(float) * item), *x = malloc(sizeof(float) * item * 2 * most);
    float *z = malloc(sizeof(float) * 2 * most * (size_t)K);
    mm_status st = song && x && z ? mm_infer_open(&inf, m, (int)(2 * most), err)
                                  : mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
    double loss = 0;
    size_t hits = 0;
    for (size_t g = 0, start = 0; st == MM_OK && g < groups; g++) {
        const size_t count = n / groups + (g < n % groups);
        for (size_t i = 0; i < count && st == MM_OK; i++) {
            st = read_item(d, items[start + i], song, err);
            for (int h = 0; h < 2 && st == MM_OK; h++)
                nn_view_half(song, x + (2 * i + (size_t)h) * item, h);
        }
        if (st == MM_OK)
            st = mm_infer_run(inf, x, (int)(2 * count), z, NULL, err);
        if (st == MM_OK) {
            int correct;
            loss += nn_ntxent(z, (int)(2 * count), K, m->temperature, NULL, &correct) * (double)(2 * count);
            hits += (size_t)correct;
        }
        start += count;
    }
    mm_infer_close(inf);
    free(song);
    free(x);
    free(z);
    if (st != MM_OK)
        return st;
    out->count = n;
    out->loss = loss / (double)(2 * n);
    out->accuracy = (double)hits / (double)(2 * n);
    return MM_OK;
}

mm_status mm_evaluate(const mm_model *m, const mm_dataset *d, const size_t *items, size_t n, int batch, mm_eval *out,
                      mm_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->head == MM_HEAD_CONTRASTIVE) {
        mm_status st = contrastive_evaluate(m, d, items, n, batch, out, err);
        if (st != MM_OK)
            memset(out, 0, sizeof *out);
        return st;
    }
    const int K = m->n_labels;
    out->n_labels = K;
    out->confusion = calloc((size_t)K * (size_t)K, sizeof(size_t));
    if (!out->confusion)
        return mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
    if (n == 0)
        return MM_OK;
    if (batch < 1)
        batch = 16;
    if ((size_t)batch > n)
        batch = (int)n;
    mm_infer *inf = NULL;
    const size_t item = (size_t)MM_N_MELS * MM_N_FRAMES;
    float *x = malloc(sizeof(float) * item * (size_t)batch), *probs = malloc(sizeof(float) * (size_t)batch * K);
    mm_status st = x && probs ? mm_infer_open(&inf, m, batch, err) : mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
    double loss = 0;
    size_t hits = 0;
    for (size_t start = 0; st == MM_OK && start < n; start += (size_t)batch) {
        int nb = (int)(n - start < (size_t)batch ? n - start : (size_t)batch);
        for (int i = 0; i < nb && st == MM_OK; i++)
            st = read_item(d, items[start + i], x + (size_t)i * item, err);
        if (st == MM_OK)
            st = mm_infer_run(inf, x, nb, probs, NULL, err);
        for (int i = 0; i < nb && st == MM_OK; i++) {
            const float *p = probs + (size_t)i * K;
            const int y = d->labels[items[start + i]];
            int best = 0;
            for (int j = 1; j < K; j++)
                best = p[j] > p[best] ? j : best;
            hits += best == y;
            out->confusion[(size_t)y * K + best]++;
            /* clipped as Keras clips (epsilon 1e-7) */
            if (m->head == MM_HEAD_SOFTMAX) {
                loss -= log(fmax(p[y], 1e-7));
            } else {
                for (int j = 0; j < K; j++) {
                    double q = fmin(fmax(p[j], 1e-7), 1.0 - 1e-7);
                    loss -= j == y ? log(q) : log(1.0 - q);
                }
            }
        }
    }
    mm_infer_close(inf);
    free(x);
    free(probs);
    if (st != MM_OK) {
        mm_eval_free(out);
        return st;
    }
    out->count = n;
    out->loss = loss / (double)n;
    out->accuracy = (double)hits / (double)n;
    return MM_OK;
}

/* --- the trainer ------------------------------------------------------------------------------------- */

void mm_train_options_init(mm_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->batch = 16;
    o->epochs = 40;
    o->patience = 5;
    o->learning_rate = 1e-3;
    o->lr_decay = 0.5;
    o->lr_patience = 2;
    o->min_learning_rate = 1e-5;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->epsilon = 1e-7;
    o->seed = 1;
    o->train_frac = 0.6;
    o->val_frac = 0.2;
    o->view_frames = MM_N_FRAMES / 2;
}

struct mm_trainer {
    mm_model *model;
    mm_dataset data;
    mm_train_options opt;
    char *checkpoint;
    uint64_t data_hash;
    mm_split split;
    nn_net *net;
    size_t n_weights;
    float *adam_m, *adam_v, *best; /* n_weights each, parameters in file order */
    uint64_t step, bn_updates;
    double lr;      /* the current learning rate (the schedule lowers it on plateaus) */
    int lr_bad;     /* epochs without a better validation loss since the last change of lr */
    int epochs_done, best_epoch, bad_epochs, finished, interrupted;
    int mid_epoch; /* an epoch began and didn't end (stopped or failed): the state is no epoch's */
    double best_val;
    mm_train_epoch_stats *history;
    int contrastive; /* the model's head is: batches of views, no labels */
    float *x, *row; /* a batch of clips; one row of frames for augmentation */
    float *song;    /* contrastive: the song its two views are cut from */
    int *y;
    size_t *order;
};


static void params_to(const mm_model *m, float *flat)
{
    for (int i = 0; i < m->n_params; i++) {
        memcpy(flat, m->params[i].data, sizeof(float) * m->params[i].count);
        flat += m->params[i].count;
    }
}

static void params_from(mm_model *m, const float *flat)
{
    for (int i = 0; i < m->n_params; i++) {
        memcpy(m->params[i].data, flat, sizeof(float) * m->params[i].count);
        flat += m->params[i].count;
    }
}

/* --- checkpoint: everything an epoch boundary holds, so a resumed run is the same run ----------------
 * native byte order; magic, version, identity (preset, labels, data, batch, seed), counters, split,
 * history, weights, Adam moments, best weights, FNV-1a of all before it. Written to a temporary file,
 * synced, then renamed over the old one: a kill leaves either the old or the new checkpoint. */
static const unsigned char CKPT_MAGIC[8] = {'M', 'M', 'C', 'K', 'P', 'T', 0, 0x1a};
#define CKPT_VERSION 3 /* 2: the learning-rate schedule's state; 3: ckpt_ext (version 2 files still resume) */

#define PUT(w, v) nn_put(w, &(v), sizeof(v))

typedef struct ckpt_head {
    char preset[32];
    int32_t n_labels, n_params, batch, epochs_done, best_epoch, bad_epochs, finished, augment;
    uint64_t n_weights, seed, data_count, data_hash, step, bn_updates, n_train, n_val, n_test;
    double best_val, lr;
    int32_t lr_bad, pad2;
} ckpt_head;

/* After the head from version 3: what else decides the run (contrastive training). */
typedef struct ckpt_ext {
    int32_t head, view_frames; /* view_frames 0 unless contrastive */
    double temperature;        /* 0 unless contrastive */
} ckpt_ext;

static ckpt_ext ckpt_ext_of(const mm_trainer *t)
{
    ckpt_ext e;
    memset(&e, 0, sizeof e);
    e.head = t->model->head;
    if (t->contrastive) {
        e.view_frames = t->opt.view_frames;
        e.temperature = t->model->temperature;
    }
    return e;
}

static mm_status checkpoint_write(mm_trainer *t, mm_error *err)
{
    const char *path = t->checkpoint;
    size_t len = strlen(path) + 8;
    char *tmp = malloc(len);
    if (!tmp)
        return mm_error_set(err, MM_ERR_NOMEM, "checkpoint: out of memory");
    snprintf(tmp, len, "%s.tmp", path);
    nn_writer w = {fopen(tmp, "wb"), MM_FNV1A64_INIT, 1};
    if (!w.f) {
        mm_status st = mm_error_set(err, MM_ERR_IO, "checkpoint: can't write %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    ckpt_head h;
    memset(&h, 0, sizeof h);
    snprintf(h.preset, sizeof h.preset, "%s", t->model->preset.name);
    h.n_labels = t->model->n_labels;
    h.n_params = t->model->n_params;
    h.batch = t->opt.batch;
    h.epochs_done = t->epochs_done;
    h.best_epoch = t->best_epoch;
    h.bad_epochs = t->bad_epochs;
    h.finished = t->finished;
    h.augment = t->opt.augment;
    h.n_weights = t->n_weights;
    h.seed = t->opt.seed;
    h.data_count = t->data.count;
    h.data_hash = t->data_hash;
    h.step = t->step;
    h.bn_updates = t->bn_updates;
    h.n_train = t->split.n_train;
    h.n_val = t->split.n_val;
    h.n_test = t->split.n_test;
    h.best_val = t->best_val;
    h.lr = t->lr;
    h.lr_bad = t->lr_bad;
    uint32_t version = CKPT_VERSION;
    ckpt_ext ext = ckpt_ext_of(t);
    nn_put(&w, CKPT_MAGIC, sizeof CKPT_MAGIC);
    PUT(&w, version);
    PUT(&w, h);
    PUT(&w, ext);
    nn_put(&w, t->split.train, sizeof(size_t) * t->split.n_train);
    nn_put(&w, t->split.val, sizeof(size_t) * t->split.n_val);
    nn_put(&w, t->split.test, sizeof(size_t) * t->split.n_test);
    nn_put(&w, t->history, sizeof(mm_train_epoch_stats) * (size_t)t->epochs_done);
    for (int i = 0; i < t->model->n_params; i++)
        nn_put(&w, t->model->params[i].data, sizeof(float) * t->model->params[i].count);
    nn_put(&w, t->adam_m, sizeof(float) * t->n_weights);
    nn_put(&w, t->adam_v, sizeof(float) * t->n_weights);
    nn_put(&w, t->best, sizeof(float) * t->n_weights);
    uint64_t sum = w.hash;
    nn_put(&w, &sum, sizeof sum);
    int ok = w.ok && fflush(w.f) == 0 && fsync(fileno(w.f)) == 0;
    ok = fclose(w.f) == 0 && ok;
    mm_status st = MM_OK;
    if (!ok || rename(tmp, path) != 0) {
        st = mm_error_set(err, MM_ERR_IO, "checkpoint: can't write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return st;
}

/* 1: loaded; 0: no checkpoint there; negative: refused (err filled). */
static int checkpoint_read(mm_trainer *t, mm_error *err)
{
    const char *path = t->checkpoint;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        mm_error_set(err, MM_ERR_IO, "checkpoint: can't open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *bytes = NULL;
    size_t size = 0, cap = 0, got;
    int rc = -1;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *nb = realloc(bytes, cap);
            if (!nb) {
                mm_error_set(err, MM_ERR_NOMEM, "checkpoint: out of memory");
                goto out;
            }
            bytes = nb;
        }
        got = fread(bytes + size, 1, cap - size, f);
        size += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        mm_error_set(err, MM_ERR_IO, "checkpoint: can't read %s", path);
        goto out;
    }
    ckpt_head h;
    uint32_t version;
    unsigned char magic[8];
    nn_reader r = {bytes, size};
    if (size < sizeof magic + sizeof version + sizeof h + 8 || nn_get(&r, magic, 8) != 0 ||
        memcmp(magic, CKPT_MAGIC, 8) != 0) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s is not a musicmap training checkpoint", path);
        goto out;
    }
    uint64_t sum;
    memcpy(&sum, bytes + size - 8, 8);
    if (mm_fnv1a64(MM_FNV1A64_INIT, bytes, size - 8) != sum) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s is damaged or truncated (checksum mismatch)", path);
        goto out;
    }
    r.left -= 8;
    nn_get(&r, &version, sizeof version);
    nn_get(&r, &h, sizeof h);
    if (version != CKPT_VERSION && version != 2) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s has format version %u, this build reads 2 and %d", path,
                     version, CKPT_VERSION);
        goto out;
    }
    ckpt_ext ext; /* version 2 predates contrastive training: a supervised softmax run */
    memset(&ext, 0, sizeof ext);
    if (version >= 3 && nn_get(&r, &ext, sizeof ext) != 0) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s is truncated", path);
        goto out;
    }
    const ckpt_ext want = ckpt_ext_of(t);
    h.preset[sizeof h.preset - 1] = 0;
    const char *why = NULL;
    if (strcmp(h.preset, t->model->preset.name) != 0 || h.n_labels != t->model->n_labels ||
        h.n_params != t->model->n_params || h.n_weights != t->n_weights || ext.head != want.head)
        why = "another model (preset, labels or output head)";
    else if (ext.view_frames != want.view_frames || ext.temperature != want.temperature)
        why = "another view length or temperature";
    else if (h.data_count != t->data.count || h.data_hash != t->data_hash)
        why = "other training data";
    else if (h.batch != t->opt.batch || h.seed != t->opt.seed || h.augment != t->opt.augment)
        why = "another batch size, seed or augmentation";
    if (why) {
        mm_error_set(err, MM_ERR_ARG, "checkpoint: %s was made for %s (%s, batch %d, seed %llu); start afresh or remove it",
                     path, why, h.preset, (int)h.batch, (unsigned long long)h.seed);
        goto out;
    }
    /* each part on its own first: a damaged file's counts can wrap their sum round to a small number */
    if (h.n_train > t->data.count || h.n_val > t->data.count || h.n_test > t->data.count ||
        h.n_train + h.n_val + h.n_test > t->data.count || h.epochs_done < 0 || h.epochs_done > 1000000) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s has an impossible split or epoch count", path);
        goto out;
    }
    mm_split_free(&t->split);
    t->split.train = malloc(sizeof(size_t) * (h.n_train ? h.n_train : 1));
    t->split.val = malloc(sizeof(size_t) * (h.n_val ? h.n_val : 1));
    t->split.test = malloc(sizeof(size_t) * (h.n_test ? h.n_test : 1));
    int cap_epochs = h.epochs_done > t->opt.epochs ? h.epochs_done : t->opt.epochs;
    mm_train_epoch_stats *hist = realloc(t->history, sizeof *hist * (size_t)(cap_epochs > 0 ? cap_epochs : 1));
    if (hist)
        t->history = hist;
    if (!t->split.train || !t->split.val || !t->split.test || !hist) {
        mm_error_set(err, MM_ERR_NOMEM, "checkpoint: out of memory");
        goto out;
    }
    t->split.n_train = h.n_train;
    t->split.n_val = h.n_val;
    t->split.n_test = h.n_test;
    int bad = nn_get(&r, t->split.train, sizeof(size_t) * h.n_train) || nn_get(&r, t->split.val, sizeof(size_t) * h.n_val) ||
              nn_get(&r, t->split.test, sizeof(size_t) * h.n_test) ||
              nn_get(&r, t->history, sizeof(mm_train_epoch_stats) * (size_t)h.epochs_done);
    for (int i = 0; !bad && i < t->model->n_params; i++)
        bad = nn_get(&r, t->model->params[i].data, sizeof(float) * t->model->params[i].count);
    bad = bad || nn_get(&r, t->adam_m, sizeof(float) * t->n_weights) || nn_get(&r, t->adam_v, sizeof(float) * t->n_weights) ||
          nn_get(&r, t->best, sizeof(float) * t->n_weights) || r.left != 0;
    for (size_t i = 0; !bad && i < h.n_train + h.n_val + h.n_test; i++) {
        size_t v = i < h.n_train ? t->split.train[i]
                   : i < h.n_train + h.n_val ? t->split.val[i - h.n_train]
                                             : t->split.test[i - h.n_train - h.n_val];
        bad = v >= t->data.count;
    }
    if (bad) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s has the wrong size for this model", path);
        goto out;
    }
    t->epochs_done = h.epochs_done;
    t->best_epoch = h.best_epoch;
    t->bad_epochs = h.bad_epochs;
    t->finished = h.finished || h.epochs_done >= t->opt.epochs;
    t->step = h.step;
    t->bn_updates = h.bn_updates;
    t->best_val = h.best_val;
    if (!(h.lr > 0) || h.lr_bad < 0) {
        mm_error_set(err, MM_ERR_FORMAT, "checkpoint: %s has an impossible learning rate", path);
        goto out;
    }
    t->lr = h.lr;
    t->lr_bad = h.lr_bad;
    rc = 1;
out:
    fclose(f);
    free(bytes);
    return rc;
}

void mm_trainer_close(mm_trainer *t)
{
    if (!t)
        return;
    nn_net_close(t->net);
    mm_split_free(&t->split);
    free(t->checkpoint);
    free(t->adam_m);
    free(t->adam_v);
    free(t->best);
    free(t->history);
    free(t->x);
    free(t->row);
    free(t->song);
    free(t->y);
    free(t->order);
    free(t);
}

mm_status mm_trainer_open(mm_trainer **out, mm_model *model, const mm_dataset *data, const mm_train_options *options,
                          mm_error *err)
{
    *out = NULL;
    mm_train_options o; /* the caller's fields up to its size, the defaults beyond */
    mm_train_options_init(&o);
    util_options_copy(&o, sizeof o, options, UTIL_OPTIONS_END(mm_train_options, progress_ctx));
    const int contrastive = model->head == MM_HEAD_CONTRASTIVE;
    mm_status trainable = mm_model_check_trainable(model, err); /* e.g. an imported tf.keras GRU */
    if (trainable != MM_OK)
        return trainable;
    if (!data || !data->read || (!data->labels && !contrastive))
        return mm_error_set(err, MM_ERR_ARG, "training: no data");
    if (contrastive && (o.batch < 4 || o.batch % 2))
        return mm_error_set(err, MM_ERR_ARG, "training: a contrastive batch holds pairs of views of at least two "
                            "songs: %d is not even or below 4", o.batch);
    if (contrastive && o.view_frames < 0)
        return mm_error_set(err, MM_ERR_ARG, "training: view length %d frames", o.view_frames);
    if (o.batch < 1 || o.epochs < 1 || o.patience < 0 || !(o.learning_rate > 0) || !(o.beta1 >= 0 && o.beta1 < 1) ||
        !(o.beta2 >= 0 && o.beta2 < 1) || !(o.epsilon > 0) || o.weight_decay < 0 || !(o.lr_decay > 0 && o.lr_decay <= 1) ||
        o.lr_patience < 1 || o.min_learning_rate < 0)
        return mm_error_set(err, MM_ERR_ARG, "training: invalid options (batch %d, epochs %d, learning rate %g)", o.batch,
                            o.epochs, o.learning_rate);
    if (o.resume && !o.checkpoint)
        return mm_error_set(err, MM_ERR_ARG, "training: --resume needs a checkpoint path");
    mm_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return mm_error_set(err, MM_ERR_NOMEM, "training: out of memory");
    mm_status st = MM_OK;
    t->model = model;
    t->contrastive = contrastive;
    t->data = *data;
    t->opt = o;
    t->opt.checkpoint = NULL;
    t->opt.progress = o.progress;
    t->best_val = INFINITY;
    t->lr = o.learning_rate;
    t->bn_updates = o.warm_start ? 100 : 0; /* past the plain-mean warm-up: momentum 0.99 at once */
    if (data->labels)
        t->data_hash = mm_fnv1a64(MM_FNV1A64_INIT, data->labels, sizeof(int) * data->count);
    else
        t->data_hash = mm_fnv1a64(MM_FNV1A64_INIT, "unlabelled", 10);
    if (!contrastive || o.view_frames >= MM_N_FRAMES)
        t->opt.view_frames = 0; /* one spelling of "the whole clip", for the checkpoint's identity */
    if (o.threads > 0)
        mm_nn_set_threads(o.threads);
    t->n_weights = mm_model_weight_count(model);
    t->adam_m = calloc(t->n_weights, sizeof(float));
    t->adam_v = calloc(t->n_weights, sizeof(float));
    t->best = malloc(sizeof(float) * t->n_weights);
    t->history = calloc((size_t)o.epochs, sizeof *t->history);
    if (o.checkpoint && !(t->checkpoint = strdup(o.checkpoint)))
        goto nomem;
    if (!t->adam_m || !t->adam_v || !t->best || !t->history)
        goto nomem;
    params_to(model, t->best);
    int resumed = 0;
    if (o.resume) {
        resumed = checkpoint_read(t, err);
        if (resumed < 0) {
            st = err ? err->code : MM_ERR_FORMAT;
            goto done;
        }
    }
    if (!resumed && contrastive) {
        /* no classes to stratify by: one class of everything is a plain seeded split */
        int *same = calloc(data->count ? data->count : 1, sizeof(int));
        st = same ? mm_split_stratified(same, data->count, 1, o.train_frac, o.val_frac, o.seed, &t->split, err)
                  : mm_error_set(err, MM_ERR_NOMEM, "training: out of memory");
        free(same);
        if (st != MM_OK)
            goto done;
    } else if (!resumed && (st = mm_split_stratified(data->labels, data->count, model->n_labels, o.train_frac,
                                                     o.val_frac, o.seed, &t->split, err)) != MM_OK) {
        goto done;
    }
    if (t->split.n_train < (contrastive ? 2u : 1u)) {
        st = mm_error_set(err, MM_ERR_ARG, contrastive ? "training: fewer than two songs to train on"
                                                       : "training: no labelled items to train on");
        goto done;
    }
    /* a batch larger than the training set would leave no full batch */
    if (contrastive && (size_t)t->opt.batch / 2 > t->split.n_train)
        t->opt.batch = 2 * (int)t->split.n_train;
    else if (!contrastive && (size_t)t->opt.batch > t->split.n_train)
        t->opt.batch = (int)t->split.n_train;
    t->x = malloc(sizeof(float) * (size_t)t->opt.batch * MM_N_MELS * MM_N_FRAMES);
    t->row = malloc(sizeof(float) * MM_N_FRAMES);
    t->song = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    t->y = calloc((size_t)t->opt.batch, sizeof(int));
    t->order = malloc(sizeof(size_t) * t->split.n_train);
    if (!t->x || !t->row || !t->song || !t->y || !t->order)
        goto nomem;
    if ((st = nn_net_open(&t->net, model, t->opt.batch, err)) != MM_OK)
        goto done;
    goto done;
nomem:
    st = mm_error_set(err, MM_ERR_NOMEM, "training: out of memory");
done:
    if (st != MM_OK) {
        mm_trainer_close(t);
        return st;
    }
    *out = t;
    return MM_OK;
}

const mm_split *mm_trainer_split(const mm_trainer *t)
{
    return &t->split;
}

int mm_trainer_history(const mm_trainer *t, const mm_train_epoch_stats **history)
{
    if (history)
        *history = t->history;
    return t->epochs_done;
}

int mm_trainer_finished(const mm_trainer *t)
{
    return t->finished;
}

/* Adam as Keras 2 writes it: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps); with
 * optional decoupled weight decay (AdamW). */
static void adam_step(mm_trainer *t)
{
    const mm_train_options *o = &t->opt;
    t->step++;
    const double tt = (double)t->step;
    const float lr_t = (float)(t->lr * sqrt(1.0 - pow(o->beta2, tt)) / (1.0 - pow(o->beta1, tt)));
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->epsilon;
    const float decay = (float)(t->lr * o->weight_decay);
    size_t off = 0;
    for (int i = 0; i < t->model->n_params; i++) {
        mm_tensor *p = &t->model->params[i];
        if (trainable(p)) {
            const float *g = nn_net_grad(t->net, i);
            float *m = t->adam_m + off, *v = t->adam_v + off, *w = p->data;
            for (size_t j = 0; j < p->count; j++) {
                m[j] = b1 * m[j] + (1.0f - b1) * g[j];
                v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
                w[j] -= lr_t * m[j] / (sqrtf(v[j]) + eps) + decay * w[j];
            }
        }
        off += p->count;
    }
}

mm_status mm_trainer_epoch(mm_trainer *t, mm_train_epoch_stats *stats, mm_error *err)
{
    if (t->finished)
        return mm_error_set(err, MM_ERR_ARG, "training: already finished (%d epochs)", t->epochs_done);
    if (t->mid_epoch)
        return mm_error_set(err, MM_ERR_ARG, "training: an epoch was cut short; reopen the trainer with resume");
    t->mid_epoch = 1;
    t->interrupted = 0;
    const int epoch = t->epochs_done + 1, B = t->opt.batch;
    const double start = mm_now();
    memcpy(t->order, t->split.train, sizeof(size_t) * t->split.n_train);
    mm_rng rng;
    mm_rng_seed(&rng, nn_rng_derive(t->opt.seed, (uint64_t)epoch, 0x73687566ULL /* "shuf" */));
    shuffle(t->order, t->split.n_train, &rng);
    /* a contrastive batch: B / 2 songs, two views each */
    const size_t songs = t->contrastive ? (size_t)B / 2 : (size_t)B;
    const size_t batches = t->split.n_train / songs, item = (size_t)MM_N_MELS * MM_N_FRAMES;
    double loss_sum = 0;
    size_t hits = 0;
    mm_status st;
    for (size_t bi = 0; bi < batches; bi++) {
        for (size_t i = 0; t->contrastive && i < songs; i++) {
            size_t pos = bi * songs + i;
            if ((st = read_item(&t->data, t->order[pos], t->song, err)) != MM_OK)
                return st;
            for (size_t v = 0; v < 2; v++) {
                mm_rng view;
                mm_rng_seed(&view, nn_rng_derive(t->opt.seed ^ 0x76696577ULL /* "view" */, (uint64_t)epoch, 2 * pos + v));
                nn_view_clip(t->song, t->x + (2 * i + v) * item, t->opt.view_frames, t->opt.augment, t->row, &view);
            }
        }
        for (int i = 0; !t->contrastive && i < B; i++) {
            size_t idx = t->order[bi * (size_t)B + (size_t)i];
            if ((st = read_item(&t->data, idx, t->x + (size_t)i * item, err)) != MM_OK)
                return st;
            t->y[i] = t->data.labels[idx];
            if (t->opt.augment) {
                mm_rng aug;
                mm_rng_seed(&aug, nn_rng_derive(t->opt.seed ^ 0x6175676dULL /* "augm" */, (uint64_t)epoch,
                                                bi * (size_t)B + (size_t)i));
                nn_augment_clip(t->x + (size_t)i * item, t->row, &aug);
            }
        }
        mm_rng drop;
        mm_rng_seed(&drop, nn_rng_derive(t->opt.seed, (uint64_t)epoch, bi + 1));
        double loss;
        int correct;
        if ((st = nn_net_step(t->net, t->x, t->contrastive ? NULL : t->y, &drop, 1, &loss, &correct, err)) != MM_OK)
            return st;
        if (!isfinite(loss))
            return mm_error_set(err, MM_ERR_INTERNAL, "training: the loss diverged (epoch %d, batch %zu); try a "
                                "lower learning rate", epoch, bi + 1);
        /* Keras' momentum 0.99, but a plain running mean for the first 100 batches, so that short runs
         * don't keep the initial mean 0 / variance 1 in their inference statistics */
        t->bn_updates++;
        float momentum = (float)(1.0 - 1.0 / (double)t->bn_updates);
        nn_net_update_running(t->net, momentum < 0.99f ? momentum : 0.99f);
        adam_step(t);
        loss_sum += loss;
        hits += (size_t)correct;
        if (t->opt.progress) {
            double el = mm_now() - start;
            mm_train_progress p = {epoch, t->opt.epochs, bi + 1, batches, loss_sum / (double)(bi + 1),
                                   (double)hits / (double)((bi + 1) * (size_t)B),
                                   el > 0 ? (double)((bi + 1) * (size_t)B) / el : 0, NULL};
            if (t->opt.progress(&p, t->opt.progress_ctx) != 0) {
                t->interrupted = 1;
                return MM_OK;
            }
        }
    }
    mm_train_epoch_stats s = {.epoch = epoch, .learning_rate = t->lr};
    s.train_loss = batches ? loss_sum / (double)batches : 0;
    s.train_acc = batches ? (double)hits / (double)(batches * (size_t)B) : 0;
    mm_eval ev;
    if ((st = mm_evaluate(t->model, &t->data, t->split.val, t->split.n_val, B, &ev, err)) != MM_OK)
        return st;
    s.val_loss = ev.loss;
    s.val_acc = ev.accuracy;
    /* with no validation items (a contrastive one needs two), the training loss decides */
    double watch = ev.count ? s.val_loss : s.train_loss;
    mm_eval_free(&ev);
    if (watch < t->best_val) {
        t->best_val = watch;
        t->best_epoch = epoch;
        t->bad_epochs = 0;
        s.improved = 1;
        params_to(t->model, t->best);
        t->lr_bad = 0;
    } else {
        t->bad_epochs++;
        /* a plateau: smaller steps (the validation accuracy of a few hundred songs otherwise swings
         * from epoch to epoch around the optimum it has reached) */
        if (++t->lr_bad >= t->opt.lr_patience && t->opt.lr_decay < 1 && t->lr > t->opt.min_learning_rate) {
            t->lr = fmax(t->lr * t->opt.lr_decay, t->opt.min_learning_rate);
            t->lr_bad = 0;
        }
    }
    s.seconds = mm_now() - start;
    t->mid_epoch = 0;
    t->history[t->epochs_done++] = s;
    t->finished = t->epochs_done >= t->opt.epochs || (t->opt.patience > 0 && t->bad_epochs >= t->opt.patience);
    if (t->checkpoint && (st = checkpoint_write(t, err)) != MM_OK)
        return st;
    if (stats)
        *stats = s;
    if (t->opt.progress) {
        mm_train_progress p = {epoch, t->opt.epochs, batches, batches, s.train_loss, s.train_acc, 0, &s};
        if (t->opt.progress(&p, t->opt.progress_ctx) != 0)
            t->interrupted = 1;
    }
    return MM_OK;
}

void mm_train_result_free(mm_train_result *r)
{
    if (!r)
        return;
    mm_eval_free(&r->train);
    mm_eval_free(&r->val);
    mm_eval_free(&r->test);
}

mm_status mm_trainer_run(mm_trainer *t, mm_train_result *r, mm_error *err)
{
    memset(r, 0, sizeof *r);
    mm_status st;
    while (!t->finished) {
        if ((st = mm_trainer_epoch(t, NULL, err)) != MM_OK)
            return st;
        if (t->interrupted) {
            r->interrupted = 1;
            r->epochs_run = t->epochs_done;
            return MM_OK;
        }
    }
    r->epochs_run = t->epochs_done;
    r->best_epoch = t->best_epoch;
    r->stopped_early = t->epochs_done < t->opt.epochs;
    params_from(t->model, t->best);
    const int B = t->opt.batch;
    if ((st = mm_evaluate(t->model, &t->data, t->split.train, t->split.n_train, B, &r->train, err)) != MM_OK ||
        (st = mm_evaluate(t->model, &t->data, t->split.val, t->split.n_val, B, &r->val, err)) != MM_OK ||
        (st = mm_evaluate(t->model, &t->data, t->split.test, t->split.n_test, B, &r->test, err)) != MM_OK) {
        mm_train_result_free(r);
        return st;
    }
    return MM_OK;
}
