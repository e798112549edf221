/* Descriptors as map input: each dimension standardised over the collection, then each group weighted
 * so that timbre, spectral shape, rhythm, harmony and dynamics count equally however many dimensions
 * each has (otherwise the 60 MFCC statistics would outvote the 2 key strengths). */
#include <math.h>
#include <stdlib.h>

#include "musicmap/features.h"

void mm_descriptors_standardise(float *x, size_t n)
{
    int group_size[MM_DESC_N_GROUPS] = {0};
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
        group_size[mm_descriptor_group_of(j)]++;
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; i++)
            sum += x[i * MM_DESCRIPTOR_DIM + (size_t)j];
        double mean = n ? sum / (double)n : 0;
        for (size_t i = 0; i < n; i++) {
            double v = x[i * MM_DESCRIPTOR_DIM + (size_t)j] - mean;
            sq += v * v;
        }
        double sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
        /* a dimension that does not vary carries nothing (and must not divide by zero) */
        double scale = sd > 1e-9 ? 1.0 / (sd * sqrt((double)group_size[mm_descriptor_group_of(j)])) : 0.0;
        for (size_t i = 0; i < n; i++) {
            float *v = &x[i * MM_DESCRIPTOR_DIM + (size_t)j];
            *v = (float)((*v - mean) * scale);
        }
    }
}
