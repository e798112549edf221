#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_usage_error(const cli_context *cli, const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "musicmap %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'musicmap %s --help'.\n", command);
    va_end(ap);
    (void)cli;
    return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int cli_common_option(cli_context *cli, int opt)
{
    if (opt == 'q') {
        cli->log.level = MM_LOG_QUIET;
        return 1;
    }
    if (opt == 'v') {
        cli->log.level = MM_LOG_DEBUG;
        return 1;
    }
    return 0;
}
