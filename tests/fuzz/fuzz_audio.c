/* Audio files through the project's decode and clip path (FFmpeg underneath): any bytes are refused
 * with an error or give a clip of finite samples, in bounded time and memory (libFuzzer's -timeout and
 * -rss_limit_mb hold the bounds). Seeds: two seconds of a chord in each format the scan reads, written
 * by the library's encoder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "musicmap/audio.h"
#include "musicmap/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float *clip;
    static int quiet;
    if (!quiet) {
        mm_audio_set_library_logging(0);
        quiet = 1;
    }
    if (!clip && !(clip = malloc(sizeof(float) * MM_CLIP_SAMPLES)))
        abort();
    const char *path = fuzz_as_file(data, size);
    mm_audio *a;
    mm_error err;
    if (!path || mm_audio_open(&a, path, &err) != MM_OK)
        return 0;
    mm_clip_report rep;
    if (mm_audio_read_clip(a, NULL, clip, &rep, &err) == MM_OK)
        for (size_t i = 0; i < MM_CLIP_SAMPLES; i += 97)
            if (!isfinite(clip[i]))
                fuzz_fail("audio: a clip sample is not finite");
    mm_audio_close(a);
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    static const char *const formats[] = {"wav", "flac", "mp3", "ogg", "opus", "m4a"};
    const int rate = 22050, frames = 2 * rate;
    float *pcm = malloc(sizeof(float) * 2 * (size_t)frames);
    if (!pcm)
        return -1;
    for (int i = 0; i < frames; i++) {
        double t = (double)i / rate;
        pcm[2 * i] = (float)(0.3 * sin(2 * M_PI * 220 * t) + 0.2 * sin(2 * M_PI * 330 * t));
        pcm[2 * i + 1] = (float)(0.3 * sin(2 * M_PI * 277 * t));
    }
    int made = 0;
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/chord.%s", dir, formats[f]);
        mm_error err;
        if (mm_audio_write(path, pcm, frames, 2, rate, NULL, &err) == MM_OK)
            made++;
    }
    free(pcm);
    return made;
}
