/* The CRNN in training mode: zero-pad -> time-position batch-norm -> convolution blocks (oneDNN) ->
 * sequence -> GRU -> GRU (last state) -> dropout -> dense -> loss, and back again. One engine per batch
 * size, every primitive and buffer made once at open. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "recurrent.h"

struct nn_net {
    mm_model *model;
    int batch, width, n_blocks, T, C, U, K;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    float *x_pad;                    /* batch x 96 x width: the padded input */
    float *in_data;                  /* the same after bn0: block 1's input (nchw) */
    dnnl_memory_t in_mem;
    float *bn0_mean, *bn0_var, *bn0_inv;
    nn_block blocks[MM_MAX_BLOCKS];
    dnnl_primitive_t between[MM_MAX_BLOCKS]; /* block b's input gradient -> block b-1's output gradient */
    dnnl_primitive_t to_plain, from_plain, din_to_plain;
    dnnl_memory_t plain, dplain, din_mem;
    float *plain_data, *dplain_data, *din;
    float *seq, *dseq;               /* batch x T x C */
    nn_gru_cache g1, g2;
    float *dh1, *dh2;                /* batch x T x U */
    float *hl, *dhl;                 /* batch x U: the last state after dropout */
    uint8_t *mask;
    int dropped;
    float *logits, *probs, *dlogits;
    float **grads;                   /* per model parameter */
    int idx_bn0[4], idx_gru1[3], idx_gru2[3], idx_dense[2];
};

#define TRY(call, what)                                                                                      \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success) {                                                                            \
            st = mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)s_);         \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

static int param_index(const mm_model *m, const char *fmt, int k)
{
    char name[32];
    snprintf(name, sizeof name, fmt, k);
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return i;
    return -1;
}

static float *P(nn_net *net, int index)
{
    return net->model->params[index].data;
}

float *nn_net_grad(nn_net *net, int index)
{
    return index >= 0 && index < net->model->n_params ? net->grads[index] : NULL;
}

