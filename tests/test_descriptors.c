/* Descriptors on synthetic signals whose values are known without the code under test: tempo of click
 * tracks, chroma of sines, spectral shape of sines and white noise, level and spread of steady and
 * stepped tones, the DCT of a known log-mel; finiteness on degenerate input; the shared STFT. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "musicmap/features.h"
#include "testutil.h"

#define N_LOGMEL ((size_t)MM_N_MELS * MM_N_FRAMES)
#define N_POWER ((size_t)MM_N_BINS * MM_N_FRAMES)
#define SR ((double)MM_SAMPLE_RATE)

/* The index of a named dimension (fails the test when there is none). */
static int dim(const char *name)
{
    for (int i = 0; i < MM_DESCRIPTOR_DIM; i++)
        if (strcmp(mm_descriptor_name(i), name) == 0)
            return i;
    fail_msg("no descriptor named %s", name);
    return -1;
}

/* Descriptors of a clip through the whole path: log-mel and power from the front-end, then these. */
static void describe(const float *clip, size_t valid, float *out)
{
    float *logmel = malloc(sizeof(float) * N_LOGMEL), *power = malloc(sizeof(float) * N_POWER);
    assert_true(logmel && power);
    mm_mel *mel;
    mm_descriptors *d;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    assert_int_equal(mm_descriptors_open(&d, NULL), MM_OK);
    mm_mel_compute_with_power(mel, clip, logmel, power);
    assert_int_equal(mm_descriptors_compute(d, clip, valid, logmel, power, out, NULL), MM_OK);
    for (int i = 0; i < MM_DESCRIPTOR_DIM; i++)
        if (!isfinite(out[i]))
            fail_msg("%s is not finite", mm_descriptor_name(i));
    mm_descriptors_close(d);
    mm_mel_close(mel);
    free(logmel);
    free(power);
}

static float *sine(double hz, double amplitude, size_t count)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float));
    assert_non_null(clip);
    for (size_t i = 0; i < count; i++)
        clip[i] = (float)(amplitude * sin(2 * M_PI * hz * (double)i / SR));
    return clip;
}

/* xorshift64* uniform in [-1, 1): reproducible noise without the library's generator */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static float *white_noise(double amplitude, uint64_t seed)
{
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    assert_non_null(clip);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = (float)(amplitude * uniform(&seed));
    return clip;
}

/* Clicks (20 ms of a decaying 1.5 kHz tone) every 60 / bpm seconds, at exact sample positions. */
static float *click_track(double bpm)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float));
    assert_non_null(clip);
    double period = 60.0 / bpm * SR;
    for (double at = 0.05 * SR; at < MM_CLIP_SAMPLES; at += period) {
        size_t start = (size_t)llround(at);
        for (size_t i = 0; i < 240 && start + i < MM_CLIP_SAMPLES; i++)
            clip[start + i] += (float)(0.6 * exp(-(double)i / 36.0) * sin(2 * M_PI * 1500.0 * (double)i / SR));
    }
    return clip;
}

static void check_tempo(double bpm)
{
    float *clip = click_track(bpm), out[MM_DESCRIPTOR_DIM];
    describe(clip, MM_CLIP_SAMPLES, out);
    float got = out[dim("tempo_bpm")];
    print_message("clicks at %.0f bpm: tempo %.2f bpm (log2 %.4f), pulse clarity %.3f\n", bpm, got,
                  out[dim("tempo_log2")], out[dim("pulse_clarity")]);
    assert_true(fabs(got - bpm) <= 2.0); /* which also rules out octave errors */
    assert_float_equal(out[dim("tempo_log2")], log2(got / 120.0), 1e-5);
    assert_true(out[dim("pulse_clarity")] > 0.8);
    free(clip);
}

static void test_tempo_120(void **state) { check_tempo(120.0); }
static void test_tempo_90(void **state) { check_tempo(90.0); }
static void test_tempo_others(void **state)
{
    check_tempo(100.0);
    check_tempo(140.0);
}

