/* musicmap similar | mix | journey | radio: playlists from the catalog (docs/playlists.md). The options
 * and the catalog side are shared with `musicmap mpd` (cmd_mpd.c); the playlists themselves are the
 * pipeline's mm_playlist_make. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/catalog.h"
#include "musicmap/pipeline.h"

#define MAX_LIST 64

static void playlist_help(FILE *out, const char *command, mm_playlist_kind kind, int mpd)
{
    const char *args = kind == MM_PLAYLIST_SIMILAR ? "SONG"
                       : kind == MM_PLAYLIST_MIX   ? "SONG SONG..."
                       : kind == MM_PLAYLIST_JOURNEY ? "FROM TO"
                                                     : "[SEED]";
    fprintf(out, "Usage: musicmap %s [OPTIONS] %s\n\n", command, args);
    switch (kind) {
    case MM_PLAYLIST_SIMILAR: fprintf(out, "The songs that sound most like SONG, nearest first.\n"); break;
    case MM_PLAYLIST_MIX:
        fprintf(out, "One playlist that stays near all the songs given (--rule: how).\n");
        break;
    case MM_PLAYLIST_JOURNEY:
        fprintf(out, "A path from FROM to TO in small steps, each song near the straight way between them.\n");
        break;
    case MM_PLAYLIST_RADIO:
        fprintf(out, "An endless walk from SEED that never repeats a song; --state FILE keeps where it got to,\n"
                     "and without SEED goes on from there.\n");
        break;
    }
    fprintf(out,
            "A SONG is a track id or a catalogued file's path. Songs are compared by the vectors of the newest\n"
            "map (what `run` chose: the descriptors unless a model's map is newer), not by its 2-D places.\n\n"
            "Options:\n"
            "  -n, --length N          songs (default 20; a journey's count includes both ends)\n"
            "      --steps N           the same, for journeys\n"
            "      --rule R            mix: round-robin (default: each song's nearest in turn), centroid or\n"
            "                          nearest-seed\n"
            "      --with-seeds        similar, mix, radio: start the playlist with the songs given\n"
            "      --state FILE        radio: go on from FILE when there is no SEED; write the new state there\n"
            "      --seed N            radio's random choices (default 1): the same seed, the same walk\n"
            "      --artist-gap K      an artist at most once in any K songs in a row (default 3; 0: off)\n"
            "      --album-gap K       the same for albums (default 3)\n"
            "      --min-duration S    only songs of at least S seconds\n"
            "      --max-duration S    only songs of at most S seconds\n"
            "      --genre G           only songs with this genre tag (repeatable)\n"
            "      --exclude-genre G   no songs with this genre tag (repeatable)\n"
            "      --folder DIR        only songs under DIR (repeatable)\n"
            "      --exclude-folder DIR  no songs under DIR (repeatable)\n"
            "      --map NAME          the vectors of this map (default: the newest)\n"
            "      --db PATH           the catalog (default ~/.local/share/musicmap/library.db)\n");
    if (!mpd)
        fprintf(out,
                "      --m3u FILE          write an extended M3U playlist (- for stdout instead of the table)\n"
                "      --m3u8 FILE         the same, named .m3u8 (UTF-8)\n"
                "      --relative          paths in the M3U relative to its folder (default: absolute)\n"
                "      --json              one JSON object: the songs, steps, and radio's state\n");
    else
        fprintf(out,
                "      --host HOST         MPD's host or socket (default $MPD_HOST or localhost)\n"
                "      --port N            MPD's port (default $MPD_PORT or 6600)\n"
                "      --mpd-root DIR      MPD's music directory as the catalog sees it (default: asked\n"
                "                          of MPD, or found by looking the seed up in MPD's database)\n"
                "      --clear             empty MPD's queue first\n"
                "      --play              start playing when the songs are queued\n");
    fprintf(out, "  -q, --quiet             print only errors\n"
                 "  -h, --help              show this help\n");
}

enum {
    O_LENGTH = 'n', O_STEPS = 1000, O_RULE, O_WITH_SEEDS, O_STATE, O_SEED, O_ARTIST_GAP, O_ALBUM_GAP, O_MIN_DUR,
    O_MAX_DUR, O_GENRE, O_NO_GENRE, O_FOLDER, O_NO_FOLDER, O_MAP, O_DB, O_M3U, O_M3U8, O_RELATIVE, O_JSON,
    O_HOST, O_PORT, O_ROOT, O_CLEAR, O_PLAY, O_KEEP, O_ONCE
};

/* A folder as the catalog stores paths: absolute, without links, when it exists. */
static const char *absolute_folder(const char *dir)
{
    char *real = realpath(dir, NULL);
    return real ? real : strdup(dir);
}