mm_status nn_net_open(nn_net **out, mm_model *model, int batch, mm_error *err)
{
    *out = NULL;
    if (batch < 1 || batch > 4096)
        return mm_error_set(err, MM_ERR_ARG, "training: batch size %d out of range", batch);
    if (model->head == MM_HEAD_CONTRASTIVE && (batch < 4 || batch % 2))
        return mm_error_set(err, MM_ERR_ARG, "training: a contrastive batch holds pairs of views: %d is not even or "
                            "below 4", batch);
    mm_status trainable = mm_model_check_trainable(model, err); /* the GRU below is Keras 2.0's only */
    if (trainable != MM_OK)
        return trainable;
    nn_net *net = calloc(1, sizeof *net);
    if (!net)
        return mm_error_set(err, MM_ERR_NOMEM, "training: out of memory");
    mm_status st = MM_OK;
    const mm_preset *p = &model->preset;
    net->model = model;
    net->batch = batch;
    net->width = MM_N_FRAMES + 2 * p->time_pad;
    net->n_blocks = p->n_blocks;
    net->U = p->gru_units;
    net->K = model->n_labels;
    const char *bn[4] = {"bn0.gamma", "bn0.beta", "bn0.mean", "bn0.var"};
    for (int k = 0; k < 4; k++)
        net->idx_bn0[k] = param_index(model, bn[k], 0);
    for (int g = 1; g <= 2; g++) {
        int *idx = g == 1 ? net->idx_gru1 : net->idx_gru2;
        idx[0] = param_index(model, "gru%d.W", g);
        idx[1] = param_index(model, "gru%d.U", g);
        idx[2] = param_index(model, "gru%d.b", g);
    }
    net->idx_dense[0] = param_index(model, "dense.W", 0);
    net->idx_dense[1] = param_index(model, "dense.b", 0);
    if (model->n_params < 1 || model->n_params > 4096) {
        free(net);
        return mm_error_set(err, MM_ERR_ARG, "training: model has %d parameters", model->n_params);
    }
    net->grads = calloc((unsigned)model->n_params, sizeof *net->grads);
    if (!net->grads)
        goto nomem;
    for (int i = 0; i < model->n_params; i++)
        if (!(net->grads[i] = calloc(model->params[i].count, sizeof(float))))
            goto nomem;
    const size_t in_count = (size_t)batch * MM_N_MELS * (size_t)net->width;
    net->x_pad = malloc(sizeof(float) * in_count);
    net->in_data = malloc(sizeof(float) * in_count);
    net->din = malloc(sizeof(float) * in_count);
    net->bn0_mean = malloc(sizeof(float) * 3 * (size_t)net->width);
    if (!net->x_pad || !net->in_data || !net->din || !net->bn0_mean)
        goto nomem;
    net->bn0_var = net->bn0_mean + net->width;
    net->bn0_inv = net->bn0_var + net->width;

    TRY(dnnl_engine_create(&net->engine, dnnl_cpu, 0), "engine");
    TRY(dnnl_stream_create(&net->stream, net->engine, dnnl_stream_default_flags), "stream");
    dnnl_dims_t in_dims = {batch, 1, MM_N_MELS, net->width};
    dnnl_memory_desc_t in_md;
    TRY(dnnl_memory_desc_init_by_tag(&in_md, 4, in_dims, dnnl_f32, dnnl_nchw), "input desc");
    TRY(dnnl_memory_create(&net->in_mem, &in_md, net->engine, net->in_data), "input memory");
    TRY(dnnl_memory_create(&net->din_mem, &in_md, net->engine, net->din), "input gradient memory");

    dnnl_memory_t prev = net->in_mem;
    int c = 1, h = MM_N_MELS, w = net->width;
    for (int b = 0; b < p->n_blocks; b++) {
        nn_block_params bp = {
            P(net, param_index(model, "conv%d.w", b + 1)),      P(net, param_index(model, "conv%d.b", b + 1)),
            P(net, param_index(model, "bn%d.gamma", b + 1)),    P(net, param_index(model, "bn%d.beta", b + 1)),
            net->grads[param_index(model, "conv%d.w", b + 1)],  net->grads[param_index(model, "conv%d.b", b + 1)],
            net->grads[param_index(model, "bn%d.gamma", b + 1)], net->grads[param_index(model, "bn%d.beta", b + 1)]};
        /* block 1 also needs its input gradient: bn0's gamma and beta are trained */
        st = nn_block_init(&net->blocks[b], net->engine, net->stream, prev, batch, c, h, w, &p->blocks[b],
                           p->block_dropout, &bp, 1, err);
        if (st != MM_OK)
            goto done;
        if (b > 0)
            TRY(nn_reorder_create(&net->between[b], net->engine, nn_memory_md(net->blocks[b].diff_src),
                                  nn_memory_md(net->blocks[b - 1].pool_diff_dst)),
                "gradient reorder");
        prev = net->blocks[b].pool_dst;
        c = net->blocks[b].f;
        h = net->blocks[b].oh;
        w = net->blocks[b].ow;
    }
    if (h != 1) {
        st = mm_error_set(err, MM_ERR_ARG, "training: preset %s leaves %d mel rows, not 1", p->name, h);
        goto done;
    }
    TRY(nn_reorder_create(&net->din_to_plain, net->engine, nn_memory_md(net->blocks[0].diff_src), &in_md),
        "gradient reorder");
    net->C = c;
    net->T = w;
    const size_t seq = (size_t)batch * (size_t)w * (size_t)c;
    net->plain_data = malloc(sizeof(float) * seq);
    net->dplain_data = malloc(sizeof(float) * seq);
    net->seq = malloc(sizeof(float) * seq);
    net->dseq = malloc(sizeof(float) * seq);
    if (!net->plain_data || !net->dplain_data || !net->seq || !net->dseq)
        goto nomem;
    dnnl_dims_t out_dims = {batch, c, 1, w};
    dnnl_memory_desc_t plain_md;
    nn_block *last = &net->blocks[p->n_blocks - 1];
    TRY(dnnl_memory_desc_init_by_tag(&plain_md, 4, out_dims, dnnl_f32, dnnl_nchw), "output desc");
    TRY(dnnl_memory_create(&net->plain, &plain_md, net->engine, net->plain_data), "output memory");
    TRY(dnnl_memory_create(&net->dplain, &plain_md, net->engine, net->dplain_data), "output gradient memory");
    TRY(nn_reorder_create(&net->to_plain, net->engine, nn_memory_md(last->pool_dst), &plain_md), "reorder");
    TRY(nn_reorder_create(&net->from_plain, net->engine, &plain_md, nn_memory_md(last->pool_diff_dst)), "reorder");

    const int U = net->U, T = net->T, K = net->K;
    if ((st = nn_gru_cache_init(&net->g1, batch, T, c, U, NN_GATE_HARD_SIGMOID, err)) != MM_OK ||
        (st = nn_gru_cache_init(&net->g2, batch, T, U, U, NN_GATE_HARD_SIGMOID, err)) != MM_OK)
        goto done;
    net->dh1 = malloc(sizeof(float) * (size_t)batch * T * U);
    net->dh2 = calloc((size_t)batch * T * U, sizeof(float));
    net->hl = malloc(sizeof(float) * (size_t)batch * U);
    net->dhl = malloc(sizeof(float) * (size_t)batch * U);
    net->mask = malloc((size_t)batch * U);
    net->logits = malloc(sizeof(float) * (size_t)batch * K);
    net->probs = malloc(sizeof(float) * (size_t)batch * K);
    net->dlogits = malloc(sizeof(float) * (size_t)batch * K);
    if (!net->dh1 || !net->dh2 || !net->hl || !net->dhl || !net->mask || !net->logits || !net->probs || !net->dlogits)
        goto nomem;
    goto done;
nomem:
    st = mm_error_set(err, MM_ERR_NOMEM, "training: out of memory");
done:
    if (st != MM_OK) {
        nn_net_close(net);
        return st;
    }
    *out = net;
    return MM_OK;
}

