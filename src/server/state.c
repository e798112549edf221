/* The server's shared state: a pool of catalog connections, and in-memory copies of what many requests
 * read (per-model vectors, encoded map points), reference-counted so a reload never pulls data from
 * under a request that is using it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "musicmap/pipeline.h"

/* Cached vectors are reused for this long; after that the next request reloads them, so tracks that
 * `embed` added while the server runs show up without a restart. */
#define VECTORS_MAX_AGE 60.0

mm_status srv_cat_pool_open(srv_cat_pool *pool, const char *path, size_t n, mm_error *err)
{
    memset(pool, 0, sizeof *pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    pool->all = calloc(n, sizeof *pool->all);
    pool->free_list = calloc(n, sizeof *pool->free_list);
    if (!pool->all || !pool->free_list) {
        srv_cat_pool_close(pool);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        mm_status s = mm_catalog_open(&pool->all[i], path, 0, err);
        if (s != MM_OK) {
            srv_cat_pool_close(pool);
            return s;
        }
        pool->free_list[pool->n_free++] = pool->all[i];
        pool->n_all++;
    }
    return MM_OK;
}

mm_catalog *srv_cat_pool_get(srv_cat_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->n_free == 0)
        pthread_cond_wait(&pool->freed, &pool->lock);
    mm_catalog *cat = pool->free_list[--pool->n_free];
    pthread_mutex_unlock(&pool->lock);
    return cat;
}

void srv_cat_pool_put(srv_cat_pool *pool, mm_catalog *cat)
{
    pthread_mutex_lock(&pool->lock);
    pool->free_list[pool->n_free++] = cat;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void srv_cat_pool_close(srv_cat_pool *pool)
{
    for (size_t i = 0; pool->all && i < pool->n_all; i++)
        mm_catalog_close(pool->all[i]);
    free(pool->all);
    free(pool->free_list);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    memset(pool, 0, sizeof *pool);
}

static char *default_transcode_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char path[4096];
    if (xdg && xdg[0] == '/')
        snprintf(path, sizeof path, "%s/musicmap/transcoded", xdg);
    else if (home && home[0] == '/')
        snprintf(path, sizeof path, "%s/.cache/musicmap/transcoded", home);
    else
        snprintf(path, sizeof path, "/tmp/musicmap-transcoded-%d", (int)getuid());
    return strdup(path);
}

mm_status srv_state_init(srv_state *srv, const char *db_path, size_t connections, const char *transcode_dir,
                      const mm_logger *log, mm_error *err)
{
    memset(srv, 0, sizeof *srv);
    srv->log = log;
    pthread_mutex_init(&srv->cache_lock, NULL);
    pthread_mutex_init(&srv->default_build_lock, NULL);
    pthread_mutex_init(&srv->transcode_lock, NULL);
    srv->transcode_dir = transcode_dir ? strdup(transcode_dir) : default_transcode_dir();
    if (!srv->transcode_dir) {
        srv_state_free(srv);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    }
    mm_status s = srv_cat_pool_open(&srv->cats, db_path, connections, err);
    if (s != MM_OK)
        srv_state_free(srv);
    return s;
}

static void vectors_free(srv_vectors *v)
{
    if (!v)
        return;
    free(v->model_name);
    for (int i = 0; v->classes && i < v->k; i++)
        free(v->classes[i]);
    free(v->classes);
    free(v->ids);
    free(v->probs);
    free(v->embedding);
    mm_playlist_engine_close(v->engine);
    pthread_mutex_destroy(&v->engine_lock);
    free(v);
}

mm_playlist_engine *srv_vectors_engine(srv_vectors *v, mm_catalog *cat, mm_error *err)
{
    pthread_mutex_lock(&v->engine_lock);
    if (!v->engine) {
        /* the space the map was made from, as /similar uses it */
        v->view = (mm_song_vectors){.kind = v->k == 0 && v->dim ? MM_VECTORS_DESCRIPTORS
                                            : v->dim           ? MM_VECTORS_HIDDEN
                                                               : MM_VECTORS_OUTPUTS,
                                    .n = v->n,
                                    .dim = v->dim ? v->dim : v->k,
                                    .ids = v->ids,
                                    .x = v->dim ? v->embedding : v->probs};
        if (mm_playlist_engine_open(cat, &v->view, NULL, &v->engine, err) != MM_OK)
            v->engine = NULL;
    }
    mm_playlist_engine *e = v->engine;
    pthread_mutex_unlock(&v->engine_lock);
    return e;
}

static void points_free(srv_points *p)
{
    if (p) {
        free(p->data);
        free(p);
    }
}

static void default_playlist_free(srv_default_playlist *d)
{
    if (!d)
        return;
    mm_playlist_engine_close(d->engine);
    mm_song_vectors_free(&d->vectors);
    free(d);
}

