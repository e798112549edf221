/* nn — the convolutional-recurrent network (CRNN) that reads a 96 x 1366 log-mel spectrogram and names
 * its genre: presets as data, the model file, Keras weight import, and batched inference on oneDNN.
 *
 * The network (Choi et al.'s CRNN as the original system used it):
 *   zero-pad time by `time_pad` each side -> batch-norm per time position ->
 *   blocks of [conv 3x3 'same' + bias -> batch-norm per channel -> ELU -> max-pool (valid) -> dropout] ->
 *   the (C x 1 x T) map read as T steps of C values -> GRU (sequence) -> GRU (last state) -> dropout ->
 *   dense -> softmax (models trained here) or sigmoid (the original's imported weights).
 * The GRUs are Keras 2.0's (see mm_gru_variant; imported models may have tf.keras' instead).
 * Self-supervised models (train --self-supervised) have the same layers; their dense layer is a
 * projection head trained with a contrastive loss, and their song vector is the last GRU state.
 *
 * Thread safety: a loaded mm_model is read-only and may be shared by threads; an mm_infer and an
 * mm_trainer each belong to one thread at a time (one mm_infer per thread of work runs in parallel,
 * test_embed_threads). oneDNN's and OpenMP's thread count is process-wide: mm_nn_set_threads (and the
 * `threads` fields that call it) change it for every thread of the program. */
#ifndef MUSICMAP_NN_H
#define MUSICMAP_NN_H
#pragma GCC visibility push(default) /* this header's functions are exported (export.h) */

#include <stddef.h>
#include <stdint.h>

#include "musicmap/features.h"
#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_MAX_BLOCKS 8
#define MM_MAX_LABELS 256
#define MM_LABEL_MAX 64

typedef struct mm_block_spec {
    int filters;
    int pool_h, pool_w;     /* max-pool window (frequency, time) */
    int stride_h, stride_w; /* its stride */
} mm_block_spec;

typedef struct mm_preset {
    char name[32];
    int time_pad;           /* zero frames added each side of the 1366 */
    int n_blocks;
    mm_block_spec blocks[MM_MAX_BLOCKS];
    float block_dropout;    /* after each block, training only */
    int gru_units;          /* both GRU layers */
    float final_dropout;    /* before the dense layer, training only */
} mm_preset;

/* "crnn4" (the original), "crnn6" (its deeper variant), "small" (for tests and quick runs). */
const mm_preset *mm_preset_find(const char *name);
/* Names of all presets, NULL-terminated. */
const char *const *mm_preset_names(void);

/* Shape after block i (0-based; i = -1 gives the padded input): channels, height, width. Returns
 * non-zero if a pooling window no longer fits. */
int mm_preset_shape(const mm_preset *preset, int block, int *channels, int *height, int *width);

/* MM_HEAD_CONTRASTIVE: the dense layer projects the last GRU state to n_labels dimensions, which are
 * L2-normalised (the outputs); training compares them by cosine similarity / temperature (NT-Xent,
 * docs/network.md). Its "labels" are only the names of the projection's dimensions. */
typedef enum mm_head { MM_HEAD_SOFTMAX = 0, MM_HEAD_SIGMOID = 1, MM_HEAD_CONTRASTIVE = 2 } mm_head;

/* The formulas of both GRU layers (the same in each); h0 = 0 and h = z * h + (1 - z) * hh in all.
 * Default (models trained here; Keras 1.x, Keras 2.0-2.2's defaults; the published CRNNs): hard_sigmoid
 * gates and the reset gate applied before the recurrent product, gruK.b [3U]:
 *   z = g(x Wz + bz + h Uz), r = g(x Wr + br + h Ur), hh = tanh(x Wh + bh + (r * h) Uh).
 * reset_after (tf.keras 2.x's and Keras >= 2.3's default, cuDNN's GRU): the reset gate applied after it,
 * with an input bias bi and a recurrent bias bu, gruK.b [2][3U] (bi, then bu, as Keras stores them):
 *   z = g(x Wz + biz + h Uz + buz), r = g(x Wr + bir + h Ur + bur), hh = tanh(x Wh + bih + r * (h Uh + buh)).
 * Gates g: hard_sigmoid is clip(0.2 v + 0.5, 0, 1), as Keras 1.x, 2.x and tf.keras define it (Keras 3's
 * hard_sigmoid, clip(v / 6 + 0.5, 0, 1), is another function); sigmoid is the logistic 1 / (1 + e^-v)
 * (tf.keras' and Keras >= 2.3's default). Training supports only the default variant. */
