/* The arrangement engine: from a genre's rules and a track's seed to a sorted list of MIDI events.
 *
 * A song is a sequence of sections (intro, verse, chorus, bridge) laid on a bar grid. Every section
 * has a chord progression; each part (drums, bass, comping, pad, lead) turns the chords into notes
 * through the genre's per-bar step patterns. Time runs in beats, is bent by the feel (swing,
 * shuffle) and by rubato, then converted to seconds and humanised (onset and velocity jitter). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

enum { CH_BASS = 0, CH_COMP = 1, CH_LEAD = 2, CH_PAD = 3, CH_DRUMS = 9 };

/* ------------------------------------------------------------------------------------------ events */

void synth_events_add(synth_events *ev, double time, synth_event_kind kind, int channel, int a, int b)
{
    if (ev->failed)
        return;
    if (ev->count == ev->capacity) {
        size_t cap = ev->capacity ? ev->capacity * 2 : 4096;
        synth_event *items = realloc(ev->items, cap * sizeof *items);
        if (!items) {
            ev->failed = 1;
            return;
        }
        ev->items = items;
        ev->capacity = cap;
    }
    synth_event *e = &ev->items[ev->count];
    e->time = time < 0 ? 0 : time;
    e->seq = (uint32_t)ev->count;
    e->kind = (uint8_t)kind;
    e->channel = (uint8_t)channel;
    e->a = (uint8_t)(a < 0 ? 0 : a > 127 ? 127 : a);
    e->b = (uint8_t)(b < 0 ? 0 : b > 127 ? 127 : b);
    ev->count++;
}

/* At equal times: bank and program first, then controllers, note-offs, note-ons; then insertion
 * order. A total order, so qsort's instability cannot change the result. */
static int kind_rank(int kind)
{
    static const int rank[] = {[SYNTH_BANK] = 0, [SYNTH_PROGRAM] = 1, [SYNTH_CC] = 2, [SYNTH_NOTE_OFF] = 3,
                               [SYNTH_NOTE_ON] = 4};
    return rank[kind];
}

static int event_cmp(const void *pa, const void *pb)
{
    const synth_event *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
    if (ra != rb)
        return ra - rb;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void synth_events_sort(synth_events *ev)
{
    if (ev->count > 1)
        qsort(ev->items, ev->count, sizeof *ev->items, event_cmp);
}

void synth_events_free(synth_events *ev)
{
    free(ev->items);
    memset(ev, 0, sizeof *ev);
}

/* ------------------------------------------------------------------------------------------ harmony */

typedef enum quality {
    Q_MAJ, Q_MIN, Q_DOM7, Q_MAJ7, Q_MIN7, Q_POWER, Q_DIM, Q_HALF_DIM, Q_SUS4, Q_MAJ6, Q_DOM9, Q_MIN9
} quality;

static const int quality_tones[][6] = {
    [Q_MAJ] = {0, 4, 7, -1},       [Q_MIN] = {0, 3, 7, -1},          [Q_DOM7] = {0, 4, 7, 10, -1},
    [Q_MAJ7] = {0, 4, 7, 11, -1},  [Q_MIN7] = {0, 3, 7, 10, -1},     [Q_POWER] = {0, 7, 12, -1},
    [Q_DIM] = {0, 3, 6, -1},       [Q_HALF_DIM] = {0, 3, 6, 10, -1}, [Q_SUS4] = {0, 5, 7, -1},
    [Q_MAJ6] = {0, 4, 7, 9, -1},   [Q_DOM9] = {0, 4, 10, 14, -1},    [Q_MIN9] = {0, 3, 10, 14, -1},
};

typedef struct chord {
    int root; /* semitones above the tonic */
    quality q;
} chord;

#define MAX_CHORDS 16

static int tone_count(quality q)
{
    int n = 0;
    while (n < 6 && quality_tones[q][n] >= 0)
        n++;
    return n;
}

/* Roman numerals: an optional b/# then I..VII (upper case major, lower case minor), then a suffix:
 * 7 (dominant / minor seventh), M7, 5 (power chord), o (diminished), s (sus4), 6, 9. */
static int parse_progression(const char *text, chord *out)
{
    int n = 0;
    const char *p = text;
    while (*p && n < MAX_CHORDS) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        int shift = 0;
        if (*p == 'b' || *p == '#')
            shift = *p++ == 'b' ? -1 : 1;
        int lower = *p == 'i' || *p == 'v';
        char numeral[8] = {0};
        int len = 0;
        while ((*p == 'I' || *p == 'V' || *p == 'i' || *p == 'v') && len < 7)
            numeral[len++] = (char)(*p++ == 'i' || p[-1] == 'I' ? 'I' : 'V');
        static const char *const names[] = {"I", "II", "III", "IV", "V", "VI", "VII"};
        static const int degrees[] = {0, 2, 4, 5, 7, 9, 11};
        int root = 0;
        for (int i = 0; i < 7; i++)
            if (strcmp(numeral, names[i]) == 0)
                root = degrees[i];
        quality q = lower ? Q_MIN : Q_MAJ;
        if (strncmp(p, "M7", 2) == 0) {
            q = Q_MAJ7;
            p += 2;
        } else if (*p == '7') {
            q = lower ? Q_MIN7 : Q_DOM7;
            p++;
        } else if (*p == '5') {
            q = Q_POWER;
            p++;
        } else if (*p == 'o') {
            q = Q_DIM;
            p++;
        } else if (*p == 's') {
            q = Q_SUS4;
            p++;
        } else if (*p == '6') {
            q = Q_MAJ6;
            p++;
        } else if (*p == '9') {
            q = lower ? Q_MIN9 : Q_DOM9;
            p++;
        }
        while (*p && *p != ' ')
            p++;
        out[n].root = (root + shift + 12) % 12;
        out[n].q = q;
        n++;
    }
    return n;
}

