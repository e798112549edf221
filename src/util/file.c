/* Whole files into memory: what the model loader and the cluster's model hand-out both read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/util.h"
#include "shared.h"

mm_status util_read_file(const char *path, size_t max, unsigned char **data, size_t *size, mm_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *grown = cap <= 2 * max ? realloc(buf, cap) : NULL;
            if (!grown) {
                free(buf);
                fclose(f);
                return mm_error_set(err, MM_ERR_NOMEM, "%s: too large to read (or out of memory)", path);
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len > max)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed || len > max) {
        free(buf);
        return failed ? mm_error_set(err, MM_ERR_IO, "%s: read error", path)
                      : mm_error_set(err, MM_ERR_NOMEM, "%s: too large to read (over %zu bytes)", path, max);
    }
    *data = buf;
    *size = len;
    return MM_OK;
}
