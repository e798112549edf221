/* Shared between the catalog's source files; not part of the public API. */
#ifndef MM_CATALOG_INTERNAL_H
#define MM_CATALOG_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "musicmap/catalog.h"

struct mm_catalog {
    sqlite3 *db;
    char *path;
    char *features_path;
    int features_fd;           /* -1 until the feature file exists */
    int features_writable;
    int schema_version;
    pthread_mutex_t read_lock; /* read_stmt and the feature reads */
    sqlite3_stmt *read_stmt;
};

/* The columns cat_row_to_track reads, for queries over `tracks t LEFT JOIN features f`. */
#define CAT_TRACK_COLUMNS                                                                                    \
    "t.id, t.path, t.size, t.mtime_ns, t.hash, t.status, t.error, t.duration, t.container, t.codec,"           \
    " t.sample_rate, t.channels, t.bit_rate, t.title, t.artist, t.album, t.genre, t.date, t.track_no, t.year,"  \
    " t.loudness, t.loudness_song, f.slot IS NOT NULL, t.scanned_at"
/* Fills *out from the current row (pointers valid until the next step); non-zero when out of memory. */
int cat_row_to_track(sqlite3_stmt *st, mm_track *out);
/* Steps st, calling fn for each row's track; *found (if not NULL) gets the number of rows seen. */
mm_status cat_each_track_stmt(mm_catalog *cat, sqlite3_stmt *st, mm_track_fn fn, void *user, size_t *found,
                              mm_error *err);

/* SQLite's message for the connection, prefixed by what was being done. */
mm_status cat_sql_error(mm_catalog *cat, mm_error *err, const char *what);
mm_status cat_exec(mm_catalog *cat, const char *sql, mm_error *err);

/* Feature file (features_store.c). */
mm_status cat_features_open(mm_catalog *cat, int create, mm_error *err);
mm_status cat_features_write(mm_catalog *cat, int64_t slot, const uint16_t *halves, mm_error *err);
mm_status cat_features_sync(mm_catalog *cat, mm_error *err);
static inline int64_t cat_features_offset(int64_t slot)
{
    return (int64_t)MM_FEATURE_HEADER_BYTES + slot * (int64_t)MM_FEATURE_RECORD_BYTES;
}

#endif
