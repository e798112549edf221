/* A map's points, encoded once per map and shared: float32 coordinates, track ids, and two label
 * indices per point (the model's predicted genre, the genre tag), with the label names as JSON.
 * The format is in docs/server.md; the page decodes it with typed arrays. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define POINTS_MAGIC "MMPT"
#define POINTS_VERSION 1u
#define POINTS_HEADER 32u
#define NO_LABEL 0xFFFFu
/* Genre tags are free text; a legend of hundreds is no use, so the most frequent ones are kept and the
 * rest become "other". */
#define MAX_TAG_LABELS 24

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* --- genre tags by track id ----------------------------------------------------------------------- */
typedef struct genre_name {
    char *name, *key; /* as first seen; lower-cased and trimmed for grouping */
    int64_t count;
    int rank;
} genre_name;

typedef struct tag_table {
    int64_t *ids;
    int *genre; /* index into names, -1 untagged */
    size_t n, cap;
    genre_name *names;
    size_t n_names, cap_names;
    int *slots; /* open addressing over names by key; -1 empty */
    size_t n_slots;
    int failed;
} tag_table;

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int find_or_add_genre(tag_table *t, const char *genre)
{
    char key[128];
    while (*genre && isspace((unsigned char)*genre))
        genre++;
    size_t n = 0;
    for (const char *p = genre; *p && n < sizeof key - 1; p++)
        key[n++] = (char)tolower((unsigned char)*p);
    while (n && isspace((unsigned char)key[n - 1]))
        n--;
    key[n] = '\0';
    if (!n)
        return -1;
    if (t->n_names * 2 >= t->n_slots) {
        size_t ns = t->n_slots ? t->n_slots * 2 : 256;
        int *slots = malloc(ns * sizeof *slots);
        if (!slots) {
            t->failed = 1;
            return -1;
        }
        for (size_t i = 0; i < ns; i++)
            slots[i] = -1;
        for (size_t i = 0; i < t->n_names; i++) {
            size_t h = key_hash(t->names[i].key) & (ns - 1);
            while (slots[h] >= 0)
                h = (h + 1) & (ns - 1);
            slots[h] = (int)i;
        }
        free(t->slots);
        t->slots = slots;
        t->n_slots = ns;
    }
    size_t h = key_hash(key) & (t->n_slots - 1);
    while (t->slots[h] >= 0) {
        if (strcmp(t->names[t->slots[h]].key, key) == 0)
            return t->slots[h];
        h = (h + 1) & (t->n_slots - 1);
    }
    if (t->n_names == t->cap_names) {
        size_t cap = t->cap_names ? t->cap_names * 2 : 64;
        genre_name *names = realloc(t->names, cap * sizeof *names);
        if (!names) {
            t->failed = 1;
            return -1;
        }
        t->names = names;
        t->cap_names = cap;
    }
    genre_name *g = &t->names[t->n_names];
    g->key = strdup(key);
    g->name = strndup(genre, n);
    g->count = 0;
    if (!g->key || !g->name) {
        free(g->key);
        free(g->name);
        t->failed = 1;
        return -1;
    }
    t->slots[h] = (int)t->n_names;
    return (int)t->n_names++;
}

static int collect_tag(const mm_track *track, void *user)
{
    tag_table *t = user;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        int64_t *ids = realloc(t->ids, cap * sizeof *ids);
        if (ids)
            t->ids = ids;
        int *g = realloc(t->genre, cap * sizeof *g);
        if (g)
            t->genre = g;
        if (!ids || !g) {
            t->failed = 1;
            return 1;
        }
        t->cap = cap;
    }
    int gi = find_or_add_genre(t, track->genre ? track->genre : "");
    if (gi >= 0)
        t->names[gi].count++;
    t->ids[t->n] = track->id;
    t->genre[t->n] = gi;
    t->n++;
    return t->failed;
}

static void tag_table_free(tag_table *t)
{
    for (size_t i = 0; i < t->n_names; i++) {
        free(t->names[i].name);
        free(t->names[i].key);
    }
    free(t->names);
    free(t->slots);
    free(t->ids);
    free(t->genre);
}

