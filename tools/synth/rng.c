/* Helpers over util's mm_rng (xoshiro256** seeded by splitmix64), so that a seed means the same music
 * on every platform and libc, and independent streams can be derived per track and per purpose. */
#include <math.h>

#include "synth.h"

uint64_t synth_mix(uint64_t a, uint64_t b)
{
    uint64_t state = a ^ (b * 0xD1B54A32D192ED03ull);
    mm_splitmix64(&state);
    return mm_splitmix64(&state);
}

int synth_rng_int(mm_rng *rng, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int)(mm_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

double synth_rng_range(mm_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * mm_rng_uniform(rng);
}

/* Box-Muller; one value per call keeps the stream position independent of history. */
double synth_rng_normal(mm_rng *rng)
{
    double u = mm_rng_uniform(rng), v = mm_rng_uniform(rng);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int synth_rng_chance(mm_rng *rng, double p)
{
    return mm_rng_uniform(rng) < p;
}

int synth_rng_pick(mm_rng *rng, const int *list)
{
    int n = 0;
    while (list[n] >= 0)
        n++;
    return n ? list[synth_rng_int(rng, 0, n - 1)] : -1;
}
