/* musicmap-synth: generates a multi-genre music collection with FluidSynth, for tests and demos.
 * Tracks are rendered in parallel, one FluidSynth instance per worker thread; each track's music
 * depends only on (seed, genres, index), never on which worker rendered it or in what order. */
#include <errno.h>
#include <fluidsynth.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "synth.h"

#define DEFAULT_SOUNDFONT "/usr/share/sounds/sf2/FluidR3_GM.sf2"
#define MANIFEST_NAME "musicmap-synth.tsv"

static void usage(FILE *f)
{
    fputs("usage: musicmap-synth --out DIR --count N [options]\n"
          "\n"
          "Generates a music collection of N tracks rendered with FluidSynth and the General MIDI\n"
          "SoundFont, arranged by genre rules. The same seed gives the same music (same PCM).\n"
          "\n"
          "  --out DIR          output folder (created)\n"
          "  --count N          number of tracks; genres take turns, so N/genres per genre\n"
          "  --genres LIST      comma-separated, default all: blues,classical,country,disco,hiphop,\n"
          "                     jazz,metal,pop,reggae,rock\n"
          "  --seconds S|LO-HI  track length, fixed or varying per track (default 30-60; gtzan: 30)\n"
          "  --seed K           random seed (default 1)\n"
          "  --layout L         flat (genre only in tags), gtzan (genres/<g>/<g>.000NN.wav, 22050 Hz\n"
          "                     mono) or fma (fma_metadata/tracks.csv + fma_audio/000/000123.mp3)\n"
          "  --formats LIST     wav,flac,mp3,ogg,opus,m4a, used in turn within each genre\n"
          "                     (default: all six for flat, mp3 for fma, wav for gtzan)\n"
          "  --rate HZ          sample rate of the rendering (default 44100; gtzan 22050)\n"
          "  --mono             write mono files (gtzan always does)\n"
          "  --messy-tags       vary genre spellings, drop some genres, use full dates and n/total\n"
          "  --broken           add bad files: truncated, empty, wrong extension, lying header,\n"
          "                     tiny (0.5 s), non-UTF-8 name, not audio\n"
          "  --threads N        worker threads (default: all cores)\n"
          "  --soundfont FILE   default " DEFAULT_SOUNDFONT "\n"
          "  --reverse          render in reverse order (a check that order does not matter)\n"
          "  -v, --verbose      a line per track on stderr\n"
          "  -h, --help         this text\n"
          "\n"
          "Writes DIR/" MANIFEST_NAME ": one line per file with its genre, length, seed, PCM hash,\n"
          "tempo, key and instruments. Exit status: 0 done, 1 failure, 2 bad usage.\n",
          f);
}

static int parse_list(char *text, const char **items, size_t max, size_t *count)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == max)
            return -1;
        items[(*count)++] = tok;
    }
    return *count ? 0 : -1;
}

static int parse_seconds(const char *text, double *lo, double *hi)
{
    char *end;
    *lo = strtod(text, &end);
    if (*end == '-')
        *hi = strtod(end + 1, &end);
    else
        *hi = *lo;
    return *end || *lo < 0.5 || *hi < *lo || *hi > 3600 ? -1 : 0;
}

static int known_format(const char *f)
{
    static const char *const formats[] = {"wav", "flac", "mp3", "ogg", "opus", "m4a"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(f, formats[i]) == 0)
            return 1;
    return 0;
}

typedef struct track_result {
    mm_status status;
    char message[MM_ERROR_MSG_MAX];
    uint64_t hash;
    synth_song_info info;
    double render_s, encode_s;
} track_result;

typedef struct job {
    const synth_config *config;
    const synth_track *tracks;
    track_result *results;
    synth_renderer **renderers;
    mm_logger log;
} job;