/* A clip of 12 s of clicks and zeros after: the padding must not count (the tempo and the level stay). */
static void test_short_clip(void **state)
{
    size_t valid = (size_t)(12 * SR);
    float *clip = click_track(120.0), full[MM_DESCRIPTOR_DIM], part[MM_DESCRIPTOR_DIM];
    describe(clip, MM_CLIP_SAMPLES, full);
    memset(clip + valid, 0, sizeof(float) * (MM_CLIP_SAMPLES - valid));
    describe(clip, valid, part);
    print_message("12 s of clicks: tempo %.2f bpm, rms %.2f dB (whole clip %.2f dB), onset mean %.3f (%.3f)\n",
                  part[dim("tempo_bpm")], part[dim("rms_db_mean")], full[dim("rms_db_mean")],
                  part[dim("onset_mean")], full[dim("onset_mean")]);
    assert_true(fabs(part[dim("tempo_bpm")] - 120.0) <= 2.0);
    assert_float_equal(part[dim("rms_db_mean")], full[dim("rms_db_mean")], 0.5);
    assert_float_equal(part[dim("onset_mean")], full[dim("onset_mean")], 0.05 * full[dim("onset_mean")]);
    free(clip);
}

static void test_chroma_a440(void **state)
{
    float *clip = sine(440.0, 0.5, MM_CLIP_SAMPLES), out[MM_DESCRIPTOR_DIM];
    describe(clip, MM_CLIP_SAMPLES, out);
    int a = dim("chroma_A");
    assert_int_equal(a - dim("chroma_C"), 9); /* documented order C, C#, ..., B */
    print_message("A 440 Hz: chroma A %.3f, G# %.3f, A# %.3f\n", out[a], out[a - 1], out[a + 1]);
    assert_float_equal(out[a], 1.0f, 1e-6);
    for (int c = 0; c < 12; c++)
        if (c != 9)
            assert_true(out[dim("chroma_C") + c] <= 0.2f);
    free(clip);
}

/* C4, E4, G4 (equal temperament from A4 = 440 Hz): the three strongest classes, and a major key. */
static void test_chroma_triad(void **state)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float)), out[MM_DESCRIPTOR_DIM];
    const int semitones[3] = {-9, -5, -2};
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        for (int j = 0; j < 3; j++)
            clip[i] += (float)(0.2 * sin(2 * M_PI * 440.0 * pow(2.0, semitones[j] / 12.0) * (double)i / SR));
    describe(clip, MM_CLIP_SAMPLES, out);
    const float *chroma = out + dim("chroma_C");
    float weakest_in = 1, strongest_out = 0;
    for (int c = 0; c < 12; c++) {
        int in = c == 0 || c == 4 || c == 7;
        weakest_in = in && chroma[c] < weakest_in ? chroma[c] : weakest_in;
        strongest_out = !in && chroma[c] > strongest_out ? chroma[c] : strongest_out;
    }
    print_message("C major triad: C E G >= %.3f, others <= %.3f; key strength major %.3f minor %.3f\n", weakest_in,
                  strongest_out, out[dim("key_major")], out[dim("key_minor")]);
    assert_true(weakest_in > 0.5f && strongest_out < 0.2f);
    assert_true(out[dim("key_major")] > 0.6f);
    free(clip);
}

static void test_sine_shape(void **state)
{
    float *clip = sine(1000.0, 0.5, MM_CLIP_SAMPLES), out[MM_DESCRIPTOR_DIM];
    describe(clip, MM_CLIP_SAMPLES, out);
    double rms_db = 20 * log10(0.5 / sqrt(2.0));
    print_message("1 kHz sine: centroid %.1f Hz, flatness %.2e, zcr %.4f, rms %.2f dB (expected %.2f), "
                  "loudness range %.2f dB\n", 1000 * out[dim("centroid_mean")], out[dim("flatness_mean")],
                  out[dim("zcr_mean")], out[dim("rms_db_mean")], rms_db, out[dim("loudness_range_db")]);
    assert_true(fabs(1000.0 * out[dim("centroid_mean")] - 1000.0) <= 50.0);
    assert_true(out[dim("flatness_mean")] < 0.05f);
    /* two crossings per period, over 512-sample frames (the two edge frames hold half as many) */
    assert_float_equal(out[dim("zcr_mean")], 2 * 1000.0 / SR, 0.002);
    assert_float_equal(out[dim("rms_db_mean")], rms_db, 0.1);
    assert_true(out[dim("loudness_range_db")] < 0.5f);
    /* a steady tone has no onsets, hence no rhythm */
    assert_true(out[dim("onset_std")] < 1e-3f);
    assert_float_equal(out[dim("tempo_log2")], 0.0, 0.0);
    for (int i = 0; i < 8; i++)
        assert_float_equal(out[dim("onset_acf_0") + i], 0.0, 0.0);
    free(clip);
}

