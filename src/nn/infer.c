/* Batched inference on oneDNN: each block is one convolution primitive (batch-norm folded into its
 * weights and bias, ELU as a post-op) and one max-pooling primitive, in the memory formats oneDNN
 * prefers for this CPU; the recurrent head runs on BLAS. */
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "recurrent.h"

typedef struct infer_block {
    int c, h, w;                    /* output shape after pooling */
    dnnl_primitive_t reorder_in;    /* previous output -> this conv's source format, if they differ */
    dnnl_memory_t conv_src;
    dnnl_primitive_t conv;
    dnnl_memory_t conv_weights, conv_bias, conv_dst;
    dnnl_primitive_t pool;
    dnnl_memory_t pool_dst;
} infer_block;

struct mm_infer {
    const mm_model *model;
    int batch;
    int width; /* padded input width */
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_memory_t input; /* nchw [batch][1][96][width], our buffer */
    float *input_data;
    float *bn0_scale, *bn0_shift;
    int n_blocks;
    infer_block blocks[MM_MAX_BLOCKS];
    dnnl_primitive_t to_plain; /* last block output -> nchw */
    dnnl_memory_t plain;
    float *seq;      /* batch x T x C, the sequence the GRUs read */
    float *xw;       /* GRU input projections */
    float *h_seq;    /* batch x T x U */
    float *h_last;   /* batch x U */
    float *scratch;
    float *logits;
    int last_n;
};

#define DNNL_TRY(call, what)                                                                                 \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success) {                                                                            \
            mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)s_);              \
            goto fail;                                                                                       \
        }                                                                                                    \
    } while (0)

void mm_nn_set_threads(int threads)
{
    if (threads > 0)
        omp_set_num_threads(threads);
}

static dnnl_status_t exec2(dnnl_primitive_t p, dnnl_stream_t s, int a1, dnnl_memory_t m1, int a2, dnnl_memory_t m2)
{
    dnnl_exec_arg_t args[2] = {{a1, m1}, {a2, m2}};
    return dnnl_primitive_execute(p, s, 2, args);
}

/* A memory for `md`, allocated by oneDNN, filled from a plain (nchw/oihw/x) buffer through a reorder. */
static dnnl_status_t memory_from_plain(dnnl_engine_t engine, dnnl_stream_t stream, const dnnl_memory_desc_t *md,
                                       const dnnl_memory_desc_t *plain_md, void *plain, dnnl_memory_t *out)
{
    dnnl_memory_t src = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_status_t s = dnnl_memory_create(out, md, engine, DNNL_MEMORY_ALLOCATE);
    if (s == dnnl_success)
        s = dnnl_memory_create(&src, plain_md, engine, plain);
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, plain_md, engine, md, engine, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&reorder, pd);
    if (s == dnnl_success)
        s = exec2(reorder, stream, DNNL_ARG_FROM, src, DNNL_ARG_TO, *out);
    if (s == dnnl_success)
        s = dnnl_stream_wait(stream);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(src);
    return s;
}

static const float *param(const mm_model *m, const char *fmt, int k)
{
    char name[32];
    snprintf(name, sizeof name, fmt, k);
    return mm_model_find_param((mm_model *)m, name)->data;
}

