/* STFT (FFTW, single precision), sparse mel product and the dB stage. */
#include "musicmap/features.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"

/* Frames per block of the mel product: the band sums vectorise across these. */
#define MEL_BLOCK 16

/* The few hot loops are built for AVX2 and AVX-512 too, picked at load time for the running CPU. Not
 * under the sanitizers: the loader runs the choosing (ifunc) code before their runtime is up, which
 * ThreadSanitizer does not survive. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define MEL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MEL_VECTOR_CLONES
#endif

struct mm_mel {
    mm_pad_mode pad;
    fftwf_plan plan;
    float *window;        /* MM_N_FFT */
    float *frame;         /* MM_N_FFT, FFT input */
    fftwf_complex *spectrum; /* MM_N_BINS, FFT output */
    float *edges;         /* 2 x MM_N_FFT: the first and last frames with their padding */
    const float *clip;    /* the clip being processed (borrowed) */
    float *block;         /* power spectra of MEL_BLOCK frames, bin-major: [MM_N_BINS][MEL_BLOCK] */
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
    mel->edges = fftwf_alloc_real(2 * MM_N_FFT);
    mel->block = fftwf_alloc_real((size_t)MM_N_BINS * MEL_BLOCK);
    if (!mel->window || !mel->frame || !mel->spectrum || !mel->edges || !mel->block) {
        mm_mel_close(mel);
        return mm_error_set(err, MM_ERR_NOMEM, "mel front-end: out of memory");
    }
    mm_hann_window(mel->window);

    /* ESTIMATE keeps planning instant and the chosen algorithm (so the output bits) reproducible. */
    util_fftw_lock(); /* FFTW plans under the library's one planner lock */
    mel->plan = fftwf_plan_dft_r2c_1d(MM_N_FFT, mel->frame, mel->spectrum, FFTW_ESTIMATE);
    util_fftw_unlock();
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
        util_fftw_lock();
        fftwf_destroy_plan(mel->plan);
        util_fftw_unlock();
    }
    fftwf_free(mel->window);
    fftwf_free(mel->frame);
    fftwf_free(mel->spectrum);
    fftwf_free(mel->edges);
    fftwf_free(mel->block);
    free(mel);
}

/* Frames 0 and 1365 reach n_fft/2 samples past the clip's ends; those two get their padding built
 * here, in edge[0] and edge[1]. Every other frame reads the clip in place. */
static void pad_edges(mm_mel *mel, const float *clip)
{
    const int half = MM_N_FFT / 2;
    float *head = mel->edges, *tail = mel->edges + MM_N_FFT;
    const float *last = clip + MM_CLIP_SAMPLES - half; /* the frame's samples inside the clip */
    memcpy(head + half, clip, sizeof(float) * half);
    memcpy(tail, last, sizeof(float) * half);
    for (int j = 1; j <= half; j++) {
        /* numpy's 'reflect' mirrors about the edge sample without repeating it */
        head[half - j] = mel->pad == MM_PAD_CONSTANT ? 0.0f : clip[j];
        tail[half - 1 + j] = mel->pad == MM_PAD_CONSTANT ? 0.0f : clip[MM_CLIP_SAMPLES - 1 - j];
    }
    mel->clip = clip;
}

static const float *frame_samples(const mm_mel *mel, int t)
{
    if (t == 0)
        return mel->edges;
    if (t == MM_N_FRAMES - 1)
        return mel->edges + MM_N_FFT;
    return mel->clip + (size_t)t * MM_HOP - MM_N_FFT / 2;
}

MEL_VECTOR_CLONES
static void apply_window(const float *restrict src, const float *restrict window, float *restrict dst)
{
    for (int i = 0; i < MM_N_FFT; i++)
        dst[i] = src[i] * window[i];
}

/* Windowed FFT of frame t; its power spectrum goes to column `slot` of the bin-major block
 * mel->block[bin][MEL_BLOCK]. */
static void frame_power(mm_mel *mel, int t, int slot)
{
    apply_window(frame_samples(mel, t), mel->window, mel->frame);
    fftwf_execute_dft_r2c(mel->plan, mel->frame, mel->spectrum);
    const float *spectrum = (const float *)mel->spectrum;
    float *column = mel->block + slot;
    for (int k = 0; k < MM_N_BINS; k++) {
        float re = spectrum[2 * k], im = spectrum[2 * k + 1];
        column[k * MEL_BLOCK] = re * re + im * im;
    }
}

/* Power spectra of frames [t0, t0 + MEL_BLOCK) into mel->block (frames past the end are zero). */
static int power_block(mm_mel *mel, int t0)
{
    int count = MM_N_FRAMES - t0 < MEL_BLOCK ? MM_N_FRAMES - t0 : MEL_BLOCK;
    for (int j = 0; j < count; j++)
        frame_power(mel, t0 + j, j);
    for (int j = count; j < MEL_BLOCK; j++)
        for (int k = 0; k < MM_N_BINS; k++)
            mel->block[k * MEL_BLOCK + j] = 0.0f;
    return count;
}

