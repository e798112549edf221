/* Scan throughput: a generated collection of mixed formats scanned with 1 and 2 jobs, the no-change
 * rescan, catalog bytes per track; and the no-change rescan of a tree of 100k small files.
 *
 *   bench_scan SYNTH WORKDIR [TRACKS [SMALL_FILES]]
 *
 * The collection (TRACKS songs of 30 s, default 240, six formats) is generated once with
 * musicmap-synth into WORKDIR/music and reused. The small-file tree (SMALL_FILES, default 100000,
 * 0 to skip) holds 0.1 s WAVs in folders of 100: each is probed, decoded and refused as too short,
 * so the first scan stores a failed row per file and no features; the rescan that follows is the
 * same work as for a tree of good songs: one stat per file and a comparison with the catalog. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "musicmap/audio.h"
#include "musicmap/catalog.h"

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static void remove_catalog(const char *db)
{
    char p[4096];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%.*s.features", (int)(strlen(db) - 3), db);
    unlink(p);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static mm_scan_result scan(const char *db, const char *root, int jobs, int fresh)
{
    if (fresh)
        remove_catalog(db);
    mm_catalog *cat = NULL;
    mm_error err;
    if (mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &err) != MM_OK) {
        fprintf(stderr, "bench_scan: %s\n", err.msg);
        exit(1);
    }
    mm_scan_options o = {.jobs = jobs};
    mm_scan_result r;
    const char *roots[1] = {root};
    if (mm_catalog_scan(cat, roots, 1, &o, &r, &err) != MM_OK) {
        fprintf(stderr, "bench_scan: %s\n", err.msg);
        exit(1);
    }
    mm_catalog_close(cat);
    return r;
}

/* 0.1 s of 8 kHz mono 16-bit PCM: a valid WAV that the scan refuses as too short */
static void make_small_tree(const char *root, int n)
{
    unsigned char wav[44 + 1600];
    memset(wav, 0, sizeof wav);
    uint32_t data = 1600, riff = data + 36, fmt_size = 16, rate = 8000, byte_rate = 16000;
    uint16_t pcm = 1, channels = 1, align = 2, bits = 16;
    memcpy(wav, "RIFF", 4);
    memcpy(wav + 4, &riff, 4);
    memcpy(wav + 8, "WAVEfmt ", 8);
    memcpy(wav + 16, &fmt_size, 4);
    memcpy(wav + 20, &pcm, 2);
    memcpy(wav + 22, &channels, 2);
    memcpy(wav + 24, &rate, 4);
    memcpy(wav + 28, &byte_rate, 4);
    memcpy(wav + 32, &align, 2);
    memcpy(wav + 34, &bits, 2);
    memcpy(wav + 36, "data", 4);
    memcpy(wav + 40, &data, 4);
    mkdir(root, 0755);
    char p[4096];
    for (int i = 0; i < n; i++) {
        if (i % 100 == 0) {
            snprintf(p, sizeof p, "%.3000s/d%04d", root, i / 100);
            mkdir(p, 0755);
        }
        snprintf(p, sizeof p, "%.3000s/d%04d/f%06d.wav", root, i / 100, i);
        wav[44 + (i % 1600)] = (unsigned char)(i & 0xFF); /* distinct content */
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, wav, sizeof wav) != (ssize_t)sizeof wav) {
            fprintf(stderr, "bench_scan: %s: %s\n", p, strerror(errno));
            exit(1);
        }
        close(fd);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_scan SYNTH WORKDIR [TRACKS [SMALL_FILES]]\n");
        return 2;
    }
    const char *synth = argv[1], *work = argv[2];
    int tracks = argc > 3 ? atoi(argv[3]) : 240;
    int small = argc > 4 ? atoi(argv[4]) : 100000;
    mm_audio_set_library_logging(0);
    mkdir(work, 0755);
    char music[4096], db[4096], marker[4096], cmd[8192], feat[4096];
    snprintf(music, sizeof music, "%.1000s/music-%d", work, tracks);
    snprintf(marker, sizeof marker, "%.1100s/.complete", music);
    snprintf(db, sizeof db, "%.1000s/bench.db", work);
    snprintf(feat, sizeof feat, "%.1000s/bench.features", work);
    if (access(marker, F_OK) != 0) {
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%.1100s' && '%.1000s' --out '%.1100s' --count %d --seconds 30 --seed 11 --formats mp3,flac,ogg,opus,m4a,wav"
                 " >/dev/null && touch '%.1200s'",
                 music, synth, music, tracks, marker);
        fprintf(stderr, "bench_scan: generating %d tracks of 30 s (once; cached in %s)\n", tracks, music);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_scan: musicmap-synth failed\n");
            return 1;
        }
    }
    printf("scan of %d generated 30 s tracks (mp3, flac, ogg, opus, m4a, wav in turn), %d cores\n", tracks,
           mm_cpu_count());
    double rate1 = 0;
    for (int jobs = 1; jobs <= 2; jobs++) {
        double c0 = cpu_seconds();
        mm_scan_result r = scan(db, music, jobs, 1);
        double cpu = cpu_seconds() - c0;
        double rate = (double)(r.added + r.failed) / r.seconds;
        if (jobs == 1)
            rate1 = rate;
        printf("  --jobs %d: %lld tracks in %.2f s = %.1f tracks/s (%lld failed); CPU %.1f ms/track\n", jobs,
               (long long)r.added, r.seconds, rate, (long long)r.failed, 1e3 * cpu / (double)(r.added + r.failed));
        if (jobs == 2)
            printf("  speed-up 2 jobs / 1 job: %.2fx\n", rate / rate1);
    }
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        mm_scan_result r = scan(db, music, 2, 0);
        if (r.unchanged != r.found) {
            fprintf(stderr, "bench_scan: the rescan read files\n");
            return 1;
        }
        if (r.seconds < best)
            best = r.seconds;
    }
    int64_t db_bytes = file_size(db) + file_size((snprintf(cmd, sizeof cmd, "%s-wal", db), cmd));
    printf("  no-change rescan: %.4f s (best of 3)\n", best);
    printf("  catalog: %.0f database bytes/track (incl. WAL), %.0f feature-file bytes/track (record %d)\n",
           (double)db_bytes / tracks, (double)file_size(feat) / tracks, MM_FEATURE_RECORD_BYTES);

    if (small > 0) {
        char tree[4096];
        snprintf(tree, sizeof tree, "%.1000s/small-%d", work, small);
        snprintf(marker, sizeof marker, "%.1100s/.complete", tree);
        double t0 = mm_now();
        if (access(marker, F_OK) != 0) {
            make_small_tree(tree, small);
            close(open(marker, O_WRONLY | O_CREAT, 0644));
        }
        printf("tree of %d small files (0.1 s WAVs, %d folders; made in %.1f s)\n", small, (small + 99) / 100,
               mm_now() - t0);
        mm_scan_result r = scan(db, tree, 2, 1);
        printf("  first scan, --jobs 2: %.2f s (%lld files, %.0f files/s; each refused as too short)\n", r.seconds,
               (long long)r.found, (double)r.found / r.seconds);
        double times[3];
        for (int i = 0; i < 3; i++) {
            r = scan(db, tree, 2, 0);
            times[i] = r.seconds;
            if (r.unchanged != small) {
                fprintf(stderr, "bench_scan: the rescan read files\n");
                return 1;
            }
        }
        printf("  no-change rescan: %.2f s, %.2f s, %.2f s (%.1f us per file)\n", times[0], times[1], times[2],
               1e6 * times[2] / small);
        db_bytes = file_size(db) + file_size((snprintf(cmd, sizeof cmd, "%s-wal", db), cmd));
        printf("  catalog: %.0f database bytes/file (failed rows with their error)\n", (double)db_bytes / small);
    }
    remove_catalog(db);
    return 0;
}
