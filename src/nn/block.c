/* One convolution block for training on oneDNN: conv 3x3 'same' with bias -> batch-norm with batch
 * statistics -> ELU -> max-pool -> dropout, and its backward pass. Every primitive is created once (at
 * a fixed batch size) and reused for every batch; activations stay in the blocked formats the primitives
 * prefer, with reorders only where two primitives disagree. */
#include <stdlib.h>
#include <string.h>

#include "layers.h"

#define TRY(call, what)                                                                                      \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success) {                                                                            \
            st = mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)s_);         \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

const dnnl_memory_desc_t *nn_memory_md(dnnl_memory_t mem)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(mem, &md);
    return md;
}

dnnl_status_t nn_exec2(dnnl_primitive_t p, dnnl_stream_t s, int a1, dnnl_memory_t m1, int a2, dnnl_memory_t m2)
{
    dnnl_exec_arg_t args[2] = {{a1, m1}, {a2, m2}};
    return dnnl_primitive_execute(p, s, 2, args);
}

dnnl_status_t nn_reorder_create(dnnl_primitive_t *out, dnnl_engine_t engine, const dnnl_memory_desc_t *from,
                                const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

/* `have` is in some format; the primitive wants `want`. If equal, *use = have and no reorder; otherwise a
 * new memory in `want` and the reorder into it. */
static dnnl_status_t adapt(dnnl_engine_t engine, dnnl_memory_t have, const dnnl_memory_desc_t *want,
                           dnnl_memory_t *use, dnnl_primitive_t *reorder)
{
    *reorder = NULL;
    if (dnnl_memory_desc_equal(nn_memory_md(have), want)) {
        *use = have;
        return dnnl_success;
    }
    dnnl_status_t s = dnnl_memory_create(use, want, engine, DNNL_MEMORY_ALLOCATE);
    if (s == dnnl_success)
        s = nn_reorder_create(reorder, engine, nn_memory_md(have), want);
    return s;
}

static dnnl_status_t new_memory(dnnl_memory_t *out, const dnnl_memory_desc_t *md, dnnl_engine_t engine, void *handle)
{
    return dnnl_memory_create(out, md, engine, handle ? handle : DNNL_MEMORY_ALLOCATE);
}

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

mm_status nn_block_init(nn_block *blk, dnnl_engine_t engine, dnnl_stream_t stream, dnnl_memory_t input, int n,
                        int cin, int h, int w, const mm_block_spec *spec, float dropout, const nn_block_params *p,
                        int need_diff_src, mm_error *err)
{
    memset(blk, 0, sizeof *blk);
    mm_status st = MM_OK;
    blk->engine = engine;
    blk->stream = stream;
    blk->input = input;
    blk->n = n;
    blk->cin = cin;
    blk->h = h;
    blk->w = w;
    blk->f = spec->filters;
    blk->oh = (h - spec->pool_h) / spec->stride_h + 1;
    blk->ow = (w - spec->pool_w) / spec->stride_w + 1;
    blk->dropout = dropout;
    const int f = blk->f;
    dnnl_primitive_desc_t conv_pd = NULL, bn_pd = NULL, elu_pd = NULL, pool_pd = NULL, pool_bpd = NULL,
                          elu_bpd = NULL, bn_bpd = NULL, bw_pd = NULL, bd_pd = NULL;
    dnnl_memory_desc_t src_any, w_any, w_plain_md, vec_md, dst_any, pool_any;
    dnnl_dims_t src_dims = {n, cin, h, w}, w_dims = {f, cin, 3, 3}, vec_dims = {f}, dst_dims = {n, f, h, w},
                pool_dims = {n, f, blk->oh, blk->ow};
    dnnl_dims_t ones = {1, 1}, pad1 = {1, 1}, zeros = {0, 0}, kernel = {spec->pool_h, spec->pool_w},
                strides = {spec->stride_h, spec->stride_w};
    TRY(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any), "source desc");
    TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any), "weights desc");
    TRY(dnnl_memory_desc_init_by_tag(&w_plain_md, 4, w_dims, dnnl_f32, dnnl_oihw), "weights desc");
    TRY(dnnl_memory_desc_init_by_tag(&vec_md, 1, vec_dims, dnnl_f32, dnnl_x), "vector desc");
    TRY(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any), "dest desc");
    TRY(dnnl_memory_desc_init_by_tag(&pool_any, 4, pool_dims, dnnl_f32, dnnl_format_tag_any), "pool desc");

    /* convolution, forward training */
    dnnl_convolution_desc_t cd;
    TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src_any, &w_any,
                                           &vec_md, &dst_any, ones, pad1, pad1),
        "convolution desc");
    TRY(dnnl_primitive_desc_create(&conv_pd, &cd, NULL, engine, NULL), "convolution");
    TRY(dnnl_primitive_create(&blk->conv_fwd, conv_pd), "convolution");
    TRY(adapt(engine, input, qmd(conv_pd, dnnl_query_src_md), &blk->src, &blk->src_reorder), "source reorder");
    TRY(new_memory(&blk->w_plain, &w_plain_md, engine, p->w), "weights");
    TRY(adapt(engine, blk->w_plain, qmd(conv_pd, dnnl_query_weights_md), &blk->w_fwd, &blk->w_reorder),
        "weights reorder");
    TRY(new_memory(&blk->bias, &vec_md, engine, p->b), "bias");
    const dnnl_memory_desc_t *act_md = qmd(conv_pd, dnnl_query_dst_md);
    TRY(new_memory(&blk->conv_dst, act_md, engine, NULL), "conv output");

    /* batch-norm with batch statistics, scale and shift */
    dnnl_batch_normalization_desc_t bd;
    const unsigned bn_flags = dnnl_use_scale | dnnl_use_shift;
    TRY(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, act_md, MM_BN_EPSILON, bn_flags),
        "batch-norm desc");
    TRY(dnnl_primitive_desc_create(&bn_pd, &bd, NULL, engine, NULL), "batch-norm");
    TRY(dnnl_primitive_create(&blk->bn_fwd, bn_pd), "batch-norm");
    TRY(new_memory(&blk->bn_dst, act_md, engine, NULL), "batch-norm output");
    TRY(new_memory(&blk->mean, &vec_md, engine, NULL), "mean");
    TRY(new_memory(&blk->var, &vec_md, engine, NULL), "variance");
    TRY(new_memory(&blk->scale, &vec_md, engine, p->gamma), "gamma");
    TRY(new_memory(&blk->shift, &vec_md, engine, p->beta), "beta");
    dnnl_memory_get_data_handle(blk->mean, (void **)&blk->batch_mean);
    dnnl_memory_get_data_handle(blk->var, (void **)&blk->batch_var);

    /* ELU in place; its backward reads the output, so nothing else needs keeping */
    dnnl_eltwise_desc_t ed;
    TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, dnnl_eltwise_elu_use_dst_for_bwd, act_md, 1.0f,
                                       0.0f),
        "ELU desc");
    TRY(dnnl_primitive_desc_create(&elu_pd, &ed, NULL, engine, NULL), "ELU");
    TRY(dnnl_primitive_create(&blk->elu_fwd, elu_pd), "ELU");

    /* max-pool, valid, with the workspace that remembers where each maximum came from */
    dnnl_pooling_v2_desc_t pd;
    TRY(dnnl_pooling_v2_forward_desc_init(&pd, dnnl_forward_training, dnnl_pooling_max, act_md, &pool_any, strides,
                                          kernel, zeros, zeros, zeros),
        "pooling desc");
    TRY(dnnl_primitive_desc_create(&pool_pd, &pd, NULL, engine, NULL), "pooling");
    TRY(dnnl_primitive_create(&blk->pool_fwd, pool_pd), "pooling");
    const dnnl_memory_desc_t *pool_md = qmd(pool_pd, dnnl_query_dst_md);
    TRY(new_memory(&blk->pool_dst, pool_md, engine, NULL), "pool output");
    TRY(new_memory(&blk->ws, qmd(pool_pd, dnnl_query_workspace_md), engine, NULL), "pool workspace");
    blk->pool_elems = dnnl_memory_desc_get_size(pool_md) / sizeof(float);
    if (dropout > 0.0f && !(blk->mask = malloc(blk->pool_elems))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "training: out of memory for dropout");
        goto done;
    }

    /* backward: pool, ELU (in place on diff_bn), batch-norm */
    TRY(new_memory(&blk->pool_diff_dst, pool_md, engine, NULL), "pool gradient");
    TRY(dnnl_pooling_v2_backward_desc_init(&pd, dnnl_pooling_max, act_md, pool_md, strides, kernel, zeros, zeros, zeros),
        "pooling backward desc");
    TRY(dnnl_primitive_desc_create(&pool_bpd, &pd, NULL, engine, pool_pd), "pooling backward");
    TRY(dnnl_primitive_create(&blk->pool_bwd, pool_bpd), "pooling backward");
    TRY(new_memory(&blk->diff_bn, act_md, engine, NULL), "activation gradient");
    TRY(dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_elu_use_dst_for_bwd, act_md, act_md, 1.0f, 0.0f),
        "ELU backward desc");
    TRY(dnnl_primitive_desc_create(&elu_bpd, &ed, NULL, engine, elu_pd), "ELU backward");
    TRY(dnnl_primitive_create(&blk->elu_bwd, elu_bpd), "ELU backward");
    TRY(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, act_md, act_md, MM_BN_EPSILON, bn_flags),
        "batch-norm backward desc");
    TRY(dnnl_primitive_desc_create(&bn_bpd, &bd, NULL, engine, bn_pd), "batch-norm backward");
    TRY(dnnl_primitive_create(&blk->bn_bwd, bn_bpd), "batch-norm backward");
    TRY(new_memory(&blk->diff_conv, act_md, engine, NULL), "conv gradient");
    TRY(new_memory(&blk->diff_scale, &vec_md, engine, p->dgamma), "gamma gradient");
    TRY(new_memory(&blk->diff_shift, &vec_md, engine, p->dbeta), "beta gradient");

    /* convolution backward: weights (and bias), then data when asked */
    TRY(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_any, &w_any, &vec_md, &dst_any,
                                                    ones, pad1, pad1),
        "convolution backward-weights desc");
    TRY(dnnl_primitive_desc_create(&bw_pd, &cd, NULL, engine, conv_pd), "convolution backward-weights");
    TRY(dnnl_primitive_create(&blk->conv_bwd_w, bw_pd), "convolution backward-weights");
    TRY(adapt(engine, blk->src, qmd(bw_pd, dnnl_query_src_md), &blk->bw_src, &blk->bw_src_reorder), "source reorder");
    TRY(adapt(engine, blk->diff_conv, qmd(bw_pd, dnnl_query_diff_dst_md), &blk->bw_ddst, &blk->bw_ddst_reorder),
        "gradient reorder");
    TRY(new_memory(&blk->dw_plain, &w_plain_md, engine, p->dw), "weights gradient");
    const dnnl_memory_desc_t *dw_md = qmd(bw_pd, dnnl_query_diff_weights_md);
    if (dnnl_memory_desc_equal(dw_md, &w_plain_md)) {
        blk->dw_any = blk->dw_plain;
    } else {
        TRY(new_memory(&blk->dw_any, dw_md, engine, NULL), "weights gradient");
        TRY(nn_reorder_create(&blk->dw_reorder, engine, dw_md, &w_plain_md), "weights gradient reorder");
    }
    TRY(new_memory(&blk->dbias, &vec_md, engine, p->db), "bias gradient");
    if (need_diff_src) {
        TRY(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_any, &w_any, &dst_any, ones,
                                                     pad1, pad1),
            "convolution backward-data desc");
        TRY(dnnl_primitive_desc_create(&bd_pd, &cd, NULL, engine, conv_pd), "convolution backward-data");
        TRY(dnnl_primitive_create(&blk->conv_bwd_d, bd_pd), "convolution backward-data");
        TRY(adapt(engine, blk->w_plain, qmd(bd_pd, dnnl_query_weights_md), &blk->w_bwd, &blk->bd_w_reorder),
            "weights reorder");
        TRY(adapt(engine, blk->diff_conv, qmd(bd_pd, dnnl_query_diff_dst_md), &blk->bd_ddst, &blk->bd_ddst_reorder),
            "gradient reorder");
        TRY(new_memory(&blk->diff_src, qmd(bd_pd, dnnl_query_diff_src_md), engine, NULL), "input gradient");
    }
