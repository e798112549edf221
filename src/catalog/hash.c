/* A small 64-bit hash (word-at-a-time multiply-xorshift, with a splitmix64 finish) and the sampled
 * content hash that recognises a moved file without reading all of it. */
#include "musicmap/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 31;
    return h;
}

uint64_t mm_hash64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(n + 1));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* little-endian hosts only read the bytes in that order; fine for a cache key */
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; i++)
        tail |= (uint64_t)p[i] << (8 * i);
    h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
    return mix(h);
}

#define SAMPLE_BYTES 65536

static mm_status read_at(int fd, unsigned char *buf, size_t n, int64_t offset, mm_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)offset + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mm_error_set(err, MM_ERR_IO, "read failed: %s", strerror(errno));
        if (r == 0)
            return mm_error_set(err, MM_ERR_IO, "the file shrank while being read");
        got += (size_t)r;
    }
    return MM_OK;
}

mm_status mm_content_hash_fd(int fd, int64_t size, uint64_t *out, mm_error *err)
{
    unsigned char *buf = malloc(SAMPLE_BYTES);
    if (!buf)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    uint64_t h = mm_hash64(&size, sizeof size, 0x6D757369636D6170ull); /* "musicmap" */
    mm_status st = MM_OK;
    if (size <= 3 * SAMPLE_BYTES) {
        for (int64_t off = 0; st == MM_OK && off < size; off += SAMPLE_BYTES) {
            size_t n = (size_t)(size - off < SAMPLE_BYTES ? size - off : SAMPLE_BYTES);
            st = read_at(fd, buf, n, off, err);
            if (st == MM_OK)
                h = mm_hash64(buf, n, h);
        }
    } else {
        const int64_t offsets[3] = {0, (size - SAMPLE_BYTES) / 2, size - SAMPLE_BYTES};
        for (int i = 0; st == MM_OK && i < 3; i++) {
            st = read_at(fd, buf, SAMPLE_BYTES, offsets[i], err);
            if (st == MM_OK)
                h = mm_hash64(buf, SAMPLE_BYTES, h);
        }
    }
    free(buf);
    *out = h ? h : 1; /* 0 means "never hashed" in the catalog */
    return st;
}
