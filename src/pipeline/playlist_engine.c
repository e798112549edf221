/* The playlist engine: the song vectors the map is made of, what the rules need of each song (path,
 * tags, duration) and, for large collections, the approximate index (playlist_index.c). */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/shared.h"
#include "playlist.h"

static const char *const kind_names[] = {"similar", "mix", "journey", "radio"};
static const char *const mix_names[] = {"round-robin", "centroid", "nearest-seed"};

const char *mm_playlist_kind_name(mm_playlist_kind kind)
{
    return kind >= MM_PLAYLIST_SIMILAR && kind <= MM_PLAYLIST_RADIO ? kind_names[kind] : "?";
}

int mm_playlist_kind_parse(const char *name, mm_playlist_kind *out)
{
    for (int k = 0; name && k < 4; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (mm_playlist_kind)k;
            return 0;
        }
    return -1;
}

const char *mm_mix_rule_name(mm_mix_rule rule)
{
    return rule >= MM_MIX_ROUND_ROBIN && rule <= MM_MIX_NEAREST_SEED ? mix_names[rule] : "?";
}

int mm_mix_rule_parse(const char *name, mm_mix_rule *out)
{
    for (int k = 0; name && k < 3; k++)
        if (strcmp(name, mix_names[k]) == 0) {
            *out = (mm_mix_rule)k;
            return 0;
        }
    return -1;
}

mm_status mm_playlist_vectors_load(mm_catalog *cat, const char *map, int threads, mm_song_vectors *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    mm_map_record *maps = NULL;
    size_t n_maps = 0;
    mm_status st = mm_catalog_list_maps(cat, &maps, &n_maps, err);
    if (st != MM_OK)
        return st;
    const mm_map_record *m = NULL;
    for (size_t i = 0; i < n_maps; i++) /* oldest first: the last match is the newest */
        if (!map || (maps[i].name && strcmp(maps[i].name, map) == 0))
            m = &maps[i];
    if (!m && map) {
        mm_map_records_free(maps, n_maps);
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no map named '%s'", map);
    }
    mm_vector_kind kind = MM_VECTORS_DESCRIPTORS;
    char model[256] = "";
    if (m) {
        mm_model_record rec;
        st = mm_catalog_get_model_by_id(cat, m->model_id, &rec, err);
        if (st != MM_OK) {
            mm_map_records_free(maps, n_maps);
            return st;
        }
        /* a map of descriptors or of the mel baseline refers to a pseudo-model of that architecture */
        if (rec.architecture && strcmp(rec.architecture, "descriptors") == 0)
            kind = MM_VECTORS_DESCRIPTORS;
        else if (rec.architecture && strcmp(rec.architecture, "mel") == 0)
            kind = MM_VECTORS_MEL;
        else {
            kind = m->source && strcmp(m->source, "probs") == 0 ? MM_VECTORS_OUTPUTS : MM_VECTORS_HIDDEN;
            snprintf(model, sizeof model, "%s", rec.name ? rec.name : "");
        }
        mm_model_record_free(&rec);
    }
    mm_map_records_free(maps, n_maps);
    return mm_song_vectors_load(cat, kind, model[0] ? model : NULL, threads, out, err);
}

void mm_playlist_engine_options_init(mm_playlist_engine_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->exact_max = 50000;
    opt->index_dims = 32;
    opt->threads = 0;
    opt->seed = 42;
}

/* ---- the songs' strings, gathered from the catalog ------------------------------------------------ */

typedef struct text_arena {
    char *data;
    size_t len, cap;
    int failed;
} text_arena;

/* Appends s (tabs and line breaks kept: the m3u writer replaces them) and returns its offset. */
static size_t arena_put(text_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1 << 16;
        while (cap < a->len + n)
            cap *= 2;
        char *d = realloc(a->data, cap);
        if (!d) {
            a->failed = 1;
            return 0;
        }
        a->data = d, a->cap = cap;
    }
    memcpy(a->data + a->len, s, n);
    a->len += n;
    return a->len - n;
}

typedef struct gather {
    mm_playlist_engine *e;
    text_arena arena;
    size_t (*offsets)[5];      /* path, title, artist, album, genre */
    size_t next;               /* rows are ids ascending, as tracks come */
} gather;