/* Builds block b: conv (folded BN, ELU) + pool, reading from `prev` (memory and its desc). */
static mm_status build_block(mm_infer *inf, int b, dnnl_memory_t prev, const dnnl_memory_desc_t *prev_md, int in_c,
                             int in_h, int in_w, mm_error *err)
{
    const mm_model *m = inf->model;
    const mm_block_spec *spec = &m->preset.blocks[b];
    infer_block *blk = &inf->blocks[b];
    const int f = spec->filters, B = inf->batch;
    dnnl_memory_desc_t src_any, w_any, bias_md, dst_any, w_plain_md, bias_plain_md;
    dnnl_convolution_desc_t conv_desc;
    dnnl_pooling_v2_desc_t pool_desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post = NULL;
    dnnl_primitive_desc_t conv_pd = NULL, pool_pd = NULL, reorder_pd = NULL;
    float *w_folded = NULL, *b_folded = NULL;
    mm_status st = MM_OK;

    dnnl_dims_t src_dims = {B, in_c, in_h, in_w}, w_dims = {f, in_c, 3, 3}, b_dims = {f}, dst_dims = {B, f, in_h, in_w};
    dnnl_dims_t ones = {1, 1}, pad1 = {1, 1}, zeros = {0, 0};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any), "source desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any), "weights desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_plain_md, 4, w_dims, dnnl_f32, dnnl_oihw), "weights desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&bias_md, 1, b_dims, dnnl_f32, dnnl_x), "bias desc");
    bias_plain_md = bias_md;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any), "dest desc");
    DNNL_TRY(dnnl_convolution_forward_desc_init(&conv_desc, dnnl_forward_inference, dnnl_convolution_direct, &src_any,
                                                &w_any, &bias_md, &dst_any, ones, pad1, pad1),
             "convolution desc");
    DNNL_TRY(dnnl_primitive_attr_create(&attr), "attributes");
    DNNL_TRY(dnnl_post_ops_create(&post), "post-ops");
    DNNL_TRY(dnnl_post_ops_append_eltwise(post, 1.0f, dnnl_eltwise_elu, 1.0f, 0.0f), "ELU post-op");
    DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, post), "post-ops");
    DNNL_TRY(dnnl_primitive_desc_create(&conv_pd, &conv_desc, attr, inf->engine, NULL), "convolution");
    DNNL_TRY(dnnl_primitive_create(&blk->conv, conv_pd), "convolution");

    /* Source: the previous output, reordered if the convolution wants another format. */
    const dnnl_memory_desc_t *want_src = dnnl_primitive_desc_query_md(conv_pd, dnnl_query_src_md, 0);
    if (dnnl_memory_desc_equal(want_src, prev_md)) {
        blk->conv_src = prev;
    } else {
        DNNL_TRY(dnnl_memory_create(&blk->conv_src, want_src, inf->engine, DNNL_MEMORY_ALLOCATE), "source memory");
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&reorder_pd, prev_md, inf->engine, want_src, inf->engine, NULL),
                 "reorder");
        DNNL_TRY(dnnl_primitive_create(&blk->reorder_in, reorder_pd), "reorder");
    }

    /* Fold batch-norm (inference statistics) into the convolution: y = (conv(x) + b - mean) g / s + beta. */
    const float *w = param(m, "conv%d.w", b + 1), *bias = param(m, "conv%d.b", b + 1);
    const float *gamma = param(m, "bn%d.gamma", b + 1), *beta = param(m, "bn%d.beta", b + 1);
    const float *mean = param(m, "bn%d.mean", b + 1), *var = param(m, "bn%d.var", b + 1);
    size_t per_filter = (size_t)in_c * 9;
    w_folded = malloc(sizeof(float) * per_filter * (size_t)f);
    b_folded = malloc(sizeof(float) * (size_t)f);
    if (!w_folded || !b_folded) {
        st = mm_error_set(err, MM_ERR_NOMEM, "inference: out of memory");
        goto done;
    }
    for (int o = 0; o < f; o++) {
        float scale = gamma[o] / sqrtf(var[o] + MM_BN_EPSILON);
        for (size_t i = 0; i < per_filter; i++)
            w_folded[(size_t)o * per_filter + i] = w[(size_t)o * per_filter + i] * scale;
        b_folded[o] = (bias[o] - mean[o]) * scale + beta[o];
    }
    DNNL_TRY(memory_from_plain(inf->engine, inf->stream, dnnl_primitive_desc_query_md(conv_pd, dnnl_query_weights_md, 0),
                               &w_plain_md, w_folded, &blk->conv_weights),
             "weights");
    DNNL_TRY(memory_from_plain(inf->engine, inf->stream, dnnl_primitive_desc_query_md(conv_pd, dnnl_query_weights_md, 1),
                               &bias_plain_md, b_folded, &blk->conv_bias),
             "bias");
    const dnnl_memory_desc_t *conv_dst_md = dnnl_primitive_desc_query_md(conv_pd, dnnl_query_dst_md, 0);
    DNNL_TRY(dnnl_memory_create(&blk->conv_dst, conv_dst_md, inf->engine, DNNL_MEMORY_ALLOCATE), "conv output");

    /* Max-pool, 'valid'. */
    blk->c = f;
    blk->h = (in_h - spec->pool_h) / spec->stride_h + 1;
    blk->w = (in_w - spec->pool_w) / spec->stride_w + 1;
    dnnl_dims_t pool_dims = {B, f, blk->h, blk->w}, kernel = {spec->pool_h, spec->pool_w},
                strides = {spec->stride_h, spec->stride_w};
    dnnl_memory_desc_t pool_any;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&pool_any, 4, pool_dims, dnnl_f32, dnnl_format_tag_any), "pool desc");
    DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&pool_desc, dnnl_forward_inference, dnnl_pooling_max, conv_dst_md,
                                               &pool_any, strides, kernel, zeros, zeros, zeros),
             "pooling desc");
    DNNL_TRY(dnnl_primitive_desc_create(&pool_pd, &pool_desc, NULL, inf->engine, NULL), "pooling");
    DNNL_TRY(dnnl_primitive_create(&blk->pool, pool_pd), "pooling");
    DNNL_TRY(dnnl_memory_create(&blk->pool_dst, dnnl_primitive_desc_query_md(pool_pd, dnnl_query_dst_md, 0),
                                inf->engine, DNNL_MEMORY_ALLOCATE),
             "pool output");
    goto done;
