/* The plain-C training layers: time-position batch-norm, dropout, GRU with backpropagation through time,
 * dense and the output losses. Products go through BLAS; the rest are short loops. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "recurrent.h"

/* --- random numbers (mm_rng in util; these two are the network's own uses of it) ---------- */

uint64_t nn_rng_derive(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    uint64_t h = mm_splitmix64(&x);
    x = h ^ (a * 0xd1b54a32d192ed03ULL);
    h = mm_splitmix64(&x);
    x = h ^ (b * 0x8cb92ba72f3d8dd7ULL);
    return mm_splitmix64(&x);
}

double nn_rng_normal(mm_rng *rng)
{
    double u1 = mm_rng_uniform(rng), u2 = mm_rng_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* --- batch-norm over time positions ---------------------------------------------------------- */

void nn_tbn_forward(const float *x, int n, int rows, int w, const float *gamma, const float *beta, float eps,
                    float *y, float *mean, float *var, float *inv_std)
{
    const size_t planes = (size_t)n * (size_t)rows;
    double *acc = calloc((size_t)w, sizeof(double));
    /* two passes in double: the dB inputs sit far from zero, where one-pass variance loses digits */
    for (size_t p = 0; p < planes; p++) {
        const float *row = x + p * (size_t)w;
        for (int t = 0; t < w; t++)
            acc[t] += row[t];
    }
    for (int t = 0; t < w; t++) {
        mean[t] = (float)(acc[t] / (double)planes);
        acc[t] = 0.0;
    }
    for (size_t p = 0; p < planes; p++) {
        const float *row = x + p * (size_t)w;
        for (int t = 0; t < w; t++) {
            double d = (double)row[t] - mean[t];
            acc[t] += d * d;
        }
    }
    for (int t = 0; t < w; t++) {
        var[t] = (float)(acc[t] / (double)planes);
        inv_std[t] = (float)(1.0 / sqrt(acc[t] / (double)planes + eps));
    }
    free(acc);
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        const float *row = x + p * (size_t)w;
        float *out = y + p * (size_t)w;
        for (int t = 0; t < w; t++)
            out[t] = (row[t] - mean[t]) * inv_std[t] * gamma[t] + beta[t];
    }
}

void nn_tbn_backward(const float *x, const float *dy, int n, int rows, int w, const float *gamma, const float *mean,
                     const float *inv_std, float *dgamma, float *dbeta, float *dx)
{
    const size_t planes = (size_t)n * (size_t)rows;
    double *sg = calloc(2 * (size_t)w, sizeof(double)), *sb = sg + w;
    for (size_t p = 0; p < planes; p++) {
        const float *xr = x + p * (size_t)w, *dr = dy + p * (size_t)w;
        for (int t = 0; t < w; t++) {
            sg[t] += (double)dr[t] * (xr[t] - mean[t]) * inv_std[t];
            sb[t] += dr[t];
        }
    }
    for (int t = 0; t < w; t++) {
        dgamma[t] = (float)sg[t];
        dbeta[t] = (float)sb[t];
    }
    if (dx) {
        /* dx = gamma inv_std / m (m dy - sum dy - xhat sum(dy xhat)) */
        const double m = (double)planes;
        for (size_t p = 0; p < planes; p++) {
            const float *xr = x + p * (size_t)w, *dr = dy + p * (size_t)w;
            float *o = dx + p * (size_t)w;
            for (int t = 0; t < w; t++) {
                double xhat = (xr[t] - mean[t]) * (double)inv_std[t];
                o[t] = (float)(gamma[t] * inv_std[t] / m * (m * dr[t] - sb[t] - xhat * sg[t]));
            }
        }
    }
    free(sg);
}

/* --- dropout ---------------------------------------------------------------------------------- */

void nn_dropout_mask(uint8_t *mask, size_t count, float p, mm_rng *rng)
{
    /* compare 24-bit uniforms against the threshold: one draw per element, cheap */
    const uint32_t keep_below = (uint32_t)((1.0 - (double)p) * 16777216.0);
    size_t i = 0;
    while (i < count) {
        uint64_t v = mm_rng_next(rng);
        for (int k = 0; k < 2 && i < count; k++, i++, v >>= 32)
            mask[i] = (uint32_t)(v & 0xffffff) < keep_below;
    }
}

