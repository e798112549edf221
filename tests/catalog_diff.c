/* catalog_diff [--ids] A.db B.db: whether two catalogs hold the same scan, track by track (matched by
 * path): every tracks column but id and scanned_at (which say when, not what), the descriptors, and the
 * feature record's bytes; with --ids the track ids as well (two uninterrupted scans of the same files
 * number them alike, in walk order). Prints the first differences and a summary; exit 0 when
 * equal, 1 when not, 2 on errors. The MPI tests compare a cluster scan with a single-process one.
 *
 * catalog_diff --vectors MODEL TOL A.db B.db: whether both hold vectors under the model named MODEL for
 * the same tracks (by path, at least one), each float within TOL of the other's (the network gives
 * slightly different roundings in batches of another size). */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "musicmap/catalog.h"

typedef struct side {
    sqlite3 *db;
    mm_catalog *cat;
    sqlite3_stmt *rows;
} side;

static int open_side(side *s, const char *path)
{
    mm_error err;
    if (mm_catalog_open(&s->cat, path, 0, &err) != MM_OK) {
        fprintf(stderr, "catalog_diff: %s\n", err.msg);
        return -1;
    }
    sqlite3_stmt *check = NULL;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &check, NULL) != SQLITE_OK ||
        sqlite3_step(check) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(check, 0), "ok") != 0) {
        fprintf(stderr, "catalog_diff: %s: fails SQLite's integrity check\n", path);
        sqlite3_finalize(check);
        return -1;
    }
    sqlite3_finalize(check);
    /* every column of tracks (but id, scanned_at) and of descriptors (but track_id), in path order */
    const char *sql = "SELECT t.*, d.*, t.id FROM tracks t LEFT JOIN descriptors d ON d.track_id = t.id ORDER BY t.path";
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->rows, NULL) != SQLITE_OK) {
        fprintf(stderr, "catalog_diff: %s: %s\n", path, sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

static int ignored(const char *name, int compare_ids)
{
    return (!compare_ids && !strcmp(name, "id")) || !strcmp(name, "scanned_at") || !strcmp(name, "track_id");
}

static int same_value(sqlite3_stmt *a, sqlite3_stmt *b, int col)
{
    int ta = sqlite3_column_type(a, col), tb = sqlite3_column_type(b, col);
    if (ta != tb)
        return 0;
    if (ta == SQLITE_NULL)
        return 1;
    if (ta == SQLITE_INTEGER)
        return sqlite3_column_int64(a, col) == sqlite3_column_int64(b, col);
    if (ta == SQLITE_FLOAT) { /* bit for bit */
        double x = sqlite3_column_double(a, col), y = sqlite3_column_double(b, col);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    int na = sqlite3_column_bytes(a, col), nb = sqlite3_column_bytes(b, col);
    return na == nb && (na == 0 || memcmp(sqlite3_column_blob(a, col), sqlite3_column_blob(b, col), (size_t)na) == 0);
}

static sqlite3_stmt *vectors_of(sqlite3 **db, const char *path, const char *model)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(*db,
                           "SELECT t.path, v.probs || v.embedding FROM vectors v JOIN tracks t ON t.id = v.track_id"
                           " JOIN models m ON m.id = v.model_id WHERE m.name = ?1 ORDER BY t.path",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "catalog_diff: %s: %s\n", path, sqlite3_errmsg(*db));
        return NULL;
    }
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    return st;
}

static int diff_vectors(const char *model, double tol, const char *pa, const char *pb)
{
    sqlite3 *da = NULL, *db = NULL;
    sqlite3_stmt *a = vectors_of(&da, pa, model), *b = vectors_of(&db, pb, model);
    if (!a || !b)
        return 2;
    long tracks = 0, differences = 0;
    double worst = 0;
    for (;;) {
        int sa = sqlite3_step(a), sb = sqlite3_step(b);
        if (sa != sb) {
            fprintf(stderr, "catalog_diff: %s has vectors for more tracks\n", sa == SQLITE_ROW ? pa : pb);
            differences++;
            break;
        }
        if (sa != SQLITE_ROW)
            break;
        tracks++;
        int la = sqlite3_column_bytes(a, 0), lb = sqlite3_column_bytes(b, 0);
        if (la != lb || memcmp(sqlite3_column_blob(a, 0), sqlite3_column_blob(b, 0), (size_t)la) != 0) {
            fprintf(stderr, "catalog_diff: the tracks with vectors differ at %.*s\n", la,
                    (const char *)sqlite3_column_blob(a, 0));
            differences++;
            break;
        }
        int va = sqlite3_column_bytes(a, 1), vb = sqlite3_column_bytes(b, 1);
        if (va != vb) {
            differences++;
            continue;
        }
        const unsigned char *xa = sqlite3_column_blob(a, 1), *xb = sqlite3_column_blob(b, 1);
        for (int i = 0; i + 4 <= va; i += 4) {
            float x, y;
            memcpy(&x, xa + i, 4);
            memcpy(&y, xb + i, 4);
            double d = fabs((double)x - (double)y);
            if (!(d <= tol)) /* NaN too */
                differences++;
            if (d > worst)
                worst = d;
        }
    }
    printf("catalog_diff: vectors under '%s' for %ld tracks, largest difference %.3g: %s\n", model, tracks, worst,
           differences || tracks == 0 ? "DIFFERENT" : "same");
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    sqlite3_close(da);
    sqlite3_close(db);
    return differences || tracks == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--vectors") == 0)
        return diff_vectors(argv[2], atof(argv[3]), argv[4], argv[5]);
    int compare_ids = argc == 4 && strcmp(argv[1], "--ids") == 0;
    if (compare_ids)
        argv++, argc--;
    if (argc != 3) {
        fprintf(stderr, "usage: catalog_diff [--ids] A.db B.db | catalog_diff --vectors MODEL TOL A.db B.db\n");
        return 2;
    }
    side a = {0}, b = {0};
    if (open_side(&a, argv[1]) != 0 || open_side(&b, argv[2]) != 0)
        return 2;
    int ncol = sqlite3_column_count(a.rows);
    if (ncol != sqlite3_column_count(b.rows)) {
        fprintf(stderr, "catalog_diff: the schemas differ\n");
        return 1;
    }
    uint16_t *ra = malloc(MM_FEATURE_RECORD_BYTES), *rb = malloc(MM_FEATURE_RECORD_BYTES);
    long tracks = 0, records = 0, differences = 0;
    for (;;) {
        int sa = sqlite3_step(a.rows), sb = sqlite3_step(b.rows);
        if (sa != sb) {
            fprintf(stderr, "catalog_diff: %s has more tracks\n", sa == SQLITE_ROW ? argv[1] : argv[2]);
            differences++;
            break;
        }
        if (sa != SQLITE_ROW)
            break;
        tracks++;
        char path[4096]; /* the blob's bytes: reading it as text would convert the value in place */
        int pl = sqlite3_column_bytes(a.rows, 1);
        snprintf(path, sizeof path, "%.*s", pl, (const char *)sqlite3_column_blob(a.rows, 1));
        for (int c = 0; c < ncol - 1; c++) {
            if (ignored(sqlite3_column_name(a.rows, c), compare_ids) || same_value(a.rows, b.rows, c))
                continue;
            if (differences++ < 10)
                fprintf(stderr, "catalog_diff: %s: column %s differs\n", path, sqlite3_column_name(a.rows, c));
        }
        mm_error ea, eb;
        mm_status fa = mm_catalog_read_features_half(a.cat, sqlite3_column_int64(a.rows, ncol - 1), ra, &ea);
        mm_status fb = mm_catalog_read_features_half(b.cat, sqlite3_column_int64(b.rows, ncol - 1), rb, &eb);
        if (fa != fb || (fa == MM_OK && memcmp(ra, rb, MM_FEATURE_RECORD_BYTES) != 0)) {
            if (differences++ < 10)
                fprintf(stderr, "catalog_diff: %s: the feature records differ (%s / %s)\n", path,
                        fa == MM_OK ? "present" : ea.msg, fb == MM_OK ? "present" : eb.msg);
        } else if (fa == MM_OK) {
            records++;
        }
    }
    printf("catalog_diff: %ld tracks, %ld feature records compared: %s (%ld differences)\n", tracks, records,
           differences ? "DIFFERENT" : "same", differences);
    free(ra);
    free(rb);
    sqlite3_finalize(a.rows);
    sqlite3_finalize(b.rows);
    sqlite3_close(a.db);
    sqlite3_close(b.db);
    mm_catalog_close(a.cat);
    mm_catalog_close(b.cat);
    return differences ? 1 : 0;
}