typedef enum mm_gru_gates { MM_GRU_GATES_HARD_SIGMOID = 0, MM_GRU_GATES_SIGMOID = 1 } mm_gru_gates;

typedef struct mm_gru_variant {
    mm_gru_gates gates;
    int reset_after; /* 0: reset before the recurrent product (default); 1: after it */
} mm_gru_variant;

/* e.g. "sigmoid gates, reset after the recurrent product" (static text). */
const char *mm_gru_variant_text(mm_gru_variant variant);

/* A named parameter tensor, row-major. */
typedef struct mm_tensor {
    char name[32];
    int ndim;
    int dims[4];
    size_t count;
    float *data;
} mm_tensor;

typedef struct mm_model mm_model;

/* A new model with zero parameters (see mm_model_init_random to initialise for training). labels may be
 * NULL: the outputs are then named p1, p2, ... (a contrastive head's projection). */
mm_status mm_model_create(mm_model **out, const mm_preset *preset, int n_labels, const char *const *labels,
                          mm_head head, const mm_frontend_params *frontend, mm_error *err);
void mm_model_close(mm_model *model);

const mm_preset *mm_model_preset(const mm_model *model);
mm_head mm_model_head(const mm_model *model);
int mm_model_n_labels(const mm_model *model);
const char *mm_model_label(const mm_model *model, int index);
const mm_frontend_params *mm_model_frontend(const mm_model *model);
/* For imported models, whose file doesn't say: the front-end their training used. */
void mm_model_set_frontend(mm_model *model, const mm_frontend_params *frontend);
/* A contrastive head's temperature (similarities are cosines divided by it; default 0.1); part of the
 * model file, so that evaluating the model later scores it as it was trained. Others ignore it. */
void mm_model_set_temperature(mm_model *model, float temperature);
float mm_model_temperature(const mm_model *model);
int mm_model_n_params(const mm_model *model);
mm_tensor *mm_model_param(mm_model *model, int index);
mm_tensor *mm_model_find_param(mm_model *model, const char *name);
/* The GRU variant (new models: the default). Setting one with another reset_after reshapes gru1.b and
 * gru2.b ([3U] <-> [2][3U]) and zeroes them; MM_ERR_ARG for gates that don't exist. */
mm_gru_variant mm_model_gru(const mm_model *model);
mm_status mm_model_set_gru(mm_model *model, mm_gru_variant variant, mm_error *err);
/* MM_OK when training can go on from this model's weights; a model of another GRU variant than the
 * default can't be (training, fine-tuning, `train --init`): MM_ERR_UNSUPPORTED with one line saying so. */
mm_status mm_model_check_trainable(const mm_model *model, mm_error *err);
/* Total number of weights. */
size_t mm_model_weight_count(const mm_model *model);

/* The model file: magic, format version, preset and layer table, front-end parameters, output head,
 * label names, weights, and a checksum. Loading refuses truncated, foreign or damaged files. Softmax and
 * sigmoid models are written as format version 1, contrastive ones as version 2 (which builds that
 * predate that head refuse by its version number), models of a GRU variant other than the default as
 * version 3 (a `gru` line in the header; older builds refuse them likewise); this build reads all three. */
mm_status mm_model_save(const mm_model *model, const char *path, mm_error *err);
mm_status mm_model_load(mm_model **out, const char *path, mm_error *err);
/* The same from a model file's bytes in memory (a model handed over the network); name stands for the
 * file in messages. bytes may be freed once it returns. */
mm_status mm_model_load_bytes(mm_model **out, const void *bytes, size_t size, const char *name, mm_error *err);

