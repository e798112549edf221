/* Writing audio through FFmpeg's encoders: float PCM -> (downmix) -> swresample -> encoder frames ->
 * muxer, with tags. Used by the generated collections, so every output is written bit-exactly (no
 * encoder version strings, fixed ogg serial numbers) and the same input gives the same bytes. */
#include "internal.h"

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util/shared.h"

typedef struct write_format {
    const char *name;    /* as given in options->format or the extension */
    const char *muxer;   /* FFmpeg's output format */
    const char *encoder; /* FFmpeg's encoder */
    int fixed_rate;      /* non-zero: the only rate written (opus) */
} write_format;

static const write_format write_formats[] = {
    {"wav", "wav", "pcm_s16le", 0},
    {"flac", "flac", "flac", 0},
    {"mp3", "mp3", "libmp3lame", 0},
    {"ogg", "ogg", "libvorbis", 0},
    {"oga", "ogg", "libvorbis", 0},
    {"opus", "opus", "libopus", 48000},
    {"m4a", "ipod", "aac", 0},
    {"mp4", "mp4", "aac", 0},
};

static const write_format *find_format(const char *path, const char *name)
{
    if (!name) {
        const char *slash = strrchr(path, '/');
        const char *dot = strrchr(slash ? slash : path, '.');
        if (!dot)
            return NULL;
        name = dot + 1;
    }
    for (size_t i = 0; i < sizeof write_formats / sizeof write_formats[0]; i++)
        if (strcasecmp(write_formats[i].name, name) == 0)
            return &write_formats[i];
    return NULL;
}

/* The rate the encoder will take: the requested one if listed (or if the encoder lists none), else
 * the smallest listed rate above it, else the largest. */
static int pick_rate(const AVCodec *codec, int wanted)
{
    const int *rates = codec->supported_samplerates;
    if (!rates)
        return wanted;
    int above = 0, best = 0;
    for (; *rates; rates++) {
        if (*rates == wanted)
            return wanted;
        if (*rates > wanted && (!above || *rates < above))
            above = *rates;
        if (*rates > best)
            best = *rates;
    }
    return above ? above : best;
}

/* Floats keep the encoder's input exact; 16-bit integers where the codec takes nothing else (wav,
 * flac), which is also what such files hold in real collections. */
static enum AVSampleFormat pick_sample_fmt(const AVCodec *codec)
{
    const enum AVSampleFormat *fmts = codec->sample_fmts;
    if (!fmts)
        return AV_SAMPLE_FMT_FLT;
    for (const enum AVSampleFormat *f = fmts; *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT)
            return *f;
    for (const enum AVSampleFormat *f = fmts; *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == AV_SAMPLE_FMT_S16 || *f == AV_SAMPLE_FMT_S16P)
            return *f;
    return fmts[0];
}

static void set_tag(AVDictionary **dict, const char *key, const char *value)
{
    if (value && value[0])
        av_dict_set(dict, key, value, 0);
}

static void set_tags(AVDictionary **dict, const mm_audio_tags *tags)
{
    set_tag(dict, "title", tags->title);
    set_tag(dict, "artist", tags->artist);
    set_tag(dict, "album", tags->album);
    set_tag(dict, "genre", tags->genre);
    set_tag(dict, "date", tags->date);
    set_tag(dict, "track", tags->track);
}

typedef struct writer {
    const char *path;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *packet;
    SwrContext *swr;
    uint8_t **converted; /* the whole signal in the encoder's format and rate */
    int converted_count;
    int opened_io;
    int wrote_header;
} writer;

static void writer_free(writer *w)
{
    if (w->converted) {
        av_freep(&w->converted[0]);
        av_freep(&w->converted);
    }
    swr_free(&w->swr);
    av_packet_free(&w->packet);
    av_frame_free(&w->frame);
    avcodec_free_context(&w->enc);
    if (w->fmt) {
        if (w->opened_io)
            avio_closep(&w->fmt->pb);
        avformat_free_context(w->fmt);
    }
}

