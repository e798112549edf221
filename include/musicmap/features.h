/* features — the log-mel front-end, numerically librosa's:
 *   S = melspectrogram(y, sr=12000, n_fft=512, hop=256, n_mels=96)   (periodic Hann, centred frames)
 *   X = power_to_db(S**2, ref=1, amin=1e-10, top_db=80)
 * on a 29.12 s clip (349440 samples at 12 kHz) giving 96 x 1366 float32, band-major.
 *
 * Thread safety: an mm_mel or mm_descriptors holds its scratch, so it serves one thread at a time: open
 * one per thread. Opening and closing them is safe from any number of threads at once (FFTW's planner
 * is behind the library's one lock, docs/api.md). The functions without a handle only read their
 * arguments and may run anywhere. */
#ifndef MUSICMAP_FEATURES_H
#define MUSICMAP_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "musicmap/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_SAMPLE_RATE 12000
#define MM_N_FFT 512
#define MM_HOP 256
#define MM_N_BINS 257      /* n_fft / 2 + 1 */
#define MM_N_MELS 96
#define MM_N_FRAMES 1366
#define MM_CLIP_SAMPLES 349440 /* int(29.12 * 12000) */
#define MM_MEL_NONZEROS 502    /* non-zero weights of the Slaney filterbank at these parameters */
#define MM_TOP_DB 80.0f
#define MM_AMIN 1e-10f

/* How frames at the clip edges are padded (n_fft/2 samples each side). */
typedef enum mm_pad_mode {
    MM_PAD_REFLECT = 0, /* librosa <= 0.9 and the original system: what its trained weights expect */
    MM_PAD_CONSTANT     /* zeros: librosa >= 0.10 */
} mm_pad_mode;

MM_API const char *mm_pad_mode_name(mm_pad_mode pad);
/* Parses "reflect" / "constant"; returns 0 on success. */
MM_API int mm_pad_mode_parse(const char *text, mm_pad_mode *out);

/* The crop rule: a clip of n samples (the whole song at 12 kHz) starts at (n - N) / 2 when longer than
 * N = MM_CLIP_SAMPLES, else at 0 with zeros appended. */
MM_API int64_t mm_clip_crop_start(int64_t n);
/* Applies the crop rule to a whole-song buffer y[n], writing MM_CLIP_SAMPLES samples to clip. */
MM_API void mm_clip_fit(const float *y, int64_t n, float *clip);

/* The periodic Hann window, w[n] = 0.5 - 0.5 cos(2 pi n / 512), as float32. */
MM_API void mm_hann_window(float window[MM_N_FFT]);
/* The dense mel filterbank, 96 x 257, rounded to float32 exactly as librosa rounds it. */
MM_API void mm_mel_filterbank(float weights[MM_N_MELS * MM_N_BINS]);
/* The 98 band edges in Hz. */
MM_API void mm_mel_band_edges(double edges[MM_N_MELS + 2]);

/* The parameters that define a spectrogram. Models record the ones they were trained on and catalogs
 * the ones their features were computed with; the two must match. */
typedef struct mm_frontend_params {
    int sample_rate, n_fft, hop, n_mels, n_frames;
    mm_pad_mode pad;
} mm_frontend_params;

/* This build's front-end, with the given padding. */
MM_API mm_frontend_params mm_frontend_default(mm_pad_mode pad);
/* 0 when equal; otherwise fills err with which parameter differs. */
MM_API int mm_frontend_check(const mm_frontend_params *model, const mm_frontend_params *data, mm_error *err);

/* One front-end instance: FFT plan, filterbank and scratch. Not thread-safe; open one per thread. */
typedef struct mm_mel mm_mel;

MM_API mm_status mm_mel_open(mm_mel **out, mm_pad_mode pad, mm_error *err);
MM_API void mm_mel_close(mm_mel *mel);
MM_API mm_pad_mode mm_mel_pad_mode(const mm_mel *mel);

/* Power spectrogram P[257][1366] of a clip of MM_CLIP_SAMPLES samples (for tests and inspection). */
MM_API void mm_mel_stft_power(mm_mel *mel, const float *clip, float *power);
/* Mel power S[96][1366]. */
MM_API void mm_mel_power(mm_mel *mel, const float *clip, float *mel_power);
/* The dB stage on its own: X = max(10 log10(max(amin, S^2)), max(X) - 80), element count n. */
MM_API void mm_power_to_db(const float *mel_power, float *db, size_t n);
/* The whole front-end: clip -> X[96][1366]. */
MM_API void mm_mel_compute(mm_mel *mel, const float *clip, float *logmel);
/* The same X, bit for bit, plus the STFT power P[257][1366] it was computed from (mm_mel_stft_power's
 * layout), so that callers who need both run the FFTs once. */
MM_API void mm_mel_compute_with_power(mm_mel *mel, const float *clip, float *logmel, float *power);

/* Descriptors: timbre, spectral shape, rhythm, harmony and dynamics statistics of a clip, and its mel
 * band profile (docs/descriptors.md). */
#define MM_DESCRIPTOR_DIM 299   /* fixed length of the vector */
#define MM_DESCRIPTOR_SUMMARY_DIM 107 /* the first five groups; the band profile follows */
#define MM_DESCRIPTOR_VERSION 2 /* bump when the definition changes (stored vectors are recomputed) */
typedef struct mm_descriptors mm_descriptors; /* FFT plans and scratch; one per thread */
MM_API mm_status mm_descriptors_open(mm_descriptors **out, mm_error *err);
MM_API void mm_descriptors_close(mm_descriptors *d);
/* clip: MM_CLIP_SAMPLES samples at 12 kHz of which the first `valid` are audio (the rest zero padding);
 * logmel: the clip's 96 x 1366 log-mel as mm_mel_compute writes it; power: its STFT power 257 x 1366
 * (mm_mel_stft_power's layout) or NULL to compute it here. Writes MM_DESCRIPTOR_DIM floats (all finite). */
MM_API mm_status mm_descriptors_compute(mm_descriptors *d, const float *clip, size_t valid, const float *logmel,
                                        const float *power, float *out, mm_error *err);
/* Name of dimension i ("mfcc_mean_0", "tempo_bpm", ...) and its group (for per-group normalisation).
 * Out of range: NULL and MM_DESC_N_GROUPS. */
MM_API const char *mm_descriptor_name(int i);
typedef enum mm_descriptor_group {
    MM_DESC_TIMBRE,
    MM_DESC_SPECTRAL,
    MM_DESC_RHYTHM,
    MM_DESC_HARMONY,
    MM_DESC_DYNAMICS,
    MM_DESC_BANDS, /* the mel band profile: each band's mean and standard deviation over time */
    MM_DESC_N_GROUPS
} mm_descriptor_group;
MM_API mm_descriptor_group mm_descriptor_group_of(int i);
/* Descriptors as map input (n rows of MM_DESCRIPTOR_DIM, in place): each dimension standardised over
 * the rows (a constant one becomes 0), then each row's two parts -- the summary statistics (the first
 * MM_DESCRIPTOR_SUMMARY_DIM) and the band profile -- scaled to length 1/sqrt(2) each, so a row has unit
 * length and the two views of a song count the same (a part at the mean stays zero). */
MM_API void mm_descriptors_standardise(float *x, size_t n);
/* The same for n rows of any width (e.g. one group of the descriptors). */
MM_API void mm_vectors_standardise(float *x, size_t n, int dim);

#ifdef __cplusplus
}
#endif
#endif
