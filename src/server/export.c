/* --export DIR: the page and its data as plain files, for any static file server. The page finds its
 * data under data/ instead of /api/ (index.html says which: <meta name="musicmap-mode">). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "../util/shared.h"
#include "musicmap/layout.h"

#define SIMILAR_K 12

static mm_status write_file(const char *dir, const char *name, const void *data, size_t n, mm_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return mm_error_set(err, MM_ERR_ARG, "%s: path too long", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    if (fclose(f) != 0 || w != n || rename(tmp, path) != 0) {
        unlink(tmp);
        return mm_error_set(err, MM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return MM_OK;
}

static mm_status make_dir(const char *dir, const char *sub, mm_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    return MM_OK;
}

/* The ok tracks' short fields, for the search index and the similar lists. */
typedef struct brief {
    int64_t id;
    char *title, *artist, *album, *genre, *file;
} brief;

typedef struct briefs {
    brief *b;
    size_t n, cap;
    int failed;
} briefs;

static int collect_brief(const mm_track *t, void *user)
{
    briefs *bs = user;
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? bs->cap * 2 : 1024;
        brief *b = realloc(bs->b, cap * sizeof *b);
        if (!b) {
            bs->failed = 1;
            return 1;
        }
        bs->b = b;
        bs->cap = cap;
    }
    const char *slash = strrchr(t->path, '/');
    brief *b = &bs->b[bs->n++];
    b->id = t->id;
    b->title = strdup(t->title);
    b->artist = strdup(t->artist);
    b->album = strdup(t->album);
    b->genre = strdup(t->genre);
    b->file = strdup(slash ? slash + 1 : t->path);
    if (!b->title || !b->artist || !b->album || !b->genre || !b->file)
        bs->failed = 1;
    return bs->failed;
}

static void briefs_free(briefs *bs)
{
    for (size_t i = 0; i < bs->n; i++) {
        free(bs->b[i].title);
        free(bs->b[i].artist);
        free(bs->b[i].album);
        free(bs->b[i].genre);
        free(bs->b[i].file);
    }
    free(bs->b);
}

static const brief *find_brief(const briefs *bs, int64_t id)
{
    size_t lo = 0, hi = bs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bs->b[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < bs->n && bs->b[lo].id == id ? &bs->b[lo] : NULL;
}

static void brief_json(srv_buf *o, const brief *b)
{
    srv_buf_track_head(o, b->id, b->title, b->artist, b->album, b->genre);
    srv_buf_puts(o, ", \"file\": ");
    srv_buf_json_string(o, b->file);
    srv_buf_puts(o, "}");
}

static const char *extension_of(const char *content_type)
{
    static const char *const map[][2] = {{"audio/mpeg", "mp3"}, {"audio/flac", "flac"}, {"audio/ogg", "ogg"},
                                         {"audio/webm", "webm"}, {"audio/mp4", "m4a"},  {"audio/aac", "aac"},
                                         {"audio/wav", "wav"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], content_type) == 0)
            return map[i][1];
    return "bin";
}

static mm_status copy_fd(int in, const char *path, mm_error *err)
{
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    char buf[1 << 16];
    ssize_t n;
    mm_status s = MM_OK;
    if (lseek(in, 0, SEEK_SET) != 0)
        s = mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    while (s == MM_OK && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s = mm_error_set(err, MM_ERR_IO, "reading audio for %s: %s", path, strerror(errno));
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                s = mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
                break;
            }
            off += w;
        }
    }
    if (close(out) != 0 && s == MM_OK)
        s = mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    return s;
}

