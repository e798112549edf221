/* bench_layout: time, peak memory and quality of PCA, t-SNE and UMAP on synthetic song vectors.
 *
 * Data: "softmax10", 10-d softmax outputs of a simulated 10-genre classifier with uneven classes (22% ...
 * 3%), and "gauss32"/"gauss64", 32- and 64-d vectors from 10 uneven Gaussian classes (like the CRNN's
 * hidden vectors), all seeded. Each (data, N, method) runs in a child process, so the peak resident
 * memory (ru_maxrss, input data included) is that run's own.
 *
 * Usage: bench_layout [--n 1000,10000,23000,100000] [--data softmax10,gauss32,gauss64]
 *                     [--methods pca,tsne,umap] [--threads 2] [--big] [--seed S]
 * --big adds N = 1,000,000 (minutes per run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "musicmap/layout.h"

static const double SHARES[10] = {0.22, 0.17, 0.13, 0.11, 0.09, 0.08, 0.07, 0.05, 0.05, 0.03};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uni(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static double gauss(uint64_t *s)
{
    double u = uni(s), v = uni(s);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static int pick_class(uint64_t *s)
{
    double u = uni(s), c = 0;
    for (int k = 0; k < 10; k++) {
        c += SHARES[k];
        if (u < c)
            return k;
    }
    return 9;
}

/* A classifier's softmax: a confident logit for the true genre (sometimes shared with a "neighbouring"
 * genre, as blues/jazz or rock/metal), noise elsewhere. */
static void make_softmax10(size_t n, uint64_t seed, float *x, int32_t *lab)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        int c = pick_class(&s);
        lab[i] = c;
        double z[10], mx = -1e300, sum = 0;
        for (int k = 0; k < 10; k++)
            z[k] = 1.0 * gauss(&s);
        z[c] += 2.5 + 1.5 * gauss(&s);
        if (uni(&s) < 0.3)
            z[(c + 1 + (int)(uni(&s) * 2)) % 10] += 2.0 + gauss(&s);
        for (int k = 0; k < 10; k++)
            mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < 10; k++)
            sum += (z[k] = exp(z[k] - mx));
        for (int k = 0; k < 10; k++)
            x[i * 10 + (size_t)k] = (float)(z[k] / sum);
    }
}

static void make_gauss(size_t n, int d, uint64_t seed, float *x, int32_t *lab)
{
    uint64_t s = seed;
    double *centres = malloc(sizeof(double) * 10 * (size_t)d);
    for (int k = 0; k < 10 * d; k++)
        centres[k] = gauss(&s);
    for (size_t i = 0; i < n; i++) {
        int c = pick_class(&s);
        lab[i] = c;
        for (int j = 0; j < d; j++)
            x[i * (size_t)d + (size_t)j] = (float)(centres[c * d + j] + 0.45 * gauss(&s));
    }
    free(centres);
}

typedef struct result {
    double seconds, trust, agree, preserve;
    int ok;
    char msg[MM_ERROR_MSG_MAX];
} result;

static result run(const char *data, size_t n, mm_layout_method method, int threads, uint64_t seed)
{
    result r = {0};
    int d = strcmp(data, "softmax10") == 0 ? 10 : (strcmp(data, "gauss32") == 0 ? 32 : 64);
    float *x = malloc(sizeof(float) * n * (size_t)d);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    float *y = malloc(sizeof(float) * n * 2);
    if (!x || !lab || !y) {
        snprintf(r.msg, sizeof r.msg, "out of memory");
        return r;
    }
    if (d == 10)
        make_softmax10(n, seed, x, lab);
    else
        make_gauss(n, d, seed, x, lab);
    mm_layout_spec spec;
    mm_layout_spec_init(&spec);
    spec.method = method;
    spec.threads = threads;
    spec.seed = seed;
    mm_error err;
    double t0 = mm_now();
    if (mm_layout_compute(x, n, (size_t)d, &spec, y, &err) != MM_OK) {
        snprintf(r.msg, sizeof r.msg, "%s", err.msg);
        return r;
    }
    r.seconds = mm_now() - t0;
    mm_quality_options qo;
    mm_quality_options_init(&qo);
    qo.threads = threads;
    mm_layout_quality q;
    if (mm_layout_quality_compute(x, n, (size_t)d, y, 2, lab, &qo, &q, &err) != MM_OK) {
        snprintf(r.msg, sizeof r.msg, "%s", err.msg);
        return r;
    }
    r.trust = q.trustworthiness;
    r.agree = q.label_agreement;
    r.preserve = q.knn_preservation;
    r.ok = 1;
    free(x), free(lab), free(y);
    return r;
}