void nn_dropout_apply(float *x, const uint8_t *mask, size_t count, float p)
{
    const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        x[i] = mask[i] ? x[i] * scale : 0.0f;
}

/* --- GRU ----------------------------------------------------------------------------------------- */

mm_status nn_gru_cache_init(nn_gru_cache *c, int batch, int steps, int in, int units, nn_gate_act act, mm_error *err)
{
    memset(c, 0, sizeof *c);
    c->batch = batch;
    c->steps = steps;
    c->in = in;
    c->units = units;
    c->act = act;
    size_t seq = (size_t)batch * (size_t)steps * (size_t)units;
    float **bufs[] = {&c->z, &c->r, &c->hh, &c->rh, &c->hprev, &c->h};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i] = malloc(sizeof(float) * seq)))
            goto nomem;
    c->da = malloc(sizeof(float) * 3 * seq);
    c->tmp = malloc(sizeof(float) * 4 * (size_t)batch * (size_t)units);
    if (c->da && c->tmp)
        return MM_OK;
nomem:
    nn_gru_cache_free(c);
    return mm_error_set(err, MM_ERR_NOMEM, "training: out of memory for the GRU");
}

void nn_gru_cache_free(nn_gru_cache *c)
{
    free(c->z);
    free(c->r);
    free(c->hh);
    free(c->rh);
    free(c->hprev);
    free(c->h);
    free(c->da);
    free(c->tmp);
    memset(c, 0, sizeof *c);
}

static float gate(float v, nn_gate_act act)
{
    if (act == NN_GATE_SIGMOID)
        return 1.0f / (1.0f + expf(-v));
    float y = 0.2f * v + 0.5f;
    return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}

/* The gate's derivative from its output: hard_sigmoid is 0.2 inside the ramp and flat outside it. */
static float gate_grad(float y, nn_gate_act act)
{
    if (act == NN_GATE_SIGMOID)
        return y * (1.0f - y);
    return y > 0.0f && y < 1.0f ? 0.2f : 0.0f;
}

void nn_gru_train_forward(nn_gru_cache *c, const float *x, const float *W, const float *U, const float *b)
{
    const int B = c->batch, T = c->steps, u = c->units, g3 = 3 * u;
    const size_t rows = (size_t)B * (size_t)T;
    /* the input projections of all steps at once, kept in da (reused as scratch until backward) */
    float *xw = c->da;
    for (size_t i = 0; i < rows; i++)
        memcpy(xw + i * g3, b, sizeof(float) * (size_t)g3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, g3, c->in, 1.0f, x, c->in, W, g3, 1.0f, xw, g3);
    float *hu = c->tmp;                      /* B x 2u */
    float *rhu = c->tmp + 2 * (size_t)B * u; /* B x u */
    const int ld = T * u;                    /* stride between batch items in the [B][T][u] arrays */
    for (int t = 0; t < T; t++) {
        float *hp = c->hprev + (size_t)t * u;
        if (t == 0)
            for (int n = 0; n < B; n++)
                memset(hp + (size_t)n * ld, 0, sizeof(float) * (size_t)u);
        else
            for (int n = 0; n < B; n++)
                memcpy(hp + (size_t)n * ld, c->h + (size_t)n * ld + (size_t)(t - 1) * u, sizeof(float) * (size_t)u);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, 2 * u, u, 1.0f, hp, ld, U, g3, 0.0f, hu, 2 * u);
        for (int n = 0; n < B; n++) {
            const size_t o = (size_t)n * ld + (size_t)t * u;
            const float *p = xw + ((size_t)n * T + t) * g3;
            for (int j = 0; j < u; j++) {
                float z = gate(p[j] + hu[n * 2 * u + j], c->act);
                float r = gate(p[u + j] + hu[n * 2 * u + u + j], c->act);
                c->z[o + j] = z;
                c->r[o + j] = r;
                c->rh[o + j] = r * hp[(size_t)n * ld + j];
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, u, u, 1.0f, c->rh + (size_t)t * u, ld, U + 2 * u, g3,
                    0.0f, rhu, u);
        for (int n = 0; n < B; n++) {
            const size_t o = (size_t)n * ld + (size_t)t * u;
            const float *p = xw + ((size_t)n * T + t) * g3;
            for (int j = 0; j < u; j++) {
                float hh = tanhf(p[2 * u + j] + rhu[n * u + j]);
                float z = c->z[o + j];
                c->hh[o + j] = hh;
                c->h[o + j] = z * c->hprev[o + j] + (1.0f - z) * hh;
            }
        }
    }
}

