/* Embedding: a model's output vector and hidden state for every catalogued song that has none under it
 * yet (so a second run after a scan does only the new songs). */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/shared.h"
#include "internal.h"

#define EMBED_MAX_BATCH 1024

void mm_embed_request_init(mm_embed_request *req)
{
    *req = (mm_embed_request){.size = sizeof *req, .batch = 16};
}

/* A model given as a file: registered under its file name without extension, so that vectors can refer
 * to it; the same file already registered under that name keeps its vectors. */
static mm_status register_file(mm_catalog *cat, const char *path, mm_model_record *out, mm_error *err)
{
    mm_model *m = NULL;
    mm_status st = mm_model_load(&m, path, err);
    if (st != MM_OK)
        return st;
    char copy[PATH_MAX], real[PATH_MAX], name[256];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(name, sizeof name, "%s", basename(copy));
    char *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
    int k = mm_model_n_labels(m);
    char **classes = malloc(sizeof *classes * (size_t)k);
    if (!classes) {
        mm_model_close(m);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++)
        classes[i] = (char *)mm_model_label(m, i);
    mm_model_record rec = {.name = name,
                           .file = realpath(path, real) ? real : (char *)path,
                           .architecture = (char *)mm_model_preset(m)->name,
                           .n_classes = k,
                           .classes = classes,
                           .embedding_dim = mm_model_preset(m)->gru_units};
    mm_model_record existing;
    int same = mm_catalog_get_model(cat, name, &existing, NULL) == MM_OK && strcmp(existing.file, rec.file) == 0;
    if (same)
        mm_model_record_free(&existing);
    int64_t id;
    st = same ? MM_OK : mm_catalog_put_model(cat, &rec, &id, err);
    free(classes);
    mm_model_close(m);
    if (st == MM_OK)
        st = mm_catalog_get_model(cat, name, out, err);
    return st;
}

/* A name in the catalog first (a folder of that name in the working directory must not shadow it);
 * otherwise a model file. */
mm_status pipe_find_model(mm_catalog *cat, const char *model, mm_model_record *rec, mm_error *err)
{
    mm_status st = mm_catalog_get_model(cat, model, rec, err);
    struct stat sb;
    if (st == MM_ERR_NOT_FOUND && model && stat(model, &sb) == 0 && S_ISREG(sb.st_mode))
        st = register_file(cat, model, rec, err);
    if (st == MM_OK && !rec->file[0]) {
        /* the pseudo-models maps of the descriptors and the spectrogram baseline refer to */
        st = mm_error_set(err, MM_ERR_ARG, "'%s' is not a network: its vectors come from the scan", rec->name);
        mm_model_record_free(rec);
    }
    return st;
}