/* The band profile of a 1 kHz tone over half a clip (the rest silence): each band's mean and standard
 * deviation over the frames wholly inside the audio, t = 1 .. valid / hop - 1, computed here plainly in
 * double from the same log-mel (tolerance 1e-3 dB: the library sums in double, rounds to float); the
 * band holding 1 kHz stands far above the median band. */
static void test_band_profile(void **state)
{
    const size_t valid = MM_CLIP_SAMPLES / 2;
    float *clip = sine(1000.0, 0.5, valid), out[MM_DESCRIPTOR_DIM];
    float *logmel = malloc(sizeof(float) * N_LOGMEL);
    mm_mel *mel;
    mm_descriptors *d;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    assert_int_equal(mm_descriptors_open(&d, NULL), MM_OK);
    mm_mel_compute(mel, clip, logmel);
    assert_int_equal(mm_descriptors_compute(d, clip, valid, logmel, NULL, out, NULL), MM_OK);
    const int first = 1, n = (int)(valid / MM_HOP) - 1;
    int peak = 0;
    double means[MM_N_MELS];
    for (int m = 0; m < MM_N_MELS; m++) {
        double sum = 0, sq = 0;
        for (int t = first; t < first + n; t++)
            sum += logmel[m * MM_N_FRAMES + t];
        double mean = sum / n;
        for (int t = first; t < first + n; t++)
            sq += (logmel[m * MM_N_FRAMES + t] - mean) * (logmel[m * MM_N_FRAMES + t] - mean);
        assert_float_equal(out[dim("band_mean_0") + m], mean, 1e-3);
        assert_float_equal(out[dim("band_std_0") + m], sqrt(sq / n), 1e-3);
        means[m] = mean;
        peak = means[m] > means[peak] ? m : peak;
    }
    double sorted[MM_N_MELS];
    memcpy(sorted, means, sizeof sorted);
    for (int i = 1; i < MM_N_MELS; i++) /* insertion sort: 96 values */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    print_message("1 kHz tone: loudest band %d (%.1f dB), median band %.1f dB\n", peak, means[peak],
                  sorted[MM_N_MELS / 2]);
    assert_true(means[peak] - sorted[MM_N_MELS / 2] > 20.0);
    mm_descriptors_close(d);
    mm_mel_close(mel);
    free(logmel);
    free(clip);
}

/* White noise: a flat spectrum, so the magnitude centroid is Nyquist / 2, the bandwidth that of a uniform
 * distribution (6 kHz / sqrt 12), the roll-off 85 % of Nyquist, and the flatness e^-gamma = 0.56 (the
 * power of each bin is exponentially distributed). */
