/* similar: the ten songs of a catalog most like a given file, using only the installed libmusicmap.
 *
 *   cc similar.c $(pkg-config --cflags --libs musicmap) -o similar
 *   ./similar ~/.local/share/musicmap/library.db song.flac [N]
 *
 * A file the catalog does not know yet (or one that changed) is scanned first, so that it has its
 * audio descriptors; the catalog is made when it does not exist. Songs are compared by their
 * descriptors, in the space `musicmap similar` and the map page use when no model is chosen. */
#include <musicmap/musicmap.h>

#include <stdio.h>
#include <stdlib.h>

static int remember_id(const mm_track *track, void *user)
{
    *(int64_t *)user = track->id;
    return 0;
}

static int print_song(const mm_track *t, void *user)
{
    const double *distance = user;
    printf("%8.4f  %s — %s  (%s)\n", *distance, t->artist[0] ? t->artist : "?", t->title[0] ? t->title : "?", t->path);
    return 0;
}

static void warn(const char *path, const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "similar: %s: %s\n", path, message);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: similar CATALOG FILE [N]\n");
        return 2;
    }
    int n = argc == 4 ? atoi(argv[3]) : 10;
    if (n < 1 || n > 1000) {
        fprintf(stderr, "similar: N is 1..1000\n");
        return 2;
    }
    mm_catalog *cat;
    mm_error err;
    if (mm_catalog_open(&cat, argv[1], MM_CATALOG_CREATE, &err) != MM_OK) {
        fprintf(stderr, "similar: %s\n", err.msg);
        return 1;
    }
    int rc = 1;
    mm_song_vectors v = {0};
    /* incremental: a file the catalog holds unchanged is not read again */
    mm_scan_options scan;
    mm_scan_options_init(&scan);
    scan.failure = warn;
    mm_scan_result scanned;
    const char *roots[1] = {argv[2]};
    if (mm_catalog_scan(cat, roots, 1, &scan, &scanned, &err) != MM_OK)
        goto fail;
    if (scanned.added + scanned.changed + scanned.moved > 0)
        fprintf(stderr, "similar: %s was new to the catalog: scanned\n", argv[2]);
    int64_t id = 0;
    if (mm_catalog_get_track_by_path(cat, argv[2], remember_id, &id, &err) != MM_OK)
        goto fail;
    if (mm_song_vectors_load(cat, MM_VECTORS_DESCRIPTORS, NULL, 0, &v, &err) != MM_OK)
        goto fail;
    long row = mm_song_vectors_find(&v, id);
    if (row < 0) {
        fprintf(stderr, "similar: %s has no descriptors (it could not be read: `musicmap status --errors`)\n",
                argv[2]);
        goto done;
    }
    mm_similar_song *near = malloc(sizeof *near * (size_t)n);
    if (!near) {
        fprintf(stderr, "similar: out of memory\n");
        goto done;
    }
    size_t got = mm_song_vectors_nearest(&v, (size_t)row, n, near);
    for (size_t i = 0; i < got; i++)
        mm_catalog_get_track(cat, near[i].id, print_song, &near[i].distance, NULL);
    if (got == 0)
        fprintf(stderr, "similar: the catalog holds no other songs with descriptors\n");
    free(near);
    rc = got > 0 ? 0 : 1;
    goto done;
fail:
    fprintf(stderr, "similar: %s\n", err.msg);
done:
    mm_song_vectors_free(&v);
    mm_catalog_close(cat);
    return rc;
}