static int push(const char **list, size_t *n, const char *value)
{
    if (*n >= MAX_LIST || !value)
        return -1;
    list[(*n)++] = value;
    return 0;
}

void cli_playlist_free(cli_playlist *p)
{
    for (size_t i = 0; i < p->n_folders; i++)
        free((char *)p->folders[i]);
    for (size_t i = 0; i < p->n_exclude_folders; i++)
        free((char *)p->exclude_folders[i]);
    free(p->ids);
    mm_playlist_engine_close(p->engine);
    mm_song_vectors_free(&p->vectors);
    if (p->cat)
        mm_catalog_close(p->cat);
    free(p->state_text);
    memset(p, 0, sizeof *p);
}

int cli_playlist_parse(cli_context *cli, const char *command, mm_playlist_kind kind, int mpd, int argc, char **argv,
                          cli_playlist *p)
{
    static const struct option longopts[] = {
        {"length", required_argument, NULL, O_LENGTH},
        {"steps", required_argument, NULL, O_STEPS},
        {"rule", required_argument, NULL, O_RULE},
        {"with-seeds", no_argument, NULL, O_WITH_SEEDS},
        {"state", required_argument, NULL, O_STATE},
        {"seed", required_argument, NULL, O_SEED},
        {"artist-gap", required_argument, NULL, O_ARTIST_GAP},
        {"album-gap", required_argument, NULL, O_ALBUM_GAP},
        {"min-duration", required_argument, NULL, O_MIN_DUR},
        {"max-duration", required_argument, NULL, O_MAX_DUR},
        {"genre", required_argument, NULL, O_GENRE},
        {"exclude-genre", required_argument, NULL, O_NO_GENRE},
        {"folder", required_argument, NULL, O_FOLDER},
        {"exclude-folder", required_argument, NULL, O_NO_FOLDER},
        {"map", required_argument, NULL, O_MAP},
        {"db", required_argument, NULL, O_DB},
        {"m3u", required_argument, NULL, O_M3U},
        {"m3u8", required_argument, NULL, O_M3U8},
        {"relative", no_argument, NULL, O_RELATIVE},
        {"json", no_argument, NULL, O_JSON},
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"mpd-root", required_argument, NULL, O_ROOT},
        {"clear", no_argument, NULL, O_CLEAR},
        {"play", no_argument, NULL, O_PLAY},
        {"keep", required_argument, NULL, O_KEEP},
        {"once", no_argument, NULL, O_ONCE},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    memset(p, 0, sizeof *p);
    p->command = command;
    mm_playlist_request_init(&p->req);
    p->req.kind = kind;
    p->keep = 5;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "n:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, o))
            continue;
        long v;
        double d;
        /* MPD's options only under `mpd`, the files' only without it */
        int mpd_only = o == O_HOST || o == O_PORT || o == O_ROOT || o == O_CLEAR || o == O_PLAY || o == O_KEEP ||
                       o == O_ONCE;
        int file_only = o == O_M3U || o == O_M3U8 || o == O_RELATIVE || o == O_JSON;
        if ((mpd_only && !mpd) || (file_only && mpd))
            return cli_usage_error(cli, command, "option %s is not one of this command's", argv[optind - 1]);
        switch (o) {
        case O_LENGTH:
        case O_STEPS:
            if (cli_parse_int(optarg, 1, 100000, &v) != 0)
                return cli_usage_error(cli, command, "--length is 1..100000, not '%s'", optarg);
            p->req.length = (int)v;
            break;
        case O_RULE:
            if (mm_mix_rule_parse(optarg, &p->req.mix) != 0)
                return cli_usage_error(cli, command, "--rule is round-robin, centroid or nearest-seed");
            break;
        case O_WITH_SEEDS: p->req.with_seeds = 1; break;
        case O_STATE: p->state_file = optarg; break;
        case O_SEED:
            if (cli_parse_int(optarg, 0, LONG_MAX, &v) != 0)
                return cli_usage_error(cli, command, "--seed is a whole number >= 0");
            p->req.seed = (uint64_t)v;
            break;
        case O_ARTIST_GAP:
        case O_ALBUM_GAP:
            if (cli_parse_int(optarg, 0, 1000, &v) != 0)
                return cli_usage_error(cli, command, "a gap is 0..1000 songs, not '%s'", optarg);
            *(o == O_ARTIST_GAP ? &p->req.artist_gap : &p->req.album_gap) = (int)v;
            break;
        case O_MIN_DUR:
        case O_MAX_DUR:
            if (cli_parse_double(optarg, 0, 1e6, &d) != 0)
                return cli_usage_error(cli, command, "a duration is seconds >= 0, not '%s'", optarg);
            *(o == O_MIN_DUR ? &p->req.min_duration : &p->req.max_duration) = d;
            break;
        case O_GENRE:
            if (push(p->genres, &p->req.n_genres, optarg) != 0)
                return cli_usage_error(cli, command, "at most %d genres", MAX_LIST);
            break;
        case O_NO_GENRE:
            if (push(p->exclude_genres, &p->req.n_exclude_genres, optarg) != 0)
                return cli_usage_error(cli, command, "at most %d genres", MAX_LIST);
            break;
        case O_FOLDER:
            if (push(p->folders, &p->n_folders, absolute_folder(optarg)) != 0)
                return cli_usage_error(cli, command, "at most %d folders", MAX_LIST);
            break;
        case O_NO_FOLDER:
            if (push(p->exclude_folders, &p->n_exclude_folders, absolute_folder(optarg)) != 0)
                return cli_usage_error(cli, command, "at most %d folders", MAX_LIST);
            break;
        case O_MAP: p->map = optarg; break;
        case O_DB: p->db = optarg; break;
        case O_M3U:
        case O_M3U8: p->m3u = optarg; break;
        case O_RELATIVE: p->relative = 1; break;
        case O_JSON: p->json = 1; break;
        case O_HOST: p->host = optarg; break;
        case O_PORT:
            if (cli_parse_int(optarg, 1, 65535, &v) != 0)
                return cli_usage_error(cli, command, "--port is 1..65535");
            p->port = (unsigned)v;
            break;
        case O_ROOT: p->mpd_root = optarg; break;
        case O_CLEAR: p->clear = 1; break;
        case O_PLAY: p->play = 1; break;
        case O_KEEP:
            if (cli_parse_int(optarg, 1, 1000, &v) != 0)
                return cli_usage_error(cli, command, "--keep is 1..1000 songs");
            p->keep = (int)v;
            break;
        case O_ONCE: p->once = 1; break;
        case 'h': playlist_help(stdout, command, kind, mpd); return -1;
        default: return cli_usage_error(cli, command, "bad option");
        }
    }
    p->req.genres = p->genres;
    p->req.exclude_genres = p->exclude_genres;
    p->req.folders = p->folders, p->req.n_folders = p->n_folders;
    p->req.exclude_folders = p->exclude_folders, p->req.n_exclude_folders = p->n_exclude_folders;
    p->songs = (const char *const *)argv + optind;
    p->n_songs = (size_t)(argc - optind);
    size_t want = kind == MM_PLAYLIST_JOURNEY ? 2 : 1;
    if (kind == MM_PLAYLIST_MIX ? p->n_songs < 1 : kind == MM_PLAYLIST_RADIO ? p->n_songs > 1 : p->n_songs != want)
        return cli_usage_error(cli, command, "%s", kind == MM_PLAYLIST_JOURNEY ? "a journey takes two songs, FROM and TO"
                                                     : kind == MM_PLAYLIST_MIX   ? "a mix takes one or more songs"
                                                     : kind == MM_PLAYLIST_RADIO ? "radio takes at most one seed song"
                                                                                 : "similar takes one song");
    if (kind == MM_PLAYLIST_RADIO && p->n_songs == 0 && !p->state_file && !mpd)
        return cli_usage_error(cli, command, "radio needs a seed song, or --state FILE to go on from");
    if (p->state_file && kind != MM_PLAYLIST_RADIO)
        return cli_usage_error(cli, command, "--state is radio's");
    return 0;
}

