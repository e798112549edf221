/* Label files: a CSV of path,label and FMA's tracks.csv. The first byte picks the reader; the rest is
 * the file. Any bytes are refused with an error or give labels (the catalog is an empty one: the
 * readers run before any track is matched). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "musicmap/pipeline.h"

static mm_catalog *catalog(void)
{
    static mm_catalog *cat;
    if (!cat) {
        char dir[] = "/tmp/mm-fuzz-labels-XXXXXX", path[64];
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/c.db", dir);
        mm_error err;
        if (mm_catalog_open(&cat, path, MM_CATALOG_CREATE, &err) != MM_OK)
            abort();
    }
    return cat;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = fuzz_as_file(data + 1, size - 1);
    if (!path)
        return 0;
    mm_label_list list;
    mm_error err;
    if (mm_labels_collect(catalog(), data[0] & 1 ? MM_LABELS_FMA : MM_LABELS_CSV, path, &list, &err) == MM_OK) {
        if (list.n != 0)
            fuzz_fail("labels: an empty catalog has no labelled tracks");
        mm_label_list_free(&list);
    }
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    static const char csv[] = "\0path,label\nmusic/a.mp3,Rock\n\"music/b, live.flac\",\"Jazz; Fusion\"\n/abs/c.ogg,folk\n";
    static const char fma[] = "\1,album,album,track\n,comments,date_created,genre_top\ntrack_id,,,\n"
                              "2,0,2008-11-26,Hip-Hop\n3,0,2008-11-26,\n5,\"a, b\",2008,Pop\n";
    if (fuzz_write_seed(dir, "csv", csv, sizeof csv - 1) || fuzz_write_seed(dir, "fma", fma, sizeof fma - 1))
        return -1;
    return 2;
}
