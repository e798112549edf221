/* musicmap scan DIR...: catalogue a music collection (incremental, parallel, resumable). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/catalog.h"
#include "musicmap/cluster.h"
#include "musicmap/pipeline.h"

static void scan_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap scan [OPTIONS] DIR...\n\n"
            "Catalogues every audio file under the folders (symbolic links followed once): tags, duration,\n"
            "codec, loudness (EBU R128) and the log-mel spectrogram of the centre 29.12 s, into the catalog\n"
            "(default $XDG_DATA_HOME/musicmap/library.db). A file with the same size and mtime as in the\n"
            "catalog is skipped; a moved file keeps its id and features; a file that is gone is marked\n"
            "missing. Files that can't be read are recorded with their error: 'musicmap status --errors'.\n"
            "Stopping a scan (Ctrl-C, or even kill -9) loses nothing committed; scan again to finish.\n\n"
            "Options:\n"
            "      --db PATH          the catalog database\n"
            "  -j, --jobs N           files read in parallel (default: all cores)\n"
            "      --full-loudness    loudness over the whole song instead of the clip (decodes all of it)\n"
            "      --prune            delete missing tracks under the folders, and their features\n"
            "      --retry-failed     read files that failed before again, even when unchanged\n"
            "      --clips N          excerpts per song the descriptors are averaged over, from 20 %% to 80 %%\n"
            "                         of the song (default %d; 1: the centre clip alone, the fastest); the\n"
            "                         spectrogram is always the centre clip's\n"
            "      --batch N          files per transaction (default 64)\n"
            "      --keep-spectrograms yes|no\n"
            "                         no: store descriptors and tags but not the 262 KB spectrogram of each\n"
            "                         song (for millions of songs; training and embed then read the audio)\n"
            "  -m, --model NAME|FILE  embed every song as it is read (a model in the catalog, or a model\n"
            "                         file, registered as embed does): no second read of the audio and no\n"
            "                         spectrograms needed; unchanged songs without its vectors are read again\n"
            "      --mpi              under mpirun: rank 0 walks, deals files to the other ranks and writes\n"
            "                         the catalog; the others decode (-j: threads per rank). docs/scale.md\n"
            "  -q, --quiet            no progress and no summary (errors are still printed)\n"
            "  -v, --verbose          more detail\n"
            "  -h, --help             show this help\n\n"
            "Exit status: 0 every file read, 1 some file or folder failed (the rest is stored), 2 usage.\n",
            MM_SCAN_DEFAULT_CLIPS);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct scan_ui {
    cli_context *cli;
    int tty;
    int show;         /* progress wanted */
    int drawn;        /* a progress line is on the terminal */
    double last;      /* last draw */
    double proc_t0;   /* when processing began (elapsed) */
    int64_t proc_d0;
} scan_ui;

static void clear_line(scan_ui *ui)
{
    if (ui->drawn) {
        fputs("\r\033[K", stderr);
        ui->drawn = 0;
    }
}