void srv_state_free(srv_state *srv)
{
    if (srv->default_playlist && --srv->default_playlist->refs == 0)
        default_playlist_free(srv->default_playlist);
    for (size_t i = 0; i < sizeof srv->points / sizeof srv->points[0]; i++)
        points_free(srv->points[i]);
    for (size_t i = 0; i < sizeof srv->vectors / sizeof srv->vectors[0]; i++)
        vectors_free(srv->vectors[i]);
    if (srv->cats.all)
        srv_cat_pool_close(&srv->cats);
    free(srv->transcode_dir);
    pthread_mutex_destroy(&srv->cache_lock);
    pthread_mutex_destroy(&srv->default_build_lock);
    pthread_mutex_destroy(&srv->transcode_lock);
    memset(srv, 0, sizeof *srv);
}

void srv_vectors_release(srv_state *srv, srv_vectors *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&srv->cache_lock);
    int last = --v->refs == 0;
    pthread_mutex_unlock(&srv->cache_lock);
    if (last)
        vectors_free(v);
}

static srv_vectors *load_vectors(mm_catalog *cat, const mm_model_record *m, mm_error *err)
{
    srv_vectors *v = calloc(1, sizeof *v);
    if (!v) {
        mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&v->engine_lock, NULL);
    v->model_id = m->id;
    v->created_at = m->created_at;
    v->loaded_at = mm_now();
    v->model_name = strdup(m->name ? m->name : "");
    int k = 0;
    const int desc = m->architecture && strcmp(m->architecture, "descriptors") == 0;
    const int mel = m->architecture && strcmp(m->architecture, "mel") == 0;
    if (desc || mel) {
        /* maps of descriptors or of the spectrogram baseline: similar songs in that same space, no classes */
        mm_song_vectors sv;
        if (mm_song_vectors_load(cat, desc ? MM_VECTORS_DESCRIPTORS : MM_VECTORS_MEL, NULL, 0, &sv, err) != MM_OK) {
            vectors_free(v);
            return NULL;
        }
        v->n = sv.n, v->ids = sv.ids, v->embedding = sv.x, v->dim = sv.dim;
    } else if (mm_catalog_get_vectors(cat, m->id, &v->n, &v->ids, &v->probs, &k, &v->embedding, &v->dim, err) !=
               MM_OK) {
        vectors_free(v);
        return NULL;
    }
    /* the model's class list names the probability columns; trust the narrower of the two */
    v->k = v->n ? (k < m->n_classes ? k : m->n_classes) : m->n_classes;
    v->classes = calloc((size_t)(v->k > 0 ? v->k : 1), sizeof *v->classes);
    if (!v->model_name || !v->classes) {
        vectors_free(v);
        mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < v->k; i++)
        v->classes[i] = strdup(m->classes[i] ? m->classes[i] : "");
    if (v->k < k && v->n) {
        /* keep the probs array n x v->k */
        for (size_t r = 0; r < v->n; r++)
            memmove(v->probs + r * (size_t)v->k, v->probs + r * (size_t)k, sizeof(float) * (size_t)v->k);
    }
    v->refs = 1; /* the cache's reference */
    return v;
}

srv_vectors *srv_vectors_get(srv_state *srv, mm_catalog *cat, int64_t model_id, mm_error *err)
{
    mm_model_record m;
    mm_status s = model_id > 0 ? mm_catalog_get_model_by_id(cat, model_id, &m, err)
                               : mm_catalog_get_model(cat, NULL, &m, err);
    if (s != MM_OK)
        return NULL;
    const size_t slots = sizeof srv->vectors / sizeof srv->vectors[0];
    pthread_mutex_lock(&srv->cache_lock);
    for (size_t i = 0; i < slots; i++) {
        srv_vectors *v = srv->vectors[i];
        if (v && v->model_id == m.id && v->created_at == m.created_at && mm_now() - v->loaded_at < VECTORS_MAX_AGE) {
            v->refs++;
            pthread_mutex_unlock(&srv->cache_lock);
            mm_model_record_free(&m);
            return v;
        }
    }
    pthread_mutex_unlock(&srv->cache_lock);
    /* loaded outside the lock: two requests may both load, and the second one's copy wins */
    srv_vectors *v = load_vectors(cat, &m, err);
    mm_model_record_free(&m);
    if (!v)
        return NULL;
    pthread_mutex_lock(&srv->cache_lock);
    size_t slot = slots - 1;
    for (size_t i = 0; i < slots; i++) {
        if (!srv->vectors[i] || srv->vectors[i]->model_id == v->model_id) {
            slot = i;
            break;
        }
    }
    srv_vectors *old = srv->vectors[slot];
    int free_old = old && --old->refs == 0;
    srv->vectors[slot] = v;
    v->refs++; /* the caller's */
    pthread_mutex_unlock(&srv->cache_lock);
    if (free_old)
        vectors_free(old);
    return v;
}

