/* Front-end throughput: decode + resample + log-mel per clip from WAV, mp3 and FLAC, the log-mel stage
 * alone, and FFmpeg's bare decoding of the span a clip needs (the floor for compressed formats).
 * Usage: bench_frontend [--reps R] [--dir DIR]. Prints per-clip milliseconds (median of R runs) and
 * ratios against the librosa anchors measured on this machine kind. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "musicmap/audio.h"
#include "musicmap/features.h"

/* librosa 0.11 anchors (medians, this machine kind; see the foundation issue) */
#define LIBROSA_MEL_DB_MS 5.1
#define LIBROSA_WAV_FRONTEND_MS 25.0

typedef struct bench_ctx {
    const char *path;
    mm_mel *mels[8];
    float *clips[8];
    float *logmels[8];
    int failed;
    int mode; /* 0: full front-end from a file, 1: mel + dB alone, 2: FFmpeg decode of the clip span */
} bench_ctx;

/* FFmpeg alone: open, seek to the clip's native span, decode it (29.12 s + margins), no resampling. */
static int ffmpeg_decode_span(const char *path)
{
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return -1;
    avformat_find_stream_info(fmt, NULL);
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar);
    dec->thread_count = 1;
    avcodec_open2(dec, codec, NULL);
    AVStream *st = fmt->streams[si];
    double total = (double)fmt->duration / AV_TIME_BASE;
    double start = (total - 29.12) / 2 - 0.05;
    if (start > 0)
        av_seek_frame(fmt, si, av_rescale_q((int64_t)(start * AV_TIME_BASE), AV_TIME_BASE_Q, st->time_base),
                      AVSEEK_FLAG_BACKWARD);
    int64_t want = (int64_t)(29.22 * dec->sample_rate), got = 0;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    while (got < want && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0)
            while (avcodec_receive_frame(dec, frame) >= 0)
                got += frame->nb_samples;
        av_packet_unref(pkt);
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return 0;
}

