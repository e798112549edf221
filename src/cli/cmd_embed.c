/* musicmap embed: every catalogued track's output vector and hidden state under a model. */
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/catalog.h"
#include "musicmap/nn.h"

static void embed_help(FILE *out)
{
    fprintf(out, "Usage: musicmap embed [OPTIONS]\n\n"
                 "Runs a model over every catalogued track that has no vectors under it yet, storing the output\n"
                 "vector (genre probabilities) and the last hidden state (the song's 32-d description).\n\n"
                 "Options:\n"
                 "  -m, --model NAME|FILE  a model in the catalog (default: the newest), or a model file, which\n"
                 "                         is then registered under its file name\n"
                 "      --batch N          clips per batch (default 16)\n"
                 "  -j, --jobs N           threads (default: all cores)\n"
                 "      --db PATH          the catalog (default ~/.local/share/musicmap/library.db)\n"
                 "  -q, --quiet            print only errors\n"
                 "  -h, --help             show this help\n");
}

/* A model given as a file: register it (by file name without extension) so vectors can refer to it. */
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
    /* same file already registered under this name: keep its vectors */
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

int mm_cmd_embed(mm_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"batch", required_argument, NULL, 'B'},
        {"jobs", required_argument, NULL, 'j'},  {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *model_arg = NULL, *db = NULL;
    long batch = 16, jobs = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'm': model_arg = optarg; break;
        case 'B':
            if (mm_cli_parse_int(optarg, 1, 1024, &batch))
                return mm_cli_usage_error(cli, "embed", "--batch needs a number from 1 to 1024");
            break;
        case 'j':
            if (mm_cli_parse_int(optarg, 1, 1024, &jobs))
                return mm_cli_usage_error(cli, "embed", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'h': embed_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "embed", "bad option");
        }
    }
    if (optind != argc)
        return mm_cli_usage_error(cli, "embed", "unexpected argument '%s'", argv[optind]);
    mm_catalog *cat = NULL;
    if (mm_cli_open_catalog(cli, "embed", db, 0, &cat) != 0)
        return MM_EXIT_FAILURE;
    int rc = MM_EXIT_FAILURE;
    mm_error err;
    mm_model_record rec;
    memset(&rec, 0, sizeof rec);
    mm_model *model = NULL;
    mm_infer *infer = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    float *x = NULL, *probs = NULL, *hidden = NULL;
    /* a name in the catalog first; otherwise a model file, registered under its file name */
    mm_status st = mm_catalog_get_model(cat, model_arg, &rec, &err);
    struct stat sb;
    if (st == MM_ERR_ARG && model_arg && stat(model_arg, &sb) == 0 && S_ISREG(sb.st_mode))
        st = register_file(cat, model_arg, &rec, &err);
    if (st != MM_OK || mm_model_load(&model, rec.file, &err) != MM_OK)
        goto fail;
    mm_frontend_params fe;
    if (mm_catalog_frontend(cat, &fe, &err) != MM_OK)
        goto fail;
    if (mm_frontend_check(mm_model_frontend(model), &fe, &err) != 0) {
        char why[MM_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err.msg);
        mm_error_set(&err, MM_ERR_FORMAT, "%s: %s", rec.file, why);
        goto fail;
    }
    if (mm_catalog_tracks_needing_vectors(cat, rec.id, &ids, &n, &err) != MM_OK)
        goto fail;
    if (n == 0) {
        mm_log(&cli->log, MM_LOG_INFO, "embed: every track already has vectors under '%s'", rec.name);
        rc = MM_EXIT_OK;
        goto done;
    }
    mm_nn_set_threads((int)(jobs > 0 ? jobs : mm_cpu_count()));
    int k = mm_model_n_labels(model), dim = mm_model_preset(model)->gru_units;
    const size_t clip = (size_t)MM_N_MELS * MM_N_FRAMES;
    x = malloc(sizeof(float) * clip * (size_t)batch);
    probs = malloc(sizeof(float) * (size_t)k * (size_t)batch);
    hidden = malloc(sizeof(float) * (size_t)dim * (size_t)batch);
    if (!x || !probs || !hidden) {
        mm_error_set(&err, MM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (mm_infer_open(&infer, model, (int)batch, &err) != MM_OK)
        goto fail;
    double t0 = mm_now(), last = t0;
    size_t failed = 0;
    for (size_t done = 0; done < n;) {
        int m = 0;
        int64_t batch_ids[1024];
        /* fill a batch; a record that fails its checksum is reported and skipped */
        while (m < batch && done < n) {
            int64_t id = ids[done++];
            if (mm_catalog_read_features(cat, id, x + clip * (size_t)m, &err) != MM_OK) {
                fprintf(stderr, "musicmap embed: %s\n", err.msg);
                failed++;
                continue;
            }
            batch_ids[m++] = id;
        }
        if (m == 0)
            continue;
        if (mm_infer_run(infer, x, m, probs, hidden, &err) != MM_OK ||
            mm_catalog_put_vectors(cat, rec.id, (size_t)m, batch_ids, probs, k, hidden, dim, &err) != MM_OK)
            goto fail;
        double now = mm_now();
        if (cli->log.level >= MM_LOG_INFO && (now - last > 2.0 || done == n)) {
            fprintf(stderr, "%sembed: %zu/%zu tracks, %.1f clips/s%s", isatty(STDERR_FILENO) ? "\r\033[K" : "", done,
                    n, (double)done / (now - t0), isatty(STDERR_FILENO) && done < n ? "" : "\n");
            last = now;
        }
    }
    mm_log(&cli->log, MM_LOG_INFO, "embed: %zu tracks embedded with '%s' in %.1f s%s", n - failed, rec.name,
           mm_now() - t0, failed ? " (some failed: see above)" : "");
    rc = failed ? MM_EXIT_FAILURE : MM_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "musicmap embed: %s\n", err.msg);
done:
    mm_infer_close(infer);
    mm_model_close(model);
    mm_model_record_free(&rec);
    free(ids);
    free(x);
    free(probs);
    free(hidden);
    mm_catalog_close(cat);
    return rc;
}
