/* Our own PRNG (xoshiro256** seeded by splitmix64) so that a seed means the same music on every
 * platform and libc, and independent streams can be derived per track and per purpose. */
#include <math.h>

#include "synth.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t synth_mix(uint64_t a, uint64_t b)
{
    uint64_t state = a ^ (b * 0xD1B54A32D192ED03ull);
    splitmix64(&state);
    return splitmix64(&state);
}

void synth_rng_seed(synth_rng *rng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&state);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t synth_rng_next(synth_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double synth_rng_uniform(synth_rng *rng)
{
    return (double)(synth_rng_next(rng) >> 11) * 0x1.0p-53;
}

int synth_rng_int(synth_rng *rng, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int)(synth_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

double synth_rng_range(synth_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * synth_rng_uniform(rng);
}

/* Box-Muller; one value per call keeps the stream position independent of history. */
double synth_rng_normal(synth_rng *rng)
{
    double u = synth_rng_uniform(rng), v = synth_rng_uniform(rng);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int synth_rng_chance(synth_rng *rng, double p)
{
    return synth_rng_uniform(rng) < p;
}

int synth_rng_pick(synth_rng *rng, const int *list)
{
    int n = 0;
    while (list[n] >= 0)
        n++;
    return n ? list[synth_rng_int(rng, 0, n - 1)] : -1;
}
