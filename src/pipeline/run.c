/* run: from folders of music to maps in one call (scan, decide, train, embed, map), and the rule it
 * decides by: a genre model is trained on the files' tags only when they describe most of the songs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "internal.h"

/* What run's maps are made from, chosen by measurement (bench/RESULTS.md, "Map quality"): even on
 * generated music with every song tagged, maps of the descriptors keep genres together better (UMAP
 * k-NN(5) 0.66) than maps of a genre model trained on those tags for the demo's 15 epochs (0.40); on
 * real music without tags there is no model to use. The model still names each song's likely genre. */
#define RUN_FEATURES MM_VECTORS_DESCRIPTORS

void mm_run_request_init(mm_run_request *req)
{
    *req = (mm_run_request){.size = sizeof *req, .preset = "small", .epochs = 20, .min_count = 10};
}

void mm_run_outcome_free(mm_run_outcome *out)
{
    if (!out)
        return;
    mm_train_outcome_free(&out->train);
    memset(out, 0, sizeof *out);
}

/* --- the rule ------------------------------------------------------------------------------------------ */

mm_status mm_tag_census(mm_catalog *cat, int min_count, mm_genre_census *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    out->min_count = min_count;
    if (min_count < 1)
        return mm_error_set(err, MM_ERR_ARG, "tag census: min_count must be at least 1, not %d", min_count);
    int64_t *ids = NULL;
    mm_status st = mm_catalog_feature_ids(cat, &ids, &out->songs, err);
    free(ids);
    if (st != MM_OK)
        return st;
    mm_label_list tags;
    if ((st = mm_labels_collect(cat, MM_LABELS_TAGS, NULL, &tags, err)) != MM_OK)
        return st;
    pipe_genre *genres;
    size_t n;
    if ((st = pipe_count_genres(&tags, &genres, &n, err)) == MM_OK) {
        out->tagged = tags.n;
        out->genres = (int)n;
        for (size_t g = 0; g < n; g++)
            if (genres[g].count >= (size_t)min_count) {
                out->learnable++;
                out->covered += genres[g].count;
            }
        free(genres);
    }
    mm_label_list_free(&tags);
    return st;
}

int mm_tags_worth_training(const mm_genre_census *c, mm_tags_verdict *why)
{
    /* A classifier is trained only on tags that describe most of the collection: one trained on a
     * minority's genres maps everyone else by guesswork (bench/RESULTS.md, "Map quality"). */
    mm_tags_verdict v = c->learnable < 2              ? MM_TAGS_TOO_FEW_GENRES
                        : 2 * c->covered < c->songs ? MM_TAGS_MINORITY
                                                      : MM_TAGS_ENOUGH;
    if (why)
        *why = v;
    return v == MM_TAGS_ENOUGH;
}

/* --- the steps ----------------------------------------------------------------------------------------- */

static void step_done(const mm_run_request *r, mm_run_step step, const mm_run_outcome *out)
{
    if (r->step)
        r->step(step, out, r->user);
}

static mm_status run_scan(mm_catalog *cat, const mm_run_request *r, mm_run_outcome *out, mm_error *err)
{
    if (!r->n_folders)
        return MM_OK;
    mm_scan_options defaults;
    const mm_scan_options *options = r->scan;
    if (!options) {
        mm_scan_options_init(&defaults);
        defaults.jobs = r->threads;
        options = &defaults;
    }
    const mm_scan_result *s = &out->scan;
    mm_status st = mm_catalog_scan(cat, r->folders, r->n_folders, options, &out->scan, err);
    if (st != MM_OK)
        return st;
    const int64_t read = s->added + s->changed + s->moved + s->failed;
    mm_log(r->log, MM_LOG_INFO,
           "scan: %lld audio files in %.2f s: %lld added, %lld changed, %lld unchanged, %lld moved, %lld failed; "
           "%lld missing, %lld pruned (%.1f files/s read)",
           (long long)s->found, s->seconds, (long long)s->added, (long long)s->changed, (long long)s->unchanged,
           (long long)s->moved, (long long)s->failed, (long long)s->missing, (long long)s->pruned,
           s->seconds > 0 ? (double)read / s->seconds : 0.0);
    if (s->stopped)
        return mm_error_set(err, MM_ERR_CANCELLED, "scan interrupted; what was done is kept, run again to finish");
    step_done(r, MM_RUN_SCANNED, out);
    return MM_OK;
}