/* Jazz and disco colour plain triads: sevenths everywhere, some ninths. */
static void extend_chords(chord *c, int n, mm_rng *rng)
{
    for (int i = 0; i < n; i++) {
        switch (c[i].q) {
        case Q_MAJ: c[i].q = synth_rng_chance(rng, 0.3) ? Q_MAJ6 : Q_MAJ7; break;
        case Q_MIN: c[i].q = Q_MIN7; break;
        case Q_DIM: c[i].q = Q_HALF_DIM; break;
        case Q_DOM7: c[i].q = synth_rng_chance(rng, 0.4) ? Q_DOM9 : Q_DOM7; break;
        case Q_MIN7: c[i].q = synth_rng_chance(rng, 0.3) ? Q_MIN9 : Q_MIN7; break;
        default: break;
        }
    }
}

/* ------------------------------------------------------------------------------------------ song */

typedef enum section_kind { SEC_INTRO, SEC_VERSE, SEC_CHORUS, SEC_BRIDGE } section_kind;

typedef struct section {
    section_kind kind;
    double start; /* beat */
    int bars;
    const chord *chords;
    int n_chords;
    double gain; /* dynamics of the section */
    int drums, bass, comp, pad, lead;
    int last; /* no fill at its end */
} section;

typedef struct song {
    const synth_genre *g;
    const synth_track *track;
    mm_rng rng;
    synth_events *ev;
    double seconds;
    double tempo;
    double beat_s; /* seconds per beat */
    int key;
    int minor;
    int beats;            /* per bar */
    double swing;         /* where the off-beat falls, 0.5 = straight */
    double swing_unit;    /* beats per swung pair: 1 = eighths, 0.5 = sixteenths */
    double rubato;
    double rubato_period; /* beats */
    int chord_beats;
    chord verse[MAX_CHORDS], chorus[MAX_CHORDS], bridge[MAX_CHORDS];
    int n_verse, n_chorus, n_bridge;
    const synth_drums *groove;
    const char *bass_pattern, *comp_pattern, *chorus_comp_pattern;
    const int *scale;
    int power_chords;
    int arp_style;
    int has_pad;
    double lead_density;
    int lead_center;
    int comp_center;
    double comp_mean; /* voice leading memory */
    int bass_prev;
    synth_song_info *info;
} song;

/* The feel: off-beats move later within each swing unit. */
static double swing_beat(const song *s, double beat)
{
    if (s->swing <= 0.5)
        return beat;
    double u = s->swing_unit;
    double cell = floor(beat / u);
    double f = beat / u - cell;
    double r = s->swing;
    double g = f < 0.5 ? f * 2.0 * r : r + (f - 0.5) * 2.0 * (1.0 - r);
    return (cell + g) * u;
}

