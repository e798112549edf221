/* GRU, dense and output activations (internal to the nn module). */
#ifndef MM_NN_RECURRENT_H
#define MM_NN_RECURRENT_H

#include "internal.h"

/* Keras 2.0 GRU (reset before the recurrent product, hard_sigmoid gates, tanh, h0 = 0):
 *   z = hs(x Wz + bz + h Uz), r = hs(x Wr + br + h Ur), hh = tanh(x Wh + bh + (r * h) Uh),
 *   h = z * h + (1 - z) * hh.
 * x: batch x steps x in. W: in x 3u, U: u x 3u, b: 3u (blocks z | r | h).
 * xw: batch*steps x 3u scratch (kept: the projections). h_seq (batch x steps x u) and h_last
 * (batch x u) may be NULL. scratch: 5 * batch * u floats. */
void nn_gru_forward(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                    const float *b, float *xw, float *h_seq, float *h_last, float *scratch);

/* y = x W + b; x: batch x in, W: in x out. */
void nn_dense_forward(const float *x, int batch, int in, int out, const float *W, const float *b, float *y);

/* In place: softmax or logistic sigmoid of each row of y (batch x k). */
void nn_head_forward(float *y, int batch, int k, mm_head head);

#endif
