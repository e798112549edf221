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

/* ../shared/reference, fixed at configure time (MM_REFERENCE_DIR; the environment variable of the same
 * name overrides it). Someone who cloned the repository alone has no such folder. */
const char *tu_reference_dir(void);
/* Path under the reference folder; returns a static-lifetime string from a small ring of buffers. */
const char *tu_ref(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A suite's main: without arguments runs `tests` (self-contained: everything they need they make);
 * with --reference runs `ref_tests` (against ../shared/reference). When the reference folder is missing
 * the reference run prints one line and returns 77 (CTest's SKIP_RETURN_CODE), or fails under CI=true,
 * where the reference data must be there. */
#define TU_EXIT_SKIP 77
int tu_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n_tests,
            const struct CMUnitTest *ref_tests, size_t n_ref_tests);
#define TU_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Test audio the tests make themselves: a chord of three sines with a slow tremolo, 0.3 peak.
 * tu_write_wav writes a plain 44-byte-header PCM16 WAV (the header size is what truncation tests
 * rely on); tu_write_audio encodes through the audio module (format from the extension: mp3, flac...).
 * Both return a path inside dir from a small ring of buffers. */
const char *tu_write_wav(const char *dir, const char *name, double seconds, int rate, int channels);
const char *tu_write_audio(const char *dir, const char *name, double seconds, int rate, int channels);
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

/* One song of a made-up catalog: its tags, and its descriptor vector (MM_DESCRIPTOR_DIM values; NULL:
 * none stored, as if scanned by an older version). NULL tags are stored as NULL. */
typedef struct tu_song {
    const char *path, *title, *artist, *album, *genre;
    double duration;
    const float *descriptor;
} tu_song;
/* Creates a catalog at path holding songs[0..n) as tracks 1..n ('ok', mp3), written straight into its
 * tables: a catalog of songs no test has to decode. */
void tu_fake_catalog(const char *path, const tu_song *songs, size_t n);

#endif
