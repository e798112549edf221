/* musicmap map: lay out the catalogued songs' vectors with PCA, t-SNE or UMAP and store the map. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "labels.h"
#include "vectors.h"
#include "musicmap/catalog.h"
#include "musicmap/features.h"
#include "musicmap/layout.h"
#include "musicmap/nn.h"


static void map_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap map [OPTIONS]\n\n"
            "Lays out the catalogued songs in 2-D or 3-D and stores the map (musicmap serve shows it).\n\n"
            "Options:\n"
            "      --method M        pca, tsne or umap (default umap)\n"
            "      --dims N          2 (default) or 3\n"
            "      --features F      descriptors (the default without -m: timbre, spectral shape, rhythm,\n"
            "                        harmony and dynamics statistics from the scan, no model needed; they\n"
            "                        map best, bench/RESULTS.md), softmax (the default with -m: the model's\n"
            "                        output vector), hidden (its 32-d last GRU state; better for a model\n"
            "                        trained on other music), or mel (the raw spectrograms, pooled and\n"
            "                        reduced to %d by PCA: the baseline)\n"
            "  -m, --model NAME      whose vectors for softmax and hidden (default: the newest model; run\n"
            "                        `musicmap embed` first)\n"
            "      --perplexity P    t-SNE (default 30)\n"
            "      --neighbors K     UMAP n_neighbors (default 15)\n"
            "      --min-dist D      UMAP min_dist (default 0.1)\n"
            "      --metric M        euclidean (default), cosine or correlation\n"
            "      --seed N          (default 42)\n"
            "      --grid            the original's figure grid: t-SNE perplexity 5, 30, 50, 100 and UMAP\n"
            "                        n_neighbors 5, 30, 50 x min_dist 0.01, 0.1, 0.5 (13 maps)\n"
            "      --name NAME       the map's name (default: method and parameters, e.g. umap-n15-d0.1-softmax)\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "  -q, --quiet           print only errors\n"
            "  -h, --help            show this help\n"
            "\nEach map's quality is printed: trustworthiness (k = 10) and the share of each song's 10 nearest\n"
            "neighbours on the map that have its genre tag.\n",
            MEL_PCA_DIMS);
}

typedef struct id_index {
    int64_t id;
    size_t index; /* row of the vectors */
} id_index;

typedef struct tag_ctx {
    id_index *order; /* the rows' track ids, sorted */
    size_t n;
    int32_t *labels;
    char names[MM_MAX_LABELS][MM_LABEL_NAME_MAX];
    int n_names;
} tag_ctx;

/* Each track's normalised genre tag as a small integer (-1: none), for label agreement. */
static int tag_of(const mm_track *t, void *user)
{
    tag_ctx *c = user;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->order[mid].id < t->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->n || c->order[lo].id != t->id)
        return 0;
    char norm[MM_LABEL_NAME_MAX];
    mm_label_normalise(t->genre, norm, sizeof norm);
    if (!norm[0])
        return 0;
    int k = 0;
    while (k < c->n_names && strcmp(c->names[k], norm) != 0)
        k++;
    if (k == c->n_names) {
        if (k == MM_MAX_LABELS)
            return 0;
        snprintf(c->names[c->n_names++], MM_LABEL_NAME_MAX, "%s", norm);
    }
    c->labels[c->order[lo].index] = k;
    return 0;
}

static int cmp_id_index(const void *a, const void *b)
{
    int64_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return x < y ? -1 : x > y;
}