static void render_track(size_t i, int worker, void *arg)
{
    job *j = arg;
    const synth_config *c = j->config;
    size_t index = c->reverse ? c->count - 1 - i : i;
    const synth_track *t = &j->tracks[index];
    track_result *res = &j->results[index];
    mm_error err = {0};
    double t0 = mm_now();
    synth_events ev = {0};
    int64_t frames = (int64_t)(t->seconds * c->sample_rate + 0.5);
    float *pcm = NULL;
    mm_status st = synth_arrange(t, &ev, &res->info, &err);
    if (st == MM_OK && !(pcm = calloc((size_t)frames * 2, sizeof(float))))
        st = mm_error_set(&err, MM_ERR_NOMEM, "%s: out of memory", t->path);
    if (st == MM_OK)
        st = synth_render(j->renderers[worker], &ev, frames, pcm, &err);
    synth_events_free(&ev);
    if (st == MM_OK) {
        mm_rng rng;
        mm_rng_seed(&rng, synth_mix(t->seed, 3));
        double peak = t->genre->peak * synth_rng_range(&rng, 0.85, 1.0);
        double fade = c->layout == SYNTH_LAYOUT_GTZAN ? 0.05 : (t->seconds > 15 ? 1.5 : t->seconds / 10);
        synth_finish(pcm, frames, c->sample_rate, peak, fade);
        res->hash = synth_pcm_hash(pcm, (size_t)frames * 2);
    }
    double t1 = mm_now();
    if (st == MM_OK)
        st = synth_make_dirs(c->out_dir, t->path, &err);
    if (st == MM_OK) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", c->out_dir, t->path);
        int has_tags = t->tags.title[0] || t->tags.artist[0];
        mm_audio_write_options opt = {.format = t->format, .out_channels = c->channels, .tags = has_tags ? &t->tags : NULL};
        st = mm_audio_write(path, pcm, frames, 2, c->sample_rate, &opt, &err);
    }
    free(pcm);
    res->render_s = t1 - t0;
    res->encode_s = mm_now() - t1;
    res->status = st;
    if (st != MM_OK)
        snprintf(res->message, sizeof res->message, "%s", err.msg);
    mm_log(&j->log, MM_LOG_INFO, "[%zu/%zu] %s  %s %.0f bpm  render %.0f ms  encode %.0f ms%s%s", index + 1,
           c->count, t->path, t->genre->name, res->info.tempo, res->render_s * 1e3, res->encode_s * 1e3,
           st != MM_OK ? "  FAILED: " : "", st != MM_OK ? res->message : "");
}

