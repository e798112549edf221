/* The decode loop (packets -> frames -> mono float), packet counting and soxr resampling. */
#include "internal.h"

#include <libavutil/intreadwrite.h>
#include <math.h>
#include <ebur128.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

/* How far before a seek target we ask the demuxer to land: codecs with a bit reservoir or
 * overlapping transforms (mp3, aac, vorbis, opus) need a few frames to settle after a seek. */
#define SEEK_PREROLL_SECONDS 0.5

/* Adds channel c of frame f, samples [from, from + n), converted to float the way libsndfile and
 * librosa scale integers (v / 2^(bits-1)), into acc[0], acc[stride], ... One loop per sample format
 * keeps this at memory speed. */
static void add_channel(const AVFrame *f, int c, int from, int n, float *acc, int stride)
{
    const int channels = f->ch_layout.nb_channels;
    const int planar = av_sample_fmt_is_planar(f->format);
    const uint8_t *base = planar ? f->extended_data[c] : f->extended_data[0];
    const int step = planar ? 1 : channels, first = (planar ? 0 : c) + from * step;
    switch (av_get_packed_sample_fmt(f->format)) {
    case AV_SAMPLE_FMT_U8:
        for (int i = 0; i < n; i++)
            acc[i * stride] += ((float)base[first + i * step] - 128.0f) / 128.0f;
        break;
    case AV_SAMPLE_FMT_S16: {
        const int16_t *p = (const int16_t *)base + first;
        for (int i = 0; i < n; i++)
            acc[i * stride] += (float)p[i * step] / 32768.0f;
        break;
    }
    case AV_SAMPLE_FMT_S32: {
        const int32_t *p = (const int32_t *)base + first;
        for (int i = 0; i < n; i++)
            acc[i * stride] += (float)((double)p[i * step] / 2147483648.0);
        break;
    }
    case AV_SAMPLE_FMT_S64: {
        const int64_t *p = (const int64_t *)base + first;
        for (int i = 0; i < n; i++)
            acc[i * stride] += (float)((double)p[i * step] / 9223372036854775808.0);
        break;
    }
    case AV_SAMPLE_FMT_FLT: {
        const float *p = (const float *)base + first;
        for (int i = 0; i < n; i++)
            acc[i * stride] += p[i * step];
        break;
    }
    case AV_SAMPLE_FMT_DBL: {
        const double *p = (const double *)base + first;
        for (int i = 0; i < n; i++)
            acc[i * stride] += (float)p[i * step];
        break;
    }
    default: break;
    }
}

/* Mean of the channels, in float, summing in channel order then dividing (numpy's mean). */
static void frame_to_mono(const AVFrame *f, float *mono)
{
    int channels = f->ch_layout.nb_channels;
    /* The common cases, written out so they vectorise: stereo 16-bit WAV/FLAC, stereo planar float
     * (mp3, AAC, Vorbis, Opus decoders). Same arithmetic as the general path. */
    if (channels == 2 && f->format == AV_SAMPLE_FMT_S16) {
        const int16_t *p = (const int16_t *)f->extended_data[0];
        for (int i = 0; i < f->nb_samples; i++)
            mono[i] = ((float)p[2 * i] / 32768.0f + (float)p[2 * i + 1] / 32768.0f) / 2.0f;
        return;
    }
    if (channels == 2 && f->format == AV_SAMPLE_FMT_FLTP) {
        const float *l = (const float *)f->extended_data[0], *r = (const float *)f->extended_data[1];
        for (int i = 0; i < f->nb_samples; i++)
            mono[i] = (l[i] + r[i]) / 2.0f;
        return;
    }
    memset(mono, 0, sizeof(float) * (size_t)f->nb_samples);
    for (int c = 0; c < channels; c++)
        add_channel(f, c, 0, f->nb_samples, mono, 1);
    if (channels > 1)
        for (int i = 0; i < f->nb_samples; i++)
            mono[i] /= (float)channels;
}