void nn_gru_backward(nn_gru_cache *c, const float *x, const float *W, const float *U, const float *dh, float *dW,
                     float *dU, float *db, float *dx)
{
    const int B = c->batch, T = c->steps, u = c->units, g3 = 3 * u, ld = T * u, ld3 = T * g3;
    const size_t rows = (size_t)B * (size_t)T;
    float *drec = c->tmp;                      /* B x u: gradient flowing into h_{t-1} */
    float *dcur = c->tmp + (size_t)B * u;      /* B x u */
    float *drh = c->tmp + 2 * (size_t)B * u;   /* B x u */
    memset(drec, 0, sizeof(float) * (size_t)B * u);
    for (int t = T - 1; t >= 0; t--) {
        for (int n = 0; n < B; n++) {
            const size_t o = (size_t)n * ld + (size_t)t * u;
            float *da = c->da + (size_t)n * ld3 + (size_t)t * g3;
            for (int j = 0; j < u; j++) {
                float d = dh[o + j] + drec[n * u + j];
                float z = c->z[o + j], hh = c->hh[o + j];
                dcur[n * u + j] = d;
                da[j] = d * (c->hprev[o + j] - hh) * gate_grad(z, c->act);   /* through z */
                da[2 * u + j] = d * (1.0f - z) * (1.0f - hh * hh);           /* through hh */
                drec[n * u + j] = d * z;
            }
        }
        /* d(r*h) = da_h U_h^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, u, u, 1.0f, c->da + (size_t)t * g3 + 2 * u, ld3,
                    U + 2 * u, g3, 0.0f, drh, u);
        for (int n = 0; n < B; n++) {
            const size_t o = (size_t)n * ld + (size_t)t * u;
            float *da = c->da + (size_t)n * ld3 + (size_t)t * g3;
            for (int j = 0; j < u; j++) {
                float r = c->r[o + j];
                da[u + j] = drh[n * u + j] * c->hprev[o + j] * gate_grad(r, c->act);
                drec[n * u + j] += drh[n * u + j] * r;
            }
        }
        /* + [da_z da_r] U_zr^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, u, 2 * u, 1.0f, c->da + (size_t)t * g3, ld3, U, g3, 1.0f,
                    drec, u);
    }
    /* the parameter gradients, all steps in one product each */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->in, g3, (int)rows, 1.0f, x, c->in, c->da, g3, 0.0f, dW, g3);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, u, 2 * u, (int)rows, 1.0f, c->hprev, u, c->da, g3, 0.0f, dU, g3);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, u, u, (int)rows, 1.0f, c->rh, u, c->da + 2 * u, g3, 0.0f,
                dU + 2 * u, g3);
    memset(db, 0, sizeof(float) * (size_t)g3);
    for (size_t i = 0; i < rows; i++)
        for (int j = 0; j < g3; j++)
            db[j] += c->da[i * g3 + j];
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, c->in, g3, 1.0f, c->da, g3, W, g3, 0.0f, dx,
                    c->in);
}

/* --- dense and loss ------------------------------------------------------------------------------- */

void nn_dense_backward(const float *x, const float *dy, int batch, int in, int out, const float *W, float *dW,
                       float *db, float *dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, batch, 1.0f, x, in, dy, out, 0.0f, dW, out);
    memset(db, 0, sizeof(float) * (size_t)out);
    for (int n = 0; n < batch; n++)
        for (int j = 0; j < out; j++)
            db[j] += dy[(size_t)n * out + j];
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in, out, 1.0f, dy, out, W, out, 0.0f, dx, in);
}

