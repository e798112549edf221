/* musicmap-synth end to end: reproducibility by seed (whatever the thread count and order), every
 * output format decoding back through the audio module with its length and tags, the three layouts,
 * the broken files, and the genres being learnable but not trivially so. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "musicmap/audio.h"
#include "musicmap/features.h"
#include "testutil.h"

#ifndef MM_SYNTH_BIN
#error "MM_SYNTH_BIN must name the musicmap-synth executable"
#endif

#define MAX_ROWS 256

typedef struct row {
    char kind[32];
    int index;
    char path[1024];
    char genre[32];
    char format[16];
    double seconds;
    int sample_rate;
    int channels;
    char hash[24];
    mm_audio_tags tags;
} row;

typedef struct manifest {
    int count;
    row rows[MAX_ROWS];
} manifest;

/* Runs the generator into a fresh folder; returns the folder. */
static const char *synth(const char *args)
{
    static char dirs[8][256];
    static int next;
    char *dir = dirs[next++ % 8];
    snprintf(dir, sizeof dirs[0], "%s", tu_temp_dir());
    char command[2048];
    snprintf(command, sizeof command, "'%s' --out '%s' %s > '%s/stdout.txt'", MM_SYNTH_BIN, dir, args, dir);
    int rc = system(command);
    if (rc != 0)
        fail_msg("musicmap-synth failed (%d): %s", rc, command);
    return dir;
}

static char *field(char **cursor)
{
    char *start = *cursor;
    if (!start)
        return "";
    char *tab = strpbrk(start, "\t\n");
    if (tab) {
        *cursor = *tab == '\t' ? tab + 1 : NULL;
        *tab = '\0';
    } else {
        *cursor = NULL;
    }
    return start;
}

static void put(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    n = n < size ? n : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void read_manifest(const char *dir, manifest *m)
{
    char path[512];
    snprintf(path, sizeof path, "%s/musicmap-synth.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("no manifest at %s", path);
    char line[4096];
    memset(m, 0, sizeof *m);
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) && m->count < MAX_ROWS) {
        row *r = &m->rows[m->count++];
        char *c = line;
        put(r->kind, sizeof r->kind, field(&c));
        r->index = atoi(field(&c));
        put(r->path, sizeof r->path, field(&c));
        put(r->genre, sizeof r->genre, field(&c));
        put(r->format, sizeof r->format, field(&c));
        r->seconds = atof(field(&c));
        r->sample_rate = atoi(field(&c));
        r->channels = atoi(field(&c));
        field(&c); /* seed */
        put(r->hash, sizeof r->hash, field(&c));
        for (int skip = 0; skip < 6; skip++)
            field(&c); /* tempo key mode meter programs kit */
        put(r->tags.title, sizeof r->tags.title, field(&c));
        put(r->tags.artist, sizeof r->tags.artist, field(&c));
        put(r->tags.album, sizeof r->tags.album, field(&c));
        put(r->tags.date, sizeof r->tags.date, field(&c));
        put(r->tags.track, sizeof r->tags.track, field(&c));
        put(r->tags.genre, sizeof r->tags.genre, field(&c));
    }
    fclose(f);
}

