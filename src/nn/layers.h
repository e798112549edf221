/* Training layers of the nn module (internal): forward in training mode and backward for every layer of
 * the CRNN. The plain-C ones (time-position batch-norm, dropout, GRU, dense, losses) live in layers.c;
 * the convolution block on oneDNN (conv + batch-norm + ELU + max-pool + dropout) in block.c.
 * Gradients are overwritten, never accumulated, by every backward call. */
#ifndef MM_NN_LAYERS_H
#define MM_NN_LAYERS_H

#include <dnnl.h>
#include <stdint.h>

#include "internal.h"

/* --- random numbers: xoshiro256** seeded through splitmix64, the same stream on every platform --- */
/* Random numbers come from util's mm_rng. */

/* A seed for an independent stream derived from (seed, a, b): e.g. (run seed, epoch, batch). */
uint64_t nn_rng_derive(uint64_t seed, uint64_t a, uint64_t b);
double nn_rng_normal(mm_rng *rng);    /* standard normal (Box-Muller) */

/* --- training-time augmentation (augment.c): time shift, gain, frequency and time masks, in place on one
 * MM_N_MELS x MM_N_FRAMES clip; scratch_row holds MM_N_FRAMES floats --- */
void nn_augment_clip(float *x, float *scratch_row, mm_rng *rng);

/* --- batch-norm over time positions (the input block: one statistic per column t of x[n][rows][w]) --- */
/* Training: batch mean and biased variance per column over n*rows values; y = gamma (x - mean) / sqrt(var + eps)
 * + beta. mean, inv_std (w each) are kept for backward. y may equal x. */
void nn_tbn_forward(const float *x, int n, int rows, int w, const float *gamma, const float *beta, float eps,
                    float *y, float *mean, float *var, float *inv_std);
/* dgamma, dbeta (w each); dx (may be NULL, may equal dy). x is the forward input. */
void nn_tbn_backward(const float *x, const float *dy, int n, int rows, int w, const float *gamma, const float *mean,
                     const float *inv_std, float *dgamma, float *dbeta, float *dx);

/* --- dropout: y = x * mask / (1 - p); the mask (one byte per element) is drawn from rng --- */
void nn_dropout_mask(uint8_t *mask, size_t count, float p, mm_rng *rng);
/* In place; the same call applies the mask to gradients on the way back. */
void nn_dropout_apply(float *x, const uint8_t *mask, size_t count, float p);

/* --- GRU (Keras 2.0 formulas, see recurrent.h) with what backward needs kept --- */
typedef enum nn_gate_act { NN_GATE_HARD_SIGMOID = 0, NN_GATE_SIGMOID = 1 } nn_gate_act;

typedef struct nn_gru_cache {
    int batch, steps, in, units;
    nn_gate_act act;
    float *z, *r, *hh, *rh, *hprev; /* batch x steps x units each */
    float *h;                        /* batch x steps x units: the output sequence */
    float *da;                       /* batch x steps x 3 units: backward scratch */
    float *tmp;                      /* 4 x batch x units: per-step scratch */
} nn_gru_cache;

mm_status nn_gru_cache_init(nn_gru_cache *c, int batch, int steps, int in, int units, nn_gate_act act, mm_error *err);
void nn_gru_cache_free(nn_gru_cache *c);
/* x: batch x steps x in. Fills c->h (the sequence; the last state is c->h[:, steps-1, :]). */
void nn_gru_train_forward(nn_gru_cache *c, const float *x, const float *W, const float *U, const float *b);
/* dh: batch x steps x units, the gradient of the loss with respect to every output state (zeros where
 * only the last state is used). Writes dW (in x 3u), dU (u x 3u), db (3u) and dx (may be NULL). */
void nn_gru_backward(nn_gru_cache *c, const float *x, const float *W, const float *U, const float *dh, float *dW,
                     float *dU, float *db, float *dx);

/* --- dense: y = x W + b (nn_dense_forward in recurrent.h); backward --- */
void nn_dense_backward(const float *x, const float *dy, int batch, int in, int out, const float *W, float *dW,
                       float *db, float *dx);

/* --- output head and loss: softmax + categorical cross-entropy, or sigmoid + binary cross-entropy
 * (summed over classes) on one-hot targets; both the mean over the batch. probs gets the outputs;
 * dlogits (may be NULL) the gradient of the mean loss. Returns the loss; *correct counts argmax hits. */
double nn_loss(const float *logits, int batch, int k, mm_head head, const int *labels, float *probs, float *dlogits,
               int *correct);

/* --- the contrastive loss (NT-Xent, Chen et al. 2020) over n views, n even, where views 2i and 2i+1
 * are the same song: z = u / |u| per row of u (n x k), s_ij = z_i . z_j / temperature, and
 *   loss = mean over i of -log( exp(s_i,partner) / sum over j != i of exp(s_ij) ).
 * dlogits (may be NULL) gets d loss / d u, exact (through the normalisation). *correct counts the views
 * whose most similar other view is their partner (the pair accuracy's numerator). --- */
double nn_ntxent(const float *u, int n, int k, double temperature, float *dlogits, int *correct);

