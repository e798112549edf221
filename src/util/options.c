/* Reading option structs by their size field (shared.h, docs/api.md). */
#include <string.h>

#include "shared.h"

void util_options_copy(void *dst, size_t dst_size, const void *src, size_t first_size)
{
    if (!src)
        return;
    size_t n;
    memcpy(&n, src, sizeof n); /* the size field, first in every option struct */
    if (n == 0)
        n = first_size;
    if (n > dst_size)
        n = dst_size;
    if (n > sizeof n)
        memcpy((char *)dst + sizeof n, (const char *)src + sizeof n, n - sizeof n);
    /* dst keeps its own size: it is the library's full struct */
}
