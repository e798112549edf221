/* util — what the library's modules share that is not part of the public API (never installed).
 * Names here carry the util_ prefix, so `nm -D libmusicmap.so` shows none of them. */
#ifndef MM_UTIL_SHARED_H
#define MM_UTIL_SHARED_H

#include <stddef.h>

#include "musicmap/util.h"

/* FFTW's planner (plan creation and destruction) keeps global state and is not thread-safe; executing a
 * plan is. Every module that plans single-precision FFTW transforms (features' STFT, layout's t-SNE
 * interpolation grid) holds this one lock around planning, so that a scan and a layout can run in two
 * threads of one program. A program that also plans fftwf transforms of its own, outside this lock,
 * must not do so while musicmap plans (docs/api.md). */
void util_fftw_lock(void);
void util_fftw_unlock(void);

/* A whole file into memory (*data malloc'd, *size bytes), at most max bytes: MM_ERR_IO naming the path
 * and why, or MM_ERR_NOMEM (larger than max, or no memory). */
mm_status util_read_file(const char *path, size_t max, unsigned char **data, size_t *size, mm_error *err);

/* Option structs (docs/api.md, "Option structs"): each starts with `size_t size`, the sizeof the
 * caller's program knew, which mm_X_init sets; 0 (a struct zeroed by hand) means the struct as 0.1
 * first had it. Every function that takes one reads it through util_options_copy into a full-size copy
 * of the library's own that holds the defaults: fields beyond the caller's size keep their defaults,
 * bytes beyond the library's own size (a newer program) are not read. first_size is
 * UTIL_OPTIONS_END(type, last field of 0.1); src may be NULL (all defaults). */
#define UTIL_OPTIONS_END(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
void util_options_copy(void *dst, size_t dst_size, const void *src, size_t first_size);

#endif
