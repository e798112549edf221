/* The centre clip: seek and decode only what it needs, or decode everything when that is safer. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "musicmap/features.h"

/* Decoded before the clip and after it, then dropped: the resampler's filter needs this context to
 * reproduce a whole-file resample (10 ms is the measured minimum). */
#define CLIP_MARGIN_SECONDS 0.05
/* Songs shorter than the clip plus this are decoded whole: seeking would save nothing. */
#define SEEK_MIN_SPARE_SECONDS 0.5
/* The seek path checks that the file really goes on to the length its header gives by decoding its
 * last second: a file cut short fails as it would in a whole-file decode. */
#define TAIL_CHECK_SECONDS 1.0

/* librosa.load's output length: ceil(n * (target / native)) in binary64. */
static int64_t resampled_length(int64_t native, int native_rate)
{
    if (native_rate == MM_SAMPLE_RATE)
        return native;
    double ratio = (double)MM_SAMPLE_RATE / (double)native_rate;
    return (int64_t)ceil((double)native * ratio);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Collects native samples whose positions fall in [begin, end) into buf. */
typedef struct range_sink {
    float *buf;
    int64_t cap;     /* grows when end is unbounded */
    int64_t begin;
    int64_t end;     /* INT64_MAX for "to the end of the file" */
    int64_t filled;  /* highest offset written + 1 */
    int64_t limit;   /* 0, or the most samples a whole decode may hold (MM_AUDIO_MAX_WHOLE_SAMPLES) */
    int oom, too_long;
} range_sink;

static int range_sink_take(const float *mono, int count, int64_t first, void *ctx)
{
    range_sink *rs = ctx;
    if (rs->limit && first + count > rs->limit) {
        rs->too_long = 1;
        return 1;
    }
    int64_t lo = first > rs->begin ? first : rs->begin;
    int64_t hi = first + count < rs->end ? first + count : rs->end;
    if (hi > lo) {
        int64_t need = hi - rs->begin;
        if (need > rs->cap) {
            int64_t cap = rs->cap ? rs->cap : 1 << 20;
            while (cap < need)
                cap *= 2;
            float *grown = realloc(rs->buf, sizeof(float) * (size_t)cap);
            if (!grown) {
                rs->oom = 1;
                return 1;
            }
            rs->buf = grown;
            rs->cap = cap;
        }
        /* A gap (a packet that would not decode) stays silent rather than shifting what follows. */
        if (lo - rs->begin > rs->filled)
            memset(rs->buf + rs->filled, 0, sizeof(float) * (size_t)(lo - rs->begin - rs->filled));
        memcpy(rs->buf + (lo - rs->begin), mono + (lo - first), sizeof(float) * (size_t)(hi - lo));
        if (hi - rs->begin > rs->filled)
            rs->filled = hi - rs->begin;
    }
    return first + count >= rs->end;
}

static mm_status check_decode(const mm_audio *audio, const decode_stats *stats, mm_error *err)
{
    if ((stats->reached_eof && stats->ended_corrupt) || audio->truncated)
        return mm_error_set(err, MM_ERR_DECODE, "%s: truncated: the file ends in the middle of a packet",
                            audio->path);
    if (stats->samples == 0) {
        if (stats->bad_packets > 0)
            return mm_error_set(err, MM_ERR_DECODE, "%s: damaged audio: none of its %lld packets could be decoded",
                                audio->path, (long long)stats->packets);
        return mm_error_set(err, MM_ERR_DECODE, "%s: no audio could be decoded", audio->path);
    }
    /* Real libraries hold files with a glitch or two; only refuse ones that are mostly damage. */
    if (stats->bad_packets * 20 > stats->packets)
        return mm_error_set(err, MM_ERR_DECODE, "%s: damaged audio: %lld of %lld packets failed to decode",
                            audio->path, (long long)stats->bad_packets, (long long)stats->packets);
    return MM_OK;
}

static mm_status check_length(const mm_audio *audio, const mm_clip_options *options, int64_t decoded,
                              mm_error *err)
{
    const mm_audio_info *info = &audio->info;
    if (audio->counted && info->frames - decoded > info->sample_rate / 10)
        return mm_error_set(err, MM_ERR_DECODE, "%s: damaged audio: its packets hold %.2f s, only %.2f s decode",
                            audio->path, (double)info->frames / info->sample_rate, (double)decoded / info->sample_rate);
    if (info->frames_exact && info->frames - decoded > info->sample_rate / 10)
        return mm_error_set(err, MM_ERR_DECODE, "%s: truncated: the header promises %.2f s, only %.2f s can be decoded",
                            audio->path, (double)info->frames / info->sample_rate,
                            (double)decoded / info->sample_rate);
    if (options && options->min_seconds > 0 && decoded < options->min_seconds * info->sample_rate)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: too short: %.2f s of audio, at least %.2f s needed", audio->path,
                            (double)decoded / info->sample_rate, options->min_seconds);
    return MM_OK;
}

