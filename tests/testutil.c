#include "testutil.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

const char *tu_reference_dir(void)
{
    const char *env = getenv("MM_REFERENCE_DIR");
    return env && env[0] ? env : MM_REFERENCE_DIR;
}

const char *tu_ref(const char *fmt, ...)
{
    static char ring[8][1024];
    static int next;
    char *buf = ring[next++ % 8];
    int n = snprintf(buf, sizeof ring[0], "%s/", tu_reference_dir());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof ring[0] - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}

void tu_require_reference(void)
{
    struct stat sb;
    if (stat(tu_ref("README.md"), &sb) != 0) {
        print_message("reference data not found at %s\n", tu_reference_dir());
        skip();
    }
}

void *tu_read_raw(const char *path, size_t size, size_t count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    void *data = malloc(size * count);
    assert_non_null(data);
    size_t got = fread(data, size, count, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != count || extra != EOF)
        fail_msg("%s: expected exactly %zu elements of %zu bytes", path, count, size);
    return data;
}

float *tu_read_npy_f32(const char *path, int ndim, const size_t *shape)
{
    mm_npy npy;
    mm_error err;
    if (mm_npy_read(path, &npy, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(npy.dtype, MM_NPY_F32);
    if (ndim) {
        assert_int_equal(npy.ndim, ndim);
        for (int i = 0; i < ndim; i++)
            assert_int_equal(npy.shape[i], shape[i]);
    }
    return npy.data;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

tu_diff tu_compare(const float *a, const float *b, size_t n)
{
    tu_diff d = {0};
    double *abs_diff = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(abs_diff);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)a[i] - (double)b[i]);
        if (isnan(v))
            v = INFINITY;
        abs_diff[i] = v;
        sum += v;
        if (v > d.max_abs) {
            d.max_abs = v;
            d.worst = i;
        }
    }
    d.mean_abs = n ? sum / (double)n : 0;
    qsort(abs_diff, n, sizeof *abs_diff, cmp_double);
    d.p99_abs = n ? abs_diff[(size_t)((double)(n - 1) * 0.99)] : 0;
    free(abs_diff);
    return d;
}

const char *tu_temp_dir(void)
{
    static char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/musicmap-test-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp failed");
    return dir;
}
