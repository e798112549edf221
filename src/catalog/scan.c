/* musicmap scan: walk the folders (one stat per audio file), compare with the catalog, read only what
 * is new or changed on a pool of workers, and commit the results in batches from one writer thread.
 *
 *   walk ──► classify against the catalog (in memory) ──► workers: hash, probe, clip, log-mel
 *                                                              │ bounded queue
 *                                                              ▼
 *                                        writer: features to the .features file, fdatasync, COMMIT
 *
 * A file is in the catalog as ok only once the transaction holding its row and its feature record
 * committed; a scan killed at any point leaves the catalog as of its last commit, and the next scan
 * finds the unfinished files new or changed again. */
#include "scan_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/shared.h"
#include "musicmap/audio.h"

/* ---------------------------------------------------------------- small containers
 * (the types are in scan_internal.h: the cluster scan shares them) */

/* The excerpts a scan reads per song (mm_scan_options.clips, 0: the default). */
static int scan_clips(const mm_scan_options *o) { return o->clips > 0 ? o->clips : MM_SCAN_DEFAULT_CLIPS; }

static int64_t ts_ns(struct timespec ts) { return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec; }


static uint64_t path_hash(const char *p, size_t n) { return mm_hash64(p, n, 0x70617468ull); }

static int path_map_init(path_map *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 1)
        cap <<= 1;
    m->mask = cap - 1;
    m->slots = calloc(cap, sizeof *m->slots);
    return m->slots ? 0 : -1;
}

static void path_map_put(path_map *m, db_entry *e)
{
    size_t i = (size_t)path_hash(e->path, e->len) & m->mask;
    while (m->slots[i])
        i = (i + 1) & m->mask;
    m->slots[i] = e;
}

static db_entry *path_map_get(const path_map *m, const char *p, size_t n)
{
    size_t i = (size_t)path_hash(p, n) & m->mask;
    for (; m->slots[i]; i = (i + 1) & m->mask) {
        db_entry *e = m->slots[i];
        if (e->len == n && memcmp(e->path, p, n) == 0)
            return e;
    }
    return NULL;
}


static size_t dir_hash(dev_t dev, ino_t ino)
{
    uint64_t k[2] = {(uint64_t)dev, (uint64_t)ino};
    return (size_t)mm_hash64(k, sizeof k, 0);
}

/* returns 1 if added, 0 if present, -1 out of memory */
static int dir_set_add(dir_set *s, dev_t dev, ino_t ino)
{
    if (2 * (s->count + 1) > s->mask + 1 || !s->keys) {
        size_t cap = s->keys ? 2 * (s->mask + 1) : 256;
        struct dir_key *keys = calloc(cap, sizeof *keys);
        if (!keys)
            return -1;
        for (size_t i = 0; s->keys && i <= s->mask; i++) {
            if (!s->keys[i].used)
                continue;
            size_t j = dir_hash(s->keys[i].dev, s->keys[i].ino) & (cap - 1);
            while (keys[j].used)
                j = (j + 1) & (cap - 1);
            keys[j] = s->keys[i];
        }
        free(s->keys);
        s->keys = keys;
        s->mask = cap - 1;
    }
    size_t i = dir_hash(dev, ino) & s->mask;
    for (; s->keys[i].used; i = (i + 1) & s->mask)
        if (s->keys[i].dev == dev && s->keys[i].ino == ino)
            return 0;
    s->keys[i].dev = dev;
    s->keys[i].ino = ino;
    s->keys[i].used = 1;
    s->count++;
    return 1;
}


static void set_fatal(scan *s, mm_status code, const mm_error *err)
{
    if (s->fatal == MM_OK) {
        s->fatal = code;
        if (err)
            s->fatal_err = *err;
        else
            mm_error_set(&s->fatal_err, code, "scan: out of memory");
    }
    atomic_store(&s->stop, 1);
}

void cat_scan_set_fatal(scan *s, mm_status code, const mm_error *err) { set_fatal(s, code, err); }

static void report_progress(scan *s)
{
    s->progress.elapsed = mm_now() - s->t0;
    if (s->opt->progress && s->opt->progress(&s->progress, s->opt->user))
        atomic_store(&s->stop, 1);
}

static void report_failure(scan *s, const char *path, const char *msg)
{
    if (s->opt->failure)
        s->opt->failure(path, msg, s->opt->user);
}

/* ---------------------------------------------------------------- walk */

static const char *const AUDIO_EXTENSIONS[] = {"mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "wav",
                                               "wave", "aif", "aiff", "wma", "ape", "wv", "mpc"};

static int has_audio_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < sizeof AUDIO_EXTENSIONS / sizeof AUDIO_EXTENSIONS[0]; i++)
        if (strcasecmp(dot + 1, AUDIO_EXTENSIONS[i]) == 0)
            return 1;
    return 0;
}