void mm_mel_stft_power(mm_mel *mel, const float *clip, float *power)
{
    pad_edges(mel, clip);
    for (int t0 = 0; t0 < MM_N_FRAMES; t0 += MEL_BLOCK) {
        int count = power_block(mel, t0);
        for (int k = 0; k < MM_N_BINS; k++)
            memcpy(power + (size_t)k * MM_N_FRAMES + t0, mel->block + k * MEL_BLOCK, sizeof(float) * (size_t)count);
    }
}

/* Every band over a block of frames: out[m][t0 + j] = sum_k w[k] * block[first[m] + k][j]. The inner
 * loop runs across the block's frames, so it vectorises whatever a band's width. */
MEL_VECTOR_CLONES
static void bands_block(const mm_mel *mel, int t0, int count, float *restrict out)
{
    for (int m = 0; m < MM_N_MELS; m++) {
        const float *restrict w = mel->weights + mel->offset[m];
        const float *restrict rows = mel->block + mel->first[m] * MEL_BLOCK;
        float acc[MEL_BLOCK] = {0};
        for (int k = 0; k < mel->count[m]; k++)
            for (int j = 0; j < MEL_BLOCK; j++)
                acc[j] += w[k] * rows[k * MEL_BLOCK + j];
        memcpy(out + (size_t)m * MM_N_FRAMES + t0, acc, sizeof(float) * (size_t)count);
    }
}

void mm_mel_power(mm_mel *mel, const float *clip, float *mel_power)
{
    pad_edges(mel, clip);
    for (int t0 = 0; t0 < MM_N_FRAMES; t0 += MEL_BLOCK)
        bands_block(mel, t0, power_block(mel, t0), mel_power);
}

/* log10 for positive normal floats, branch-free so the loops that call it vectorise:
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)) (found by offsetting the bits so the exponent steps at
 * sqrt(2) rather than 2), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, whose odd series
 * to s^9 is accurate to about 1e-9 relative. */
static inline float log10_positive(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits += 0x3f800000u - 0x3f3504f3u;
    int32_t e = (int32_t)(bits >> 23) - 0x7f;
    bits = (bits & 0x007fffffu) + 0x3f3504f3u;
    float m;
    memcpy(&m, &bits, sizeof m);
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float series = 1.0f + s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f + s2 * (1.0f / 9.0f))));
    float ln = (float)e * 0.693147180559945f + 2.0f * s * series;
    return ln * 0.434294481903252f;
}

/* max(a, b) for non-negative floats, through their bit patterns (which order the same way). */
static inline float max_nonnegative(float a, float b)
{
    uint32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    ia = ia > ib ? ia : ib;
    memcpy(&a, &ia, sizeof a);
    return a;
}

/* The peak of X is 10 log10 of the largest S^2, since the dB map is monotonic; S >= 0, and
 * non-negative floats order like their bit patterns, so the search is a vectorisable integer max. */
MEL_VECTOR_CLONES
static float largest_nonnegative(const float *restrict x, size_t n)
{
    uint32_t best = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        best = bits > best ? bits : best;
    }
    float v;
    memcpy(&v, &best, sizeof v);
    return v;
}

MEL_VECTOR_CLONES
static void db_clamped(const float *restrict mel_power, float *restrict db, size_t n, float floor_db)
{
    for (size_t i = 0; i < n; i++) {
        float x = 10.0f * log10_positive(max_nonnegative(mel_power[i] * mel_power[i], MM_AMIN));
        db[i] = x < floor_db ? floor_db : x;
    }
}

void mm_power_to_db(const float *mel_power, float *db, size_t n)
{
    float peak_s = largest_nonnegative(mel_power, n);
    float peak2 = peak_s * peak_s;
    float peak_db = 10.0f * log10_positive(peak2 > MM_AMIN ? peak2 : MM_AMIN);
    db_clamped(mel_power, db, n, peak_db - MM_TOP_DB);
}

void mm_mel_compute(mm_mel *mel, const float *clip, float *logmel)
{
    /* logmel doubles as the mel power buffer: the dB stage works in place. */
    mm_mel_power(mel, clip, logmel);
    mm_power_to_db(logmel, logmel, (size_t)MM_N_MELS * MM_N_FRAMES);
}

void mm_mel_compute_with_power(mm_mel *mel, const float *clip, float *logmel, float *power)
{
    /* mm_mel_power's loop with each block's power kept on the way, then the same dB stage: same bits */
    pad_edges(mel, clip);
    for (int t0 = 0; t0 < MM_N_FRAMES; t0 += MEL_BLOCK) {
        int count = power_block(mel, t0);
        for (int k = 0; k < MM_N_BINS; k++)
            memcpy(power + (size_t)k * MM_N_FRAMES + t0, mel->block + k * MEL_BLOCK, sizeof(float) * (size_t)count);
        bands_block(mel, t0, count, logmel);
    }
    mm_power_to_db(logmel, logmel, (size_t)MM_N_MELS * MM_N_FRAMES);
}