static int fail(const cli_playlist *p, const char *fmt, const char *what)
{
    fprintf(stderr, "musicmap %s: ", p->command);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
}

int cli_playlist_open(cli_context *cli, cli_playlist *p)
{
    mm_error err;
    if (cli_open_catalog(cli, p->command, p->db, 0, &p->cat) != 0)
        return CLI_EXIT_FAILURE;
    if (mm_playlist_vectors_load(p->cat, p->map, 0, &p->vectors, &err) != MM_OK)
        return fail(p, "%s", err.msg);
    if (p->vectors.n == 0)
        return fail(p, "%s", "no song has vectors yet: run `musicmap scan` (or `run`) first");
    if (mm_playlist_engine_open(p->cat, &p->vectors, NULL, &p->engine, &err) != MM_OK)
        return fail(p, "%s", err.msg);
    mm_log(&cli->log, MM_LOG_DEBUG, "%s: %zu songs, %s vectors (%d dimensions), %s search", p->command, p->vectors.n,
           mm_vector_kind_name(p->vectors.kind), p->vectors.dim,
           mm_playlist_engine_approximate(p->engine) ? "approximate" : "exact");
    p->ids = calloc(p->n_songs ? p->n_songs : 1, sizeof *p->ids);
    if (!p->ids)
        return fail(p, "%s", "out of memory");
    for (size_t i = 0; i < p->n_songs; i++)
        if (mm_playlist_engine_resolve(p->engine, p->songs[i], &p->ids[i], &err) != MM_OK)
            return fail(p, "%s", err.msg);
    p->req.seeds = p->ids;
    p->req.n_seeds = p->n_songs;
    return 0;
}

