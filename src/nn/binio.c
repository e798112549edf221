#include "binio.h"

#include <string.h>

#include "musicmap/util.h"

void nn_put(nn_writer *w, const void *data, size_t n)
{
    if (w->ok && n && fwrite(data, 1, n, w->f) != n)
        w->ok = 0;
    w->hash = mm_fnv1a64(w->hash, data, n);
}

void nn_put_u32(nn_writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    nn_put(w, b, 4);
}

int nn_get(nn_reader *r, void *out, size_t n)
{
    if (r->left < n)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

int nn_get_u32(nn_reader *r, uint32_t *v)
{
    unsigned char b[4];
    if (nn_get(r, b, 4))
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}
