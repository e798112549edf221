/* GRU, dense and output activations (internal to the nn module). */
#ifndef MM_NN_RECURRENT_H
#define MM_NN_RECURRENT_H

#include "internal.h"

/* A GRU layer in inference, either variant (nn.h, mm_gru_variant), h0 = 0, gate blocks z | r | h:
 *   reset before (default; b: 3u):
 *     z = g(x Wz + bz + h Uz), r = g(x Wr + br + h Ur), hh = tanh(x Wh + bh + (r * h) Uh)
 *   reset_after (b: 2 x 3u, the input bias bi, then the recurrent bias bu):
 *     z = g(x Wz + biz + h Uz + buz), r = g(x Wr + bir + h Ur + bur),
 *     hh = tanh(x Wh + bih + r * (h Uh + buh))
 *   h = z * h + (1 - z) * hh; g: hard_sigmoid clip(0.2 v + 0.5, 0, 1) or the logistic sigmoid.
 * x: batch x steps x in. W: in x 3u, U: u x 3u. xw: batch*steps x 3u scratch (kept: the input
 * projections). h_seq (batch x steps x u) and h_last (batch x u) may be NULL. scratch: 5 * batch * u
 * floats. */
void nn_gru_forward_variant(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                            const float *b, mm_gru_variant variant, float *xw, float *h_seq, float *h_last,
                            float *scratch);

/* The default variant: Keras 2.0's GRU (hard_sigmoid gates, reset before the recurrent product), the
 * one training computes. */
void nn_gru_forward(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                    const float *b, float *xw, float *h_seq, float *h_last, float *scratch);

/* y = x W + b; x: batch x in, W: in x out. */
void nn_dense_forward(const float *x, int batch, int in, int out, const float *W, const float *b, float *y);

/* In place: softmax or logistic sigmoid of each row of y (batch x k). */
void nn_head_forward(float *y, int batch, int k, mm_head head);

#endif
