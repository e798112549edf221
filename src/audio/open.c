/* Opening, probing and tag reading. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *audio_av_error(int code, char *buf, size_t size)
{
    if (av_strerror(code, buf, size) < 0)
        snprintf(buf, size, "error %d", code);
    return buf;
}

/* Copies a tag value, cutting at a UTF-8 character boundary when it is too long. */
static void copy_tag(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Tags live in the container (mp3, mp4, flac) or in the stream (ogg, opus): look in both. */
static void read_tag(const mm_audio *audio, char *dst, size_t size, const char *const *keys)
{
    AVDictionary *dicts[2] = {audio->fmt->metadata, audio->fmt->streams[audio->stream]->metadata};
    for (const char *const *key = keys; *key; key++) {
        for (int d = 0; d < 2; d++) {
            const AVDictionaryEntry *e = av_dict_get(dicts[d], *key, NULL, 0);
            if (e && e->value && e->value[0]) {
                copy_tag(dst, size, e->value);
                return;
            }
        }
    }
}

static void read_tags(mm_audio *audio)
{
    mm_audio_tags *t = &audio->info.tags;
    static const char *const title[] = {"title", NULL};
    static const char *const artist[] = {"artist", "album_artist", "performer", NULL};
    static const char *const album[] = {"album", NULL};
    static const char *const genre[] = {"genre", NULL};
    static const char *const date[] = {"date", "year", "original_date", NULL};
    static const char *const track[] = {"track", "tracknumber", NULL};
    read_tag(audio, t->title, sizeof t->title, title);
    read_tag(audio, t->artist, sizeof t->artist, artist);
    read_tag(audio, t->album, sizeof t->album, album);
    read_tag(audio, t->genre, sizeof t->genre, genre);
    read_tag(audio, t->date, sizeof t->date, date);
    read_tag(audio, t->track, sizeof t->track, track);
}

static void read_length(mm_audio *audio)
{
    const AVStream *st = audio->fmt->streams[audio->stream];
    mm_audio_info *info = &audio->info;
    AVRational per_sample = {1, info->sample_rate};
    info->frames = 0;
    info->frames_exact = 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
        info->frames = av_rescale_q(st->duration, st->time_base, per_sample);
        info->frames_exact = audio->fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE;
    } else if (audio->fmt->duration != AV_NOPTS_VALUE && audio->fmt->duration > 0) {
        info->frames = av_rescale(audio->fmt->duration, info->sample_rate, AV_TIME_BASE);
    }
    info->duration = (double)info->frames / info->sample_rate;
}

mm_status mm_audio_open(mm_audio **out, const char *path, mm_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return mm_error_set(err, MM_ERR_IO, "%s: is a directory, not an audio file", path);
    if (!S_ISREG(sb.st_mode))
        return mm_error_set(err, MM_ERR_IO, "%s: not a regular file", path);
    if (sb.st_size == 0)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: empty file (0 bytes)", path);

    mm_audio *audio = calloc(1, sizeof *audio);
    if (!audio || !(audio->path = strdup(path))) {
        free(audio);
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
    }
    char why[128];
    mm_status st = MM_OK;
    int rc = avformat_open_input(&audio->fmt, path, NULL, NULL);
    if (rc < 0) {
        if (rc == AVERROR(EACCES) || rc == AVERROR(ENOENT) || rc == AVERROR(EISDIR))
            st = mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, audio_av_error(rc, why, sizeof why));
        else
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: not a recognised audio file (%s)", path,
                              audio_av_error(rc, why, sizeof why));
        goto fail;
    }
    /* A WAV's PCM payload is otherwise scanned up to 5 MB for DTS or mp3 hidden inside it: 7 ms per
     * file, more than decoding the clip. Such files are rare in music libraries; the header's own
     * codec tag (mp3, ADPCM...) is still honoured. */
    if (strcmp(audio->fmt->iformat->name, "wav") == 0)
        audio->fmt->probesize = 32;
    rc = avformat_find_stream_info(audio->fmt, NULL);
    if (rc < 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: cannot read stream information: %s", path,
                          audio_av_error(rc, why, sizeof why));
        goto fail;
    }
    const AVCodec *codec = NULL;
    rc = av_find_best_stream(audio->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (rc == AVERROR_STREAM_NOT_FOUND) {
        st = mm_error_set(err, MM_ERR_NO_AUDIO, "%s: no audio stream (format '%s')", path, audio->fmt->iformat->name);
        goto fail;
    }
    if (rc < 0 || !codec) {
        const AVStream *s = rc >= 0 ? audio->fmt->streams[rc] : NULL;
        st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: no decoder for the audio codec '%s'", path,
                          s ? avcodec_get_name(s->codecpar->codec_id) : "?");
        goto fail;
    }
    audio->stream = rc;
    AVStream *stream = audio->fmt->streams[rc];
    audio->dec = avcodec_alloc_context3(codec);
    if (!audio->dec) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    rc = avcodec_parameters_to_context(audio->dec, stream->codecpar);
    /* Callers parallelise across files; one thread per decoder keeps that predictable. */
    audio->dec->thread_count = 1;
    if (rc >= 0)
        rc = avcodec_open2(audio->dec, codec, NULL);
    if (rc < 0) {
        st = mm_error_set(err, MM_ERR_DECODE, "%s: cannot open the %s decoder: %s", path, codec->name,
                          audio_av_error(rc, why, sizeof why));
        goto fail;
    }
    audio->packet = av_packet_alloc();
    audio->frame = av_frame_alloc();
    if (!audio->packet || !audio->frame) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    mm_audio_info *info = &audio->info;
    info->sample_rate = audio->dec->sample_rate;
    info->channels = audio->dec->ch_layout.nb_channels;
    if (info->sample_rate <= 0 || info->channels <= 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: audio stream has no valid sample rate or channel count", path);
        goto fail;
    }
    if (info->sample_rate > 1536000 || info->channels > 64) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: implausible audio parameters (%d Hz, %d channels)", path,
                          info->sample_rate, info->channels);
        goto fail;
    }
    snprintf(info->container, sizeof info->container, "%s", audio->fmt->iformat->name);
    snprintf(info->codec, sizeof info->codec, "%s", codec->name);
    info->bit_rate = stream->codecpar->bit_rate > 0 ? stream->codecpar->bit_rate : audio->fmt->bit_rate;
    audio->start_pts = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
    audio->at_start = 1;
    read_length(audio);
    read_tags(audio);
    *out = audio;
    return MM_OK;
fail:
    mm_audio_close(audio);
    return st;
}

void mm_audio_close(mm_audio *audio)
{
    if (!audio)
        return;
    av_frame_free(&audio->frame);
    av_packet_free(&audio->packet);
    avcodec_free_context(&audio->dec);
    avformat_close_input(&audio->fmt);
    free(audio->path);
    free(audio);
}

const mm_audio_info *mm_audio_get_info(const mm_audio *audio)
{
    return &audio->info;
}

const char *mm_audio_path(const mm_audio *audio)
{
    return audio->path;
}
