/* What each track is, before any music: genre, seed, length, format, names, tags and where it goes.
 * Everything is a pure function of (seed, genre list, index), so `--count 10` and `--count 20`
 * describe their first ten tracks identically. Artists and albums belong to a genre: an artist has
 * one to three albums of three to eight tracks, as in a real library. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "synth.h"

static const char *const first_names[] = {
    "Ada", "Ben", "Clara", "Dexter", "Ella", "Felix", "Grace", "Hank", "Iris", "Jack", "Kara", "Leon",
    "Mabel", "Nate", "Olive", "Percy", "Quinn", "Ruby", "Sam", "Tess", "Vera", "Wade", "Yara", "Zeke",
    "José", "Zoë", "Søren", "Anaïs", "Jürgen", "Rosa", "Otis", "Nina", "Curtis", "Etta", "Miles", "June"};
static const char *const last_names[] = {
    "Abbott", "Baker", "Carter", "Dalton", "Ellis", "Fletcher", "Gaines", "Harlow", "Ingram", "Jensen",
    "Keller", "Lowry", "Monroe", "Nash", "Oakley", "Price", "Quarles", "Reyes", "Sutton", "Tate",
    "Underwood", "Vance", "Whitaker", "Young", "Novák", "Lindqvist", "Moreau", "Okafor", "Brandt", "Castillo"};
static const char *const adjectives[] = {
    "Silver", "Broken", "Crimson", "Velvet", "Electric", "Lonely", "Golden", "Hollow", "Restless", "Wild",
    "Quiet", "Burning", "Faded", "Northern", "Secret", "Endless", "Bitter", "Lucky", "Paper", "Blue"};
static const char *const nouns[] = {
    "River", "Heart", "Road", "Shadow", "Garden", "Mirror", "Signal", "Harbor", "Window", "Machine",
    "Letter", "Satellite", "Lantern", "Canyon", "Echo", "Horizon", "Avenue", "Diamond", "Ocean", "Ghost"};
static const char *const band_nouns[] = {
    "Wolves", "Rebels", "Comets", "Saints", "Drifters", "Ravens", "Kings", "Strangers", "Tigers", "Lights",
    "Outlaws", "Sparrows", "Pilots", "Dreamers", "Vipers", "Monarchs"};
static const char *const cities[] = {"Vienna", "Leipzig", "Prague", "Boston", "Lyon", "Turin", "Bergen", "Kraków"};
static const char *const key_names[] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};

#define PICK(rng, list) (list)[synth_rng_int((rng), 0, (int)(sizeof(list) / sizeof((list)[0])) - 1)]

static const char *pick_word(mm_rng *rng, const char *const *list)
{
    int n = 0;
    while (list[n])
        n++;
    return list[synth_rng_int(rng, 0, n - 1)];
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void artist_name(const synth_genre *g, mm_rng *rng, char *out, size_t size)
{
    const char *first = PICK(rng, first_names), *last = PICK(rng, last_names);
    int style = synth_rng_int(rng, 0, 3);
    switch (g->name[0] == 'h' ? 'h' : g->name[0] == 'c' && g->name[1] == 'l' ? 'C' : g->name[0]) {
    case 'C': /* classical */
        if (style == 0)
            snprintf(out, size, "%s Philharmonic", PICK(rng, cities));
        else if (style == 1)
            snprintf(out, size, "%s String Quartet", last);
        else
            snprintf(out, size, "%s %s", first, last);
        return;
    case 'j':
        snprintf(out, size, "%s %s%s", first, last, style == 0 ? " Quartet" : style == 1 ? " Trio" : "");
        return;
    case 'b': {
        static const char *const nick[] = {"Blind", "Big", "Little", "Slim", "Lightnin'", "Howlin'"};
        if (style < 2)
            snprintf(out, size, "%s %s %s", PICK(rng, nick), first, last);
        else
            snprintf(out, size, "%s %s & the %s", first, last, PICK(rng, band_nouns));
        return;
    }
    case 'h': {
        static const char *const prefix[] = {"MC", "DJ", "Lil", "Young"};
        if (style < 2)
            snprintf(out, size, "%s %s", PICK(rng, prefix), pick_word(rng, g->title_words));
        else
            snprintf(out, size, "%s %s", pick_word(rng, g->title_words), PICK(rng, band_nouns));
        return;
    }
    default:
        if (style == 0)
            snprintf(out, size, "%s %s", first, last);
        else if (style == 1)
            snprintf(out, size, "%s %s & the %s", first, last, PICK(rng, band_nouns));
        else
            snprintf(out, size, "The %s %s", style == 2 ? PICK(rng, adjectives) : pick_word(rng, g->title_words),
                     PICK(rng, band_nouns));
    }
}