static int discard_sink(const float *mono, int count, int64_t first, void *ctx)
{
    (void)ctx;
    (void)mono;
    (void)count;
    (void)first;
    return 0;
}

/* Decodes the last second: the file must reach the length its header promises. */
static mm_status check_tail(mm_audio *audio, const mm_clip_options *options, mm_error *err)
{
    const mm_audio_info *info = &audio->info;
    int64_t from = info->frames - (int64_t)(TAIL_CHECK_SECONDS * info->sample_rate);
    decode_stats stats;
    if (from <= 0 || audio_decode_from(audio, from, discard_sink, NULL, NULL, &stats, NULL) != MM_OK)
        return MM_OK; /* can't seek there: nothing to say */
    mm_status st = check_decode(audio, &stats, err);
    if (st == MM_OK && stats.first_position >= 0 && stats.first_position <= from)
        st = check_length(audio, options, stats.end_position, err);
    return st;
}

/* Decodes the whole file to mono float at the native rate (metering loudness if meter is not NULL). */
static mm_status decode_whole(mm_audio *audio, const mm_clip_options *options, float **samples, int64_t *count,
                              loudness_meter *meter, mm_error *err)
{
    range_sink rs = {.begin = 0, .end = INT64_MAX, .limit = MM_AUDIO_MAX_WHOLE_SAMPLES};
    decode_stats stats;
    mm_status st = audio_decode_from(audio, 0, range_sink_take, &rs, meter, &stats, err);
    if (st == MM_OK && rs.oom)
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory decoding the whole file", audio->path);
    if (st == MM_OK && rs.too_long)
        st = mm_error_set(err, MM_ERR_UNSUPPORTED,
                          "%s: decodes to more than %lld samples (an hour at 48 kHz) with no usable length to seek "
                          "by: cut off",
                          audio->path, (long long)MM_AUDIO_MAX_WHOLE_SAMPLES);
    if (st == MM_OK)
        st = check_decode(audio, &stats, err);
    if (st == MM_OK)
        st = check_length(audio, options, rs.filled, err);
    if (st != MM_OK) {
        free(rs.buf);
        return st;
    }
    *samples = rs.buf;
    *count = rs.filled;
    return MM_OK;
}