/* Keras HDF5 files (docs/network.md, "Keras files"): weights-only (save_weights) and full-model (save:
 * `model_weights`, `model_config`) files of Keras 1.x, 2.x, tf.keras and Keras 3's .h5, of a network
 * with the preset's shape. Layers are mapped by the file's own order (`layer_names`) and weight shapes,
 * whatever they are called: each layer with weights must be the preset's next one (batch-norm, 3x3
 * convolution, GRU, dense) with exactly its shapes, or the import is refused with one line naming the
 * file, the layer, and the shape expected and found. GRUs: kernel, recurrent kernel and a (3U) bias,
 * Keras 1's nine arrays, or a (2, 3U) bias (reset_after, tf.keras' default); hard_sigmoid or sigmoid
 * gates from the model config (a weights-only file doesn't record them: see mm_keras_options.gates).
 * The model gets the variant found (mm_gru_variant). Refused too: what the model config says this runtime
 * would compute differently (other GRU activations, Keras 3's hard_sigmoid, go_backwards, two GRUs of
 * different variants, a convolution's activation, Keras 1 batch-norm mode 2). The original was trained
 * with a sigmoid output. */
typedef enum mm_keras_kernels {
    MM_KERAS_KERNELS_AUTO = 0, /* from the file's backend; Keras 1 never records it: TensorFlow's assumed */
    MM_KERAS_KERNELS_TF,       /* cross-correlation (TensorFlow, CNTK, JAX, PyTorch) */
    MM_KERAS_KERNELS_TH        /* Theano's: it convolves, so kernels are flipped in both spatial axes */
} mm_keras_kernels;

/* AUTO: the model config's recurrent activation; without one, sigmoid for a reset_after GRU or a Keras 3
 * file (their Keras' defaults) and hard_sigmoid otherwise (Keras 1's and 2.0-2.2's), reported as assumed. */
typedef enum mm_keras_gates {
    MM_KERAS_GATES_AUTO = 0,
    MM_KERAS_GATES_HARD_SIGMOID,
    MM_KERAS_GATES_SIGMOID
} mm_keras_gates;

typedef struct mm_keras_options {
    size_t size;        /* sizeof the struct, set by mm_keras_options_init (docs/api.md) */
    mm_keras_kernels kernels;
    double bn_epsilon;  /* > 0: the batch-norm epsilon training used, where the file doesn't record it (Keras
                         * 1.0.8-1.1.2 used 1e-5); 0: Keras' 1e-3. Variances are adjusted to this runtime's */
    int head_from_file; /* 1: an output activation recorded in the model config overrides `head` */
    mm_keras_gates gates; /* GRU gates where the file doesn't record them (no model config) */
} mm_keras_options;
/* Everything automatic (each field 0) and size set. */
void mm_keras_options_init(mm_keras_options *options);

/* What an import found or assumed. */
typedef struct mm_keras_info {
    char format[160];        /* e.g. "Keras 2.0.0 weights-only file, backend tensorflow" */
    int flipped;             /* kernels were Theano's */
    int kernels_assumed;     /* neither the file nor the options said which */
    double bn_epsilon;       /* the (first) batch-norm's training epsilon */
    int bn_epsilon_assumed;  /* not recorded nor given */
    mm_head head;            /* the model's head */
    int head_from_file;      /* taken from the model config */
    mm_gru_variant gru;      /* the GRUs' variant, as the model has it */
    int gru_gates_assumed;   /* neither the file nor the options said which gates */
} mm_keras_info;

/* options and info may be NULL (defaults; head as given). */
mm_status mm_model_import_keras_ex(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                   const char *const *labels, mm_head head, const mm_keras_options *options,
                                   mm_keras_info *info, mm_error *err);
mm_status mm_model_import_keras(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                const char *const *labels, mm_head head, mm_error *err);
/* `import-keras --list`: prints to out the file's format, what was detected or assumed, its layers with
 * their weights' names and shapes, and the preset layer each maps to or why none fits. preset NULL: the
 * first preset that fits; n_labels 0: any output count. MM_OK when it fits, else the reason. */
mm_status mm_keras_list(FILE *out, const char *h5_path, const mm_preset *preset, int n_labels,
                        const mm_keras_options *options, mm_error *err);

/* Batched inference. One mm_infer per thread of work; oneDNN's own thread count is process-wide
 * (mm_nn_set_threads). */
typedef struct mm_infer mm_infer;

mm_status mm_infer_open(mm_infer **out, const mm_model *model, int batch, mm_error *err);
void mm_infer_close(mm_infer *infer);

/* x: n x 96 x 1366 log-mel spectrograms (n <= batch). outputs: n x n_labels (may be NULL): class
 * probabilities, or a contrastive head's L2-normalised projection; hidden: n x gru_units (the last GRU
 * state; may be NULL). */
