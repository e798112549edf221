/* The network presets, as data. */
#include <string.h>

#include "internal.h"

static const mm_preset PRESETS[] = {
    /* The original system's genre CRNN (Choi et al. 2016, as Music-Mapp trained it on GTZAN). */
    {.name = "crnn4",
     .time_pad = 37,
     .n_blocks = 4,
     .blocks = {{64, 2, 2, 2, 2}, {128, 3, 3, 3, 3}, {128, 4, 4, 4, 4}, {128, 4, 4, 4, 4}},
     .block_dropout = 0.1f,
     .gru_units = 32,
     .final_dropout = 0.3f},
    /* The deeper variant: keeps 350 time steps for the GRUs. */
    {.name = "crnn6",
     .time_pad = 37,
     .n_blocks = 6,
     .blocks = {{64, 2, 2, 2, 2}, {128, 2, 2, 2, 2}, {128, 2, 2, 1, 1}, {64, 4, 4, 2, 1}, {128, 4, 4, 2, 1},
                {128, 4, 4, 2, 1}},
     .block_dropout = 0.2f,
     .gru_units = 32,
     .final_dropout = 0.3f},
    /* crnn4's shape with few filters: trains in seconds, for tests and quick maps. */
    {.name = "small",
     .time_pad = 37,
     .n_blocks = 4,
     .blocks = {{8, 2, 2, 2, 2}, {16, 3, 3, 3, 3}, {16, 4, 4, 4, 4}, {16, 4, 4, 4, 4}},
     .block_dropout = 0.1f,
     .gru_units = 16,
     .final_dropout = 0.3f},
};

static const char *const PRESET_NAMES[] = {"crnn4", "crnn6", "small", NULL};

const mm_preset *mm_preset_find(const char *name)
{
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    return NULL;
}

const char *const *mm_preset_names(void)
{
    return PRESET_NAMES;
}

int mm_preset_shape(const mm_preset *preset, int block, int *channels, int *height, int *width)
{
    int c = 1, h = MM_N_MELS, w = MM_N_FRAMES + 2 * preset->time_pad;
    for (int i = 0; i <= block && i < preset->n_blocks; i++) {
        const mm_block_spec *b = &preset->blocks[i];
        /* conv 3x3 'same' keeps h x w; max-pool 'valid' */
        if (h < b->pool_h || w < b->pool_w)
            return -1;
        c = b->filters;
        h = (h - b->pool_h) / b->stride_h + 1;
        w = (w - b->pool_w) / b->stride_w + 1;
    }
    *channels = c;
    *height = h;
    *width = w;
    return 0;
}