static void write_manifest_row(FILE *f, const synth_track *t, const track_result *r, const synth_config *c)
{
    static const char *const keys[] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
    fprintf(f, "track\t%zu\t%s\t%s\t%s\t%.3f\t%d\t%d\t%016llx\t%016llx\t%.1f\t%s\t%s\t%d/4\t%d,%d,%d,%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
            t->index, t->path, t->genre->name, t->format, (double)(int64_t)(t->seconds * c->sample_rate + 0.5) / c->sample_rate,
            t->format && strcmp(t->format, "opus") == 0 ? 48000 : c->sample_rate, c->channels,
            (unsigned long long)t->seed, (unsigned long long)r->hash, r->info.tempo, keys[r->info.key % 12],
            r->info.minor ? "minor" : "major", r->info.beats_per_bar, r->info.programs[0], r->info.programs[1],
            r->info.programs[2], r->info.programs[3], r->info.drum_kit, t->tags.title, t->tags.artist, t->tags.album,
            t->tags.date, t->tags.track, t->tags.genre);
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "musicmap-synth: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

int main(int argc, char **argv)
{
    synth_config c = {.count = 0, .seconds_lo = 30, .seconds_hi = 60, .seed = 1, .layout = SYNTH_LAYOUT_FLAT,
                      .sample_rate = 44100, .channels = 2, .soundfont = DEFAULT_SOUNDFONT};
    const char *env_sf = getenv("MUSICMAP_SOUNDFONT");
    if (env_sf && env_sf[0])
        c.soundfont = env_sf;
    int have_count = 0, have_seconds = 0, have_rate = 0, mono = 0;
    char *genre_list = NULL, *format_list = NULL;
    enum { OPT_GENRES = 256, OPT_SECONDS, OPT_SEED, OPT_LAYOUT, OPT_FORMATS, OPT_RATE, OPT_MONO, OPT_MESSY,
           OPT_BROKEN, OPT_THREADS, OPT_SOUNDFONT, OPT_REVERSE, OPT_OUT, OPT_COUNT };
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},         {"count", required_argument, NULL, OPT_COUNT},
        {"genres", required_argument, NULL, OPT_GENRES},   {"seconds", required_argument, NULL, OPT_SECONDS},
        {"seed", required_argument, NULL, OPT_SEED},       {"layout", required_argument, NULL, OPT_LAYOUT},
        {"formats", required_argument, NULL, OPT_FORMATS}, {"rate", required_argument, NULL, OPT_RATE},
        {"mono", no_argument, NULL, OPT_MONO},             {"messy-tags", no_argument, NULL, OPT_MESSY},
        {"broken", no_argument, NULL, OPT_BROKEN},         {"threads", required_argument, NULL, OPT_THREADS},
        {"soundfont", required_argument, NULL, OPT_SOUNDFONT}, {"reverse", no_argument, NULL, OPT_REVERSE},
        {"verbose", no_argument, NULL, 'v'},               {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
        switch (opt) {
        case OPT_OUT: c.out_dir = optarg; break;
        case OPT_COUNT:
            c.count = strtoull(optarg, &end, 10);
            if (*end || c.count == 0 || c.count > 1000000) {
                fprintf(stderr, "musicmap-synth: --count wants a number from 1 to 1000000, not '%s'\n", optarg);
                return 2;
            }
            have_count = 1;
            break;
        case OPT_GENRES: genre_list = optarg; break;
        case OPT_SECONDS:
            if (parse_seconds(optarg, &c.seconds_lo, &c.seconds_hi) != 0) {
                fprintf(stderr, "musicmap-synth: --seconds wants S or LO-HI (0.5 to 3600), not '%s'\n", optarg);
                return 2;
            }
            have_seconds = 1;
            break;
        case OPT_SEED:
            c.seed = strtoull(optarg, &end, 0);
            if (*end || !optarg[0]) {
                fprintf(stderr, "musicmap-synth: --seed wants a number, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_LAYOUT:
            if (strcmp(optarg, "flat") == 0)
                c.layout = SYNTH_LAYOUT_FLAT;
            else if (strcmp(optarg, "gtzan") == 0)
                c.layout = SYNTH_LAYOUT_GTZAN;
            else if (strcmp(optarg, "fma") == 0)
                c.layout = SYNTH_LAYOUT_FMA;
            else {
                fprintf(stderr, "musicmap-synth: --layout is flat, gtzan or fma, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_FORMATS: format_list = optarg; break;
        case OPT_RATE:
            c.sample_rate = (int)strtol(optarg, &end, 10);
            if (*end || c.sample_rate < 8000 || c.sample_rate > 96000) {
                fprintf(stderr, "musicmap-synth: --rate wants 8000 to 96000, not '%s'\n", optarg);
                return 2;
            }
            have_rate = 1;
            break;
        case OPT_MONO: mono = 1; break;
        case OPT_MESSY: c.messy_tags = 1; break;
        case OPT_BROKEN: c.broken = 1; break;
        case OPT_THREADS:
            c.threads = (int)strtol(optarg, &end, 10);
            if (*end || c.threads < 1 || c.threads > 256) {
                fprintf(stderr, "musicmap-synth: --threads wants 1 to 256, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_SOUNDFONT: c.soundfont = optarg; break;
        case OPT_REVERSE: c.reverse = 1; break;
        case 'v': c.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !c.out_dir || !have_count) {
        if (optind < argc)
            fprintf(stderr, "musicmap-synth: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "musicmap-synth: --out and --count are required\n");
        usage(stderr);
        return 2;
    }

    size_t n_all;
    const synth_genre *all = synth_genres(&n_all);
    if (genre_list) {
        const char *names[32];
        if (parse_list(genre_list, names, 32, &c.n_genres) != 0) {
            fprintf(stderr, "musicmap-synth: --genres wants a comma-separated list of at most 32\n");
            return 2;
        }
        for (size_t i = 0; i < c.n_genres; i++) {
            c.genres[i] = synth_genre_find(names[i]);
            if (!c.genres[i]) {
                fprintf(stderr, "musicmap-synth: unknown genre '%s' (known:", names[i]);
                for (size_t k = 0; k < n_all; k++)
                    fprintf(stderr, " %s", all[k].name);
                fputs(")\n", stderr);
                return 2;
            }
        }
    } else {
        for (size_t i = 0; i < n_all; i++)
            c.genres[i] = &all[i];
        c.n_genres = n_all;
    }
    if (format_list) {
        if (parse_list(format_list, c.formats, SYNTH_MAX_FORMATS, &c.n_formats) != 0) {
            fprintf(stderr, "musicmap-synth: --formats wants a comma-separated list\n");
            return 2;
        }
        for (size_t i = 0; i < c.n_formats; i++)
            if (!known_format(c.formats[i])) {
                fprintf(stderr, "musicmap-synth: unknown format '%s' (wav, flac, mp3, ogg, opus, m4a)\n", c.formats[i]);
                return 2;
            }
    } else if (c.layout == SYNTH_LAYOUT_FLAT) {
        static const char *const mix[] = {"mp3", "flac", "ogg", "m4a", "opus", "wav"};
        for (size_t i = 0; i < 6; i++)
            c.formats[i] = mix[i];
        c.n_formats = 6;
    } else {
        c.formats[0] = c.layout == SYNTH_LAYOUT_FMA ? "mp3" : "wav";
        c.n_formats = 1;
    }
    if (c.layout == SYNTH_LAYOUT_GTZAN) {
        if (!have_seconds)
            c.seconds_lo = c.seconds_hi = 30;
        if (!have_rate)
            c.sample_rate = 22050;
        mono = 1;
    }
    c.channels = mono ? 1 : 2;
    if (!c.threads)
        c.threads = mm_cpu_count();
    if ((size_t)c.threads > c.count)
        c.threads = (int)c.count;

    mm_error dir_err;
    /* the output folder and any missing parents, like mkdir -p */
    if (synth_make_dirs(c.out_dir, "-", &dir_err) != MM_OK)
        return fail("%s%s", dir_err.msg, "");
    struct stat sb;
    if (stat(c.soundfont, &sb) != 0)
        return fail("%s: cannot read the SoundFont: %s (install fluid-soundfont-gm or pass --soundfont)",
                    c.soundfont, strerror(errno));

    /* FluidSynth would print warnings itself; keep stderr for our own messages. */
    fluid_set_log_function(FLUID_WARN, NULL, NULL);
    fluid_set_log_function(FLUID_INFO, NULL, NULL);
    fluid_set_log_function(FLUID_DBG, NULL, NULL);
    av_log_set_level(AV_LOG_ERROR); /* encoders report statistics at the info level */

    double start = mm_now();
    synth_track *tracks = calloc(c.count, sizeof *tracks);
    track_result *results = calloc(c.count, sizeof *results);
    synth_renderer **renderers = calloc((size_t)c.threads, sizeof *renderers);
    if (!tracks || !results || !renderers)
        return fail("%s%sout of memory", "", "");
    for (size_t i = 0; i < c.count; i++)
        synth_plan(&c, i, &tracks[i]);
    mm_error err = {0};
    int status = 0;
    pthread_mutex_t sf_lock = PTHREAD_MUTEX_INITIALIZER;
    for (int w = 0; w < c.threads && status == 0; w++)
        if (synth_renderer_open(&renderers[w], c.soundfont, c.sample_rate, &sf_lock, &err) != MM_OK)
            status = fail("%s%s", err.msg, "");
    mm_pool *pool = NULL;
    if (status == 0 && mm_pool_open(&pool, c.threads, &err) != MM_OK)
        status = fail("%s%s", err.msg, "");
    double rendered_at = mm_now();
    if (status == 0) {
        job j = {.config = &c, .tracks = tracks, .results = results, .renderers = renderers,
                 .log = {c.verbose ? MM_LOG_INFO : MM_LOG_ERROR, stderr}};
        mm_pool_for(pool, c.count, render_track, &j);
    }
    mm_pool_close(pool);
    double wall_tracks = mm_now() - rendered_at;

    char manifest_path[2048];
    snprintf(manifest_path, sizeof manifest_path, "%s/%s", c.out_dir, MANIFEST_NAME);
    FILE *manifest = status == 0 ? fopen(manifest_path, "w") : NULL;
    if (status == 0 && !manifest)
        status = fail("%s: cannot create: %s", manifest_path, strerror(errno));
    size_t failed = 0;
    double audio_s = 0, render_s = 0, encode_s = 0;
    if (manifest) {
        fputs("kind\tindex\tpath\tgenre\tformat\tseconds\tsample_rate\tchannels\tseed\tpcm_hash\ttempo\tkey\tmode"
              "\tmeter\tprograms\tdrum_kit\ttitle\tartist\talbum\tdate\ttrack\ttag_genre\n",
              manifest);
        for (size_t i = 0; i < c.count; i++) {
            if (results[i].status != MM_OK) {
                fprintf(stderr, "musicmap-synth: %s\n", results[i].message);
                failed++;
                continue;
            }
            write_manifest_row(manifest, &tracks[i], &results[i], &c);
            audio_s += tracks[i].seconds;
            render_s += results[i].render_s;
            encode_s += results[i].encode_s;
        }
        if (c.layout == SYNTH_LAYOUT_FMA && synth_write_fma_metadata(&c, tracks, c.count, &err) != MM_OK)
            status = fail("%s%s", err.msg, "");
        if (c.broken && status == 0 && synth_write_broken(&c, renderers[0], manifest, &err) != MM_OK)
            status = fail("%s%s", err.msg, "");
        if (fclose(manifest) != 0)
            status = fail("%s: write failed%s", manifest_path, "");
    }
    for (int w = 0; w < c.threads; w++)
        synth_renderer_close(renderers[w]);
    if (failed)
        status = 1;
    size_t done = c.count - failed;
    if (status == 0 || done > 0) {
        double wall = mm_now() - start;
        printf("musicmap-synth: %zu tracks, %.1f s of audio, %.2f s wall on %d threads (%.2f s loading): "
               "%.0f ms/track wall, per track per thread %.0f ms render + %.0f ms encode, %.0fx real time\n",
               done, audio_s, wall, c.threads, rendered_at - start, done ? 1e3 * wall_tracks / (double)done : 0.0,
               done ? 1e3 * render_s / (double)done : 0.0, done ? 1e3 * encode_s / (double)done : 0.0,
               wall_tracks > 0 ? audio_s / wall_tracks : 0.0);
    }
    free(renderers);
    free(results);
    free(tracks);
    return status;
}
