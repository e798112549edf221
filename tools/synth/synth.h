/* musicmap-synth — private interfaces of the generated-collection tool.
 *
 * A track is made in four steps, each in its own file:
 *   layout.c   what the track is: genre, seed, length, format, tags, path (pure function of the index)
 *   arrange.c  the notes: sections, chords, bass, comping, drums, lead, humanisation -> event list
 *   render.c   FluidSynth plays the events offline into float PCM
 *   main.c     the CLI, the thread pool, encoding through mm_audio_write, the manifest
 * genres.c holds the genre definitions as data, broken.c the deliberately bad files. */
#ifndef MM_SYNTH_H
#define MM_SYNTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "musicmap/audio.h"
#include "musicmap/util.h"

/* ---- random numbers: xoshiro256** seeded through splitmix64, one stream per track and purpose ---- */


uint64_t synth_mix(uint64_t a, uint64_t b);
int synth_rng_int(mm_rng *rng, int lo, int hi);     /* [lo, hi] */
double synth_rng_range(mm_rng *rng, double lo, double hi);
double synth_rng_normal(mm_rng *rng);               /* mean 0, sd 1 */
int synth_rng_chance(mm_rng *rng, double p);
int synth_rng_pick(mm_rng *rng, const int *list);   /* list ends with -1 */

/* ---- genres ---- */

typedef enum synth_feel { SYNTH_STRAIGHT, SYNTH_SWING, SYNTH_SHUFFLE, SYNTH_ONE_DROP } synth_feel;

/* One drum lane: a GM percussion key and a pattern over the bar ('X' accent, 'x' hit, 'o' ghost,
 * '.' rest). Every lane of a pattern has the same length: the bar's steps. */
typedef struct synth_lane {
    int key;
    const char *steps;
} synth_lane;

#define SYNTH_MAX_LANES 6
typedef struct synth_drums {
    synth_lane lanes[SYNTH_MAX_LANES];
} synth_drums;

#define SYNTH_MAX_CHOICES 6
typedef struct synth_genre {
    const char *name;     /* GTZAN's name, used in folders and clean tags */
    const char *fma_name; /* FMA's spelling for tracks.csv's genre_top */
    int fma_id;
    const char *const *messy_names; /* variant spellings for --messy-tags */
    double tempo_lo, tempo_hi;
    double waltz_chance; /* of 3/4 */
    synth_feel feel;
    double swing_lo, swing_hi; /* where the off-beat falls in the beat (0.5 straight, 0.67 triplet) */
    double minor_chance;
    const int *keys; /* preferred tonics (pitch classes), -1 ends */
    const char *const *major_progressions; /* roman numerals, one chord per bar; NULL ends */
    const char *const *minor_progressions;
    int chord_beats_choices[3]; /* beats per chord; 0 ends */
    int extended_chords;        /* jazz: sevenths and ninths instead of triads */
    const synth_drums *drums[SYNTH_MAX_CHOICES]; /* NULL ends; none at all: no drums */
    const int *drum_kits;       /* bank-128 programs, -1 ends */
    const char *const *bass_patterns; /* per bar: R root, 3 5 7 8 chord tones, 6, W walk, - hold, . rest */
    const int *bass_programs;
    const char *const *comp_patterns; /* per bar: x hit (held to the next symbol), s stab, a arpeggio */
    const int *comp_programs;
    int comp_power_chords; /* root-fifth-octave voicings low on the neck */
    const int *pad_programs;   /* held chords in choruses; -1 alone: none */
    const int *lead_programs;
    const int *lead_scale_major; /* intervals, -1 ends */
    const int *lead_scale_minor;
    double lead_density;  /* notes per beat, roughly */
    int lead_octave;      /* MIDI note of the lead's centre */
    double velocity;      /* 0..1, the genre's loudness */
    double dynamics;      /* how much the sections and phrases swell */
    double timing_ms;     /* humanisation: spread of note onsets */
    double velocity_jitter;
    double rubato;        /* tempo wander (classical) */
    int reverb;           /* CC91 send */
    double peak;          /* target peak of the mix */
    int year_lo, year_hi;
    const char *const *title_words; /* genre-flavoured words for titles */
} synth_genre;