static int supported_format(enum AVSampleFormat fmt)
{
    switch (av_get_packed_sample_fmt(fmt)) {
    case AV_SAMPLE_FMT_U8:
    case AV_SAMPLE_FMT_S16:
    case AV_SAMPLE_FMT_S32:
    case AV_SAMPLE_FMT_S64:
    case AV_SAMPLE_FMT_FLT:
    case AV_SAMPLE_FMT_DBL: return 1;
    default: return 0;
    }
}

static mm_status seek_to(mm_audio *audio, int64_t position, mm_error *err)
{
    if (position == 0 && audio->at_start)
        return MM_OK;
    const AVStream *st = audio->fmt->streams[audio->stream];
    int sr = audio->info.sample_rate;
    int64_t target = position - (int64_t)(SEEK_PREROLL_SECONDS * sr);
    if (target < 0)
        target = 0;
    int64_t ts = audio->start_pts + av_rescale_q(target, (AVRational){1, sr}, st->time_base);
    int rc = av_seek_frame(audio->fmt, audio->stream, ts, AVSEEK_FLAG_BACKWARD);
    if (rc < 0 && position == 0)
        rc = avformat_seek_file(audio->fmt, -1, INT64_MIN, 0, 0, 0);
    if (rc < 0) {
        char why[128];
        return mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: cannot seek: %s", audio->path,
                            audio_av_error(rc, why, sizeof why));
    }
    avcodec_flush_buffers(audio->dec);
    audio->at_start = 0;
    return MM_OK;
}

/* Feeds the part of frame f (which starts at native position `first`) inside the meter's span. */
static void meter_frame(loudness_meter *meter, const AVFrame *f, int64_t first)
{
    if (!meter || !meter->state || meter->failed)
        return;
    int64_t lo = first > meter->begin ? first : meter->begin;
    int64_t hi = first + f->nb_samples < meter->end ? first + f->nb_samples : meter->end;
    if (hi <= lo)
        return;
    int n = (int)(hi - lo), channels = f->ch_layout.nb_channels;
    if (channels != meter->channels) {
        meter->failed = 1; /* the stream changed layout mid-way: no single meter fits it */
        return;
    }
    if (n > meter->capacity) {
        float *grown = realloc(meter->interleaved, sizeof(float) * (size_t)n * (size_t)channels);
        if (!grown) {
            meter->failed = 1;
            return;
        }
        meter->interleaved = grown;
        meter->capacity = n;
    }
    memset(meter->interleaved, 0, sizeof(float) * (size_t)n * (size_t)channels);
    for (int c = 0; c < channels; c++)
        add_channel(f, c, (int)(lo - first), n, meter->interleaved + c, channels);
    if (ebur128_add_frames_float(meter->state, meter->interleaved, (size_t)n) != EBUR128_SUCCESS)
        meter->failed = 1;
}

mm_status loudness_meter_open(loudness_meter *meter, const mm_audio *audio, int64_t begin, int64_t end,
                              mm_error *err)
{
    memset(meter, 0, sizeof *meter);
    meter->begin = begin;
    meter->end = end;
    meter->channels = audio->info.channels;
    meter->state = ebur128_init((unsigned)audio->info.channels, (unsigned long)audio->info.sample_rate, EBUR128_MODE_I);
    if (!meter->state)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: cannot start the loudness meter", audio->path);
    return MM_OK;
}

double loudness_meter_result(const loudness_meter *meter)
{
    double lufs = NAN;
    if (!meter->state || meter->failed || ebur128_loudness_global(meter->state, &lufs) != EBUR128_SUCCESS)
        return NAN;
    return lufs;
}

void loudness_meter_close(loudness_meter *meter)
{
    if (meter->state)
        ebur128_destroy(&meter->state);
    free(meter->interleaved);
    memset(meter, 0, sizeof *meter);
}

