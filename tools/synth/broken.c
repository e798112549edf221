/* --broken: the bad files real libraries contain, so that the catalog's scanner can be tested on
 * them. Each kind is made from a short real rendering (or from nothing) and listed in the manifest
 * with its kind, so tests know what to expect of each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

typedef struct broken_ctx {
    const synth_config *config;
    FILE *manifest;
    const char *dir; /* relative folder for the bad files */
    const char *stem; /* file-name prefix */
} broken_ctx;

static void full_path(const broken_ctx *b, const char *name, char *out, size_t size, char *rel, size_t rel_size)
{
    snprintf(rel, rel_size, "%s%s%s", b->dir, b->dir[0] ? "/" : "", name);
    snprintf(out, size, "%s/%s", b->config->out_dir, rel);
}

static void list(const broken_ctx *b, const char *rel, const char *kind, const char *format, double seconds)
{
    fprintf(b->manifest, "%s\t-\t%s\t-\t%s\t%.3f\n", kind, rel, format, seconds);
}

static mm_status write_bytes(const char *path, const void *data, size_t size, mm_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t wrote = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || wrote != size)
        return mm_error_set(err, MM_ERR_IO, "%s: write failed", path);
    return MM_OK;
}

static mm_status encode(const broken_ctx *b, const char *name, const char *format, const float *pcm, int64_t frames,
                        const mm_audio_tags *tags, const char *kind, mm_error *err)
{
    char path[2048], rel[1024];
    full_path(b, name, path, sizeof path, rel, sizeof rel);
    mm_audio_write_options opt = {.format = format, .out_channels = b->config->channels, .tags = tags};
    mm_status st = mm_audio_write(path, pcm, frames, 2, b->config->sample_rate, &opt, err);
    if (st == MM_OK)
        list(b, rel, kind, format, (double)frames / b->config->sample_rate);
    return st;
}

/* Cuts a file to a fraction of its size, mid-frame. */
static mm_status truncate_to(const char *path, double fraction, mm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    if (truncate(path, (off_t)((double)size * fraction)) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot truncate: %s", path, strerror(errno));
    return MM_OK;
}

/* Makes a WAV's RIFF and data sizes claim ten times the audio the file holds. */
static mm_status lie_in_header(const char *path, mm_error *err)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    mm_status st = mm_error_set(err, MM_ERR_INTERNAL, "%s: no data chunk found", path);
    for (size_t i = 12; i + 8 <= n; i++) {
        if (memcmp(head + i, "data", 4) != 0)
            continue;
        uint32_t size = (uint32_t)head[i + 4] | (uint32_t)head[i + 5] << 8 | (uint32_t)head[i + 6] << 16 |
                        (uint32_t)head[i + 7] << 24;
        uint32_t lie = size * 10u;
        uint32_t riff = lie + (uint32_t)i;
        unsigned char b[4] = {(unsigned char)lie, (unsigned char)(lie >> 8), (unsigned char)(lie >> 16),
                              (unsigned char)(lie >> 24)};
        unsigned char r[4] = {(unsigned char)riff, (unsigned char)(riff >> 8), (unsigned char)(riff >> 16),
                              (unsigned char)(riff >> 24)};
        fseek(f, (long)i + 4, SEEK_SET);
        fwrite(b, 1, 4, f);
        fseek(f, 4, SEEK_SET);
        fwrite(r, 1, 4, f);
        st = MM_OK;
        break;
    }
    if (fclose(f) != 0 && st == MM_OK)
        st = mm_error_set(err, MM_ERR_IO, "%s: write failed", path);
    return st;
}

