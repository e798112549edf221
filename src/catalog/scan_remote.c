/* The scan across processes, minus the transport (scan_remote.h). The worker reads files with the
 * very code of the single-process scan (cat_scan_process), so a song's row, descriptors and spectrogram
 * are the same bytes whichever process read it; only the coordinator touches the catalog. */
#include "scan_remote.h"

#include <stdlib.h>
#include <string.h>

#include "scan_internal.h"

void cat_buf_put(cat_buf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *grown = realloc(b->p, cap);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    if (n && data) /* NULL data: only make room */
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

void cat_buf_free(cat_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void put_u64(cat_buf *b, uint64_t v) { cat_buf_put(b, &v, sizeof v); }
static void put_u8(cat_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    cat_buf_put(b, &c, 1);
}

/* A reader over a message; ok drops to 0 at the first read past its end. */
typedef struct reader {
    const unsigned char *p, *end;
    int ok;
} reader;

static const void *take(reader *r, size_t n)
{
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = 0;
        return NULL;
    }
    const void *at = r->p;
    r->p += n;
    return at;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    const void *at = take(r, sizeof v);
    if (at)
        memcpy(&v, at, sizeof v);
    return v;
}

static unsigned get_u8(reader *r)
{
    const unsigned char *at = take(r, 1);
    return at ? *at : 0;
}

/* ---------------------------------------------------------------- coordinator */

mm_status cat_remote_config_of(scan *s, cat_remote_config *out, mm_error *err)
{
    memset(out, 0, sizeof *out);
    out->clips = s->opt->clips;
    out->full_loudness = s->opt->full_loudness;
    out->no_spectrograms = s->opt->no_spectrograms;
    out->vector_floats = cat_scan_vector_floats(s);
    size_t n = 0;
    for (size_t j = 0; s->by_hash && j <= s->hash_mask; j++)
        n += s->by_hash[j] != NULL;
    out->moves = malloc(2 * sizeof(uint64_t) * (n ? n : 1));
    if (!out->moves)
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    for (size_t j = 0; s->by_hash && j <= s->hash_mask; j++) {
        const db_entry *e = s->by_hash[j];
        if (e) {
            out->moves[2 * out->n_moves] = e->hash;
            out->moves[2 * out->n_moves + 1] = (uint64_t)e->size;
            out->n_moves++;
        }
    }
    return MM_OK;
}

int cat_remote_dealt(const scan *s, size_t i) { return s->cands[s->work[i].cand].problem == NULL; }

void cat_remote_local_failures(scan *s)
{
    for (size_t i = 0; i < s->n_work; i++)
        if (!cat_remote_dealt(s, i))
            cat_scan_process(i, 0, s); /* fails at once, before any front-end is touched */
}

/* work item: u64 index, u8 kind, u8 no_move, i64 size, mtime, ctime, u64 path length, the path */
void cat_remote_pack_work(scan *s, const size_t *indices, size_t n, cat_buf *out)
{
    for (size_t k = 0; k < n; k++) {
        const work *w = &s->work[indices[k]];
        const candidate *c = &s->cands[w->cand];
        put_u64(out, indices[k]);
        put_u8(out, w->kind);
        put_u8(out, w->no_move != 0);
        put_u64(out, (uint64_t)c->size);
        put_u64(out, (uint64_t)c->mtime_ns);
        put_u64(out, (uint64_t)c->ctime_ns);
        put_u64(out, c->len);
        cat_buf_put(out, c->path, c->len);
    }
}

int cat_remote_work_indices(const unsigned char *msg, size_t len, size_t *out, size_t cap, size_t *n)
{
    reader r = {msg, msg + len, 1};
    *n = 0;
    while (r.ok && r.p < r.end) {
        uint64_t index = get_u64(&r);
        take(&r, 2 + 3 * sizeof(uint64_t));
        uint64_t pl = get_u64(&r);
        take(&r, pl < 65536 ? (size_t)pl : SIZE_MAX);
        if (!r.ok || *n == cap)
            return -1;
        out[(*n)++] = (size_t)index;
    }
    return r.ok ? 0 : -1;
}

/* result: u64 index, u8 kind, i64 size, mtime, ctime, u64 hash, f64 loudness, u8 have_info [info],
 * u8 has_halves [halves], u8 has_descriptors [descriptors], u8 has_vectors [vectors: the embedder's
 * outputs + dim floats], u64 error length, the error */
static void pack_result(const scan_item *it, size_t index, int vector_floats, cat_buf *out)
{
    put_u64(out, index);
    put_u8(out, it->kind);
    put_u64(out, (uint64_t)it->size);
    put_u64(out, (uint64_t)it->mtime_ns);
    put_u64(out, (uint64_t)it->ctime_ns);
    put_u64(out, it->hash);
    cat_buf_put(out, &it->loudness, sizeof it->loudness);
    put_u8(out, it->have_info != 0);
    if (it->have_info)
        cat_buf_put(out, &it->info, sizeof it->info);
    put_u8(out, it->halves != NULL);
    if (it->halves)
        cat_buf_put(out, it->halves, MM_FEATURE_RECORD_BYTES);
    put_u8(out, it->descriptors != NULL);
    if (it->descriptors)
        cat_buf_put(out, it->descriptors, sizeof(float) * MM_DESCRIPTOR_DIM);
    put_u8(out, it->vectors != NULL);
    if (it->vectors)
        cat_buf_put(out, it->vectors, sizeof(float) * (size_t)vector_floats);
    size_t el = strnlen(it->error, sizeof it->error - 1);
    put_u64(out, el);
    cat_buf_put(out, it->error, el);
}

static mm_status bad_message(mm_error *err)
{
    return mm_error_set(err, MM_ERR_FORMAT, "scan: a worker's results message is malformed");
}

mm_status cat_remote_take_results(scan *s, const unsigned char *msg, size_t len, size_t *redo, size_t *n_redo,
                                  int64_t *files, mm_error *err)
{
    reader r = {msg, msg + len, 1};
    *files = 0;
    while (r.ok && r.p < r.end) {
        uint64_t index = get_u64(&r);
        unsigned kind = get_u8(&r);
        if (!r.ok || index >= s->n_work || !cat_remote_dealt(s, (size_t)index) || kind > ITEM_SKIPPED)
            return bad_message(err);
        scan_item *it = calloc(1, sizeof *it);
        if (!it)
            return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
        it->w = &s->work[index];
        it->kind = (enum item_kind)kind;
        it->size = (int64_t)get_u64(&r);
        it->mtime_ns = (int64_t)get_u64(&r);
        it->ctime_ns = (int64_t)get_u64(&r);
        it->hash = get_u64(&r);
        const void *at = take(&r, sizeof it->loudness);
        if (at)
            memcpy(&it->loudness, at, sizeof it->loudness);
        if ((it->have_info = (int)get_u8(&r)) && (at = take(&r, sizeof it->info)))
            memcpy(&it->info, at, sizeof it->info);
        if (get_u8(&r) && (at = take(&r, MM_FEATURE_RECORD_BYTES)) && (it->halves = malloc(MM_FEATURE_RECORD_BYTES)))
            memcpy(it->halves, at, MM_FEATURE_RECORD_BYTES);
        const size_t dbytes = sizeof(float) * MM_DESCRIPTOR_DIM;
        if (get_u8(&r) && (at = take(&r, dbytes)) && (it->descriptors = malloc(dbytes)))
            memcpy(it->descriptors, at, dbytes);
        const size_t vbytes = sizeof(float) * (size_t)cat_scan_vector_floats(s);
        if (get_u8(&r)) {
            if (!vbytes)
                r.ok = 0; /* vectors the coordinator did not ask for: a malformed message */
            else if ((at = take(&r, vbytes)) && (it->vectors = malloc(vbytes)))
                memcpy(it->vectors, at, vbytes);
        }
        uint64_t el = get_u64(&r);
        if (el >= sizeof it->error || !(at = take(&r, (size_t)el))) {
            cat_scan_free_item(it);
            return bad_message(err);
        }
        memcpy(it->error, at, (size_t)el);
        /* an ok song has what the scan stores; one read for its vectors alone (WORK_EMBED) only those */
        int incomplete = it->kind == ITEM_OK &&
                         (s->work[index].kind == WORK_EMBED
                              ? !it->vectors
                              : (!it->descriptors || (!it->halves && cat_scan_keeps_spectrograms(s)) || (!it->vectors && vbytes)));
        if (!r.ok || incomplete) {
            int oom = r.ok;
            cat_scan_free_item(it);
            return oom ? mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory") : bad_message(err);
        }
        (*files)++;
        if (it->kind == ITEM_MOVED && !(it->moved_from = cat_scan_claim_moved(s, it->hash, it->size))) {
            /* another file of the same content took that track: this one is new after all */
            s->work[index].no_move = 1;
            redo[(*n_redo)++] = (size_t)index;
            cat_scan_free_item(it);
            continue;
        }
        if (mm_queue_push(s->queue, it) != 0)
            cat_scan_free_item(it);
    }
    return r.ok ? MM_OK : bad_message(err);
}

/* ---------------------------------------------------------------- worker */

struct cat_remote_worker {
    scan s;
    mm_scan_options opt;
    mm_pool *pool;
    int threads;
    db_entry *moves;
    candidate *cands;
    work *work;
    scan_item **out;
    size_t cap;
};

mm_status cat_remote_worker_open(cat_remote_worker **out, const cat_remote_config *config, int threads,
                                 const mm_scan_embedder *embedder, mm_error *err)
{
    if ((embedder ? embedder->outputs + embedder->dim : 0) != config->vector_floats)
        return mm_error_set(err, MM_ERR_ARG, "scan: this rank's model makes %d floats per song, the coordinator's %d",
                            embedder ? embedder->outputs + embedder->dim : 0, config->vector_floats);
    cat_remote_worker *w = calloc(1, sizeof *w);
    if (!w)
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    mm_scan_options_init(&w->opt);
    w->opt.clips = config->clips;
    w->opt.full_loudness = config->full_loudness;
    w->opt.no_spectrograms = config->no_spectrograms;
    w->opt.embedder = embedder;
    scan *s = &w->s;
    s->opt = &w->opt;
    s->remote = 1;
    atomic_init(&s->stop, 0);
    pthread_mutex_init(&s->move_lock, NULL);
    /* the move candidates, in a table of the same shape as the coordinator's (claim_moved reads it) */
    size_t cap = 16;
    while (cap < 2 * config->n_moves + 1)
        cap <<= 1;
    s->hash_mask = cap - 1;
    s->by_hash = calloc(cap, sizeof *s->by_hash);
    w->moves = calloc(config->n_moves ? config->n_moves : 1, sizeof *w->moves);
    mm_status st = s->by_hash && w->moves ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    for (size_t i = 0; st == MM_OK && i < config->n_moves; i++) {
        db_entry *e = &w->moves[i];
        e->hash = config->moves[2 * i];
        e->size = (int64_t)config->moves[2 * i + 1];
        size_t j = (size_t)(e->hash * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;
        while (s->by_hash[j])
            j = (j + 1) & s->hash_mask;
        s->by_hash[j] = e;
    }
    if (st == MM_OK)
        st = mm_pool_open(&w->pool, threads > 0 ? threads : 1, err);
    if (st == MM_OK) {
        w->threads = mm_pool_threads(w->pool);
        st = cat_scan_frontends_open(s, w->threads, err);
    }
    if (st != MM_OK) {
        cat_remote_worker_close(w);
        return st;
    }
    *out = w;
    return MM_OK;
}

static int grow_chunk(cat_remote_worker *w, size_t n)
{
    if (n <= w->cap)
        return 0;
    candidate *c = realloc(w->cands, n * sizeof *c);
    if (c)
        w->cands = c;
    work *k = realloc(w->work, n * sizeof *k);
    if (k)
        w->work = k;
    scan_item **o = realloc(w->out, n * sizeof *o);
    if (o)
        w->out = o;
    if (!c || !k || !o)
        return -1;
    w->cap = n;
    return 0;
}

mm_status cat_remote_worker_run(cat_remote_worker *w, const unsigned char *msg, size_t len, cat_buf *out,
                                size_t *files, mm_error *err)
{
    *files = 0;
    reader r = {msg, msg + len, 1};
    size_t n = 0;
    mm_status st = MM_OK;
    uint64_t *index = NULL;
    size_t cap_index = 0;
    while (st == MM_OK && r.ok && r.p < r.end) {
        if (n == cap_index) {
            uint64_t *grown = realloc(index, (2 * cap_index + 16) * sizeof *grown);
            if (grown) {
                index = grown;
                cap_index = 2 * cap_index + 16;
            }
        }
        if (n == cap_index || grow_chunk(w, n + 1) != 0) {
            st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
            break;
        }
        candidate *c = &w->cands[n];
        memset(c, 0, sizeof *c);
        index[n] = get_u64(&r);
        w->work[n].cand = n;
        unsigned kind = get_u8(&r);
        w->work[n].kind = kind == WORK_CHANGED ? WORK_CHANGED : kind == WORK_EMBED ? WORK_EMBED : WORK_NEW;
        w->work[n].no_move = (int)get_u8(&r);
        w->work[n].new_id = 0; /* the coordinator's writer numbers rows */
        c->size = (int64_t)get_u64(&r);
        c->mtime_ns = (int64_t)get_u64(&r);
        c->ctime_ns = (int64_t)get_u64(&r);
        uint64_t pl = get_u64(&r);
        const char *path = pl < 65536 ? take(&r, (size_t)pl) : NULL;
        if (!path) {
            st = mm_error_set(err, MM_ERR_FORMAT, "scan: the coordinator's work message is malformed");
            break;
        }
        if (!(c->path = malloc((size_t)pl + 1))) {
            st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
            break;
        }
        memcpy(c->path, path, (size_t)pl);
        c->path[pl] = '\0';
        c->len = (size_t)pl;
        w->out[n] = NULL;
        n++;
    }
    if (st == MM_OK && !r.ok)
        st = mm_error_set(err, MM_ERR_FORMAT, "scan: the coordinator's work message is malformed");
    scan *s = &w->s;
    if (st == MM_OK) {
        s->cands = w->cands;
        s->work = w->work;
        s->n_work = n;
        s->out = w->out;
        mm_pool_for(w->pool, n, cat_scan_process, s);
        if (s->fatal != MM_OK) {
            st = s->fatal;
            if (err)
                *err = s->fatal_err;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (st == MM_OK && w->out[i])
            pack_result(w->out[i], (size_t)index[i], cat_scan_vector_floats(s), out);
        cat_scan_free_item(w->out[i]);
        w->out[i] = NULL;
        free(w->cands[i].path);
    }
    free(index);
    if (st == MM_OK && out->oom)
        st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    if (st == MM_OK)
        *files = n;
    return st;
}

void cat_remote_worker_close(cat_remote_worker *w)
{
    if (!w)
        return;
    cat_scan_frontends_close(&w->s, w->threads);
    mm_pool_close(w->pool);
    pthread_mutex_destroy(&w->s.move_lock);
    free(w->s.by_hash);
    free(w->moves);
    free(w->cands);
    free(w->work);
    free(w->out);
    free(w);
}
