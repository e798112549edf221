/* JSON output helpers shared by the subcommands. */
#include <math.h>
#include <stdio.h>

#include "cli.h"

static void write_file(const void *bytes, size_t n, void *ctx)
{
    fwrite(bytes, 1, n, (FILE *)ctx);
}

void cli_json_string(FILE *out, const char *s)
{
    mm_json_write_string(s, write_file, out);
}

void cli_json_string_or_null(FILE *out, const char *s)
{
    if (s)
        cli_json_string(out, s);
    else
        fputs("null", out);
}

void cli_json_number(FILE *out, double v, int decimals)
{
    if (isfinite(v))
        fprintf(out, "%.*f", decimals, v);
    else
        fputs("null", out);
}
