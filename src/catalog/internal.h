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

/* SQLite's message for the connection, prefixed by what was being done. */
mm_status mm_cat_sql_error(mm_catalog *cat, mm_error *err, const char *what);
mm_status mm_cat_exec(mm_catalog *cat, const char *sql, mm_error *err);

/* Feature file (features_store.c). */
mm_status mm_features_open(mm_catalog *cat, int create, mm_error *err);
mm_status mm_features_write(mm_catalog *cat, int64_t slot, const uint16_t *halves, mm_error *err);
mm_status mm_features_sync(mm_catalog *cat, mm_error *err);
static inline int64_t mm_features_offset(int64_t slot)
{
    return (int64_t)MM_FEATURE_HEADER_BYTES + slot * (int64_t)MM_FEATURE_RECORD_BYTES;
}

#endif
