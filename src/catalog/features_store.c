/* The feature file: a 4 KiB header, then fixed-size records of 96 x 1366 half floats. The database's
 * features table maps a track to its record (slot) and the record's checksum. A record is written and
 * fdatasync'd before the transaction that points a track at it commits, and a slot is reused only
 * after the transaction that stopped pointing at it committed, so no committed row ever points at a
 * record that is half written or belongs to another track. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'M', 'M', 'F', 'E', 'A', 'T', 0, 1};

typedef struct feature_header {
    char magic[8];
    uint32_t version;      /* 1 */
    uint32_t header_bytes; /* MM_FEATURE_HEADER_BYTES */
    uint32_t record_bytes; /* MM_FEATURE_RECORD_BYTES */
    uint32_t n_mels, n_frames;
    uint32_t dtype;        /* 1: IEEE binary16, little-endian */
} feature_header;

static void make_header(feature_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, MAGIC, sizeof MAGIC);
    h->version = 1;
    h->header_bytes = MM_FEATURE_HEADER_BYTES;
    h->record_bytes = MM_FEATURE_RECORD_BYTES;
    h->n_mels = MM_N_MELS;
    h->n_frames = MM_N_FRAMES;
    h->dtype = 1;
}

static mm_status write_all(int fd, const void *data, size_t n, int64_t offset, const char *path, mm_error *err)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)offset);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mm_error_set(err, MM_ERR_IO, "%s: write failed: %s", path, w < 0 ? strerror(errno) : "no space");
        p += w;
        n -= (size_t)w;
        offset += w;
    }
    return MM_OK;
}

static mm_status read_all(int fd, void *data, size_t n, int64_t offset, const char *path, mm_error *err)
{
    unsigned char *p = data;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mm_error_set(err, MM_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return mm_error_set(err, MM_ERR_FORMAT, "%s: record beyond the end of the file (damaged feature file)", path);
        p += r;
        n -= (size_t)r;
        offset += r;
    }
    return MM_OK;
}

mm_status cat_features_open(mm_catalog *cat, int create, mm_error *err)
{
    const char *path = cat->features_path;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cat->features_writable = 1;
    if (fd < 0 && errno == ENOENT && create)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && (errno == EACCES || errno == EROFS)) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        cat->features_writable = 0;
    }
    if (fd < 0) {
        if (errno == ENOENT)
            return MM_OK; /* no features yet; reads will say so */
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    cat->features_fd = fd;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    feature_header want, got;
    make_header(&want);
    if (sb.st_size == 0) {
        if (!cat->features_writable)
            return MM_OK;
        /* new (or created by a process killed before it wrote the header) */
        unsigned char block[MM_FEATURE_HEADER_BYTES];
        memset(block, 0, sizeof block);
        memcpy(block, &want, sizeof want);
        mm_status s = write_all(fd, block, sizeof block, 0, path, err);
        if (s == MM_OK && fdatasync(fd) != 0)
            s = mm_error_set(err, MM_ERR_IO, "%s: sync failed: %s", path, strerror(errno));
        return s;
    }
    if (sb.st_size < (off_t)sizeof got ||
        read_all(fd, &got, sizeof got, 0, path, NULL) != MM_OK || memcmp(&got, &want, sizeof got) != 0)
        return mm_error_set(err, MM_ERR_FORMAT,
                            "%s: not a musicmap feature file of this version (96x1366 float16 records)", path);
    return MM_OK;
}

mm_status cat_features_write(mm_catalog *cat, int64_t slot, const uint16_t *halves, mm_error *err)
{
    if (cat->features_fd < 0 || !cat->features_writable)
        return mm_error_set(err, MM_ERR_IO, "%s: the feature file is not writable", cat->features_path);
    return write_all(cat->features_fd, halves, MM_FEATURE_RECORD_BYTES, cat_features_offset(slot), cat->features_path,
                     err);
}