static void test_white_noise(void **state)
{
    float *clip = white_noise(0.5, 42), out[MM_DESCRIPTOR_DIM];
    describe(clip, MM_CLIP_SAMPLES, out);
    print_message("white noise: flatness %.3f, centroid %.0f Hz, bandwidth %.0f Hz, roll-off %.0f Hz, "
                  "zcr %.3f, contrast %.1f..%.1f dB\n", out[dim("flatness_mean")], 1000 * out[dim("centroid_mean")],
                  1000 * out[dim("bandwidth_mean")], 1000 * out[dim("rolloff_mean")], out[dim("zcr_mean")],
                  out[dim("contrast_0")], out[dim("contrast_6")]);
    assert_true(out[dim("flatness_mean")] > 0.5f);
    assert_true(fabs(1000 * out[dim("centroid_mean")] - 3000.0) < 100.0);
    assert_true(fabs(1000 * out[dim("bandwidth_mean")] - 6000.0 / sqrt(12.0)) < 100.0);
    assert_true(fabs(1000 * out[dim("rolloff_mean")] - 5100.0) < 150.0);
    assert_float_equal(out[dim("zcr_mean")], 0.5, 0.02);
    /* no pulse: no tempo (the prior's centre) and no clarity */
    assert_float_equal(out[dim("tempo_bpm")], 120.0, 0.0);
    assert_float_equal(out[dim("pulse_clarity")], 0.0, 0.0);
    free(clip);
}

/* 10 s loud, 10 s 20 dB quieter, 9.12 s loud: the spread between the 10th and 95th percentiles is 20 dB. */
static void test_loudness_range(void **state)
{
    float *clip = sine(330.0, 0.5, MM_CLIP_SAMPLES), out[MM_DESCRIPTOR_DIM];
    for (size_t i = (size_t)(10 * SR); i < (size_t)(20 * SR); i++)
        clip[i] *= 0.1f;
    describe(clip, MM_CLIP_SAMPLES, out);
    print_message("stepped sine: loudness range %.2f dB\n", out[dim("loudness_range_db")]);
    assert_float_equal(out[dim("loudness_range_db")], 20.0, 1.0);
    free(clip);
}

/* The MFCCs of a log-mel that is the k-th DCT basis vector in every frame: coefficient k alone, of size
 * sqrt(96 / 2) (the basis row has norm sqrt(96 / 2) before the orthonormal scaling). */
static void test_mfcc_basis(void **state)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float)), *logmel = malloc(sizeof(float) * N_LOGMEL);
    float out[MM_DESCRIPTOR_DIM];
    const int k = 3;
    for (int m = 0; m < MM_N_MELS; m++)
        for (int t = 0; t < MM_N_FRAMES; t++)
            logmel[(size_t)m * MM_N_FRAMES + t] = (float)cos(M_PI * k * (2 * m + 1) / (2.0 * MM_N_MELS)) - 50.0f;
    mm_descriptors *d;
    assert_int_equal(mm_descriptors_open(&d, NULL), MM_OK);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, logmel, NULL, out, NULL), MM_OK);
    mm_descriptors_close(d);
    char name[32];
    for (int j = 0; j < 20; j++) {
        snprintf(name, sizeof name, "mfcc_mean_%d", j);
        double want = j == k ? sqrt(MM_N_MELS / 2.0) : j == 0 ? -50.0 * sqrt((double)MM_N_MELS) : 0.0;
        assert_float_equal(out[dim(name)], want, 1e-3 * (1 + fabs(want)));
        snprintf(name, sizeof name, "mfcc_std_%d", j);
        assert_float_equal(out[dim(name)], 0.0, 1e-3);
        snprintf(name, sizeof name, "mfcc_delta_std_%d", j);
        assert_float_equal(out[dim(name)], 0.0, 1e-3);
    }
    free(clip);
    free(logmel);
}

static void check_all_finite(const float *clip, size_t valid, const char *what)
{
    float out[MM_DESCRIPTOR_DIM];
    describe(clip, valid, out);
    print_message("%-22s tempo %.1f, flatness %.3f, rms %.1f dB, key %.2f/%.2f\n", what, out[dim("tempo_bpm")],
                  out[dim("flatness_mean")], out[dim("rms_db_mean")], out[dim("key_major")], out[dim("key_minor")]);
}

