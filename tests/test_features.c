/* The log-mel front-end against librosa 0.11, stage by stage (../shared/reference/mel). Tolerances are
 * the ones stated in that folder's README and manifests. */
#include <math.h>
#include <string.h>

#include "musicmap/features.h"
#include "testutil.h"

#define N_LOGMEL ((size_t)MM_N_MELS * MM_N_FRAMES)

/* The exact cases are 12 kHz mono 16-bit WAVs with a plain 44-byte header: read them directly so that
 * these tests exercise the features module alone. */
static float *read_wav12k(const char *name, int64_t *count)
{
    FILE *f = fopen(tu_ref("mel/cases/%s/input.wav", name), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - 44;
    fseek(f, 44, SEEK_SET);
    *count = bytes / 2;
    int16_t *pcm = malloc((size_t)bytes);
    float *y = malloc(sizeof(float) * (size_t)(*count ? *count : 1));
    assert_true(pcm && y);
    assert_int_equal(fread(pcm, 2, (size_t)*count, f), (size_t)*count);
    fclose(f);
    for (int64_t i = 0; i < *count; i++)
        y[i] = (float)pcm[i] / 32768.0f;
    free(pcm);
    return y;
}

static void test_window(void **state)
{
    float w[MM_N_FFT];
    mm_hann_window(w);
    float *ref = tu_read_raw(tu_ref("mel/common/window_hann_periodic_512.f32"), 4, MM_N_FFT);
    tu_diff d = tu_compare(w, ref, MM_N_FFT);
    assert_true(d.max_abs <= 1e-7);
    free(ref);
}

static void test_filterbank(void **state)
{
    float *m = malloc(sizeof(float) * MM_N_MELS * MM_N_BINS);
    mm_mel_filterbank(m);
    float *ref = tu_read_raw(tu_ref("mel/common/mel_filterbank_96x257.f32"), 4, MM_N_MELS * MM_N_BINS);
    tu_diff d = tu_compare(m, ref, MM_N_MELS * MM_N_BINS);
    print_message("filterbank max |diff| %.3g\n", d.max_abs);
    assert_true(d.max_abs <= 1e-7);
    size_t nonzero = 0;
    for (size_t i = 0; i < MM_N_MELS * MM_N_BINS; i++)
        nonzero += m[i] != 0.0f;
    assert_int_equal(nonzero, MM_MEL_NONZEROS);
    free(m);
    free(ref);

    double edges[MM_N_MELS + 2];
    mm_mel_band_edges(edges);
    double *ref_edges = tu_read_raw(tu_ref("mel/common/mel_band_edges_98.f64"), 8, MM_N_MELS + 2);
    for (int i = 0; i < MM_N_MELS + 2; i++)
        assert_true(fabs(edges[i] - ref_edges[i]) <= 1e-9 * (1 + ref_edges[i]));
    free(ref_edges);
}

/* librosa's mel_power tolerance: |diff| <= 1e-6 max(S) + 1e-4 |S|. */
static void check_mel_power(const char *name, const float *s, const float *ref)
{
    float peak = 0;
    for (size_t i = 0; i < N_LOGMEL; i++)
        peak = ref[i] > peak ? ref[i] : peak;
    size_t bad = 0, worst = 0;
    double worst_excess = 0;
    for (size_t i = 0; i < N_LOGMEL; i++) {
        double tol = 1e-6 * peak + 1e-4 * fabs(ref[i]);
        double excess = fabs((double)s[i] - ref[i]) - tol;
        if (excess > 0) {
            bad++;
            if (excess > worst_excess) {
                worst_excess = excess;
                worst = i;
            }
        }
    }
    if (bad)
        fail_msg("%s: %zu mel power values out of tolerance, worst band %zu frame %zu: %g vs %g", name, bad,
                 worst / MM_N_FRAMES, worst % MM_N_FRAMES, s[worst], ref[worst]);
}

static void run_exact_case(const char *name)
{
    int64_t n;
    float *y = read_wav12k(name, &n);
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *s = malloc(sizeof(float) * N_LOGMEL);
    float *x = malloc(sizeof(float) * N_LOGMEL);
    mm_clip_fit(y, n, clip);
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_CONSTANT, NULL), MM_OK);
    mm_mel_power(mel, clip, s);
    float *ref_s = tu_read_raw(tu_ref("mel/cases/%s/mel_power.f32", name), 4, N_LOGMEL);
    check_mel_power(name, s, ref_s);
    mm_power_to_db(s, x, N_LOGMEL);
    float *ref_x = tu_read_raw(tu_ref("mel/cases/%s/logmel_db.f32", name), 4, N_LOGMEL);
    tu_diff d = tu_compare(x, ref_x, N_LOGMEL);
    print_message("%-14s dB max |diff| %.2e, mean %.2e\n", name, d.max_abs, d.mean_abs);
    assert_true(d.max_abs <= 0.002);
    /* the one-call path gives the same bits */
    float *x2 = malloc(sizeof(float) * N_LOGMEL);
    mm_mel_compute(mel, clip, x2);
    assert_memory_equal(x, x2, sizeof(float) * N_LOGMEL);
    mm_mel_close(mel);
    free(x2);
    free(ref_x);
    free(ref_s);
    free(y);
    free(clip);
    free(s);
    free(x);
}

