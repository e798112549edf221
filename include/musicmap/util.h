/* util — errors, logging, thread pool, .npy files: the small things every module shares.
 *
 * Thread safety: nothing here keeps hidden global state. mm_error, mm_rng, mm_npy and mm_logger values
 * belong to their caller: use one per thread, or lock around sharing one. An mm_pool runs one
 * mm_pool_for at a time, so one thread drives it; an mm_queue is made for several threads (push, pop and
 * close from any). A logger's stream or callback is used from whichever library thread logs, possibly
 * from several at once (see mm_logger). */
#ifndef MUSICMAP_UTIL_H
#define MUSICMAP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "musicmap/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible library call returns one of these and, when given an mm_error, fills its message. */
typedef enum mm_status {
    MM_OK = 0,
    MM_ERR_ARG,         /* the caller passed something invalid */
    MM_ERR_NOMEM,       /* an allocation failed */
    MM_ERR_IO,          /* the operating system refused (open, read, write, stat) */
    MM_ERR_FORMAT,      /* the file is not what it should be (not audio, bad header, bad model) */
    MM_ERR_DECODE,      /* the file is of a known kind but its contents are damaged */
    MM_ERR_NO_AUDIO,    /* a readable container with no decodable audio in it */
    MM_ERR_UNSUPPORTED, /* a valid request this build can't serve */
    MM_ERR_INTERNAL,    /* a library we rely on failed unexpectedly */
    MM_ERR_NOT_FOUND,   /* what was asked for by id or name is not there (a track, model, map, features) */
    MM_ERR_CANCELLED    /* the caller's progress callback asked to stop */
} mm_status;

#define MM_ERROR_MSG_MAX 512

typedef struct mm_error {
    mm_status code;
    char msg[MM_ERROR_MSG_MAX];
} mm_error;

/* Fill err (if not NULL) and return code, so callers can write `return mm_error_set(...)`. */
MM_API mm_status mm_error_set(mm_error *err, mm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
MM_API void mm_error_clear(mm_error *err);
MM_API const char *mm_status_name(mm_status code);

/* Logging goes where the caller says at a caller-chosen level; the library logs only through a logger
 * handle it was given, never on its own. A line goes to callback when it is set (a program that embeds
 * the library routes it into its own logging), else to stream with a newline added; with neither,
 * nothing is written. */
typedef enum mm_log_level { MM_LOG_QUIET = 0, MM_LOG_ERROR, MM_LOG_WARN, MM_LOG_INFO, MM_LOG_DEBUG } mm_log_level;

/* One line, without its newline; message is valid during the call only. Called from whichever thread
 * logs, possibly several at once: the callback does its own locking if it needs any. */
typedef void (*mm_log_fn)(mm_log_level level, const char *message, void *user);

typedef struct mm_logger {
    mm_log_level level; /* lines above this level are dropped; MM_LOG_QUIET drops all */
    FILE *stream;       /* used when callback is NULL */
    mm_log_fn callback;
    void *user;         /* passed to callback */
} mm_logger;

MM_API void mm_log(const mm_logger *log, mm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
MM_API void mm_logv(const mm_logger *log, mm_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* .npy (NumPy format 1.0) read and write of little-endian float32 and int32 arrays, C order. */
typedef enum mm_npy_dtype { MM_NPY_F32, MM_NPY_F64, MM_NPY_I32 } mm_npy_dtype;

typedef struct mm_npy {
    mm_npy_dtype dtype;
    int ndim;
    size_t shape[8];
    size_t count; /* product of the shape */
    void *data;   /* count elements of dtype; owned, release with mm_npy_free */
} mm_npy;

MM_API mm_status mm_npy_write(const char *path, mm_npy_dtype dtype, const void *data, int ndim,
                              const size_t *shape, mm_error *err);
MM_API mm_status mm_npy_read(const char *path, mm_npy *out, mm_error *err);
MM_API void mm_npy_free(mm_npy *npy);

/* A fixed-size pool of worker threads running a parallel-for: fn(i, worker, arg) for i in [0, n). */
typedef struct mm_pool mm_pool;
typedef void (*mm_pool_fn)(size_t index, int worker, void *arg);

MM_API mm_status mm_pool_open(mm_pool **out, int threads, mm_error *err);
MM_API int mm_pool_threads(const mm_pool *pool);
/* Runs every index once, spread over the workers and the calling thread; returns when all are done. */
MM_API void mm_pool_for(mm_pool *pool, size_t n, mm_pool_fn fn, void *arg);
MM_API void mm_pool_close(mm_pool *pool);
/* Number of online CPUs (at least 1). */
MM_API int mm_cpu_count(void);

/* Monotonic wall clock in seconds. */
MM_API double mm_now(void);

/* Our own random numbers, so that a seed means the same numbers on every platform and libc:
 * xoshiro256** (Blackman & Vigna), seeded by splitmix64. Not for cryptography. */
typedef struct mm_rng {
    uint64_t s[4];
} mm_rng;

/* One splitmix64 step: advances *state and returns a well-mixed value (also a seed deriver). */
MM_API uint64_t mm_splitmix64(uint64_t *state);
MM_API void mm_rng_seed(mm_rng *rng, uint64_t seed);
MM_API uint64_t mm_rng_next(mm_rng *rng);
MM_API double mm_rng_uniform(mm_rng *rng);             /* [0, 1), 53 bits */
MM_API uint64_t mm_rng_below(mm_rng *rng, uint64_t n); /* uniform in [0, n), n > 0, unbiased */

/* FNV-1a, 64 bits, continuing from h (start with MM_FNV1A64_INIT): detects damage, not tampering. */
#define MM_FNV1A64_INIT 0xcbf29ce484222325ULL
MM_API uint64_t mm_fnv1a64(uint64_t h, const void *data, size_t n);

/* Folds UTF-8 text for matching: lower case (Latin, Greek, Cyrillic), accents removed (é -> e, ß -> ss,
 * combining marks dropped). Writes at most cap bytes including the NUL, whole characters only; returns
 * the length written. Invalid UTF-8 bytes are copied unchanged. */
MM_API size_t mm_text_fold(const char *in, char *out, size_t cap);

/* JSON: s as a JSON string with the escapes RFC 8259 requires; bytes that are not valid UTF-8 become
 * U+FFFD. Output goes through write(bytes, n, ctx), so a file and a memory buffer share the escaping. */
typedef void (*mm_json_writer)(const void *bytes, size_t n, void *ctx);
MM_API void mm_json_write_string(const char *s, mm_json_writer write, void *ctx);

/* IEEE 754 binary16 ("half") <-> float, round-to-nearest-even; subnormals, infinities and NaN kept. */
MM_API uint16_t mm_float_to_half(float value);
MM_API float mm_half_to_float(uint16_t half);
MM_API void mm_floats_to_halves(const float *in, uint16_t *out, size_t n);
MM_API void mm_halves_to_floats(const uint16_t *in, float *out, size_t n);

/* A bounded blocking queue of pointers (producers -> consumer). push blocks while full and returns -1
 * once the queue is closed; pop waits up to timeout seconds (< 0: forever) and returns 1 with an item,
 * 0 on timeout, -1 when the queue is closed and empty. */
typedef struct mm_queue mm_queue;
MM_API mm_status mm_queue_open(mm_queue **out, size_t capacity, mm_error *err);
MM_API int mm_queue_push(mm_queue *queue, void *item);
MM_API int mm_queue_pop(mm_queue *queue, void **item, double timeout);
MM_API void mm_queue_close(mm_queue *queue);
MM_API void mm_queue_free(mm_queue *queue);

#ifdef __cplusplus
}
#endif
#endif
