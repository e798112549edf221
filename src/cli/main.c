/* musicmap: a thin command-line layer over libmusicmap. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "musicmap/audio.h"
#include "musicmap/version.h"

static const cli_command COMMANDS[] = {
    {"run", "the whole pipeline: scan a folder, learn its genres, map it and serve the page", cmd_run},
    {"info", "print a song's duration, codec, sample rate, channels and tags", cmd_info},
    {"mel", "write the 96 x 1366 log-mel spectrogram of songs as .npy files", cmd_mel},
    {"scan", "catalogue the audio files under folders (incremental, parallel, resumable)", cmd_scan},
    {"status", "what the catalog holds: counts, formats, genres, size; --errors lists failures", cmd_status},
    {"tracks", "list the catalog's tracks with their tags", cmd_tracks},
    {"import-keras", "convert a Keras CRNN weight file (HDF5) into a musicmap model", cmd_import_keras},
    {"predict", "print the most likely labels of songs under a model", cmd_predict},
    {"train", "train a genre classifier on the catalog's spectrograms", cmd_train},
    {"embed", "store every track's output vector and hidden state under a model", cmd_embed},
    {"map", "lay the catalogued songs out with PCA, t-SNE or UMAP and store the map", cmd_map},
    {"evaluate", "score every kind of song vector and map against labels (folders, tags, a CSV)", cmd_evaluate},
    {"reduce", "lay out the rows of a .npy array with PCA, t-SNE or UMAP and measure the layout", cmd_reduce},
    {"serve", "serve the map page and its API on a local port (or --export a static site)", cmd_serve},
    {"similar", "a playlist of the songs that sound most like one song", cmd_similar},
    {"mix", "a playlist that stays near several songs", cmd_mix},
    {"journey", "a playlist from one song to another in small steps", cmd_journey},
    {"radio", "an endless, resumable walk from a song that never repeats one", cmd_radio},
    {"mpd", "queue similar, mix or radio playlists on MPD, or keep its queue topped up (follow)", cmd_mpd},
    {"plot", "draw a map, the parameter grid, training curves or a confusion matrix as PNG, SVG or PDF", cmd_plot},
};
static const size_t N_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0];

static void print_help(FILE *out)
{
    fprintf(out,
            "musicmap %s: turn a music collection into a map you can see and hear.\n\n"
            "Usage: musicmap [--quiet | --verbose] COMMAND [ARGS...]\n"
            "       musicmap --version | --help\n\n"
            "Commands:\n",
            MM_VERSION_STRING);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nRun 'musicmap COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success, 1 failure (some input could not be processed), 2 usage error.\n");
}

int main(int argc, char **argv)
{
    cli_context cli = {.program = argv[0], .log = {.level = MM_LOG_INFO, .stream = stderr}};
    /* FFmpeg prints its own warnings about damaged files; musicmap reports each failure once itself. */
    mm_audio_set_library_logging(0);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0) {
            printf("musicmap %s\n", MM_VERSION_STRING);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli.log.level = MM_LOG_QUIET;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            cli.log.level = MM_LOG_DEBUG;
            mm_audio_set_library_logging(1);
        } else {
            fprintf(stderr, "musicmap: unknown option '%s'\nTry 'musicmap --help'.\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (strcmp(argv[i], COMMANDS[c].name) == 0)
            return COMMANDS[c].run(&cli, argc - i, argv + i);
    }
    fprintf(stderr, "musicmap: unknown command '%s'\nTry 'musicmap --help'.\n", argv[i]);
    return CLI_EXIT_USAGE;
}
