#include "testutil.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "musicmap/audio.h"
#include "musicmap/catalog.h"
#include "musicmap/features.h"

const char *tu_reference_dir(void)
{
    const char *env = getenv("MM_REFERENCE_DIR");
    return env && env[0] ? env : MM_REFERENCE_DIR;
}

const char *tu_ref(const char *fmt, ...)
{
    static char ring[8][1024];
    static int next;
    char *buf = ring[next++ % 8];
    int n = snprintf(buf, sizeof ring[0], "%s/", tu_reference_dir());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof ring[0] - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}

int tu_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n_tests,
            const struct CMUnitTest *ref_tests, size_t n_ref_tests)
{
    if (argc < 2)
        return _cmocka_run_group_tests(name, tests, n_tests, NULL, NULL);
    if (argc > 2 || strcmp(argv[1], "--reference") != 0) {
        fprintf(stderr, "usage: %s [--reference]\n", argv[0]);
        return 2;
    }
    struct stat sb;
    if (stat(tu_ref("README.md"), &sb) != 0) {
        const char *ci = getenv("CI");
        int in_ci = ci && strcmp(ci, "true") == 0;
        printf("%s: reference data not found at %s: %zu %s checks %s\n", in_ci ? "FAIL" : "SKIP",
               tu_reference_dir(), n_ref_tests, name, in_ci ? "cannot run (CI=true needs ../shared/reference)" : "not run");
        return in_ci ? 1 : TU_EXIT_SKIP;
    }
    char ref_name[128];
    snprintf(ref_name, sizeof ref_name, "%s (reference)", name);
    return _cmocka_run_group_tests(ref_name, ref_tests, n_ref_tests, NULL, NULL);
}

static float test_signal(int64_t i, int rate, int channel)
{
    double t = (double)i / rate;
    double env = 0.75 + 0.25 * sin(2 * M_PI * 0.5 * t);
    double v = sin(2 * M_PI * 220.0 * t) + 0.6 * sin(2 * M_PI * 277.2 * t + channel) + 0.4 * sin(2 * M_PI * 329.6 * t);
    return (float)(0.3 / 2.0 * env * v);
}

static const char *ring_path(const char *dir, const char *name)
{
    static char ring[8][600];
    static int next;
    char *p = ring[next++ % 8];
    snprintf(p, sizeof ring[0], "%s/%s", dir, name);
    return p;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

const char *tu_write_wav(const char *dir, const char *name, double seconds, int rate, int channels)
{
    const char *path = ring_path(dir, name);
    int64_t frames = (int64_t)(seconds * rate + 0.5);
    uint32_t data_bytes = (uint32_t)(frames * channels * 2);
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 36 + data_bytes, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);
    put_le(h + 20, 1, 2); /* PCM */
    put_le(h + 22, (uint32_t)channels, 2);
    put_le(h + 24, (uint32_t)rate, 4);
    put_le(h + 28, (uint32_t)(rate * channels * 2), 4);
    put_le(h + 32, (uint32_t)(channels * 2), 2);
    put_le(h + 34, 16, 2);
    memcpy(h + 36, "data", 4);
    put_le(h + 40, data_bytes, 4);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(h, 1, sizeof h, f), sizeof h);
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++) {
            unsigned char s[2];
            put_le(s, (uint32_t)(int16_t)lrintf(test_signal(i, rate, c) * 32767.0f), 2);
            assert_int_equal(fwrite(s, 1, 2, f), 2);
        }
    assert_int_equal(fclose(f), 0);
    return path;
}

const char *tu_write_audio(const char *dir, const char *name, double seconds, int rate, int channels)
{
    const char *path = ring_path(dir, name);
    int64_t frames = (int64_t)(seconds * rate + 0.5);
    float *pcm = malloc(sizeof(float) * (size_t)(frames * channels));
    assert_non_null(pcm);
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            pcm[i * channels + c] = test_signal(i, rate, c);
    mm_error err;
    mm_status st = mm_audio_write(path, pcm, frames, channels, rate, NULL, &err);
    free(pcm);
    if (st != MM_OK)
        fail_msg("%s", err.msg);
    return path;
}

void *tu_read_raw(const char *path, size_t size, size_t count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    void *data = malloc(size * count);
    assert_non_null(data);
    size_t got = fread(data, size, count, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != count || extra != EOF)
        fail_msg("%s: expected exactly %zu elements of %zu bytes", path, count, size);
    return data;
}

float *tu_read_npy_f32(const char *path, int ndim, const size_t *shape)
{
    mm_npy npy;
    mm_error err;
    if (mm_npy_read(path, &npy, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(npy.dtype, MM_NPY_F32);
    if (ndim) {
        assert_int_equal(npy.ndim, ndim);
        for (int i = 0; i < ndim; i++)
            assert_int_equal(npy.shape[i], shape[i]);
    }
    return npy.data;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

tu_diff tu_compare(const float *a, const float *b, size_t n)
{
    tu_diff d = {0};
    double *abs_diff = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(abs_diff);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)a[i] - (double)b[i]);
        if (isnan(v))
            v = INFINITY;
        abs_diff[i] = v;
        sum += v;
        if (v > d.max_abs) {
            d.max_abs = v;
            d.worst = i;
        }
    }
    d.mean_abs = n ? sum / (double)n : 0;
    qsort(abs_diff, n, sizeof *abs_diff, cmp_double);
    d.p99_abs = n ? abs_diff[(size_t)((double)(n - 1) * 0.99)] : 0;
    free(abs_diff);
    return d;
}

const char *tu_temp_dir(void)
{
    static char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/musicmap-test-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp failed");
    return dir;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void tu_fake_catalog(const char *path, const tu_song *songs, size_t n)
{
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, path, MM_CATALOG_CREATE, &err), MM_OK);
    mm_catalog_close(cat);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *t, *d;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO tracks(id, path, size, mtime_ns, status, duration, container, codec,"
                                        " sample_rate, channels, bit_rate, title, artist, album, genre, scanned_at)"
                                        " VALUES (?1, ?2, 1000, 0, 'ok', ?3, 'mp3', 'mp3', 44100, 2, 192000, ?4, ?5, ?6,"
                                        " ?7, 0)",
                                        -1, &t, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO descriptors(track_id, version, clips, vector) VALUES (?1, ?2, 1, ?3)",
                                        -1, &d, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        const tu_song *s = &songs[i];
        sqlite3_bind_int64(t, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_blob(t, 2, s->path, (int)strlen(s->path), SQLITE_TRANSIENT); /* paths are bytes */
        sqlite3_bind_double(t, 3, s->duration);
        bind_text_or_null(t, 4, s->title);
        bind_text_or_null(t, 5, s->artist);
        bind_text_or_null(t, 6, s->album);
        bind_text_or_null(t, 7, s->genre);
        assert_int_equal(sqlite3_step(t), SQLITE_DONE);
        sqlite3_reset(t);
        if (!s->descriptor)
            continue;
        sqlite3_bind_int64(d, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_int(d, 2, MM_DESCRIPTOR_VERSION);
        sqlite3_bind_blob(d, 3, s->descriptor, (int)(MM_DESCRIPTOR_DIM * sizeof(float)), SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(d), SQLITE_DONE);
        sqlite3_reset(d);
    }
    sqlite3_finalize(t);
    sqlite3_finalize(d);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}
