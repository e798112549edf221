/* musicmap mpd: playlists queued on a running MPD (libmpdclient), and `follow`, which keeps MPD's queue
 * topped up with a radio from the song playing. Catalog paths become MPD URIs by taking MPD's music
 * directory off their front: --mpd-root, else MPD's own answer (it tells local clients), else the
 * folder under which MPD's database knows a song of the playlist. */
#include <mpd/client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/pipeline.h"

typedef struct mpd_side {
    struct mpd_connection *conn;
    char root[4096]; /* no trailing '/' ("" for "/") */
    int have_root;
} mpd_side;

static int mpd_fail(const cli_playlist *p, struct mpd_connection *conn, const char *what)
{
    fprintf(stderr, "musicmap %s: %s: %s\n", p->command, what,
            conn ? mpd_connection_get_error_message(conn) : "out of memory");
    return CLI_EXIT_FAILURE;
}

static void set_root(mpd_side *m, const char *root, size_t len)
{
    while (len > 0 && root[len - 1] == '/')
        len--;
    snprintf(m->root, sizeof m->root, "%.*s", (int)len, root);
    m->have_root = 1;
}

/* MPD's music directory as it says (only to clients on its local socket); 0 when it did. */
static int ask_root(mpd_side *m)
{
    if (!mpd_send_command(m->conn, "config", NULL)) {
        mpd_connection_clear_error(m->conn);
        return -1;
    }
    struct mpd_pair *pair = mpd_recv_pair_named(m->conn, "music_directory");
    if (pair) {
        set_root(m, pair->value, strlen(pair->value));
        mpd_return_pair(m->conn, pair);
    }
    if (!mpd_response_finish(m->conn))
        mpd_connection_clear_error(m->conn);
    return m->have_root ? 0 : -1;
}

/* Whether MPD's database has this URI. */
static int mpd_knows(mpd_side *m, const char *uri)
{
    if (!mpd_send_list_meta(m->conn, uri)) {
        mpd_connection_clear_error(m->conn);
        return 0;
    }
    struct mpd_entity *e;
    int found = 0;
    while ((e = mpd_recv_entity(m->conn)) != NULL) {
        found |= mpd_entity_get_type(e) == MPD_ENTITY_TYPE_SONG;
        mpd_entity_free(e);
    }
    if (!mpd_response_finish(m->conn)) {
        mpd_connection_clear_error(m->conn);
        return 0;
    }
    return found;
}

/* The root from one catalogued path: the longest tail of it that MPD's database knows. */
static int find_root(mpd_side *m, const char *path)
{
    for (const char *s = path; (s = strchr(s, '/')) != NULL; s++)
        if (s[1] && mpd_knows(m, s + 1)) {
            set_root(m, path, (size_t)(s - path));
            return 0;
        }
    return -1;
}

static const char *uri_of(const mpd_side *m, const char *path)
{
    size_t n = strlen(m->root);
    if (strncmp(path, m->root, n) != 0 || path[n] != '/')
        return NULL;
    return path + n + 1;
}

static int connect_mpd(const cli_playlist *p, mpd_side *m)
{
    memset(m, 0, sizeof *m);
    m->conn = mpd_connection_new(p->host, p->port, 30000);
    if (!m->conn || mpd_connection_get_error(m->conn) != MPD_ERROR_SUCCESS)
        return mpd_fail(p, m->conn, "can't connect to MPD");
    if (p->mpd_root)
        set_root(m, p->mpd_root, strlen(p->mpd_root));
    else
        ask_root(m);
    return 0;
}

/* Appends the playlist's songs to MPD's queue in order; songs outside MPD's music directory are left
 * out, with a warning. Returns the number queued, or -1. */
static long queue_songs(cli_context *cli, const cli_playlist *p, mpd_side *m, const mm_playlist *pl)
{
    if (!m->have_root) {
        for (size_t i = 0; i < pl->n && !m->have_root; i++) {
            const mm_playlist_song *s = mm_playlist_engine_song(p->engine, pl->songs[i].id);
            if (s)
                find_root(m, s->path);
        }
        if (!m->have_root) {
            fprintf(stderr, "musicmap %s: MPD's database has none of these songs: give its music directory with "
                            "--mpd-root\n", p->command);
            return -1;
        }
        mm_log(&cli->log, MM_LOG_INFO, "%s: MPD's music directory is %s", p->command, m->root[0] ? m->root : "/");
    }
    long queued = 0;
    if (!mpd_command_list_begin(m->conn, false))
        return mpd_fail(p, m->conn, "MPD"), -1;
    for (size_t i = 0; i < pl->n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(p->engine, pl->songs[i].id);
        const char *uri = s ? uri_of(m, s->path) : NULL;
        if (!uri) {
            mm_log(&cli->log, MM_LOG_WARN, "%s: %s is outside MPD's music directory: left out", p->command,
                   s ? s->path : "?");
            continue;
        }
        if (!mpd_send_add(m->conn, uri))
            return mpd_fail(p, m->conn, "MPD"), -1;
        queued++;
    }
    if (!mpd_command_list_end(m->conn) || !mpd_response_finish(m->conn))
        return mpd_fail(p, m->conn, "MPD refused a song"), -1;
    return queued;
}