done:
    dnnl_primitive_desc_destroy(conv_pd);
    dnnl_primitive_desc_destroy(bn_pd);
    dnnl_primitive_desc_destroy(elu_pd);
    dnnl_primitive_desc_destroy(pool_pd);
    dnnl_primitive_desc_destroy(pool_bpd);
    dnnl_primitive_desc_destroy(elu_bpd);
    dnnl_primitive_desc_destroy(bn_bpd);
    dnnl_primitive_desc_destroy(bw_pd);
    dnnl_primitive_desc_destroy(bd_pd);
    if (st != MM_OK)
        nn_block_free(blk);
    return st;
}

/* Memories made by adapt() are ours only when a reorder was needed (otherwise they alias another). */
void nn_block_free(nn_block *blk)
{
    dnnl_primitive_t prims[] = {blk->src_reorder, blk->w_reorder, blk->conv_fwd, blk->bn_fwd, blk->elu_fwd,
                                blk->pool_fwd, blk->pool_bwd, blk->elu_bwd, blk->bn_bwd, blk->bw_src_reorder,
                                blk->bw_ddst_reorder, blk->conv_bwd_w, blk->dw_reorder, blk->bd_w_reorder,
                                blk->bd_ddst_reorder, blk->conv_bwd_d};
    if (blk->src_reorder)
        dnnl_memory_destroy(blk->src);
    if (blk->w_reorder)
        dnnl_memory_destroy(blk->w_fwd);
    if (blk->bw_src_reorder)
        dnnl_memory_destroy(blk->bw_src);
    if (blk->bw_ddst_reorder)
        dnnl_memory_destroy(blk->bw_ddst);
    if (blk->dw_reorder)
        dnnl_memory_destroy(blk->dw_any);
    if (blk->bd_w_reorder)
        dnnl_memory_destroy(blk->w_bwd);
    if (blk->bd_ddst_reorder)
        dnnl_memory_destroy(blk->bd_ddst);
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {blk->w_plain, blk->bias, blk->conv_dst, blk->bn_dst, blk->mean, blk->var, blk->scale,
                            blk->shift, blk->pool_dst, blk->ws, blk->pool_diff_dst, blk->diff_bn, blk->diff_conv,
                            blk->diff_scale, blk->diff_shift, blk->dw_plain, blk->dbias, blk->diff_src};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        dnnl_memory_destroy(mems[i]);
    free(blk->mask);
    memset(blk, 0, sizeof *blk);
}