mm_status mm_infer_run(mm_infer *infer, const float *x, int n, float *outputs, float *hidden, mm_error *err);

/* The activations after block `block` of the last run for item i, as C x H x W (for checks). Returns
 * the element count, or 0 if out of range. */
size_t mm_infer_block_output(mm_infer *infer, int block, int i, float *out);

/* Threads used by oneDNN's primitives (OpenMP) in this process. */
void mm_nn_set_threads(int threads);

/* --- training -------------------------------------------------------------------------------- */

/* Keras' initialisation: glorot_uniform kernels (conv, GRU input, dense), orthogonal GRU recurrent
 * kernels, zero biases, batch-norm gamma 1, beta 0, mean 0, variance 1. Same seed, same weights. */
mm_status mm_model_init_random(mm_model *model, uint64_t seed, mm_error *err);

/* Where the training data comes from; the nn module knows nothing of catalogs or files. read() fills
 * logmel (MM_N_MELS x MM_N_FRAMES, band-major) for item `index` and returns 0, or fills err and
 * returns non-zero: an item that can't be read fails the epoch (mm_trainer_epoch returns MM_ERR_IO
 * naming it), so a damaged cache is noticed rather than silently trained around; the last checkpoint
 * stays valid for --resume. labels[i] is the class of item i in [0, n_labels), or -1 to leave it out;
 * a contrastive model needs no labels (NULL) and trains on every item. */
typedef struct mm_dataset {
    size_t count;
    const int *labels;
    int (*read)(size_t index, float *logmel, mm_error *err, void *ctx); /* the user pointer last, as everywhere */
    void *ctx;
} mm_dataset;

/* A stratified, seeded split: per class, the items are shuffled and the first round(n * train_frac)
 * go to train, the next round(n * val_frac) to validation, the rest to test. Indices into the dataset. */
typedef struct mm_split {
    size_t *train, *val, *test;
    size_t n_train, n_val, n_test;
} mm_split;

mm_status mm_split_stratified(const int *labels, size_t count, int n_labels, double train_frac, double val_frac,
                              uint64_t seed, mm_split *out, mm_error *err);
void mm_split_free(mm_split *split);

/* Loss, accuracy and confusion matrix (rows: true class, columns: predicted; n_labels^2 counts) of a
 * model in inference mode over the given items.
 * A contrastive model is scored without labels: each song gives two fixed views (its first and second
 * half, each repeated to the clip's length, unaugmented), batches of batch/2 songs (the remainder spread
 * over them), and loss is the NT-Xent loss at the model's temperature, accuracy the pair accuracy (the
 * share of views whose most similar other view in the batch is the same song's); confusion is NULL. */
typedef struct mm_eval {
    double loss, accuracy;
    size_t count;
    int n_labels;
    size_t *confusion;
} mm_eval;

mm_status mm_evaluate(const mm_model *model, const mm_dataset *data, const size_t *items, size_t n, int batch,
                      mm_eval *out, mm_error *err);
void mm_eval_free(mm_eval *eval);

typedef struct mm_train_epoch_stats {
    int epoch;                    /* 1-based */
    double train_loss, train_acc; /* running means over the epoch's batches, training mode (as Keras) */
    double val_loss, val_acc;     /* inference mode */
    double learning_rate;         /* the rate this epoch trained with */
    double seconds;
    int improved;                 /* the validation loss is the best so far (these weights are kept) */
} mm_train_epoch_stats;

typedef struct mm_train_progress {
    int epoch, epochs;            /* 1-based current epoch, the maximum */
    size_t batch, batches;        /* batches done in this epoch, of */
    double loss, accuracy;        /* running means in this epoch */
    double clips_per_s;
    const mm_train_epoch_stats *end; /* non-NULL once per epoch, after validation and the checkpoint */
} mm_train_progress;

/* Called after every batch and at the end of every epoch; a non-zero return stops the training after
 * the current batch (mm_trainer_run then reports interrupted; the last checkpoint is intact). */
typedef int (*mm_train_progress_fn)(const mm_train_progress *progress, void *ctx);

