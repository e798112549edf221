/* Just enough JSON for the model metrics the library writes itself (src/pipeline/train.c): a top-level
 * object's members, numbers, arrays of numbers and arrays of such arrays. Anything malformed is
 * "not there", never a crash: a damaged metrics text gives a figure-less model, not a wrong figure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *ws(const char *p)
{
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return NULL;
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* Past one value; NULL when malformed. Depth-limited so hostile nesting can't exhaust the stack. */
static const char *skip_value(const char *p, int depth)
{
    p = ws(p);
    if (!p || depth > 32)
        return NULL;
    if (*p == '"')
        return skip_string(p);
    if (*p == '{' || *p == '[') {
        const char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_string(ws(p));
                if (!p || *(p = ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = ws(skip_value(p, depth + 1));
            if (!p)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p ? NULL : end;
}

const char *plot_json_get(const char *json, const char *key)
{
    const char *p = ws(json);
    if (!p || *p != '{')
        return NULL;
    p = ws(p + 1);
    const size_t klen = strlen(key);
    while (p && *p == '"') {
        const char *name = p + 1, *end = skip_string(p);
        if (!end)
            return NULL;
        p = ws(end);
        if (*p != ':')
            return NULL;
        p = ws(p + 1);
        if ((size_t)(end - 1 - name) == klen && strncmp(name, key, klen) == 0)
            return p;
        p = ws(skip_value(p, 0));
        if (!p || *p != ',')
            return NULL;
        p = ws(p + 1);
    }
    return NULL;
}

int plot_json_number(const char *v, double *out)
{
    v = ws(v);
    if (!v)
        return -1;
    if (strncmp(v, "null", 4) == 0) {
        *out = NAN;
        return 0;
    }
    char *end;
    double d = strtod(v, &end);
    if (end == v)
        return -1;
    *out = d;
    return 0;
}

long plot_json_numbers(const char *v, double **out)
{
    *out = NULL;
    v = ws(v);
    if (!v || *v != '[')
        return -1;
    const char *end = skip_value(v, 0);
    if (!end)
        return -1;
    size_t cap = 16, n = 0;
    double *a = malloc(cap * sizeof *a);
    const char *p = ws(v + 1);
    while (a && p < end && *p != ']') {
        double d;
        if (plot_json_number(p, &d) != 0)
            break;
        if (n == cap) {
            double *b = realloc(a, (cap *= 2) * sizeof *a);
            if (!b)
                break;
            a = b;
        }
        a[n++] = d;
        p = ws(skip_value(p, 0));
        if (!p || (*p != ',' && *p != ']'))
            break;
        if (*p == ',')
            p = ws(p + 1);
    }
    if (!a || !p || *p != ']') {
        free(a);
        return -1;
    }
    *out = a;
    return (long)n;
}

long plot_json_matrix(const char *v, double **out, long *cols)
{
    *out = NULL;
    *cols = 0;
    v = ws(v);
    if (!v || *v != '[' || !skip_value(v, 0))
        return -1;
    double *m = NULL;
    long rows = 0;
    const char *p = ws(v + 1);
    while (*p == '[') {
        double *row;
        long n = plot_json_numbers(p, &row);
        if (n < 0 || (rows && n != *cols)) {
            free(row);
            free(m);
            return -1;
        }
        *cols = n;
        double *grown = realloc(m, sizeof *m * (size_t)(rows + 1) * (size_t)(n ? n : 1));
        if (!grown) {
            free(row);
            free(m);
            return -1;
        }
        m = grown;
        if (n)
            memcpy(m + (size_t)rows * (size_t)n, row, sizeof *m * (size_t)n);
        free(row);
        rows++;
        p = ws(skip_value(p, 0));
        if (*p == ',')
            p = ws(p + 1);
    }
    if (*p != ']') {
        free(m);
        return -1;
    }
    *out = m;
    return rows;
}