/* Trains MM_RUN_MODEL when the tags are worth it and there is none yet (or retrain); says why not
 * otherwise. */
static mm_status run_train(mm_catalog *cat, const mm_run_request *r, mm_run_outcome *out, mm_error *err)
{
    mm_model_record existing;
    out->have_model = mm_catalog_get_model(cat, MM_RUN_MODEL, &existing, NULL) == MM_OK;
    if (out->have_model)
        mm_model_record_free(&existing);
    mm_status st = mm_tag_census(cat, r->min_count, &out->tags, err);
    if (st != MM_OK)
        return st;
    const mm_genre_census *c = &out->tags;
    const int worth = mm_tags_worth_training(c, &out->verdict);
    if (out->verdict == MM_TAGS_MINORITY)
        mm_log(r->log, MM_LOG_WARN,
               "run: only %zu of %zu songs carry one of the %d genre tags with %d or more songs: too few to train "
               "a genre model on; the maps use the songs' audio descriptors",
               c->covered, c->songs, c->learnable, c->min_count);
    if ((!out->have_model || r->retrain) && worth) {
        mm_log(r->log, MM_LOG_INFO, "run: %d genres have %d or more tagged songs: training a %s model on them",
               c->learnable, c->min_count, r->preset);
        mm_train_request t;
        mm_train_request_init(&t);
        t.preset = r->preset;
        t.epochs = r->epochs;
        t.min_count = r->min_count;
        t.name = MM_RUN_MODEL;
        t.threads = r->threads;
        t.log = r->log;
        t.progress = r->train_progress;
        t.progress_ctx = r->user;
        if ((st = mm_pipeline_train(cat, &t, &out->train, err)) != MM_OK)
            return st;
        out->trained = out->have_model = 1;
        step_done(r, MM_RUN_TRAINED, out);
    } else if (!out->have_model && out->verdict == MM_TAGS_TOO_FEW_GENRES) {
        mm_log(r->log, MM_LOG_WARN,
               "run: too few genre tags to learn genres from (%d genres with %d or more songs; 2 needed): the maps use "
               "the songs' audio descriptors, and are coloured by nothing but what tags there are. Tag your music, or "
               "train on folders or a CSV (musicmap train --labels ...), then run again.",
               c->learnable, c->min_count);
    }
    out->features = out->have_model && worth ? RUN_FEATURES : MM_VECTORS_DESCRIPTORS;
    mm_log(r->log, MM_LOG_INFO, "run: the maps are made from the %s%s",
           out->features == MM_VECTORS_DESCRIPTORS
               ? "songs' audio descriptors (timbre, spectral shape, rhythm, harmony, dynamics; no model needed)"
               : "genre model's output vectors",
           out->have_model && out->features == MM_VECTORS_DESCRIPTORS
               ? " (the genre model names each song's likely genre, in its details)"
               : "");
    return MM_OK;
}

/* Which genre colours the page starts with, and why (the rule is mm_model_record_colours_by_prediction;
 * maps made without the model, of the descriptors, carry no predictions). */