static void one_clip(size_t index, int worker, void *arg)
{
    bench_ctx *ctx = arg;
    (void)index;
    if (ctx->mode == 1) {
        mm_mel_compute(ctx->mels[worker], ctx->clips[worker], ctx->logmels[worker]);
        return;
    }
    if (ctx->mode == 2) {
        if (ffmpeg_decode_span(ctx->path) != 0)
            ctx->failed = 1;
        return;
    }
    mm_audio *audio = NULL;
    if (mm_audio_open(&audio, ctx->path, NULL) != MM_OK ||
        mm_audio_read_clip(audio, NULL, ctx->clips[worker], NULL, NULL) != MM_OK)
        ctx->failed = 1;
    else
        mm_mel_compute(ctx->mels[worker], ctx->clips[worker], ctx->logmels[worker]);
    mm_audio_close(audio);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over reps of (wall time / clips) with `threads` workers each doing `per_thread` clips. */
static double per_clip_ms(bench_ctx *ctx, mm_pool *pool, int per_thread, int reps)
{
    double times[64];
    size_t n = (size_t)per_thread * (size_t)mm_pool_threads(pool);
    mm_pool_for(pool, (size_t)mm_pool_threads(pool), one_clip, ctx); /* warm caches and the page cache */
    for (int r = 0; r < reps; r++) {
        double t0 = mm_now();
        mm_pool_for(pool, n, one_clip, ctx);
        times[r] = (mm_now() - t0) * 1000.0 / (double)n;
    }
    qsort(times, (size_t)reps, sizeof times[0], cmp_double);
    return times[reps / 2];
}

/* A deterministic stereo test signal: a few drifting tones over soft noise. */
static float *make_signal(int rate, double seconds, int64_t *frames)
{
    *frames = (int64_t)(seconds * rate);
    float *pcm = malloc(sizeof(float) * 2 * (size_t)*frames);
    uint32_t s = 1;
    for (int64_t i = 0; i < *frames; i++) {
        double t = (double)i / rate;
        s = s * 1664525u + 1013904223u;
        double noise = ((double)(s >> 8) / 16777216.0 - 0.5) * 0.05;
        double v = 0.2 * sin(2 * M_PI * (220 + 20 * sin(t * 0.3)) * t) + 0.15 * sin(2 * M_PI * 660 * t) *
                   (0.5 + 0.5 * sin(t * 4)) + noise;
        pcm[2 * i] = (float)v;
        pcm[2 * i + 1] = (float)(0.8 * v + 0.1 * sin(2 * M_PI * 1320 * t));
    }
    return pcm;
}

static int ensure_file(const char *path, double seconds)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > 0)
        return 0;
    int64_t frames;
    float *pcm = make_signal(44100, seconds, &frames);
    mm_error err;
    mm_status st = mm_audio_write(path, pcm, frames, 2, 44100, NULL, &err);
    free(pcm);
    if (st != MM_OK) {
        fprintf(stderr, "bench_frontend: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 5;
    const char *dir = "/tmp/musicmap-bench";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_frontend [--reps R] [--dir DIR]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 64)
        reps = 5;
    mm_audio_set_library_logging(0);
    mkdir(dir, 0777);
    char wav[512], mp3[512], flac[512];
    snprintf(wav, sizeof wav, "%s/stereo44k_30s.wav", dir);
    snprintf(mp3, sizeof mp3, "%s/stereo44k_4min.mp3", dir);
    snprintf(flac, sizeof flac, "%s/stereo44k_4min.flac", dir);
    if (ensure_file(wav, 30.0) || ensure_file(mp3, 240.0) || ensure_file(flac, 240.0))
        return 1;

    bench_ctx ctx = {0};
    for (int w = 0; w < 2; w++) {
        mm_mel_open(&ctx.mels[w], MM_PAD_REFLECT, NULL);
        ctx.clips[w] = calloc(MM_CLIP_SAMPLES, sizeof(float));
        ctx.logmels[w] = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
        for (int i = 0; i < MM_CLIP_SAMPLES; i++)
            ctx.clips[w][i] = (float)(0.3 * sin(i * 0.05) + 0.1 * sin(i * 0.71));
    }
    printf("musicmap front-end benchmark (median of %d runs; per-clip wall time = total / clips)\n\n", reps);
    printf("%-44s %10s %10s %16s\n", "stage", "1 thread", "2 threads", "librosa / ours");
    struct {
        const char *name;
        int mode;
        const char *path;
        double anchor;
        int per_thread;
    } rows[] = {
        {"mel + dB alone (12 kHz buffer)", 1, NULL, LIBROSA_MEL_DB_MS, 40},
        {"WAV 44.1k stereo 30 s: decode+resample+mel", 0, wav, LIBROSA_WAV_FRONTEND_MS, 10},
        {"mp3 4 min: centre clip + resample + mel", 0, mp3, 0, 6},
        {"  FFmpeg alone: decode the clip's span", 2, mp3, 0, 6},
        {"FLAC 4 min: centre clip + resample + mel", 0, flac, 0, 6},
        {"  FFmpeg alone: decode the clip's span", 2, flac, 0, 6},
    };
    double ms[6][2];
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        ctx.mode = rows[r].mode;
        ctx.path = rows[r].path;
        for (int t = 1; t <= 2; t++) {
            mm_pool *pool;
            mm_pool_open(&pool, t, NULL);
            ms[r][t - 1] = per_clip_ms(&ctx, pool, rows[r].per_thread, reps);
            mm_pool_close(pool);
        }
        char ratio[32] = "";
        if (rows[r].anchor > 0)
            snprintf(ratio, sizeof ratio, "%.1fx", rows[r].anchor / ms[r][0]);
        printf("%-44s %8.2f ms %8.2f ms %16s\n", rows[r].name, ms[r][0], ms[r][1], ratio);
    }
    printf("\nmp3 clip cost / FFmpeg decode of the span: %.2f (1 thread), %.2f (2 threads)\n", ms[2][0] / ms[3][0],
           ms[2][1] / ms[3][1]);
    printf("FLAC clip cost / FFmpeg decode of the span: %.2f (1 thread), %.2f (2 threads)\n", ms[4][0] / ms[5][0],
           ms[4][1] / ms[5][1]);
    printf("mel + dB: %.1fx faster than librosa's %.1f ms; WAV front-end: %.1fx faster than librosa's %.0f ms\n",
           LIBROSA_MEL_DB_MS / ms[0][0], LIBROSA_MEL_DB_MS, LIBROSA_WAV_FRONTEND_MS / ms[1][0], LIBROSA_WAV_FRONTEND_MS);
    for (int w = 0; w < 2; w++) {
        mm_mel_close(ctx.mels[w]);
        free(ctx.clips[w]);
        free(ctx.logmels[w]);
    }
    return ctx.failed ? 1 : 0;
}