static candidate *add_candidate(scan *s, const char *path, size_t len, const struct stat *sb, int via_link,
                                const char *problem)
{
    if (s->n_cands == s->cap_cands) {
        size_t cap = s->cap_cands ? 2 * s->cap_cands : 1024;
        candidate *grown = realloc(s->cands, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->cands = grown;
        s->cap_cands = cap;
    }
    candidate *c = &s->cands[s->n_cands];
    memset(c, 0, sizeof *c);
    c->path = malloc(len + 1);
    if (!c->path)
        return NULL;
    memcpy(c->path, path, len + 1);
    c->len = len;
    if (sb) {
        c->size = (int64_t)sb->st_size;
        c->mtime_ns = ts_ns(sb->st_mtim);
        c->ctime_ns = ts_ns(sb->st_ctim);
        c->dev = sb->st_dev;
        c->ino = sb->st_ino;
    }
    c->via_link = via_link != 0;
    c->problem = problem;
    s->n_cands++;
    s->progress.found++;
    if ((s->progress.found & 1023) == 0)
        report_progress(s);
    return c;
}

static void folder_error(scan *s, const char *path, int errnum)
{
    char msg[MM_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s: cannot read folder: %s (its tracks are left as they were)", path, strerror(errnum));
    s->res->folder_errors++;
    report_failure(s, path, msg);
    if (s->n_bad_dirs == s->cap_bad_dirs) {
        size_t cap = s->cap_bad_dirs ? 2 * s->cap_bad_dirs : 16;
        char **grown = realloc(s->bad_dirs, cap * sizeof *grown);
        if (!grown)
            return set_fatal(s, MM_ERR_NOMEM, NULL);
        s->bad_dirs = grown;
        s->cap_bad_dirs = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return set_fatal(s, MM_ERR_NOMEM, NULL);
    s->bad_dirs[s->n_bad_dirs++] = copy;
}

typedef struct dir_name {
    char *name;
    unsigned char type;
} dir_name;

static int cmp_dir_name(const void *a, const void *b)
{
    return strcmp(((const dir_name *)a)->name, ((const dir_name *)b)->name);
}

static void walk_dir(scan *s, char *path, size_t len, int via_link);

/* One entry of a folder (or a root): stat it once, follow a link once, recurse into folders. */
static void walk_entry(scan *s, char *path, size_t len, unsigned char type, int via_link, int is_root)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    int audio = has_audio_extension(name);
    if (!is_root && type == DT_REG && !audio)
        return; /* cover art, playlists, text: not ours, and no stat needed */
    int is_link = type == DT_LNK;
    struct stat sb;
    if (!is_root && type == DT_UNKNOWN) {
        if (lstat(path, &sb) != 0)
            return;
        is_link = S_ISLNK(sb.st_mode);
    }
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (is_root)
            folder_error(s, path, e);
        else if (audio && !add_candidate(s, path, len, NULL, via_link || is_link,
                                         e == ENOENT   ? "broken symbolic link (its target does not exist)"
                                         : e == ELOOP ? "symbolic link loop"
                                                      : "cannot stat"))
            set_fatal(s, MM_ERR_NOMEM, NULL);
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        int added = dir_set_add(&s->dirs, sb.st_dev, sb.st_ino);
        if (added < 0)
            return set_fatal(s, MM_ERR_NOMEM, NULL);
        if (added == 0) { /* seen before: a link loop or a second way to the same folder */
            s->res->duplicates += is_link || via_link;
            return;
        }
        if (audio && !is_root && !add_candidate(s, path, len, &sb, via_link || is_link, "is a folder, not an audio file"))
            return set_fatal(s, MM_ERR_NOMEM, NULL);
        walk_dir(s, path, len, via_link || is_link);
    } else if (S_ISREG(sb.st_mode)) {
        if ((audio || is_root) && !add_candidate(s, path, len, &sb, via_link || is_link, NULL))
            set_fatal(s, MM_ERR_NOMEM, NULL);
    } else if (audio || is_root) {
        if (!add_candidate(s, path, len, &sb, via_link || is_link, "not a regular file (a device, FIFO or socket)"))
            set_fatal(s, MM_ERR_NOMEM, NULL);
    }
}

static void walk_dir(scan *s, char *path, size_t len, int via_link)
{
    DIR *dir = opendir(path);
    if (!dir)
        return folder_error(s, path, errno);
    dir_name *names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int read_errno = 0;
    for (;;) {
        errno = 0;
        if ((de = readdir(dir)) == NULL) {
            read_errno = errno;
            break;
        }
        if (de->d_name[0] == '.') /* ".", "..", hidden files, macOS "._" resource forks */
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            dir_name *grown = realloc(names, cap * sizeof *grown);
            if (!grown)
                break;
            names = grown;
        }
        if (!(names[n].name = strdup(de->d_name)))
            break;
        names[n++].type = de->d_type;
    }
    closedir(dir);
    if (de) /* stopped early: out of memory */
        set_fatal(s, MM_ERR_NOMEM, NULL);
    else if (read_errno)
        folder_error(s, path, read_errno);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_dir_name);
    for (size_t i = 0; i < n && !atomic_load(&s->stop); i++) {
        size_t nl = strlen(names[i].name);
        if (len + 1 + nl >= PATH_MAX)
            continue;
        path[len] = '/';
        memcpy(path + len + 1, names[i].name, nl + 1);
        walk_entry(s, path, len + 1 + nl, names[i].type, via_link, 0);
        path[len] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        free(names[i].name);
    free(names);
}

/* Files reached through a symbolic link are catalogued once: when the same file (device, inode) is
 * also reached without a link, the link paths are dropped; else the first link path is kept. Hard
 * links (several real names) stay separate tracks. */
static int cmp_by_inode(const void *a, const void *b, void *arg)
{
    const candidate *cands = arg;
    const candidate *x = &cands[*(const size_t *)a], *y = &cands[*(const size_t *)b];
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (x->via_link != y->via_link)
        return x->via_link ? 1 : -1;
    return strcmp(x->path, y->path);
}

static void drop_link_duplicates(scan *s)
{
    size_t m = 0;
    size_t *idx = malloc((s->n_cands ? s->n_cands : 1) * sizeof *idx);
    if (!idx)
        return set_fatal(s, MM_ERR_NOMEM, NULL);
    for (size_t i = 0; i < s->n_cands; i++)
        if (!s->cands[i].problem)
            idx[m++] = i;
    if (m > 1)
        qsort_r(idx, m, sizeof *idx, cmp_by_inode, s->cands);
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && s->cands[idx[j]].dev == s->cands[idx[i]].dev && s->cands[idx[j]].ino == s->cands[idx[i]].ino)
            j++;
        /* sorted: real names first, then link paths by name; keep the real names, or the first link */
        for (size_t k = i + 1; k < j; k++) {
            candidate *c = &s->cands[idx[k]];
            /* a link path, or the same path twice (a file given as a root and found under another) */
            if (c->via_link || strcmp(c->path, s->cands[idx[k - 1]].path) == 0) {
                c->dropped = 1;
                s->res->duplicates++;
            }
        }
        i = j;
    }
    free(idx);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path[0..len) against a folder: memcmp's order, a shorter string first, as strcmp sorts them */
static int cmp_prefix(const char *path, size_t len, const char *folder)
{
    size_t fl = strlen(folder);
    int c = memcmp(path, folder, len < fl ? len : fl);
    return c ? c : len < fl ? -1 : len > fl;
}

