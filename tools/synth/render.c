/* Offline rendering with libfluidsynth: no audio driver, no MIDI player; we apply the sorted events
 * ourselves between calls to fluid_synth_write_float.
 *
 * Determinism: every track gets a synthesiser of its own, single-threaded (cpu-cores 1) and with
 * chorus off. Reusing one synthesiser with fluid_synth_system_reset between tracks is not enough:
 * the order of its voice slots carries over from the previous track, which changes the order in
 * which voices are summed and so the last bits of the mix. A fresh synthesiser costs about 35 ms,
 * because FluidSynth shares loaded sample data between synthesisers of a process: each renderer
 * keeps one "anchor" synthesiser with the SoundFont loaded, so the 140 MB are read once. */
#include <fluidsynth.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

struct synth_renderer {
    fluid_settings_t *settings;
    fluid_synth_t *anchor; /* holds the SoundFont's samples in FluidSynth's cache */
    char *soundfont;
    int rate;
    pthread_mutex_t *lock; /* SoundFont loading is serialised across renderers */
};

static fluid_synth_t *new_synth(synth_renderer *r)
{
    fluid_synth_t *synth = new_fluid_synth(r->settings);
    if (!synth)
        return NULL;
    /* Linear interpolation renders somewhat faster than the default fourth-order one, and the
     * difference is inaudible to an analysis at 12 kHz. */
    fluid_synth_set_interp_method(synth, -1, FLUID_INTERP_LINEAR);
    pthread_mutex_lock(r->lock);
    int id = fluid_synth_sfload(synth, r->soundfont, 1);
    pthread_mutex_unlock(r->lock);
    if (id == FLUID_FAILED) {
        delete_fluid_synth(synth);
        return NULL;
    }
    return synth;
}

mm_status synth_renderer_open(synth_renderer **out, const char *soundfont, int sample_rate, pthread_mutex_t *lock,
                              mm_error *err)
{
    *out = NULL;
    synth_renderer *r = calloc(1, sizeof *r);
    if (!r || !(r->soundfont = strdup(soundfont))) {
        free(r);
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", soundfont);
    }
    r->rate = sample_rate;
    r->lock = lock;
    r->settings = new_fluid_settings();
    if (!r->settings) {
        synth_renderer_close(r);
        return mm_error_set(err, MM_ERR_INTERNAL, "%s: cannot create FluidSynth settings", soundfont);
    }
    fluid_settings_setnum(r->settings, "synth.sample-rate", sample_rate);
    fluid_settings_setint(r->settings, "synth.cpu-cores", 1);
    fluid_settings_setint(r->settings, "synth.threadsafe-api", 0);
    fluid_settings_setint(r->settings, "synth.chorus.active", 0);
    fluid_settings_setint(r->settings, "synth.reverb.active", 1);
    fluid_settings_setint(r->settings, "synth.polyphony", 256);
    fluid_settings_setnum(r->settings, "synth.gain", 0.4);
    r->anchor = new_synth(r);
    if (!r->anchor) {
        synth_renderer_close(r);
        return mm_error_set(err, MM_ERR_FORMAT, "%s: cannot load the SoundFont", soundfont);
    }
    *out = r;
    return MM_OK;
}

void synth_renderer_close(synth_renderer *r)
{
    if (!r)
        return;
    if (r->anchor)
        delete_fluid_synth(r->anchor);
    if (r->settings)
        delete_fluid_settings(r->settings);
    free(r->soundfont);
    free(r);
}

static void render_span(fluid_synth_t *synth, float *stereo, int64_t from, int64_t to)
{
    while (from < to) {
        int64_t n = to - from > 4096 ? 4096 : to - from;
        fluid_synth_write_float(synth, (int)n, stereo + 2 * from, 0, 2, stereo + 2 * from, 1, 2);
        from += n;
    }
}

mm_status synth_render(synth_renderer *r, const synth_events *events, int64_t frames, float *stereo, mm_error *err)
{
    fluid_synth_t *synth = new_synth(r);
    if (!synth)
        return mm_error_set(err, MM_ERR_INTERNAL, "%s: cannot create a FluidSynth synthesiser", r->soundfont);
    /* Notes still sounding per channel and key: a note-off belongs to the last note-on of its key
     * only, so an earlier note's release must not cut a re-struck one. */
    uint8_t *sounding = calloc(16 * 128, 1);
    if (!sounding) {
        delete_fluid_synth(synth);
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory while rendering");
    }
    int64_t pos = 0;
    for (size_t i = 0; i < events->count; i++) {
        const synth_event *e = &events->items[i];
        int64_t at = (int64_t)llround(e->time * r->rate);
        if (at >= frames)
            break;
        if (at > pos) {
            render_span(synth, stereo, pos, at);
            pos = at;
        }
        uint8_t *count = &sounding[(e->channel & 15) * 128 + (e->a & 127)];
        switch (e->kind) {
        case SYNTH_NOTE_ON:
            if (*count < 255)
                (*count)++;
            fluid_synth_noteon(synth, e->channel, e->a, e->b);
            break;
        case SYNTH_NOTE_OFF:
            if (*count > 0)
                (*count)--;
            if (*count == 0)
                fluid_synth_noteoff(synth, e->channel, e->a);
            break;
        case SYNTH_CC: fluid_synth_cc(synth, e->channel, e->a, e->b); break;
        case SYNTH_PROGRAM: fluid_synth_program_change(synth, e->channel, e->a); break;
        case SYNTH_BANK: fluid_synth_bank_select(synth, e->channel, e->a); break;
        }
    }
    render_span(synth, stereo, pos, frames);
    free(sounding);
    delete_fluid_synth(synth);
    return MM_OK;
}

uint64_t synth_pcm_hash(const float *pcm, size_t count)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)pcm;
    for (size_t i = 0; i < count * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

void synth_finish(float *stereo, int64_t frames, int rate, double peak, double fade_s)
{
    float max = 0.0f;
    for (int64_t i = 0; i < 2 * frames; i++) {
        float a = fabsf(stereo[i]);
        max = a > max ? a : max;
    }
    float gain = max > 0.0f ? (float)(peak / max) : 1.0f;
    int64_t fade_in = rate / 200;
    int64_t fade_out = (int64_t)(fade_s * rate);
    if (fade_out > frames)
        fade_out = frames;
    for (int64_t i = 0; i < frames; i++) {
        float g = gain;
        if (i < fade_in)
            g *= (float)i / (float)fade_in;
        int64_t left = frames - 1 - i;
        if (left < fade_out)
            g *= (float)(0.5 - 0.5 * cos(3.141592653589793 * (double)left / (double)fade_out));
        stereo[2 * i] *= g;
        stereo[2 * i + 1] *= g;
    }
}