/* The model, checked against the front-end the catalog's spectrograms were made with. */
mm_status pipe_load_model(mm_catalog *cat, const mm_model_record *rec, mm_model **model, mm_error *err)
{
    mm_frontend_params fe;
    mm_status st = mm_model_load(model, rec->file, err);
    if (st == MM_OK)
        st = mm_catalog_frontend(cat, &fe, err);
    if (st == MM_OK && mm_frontend_check(mm_model_frontend(*model), &fe, err) != 0) {
        char why[MM_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: %s", rec->file, why);
    }
    return st;
}

typedef struct embed_buffers {
    float *x, *probs, *hidden;
    int64_t *ids;
} embed_buffers;

static void buffers_free(embed_buffers *b)
{
    free(b->x);
    free(b->probs);
    free(b->hidden);
    free(b->ids);
}

/* Inference over ids in batches; a record that fails its checksum is reported and skipped. */
static mm_status embed_all(mm_catalog *cat, const mm_embed_request *r, mm_model *model, int64_t model_id,
                           const int64_t *ids, size_t n, mm_embed_outcome *out, mm_error *err)
{
    const int batch = r->batch, k = mm_model_n_labels(model), dim = mm_model_preset(model)->gru_units;
    const size_t clip = (size_t)MM_N_MELS * MM_N_FRAMES;
    embed_buffers b = {malloc(sizeof(float) * clip * (size_t)batch), malloc(sizeof(float) * (size_t)k * (size_t)batch),
                       malloc(sizeof(float) * (size_t)dim * (size_t)batch), malloc(sizeof(int64_t) * (size_t)batch)};
    mm_infer *infer = NULL;
    mm_status st = b.x && b.probs && b.hidden && b.ids ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st == MM_OK)
        st = mm_infer_open(&infer, model, batch, err);
    const double t0 = mm_now();
    mm_embed_progress p = {0, n, 0};
    if (st == MM_OK && r->progress && r->progress(&p, r->user))
        st = mm_error_set(err, MM_ERR_CANCELLED, "embedding stopped before it began");
    for (size_t done = 0; st == MM_OK && done < n;) {
        int m = 0;
        while (m < batch && done < n) {
            const int64_t id = ids[done++];
            mm_error read_err;
            if (mm_catalog_read_features(cat, id, b.x + clip * (size_t)m, &read_err) != MM_OK) {
                if (r->failure)
                    r->failure(id, read_err.msg, r->user);
                out->failed++;
                continue;
            }
            b.ids[m++] = id;
        }
        if (m > 0 && ((st = mm_infer_run(infer, b.x, m, b.probs, b.hidden, err)) != MM_OK ||
                      (st = mm_catalog_put_vectors(cat, model_id, (size_t)m, b.ids, b.probs, k, b.hidden, dim, err)) !=
                          MM_OK))
            break;
        out->embedded += (size_t)m;
        p = (mm_embed_progress){done, n, mm_now() - t0};
        if (r->progress && r->progress(&p, r->user))
            st = mm_error_set(err, MM_ERR_CANCELLED,
                              "embedding stopped after %zu of %zu tracks (what is stored is kept)", done, n);
    }
    out->seconds = mm_now() - t0;
    mm_infer_close(infer);
    buffers_free(&b);
    return st;
}

/* The embed-only scan's progress as embed's: the songs from stored spectrograms first (base), then these. */
typedef struct audio_progress {
    const mm_embed_request *r;
    size_t base, total;
    double t0;
} audio_progress;

/* A scan's failure (a file that can't be read) as an embed failure: no track id, the message names the file. */
static void scan_failure(const char *path, const char *message, void *user)
{
    const mm_embed_request *r = ((const audio_progress *)user)->r;
    (void)path; /* the message names it */
    if (r->failure)
        r->failure(0, message, r->user);
}

static int scan_progress(const mm_scan_progress *p, void *user)
{
    const audio_progress *a = user;
    if (!a->r->progress || p->phase != MM_SCAN_PROCESSING)
        return 0;
    mm_embed_progress e = {a->base + (size_t)p->committed, a->total, mm_now() - a->t0};
    /* done 0 means "the start" to a progress callback: said before the first batch already */
    return e.done == 0 ? 0 : a->r->progress(&e, a->r->user);
}

/* The songs `embed` reads from their audio: an embed-only scan over their files (alone, or with every
 * rank of a cluster), then how many now have vectors. */
static mm_status embed_from_audio(mm_catalog *cat, const mm_embed_request *r, const char *model, int64_t model_id,
                                  char **files, size_t n, mm_embed_outcome *out, mm_error *err)
{
    mm_scan_options so;
    mm_scan_options_init(&so);
    so.vectors_only = 1;
    so.jobs = r->threads;
    so.failure = scan_failure;
    audio_progress ap = {r, out->embedded + out->failed, out->needed, mm_now() - out->seconds};
    so.progress = scan_progress; /* on a cluster, rank 0's writer reports; the other ranks never do */
    so.user = &ap;
    mm_scan_request sr;
    mm_scan_request_init(&sr);
    sr.options = &so;
    sr.model = model;
    sr.cluster = r->cluster;
    const double t0 = mm_now();
    mm_scan_outcome o;
    mm_status st = mm_pipeline_scan(cat, (const char *const *)files, n, &sr, &o, err);
    out->seconds += mm_now() - t0;
    if (cat) { /* rank 0 (or alone): what is still without vectors was not embedded */
        char **left = NULL;
        size_t n_left = n;
        if (mm_catalog_files_needing_vectors(cat, model_id, r->cluster, &left, &n_left, NULL) == MM_OK)
            mm_catalog_files_free(left, n_left);
        out->embedded += n - (n_left < n ? n_left : n);
        out->failed += (size_t)o.result.failed;
    }
    mm_scan_outcome_free(&o);
    return st;
}

