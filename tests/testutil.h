/* Helpers shared by the C test suites: reference-file loading and array comparison. */
#ifndef MM_TESTUTIL_H
#define MM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "musicmap/util.h"

/* ../shared/reference, fixed at configure time (MM_REFERENCE_DIR). */
const char *tu_reference_dir(void);
/* Path under the reference folder; returns a static-lifetime string from a small ring of buffers. */
const char *tu_ref(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Skips the current test when the reference folder is missing. */
void tu_require_reference(void);
/* Reads a raw little-endian file of exactly count elements of size bytes; fails the test otherwise. */
void *tu_read_raw(const char *path, size_t size, size_t count);
/* Loads a float32 .npy and checks its shape (ndim 0 = don't check). */
float *tu_read_npy_f32(const char *path, int ndim, const size_t *shape);

typedef struct tu_diff {
    double max_abs;
    double mean_abs;
    double p99_abs;
    size_t worst;
} tu_diff;
tu_diff tu_compare(const float *a, const float *b, size_t n);

/* A fresh temporary folder for the test (removed by the OS, not by us). */
const char *tu_temp_dir(void);

#endif