/* data/tracks/ID.similar.json for every track with vectors under the newest model. */
static mm_status export_similar(srv_state *srv, mm_catalog *cat, const char *dir, const briefs *bs, mm_error *err)
{
    mm_error verr;
    srv_vectors *v = srv_vectors_get(srv, cat, 0, &verr);
    if (!v || v->n < 2) {
        srv_vectors_release(srv, v);
        mm_log(srv->log, MM_LOG_INFO, "export: no model vectors: no similar-song lists");
        return MM_OK;
    }
    int k = v->n - 1 < SIMILAR_K ? (int)v->n - 1 : SIMILAR_K;
    int32_t *idx = malloc(sizeof *idx * v->n * (size_t)k);
    float *dist = malloc(sizeof *dist * v->n * (size_t)k);
    mm_status s = MM_OK;
    if (!idx || !dist)
        s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    mm_knn_options ko;
    mm_knn_defaults(&ko);
    if (s == MM_OK)
        s = mm_knn(v->dim ? v->embedding : v->probs, v->n, (size_t)(v->dim ? v->dim : v->k), k, &ko, idx, dist, err);
    for (size_t i = 0; s == MM_OK && i < v->n; i++) {
        srv_buf o = {0};
        srv_buf_printf(&o, "{\"id\": %lld, \"model\": ", (long long)v->ids[i]);
        srv_buf_json_string(&o, v->model_name);
        srv_buf_printf(&o, ", \"space\": \"%s\", \"similar\": [", v->dim ? "embedding" : "probs");
        int written = 0;
        for (int j = 0; j < k; j++) {
            const brief *b = find_brief(bs, v->ids[idx[i * (size_t)k + (size_t)j]]);
            if (!b)
                continue;
            srv_buf_puts(&o, written++ ? ",\n  " : "\n  ");
            brief_json(&o, b);
            o.len--;
            srv_buf_puts(&o, ", \"distance\": ");
            srv_buf_json_number(&o, (double)dist[i * (size_t)k + (size_t)j], 4);
            srv_buf_puts(&o, "}");
        }
        srv_buf_puts(&o, "\n]}");
        char name[64];
        snprintf(name, sizeof name, "data/tracks/%lld.similar.json", (long long)v->ids[i]);
        s = o.failed ? mm_error_set(err, MM_ERR_NOMEM, "out of memory") : write_file(dir, name, o.data, o.len, err);
        srv_buf_free(&o);
    }
    free(idx);
    free(dist);
    srv_vectors_release(srv, v);
    return s;
}

