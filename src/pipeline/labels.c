/* Where training labels come from: genre tags, a folder per genre, an FMA tracks.csv, or a CSV of
 * path,label. Each source maps catalogued tracks to label strings. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/pipeline.h"
#include "internal.h"

void mm_label_normalise(const char *tag, char *out, size_t size)
{
    /* "Hip-Hop", "hip hop" and "HipHop" are one genre; "Blues/R&B" is blues. */
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)tag; *p && n + 1 < size; p++) {
        if (*p == '/' || *p == ';' || *p == ',' || *p == '|')
            break;
        if (isalnum(*p))
            out[n++] = (char)tolower(*p);
        else if (*p >= 0x80)
            out[n++] = (char)*p; /* keep non-ASCII letters as they are */
    }
    out[n] = '\0';
}

void mm_label_list_free(mm_label_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->labels[i]);
    free(list->labels);
    free(list->ids);
    memset(list, 0, sizeof *list);
}

static int add(mm_label_list *list, int64_t id, const char *label)
{
    if (!label[0])
        return 0;
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 256;
        int64_t *ids = realloc(list->ids, sizeof *ids * cap);
        if (ids)
            list->ids = ids;
        char **labels = realloc(list->labels, sizeof *labels * cap);
        if (labels)
            list->labels = labels;
        if (!ids || !labels)
            return -1;
        list->cap = cap;
    }
    char *copy = strdup(label);
    if (!copy)
        return -1;
    list->ids[list->n] = id;
    list->labels[list->n++] = copy;
    return 0;
}

/* --- a small path -> label table for the file-based sources ----------------------------------- */

typedef struct path_label {
    char *key; /* real path (csv) or FMA track id as text */
    char *label;
} path_label;

typedef struct source_ctx {
    mm_label_source kind;
    mm_label_list *list;
    path_label *table;
    size_t n_table;
    int failed;
    int any_track;      /* 0: only tracks with a spectrogram (what training reads) */
} source_ctx;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const path_label *)a)->key, ((const path_label *)b)->key);
}

static const char *lookup(const source_ctx *ctx, const char *key)
{
    path_label probe = {(char *)key, NULL};
    const path_label *hit = bsearch(&probe, ctx->table, ctx->n_table, sizeof *ctx->table, cmp_key);
    return hit ? hit->label : NULL;
}

/* FMA audio files are named by track id: .../000/000123.mp3 -> "123". */
static int fma_id_of(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *p = base;
    while (*p == '0' && isdigit((unsigned char)p[1]))
        p++;
    size_t n = 0;
    while (isdigit((unsigned char)*p) && n + 1 < size)
        out[n++] = *p++;
    out[n] = '\0';
    return n > 0 && *p == '.' ? 0 : -1;
}

static int track_to_label(const mm_track *t, void *user)
{
    source_ctx *ctx = user;
    if (!t->has_features && !ctx->any_track)
        return 0;
    char label[MM_LABEL_NAME_MAX] = "";
    switch (ctx->kind) {
    case MM_LABELS_TAGS: mm_label_normalise(t->genre, label, sizeof label); break;
    case MM_LABELS_FOLDERS: {
        /* genres/<genre>/<file>: the folder the file is in */
        const char *slash = strrchr(t->path, '/');
        const char *start = slash;
        while (start && start > t->path && start[-1] != '/')
            start--;
        if (slash && start && slash > start) {
            char folder[MM_LABEL_NAME_MAX];
            size_t len = (size_t)(slash - start) < sizeof folder - 1 ? (size_t)(slash - start) : sizeof folder - 1;
            memcpy(folder, start, len);
            folder[len] = '\0';
            mm_label_normalise(folder, label, sizeof label);
        }
        break;
    }
    case MM_LABELS_FMA: {
        char id[32];
        const char *l = fma_id_of(t->path, id, sizeof id) == 0 ? lookup(ctx, id) : NULL;
        if (l)
            mm_label_normalise(l, label, sizeof label);
        break;
    }
    case MM_LABELS_CSV: {
        const char *l = lookup(ctx, t->path);
        if (l)
            mm_label_normalise(l, label, sizeof label);
        break;
    }
    }
    if (add(ctx->list, t->id, label) != 0) {
        ctx->failed = 1;
        return 1;
    }
    return 0;
}

/* Splits one CSV line into fields (double quotes, "" escapes), in place. Returns the field count. */
static int csv_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        fields[n++] = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (!*p) {
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                *out++ = *p++;
        }
        int more = *p == ',';
        *out = '\0';
        if (!more)
            break;
        p++;
    }
    return n;
}

static int table_add(source_ctx *ctx, size_t *cap, const char *key, const char *label)
{
    if (ctx->n_table == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        path_label *grown = realloc(ctx->table, sizeof *grown * *cap);
        if (!grown)
            return -1;
        ctx->table = grown;
    }
    char *k = strdup(key), *l = strdup(label);
    if (!k || !l) {
        free(k);
        free(l);
        return -1;
    }
    ctx->table[ctx->n_table++] = (path_label){k, l};
    return 0;
}

/* Reads a CSV of path,label (paths relative to the CSV's folder are resolved) or FMA's tracks.csv
 * (three header rows; the 'genre_top' column of row two, track id in column 0). */
