/* musicmap evaluate: how well each kind of song vector, and each map made from it, keeps songs that
 * belong together (same folder, soundtrack, genre tag or CSV label) next to each other. The figures the
 * defaults are chosen by (bench/quality, bench/RESULTS.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/pipeline.h"
#include "musicmap/catalog.h"
#include "musicmap/features.h"
#include "musicmap/layout.h"

#define EVAL_MAX_MODELS 8

static void evaluate_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap evaluate [OPTIONS]\n\n"
            "Scores every kind of song vector in the catalog, and the maps made from them, against labels:\n"
            "the share of each song's k nearest neighbours (k = 5, 10) that carry its label, in the vectors'\n"
            "own space (what \"similar songs\" returns) and on the 2-D map, and the map's trustworthiness\n"
            "(k = 10). Chance is what a random neighbour would score.\n\n"
            "Kinds: descriptors (all groups), mfcc (the descriptors' timbre group alone), mel band profile\n"
            "(their band group alone), mel (the raw spectrogram baseline) and, for each --model, its\n"
            "output vector and hidden state.\n\n"
            "Options:\n"
            "      --labels SRC      folders (default: each song's folder), tags, fma:FILE or csv:FILE\n"
            "  -m, --model NAME      also score this model's vectors (repeatable; run `musicmap embed` first)\n"
            "      --methods LIST    map methods, from pca,tsne,umap (default all three)\n"
            "      --seed N          layouts' seed (default 42)\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print only the table\n"
            "  -h, --help            show this help\n");
}

/* Labels as small integers for a set of track ids (-1: no label). */
typedef struct label_index {
    int64_t *ids; /* sorted */
    int32_t *label;
    size_t n;
    int n_names;
} label_index;

typedef struct id_label {
    int64_t id;
    int32_t label;
} id_label;

static int cmp_id_label(const void *a, const void *b)
{
    int64_t x = ((const id_label *)a)->id, y = ((const id_label *)b)->id;
    return x < y ? -1 : x > y;
}

static int build_index(const mm_label_list *list, label_index *out)
{
    id_label *pairs = malloc(sizeof *pairs * (list->n ? list->n : 1));
    char **names = malloc(sizeof *names * (list->n ? list->n : 1));
    out->ids = malloc(sizeof *out->ids * (list->n ? list->n : 1));
    out->label = malloc(sizeof *out->label * (list->n ? list->n : 1));
    if (!pairs || !names || !out->ids || !out->label) {
        free(pairs), free(names);
        return -1;
    }
    int n_names = 0;
    for (size_t i = 0; i < list->n; i++) {
        int k = 0;
        while (k < n_names && strcmp(names[k], list->labels[i]) != 0)
            k++;
        if (k == n_names)
            names[n_names++] = list->labels[i];
        pairs[i] = (id_label){list->ids[i], k};
    }
    qsort(pairs, list->n, sizeof *pairs, cmp_id_label);
    for (size_t i = 0; i < list->n; i++)
        out->ids[i] = pairs[i].id, out->label[i] = pairs[i].label;
    out->n = list->n;
    out->n_names = n_names;
    free(pairs), free(names);
    return 0;
}

static int32_t label_of(const label_index *ix, int64_t id)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->ids[lo] == id ? ix->label[lo] : -1;
}

typedef struct eval_ctx {
    mm_cli *cli;
    const label_index *labels;
    int methods[3], n_methods;
    uint64_t seed;
    int threads;
} eval_ctx;

/* Scores one kind of vectors (n x d, rows in ids order): keeps the labelled rows, then the neighbour
 * agreement in the space and on each map. */