static mm_status export_all(srv_state *srv, mm_catalog *cat, const char *dir, const mm_export_options *o, mm_error *err)
{
    mm_status s;
    if ((s = make_dir(dir, NULL, err)) != MM_OK || (s = make_dir(dir, "data/maps", err)) != MM_OK ||
        (s = make_dir(dir, "data/tracks", err)) != MM_OK || (o->audio && (s = make_dir(dir, "data/audio", err)) != MM_OK))
        return s;
    /* the page, with its mode switched to static */
    for (size_t i = 0; srv_asset_at(i); i++) {
        const srv_asset *a = srv_asset_at(i);
        const char *name = strcmp(a->path, "/") == 0 ? "index.html" : a->path + 1;
        if (strcmp(name, "index.html") == 0) {
            const char *mark = "content=\"server\"";
            const char *at = strstr((const char *)a->data, mark);
            srv_buf page = {0};
            if (at) {
                srv_buf_put(&page, a->data, (size_t)(at - (const char *)a->data));
                srv_buf_puts(&page, "content=\"static\"");
                srv_buf_puts(&page, at + strlen(mark));
            } else {
                srv_buf_put(&page, a->data, a->size);
            }
            s = page.failed ? mm_error_set(err, MM_ERR_NOMEM, "out of memory")
                            : write_file(dir, name, page.data, page.len, err);
            srv_buf_free(&page);
        } else {
            s = write_file(dir, name, a->data, a->size, err);
        }
        if (s != MM_OK)
            return s;
    }
    srv_buf b = {0};
    int status = srv_api_maps(srv, cat, &b);
    s = status != 200 ? mm_error_set(err, MM_ERR_INTERNAL, "listing maps: %s", b.data ? b.data : "")
                      : write_file(dir, "data/maps.json", b.data, b.len, err);
    srv_buf_free(&b);
    if (s != MM_OK)
        return s;
    /* the Model panel's data; none without a trained model (the page then hides the panel) */
    srv_buf mb = {0};
    if (srv_api_model(srv, cat, &mb) == 200)
        s = write_file(dir, "data/model.json", mb.data, mb.len, err);
    srv_buf_free(&mb);
    if (s != MM_OK)
        return s;
    mm_map_record *maps = NULL;
    size_t n_maps = 0;
    if ((s = mm_catalog_list_maps(cat, &maps, &n_maps, err)) != MM_OK)
        return s;
    for (size_t i = 0; s == MM_OK && i < n_maps; i++) {
        srv_points *p = srv_points_get(srv, cat, maps[i].id, &s, err);
        if (!p)
            break;
        char name[64];
        snprintf(name, sizeof name, "data/maps/%lld.bin", (long long)maps[i].id);
        s = write_file(dir, name, p->data, p->size, err);
        if (s == MM_OK && maps[i].generation > 0) {
            /* the songs its latest growth added, which the page marks once */
            srv_buf added = {0};
            snprintf(name, sizeof name, "data/maps/%lld.added.json", (long long)maps[i].id);
            s = srv_api_map_added(srv, cat, maps[i].id, &added) != 200
                    ? mm_error_set(err, MM_ERR_INTERNAL, "map %lld: %s", (long long)maps[i].id,
                                   added.data ? added.data : "")
                    : write_file(dir, name, added.data, added.len, err);
            srv_buf_free(&added);
        }
        srv_points_release(srv, p);
    }
    mm_map_records_free(maps, n_maps);
    if (s != MM_OK)
        return s;
    /* tracks: details, the search index, audio */
    briefs bs = {0};
    s = mm_catalog_each_track(cat, MM_TRACK_OK, collect_brief, &bs, err);
    if (s == MM_OK && bs.failed)
        s = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    srv_buf idx = {0};
    srv_buf_puts(&idx, "[");
    for (size_t i = 0; s == MM_OK && i < bs.n; i++) {
        srv_buf_puts(&idx, i ? ",\n" : "\n");
        brief_json(&idx, &bs.b[i]);
        srv_buf t = {0};
        status = srv_api_track(srv, cat, bs.b[i].id, &t);
        char name[64];
        snprintf(name, sizeof name, "data/tracks/%lld.json", (long long)bs.b[i].id);
        if (status == 200)
            s = t.failed ? mm_error_set(err, MM_ERR_NOMEM, "out of memory") : write_file(dir, name, t.data, t.len, err);
        srv_buf_free(&t);
        if (s == MM_OK && o->audio) {
            srv_audio_source src;
            mm_error aerr;
            if (srv_audio_source_open(srv, cat, bs.b[i].id, &src, &aerr) == 200) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/data/audio/%lld.%s", dir, (long long)bs.b[i].id,
                         extension_of(src.content_type));
                s = copy_fd(src.fd, path, err);
                close(src.fd);
            } else {
                mm_log(srv->log, MM_LOG_WARN, "export: track %lld: no audio: %s", (long long)bs.b[i].id, aerr.msg);
            }
        }
    }
    srv_buf_puts(&idx, "\n]\n");
    if (s == MM_OK)
        s = idx.failed ? mm_error_set(err, MM_ERR_NOMEM, "out of memory")
                       : write_file(dir, "data/search.json", idx.data, idx.len, err);
    srv_buf_free(&idx);
    if (s == MM_OK)
        s = export_similar(srv, cat, dir, &bs, err);
    briefs_free(&bs);
    return s;
}

void mm_export_options_init(mm_export_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

mm_status mm_server_export(const char *db_path, const char *dir, const mm_export_options *options, mm_error *err)
{
    mm_export_options o;
    mm_export_options_init(&o);
    util_options_copy(&o, sizeof o, options, UTIL_OPTIONS_END(mm_export_options, log));
    srv_state srv;
    mm_status s = srv_state_init(&srv, db_path, 1, o.transcode_dir, o.log, err);
    if (s != MM_OK)
        return s;
    mm_catalog *cat = srv_cat_pool_get(&srv.cats);
    s = export_all(&srv, cat, dir, &o, err);
    srv_cat_pool_put(&srv.cats, cat);
    srv_state_free(&srv);
    return s;
}
