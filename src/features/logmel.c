/* STFT (FFTW, single precision), sparse mel product and the dB stage. */
#include "musicmap/features.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* FFTW's planner is not thread-safe (its plan execution is); this lock serialises planning only. */
static pthread_mutex_t fftw_planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct mm_mel {
    mm_pad_mode pad;
    fftwf_plan plan;
    float *window;        /* MM_N_FFT */
    float *frame;         /* MM_N_FFT, FFT input */
    fftwf_complex *spectrum; /* MM_N_BINS, FFT output */
    float *padded;        /* MM_CLIP_SAMPLES + MM_N_FFT: the clip with n_fft/2 padding each side */
    float *power;         /* MM_N_BINS, one frame's power spectrum */
    /* Sparse filterbank: band m has weights[offset[m] .. offset[m] + count[m]) over bins first[m].. */
    int first[MM_N_MELS];
    int count[MM_N_MELS];
    int offset[MM_N_MELS];
    float weights[MM_N_MELS * MM_N_BINS];
};

const char *mm_pad_mode_name(mm_pad_mode pad)
{
    return pad == MM_PAD_CONSTANT ? "constant" : "reflect";
}

int mm_pad_mode_parse(const char *text, mm_pad_mode *out)
{
    if (strcmp(text, "reflect") == 0)
        *out = MM_PAD_REFLECT;
    else if (strcmp(text, "constant") == 0)
        *out = MM_PAD_CONSTANT;
    else
        return -1;
    return 0;
}

int64_t mm_clip_crop_start(int64_t n)
{
    return n > MM_CLIP_SAMPLES ? (n - MM_CLIP_SAMPLES) / 2 : 0;
}

void mm_clip_fit(const float *y, int64_t n, float *clip)
{
    int64_t start = mm_clip_crop_start(n);
    int64_t take = n - start < MM_CLIP_SAMPLES ? n - start : MM_CLIP_SAMPLES;
    if (take > 0)
        memcpy(clip, y + start, (size_t)take * sizeof *clip);
    for (int64_t i = take < 0 ? 0 : take; i < MM_CLIP_SAMPLES; i++)
        clip[i] = 0.0f;
}

void mm_hann_window(float window[MM_N_FFT])
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < MM_N_FFT; i++)
        window[i] = (float)(0.5 - 0.5 * cos(two_pi * i / MM_N_FFT));
}

mm_pad_mode mm_mel_pad_mode(const mm_mel *mel)
{
    return mel->pad;
}

mm_status mm_mel_open(mm_mel **out, mm_pad_mode pad, mm_error *err)
{
    *out = NULL;
    mm_mel *mel = calloc(1, sizeof *mel);
    if (!mel)
        return mm_error_set(err, MM_ERR_NOMEM, "mel front-end: out of memory");
    mel->pad = pad;
    mel->window = fftwf_alloc_real(MM_N_FFT);
    mel->frame = fftwf_alloc_real(MM_N_FFT);
    mel->spectrum = fftwf_alloc_complex(MM_N_BINS);
    mel->padded = fftwf_alloc_real(MM_CLIP_SAMPLES + MM_N_FFT);
    mel->power = fftwf_alloc_real(MM_N_BINS);
    if (!mel->window || !mel->frame || !mel->spectrum || !mel->padded || !mel->power) {
        mm_mel_close(mel);
        return mm_error_set(err, MM_ERR_NOMEM, "mel front-end: out of memory");
    }
    mm_hann_window(mel->window);

    /* ESTIMATE keeps planning instant and the chosen algorithm (so the output bits) reproducible. */
    pthread_mutex_lock(&fftw_planner_lock);
    mel->plan = fftwf_plan_dft_r2c_1d(MM_N_FFT, mel->frame, mel->spectrum, FFTW_ESTIMATE);
    pthread_mutex_unlock(&fftw_planner_lock);
    if (!mel->plan) {
        mm_mel_close(mel);
        return mm_error_set(err, MM_ERR_INTERNAL, "mel front-end: FFTW could not plan a %d-point FFT", MM_N_FFT);
    }

    float *dense = malloc(sizeof(float) * MM_N_MELS * MM_N_BINS);
    if (!dense) {
        mm_mel_close(mel);
        return mm_error_set(err, MM_ERR_NOMEM, "mel front-end: out of memory");
    }
    mm_mel_filterbank(dense);
    int used = 0;
    for (int m = 0; m < MM_N_MELS; m++) {
        const float *row = dense + m * MM_N_BINS;
        int lo = 0, hi = MM_N_BINS - 1;
        while (lo < MM_N_BINS && row[lo] == 0.0f)
            lo++;
        while (hi >= lo && row[hi] == 0.0f)
            hi--;
        mel->first[m] = lo;
        mel->count[m] = hi >= lo ? hi - lo + 1 : 0;
        mel->offset[m] = used;
        for (int k = 0; k < mel->count[m]; k++)
            mel->weights[used++] = row[lo + k];
    }
    free(dense);
    *out = mel;
    return MM_OK;
}