static void mpd_help(FILE *out)
{
    fprintf(out, "Usage: musicmap mpd similar|mix|journey|radio [OPTIONS] SONG...\n"
                 "       musicmap mpd follow [OPTIONS]\n\n"
                 "Queues a playlist (as `musicmap similar` etc. make it) on a running MPD, in order, or with\n"
                 "`follow` keeps MPD's queue topped up: whenever fewer than --keep songs are left after the one\n"
                 "playing, a radio from the last song queued (or from the song playing, when you chose another)\n"
                 "adds more, never a song that is in the queue already.\n\n"
                 "follow's options: --keep N (default 5), --once (top up once and exit), and the rules, --host,\n"
                 "--port, --mpd-root and --db of the others; `musicmap mpd similar --help` lists them.\n");
}

/* The queue's songs as catalog ids (those the engine knows), for the radio to leave out. */
static int queue_ids(const cli_playlist *p, mpd_side *m, int64_t **ids, size_t *n, char **last_uri)
{
    *n = 0;
    *last_uri = NULL;
    if (!mpd_send_list_queue_meta(m->conn))
        return mpd_fail(p, m->conn, "MPD");
    size_t cap = 64;
    int64_t *out = malloc(sizeof *out * cap);
    struct mpd_song *song;
    while ((song = mpd_recv_song(m->conn)) != NULL) {
        const char *uri = mpd_song_get_uri(song);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", m->root, uri);
        int64_t id;
        if (out && mm_playlist_engine_resolve(p->engine, path, &id, NULL) == MM_OK) {
            if (*n == cap) {
                int64_t *t = realloc(out, sizeof *out * (cap *= 2));
                if (!t)
                    free(out);
                out = t;
            }
            if (out)
                out[(*n)++] = id;
        }
        free(*last_uri);
        *last_uri = strdup(uri);
        mpd_song_free(song);
    }
    if (!mpd_response_finish(m->conn)) {
        free(out);
        return mpd_fail(p, m->conn, "MPD");
    }
    *ids = out;
    return out ? 0 : CLI_EXIT_FAILURE;
}

/* A catalogued song whose path ends in /URI: MPD's root found from a song MPD plays. */
static int root_from_uri(const cli_playlist *p, mpd_side *m, const char *uri)
{
    size_t lu = strlen(uri);
    for (size_t i = 0; i < p->vectors.n; i++) {
        const mm_playlist_song *s = mm_playlist_engine_song(p->engine, p->vectors.ids[i]);
        size_t lp = strlen(s->path);
        if (lp > lu && s->path[lp - lu - 1] == '/' && strcmp(s->path + lp - lu, uri) == 0) {
            set_root(m, s->path, lp - lu - 1);
            return 0;
        }
    }
    return -1;
}

