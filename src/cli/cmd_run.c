/* musicmap run DIR...: one command from a folder of music to a map in the browser. The pipeline is the
 * library's (mm_pipeline_run: scan, decide, train, embed, map); this file parses the options, prints
 * each step's progress and results as the command of that step does, then serves the page. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/server.h"
#include "musicmap/pipeline.h"
#include "musicmap/plot.h"

static void run_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap run [OPTIONS] DIR...\n\n"
            "The whole pipeline: scans DIR (incrementally), trains a genre model on the files' genre tags when\n"
            "there are enough (at least two genres with --min-count songs, on at least half of the songs;\n"
            "otherwise it says why not), embeds every song with it, lays out UMAP, t-SNE and PCA maps of the\n"
            "songs' audio descriptors, and serves the page. Run it again after adding music: only new songs\n"
            "are read and embedded.\n\n"
            "Options:\n"
            "      --db PATH         the catalog (default ~/.local/share/musicmap/library.db)\n"
            "      --preset NAME     the model: small (default: minutes on a laptop), crnn4 (the original,\n"
            "                        slower, better) or crnn6\n"
            "      --epochs N        training epochs at most (default 20)\n"
            "      --min-count N     tracks a genre needs to be learnt (default 10)\n"
            "      --retrain         train again even if a model from an earlier run exists\n"
            "      --redraw          lay the maps out anew; by default songs added since the last run are\n"
            "                        placed on the stored maps and the others keep their places (unless the\n"
            "                        new songs are more than a fifth of a map: see `musicmap map --help`)\n"
            "      --no-serve        stop after the maps\n"
            "  -p, --port N          port to serve on (default 8080)\n"
            "      --host ADDR       address to serve on (default 127.0.0.1)\n"
            "      --open            open the page in the desktop's browser\n"
            "  -j, --jobs N          threads (default: all cores)\n"
            "  -q, --quiet           print only errors and the address\n"
            "  -h, --help            show this help\n");
}

typedef struct run_ui {
    cli_progress progress; /* first: train's and embed's callbacks take the ui as theirs */
    cli_context *cli;
    int drawn;                /* a scan progress line is on the terminal */
    double last;              /* when it was drawn */
    int signals;              /* Ctrl-C stops the scan (kept so far), not the program, while set */
    struct sigaction old_int, old_term;
} run_ui;

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(run_ui *ui)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &ui->old_int);
    sigaction(SIGTERM, &sa, &ui->old_term);
    ui->signals = 1;
}

/* After the scan, Ctrl-C ends the program again (training keeps its checkpoint for --resume). */
static void release_signals(run_ui *ui)
{
    if (!ui->signals)
        return;
    sigaction(SIGINT, &ui->old_int, NULL);
    sigaction(SIGTERM, &ui->old_term, NULL);
    ui->signals = 0;
}

static void clear_line(run_ui *ui)
{
    if (ui->drawn) {
        fputs("\r\033[K", stderr);
        ui->drawn = 0;
    }
}

/* A terminal gets a redrawn count; elsewhere the scan's summary line is enough. */
static int on_scan_progress(const mm_scan_progress *p, void *user)
{
    run_ui *ui = user;
    double now = mm_now();
    if (!ui->progress.tty || ui->cli->log.level < MM_LOG_INFO || now - ui->last < 0.1)
        return interrupted;
    ui->last = now;
    if (p->phase == MM_SCAN_WALKING)
        fprintf(stderr, "\r\033[Kscan: looking for audio files: %lld found", (long long)p->found);
    else
        fprintf(stderr, "\r\033[Kscan: %lld/%lld files, %lld failed", (long long)p->done, (long long)p->total,
                (long long)p->failed);
    ui->drawn = 1;
    fflush(stderr);
    return interrupted;
}

static void on_scan_failure(const char *path, const char *message, void *user)
{
    clear_line(user);
    /* messages name the file already */
    if (strstr(message, path))
        fprintf(stderr, "musicmap scan: %s\n", message);
    else
        fprintf(stderr, "musicmap scan: %s: %s\n", path, message);
}

/* As `musicmap map` prints a map. */
static void on_step(mm_run_step step, const mm_run_outcome *o, void *user)
{
    run_ui *ui = user;
    switch (step) {
    case MM_RUN_SCANNED:
        clear_line(ui);
        release_signals(ui);
        break;
    case MM_RUN_TRAINED: cli_train_report(ui->cli, &o->train); break;
    case MM_RUN_EMBEDDED: break;
    case MM_RUN_MAPPED: cli_print_map(ui->cli, &o->maps[o->n_maps - 1]); break;
    }
}