/* Beats to seconds, with rubato as a slow tempo wave: t'(b) = beat_s (1 + depth cos(...)) > 0. */
static double beat_time(const song *s, double beat)
{
    double b = swing_beat(s, beat);
    double t = b;
    if (s->rubato > 0) {
        double w = 6.283185307179586 / s->rubato_period;
        t = b + s->rubato * sin(w * b) / w;
    }
    return 0.02 + t * s->beat_s;
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One note with humanisation; `tight` scales the timing spread (drums and bass sit tighter). */
static void note(song *s, int channel, int key, double velocity, double beat, double length, double tight)
{
    double jitter = s->g->timing_ms * 0.001 * tight;
    double on = beat_time(s, beat) + jitter * synth_rng_normal(&s->rng);
    double off = beat_time(s, beat + length) + 0.5 * jitter * synth_rng_normal(&s->rng) - 0.004;
    if (off < on + 0.03)
        off = on + 0.03;
    double v = velocity * (1.0 + s->g->velocity_jitter * synth_rng_normal(&s->rng));
    if (on >= s->seconds)
        return;
    while (key < 0)
        key += 12;
    while (key > 127)
        key -= 12;
    synth_events_add(s->ev, on, SYNTH_NOTE_ON, channel, key, clamp_int((int)lround(v * 127.0), 8, 127));
    synth_events_add(s->ev, off, SYNTH_NOTE_OFF, channel, key, 0);
}

static const chord *chord_at(const song *s, const section *sec, double beat_in_section)
{
    int index = (int)floor(beat_in_section / s->chord_beats + 1e-9);
    return &sec->chords[index % sec->n_chords];
}

/* Pitch class of a chord tone. */
static int chord_pc(const song *s, const chord *c, int tone)
{
    return (s->key + c->root + tone) % 12;
}

/* ------------------------------------------------------------------------------------------ parts */

static double step_velocity(char c)
{
    return c == 'X' ? 1.0 : c == 'x' ? 0.8 : c == 'o' ? 0.42 : 0.0;
}

/* Waltz time gets its own groove: the genre's timekeeper (hat, ride) on every beat, kick on one. */
static void drums_waltz(song *s, const section *sec, double bar)
{
    int keeper = s->groove->lanes[0].key == 51 ? 51 : 42;
    for (int i = 0; i < SYNTH_MAX_LANES; i++)
        if (s->groove->lanes[i].key == 51 || s->groove->lanes[i].key == 42)
            keeper = s->groove->lanes[i].key;
    double v = s->g->velocity * sec->gain;
    note(s, CH_DRUMS, 36, v, bar, 0.2, 0.5);
    note(s, CH_DRUMS, 38, v * 0.45, bar + 1, 0.2, 0.5);
    note(s, CH_DRUMS, 38, v * 0.45, bar + 2, 0.2, 0.5);
    for (int b = 0; b < 3; b++)
        note(s, CH_DRUMS, keeper, v * (b ? 0.6 : 0.8), bar + b, 0.2, 0.5);
}

static void drums_bar(song *s, const section *sec, double bar, int fill, int crash)
{
    double v = s->g->velocity * sec->gain;
    if (crash)
        note(s, CH_DRUMS, 49, v * 0.95, bar, 1.0, 0.5);
    if (s->beats == 3) {
        drums_waltz(s, sec, bar);
        return;
    }
    /* A fill takes over the last beat (or two at slow tempi) with snare and toms. */
    double fill_from = fill ? (s->tempo < 100 ? 2.0 : 3.0) : 99.0;
    for (int l = 0; l < SYNTH_MAX_LANES && s->groove->lanes[l].steps; l++) {
        const synth_lane *lane = &s->groove->lanes[l];
        size_t n = strlen(lane->steps);
        double step = 4.0 / (double)n;
        for (size_t i = 0; i < n; i++) {
            double at = (double)i * step;
            if (at >= fill_from)
                break;
            double sv = step_velocity(lane->steps[i]);
            if (sv > 0)
                note(s, CH_DRUMS, lane->key, v * sv, bar + at, step, 0.5);
        }
    }
    if (fill) {
        static const int toms[] = {38, 38, 50, 48, 47, 45, 43, 41};
        int n = (int)((4.0 - fill_from) * 4);
        for (int i = 0; i < n; i++) {
            int tom = toms[(i * 8) / (n > 0 ? n : 1)];
            note(s, CH_DRUMS, tom, v * (0.6 + 0.4 * i / (double)n), bar + fill_from + i * 0.25, 0.25, 0.5);
        }
    }
}

/* The bass register: E1..D#2 for roots, so lines sit where a bass player's do. */
static int bass_root(const song *s, const chord *c)
{
    return 28 + ((chord_pc(s, c, 0) - 4 + 12) % 12);
}

static int bass_degree(const song *s, const chord *c, char code)
{
    int root = bass_root(s, c);
    const int *t = quality_tones[c->q];
    switch (code) {
    case '3': return root + (tone_count(c->q) > 1 && t[1] != 7 ? t[1] : 4);
    case '5': return root + (c->q == Q_DIM || c->q == Q_HALF_DIM ? 6 : 7);
    case '6': return root + 9;
    case '7': return root + (c->q == Q_MAJ7 ? 11 : 10);
    case '8': return root + 12;
    default: return root;
    }
}

/* A walking line: roots on chord changes, chromatic approaches into the next chord, chord and scale
 * tones in between, moving by small steps. */
static int walk_note(song *s, const chord *c, const chord *next, int last_beat_of_chord)
{
    int root = bass_root(s, c);
    int prev = s->bass_prev ? s->bass_prev : root;
    int pitch;
    if (last_beat_of_chord) {
        int target = bass_root(s, next);
        while (target < prev - 6)
            target += 12;
        while (target > prev + 6)
            target -= 12;
        pitch = target + (synth_rng_chance(&s->rng, 0.5) ? 1 : -1);
    } else {
        int best = root, best_d = 99;
        int n = tone_count(c->q);
        for (int k = 0; k < 3; k++) {
            int cand = root + quality_tones[c->q][synth_rng_int(&s->rng, 0, n - 1)] % 12;
            cand += 12 * (int)lround((prev - cand) / 12.0);
            int d = abs(cand - prev);
            if (d > 0 && d < best_d) {
                best = cand;
                best_d = d;
            }
        }
        pitch = best;
    }
    pitch = clamp_int(pitch, 28, 52);
    s->bass_prev = pitch;
    return pitch;
}

static void bass_bar(song *s, const section *sec, double bar, double sec_beat)
{
    const char *pat = s->bass_pattern;
    char waltz[8];
    if (s->beats == 3) {
        int odd = (int)(sec_beat / 3) % 2;
        snprintf(waltz, sizeof waltz, "%s", pat[0] == 'W' ? "W-W-W-" : odd ? "5-----" : "R-----");
        pat = waltz;
    }
    size_t n = strlen(pat);
    double step = (s->beats == 3 ? 3.0 : 4.0) / (double)n;
    double v = s->g->velocity * sec->gain * 0.95;
    for (size_t i = 0; i < n; i++) {
        char code = pat[i];
        if (code == '-' || code == '.')
            continue;
        size_t len = 1;
        while (i + len < n && pat[i + len] == '-')
            len++;
        double at = (double)i * step;
        double beat = sec_beat + at;
        const chord *c = chord_at(s, sec, beat);
        int pitch;
        if (code == 'W') {
            const chord *next = chord_at(s, sec, beat + 1);
            int changes = next != c || fmod(beat + 1, s->chord_beats) < 1e-9;
            pitch = walk_note(s, c, next, changes);
        } else {
            pitch = bass_degree(s, c, code);
        }
        double accent = fmod(at, 1.0) < 1e-9 ? 1.0 : 0.85;
        note(s, CH_BASS, pitch, v * accent, bar + at, (double)len * step * 0.92, 0.6);
    }
}

/* A close voicing of the chord near the register we were in, so chords move by small steps. */
static int voice_chord(song *s, const chord *c, int center, int *out)
{
    int n = tone_count(c->q);
    if (s->power_chords || c->q == Q_POWER) {
        int root = 40 + ((chord_pc(s, c, 0) - 4 + 12) % 12);
        out[0] = root;
        out[1] = root + 7;
        out[2] = root + 12;
        return 3;
    }
    double target = s->comp_mean > 0 ? 0.7 * s->comp_mean + 0.3 * center : center;
    double best_d = 1e9;
    int best[6] = {0};
    for (int inv = 0; inv < n; inv++) {
        for (int octave = 3; octave <= 6; octave++) {
            int v[6];
            int first = 12 * octave + chord_pc(s, c, quality_tones[c->q][inv] % 12);
            v[0] = first;
            double sum = first;
            for (int k = 1; k < n; k++) {
                int pc = chord_pc(s, c, quality_tones[c->q][(inv + k) % n] % 12);
                int p = v[k - 1] + 1;
                while (p % 12 != pc)
                    p++;
                v[k] = p;
                sum += p;
            }
            double d = fabs(sum / n - target);
            if (d < best_d) {
                best_d = d;
                memcpy(best, v, sizeof best);
            }
        }
    }
    memcpy(out, best, sizeof(int) * (size_t)n);
    double sum = 0;
    for (int k = 0; k < n; k++)
        sum += out[k];
    s->comp_mean = sum / n;
    return n;
}

static void comp_bar(song *s, const section *sec, double bar, double sec_beat, const char *pat, int channel,
                     double level, int center)
{
    char waltz[8];
    if (s->beats == 3) {
        snprintf(waltz, sizeof waltz, "%s", strchr(pat, 'a') ? "aaaaaa" : pat[1] == '-' ? "x-----" : "..s.s.");
        pat = waltz;
    }
    size_t n = strlen(pat);
    double step = (s->beats == 3 ? 3.0 : 4.0) / (double)n;
    double v = s->g->velocity * sec->gain * level;
    int arp_index = 0;
    for (size_t i = 0; i < n; i++) {
        char code = pat[i];
        if (code == '-' || code == '.')
            continue;
        size_t len = 1;
        while (i + len < n && pat[i + len] == '-')
            len++;
        double at = (double)i * step;
        const chord *c = chord_at(s, sec, sec_beat + at);
        int voicing[6];
        int nv = voice_chord(s, c, center, voicing);
        double accent = fmod(at, 1.0) < 1e-9 ? 1.0 : 0.82;
        if (code == 'a') {
            /* Broken chords: up, Alberti (low-high-middle-high) or up-and-down. */
            static const int alberti[] = {0, 2, 1, 2};
            static const int updown[] = {0, 1, 2, 3, 2, 1};
            int k = s->arp_style == 0   ? arp_index % (nv + 1)
                    : s->arp_style == 1 ? alberti[arp_index % 4]
                                        : updown[arp_index % 6];
            int pitch = k >= nv ? voicing[0] + 12 : voicing[k % nv];
            arp_index++;
            note(s, channel, pitch, v * accent * 0.9, bar + at, step * 2.5, 1.0);
        } else {
            double length = code == 's' ? step * 0.55 : (double)len * step * 0.95;
            /* Guitarists strum: the notes of a chord arrive a few milliseconds apart. */
            double strum = channel == CH_COMP && code == 'x' ? 0.012 / s->beat_s : 0.0;
            for (int k = 0; k < nv; k++)
                note(s, channel, voicing[k], v * accent * (k ? 0.85 : 0.95), bar + at + k * strum, length, 1.0);
        }
    }
}

static void pad_section(song *s, const section *sec)
{
    double total = (double)sec->bars * s->beats;
    for (double b = 0; b < total - 1e-9; b += s->chord_beats) {
        const chord *c = chord_at(s, sec, b);
        int voicing[6];
        double keep = s->comp_mean;
        int nv = voice_chord(s, c, 62, voicing);
        s->comp_mean = keep; /* the pad follows its own line */
        double len = s->chord_beats < total - b ? s->chord_beats : total - b;
        for (int k = 0; k < nv; k++)
            note(s, CH_PAD, voicing[k] + (s->power_chords ? 24 : 0), s->g->velocity * sec->gain * 0.55,
                 sec->start + b, len * 0.98, 1.5);
    }
}

/* Scale index <-> MIDI pitch, the index counting scale steps from the tonic at octave 0. */
static int scale_len(const int *scale)
{
    int n = 0;
    while (scale[n] >= 0)
        n++;
    return n;
}

static int scale_pitch(const song *s, int index)
{
    int n = scale_len(s->scale);
    int octave = index >= 0 ? index / n : -((-index + n - 1) / n);
    int degree = index - octave * n;
    return s->key + 12 * octave + s->scale[degree];
}

static int scale_index_near(const song *s, int pitch)
{
    int n = scale_len(s->scale);
    int best = 0, best_d = 999;
    for (int i = (pitch / 12 - 2) * n; i < (pitch / 12 + 2) * n; i++) {
        int d = abs(scale_pitch(s, i) - pitch);
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    return best;
}

static int is_chord_tone(const song *s, const chord *c, int pitch)
{
    int n = tone_count(c->q);
    for (int k = 0; k < n; k++)
        if ((pitch - chord_pc(s, c, quality_tones[c->q][k] % 12) + 120) % 12 == 0)
            return 1;
    return 0;
}

/* A melody built from a two-bar motif: its rhythm and contour repeat, the last repetition of every
 * four answers the first with a new tail, and strong beats land on chord tones. */
typedef struct motif {
    int count;
    double at[32];
    double len[32];
    int step[32];
} motif;

static void make_motif(song *s, motif *m, double density, int answer_from)
{
    double grid = density > 1.9 ? 0.25 : 0.5;
    double span = 2.0 * s->beats;
    int keep = 0;
    if (answer_from > 0)
        while (keep < m->count && m->at[keep] < answer_from)
            keep++;
    m->count = keep;
    double start = answer_from > 0 ? answer_from : 0.0;
    for (double t = start; t < span - 1e-9 && m->count < 32; t += grid) {
        double strong = fmod(t, 1.0) < 1e-9 ? 1.6 : 0.8;
        double p = density * grid * strong;
        if (t > span - 1.5)
            p *= 0.3; /* breathe at the end of the phrase */
        if ((t == 0 && answer_from == 0) || synth_rng_chance(&s->rng, p)) {
            m->at[m->count] = t;
            int r = synth_rng_int(&s->rng, 0, 9);
            m->step[m->count] = r < 3 ? 1 : r < 6 ? -1 : r < 7 ? 2 : r < 8 ? -2 : r < 9 ? 0 : 3;
            m->count++;
        }
    }
    for (int i = 0; i < m->count; i++) {
        double next = i + 1 < m->count ? m->at[i + 1] : span;
        double len = next - m->at[i];
        m->len[i] = len > 2.0 ? 2.0 : len;
    }
}

static void lead_section(song *s, const section *sec, int up)
{
    motif m = {0};
    make_motif(s, &m, s->lead_density, 0);
    motif answer = m;
    make_motif(s, &answer, s->lead_density, s->beats);
    int center = s->lead_center + (up ? 5 : 0);
    int index = scale_index_near(s, center);
    double span = 2.0 * s->beats;
    double total = (double)sec->bars * s->beats;
    int rep = 0;
    for (double base = 0; base < total - 1e-9; base += span, rep++) {
        const motif *use = rep % 2 == 1 ? &answer : &m;
        for (int i = 0; i < use->count; i++) {
            double beat = base + use->at[i];
            if (beat >= total)
                break;
            index += use->step[i];
            int pitch = scale_pitch(s, index);
            /* Stay within a tenth of the centre, turning back at the edges. */
            if (pitch > center + 9)
                index -= 3;
            if (pitch < center - 9)
                index += 3;
            pitch = scale_pitch(s, index);
            const chord *c = chord_at(s, sec, beat);
            if (fmod(use->at[i], 1.0) < 1e-9 && !is_chord_tone(s, c, pitch)) {
                for (int d = 1; d < 3; d++) {
                    if (is_chord_tone(s, c, scale_pitch(s, index + d))) {
                        index += d;
                        break;
                    }
                    if (is_chord_tone(s, c, scale_pitch(s, index - d))) {
                        index -= d;
                        break;
                    }
                }
                pitch = scale_pitch(s, index);
            }
            double accent = fmod(use->at[i], 1.0) < 1e-9 ? 1.0 : 0.85;
            note(s, CH_LEAD, pitch, s->g->velocity * sec->gain * accent * 0.95, sec->start + beat,
                 use->len[i] * 0.9, 1.0);
        }
    }
}

/* Classical phrasing: the expression controller swells over each four-bar phrase. */
static void swell(song *s, const section *sec)
{
    double total = (double)sec->bars * s->beats;
    double phrase = 4.0 * s->beats;
    for (double b = 0; b < total; b += 0.5) {
        double x = fmod(b, phrase) / phrase;
        double level = 0.62 + 0.38 * sin(3.141592653589793 * x) * sec->gain;
        int value = clamp_int((int)lround(127 * level), 40, 127);
        double t = beat_time(s, sec->start + b);
        if (t >= s->seconds)
            break;
        synth_events_add(s->ev, t, SYNTH_CC, CH_LEAD, 11, value);
        synth_events_add(s->ev, t, SYNTH_CC, CH_COMP, 11, value);
        synth_events_add(s->ev, t, SYNTH_CC, CH_PAD, 11, value);
    }
}

/* ------------------------------------------------------------------------------------------ plan */

static const char *pick_string(mm_rng *rng, const char *const *list)
{
    int n = 0;
    while (list[n])
        n++;
    return n ? list[synth_rng_int(rng, 0, n - 1)] : NULL;
}

static void setup_channel(song *s, int channel, int program, int volume, int pan)
{
    synth_events_add(s->ev, 0, SYNTH_PROGRAM, channel, program, 0);
    synth_events_add(s->ev, 0, SYNTH_CC, channel, 7, volume);
    synth_events_add(s->ev, 0, SYNTH_CC, channel, 10, pan);
    synth_events_add(s->ev, 0, SYNTH_CC, channel, 11, 110);
    int reverb = s->g->reverb + synth_rng_int(&s->rng, -10, 10);
    synth_events_add(s->ev, 0, SYNTH_CC, channel, 91, channel == CH_BASS ? reverb / 3 : reverb);
    synth_events_add(s->ev, 0, SYNTH_CC, channel, 93, 0);
}

/* Low instruments play the melody an octave down. */
static int lead_shift(int program)
{
    switch (program) {
    case 32: case 33: case 42: case 43: case 57: case 66: case 70: return -12;
    default: return 0;
    }
}

static void choose(song *s)
{
    const synth_genre *g = s->g;
    mm_rng *rng = &s->rng;
    s->tempo = synth_rng_range(rng, g->tempo_lo, g->tempo_hi);
    s->beat_s = 60.0 / s->tempo;
    s->key = s->track->key;
    s->minor = s->track->minor;
    s->beats = synth_rng_chance(rng, g->waltz_chance) ? 3 : 4;
    s->swing = synth_rng_range(rng, g->swing_lo, g->swing_hi);
    s->swing_unit = g->name[0] == 'h' || g->feel == SYNTH_ONE_DROP ? 0.5 : 1.0;
    s->rubato = g->rubato > 0 ? synth_rng_range(rng, 0.3, 1.0) * g->rubato * 10.0 : 0.0;
    s->rubato_period = 8.0 * s->beats;
    if (s->rubato > 0.6)
        s->rubato = 0.6;
    int n_cb = 0;
    while (n_cb < 3 && g->chord_beats_choices[n_cb])
        n_cb++;
    s->chord_beats = g->chord_beats_choices[synth_rng_int(rng, 0, n_cb - 1)];
    if (s->beats == 3)
        s->chord_beats = s->chord_beats >= 4 ? 3 : 6;

    const char *const *progs = s->minor ? g->minor_progressions : g->major_progressions;
    const char *verse = pick_string(rng, progs);
    const char *chorus = pick_string(rng, progs);
    const char *bridge = pick_string(rng, progs);
    s->n_verse = parse_progression(verse, s->verse);
    s->n_chorus = parse_progression(chorus, s->chorus);
    s->n_bridge = parse_progression(bridge, s->bridge);
    if (g->extended_chords) {
        extend_chords(s->verse, s->n_verse, rng);
        extend_chords(s->chorus, s->n_chorus, rng);
        extend_chords(s->bridge, s->n_bridge, rng);
    }
    int n_grooves = 0;
    while (n_grooves < SYNTH_MAX_CHOICES && g->drums[n_grooves])
        n_grooves++;
    s->groove = n_grooves ? g->drums[synth_rng_int(rng, 0, n_grooves - 1)] : NULL;
    s->bass_pattern = pick_string(rng, g->bass_patterns);
    s->comp_pattern = pick_string(rng, g->comp_patterns);
    s->chorus_comp_pattern = synth_rng_chance(rng, 0.5) ? pick_string(rng, g->comp_patterns) : s->comp_pattern;
    s->scale = s->minor ? g->lead_scale_minor : g->lead_scale_major;
    s->power_chords = g->comp_power_chords == 1 || (g->comp_power_chords == 2 && synth_rng_chance(rng, 0.5));
    s->arp_style = synth_rng_int(rng, 0, 2);
    s->lead_density = g->lead_density * synth_rng_range(rng, 0.75, 1.25);
    s->comp_center = synth_rng_int(rng, 57, 64);

    synth_song_info *info = s->info;
    info->tempo = s->tempo;
    info->key = s->key;
    info->minor = s->minor;
    info->beats_per_bar = s->beats;
    int bass = synth_rng_pick(rng, g->bass_programs);
    int comp = synth_rng_pick(rng, g->comp_programs);
    int lead = synth_rng_pick(rng, g->lead_programs);
    int pad = synth_rng_pick(rng, g->pad_programs);
    if (pad == comp)
        pad = -1;
    s->has_pad = pad >= 0 && synth_rng_chance(rng, 0.7);
    s->lead_center = g->lead_octave + lead_shift(lead) + synth_rng_int(rng, -2, 2);
    info->programs[0] = bass;
    info->programs[1] = comp;
    info->programs[2] = lead;
    info->programs[3] = s->has_pad ? pad : -1;
    info->drum_kit = s->groove ? synth_rng_pick(rng, g->drum_kits) : -1;

    setup_channel(s, CH_BASS, bass, 100 + synth_rng_int(rng, -8, 8), 64);
    setup_channel(s, CH_COMP, comp, 88 + synth_rng_int(rng, -10, 10), synth_rng_int(rng, 36, 92));
    setup_channel(s, CH_LEAD, lead, 96 + synth_rng_int(rng, -8, 8), synth_rng_int(rng, 50, 78));
    if (s->has_pad)
        setup_channel(s, CH_PAD, pad, 72 + synth_rng_int(rng, -10, 10), 64);
    if (s->groove)
        setup_channel(s, CH_DRUMS, info->drum_kit, 104 + synth_rng_int(rng, -8, 8), 64);
}

/* Intro, then verse/chorus pairs (a bridge before a late chorus now and then) until the time is full. */
static int plan_sections(song *s, section *out, int max)
{
    double total_beats = s->seconds / s->beat_s * (1.0 + s->rubato * 0.2) + 2 * s->beats;
    double at = 0;
    int n = 0;
    int intro_bars = synth_rng_chance(&s->rng, 0.5) ? 2 : 4;
    int verse_bars = s->chord_beats * s->n_verse / s->beats;
    verse_bars = verse_bars >= 8 ? verse_bars : 8;
    int chorus_bars = 8;
    int intro_drums = s->groove && synth_rng_chance(&s->rng, 0.5);
    int pairs = 0;
    while (at < total_beats && n < max) {
        section *sec = &out[n];
        memset(sec, 0, sizeof *sec);
        sec->start = at;
        if (n == 0) {
            sec->kind = SEC_INTRO;
            sec->bars = intro_bars;
            sec->chords = s->verse;
            sec->n_chords = s->n_verse;
            sec->drums = intro_drums;
            sec->bass = synth_rng_chance(&s->rng, 0.5);
            sec->comp = 1;
            sec->gain = 1.0 - s->g->dynamics * 0.8;
        } else if (pairs >= 2 && n % 2 == 1 && synth_rng_chance(&s->rng, 0.35)) {
            sec->kind = SEC_BRIDGE;
            sec->bars = 4;
            sec->chords = s->bridge;
            sec->n_chords = s->n_bridge;
            sec->drums = s->groove && synth_rng_chance(&s->rng, 0.5);
            sec->bass = 1;
            sec->comp = 1;
            sec->pad = s->has_pad;
            sec->lead = synth_rng_chance(&s->rng, 0.5);
            sec->gain = 1.0 - s->g->dynamics * 0.6;
        } else if (n % 2 == 1) {
            sec->kind = SEC_VERSE;
            sec->bars = verse_bars;
            sec->chords = s->verse;
            sec->n_chords = s->n_verse;
            sec->drums = s->groove != NULL;
            sec->bass = 1;
            sec->comp = 1;
            sec->lead = s->g->rubato > 0 || synth_rng_chance(&s->rng, 0.65);
            sec->gain = 1.0 - s->g->dynamics * 0.35;
        } else {
            sec->kind = SEC_CHORUS;
            sec->bars = chorus_bars;
            sec->chords = s->chorus;
            sec->n_chords = s->n_chorus;
            sec->drums = s->groove != NULL;
            sec->bass = 1;
            sec->comp = 1;
            sec->pad = s->has_pad;
            sec->lead = 1;
            sec->gain = 1.0;
            pairs++;
        }
        at += (double)sec->bars * s->beats;
        n++;
    }
    if (n > 0)
        out[n - 1].last = 1;
    return n;
}

mm_status synth_arrange(const synth_track *track, synth_events *events, synth_song_info *info, mm_error *err)
{
    song s;
    memset(&s, 0, sizeof s);
    memset(info, 0, sizeof *info);
    s.g = track->genre;
    s.track = track;
    s.ev = events;
    s.info = info;
    s.seconds = track->seconds;
    mm_rng_seed(&s.rng, synth_mix(track->seed, 2));
    choose(&s);
    section sections[64];
    int n = plan_sections(&s, sections, 64);
    for (int i = 0; i < n; i++) {
        section *sec = &sections[i];
        double bar_beats = s.beats;
        for (int bar = 0; bar < sec->bars; bar++) {
            double sec_beat = bar * bar_beats;
            double at = sec->start + sec_beat;
            if (beat_time(&s, at) >= s.seconds)
                break;
            int fill = !sec->last && bar == sec->bars - 1 && synth_rng_chance(&s.rng, 0.7);
            int crash = bar == 0 && (sec->kind == SEC_CHORUS || (i > 0 && synth_rng_chance(&s.rng, 0.4)));
            if (sec->drums && s.groove)
                drums_bar(&s, sec, at, fill, crash);
            if (sec->bass)
                bass_bar(&s, sec, at, sec_beat);
            if (sec->comp) {
                const char *pat = sec->kind == SEC_CHORUS ? s.chorus_comp_pattern : s.comp_pattern;
                comp_bar(&s, sec, at, sec_beat, pat, CH_COMP, sec->kind == SEC_INTRO ? 0.85 : 0.8, s.comp_center);
            }
        }
        if (sec->pad)
            pad_section(&s, sec);
        if (sec->lead)
            lead_section(&s, sec, sec->kind == SEC_CHORUS && synth_rng_chance(&s.rng, 0.5));
        if (s.g->dynamics >= 0.3)
            swell(&s, sec);
    }
    if (events->failed)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory while arranging", track->path);
    synth_events_sort(events);
    return MM_OK;
}
