/* musicmap serve: the map page and its API on a local port; or --export DIR: the same as static files. */
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "musicmap/catalog.h"
#include "musicmap/plot.h"
#include "musicmap/server.h"

static void serve_help(FILE *out)
{
    fprintf(out, "Usage: musicmap serve [OPTIONS]\n\n"
                 "Serves the map page and its API (docs/server.md) until Ctrl-C: maps, tracks, search,\n"
                 "similar songs, and each catalogued song's audio (transcoded to MP3 when a browser can't\n"
                 "play its format). Only catalogued tracks are reachable, by id.\n\n"
                 "Options:\n"
                 "      --db PATH          the catalog database (default $XDG_DATA_HOME/musicmap/library.db)\n"
                 "  -p, --port N           port (default 8080; 0: any free port)\n"
                 "      --host ADDR        address to listen on (default 127.0.0.1: this machine only; 0.0.0.0:\n"
                 "                         every network, with an access token: the URL printed has it)\n"
                 "      --no-auth          beyond this machine, serve without the access token (anyone who\n"
                 "                         reaches the port can read the catalog)\n"
                 "      --tls-cert FILE    serve HTTPS with this PEM certificate (chain) ...\n"
                 "      --tls-key FILE     ... and its PEM private key\n"
                 "      --rate-limit N     requests per second per client address (default 200 when serving\n"
                 "                         beyond this machine, else none; 0: none)\n"
                 "      --open             open the page in the desktop's browser\n"
                 "      --threads N        requests that read the catalog at once (default max(4, cores))\n"
                 "      --timeout S        close idle or slow connections after S seconds (default 30)\n"
                 "      --transcode-dir D  cache of transcoded audio (default $XDG_CACHE_HOME/musicmap/transcoded)\n"
                 "      --export DIR       write the page and data as a static site into DIR instead of serving\n"
                 "      --export-audio     with --export: also put the audio in the site\n"
                 "  -h, --help             show this help\n");
}

static void open_browser(const cli_context *cli, const char *url)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* quiet: the browser's own chatter is not ours to print */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execlp("xdg-open", "xdg-open", url, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        mm_log(&cli->log, MM_LOG_WARN, "musicmap serve: could not start a browser; open %s yourself", url);
}

/* A wildcard bind is reached by the machine's own addresses: print one URL for each. */
static void print_other_urls(const char *scheme, int v6, int port, const char *query)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return;
    for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
            continue;
        int fam = i->ifa_addr->sa_family;
        if (fam != AF_INET && !(v6 && fam == AF_INET6))
            continue;
        char addr[NI_MAXHOST];
        if (getnameinfo(i->ifa_addr, fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), addr,
                        sizeof addr, NULL, 0, NI_NUMERICHOST) != 0 ||
            (fam == AF_INET6 && strchr(addr, '%'))) /* link-local: needs a zone, not for typing in */
            continue;
        printf("musicmap serve: also %s://%s%s%s:%d/%s\n", scheme, fam == AF_INET6 ? "[" : "", addr,
               fam == AF_INET6 ? "]" : "", port, query);
    }
    freeifaddrs(ifs);
}

