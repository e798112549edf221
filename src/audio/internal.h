/* Shared by the audio module's files; not part of the public API. */
#ifndef MM_AUDIO_INTERNAL_H
#define MM_AUDIO_INTERNAL_H

#include <libavcodec/avcodec.h>
#include <ebur128.h>
#include <libavformat/avformat.h>

#include "musicmap/audio.h"

struct mm_audio {
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *packet;
    AVFrame *frame;
    int stream;            /* index of the audio stream we decode */
    int64_t start_pts;     /* the stream's first timestamp, in its time base (0 if unknown) */
    int at_start;          /* nothing read since open: decoding can start without a seek */
    int truncated;         /* counting packets found the last one cut short */
    int counted;           /* info.frames came from counting packets, not from a header */
    mm_audio_info info;
};

/* Receives decoded audio as float at the native rate, count frames: mono, or interleaved in the
 * decode's channel count (audio_decode_from's `channels`); first = index of the first frame in the
 * file. Returns non-zero to stop decoding. */
typedef int (*audio_pcm_sink)(const float *pcm, int count, int64_t first, void *ctx);

typedef struct decode_stats {
    int64_t packets;
    int64_t bad_packets;
    int64_t samples;
    int64_t first_position; /* position of the first decoded sample, -1 before any */
    int64_t end_position;   /* position after the last decoded sample */
    int reached_eof;        /* the demuxer ran out of packets */
    int ended_corrupt;      /* ... and the last packet it gave was cut short: the file is truncated */
} decode_stats;

/* Native sample span [begin, end) whose audio, all channels, feeds an EBU R128 meter. */
typedef struct loudness_meter {
    ebur128_state *state;
    int channels;
    int64_t begin, end;
    float *interleaved; /* scratch, grown as needed */
    int capacity;       /* in samples per channel */
    int failed;
} loudness_meter;

mm_status loudness_meter_open(loudness_meter *meter, const mm_audio *audio, int64_t begin, int64_t end,
                              mm_error *err);
/* Integrated loudness in LUFS (-HUGE_VAL for silence), NAN if nothing was measured. */
double loudness_meter_result(const loudness_meter *meter);
void loudness_meter_close(loudness_meter *meter);

/* Rewinds to native sample `position` (0 = the start; a seek goes to or before it) and decodes until
 * the sink stops or the file ends. */
mm_status audio_decode_from(mm_audio *audio, int64_t position, audio_pcm_sink sink, void *ctx,
                            loudness_meter *meter, decode_stats *stats, mm_error *err);
/* The same in `channels` (1: the mean of the file's channels; 2: its first two, a mono file's one
 * twice, more than two mixed to mono on both). */
mm_status audio_decode_channels(mm_audio *audio, int64_t position, int channels, audio_pcm_sink sink, void *ctx,
                                loudness_meter *meter, decode_stats *stats, mm_error *err);

/* Resamples a whole mono float buffer with libsoxr at HQ (flushing its tail).
 * *out is malloc'd. */
mm_status audio_resample_mono(const char *path, const float *in, int64_t in_count, int in_rate,
                              int out_rate, float **out, int64_t *out_count, mm_error *err);

/* av_strerror in a static-free form: writes into buf and returns it. */
const char *audio_av_error(int code, char *buf, size_t size);

#endif