static void test_degenerate(void **state)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float));
    check_all_finite(clip, MM_CLIP_SAMPLES, "silence");
    check_all_finite(clip, 0, "nothing valid");
    for (int i = 0; i < 10; i++)
        clip[i] = 0.5f * (float)(i % 2 ? 1 : -1);
    check_all_finite(clip, 10, "10 samples");
    check_all_finite(clip, 300, "300 samples");
    free(clip);
    /* hard clipping: a square wave at full scale, and noise clipped at +-1 */
    clip = sine(200.0, 1.0, MM_CLIP_SAMPLES);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = clip[i] >= 0 ? 1.0f : -1.0f;
    check_all_finite(clip, MM_CLIP_SAMPLES, "full-scale square");
    free(clip);
    clip = white_noise(4.0, 7);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = clip[i] > 1 ? 1.0f : clip[i] < -1 ? -1.0f : clip[i];
    check_all_finite(clip, MM_CLIP_SAMPLES, "clipped noise");
    /* a DC offset, and a clip with a NaN in it */
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = 0.25f;
    check_all_finite(clip, MM_CLIP_SAMPLES, "DC");
    clip[1000] = NAN;
    check_all_finite(clip, MM_CLIP_SAMPLES, "NaN sample");
    free(clip);
}

/* The one-pass front-end gives mm_mel_compute's log-mel and mm_mel_stft_power's power, bit for bit.
 * The descriptors leave out the edge frames, so they do not depend on the padding mode, nor on whether
 * the power is passed or recomputed; and an object reused after a different clip answers as a new one. */
static void test_shared_stft(void **state)
{
    float *clip = white_noise(0.3, 3);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] += (float)(0.3 * sin(2 * M_PI * 523.25 * (double)i / SR));
    float *x1 = malloc(sizeof(float) * N_LOGMEL), *x2[2], *p1 = malloc(sizeof(float) * N_POWER), *p2[2];
    for (int pad = MM_PAD_REFLECT; pad <= MM_PAD_CONSTANT; pad++) {
        x2[pad] = malloc(sizeof(float) * N_LOGMEL);
        p2[pad] = malloc(sizeof(float) * N_POWER);
        mm_mel *mel;
        assert_int_equal(mm_mel_open(&mel, (mm_pad_mode)pad, NULL), MM_OK);
        mm_mel_compute(mel, clip, x1);
        mm_mel_stft_power(mel, clip, p1);
        memset(x2[pad], 0xff, sizeof(float) * N_LOGMEL);
        memset(p2[pad], 0xff, sizeof(float) * N_POWER);
        mm_mel_compute_with_power(mel, clip, x2[pad], p2[pad]);
        assert_memory_equal(x1, x2[pad], sizeof(float) * N_LOGMEL);
        assert_memory_equal(p1, p2[pad], sizeof(float) * N_POWER);
        mm_mel_close(mel);
    }
    float a[MM_DESCRIPTOR_DIM], b[MM_DESCRIPTOR_DIM], other[MM_DESCRIPTOR_DIM];
    mm_descriptors *d, *fresh;
    assert_int_equal(mm_descriptors_open(&d, NULL), MM_OK);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, x2[0], p2[0], a, NULL), MM_OK);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, x2[1], p2[1], b, NULL), MM_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, x2[0], NULL, b, NULL), MM_OK);
    assert_memory_equal(a, b, sizeof a);
    /* a short clip through the same object, then the first again */
    float *tone = sine(220.0, 0.4, 20000);
    describe(tone, 20000, other);
    float *xt = malloc(sizeof(float) * N_LOGMEL);
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    mm_mel_compute(mel, tone, xt);
    mm_mel_close(mel);
    assert_int_equal(mm_descriptors_compute(d, tone, 20000, xt, NULL, b, NULL), MM_OK);
    assert_memory_equal(other, b, sizeof other);
    assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, x2[0], p2[0], b, NULL), MM_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(mm_descriptors_open(&fresh, NULL), MM_OK);
    assert_int_equal(mm_descriptors_compute(fresh, clip, MM_CLIP_SAMPLES, x2[0], p2[0], b, NULL), MM_OK);
    assert_memory_equal(a, b, sizeof a);
    mm_descriptors_close(fresh);
    mm_descriptors_close(d);
    for (int pad = 0; pad < 2; pad++) {
        free(x2[pad]);
        free(p2[pad]);
    }
    free(tone);
    free(xt);
    free(clip);
    free(x1);
    free(p1);
}