void nn_net_close(nn_net *net)
{
    if (!net)
        return;
    for (int b = 0; b < net->n_blocks; b++) {
        nn_block_free(&net->blocks[b]);
        dnnl_primitive_destroy(net->between[b]);
    }
    dnnl_primitive_destroy(net->to_plain);
    dnnl_primitive_destroy(net->from_plain);
    dnnl_primitive_destroy(net->din_to_plain);
    dnnl_memory_destroy(net->plain);
    dnnl_memory_destroy(net->dplain);
    dnnl_memory_destroy(net->in_mem);
    dnnl_memory_destroy(net->din_mem);
    dnnl_stream_destroy(net->stream);
    dnnl_engine_destroy(net->engine);
    nn_gru_cache_free(&net->g1);
    nn_gru_cache_free(&net->g2);
    if (net->grads)
        for (int i = 0; i < net->model->n_params; i++)
            free(net->grads[i]);
    free(net->grads);
    void *bufs[] = {net->x_pad, net->in_data, net->din, net->bn0_mean, net->plain_data, net->dplain_data, net->seq,
                    net->dseq, net->dh1, net->dh2, net->hl, net->dhl, net->mask, net->logits, net->probs,
                    net->dlogits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(net);
}

#define RUN(call, what)                                                                                      \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success)                                                                              \
            return mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)s_);       \
    } while (0)