fail:
    st = err ? err->code : MM_ERR_INTERNAL;
done:
    free(w_folded);
    free(b_folded);
    dnnl_primitive_desc_destroy(conv_pd);
    dnnl_primitive_desc_destroy(pool_pd);
    dnnl_primitive_desc_destroy(reorder_pd);
    dnnl_post_ops_destroy(post);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

static const dnnl_memory_desc_t *memory_md(dnnl_memory_t mem)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(mem, &md);
    return md;
}

mm_status mm_infer_open(mm_infer **out, const mm_model *model, int batch, mm_error *err)
{
    *out = NULL;
    if (batch < 1 || batch > 4096)
        return mm_error_set(err, MM_ERR_ARG, "inference: batch size %d out of range", batch);
    mm_infer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return mm_error_set(err, MM_ERR_NOMEM, "inference: out of memory");
    const mm_preset *p = &model->preset;
    inf->model = model;
    inf->batch = batch;
    inf->width = MM_N_FRAMES + 2 * p->time_pad;
    inf->n_blocks = p->n_blocks;
    mm_status st = MM_OK;
    dnnl_primitive_desc_t pd = NULL;
    DNNL_TRY(dnnl_engine_create(&inf->engine, dnnl_cpu, 0), "engine");
    DNNL_TRY(dnnl_stream_create(&inf->stream, inf->engine, dnnl_stream_default_flags), "stream");

    size_t in_count = (size_t)batch * MM_N_MELS * (size_t)inf->width;
    inf->input_data = malloc(sizeof(float) * in_count);
    inf->bn0_scale = malloc(sizeof(float) * (size_t)inf->width);
    inf->bn0_shift = malloc(sizeof(float) * (size_t)inf->width);
    if (!inf->input_data || !inf->bn0_scale || !inf->bn0_shift) {
        st = mm_error_set(err, MM_ERR_NOMEM, "inference: out of memory");
        goto done;
    }
    const float *g = param(model, "bn0.gamma", 0), *be = param(model, "bn0.beta", 0);
    const float *mu = param(model, "bn0.mean", 0), *va = param(model, "bn0.var", 0);
    for (int t = 0; t < inf->width; t++) {
        inf->bn0_scale[t] = g[t] / sqrtf(va[t] + MM_BN_EPSILON);
        inf->bn0_shift[t] = be[t] - mu[t] * inf->bn0_scale[t];
    }
    dnnl_dims_t in_dims = {batch, 1, MM_N_MELS, inf->width};
    dnnl_memory_desc_t in_md;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&in_md, 4, in_dims, dnnl_f32, dnnl_nchw), "input desc");
    DNNL_TRY(dnnl_memory_create(&inf->input, &in_md, inf->engine, inf->input_data), "input memory");

    dnnl_memory_t prev = inf->input;
    int c = 1, h = MM_N_MELS, w = inf->width;
    for (int b = 0; b < p->n_blocks; b++) {
        st = build_block(inf, b, prev, memory_md(prev), c, h, w, err);
        if (st != MM_OK)
            goto done;
        prev = inf->blocks[b].pool_dst;
        c = inf->blocks[b].c;
        h = inf->blocks[b].h;
        w = inf->blocks[b].w;
    }
    if (h != 1) {
        st = mm_error_set(err, MM_ERR_ARG, "inference: preset %s leaves %d mel rows, not 1", p->name, h);
        goto done;
    }
    dnnl_dims_t out_dims = {batch, c, h, w};
    dnnl_memory_desc_t plain_md;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain_md, 4, out_dims, dnnl_f32, dnnl_nchw), "output desc");
    DNNL_TRY(dnnl_memory_create(&inf->plain, &plain_md, inf->engine, DNNL_MEMORY_ALLOCATE), "output memory");
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, memory_md(prev), inf->engine, &plain_md, inf->engine, NULL),
             "reorder");
    DNNL_TRY(dnnl_primitive_create(&inf->to_plain, pd), "reorder");

    int u = p->gru_units, steps = w;
    inf->seq = malloc(sizeof(float) * (size_t)batch * (size_t)steps * (size_t)c);
    inf->xw = malloc(sizeof(float) * (size_t)batch * (size_t)steps * 3 * (size_t)u);
    inf->h_seq = malloc(sizeof(float) * (size_t)batch * (size_t)steps * (size_t)u);
    inf->h_last = malloc(sizeof(float) * (size_t)batch * (size_t)u);
    inf->scratch = malloc(sizeof(float) * 5 * (size_t)batch * (size_t)u);
    inf->logits = malloc(sizeof(float) * (size_t)batch * (size_t)model->n_labels);
    if (!inf->seq || !inf->xw || !inf->h_seq || !inf->h_last || !inf->scratch || !inf->logits)
        st = mm_error_set(err, MM_ERR_NOMEM, "inference: out of memory");
    goto done;