static void test_names(void **state)
{
    int per_group[MM_DESC_N_GROUPS] = {0};
    for (int i = 0; i < MM_DESCRIPTOR_DIM; i++) {
        const char *name = mm_descriptor_name(i);
        assert_non_null(name);
        for (int j = 0; j < i; j++)
            if (strcmp(name, mm_descriptor_name(j)) == 0)
                fail_msg("%s twice", name);
        mm_descriptor_group g = mm_descriptor_group_of(i);
        assert_true(g >= MM_DESC_TIMBRE && g < MM_DESC_N_GROUPS);
        /* groups are contiguous, in enum order */
        if (i > 0)
            assert_true(g == mm_descriptor_group_of(i - 1) || g == mm_descriptor_group_of(i - 1) + 1);
        per_group[g]++;
    }
    assert_null(mm_descriptor_name(-1));
    assert_null(mm_descriptor_name(MM_DESCRIPTOR_DIM));
    assert_int_equal(mm_descriptor_group_of(MM_DESCRIPTOR_DIM), MM_DESC_N_GROUPS);
    assert_string_equal(mm_descriptor_name(0), "mfcc_mean_0");
    assert_int_equal(mm_descriptor_group_of(dim("tempo_bpm")), MM_DESC_RHYTHM);
    assert_int_equal(mm_descriptor_group_of(dim("chroma_A")), MM_DESC_HARMONY);
    assert_int_equal(mm_descriptor_group_of(dim("flatness_mean")), MM_DESC_SPECTRAL);
    assert_int_equal(mm_descriptor_group_of(dim("rms_db_mean")), MM_DESC_DYNAMICS);
    assert_int_equal(mm_descriptor_group_of(dim("band_mean_0")), MM_DESC_BANDS);
    assert_int_equal(dim("band_mean_0"), MM_DESCRIPTOR_SUMMARY_DIM);
    assert_int_equal(dim("band_std_95"), MM_DESCRIPTOR_DIM - 1);
    assert_int_equal(per_group[MM_DESC_BANDS], 2 * MM_N_MELS);
    print_message("%d dimensions: timbre %d, spectral %d, rhythm %d, harmony %d, dynamics %d, bands %d\n",
                  MM_DESCRIPTOR_DIM, per_group[0], per_group[1], per_group[2], per_group[3], per_group[4], per_group[5]);
}

/* Map input: euclidean distances after mm_descriptors_standardise are those of the cosines of the
 * z-scored parts (summary statistics, band profile), computed here plainly in double; each row has unit
 * length; a constant dimension contributes nothing and a row at the mean stays zero. */