static void test_sine440(void **state) { run_exact_case("sine440_10s"); }
static void test_chirp(void **state) { run_exact_case("chirp_30s"); }
static void test_mix(void **state) { run_exact_case("mix_29.12s"); }
static void test_silence(void **state) { run_exact_case("silence_5s"); }
static void test_short(void **state) { run_exact_case("short_2s"); }
static void test_melody(void **state) { run_exact_case("melody_40s"); }

static void test_silence_is_minus_100(void **state)
{
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float));
    float *x = malloc(sizeof(float) * N_LOGMEL);
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    mm_mel_compute(mel, clip, x);
    for (size_t i = 0; i < N_LOGMEL; i++)
        assert_float_equal(x[i], -100.0f, 1e-4);
    mm_mel_close(mel);
    free(clip);
    free(x);
}

static void test_stft_head_tail(void **state)
{
    int64_t n;
    float *y = read_wav12k("chirp_30s", &n);
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *p = malloc(sizeof(float) * MM_N_BINS * MM_N_FRAMES);
    mm_clip_fit(y, n, clip);
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_CONSTANT, NULL), MM_OK);
    mm_mel_stft_power(mel, clip, p);
    const char *files[2] = {"stft_power_head_257x16.f32", "stft_power_tail_257x16.f32"};
    const int first_frame[2] = {0, MM_N_FRAMES - 16};
    for (int f = 0; f < 2; f++) {
        float *ref = tu_read_raw(tu_ref("mel/cases/chirp_30s/%s", files[f]), 4, 257 * 16);
        float peak = 0;
        for (int i = 0; i < 257 * 16; i++)
            peak = ref[i] > peak ? ref[i] : peak;
        for (int k = 0; k < MM_N_BINS; k++)
            for (int t = 0; t < 16; t++) {
                float mine = p[(size_t)k * MM_N_FRAMES + first_frame[f] + t];
                float want = ref[k * 16 + t];
                if (fabs(mine - want) > 1e-6 * peak + 1e-4 * fabs(want))
                    fail_msg("%s bin %d frame %d: %g vs %g", files[f], k, t, mine, want);
            }
        free(ref);
    }
    mm_mel_close(mel);
    free(y);
    free(clip);
    free(p);
}

/* Reflect padding changes only frames 0 and 1365; the reference stores those two columns. */
static void run_reflect_case(const char *name)
{
    int64_t n;
    float *y = read_wav12k(name, &n);
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *x = malloc(sizeof(float) * N_LOGMEL);
    float *x_const = malloc(sizeof(float) * N_LOGMEL);
    mm_clip_fit(y, n, clip);
    mm_mel *mel, *mel_const;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    assert_int_equal(mm_mel_open(&mel_const, MM_PAD_CONSTANT, NULL), MM_OK);
    assert_int_equal(mm_mel_pad_mode(mel), MM_PAD_REFLECT);
    mm_mel_compute(mel, clip, x);
    mm_mel_compute(mel_const, clip, x_const);
    float *ref = tu_read_raw(tu_ref("mel/cases/%s/logmel_db_reflect_edges_96x2.f32", name), 4, 96 * 2);
    double max_diff = 0, edge_change = 0;
    for (int m = 0; m < MM_N_MELS; m++) {
        max_diff = fmax(max_diff, fabs(x[(size_t)m * MM_N_FRAMES] - ref[m * 2]));
        max_diff = fmax(max_diff, fabs(x[(size_t)m * MM_N_FRAMES + MM_N_FRAMES - 1] - ref[m * 2 + 1]));
        edge_change = fmax(edge_change, fabs(x[(size_t)m * MM_N_FRAMES] - x_const[(size_t)m * MM_N_FRAMES]));
        /* interior frames are untouched by the padding mode */
        for (int t = 1; t < MM_N_FRAMES - 1; t++)
            assert_float_equal(x[(size_t)m * MM_N_FRAMES + t], x_const[(size_t)m * MM_N_FRAMES + t], 1e-6);
    }
    print_message("%s reflect edges: max |diff| %.2e dB (edges move %.1f dB from constant)\n", name, max_diff,
                  edge_change);
    assert_true(max_diff <= 0.002);
    assert_true(edge_change > 1.0);
    mm_mel_close(mel);
    mm_mel_close(mel_const);
    free(ref);
    free(y);
    free(clip);
    free(x);
    free(x_const);
}