/* embed --mpi: every rank calls this; rank 0 resolves the model and lists the files, the others read them. */
static mm_status embed_cluster(mm_catalog *cat, const mm_embed_request *r, mm_embed_outcome *out, mm_error *err)
{
    const int rank = mm_cluster_rank();
    char **files = NULL;
    size_t n = 0;
    /* the others only need to know that a model is coming (rank 0 sends its bytes, or nothing) */
    const char *model = r->model ? r->model : "the newest";
    mm_model_record rec;
    int have = 0;
    mm_status first = MM_OK;
    mm_error first_err;
    mm_error_clear(&first_err);
    if (rank == 0) {
        first = cat ? pipe_find_model(cat, r->model, &rec, &first_err)
                    : mm_error_set(&first_err, MM_ERR_ARG, "embed: rank 0 has no catalog");
        if (first == MM_OK) {
            have = 1;
            model = rec.name;
            out->model_id = rec.id;
            snprintf(out->model_name, sizeof out->model_name, "%s", rec.name);
            first = mm_catalog_files_needing_vectors(cat, rec.id, 1, &files, &n, &first_err);
            out->needed = n;
        }
    }
    /* also when rank 0 failed: the scan's model hand-out sends everyone home, and rank 0 says why */
    mm_status st = embed_from_audio(rank == 0 ? cat : NULL, r, model, have ? rec.id : 0, files, first == MM_OK ? n : 0,
                                    out, err);
    if (first != MM_OK) {
        st = first;
        if (err)
            *err = first_err;
    }
    mm_catalog_files_free(files, n);
    if (have)
        mm_model_record_free(&rec);
    return st;
}

mm_status mm_pipeline_embed(mm_catalog *cat, const mm_embed_request *req_in, mm_embed_outcome *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_embed_request r;
    mm_embed_request_init(&r);
    util_options_copy(&r, sizeof r, req_in, UTIL_OPTIONS_END(mm_embed_request, user));
    if (r.batch < 1 || r.batch > EMBED_MAX_BATCH)
        return mm_error_set(err, MM_ERR_ARG, "embed: the batch must be 1 to %d clips", EMBED_MAX_BATCH);
    if (r.cluster)
        return embed_cluster(cat, &r, out, err);
    mm_model_record rec;
    mm_model *model = NULL;
    int64_t *ids = NULL;
    char **files = NULL;
    size_t n_stored = 0, n_files = 0;
    mm_status st = pipe_find_model(cat, r.model, &rec, err);
    if (st != MM_OK)
        return st;
    out->model_id = rec.id;
    snprintf(out->model_name, sizeof out->model_name, "%s", rec.name);
    if ((st = pipe_load_model(cat, &rec, &model, err)) != MM_OK ||
        (st = mm_catalog_tracks_needing_vectors(cat, rec.id, &ids, &n_stored, err)) != MM_OK ||
        (st = mm_catalog_files_needing_vectors(cat, rec.id, 0, &files, &n_files, err)) != MM_OK)
        goto done;
    out->needed = n_stored + n_files;
    if (out->needed == 0) {
        mm_log(r.log, MM_LOG_INFO, "embed: every track already has vectors under '%s'", rec.name);
        goto done;
    }
    if (n_stored > 0) {
        mm_nn_set_threads(r.threads > 0 ? r.threads : mm_cpu_count());
        st = embed_all(cat, &r, model, rec.id, ids, n_stored, out, err);
    }
    /* songs scanned without their spectrogram: from the audio */
    if (st == MM_OK && n_files > 0) {
        mm_log(r.log, MM_LOG_INFO, "embed: %zu tracks have no stored spectrogram: reading their audio", n_files);
        st = embed_from_audio(cat, &r, rec.name, rec.id, files, n_files, out, err);
    }
    if (st == MM_OK)
        mm_log(r.log, MM_LOG_INFO, "embed: %zu tracks embedded with '%s' in %.1f s%s", out->embedded, rec.name,
               out->seconds, out->failed ? " (some could not be read: see above)" : "");
done:
    mm_model_close(model);
    mm_model_record_free(&rec);
    free(ids);
    mm_catalog_files_free(files, n_files);
    return st;
}