long srv_vectors_find(const srv_vectors *v, int64_t track_id)
{
    const mm_song_vectors ids = {.n = v->n, .ids = v->ids}; /* ascending, as the pipeline's */
    return mm_song_vectors_find(&ids, track_id);
}

size_t srv_similar_indices(const srv_vectors *v, size_t i, int k, mm_similar_song *out)
{
    /* the space the map was made from: the model's hidden state, or its outputs when it stored none */
    mm_song_vectors space = {.n = v->n, .dim = v->dim ? v->dim : v->k, .ids = v->ids,
                             .x = v->dim ? v->embedding : v->probs};
    return mm_song_vectors_nearest(&space, i, k, out);
}

int srv_parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 16)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > ((int64_t)1 << 53))
        return -1;
    *out = v;
    return 0;
}

/* The newest map's identity, which the default playlists follow: 0s when there is no map. */
static mm_status newest_map(mm_catalog *cat, int64_t *id, int64_t *created_at, int *generation, mm_error *err)
{
    mm_map_record *maps = NULL;
    size_t n = 0;
    mm_status st = mm_catalog_list_maps(cat, &maps, &n, err);
    if (st != MM_OK)
        return st;
    *id = n ? maps[n - 1].id : 0; /* oldest first, as mm_playlist_vectors_load reads them */
    *created_at = n ? maps[n - 1].created_at : 0;
    *generation = n ? maps[n - 1].generation : 0;
    mm_map_records_free(maps, n);
    return MM_OK;
}

static int default_is(const srv_default_playlist *d, int64_t id, int64_t created_at, int generation)
{
    return d && d->map_id == id && d->map_created_at == created_at && d->map_generation == generation;
}

/* One build at a time (a million songs' engine is seconds of CPU and hundreds of MiB): requests that
 * find no engine for the newest map wait for the one being built; while an engine that only grew old is
 * rebuilt, the others go on with it. */
srv_default_playlist *srv_default_playlist_get(srv_state *srv, mm_catalog *cat, mm_error *err)
{
    int64_t id, created_at;
    int generation;
    if (newest_map(cat, &id, &created_at, &generation, err) != MM_OK)
        return NULL;
    pthread_mutex_lock(&srv->cache_lock);
    srv_default_playlist *d = srv->default_playlist;
    int same = default_is(d, id, created_at, generation), fresh = same && mm_now() - d->loaded_at < VECTORS_MAX_AGE;
    if (fresh || (same && pthread_mutex_trylock(&srv->default_build_lock) != 0)) {
        d->refs++;
        pthread_mutex_unlock(&srv->cache_lock);
        return d;
    }
    pthread_mutex_unlock(&srv->cache_lock);
    if (!same) { /* (same: the trylock above holds the build lock) */
        pthread_mutex_lock(&srv->default_build_lock);
        pthread_mutex_lock(&srv->cache_lock); /* built meanwhile? */
        d = srv->default_playlist;
        if (default_is(d, id, created_at, generation) && mm_now() - d->loaded_at < VECTORS_MAX_AGE) {
            d->refs++;
            pthread_mutex_unlock(&srv->cache_lock);
            pthread_mutex_unlock(&srv->default_build_lock);
            return d;
        }
        pthread_mutex_unlock(&srv->cache_lock);
    }
    d = calloc(1, sizeof *d);
    mm_status st = d ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st == MM_OK) {
        d->map_id = id, d->map_created_at = created_at, d->map_generation = generation, d->loaded_at = mm_now();
        st = mm_playlist_vectors_load(cat, NULL, 1, &d->vectors, err);
    }
    if (st == MM_OK && (st = mm_playlist_engine_open(cat, &d->vectors, NULL, &d->engine, err)) != MM_OK)
        d->engine = NULL;
    if (st != MM_OK) {
        pthread_mutex_unlock(&srv->default_build_lock);
        default_playlist_free(d);
        return NULL;
    }
    pthread_mutex_lock(&srv->cache_lock);
    srv_default_playlist *old = srv->default_playlist;
    int free_old = old && --old->refs == 0;
    srv->default_playlist = d;
    d->refs = 2; /* the cache's and the caller's */
    pthread_mutex_unlock(&srv->cache_lock);
    pthread_mutex_unlock(&srv->default_build_lock);
    if (free_old)
        default_playlist_free(old);
    return d;
}

void srv_default_playlist_release(srv_state *srv, srv_default_playlist *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&srv->cache_lock);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&srv->cache_lock);
    if (last)
        default_playlist_free(d);
}