typedef struct decode_state {
    mm_audio *audio;
    loudness_meter *meter;
    int64_t start;      /* where decoding was asked to start */
    int64_t next;       /* position of the next sample, once anchored */
    float *mono;
    int mono_cap;
    audio_pcm_sink sink;
    void *ctx;
    decode_stats *stats;
    int channels;       /* of what the sink gets: 1 or 2 */
    int stop;
} decode_state;

/* A frame as two interleaved channels (see audio_decode_channels). */
static void frame_to_stereo(const AVFrame *f, float *out, float *scratch)
{
    const int n = f->nb_samples;
    if (f->ch_layout.nb_channels == 2) {
        memset(out, 0, sizeof(float) * 2 * (size_t)n);
        add_channel(f, 0, 0, n, out, 2);
        add_channel(f, 1, 0, n, out + 1, 2);
        return;
    }
    frame_to_mono(f, scratch);
    for (int i = 0; i < n; i++)
        out[2 * i] = out[2 * i + 1] = scratch[i];
}

/* Hands every frame the decoder has ready to the sink. Returns <0 on a hard error. */
static int drain_frames(decode_state *ds, mm_error *err)
{
    mm_audio *audio = ds->audio;
    AVFrame *f = audio->frame;
    for (;;) {
        int rc = avcodec_receive_frame(audio->dec, f);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            ds->stats->bad_packets++;
            return 0;
        }
        if (f->nb_samples <= 0 || f->ch_layout.nb_channels <= 0 || !supported_format(f->format)) {
            av_frame_unref(f);
            continue;
        }
        if (ds->stats->first_position < 0) {
            /* Anchor on the first frame's timestamp; from there on, count samples (timestamps after
             * a seek can be coarse, sample counts are not). A decode from the start is anchored at 0. */
            int64_t pos = 0;
            if (ds->start > 0) {
                int64_t pts = f->best_effort_timestamp;
                if (pts == AV_NOPTS_VALUE) {
                    av_frame_unref(f);
                    mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: decoded audio has no timestamps", audio->path);
                    return -1;
                }
                const AVStream *st = audio->fmt->streams[audio->stream];
                pos = av_rescale_q(pts - audio->start_pts, st->time_base, (AVRational){1, audio->info.sample_rate});
            }
            ds->stats->first_position = pos;
            ds->next = pos;
        }
        if (f->nb_samples > ds->mono_cap) {
            /* room for the stereo frame and, behind it, a mono scratch row */
            float *grown = realloc(ds->mono, sizeof(float) * (size_t)f->nb_samples * (size_t)(ds->channels == 2 ? 3 : 1));
            if (!grown) {
                av_frame_unref(f);
                mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", audio->path);
                return -1;
            }
            ds->mono = grown;
            ds->mono_cap = f->nb_samples;
        }
        if (ds->channels == 2)
            frame_to_stereo(f, ds->mono, ds->mono + 2 * (size_t)f->nb_samples);
        else
            frame_to_mono(f, ds->mono);
        meter_frame(ds->meter, f, ds->next);
        int count = f->nb_samples;
        av_frame_unref(f);
        ds->stats->samples += count;
        int64_t first = ds->next;
        ds->next += count;
        if (ds->sink(ds->mono, count, first, ds->ctx)) {
            ds->stop = 1;
            return 0;
        }
    }
}

mm_status audio_decode_from(mm_audio *audio, int64_t position, audio_pcm_sink sink, void *ctx,
                            loudness_meter *meter, decode_stats *stats, mm_error *err)
{
    return audio_decode_channels(audio, position, 1, sink, ctx, meter, stats, err);
}