mm_status mm_audio_decode_all(mm_audio *audio, int target_rate, float **samples, int64_t *count, mm_error *err)
{
    *samples = NULL;
    *count = 0;
    float *native = NULL;
    int64_t n = 0;
    mm_status st = decode_whole(audio, NULL, &native, &n, NULL, err);
    if (st != MM_OK)
        return st;
    int sr = audio->info.sample_rate;
    if (target_rate <= 0 || target_rate == sr) {
        *samples = native;
        *count = n;
        return MM_OK;
    }
    float *out = NULL;
    int64_t got = 0;
    st = audio_resample_mono(audio->path, native, n, sr, target_rate, &out, &got, err);
    free(native);
    if (st != MM_OK)
        return st;
    /* librosa's fix_length to ceil(n * ratio): pad with zeros or cut. */
    int64_t want = (int64_t)ceil((double)n * ((double)target_rate / (double)sr));
    if (want > got) {
        float *grown = realloc(out, sizeof(float) * (size_t)want);
        if (!grown) {
            free(out);
            return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", audio->path);
        }
        out = grown;
        memset(out + got, 0, sizeof(float) * (size_t)(want - got));
    }
    *samples = out;
    *count = want;
    return MM_OK;
}

typedef struct interleaved_sink {
    float *buf;
    int64_t frames, cap, max_frames;
    int channels;
    int oom, too_long;
} interleaved_sink;

static int interleaved_take(const float *pcm, int count, int64_t first, void *ctx)
{
    interleaved_sink *is = ctx;
    (void)first; /* decoded from the start: frames arrive in order */
    if (is->frames + count > is->max_frames) {
        is->too_long = 1;
        return 1;
    }
    if (is->frames + count > is->cap) {
        int64_t cap = is->cap ? is->cap * 2 : 1 << 20;
        while (cap < is->frames + count)
            cap *= 2;
        float *grown = realloc(is->buf, sizeof(float) * (size_t)cap * (size_t)is->channels);
        if (!grown) {
            is->oom = 1;
            return 1;
        }
        is->buf = grown;
        is->cap = cap;
    }
    memcpy(is->buf + is->frames * is->channels, pcm, sizeof(float) * (size_t)count * (size_t)is->channels);
    is->frames += count;
    return 0;
}

mm_status mm_audio_decode_interleaved(mm_audio *audio, int max_channels, double max_seconds, float **samples,
                                      int64_t *frames, int *channels, mm_error *err)
{
    *samples = NULL;
    *frames = 0;
    *channels = 0;
    if (max_channels < 1 || !(max_seconds > 0))
        return mm_error_set(err, MM_ERR_ARG, "%s: decoding needs at least one channel and a time limit", audio->path);
    const int ch = max_channels >= 2 && audio->info.channels >= 2 ? 2 : 1;
    const double limit = max_seconds * audio->info.sample_rate;
    interleaved_sink is = {.channels = ch, .max_frames = limit < 9e18 ? (int64_t)limit : INT64_MAX};
    decode_stats stats;
    mm_status st = audio_decode_channels(audio, 0, ch, interleaved_take, &is, NULL, &stats, err);
    if (st == MM_OK && is.oom)
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory decoding the whole file", audio->path);
    if (st == MM_OK && is.too_long)
        st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: longer than %.0f s: not decoded whole", audio->path,
                          max_seconds);
    if (st == MM_OK)
        st = check_decode(audio, &stats, err);
    if (st != MM_OK) {
        free(is.buf);
        return st;
    }
    *samples = is.buf;
    *frames = is.frames;
    *channels = ch;
    return MM_OK;
}

static void cut_clip(const float *y, int64_t n, int64_t start, float *clip)
{
    for (int64_t i = 0; i < MM_CLIP_SAMPLES; i++) {
        int64_t k = start + i;
        clip[i] = k >= 0 && k < n ? y[k] : 0.0f;
    }
}

/* The native span the clip covers, from the (possibly estimated) length: where "loudness over the
 * clip" is measured. */
static void clip_native_span(const mm_audio *audio, int64_t crop_shift, int64_t *begin, int64_t *end)
{
    const int sr = audio->info.sample_rate;
    int64_t n = resampled_length(audio->info.frames, sr);
    int64_t crop = mm_clip_crop_start(n) + (n > MM_CLIP_SAMPLES ? crop_shift : 0);
    *begin = (int64_t)((double)crop * sr / MM_SAMPLE_RATE);
    *end = (int64_t)ceil((double)(crop + MM_CLIP_SAMPLES) * sr / MM_SAMPLE_RATE);
}

