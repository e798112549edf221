/* musicmap tracks: list the catalog's tracks with their tags. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/catalog.h"

static void tracks_help(FILE *out)
{
    fprintf(out, "Usage: musicmap tracks [OPTIONS]\n\n"
                 "Lists the catalog's tracks: id, state, artist, title, album, genre, year, duration, path\n"
                 "(tab-separated), or one JSON object per line with --json (see docs/catalog.md).\n\n"
                 "Options:\n"
                 "      --db PATH        the catalog database (default $XDG_DATA_HOME/musicmap/library.db)\n"
                 "      --status STATE   only tracks that are ok, failed or missing\n"
                 "      --json           JSON Lines\n"
                 "  -h, --help           show this help\n");
}

static void print_text_field(const char *s)
{
    /* tabs and newlines inside tags would break the columns */
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static int print_track(const mm_track *t, void *user)
{
    int json = *(const int *)user;
    if (!json) {
        printf("%lld\t%s\t", (long long)t->id, mm_track_status_name(t->status));
        const char *fields[] = {t->artist, t->title, t->album, t->genre};
        for (int i = 0; i < 4; i++) {
            print_text_field(fields[i]);
            putchar('\t');
        }
        if (t->year)
            printf("%d", t->year);
        putchar('\t');
        if (isfinite(t->duration))
            printf("%.1f", t->duration);
        putchar('\t');
        print_text_field(t->path);
        putchar('\n');
        return 0;
    }
    printf("{\"id\": %lld, \"path\": ", (long long)t->id);
    cli_json_string(stdout, t->path);
    printf(", \"status\": \"%s\", \"size\": %lld, \"mtime_ns\": %lld, \"duration\": ", mm_track_status_name(t->status),
           (long long)t->size, (long long)t->mtime_ns);
    cli_json_number(stdout, t->duration, 3);
    const char *names[] = {"container", "codec"};
    const char *values[] = {t->container, t->codec};
    for (int i = 0; i < 2; i++) {
        printf(", \"%s\": ", names[i]);
        cli_json_string(stdout, values[i]);
    }
    printf(", \"sample_rate\": %d, \"channels\": %d, \"bit_rate\": %lld", t->sample_rate, t->channels,
           (long long)t->bit_rate);
    const char *tag_names[] = {"title", "artist", "album", "genre", "date", "track"};
    const char *tag_values[] = {t->title, t->artist, t->album, t->genre, t->date, t->track_no};
    for (int i = 0; i < 6; i++) {
        printf(", \"%s\": ", tag_names[i]);
        cli_json_string(stdout, tag_values[i]);
    }
    if (t->year)
        printf(", \"year\": %d", t->year);
    else
        printf(", \"year\": null");
    printf(", \"loudness\": ");
    cli_json_number(stdout, t->loudness, 2);
    printf(", \"loudness_span\": %s", isnan(t->loudness) ? "null" : t->loudness_song ? "\"song\"" : "\"clip\"");
    printf(", \"features\": %s, \"error\": ", t->has_features ? "true" : "false");
    cli_json_string_or_null(stdout, t->error);
    printf("}\n");
    return 0;
}

int cmd_tracks(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},
        {"status", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    int json = 0, status = -1;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, c))
            continue;
        switch (c) {
        case 'D': db = optarg; break;
        case 'S':
            if (strcmp(optarg, "ok") == 0)
                status = MM_TRACK_OK;
            else if (strcmp(optarg, "failed") == 0)
                status = MM_TRACK_FAILED;
            else if (strcmp(optarg, "missing") == 0)
                status = MM_TRACK_MISSING;
            else
                return cli_usage_error(cli, "tracks", "--status is ok, failed or missing, not '%s'", optarg);
            break;
        case 'J': json = 1; break;
        case 'h': tracks_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "tracks", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "tracks", "unexpected argument '%s'", argv[optind]);
    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "tracks", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    mm_error err;
    int rc = CLI_EXIT_OK;
    if (mm_catalog_each_track(cat, status, print_track, &json, &err) != MM_OK) {
        fprintf(stderr, "musicmap tracks: %s\n", err.msg);
        rc = CLI_EXIT_FAILURE;
    }
    mm_catalog_close(cat);
    return rc;
}
