/* Opening the catalog for a subcommand: --db PATH or the default location. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/catalog.h"

int cli_open_catalog(const cli_context *cli, const char *command, const char *db, int create, mm_catalog **out)
{
    char path[4096];
    mm_error err;
    if (!db) {
        if (mm_catalog_default_path(path, sizeof path, &err) != MM_OK) {
            fprintf(stderr, "musicmap %s: %s\n", command, err.msg);
            return -1;
        }
        db = path;
    } else if (db[0] != '/' && getcwd(path, sizeof path)) {
        /* absolute, so that status shows (and JSON reports) where the catalog really is */
        size_t n = strlen(path);
        if (n + 1 + strlen(db) < sizeof path) {
            path[n] = '/';
            strcpy(path + n + 1, db);
            db = path;
        }
    }
    if (mm_catalog_open(out, db, create ? MM_CATALOG_CREATE : 0, &err) != MM_OK) {
        fprintf(stderr, "musicmap %s: %s\n", command, err.msg);
        return -1;
    }
    (void)cli;
    return 0;
}