#define RUN(call, what)                                                                                      \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success)                                                                              \
            return mm_error_set(err, MM_ERR_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)s_);       \
    } while (0)

mm_status nn_block_forward(nn_block *blk, mm_rng *rng, mm_error *err)
{
    dnnl_stream_t s = blk->stream;
    if (blk->src_reorder)
        RUN(nn_exec2(blk->src_reorder, s, DNNL_ARG_FROM, blk->input, DNNL_ARG_TO, blk->src), "source reorder");
    if (blk->w_reorder)
        RUN(nn_exec2(blk->w_reorder, s, DNNL_ARG_FROM, blk->w_plain, DNNL_ARG_TO, blk->w_fwd), "weights reorder");
    dnnl_exec_arg_t conv[4] = {{DNNL_ARG_SRC, blk->src},
                               {DNNL_ARG_WEIGHTS, blk->w_fwd},
                               {DNNL_ARG_BIAS, blk->bias},
                               {DNNL_ARG_DST, blk->conv_dst}};
    RUN(dnnl_primitive_execute(blk->conv_fwd, s, 4, conv), "convolution");
    dnnl_exec_arg_t bn[6] = {{DNNL_ARG_SRC, blk->conv_dst}, {DNNL_ARG_DST, blk->bn_dst},
                             {DNNL_ARG_MEAN, blk->mean},    {DNNL_ARG_VARIANCE, blk->var},
                             {DNNL_ARG_SCALE, blk->scale},  {DNNL_ARG_SHIFT, blk->shift}};
    RUN(dnnl_primitive_execute(blk->bn_fwd, s, 6, bn), "batch-norm");
    RUN(nn_exec2(blk->elu_fwd, s, DNNL_ARG_SRC, blk->bn_dst, DNNL_ARG_DST, blk->bn_dst), "ELU");
    dnnl_exec_arg_t pool[3] = {{DNNL_ARG_SRC, blk->bn_dst}, {DNNL_ARG_DST, blk->pool_dst}, {DNNL_ARG_WORKSPACE, blk->ws}};
    RUN(dnnl_primitive_execute(blk->pool_fwd, s, 3, pool), "pooling");
    RUN(dnnl_stream_wait(s), "stream");
    if (rng && blk->mask) {
        float *data;
        dnnl_memory_get_data_handle(blk->pool_dst, (void **)&data);
        nn_dropout_mask(blk->mask, blk->pool_elems, blk->dropout, rng);
        nn_dropout_apply(data, blk->mask, blk->pool_elems, blk->dropout);
    }
    blk->dropped = rng && blk->mask;
    return MM_OK;
}

