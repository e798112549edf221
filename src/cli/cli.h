/* The musicmap program: shared pieces of the subcommands. */
#ifndef MM_CLI_H
#define MM_CLI_H

#include "musicmap/pipeline.h"
#include "musicmap/util.h"

/* Exit codes, conventional: 0 ok, 1 a failure, 2 bad usage. */
enum { MM_EXIT_OK = 0, MM_EXIT_FAILURE = 1, MM_EXIT_USAGE = 2 };

typedef struct mm_cli {
    const char *program; /* argv[0] of the whole program, for messages */
    mm_logger log;       /* stderr, level from --quiet / --verbose */
} mm_cli;

typedef int (*mm_command_fn)(mm_cli *cli, int argc, char **argv);

typedef struct mm_command {
    const char *name;
    const char *summary;
    mm_command_fn run;
} mm_command;

int mm_cmd_mel(mm_cli *cli, int argc, char **argv);
int mm_cmd_info(mm_cli *cli, int argc, char **argv);
int mm_cmd_scan(mm_cli *cli, int argc, char **argv);
int mm_cmd_status(mm_cli *cli, int argc, char **argv);
int mm_cmd_tracks(mm_cli *cli, int argc, char **argv);
int mm_cmd_reduce(mm_cli *cli, int argc, char **argv);
int mm_cmd_serve(mm_cli *cli, int argc, char **argv);
struct mm_server_options;
/* Serves the catalog at db_path until SIGINT/SIGTERM, printing the address (serve and run). */
int mm_cli_serve(mm_cli *cli, const char *db_path, const struct mm_server_options *o, int open_page);

/* JSON output (json.c): strings with the escapes RFC 8259 requires, bytes that are not valid UTF-8
 * written as U+FFFD; NULL as null; non-finite numbers as null. */
void mm_json_string(FILE *out, const char *s);
void mm_json_string_or_null(FILE *out, const char *s);
void mm_json_number(FILE *out, double v, int decimals);

/* Opens the catalog at db (NULL: the default location); prints the error and returns non-zero when
 * it can't (catalog.c). */
struct mm_catalog;
int mm_cli_open_catalog(const mm_cli *cli, const char *command, const char *db, int create, struct mm_catalog **out);
int mm_cmd_import_keras(mm_cli *cli, int argc, char **argv);
int mm_cmd_predict(mm_cli *cli, int argc, char **argv);
int mm_cmd_train(mm_cli *cli, int argc, char **argv);
int mm_cmd_embed(mm_cli *cli, int argc, char **argv);
int mm_cmd_map(mm_cli *cli, int argc, char **argv);
int mm_cmd_run(mm_cli *cli, int argc, char **argv);
int mm_cmd_evaluate(mm_cli *cli, int argc, char **argv);
int mm_cmd_similar(mm_cli *cli, int argc, char **argv);
int mm_cmd_mix(mm_cli *cli, int argc, char **argv);
int mm_cmd_journey(mm_cli *cli, int argc, char **argv);
int mm_cmd_radio(mm_cli *cli, int argc, char **argv);
int mm_cmd_mpd(mm_cli *cli, int argc, char **argv);

/* The playlist commands' options and catalog side, shared by similar/mix/journey/radio and mpd
 * (cmd_playlist.c). */
typedef struct mm_cli_playlist {
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
} mm_cli_playlist;
/* Parses the options and songs; 0 to go on, -1 after --help, else an exit code. Free p afterwards. */
int mm_cli_playlist_parse(mm_cli *cli, const char *command, mm_playlist_kind kind, int mpd, int argc, char **argv,
                          mm_cli_playlist *p);
/* Opens the catalog, the vectors and the engine, and resolves the songs into p->req's seeds. */
int mm_cli_playlist_open(mm_cli *cli, mm_cli_playlist *p);
/* Makes the playlist (a radio goes on from --state when there is no seed, and writes the new state). */
int mm_cli_playlist_make(mm_cli_playlist *p, mm_playlist *pl);
void mm_cli_playlist_free(mm_cli_playlist *p);
int mm_cmd_plot(mm_cli *cli, int argc, char **argv);

/* Prints "musicmap CMD: message" to stderr and returns MM_EXIT_USAGE. */
int mm_cli_usage_error(const mm_cli *cli, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses a whole decimal number in [lo, hi]; returns 0 on success. */
int mm_cli_parse_int(const char *text, long lo, long hi, long *out);
int mm_cli_parse_double(const char *text, double lo, double hi, double *out);
/* Handles the options every subcommand takes (-q/--quiet, -v/--verbose); returns 1 if it did. */
int mm_cli_common_option(mm_cli *cli, int opt);

/* The progress lines train, embed and run print (cmd_train.c, cmd_embed.c): one line redrawn on a
 * terminal; otherwise a line per epoch, and embed's every few seconds. */
typedef struct mm_cli_progress {
    const mm_cli *cli;
    int tty;             /* stderr is a terminal */
    int self_supervised; /* training's accuracy is the pair accuracy */
    double last;         /* embed: when a line was last printed */
} mm_cli_progress;
void mm_cli_progress_init(mm_cli_progress *ui, const mm_cli *cli);
int mm_cli_train_progress(const mm_train_progress *p, void *ui);
/* train's result table and confusion matrix (stdout), and where the model went. */
void mm_cli_train_report(const mm_cli *cli, const mm_train_outcome *o);
int mm_cli_embed_progress(const mm_embed_progress *p, void *ui);
/* A map's line: name, songs, time, quality, and whether it was drawn, grown or kept (cmd_map.c). */
void mm_cli_print_map(const mm_cli *cli, const mm_map_result *r);
void mm_cli_embed_failure(int64_t track_id, const char *message, void *ui);

#define MM_CLI_COMMON_LONGOPTS {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}

#endif
