/* musicmap status: what the catalog holds. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/catalog.h"

static void status_help(FILE *out)
{
    fprintf(out, "Usage: musicmap status [OPTIONS]\n\n"
                 "Prints the catalog's track counts by state (ok, failed, missing), formats, genres (from the\n"
                 "tags), total duration and size on disk.\n\n"
                 "Options:\n"
                 "      --db PATH    the catalog database (default $XDG_DATA_HOME/musicmap/library.db)\n"
                 "      --errors     also list the files that failed, with their causes\n"
                 "      --verify     read every stored spectrogram and check it against its checksum first;\n"
                 "                   damaged ones are forgotten and read again by the next scan\n"
                 "      --json       one JSON object (see docs/catalog.md)\n"
                 "  -h, --help       show this help\n");
}

typedef struct error_list {
    int json;
    int64_t n;
} error_list;

static int print_error(const mm_track *t, void *user)
{
    error_list *l = user;
    const char *msg = t->error ? t->error : "";
    if (l->json) {
        printf("%s\n    {\"id\": %lld, \"path\": ", l->n ? "," : "", (long long)t->id);
        cli_json_string(stdout, t->path);
        printf(", \"error\": ");
        cli_json_string(stdout, msg);
        printf("}");
    } else if (strstr(msg, t->path)) {
        printf("%s\n", msg);
    } else {
        printf("%s: %s\n", t->path, msg);
    }
    l->n++;
    return 0;
}

static void human_bytes(char *buf, size_t n, double b)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) {
        b /= 1000;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void print_counts(const char *label, const mm_catalog_count *c, size_t n, const char *empty_name)
{
    printf("%-10s", label);
    if (!n)
        printf("-");
    for (size_t i = 0; i < n; i++)
        printf("%s%s %lld", i ? ", " : "", c[i].name[0] ? c[i].name : empty_name, (long long)c[i].count);
    printf("\n");
}

static void print_count_object(const char *key, const mm_catalog_count *c, size_t n)
{
    printf(",\n  \"%s\": {", key);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, c[i].name);
        printf(": %lld", (long long)c[i].count);
    }
    printf("}");
}

int cmd_status(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},
        {"errors", no_argument, NULL, 'E'},
        {"json", no_argument, NULL, 'J'},
        {"verify", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    int errors = 0, json = 0, verify = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, c))
            continue;
        switch (c) {
        case 'D': db = optarg; break;
        case 'E': errors = 1; break;
        case 'J': json = 1; break;
        case 'V': verify = 1; break;
        case 'h': status_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "status", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "status", "unexpected argument '%s'", argv[optind]);
    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "status", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    mm_catalog_stats s;
    mm_error err;
    if (verify) {
        size_t checked, damaged;
        if (mm_catalog_verify_features(cat, 1, &checked, &damaged, &err) != MM_OK) {
            fprintf(stderr, "musicmap status: %s\n", err.msg);
            mm_catalog_close(cat);
            return CLI_EXIT_FAILURE;
        }
        /* on stderr: stdout stays the report (and valid JSON with --json) */
        fprintf(stderr, "musicmap status: verified %zu spectrograms: %zu damaged%s\n", checked, damaged,
                damaged ? " (forgotten: the next scan reads those files again)" : "");
    }
    if (mm_catalog_get_stats(cat, &s, &err) != MM_OK) {
        fprintf(stderr, "musicmap status: %s\n", err.msg);
        mm_catalog_close(cat);
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_OK;
    if (json) {
        printf("{\n  \"catalog\": ");
        cli_json_string(stdout, mm_catalog_path(cat));
        printf(",\n  \"features_file\": ");
        cli_json_string(stdout, mm_catalog_features_path(cat));
        printf(",\n  \"schema_version\": %d", s.schema_version);
        printf(",\n  \"tracks\": {\"total\": %lld, \"ok\": %lld, \"failed\": %lld, \"missing\": %lld}",
               (long long)s.total, (long long)s.ok, (long long)s.failed, (long long)s.missing);
        printf(",\n  \"with_features\": %lld", (long long)s.with_features);
        printf(",\n  \"duration_seconds\": %.3f", s.duration);
        print_count_object("formats", s.formats, s.n_formats);
        print_count_object("genres", s.genres, s.n_genres);
        printf(",\n  \"bytes\": {\"database\": %lld, \"features\": %lld}", (long long)s.db_bytes,
               (long long)s.features_bytes);
        if (errors) {
            printf(",\n  \"errors\": [");
            error_list l = {.json = 1};
            if (mm_catalog_each_track(cat, MM_TRACK_FAILED, print_error, &l, &err) != MM_OK)
                rc = CLI_EXIT_FAILURE;
            printf("%s]", l.n ? "\n  " : "");
        }
        printf("\n}\n");
    } else {
        long total = (long)(s.duration + 0.5);
        char db_size[32], feat_size[32];
        human_bytes(db_size, sizeof db_size, (double)s.db_bytes);
        human_bytes(feat_size, sizeof feat_size, (double)s.features_bytes);
        printf("catalog   %s (schema %d)\n", mm_catalog_path(cat), s.schema_version);
        printf("tracks    %lld: %lld ok, %lld failed, %lld missing; %lld with features\n", (long long)s.total,
               (long long)s.ok, (long long)s.failed, (long long)s.missing, (long long)s.with_features);
        printf("duration  %ld:%02ld:%02ld\n", total / 3600, total / 60 % 60, total % 60);
        print_counts("formats", s.formats, s.n_formats, "(unknown)");
        print_counts("genres", s.genres, s.n_genres, "(untagged)");
        printf("size      %s database, %s features\n", db_size, feat_size);
        if (errors) {
            printf("\nfailed files:\n");
            error_list l = {0};
            if (mm_catalog_each_track(cat, MM_TRACK_FAILED, print_error, &l, &err) != MM_OK)
                rc = CLI_EXIT_FAILURE;
            if (!l.n)
                printf("(none)\n");
        }
    }
    if (rc != CLI_EXIT_OK)
        fprintf(stderr, "musicmap status: %s\n", err.msg);
    mm_catalog_stats_free(&s);
    mm_catalog_close(cat);
    return rc;
}
