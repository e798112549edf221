/* A playlist as an M3U file: a path a line, with #EXTM3U / #EXTINF when extended (what VLC, MPD and
 * most players read). Paths are relative to the playlist's own folder when asked, so a playlist saved
 * beside the music still works when the whole tree moves. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../util/shared.h"
#include "playlist.h"

void mm_m3u_options_init(mm_m3u_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->extended = 1;
}

/* Tag text on one line: a line break inside a title would start a new entry. */
static void write_line_text(const char *s, mm_json_writer write, void *ctx)
{
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "\r\n");
        if (n)
            write(p, n, ctx);
        p += n;
        if (*p) {
            write(" ", 1, ctx);
            p++;
        }
    }
}

/* path relative to dir (both absolute): the shared leading folders dropped, a "../" for each of dir's
 * folders left. A relative path (stored so by an old scan) is written as it is. */
static void write_relative(const char *path, const char *dir, mm_json_writer write, void *ctx)
{
    if (path[0] != '/' || dir[0] != '/') {
        write(path, strlen(path), ctx);
        return;
    }
    size_t common = 0; /* length of the shared prefix, ending at a '/' boundary */
    for (size_t i = 0;; i++) {
        char a = path[i], b = dir[i];
        if ((b == '\0' || (b == '/' && dir[i + 1] == '\0')) && a == '/') {
            common = i;
            break;
        }
        if (a != b || a == '\0')
            break;
        if (a == '/')
            common = i;
    }
    for (const char *p = dir + common; *p; p++)
        if (*p == '/' && p[1] != '\0')
            write("../", 3, ctx);
    const char *rest = path + common + 1;
    write(rest, strlen(rest), ctx);
}

void mm_playlist_write_m3u(const mm_playlist_engine *e, const mm_playlist *pl, const mm_m3u_options *opt,
                           mm_json_writer write, void *ctx)
{
    mm_m3u_options o;
    mm_m3u_options_init(&o);
    util_options_copy(&o, sizeof o, opt, UTIL_OPTIONS_END(mm_m3u_options, relative_to)); /* size 0: the first layout */
    if (o.extended)
        write("#EXTM3U\n", 8, ctx);
    for (size_t i = 0; i < pl->n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(e, pl->songs[i].id);
        if (!s || !s->path[0])
            continue;
        if (o.extended) {
            char head[48];
            /* -1: the length is unknown, as the format has it */
            int n = snprintf(head, sizeof head, "#EXTINF:%ld,", isfinite(s->duration) ? lround(s->duration) : -1L);
            write(head, (size_t)n, ctx);
            if (s->artist[0]) {
                write_line_text(s->artist, write, ctx);
                write(" - ", 3, ctx);
            }
            if (s->title[0])
                write_line_text(s->title, write, ctx);
            else { /* the file's name without its folder and extension */
                const char *base = strrchr(s->path, '/');
                base = base ? base + 1 : s->path;
                const char *dot = strrchr(base, '.');
                write(base, dot && dot > base ? (size_t)(dot - base) : strlen(base), ctx);
            }
            write("\n", 1, ctx);
        }
        if (o.url_prefix) {
            char id[24];
            int n = snprintf(id, sizeof id, "%lld", (long long)pl->songs[i].id);
            write(o.url_prefix, strlen(o.url_prefix), ctx);
            write(id, (size_t)n, ctx);
            if (o.url_suffix)
                write(o.url_suffix, strlen(o.url_suffix), ctx);
        } else if (o.relative_to)
            write_relative(s->path, o.relative_to, write, ctx);
        else
            write(s->path, strlen(s->path), ctx);
        write("\n", 1, ctx);
    }
}
