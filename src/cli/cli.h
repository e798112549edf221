/* The musicmap program: shared pieces of the subcommands. */
#ifndef CLI_H
#define CLI_H

#include "musicmap/pipeline.h"
#include "musicmap/util.h"

/* Exit codes, conventional: 0 ok, 1 a failure, 2 bad usage. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_context {
    const char *program; /* argv[0] of the whole program, for messages */
    mm_logger log;       /* stderr, level from --quiet / --verbose */
} cli_context;

typedef int (*cli_command_fn)(cli_context *cli, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *summary;
    cli_command_fn run;
} cli_command;

int cmd_mel(cli_context *cli, int argc, char **argv);
int cmd_info(cli_context *cli, int argc, char **argv);
int cmd_scan(cli_context *cli, int argc, char **argv);
int cmd_status(cli_context *cli, int argc, char **argv);
int cmd_tracks(cli_context *cli, int argc, char **argv);
int cmd_reduce(cli_context *cli, int argc, char **argv);
int cmd_serve(cli_context *cli, int argc, char **argv);
struct mm_server_options;
/* Serves the catalog at db_path until SIGINT/SIGTERM, printing the address (serve and run). */
int cli_serve(cli_context *cli, const char *db_path, const struct mm_server_options *o, int open_page);

/* JSON output (json.c): strings with the escapes RFC 8259 requires, bytes that are not valid UTF-8
 * written as U+FFFD; NULL as null; non-finite numbers as null. */
void cli_json_string(FILE *out, const char *s);
void cli_json_string_or_null(FILE *out, const char *s);
void cli_json_number(FILE *out, double v, int decimals);

/* Opens the catalog at db (NULL: the default location); prints the error and returns non-zero when
 * it can't (catalog.c). */
struct mm_catalog;
int cli_open_catalog(const cli_context *cli, const char *command, const char *db, int create, struct mm_catalog **out);
int cmd_import_keras(cli_context *cli, int argc, char **argv);
int cmd_predict(cli_context *cli, int argc, char **argv);
int cmd_train(cli_context *cli, int argc, char **argv);
int cmd_embed(cli_context *cli, int argc, char **argv);
int cmd_map(cli_context *cli, int argc, char **argv);
int cmd_run(cli_context *cli, int argc, char **argv);
int cmd_evaluate(cli_context *cli, int argc, char **argv);
int cmd_similar(cli_context *cli, int argc, char **argv);
int cmd_mix(cli_context *cli, int argc, char **argv);
int cmd_journey(cli_context *cli, int argc, char **argv);
int cmd_radio(cli_context *cli, int argc, char **argv);
int cmd_mpd(cli_context *cli, int argc, char **argv);

/* The playlist commands' options and catalog side, shared by similar/mix/journey/radio and mpd
 * (cmd_playlist.c). */
typedef struct cli_playlist {
    const char *command;
    mm_playlist_request req;
    const char *genres[64], *exclude_genres[64], *folders[64], *exclude_folders[64];
    size_t n_folders, n_exclude_folders;
    const char *const *songs;    /* the SONG arguments */
    size_t n_songs;
    const char *db, *map, *state_file, *m3u;
    int relative, json;
    const char *host, *mpd_root; /* mpd */
    unsigned port;
    int clear, play, keep, once;
    struct mm_catalog *cat;
    mm_song_vectors vectors;
    mm_playlist_engine *engine;
    int64_t *ids;
    char *state_text;
} cli_playlist;
/* Parses the options and songs; 0 to go on, -1 after --help, else an exit code. Free p afterwards. */
int cli_playlist_parse(cli_context *cli, const char *command, mm_playlist_kind kind, int mpd, int argc, char **argv,
                          cli_playlist *p);
/* Opens the catalog, the vectors and the engine, and resolves the songs into p->req's seeds. */
int cli_playlist_open(cli_context *cli, cli_playlist *p);
/* Makes the playlist (a radio goes on from --state when there is no seed, and writes the new state). */
int cli_playlist_make(cli_playlist *p, mm_playlist *pl);
void cli_playlist_free(cli_playlist *p);
int cmd_plot(cli_context *cli, int argc, char **argv);

/* Prints "musicmap CMD: message" to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_context *cli, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses a whole decimal number in [lo, hi]; returns 0 on success. */
int cli_parse_int(const char *text, long lo, long hi, long *out);
int cli_parse_double(const char *text, double lo, double hi, double *out);
/* Handles the options every subcommand takes (-q/--quiet, -v/--verbose); returns 1 if it did. */
int cli_common_option(cli_context *cli, int opt);

/* The progress lines train, embed and run print (cmd_train.c, cmd_embed.c): one line redrawn on a
 * terminal; otherwise a line per epoch, and embed's every few seconds. */
typedef struct cli_progress {
    const cli_context *cli;
    int tty;             /* stderr is a terminal */
    int self_supervised; /* training's accuracy is the pair accuracy */
    double last;         /* embed: when a line was last printed */
} cli_progress;
void cli_progress_init(cli_progress *ui, const cli_context *cli);
int cli_train_progress(const mm_train_progress *p, void *ui);
/* train's result table and confusion matrix (stdout), and where the model went. */
void cli_train_report(const cli_context *cli, const mm_train_outcome *o);
int cli_embed_progress(const mm_embed_progress *p, void *ui);
/* A map's line: name, songs, time, quality, and whether it was drawn, grown or kept (cmd_map.c). */
void cli_print_map(const cli_context *cli, const mm_map_result *r);
void cli_embed_failure(int64_t track_id, const char *message, void *ui);

#define MM_CLI_COMMON_LONGOPTS {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}

#endif
