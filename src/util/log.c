#include "musicmap/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

void mm_logv(const mm_logger *log, mm_log_level level, const char *fmt, va_list ap)
{
    if (!log || level > log->level || level == MM_LOG_QUIET || (!log->callback && !log->stream))
        return;
    if (!log->callback) {
        /* the stream's lock over text and newline: lines from several threads never interleave */
        flockfile(log->stream);
        vfprintf(log->stream, fmt, ap);
        fputc('\n', log->stream);
        funlockfile(log->stream);
        return;
    }
    /* a callback gets the whole line as one string: most lines fit the stack buffer */
    char small[512];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(again);
        return;
    }
    if ((size_t)n < sizeof small) {
        log->callback(level, small, log->user);
    } else {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            log->callback(level, big, log->user);
            free(big);
        } else {
            log->callback(level, small, log->user); /* truncated beats nothing when memory is short */
        }
    }
    va_end(again);
}

void mm_log(const mm_logger *log, mm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mm_logv(log, level, fmt, ap);
    va_end(ap);
}

double mm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