static int follow(cli_context *cli, cli_playlist *p, mpd_side *m)
{
    char *state = NULL;
    int64_t last_queued = 0; /* the radio's newest song: it goes on from there while that is in the queue */
    int rc = CLI_EXIT_OK;
    for (;;) {
        struct mpd_status *status = mpd_run_status(m->conn);
        if (!status) {
            rc = mpd_fail(p, m->conn, "MPD");
            break;
        }
        int pos = mpd_status_get_song_pos(status);
        unsigned length = mpd_status_get_queue_length(status);
        mpd_status_free(status);
        struct mpd_song *current = pos >= 0 ? mpd_run_current_song(m->conn) : NULL;
        if (!current && mpd_connection_get_error(m->conn) != MPD_ERROR_SUCCESS) {
            rc = mpd_fail(p, m->conn, "MPD");
            break;
        }
        long left = pos >= 0 ? (long)length - pos - 1 : -1;
        if (current && left < p->keep) {
            if (!m->have_root && root_from_uri(p, m, mpd_song_get_uri(current)) != 0) {
                fprintf(stderr, "musicmap %s: the song playing (%s) is not in the catalog: give MPD's music "
                                "directory with --mpd-root\n", p->command, mpd_song_get_uri(current));
                mpd_song_free(current);
                rc = CLI_EXIT_FAILURE;
                break;
            }
            int64_t *ids = NULL, cur_id = 0;
            size_t n_ids = 0;
            char *last_uri = NULL;
            if (queue_ids(p, m, &ids, &n_ids, &last_uri) != 0) {
                mpd_song_free(current);
                rc = CLI_EXIT_FAILURE;
                break;
            }
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", m->root, mpd_song_get_uri(current));
            int known = mm_playlist_engine_resolve(p->engine, path, &cur_id, NULL) == MM_OK;
            /* go on with the radio while its last song is the queue's last; else start one from the song playing */
            int64_t last_id = 0;
            if (last_uri) {
                snprintf(path, sizeof path, "%s/%s", m->root, last_uri);
                mm_playlist_engine_resolve(p->engine, path, &last_id, NULL);
            }
            int resume = state && last_queued && last_id == last_queued;
            if (!resume && !known) {
                mm_log(&cli->log, MM_LOG_WARN, "%s: the song playing has no vectors in the catalog: waiting",
                       p->command);
            } else {
                mm_playlist pl = {0};
                p->req.state = resume ? state : NULL;
                p->req.seeds = resume ? NULL : &cur_id;
                p->req.n_seeds = resume ? 0 : 1;
                p->req.exclude = ids, p->req.n_exclude = n_ids;
                p->req.length = p->keep - (int)(left < 0 ? 0 : left);
                mm_error err;
                if (mm_playlist_make(p->engine, &p->req, &pl, &err) != MM_OK) {
                    fprintf(stderr, "musicmap %s: %s\n", p->command, err.msg);
                    rc = CLI_EXIT_FAILURE;
                } else {
                    long q = queue_songs(cli, p, m, &pl);
                    if (q < 0)
                        rc = CLI_EXIT_FAILURE;
                    else
                        mm_log(&cli->log, MM_LOG_INFO, "%s: queued %ld songs", p->command, q);
                    free(state);
                    state = pl.state ? strdup(pl.state) : NULL;
                    last_queued = pl.n ? pl.songs[pl.n - 1].id : last_queued;
                }
                mm_playlist_free(&pl);
            }
            free(ids);
            free(last_uri);
        }
        if (current)
            mpd_song_free(current);
        if (rc != CLI_EXIT_OK || p->once)
            break;
        /* sleep until the song or the queue changes */
        if (mpd_run_idle_mask(m->conn, MPD_IDLE_PLAYER | MPD_IDLE_QUEUE) == 0) {
            rc = mpd_fail(p, m->conn, "MPD");
            break;
        }
    }
    free(state);
    p->req.exclude = NULL, p->req.n_exclude = 0;
    return rc;
}

int cmd_mpd(cli_context *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        mpd_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const int is_follow = strcmp(argv[1], "follow") == 0;
    mm_playlist_kind kind = MM_PLAYLIST_RADIO;
    if (!is_follow && mm_playlist_kind_parse(argv[1], &kind) != 0)
        return cli_usage_error(cli, "mpd", "similar, mix, journey, radio or follow, not '%s'", argv[1]);
    char command[32];
    snprintf(command, sizeof command, "mpd %s", argv[1]);
    cli_playlist p;
    int rc = cli_playlist_parse(cli, command, kind, 1, argc - 1, argv + 1, &p);
    if (rc == 0 && is_follow && p.n_songs)
        rc = cli_usage_error(cli, command, "follow takes no songs: it follows the one MPD plays");
    if (rc == 0 && !is_follow && kind == MM_PLAYLIST_RADIO && p.n_songs == 0 && !p.state_file)
        rc = cli_usage_error(cli, command, "radio needs a seed song, or --state FILE to go on from");
    if (rc != 0) {
        cli_playlist_free(&p);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    mpd_side m = {0};
    mm_playlist pl = {0};
    rc = cli_playlist_open(cli, &p);
    if (rc == 0)
        rc = connect_mpd(&p, &m);
    if (rc == 0 && is_follow) {
        rc = follow(cli, &p, &m);
    } else if (rc == 0) {
        rc = cli_playlist_make(&p, &pl);
        if (rc == 0 && p.clear && !mpd_run_clear(m.conn))
            rc = mpd_fail(&p, m.conn, "can't clear MPD's queue");
        long q = rc == 0 ? queue_songs(cli, &p, &m, &pl) : -1;
        if (q < 0)
            rc = CLI_EXIT_FAILURE;
        if (rc == 0 && p.play && !mpd_run_play(m.conn))
            rc = mpd_fail(&p, m.conn, "can't start MPD playing");
        if (rc == 0)
            mm_log(&cli->log, MM_LOG_INFO, "%s: queued %ld of %zu songs on MPD", command, q, pl.n);
    }
    if (m.conn)
        mpd_connection_free(m.conn);
    mm_playlist_free(&pl);
    cli_playlist_free(&p);
    return rc;
}