static int gather_track(const mm_track *t, void *user)
{
    gather *g = user;
    const mm_song_vectors *v = g->e->v;
    while (g->next < v->n && v->ids[g->next] < t->id)
        g->next++;
    if (g->next >= v->n)
        return 1;
    if (v->ids[g->next] != t->id)
        return 0;
    size_t r = g->next++;
    const char *fields[5] = {t->path, t->title, t->artist, t->album, t->genre};
    for (int f = 0; f < 5; f++)
        g->offsets[r][f] = arena_put(&g->arena, fields[f] ? fields[f] : "");
    g->e->songs[r].duration = t->duration;
    return g->arena.failed;
}

/* ---- interning artists and albums: equal after folding, equal key -------------------------------- */

typedef struct intern {
    uint64_t *hash;
    uint32_t *key;
    size_t cap;
    uint32_t next;
} intern;

static uint32_t intern_key(intern *t, const char *s)
{
    char folded[512];
    mm_text_fold(s, folded, sizeof folded);
    /* "The Beatles" and "the beatles " are one artist; an empty tag is no artist at all */
    size_t n = strlen(folded);
    while (n && isspace((unsigned char)folded[n - 1]))
        folded[--n] = '\0';
    if (n == 0)
        return 0;
    uint64_t h = mm_fnv1a64(MM_FNV1A64_INIT, folded, n) | 1; /* 0 marks an empty slot */
    size_t i = (size_t)h & (t->cap - 1);
    while (t->hash[i] && t->hash[i] != h)
        i = (i + 1) & (t->cap - 1);
    if (!t->hash[i]) {
        t->hash[i] = h;
        t->key[i] = ++t->next;
    }
    return t->key[i];
}

static int cmp_path(const void *a, const void *b, void *ctx)
{
    const mm_playlist_engine *e = ctx;
    return strcmp(e->songs[*(const size_t *)a].path, e->songs[*(const size_t *)b].path);
}

static mm_status load_songs(mm_playlist_engine *e, mm_catalog *cat, mm_error *err)
{
    const size_t n = e->n;
    gather g = {.e = e, .offsets = calloc(n ? n : 1, sizeof *g.offsets)};
    if (!g.offsets)
        return mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory for %zu songs", n);
    for (size_t r = 0; r < n; r++)
        e->songs[r].duration = NAN;
    arena_put(&g.arena, ""); /* offset 0: the empty string of songs the catalog does not have */
    mm_status st = MM_OK;
    if (cat)
        st = mm_catalog_each_track(cat, -1, gather_track, &g, err);
    if (st == MM_OK && g.arena.failed)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory for the songs' tags");
    if (st == MM_OK) {
        e->text = g.arena.data;
        for (size_t r = 0; r < n; r++) {
            mm_playlist_song *s = &e->songs[r];
            s->id = e->v->ids[r];
            const char **f[5] = {&s->path, &s->title, &s->artist, &s->album, &s->genre};
            for (int k = 0; k < 5; k++)
                *f[k] = e->text + g.offsets[r][k];
        }
    } else {
        free(g.arena.data);
    }
    free(g.offsets);
    return st;
}

static mm_status make_keys(mm_playlist_engine *e, mm_error *err)
{
    size_t cap = 16;
    while (cap < 2 * e->n + 2)
        cap *= 2;
    intern artists = {calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(uint32_t)), cap, 0};
    intern albums = {calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(uint32_t)), cap, 0};
    e->artist = malloc(sizeof(uint32_t) * (e->n ? e->n : 1));
    e->album = malloc(sizeof(uint32_t) * (e->n ? e->n : 1));
    e->by_path = malloc(sizeof(size_t) * (e->n ? e->n : 1));
    mm_status st = MM_OK;
    if (!artists.hash || !artists.key || !albums.hash || !albums.key || !e->artist || !e->album || !e->by_path)
        st = mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
    for (size_t r = 0; st == MM_OK && r < e->n; r++) {
        e->artist[r] = intern_key(&artists, e->songs[r].artist);
        e->album[r] = intern_key(&albums, e->songs[r].album);
        e->by_path[r] = r;
    }
    if (st == MM_OK)
        qsort_r(e->by_path, e->n, sizeof *e->by_path, cmp_path, e);
    free(artists.hash), free(artists.key), free(albums.hash), free(albums.key);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median nearest-neighbour distance over an even sample of songs: what "a small step" means here. */