static size_t split(char *s, char **parts, size_t max)
{
    size_t k = 0;
    for (char *tok = strtok(s, ","); tok && k < max; tok = strtok(NULL, ","))
        parts[k++] = tok;
    return k;
}

int main(int argc, char **argv)
{
    char ns[256] = "1000,10000,23000,100000", datas[128] = "softmax10,gauss32,gauss64", methods[64] = "pca,tsne,umap";
    int threads = 2, big = 0;
    uint64_t seed = 1;
    if (argc == 6 && !strcmp(argv[1], "--write")) {
        /* bench_layout --write DATA N X.npy LABELS.npy: the same data as a file, for musicmap reduce */
        size_t n = (size_t)strtoull(argv[3], NULL, 10);
        int d = strcmp(argv[2], "softmax10") == 0 ? 10 : (strcmp(argv[2], "gauss32") == 0 ? 32 : 64);
        float *x = malloc(sizeof(float) * n * (size_t)d);
        int32_t *lab = malloc(sizeof(int32_t) * n);
        if (!x || !lab)
            return 1;
        if (d == 10)
            make_softmax10(n, seed, x, lab);
        else
            make_gauss(n, d, seed, x, lab);
        size_t shape[2] = {n, (size_t)d};
        mm_error err;
        if (mm_npy_write(argv[4], MM_NPY_F32, x, 2, shape, &err) != MM_OK ||
            mm_npy_write(argv[5], MM_NPY_I32, lab, 1, shape, &err) != MM_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        free(x), free(lab);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            snprintf(ns, sizeof ns, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            snprintf(datas, sizeof datas, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--methods") && i + 1 < argc)
            snprintf(methods, sizeof methods, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--big"))
            big = 1;
        else {
            fprintf(stderr, "usage: bench_layout [--n LIST] [--data LIST] [--methods LIST] [--threads T] [--big] [--seed S]\n");
            return 2;
        }
    }
    if (big && strlen(ns) + 10 < sizeof ns)
        strcat(ns, ",1000000");
    char *nl[16], *dl[8], *ml[8];
    size_t nn = split(ns, nl, 16), nd = split(datas, dl, 8), nm = split(methods, ml, 8);
    printf("| data | N | method | seconds | peak MiB | trustworthiness@10 | 10-NN label agreement | 10-NN preservation |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (size_t a = 0; a < nd; a++)
        for (size_t b = 0; b < nn; b++)
            for (size_t c = 0; c < nm; c++) {
                size_t n = (size_t)strtoull(nl[b], NULL, 10);
                mm_layout_method method;
                if (mm_layout_method_parse(ml[c], &method) != 0) {
                    fprintf(stderr, "unknown method %s\n", ml[c]);
                    return 2;
                }
                int fd[2];
                if (pipe(fd) != 0)
                    return 1;
                pid_t pid = fork();
                if (pid == 0) {
                    close(fd[0]);
                    result r = run(dl[a], n, method, threads, seed);
                    ssize_t w = write(fd[1], &r, sizeof r);
                    _exit(w == (ssize_t)sizeof r ? 0 : 1);
                }
                close(fd[1]);
                result r = {0};
                ssize_t got = read(fd[0], &r, sizeof r);
                close(fd[0]);
                int status;
                struct rusage ru;
                wait4(pid, &status, 0, &ru);
                if (got != (ssize_t)sizeof r || !r.ok) {
                    printf("| %s | %zu | %s | failed: %s | | | | |\n", dl[a], n, ml[c], got == (ssize_t)sizeof r ? r.msg : "crashed");
                } else {
                    printf("| %s | %zu | %s | %.2f | %.0f | %.4f | %.3f | %.3f |\n", dl[a], n, ml[c], r.seconds,
                           ru.ru_maxrss / 1024.0, r.trust, r.agree, r.preserve);
                }
                fflush(stdout);
            }
    return 0;
}
