#include "musicmap/util.h"

#include <stdarg.h>
#include <string.h>

mm_status mm_error_set(mm_error *err, mm_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void mm_error_clear(mm_error *err)
{
    if (err) {
        err->code = MM_OK;
        err->msg[0] = '\0';
    }
}

const char *mm_status_name(mm_status code)
{
    switch (code) {
    case MM_OK: return "ok";
    case MM_ERR_ARG: return "invalid argument";
    case MM_ERR_NOMEM: return "out of memory";
    case MM_ERR_IO: return "i/o error";
    case MM_ERR_FORMAT: return "bad format";
    case MM_ERR_DECODE: return "damaged data";
    case MM_ERR_NO_AUDIO: return "no audio";
    case MM_ERR_UNSUPPORTED: return "unsupported";
    case MM_ERR_INTERNAL: return "internal error";
    case MM_ERR_NOT_FOUND: return "not found";
    case MM_ERR_CANCELLED: return "cancelled";
    }
    return "unknown error";
}
