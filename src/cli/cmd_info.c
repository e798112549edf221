/* musicmap info FILE...: what a song is, as FFmpeg sees it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/audio.h"

static void info_help(FILE *out)
{
    fprintf(out, "Usage: musicmap info [OPTIONS] FILE...\n\n"
                 "Prints each song's duration, container, codec, sample rate, channels, bit rate and tags.\n\n"
                 "Options:\n"
                 "      --json       one JSON object per line per file\n"
                 "      --exact      count the samples exactly when the header only estimates them (mp3)\n"
                 "  -q, --quiet      print nothing but errors\n"
                 "  -h, --help       show this help\n");
}

static void print_json(const char *path, const mm_audio_info *in)
{
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"duration\": %.6f, \"frames\": %lld, \"frames_exact\": %s, \"container\": ", in->duration,
           (long long)in->frames, in->frames_exact ? "true" : "false");
    cli_json_string(stdout, in->container);
    printf(", \"codec\": ");
    cli_json_string(stdout, in->codec);
    printf(", \"sample_rate\": %d, \"channels\": %d, \"bit_rate\": %lld, \"tags\": {", in->sample_rate, in->channels,
           (long long)in->bit_rate);
    const char *names[] = {"title", "artist", "album", "genre", "date", "track"};
    const char *values[] = {in->tags.title, in->tags.artist, in->tags.album, in->tags.genre, in->tags.date, in->tags.track};
    for (int i = 0; i < 6; i++) {
        printf("%s\"%s\": ", i ? ", " : "", names[i]);
        cli_json_string(stdout, values[i]);
    }
    printf("}}\n");
}

static void print_text(const char *path, const mm_audio_info *in)
{
    int minutes = (int)(in->duration / 60);
    printf("%s\n", path);
    printf("  duration:    %d:%06.3f (%.3f s%s)\n", minutes, in->duration - 60.0 * minutes, in->duration,
           in->frames_exact ? "" : ", estimated");
    printf("  container:   %s\n", in->container);
    printf("  codec:       %s\n", in->codec);
    printf("  sample rate: %d Hz\n", in->sample_rate);
    printf("  channels:    %d\n", in->channels);
    if (in->bit_rate > 0)
        printf("  bit rate:    %lld kb/s\n", (long long)(in->bit_rate / 1000));
    const char *names[] = {"title", "artist", "album", "genre", "date", "track"};
    const char *values[] = {in->tags.title, in->tags.artist, in->tags.album, in->tags.genre, in->tags.date, in->tags.track};
    for (int i = 0; i < 6; i++)
        if (values[i][0])
            printf("  %-12s %s\n", names[i], values[i]);
}

int cmd_info(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},
        {"exact", no_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int json = 0, exact = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'J': json = 1; break;
        case 'E': exact = 1; break;
        case 'h': info_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "info", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cli, "info", "no input files");
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        mm_audio *audio = NULL;
        mm_error err;
        if (mm_audio_open(&audio, argv[i], &err) != MM_OK) {
            fprintf(stderr, "musicmap info: %s\n", err.msg);
            failures++;
            continue;
        }
        if (exact && !mm_audio_get_info(audio)->frames_exact)
            mm_audio_count_frames(audio, NULL);
        if (json)
            print_json(argv[i], mm_audio_get_info(audio));
        else
            print_text(argv[i], mm_audio_get_info(audio));
        mm_audio_close(audio);
    }
    return failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