const synth_genre *synth_genres(size_t *count);
const synth_genre *synth_genre_find(const char *name);

/* ---- events ---- */

typedef enum synth_event_kind { SYNTH_NOTE_OFF = 0, SYNTH_NOTE_ON, SYNTH_CC, SYNTH_PROGRAM, SYNTH_BANK } synth_event_kind;

typedef struct synth_event {
    double time; /* seconds */
    uint32_t seq; /* insertion order: ties keep it */
    uint8_t kind, channel, a, b;
} synth_event;

typedef struct synth_events {
    synth_event *items;
    size_t count, capacity;
    int failed; /* an allocation failed: the list is incomplete */
} synth_events;

void synth_events_add(synth_events *ev, double time, synth_event_kind kind, int channel, int a, int b);
void synth_events_sort(synth_events *ev);
void synth_events_free(synth_events *ev);

/* ---- one track ---- */

typedef enum synth_layout { SYNTH_LAYOUT_FLAT, SYNTH_LAYOUT_GTZAN, SYNTH_LAYOUT_FMA } synth_layout;

#define SYNTH_MAX_FORMATS 8
typedef struct synth_config {
    const char *out_dir;
    size_t count;
    const synth_genre *genres[32];
    size_t n_genres;
    double seconds_lo, seconds_hi;
    uint64_t seed;
    synth_layout layout;
    const char *formats[SYNTH_MAX_FORMATS];
    size_t n_formats;
    int sample_rate;
    int channels;
    int messy_tags;
    int broken;
    int threads;
    int reverse;
    int verbose;
    const char *soundfont;
} synth_config;

typedef struct synth_track {
    size_t index;
    uint64_t seed;
    const synth_genre *genre;
    double seconds;
    const char *format;
    int key, minor; /* tonic pitch class and mode: chosen here so that titles can name them */
    int fma_id;
    int fma_artist_id, fma_album_id;
    int album_tracks;
    char path[1024]; /* relative to out_dir */
    mm_audio_tags tags;
    char split[16]; /* FMA's training/validation/test */
} synth_track;

/* Everything about track `index` that does not need the music: a pure function of (config, index). */
void synth_plan(const synth_config *config, size_t index, synth_track *track);

/* The musical description chosen for the track, for the manifest. */
typedef struct synth_song_info {
    double tempo;
    int key, minor, beats_per_bar;
    int programs[4]; /* bass, comp, lead, pad (-1 none) */
    int drum_kit;    /* -1: no drums */
} synth_song_info;

/* Composes the track into events (sorted), ending at track->seconds. */
mm_status synth_arrange(const synth_track *track, synth_events *events, synth_song_info *info, mm_error *err);

/* ---- rendering ---- */

typedef struct synth_renderer synth_renderer;
/* lock: shared by all renderers of the process (FluidSynth's SoundFont loading is serialised). */
mm_status synth_renderer_open(synth_renderer **out, const char *soundfont, int sample_rate, pthread_mutex_t *lock,
                              mm_error *err);
void synth_renderer_close(synth_renderer *r);
/* Plays the events into interleaved stereo float, frames long, on a fresh synthesiser: the result
 * depends on nothing the renderer played before. */
mm_status synth_render(synth_renderer *r, const synth_events *events, int64_t frames, float *stereo, mm_error *err);

/* Levels the mix to a peak, fades in over 5 ms and out over fade_s: what mastering and the end of
 * an excerpt do. */
void synth_finish(float *stereo, int64_t frames, int rate, double peak, double fade_s);

/* FNV-1a over the PCM's bytes: the reproducibility fingerprint. */
uint64_t synth_pcm_hash(const float *pcm, size_t count);

/* ---- output ---- */

mm_status synth_make_dirs(const char *root, const char *relative_file, mm_error *err);
mm_status synth_write_fma_metadata(const synth_config *config, const synth_track *tracks, size_t n, mm_error *err);
/* Adds the bad files; appends a line per file to the manifest stream. */
mm_status synth_write_broken(const synth_config *config, synth_renderer *r, FILE *manifest, mm_error *err);

#endif