static int by_count(const void *a, const void *b)
{
    const genre_name *x = *(genre_name *const *)a, *y = *(genre_name *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The tag label of a track id (binary search: tracks come ordered by id). */
static int tag_of(const tag_table *t, int64_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->n || t->ids[lo] != id || t->genre[lo] < 0)
        return -1;
    return t->names[t->genre[lo]].rank;
}

/* --- encoding ------------------------------------------------------------------------------------- */

static mm_status encode(srv_state *srv, mm_catalog *cat, const mm_map_record *map, srv_points *out, mm_error *err)
{
    size_t n = 0;
    int64_t *ids = NULL;
    float *coords = NULL;
    int dims = 0;
    mm_status s = mm_catalog_get_map_points(cat, map->id, &n, &ids, &coords, &dims, err);
    if (s != MM_OK)
        return s;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] > UINT32_MAX) {
            free(ids);
            free(coords);
            return mm_error_set(err, MM_ERR_UNSUPPORTED, "track id %lld does not fit the points format",
                                (long long)ids[i]);
        }
    }
    /* predicted labels: the argmax of the map's model output; none when the model has no vectors */
    mm_error verr;
    srv_vectors *v = srv_vectors_get(srv, cat, map->model_id, &verr);
    tag_table tags = {0};
    s = mm_catalog_each_track(cat, MM_TRACK_OK, collect_tag, &tags, err);
    if (s == MM_OK && tags.failed)
        s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    genre_name **order = NULL;
    if (s == MM_OK && tags.n_names) {
        order = malloc(tags.n_names * sizeof *order);
        if (!order)
            s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    size_t n_tag_labels = 0;
    int other = 0;
    if (s == MM_OK && order) {
        for (size_t i = 0; i < tags.n_names; i++)
            order[i] = &tags.names[i];
        qsort(order, tags.n_names, sizeof *order, by_count);
        other = tags.n_names > MAX_TAG_LABELS;
        n_tag_labels = other ? MAX_TAG_LABELS - 1 : tags.n_names;
        for (size_t i = 0; i < tags.n_names; i++)
            order[i]->rank = i < n_tag_labels ? (int)i : (int)n_tag_labels;
    }
    srv_buf json = {0};
    if (s == MM_OK) {
        srv_buf_puts(&json, "{\"predicted\": [");
        for (int c = 0; v && c < v->k; c++) {
            srv_buf_puts(&json, c ? ", " : "");
            srv_buf_json_string(&json, v->classes[c]);
        }
        srv_buf_puts(&json, "], \"tagged\": [");
        for (size_t i = 0; i < n_tag_labels; i++) {
            srv_buf_puts(&json, i ? ", " : "");
            srv_buf_json_string(&json, order[i]->name);
        }
        if (other)
            srv_buf_puts(&json, n_tag_labels ? ", \"other\"" : "\"other\"");
        srv_buf_printf(&json, "], \"model\": ");
        srv_buf_json_string(&json, v ? v->model_name : NULL);
        srv_buf_puts(&json, "}");
        if (json.failed)
            s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    if (s == MM_OK) {
        size_t coords_bytes = n * (size_t)dims * 4, ids_bytes = n * 4, labels_bytes = n * 4;
        size_t size = POINTS_HEADER + coords_bytes + ids_bytes + labels_bytes + json.len;
        unsigned char *d = malloc(size);
        if (!d) {
            s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        } else {
            memset(d, 0, POINTS_HEADER);
            memcpy(d, POINTS_MAGIC, 4);
            put_u32(d + 4, POINTS_VERSION);
            put_u32(d + 8, (uint32_t)n);
            put_u32(d + 12, (uint32_t)dims);
            put_u32(d + 16, (uint32_t)json.len);
            put_u32(d + 20, v ? (uint32_t)v->k : 0);
            put_u32(d + 24, (uint32_t)(n_tag_labels + (size_t)other));
            unsigned char *p = d + POINTS_HEADER;
            for (size_t i = 0; i < n * (size_t)dims; i++, p += 4) {
                uint32_t bits;
                memcpy(&bits, &coords[i], 4);
                put_u32(p, bits);
            }
            for (size_t i = 0; i < n; i++, p += 4)
                put_u32(p, (uint32_t)ids[i]);
            for (size_t i = 0; i < n; i++, p += 2) {
                unsigned lab = NO_LABEL;
                long vi = v ? srv_vectors_find(v, ids[i]) : -1;
                if (vi >= 0 && v->k > 0) {
                    const float *pr = v->probs + (size_t)vi * (size_t)v->k;
                    int best = 0;
                    for (int c = 1; c < v->k; c++)
                        if (pr[c] > pr[best])
                            best = c;
                    lab = (unsigned)best;
                }
                p[0] = (unsigned char)lab;
                p[1] = (unsigned char)(lab >> 8);
            }
            for (size_t i = 0; i < n; i++, p += 2) {
                int t = tag_of(&tags, ids[i]);
                unsigned lab = t < 0 ? NO_LABEL : (unsigned)t;
                p[0] = (unsigned char)lab;
                p[1] = (unsigned char)(lab >> 8);
            }
            memcpy(p, json.data, json.len);
            out->data = d;
            out->size = size;
        }
    }
    srv_buf_free(&json);
    free(order);
    tag_table_free(&tags);
    srv_vectors_release(srv, v);
    free(ids);
    free(coords);
    return s;
}

void srv_points_release(srv_state *srv, srv_points *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&srv->cache_lock);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&srv->cache_lock);
    if (last) {
        free(p->data);
        free(p);
    }
}