fail:
    st = err ? err->code : MM_ERR_INTERNAL;
done:
    dnnl_primitive_desc_destroy(pd);
    if (st != MM_OK) {
        mm_infer_close(inf);
        return st;
    }
    *out = inf;
    return MM_OK;
}

void mm_infer_close(mm_infer *inf)
{
    if (!inf)
        return;
    for (int b = 0; b < inf->n_blocks; b++) {
        infer_block *blk = &inf->blocks[b];
        dnnl_primitive_destroy(blk->reorder_in);
        if (blk->reorder_in)
            dnnl_memory_destroy(blk->conv_src);
        dnnl_primitive_destroy(blk->conv);
        dnnl_memory_destroy(blk->conv_weights);
        dnnl_memory_destroy(blk->conv_bias);
        dnnl_memory_destroy(blk->conv_dst);
        dnnl_primitive_destroy(blk->pool);
        dnnl_memory_destroy(blk->pool_dst);
    }
    dnnl_primitive_destroy(inf->to_plain);
    dnnl_memory_destroy(inf->plain);
    dnnl_memory_destroy(inf->input);
    dnnl_stream_destroy(inf->stream);
    dnnl_engine_destroy(inf->engine);
    free(inf->input_data);
    free(inf->bn0_scale);
    free(inf->bn0_shift);
    free(inf->seq);
    free(inf->xw);
    free(inf->h_seq);
    free(inf->h_last);
    free(inf->scratch);
    free(inf->logits);
    free(inf);
}

