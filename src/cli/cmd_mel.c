/* musicmap mel FILE... -o DIR: one 96 x 1366 float32 .npy per song. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "musicmap/audio.h"
#include "musicmap/features.h"

static void mel_help(FILE *out)
{
    fprintf(out,
            "Usage: musicmap mel [OPTIONS] FILE... -o DIR\n\n"
            "Writes DIR/<name>.npy for each FILE: the log-mel spectrogram of its centre 29.12 s at 12 kHz,\n"
            "float32, shape (96, 1366), in dB (librosa's melspectrogram + power_to_db, as the CRNN expects).\n\n"
            "Options:\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "      --pad MODE         frame padding at the clip edges: reflect (default, as the original\n"
            "                         system) or constant (zeros, as librosa >= 0.10)\n"
            "  -j, --jobs N           songs processed in parallel (default: all cores)\n"
            "      --full-decode      decode whole files instead of seeking to the centre\n"
            "      --min-seconds S    refuse songs shorter than S seconds (default 1)\n"
            "      --crop-shift K     move the crop start by K samples at 12 kHz (to line up with\n"
            "                         decoders that keep the mp3 encoder delay: 144)\n"
            "  -q, --quiet            print nothing but errors\n"
            "  -v, --verbose          print details of each song\n"
            "  -h, --help             show this help\n");
}

typedef struct mel_job {
    cli_context *cli;
    char **inputs;
    char **outputs;
    size_t count;
    mm_pad_mode pad;
    mm_clip_options clip_options;
    mm_mel **mels;   /* one per worker */
    float **clips;   /* one per worker */
    float **logmels; /* one per worker */
    int *failed;
    pthread_mutex_t print_lock;
} mel_job;

static void mel_one(size_t index, int worker, void *arg)
{
    mel_job *job = arg;
    const char *path = job->inputs[index];
    mm_error err;
    mm_audio *audio = NULL;
    mm_clip_report report;
    mm_status st = mm_audio_open(&audio, path, &err);
    if (st == MM_OK)
        st = mm_audio_read_clip(audio, &job->clip_options, job->clips[worker], &report, &err);
    if (st == MM_OK) {
        mm_mel_compute(job->mels[worker], job->clips[worker], job->logmels[worker]);
        size_t shape[2] = {MM_N_MELS, MM_N_FRAMES};
        st = mm_npy_write(job->outputs[index], MM_NPY_F32, job->logmels[worker], 2, shape, &err);
    }
    pthread_mutex_lock(&job->print_lock);
    if (st != MM_OK) {
        job->failed[index] = 1;
        fprintf(stderr, "musicmap mel: %s\n", err.msg);
    } else {
        mm_log(&job->cli->log, MM_LOG_DEBUG, "%s -> %s (%.2f s, crop at %lld of %lld, %s)", path,
               job->outputs[index], mm_audio_get_info(audio)->duration, (long long)report.crop_start,
               (long long)report.total_12k, report.seeked ? "seeked" : "whole decode");
    }
    pthread_mutex_unlock(&job->print_lock);
    mm_audio_close(audio);
}

/* DIR/<basename without extension>.npy, with -2, -3... added when two inputs share a name. */
static char *output_name(const char *dir, const char *input, char **taken, size_t n_taken)
{
    char *copy = strdup(input);
    if (!copy)
        return NULL;
    char *base = basename(copy);
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
        *dot = '\0';
    size_t size = strlen(dir) + strlen(base) + 32;
    char *out = malloc(size);
    for (int k = 1; out; k++) {
        if (k == 1)
            snprintf(out, size, "%s/%s.npy", dir, base);
        else
            snprintf(out, size, "%s/%s-%d.npy", dir, base, k);
        size_t i = 0;
        while (i < n_taken && strcmp(taken[i], out) != 0)
            i++;
        if (i == n_taken)
            break;
    }
    free(copy);
    return out;
}

