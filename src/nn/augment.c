/* Training-time augmentation of one log-mel clip (96 x 1366, dB), in place.
 *
 * A few hundred songs per genre are few for a network of 400k weights: it learns the songs instead of
 * the genres. Each epoch therefore sees every clip slightly changed, in ways that keep its genre:
 *   - a circular shift in time (a song's genre doesn't depend on where the excerpt starts);
 *   - a gain of up to +-6 dB (mastering levels differ);
 *   - one band of up to 12 mel bins and two spans of up to 60 frames set to the clip's mean (SpecAugment,
 *     Park et al. 2019), so that no single band or moment decides.
 * The random numbers come from the caller's generator, so an epoch is reproducible from the seed. */
#include "layers.h"

#include <string.h>

#define SHIFT_FRAMES MM_N_FRAMES
#define GAIN_DB 6.0
#define FREQ_MASK_MAX 12
#define TIME_MASK_MAX 60
#define TIME_MASKS 2

static void roll_time(float *x, float *row, int shift)
{
    if (shift == 0)
        return;
    for (int m = 0; m < MM_N_MELS; m++) {
        float *r = x + (size_t)m * MM_N_FRAMES;
        memcpy(row, r + shift, sizeof(float) * (size_t)(MM_N_FRAMES - shift));
        memcpy(row + (MM_N_FRAMES - shift), r, sizeof(float) * (size_t)shift);
        memcpy(r, row, sizeof(float) * MM_N_FRAMES);
    }
}

void nn_augment_clip(float *x, float *scratch_row, mm_rng *rng)
{
    const size_t n = (size_t)MM_N_MELS * MM_N_FRAMES;
    roll_time(x, scratch_row, (int)mm_rng_below(rng, SHIFT_FRAMES));
    const float gain = (float)((2.0 * mm_rng_uniform(rng) - 1.0) * GAIN_DB);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] += gain;
        sum += x[i];
    }
    const float fill = (float)(sum / (double)n);
    int width = (int)mm_rng_below(rng, FREQ_MASK_MAX + 1);
    int first = (int)mm_rng_below(rng, (uint64_t)(MM_N_MELS - width + 1));
    for (int m = first; m < first + width; m++)
        for (int t = 0; t < MM_N_FRAMES; t++)
            x[(size_t)m * MM_N_FRAMES + t] = fill;
    for (int k = 0; k < TIME_MASKS; k++) {
        width = (int)mm_rng_below(rng, TIME_MASK_MAX + 1);
        first = (int)mm_rng_below(rng, (uint64_t)(MM_N_FRAMES - width + 1));
        for (int m = 0; m < MM_N_MELS; m++)
            for (int t = first; t < first + width; t++)
                x[(size_t)m * MM_N_FRAMES + t] = fill;
    }
}

/* Contrastive views. The network's input is always the clip's full length (bn0 has a statistic per time
 * position), so an excerpt is repeated to fill it: the GRU then reads only that part of the song, and two
 * views of one song share its sound but not its moments. */
static void repeat_excerpt(const float *song, float *view, int first, int frames, int phase)
{
    for (int m = 0; m < MM_N_MELS; m++) {
        const float *src = song + (size_t)m * MM_N_FRAMES + first;
        float *dst = view + (size_t)m * MM_N_FRAMES;
        for (int t = 0, s = phase; t < MM_N_FRAMES;) {
            int run = frames - s < MM_N_FRAMES - t ? frames - s : MM_N_FRAMES - t;
            memcpy(dst + t, src + s, sizeof(float) * (size_t)run);
            t += run;
            s = 0;
        }
    }
}

void nn_view_clip(const float *song, float *view, int frames, int augment, float *scratch_row, mm_rng *rng)
{
    if (frames <= 0 || frames >= MM_N_FRAMES) {
        memcpy(view, song, sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    } else {
        int first = (int)mm_rng_below(rng, (uint64_t)(MM_N_FRAMES - frames + 1));
        repeat_excerpt(song, view, first, frames, (int)mm_rng_below(rng, (uint64_t)frames));
    }
    if (augment)
        nn_augment_clip(view, scratch_row, rng);
}

void nn_view_half(const float *song, float *view, int half)
{
    const int frames = MM_N_FRAMES / 2;
    repeat_excerpt(song, view, half ? MM_N_FRAMES - frames : 0, frames, 0);
}