static void test_reflect_chirp(void **state) { run_reflect_case("chirp_30s"); }
static void test_reflect_melody(void **state) { run_reflect_case("melody_40s"); }

static void test_crop_rule(void **state)
{
    assert_int_equal(mm_clip_crop_start(360000), 5280);
    assert_int_equal(mm_clip_crop_start(480001), 65280); /* odd excess: floor */
    assert_int_equal(mm_clip_crop_start(MM_CLIP_SAMPLES), 0);
    assert_int_equal(mm_clip_crop_start(100), 0);
    float y[4] = {1, 2, 3, 4};
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    memset(clip, 0x7f, sizeof(float) * MM_CLIP_SAMPLES);
    mm_clip_fit(y, 4, clip);
    assert_float_equal(clip[0], 1, 0);
    assert_float_equal(clip[3], 4, 0);
    for (size_t i = 4; i < MM_CLIP_SAMPLES; i++)
        assert_float_equal(clip[i], 0, 0);
    free(clip);
}

static void test_pad_mode_names(void **state)
{
    mm_pad_mode p;
    assert_int_equal(mm_pad_mode_parse("constant", &p), 0);
    assert_int_equal(p, MM_PAD_CONSTANT);
    assert_int_equal(mm_pad_mode_parse("reflect", &p), 0);
    assert_int_equal(p, MM_PAD_REFLECT);
    assert_int_not_equal(mm_pad_mode_parse("edge", &p), 0);
    assert_string_equal(mm_pad_mode_name(MM_PAD_CONSTANT), "constant");
}

/* Without librosa's arrays: a 1 kHz sine's energy lies in the band whose centre is 1 kHz on the Slaney
 * mel scale (linear to 1 kHz, 15 mel there; 96 bands between 0 and 6 kHz), and the level is steady. */
static void test_sine_band(void **state)
{
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *x = malloc(sizeof(float) * N_LOGMEL);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 * (double)i / MM_SAMPLE_RATE));
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    mm_mel_compute(mel, clip, x);
    mm_mel_close(mel);
    double top_mel = 15.0 + 27.0 * log(6000.0 / 1000.0) / log(6.4);
    int expect = (int)lround(15.0 / (top_mel / (MM_N_MELS + 1))) - 1;
    int best = 0;
    for (int b = 0; b < MM_N_MELS; b++)
        if (x[(size_t)b * MM_N_FRAMES + 600] > x[(size_t)best * MM_N_FRAMES + 600])
            best = b;
    print_message("1 kHz sine: loudest band %d (expected %d)\n", best, expect);
    assert_true(abs(best - expect) <= 1);
    for (int t = 1; t < MM_N_FRAMES - 1; t++)
        assert_float_equal(x[(size_t)best * MM_N_FRAMES + t], x[(size_t)best * MM_N_FRAMES + 600], 0.5);
    free(clip);
    free(x);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crop_rule),
        cmocka_unit_test(test_pad_mode_names),
        cmocka_unit_test(test_silence_is_minus_100),
        cmocka_unit_test(test_sine_band),
    };
    const struct CMUnitTest reference[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_filterbank),
        cmocka_unit_test(test_sine440),
        cmocka_unit_test(test_chirp),
        cmocka_unit_test(test_mix),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_melody),
        cmocka_unit_test(test_stft_head_tail),
        cmocka_unit_test(test_reflect_chirp),
        cmocka_unit_test(test_reflect_melody),
    };
    return tu_main(argc, argv, "features", tests, TU_COUNT(tests), reference, TU_COUNT(reference));
}