double nn_loss(const float *logits, int batch, int k, mm_head head, const int *labels, float *probs, float *dlogits,
               int *correct)
{
    double loss = 0.0;
    int hits = 0;
    memcpy(probs, logits, sizeof(float) * (size_t)batch * (size_t)k);
    nn_head_forward(probs, batch, k, head);
    for (int n = 0; n < batch; n++) {
        const float *p = probs + (size_t)n * k, *z = logits + (size_t)n * k;
        const int y = labels[n];
        int best = 0;
        for (int j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        hits += best == y;
        if (head == MM_HEAD_SOFTMAX) {
            /* -log softmax from the logits directly: exact where p underflows */
            double peak = z[0], sum = 0.0;
            for (int j = 1; j < k; j++)
                peak = z[j] > peak ? z[j] : peak;
            for (int j = 0; j < k; j++)
                sum += exp((double)z[j] - peak);
            loss += peak + log(sum) - z[y];
        } else {
            /* -log sigmoid(z) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z) */
            for (int j = 0; j < k; j++) {
                double v = j == y ? -(double)z[j] : (double)z[j];
                loss += v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
            }
        }
        if (dlogits)
            for (int j = 0; j < k; j++)
                dlogits[(size_t)n * k + j] = (p[j] - (j == y ? 1.0f : 0.0f)) / (float)batch;
    }
    if (correct)
        *correct = hits;
    return loss / batch;
}

/* --- NT-Xent ---------------------------------------------------------------------------------------- */

double nn_ntxent(const float *u, int n, int k, double temperature, float *dlogits, int *correct)
{
    /* in double: the n x n similarities are few, and the gradient check wants them exact */
    double *z = malloc(sizeof(double) * (size_t)n * (size_t)k), *norm = malloc(sizeof(double) * (size_t)n);
    double *p = malloc(sizeof(double) * (size_t)n * (size_t)n), *g = malloc(sizeof(double) * (size_t)k);
    if (!z || !norm || !p || !g) {
        free(z), free(norm), free(p), free(g);
        return NAN;
    }
    for (int i = 0; i < n; i++) {
        double ss = 1e-12; /* a zero projection has no direction; the epsilon keeps it finite */
        for (int j = 0; j < k; j++)
            ss += (double)u[(size_t)i * k + j] * u[(size_t)i * k + j];
        norm[i] = sqrt(ss);
        for (int j = 0; j < k; j++)
            z[(size_t)i * k + j] = u[(size_t)i * k + j] / norm[i];
    }
    /* p[i][j]: row i's softmax over j != i of s_ij (p[i][i] = 0) */
    double loss = 0.0;
    int hits = 0;
    for (int i = 0; i < n; i++) {
        double *row = p + (size_t)i * n, peak = -INFINITY;
        int best = -1;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double dot = 0.0;
            for (int c = 0; c < k; c++)
                dot += z[(size_t)i * k + c] * z[(size_t)j * k + c];
            row[j] = dot / temperature;
            if (row[j] > peak)
                peak = row[j], best = j;
        }
        double sum = 0.0;
        for (int j = 0; j < n; j++)
            if (j != i)
                sum += exp(row[j] - peak);
        loss += peak + log(sum) - row[i ^ 1];
        for (int j = 0; j < n; j++)
            row[j] = j == i ? 0.0 : exp(row[j] - peak) / sum;
        hits += best == (i ^ 1);
    }
    if (dlogits) {
        /* s_ij enters rows i and j: dL/dz_i = sum_j ((p_ij - y_ij) + (p_ji - y_ji)) z_j / (n tau), y the
         * partner indicator; then through z = u / |u|: dL/du = (g - (g . z) z) / |u| */
        const double scale = 1.0 / ((double)n * temperature);
        for (int i = 0; i < n; i++) {
            memset(g, 0, sizeof(double) * (size_t)k);
            for (int j = 0; j < n; j++) {
                if (j == i)
                    continue;
                double w = p[(size_t)i * n + j] + p[(size_t)j * n + i] - (j == (i ^ 1) ? 2.0 : 0.0);
                for (int c = 0; c < k; c++)
                    g[c] += w * z[(size_t)j * k + c];
            }
            double gz = 0.0;
            for (int c = 0; c < k; c++)
                gz += g[c] * z[(size_t)i * k + c];
            for (int c = 0; c < k; c++)
                dlogits[(size_t)i * k + c] = (float)(scale * (g[c] - gz * z[(size_t)i * k + c]) / norm[i]);
        }
    }
    free(z), free(norm), free(p), free(g);
    if (correct)
        *correct = hits;
    return loss / n;
}