static void title_text(const synth_genre *g, const synth_track *t, mm_rng *rng, char *out, size_t size)
{
    if (strcmp(g->name, "classical") == 0) {
        snprintf(out, size, "%s No. %d in %s %s", pick_word(rng, g->title_words), synth_rng_int(rng, 1, 12),
                 key_names[t->key], t->minor ? "minor" : "major");
        return;
    }
    switch (synth_rng_int(rng, 0, 4)) {
    case 0: snprintf(out, size, "%s %s", PICK(rng, adjectives), pick_word(rng, g->title_words)); break;
    case 1: snprintf(out, size, "%s %s", pick_word(rng, g->title_words), PICK(rng, nouns)); break;
    case 2: snprintf(out, size, "%s of the %s", PICK(rng, nouns), pick_word(rng, g->title_words)); break;
    case 3: snprintf(out, size, "%s", pick_word(rng, g->title_words)); break;
    default: snprintf(out, size, "%s %s", PICK(rng, adjectives), PICK(rng, nouns)); break;
    }
}

/* Names go into paths: keep them portable (no separators or shell-hostile characters). */
static void sanitise(char *s)
{
    for (; *s; s++)
        if (strchr("/\\:*?\"<>|\t\n", *s))
            *s = '_';
}

void synth_plan(const synth_config *config, size_t index, synth_track *t)
{
    memset(t, 0, sizeof *t);
    size_t ng = config->n_genres;
    size_t genre_index = index % ng;
    size_t j = index / ng; /* position within the genre */
    const synth_genre *g = config->genres[genre_index];
    t->index = index;
    t->genre = g;
    t->seed = synth_mix(config->seed, index);
    mm_rng rng;
    mm_rng_seed(&rng, synth_mix(t->seed, 1));
    t->seconds = config->seconds_hi > config->seconds_lo
                     ? (double)(int)(synth_rng_range(&rng, config->seconds_lo, config->seconds_hi) * 10.0) / 10.0
                     : config->seconds_lo;
    t->key = synth_rng_pick(&rng, g->keys);
    t->minor = synth_rng_chance(&rng, g->minor_chance);
    /* Formats take turns within a genre (each genre gets each format equally often) and start at a
     * different one per genre, so that no format stands for a genre. */
    t->format = config->formats[(j + genre_index) % config->n_formats];

    /* Which album (and artist) of this genre the track belongs to. */
    uint64_t gseed = synth_mix(config->seed, name_hash(g->name));
    size_t album = 0, first = 0;
    int size;
    for (;;) {
        size = 3 + (int)(synth_mix(gseed, album) % 6);
        if (j < first + (size_t)size)
            break;
        first += (size_t)size;
        album++;
    }
    size_t artist = 0, artist_first_album = 0;
    for (;;) {
        size_t albums = 1 + synth_mix(gseed, 100000 + artist) % 3;
        if (album < artist_first_album + albums)
            break;
        artist_first_album += albums;
        artist++;
    }
    t->album_tracks = size;
    mm_rng names;
    mm_rng_seed(&names, synth_mix(gseed, 200000 + artist));
    artist_name(g, &names, t->tags.artist, sizeof t->tags.artist);
    int year = synth_rng_int(&names, g->year_lo, g->year_hi - 4) + 2 * (int)(album - artist_first_album);
    mm_rng_seed(&names, synth_mix(gseed, 300000 + album));
    switch (synth_rng_int(&names, 0, 2)) {
    case 0: snprintf(t->tags.album, sizeof t->tags.album, "%s %s", PICK(&names, adjectives), PICK(&names, nouns)); break;
    case 1: snprintf(t->tags.album, sizeof t->tags.album, "%s", pick_word(&names, g->title_words)); break;
    default: snprintf(t->tags.album, sizeof t->tags.album, "The %s Sessions", pick_word(&names, g->title_words)); break;
    }
    int number = (int)(j - first) + 1;
    title_text(g, t, &rng, t->tags.title, sizeof t->tags.title);
    snprintf(t->tags.genre, sizeof t->tags.genre, "%s", g->name);
    snprintf(t->tags.date, sizeof t->tags.date, "%d", year);
    snprintf(t->tags.track, sizeof t->tags.track, "%d", number);
    if (config->messy_tags) {
        /* What real libraries look like: variant spellings, missing genres, full dates, "n/total". */
        double r = mm_rng_uniform(&rng);
        if (r < 0.05)
            t->tags.genre[0] = '\0';
        else if (r < 0.25)
            snprintf(t->tags.genre, sizeof t->tags.genre, "%s", pick_word(&rng, g->messy_names));
        if (synth_rng_chance(&rng, 0.15))
            snprintf(t->tags.date, sizeof t->tags.date, "%d-%02d-%02d", year, synth_rng_int(&rng, 1, 12),
                     synth_rng_int(&rng, 1, 28));
        if (synth_rng_chance(&rng, 0.2))
            snprintf(t->tags.track, sizeof t->tags.track, "%d/%d", number, size);
    }
    double r = mm_rng_uniform(&rng);
    snprintf(t->split, sizeof t->split, "%s", r < 0.8 ? "training" : r < 0.9 ? "validation" : "test");
    t->fma_id = 2 + (int)index * 4 + (int)(synth_mix(t->seed, 7) % 4);
    t->fma_artist_id = (int)(genre_index * 1000 + artist + 1);
    t->fma_album_id = (int)(genre_index * 10000 + album + 1);

    char artist_file[MM_TAG_MAX], title_file[MM_TAG_MAX];
    snprintf(artist_file, sizeof artist_file, "%s", t->tags.artist);
    snprintf(title_file, sizeof title_file, "%s", t->tags.title);
    sanitise(artist_file);
    sanitise(title_file);
    switch (config->layout) {
    case SYNTH_LAYOUT_GTZAN:
        snprintf(t->path, sizeof t->path, "genres/%s/%s.%05zu.%s", g->name, g->name, j, t->format);
        /* GTZAN's files carry no tags: the folder is the label. */
        memset(&t->tags, 0, sizeof t->tags);
        break;
    case SYNTH_LAYOUT_FMA:
        snprintf(t->path, sizeof t->path, "fma_audio/%03d/%06d.%s", t->fma_id / 1000, t->fma_id, t->format);
        break;
    default:
        snprintf(t->path, sizeof t->path, "%04zu %s - %s.%s", index + 1, artist_file, title_file, t->format);
        break;
    }
}