void mm_mel_close(mm_mel *mel)
{
    if (!mel)
        return;
    if (mel->plan) {
        pthread_mutex_lock(&fftw_planner_lock);
        fftwf_destroy_plan(mel->plan);
        pthread_mutex_unlock(&fftw_planner_lock);
    }
    fftwf_free(mel->window);
    fftwf_free(mel->frame);
    fftwf_free(mel->spectrum);
    fftwf_free(mel->padded);
    fftwf_free(mel->power);
    free(mel);
}

/* Copies the clip into the padded buffer with n_fft/2 samples of padding each side. */
static void pad_clip(mm_mel *mel, const float *clip)
{
    const int half = MM_N_FFT / 2;
    float *p = mel->padded;
    memcpy(p + half, clip, sizeof(float) * MM_CLIP_SAMPLES);
    if (mel->pad == MM_PAD_CONSTANT) {
        memset(p, 0, sizeof(float) * half);
        memset(p + half + MM_CLIP_SAMPLES, 0, sizeof(float) * half);
        return;
    }
    /* numpy's 'reflect': mirror about the edge sample, which itself is not repeated. */
    for (int j = 1; j <= half; j++) {
        p[half - j] = clip[j];
        p[half + MM_CLIP_SAMPLES - 1 + j] = clip[MM_CLIP_SAMPLES - 1 - j];
    }
}

/* Windowed FFT of frame t into mel->power. */
static void frame_power(mm_mel *mel, int t)
{
    const float *src = mel->padded + (size_t)t * MM_HOP;
    for (int i = 0; i < MM_N_FFT; i++)
        mel->frame[i] = src[i] * mel->window[i];
    fftwf_execute_dft_r2c(mel->plan, mel->frame, mel->spectrum);
    for (int k = 0; k < MM_N_BINS; k++) {
        float re = mel->spectrum[k][0], im = mel->spectrum[k][1];
        mel->power[k] = re * re + im * im;
    }
}

void mm_mel_stft_power(mm_mel *mel, const float *clip, float *power)
{
    pad_clip(mel, clip);
    for (int t = 0; t < MM_N_FRAMES; t++) {
        frame_power(mel, t);
        for (int k = 0; k < MM_N_BINS; k++)
            power[(size_t)k * MM_N_FRAMES + t] = mel->power[k];
    }
}

void mm_mel_power(mm_mel *mel, const float *clip, float *mel_power)
{
    pad_clip(mel, clip);
    for (int t = 0; t < MM_N_FRAMES; t++) {
        frame_power(mel, t);
        for (int m = 0; m < MM_N_MELS; m++) {
            const float *w = mel->weights + mel->offset[m];
            const float *p = mel->power + mel->first[m];
            float sum = 0.0f;
            for (int k = 0; k < mel->count[m]; k++)
                sum += w[k] * p[k];
            mel_power[(size_t)m * MM_N_FRAMES + t] = sum;
        }
    }
}

/* log10 for positive normal floats, written so the compiler can vectorise the loop that calls it:
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172,
 * whose odd series to s^9 is accurate to about 1e-9 relative. */
static inline float log10_positive(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)((bits >> 23) & 0xff) - 127;
    uint32_t mbits = (bits & 0x7fffffu) | 0x3f800000u;
    float m;
    memcpy(&m, &mbits, sizeof m);
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e += big;
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float series = 1.0f + s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f + s2 * (1.0f / 9.0f))));
    float ln = (float)e * 0.693147180559945f + 2.0f * s * series;
    return ln * 0.434294481903252f;
}

void mm_power_to_db(const float *mel_power, float *db, size_t n)
{
    float peak = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float s2 = mel_power[i] * mel_power[i];
        s2 = s2 > MM_AMIN ? s2 : MM_AMIN;
        float x = 10.0f * log10_positive(s2);
        db[i] = x;
        peak = x > peak ? x : peak;
    }
    float floor_db = peak - MM_TOP_DB;
    for (size_t i = 0; i < n; i++)
        db[i] = db[i] > floor_db ? db[i] : floor_db;
}

void mm_mel_compute(mm_mel *mel, const float *clip, float *logmel)
{
    /* logmel doubles as the mel power buffer: the dB stage works in place. */
    mm_mel_power(mel, clip, logmel);
    mm_power_to_db(logmel, logmel, (size_t)MM_N_MELS * MM_N_FRAMES);
}