static mm_status open_meter(mm_audio *audio, const mm_clip_options *options, loudness_meter *meter,
                            int *metering, mm_error *err)
{
    *metering = options->loudness != MM_LOUDNESS_NONE;
    if (!*metering)
        return MM_OK;
    int64_t begin = 0, end = INT64_MAX;
    if (options->loudness == MM_LOUDNESS_CLIP)
        clip_native_span(audio, options->crop_shift, &begin, &end);
    return loudness_meter_open(meter, audio, begin, end, err);
}

static mm_status clip_from_whole(mm_audio *audio, const mm_clip_options *options, float *clip,
                                 mm_clip_report *report, mm_error *err)
{
    float *native = NULL;
    int64_t n_native = 0;
    loudness_meter meter;
    int metering;
    mm_status st = open_meter(audio, options, &meter, &metering, err);
    if (st != MM_OK)
        return st;
    st = decode_whole(audio, options, &native, &n_native, metering ? &meter : NULL, err);
    if (metering) {
        report->loudness = loudness_meter_result(&meter);
        loudness_meter_close(&meter);
    }
    if (st != MM_OK)
        return st;
    float *y = native;
    int64_t got = n_native;
    int sr = audio->info.sample_rate;
    if (sr != MM_SAMPLE_RATE) {
        st = audio_resample_mono(audio->path, native, n_native, sr, MM_SAMPLE_RATE, &y, &got, err);
        free(native);
        if (st != MM_OK)
            return st;
    }
    int64_t n = resampled_length(n_native, sr);
    int64_t start = mm_clip_crop_start(n);
    if (n > MM_CLIP_SAMPLES)
        start += options->crop_shift;
    cut_clip(y, got < n ? got : n, start, clip);
    free(y);
    report->total_12k = n;
    report->crop_start = start;
    report->decoded = n_native;
    report->seeked = 0;
    return MM_OK;
}

/* Returns MM_ERR_UNSUPPORTED when seeking can't give an exact clip, so the caller decodes whole. */
static mm_status clip_by_seeking(mm_audio *audio, const mm_clip_options *options, float *clip,
                                 mm_clip_report *report, mm_error *err)
{
    const int sr = audio->info.sample_rate;
    const int64_t n_native = audio->info.frames;
    const int64_t n = resampled_length(n_native, sr);
    const int64_t crop = mm_clip_crop_start(n) + options->crop_shift;
    /* Native sample s sits on the 12 kHz grid only when s is a multiple of step_native; there it is
     * 12 kHz sample s / step_native * step_12k. Starting there keeps the resampler's phase. */
    const int64_t g = gcd64(sr, MM_SAMPLE_RATE);
    const int64_t step_native = sr / g, step_12k = MM_SAMPLE_RATE / g;
    const int64_t margin = (int64_t)ceil(CLIP_MARGIN_SECONDS * sr);
    int64_t native_crop = crop * step_native / step_12k;
    int64_t begin = (native_crop - margin) / step_native * step_native;
    if (begin < 0)
        begin = 0;
    int64_t begin_12k = begin / step_native * step_12k;
    int64_t end = (crop + MM_CLIP_SAMPLES) * step_native / step_12k + 1 + margin;
    if (end > n_native)
        end = n_native;

    range_sink rs = {.begin = begin, .end = end};
    rs.cap = end - begin;
    rs.buf = malloc(sizeof(float) * (size_t)rs.cap);
    if (!rs.buf)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", audio->path);
    decode_stats stats;
    loudness_meter meter;
    int metering;
    mm_status st = open_meter(audio, options, &meter, &metering, err);
    if (st != MM_OK) {
        free(rs.buf);
        return st;
    }
    st = audio_decode_from(audio, begin, range_sink_take, &rs, metering ? &meter : NULL, &stats, err);
    if (metering) {
        report->loudness = loudness_meter_result(&meter);
        loudness_meter_close(&meter);
    }
    if (st == MM_OK && rs.oom)
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", audio->path);
    if (st == MM_OK)
        st = check_decode(audio, &stats, err);
    /* The seek must land at or before the start, and the file must hold all we asked for. */
    if (st == MM_OK && (stats.first_position < 0 || stats.first_position > begin || rs.filled < end - begin))
        st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: seek was inexact", audio->path);
    if (st == MM_OK && end < n_native)
        st = check_tail(audio, options, err);
    float *y = NULL;
    int64_t got = 0;
    if (st == MM_OK) {
        if (sr == MM_SAMPLE_RATE) {
            y = rs.buf;
            got = rs.filled;
            rs.buf = NULL;
        } else {
            st = audio_resample_mono(audio->path, rs.buf, rs.filled, sr, MM_SAMPLE_RATE, &y, &got, err);
        }
    }
    free(rs.buf);
    if (st != MM_OK)
        return st;
    /* y[j] is 12 kHz sample begin_12k + j of the whole song, which has n samples. */
    int64_t valid = n - begin_12k < got ? n - begin_12k : got;
    cut_clip(y, valid, crop - begin_12k, clip);
    free(y);
    report->total_12k = n;
    report->crop_start = crop;
    report->decoded = stats.samples;
    report->seeked = 1;
    return MM_OK;
}