static void format_eta(char *buf, size_t n, double seconds)
{
    if (!(seconds >= 0) || seconds > 360000) {
        snprintf(buf, n, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

static int on_progress(const mm_scan_progress *p, void *user)
{
    scan_ui *ui = user;
    if (!ui->show)
        return interrupted;
    double now = mm_now();
    if (p->phase == MM_SCAN_PROCESSING && ui->proc_t0 == 0) {
        ui->proc_t0 = p->elapsed > 0 ? p->elapsed : 1e-9;
        ui->proc_d0 = p->done;
    }
    int final = p->phase == MM_SCAN_FINISHING;
    if (!final && now - ui->last < (ui->tty ? 0.1 : 5.0))
        return interrupted;
    ui->last = now;
    char line[256];
    if (p->phase == MM_SCAN_WALKING) {
        snprintf(line, sizeof line, "scan: looking for audio files: %lld found", (long long)p->found);
    } else {
        double span = p->elapsed - ui->proc_t0;
        double rate = span > 0.2 ? (double)(p->done - ui->proc_d0) / span : 0;
        char eta[32];
        format_eta(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : -1);
        char bar[32] = "";
        if (ui->tty) {
            int w = 20, fill = p->total ? (int)(w * p->done / p->total) : w;
            bar[0] = '[';
            for (int i = 0; i < w; i++)
                bar[1 + i] = i < fill ? '#' : '.';
            bar[w + 1] = ']';
            bar[w + 2] = ' ';
            bar[w + 3] = '\0';
        }
        snprintf(line, sizeof line, "scan: %s%lld/%lld files, %.1f files/s, ETA %s, %lld failed", bar,
                 (long long)p->done, (long long)p->total, rate, eta, (long long)p->failed);
    }
    if (ui->tty) {
        fprintf(stderr, "\r%s\033[K", line);
        ui->drawn = 1;
    } else if (!final) {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    return interrupted;
}

static void on_failure(const char *path, const char *message, void *user)
{
    scan_ui *ui = user;
    clear_line(ui);
    /* messages name the file already */
    if (strstr(message, path))
        fprintf(stderr, "musicmap scan: %s\n", message);
    else
        fprintf(stderr, "musicmap scan: %s: %s\n", path, message);
}

static void print_summary(cli_context *cli, const mm_scan_result *r)
{
    int64_t read = r->added + r->changed + r->moved + r->failed;
    mm_log(&cli->log, MM_LOG_INFO,
           "scan: %lld audio files in %.2f s: %lld added, %lld changed, %lld unchanged, %lld moved, %lld failed; "
           "%lld missing, %lld pruned (%.1f files/s read)",
           (long long)r->found, r->seconds, (long long)r->added, (long long)r->changed, (long long)r->unchanged,
           (long long)r->moved, (long long)r->failed, (long long)r->missing, (long long)r->pruned,
           r->seconds > 0 ? (double)read / r->seconds : 0.0);
}

/* Where the time went, per rank: what bench/scale reads. */
static void print_cluster_stats(cli_context *cli, const mm_cluster_scan_stats *cs, const mm_scan_result *r)
{
    double all = 0;
    for (int i = 0; cs->rank && i < cs->ranks; i++)
        all += cs->rank[i].cpu_seconds;
    int64_t read = r->added + r->changed + r->failed;
    mm_log(&cli->log, MM_LOG_INFO,
           "scan: %d ranks, %.1f CPU s in all; rank 0 %.2f CPU s (writer thread %.2f s, %.1f %% of all); "
           "%.0f bytes per file from the workers, %.0f to them, %lld messages",
           cs->ranks, all, cs->rank ? cs->rank[0].cpu_seconds : 0.0, cs->writer_cpu_seconds,
           all > 0 ? 100.0 * cs->writer_cpu_seconds / all : 0.0,
           read > 0 ? (double)cs->bytes_from_workers / (double)read : 0.0,
           read > 0 ? (double)cs->bytes_to_workers / (double)read : 0.0, (long long)cs->messages);
    for (int i = 0; cs->rank && i < cs->ranks; i++)
        mm_log(&cli->log, MM_LOG_DEBUG, "scan: rank %d: %lld files, %.2f CPU s in %.2f s", i,
               (long long)cs->rank[i].files, cs->rank[i].cpu_seconds, cs->rank[i].seconds);
}

/* scan --mpi: every rank runs this; rank 0 holds the catalog and prints, the others only decode. */
static void print_embedded(cli_context *cli, const mm_scan_outcome *out, int cluster)
{
    if (!out->model_id)
        return;
    if (cluster)
        mm_log(&cli->log, MM_LOG_INFO, "scan: the songs read have their vectors under '%s' (the workers ran it)",
               out->model_name);
    else if (out->embedded)
        mm_log(&cli->log, MM_LOG_INFO, "scan: %zu songs embedded with '%s'", out->embedded, out->model_name);
    else
        mm_log(&cli->log, MM_LOG_INFO, "scan: every song has its vectors under '%s'", out->model_name);
}

static int scan_mpi(cli_context *cli, const char *db, mm_scan_options *opt, const char *model, const char *const *roots,
                    size_t n_roots)
{
    mm_error err;
    if (mm_cluster_init(NULL, NULL, &err) != MM_OK) {
        fprintf(stderr, "musicmap scan: --mpi: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    int rank = mm_cluster_rank();
    mm_catalog *cat = NULL;
    /* a rank 0 without its catalog still takes part, to send the others home */
    if (rank == 0)
        cli_open_catalog(cli, "scan", db, 1, &cat);
    scan_ui ui = {.cli = cli, .tty = isatty(STDERR_FILENO), .show = rank == 0 && cli->log.level >= MM_LOG_INFO,
                  .last = mm_now()};
    opt->progress = on_progress;
    opt->failure = on_failure;
    opt->user = &ui;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    if (rank == 0) { /* the others die with the job; rank 0 stops cleanly and keeps what it committed */
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    mm_scan_request req;
    mm_scan_request_init(&req);
    req.options = opt;
    req.model = model;
    req.cluster = 1;
    req.log = rank == 0 ? &cli->log : NULL;
    mm_scan_outcome out;
    mm_status st = mm_pipeline_scan(cat, roots, n_roots, &req, &out, &err);
    const mm_scan_result r = out.result;
    const mm_cluster_scan_stats cs = out.cluster;
    if (rank == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    clear_line(&ui);
    int rc = CLI_EXIT_OK;
    if (st != MM_OK) {
        /* rank 0 without a catalog said why when it failed to open it; a worker rank 0 sent home
         * (it could not prepare the model) has nothing to add to what rank 0 says */
        if ((cat || rank != 0) && !(rank != 0 && st == MM_ERR_CANCELLED))
            fprintf(stderr, "musicmap scan: rank %d: %s\n", rank, err.msg);
        rc = CLI_EXIT_FAILURE;
    }
    if (rank == 0 && cat) {
        if (st == MM_OK || r.found)
            print_summary(cli, &r);
        if (cs.ranks > 1)
            print_cluster_stats(cli, &cs, &r);
        if (st == MM_OK)
            print_embedded(cli, &out, cs.ranks > 1);
        if (r.stopped)
            fprintf(stderr, "musicmap scan: interrupted; what was done is kept, run the scan again to finish\n");
        if (r.stopped || r.failed || r.folder_errors)
            rc = CLI_EXIT_FAILURE;
    }
    mm_scan_outcome_free(&out);
    mm_catalog_close(cat);
    mm_cluster_finalize();
    return rc;
}

int cmd_scan(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"full-loudness", no_argument, NULL, 'L'},
        {"prune", no_argument, NULL, 'P'},
        {"retry-failed", no_argument, NULL, 'R'},
        {"batch", required_argument, NULL, 'B'},
        {"clips", required_argument, NULL, 'C'},
        {"keep-spectrograms", required_argument, NULL, 'K'},
        {"mpi", no_argument, NULL, 'M'},
        {"model", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *model = NULL;
    int use_mpi = 0;
    mm_scan_options opt;
    mm_scan_options_init(&opt);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "j:m:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, c))
            continue;
        long v;
        switch (c) {
        case 'D': db = optarg; break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &v) != 0)
                return cli_usage_error(cli, "scan", "--jobs needs a number from 1 to 1024, not '%s'", optarg);
            opt.jobs = (int)v;
            break;
        case 'L': opt.full_loudness = 1; break;
        case 'P': opt.prune = 1; break;
        case 'R': opt.retry_failed = 1; break;
        case 'B':
            if (cli_parse_int(optarg, 1, 100000, &v) != 0)
                return cli_usage_error(cli, "scan", "--batch needs a number from 1 to 100000, not '%s'", optarg);
            opt.batch_size = (int)v;
            break;
        case 'C':
            if (cli_parse_int(optarg, 1, MM_SCAN_MAX_CLIPS, &v) != 0)
                return cli_usage_error(cli, "scan", "--clips needs a number from 1 to %d, not '%s'", MM_SCAN_MAX_CLIPS,
                                          optarg);
            opt.clips = (int)v;
            break;
        case 'K':
            if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0)
                return cli_usage_error(cli, "scan", "--keep-spectrograms is yes or no, not '%s'", optarg);
            opt.no_spectrograms = strcmp(optarg, "no") == 0;
            break;
        case 'M': use_mpi = 1; break;
        case 'm': model = optarg; break;
        case 'h': scan_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "scan", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cli, "scan", "no folders to scan");
    if (use_mpi)
        return scan_mpi(cli, db, &opt, model, (const char *const *)(argv + optind), (size_t)(argc - optind));
    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "scan", db, 1, &cat) != 0)
        return CLI_EXIT_FAILURE;

    /* the first plain line comes after a while: quick scans print only their summary */
    scan_ui ui = {.cli = cli, .tty = isatty(STDERR_FILENO), .show = cli->log.level >= MM_LOG_INFO, .last = mm_now()};
    opt.progress = on_progress;
    opt.failure = on_failure;
    opt.user = &ui;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    mm_scan_request req;
    mm_scan_request_init(&req);
    req.options = &opt;
    req.model = model;
    req.log = &cli->log;
    mm_scan_outcome out;
    mm_error err;
    mm_status st = mm_pipeline_scan(cat, (const char *const *)(argv + optind), (size_t)(argc - optind), &req, &out, &err);
    const mm_scan_result r = out.result;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    clear_line(&ui);
    int rc = CLI_EXIT_OK;
    if (st != MM_OK) {
        fprintf(stderr, "musicmap scan: %s\n", err.msg);
        rc = CLI_EXIT_FAILURE;
    }
    if (st == MM_OK || r.found) /* a scan that never began (no such model) has nothing to sum up */
        print_summary(cli, &r);
    if (r.kept_failed)
        mm_log(&cli->log, MM_LOG_INFO,
               "scan: %lld unchanged files failed in an earlier scan (not read again; --retry-failed reads them, "
               "'musicmap status --errors' lists them)",
               (long long)r.kept_failed);
    if (r.duplicates)
        mm_log(&cli->log, MM_LOG_DEBUG, "scan: %lld files or folders reached again through links were skipped",
               (long long)r.duplicates);
    if (r.stopped) {
        fprintf(stderr, "musicmap scan: interrupted; what was done is kept, run the scan again to finish\n");
        rc = CLI_EXIT_FAILURE;
    }
    if (r.failed || r.folder_errors)
        rc = CLI_EXIT_FAILURE;
    if (st == MM_OK)
        print_embedded(cli, &out, 0);
    mm_scan_outcome_free(&out);
    mm_catalog_close(cat);
    return rc;
}