int cli_serve(cli_context *cli, const char *db_path, const mm_server_options *o, int open_page)
{
    /* SIGINT/SIGTERM are waited for, not handled: block them in every thread, then sigwait here */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    mm_server *server = NULL;
    mm_error err;
    if (mm_server_start(&server, db_path, o, &err) != MM_OK) {
        fprintf(stderr, "musicmap serve: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    char url[600], query[160] = "";
    int v6 = strchr(o->host, ':') != NULL;
    int wildcard = strcmp(o->host, "0.0.0.0") == 0 || strcmp(o->host, "::") == 0;
    const char *scheme = mm_server_tls(server) ? "https" : "http";
    if (mm_server_token(server))
        snprintf(query, sizeof query, "?token=%s", mm_server_token(server));
    snprintf(url, sizeof url, "%s://%s%s%s:%d/%s", scheme, v6 && !wildcard ? "[" : "", wildcard ? "127.0.0.1" : o->host,
             v6 && !wildcard ? "]" : "", mm_server_port(server), query);
    printf("musicmap serve: %s (Ctrl-C to stop)\n", url);
    if (wildcard)
        print_other_urls(scheme, v6, mm_server_port(server), query);
    fflush(stdout);
    if (open_page)
        open_browser(cli, url);
    int sig = 0;
    sigwait(&stop, &sig);
    mm_log(&cli->log, MM_LOG_INFO, "musicmap serve: stopping");
    mm_server_stop(server);
    return CLI_EXIT_OK;
}

int cmd_serve(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'D'},
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"open", no_argument, NULL, 'O'},
        {"threads", required_argument, NULL, 'T'},
        {"timeout", required_argument, NULL, 't'},
        {"transcode-dir", required_argument, NULL, 'C'},
        {"export", required_argument, NULL, 'E'},
        {"export-audio", no_argument, NULL, 'A'},
        {"no-auth", no_argument, NULL, 'N'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"rate-limit", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *export_dir = NULL;
    mm_server_options o;
    mm_server_options_init(&o);
    o.host = "127.0.0.1";
    o.port = 8080;
    o.log = &cli->log;
    int open_page = 0, export_audio = 0;
    long v;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hqvp:", longopts, NULL)) != -1) {
        if (cli_common_option(cli, c))
            continue;
        switch (c) {
        case 'D': db = optarg; break;
        case 'p':
            if (cli_parse_int(optarg, 0, 65535, &v) != 0)
                return cli_usage_error(cli, "serve", "--port must be 0..65535");
            o.port = (int)v;
            break;
        case 'H': o.host = optarg; break;
        case 'O': open_page = 1; break;
        case 'T':
            if (cli_parse_int(optarg, 1, 256, &v) != 0)
                return cli_usage_error(cli, "serve", "--threads must be 1..256");
            o.threads = (int)v;
            break;
        case 't':
            if (cli_parse_int(optarg, 1, 3600, &v) != 0)
                return cli_usage_error(cli, "serve", "--timeout must be 1..3600 seconds");
            o.timeout_seconds = (int)v;
            break;
        case 'C': o.transcode_dir = optarg; break;
        case 'E': export_dir = optarg; break;
        case 'A': export_audio = 1; break;
        case 'N': o.no_auth = 1; break;
        case 'c': o.tls_cert_file = optarg; break;
        case 'k': o.tls_key_file = optarg; break;
        case 'R':
            if (cli_parse_int(optarg, 0, 1000000, &v) != 0)
                return cli_usage_error(cli, "serve", "--rate-limit must be 0..1000000 requests per second");
            o.rate_limit = v ? (int)v : -1;
            break;
        case 'h': serve_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "serve", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli, "serve", "unexpected argument '%s'", argv[optind]);
    if (export_audio && !export_dir)
        return cli_usage_error(cli, "serve", "--export-audio needs --export DIR");
    if (!o.tls_cert_file != !o.tls_key_file)
        return cli_usage_error(cli, "serve", "--tls-cert and --tls-key go together");
    /* resolve the catalog path the usual way (and check it opens) before starting */
    mm_catalog *cat = NULL;
    if (cli_open_catalog(cli, "serve", db, 0, &cat) != 0)
        return CLI_EXIT_FAILURE;
    char *path = strdup(mm_catalog_path(cat));
    mm_catalog_close(cat);
    if (!path) {
        fprintf(stderr, "musicmap serve: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    if (!mm_server_has_web_ui())
        mm_log(&cli->log, MM_LOG_WARN, "musicmap serve: this build has no web page (Node.js was missing at build "
                                       "time); the API works");
    mm_error err;
    if (export_dir) {
        mm_export_options eo;
        mm_export_options_init(&eo);
        eo.audio = export_audio;
        eo.transcode_dir = o.transcode_dir;
        eo.log = &cli->log;
        mm_status s = mm_server_export(path, export_dir, &eo, &err);
        if (s == MM_OK) {
            /* the figures beside the page: figures/map.png, each map, the grid, the model's curves */
            char figures[4096];
            snprintf(figures, sizeof figures, "%s/figures", export_dir);
            mm_plot_options po;
            mm_plot_options_init(&po);
            size_t written = 0;
            if ((s = mm_catalog_open(&cat, path, 0, &err)) == MM_OK) {
                s = mm_plot_all(cat, figures, &po, &written, &err);
                mm_catalog_close(cat);
            }
            if (s == MM_OK)
                mm_log(&cli->log, MM_LOG_INFO, "musicmap serve: %zu figures in %s", written, figures);
        }
        free(path);
        if (s != MM_OK) {
            fprintf(stderr, "musicmap serve: %s\n", err.msg);
            return CLI_EXIT_FAILURE;
        }
        mm_log(&cli->log, MM_LOG_INFO, "musicmap serve: wrote the site to %s (open index.html through any web server)",
               export_dir);
        return CLI_EXIT_OK;
    }
    int rc = cli_serve(cli, path, &o, open_page);
    free(path);
    return rc;
}