mm_status synth_write_broken(const synth_config *config, synth_renderer *r, FILE *manifest, mm_error *err)
{
    broken_ctx b = {.config = config, .manifest = manifest};
    char dir[256];
    const char *ext = config->layout == SYNTH_LAYOUT_GTZAN ? "wav" : "mp3";
    switch (config->layout) {
    case SYNTH_LAYOUT_GTZAN:
        snprintf(dir, sizeof dir, "genres/%s", config->genres[0]->name);
        b.stem = config->genres[0]->name;
        break;
    case SYNTH_LAYOUT_FMA:
        snprintf(dir, sizeof dir, "fma_audio/999");
        b.stem = "9999";
        break;
    default:
        dir[0] = '\0';
        b.stem = "broken";
        break;
    }
    b.dir = dir;
    char probe[300];
    snprintf(probe, sizeof probe, "%s%sx", dir, dir[0] ? "/" : "");
    mm_status st = synth_make_dirs(config->out_dir, probe, err);
    if (st != MM_OK)
        return st;

    /* Six seconds of real music to damage: a track past the end of the collection. */
    synth_track t;
    synth_plan(config, config->count + 100000, &t);
    t.seconds = 6.0;
    synth_events ev = {0};
    synth_song_info info;
    st = synth_arrange(&t, &ev, &info, err);
    int64_t frames = (int64_t)(t.seconds * config->sample_rate);
    float *pcm = st == MM_OK ? calloc((size_t)frames * 2, sizeof(float)) : NULL;
    if (st == MM_OK && !pcm)
        st = mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    if (st == MM_OK)
        st = synth_render(r, &ev, frames, pcm, err);
    synth_events_free(&ev);
    if (st != MM_OK) {
        free(pcm);
        return st;
    }
    synth_finish(pcm, frames, config->sample_rate, 0.8, 0.05);
    const mm_audio_tags *tags = config->layout == SYNTH_LAYOUT_GTZAN ? NULL : &t.tags;
    char name[256], path[2048], rel[1024];

    /* truncated: a good file cut at 40 %, mid-frame */
    snprintf(name, sizeof name, "%s.90001-truncated.%s", b.stem, ext);
    full_path(&b, name, path, sizeof path, rel, sizeof rel);
    mm_audio_write_options opt = {.out_channels = config->channels, .tags = tags};
    st = mm_audio_write(path, pcm, frames, 2, config->sample_rate, &opt, err);
    if (st == MM_OK)
        st = truncate_to(path, 0.4, err);
    if (st == MM_OK)
        list(&b, rel, "broken-truncated", ext, t.seconds);

    /* zero bytes */
    if (st == MM_OK) {
        snprintf(name, sizeof name, "%s.90002-empty.%s", b.stem, ext);
        full_path(&b, name, path, sizeof path, rel, sizeof rel);
        st = write_bytes(path, "", 0, err);
        if (st == MM_OK)
            list(&b, rel, "broken-empty", ext, 0);
    }
    /* wrong extension: FLAC data behind the layout's extension (decodable: the content decides) */
    if (st == MM_OK) {
        snprintf(name, sizeof name, "%s.90003-wrong-extension.%s", b.stem, ext);
        st = encode(&b, name, "flac", pcm, frames, tags, "broken-wrong-extension", err);
    }
    /* lying header: a WAV whose header claims ten times the audio it holds */
    if (st == MM_OK) {
        snprintf(name, sizeof name, "%s.90004-lying-header.wav", b.stem);
        full_path(&b, name, path, sizeof path, rel, sizeof rel);
        mm_audio_write_options wav = {.format = "wav", .out_channels = config->channels, .tags = tags};
        st = mm_audio_write(path, pcm, frames, 2, config->sample_rate, &wav, err);
        if (st == MM_OK)
            st = lie_in_header(path, err);
        if (st == MM_OK)
            list(&b, rel, "broken-lying-header", "wav", t.seconds);
    }
    /* tiny: half a second of valid audio */
    if (st == MM_OK) {
        snprintf(name, sizeof name, "%s.90005-tiny.%s", b.stem, ext);
        int64_t tiny = config->sample_rate / 2;
        synth_finish(pcm, tiny, config->sample_rate, 0.8, 0.05);
        st = encode(&b, name, ext, pcm, tiny, tags, "broken-tiny", err);
    }
    /* a valid file whose name is not UTF-8 (Latin-1 "café"), as old libraries have */
    if (st == MM_OK) {
        snprintf(name, sizeof name, "%s.90006-caf\xe9.%s", b.stem, ext);
        st = encode(&b, name, ext, pcm, frames, tags, "broken-non-utf8-name", err);
    }
    /* not audio at all, with an audio extension */
    if (st == MM_OK) {
        static const char text[] = "These are the liner notes, saved with the wrong name.\n";
        snprintf(name, sizeof name, "%s.90007-not-audio.%s", b.stem, ext);
        full_path(&b, name, path, sizeof path, rel, sizeof rel);
        st = write_bytes(path, text, sizeof text - 1, err);
        if (st == MM_OK)
            list(&b, rel, "broken-not-audio", ext, 0);
    }
    free(pcm);
    return st;
}
