/* Training checkpoints: any bytes are refused with an error or resumed from. The checksum that guards
 * a checkpoint is recomputed over each input first, so the fuzzer reaches the parsing behind it (a
 * damaged file's checksum fails, which the unit tests cover). One small model and dataset for all runs;
 * seeds are checkpoints of that same training, written by the library. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "musicmap/features.h"
#include "musicmap/nn.h"
#include "musicmap/util.h"

enum { ITEMS = 10 };
static const int LABELS[ITEMS] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};

static int read_zero(size_t index, float *logmel, mm_error *err, void *ctx)
{
    (void)err;
    (void)ctx;
    for (size_t i = 0; i < (size_t)MM_N_MELS * MM_N_FRAMES; i++)
        logmel[i] = (float)((index * 7 + i) % 13) - 6.0f;
    return 0;
}

static mm_model *model(void)
{
    static mm_model *m;
    static const char *const labels[2] = {"a", "b"};
    mm_error err;
    if (!m && (mm_model_create(&m, mm_preset_find("small"), 2, labels, MM_HEAD_SOFTMAX, NULL, &err) != MM_OK ||
               mm_model_init_random(m, 1, &err) != MM_OK))
        abort();
    return m;
}

static void options(mm_train_options *o, const char *checkpoint)
{
    mm_train_options_init(o);
    o->batch = 2;
    o->epochs = 1;
    o->threads = 1;
    o->checkpoint = checkpoint;
    o->resume = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (size >= 8) {
        uint64_t sum = mm_fnv1a64(MM_FNV1A64_INIT, copy, size - 8);
        memcpy(copy + size - 8, &sum, 8);
    }
    const char *path = fuzz_as_file(copy, size);
    free(copy);
    if (!path)
        return 0;
    mm_dataset ds = {ITEMS, LABELS, read_zero, NULL};
    mm_train_options o;
    options(&o, path);
    mm_trainer *t = NULL;
    mm_error err;
    if (mm_trainer_open(&t, model(), &ds, &o, &err) == MM_OK) {
        const mm_split *s = mm_trainer_split(t);
        for (size_t i = 0; i < s->n_train; i++)
            if (s->train[i] >= ITEMS)
                fuzz_fail("checkpoint: a split index beyond the dataset");
        mm_trainer_close(t);
    }
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/after-one-epoch.ckpt", dir);
    mm_dataset ds = {ITEMS, LABELS, read_zero, NULL};
    mm_train_options o;
    options(&o, path);
    o.resume = 0;
    mm_trainer *t = NULL;
    mm_error err;
    mm_train_epoch_stats stats;
    if (mm_trainer_open(&t, model(), &ds, &o, &err) != MM_OK)
        return -1;
    mm_status st = mm_trainer_epoch(t, &stats, &err);
    mm_trainer_close(t);
    return st == MM_OK ? 1 : -1;
}
