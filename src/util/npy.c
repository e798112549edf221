/* NumPy .npy format, version 1.0: magic, header length, a Python-dict header, raw C-order data. */
#include "musicmap/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

static const char NPY_MAGIC[] = "\x93NUMPY";

static size_t dtype_size(mm_npy_dtype dtype)
{
    return dtype == MM_NPY_F64 ? 8 : 4;
}

static const char *dtype_descr(mm_npy_dtype dtype)
{
    switch (dtype) {
    case MM_NPY_F32: return "<f4";
    case MM_NPY_F64: return "<f8";
    case MM_NPY_I32: return "<i4";
    }
    return "?";
}

mm_status mm_npy_write(const char *path, mm_npy_dtype dtype, const void *data, int ndim,
                       const size_t *shape, mm_error *err)
{
    if (ndim < 1 || ndim > 8)
        return mm_error_set(err, MM_ERR_ARG, "%s: .npy arrays need 1 to 8 dimensions", path);
    char header[256];
    int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       dtype_descr(dtype));
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        len += snprintf(header + len, sizeof header - (size_t)len, "%zu,%s", shape[i],
                        i + 1 < ndim ? " " : "");
        count *= shape[i];
    }
    /* A 1-d shape keeps its trailing comma, (n,); longer ones drop it to match numpy's own output. */
    if (ndim > 1)
        len--;
    len += snprintf(header + len, sizeof header - (size_t)len, "), }");
    /* Pad with spaces so that magic + 2 + 2 + header (ending in '\n') is a multiple of 64. */
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t hlen = (size_t)len + pad + 1;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, dtype_size(dtype), count, f) == count;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return mm_error_set(err, MM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return MM_OK;
}

/* Finds `'key': ` in the header and returns a pointer just past it. */
static const char *header_value(const char *header, const char *key)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "'%s':", key);
    const char *p = strstr(header, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    return p;
}

mm_status mm_npy_read(const char *path, mm_npy *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char pre[12];
    mm_status st = MM_OK;
    char *header = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, NPY_MAGIC, 6) != 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: not a .npy file", path);
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
    } else {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: unknown .npy version %d", path, pre[6]);
        goto done;
    }
    if (hlen > 65536) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: .npy header too long", path);
        goto done;
    }
    header = malloc(hlen + 1);
    if (!header) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated .npy header", path);
        goto done;
    }
    header[hlen] = '\0';
    const char *descr = header_value(header, "descr");
    const char *fortran = header_value(header, "fortran_order");
    const char *shape = header_value(header, "shape");
    if (!descr || !fortran || !shape || *shape != '(') {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: malformed .npy header", path);
        goto done;
    }
    if (strncmp(descr, "'<f4'", 5) == 0)
        out->dtype = MM_NPY_F32;
    else if (strncmp(descr, "'<f8'", 5) == 0)
        out->dtype = MM_NPY_F64;
    else if (strncmp(descr, "'<i4'", 5) == 0)
        out->dtype = MM_NPY_I32;
    else {
        st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: .npy dtype %.8s not supported (need <f4, <f8 or <i4)",
                          path, descr);
        goto done;
    }
    if (strncmp(fortran, "False", 5) != 0) {
        st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: Fortran-order .npy arrays are not supported", path);
        goto done;
    }
    const char *p = shape + 1;
    out->count = 1;
    while (*p && *p != ')') {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || out->ndim == 8) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: malformed .npy shape", path);
            goto done;
        }
        if (v != 0 && out->count > SIZE_MAX / 8 / v) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: .npy shape too large", path);
            goto done;
        }
        out->shape[out->ndim++] = (size_t)v;
        out->count *= (size_t)v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    size_t bytes = out->count * dtype_size(out->dtype);
    /* the file must hold what the shape promises before that much is allocated (a damaged or hostile
     * header asked for petabytes: found by tests/fuzz/fuzz_npy) */
    struct stat sb;
    const long here = ftell(f);
    if (here < 0 || fstat(fileno(f), &sb) != 0 ||
        (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size - (uint64_t)here < (uint64_t)bytes)) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated .npy data (the shape needs %zu bytes)", path, bytes);
        goto done;
    }
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory for %zu bytes", path, bytes);
        goto done;
    }
    if (fread(out->data, 1, bytes, f) != bytes) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated .npy data", path);
        goto done;
    }
done:
    free(header);
    fclose(f);
    if (st != MM_OK)
        mm_npy_free(out);
    return st;
}

void mm_npy_free(mm_npy *npy)
{
    if (npy) {
        free(npy->data);
        npy->data = NULL;
        npy->count = 0;
        npy->ndim = 0;
    }
}
