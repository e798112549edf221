/* nn — the convolutional-recurrent network (CRNN) that reads a 96 x 1366 log-mel spectrogram and names
 * its genre: presets as data, the model file, Keras weight import, and batched inference on oneDNN.
 *
 * The network (Choi et al.'s CRNN as the original system used it):
 *   zero-pad time by `time_pad` each side -> batch-norm per time position ->
 *   blocks of [conv 3x3 'same' + bias -> batch-norm per channel -> ELU -> max-pool (valid) -> dropout] ->
 *   the (C x 1 x T) map read as T steps of C values -> GRU (sequence) -> GRU (last state) -> dropout ->
 *   dense -> softmax (models trained here) or sigmoid (the original's imported weights). */
#ifndef MUSICMAP_NN_H
#define MUSICMAP_NN_H

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

typedef enum mm_head { MM_HEAD_SOFTMAX = 0, MM_HEAD_SIGMOID = 1 } mm_head;

/* A named parameter tensor, row-major. */
typedef struct mm_tensor {
    char name[32];
    int ndim;
    int dims[4];
    size_t count;
    float *data;
} mm_tensor;

typedef struct mm_model mm_model;

/* A new model with zero parameters (see mm_model_init_random to initialise for training). */
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
int mm_model_n_params(const mm_model *model);
mm_tensor *mm_model_param(mm_model *model, int index);
mm_tensor *mm_model_find_param(mm_model *model, const char *name);
/* Total number of weights. */
size_t mm_model_weight_count(const mm_model *model);

/* The model file: magic, format version, preset and layer table, front-end parameters, output head,
 * label names, weights, and a checksum. Loading refuses truncated, foreign or damaged files. */
mm_status mm_model_save(const mm_model *model, const char *path, mm_error *err);
mm_status mm_model_load(mm_model **out, const char *path, mm_error *err);

/* Reads the weights of a Keras 2 (`conv1/conv1/kernel:0`) or Keras 1 (`conv1_W`) HDF5 file of a
 * network with the given preset's shape. The original was trained with a sigmoid output. */
mm_status mm_model_import_keras(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                const char *const *labels, mm_head head, mm_error *err);

/* Batched inference. One mm_infer per thread of work; `threads` is oneDNN's thread count inside it. */
typedef struct mm_infer mm_infer;

mm_status mm_infer_open(mm_infer **out, const mm_model *model, int batch, mm_error *err);
void mm_infer_close(mm_infer *infer);

/* x: n x 96 x 1366 log-mel spectrograms (n <= batch). outputs: n x n_labels (may be NULL),
 * hidden: n x gru_units (the last GRU state; may be NULL). */
mm_status mm_infer_run(mm_infer *infer, const float *x, int n, float *outputs, float *hidden, mm_error *err);

/* The activations after block `block` of the last run for item i, as C x H x W (for checks). Returns
 * the element count, or 0 if out of range. */
size_t mm_infer_block_output(mm_infer *infer, int block, int i, float *out);

/* Threads used by oneDNN's primitives (OpenMP) in this process. */
void mm_nn_set_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
