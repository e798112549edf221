/* .npy reader: any bytes are refused with an error or read into an array whose size matches its shape. */
#include <stdlib.h>

#include "fuzz.h"
#include "musicmap/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    mm_npy a;
    mm_error err;
    if (path && mm_npy_read(path, &a, &err) == MM_OK) {
        size_t count = 1;
        for (int i = 0; i < a.ndim; i++)
            count *= (size_t)a.shape[i];
        if (count != a.count)
            fuzz_fail("npy: element count differs from the shape");
        /* every element readable (ASan checks the buffer) */
        volatile unsigned char sink = 0;
        const unsigned char *bytes = a.data;
        for (size_t i = 0; i < a.count * (a.dtype == MM_NPY_F64 ? 8 : 4); i += 61)
            sink ^= bytes[i];
        (void)sink;
        mm_npy_free(&a);
    }
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    float f[6] = {1, 2, 3, 4, 5, 6};
    int32_t l[3] = {0, 1, 2};
    size_t s2[2] = {2, 3}, s1[1] = {3};
    char path[4096];
    mm_error err;
    snprintf(path, sizeof path, "%s/f32-2x3.npy", dir);
    if (mm_npy_write(path, MM_NPY_F32, f, 2, s2, &err) != MM_OK)
        return -1;
    snprintf(path, sizeof path, "%s/i32-3.npy", dir);
    if (mm_npy_write(path, MM_NPY_I32, l, 1, s1, &err) != MM_OK)
        return -1;
    return 2;
}