static mm_status measure_scale(mm_playlist_engine *e, mm_error *err)
{
    size_t m = e->n < 128 ? e->n : 128;
    if (e->n < 2) {
        e->nn_distance = 0;
        return MM_OK;
    }
    double *d = malloc(sizeof(double) * m);
    if (!d)
        return mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
    for (size_t i = 0; i < m; i++) {
        size_t r = i * e->n / m;
        pl_hit hit[2];
        long k = pl_search(e, e->v->x + r * (size_t)e->d, 2, NULL, hit);
        if (k < 0) {
            free(d);
            return mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
        }
        /* the song itself comes first (or a duplicate of it, at the same distance 0) */
        d[i] = k > 1 ? (hit[0].row == r ? hit[1].dist : hit[0].dist) : 0;
    }
    qsort(d, m, sizeof *d, cmp_double);
    e->nn_distance = d[m / 2];
    free(d);
    return MM_OK;
}

mm_status mm_playlist_engine_open(mm_catalog *cat, const mm_song_vectors *v, const mm_playlist_engine_options *opt,
                                  mm_playlist_engine **out, mm_error *err)
{
    *out = NULL;
    mm_playlist_engine_options o;
    mm_playlist_engine_options_init(&o);
    util_options_copy(&o, sizeof o, opt, UTIL_OPTIONS_END(mm_playlist_engine_options, seed));
    if (!v || (v->n && (!v->ids || !v->x || v->dim <= 0)))
        return mm_error_set(err, MM_ERR_ARG, "playlists: no song vectors");
    if (v->n > UINT32_MAX)
        return mm_error_set(err, MM_ERR_ARG, "playlists: more than 2^32 songs");
    mm_playlist_engine *e = calloc(1, sizeof *e);
    if (!e)
        return mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
    e->v = v, e->n = v->n, e->d = v->dim;
    e->songs = calloc(e->n ? e->n : 1, sizeof *e->songs);
    mm_status st = e->songs ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "playlists: out of memory");
    if (st == MM_OK)
        st = load_songs(e, cat, err);
    if (st == MM_OK)
        st = make_keys(e, err);
    if (st == MM_OK && e->n > o.exact_max) {
        e->approximate = 1;
        st = pl_index_build(e, &o, err);
    } else if (st == MM_OK) {
        st = pl_norms(e, err);
    }
    if (st == MM_OK)
        st = measure_scale(e, err);
    if (st != MM_OK) {
        mm_playlist_engine_close(e);
        return st;
    }
    *out = e;
    return MM_OK;
}

void mm_playlist_engine_close(mm_playlist_engine *e)
{
    if (!e)
        return;
    free(e->songs);
    free(e->text);
    free(e->artist);
    free(e->album);
    free(e->by_path);
    free(e->norms);
    pl_index_free(&e->index);
    free(e);
}

int mm_playlist_engine_approximate(const mm_playlist_engine *e)
{
    return e->approximate;
}

double mm_playlist_engine_nn_distance(const mm_playlist_engine *e)
{
    return e->nn_distance;
}

const mm_playlist_song *mm_playlist_engine_song(const mm_playlist_engine *e, int64_t id)
{
    long r = mm_song_vectors_find(e->v, id);
    return r < 0 ? NULL : &e->songs[r];
}

static long find_path(const mm_playlist_engine *e, const char *path)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(e->songs[e->by_path[mid]].path, path);
        if (c < 0)
            lo = mid + 1;
        else if (c > 0)
            hi = mid;
        else
            return (long)e->by_path[mid];
    }
    return -1;
}

mm_status mm_playlist_engine_resolve(const mm_playlist_engine *e, const char *song, int64_t *id, mm_error *err)
{
    if (!song || !*song)
        return mm_error_set(err, MM_ERR_ARG, "no song named");
    int digits = 1;
    for (const char *p = song; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    if (digits && strlen(song) <= 18) {
        int64_t t = strtoll(song, NULL, 10);
        if (mm_song_vectors_find(e->v, t) >= 0) {
            *id = t;
            return MM_OK;
        }
        return mm_error_set(err, MM_ERR_NOT_FOUND, "no song with id %s has vectors", song);
    }
    long r = find_path(e, song);
    if (r < 0) {
        /* the catalog stores the scan's absolute paths; a relative or linked name may resolve to one */
        char *real = realpath(song, NULL);
        if (real) {
            r = find_path(e, real);
            free(real);
        }
    }
    if (r < 0)
        return mm_error_set(err, MM_ERR_NOT_FOUND, "'%s' is not a catalogued song with vectors", song);
    *id = e->v->ids[r];
    return MM_OK;
}