/* 1 when path[0..len) is one of the sorted folders */
static int is_one_of(const char *path, size_t len, char *const *sorted, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_prefix(path, len, sorted[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* 1 when path is one of the folders (sorted by cmp_cstr) or lies under one: "/", each of the path's own
 * folders and the path itself are looked up, so a scan given a million files as roots costs log n per
 * catalogued song rather than n. */
static int under_any(const char *path, size_t len, char *const *sorted, size_t n)
{
    if (n == 0)
        return 0;
    if (is_one_of("/", 1, sorted, n))
        return 1;
    for (size_t p = 1; p <= len; p++)
        if ((p == len || path[p] == '/') && is_one_of(path, p, sorted, n))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- catalog side: load and classify */

static mm_status load_catalog(scan *s, mm_error *err)
{
    mm_catalog *cat = s->cat;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db, "SELECT count(*) FROM tracks", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return cat_sql_error(cat, err, "reading the catalog");
    }
    size_t expect = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    s->entries = calloc(expect + 1, sizeof *s->entries);
    if (!s->entries || path_map_init(&s->by_path, expect) != 0)
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    if (sqlite3_prepare_v2(cat->db,
                           "SELECT t.id, t.path, t.size, t.mtime_ns, t.ctime_ns, t.hash, t.status, f.slot, d.version,"
                           " d.clips, ?1 IS NULL OR EXISTS(SELECT 1 FROM vectors v WHERE v.model_id = ?1"
                           " AND v.track_id = t.id)"
                           " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
                           " LEFT JOIN descriptors d ON d.track_id = t.id",
                           -1, &st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, "reading the catalog");
    if (s->opt->embedder)
        sqlite3_bind_int64(st, 1, s->opt->embedder->model_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && s->n_entries < expect) {
        db_entry *e = &s->entries[s->n_entries];
        e->id = sqlite3_column_int64(st, 0);
        e->len = (size_t)sqlite3_column_bytes(st, 1);
        e->path = malloc(e->len + 1);
        if (!e->path) {
            sqlite3_finalize(st);
            return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
        }
        if (e->len)
            memcpy(e->path, sqlite3_column_blob(st, 1), e->len);
        e->path[e->len] = '\0';
        e->size = sqlite3_column_int64(st, 2);
        e->mtime_ns = sqlite3_column_int64(st, 3);
        e->ctime_ns = sqlite3_column_int64(st, 4);
        e->hash = (uint64_t)sqlite3_column_int64(st, 5);
        const unsigned char *status = sqlite3_column_text(st, 6);
        e->status = status && status[0] == 'f' ? MM_TRACK_FAILED : status && status[0] == 'm' ? MM_TRACK_MISSING : MM_TRACK_OK;
        e->has_features = sqlite3_column_type(st, 7) != SQLITE_NULL;
        e->has_descriptors = sqlite3_column_type(st, 8) != SQLITE_NULL &&
                             sqlite3_column_int(st, 8) == MM_DESCRIPTOR_VERSION &&
                             sqlite3_column_int(st, 9) == scan_clips(s->opt);
        e->has_vectors = sqlite3_column_int(st, 10);
        if (e->has_features) {
            int64_t slot = sqlite3_column_int64(st, 7);
            if (slot >= s->slot_cap) {
                int64_t cap = s->slot_cap ? s->slot_cap : 1024;
                while (cap <= slot)
                    cap *= 2;
                unsigned char *grown = realloc(s->slot_used, (size_t)cap);
                if (!grown) {
                    sqlite3_finalize(st);
                    return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
                }
                memset(grown + s->slot_cap, 0, (size_t)(cap - s->slot_cap));
                s->slot_used = grown;
                s->slot_cap = cap;
            }
            s->slot_used[slot] = 1;
        }
        path_map_put(&s->by_path, e);
        s->n_entries++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return cat_sql_error(cat, err, "reading the catalog");
    return MM_OK;
}

/* What a track must have to count as read: its spectrogram record, or without spectrograms
 * (--keep-spectrograms no) its descriptors. */
static int has_record(const scan *s, const db_entry *e)
{
    return cat_scan_keeps_spectrograms(s) ? e->has_features : e->has_descriptors;
}

/* New songs' ids, after the catalog's highest, in walk order (folders and names sorted): a scan of the
 * same files numbers them the same, alone or on a cluster, and so do the maps made from them. A song
 * that turns out to have moved keeps its old row, leaving its number unused. */
static mm_status number_new_songs(scan *s, mm_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->cat->db, "SELECT coalesce(max(id), 0) FROM tracks", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return cat_sql_error(s->cat, err, "numbering the new songs");
    }
    int64_t next = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t k = 0; k < s->n_work; k++)
        s->work[k].new_id = s->work[k].kind == WORK_NEW ? ++next : 0;
    return MM_OK;
}

static mm_status classify(scan *s, mm_error *err)
{
    const mm_scan_options *o = s->opt;
    s->work = malloc((s->n_cands ? s->n_cands : 1) * sizeof *s->work);
    if (!s->work)
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    for (size_t i = 0; i < s->n_cands; i++) {
        candidate *c = &s->cands[i];
        if (c->dropped)
            continue;
        s->res->found++;
        db_entry *e = path_map_get(&s->by_path, c->path, c->len);
        if (e)
            e->seen = 1;
        int same = e && e->size == c->size && e->mtime_ns == c->mtime_ns;
        if (o->vectors_only) { /* embed only: the rest is left for a scan */
            s->res->unchanged++;
            if (e && e->status == MM_TRACK_OK && same && !e->has_vectors && !c->problem) {
                s->work[s->n_work].cand = i;
                s->work[s->n_work].kind = WORK_EMBED;
                s->work[s->n_work].no_move = 0;
                s->n_work++;
            }
            continue;
        }
        /* a track without this build's descriptors is read again once (a catalog from an older version) */
        if (e && e->status == MM_TRACK_OK && same && has_record(s, e) && e->has_descriptors && !c->problem) {
            s->res->unchanged++;
            if (!e->has_vectors) { /* read again for its vectors alone (scan --model) */
                s->work[s->n_work].cand = i;
                s->work[s->n_work].kind = WORK_EMBED;
                s->work[s->n_work].no_move = 0;
                s->n_work++;
            }
            continue;
        }
        if (e && e->status == MM_TRACK_FAILED && same && e->ctime_ns == c->ctime_ns && !o->retry_failed) {
            s->res->unchanged++;
            s->res->kept_failed++;
            continue;
        }
        if (e && e->status == MM_TRACK_MISSING && same && has_record(s, e) && !c->problem) {
            e->returned = 1;
            continue;
        }
        s->work[s->n_work].cand = i;
        s->work[s->n_work].kind = e ? WORK_CHANGED : WORK_NEW;
        s->work[s->n_work].no_move = 0;
        s->n_work++;
    }
    mm_status numbered = number_new_songs(s, err);
    if (numbered != MM_OK)
        return numbered;
    /* what is under the roots and was not found; and the move candidates */
    size_t n_hash = 0;
    if (s->n_roots > 1) /* (qsort wants a table even for none) */
        qsort(s->roots, s->n_roots, sizeof *s->roots, cmp_cstr);
    if (s->n_bad_dirs > 1)
        qsort(s->bad_dirs, s->n_bad_dirs, sizeof *s->bad_dirs, cmp_cstr);
    for (size_t i = 0; i < s->n_entries && !o->vectors_only; i++) { /* embed only: nothing goes missing or moves */
        db_entry *e = &s->entries[i];
        e->under_root = under_any(e->path, e->len, s->roots, s->n_roots);
        if (e->under_root && under_any(e->path, e->len, s->bad_dirs, s->n_bad_dirs))
            e->under_root = 0;
        e->vanished = e->under_root && !e->seen && e->status != MM_TRACK_MISSING;
        if (!e->seen && has_record(s, e) && e->hash && (e->vanished || e->status == MM_TRACK_MISSING) &&
            e->status != MM_TRACK_FAILED)
            n_hash++;
    }
    size_t cap = 16;
    while (cap < 2 * n_hash + 1)
        cap <<= 1;
    s->hash_mask = cap - 1;
    s->by_hash = calloc(cap, sizeof *s->by_hash);
    if (!s->by_hash)
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    for (size_t i = 0; i < s->n_entries && !o->vectors_only; i++) {
        db_entry *e = &s->entries[i];
        if (!e->seen && has_record(s, e) && e->hash && (e->vanished || e->status == MM_TRACK_MISSING) &&
            e->status != MM_TRACK_FAILED) {
            size_t j = (size_t)(e->hash * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;
            while (s->by_hash[j])
                j = (j + 1) & s->hash_mask;
            s->by_hash[j] = e;
        }
    }
    return MM_OK;
}

/* A new file whose content hash and size match a vanished or missing track is that track, moved. */
static db_entry *claim_moved(scan *s, uint64_t hash, int64_t size)
{
    db_entry *found = NULL;
    pthread_mutex_lock(&s->move_lock);
    size_t j = (size_t)(hash * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;
    for (; s->by_hash[j]; j = (j + 1) & s->hash_mask) {
        db_entry *e = s->by_hash[j];
        if (e->hash == hash && e->size == size && !e->claimed) {
            e->claimed = !s->remote; /* a worker only proposes: the coordinator claims */
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&s->move_lock);
    return found;
}

db_entry *cat_scan_claim_moved(scan *s, uint64_t hash, int64_t size) { return claim_moved(s, hash, size); }

/* ---------------------------------------------------------------- workers */

/* Where the scan's excerpts lie: n clips spread from 20 % to 80 % of the song (n = 1: the centre). */
static double clip_position(int i, int n) { return n > 1 ? 0.2 + 0.6 * i / (n - 1) : 0.5; }

/* With several clips a song's descriptors are the mean over its excerpts (the centre one is already in
 * desc: a song shorter than two clips has only that one). An excerpt that can't be read is left out. */
static void more_clips(scan *s, int worker, mm_audio *audio, size_t centre_valid, float *desc)
{
    const int n = scan_clips(s->opt);
    if (n == 1 || centre_valid < MM_CLIP_SAMPLES)
        return;
    /* excerpts of a song shorter than two clips overlap the centre one by most of their length: they
     * would cost a decode each and add little (a 30 s demo song would be described three times over) */
    const mm_audio_info *info = mm_audio_get_info(audio);
    if (info && info->duration > 0 && info->duration < 2.0 * MM_CLIP_SAMPLES / 12000.0)
        return;
    float extra[MM_DESCRIPTOR_DIM];
    int used = 1;
    for (int i = 0; i < n; i++) {
        double at = clip_position(i, n);
        if (at == 0.5)
            continue; /* the centre */
        mm_clip_options copt = {.size = sizeof copt, .position = at};
        mm_clip_report rep;
        mm_error err;
        if (mm_audio_read_clip(audio, &copt, s->clips[worker], &rep, &err) != MM_OK)
            continue;
        mm_mel_compute_with_power(s->mels[worker], s->clips[worker], s->logmels[worker], s->powers[worker]);
        if (mm_descriptors_compute(s->descs[worker], s->clips[worker], MM_CLIP_SAMPLES, s->logmels[worker],
                                   s->powers[worker], extra, &err) != MM_OK)
            continue;
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            desc[j] += extra[j];
        used++;
    }
    for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
        desc[j] /= (float)used;
}

/* The embedder's vectors of the log-mel just computed on this worker; a failure stops the scan (the
 * model's or the machine's problem, not the file's), and the item is freed: -1. */
static int embed_item(scan *s, int worker, scan_item *it)
{
    const mm_scan_embedder *emb = s->opt->embedder;
    if (!emb) { /* WORK_EMBED without an embedder can't be made: a bug, not a file's fault */
        cat_scan_free_item(it);
        mm_error e;
        mm_error_set(&e, MM_ERR_INTERNAL, "scan: nothing to embed with");
        set_fatal(s, MM_ERR_INTERNAL, &e);
        return -1;
    }
    /* the model sees the centre clip's log-mel, as `embed` sees the stored spectrogram */
    it->vectors = malloc(sizeof(float) * (size_t)cat_scan_vector_floats(s));
    mm_error emb_err;
    mm_status es = it->vectors ? emb->run(worker, s->logmels[worker], it->vectors, it->vectors + emb->outputs,
                                          &emb_err, emb->user)
                               : mm_error_set(&emb_err, MM_ERR_NOMEM, "scan: out of memory");
    if (es != MM_OK) {
        cat_scan_free_item(it);
        set_fatal(s, es, &emb_err);
        return -1;
    }
    return 0;
}

static void process_file(size_t index, int worker, void *arg)
{
    scan *s = arg;
    const work *w = &s->work[index];
    const candidate *c = &s->cands[w->cand];
    scan_item *it = calloc(1, sizeof *it);
    if (!it) {
        set_fatal(s, MM_ERR_NOMEM, NULL);
        return;
    }
    it->w = w;
    it->size = c->size;
    it->mtime_ns = c->mtime_ns;
    it->ctime_ns = c->ctime_ns;
    it->kind = ITEM_FAILED;
    it->loudness = NAN;
    if (atomic_load(&s->stop)) {
        it->kind = ITEM_SKIPPED;
        goto push;
    }
    if (c->problem) {
        snprintf(it->error, sizeof it->error, "%s: %s", c->path, c->problem);
        goto push;
    }
    /* our own open: tells a vanished or unreadable file apart, and the content hash needs it */
    int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(it->error, sizeof it->error, "%s: %s%s", c->path,
                 e == ENOENT ? "vanished during the scan: " : "cannot open: ", strerror(e));
        goto push;
    }
    struct stat sb;
    mm_error err;
    mm_error_clear(&err);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(it->error, sizeof it->error, "%s: not a regular file any more", c->path);
        close(fd);
        goto push;
    }
    it->size = (int64_t)sb.st_size;
    it->mtime_ns = ts_ns(sb.st_mtim);
    it->ctime_ns = ts_ns(sb.st_ctim);
    mm_status st = mm_content_hash_fd(fd, it->size, &it->hash, &err);
    close(fd);
    if (st != MM_OK) {
        snprintf(it->error, sizeof it->error, "%s: %s", c->path, err.msg);
        it->hash = 0;
        goto push;
    }
    if (w->kind == WORK_NEW && !w->no_move && (it->moved_from = claim_moved(s, it->hash, it->size)) != NULL) {
        it->kind = ITEM_MOVED;
        goto push;
    }
    mm_audio *audio = NULL;
    size_t valid = 0; /* samples of the clip that are audio, not padding */
    st = mm_audio_open(&audio, c->path, &err);
    if (st == MM_OK) {
        it->info = *mm_audio_get_info(audio);
        it->have_info = 1;
        mm_clip_options copt = {.size = sizeof copt,
                                .min_seconds = 1.0,
                                .loudness = s->opt->full_loudness ? MM_LOUDNESS_SONG : MM_LOUDNESS_CLIP};
        mm_clip_report report;
        st = mm_audio_read_clip(audio, &copt, s->clips[worker], &report, &err);
        if (st == MM_OK) {
            it->loudness = report.loudness;
            int64_t audible = report.total_12k - report.crop_start;
            valid = audible < 0 ? 0 : audible < MM_CLIP_SAMPLES ? (size_t)audible : MM_CLIP_SAMPLES;
            it->info = *mm_audio_get_info(audio); /* read_clip may have refined the length */
        }
    }
    if (st != MM_OK) {
        mm_audio_close(audio);
        snprintf(it->error, sizeof it->error, "%s", err.msg);
        goto push;
    }
    /* the spectrogram and, from the same STFT, the descriptors */
    mm_mel_compute_with_power(s->mels[worker], s->clips[worker], s->logmels[worker], s->powers[worker]);
    if (w->kind == WORK_EMBED) { /* an unchanged song read for its vectors alone: nothing else is stored */
        mm_audio_close(audio);
        if (embed_item(s, worker, it) != 0)
            return;
        it->kind = ITEM_OK;
        goto push;
    }
    /* without spectrograms (--keep-spectrograms no) the log-mel still makes the descriptors */
    it->halves = cat_scan_keeps_spectrograms(s) ? malloc(MM_FEATURE_RECORD_BYTES) : NULL;
    it->descriptors = malloc(sizeof(float) * MM_DESCRIPTOR_DIM);
    if ((!it->halves && cat_scan_keeps_spectrograms(s)) || !it->descriptors) {
        free(it->halves);
        free(it->descriptors);
        free(it);
        set_fatal(s, MM_ERR_NOMEM, NULL);
        return;
    }
    if (mm_descriptors_compute(s->descs[worker], s->clips[worker], valid, s->logmels[worker], s->powers[worker],
                               it->descriptors, &err) != MM_OK) {
        mm_audio_close(audio);
        snprintf(it->error, sizeof it->error, "%s: %s", c->path, err.msg);
        free(it->halves);
        it->halves = NULL;
        goto push;
    }
    if (it->halves)
        mm_floats_to_halves(s->logmels[worker], it->halves, MM_FEATURE_VALUES);
    if (s->opt->embedder && embed_item(s, worker, it) != 0) {
        mm_audio_close(audio);
        return;
    }
    more_clips(s, worker, audio, valid, it->descriptors);
    mm_audio_close(audio);
    it->kind = ITEM_OK;
push:
    if (s->out)
        s->out[index] = it;
    else if (mm_queue_push(s->queue, it) != 0)
        cat_scan_free_item(it);
}

void cat_scan_process(size_t index, int worker, void *scan_arg) { process_file(index, worker, scan_arg); }

/* ---------------------------------------------------------------- writer */

static mm_status prepare(scan *s, sqlite3_stmt **st, const char *sql, mm_error *err)
{
    if (sqlite3_prepare_v3(s->cat->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return cat_sql_error(s->cat, err, "preparing the scan");
    return MM_OK;
}

static mm_status prepare_all(scan *s, mm_error *err)
{
    mm_status st = prepare(
        s, &s->st_upsert,
        "INSERT INTO tracks(path, size, mtime_ns, ctime_ns, hash, status, error, duration, container, codec,"
        " sample_rate, channels, bit_rate, title, artist, album, genre, date, track_no, year, loudness,"
        " loudness_song, scanned_at, id, search_title, search_text) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
        /* the folded tags search compares (schema 6, db.c): written with the tags, so they agree */
        " mm_fold(?14), mm_fold(coalesce(?15, '')) || char(10) || mm_fold(coalesce(?16, '')))"
        " ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
        " ctime_ns = excluded.ctime_ns, hash = excluded.hash, status = excluded.status, error = excluded.error,"
        " duration = excluded.duration, container = excluded.container, codec = excluded.codec,"
        " sample_rate = excluded.sample_rate, channels = excluded.channels, bit_rate = excluded.bit_rate,"
        " title = excluded.title, artist = excluded.artist, album = excluded.album, genre = excluded.genre,"
        " date = excluded.date, track_no = excluded.track_no, year = excluded.year, loudness = excluded.loudness,"
        " loudness_song = excluded.loudness_song, scanned_at = excluded.scanned_at,"
        " search_title = excluded.search_title, search_text = excluded.search_text"
        " RETURNING id",
        err);
    if (st == MM_OK)
        st = prepare(s, &s->st_old_slot, "SELECT slot FROM features WHERE track_id = ?", err);
    if (st == MM_OK)
        st = prepare(s, &s->st_set_features,
                     "INSERT INTO features(track_id, slot, checksum) VALUES(?1, ?2, ?3)"
                     " ON CONFLICT(track_id) DO UPDATE SET slot = excluded.slot, checksum = excluded.checksum",
                     err);
    if (st == MM_OK)
        st = prepare(s, &s->st_drop_features, "DELETE FROM features WHERE track_id = ? RETURNING slot", err);
    if (st == MM_OK)
        st = prepare(s, &s->st_set_descriptors,
                     "INSERT INTO descriptors(track_id, version, clips, vector) VALUES(?1, ?2, ?3, ?4)"
                     " ON CONFLICT(track_id) DO UPDATE SET version = excluded.version, clips = excluded.clips,"
                     " vector = excluded.vector",
                     err);
    if (st == MM_OK)
        st = prepare(s, &s->st_drop_vectors,
                     "DELETE FROM vectors WHERE track_id = (SELECT id FROM tracks WHERE path = ?1 AND hash IS NOT ?2)",
                     err);
    if (st == MM_OK)
        st = prepare(s, &s->st_put_vectors,
                     "INSERT OR REPLACE INTO vectors(model_id, track_id, probs, embedding)"
                     " SELECT ?1, id, ?3, ?4 FROM tracks WHERE path = ?2",
                     err);
    if (st == MM_OK)
        st = prepare(s, &s->st_move_clear, "DELETE FROM tracks WHERE path = ?1 AND id <> ?2", err);
    if (st == MM_OK)
        st = prepare(s, &s->st_move,
                     "UPDATE tracks SET path = ?1, size = ?2, mtime_ns = ?3, ctime_ns = ?4, status = 'ok',"
                     " error = NULL, scanned_at = ?5 WHERE id = ?6",
                     err);
    return st;
}

static void finalize_all(scan *s)
{
    sqlite3_finalize(s->st_upsert);
    sqlite3_finalize(s->st_old_slot);
    sqlite3_finalize(s->st_set_features);
    sqlite3_finalize(s->st_drop_features);
    sqlite3_finalize(s->st_move_clear);
    sqlite3_finalize(s->st_move);
    sqlite3_finalize(s->st_set_descriptors);
    sqlite3_finalize(s->st_drop_vectors);
    sqlite3_finalize(s->st_put_vectors);
}

static int64_t alloc_slot(scan *s)
{
    while (s->slot_cursor < s->slot_cap && s->slot_used[s->slot_cursor])
        s->slot_cursor++;
    if (s->slot_cursor >= s->slot_cap) {
        int64_t cap = s->slot_cap ? 2 * s->slot_cap : 1024;
        unsigned char *grown = realloc(s->slot_used, (size_t)cap);
        if (!grown)
            return -1;
        memset(grown + s->slot_cap, 0, (size_t)(cap - s->slot_cap));
        s->slot_used = grown;
        s->slot_cap = cap;
    }
    s->slot_used[s->slot_cursor] = 1;
    return s->slot_cursor++;
}

static int remember_released(scan *s, int64_t slot)
{
    if (s->n_released == s->cap_released) {
        size_t cap = s->cap_released ? 2 * s->cap_released : 64;
        int64_t *grown = realloc(s->released, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->released = grown;
        s->cap_released = cap;
    }
    s->released[s->n_released++] = slot;
    return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *text)
{
    if (text && text[0])
        sqlite3_bind_text(st, col, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, col);
}

static int year_of(const char *date)
{
    for (const char *p = date; *p; p++) {
        if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
            p[3] <= '9' && !(p[4] >= '0' && p[4] <= '9') && (p == date || !(p[-1] >= '0' && p[-1] <= '9'))) {
            int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
            if (y >= 1000 && y <= 2999)
                return y;
        }
    }
    return 0;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The embedder's vectors of the track at the item's path (its row is written first). */
static int put_vectors(scan *s, const scan_item *it, const candidate *c)
{
    const mm_scan_embedder *emb = s->opt->embedder;
    sqlite3_stmt *v = s->st_put_vectors;
    sqlite3_bind_int64(v, 1, emb->model_id);
    sqlite3_bind_blob(v, 2, c->path, (int)c->len, SQLITE_STATIC);
    sqlite3_bind_blob(v, 3, it->vectors, (int)(sizeof(float) * (size_t)emb->outputs), SQLITE_STATIC);
    sqlite3_bind_blob(v, 4, it->vectors + emb->outputs, (int)(sizeof(float) * (size_t)emb->dim), SQLITE_STATIC);
    return step_done(v);
}

static int apply_item(scan *s, scan_item *it, int64_t now)
{
    const candidate *c = &s->cands[it->w->cand];
    if (it->kind == ITEM_MOVED) {
        sqlite3_stmt *st = s->st_move_clear;
        sqlite3_bind_blob(st, 1, c->path, (int)c->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, it->moved_from->id);
        if (step_done(st) != 0)
            return -1;
        st = s->st_move;
        sqlite3_bind_blob(st, 1, c->path, (int)c->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, it->size);
        sqlite3_bind_int64(st, 3, it->mtime_ns);
        sqlite3_bind_int64(st, 4, it->ctime_ns);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int64(st, 6, it->moved_from->id);
        return step_done(st);
    }
    if (it->w->kind == WORK_EMBED && it->kind == ITEM_OK) /* the vectors, and nothing else */
        return put_vectors(s, it, c);
    /* a file whose content changed loses the vectors of its old content, under every model (a file read
     * again with the same content, say for a damaged spectrogram record, keeps them) */
    sqlite3_stmt *st = s->st_drop_vectors;
    sqlite3_bind_blob(st, 1, c->path, (int)c->len, SQLITE_STATIC);
    if (it->hash)
        sqlite3_bind_int64(st, 2, (int64_t)it->hash);
    else
        sqlite3_bind_null(st, 2);
    if (step_done(st) != 0)
        return -1;
    st = s->st_upsert;
    int ok = it->kind == ITEM_OK;
    const mm_audio_info *in = &it->info;
    sqlite3_bind_blob(st, 1, c->path, (int)c->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, it->size);
    sqlite3_bind_int64(st, 3, it->mtime_ns);
    sqlite3_bind_int64(st, 4, it->ctime_ns);
    if (it->hash)
        sqlite3_bind_int64(st, 5, (int64_t)it->hash);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_text(st, 6, ok ? "ok" : "failed", -1, SQLITE_STATIC);
    if (ok)
        sqlite3_bind_null(st, 7);
    else
        sqlite3_bind_text(st, 7, it->error, -1, SQLITE_STATIC);
    if (it->have_info) {
        if (isfinite(in->duration))
            sqlite3_bind_double(st, 8, in->duration);
        else
            sqlite3_bind_null(st, 8);
        bind_text_or_null(st, 9, in->container);
        bind_text_or_null(st, 10, in->codec);
        sqlite3_bind_int(st, 11, in->sample_rate);
        sqlite3_bind_int(st, 12, in->channels);
        sqlite3_bind_int64(st, 13, in->bit_rate);
        bind_text_or_null(st, 14, in->tags.title);
        bind_text_or_null(st, 15, in->tags.artist);
        bind_text_or_null(st, 16, in->tags.album);
        bind_text_or_null(st, 17, in->tags.genre);
        bind_text_or_null(st, 18, in->tags.date);
        bind_text_or_null(st, 19, in->tags.track);
        int y = year_of(in->tags.date);
        if (y)
            sqlite3_bind_int(st, 20, y);
        else
            sqlite3_bind_null(st, 20);
    } else {
        for (int col = 8; col <= 20; col++)
            sqlite3_bind_null(st, col);
    }
    if (ok && isfinite(it->loudness))
        sqlite3_bind_double(st, 21, it->loudness);
    else
        sqlite3_bind_null(st, 21); /* failed: not measured; ok: silence (below the -70 LUFS gate) */
    if (ok)
        sqlite3_bind_int(st, 22, s->opt->full_loudness ? 1 : 0);
    else
        sqlite3_bind_null(st, 22);
    sqlite3_bind_int64(st, 23, now);
    if (it->w->kind == WORK_NEW && it->w->new_id > 0) /* NULL: the next free id */
        sqlite3_bind_int64(st, 24, it->w->new_id);
    else
        sqlite3_bind_null(st, 24);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    if (step_done(st) != 0)
        return -1;
    if (ok && it->vectors && put_vectors(s, it, c) != 0)
        return -1;
    if (ok) {
        sqlite3_stmt *d = s->st_set_descriptors;
        sqlite3_bind_int64(d, 1, id);
        sqlite3_bind_int(d, 2, MM_DESCRIPTOR_VERSION);
        sqlite3_bind_int(d, 3, scan_clips(s->opt));
        sqlite3_bind_blob(d, 4, it->descriptors, (int)(sizeof(float) * MM_DESCRIPTOR_DIM), SQLITE_STATIC);
        if (step_done(d) != 0)
            return -1;
        if (!it->halves)
            goto drop_features; /* a scan without spectrograms: an older record no longer matches the file */
        sqlite3_stmt *q = s->st_old_slot;
        sqlite3_bind_int64(q, 1, id);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) != it->slot &&
            remember_released(s, sqlite3_column_int64(q, 0)) != 0) {
            sqlite3_reset(q);
            return -1;
        }
        sqlite3_reset(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return -1;
        q = s->st_set_features;
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, it->slot);
        sqlite3_bind_int64(q, 3, (int64_t)it->checksum);
        return step_done(q);
    }
drop_features:;
    sqlite3_stmt *q = s->st_drop_features;
    sqlite3_bind_int64(q, 1, id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (remember_released(s, sqlite3_column_int64(q, 0)) != 0)
            break;
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

void cat_scan_free_item(scan_item *it)
{
    if (it) {
        free(it->halves);
        free(it->descriptors);
        free(it->vectors);
        free(it);
    }
}

static void count_committed(scan *s, const scan_item *it)
{
    if (it->w->kind == WORK_EMBED) { /* counted as unchanged by the walk; only a failure changes that */
        if (it->kind == ITEM_FAILED) {
            s->res->unchanged--;
            s->res->failed++;
        }
        return;
    }
    switch (it->kind) {
    case ITEM_OK:
        if (it->w->kind == WORK_NEW)
            s->res->added++;
        else
            s->res->changed++;
        break;
    case ITEM_MOVED: s->res->moved++; break;
    case ITEM_FAILED: s->res->failed++; break;
    case ITEM_SKIPPED: break;
    }
}

/* Writes one batch: feature records first (then fdatasync), then the rows in one transaction. */
static void flush(scan *s, scan_item **batch, size_t n)
{
    mm_error err;
    mm_catalog *cat = s->cat;
    if (s->fatal != MM_OK)
        goto done;
    int wrote = 0;
    for (size_t i = 0; i < n; i++) {
        scan_item *it = batch[i];
        if (it->kind != ITEM_OK || !it->halves)
            continue;
        it->slot = alloc_slot(s);
        if (it->slot < 0) {
            set_fatal(s, MM_ERR_NOMEM, NULL);
            goto done;
        }
        it->checksum = mm_hash64(it->halves, MM_FEATURE_RECORD_BYTES, 0);
        mm_status st = cat_features_write(cat, it->slot, it->halves, &err);
        if (st != MM_OK) {
            set_fatal(s, st, &err);
            goto done;
        }
        wrote = 1;
    }
    mm_status st = wrote ? cat_features_sync(cat, &err) : MM_OK;
    if (st == MM_OK)
        st = cat_exec(cat, "BEGIN IMMEDIATE", &err);
    if (st != MM_OK) {
        set_fatal(s, st, &err);
        goto done;
    }
    s->n_released = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->kind != ITEM_SKIPPED && apply_item(s, batch[i], now) != 0) {
            st = cat_sql_error(cat, &err, "storing a track");
            cat_exec(cat, "ROLLBACK", NULL);
            set_fatal(s, st, &err);
            goto done;
        }
    }
    if ((st = cat_exec(cat, "COMMIT", &err)) != MM_OK) {
        cat_exec(cat, "ROLLBACK", NULL);
        set_fatal(s, st, &err);
        goto done;
    }
    /* committed: the slots the batch stopped using may now be overwritten */
    for (size_t i = 0; i < s->n_released; i++) {
        int64_t slot = s->released[i];
        if (slot >= 0 && slot < s->slot_cap) {
            s->slot_used[slot] = 0;
            if (slot < s->slot_cursor)
                s->slot_cursor = slot;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->kind != ITEM_SKIPPED)
            s->progress.committed++;
        count_committed(s, batch[i]);
    }
    report_progress(s);
done:
    for (size_t i = 0; i < n; i++)
        cat_scan_free_item(batch[i]);
}

static void *writer_main(void *arg)
{
    scan *s = arg;
    size_t cap = (size_t)(s->opt->batch_size > 0 ? s->opt->batch_size : 64);
    double max_wait = s->opt->batch_seconds > 0 ? s->opt->batch_seconds : 1.0;
    scan_item **batch = calloc(cap, sizeof *batch);
    if (!batch)
        set_fatal(s, MM_ERR_NOMEM, NULL);
    size_t n = 0;
    double deadline = 0;
    for (;;) {
        void *p = NULL;
        double wait = n ? deadline - mm_now() : -1.0;
        int r = mm_queue_pop(s->queue, &p, n && wait < 0 ? 0 : wait);
        if (r == 1) {
            scan_item *it = p;
            if (!batch) {
                cat_scan_free_item(it);
                continue;
            }
            if (it->kind != ITEM_SKIPPED) {
                s->progress.done++;
                if (it->kind == ITEM_FAILED) {
                    s->progress.failed++;
                    report_failure(s, s->cands[it->w->cand].path, it->error);
                }
                report_progress(s);
            }
            if (n == 0)
                deadline = mm_now() + max_wait;
            batch[n++] = it;
        }
        if (n && (n == cap || r != 1 || mm_now() >= deadline)) {
            flush(s, batch, n);
            n = 0;
        }
        if (r < 0)
            break;
    }
    free(batch);
    /* the catalog's own share of a scan's cost (the cluster scan reports it) */
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        s->writer_cpu = (double)cpu.tv_sec + 1e-9 * (double)cpu.tv_nsec;
    return NULL;
}

/* ---------------------------------------------------------------- the end: missing, returned, prune */

static mm_status finish(scan *s, mm_error *err)
{
    mm_catalog *cat = s->cat;
    int any = 0;
    for (size_t i = 0; i < s->n_entries && !any; i++) {
        const db_entry *e = &s->entries[i];
        any = e->returned || (e->vanished && !e->claimed) ||
              (s->opt->prune && !atomic_load(&s->stop) && e->under_root && !e->claimed && (e->vanished || e->status == MM_TRACK_MISSING));
    }
    if (!any)
        return MM_OK;
    sqlite3_stmt *st_back = NULL, *st_missing = NULL, *st_prune = NULL;
    mm_status st = cat_exec(cat, "BEGIN IMMEDIATE", err);
    if (st != MM_OK)
        return st;
    if (sqlite3_prepare_v2(cat->db, "UPDATE tracks SET status = 'ok', ctime_ns = ?2 WHERE id = ?1", -1, &st_back, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cat->db, "UPDATE tracks SET status = 'missing' WHERE id = ?1 AND status <> 'missing'", -1,
                           &st_missing, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cat->db, "DELETE FROM tracks WHERE id = ?1 AND status = 'missing'", -1, &st_prune, NULL) != SQLITE_OK)
        goto fail;
    int64_t returned = 0, missing = 0, pruned = 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        db_entry *e = &s->entries[i];
        if (e->returned) {
            sqlite3_bind_int64(st_back, 1, e->id);
            sqlite3_bind_int64(st_back, 2, e->ctime_ns);
            if (step_done(st_back) != 0)
                goto fail;
            returned++;
        } else if (e->vanished && !e->claimed) {
            sqlite3_bind_int64(st_missing, 1, e->id);
            if (step_done(st_missing) != 0)
                goto fail;
            missing += sqlite3_changes(cat->db);
        }
    }
    if (s->opt->prune && !atomic_load(&s->stop)) {
        for (size_t i = 0; i < s->n_entries; i++) {
            db_entry *e = &s->entries[i];
            if (e->under_root && !e->claimed && !e->returned && (e->vanished || (e->status == MM_TRACK_MISSING && !e->seen))) {
                sqlite3_bind_int64(st_prune, 1, e->id);
                if (step_done(st_prune) != 0)
                    goto fail;
                pruned += sqlite3_changes(cat->db);
            }
        }
    }
    sqlite3_finalize(st_back);
    sqlite3_finalize(st_missing);
    sqlite3_finalize(st_prune);
    st_back = st_missing = st_prune = NULL;
    if ((st = cat_exec(cat, "COMMIT", err)) != MM_OK) {
        cat_exec(cat, "ROLLBACK", NULL);
        return st;
    }
    s->res->moved += returned;
    s->res->missing += missing;
    s->res->pruned += pruned;
    return MM_OK;
fail:
    st = cat_sql_error(cat, err, "marking missing tracks");
    sqlite3_finalize(st_back);
    sqlite3_finalize(st_missing);
    sqlite3_finalize(st_prune);
    cat_exec(cat, "ROLLBACK", NULL);
    return st;
}

/* ---------------------------------------------------------------- the scan */

static void scan_free(scan *s)
{
    for (size_t i = 0; i < s->n_entries; i++)
        free(s->entries[i].path);
    free(s->entries);
    free(s->by_path.slots);
    free(s->by_hash);
    for (size_t i = 0; i < s->n_cands; i++)
        free(s->cands[i].path);
    free(s->cands);
    free(s->dirs.keys);
    for (size_t i = 0; i < s->n_roots; i++)
        free(s->roots[i]);
    free(s->roots);
    for (size_t i = 0; i < s->n_bad_dirs; i++)
        free(s->bad_dirs[i]);
    free(s->bad_dirs);
    free(s->work);
    free(s->slot_used);
    free(s->released);
    finalize_all(s);
    pthread_mutex_destroy(&s->move_lock);
}

mm_status cat_scan_frontends_open(scan *s, int workers, mm_error *err)
{
    mm_status st = MM_OK;
    s->mels = calloc((size_t)workers, sizeof *s->mels);
    s->descs = calloc((size_t)workers, sizeof *s->descs);
    s->clips = calloc((size_t)workers, sizeof *s->clips);
    s->logmels = calloc((size_t)workers, sizeof *s->logmels);
    s->powers = calloc((size_t)workers, sizeof *s->powers);
    if (!s->mels || !s->descs || !s->clips || !s->logmels || !s->powers)
        st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    /* one front-end per worker, made before the workers start: a failure stops the scan before any file */
    for (int w = 0; st == MM_OK && w < workers; w++) {
        s->clips[w] = malloc(sizeof(float) * MM_CLIP_SAMPLES);
        s->logmels[w] = malloc(sizeof(float) * MM_FEATURE_VALUES);
        s->powers[w] = malloc(sizeof(float) * MM_N_BINS * MM_N_FRAMES);
        if (!s->clips[w] || !s->logmels[w] || !s->powers[w])
            st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
        else if ((st = mm_mel_open(&s->mels[w], MM_PAD_REFLECT, err)) == MM_OK)
            st = mm_descriptors_open(&s->descs[w], err);
    }
    const mm_scan_embedder *emb = s->opt->embedder;
    if (st == MM_OK && emb && (emb->outputs < 1 || emb->dim < 1 || emb->outputs + emb->dim > 65536 || !emb->run))
        st = mm_error_set(err, MM_ERR_ARG, "scan: the embedder's vector sizes or its run function are wrong");
    if (st == MM_OK && emb && (!emb->open || (st = emb->open(workers, err, emb->user)) == MM_OK))
        s->embedder_open = 1;
    return st;
}

void cat_scan_frontends_close(scan *s, int workers)
{
    if (s->embedder_open && s->opt->embedder->close)
        s->opt->embedder->close(s->opt->embedder->user);
    s->embedder_open = 0;
    for (int w = 0; w < workers; w++) {
        if (s->mels)
            mm_mel_close(s->mels[w]);
        if (s->clips)
            free(s->clips[w]);
        if (s->logmels)
            free(s->logmels[w]);
        if (s->descs)
            mm_descriptors_close(s->descs[w]);
        if (s->powers)
            free(s->powers[w]);
    }
    free(s->mels);
    free(s->descs);
    free(s->clips);
    free(s->logmels);
    free(s->powers);
    s->mels = NULL;
    s->descs = NULL;
    s->clips = s->logmels = s->powers = NULL;
}

mm_status cat_scan_writer_start(scan *s, size_t capacity, pthread_t *writer, mm_error *err)
{
    mm_status st = mm_queue_open(&s->queue, capacity, err);
    if (st == MM_OK)
        st = prepare_all(s, err);
    if (st == MM_OK && pthread_create(writer, NULL, writer_main, s) != 0)
        st = mm_error_set(err, MM_ERR_INTERNAL, "scan: cannot start the writer thread");
    if (st != MM_OK) {
        mm_queue_free(s->queue);
        s->queue = NULL;
    }
    return st;
}

void cat_scan_writer_join(scan *s, pthread_t writer)
{
    mm_queue_close(s->queue);
    pthread_join(writer, NULL);
    mm_queue_free(s->queue);
    s->queue = NULL;
}

static mm_status run_workers(scan *s, mm_error *err)
{
    const mm_scan_options *o = s->opt;
    int jobs = o->jobs > 0 ? o->jobs : mm_cpu_count();
    if ((size_t)jobs > s->n_work)
        jobs = (int)s->n_work;
    mm_pool *pool = NULL;
    mm_status st = mm_pool_open(&pool, jobs, err);
    if (st != MM_OK)
        return st;
    int workers = mm_pool_threads(pool);
    st = cat_scan_frontends_open(s, workers, err);
    pthread_t writer;
    if (st == MM_OK)
        st = cat_scan_writer_start(s, (size_t)(2 * workers + 2), &writer, err);
    if (st == MM_OK) {
        s->progress.phase = MM_SCAN_PROCESSING;
        mm_pool_for(pool, s->n_work, process_file, s);
        cat_scan_writer_join(s, writer);
    }
    cat_scan_frontends_close(s, workers);
    mm_pool_close(pool);
    return st;
}

void mm_scan_options_init(mm_scan_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

mm_status cat_scan_begin(scan *s, mm_catalog *cat, const char *const *roots, size_t n_roots,
                         const mm_scan_options *options, mm_scan_result *result, mm_error *err)
{
    memset(s, 0, sizeof *s);
    memset(result, 0, sizeof *result);
    s->cat = cat;
    s->opt = options;
    s->res = result;
    s->t0 = mm_now();
    atomic_init(&s->stop, 0);
    pthread_mutex_init(&s->move_lock, NULL);
    if (!cat || (!roots && n_roots))
        return mm_error_set(err, MM_ERR_ARG, "scan: no catalog");
    if (cat->features_fd < 0 || !cat->features_writable)
        return mm_error_set(err, MM_ERR_IO, "%s: the feature file is not writable", cat->features_path);
    /* one scan per catalog at a time; the kernel drops the lock when a scan is killed */
    if (flock(cat->features_fd, LOCK_EX | LOCK_NB) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: another scan is running on this catalog", cat->path);
    s->locked = 1;

    mm_status st = MM_OK;
    char *path = malloc(PATH_MAX + 1);
    s->roots = calloc(n_roots ? n_roots : 1, sizeof *s->roots);
    if (!path || !s->roots) {
        free(path);
        return mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
    }
    if ((st = load_catalog(s, err)) != MM_OK) {
        free(path);
        return st;
    }

    s->progress.phase = MM_SCAN_WALKING;
    report_progress(s);
    for (size_t r = 0; r < n_roots && s->fatal == MM_OK && !atomic_load(&s->stop); r++) {
        if (!realpath(roots[r], path)) {
            /* not there (an unplugged drive?): say so, and mark nothing under it missing */
            folder_error(s, roots[r], errno);
            continue;
        }
        if (!(s->roots[s->n_roots] = strdup(path))) {
            set_fatal(s, MM_ERR_NOMEM, NULL);
            break;
        }
        s->n_roots++;
        walk_entry(s, path, strlen(path), DT_UNKNOWN, 0, 1);
    }
    free(path);
    if (s->fatal == MM_OK && atomic_load(&s->stop)) {
        /* stopped during the walk: what was found is incomplete, so nothing may be marked missing */
        s->n_roots = 0;
    }
    if (s->fatal == MM_OK)
        drop_link_duplicates(s);
    if (s->fatal == MM_OK && (st = classify(s, err)) != MM_OK)
        return st;
    if (s->fatal != MM_OK) {
        if (err)
            *err = s->fatal_err;
        return s->fatal;
    }
    if (options->after_walk)
        options->after_walk(options->user);
    s->progress.total = (int64_t)s->n_work;
    return MM_OK;
}

mm_status cat_scan_end(scan *s, mm_status st, mm_error *err)
{
    if (st == MM_OK && s->fatal != MM_OK) {
        st = s->fatal;
        if (err)
            *err = s->fatal_err;
    }
    if (st == MM_OK) {
        s->progress.phase = MM_SCAN_FINISHING;
        if ((st = finish(s, err)) == MM_OK)
            report_progress(s);
    }
    s->res->stopped = atomic_load(&s->stop) && s->fatal == MM_OK;
    s->res->seconds = mm_now() - s->t0;
    scan_free(s);
    if (s->locked)
        flock(s->cat->features_fd, LOCK_UN);
    return st;
}

mm_status mm_catalog_scan(mm_catalog *cat, const char *const *roots, size_t n_roots, const mm_scan_options *options,
                          mm_scan_result *result, mm_error *err)
{
    mm_scan_result dummy;
    mm_scan_options given;
    mm_scan_options_init(&given);
    util_options_copy(&given, sizeof given, options, UTIL_OPTIONS_END(mm_scan_options, user));
    scan s;
    /* records a truncated feature file lost (a crash, a full disk, a copy) are forgotten first, so this
     * scan reads those songs again */
    size_t checked = 0, damaged = 0;
    if (cat->features_fd >= 0 && cat->features_writable &&
        mm_catalog_verify_features(cat, 0, &checked, &damaged, err) != MM_OK)
        return err ? err->code : MM_ERR_IO;
    mm_status st = cat_scan_begin(&s, cat, roots, n_roots, &given, result ? result : &dummy, err);
    if (st == MM_OK && s.n_work > 0 && !atomic_load(&s.stop))
        st = run_workers(&s, err);
    return cat_scan_end(&s, st, err);
}