/* --- a contrastive view of one song (augment.c): an excerpt of `frames` frames at a random offset,
 * repeated from a random phase to fill MM_N_FRAMES (frames 0 or >= MM_N_FRAMES: the whole clip), then
 * with `augment` nn_augment_clip. song and view are MM_N_MELS x MM_N_FRAMES; row as there. --- */
void nn_view_clip(const float *song, float *view, int frames, int augment, float *scratch_row, mm_rng *rng);
/* The fixed views a contrastive model is evaluated on: half 0 or 1 of the clip, repeated. */
void nn_view_half(const float *song, float *view, int half);

/* --- the convolution block on oneDNN: conv 3x3 'same' + bias -> batch-norm (batch statistics) -> ELU ->
 * max-pool (valid) -> dropout, forward in training mode and backward. Activations stay in the formats
 * the primitives choose; the parameters and their gradients are plain arrays the block points at. --- */
typedef struct nn_block_params {
    float *w, *b, *gamma, *beta;      /* [f][cin][3][3], [f], [f], [f] */
    float *dw, *db, *dgamma, *dbeta;  /* gradients, same shapes */
} nn_block_params;

typedef struct nn_block {
    int n, cin, h, w, f, oh, ow;
    float dropout;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    /* forward */
    dnnl_primitive_t src_reorder;     /* input -> conv source format, when they differ */
    dnnl_memory_t input, src;         /* input: the caller's memory (borrowed); src: it, or our copy */
    dnnl_primitive_t w_reorder, conv_fwd;
    dnnl_memory_t w_plain, w_fwd, bias, conv_dst;
    dnnl_primitive_t bn_fwd;
    dnnl_memory_t bn_dst, mean, var, scale, shift;
    dnnl_primitive_t elu_fwd, pool_fwd;
    dnnl_memory_t pool_dst, ws;
    uint8_t *mask;                    /* dropout, over pool_dst's physical elements */
    int dropped;                      /* the last forward applied the mask */
    size_t pool_elems;
    /* backward */
    dnnl_memory_t pool_diff_dst, diff_bn, diff_conv, diff_scale, diff_shift;
    dnnl_primitive_t pool_bwd, elu_bwd, bn_bwd;
    dnnl_primitive_t bw_src_reorder, bw_ddst_reorder, conv_bwd_w, dw_reorder;
    dnnl_memory_t bw_src, bw_ddst, dw_any, dw_plain, dbias;
    dnnl_primitive_t bd_w_reorder, bd_ddst_reorder, conv_bwd_d;
    dnnl_memory_t w_bwd, bd_ddst, diff_src; /* diff_src: NULL unless asked for */
    float *batch_mean, *batch_var;    /* plain views of mean / var (f each) */
} nn_block;

/* input: the memory the block reads (its descriptor fixes the format). need_diff_src: compute the
 * gradient with respect to the input (block->diff_src, in the format oneDNN chose). */
mm_status nn_block_init(nn_block *blk, dnnl_engine_t engine, dnnl_stream_t stream, dnnl_memory_t input, int n,
                        int cin, int h, int w, const mm_block_spec *spec, float dropout, const nn_block_params *p,
                        int need_diff_src, mm_error *err);
void nn_block_free(nn_block *blk);
/* Forward in training mode: reads input, leaves the result in pool_dst; batch statistics in
 * batch_mean / batch_var. rng: the dropout stream (NULL: no dropout). */
mm_status nn_block_forward(nn_block *blk, mm_rng *rng, mm_error *err);
/* Backward from pool_diff_dst (filled by the caller): writes the parameter gradients and diff_src. */
mm_status nn_block_backward(nn_block *blk, mm_error *err);

/* --- the whole network in training mode (train.c) --- */
typedef struct nn_net nn_net;

/* A training engine for `model` at a fixed batch size; gradients are kept per model parameter. */
mm_status nn_net_open(nn_net **out, mm_model *model, int batch, mm_error *err);
void nn_net_close(nn_net *net);
/* Forward in training mode (batch statistics; dropout from rng, none when NULL) over x (batch x 96 x
 * 1366), the loss against labels, and with `backward` the gradients of the mean loss. A contrastive
 * model's step needs no labels (NULL): x holds batch/2 songs' views in pairs (2i, 2i+1), and the loss is
 * nn_ntxent at the model's temperature. */
mm_status nn_net_step(nn_net *net, const float *x, const int *labels, mm_rng *rng, int backward, double *loss,
                      int *correct, mm_error *err);
/* The gradient of parameter `index` (mm_model_param order) after the last backward step. */
float *nn_net_grad(nn_net *net, int index);
/* Folds the last step's batch statistics into the running mean and (unbiased) variance:
 * running = momentum * running + (1 - momentum) * batch. */
void nn_net_update_running(nn_net *net, float momentum);

const dnnl_memory_desc_t *nn_memory_md(dnnl_memory_t mem);
dnnl_status_t nn_exec2(dnnl_primitive_t p, dnnl_stream_t s, int a1, dnnl_memory_t m1, int a2, dnnl_memory_t m2);
/* A reorder primitive from one descriptor to another. */
dnnl_status_t nn_reorder_create(dnnl_primitive_t *out, dnnl_engine_t engine, const dnnl_memory_desc_t *from,
                                const dnnl_memory_desc_t *to);

#endif