/* A cached map is trusted for this long before its record (replaced? grown?) is read again: a burst of
 * requests for one map reads the maps table once. */
#define POINTS_RECHECK_SECONDS 1.0

srv_points *srv_points_get(srv_state *srv, mm_catalog *cat, int64_t map_id, mm_status *status, mm_error *err)
{
    const size_t slots = sizeof srv->points / sizeof srv->points[0];
    pthread_mutex_lock(&srv->cache_lock);
    for (size_t i = 0; i < slots; i++) {
        srv_points *p = srv->points[i];
        if (p && p->map_id == map_id && mm_now() - p->checked_at < POINTS_RECHECK_SECONDS) {
            p->refs++;
            pthread_mutex_unlock(&srv->cache_lock);
            *status = MM_OK;
            return p;
        }
    }
    pthread_mutex_unlock(&srv->cache_lock);
    mm_map_record *maps = NULL;
    size_t n_maps = 0;
    *status = mm_catalog_list_maps(cat, &maps, &n_maps, err);
    if (*status != MM_OK)
        return NULL;
    const mm_map_record *map = NULL;
    for (size_t i = 0; i < n_maps; i++)
        if (maps[i].id == map_id)
            map = &maps[i];
    if (!map) {
        mm_map_records_free(maps, n_maps);
        *status = mm_error_set(err, MM_ERR_NOT_FOUND, "no map %lld", (long long)map_id);
        return NULL;
    }
    pthread_mutex_lock(&srv->cache_lock);
    for (size_t i = 0; i < slots; i++) {
        srv_points *p = srv->points[i];
        /* a map replaced under the same name gets a new id, a grown one a new generation; same id, time
         * and generation: the same points */
        if (p && p->map_id == map->id && p->created_at == map->created_at && p->generation == map->generation) {
            p->checked_at = mm_now();
            p->refs++;
            pthread_mutex_unlock(&srv->cache_lock);
            mm_map_records_free(maps, n_maps);
            return p;
        }
    }
    pthread_mutex_unlock(&srv->cache_lock);
    srv_points *p = calloc(1, sizeof *p);
    if (!p) {
        mm_map_records_free(maps, n_maps);
        *status = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    p->map_id = map->id;
    p->created_at = map->created_at;
    p->generation = map->generation;
    p->checked_at = mm_now();
    *status = encode(srv, cat, map, p, err);
    mm_map_records_free(maps, n_maps);
    if (*status != MM_OK) {
        free(p);
        return NULL;
    }
    p->refs = 2; /* the cache's and the caller's */
    pthread_mutex_lock(&srv->cache_lock);
    size_t slot = slots;
    for (size_t i = 0; i < slots && slot == slots; i++)
        if (!srv->points[i] || srv->points[i]->map_id == p->map_id)
            slot = i;
    srv_points *old;
    if (slot == slots) {
        /* full: drop the oldest (first), keep the order oldest first */
        old = srv->points[0];
        memmove(srv->points, srv->points + 1, (slots - 1) * sizeof *srv->points);
        slot = slots - 1;
    } else {
        old = srv->points[slot];
    }
    int free_old = old && --old->refs == 0;
    srv->points[slot] = p;
    pthread_mutex_unlock(&srv->cache_lock);
    if (free_old) {
        free(old->data);
        free(old);
    }
    return p;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void srv_points_json(const srv_points *p, srv_buf *out)
{
    const unsigned char *d = p->data;
    uint32_t n = get_u32(d + 8), dims = get_u32(d + 12), json_len = get_u32(d + 16);
    const unsigned char *coords = d + POINTS_HEADER, *ids = coords + (size_t)n * dims * 4;
    const unsigned char *pred = ids + (size_t)n * 4, *tag = pred + (size_t)n * 2;
    srv_buf_printf(out, "{\"map\": %lld, \"dims\": %u, \"count\": %u, \"labels\": ", (long long)p->map_id, dims, n);
    srv_buf_put(out, tag + (size_t)n * 2, json_len);
    srv_buf_puts(out, ", \"points\": [");
    for (uint32_t i = 0; i < n; i++) {
        srv_buf_printf(out, "%s[%u", i ? ", " : "", get_u32(ids + (size_t)i * 4));
        for (uint32_t c = 0; c < dims; c++) {
            uint32_t bits = get_u32(coords + ((size_t)i * dims + c) * 4);
            float f;
            memcpy(&f, &bits, 4);
            srv_buf_printf(out, ", %.7g", (double)f);
        }
        unsigned a = pred[i * 2] | pred[i * 2 + 1] << 8, b = tag[i * 2] | tag[i * 2 + 1] << 8;
        srv_buf_printf(out, ", %d, %d]", a == NO_LABEL ? -1 : (int)a, b == NO_LABEL ? -1 : (int)b);
    }
    srv_buf_puts(out, "]}");
}