mm_status cat_features_sync(mm_catalog *cat, mm_error *err)
{
    if (cat->features_fd >= 0 && fdatasync(cat->features_fd) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: sync failed: %s", cat->features_path, strerror(errno));
    return MM_OK;
}

mm_status mm_catalog_read_features_half(mm_catalog *cat, int64_t track_id, uint16_t *out, mm_error *err)
{
    pthread_mutex_lock(&cat->read_lock);
    mm_status s = MM_OK;
    if (!cat->read_stmt &&
        sqlite3_prepare_v2(cat->db, "SELECT slot, checksum FROM features WHERE track_id = ?", -1, &cat->read_stmt,
                           NULL) != SQLITE_OK) {
        s = cat_sql_error(cat, err, "reading features");
        goto done;
    }
    sqlite3_reset(cat->read_stmt);
    sqlite3_bind_int64(cat->read_stmt, 1, track_id);
    int rc = sqlite3_step(cat->read_stmt);
    if (rc == SQLITE_DONE) {
        s = mm_error_set(err, MM_ERR_NOT_FOUND, "%s: track %lld has no features", cat->path, (long long)track_id);
        goto done;
    }
    if (rc != SQLITE_ROW) {
        s = cat_sql_error(cat, err, "reading features");
        goto done;
    }
    int64_t slot = sqlite3_column_int64(cat->read_stmt, 0);
    uint64_t checksum = (uint64_t)sqlite3_column_int64(cat->read_stmt, 1);
    sqlite3_reset(cat->read_stmt);
    if (cat->features_fd < 0) {
        s = mm_error_set(err, MM_ERR_IO, "%s: the feature file is missing", cat->features_path);
        goto done;
    }
    s = read_all(cat->features_fd, out, MM_FEATURE_RECORD_BYTES, cat_features_offset(slot), cat->features_path, err);
    if (s == MM_OK && mm_hash64(out, MM_FEATURE_RECORD_BYTES, 0) != checksum)
        s = mm_error_set(err, MM_ERR_FORMAT, "%s: record %lld (track %lld) fails its checksum: damaged feature file",
                         cat->features_path, (long long)slot, (long long)track_id);
done:
    pthread_mutex_unlock(&cat->read_lock);
    return s;
}

mm_status mm_catalog_read_features(mm_catalog *cat, int64_t track_id, float *out, mm_error *err)
{
    uint16_t *halves = malloc(MM_FEATURE_RECORD_BYTES);
    if (!halves)
        return mm_error_set(err, MM_ERR_NOMEM, "reading features: out of memory");
    mm_status s = mm_catalog_read_features_half(cat, track_id, halves, err);
    if (s == MM_OK)
        mm_halves_to_floats(halves, out, MM_FEATURE_VALUES);
    free(halves);
    return s;
}

mm_status mm_catalog_feature_ids(mm_catalog *cat, int64_t **ids, size_t *count, mm_error *err)
{
    *ids = NULL;
    *count = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db,
                           "SELECT f.track_id FROM features f JOIN tracks t ON t.id = f.track_id"
                           " WHERE t.status = 'ok' ORDER BY f.slot",
                           -1, &st, NULL) != SQLITE_OK)
        return cat_sql_error(cat, err, "listing features");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *grown = realloc(*ids, cap * sizeof **ids);
            if (!grown) {
                sqlite3_finalize(st);
                free(*ids);
                *ids = NULL;
                *count = 0;
                return mm_error_set(err, MM_ERR_NOMEM, "listing features: out of memory");
            }
            *ids = grown;
        }
        (*ids)[(*count)++] = sqlite3_column_int64(st, 0);
    }
    mm_status s = rc == SQLITE_DONE ? MM_OK : cat_sql_error(cat, err, "listing features");
    sqlite3_finalize(st);
    return s;
}

/* --- damaged records: found, forgotten, read again by the next scan --------------------------------- */

/* Forgets the features of the tracks in `ids` (the records are damaged) and marks each track changed
 * (an mtime no file has), so the next scan reads its file again. One transaction. */