mm_status nn_block_backward(nn_block *blk, mm_error *err)
{
    dnnl_stream_t s = blk->stream;
    if (blk->dropped) {
        float *data;
        dnnl_memory_get_data_handle(blk->pool_diff_dst, (void **)&data);
        nn_dropout_apply(data, blk->mask, blk->pool_elems, blk->dropout);
    }
    dnnl_exec_arg_t pool[3] = {{DNNL_ARG_DIFF_DST, blk->pool_diff_dst},
                               {DNNL_ARG_DIFF_SRC, blk->diff_bn},
                               {DNNL_ARG_WORKSPACE, blk->ws}};
    RUN(dnnl_primitive_execute(blk->pool_bwd, s, 3, pool), "pooling backward");
    dnnl_exec_arg_t elu[3] = {{DNNL_ARG_DST, blk->bn_dst}, {DNNL_ARG_DIFF_DST, blk->diff_bn}, {DNNL_ARG_DIFF_SRC, blk->diff_bn}};
    RUN(dnnl_primitive_execute(blk->elu_bwd, s, 3, elu), "ELU backward");
    /* the shift is an input too: oneDNN refuses the call without it though the gradient doesn't use it */
    dnnl_exec_arg_t bn[9] = {{DNNL_ARG_SRC, blk->conv_dst},          {DNNL_ARG_MEAN, blk->mean},
                             {DNNL_ARG_VARIANCE, blk->var},          {DNNL_ARG_DIFF_DST, blk->diff_bn},
                             {DNNL_ARG_SCALE, blk->scale},           {DNNL_ARG_SHIFT, blk->shift},
                             {DNNL_ARG_DIFF_SRC, blk->diff_conv},    {DNNL_ARG_DIFF_SCALE, blk->diff_scale},
                             {DNNL_ARG_DIFF_SHIFT, blk->diff_shift}};
    RUN(dnnl_primitive_execute(blk->bn_bwd, s, 9, bn), "batch-norm backward");
    if (blk->bw_src_reorder)
        RUN(nn_exec2(blk->bw_src_reorder, s, DNNL_ARG_FROM, blk->src, DNNL_ARG_TO, blk->bw_src), "source reorder");
    if (blk->bw_ddst_reorder)
        RUN(nn_exec2(blk->bw_ddst_reorder, s, DNNL_ARG_FROM, blk->diff_conv, DNNL_ARG_TO, blk->bw_ddst),
            "gradient reorder");
    dnnl_exec_arg_t bw[4] = {{DNNL_ARG_SRC, blk->bw_src},
                             {DNNL_ARG_DIFF_DST, blk->bw_ddst},
                             {DNNL_ARG_DIFF_WEIGHTS, blk->dw_any},
                             {DNNL_ARG_DIFF_BIAS, blk->dbias}};
    RUN(dnnl_primitive_execute(blk->conv_bwd_w, s, 4, bw), "convolution backward-weights");
    if (blk->dw_reorder)
        RUN(nn_exec2(blk->dw_reorder, s, DNNL_ARG_FROM, blk->dw_any, DNNL_ARG_TO, blk->dw_plain),
            "weights gradient reorder");
    if (blk->conv_bwd_d) {
        if (blk->bd_w_reorder)
            RUN(nn_exec2(blk->bd_w_reorder, s, DNNL_ARG_FROM, blk->w_plain, DNNL_ARG_TO, blk->w_bwd), "weights reorder");
        if (blk->bd_ddst_reorder)
            RUN(nn_exec2(blk->bd_ddst_reorder, s, DNNL_ARG_FROM, blk->diff_conv, DNNL_ARG_TO, blk->bd_ddst),
                "gradient reorder");
        dnnl_exec_arg_t bd[3] = {{DNNL_ARG_DIFF_DST, blk->bd_ddst},
                                 {DNNL_ARG_WEIGHTS, blk->w_bwd},
                                 {DNNL_ARG_DIFF_SRC, blk->diff_src}};
        RUN(dnnl_primitive_execute(blk->conv_bwd_d, s, 3, bd), "convolution backward-data");
    }
    RUN(dnnl_stream_wait(s), "stream");
    return MM_OK;
}