mm_status mm_infer_run(mm_infer *inf, const float *x, int n, float *outputs, float *hidden, mm_error *err)
{
    if (n < 1 || n > inf->batch)
        return mm_error_set(err, MM_ERR_ARG, "inference: %d items for a batch of %d", n, inf->batch);
    const mm_model *m = inf->model;
    const int pad = m->preset.time_pad, W = inf->width;
    /* Zero-pad the time axis, then the per-time-position batch-norm (padding included, as Keras). */
    for (int b = 0; b < inf->batch; b++)
        for (int r = 0; r < MM_N_MELS; r++) {
            float *row = inf->input_data + ((size_t)b * MM_N_MELS + r) * (size_t)W;
            const float *src = b < n ? x + ((size_t)b * MM_N_MELS + r) * MM_N_FRAMES : NULL;
            for (int t = 0; t < W; t++) {
                float v = src && t >= pad && t < pad + MM_N_FRAMES ? src[t - pad] : 0.0f;
                row[t] = v * inf->bn0_scale[t] + inf->bn0_shift[t];
            }
        }
    dnnl_memory_t prev = inf->input;
    for (int b = 0; b < inf->n_blocks; b++) {
        infer_block *blk = &inf->blocks[b];
        dnnl_status_t s = dnnl_success;
        if (blk->reorder_in)
            s = exec2(blk->reorder_in, inf->stream, DNNL_ARG_FROM, prev, DNNL_ARG_TO, blk->conv_src);
        if (s == dnnl_success) {
            dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, blk->conv_src},
                                       {DNNL_ARG_WEIGHTS, blk->conv_weights},
                                       {DNNL_ARG_BIAS, blk->conv_bias},
                                       {DNNL_ARG_DST, blk->conv_dst}};
            s = dnnl_primitive_execute(blk->conv, inf->stream, 4, args);
        }
        if (s == dnnl_success)
            s = exec2(blk->pool, inf->stream, DNNL_ARG_SRC, blk->conv_dst, DNNL_ARG_DST, blk->pool_dst);
        if (s != dnnl_success)
            return mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: block %d failed (status %d)", b + 1, (int)s);
        prev = blk->pool_dst;
    }
    if (exec2(inf->to_plain, inf->stream, DNNL_ARG_FROM, prev, DNNL_ARG_TO, inf->plain) != dnnl_success ||
        dnnl_stream_wait(inf->stream) != dnnl_success)
        return mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: reorder failed");
    inf->last_n = n;

    /* (C x 1 x T) -> T steps of C values */
    const infer_block *last = &inf->blocks[inf->n_blocks - 1];
    const int C = last->c, T = last->w, U = m->preset.gru_units, K = m->n_labels;
    float *plain;
    dnnl_memory_get_data_handle(inf->plain, (void **)&plain);
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++)
                inf->seq[((size_t)b * T + t) * C + c] = plain[((size_t)b * C + c) * T + t];
    nn_gru_forward_variant(inf->seq, n, T, C, U, param(m, "gru1.W", 0), param(m, "gru1.U", 0), param(m, "gru1.b", 0),
                           m->gru, inf->xw, inf->h_seq, NULL, inf->scratch);
    nn_gru_forward_variant(inf->h_seq, n, T, U, U, param(m, "gru2.W", 0), param(m, "gru2.U", 0), param(m, "gru2.b", 0),
                           m->gru, inf->xw, NULL, inf->h_last, inf->scratch);
    if (hidden)
        memcpy(hidden, inf->h_last, sizeof(float) * (size_t)n * (size_t)U);
    if (outputs) {
        nn_dense_forward(inf->h_last, n, U, K, param(m, "dense.W", 0), param(m, "dense.b", 0), inf->logits);
        nn_head_forward(inf->logits, n, K, m->head);
        memcpy(outputs, inf->logits, sizeof(float) * (size_t)n * (size_t)K);
    }
    return MM_OK;
}

size_t mm_infer_block_output(mm_infer *inf, int block, int i, float *out)
{
    if (block < 0 || block >= inf->n_blocks || i < 0 || i >= inf->last_n)
        return 0;
    infer_block *blk = &inf->blocks[block];
    dnnl_dims_t dims = {inf->batch, blk->c, blk->h, blk->w};
    dnnl_memory_desc_t plain_md;
    dnnl_memory_t plain = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    size_t per_item = (size_t)blk->c * (size_t)blk->h * (size_t)blk->w, got = 0;
    if (dnnl_memory_desc_init_by_tag(&plain_md, 4, dims, dnnl_f32, dnnl_nchw) == dnnl_success &&
        dnnl_memory_create(&plain, &plain_md, inf->engine, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
        dnnl_reorder_primitive_desc_create(&pd, memory_md(blk->pool_dst), inf->engine, &plain_md, inf->engine, NULL) ==
            dnnl_success &&
        dnnl_primitive_create(&reorder, pd) == dnnl_success &&
        exec2(reorder, inf->stream, DNNL_ARG_FROM, blk->pool_dst, DNNL_ARG_TO, plain) == dnnl_success &&
        dnnl_stream_wait(inf->stream) == dnnl_success) {
        float *data;
        dnnl_memory_get_data_handle(plain, (void **)&data);
        memcpy(out, data + (size_t)i * per_item, sizeof(float) * per_item);
        got = per_item;
    }
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(plain);
    return got;
}