/* The radio state from --state FILE, when the command goes on from one (no seed song given). */
static int read_state(cli_playlist *p)
{
    if (!p->state_file || p->n_songs)
        return 0;
    FILE *f = fopen(p->state_file, "r");
    if (!f)
        return fail(p, "can't read the radio state: %s", p->state_file);
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t got;
    while (s && (got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
        }
    }
    fclose(f);
    if (!s)
        return fail(p, "%s", "out of memory");
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    s[len] = '\0';
    p->state_text = s;
    p->req.state = s;
    return 0;
}

int cli_playlist_make(cli_playlist *p, mm_playlist *pl)
{
    mm_error err;
    if (read_state(p) != 0)
        return CLI_EXIT_FAILURE;
    if (mm_playlist_make(p->engine, &p->req, pl, &err) != MM_OK)
        return fail(p, "%s", err.msg);
    if (pl->state && p->state_file) {
        /* the new state replaces the old one whole: written beside it, then renamed over it */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", p->state_file);
        FILE *f = fopen(tmp, "w");
        int ok = f && fprintf(f, "%s\n", pl->state) > 0;
        ok = f && fclose(f) == 0 && ok;
        if (!ok || rename(tmp, p->state_file) != 0)
            return fail(p, "can't write the radio state: %s", p->state_file);
    }
    return 0;
}

static void write_stdout(const void *bytes, size_t n, void *ctx)
{
    fwrite(bytes, 1, n, (FILE *)ctx);
}

static void print_cell(const char *s, int width)
{
    int n = 0;
    for (; *s && n < width; s++) {
        /* count characters, not bytes, so columns of UTF-8 tags line up */
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
    }
    for (; n < width; n++)
        putchar(' ');
}

static void print_table(const cli_playlist *p, const mm_playlist *pl)
{
    printf("%4s  %6s  %8s  %7s  %-24s  %-32s  %s\n", "#", "id", "distance", "step", "artist", "title", "path");
    for (size_t i = 0; i < pl->n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(p->engine, pl->songs[i].id);
        printf("%4zu  %6lld  %8.3f  %7.3f  ", i + 1, (long long)pl->songs[i].id, pl->songs[i].distance,
               pl->songs[i].step);
        print_cell(s ? s->artist : "", 24);
        printf("  ");
        print_cell(s ? s->title : "", 32);
        printf("  %s\n", s ? s->path : "");
    }
}