/* A contrastive model (MM_HEAD_CONTRASTIVE) trains self-supervised: a batch holds batch/2 songs, two
 * random views of each (see view_frames, augment), and the loss is NT-Xent (Chen et al. 2020) over the
 * batch's views, the other songs being the negatives; the split is a plain seeded one (test_frac may be
 * 0) and "accuracy" is the pair accuracy (see mm_evaluate). Checkpoints and resume work the same way. */
typedef struct mm_train_options {
    size_t size;                  /* sizeof the struct, set by mm_train_options_init (docs/api.md) */
    int batch;                    /* 16; epochs use full batches only (the few left over change each epoch);
                                   * contrastive: views per batch, even, >= 4 */
    int epochs;                   /* 40: the most */
    int patience;                 /* 5: stop after this many epochs without a better validation loss; 0: never */
    double learning_rate;         /* Adam, Keras defaults: 1e-3 */
    double lr_decay;              /* 0.5: the learning rate is multiplied by this when the validation loss has
                                   * not improved for lr_patience epochs (as Keras' ReduceLROnPlateau); 1: never */
    int lr_patience;              /* 2 */
    double min_learning_rate;     /* 1e-5: the schedule stops lowering here */
    double beta1, beta2, epsilon; /* 0.9, 0.999, 1e-7 (tf.keras' epsilon) */
    double weight_decay;          /* decoupled (AdamW) decay per step, times the learning rate; 0 */
    uint64_t seed;                /* split, shuffling, dropout, augmentation */
    int warm_start;               /* 1: the model's weights and batch-norm averages are trained ones (train
                                   * --init): the averages go on at momentum 0.99 from the first batch
                                   * instead of restarting as a plain mean */
    int augment;                  /* 1: each epoch sees every training clip shifted in time, re-levelled and
                                   * with a band and two spans masked (see src/nn/augment.c); 0: as stored */
    int view_frames;              /* contrastive models: each view is a random excerpt of this many frames,
                                   * repeated to the clip's length; 0 or >= 1366: the whole clip (rolled
                                   * when augmenting). Default 683 (half the clip, ~15 s) */
    int threads;                  /* oneDNN / OpenMP threads; 0: leave as is */
    double train_frac, val_frac;  /* 0.6, 0.2 (the rest tests) */
    const char *checkpoint;       /* written after every epoch (temp file + rename); NULL: none */
    int resume;                   /* continue from `checkpoint` if it exists */
    mm_train_progress_fn progress;
    void *progress_ctx;
} mm_train_options;

/* The defaults in the comments above, and size set. */
void mm_train_options_init(mm_train_options *options);
/* The earlier name; will go. */
#define mm_train_options_default mm_train_options_init

typedef struct mm_train_result {
    int epochs_run;               /* epochs completed, resumed ones included */
    int best_epoch;               /* whose weights the model now holds */
    int stopped_early, interrupted;
    mm_eval train, val, test;     /* of the best weights, inference mode */
} mm_train_result;

typedef struct mm_trainer mm_trainer;

/* Trains `model` in place (initialise it first: mm_model_init_random); the model must outlive the
 * trainer. With options->resume and an existing checkpoint, the weights, optimiser state, split and
 * history are taken from it (it must be of the same preset, labels, data size and batch), and training
 * continues exactly where it stopped: the result is bit-identical to an uninterrupted run. */
mm_status mm_trainer_open(mm_trainer **out, mm_model *model, const mm_dataset *data, const mm_train_options *options,
                          mm_error *err);
void mm_trainer_close(mm_trainer *trainer);
const mm_split *mm_trainer_split(const mm_trainer *trainer);
/* Epochs done so far and their statistics (history[0 .. n-1]). */
int mm_trainer_history(const mm_trainer *trainer, const mm_train_epoch_stats **history);
/* 1 when the last epoch reached the maximum or early stopping fired. */
int mm_trainer_finished(const mm_trainer *trainer);
/* One epoch: shuffle, train, validate, keep the best weights, checkpoint. */
mm_status mm_trainer_epoch(mm_trainer *trainer, mm_train_epoch_stats *stats, mm_error *err);
/* Epochs until finished (or stopped by the progress callback); then the model gets the best weights and
 * is evaluated on train, validation and test. Free the result with mm_train_result_free. */
mm_status mm_trainer_run(mm_trainer *trainer, mm_train_result *result, mm_error *err);
void mm_train_result_free(mm_train_result *result);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
