/* Scanning with a model: the scan's embedder (mm_scan_embedder) made from a model, so every song gets
 * its vectors while its audio is in memory (docs/scale.md). In a cluster, rank 0 resolves the model
 * against its catalog and hands every rank the model file's bytes; each rank runs the network on its own
 * decoding threads, and rank 0's writer stores what they send. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

void mm_scan_request_init(mm_scan_request *req) { *req = (mm_scan_request){.size = sizeof *req}; }

void mm_scan_outcome_free(mm_scan_outcome *out)
{
    if (out)
        mm_cluster_scan_stats_free(&out->cluster);
}

/* One inference (batch 1) and one log-mel buffer per decoding thread. */
typedef struct scan_net {
    const mm_model *model;
    mm_infer **infer;
    float **logmel;
    uint16_t **halves;
    int threads;
    atomic_size_t embedded;
} scan_net;

static void net_close(void *user)
{
    scan_net *n = user;
    for (int t = 0; t < n->threads; t++) {
        mm_infer_close(n->infer[t]);
        free(n->logmel[t]);
        free(n->halves[t]);
    }
    free(n->infer);
    free(n->logmel);
    free(n->halves);
    n->infer = NULL;
    n->logmel = NULL;
    n->halves = NULL;
    n->threads = 0;
}

static mm_status net_open(int threads, mm_error *err, void *user)
{
    scan_net *n = user;
    n->infer = calloc((size_t)threads, sizeof *n->infer);
    n->logmel = calloc((size_t)threads, sizeof *n->logmel);
    n->halves = calloc((size_t)threads, sizeof *n->halves);
    if (!n->infer || !n->logmel || !n->halves) {
        net_close(n);
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    }
    n->threads = threads;
    mm_status st = MM_OK;
    for (int t = 0; st == MM_OK && t < threads; t++) {
        n->logmel[t] = malloc(sizeof(float) * MM_FEATURE_VALUES);
        n->halves[t] = malloc(sizeof(uint16_t) * MM_FEATURE_VALUES);
        st = n->logmel[t] && n->halves[t] ? mm_infer_open(&n->infer[t], n->model, 1, err)
                                          : mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    }
    if (st != MM_OK)
        net_close(n);
    return st;
}

static mm_status net_run(int thread, const float *logmel, float *outputs, float *hidden, mm_error *err, void *user)
{
    scan_net *n = user;
    /* through half precision, as the stored spectrogram is: the network sees what `embed` would read back,
     * so a song's vectors are the same whether it was embedded during the scan or after it */
    mm_floats_to_halves(logmel, n->halves[thread], MM_FEATURE_VALUES);
    mm_halves_to_floats(n->halves[thread], n->logmel[thread], MM_FEATURE_VALUES);
    mm_status st = mm_infer_run(n->infer[thread], n->logmel[thread], 1, outputs, hidden, err);
    if (st == MM_OK)
        atomic_fetch_add(&n->embedded, 1);
    return st;
}

/* The model on this rank: rank 0 (or a lone process) resolves it against the catalog; in a cluster the
 * others get its bytes (none: rank 0 failed, and everyone stops). */
static mm_status prepare_model(mm_catalog *cat, const mm_scan_request *r, int rank, mm_model **model,
                               mm_scan_outcome *out, mm_error *err)
{
    mm_status st = MM_OK;
    void *bytes = NULL;
    size_t n = 0;
    if (rank == 0) {
        mm_model_record rec;
        st = cat ? pipe_find_model(cat, r->model, &rec, err) : mm_error_set(err, MM_ERR_ARG, "scan: no catalog");
        if (st == MM_OK) {
            out->model_id = rec.id;
            snprintf(out->model_name, sizeof out->model_name, "%s", rec.name);
            st = pipe_load_model(cat, &rec, model, err);
            if (st == MM_OK && r->cluster)
                st = util_read_file(rec.file, (size_t)1 << 34, (unsigned char **)&bytes, &n, err);
            mm_model_record_free(&rec);
        }
    }
    if (!r->cluster)
        return st;
    /* every rank takes part, also when rank 0 failed: then it sends nothing and all go home */
    if (rank == 0 && st != MM_OK) {
        free(bytes);
        bytes = NULL;
        n = 0;
    }
    mm_error berr;
    mm_status bs = mm_cluster_broadcast(&bytes, &n, &berr);
    if (rank != 0) {
        if (bs != MM_OK)
            st = err ? (*err = berr, berr.code) : berr.code;
        else if (n == 0)
            st = mm_error_set(err, MM_ERR_CANCELLED, "rank 0 could not prepare the model");
        else
            st = mm_model_load_bytes(model, bytes, n, "rank 0's model", err);
    }
    free(bytes);
    return st;
}

mm_status mm_pipeline_scan(mm_catalog *cat, const char *const *roots, size_t n_roots, const mm_scan_request *req_in,
                           mm_scan_outcome *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_scan_request r;
    mm_scan_request_init(&r);
    util_options_copy(&r, sizeof r, req_in, UTIL_OPTIONS_END(mm_scan_request, log));
    mm_scan_options opt;
    mm_scan_options_init(&opt);
    util_options_copy(&opt, sizeof opt, r.options, UTIL_OPTIONS_END(mm_scan_options, user));
    const int rank = r.cluster ? mm_cluster_rank() : 0;
    mm_model *model = NULL;
    scan_net net = {0};
    mm_scan_embedder emb;
    if (r.model) {
        mm_status st = prepare_model(cat, &r, rank, &model, out, err);
        if (st != MM_OK) {
            mm_model_close(model);
            return st;
        }
        /* every rank learns the model's id from rank 0's catalog through the vectors it stores; the
         * workers only need the sizes */
        net.model = model;
        emb = (mm_scan_embedder){.model_id = out->model_id,
                                 .outputs = mm_model_n_labels(model),
                                 .dim = mm_model_preset(model)->gru_units,
                                 .open = net_open,
                                 .run = net_run,
                                 .close = net_close,
                                 .user = &net};
        opt.embedder = &emb;
        mm_nn_set_threads(1); /* the decoding threads are the parallelism: one network thread each */
        if (rank == 0)
            mm_log(r.log, MM_LOG_INFO, "scan: embedding every song read with '%s'", out->model_name);
    }
    mm_status st = r.cluster ? mm_cluster_scan(cat, roots, n_roots, &opt, &out->result, &out->cluster, err)
                             : mm_catalog_scan(cat, roots, n_roots, &opt, &out->result, err);
    out->embedded = atomic_load(&net.embedded);
    mm_model_close(model);
    return st;
}
