/* Audio by track id: the catalogued file itself when browsers play its codec, otherwise an MP3
 * transcode made once and cached. The path always comes from the catalog, never from the request. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "musicmap/audio.h"

/* Decoded PCM is held whole before encoding; this caps it (about 40 minutes at 48 kHz, 0.96 GB of
 * stereo float). */
#define TRANSCODE_MAX_FRAMES 120000000LL
/* How long a request waits for the transcoder (one song's transcode takes ~1-4 s here) */
#define TRANSCODE_WAIT_SECONDS 8

const char *srv_browser_content_type(const char *container, const char *codec)
{
    if (!container || !codec)
        return NULL;
    /* What current Chromium and Firefox both play, by (container, codec). */
    int mp3 = strcmp(codec, "mp3") == 0 || strcmp(codec, "mp3float") == 0;
    if (strcmp(container, "mp3") == 0 && mp3)
        return "audio/mpeg";
    if (strcmp(container, "flac") == 0 && strcmp(codec, "flac") == 0)
        return "audio/flac";
    if (strcmp(container, "ogg") == 0 &&
        (strcmp(codec, "vorbis") == 0 || strcmp(codec, "opus") == 0 || strcmp(codec, "flac") == 0))
        return "audio/ogg";
    if (strcmp(container, "matroska,webm") == 0 && (strcmp(codec, "vorbis") == 0 || strcmp(codec, "opus") == 0))
        return "audio/webm";
    if (strncmp(container, "mov,mp4", 7) == 0 && (strcmp(codec, "aac") == 0 || mp3 || strcmp(codec, "flac") == 0 ||
                                                  strcmp(codec, "opus") == 0))
        return "audio/mp4";
    if (strcmp(container, "aac") == 0 && strcmp(codec, "aac") == 0)
        return "audio/aac";
    if (strcmp(container, "wav") == 0 &&
        (strcmp(codec, "pcm_s16le") == 0 || strcmp(codec, "pcm_u8") == 0 || strcmp(codec, "pcm_s24le") == 0 ||
         strcmp(codec, "pcm_f32le") == 0))
        return "audio/wav";
    return NULL;
}

int srv_parse_range(const char *h, int64_t size, int64_t *start, int64_t *end)
{
    if (!h)
        return 0;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0; /* several ranges: answered with the whole file */
    while (*h == ' ')
        h++;
    int64_t a = -1, b = -1;
    int digits = 0;
    if (*h >= '0' && *h <= '9') {
        a = 0;
        for (; *h >= '0' && *h <= '9'; h++) {
            if (++digits > 18)
                return 0;
            a = a * 10 + (*h - '0');
        }
    }
    if (*h++ != '-')
        return 0;
    digits = 0;
    if (*h >= '0' && *h <= '9') {
        b = 0;
        for (; *h >= '0' && *h <= '9'; h++) {
            if (++digits > 18)
                return 0;
            b = b * 10 + (*h - '0');
        }
    }
    while (*h == ' ')
        h++;
    if (*h)
        return 0;
    if (a < 0 && b < 0)
        return 0;
    if (a < 0) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *start = b >= size ? 0 : size - b;
        *end = size - 1;
        return 1;
    }
    if (b >= 0 && b < a)
        return 0; /* invalid syntax: ignored */
    if (a >= size)
        return -1;
    *start = a;
    *end = b < 0 || b >= size ? size - 1 : b;
    return 1;
}

/* --- transcoding ---------------------------------------------------------------------------------- */