static const char *join(const char *dir, const char *rel)
{
    static char ring[4][2048];
    static int next;
    char *buf = ring[next++ % 4];
    snprintf(buf, sizeof ring[0], "%s/%s", dir, rel);
    return buf;
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Same seed, same PCM: with one thread in order, two threads in reverse (so each track follows a
 * different one on a different worker's reused synth), and a shorter run sharing the first tracks. */
static void test_determinism(void **state)
{
    const char *a = synth("--count 6 --seconds 3 --seed 7 --formats wav --threads 1");
    const char *b = synth("--count 6 --seconds 3 --seed 7 --formats wav --threads 2 --reverse");
    const char *c = synth("--count 3 --seconds 3 --seed 7 --formats wav --threads 1 --reverse");
    const char *d = synth("--count 3 --seconds 3 --seed 8 --formats wav --threads 1");
    static manifest ma, mb, mc, md;
    read_manifest(a, &ma);
    read_manifest(b, &mb);
    read_manifest(c, &mc);
    read_manifest(d, &md);
    assert_int_equal(ma.count, 6);
    assert_int_equal(mb.count, 6);
    assert_int_equal(mc.count, 3);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(ma.rows[i].hash, mb.rows[i].hash);
        assert_string_equal(ma.rows[i].path, mb.rows[i].path);
        assert_true(files_equal(join(a, ma.rows[i].path), join(b, mb.rows[i].path)));
    }
    for (int i = 0; i < 3; i++) {
        assert_string_equal(ma.rows[i].hash, mc.rows[i].hash);
        assert_string_not_equal(ma.rows[i].hash, md.rows[i].hash);
    }
    for (int i = 1; i < 6; i++)
        assert_string_not_equal(ma.rows[0].hash, ma.rows[i].hash);
}

/* Every format: opens, has the expected codec, rate, length and tags, and decodes to sound. */
static void test_formats(void **state)
{
    const char *dir = synth("--count 12 --genres rock,jazz --seconds 3 --seed 3 "
                            "--formats wav,flac,mp3,ogg,opus,m4a");
    static manifest m;
    read_manifest(dir, &m);
    assert_int_equal(m.count, 12);
    int seen[6] = {0};
    static const char *const formats[] = {"wav", "flac", "mp3", "ogg", "opus", "m4a"};
    static const char *const codecs[] = {"pcm_s16le", "flac", "mp3", "vorbis", "opus", "aac"};
    for (int i = 0; i < m.count; i++) {
        const row *r = &m.rows[i];
        int f = 0;
        while (f < 6 && strcmp(formats[f], r->format) != 0)
            f++;
        assert_true(f < 6);
        seen[f]++;
        mm_audio *audio;
        mm_error err;
        if (mm_audio_open(&audio, join(dir, r->path), &err) != MM_OK)
            fail_msg("%s", err.msg);
        if (!mm_audio_get_info(audio)->frames_exact && mm_audio_count_frames(audio, &err) != MM_OK)
            fail_msg("%s", err.msg);
        const mm_audio_info *info = mm_audio_get_info(audio);
        assert_true(strncmp(info->codec, codecs[f], strlen(codecs[f])) == 0);
        assert_int_equal(info->sample_rate, f == 4 ? 48000 : 44100);
        assert_int_equal(info->channels, 2);
        /* mp3 keeps the encoder's padding in its length; the others are exact to a few ms. */
        double tolerance = f == 2 ? 0.06 : 0.01;
        if (fabs(info->duration - r->seconds) > tolerance)
            fail_msg("%s: duration %.4f, expected %.4f", r->path, info->duration, r->seconds);
        assert_string_equal(info->tags.title, r->tags.title);
        assert_string_equal(info->tags.artist, r->tags.artist);
        assert_string_equal(info->tags.album, r->tags.album);
        assert_string_equal(info->tags.genre, r->tags.genre);
        assert_string_equal(info->tags.date, r->tags.date);
        assert_string_equal(info->tags.track, r->tags.track);
        float *y;
        int64_t n;
        if (mm_audio_decode_all(audio, 12000, &y, &n, &err) != MM_OK)
            fail_msg("%s", err.msg);
        if (fabs((double)n / 12000.0 - r->seconds) > tolerance + 0.01)
            fail_msg("%s: decoded %.4f s, expected %.4f", r->path, (double)n / 12000.0, r->seconds);
        double energy = 0;
        for (int64_t k = 0; k < n; k++)
            energy += (double)y[k] * y[k];
        assert_true(sqrt(energy / (double)n) > 0.01);
        free(y);
        mm_audio_close(audio);
    }
    for (int f = 0; f < 6; f++)
        assert_int_equal(seen[f], 2);
}

static void test_layout_gtzan(void **state)
{
    const char *dir = synth("--layout gtzan --count 4 --genres blues,metal --seconds 2 --seed 5");
    static const char *const expect[] = {"genres/blues/blues.00000.wav", "genres/metal/metal.00000.wav",
                                         "genres/blues/blues.00001.wav", "genres/metal/metal.00001.wav"};
    for (int i = 0; i < 4; i++) {
        mm_audio *audio;
        mm_error err;
        if (mm_audio_open(&audio, join(dir, expect[i]), &err) != MM_OK)
            fail_msg("%s", err.msg);
        const mm_audio_info *info = mm_audio_get_info(audio);
        assert_int_equal(info->sample_rate, 22050);
        assert_int_equal(info->channels, 1);
        assert_string_equal(info->codec, "pcm_s16le");
        assert_true(fabs(info->duration - 2.0) < 1e-3);
        assert_string_equal(info->tags.genre, ""); /* like GTZAN: the folder is the label */
        mm_audio_close(audio);
    }
    /* Without --seconds, GTZAN's 30 s. */
    const char *full = synth("--layout gtzan --count 1 --genres pop --seed 5");
    mm_audio *audio;
    mm_error err;
    if (mm_audio_open(&audio, join(full, "genres/pop/pop.00000.wav"), &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_true(fabs(mm_audio_get_info(audio)->duration - 30.0) < 1e-3);
    mm_audio_close(audio);
}

/* Splits one CSV line (quotes allowed) into fields. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line, *out = line;
    while (n < max) {
        fields[n++] = out;
        int quoted = *p == '"';
        if (quoted)
            p++;
        for (;;) {
            if (quoted && *p == '"' && p[1] == '"') {
                *out++ = '"';
                p += 2;
            } else if (quoted && *p == '"') {
                quoted = 0;
                p++;
            } else if (!quoted && (*p == ',' || *p == '\n' || *p == '\r' || *p == '\0')) {
                break;
            } else {
                *out++ = *p++;
            }
        }
        int more = *p == ',';
        *out++ = '\0';
        if (!more)
            break;
        p++;
    }
    return n;
}

static void test_layout_fma(void **state)
{
    const char *dir = synth("--layout fma --count 6 --genres hiphop,rock,classical --seconds 2 --seed 9");
    static manifest m;
    read_manifest(dir, &m);
    FILE *f = fopen(join(dir, "fma_metadata/tracks.csv"), "r");
    assert_non_null(f);
    static char lines[3][8192];
    char *groups[64], *names[64], *index[64];
    for (int i = 0; i < 3; i++)
        assert_non_null(fgets(lines[i], sizeof lines[i], f));
    int ng = csv_split(lines[0], groups, 64);
    int nn = csv_split(lines[1], names, 64);
    int ni = csv_split(lines[2], index, 64);
    assert_int_equal(ng, 53);
    assert_int_equal(nn, 53);
    assert_int_equal(ni, 53);
    assert_string_equal(index[0], "track_id");
    int genre_col = -1, title_col = -1, split_col = -1;
    for (int k = 1; k < nn; k++) {
        if (strcmp(groups[k], "track") == 0 && strcmp(names[k], "genre_top") == 0)
            genre_col = k;
        if (strcmp(groups[k], "track") == 0 && strcmp(names[k], "title") == 0)
            title_col = k;
        if (strcmp(groups[k], "set") == 0 && strcmp(names[k], "split") == 0)
            split_col = k;
    }
    assert_true(genre_col > 0 && title_col > 0 && split_col > 0);
    static const char *const fma_names[][2] = {{"hiphop", "Hip-Hop"}, {"rock", "Rock"}, {"classical", "Classical"}};
    char line[8192];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char *v[64];
        assert_int_equal(csv_split(line, v, 64), 53);
        int id = atoi(v[0]);
        char rel[64];
        snprintf(rel, sizeof rel, "fma_audio/%03d/%06d.mp3", id / 1000, id);
        const row *r = &m.rows[rows];
        assert_string_equal(r->path, rel);
        struct stat sb;
        assert_int_equal(stat(join(dir, rel), &sb), 0);
        const char *expect = NULL;
        for (int g = 0; g < 3; g++)
            if (strcmp(fma_names[g][0], r->genre) == 0)
                expect = fma_names[g][1];
        assert_non_null(expect);
        assert_string_equal(v[genre_col], expect);
        assert_string_equal(v[title_col], r->tags.title);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 6);
}

static void test_layout_flat_messy(void **state)
{
    const char *dir = synth("--count 40 --seconds 1 --seed 2 --formats wav --messy-tags --threads 2");
    static manifest m;
    read_manifest(dir, &m);
    assert_int_equal(m.count, 40);
    int messy = 0;
    for (int i = 0; i < m.count; i++) {
        assert_null(strchr(m.rows[i].path, '/')); /* flat: everything in one folder */
        messy += strcmp(m.rows[i].tags.genre, m.rows[i].genre) != 0;
    }
    print_message("messy genre tags: %d of %d\n", messy, m.count);
    assert_true(messy > 0 && messy < m.count / 2);
}

static void test_broken(void **state)
{
    const char *dir = synth("--count 2 --seconds 2 --seed 4 --broken");
    static manifest m;
    read_manifest(dir, &m);
    int kinds = 0;
    for (int i = 0; i < m.count; i++) {
        const row *r = &m.rows[i];
        if (strncmp(r->kind, "broken-", 7) != 0)
            continue;
        kinds++;
        const char *path = join(dir, r->path);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        mm_audio *audio = NULL;
        mm_error err;
        mm_status st = mm_audio_open(&audio, path, &err);
        const char *kind = r->kind + 7;
        if (strcmp(kind, "empty") == 0) {
            assert_int_equal(sb.st_size, 0);
            assert_int_not_equal(st, MM_OK);
        } else if (strcmp(kind, "not-audio") == 0) {
            assert_int_not_equal(st, MM_OK);
        } else if (strcmp(kind, "tiny") == 0) {
            assert_int_equal(st, MM_OK);
            assert_true(fabs(mm_audio_get_info(audio)->duration - 0.5) < 0.06);
        } else if (strcmp(kind, "wrong-extension") == 0) {
            assert_int_equal(st, MM_OK);
            assert_string_equal(mm_audio_get_info(audio)->codec, "flac");
            assert_non_null(strstr(r->path, ".mp3"));
        } else if (strcmp(kind, "non-utf8-name") == 0) {
            assert_int_equal(st, MM_OK);
            assert_non_null(strchr(r->path, '\xe9'));
        } else if (strcmp(kind, "lying-header") == 0) {
            /* The data chunk claims ten times the bytes the file holds. */
            unsigned char head[256];
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            size_t got = fread(head, 1, sizeof head, f);
            fclose(f);
            unsigned char *data = NULL;
            for (size_t k = 12; k + 8 <= got && !data; k++)
                if (memcmp(head + k, "data", 4) == 0)
                    data = head + k + 4;
            assert_non_null(data);
            uint32_t claimed = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                               (uint32_t)data[3] << 24;
            assert_true(claimed > 5 * (uint64_t)sb.st_size);
        }
        mm_audio_close(audio);
    }
    assert_int_equal(kinds, 7);
}

/* The genres can be told apart by a simple baseline (mean and spread of each log-mel band, nearest
 * centroid, leave-one-out), but not perfectly: tracks vary within a genre and neighbours overlap. */
#define SEP_GENRES 10
#define SEP_PER_GENRE 12
#define SEP_DIM (2 * MM_N_MELS)

static void test_separability(void **state)
{
    const char *dir = synth("--count 120 --seconds 8 --seed 11 --formats wav --rate 22050 --mono");
    static manifest m;
    read_manifest(dir, &m);
    int n = m.count;
    assert_int_equal(n, SEP_GENRES * SEP_PER_GENRE);
    double *x = calloc((size_t)n * SEP_DIM, sizeof(double));
    int *label = calloc((size_t)n, sizeof(int));
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *logmel = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    mm_mel *mel;
    mm_error err;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, &err), MM_OK);
    char names[SEP_GENRES][32] = {{0}};
    for (int i = 0; i < n; i++) {
        int g = 0;
        while (g < SEP_GENRES && names[g][0] && strcmp(names[g], m.rows[i].genre) != 0)
            g++;
        assert_true(g < SEP_GENRES);
        snprintf(names[g], sizeof names[g], "%s", m.rows[i].genre);
        label[i] = g;
        mm_audio *audio;
        if (mm_audio_open(&audio, join(dir, m.rows[i].path), &err) != MM_OK)
            fail_msg("%s", err.msg);
        float *y;
        int64_t count;
        assert_int_equal(mm_audio_decode_all(audio, MM_SAMPLE_RATE, &y, &count, &err), MM_OK);
        mm_audio_close(audio);
        mm_clip_fit(y, count, clip);
        free(y);
        mm_mel_compute(mel, clip, logmel);
        /* Only the frames that hold the song, not the zero padding after it. */
        int frames = (int)(count / MM_HOP);
        frames = frames > MM_N_FRAMES ? MM_N_FRAMES : frames;
        for (int b = 0; b < MM_N_MELS; b++) {
            double sum = 0, sum2 = 0;
            for (int t = 0; t < frames; t++) {
                double v = logmel[b * MM_N_FRAMES + t];
                sum += v;
                sum2 += v * v;
            }
            double mean = sum / frames;
            x[i * SEP_DIM + b] = mean;
            x[i * SEP_DIM + MM_N_MELS + b] = sqrt(fmax(sum2 / frames - mean * mean, 0));
        }
    }
    mm_mel_close(mel);
    free(clip);
    free(logmel);
    /* z-score every feature over the whole set */
    for (int k = 0; k < SEP_DIM; k++) {
        double sum = 0, sum2 = 0;
        for (int i = 0; i < n; i++) {
            sum += x[i * SEP_DIM + k];
            sum2 += x[i * SEP_DIM + k] * x[i * SEP_DIM + k];
        }
        double mean = sum / n, sd = sqrt(fmax(sum2 / n - mean * mean, 1e-12));
        for (int i = 0; i < n; i++)
            x[i * SEP_DIM + k] = (x[i * SEP_DIM + k] - mean) / sd;
    }
    /* nearest centroid, leaving each track out of its own genre's centroid */
    static double centroid[SEP_GENRES][SEP_DIM];
    int members[SEP_GENRES] = {0};
    memset(centroid, 0, sizeof centroid);
    for (int i = 0; i < n; i++) {
        members[label[i]]++;
        for (int k = 0; k < SEP_DIM; k++)
            centroid[label[i]][k] += x[i * SEP_DIM + k];
    }
    int correct = 0;
    int confusion[SEP_GENRES][SEP_GENRES];
    memset(confusion, 0, sizeof confusion);
    for (int i = 0; i < n; i++) {
        int best = -1;
        double best_d = INFINITY;
        for (int g = 0; g < SEP_GENRES; g++) {
            double d = 0;
            int count = members[g] - (g == label[i]);
            for (int k = 0; k < SEP_DIM; k++) {
                double c = (centroid[g][k] - (g == label[i] ? x[i * SEP_DIM + k] : 0)) / count;
                d += (x[i * SEP_DIM + k] - c) * (x[i * SEP_DIM + k] - c);
            }
            if (d < best_d) {
                best_d = d;
                best = g;
            }
        }
        confusion[label[i]][best]++;
        correct += best == label[i];
    }
    double accuracy = (double)correct / n;
    print_message("separability: nearest centroid on log-mel band mean+std (192-d), leave-one-out, "
                  "%d genres x %d tracks of 8 s: accuracy %.3f (chance %.3f)\n",
                  SEP_GENRES, SEP_PER_GENRE, accuracy, 1.0 / SEP_GENRES);
    for (int g = 0; g < SEP_GENRES; g++) {
        print_message("  %-10s", names[g]);
        for (int h = 0; h < SEP_GENRES; h++)
            print_message(" %2d", confusion[g][h]);
        print_message("\n");
    }
    assert_true(accuracy > 2.0 / SEP_GENRES);
    assert_true(accuracy < 1.0);
    free(x);
    free(label);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_formats),
        cmocka_unit_test(test_layout_gtzan), cmocka_unit_test(test_layout_fma),
        cmocka_unit_test(test_layout_flat_messy), cmocka_unit_test(test_broken),
        cmocka_unit_test(test_separability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