static mm_status forget_records(mm_catalog *cat, const int64_t *ids, size_t n, mm_error *err)
{
    if (n == 0)
        return MM_OK;
    mm_status s = cat_exec(cat, "BEGIN IMMEDIATE", err);
    sqlite3_stmt *del = NULL, *mark = NULL;
    if (s == MM_OK && (sqlite3_prepare_v2(cat->db, "DELETE FROM features WHERE track_id = ?1", -1, &del, NULL) != SQLITE_OK ||
                       sqlite3_prepare_v2(cat->db, "UPDATE tracks SET mtime_ns = -1 WHERE id = ?1", -1, &mark, NULL) !=
                           SQLITE_OK))
        s = cat_sql_error(cat, err, "forgetting damaged records");
    for (size_t i = 0; s == MM_OK && i < n; i++) {
        sqlite3_bind_int64(del, 1, ids[i]);
        sqlite3_bind_int64(mark, 1, ids[i]);
        if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(mark) != SQLITE_DONE)
            s = cat_sql_error(cat, err, "forgetting damaged records");
        sqlite3_reset(del);
        sqlite3_reset(mark);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(mark);
    if (s == MM_OK)
        return cat_exec(cat, "COMMIT", err);
    cat_exec(cat, "ROLLBACK", NULL);
    return s;
}

mm_status mm_catalog_verify_features(mm_catalog *cat, int full, size_t *checked, size_t *damaged, mm_error *err)
{
    *checked = *damaged = 0;
    if (!cat->features_writable)
        return mm_error_set(err, MM_ERR_IO, "%s: the feature file is read-only: damaged records can't be repaired",
                            cat->features_path);
    int64_t file_size = 0;
    struct stat sb;
    if (cat->features_fd >= 0) {
        if (fstat(cat->features_fd, &sb) != 0)
            return mm_error_set(err, MM_ERR_IO, "%s: %s", cat->features_path, strerror(errno));
        file_size = (int64_t)sb.st_size;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, "SELECT track_id, slot, checksum FROM features ORDER BY slot", -1, &st, NULL) !=
        SQLITE_OK)
        return cat_sql_error(cat, err, "verifying features");
    int64_t *bad = NULL;
    size_t n_bad = 0, cap = 0;
    uint16_t *record = full ? malloc(MM_FEATURE_RECORD_BYTES) : NULL;
    mm_status s = full && !record ? mm_error_set(err, MM_ERR_NOMEM, "verifying features: out of memory") : MM_OK;
    int rc = SQLITE_DONE;
    while (s == MM_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int64_t id = sqlite3_column_int64(st, 0), slot = sqlite3_column_int64(st, 1);
        const uint64_t sum = (uint64_t)sqlite3_column_int64(st, 2);
        const int64_t end = cat_features_offset(slot) + (int64_t)MM_FEATURE_RECORD_BYTES;
        (*checked)++;
        /* past the end: cut off (a truncated file); else, when asked, the checksum */
        int damaged_record = slot < 0 || end > file_size;
        if (!damaged_record && full) {
            mm_error rerr;
            mm_status r = read_all(cat->features_fd, record, MM_FEATURE_RECORD_BYTES, cat_features_offset(slot),
                                   cat->features_path, &rerr);
            if (r == MM_ERR_IO) { /* the disk failed to read: not the record's fault, keep it */
                s = mm_error_set(err, r, "%s", rerr.msg);
                break;
            }
            damaged_record = r != MM_OK || mm_hash64(record, MM_FEATURE_RECORD_BYTES, 0) != sum;
        }
        if (!damaged_record)
            continue;
        if (n_bad == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(bad, sizeof *bad * cap);
            if (!grown) {
                s = mm_error_set(err, MM_ERR_NOMEM, "verifying features: out of memory");
                break;
            }
            bad = grown;
        }
        bad[n_bad++] = id;
    }
    if (s == MM_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = cat_sql_error(cat, err, "verifying features");
    sqlite3_finalize(st);
    free(record);
    if (s == MM_OK)
        s = forget_records(cat, bad, n_bad, err);
    free(bad);
    *damaged = n_bad;
    return s;
}
