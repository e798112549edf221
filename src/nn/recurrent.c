/* The recurrent head: two Keras-2.0 GRU layers, dense and the output activation. Small (tens of
 * units), so plain loops around BLAS products rather than oneDNN's GRU, whose gates use a logistic
 * sigmoid where Keras used hard_sigmoid. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "recurrent.h"

static float hard_sigmoid(float v)
{
    float y = 0.2f * v + 0.5f;
    return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}

void nn_gru_forward(const float *x, int batch, int steps, int in, int units, const float *W, const float *U,
                    const float *b, float *xw, float *h_seq, float *h_last, float *scratch)
{
    const int g3 = 3 * units;
    /* Input projections for every step at once: xw[(b, t)] = x[(b, t)] W + b. */
    for (int r = 0; r < batch * steps; r++)
        memcpy(xw + (size_t)r * g3, b, sizeof(float) * (size_t)g3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch * steps, g3, in, 1.0f, x, in, W, g3, 1.0f, xw, g3);
    float *h = scratch;                      /* batch x units */
    float *hu = scratch + batch * units;     /* batch x 2 units: h U_z, h U_r */
    float *rh = hu + 2 * batch * units;      /* batch x units: r * h */
    float *rhu = rh + batch * units;         /* batch x units: (r * h) U_h */
    memset(h, 0, sizeof(float) * (size_t)batch * (size_t)units);
    for (int t = 0; t < steps; t++) {
        /* h U for the z and r blocks: U is units x 3units, its first 2units columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, 2 * units, units, 1.0f, h, units, U, g3, 0.0f,
                    hu, 2 * units);
        for (int n = 0; n < batch; n++) {
            const float *p = xw + ((size_t)n * steps + t) * g3;
            for (int j = 0; j < units; j++) {
                float r = hard_sigmoid(p[units + j] + hu[n * 2 * units + units + j]);
                rh[n * units + j] = r * h[n * units + j];
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, units, units, 1.0f, rh, units, U + 2 * units, g3,
                    0.0f, rhu, units);
        for (int n = 0; n < batch; n++) {
            const float *p = xw + ((size_t)n * steps + t) * g3;
            for (int j = 0; j < units; j++) {
                float z = hard_sigmoid(p[j] + hu[n * 2 * units + j]);
                float hh = tanhf(p[2 * units + j] + rhu[n * units + j]);
                float *hv = &h[n * units + j];
                *hv = z * *hv + (1.0f - z) * hh;
                if (h_seq)
                    h_seq[((size_t)n * steps + t) * units + j] = *hv;
            }
        }
    }
    if (h_last)
        memcpy(h_last, h, sizeof(float) * (size_t)batch * (size_t)units);
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
