/* What the fuzz targets share. Each target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and
 * may define fuzz_make_seeds (valid inputs written by the library itself, so seeds follow the formats
 * as they change). Built two ways (tests/fuzz/CMakeLists.txt): with libFuzzer (MM_FUZZ, clang) for
 * scripts/fuzz.sh, and with replay.c's main for the CTest that replays the corpora on every run. */
#ifndef MM_FUZZ_H
#define MM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes valid inputs into dir (which exists); returns how many, or -1. Optional (weak in replay.c). */
int fuzz_make_seeds(const char *dir);

/* The bytes as a file without touching the disk (a memfd, reused): its /proc/self/fd path, or NULL.
 * Parsers that take a path read it as any file. */
const char *fuzz_as_file(const uint8_t *data, size_t size);

/* The same as a named file in RAM (/dev/shm, else /tmp): for libraries that need a real path to the
 * file (HDF5 resolves the name it opens, which a memfd's /proc path does not give). */
const char *fuzz_as_named_file(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the bytes (free it). */
char *fuzz_string(const uint8_t *data, size_t size);

/* Writes size bytes to dir/name; 0 on success. */
int fuzz_write_seed(const char *dir, const char *name, const void *data, size_t size);

/* Aborts with a message: a broken invariant is a finding, like a crash. */
void fuzz_fail(const char *what);

#endif
