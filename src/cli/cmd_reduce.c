/* musicmap reduce --in X.npy --out Y.npy: a PCA, t-SNE or UMAP layout of any array, with its quality. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/layout.h"

static void reduce_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap reduce --in X.npy --out Y.npy [OPTIONS]\n\n"
            "Lays out the rows of X (float32 or float64, N x D) in 2 or 3 dimensions and writes Y (float32,\n"
            "N x dims). Prints the time and the layout's quality: trustworthiness (k = 10, on a 5000-point\n"
            "sample for large N), 10-NN preservation and, with --labels, 10-NN label agreement in the layout.\n\n"
            "Options:\n"
            "      --in FILE          the data (.npy, 2-D)\n"
            "  -o, --out FILE         the layout (.npy); with --grid, a prefix: FILE-<name>.npy per layout\n"
            "      --labels FILE      int32 .npy of N labels, for the label agreement\n"
            "      --method M         pca, tsne or umap (default umap)\n"
            "      --dims N           2 (default) or 3\n"
            "      --metric M         euclidean (default), cosine or correlation\n"
            "      --perplexity P     t-SNE perplexity (default 30)\n"
            "      --neighbors K      UMAP n_neighbors (default 15)\n"
            "      --min-dist D       UMAP min_dist (default 0.1)\n"
            "      --iterations N     t-SNE iterations (750) or UMAP epochs (500)\n"
            "      --seed S           random seed (default 42); same seed, same layout\n"
            "  -j, --threads N        threads (default: all cores)\n"
            "      --grid             the original's figure grid: t-SNE perplexity 5, 30, 50, 100 and UMAP\n"
            "                         n_neighbors 5, 30, 50 x min_dist 0.01, 0.1, 0.5\n"
            "      --normalize        scale the layout into [0, 1] (aspect kept), as the original's maps\n"
            "      --no-quality       skip the quality measures\n"
            "      --score Y.npy      only measure the quality of a layout of X made elsewhere (no --out)\n"
            "  -q, --quiet            print nothing but errors\n"
            "  -v, --verbose          print progress\n"
            "  -h, --help             show this help\n");
}

typedef struct progress_state {
    cli_context *cli;
    double start; /* of the current layout, for the stage times in -v output */
} progress_state;

static int progress_cb(const char *stage, size_t done, size_t total, void *user)
{
    progress_state *p = user;
    mm_log(&p->cli->log, MM_LOG_DEBUG, "reduce: %s %zu/%zu (%.2f s)", stage, done, total, mm_now() - p->start);
    return 0;
}

/* Reads a 2-D float array (float64 converted) into a float32 buffer. */
static int read_matrix(const char *path, float **out, size_t *n, size_t *d)
{
    mm_npy npy;
    mm_error err;
    if (mm_npy_read(path, &npy, &err) != MM_OK) {
        fprintf(stderr, "musicmap reduce: %s\n", err.msg);
        return -1;
    }
    if (npy.ndim != 2 || npy.dtype == MM_NPY_I32) {
        fprintf(stderr, "musicmap reduce: %s: expected a 2-D float32 or float64 array\n", path);
        mm_npy_free(&npy);
        return -1;
    }
    *n = npy.shape[0];
    *d = npy.shape[1];
    if (npy.dtype == MM_NPY_F64) {
        float *f = malloc(sizeof(float) * (npy.count + 1));
        if (!f) {
            fprintf(stderr, "musicmap reduce: %s: out of memory\n", path);
            mm_npy_free(&npy);
            return -1;
        }
        for (size_t i = 0; i < npy.count; i++)
            f[i] = (float)((const double *)npy.data)[i];
        mm_npy_free(&npy);
        *out = f;
        return 0;
    }
    *out = npy.data;
    return 0;
}

static void print_quality(const float *x, size_t n, size_t d, const float *y, int dims, const int32_t *labels,
                          mm_metric metric, int threads)
{
    mm_quality_options qo;
    mm_quality_defaults(&qo);
    qo.metric = metric;
    qo.threads = threads;
    mm_layout_quality q;
    mm_error err;
    if (mm_layout_quality_compute(x, n, d, y, dims, labels, &qo, &q, &err) == MM_OK) {
        printf("trustworthiness@10 %.4f%s, 10-NN preservation %.3f", q.trustworthiness,
               n > qo.sample ? " (5000-point sample)" : "", q.knn_preservation);
        if (labels)
            printf(", 10-NN label agreement %.3f", q.label_agreement);
    } else {
        printf("quality not measured: %s", err.msg);
    }
}