mm_status nn_net_step(nn_net *net, const float *x, const int *labels, mm_rng *rng, int backward, double *loss,
                      int *correct, mm_error *err)
{
    const mm_model *m = net->model;
    const int B = net->batch, W = net->width, pad = m->preset.time_pad, T = net->T, C = net->C, U = net->U,
              K = net->K;
    mm_status st;
    /* zero-pad time, then batch-norm per time position over the batch */
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * MM_N_MELS; r++) {
        float *row = net->x_pad + (size_t)r * W;
        memset(row, 0, sizeof(float) * (size_t)pad);
        memcpy(row + pad, x + (size_t)r * MM_N_FRAMES, sizeof(float) * MM_N_FRAMES);
        memset(row + pad + MM_N_FRAMES, 0, sizeof(float) * (size_t)(W - pad - MM_N_FRAMES));
    }
    nn_tbn_forward(net->x_pad, B, MM_N_MELS, W, P(net, net->idx_bn0[0]), P(net, net->idx_bn0[1]), MM_BN_EPSILON,
                   net->in_data, net->bn0_mean, net->bn0_var, net->bn0_inv);
    for (int b = 0; b < net->n_blocks; b++)
        if ((st = nn_block_forward(&net->blocks[b], rng, err)) != MM_OK)
            return st;
    nn_block *last = &net->blocks[net->n_blocks - 1];
    RUN(nn_exec2(net->to_plain, net->stream, DNNL_ARG_FROM, last->pool_dst, DNNL_ARG_TO, net->plain), "reorder");
    RUN(dnnl_stream_wait(net->stream), "stream");
    /* (C x 1 x T) -> T steps of C values */
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                net->seq[((size_t)n * T + t) * C + c] = net->plain_data[((size_t)n * C + c) * T + t];
    nn_gru_train_forward(&net->g1, net->seq, P(net, net->idx_gru1[0]), P(net, net->idx_gru1[1]),
                         P(net, net->idx_gru1[2]));
    nn_gru_train_forward(&net->g2, net->g1.h, P(net, net->idx_gru2[0]), P(net, net->idx_gru2[1]),
                         P(net, net->idx_gru2[2]));
    for (int n = 0; n < B; n++)
        memcpy(net->hl + (size_t)n * U, net->g2.h + ((size_t)n * T + T - 1) * U, sizeof(float) * (size_t)U);
    const float fd = m->preset.final_dropout;
    net->dropped = rng && fd > 0.0f;
    if (net->dropped) {
        nn_dropout_mask(net->mask, (size_t)B * U, fd, rng);
        nn_dropout_apply(net->hl, net->mask, (size_t)B * U, fd);
    }
    nn_dense_forward(net->hl, B, U, K, P(net, net->idx_dense[0]), P(net, net->idx_dense[1]), net->logits);
    if (m->head == MM_HEAD_CONTRASTIVE)
        *loss = nn_ntxent(net->logits, B, K, m->temperature, backward ? net->dlogits : NULL, correct);
    else
        *loss = nn_loss(net->logits, B, K, m->head, labels, net->probs, backward ? net->dlogits : NULL, correct);
    if (!backward)
        return MM_OK;

    nn_dense_backward(net->hl, net->dlogits, B, U, K, P(net, net->idx_dense[0]), net->grads[net->idx_dense[0]],
                      net->grads[net->idx_dense[1]], net->dhl);
    if (net->dropped)
        nn_dropout_apply(net->dhl, net->mask, (size_t)B * U, fd);
    for (int n = 0; n < B; n++)
        memcpy(net->dh2 + ((size_t)n * T + T - 1) * U, net->dhl + (size_t)n * U, sizeof(float) * (size_t)U);
    nn_gru_backward(&net->g2, net->g1.h, P(net, net->idx_gru2[0]), P(net, net->idx_gru2[1]), net->dh2,
                    net->grads[net->idx_gru2[0]], net->grads[net->idx_gru2[1]], net->grads[net->idx_gru2[2]], net->dh1);
    nn_gru_backward(&net->g1, net->seq, P(net, net->idx_gru1[0]), P(net, net->idx_gru1[1]), net->dh1,
                    net->grads[net->idx_gru1[0]], net->grads[net->idx_gru1[1]], net->grads[net->idx_gru1[2]],
                    net->dseq);
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                net->dplain_data[((size_t)n * C + c) * T + t] = net->dseq[((size_t)n * T + t) * C + c];
    RUN(nn_exec2(net->from_plain, net->stream, DNNL_ARG_FROM, net->dplain, DNNL_ARG_TO, last->pool_diff_dst),
        "reorder");
    for (int b = net->n_blocks - 1; b >= 0; b--) {
        if ((st = nn_block_backward(&net->blocks[b], err)) != MM_OK)
            return st;
        dnnl_primitive_t to = b > 0 ? net->between[b] : net->din_to_plain;
        dnnl_memory_t dst = b > 0 ? net->blocks[b - 1].pool_diff_dst : net->din_mem;
        RUN(nn_exec2(to, net->stream, DNNL_ARG_FROM, net->blocks[b].diff_src, DNNL_ARG_TO, dst), "gradient reorder");
    }
    RUN(dnnl_stream_wait(net->stream), "stream");
    nn_tbn_backward(net->x_pad, net->din, B, MM_N_MELS, W, P(net, net->idx_bn0[0]), net->bn0_mean, net->bn0_inv,
                    net->grads[net->idx_bn0[0]], net->grads[net->idx_bn0[1]], NULL);
    return MM_OK;
}

/* running = momentum running + (1 - momentum) batch; the variance with Bessel's correction (count / (count
 * - 1)), as Keras >= 2.1 and PyTorch keep it. */
static void update_running(float *run_mean, float *run_var, const float *mean, const float *var, int k, double count,
                           float momentum)
{
    const float unbias = count > 1 ? (float)(count / (count - 1)) : 1.0f;
    for (int i = 0; i < k; i++) {
        run_mean[i] = momentum * run_mean[i] + (1.0f - momentum) * mean[i];
        run_var[i] = momentum * run_var[i] + (1.0f - momentum) * var[i] * unbias;
    }
}

void nn_net_update_running(nn_net *net, float momentum)
{
    update_running(P(net, net->idx_bn0[2]), P(net, net->idx_bn0[3]), net->bn0_mean, net->bn0_var, net->width,
                   (double)net->batch * MM_N_MELS, momentum);
    for (int b = 0; b < net->n_blocks; b++) {
        nn_block *blk = &net->blocks[b];
        update_running(P(net, param_index(net->model, "bn%d.mean", b + 1)),
                       P(net, param_index(net->model, "bn%d.var", b + 1)), blk->batch_mean, blk->batch_var, blk->f,
                       (double)blk->n * blk->h * blk->w, momentum);
    }
}