static void test_standardise(void **state)
{
    enum { N = 40, D = MM_DESCRIPTOR_DIM };
    static float x[N * D];
    static double z[N * D];
    uint64_t seed = 5;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) /* dimensions of very different scales and offsets */
            x[i * D + j] = (float)((j + 1) * 10.0 * uniform(&seed) + 1000.0 * j);
    for (int i = 0; i < N; i++)
        x[i * D + 7] = 3.0f; /* constant */
    for (int j = 0; j < D; j++) { /* the last row: every dimension at the others' mean */
        double m = 0;
        for (int i = 0; i < N - 1; i++)
            m += x[i * D + j];
        x[(N - 1) * D + j] = (float)(m / (N - 1));
    }
    for (int j = 0; j < D; j++) {
        double m = 0, s = 0;
        for (int i = 0; i < N; i++)
            m += x[i * D + j];
        m /= N;
        for (int i = 0; i < N; i++)
            s += (x[i * D + j] - m) * (x[i * D + j] - m);
        s = sqrt(s / (N - 1));
        for (int i = 0; i < N; i++)
            z[i * D + j] = s > 0 ? (x[i * D + j] - m) / s : 0;
    }
    mm_descriptors_standardise(x, N);
    /* two parts, each scaled to 1/sqrt(2): distance^2 = (2 - 2 cos_summary) / 2 + (2 - 2 cos_bands) / 2 */
    const int S = MM_DESCRIPTOR_SUMMARY_DIM;
    for (int i = 0; i < N - 1; i++) {
        double norm = 0, zs = 0, zb = 0;
        for (int j = 0; j < D; j++) {
            norm += (double)x[i * D + j] * x[i * D + j];
            *(j < S ? &zs : &zb) += z[i * D + j] * z[i * D + j];
        }
        assert_float_equal(norm, 1.0, 1e-5);
        assert_float_equal(x[i * D + 7], 0.0, 0.0);
        for (int k = 0; k < N - 1; k++) {
            double dot_s = 0, dot_b = 0, ks = 0, kb = 0, d2 = 0;
            for (int j = 0; j < D; j++) {
                *(j < S ? &dot_s : &dot_b) += z[i * D + j] * z[k * D + j];
                *(j < S ? &ks : &kb) += z[k * D + j] * z[k * D + j];
                d2 += ((double)x[i * D + j] - x[k * D + j]) * ((double)x[i * D + j] - x[k * D + j]);
            }
            assert_float_equal(d2, 2.0 - dot_s / sqrt(zs * ks) - dot_b / sqrt(zb * kb), 1e-4);
        }
    }
    for (int j = 0; j < D; j++) /* the mean row: within float rounding of zero, not blown up to unit length */
        assert_true(fabsf(x[(N - 1) * D + j]) < 1e-3f);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Not a pass/fail check: the cost of the descriptors against the log-mel they come with, on a busy
 * music-like clip (a chord, clicks and noise), best of several runs. */
static void test_timing(void **state)
{
    float *clip = click_track(128.0);
    uint64_t seed = 9;
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] += (float)(0.05 * uniform(&seed) + 0.1 * sin(2 * M_PI * 261.6 * (double)i / SR) +
                           0.1 * sin(2 * M_PI * 392.0 * (double)i / SR));
    float *x = malloc(sizeof(float) * N_LOGMEL), *p = malloc(sizeof(float) * N_POWER), out[MM_DESCRIPTOR_DIM];
    mm_mel *mel;
    mm_descriptors *d;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    assert_int_equal(mm_descriptors_open(&d, NULL), MM_OK);
    double best_mel = 1e9, best_both = 1e9, best_desc = 1e9;
    for (int rep = 0; rep < 15; rep++) {
        double t0 = now_ms();
        mm_mel_compute(mel, clip, x);
        double t1 = now_ms();
        mm_mel_compute_with_power(mel, clip, x, p);
        double t2 = now_ms();
        assert_int_equal(mm_descriptors_compute(d, clip, MM_CLIP_SAMPLES, x, p, out, NULL), MM_OK);
        double t3 = now_ms();
        best_mel = fmin(best_mel, t1 - t0);
        best_both = fmin(best_both, t2 - t1);
        best_desc = fmin(best_desc, t3 - t2);
    }
    print_message("per track: mm_mel_compute %.2f ms, mm_mel_compute_with_power %.2f ms, "
                  "mm_descriptors_compute %.2f ms\n", best_mel, best_both, best_desc);
    mm_descriptors_close(d);
    mm_mel_close(mel);
    free(clip);
    free(x);
    free(p);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_shared_stft),
        cmocka_unit_test(test_tempo_120),
        cmocka_unit_test(test_tempo_90),
        cmocka_unit_test(test_tempo_others),
        cmocka_unit_test(test_short_clip),
        cmocka_unit_test(test_chroma_a440),
        cmocka_unit_test(test_chroma_triad),
        cmocka_unit_test(test_sine_shape),
        cmocka_unit_test(test_white_noise),
        cmocka_unit_test(test_band_profile),
        cmocka_unit_test(test_loudness_range),
        cmocka_unit_test(test_mfcc_basis),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_standardise),
        cmocka_unit_test(test_timing),
    };
    return tu_main(argc, argv, "descriptors", tests, TU_COUNT(tests), NULL, 0);
}