/* The track decoded whole through the audio module, stereo at most. */
static mm_status decode_interleaved(const char *path, float **out, int64_t *frames, int *channels, int *rate,
                                    mm_error *err)
{
    mm_audio *audio;
    mm_status s = mm_audio_open(&audio, path, err);
    if (s != MM_OK)
        return s;
    const mm_audio_info *info = mm_audio_get_info(audio);
    *rate = info->sample_rate;
    s = mm_audio_decode_interleaved(audio, 2, (double)TRANSCODE_MAX_FRAMES / (info->sample_rate > 0 ? info->sample_rate : 44100),
                                    out, frames, channels, err);
    mm_audio_close(audio);
    return s;
}

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static mm_status transcode(srv_state *srv, const char *src, const char *dst, mm_error *err)
{
    float *pcm = NULL;
    int64_t frames = 0;
    int channels = 0, rate = 0;
    mm_status s = decode_interleaved(src, &pcm, &frames, &channels, &rate, err);
    if (s != MM_OK)
        return s;
    char tmp[PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.%d.%lu.tmp", dst, (int)getpid(), (unsigned long)pthread_self());
    /* MP3: every browser plays it; 192 kb/s stereo is transparent enough for listening on a map */
    mm_audio_write_options wo = {.format = "mp3", .bit_rate = 192000};
    s = mm_audio_write(tmp, pcm, frames, channels, rate, &wo, err);
    free(pcm);
    if (s == MM_OK && rename(tmp, dst) != 0)
        s = mm_error_set(err, MM_ERR_IO, "transcode cache: %s", strerror(errno));
    if (s != MM_OK)
        unlink(tmp);
    (void)srv;
    return s;
}

typedef struct track_file {
    int found;
    char *path;
    char container[64], codec[64];
    int64_t size, mtime_ns;
    uint64_t hash;
} track_file;

static int take_track(const mm_track *t, void *user)
{
    track_file *tf = user;
    if (t->status != MM_TRACK_OK)
        return 1;
    tf->found = 1;
    tf->path = strdup(t->path);
    snprintf(tf->container, sizeof tf->container, "%s", t->container ? t->container : "");
    snprintf(tf->codec, sizeof tf->codec, "%s", t->codec ? t->codec : "");
    tf->size = t->size;
    tf->mtime_ns = t->mtime_ns;
    tf->hash = t->hash;
    return 0;
}

static int open_regular(const char *path, int64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    *size = sb.st_size;
    return fd;
}

int srv_audio_source_open(srv_state *srv, mm_catalog *cat, int64_t id, srv_audio_source *src, mm_error *err)
{
    track_file tf = {0};
    memset(src, 0, sizeof *src);
    src->fd = -1;
    mm_status s = mm_catalog_get_track(cat, id, take_track, &tf, err);
    if (s != MM_OK || !tf.found) {
        free(tf.path);
        if (s == MM_OK || s == MM_ERR_NOT_FOUND)
            mm_error_set(err, MM_ERR_NOT_FOUND, "no such track");
        return s == MM_OK || s == MM_ERR_NOT_FOUND ? 404 : 500;
    }
    if (!tf.path) {
        mm_error_set(err, MM_ERR_NOMEM, "out of memory");
        return 503;
    }
    const char *ct = srv_browser_content_type(tf.container, tf.codec);
    int status = 200;
    if (ct) {
        src->fd = open_regular(tf.path, &src->size);
        src->content_type = ct;
        if (src->fd < 0) {
            mm_error_set(err, MM_ERR_IO, "the track's file can't be read (moved or deleted since the last scan?)");
            status = 404;
        }
        free(tf.path);
        return status;
    }
    /* cached transcode named by track and content: a changed file gets a new one */
    char dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/%lld-%016" PRIx64 "-%llx.mp3", srv->transcode_dir, (long long)id, tf.hash,
             (unsigned long long)(tf.size ^ tf.mtime_ns));
    src->content_type = "audio/mpeg";
    src->transcoded = 1;
    src->fd = open_regular(dst, &src->size);
    if (src->fd < 0) {
        /* one transcode at a time; a request queued behind others answers 503 after a while rather
         * than holding its connection past a client's timeout */
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += TRANSCODE_WAIT_SECONDS;
        if (pthread_mutex_timedlock(&srv->transcode_lock, &deadline) != 0) {
            mm_error_set(err, MM_ERR_IO, "busy transcoding other tracks: try again in a moment");
            free(tf.path);
            src->fd = -1;
            return 503;
        }
        src->fd = open_regular(dst, &src->size); /* another request may have made it meanwhile */
        if (src->fd < 0) {
            if (mkdirs(srv->transcode_dir) != 0) {
                mm_error_set(err, MM_ERR_IO, "transcode cache %s: %s", srv->transcode_dir, strerror(errno));
                status = 500;
            } else if ((s = transcode(srv, tf.path, dst, err)) != MM_OK) {
                status = s == MM_ERR_NOMEM ? 503 : 500;
            } else {
                src->fd = open_regular(dst, &src->size);
                if (src->fd < 0) {
                    mm_error_set(err, MM_ERR_IO, "transcode cache: %s", strerror(errno));
                    status = 500;
                }
            }
        }
        pthread_mutex_unlock(&srv->transcode_lock);
    }
    free(tf.path);
    return status;
}