void mm_clip_options_init(mm_clip_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

mm_status mm_audio_read_clip(mm_audio *audio, const mm_clip_options *options, float *clip,
                             mm_clip_report *report, mm_error *err)
{
    mm_clip_options given;
    mm_clip_options_init(&given);
    util_options_copy(&given, sizeof given, options, UTIL_OPTIONS_END(mm_clip_options, loudness));
    options = &given;
    mm_clip_report local;
    mm_clip_options placed;
    if (options->position > 0) {
        /* another excerpt: a crop shift from the centre, in the song's (exact) length */
        const mm_audio_info *in = &audio->info;
        if (!in->frames_exact && !options->full_decode)
            mm_audio_count_frames(audio, NULL);
        int64_t n = resampled_length(in->frames, in->sample_rate), spare = n - MM_CLIP_SAMPLES;
        placed = *options;
        if (spare > 0) {
            double at = options->position < 1 ? options->position : 1;
            placed.crop_shift += (int64_t)(at * (double)spare) - mm_clip_crop_start(n);
        }
        options = &placed;
    }
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    report->loudness = NAN;
    const mm_audio_info *info = &audio->info;
    /* Whole-song loudness needs every sample decoded anyway. */
    if (!options->full_decode && options->loudness != MM_LOUDNESS_SONG) {
        /* The crop start depends on the exact length; count packets when the header only estimates. */
        if (!info->frames_exact)
            mm_audio_count_frames(audio, NULL);
        int64_t n = resampled_length(info->frames, info->sample_rate);
        /* seek when the clip leaves some song before and after it (a few seconds of slack for lengths
         * that turn out inexact: the seek path then falls back) */
        const int64_t slack = (int64_t)(SEEK_MIN_SPARE_SECONDS * MM_SAMPLE_RATE) / 2;
        int64_t crop = mm_clip_crop_start(n) + options->crop_shift;
        int long_enough = n - MM_CLIP_SAMPLES > 2 * slack && crop > slack && n - crop - MM_CLIP_SAMPLES > slack;
        if (info->frames_exact && long_enough) {
            mm_error seek_err;
            mm_status st = clip_by_seeking(audio, options, clip, report, &seek_err);
            if (st != MM_ERR_UNSUPPORTED) {
                if (st != MM_OK && err)
                    *err = seek_err;
                return st;
            }
        }
    }
    return clip_from_whole(audio, options, clip, report, err);
}