static mm_status av_fail(const writer *w, mm_status code, const char *what, int rc, mm_error *err)
{
    char why[128];
    return mm_error_set(err, code, "%s: %s: %s", w->path, what, audio_av_error(rc, why, sizeof why));
}

/* Sends one frame (NULL flushes) and writes every packet the encoder has ready. */
static mm_status encode_frame(writer *w, AVFrame *frame, mm_error *err)
{
    int rc = avcodec_send_frame(w->enc, frame);
    if (rc < 0)
        return av_fail(w, MM_ERR_INTERNAL, "encoder refused audio", rc, err);
    for (;;) {
        rc = avcodec_receive_packet(w->enc, w->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return MM_OK;
        if (rc < 0)
            return av_fail(w, MM_ERR_INTERNAL, "encoding failed", rc, err);
        av_packet_rescale_ts(w->packet, w->enc->time_base, w->stream->time_base);
        w->packet->stream_index = w->stream->index;
        rc = av_interleaved_write_frame(w->fmt, w->packet);
        if (rc < 0)
            return av_fail(w, MM_ERR_IO, "cannot write", rc, err);
    }
}

/* Downmix (mean) or duplicate channels before resampling so that mono output is exactly the mean of
 * the channels, the way the decoder side (and librosa) defines mono. */
static float *remix(const float *in, int64_t frames, int channels, int out_channels)
{
    float *out = malloc(sizeof(float) * (size_t)(frames > 0 ? frames : 1) * (size_t)out_channels);
    if (!out)
        return NULL;
    for (int64_t i = 0; i < frames; i++) {
        const float *src = in + i * channels;
        float *dst = out + i * out_channels;
        if (out_channels == 1) {
            float sum = 0.0f;
            for (int c = 0; c < channels; c++)
                sum += src[c];
            dst[0] = sum / (float)channels;
        } else {
            for (int c = 0; c < out_channels; c++)
                dst[c] = src[0];
        }
    }
    return out;
}

static mm_status convert_all(writer *w, const float *pcm, int64_t frames, int channels, int in_rate,
                             mm_error *err)
{
    AVChannelLayout layout;
    av_channel_layout_default(&layout, channels);
    int rc = swr_alloc_set_opts2(&w->swr, &w->enc->ch_layout, w->enc->sample_fmt, w->enc->sample_rate, &layout,
                                 AV_SAMPLE_FMT_FLT, in_rate, 0, NULL);
    av_channel_layout_uninit(&layout);
    if (rc >= 0 && w->enc->sample_rate != in_rate) {
        av_opt_set_int(w->swr, "resampler", SWR_ENGINE_SOXR, 0);
        av_opt_set_int(w->swr, "precision", 28, 0);
    }
    if (rc >= 0)
        rc = swr_init(w->swr);
    if (rc < 0)
        return av_fail(w, MM_ERR_INTERNAL, "cannot set up the resampler", rc, err);
    int64_t capacity = av_rescale_rnd(frames, w->enc->sample_rate, in_rate, AV_ROUND_UP) + 4096;
    if (capacity > INT32_MAX / 8)
        return mm_error_set(err, MM_ERR_ARG, "%s: too much audio to write at once", w->path);
    int linesize;
    rc = av_samples_alloc_array_and_samples(&w->converted, &linesize, w->enc->ch_layout.nb_channels,
                                            (int)capacity, w->enc->sample_fmt, 0);
    if (rc < 0)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", w->path);
    int done = 0;
    int bps = av_get_bytes_per_sample(w->enc->sample_fmt);
    int planar = av_sample_fmt_is_planar(w->enc->sample_fmt);
    int nch = w->enc->ch_layout.nb_channels;
    /* Feed in slices so that swr's internal buffers stay small; a NULL input flushes its tail. */
    for (int64_t at = 0;; at += 65536) {
        int64_t n = frames - at < 65536 ? frames - at : 65536;
        if (n < 0)
            n = 0;
        const uint8_t *in[1] = {(const uint8_t *)(pcm + at * channels)};
        uint8_t *out[64];
        for (int c = 0; c < (planar ? nch : 1); c++)
            out[c] = w->converted[c] + (size_t)done * (size_t)bps * (size_t)(planar ? 1 : nch);
        int got = swr_convert(w->swr, out, (int)capacity - done, n > 0 ? in : NULL, (int)n);
        if (got < 0)
            return av_fail(w, MM_ERR_INTERNAL, "resampling failed", got, err);
        done += got;
        if (n == 0)
            break;
    }
    /* The resampler's output length is the exact rescaled length; trim anything its flush adds. */
    int64_t expect = av_rescale_rnd(frames, w->enc->sample_rate, in_rate, AV_ROUND_NEAR_INF);
    w->converted_count = done > expect ? (int)expect : done;
    return MM_OK;
}

static mm_status encode_all(writer *w, mm_error *err)
{
    int chunk = w->enc->frame_size;
    int variable = !chunk || (w->enc->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE);
    if (variable)
        chunk = 4096;
    int small_last = variable || (w->enc->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME);
    int nch = w->enc->ch_layout.nb_channels;
    int64_t pts = 0;
    for (int at = 0; at < w->converted_count; at += chunk) {
        int n = w->converted_count - at < chunk ? w->converted_count - at : chunk;
        av_frame_unref(w->frame);
        w->frame->format = w->enc->sample_fmt;
        w->frame->sample_rate = w->enc->sample_rate;
        w->frame->nb_samples = small_last ? n : chunk;
        int rc = av_channel_layout_copy(&w->frame->ch_layout, &w->enc->ch_layout);
        if (rc >= 0)
            rc = av_frame_get_buffer(w->frame, 0);
        if (rc < 0)
            return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", w->path);
        if (n < w->frame->nb_samples)
            av_samples_set_silence(w->frame->extended_data, 0, w->frame->nb_samples, nch, w->enc->sample_fmt);
        av_samples_copy(w->frame->extended_data, w->converted, 0, at, n, nch, w->enc->sample_fmt);
        w->frame->pts = pts;
        pts += w->frame->nb_samples;
        mm_status st = encode_frame(w, w->frame, err);
        if (st != MM_OK)
            return st;
    }
    return encode_frame(w, NULL, err);
}

void mm_audio_write_options_init(mm_audio_write_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

mm_status mm_audio_write(const char *path, const float *interleaved, int64_t frames, int channels,
                         int sample_rate, const mm_audio_write_options *options, mm_error *err)
{
    if (!path || (!interleaved && frames > 0) || frames < 0 || channels < 1 || channels > 8 ||
        sample_rate < 1000 || sample_rate > 384000)
        return mm_error_set(err, MM_ERR_ARG, "%s: invalid audio to write (%lld frames, %d channels, %d Hz)",
                            path ? path : "(null)", (long long)frames, channels, sample_rate);
    mm_audio_write_options given;
    mm_audio_write_options_init(&given);
    util_options_copy(&given, sizeof given, options, UTIL_OPTIONS_END(mm_audio_write_options, tags));
    options = &given;
    const write_format *wf = find_format(path, options->format);
    if (!wf)
        return mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: unknown output format '%s'", path,
                            options->format ? options->format : "(from the extension)");
    int out_channels = options->out_channels > 0 ? options->out_channels : channels;
    if (out_channels != channels && out_channels != 1 && channels != 1)
        return mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: cannot remix %d channels to %d", path, channels,
                            out_channels);
    const AVCodec *codec = avcodec_find_encoder_by_name(wf->encoder);
    if (!codec)
        return mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: this FFmpeg has no %s encoder", path, wf->encoder);

    writer w = {.path = path};
    mm_status st = MM_OK;
    float *mixed = NULL;
    int rc = avformat_alloc_output_context2(&w.fmt, NULL, wf->muxer, path);
    if (rc < 0 || !w.fmt) {
        st = av_fail(&w, MM_ERR_UNSUPPORTED, "cannot create the output container", rc, err);
        goto done;
    }
    /* No encoder version strings and fixed stream serials: same input, same bytes. */
    w.fmt->flags |= AVFMT_FLAG_BITEXACT;
    w.enc = avcodec_alloc_context3(codec);
    w.stream = avformat_new_stream(w.fmt, NULL);
    w.frame = av_frame_alloc();
    w.packet = av_packet_alloc();
    if (!w.enc || !w.stream || !w.frame || !w.packet) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    int wanted_rate = wf->fixed_rate ? wf->fixed_rate
                                     : (options->out_sample_rate > 0 ? options->out_sample_rate : sample_rate);
    w.enc->sample_rate = pick_rate(codec, wanted_rate);
    w.enc->sample_fmt = pick_sample_fmt(codec);
    av_channel_layout_default(&w.enc->ch_layout, out_channels);
    w.enc->time_base = (AVRational){1, w.enc->sample_rate};
    w.enc->flags |= AV_CODEC_FLAG_BITEXACT;
    w.enc->thread_count = 1;
    if (options->bit_rate > 0)
        w.enc->bit_rate = options->bit_rate;
    else if (strcmp(wf->encoder, "aac") == 0 || strcmp(wf->encoder, "libmp3lame") == 0)
        w.enc->bit_rate = out_channels > 1 ? 192000 : 128000;
    if (strcmp(wf->encoder, "aac") == 0)
        w.enc->profile = FF_PROFILE_AAC_LOW;
    /* The faster settings of the slow encoders: generated collections are written by the hundred and
     * the difference in quality does not matter to an analysis at 12 kHz. */
    if (strcmp(wf->encoder, "aac") == 0)
        av_opt_set(w.enc->priv_data, "aac_coder", "fast", 0);
    else if (strcmp(wf->encoder, "libmp3lame") == 0)
        w.enc->compression_level = 7;
    else if (strcmp(wf->encoder, "libopus") == 0)
        w.enc->compression_level = 5;
    if (w.fmt->oformat->flags & AVFMT_GLOBALHEADER)
        w.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(w.enc, codec, NULL);
    if (rc < 0) {
        st = av_fail(&w, MM_ERR_INTERNAL, "cannot open the encoder", rc, err);
        goto done;
    }
    rc = avcodec_parameters_from_context(w.stream->codecpar, w.enc);
    if (rc < 0) {
        st = av_fail(&w, MM_ERR_INTERNAL, "cannot set up the stream", rc, err);
        goto done;
    }
    w.stream->time_base = w.enc->time_base;
    if (options->tags) {
        /* Ogg keeps its Vorbis comments per stream; the other containers per file. */
        int per_stream = strcmp(wf->muxer, "ogg") == 0 || strcmp(wf->muxer, "opus") == 0;
        set_tags(per_stream ? &w.stream->metadata : &w.fmt->metadata, options->tags);
    }

    const float *pcm = interleaved;
    if (out_channels != channels) {
        mixed = remix(interleaved, frames, channels, out_channels);
        if (!mixed) {
            st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        pcm = mixed;
    }
    st = convert_all(&w, pcm, frames, out_channels, sample_rate, err);
    if (st != MM_OK)
        goto done;

    rc = avio_open(&w.fmt->pb, path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        st = av_fail(&w, MM_ERR_IO, "cannot create", rc, err);
        goto done;
    }
    w.opened_io = 1;
    rc = avformat_write_header(w.fmt, NULL);
    if (rc < 0) {
        st = av_fail(&w, MM_ERR_INTERNAL, "cannot write the header", rc, err);
        goto done;
    }
    w.wrote_header = 1;
    st = encode_all(&w, err);
    if (st != MM_OK)
        goto done;
    rc = av_write_trailer(w.fmt);
    if (rc < 0)
        st = av_fail(&w, MM_ERR_IO, "cannot finish the file", rc, err);
done:
    free(mixed);
    int created = w.opened_io;
    writer_free(&w);
    /* A half-written file would look like a damaged track: leave nothing behind. */
    if (st != MM_OK && created)
        unlink(path);
    return st;
}
