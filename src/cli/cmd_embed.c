/* musicmap embed: every catalogued track's output vector and hidden state under a model. The work is
 * the library's (mm_pipeline_embed); this file parses the options and prints the progress, which `run`
 * prints the same way. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/cluster.h"
#include "musicmap/pipeline.h"

static void embed_help(FILE *out)
{
    fprintf(out, "Usage: musicmap embed [OPTIONS]\n\n"
                 "Runs a model over every catalogued track that has no vectors under it yet, storing the output\n"
                 "vector (genre probabilities) and the last hidden state (the song's 32-d description). Songs\n"
                 "scanned without their spectrogram (--keep-spectrograms no) are read from their audio.\n\n"
                 "Options:\n"
                 "  -m, --model NAME|FILE  a model in the catalog (default: the newest), or a model file, which\n"
                 "                         is then registered under its file name\n"
                 "      --batch N          clips per batch (default 16)\n"
                 "  -j, --jobs N           threads (default: all cores)\n"
                 "      --mpi              under mpirun: rank 0 holds the catalog, the other ranks read every song\n"
                 "                         without vectors from its audio and run the model (-j: threads per\n"
                 "                         rank; docs/scale.md)\n"
                 "      --db PATH          the catalog (default ~/.local/share/musicmap/library.db)\n"
                 "  -q, --quiet            print only errors\n"
                 "  -h, --help             show this help\n");
}

int cli_embed_progress(const mm_embed_progress *p, void *ctx)
{
    cli_progress *ui = ctx;
    if (ui->cli->log.level < MM_LOG_INFO)
        return 0;
    if (p->done == 0) { /* the start: the first line comes after a while */
        ui->last = 0;
        return 0;
    }
    if (p->elapsed - ui->last > 2.0 || p->done == p->total) {
        fprintf(stderr, "%sembed: %zu/%zu tracks, %.1f clips/s%s", ui->tty ? "\r\033[K" : "", p->done, p->total,
                p->elapsed > 0 ? (double)p->done / p->elapsed : 0.0, ui->tty && p->done < p->total ? "" : "\n");
        ui->last = p->elapsed;
    }
    return 0;
}

void cli_embed_failure(int64_t track_id, const char *message, void *ctx)
{
    (void)ctx;
    (void)track_id; /* the message names the track */
    fprintf(stderr, "musicmap embed: %s\n", message);
}

/* embed --mpi: every rank runs this; rank 0 holds the catalog and prints, the others read and embed. */
static int embed_mpi(cli_context *cli, const char *db, const char *model, int jobs)
{
    mm_error err;
    if (mm_cluster_init(NULL, NULL, &err) != MM_OK) {
        fprintf(stderr, "musicmap embed: --mpi: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    const int rank = mm_cluster_rank();
    mm_catalog *cat = NULL;
    if (rank == 0) /* a rank 0 without its catalog still takes part, to send the others home */
        cli_open_catalog(cli, "embed", db, 0, &cat);
    mm_embed_request req;
    mm_embed_request_init(&req);
    req.model = model;
    req.threads = jobs;
    req.log = rank == 0 ? &cli->log : NULL;
    req.failure = cli_embed_failure;
    req.cluster = 1;
    cli_progress ui; /* rank 0's writer reports as the songs are stored */
    cli_progress_init(&ui, cli);
    if (rank == 0) {
        req.progress = cli_embed_progress;
        req.user = &ui;
    }
    mm_embed_outcome out;
    int rc = CLI_EXIT_OK;
    mm_status st = mm_pipeline_embed(cat, &req, &out, &err);
    if (st != MM_OK) {
        if (rank == 0 ? cat != NULL : st != MM_ERR_CANCELLED) /* a worker sent home has nothing to add */
            fprintf(stderr, "musicmap embed: rank %d: %s\n", rank, err.msg);
        rc = CLI_EXIT_FAILURE;
    } else if (rank == 0 && out.needed == 0) {
        mm_log(&cli->log, MM_LOG_INFO, "embed: every track already has vectors under '%s'", out.model_name);
    } else if (rank == 0) {
        mm_log(&cli->log, MM_LOG_INFO, "embed: %zu of %zu tracks embedded with '%s' by %d ranks in %.1f s",
               out.embedded, out.needed, out.model_name, mm_cluster_size(), out.seconds);
        if (out.failed || out.embedded < out.needed)
            rc = CLI_EXIT_FAILURE;
    }
    mm_catalog_close(cat);
    mm_cluster_finalize();
    return rc;
}

int cmd_embed(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"batch", required_argument, NULL, 'B'},
        {"jobs", required_argument, NULL, 'j'},  {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},        {"mpi", no_argument, NULL, 'M'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *model_arg = NULL, *db = NULL;
    long batch = 16, jobs = 0;
    int use_mpi = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "m:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'm': model_arg = optarg; break;
        case 'B':
            if (cli_parse_int(optarg, 1, 1024, &batch))
                return cli_usage_error(cli, "embed", "--batch needs a number from 1 to 1024");
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &jobs))
                return cli_usage_error(cli, "embed", "--jobs needs a number from 1 to 1024");
            break;
        case 'D': db = optarg; break;
        case 'M': use_mpi = 1; break;
        case 'h': embed_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "embed", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error(cli, "embed", "unexpected argument '%s'", argv[optind]);
    if (use_mpi)
        return embed_mpi(cli, db, model_arg, (int)jobs);
    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "embed", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    cli_progress ui;
    cli_progress_init(&ui, cli);
    mm_embed_request req;
    mm_embed_request_init(&req);
    req.model = model_arg;
    req.batch = (int)batch;
    req.threads = (int)jobs;
    req.log = &cli->log;
    req.progress = cli_embed_progress;
    req.failure = cli_embed_failure;
    req.user = &ui;
    mm_embed_outcome out;
    mm_error err;
    int rc = CLI_EXIT_OK;
    if (mm_pipeline_embed(cat, &req, &out, &err) != MM_OK) {
        fprintf(stderr, "musicmap embed: %s\n", err.msg);
        rc = CLI_EXIT_FAILURE;
    } else if (out.failed) {
        rc = CLI_EXIT_FAILURE;
    }
    mm_catalog_close(cat);
    return rc;
}