static int run_one(cli_context *cli, progress_state *progress, const float *x, size_t n, size_t d,
                   const int32_t *labels, const mm_layout_spec *spec, const char *out_path, int normalize, int quality)
{
    float *y = malloc(sizeof(float) * n * (size_t)spec->dims);
    if (!y) {
        fprintf(stderr, "musicmap reduce: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    char name[64];
    mm_layout_spec_name(spec, name, sizeof name);
    mm_error err;
    double t0 = mm_now();
    progress->start = t0;
    mm_status st = mm_layout_compute(x, n, d, spec, y, &err);
    double secs = mm_now() - t0;
    if (st != MM_OK) {
        fprintf(stderr, "musicmap reduce: %s: %s\n", name, err.msg);
        free(y);
        return CLI_EXIT_FAILURE;
    }
    if (normalize)
        mm_layout_normalize(y, n, spec->dims);
    size_t shape[2] = {n, (size_t)spec->dims};
    if (mm_npy_write(out_path, MM_NPY_F32, y, 2, shape, &err) != MM_OK) {
        fprintf(stderr, "musicmap reduce: %s\n", err.msg);
        free(y);
        return CLI_EXIT_FAILURE;
    }
    if (cli->log.level >= MM_LOG_INFO) {
        printf("%-18s %zu x %zu -> %s: %.2f s", name, n, d, out_path, secs);
        if (quality) {
            printf("; ");
            print_quality(x, n, d, y, spec->dims, labels, spec->metric, spec->threads);
        }
        printf("\n");
        fflush(stdout);
    }
    free(y);
    return CLI_EXIT_OK;
}

/* --score: the quality of a layout made elsewhere (another tool, an earlier run), measured as ours are. */
static int score_layout(const char *path, const float *x, size_t n, size_t d, const int32_t *labels,
                        const mm_layout_spec *spec)
{
    float *y = NULL;
    size_t ny, dims;
    if (read_matrix(path, &y, &ny, &dims) != 0)
        return CLI_EXIT_FAILURE;
    mm_error err;
    int rc = CLI_EXIT_FAILURE;
    if (ny != n || dims < 1 || dims > 3)
        fprintf(stderr, "musicmap reduce: %s: expected %zu rows of 1 to 3 coordinates, got %zu x %zu\n", path, n, ny, dims);
    else if (mm_layout_check_finite(y, n, dims, path, &err) != MM_OK)
        fprintf(stderr, "musicmap reduce: %s\n", err.msg);
    else
        rc = CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        printf("%s: ", path);
        print_quality(x, n, d, y, (int)dims, labels, spec->metric, spec->threads);
        printf("\n");
    }
    free(y);
    return rc;
}

int cmd_reduce(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"labels", required_argument, NULL, 'l'},
        {"method", required_argument, NULL, 'm'},
        {"dims", required_argument, NULL, 'D'},
        {"metric", required_argument, NULL, 'M'},
        {"perplexity", required_argument, NULL, 'p'},
        {"neighbors", required_argument, NULL, 'k'},
        {"min-dist", required_argument, NULL, 'd'},
        {"iterations", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 'j'},
        {"grid", no_argument, NULL, 'g'},
        {"normalize", no_argument, NULL, 'N'},
        {"no-quality", no_argument, NULL, 'Q'},
        {"score", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *in = NULL, *out = NULL, *labels_path = NULL, *score = NULL;
    int grid = 0, normalize = 0, quality = 1;
    mm_layout_spec spec;
    mm_layout_spec_defaults(&spec);
    progress_state progress = {cli, 0};
    spec.progress = progress_cb;
    spec.progress_user = &progress;
    optind = 1;
    int opt;
    long v;
    double dv;
    while ((opt = getopt_long(argc, argv, "o:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'l': labels_path = optarg; break;
        case 'm':
            if (mm_layout_method_parse(optarg, &spec.method) != 0)
                return cli_usage_error(cli, "reduce", "--method must be pca, tsne or umap, not '%s'", optarg);
            break;
        case 'D':
            if (cli_parse_int(optarg, 2, 3, &v) != 0)
                return cli_usage_error(cli, "reduce", "--dims must be 2 or 3, not '%s'", optarg);
            spec.dims = (int)v;
            break;
        case 'M':
            if (mm_metric_parse(optarg, &spec.metric) != 0)
                return cli_usage_error(cli, "reduce", "--metric must be euclidean, cosine or correlation, not '%s'", optarg);
            break;
        case 'p':
            if (cli_parse_double(optarg, 1, 10000, &spec.perplexity) != 0)
                return cli_usage_error(cli, "reduce", "--perplexity needs a number from 1 to 10000, not '%s'", optarg);
            break;
        case 'k':
            if (cli_parse_int(optarg, 2, 1000, &v) != 0)
                return cli_usage_error(cli, "reduce", "--neighbors needs a number from 2 to 1000, not '%s'", optarg);
            spec.n_neighbors = (int)v;
            break;
        case 'd':
            if (cli_parse_double(optarg, 0, 3, &dv) != 0)
                return cli_usage_error(cli, "reduce", "--min-dist needs a number from 0 to 3, not '%s'", optarg);
            spec.min_dist = dv;
            break;
        case 'n':
            if (cli_parse_int(optarg, 1, 100000, &v) != 0)
                return cli_usage_error(cli, "reduce", "--iterations needs a number from 1 to 100000, not '%s'", optarg);
            spec.n_iter = (int)v;
            break;
        case 's':
            if (cli_parse_int(optarg, 0, 0x7fffffffL, &v) != 0)
                return cli_usage_error(cli, "reduce", "--seed needs a whole number >= 0, not '%s'", optarg);
            spec.seed = (uint64_t)v;
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &v) != 0)
                return cli_usage_error(cli, "reduce", "--threads needs a number from 1 to 1024, not '%s'", optarg);
            spec.threads = (int)v;
            break;
        case 'g': grid = 1; break;
        case 'N': normalize = 1; break;
        case 'Q': quality = 0; break;
        case 'S': score = optarg; break;
        case 'h': reduce_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "reduce", "bad option");
        }
    }
    if (!in)
        return cli_usage_error(cli, "reduce", "missing --in X.npy");
    if (!out && !score)
        return cli_usage_error(cli, "reduce", "missing --out Y.npy");
    if (out && score)
        return cli_usage_error(cli, "reduce", "--score measures a layout and writes none: drop --out");
    if (optind < argc)
        return cli_usage_error(cli, "reduce", "unexpected argument '%s'", argv[optind]);

    float *x = NULL;
    size_t n, d;
    if (read_matrix(in, &x, &n, &d) != 0)
        return CLI_EXIT_FAILURE;
    int rc = CLI_EXIT_FAILURE;
    int32_t *labels = NULL;
    mm_npy lab = {0};
    mm_error err;
    if (mm_layout_check_finite(x, n, d, in, &err) != MM_OK) {
        fprintf(stderr, "musicmap reduce: %s\n", err.msg);
        goto done;
    }
    if (labels_path) {
        if (mm_npy_read(labels_path, &lab, &err) != MM_OK) {
            fprintf(stderr, "musicmap reduce: %s\n", err.msg);
            goto done;
        }
        if (lab.dtype != MM_NPY_I32 || lab.ndim != 1 || lab.shape[0] != n) {
            fprintf(stderr, "musicmap reduce: %s: expected int32 labels, one per row of %s (%zu)\n", labels_path, in, n);
            goto done;
        }
        labels = lab.data;
    }
    if (score) {
        rc = score_layout(score, x, n, d, labels, &spec);
    } else if (!grid) {
        rc = run_one(cli, &progress, x, n, d, labels, &spec, out, normalize, quality);
    } else {
        mm_layout_spec specs[16];
        size_t count = mm_layout_grid(&spec, specs, 16);
        rc = CLI_EXIT_OK;
        for (size_t i = 0; i < count; i++) {
            char name[64], path[4096];
            mm_layout_spec_name(&specs[i], name, sizeof name);
            size_t len = strlen(out);
            if (len > 4 && strcmp(out + len - 4, ".npy") == 0)
                len -= 4;
            snprintf(path, sizeof path, "%.*s-%s.npy", (int)len, out, name);
            if (run_one(cli, &progress, x, n, d, labels, &specs[i], path, normalize, quality) != CLI_EXIT_OK)
                rc = CLI_EXIT_FAILURE;
        }
    }
done:
    free(x);
    mm_npy_free(&lab);
    return rc;
}
