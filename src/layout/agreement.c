/* Label agreement of a neighbour graph: how often a point's nearest neighbours share its label (the
 * figure maps and "similar songs" are judged by against folders, soundtracks or genre tags). */
#include <stdlib.h>

#include "musicmap/layout.h"

double mm_knn_label_agreement(const int32_t *idx, size_t n, int k_stored, int k, const int32_t *labels)
{
    double sum = 0;
    size_t counted = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0)
            continue;
        int same = 0;
        for (int j = 0; j < k; j++)
            same += labels[idx[i * (size_t)k_stored + (size_t)j]] == labels[i];
        sum += (double)same / k;
        counted++;
    }
    return counted ? sum / (double)counted : 0.0 / 0.0;
}

double mm_label_chance_agreement(const int32_t *labels, size_t n)
{
    /* a random other point shares the label with probability sum n_c (n_c - 1) / (N (N - 1)) */
    int32_t max = -1;
    for (size_t i = 0; i < n; i++)
        max = labels[i] > max ? labels[i] : max;
    if (max < 0)
        return 0.0 / 0.0;
    /* one pass counting every label (a label per artist has as many as there are artists) */
    double *count = calloc((size_t)max + 1, sizeof *count);
    if (!count)
        return 0.0 / 0.0;
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= 0)
            count[labels[i]]++;
    double pairs = 0, total = 0;
    for (int32_t c = 0; c <= max; c++) {
        pairs += count[c] * (count[c] - 1);
        total += count[c];
    }
    free(count);
    return total > 1 ? pairs / (total * (total - 1)) : 0.0 / 0.0;
}
