/* The recurrent head: two GRU layers (Keras 2.0's, or tf.keras' reset_after / sigmoid variant), dense
 * and the output activation. Small (tens of units), so plain loops around BLAS products rather than
 * oneDNN's GRU, whose gates use a logistic sigmoid where Keras 1/2.0 used hard_sigmoid. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "recurrent.h"

/* Keras 1/2's and tf.keras' hard_sigmoid, or the logistic sigmoid. (Keras 3's hard_sigmoid is
 * clip(v / 6 + 0.5): the importer refuses it.) */
static float gate(float v, mm_gru_gates gates)
{
    if (gates == MM_GRU_GATES_SIGMOID)
        return 1.0f / (1.0f + expf(-v));
    float y = 0.2f * v + 0.5f;
    return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}

/* Step t, reset before: hu = h [Uz Ur]; rh = r * h; rhu = rh Uh; h updated in place. */
static void step_reset_before(const float *xw, int batch, int steps, int t, int units, const float *U,
                              mm_gru_gates gates, float *h, float *hu, float *rh, float *rhu)
{
    const int g3 = 3 * units;
    /* h U for the z and r blocks: U is units x 3units, its first 2units columns */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, 2 * units, units, 1.0f, h, units, U, g3, 0.0f, hu,
                2 * units);
    for (int n = 0; n < batch; n++) {
        const float *p = xw + ((size_t)n * steps + t) * g3;
        for (int j = 0; j < units; j++) {
            float r = gate(p[units + j] + hu[n * 2 * units + units + j], gates);
            rh[n * units + j] = r * h[n * units + j];
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, units, units, 1.0f, rh, units, U + 2 * units, g3,
                0.0f, rhu, units);
    for (int n = 0; n < batch; n++) {
        const float *p = xw + ((size_t)n * steps + t) * g3;
        for (int j = 0; j < units; j++) {
            float z = gate(p[j] + hu[n * 2 * units + j], gates);
            float hh = tanhf(p[2 * units + j] + rhu[n * units + j]);
            float *hv = &h[n * units + j];
            *hv = z * *hv + (1.0f - z) * hh;
        }
    }
}

/* Step t, reset after: hu = h U + bu for all three blocks at once (batch x 3u); h updated in place. */
static void step_reset_after(const float *xw, int batch, int steps, int t, int units, const float *U,
                             const float *bu, mm_gru_gates gates, float *h, float *hu)
{
    const int g3 = 3 * units;
    for (int n = 0; n < batch; n++)
        memcpy(hu + (size_t)n * g3, bu, sizeof(float) * (size_t)g3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, g3, units, 1.0f, h, units, U, g3, 1.0f, hu, g3);
    for (int n = 0; n < batch; n++) {
        const float *p = xw + ((size_t)n * steps + t) * g3, *q = hu + (size_t)n * g3;
        for (int j = 0; j < units; j++) {
            float z = gate(p[j] + q[j], gates);
            float r = gate(p[units + j] + q[units + j], gates);
            float hh = tanhf(p[2 * units + j] + r * q[2 * units + j]);
            float *hv = &h[n * units + j];
            *hv = z * *hv + (1.0f - z) * hh;
        }
    }
}

void nn_gru_forward_variant(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                            const float *b, mm_gru_variant variant, float *xw, float *h_seq, float *h_last,
                            float *scratch)
{
    const int g3 = 3 * units;
    /* Input projections for every step at once: xw[(b, t)] = x[(b, t)] W + b (the input bias: b's
     * first 3u values in both variants). */
    for (int r = 0; r < batch * steps; r++)
        memcpy(xw + (size_t)r * g3, b, sizeof(float) * (size_t)g3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch * steps, g3, in, 1.0f, x, in, W, g3, 1.0f, xw, g3);
    float *h = scratch;                  /* batch x units */
    float *hu = scratch + batch * units; /* reset before: batch x 2 units (h Uz, h Ur); after: batch x 3 units */
    float *rh = hu + 2 * batch * units;  /* reset before: batch x units, r * h */
    float *rhu = rh + batch * units;     /* reset before: batch x units, (r * h) Uh */
    memset(h, 0, sizeof(float) * (size_t)batch * (size_t)units);
    for (int t = 0; t < steps; t++) {
        if (variant.reset_after)
            step_reset_after(xw, batch, steps, t, units, U, b + g3, variant.gates, h, hu);
        else
            step_reset_before(xw, batch, steps, t, units, U, variant.gates, h, hu, rh, rhu);
        for (int n = 0; h_seq && n < batch; n++)
            memcpy(h_seq + ((size_t)n * steps + t) * units, h + (size_t)n * units, sizeof(float) * (size_t)units);
    }
    if (h_last)
        memcpy(h_last, h, sizeof(float) * (size_t)batch * (size_t)units);
}

void nn_gru_forward(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                    const float *b, float *xw, float *h_seq, float *h_last, float *scratch)
{
    const mm_gru_variant keras20 = {MM_GRU_GATES_HARD_SIGMOID, 0};
    nn_gru_forward_variant(x, batch, steps, in, units, W, U, b, keras20, xw, h_seq, h_last, scratch);
}

void nn_dense_forward(const float *x, int batch, int in, int out, const float *W, const float *b, float *y)
{
    for (int n = 0; n < batch; n++)
        memcpy(y + (size_t)n * out, b, sizeof(float) * (size_t)out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, out, in, 1.0f, x, in, W, out, 1.0f, y, out);
}

void nn_head_forward(float *y, int batch, int k, mm_head head)
{
    for (int n = 0; n < batch; n++) {
        float *v = y + (size_t)n * k;
        if (head == MM_HEAD_CONTRASTIVE) {
            /* as nn_ntxent normalises (same epsilon), so outputs are the vectors training compared */
            double ss = 1e-12;
            for (int j = 0; j < k; j++)
                ss += (double)v[j] * v[j];
            const float inv = (float)(1.0 / sqrt(ss));
            for (int j = 0; j < k; j++)
                v[j] *= inv;
            continue;
        }
        if (head == MM_HEAD_SIGMOID) {
            for (int j = 0; j < k; j++)
                v[j] = 1.0f / (1.0f + expf(-v[j]));
            continue;
        }
        float peak = v[0];
        for (int j = 1; j < k; j++)
            peak = v[j] > peak ? v[j] : peak;
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            v[j] = expf(v[j] - peak);
            sum += v[j];
        }
        for (int j = 0; j < k; j++)
            v[j] /= sum;
    }
}
