/* The page's files, compiled into the program at build time (web/CMakeLists.txt generates the table),
 * so that musicmap is one file and serves its page with nothing on disk. */
#include <string.h>

#include "internal.h"

/* Generated: web_assets.c in the build folder. */
extern const srv_asset web_assets[];
extern const size_t web_asset_count;
extern const int web_ui_built;

const srv_asset *srv_asset_find(const char *path)
{
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (size_t i = 0; i < web_asset_count; i++)
        if (strcmp(web_assets[i].path, path) == 0)
            return &web_assets[i];
    return NULL;
}

const srv_asset *srv_asset_at(size_t i) { return i < web_asset_count ? &web_assets[i] : NULL; }

int mm_server_has_web_ui(void) { return web_ui_built; }