mm_status audio_decode_channels(mm_audio *audio, int64_t position, int channels, audio_pcm_sink sink, void *ctx,
                                loudness_meter *meter, decode_stats *stats, mm_error *err)
{
    memset(stats, 0, sizeof *stats);
    stats->first_position = -1;
    mm_status st = seek_to(audio, position, err);
    if (st != MM_OK)
        return st;
    audio->at_start = 0;
    decode_state ds = {.audio = audio,
                       .meter = meter,
                       .start = position,
                       .sink = sink,
                       .ctx = ctx,
                       .stats = stats,
                       .channels = channels == 2 ? 2 : 1};
    AVPacket *pkt = audio->packet;
    int eof = 0;
    while (!ds.stop && !eof) {
        int rc = av_read_frame(audio->fmt, pkt);
        if (rc < 0) {
            /* End of file or a read error: either way, flush what the decoder holds. */
            eof = 1;
            stats->reached_eof = 1;
            avcodec_send_packet(audio->dec, NULL);
        } else if (pkt->stream_index != audio->stream) {
            av_packet_unref(pkt);
            continue;
        } else {
            stats->packets++;
            /* Demuxers flag a packet that the end of the file cut short. */
            stats->ended_corrupt = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
            rc = avcodec_send_packet(audio->dec, pkt);
            av_packet_unref(pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN))
                stats->bad_packets++;
        }
        if (drain_frames(&ds, err) < 0) {
            free(ds.mono);
            return err ? err->code : MM_ERR_DECODE;
        }
    }
    free(ds.mono);
    stats->end_position = stats->first_position >= 0 ? ds.next : position;
    return MM_OK;
}

void mm_audio_set_library_logging(int verbose)
{
    av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
}

mm_status mm_audio_count_frames(mm_audio *audio, mm_error *err)
{
    mm_status st = seek_to(audio, 0, err);
    if (st != MM_OK)
        return st;
    audio->at_start = 0;
    const AVStream *stream = audio->fmt->streams[audio->stream];
    AVPacket *pkt = audio->packet;
    int64_t total = 0, skipped = 0;
    int known = 1;
    while (av_read_frame(audio->fmt, pkt) >= 0) {
        if (pkt->stream_index == audio->stream) {
            audio->truncated = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
            if (pkt->duration <= 0)
                known = 0;
            total += pkt->duration;
            size_t size = 0;
            const uint8_t *skip = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
            if (skip && size >= 8)
                skipped += (int64_t)AV_RL32(skip) + (int64_t)AV_RL32(skip + 4);
        }
        av_packet_unref(pkt);
    }
    if (!known)
        return mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: packets carry no durations", audio->path);
    int sr = audio->info.sample_rate;
    audio->info.frames = av_rescale_q(total, stream->time_base, (AVRational){1, sr}) - skipped;
    audio->info.frames_exact = 1;
    audio->counted = 1;
    audio->info.duration = (double)audio->info.frames / sr;
    return MM_OK;
}

mm_status audio_resample_mono(const char *path, const float *in, int64_t in_count, int in_rate,
                              int out_rate, float **out, int64_t *out_count, mm_error *err)
{
    *out = NULL;
    *out_count = 0;
    /* libsoxr at SOXR_HQ (20 bits) is librosa's soxr_hq and libswresample's soxr engine at its default
     * precision; called directly it gives the same bits three times faster than through swr. */
    size_t cap = (size_t)ceil((double)in_count * out_rate / in_rate) + 16;
    float *buf = malloc(sizeof(float) * cap);
    if (!buf)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t runtime = soxr_runtime_spec(1); /* callers parallelise across songs */
    size_t done = 0;
    soxr_error_t failed = soxr_oneshot(in_rate, out_rate, 1, in, (size_t)in_count, NULL, buf, cap, &done, &io,
                                       &quality, &runtime);
    if (failed) {
        free(buf);
        return mm_error_set(err, MM_ERR_INTERNAL, "%s: resampling %d -> %d Hz failed: %s", path, in_rate, out_rate,
                            failed);
    }
    *out = buf;
    *out_count = (int64_t)done;
    return MM_OK;
}