static mm_status score(eval_ctx *c, const char *kind, const int64_t *ids, const float *x, size_t n, int d,
                       mm_error *err)
{
    float *xs = malloc(sizeof(float) * (n ? n : 1) * (size_t)d);
    int32_t *lab = malloc(sizeof(int32_t) * (n ? n : 1));
    float *y = malloc(sizeof(float) * (n ? n : 1) * 2);
    int32_t *idx = malloc(sizeof(int32_t) * (n ? n : 1) * 10);
    mm_status st = MM_OK;
    if (!xs || !lab || !y || !idx) {
        st = mm_error_set(err, MM_ERR_NOMEM, "evaluate: out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t l = label_of(c->labels, ids[i]);
        if (l < 0)
            continue;
        memcpy(xs + m * (size_t)d, x + i * (size_t)d, sizeof(float) * (size_t)d);
        lab[m++] = l;
    }
    if (m < 12) {
        printf("%-22s %5d  (only %zu labelled songs have these vectors: not scored)\n", kind, d, m);
        goto done;
    }
    mm_knn_options ko;
    mm_knn_defaults(&ko);
    ko.method = MM_KNN_EXACT;
    ko.threads = c->threads;
    if ((st = mm_knn(xs, m, (size_t)d, 10, &ko, idx, NULL, err)) != MM_OK)
        goto done;
    double s5 = mm_knn_label_agreement(idx, m, 10, 5, lab), s10 = mm_knn_label_agreement(idx, m, 10, 10, lab);
    for (int k = 0; k < c->n_methods; k++) {
        mm_layout_spec spec;
        mm_layout_spec_defaults(&spec);
        spec.method = (mm_layout_method)c->methods[k];
        spec.seed = c->seed;
        spec.threads = c->threads;
        if ((st = mm_layout_compute(xs, m, (size_t)d, &spec, y, err)) != MM_OK)
            goto done;
        if ((st = mm_knn(y, m, 2, 10, &ko, idx, NULL, err)) != MM_OK)
            goto done;
        double trust = NAN;
        if ((st = mm_trustworthiness(xs, m, (size_t)d, y, 2, 10, MM_METRIC_EUCLIDEAN, c->threads, &trust, err)) != MM_OK)
            goto done;
        printf("%-22s %5d %5zu %8.3f %8.3f  %-5s %8.3f %8.3f %8.3f\n", kind, d, m, s5, s10,
               mm_layout_method_name(spec.method), mm_knn_label_agreement(idx, m, 10, 5, lab),
               mm_knn_label_agreement(idx, m, 10, 10, lab), trust);
        fflush(stdout);
    }
done:
    free(xs), free(lab), free(y), free(idx);
    return st;
}

/* The timbre group of the descriptors alone (MFCC statistics), standardised the same way. */
static float *group_only(const float *x, size_t n, mm_descriptor_group group, int *d)
{
    int cols[MM_DESCRIPTOR_DIM], k = 0;
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
        if (mm_descriptor_group_of(j) == group)
            cols[k++] = j;
    float *out = malloc(sizeof(float) * (n ? n : 1) * (size_t)(k ? k : 1));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            out[i * (size_t)k + (size_t)j] = x[i * MM_DESCRIPTOR_DIM + (size_t)cols[j]];
    *d = k;
    return out;
}

int mm_cmd_evaluate(mm_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, NULL, 'L'}, {"model", required_argument, NULL, 'm'},
        {"methods", required_argument, NULL, 'M'}, {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},   {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},         MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *source = "folders", *db = NULL, *models[EVAL_MAX_MODELS];
    int n_models = 0;
    eval_ctx c = {.cli = cli, .methods = {MM_LAYOUT_PCA, MM_LAYOUT_TSNE, MM_LAYOUT_UMAP}, .n_methods = 3, .seed = 42};
    long v, jobs = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'L': source = optarg; break;
        case 'm':
            if (n_models == EVAL_MAX_MODELS)
                return mm_cli_usage_error(cli, "evaluate", "at most %d models", EVAL_MAX_MODELS);
            models[n_models++] = optarg;
            break;
        case 'M': {
            c.n_methods = 0;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                mm_layout_method mth;
                if (mm_layout_method_parse(t, &mth) != 0 || c.n_methods == 3)
                    return mm_cli_usage_error(cli, "evaluate", "--methods is a list of pca, tsne, umap");
                c.methods[c.n_methods++] = (int)mth;
            }
            break;
        }
        case 's':
            if (mm_cli_parse_int(optarg, 0, 0x7fffffffL, &v))
                return mm_cli_usage_error(cli, "evaluate", "--seed needs a number >= 0");
            c.seed = (uint64_t)v;
            break;
        case 'j':
            if (mm_cli_parse_int(optarg, 1, 1024, &jobs))
                return mm_cli_usage_error(cli, "evaluate", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'h': evaluate_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "evaluate", "bad option");
        }
    }
    if (optind != argc)
        return mm_cli_usage_error(cli, "evaluate", "unexpected argument '%s'", argv[optind]);
    mm_label_source kind;
    const char *file;
    if (mm_label_source_parse(source, &kind, &file) != 0)
        return mm_cli_usage_error(cli, "evaluate", "--labels is folders, tags, fma:FILE or csv:FILE, not '%s'", source);
    c.threads = (int)(jobs > 0 ? jobs : mm_cpu_count());

    mm_catalog *cat = NULL;
    if (mm_cli_open_catalog(cli, "evaluate", db, 0, &cat) != 0)
        return MM_EXIT_FAILURE;
    int rc = MM_EXIT_FAILURE;
    mm_error err;
    mm_label_list list = {0};
    label_index ix = {0};
    int64_t *ids = NULL;
    float *x = NULL, *sub = NULL, *probs = NULL, *emb = NULL;
    size_t n = 0;
    int d = 0, d_bands = 0;
    if (mm_labels_collect(cat, kind, file, &list, &err) != MM_OK)
        goto fail;
    if (build_index(&list, &ix) != 0) {
        mm_error_set(&err, MM_ERR_NOMEM, "evaluate: out of memory");
        goto fail;
    }
    c.labels = &ix;
    printf("labels: %s, %zu songs in %d groups; chance (a random neighbour shares the label) %.3f\n", source, ix.n,
           ix.n_names, mm_label_chance_agreement(ix.label, ix.n));
    printf("%-22s %5s %5s %8s %8s  %-5s %8s %8s %8s\n", "vectors", "dim", "songs", "space@5", "space@10", "map",
           "map@5", "map@10", "trust@10");

    /* descriptors, all groups and timbre alone */
    if (mm_catalog_get_descriptors(cat, &n, &ids, &x, &err) != MM_OK)
        goto fail;
    if (n) {
        /* the groups baselines are made of, from the raw values, each standardised on its own */
        sub = group_only(x, n, MM_DESC_TIMBRE, &d);
        float *bands = group_only(x, n, MM_DESC_BANDS, &d_bands);
        mm_descriptors_standardise(x, n);
        mm_status st = !sub || !bands ? mm_error_set(&err, MM_ERR_NOMEM, "evaluate: out of memory")
                                      : score(&c, "descriptors", ids, x, n, MM_DESCRIPTOR_DIM, &err);
        if (st == MM_OK) {
            mm_vectors_standardise(sub, n, d);
            st = score(&c, "mfcc (timbre group)", ids, sub, n, d, &err);
        }
        if (st == MM_OK) {
            mm_vectors_standardise(bands, n, d_bands);
            st = score(&c, "mel band profile", ids, bands, n, d_bands, &err);
        }
        free(bands);
        if (st != MM_OK)
            goto fail;
    } else {
        printf("%-22s  (none stored: scan again to compute them)\n", "descriptors");
    }
    free(ids), free(x), free(sub);
    ids = NULL, x = NULL, sub = NULL;
    /* the spectrogram baseline */
    mm_song_vectors mel;
    if (mm_song_vectors_load(cat, MM_VECTORS_MEL, NULL, c.threads, &mel, &err) != MM_OK)
        goto fail;
    mm_status mel_st = score(&c, "mel (pooled, PCA)", mel.ids, mel.x, mel.n, mel.dim, &err);
    mm_song_vectors_free(&mel);
    if (mel_st != MM_OK)
        goto fail;
    /* models */
    for (int i = 0; i < n_models; i++) {
        mm_model_record rec;
        int k = 0, dim = 0;
        if (mm_catalog_get_model(cat, models[i], &rec, &err) != MM_OK)
            goto fail;
        mm_status st = mm_catalog_get_vectors(cat, rec.id, &n, &ids, &probs, &k, &emb, &dim, &err);
        mm_model_record_free(&rec);
        if (st != MM_OK)
            goto fail;
        char name[64];
        snprintf(name, sizeof name, "%.40s softmax", models[i]);
        if (score(&c, name, ids, probs, n, k, &err) != MM_OK)
            goto fail;
        snprintf(name, sizeof name, "%.40s hidden", models[i]);
        if (dim && score(&c, name, ids, emb, n, dim, &err) != MM_OK)
            goto fail;
        free(ids), free(probs), free(emb);
        ids = NULL, probs = NULL, emb = NULL;
    }
    rc = MM_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap evaluate: %s\n", err.msg);
done:
    free(ids), free(x), free(sub), free(probs), free(emb);
    free(ix.ids), free(ix.label);
    mm_label_list_free(&list);
    mm_catalog_close(cat);
    return rc;
}
