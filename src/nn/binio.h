/* Checksummed binary files of the nn module (model files, checkpoints): a writer that hashes what it
 * writes (FNV-1a) and a bounds-checked reader. Little-endian integers. Internal. */
#ifndef MM_NN_BINIO_H
#define MM_NN_BINIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct nn_writer {
    FILE *f;
    uint64_t hash; /* of everything written so far */
    int ok;        /* 0 once a write failed */
} nn_writer;

void nn_put(nn_writer *w, const void *data, size_t n);
void nn_put_u32(nn_writer *w, uint32_t v);

typedef struct nn_reader {
    const unsigned char *p;
    size_t left;
} nn_reader;

/* 0 on success, -1 when fewer than n bytes are left. */
int nn_get(nn_reader *r, void *out, size_t n);
int nn_get_u32(nn_reader *r, uint32_t *v);

#endif
