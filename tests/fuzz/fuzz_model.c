/* Model files (.mmm): any bytes are refused with an error or load into a model that can describe itself
 * and be saved again. Seeds: each preset's model, initialised, written by the library. */
#include <stdio.h>

#include "fuzz.h"
#include "musicmap/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    mm_model *m = NULL;
    mm_error err;
    if (path && mm_model_load(&m, path, &err) == MM_OK) {
        const int n = mm_model_n_labels(m);
        for (int i = 0; i < n; i++)
            if (!mm_model_label(m, i))
                fuzz_fail("model: a label index below n_labels has no name");
        for (int i = 0; i < mm_model_n_params(m); i++) {
            const mm_tensor *t = mm_model_param(m, i);
            size_t count = 1;
            for (int d = 0; d < t->ndim; d++)
                count *= (size_t)t->dims[d];
            if (count != t->count)
                fuzz_fail("model: a tensor's count differs from its dims");
        }
        mm_model_close(m);
    }
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    static const char *const presets[] = {"small", "crnn4"};
    static const char *const labels[3] = {"rock", "jazz", "folk"};
    int made = 0;
    for (int p = 0; p < 2; p++) {
        mm_model *m;
        mm_error err;
        if (mm_model_create(&m, mm_preset_find(presets[p]), 3, labels, MM_HEAD_SOFTMAX, NULL, &err) != MM_OK ||
            mm_model_init_random(m, 1, &err) != MM_OK)
            return -1;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.mmm", dir, presets[p]);
        mm_status st = mm_model_save(m, path, &err);
        mm_model_close(m);
        if (st != MM_OK)
            return -1;
        made++;
    }
    return made;
}