int cmd_run(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},      {"preset", required_argument, NULL, 'P'},
        {"epochs", required_argument, NULL, 'E'},  {"min-count", required_argument, NULL, 'M'},
        {"retrain", no_argument, NULL, 'R'},       {"no-serve", no_argument, NULL, 'n'},
        {"port", required_argument, NULL, 'p'},    {"host", required_argument, NULL, 'H'},
        {"open", no_argument, NULL, 'O'},          {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {"redraw", no_argument, NULL, 'W'},
        MM_CLI_COMMON_LONGOPTS,                    {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *host = "127.0.0.1";
    int port = 8080;
    int serve = 1, open_page = 0;
    mm_run_request req;
    mm_run_request_init(&req);
    long v;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "p:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        switch (o) {
        case 'D': db = optarg; break;
        case 'P': req.preset = optarg; break;
        case 'E':
            if (cli_parse_int(optarg, 1, 100000, &v))
                return cli_usage_error(cli, "run", "--epochs needs a positive number");
            req.epochs = (int)v;
            break;
        case 'M':
            if (cli_parse_int(optarg, 1, 1000000, &v))
                return cli_usage_error(cli, "run", "--min-count needs a positive number");
            req.min_count = (int)v;
            break;
        case 'R': req.retrain = 1; break;
        case 'W': req.redraw = 1; break;
        case 'n': serve = 0; break;
        case 'p':
            if (cli_parse_int(optarg, 0, 65535, &v))
                return cli_usage_error(cli, "run", "--port must be 0..65535");
            port = (int)v;
            break;
        case 'H': host = optarg; break;
        case 'O': open_page = 1; break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &v))
                return cli_usage_error(cli, "run", "--jobs needs a number from 1 to 1024");
            req.threads = (int)v;
            break;
        case 'h': run_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "run", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cli, "run", "give the folder(s) of music to map");
    if (!mm_preset_find(req.preset))
        return cli_usage_error(cli, "run", "unknown preset '%s' (crnn4, crnn6, small)", req.preset);

    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "run", db, 1, &cat) != 0)
        return CLI_EXIT_FAILURE;
    run_ui ui = {.cli = cli};
    cli_progress_init(&ui.progress, cli);
    mm_scan_options scan;
    mm_scan_options_init(&scan);
    scan.jobs = req.threads;
    scan.progress = on_scan_progress;
    scan.failure = on_scan_failure;
    scan.user = &ui;
    req.folders = (const char *const *)(argv + optind);
    req.n_folders = (size_t)(argc - optind);
    req.scan = &scan;
    req.log = &cli->log;
    req.train_progress = cli_train_progress;
    req.embed_progress = cli_embed_progress;
    req.embed_failure = cli_embed_failure;
    req.step = on_step;
    req.user = &ui;
    catch_signals(&ui);
    mm_run_outcome out;
    mm_error err;
    mm_status st = mm_pipeline_run(cat, &req, &out, &err);
    clear_line(&ui);
    release_signals(&ui);
    const int embed_failed = out.embed.failed > 0;
    if (st == MM_OK && out.n_maps > 0) {
        /* the first map (UMAP) as an image beside the catalog, for a README or a message */
        char png[4096];
        snprintf(png, sizeof png, "%s", mm_catalog_path(cat));
        char *slash = strrchr(png, '/');
        snprintf(slash ? slash + 1 : png, sizeof png - (size_t)(slash ? slash + 1 - png : 0), "map.png");
        mm_plot_options po;
        mm_plot_options_init(&po);
        mm_error perr;
        if (mm_plot_map(cat, out.maps[0].map_id, &po, png, &perr) == MM_OK) {
            if (cli->log.level >= MM_LOG_INFO)
                printf("map image: %s\n", png);
        } else {
            fprintf(stderr, "musicmap run: map image: %s\n", perr.msg);
        }
    }
    mm_run_outcome_free(&out);
    char *path = strdup(mm_catalog_path(cat));
    mm_catalog_close(cat);
    if (st != MM_OK || !path) {
        fprintf(stderr, "musicmap run: %s\n", st != MM_OK ? err.msg : "out of memory");
        free(path);
        return CLI_EXIT_FAILURE;
    }
    if (!serve) {
        free(path);
        return embed_failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    }
    /* serve: prints the address and runs until Ctrl-C */
    mm_server_options so;
    mm_server_options_init(&so);
    so.host = host;
    so.port = port;
    so.log = &cli->log;
    int rc = cli_serve(cli, path, &so, open_page);
    free(path);
    return rc;
}