mm_status synth_make_dirs(const char *root, const char *relative_file, mm_error *err)
{
    char path[2048];
    int n = snprintf(path, sizeof path, "%s/%s", root, relative_file);
    if (n < 0 || (size_t)n >= sizeof path)
        return mm_error_set(err, MM_ERR_ARG, "%s/%s: path too long", root, relative_file);
    char *slash = strrchr(path, '/');
    if (slash)
        *slash = '\0';
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return mm_error_set(err, MM_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
    return MM_OK;
}

/* ------------------------------------------------------------------------------------- FMA metadata */

static void csv_field(FILE *f, const char *s)
{
    fputc(',', f);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_int(FILE *f, long long v)
{
    fprintf(f, ",%lld", v);
}

/* FMA's tracks.csv: a three-row header (top-level group, field name, then the index name) and 52
 * columns in the real file's order. The fields we have no data for are left empty or zero, as
 * they often are in the real file. */
static const char *const fma_groups[] = {"album", "artist", "set", "track"};
static const int fma_group_sizes[] = {13, 17, 2, 20};
static const char *const fma_fields[] = {
    /* album */ "comments", "date_created", "date_released", "engineer", "favorites", "id", "information",
    "listens", "producer", "tags", "title", "tracks", "type",
    /* artist */ "active_year_begin", "active_year_end", "associated_labels", "bio", "comments", "date_created",
    "favorites", "id", "latitude", "location", "longitude", "members", "name", "related_projects", "tags",
    "website", "wikipedia_page",
    /* set */ "split", "subset",
    /* track */ "bit_rate", "comments", "composer", "date_created", "date_recorded", "duration", "favorites",
    "genre_top", "genres", "genres_all", "information", "interest", "language_code", "license", "listens",
    "lyricist", "number", "publisher", "tags", "title"};

static void fma_row(FILE *f, const synth_track *t, const mm_audio_tags *tags)
{
    char buf[64], genres[32];
    const char *year = tags->date;
    snprintf(genres, sizeof genres, "[%d]", t->genre->fma_id);
    fprintf(f, "%d", t->fma_id);
    /* album */
    csv_int(f, 0);
    snprintf(buf, sizeof buf, "2008-11-26 01:%02d:%02d", (t->fma_album_id / 60) % 60, t->fma_album_id % 60);
    csv_field(f, buf);
    snprintf(buf, sizeof buf, "%.4s-01-05 00:00:00", year);
    csv_field(f, buf);
    csv_field(f, "");
    csv_int(f, t->fma_album_id % 7);
    csv_int(f, t->fma_album_id);
    csv_field(f, "");
    csv_int(f, 100 + (int)(synth_mix(t->seed, 11) % 5000));
    csv_field(f, "");
    csv_field(f, "[]");
    csv_field(f, tags->album);
    csv_int(f, t->album_tracks);
    csv_field(f, "Album");
    /* artist */
    csv_field(f, year);
    csv_field(f, "");
    csv_field(f, "");
    csv_field(f, "");
    csv_int(f, 0);
    csv_field(f, "2008-11-26 01:42:32");
    csv_int(f, t->fma_artist_id % 11);
    csv_int(f, t->fma_artist_id);
    csv_field(f, "");
    csv_field(f, "");
    csv_field(f, "");
    csv_field(f, "");
    csv_field(f, tags->artist);
    csv_field(f, "");
    csv_field(f, "[]");
    csv_field(f, "");
    csv_field(f, "");
    /* set */
    csv_field(f, t->split);
    csv_field(f, "small");
    /* track */
    csv_int(f, 256000);
    csv_int(f, 0);
    csv_field(f, "");
    csv_field(f, "2008-11-26 01:48:12");
    csv_field(f, "");
    csv_int(f, (long long)(t->seconds + 0.5));
    csv_int(f, (int)(synth_mix(t->seed, 12) % 20));
    csv_field(f, t->genre->fma_name);
    csv_field(f, genres);
    csv_field(f, genres);
    csv_field(f, "");
    csv_int(f, 1000 + (int)(synth_mix(t->seed, 13) % 9000));
    csv_field(f, "en");
    csv_field(f, "Attribution-NonCommercial-ShareAlike 3.0 International");
    csv_int(f, 500 + (int)(synth_mix(t->seed, 14) % 5000));
    csv_field(f, "");
    csv_field(f, tags->track);
    csv_field(f, "");
    csv_field(f, "[]");
    csv_field(f, tags->title);
    fputc('\n', f);
}

mm_status synth_write_fma_metadata(const synth_config *config, const synth_track *tracks, size_t n, mm_error *err)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/fma_metadata/tracks.csv", config->out_dir);
    mm_status st = synth_make_dirs(config->out_dir, "fma_metadata/tracks.csv", err);
    if (st != MM_OK)
        return st;
    FILE *f = fopen(path, "w");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < fma_group_sizes[g]; k++)
            fprintf(f, ",%s", fma_groups[g]);
    fputc('\n', f);
    for (size_t k = 0; k < sizeof fma_fields / sizeof fma_fields[0]; k++)
        fprintf(f, ",%s", fma_fields[k]);
    fputc('\n', f);
    fputs("track_id", f);
    for (size_t k = 0; k < sizeof fma_fields / sizeof fma_fields[0]; k++)
        fputc(',', f);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        /* The metadata keeps the clean tags even when the files carry messy ones. */
        synth_config clean = *config;
        clean.messy_tags = 0;
        synth_track plain;
        synth_plan(&clean, tracks[i].index, &plain);
        fma_row(f, &tracks[i], &plain.tags);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return mm_error_set(err, MM_ERR_IO, "%s: write failed", path);

    /* genres.csv: genre_id,#tracks,parent,title,top_level, as in the real metadata. */
    snprintf(path, sizeof path, "%s/fma_metadata/genres.csv", config->out_dir);
    f = fopen(path, "w");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fputs("genre_id,#tracks,parent,title,top_level\n", f);
    for (size_t g = 0; g < config->n_genres; g++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            count += tracks[i].genre == config->genres[g];
        const synth_genre *ge = config->genres[g];
        fprintf(f, "%d,%zu,0,%s,%d\n", ge->fma_id, count, ge->fma_name, ge->fma_id);
    }
    bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return mm_error_set(err, MM_ERR_IO, "%s: write failed", path);
    return MM_OK;
}