static void print_json(const cli_playlist *p, const mm_playlist *pl)
{
    printf("{\"kind\": \"%s\", \"vectors\": \"%s\", \"seeds\": [", mm_playlist_kind_name(pl->kind),
           mm_vector_kind_name(p->vectors.kind));
    for (size_t i = 0; i < p->req.n_seeds; i++)
        printf("%s%lld", i ? ", " : "", (long long)p->req.seeds[i]);
    printf("], \"max_step\": ");
    cli_json_number(stdout, pl->max_step, 4);
    printf(", \"mean_step\": ");
    cli_json_number(stdout, pl->mean_step, 4);
    printf(", \"nn_distance\": ");
    cli_json_number(stdout, pl->nn_distance, 4);
    printf(", \"state\": ");
    cli_json_string_or_null(stdout, pl->state);
    printf(", \"songs\": [");
    for (size_t i = 0; i < pl->n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(p->engine, pl->songs[i].id);
        printf("%s\n  {\"id\": %lld, \"path\": ", i ? "," : "", (long long)pl->songs[i].id);
        cli_json_string(stdout, s ? s->path : "");
        const char *names[] = {"title", "artist", "album", "genre"};
        const char *values[] = {s ? s->title : "", s ? s->artist : "", s ? s->album : "", s ? s->genre : ""};
        for (int k = 0; k < 4; k++) {
            printf(", \"%s\": ", names[k]);
            cli_json_string(stdout, values[k]);
        }
        printf(", \"duration\": ");
        cli_json_number(stdout, s ? s->duration : NAN, 2);
        printf(", \"distance\": ");
        cli_json_number(stdout, pl->songs[i].distance, 4);
        printf(", \"step\": ");
        cli_json_number(stdout, pl->songs[i].step, 4);
        printf("}");
    }
    printf("%s]}\n", pl->n ? "\n" : "");
}

/* The M3U file: to stdout for "-", else written whole beside the target and renamed over it. */
static int write_m3u(const cli_playlist *p, const mm_playlist *pl)
{
    mm_m3u_options o;
    mm_m3u_options_init(&o);
    char dir[4096] = "";
    if (p->relative) {
        const char *target = strcmp(p->m3u, "-") == 0 ? "./x" : p->m3u;
        const char *slash = strrchr(target, '/');
        char folder[4096];
        snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash - target) : 1, slash ? target : ".");
        if (!folder[0])
            snprintf(folder, sizeof folder, "/");
        char *real = realpath(folder, NULL);
        if (!real)
            return fail(p, "no such folder for the playlist: %s", folder);
        snprintf(dir, sizeof dir, "%s", real);
        free(real);
        o.relative_to = dir;
    }
    if (strcmp(p->m3u, "-") == 0) {
        mm_playlist_write_m3u(p->engine, pl, &o, write_stdout, stdout);
        return 0;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", p->m3u);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fail(p, "can't write %s", p->m3u);
    mm_playlist_write_m3u(p->engine, pl, &o, write_stdout, f);
    if (fclose(f) != 0 || rename(tmp, p->m3u) != 0) {
        unlink(tmp);
        return fail(p, "can't write %s", p->m3u);
    }
    return 0;
}

static int run_kind(cli_context *cli, mm_playlist_kind kind, int argc, char **argv)
{
    const char *command = mm_playlist_kind_name(kind);
    cli_playlist p;
    int rc = cli_playlist_parse(cli, command, kind, 0, argc, argv, &p);
    if (rc != 0) {
        cli_playlist_free(&p);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    mm_playlist pl = {0};
    rc = cli_playlist_open(cli, &p);
    if (rc == 0)
        rc = cli_playlist_make(&p, &pl);
    if (rc == 0) {
        int to_stdout = p.m3u && strcmp(p.m3u, "-") == 0;
        if (p.m3u)
            rc = write_m3u(&p, &pl);
        if (rc == 0 && p.json)
            print_json(&p, &pl);
        else if (rc == 0 && !to_stdout)
            print_table(&p, &pl);
        if ((int)pl.n < p.req.length && kind != MM_PLAYLIST_JOURNEY)
            mm_log(&cli->log, MM_LOG_WARN, "%s: only %zu songs fit the rules (of %d asked)", command, pl.n,
                   p.req.length);
        mm_log(&cli->log, MM_LOG_INFO, "%s: %zu songs; largest step %.3f, mean %.3f (a song's nearest neighbour: %.3f)",
               command, pl.n, pl.max_step, pl.mean_step, pl.nn_distance);
    }
    mm_playlist_free(&pl);
    cli_playlist_free(&p);
    return rc;
}

int cmd_similar(cli_context *cli, int argc, char **argv)
{
    return run_kind(cli, MM_PLAYLIST_SIMILAR, argc, argv);
}

int cmd_mix(cli_context *cli, int argc, char **argv)
{
    return run_kind(cli, MM_PLAYLIST_MIX, argc, argv);
}

int cmd_journey(cli_context *cli, int argc, char **argv)
{
    return run_kind(cli, MM_PLAYLIST_JOURNEY, argc, argv);
}

int cmd_radio(cli_context *cli, int argc, char **argv)
{
    return run_kind(cli, MM_PLAYLIST_RADIO, argc, argv);
}