int cmd_mel(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"pad", required_argument, NULL, 'p'},
        {"jobs", required_argument, NULL, 'j'},
        {"full-decode", no_argument, NULL, 'F'},
        {"min-seconds", required_argument, NULL, 'm'},
        {"crop-shift", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *out_dir = NULL;
    mel_job job = {.cli = cli, .pad = MM_PAD_REFLECT};
    job.clip_options.min_seconds = 1.0;
    long jobs = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:j:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, opt))
            continue;
        long v;
        switch (opt) {
        case 'o': out_dir = optarg; break;
        case 'p':
            if (mm_pad_mode_parse(optarg, &job.pad) != 0)
                return cli_usage_error(cli, "mel", "--pad must be 'reflect' or 'constant', not '%s'", optarg);
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &jobs) != 0)
                return cli_usage_error(cli, "mel", "--jobs needs a number from 1 to 1024, not '%s'", optarg);
            break;
        case 'F': job.clip_options.full_decode = 1; break;
        case 'm':
            if (cli_parse_double(optarg, 0.0, 3600.0, &job.clip_options.min_seconds) != 0)
                return cli_usage_error(cli, "mel", "--min-seconds needs seconds from 0 to 3600, not '%s'", optarg);
            break;
        case 'S':
            if (cli_parse_int(optarg, 0, 12000, &v) != 0)
                return cli_usage_error(cli, "mel", "--crop-shift needs samples from 0 to 12000, not '%s'", optarg);
            job.clip_options.crop_shift = v;
            break;
        case 'h': mel_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "mel", "bad option");
        }
    }
    if (!out_dir)
        return cli_usage_error(cli, "mel", "missing -o DIR");
    if (optind >= argc)
        return cli_usage_error(cli, "mel", "no input files");
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "musicmap mel: %s: cannot create folder: %s\n", out_dir, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    job.inputs = argv + optind;
    job.count = (size_t)(argc - optind);

    int rc = CLI_EXIT_FAILURE;
    mm_error err;
    mm_pool *pool = NULL;
    if (mm_pool_open(&pool, (int)(jobs > 0 ? jobs : mm_cpu_count()), &err) != MM_OK) {
        fprintf(stderr, "musicmap mel: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    int workers = mm_pool_threads(pool);
    job.outputs = calloc(job.count, sizeof *job.outputs);
    job.failed = calloc(job.count, sizeof *job.failed);
    job.mels = calloc((size_t)workers, sizeof *job.mels);
    job.clips = calloc((size_t)workers, sizeof *job.clips);
    job.logmels = calloc((size_t)workers, sizeof *job.logmels);
    pthread_mutex_init(&job.print_lock, NULL);
    if (!job.outputs || !job.failed || !job.mels || !job.clips || !job.logmels)
        goto done;
    for (size_t i = 0; i < job.count; i++)
        if (!(job.outputs[i] = output_name(out_dir, job.inputs[i], job.outputs, i)))
            goto done;
    for (int w = 0; w < workers; w++) {
        job.clips[w] = malloc(sizeof(float) * MM_CLIP_SAMPLES);
        job.logmels[w] = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
        if (!job.clips[w] || !job.logmels[w])
            goto done;
        if (mm_mel_open(&job.mels[w], job.pad, &err) != MM_OK) {
            fprintf(stderr, "musicmap mel: %s\n", err.msg);
            goto done;
        }
    }
    double t0 = mm_now();
    mm_pool_for(pool, job.count, mel_one, &job);
    size_t failures = 0;
    for (size_t i = 0; i < job.count; i++)
        failures += (size_t)job.failed[i];
    mm_log(&cli->log, MM_LOG_INFO, "mel: %zu of %zu songs written to %s in %.2f s (%s padding)%s",
           job.count - failures, job.count, out_dir, mm_now() - t0, mm_pad_mode_name(job.pad),
           failures ? "; see the errors above" : "");
    rc = failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
done:
    if (rc == CLI_EXIT_FAILURE && !job.failed)
        fprintf(stderr, "musicmap mel: out of memory\n");
    for (int w = 0; job.mels && w < workers; w++) {
        mm_mel_close(job.mels[w]);
        free(job.clips[w]);
        free(job.logmels[w]);
    }
    for (size_t i = 0; job.outputs && i < job.count; i++)
        free(job.outputs[i]);
    free(job.outputs);
    free(job.failed);
    free(job.mels);
    free(job.clips);
    free(job.logmels);
    pthread_mutex_destroy(&job.print_lock);
    mm_pool_close(pool);
    return rc;
}