int mm_cmd_map(mm_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"method", required_argument, NULL, 'M'},    {"dims", required_argument, NULL, 'd'},
        {"features", required_argument, NULL, 'F'},  {"model", required_argument, NULL, 'm'},
        {"perplexity", required_argument, NULL, 'p'}, {"neighbors", required_argument, NULL, 'n'},
        {"min-dist", required_argument, NULL, 'x'},  {"metric", required_argument, NULL, 'e'},
        {"seed", required_argument, NULL, 's'},      {"grid", no_argument, NULL, 'g'},
        {"name", required_argument, NULL, 'N'},      {"jobs", required_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'D'},        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,                      {NULL, 0, NULL, 0},
    };
    mm_layout_spec base;
    mm_layout_spec_defaults(&base);
    /* with -m, softmax by measurement: with a model trained on the collection's own tags, maps of the
     * output vectors agree with the genre tags more than maps of the hidden state (bench/RESULTS.md) */
    const char *features = "softmax", *model_name = NULL, *name = NULL, *db = NULL;
    int grid = 0, features_given = 0;
    long jobs = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, o))
            continue;
        long v;
        double d;
        switch (o) {
        case 'M':
            if (mm_layout_method_parse(optarg, &base.method) != 0)
                return mm_cli_usage_error(cli, "map", "--method is pca, tsne or umap, not '%s'", optarg);
            break;
        case 'd':
            if (mm_cli_parse_int(optarg, 2, 3, &v))
                return mm_cli_usage_error(cli, "map", "--dims is 2 or 3");
            base.dims = (int)v;
            break;
        case 'F':
            if (strcmp(optarg, "hidden") && strcmp(optarg, "softmax") && strcmp(optarg, "mel") &&
                strcmp(optarg, "descriptors"))
                return mm_cli_usage_error(cli, "map", "--features is hidden, softmax, mel or descriptors, not '%s'",
                                          optarg);
            features = optarg;
            features_given = 1;
            break;
        case 'm': model_name = optarg; break;
        case 'p':
            if (mm_cli_parse_double(optarg, 1, 10000, &d))
                return mm_cli_usage_error(cli, "map", "--perplexity needs a number from 1 to 10000");
            base.perplexity = d;
            break;
        case 'n':
            if (mm_cli_parse_int(optarg, 2, 1000, &v))
                return mm_cli_usage_error(cli, "map", "--neighbors needs a number from 2 to 1000");
            base.n_neighbors = (int)v;
            break;
        case 'x':
            if (mm_cli_parse_double(optarg, 0, 10, &d))
                return mm_cli_usage_error(cli, "map", "--min-dist needs a number from 0 to 10");
            base.min_dist = d;
            break;
        case 'e':
            if (mm_metric_parse(optarg, &base.metric) != 0)
                return mm_cli_usage_error(cli, "map", "--metric is euclidean, cosine or correlation");
            break;
        case 's':
            if (mm_cli_parse_int(optarg, 0, 0x7fffffffL, &v))
                return mm_cli_usage_error(cli, "map", "--seed needs a number >= 0");
            base.seed = (uint64_t)v;
            break;
        case 'g': grid = 1; break;
        case 'N': name = optarg; break;
        case 'j':
            if (mm_cli_parse_int(optarg, 1, 1024, &jobs))
                return mm_cli_usage_error(cli, "map", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'h': map_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "map", "bad option");
        }
    }
    if (optind != argc)
        return mm_cli_usage_error(cli, "map", "unexpected argument '%s'", argv[optind]);
    if (grid && name)
        return mm_cli_usage_error(cli, "map", "--grid makes 13 maps: it names them itself");
    base.threads = (int)(jobs > 0 ? jobs : mm_cpu_count());

    mm_catalog *cat = NULL;
    if (mm_cli_open_catalog(cli, "map", db, 0, &cat) != 0)
        return MM_EXIT_FAILURE;
    int rc = MM_EXIT_FAILURE;
    mm_error err;
    mm_model_record rec;
    memset(&rec, 0, sizeof rec);
    int64_t *ids = NULL;
    float *x = NULL, *probs = NULL, *emb = NULL, *y = NULL;
    size_t n = 0;
    int d = 0, k = 0, dim = 0;
    int64_t model_id = 0;
    tag_ctx tags = {0};
    const char *source = "embedding";
    /* without a model named, the descriptors: they need no model and map best (bench/RESULTS.md) */
    if (!features_given && !model_name)
        features = "descriptors";
    int is_mel = strcmp(features, "mel") == 0, is_desc = strcmp(features, "descriptors") == 0;
    if (is_mel || is_desc) {
        /* these features have no model: each is registered as one so maps can refer to it */
        char *no_classes[1] = {NULL};
        mm_model_record pseudo = {.name = is_mel ? "mel-pca50" : "descriptors", .file = "",
                                  .architecture = is_mel ? "mel" : "descriptors", .n_classes = 0,
                                  .classes = no_classes, .embedding_dim = is_mel ? MEL_PCA_DIMS : MM_DESCRIPTOR_DIM};
        mm_model_record existing;
        if (mm_catalog_get_model(cat, pseudo.name, &existing, NULL) == MM_OK) {
            model_id = existing.id;
            mm_model_record_free(&existing);
        } else if (mm_catalog_put_model(cat, &pseudo, &model_id, &err) != MM_OK) {
            goto fail;
        }
        if (is_mel && mm_cli_mel_vectors(cat, base.threads, &ids, &n, &x, &d, &err) != MM_OK)
            goto fail;
        if (is_desc) {
            if (mm_catalog_get_descriptors(cat, &n, &ids, &x, &err) != MM_OK)
                goto fail;
            d = MM_DESCRIPTOR_DIM;
            mm_descriptors_standardise(x, n);
        }
    } else {
        if (mm_catalog_get_model(cat, model_name, &rec, &err) != MM_OK)
            goto fail;
        model_id = rec.id;
        if (mm_catalog_get_vectors(cat, rec.id, &n, &ids, &probs, &k, &emb, &dim, &err) != MM_OK)
            goto fail;
        if (strcmp(features, "softmax") == 0) {
            x = probs, d = k, probs = NULL;
            source = "probs";
        } else {
            x = emb, d = dim, emb = NULL;
        }
    }
    if (n < 3) {
        mm_error_set(&err, MM_ERR_ARG, "%zu songs have %s vectors%s: too few for a map", n, features,
                     is_desc ? " (run `musicmap scan` again: it computes them)" : is_mel ? "" : " (run `musicmap embed`)");
        goto fail;
    }
    tags.n = n;
    tags.labels = malloc(sizeof(int32_t) * n);
    tags.order = malloc(sizeof *tags.order * n);
    y = malloc(sizeof(float) * n * 3);
    if (!tags.labels || !tags.order || !y) {
        mm_error_set(&err, MM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        tags.order[i] = (id_index){ids[i], i};
    qsort(tags.order, n, sizeof *tags.order, cmp_id_index);
    for (size_t i = 0; i < n; i++)
        tags.labels[i] = -1;
    if (mm_catalog_each_track(cat, MM_TRACK_OK, tag_of, &tags, &err) != MM_OK)
        goto fail;
    mm_layout_spec specs[16];
    size_t n_specs = grid ? mm_layout_grid(&base, specs, 16) : 1;
    if (!grid)
        specs[0] = base;
    for (size_t s = 0; s < n_specs; s++) {
        double t0 = mm_now();
        if (mm_layout_compute(x, n, (size_t)d, &specs[s], y, &err) != MM_OK)
            goto fail;
        double seconds = mm_now() - t0;
        mm_quality_options qo;
        mm_quality_defaults(&qo);
        qo.threads = base.threads;
        mm_layout_quality q;
        if (mm_layout_quality_compute(x, n, (size_t)d, y, specs[s].dims, tags.n_names ? tags.labels : NULL, &qo, &q,
                                      &err) != MM_OK)
            goto fail;
        mm_layout_normalize(y, n, specs[s].dims);
        char spec_name[96], map_name[200], params[256];
        mm_layout_spec_name(&specs[s], spec_name, sizeof spec_name);
        if (name && !grid)
            snprintf(map_name, sizeof map_name, "%s", name);
        else if (rec.name)
            snprintf(map_name, sizeof map_name, "%s-%s (%.60s)", spec_name, features, rec.name);
        else
            snprintf(map_name, sizeof map_name, "%s-%s", spec_name, features);
        /* only the parameters that shaped this map (the page shows them) */
        char method_params[96] = "";
        if (specs[s].method == MM_LAYOUT_TSNE)
            snprintf(method_params, sizeof method_params, "\"perplexity\": %g, ", specs[s].perplexity);
        else if (specs[s].method == MM_LAYOUT_UMAP)
            snprintf(method_params, sizeof method_params, "\"n_neighbors\": %d, \"min_dist\": %g, ",
                     specs[s].n_neighbors, specs[s].min_dist);
        snprintf(params, sizeof params,
                 "{\"features\": \"%s\", %s\"metric\": \"%s\", \"seed\": %llu, \"trustworthiness\": %.4f, "
                 "\"label_agreement\": %.4f}",
                 features, method_params, mm_metric_name(specs[s].metric), (unsigned long long)specs[s].seed,
                 isnan(q.trustworthiness) ? -1.0 : q.trustworthiness, isnan(q.label_agreement) ? -1.0 : q.label_agreement);
        mm_map_record map = {.name = map_name,
                             .model_id = model_id,
                             .source = (char *)source,
                             .method = (char *)mm_layout_method_name(specs[s].method),
                             .dims = specs[s].dims,
                             .params = params};
        if (mm_catalog_put_map(cat, &map, n, ids, y, NULL, &err) != MM_OK)
            goto fail;
        if (cli->log.level >= MM_LOG_INFO) {
            printf("%-40s %6zu songs %7.2f s", map_name, n, seconds);
            if (isnan(q.trustworthiness))
                printf("  (too few songs to measure the map's quality at k = 10)");
            else
                printf("  trustworthiness %.4f", q.trustworthiness);
            if (tags.n_names && !isnan(q.label_agreement))
                printf("  genre agreement (k=10) %.3f", q.label_agreement);
            printf("\n");
        }
    }
    rc = MM_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap map: %s\n", err.msg);
done:
    mm_model_record_free(&rec);
    free(ids);
    free(x);
    free(probs);
    free(emb);
    free(y);
    free(tags.labels);
    free(tags.order);
    mm_catalog_close(cat);
    return rc;
}
