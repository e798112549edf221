#include "musicmap/util.h"

#include <stdarg.h>
#include <time.h>

void mm_log(const mm_logger *log, mm_log_level level, const char *fmt, ...)
{
    if (!log || !log->stream || level > log->level || level == MM_LOG_QUIET)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log->stream, fmt, ap);
    va_end(ap);
    fputc('\n', log->stream);
}

double mm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
