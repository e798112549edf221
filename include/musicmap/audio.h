/* audio — open any file FFmpeg can read, read its tags, and produce the 12 kHz mono float signal the
 * front-end needs: the mean of the channels, resampled by libswresample's soxr engine (librosa's
 * soxr_hq), the centre 29.12 s cut exactly where a whole-file decode would cut it.
 *
 * Thread safety: an mm_audio is used by one thread at a time; different files may be opened, read and
 * written in parallel (each call has its own FFmpeg contexts). mm_audio_set_library_logging changes
 * FFmpeg's process-wide log level: it affects every thread, and the program that embeds us. */
#ifndef MUSICMAP_AUDIO_H
#define MUSICMAP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_TAG_MAX 256

typedef struct mm_audio_tags {
    char title[MM_TAG_MAX];
    char artist[MM_TAG_MAX];
    char album[MM_TAG_MAX];
    char genre[MM_TAG_MAX];
    char date[64];
    char track[64];
} mm_audio_tags;

typedef struct mm_audio_info {
    char container[64];   /* FFmpeg's short name of the demuxer, e.g. "mp3", "flac", "mov,mp4,m4a,3gp,3g2,mj2" */
    char codec[64];       /* e.g. "mp3", "flac", "vorbis", "opus", "aac", "pcm_s16le" */
    int sample_rate;      /* of the decoded audio */
    int channels;
    int64_t bit_rate;     /* bits per second, 0 if unknown */
    int64_t frames;       /* samples per channel of the whole file; see frames_exact */
    int frames_exact;     /* 1: from the header or an index; 0: an estimate (e.g. from the bit rate) */
    double duration;      /* seconds, frames / sample_rate */
    mm_audio_tags tags;
} mm_audio_info;

typedef struct mm_audio mm_audio;

/* Opens and probes a file. Fails with a message naming the file and the cause for missing,
 * unreadable, empty, non-audio and undecodable files. */
MM_API mm_status mm_audio_open(mm_audio **out, const char *path, mm_error *err);
MM_API void mm_audio_close(mm_audio *audio);
MM_API const mm_audio_info *mm_audio_get_info(const mm_audio *audio);
MM_API const char *mm_audio_path(const mm_audio *audio);

/* FFmpeg prints its own warnings about damaged files to stderr; musicmap reports each failure once
 * itself, so programs normally silence it (verbose = 0) or let warnings through (1). Process-wide. */
MM_API void mm_audio_set_library_logging(int verbose);

/* Counts the file's samples exactly by reading its packets (no decoding) when the header only gave
 * an estimate. Cheap: a 4-minute mp3 is demuxed in milliseconds. */
MM_API mm_status mm_audio_count_frames(mm_audio *audio, mm_error *err);

typedef enum mm_loudness_span {
    MM_LOUDNESS_NONE = 0,
    MM_LOUDNESS_CLIP, /* over the 29.12 s the clip covers: free, the clip is decoded anyway */
    MM_LOUDNESS_SONG  /* over the whole song: decodes all of it */
} mm_loudness_span;

/* Zero or mm_clip_options_init: the reference centre clip, no loudness. */
typedef struct mm_clip_options {
    size_t size; /* sizeof the struct, set by mm_clip_options_init (docs/api.md: option structs) */
    /* Decode the whole file instead of seeking to the centre (slower; same result to ~1e-7). */
    int full_decode;
    /* Added to the crop start, in 12 kHz samples. Non-zero only to line up with other decoders (the
     * original pipeline's mp3 decoder kept the encoder delay: +144). */
    int64_t crop_shift;
    /* Where the clip lies in a song longer than it: 0 (default) the centre, the reference crop above;
     * otherwise in (0, 1], its start at this fraction of the spare length (n - 29.12 s): 0.2 reads the
     * excerpt a fifth of the way in. Shorter songs always give the padded whole song. */
    double position;
    /* Refuse songs shorter than this many seconds (0: accept any length, zero-padding the clip). */
    double min_seconds;
    /* EBU R128 integrated loudness of the native (multichannel) audio, into report->loudness. */
    mm_loudness_span loudness;
} mm_clip_options;
MM_API void mm_clip_options_init(mm_clip_options *options);

typedef struct mm_clip_report {
    int64_t total_12k;   /* length of the whole song at 12 kHz, librosa's ceil(n * 12000 / sr) */
    int64_t crop_start;  /* first 12 kHz sample of the clip (including crop_shift) */
    int64_t decoded;     /* native samples per channel actually decoded */
    int seeked;          /* 1 when the clip was read by seeking, 0 for a whole-file decode */
    double loudness;     /* integrated loudness in LUFS; -HUGE_VAL for silence; NAN if not measured */
} mm_clip_report;

/* Fills clip[MM_CLIP_SAMPLES] (see features.h) with the song's centre clip at 12 kHz, zero-padded at
 * the end for songs shorter than 29.12 s. report may be NULL. */
MM_API mm_status mm_audio_read_clip(mm_audio *audio, const mm_clip_options *options, float *clip,
                                    mm_clip_report *report, mm_error *err);

/* A whole decode (short songs, files whose length can't be trusted for a seek, mm_audio_decode_all)
 * holds at most this many native samples, an hour at 48 kHz (691 MB of float): a damaged or hostile
 * file that decodes to more is refused (MM_ERR_UNSUPPORTED) instead of filling memory. */
#define MM_AUDIO_MAX_WHOLE_SAMPLES (3600LL * 48000)

/* Decodes the whole file to mono (mean of channels) float at target_rate (0 = native rate, no
 * resampling); *samples is malloc'd, the caller frees it. At 12 kHz this is librosa.load(sr=12000). */
MM_API mm_status mm_audio_decode_all(mm_audio *audio, int target_rate, float **samples, int64_t *count,
                                     mm_error *err);

/* Decodes the whole file at its native rate (info.sample_rate) as interleaved float in [-1, 1], in
 * *channels = 2 when max_channels >= 2 and the file has two or more (its first two; more than two are
 * mixed down to the same mono on both), else 1 (the mean of its channels). A file longer than
 * max_seconds stops with MM_ERR_UNSUPPORTED rather than filling memory. *samples is malloc'd. */
MM_API mm_status mm_audio_decode_interleaved(mm_audio *audio, int max_channels, double max_seconds, float **samples,
                                             int64_t *frames, int *channels, mm_error *err);

/* Writing audio (for generated collections and tests): interleaved float PCM in [-1, 1] encoded
 * through FFmpeg's encoders. The container and codec follow `format`: "wav" (pcm_s16le), "flac", "mp3"
 * (libmp3lame), "ogg" (libvorbis), "opus" (libopus, resampled to 48 kHz), "m4a" (aac). */
typedef struct mm_audio_write_options {
    size_t size; /* sizeof the struct, set by mm_audio_write_options_init (docs/api.md: option structs) */
    const char *format;        /* NULL: taken from the path's extension */
    int out_sample_rate;       /* 0: the input's rate (opus always writes 48 kHz) */
    int out_channels;          /* 0: the input's channel count; 1 downmixes */
    int64_t bit_rate;          /* 0: the encoder's default */
    const mm_audio_tags *tags; /* NULL: no tags */
} mm_audio_write_options;
MM_API void mm_audio_write_options_init(mm_audio_write_options *options);

MM_API mm_status mm_audio_write(const char *path, const float *interleaved, int64_t frames, int channels,
                                int sample_rate, const mm_audio_write_options *options, mm_error *err);

#ifdef __cplusplus
}
#endif
#endif