static void report_colours(mm_catalog *cat, const mm_logger *log, int maps_of_model)
{
    mm_model_record rec;
    if (mm_catalog_get_model(cat, MM_RUN_MODEL, &rec, NULL) != MM_OK)
        return;
    const double acc = mm_model_record_test_accuracy(&rec);
    const int trusted = mm_model_record_colours_by_prediction(&rec);
    if (trusted && !maps_of_model)
        mm_log(log, MM_LOG_INFO,
               "run: the maps are coloured by the files' genre tags: they are maps of the descriptors; the genre "
               "model (held-out accuracy %.2f) colours maps made from it (musicmap map -m %s)",
               acc, MM_RUN_MODEL);
    else if (trusted)
        mm_log(log, MM_LOG_INFO,
               "run: the map is coloured by the model's predicted genres (held-out accuracy %.2f, at least %.2f)", acc,
               MM_PREDICTED_COLOURS_MIN_ACCURACY);
    else if (acc >= 0)
        mm_log(log, MM_LOG_INFO,
               "run: the map is coloured by the files' genre tags: the model's held-out accuracy %.2f is below "
               "%.2f, too low to trust its predicted genres (the page can still show them)",
               acc, MM_PREDICTED_COLOURS_MIN_ACCURACY);
    else
        mm_log(log, MM_LOG_INFO, "run: the map is coloured by the files' genre tags (the model's accuracy is unknown)");
    mm_model_record_free(&rec);
}

static mm_status run_embed(mm_catalog *cat, const mm_run_request *r, mm_run_outcome *out, mm_error *err)
{
    if (!out->have_model)
        return MM_OK;
    mm_embed_request e;
    mm_embed_request_init(&e);
    e.model = MM_RUN_MODEL;
    e.threads = r->threads;
    e.log = r->log;
    e.progress = r->embed_progress;
    e.failure = r->embed_failure;
    e.user = r->user;
    mm_status st = mm_pipeline_embed(cat, &e, &out->embed, err);
    if (st != MM_OK)
        return st;
    out->embedded = 1;
    step_done(r, MM_RUN_EMBEDDED, out);
    report_colours(cat, r->log, out->features != MM_VECTORS_DESCRIPTORS);
    return MM_OK;
}

static mm_status run_maps(mm_catalog *cat, const mm_run_request *r, mm_run_outcome *out, mm_error *err)
{
    static const mm_layout_method methods[MM_RUN_MAPS] = {MM_LAYOUT_UMAP, MM_LAYOUT_TSNE, MM_LAYOUT_PCA};
    const int threads = r->threads > 0 ? r->threads : mm_cpu_count();
    mm_song_vectors v = {0};
    mm_status st = mm_song_vectors_load(cat, out->features, out->have_model ? MM_RUN_MODEL : NULL, threads, &v, err);
    for (int i = 0; st == MM_OK && i < MM_RUN_MAPS; i++) {
        mm_layout_spec spec;
        mm_layout_spec_init(&spec);
        spec.method = methods[i];
        spec.threads = threads;
        mm_map_request m;
        mm_map_request_init(&m);
        m.spec = &spec;
        m.redraw = r->redraw;
        if ((st = mm_map_make_from(cat, &v, &m, &out->maps[out->n_maps], err)) == MM_OK) {
            out->n_maps++;
            step_done(r, MM_RUN_MAPPED, out);
        }
    }
    mm_song_vectors_free(&v);
    return st;
}

mm_status mm_pipeline_run(mm_catalog *cat, const mm_run_request *req_in, mm_run_outcome *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_run_request r;
    mm_run_request_init(&r);
    util_options_copy(&r, sizeof r, req_in, UTIL_OPTIONS_END(mm_run_request, user));
    if (!r.preset || !mm_preset_find(r.preset))
        return mm_error_set(err, MM_ERR_ARG, "unknown preset '%s' (crnn4, crnn6, small)", r.preset ? r.preset : "");
    if (r.epochs < 1 || r.min_count < 1)
        return mm_error_set(err, MM_ERR_ARG, "run: epochs and min_count must be at least 1");
    if (r.n_folders && !r.folders)
        return mm_error_set(err, MM_ERR_ARG, "run: %zu folders but no list of them", r.n_folders);
    mm_status st = run_scan(cat, &r, out, err);
    if (st == MM_OK)
        st = run_train(cat, &r, out, err);
    if (st == MM_OK)
        st = run_embed(cat, &r, out, err);
    if (st == MM_OK)
        st = run_maps(cat, &r, out, err);
    return st;
}