static mm_status read_table(source_ctx *ctx, const char *file, mm_error *err)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", file, strerror(errno));
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    size_t cap = 0, line_cap = 0;
    char *line = NULL;
    char *fields[128];
    int genre_col = -1, row = 0;
    mm_status st = MM_OK;
    while (getline(&line, &line_cap, f) > 0 && st == MM_OK) {
        row++;
        int n = csv_fields(line, fields, 128);
        if (ctx->kind == MM_LABELS_FMA) {
            if (genre_col < 0) {
                for (int i = 0; i < n; i++)
                    if (strcmp(fields[i], "genre_top") == 0)
                        genre_col = i;
                if (row >= 3 && genre_col < 0) {
                    st = mm_error_set(err, MM_ERR_FORMAT, "%s: no genre_top column in the header rows", file);
                    break;
                }
                continue;
            }
            if (n > genre_col && fields[0][0] && isdigit((unsigned char)fields[0][0]) && fields[genre_col][0] &&
                table_add(ctx, &cap, fields[0], fields[genre_col]) != 0)
                st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", file);
        } else {
            if (n < 2 || !fields[0][0] || !fields[1][0])
                continue;
            if (row == 1 && strcmp(fields[0], "path") == 0)
                continue; /* a header */
            char joined[PATH_MAX * 2], real[PATH_MAX];
            if (fields[0][0] == '/')
                snprintf(joined, sizeof joined, "%s", fields[0]);
            else
                snprintf(joined, sizeof joined, "%s/%s", dir, fields[0]);
            const char *key = realpath(joined, real) ? real : joined;
            if (table_add(ctx, &cap, key, fields[1]) != 0)
                st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", file);
        }
    }
    free(line);
    fclose(f);
    if (st == MM_OK && ctx->n_table == 0)
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: no labels found", file);
    if (ctx->n_table) /* no table at all: qsort of NULL (UBSan, found by tests/fuzz/fuzz_labels) */
        qsort(ctx->table, ctx->n_table, sizeof *ctx->table, cmp_key);
    return st;
}

mm_status mm_labels_collect(mm_catalog *cat, mm_label_source kind, const char *file, mm_label_list *out, mm_error *err)
{
    return pipe_labels_collect(cat, kind, file, 0, out, err);
}

mm_status pipe_labels_collect(mm_catalog *cat, mm_label_source kind, const char *file, int any_track,
                              mm_label_list *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    source_ctx ctx = {kind, out, NULL, 0, 0, any_track};
    mm_status st = MM_OK;
    if (kind == MM_LABELS_FMA || kind == MM_LABELS_CSV)
        st = read_table(&ctx, file, err);
    if (st == MM_OK)
        st = mm_catalog_each_track(cat, MM_TRACK_OK, track_to_label, &ctx, err);
    if (st == MM_OK && ctx.failed)
        st = mm_error_set(err, MM_ERR_NOMEM, "collecting labels: out of memory");
    for (size_t i = 0; i < ctx.n_table; i++) {
        free(ctx.table[i].key);
        free(ctx.table[i].label);
    }
    free(ctx.table);
    if (st != MM_OK)
        mm_label_list_free(out);
    return st;
}

int mm_label_source_parse(const char *text, mm_label_source *kind, const char **file)
{
    *file = NULL;
    if (strcmp(text, "tags") == 0)
        *kind = MM_LABELS_TAGS;
    else if (strcmp(text, "folders") == 0)
        *kind = MM_LABELS_FOLDERS;
    else if (strncmp(text, "fma:", 4) == 0 && text[4])
        *kind = MM_LABELS_FMA, *file = text + 4;
    else if (strncmp(text, "csv:", 4) == 0 && text[4])
        *kind = MM_LABELS_CSV, *file = text + 4;
    else
        return -1;
    return 0;
}

/* --- genre tags as small integers, for label agreement ------------------------------------------ */

typedef struct tag_ctx {
    const int64_t *ids; /* ascending */
    size_t n;
    int32_t *labels;
    char (*names)[MM_LABEL_NAME_MAX];
    int n_names, max_names;
} tag_ctx;

static int tag_of(const mm_track *t, void *user)
{
    tag_ctx *c = user;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ids[mid] < t->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->n || c->ids[lo] != t->id)
        return 0;
    char norm[MM_LABEL_NAME_MAX];
    mm_label_normalise(t->genre, norm, sizeof norm);
    if (!norm[0])
        return 0;
    int k = 0;
    while (k < c->n_names && strcmp(c->names[k], norm) != 0)
        k++;
    if (k == c->n_names) {
        if (k == c->max_names)
            return 0;
        snprintf(c->names[c->n_names++], MM_LABEL_NAME_MAX, "%s", norm);
    }
    c->labels[lo] = k;
    return 0;
}

int mm_tag_labels(mm_catalog *cat, const int64_t *ids, size_t n, int32_t *labels, int max_names, mm_error *err)
{
    for (size_t i = 0; i < n; i++)
        labels[i] = -1;
    for (size_t i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1]) {
            mm_error_set(err, MM_ERR_ARG, "mm_tag_labels: track ids must be ascending");
            return -1;
        }
    tag_ctx c = {ids, n, labels, NULL, 0, max_names > 0 ? max_names : 0};
    c.names = calloc((size_t)(c.max_names ? c.max_names : 1), sizeof *c.names);
    if (!c.names) {
        mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        return -1;
    }
    mm_status st = mm_catalog_each_track(cat, MM_TRACK_OK, tag_of, &c, err);
    free(c.names);
    return st == MM_OK ? c.n_names : -1;
}
