/* Two unrelated jobs of one program at once, as an application that embeds libmusicmap would run them:
 * one thread scans a small collection into a catalog and computes log-mel spectrograms, the other lays
 * out random points with t-SNE (FFT-accelerated: it plans FFTW transforms), UMAP and PCA. Both sides
 * plan FFTW transforms over and over, so they meet at the library's one planner lock.
 *
 * What can be checked: no crash, every result equal to the same work done on one thread beforehand
 * (a planner raced by two threads hands out damaged plans, which shows as different numbers), and a
 * clean run under ThreadSanitizer (scripts/test.sh TSAN=1) for the library's own code. FFTW itself is
 * not instrumented, so TSan cannot see inside it: the comparison with the one-thread results covers it.
 * Each side runs its work on one thread (jobs = 1, threads = 1; OPENBLAS_NUM_THREADS=1 from CTest):
 * the thread pools are the same code at any count, and OpenBLAS's threads are invisible to TSan.
 *
 * Also here: MM_ERR_CANCELLED from a layout whose progress callback says stop. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "musicmap/catalog.h"
#include "musicmap/features.h"
#include "musicmap/layout.h"
#include "testutil.h"

#define N_SONGS 4
#define N_POINTS 400
#define DIM 8
#define ROUNDS 3
#define N_LOGMEL ((size_t)MM_N_MELS * MM_N_FRAMES)

/* ---- the scanning side ---------------------------------------------------------------------------- */

typedef struct scan_job {
    const char *dir;      /* the collection; the catalog goes in dir/db */
    const float *clip;    /* a clip to run through the front-end between scans */
    const float *expect;  /* its log-mel computed alone */
    /* results, checked by the main thread (cmocka's assertions belong to it) */
    mm_status status;
    mm_error err;
    int64_t added;
    size_t features;
    int mel_mismatch;
} scan_job;

static void *scan_side(void *arg)
{
    scan_job *job = arg;
    float *logmel = malloc(sizeof(float) * N_LOGMEL);
    char db[512];
    snprintf(db, sizeof db, "%s/db/library.db", job->dir);
    mm_catalog *cat = NULL;
    job->status = logmel ? mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &job->err) : MM_ERR_NOMEM;
    for (int round = 0; round < ROUNDS && job->status == MM_OK; round++) {
        mm_scan_options o;
        mm_scan_options_init(&o);
        o.jobs = 1;
        o.retry_failed = 1;
        o.prune = round == ROUNDS - 1;
        mm_scan_result r;
        const char *roots[] = {job->dir};
        job->status = mm_catalog_scan(cat, roots, 1, &o, &r, &job->err);
        if (round == 0)
            job->added = r.added;
        /* and the front-end on its own: a fresh mm_mel (a plan made and destroyed) each time */
        for (int i = 0; i < 4 && job->status == MM_OK; i++) {
            mm_mel *mel;
            if ((job->status = mm_mel_open(&mel, MM_PAD_REFLECT, &job->err)) != MM_OK)
                break;
            mm_mel_compute(mel, job->clip, logmel);
            job->mel_mismatch += memcmp(logmel, job->expect, sizeof(float) * N_LOGMEL) != 0;
            mm_mel_close(mel);
        }
    }
    if (job->status == MM_OK) {
        int64_t *ids = NULL;
        job->status = mm_catalog_feature_ids(cat, &ids, &job->features, &job->err);
        free(ids);
    }
    mm_catalog_close(cat);
    free(logmel);
    return NULL;
}

/* ---- the layout side ------------------------------------------------------------------------------ */

typedef struct layout_job {
    const float *x;                      /* N_POINTS x DIM */
    const float *tsne, *umap, *pca;      /* the layouts computed alone */
    mm_status status;
    mm_error err;
    int mismatch;
} layout_job;

static void tsne_options(mm_tsne_options *o)
{
    mm_tsne_options_init(o);
    o->method = MM_TSNE_FFT; /* the interpolation grid: FFTW plans, re-made as the layout grows */
    o->n_iter = 120;
    o->early_iter = 40;
    o->perplexity = 20;
    o->threads = 1;
    o->seed = 7;
}

static void umap_options(mm_umap_options *o)
{
    mm_umap_options_init(o);
    o->n_epochs = 60;
    o->threads = 1;
    o->seed = 7;
}

static mm_status run_layouts(const float *x, float *tsne, float *umap, float *pca, mm_error *err)
{
    mm_tsne_options to;
    tsne_options(&to);
    mm_umap_options uo;
    umap_options(&uo);
    mm_status st = mm_tsne(x, N_POINTS, DIM, &to, tsne, NULL, err);
    if (st == MM_OK)
        st = mm_umap(x, N_POINTS, DIM, &uo, umap, err);
    if (st == MM_OK)
        st = mm_pca(x, N_POINTS, DIM, 2, pca, NULL, NULL, NULL, 1, err);
    return st;
}

static void *layout_side(void *arg)
{
    layout_job *job = arg;
    size_t n2 = (size_t)N_POINTS * 2;
    float *t = malloc(sizeof(float) * n2), *u = malloc(sizeof(float) * n2), *p = malloc(sizeof(float) * n2);
    job->status = t && u && p ? MM_OK : MM_ERR_NOMEM;
    for (int round = 0; round < ROUNDS && job->status == MM_OK; round++) {
        job->status = run_layouts(job->x, t, u, p, &job->err);
        if (job->status == MM_OK)
            job->mismatch += memcmp(t, job->tsne, sizeof(float) * n2) != 0 ||
                             memcmp(u, job->umap, sizeof(float) * n2) != 0 ||
                             memcmp(p, job->pca, sizeof(float) * n2) != 0;
    }
    free(t), free(u), free(p);
    return NULL;
}

/* Three blobs in DIM dimensions, from the library's seeded generator. */
static float *points(void)
{
    float *x = malloc(sizeof(float) * N_POINTS * DIM);
    assert_non_null(x);
    mm_rng rng;
    mm_rng_seed(&rng, 11);
    for (size_t i = 0; i < N_POINTS; i++)
        for (size_t j = 0; j < DIM; j++)
            x[i * DIM + j] = (float)((double)(i % 3 == j % 3) * 4.0 + mm_rng_uniform(&rng));
    return x;
}

static void scan_and_layout_at_once(void **state)
{
    (void)state;
    const char *dir = tu_temp_dir();
    for (int i = 0; i < N_SONGS; i++) {
        char name[32];
        snprintf(name, sizeof name, "song%d.wav", i);
        tu_write_wav(dir, name, 4.0 + i, 22050, 2);
    }
    /* what each side must reproduce, computed first on this thread alone */
    float *clip = calloc(MM_CLIP_SAMPLES, sizeof(float)), *expect = malloc(sizeof(float) * N_LOGMEL);
    assert_true(clip && expect);
    for (size_t i = 0; i < MM_CLIP_SAMPLES; i++)
        clip[i] = (float)(0.3 * sin(2 * M_PI * 440.0 * (double)i / MM_SAMPLE_RATE) * sin((double)i * 1e-4));
    mm_mel *mel;
    assert_int_equal(mm_mel_open(&mel, MM_PAD_REFLECT, NULL), MM_OK);
    mm_mel_compute(mel, clip, expect);
    mm_mel_close(mel);

    float *x = points();
    size_t n2 = (size_t)N_POINTS * 2;
    float *tsne = malloc(sizeof(float) * n2), *umap = malloc(sizeof(float) * n2), *pca = malloc(sizeof(float) * n2);
    assert_true(tsne && umap && pca);
    mm_error err;
    if (run_layouts(x, tsne, umap, pca, &err) != MM_OK)
        fail_msg("layouts alone: %s", err.msg);

    scan_job sj = {.dir = dir, .clip = clip, .expect = expect};
    layout_job lj = {.x = x, .tsne = tsne, .umap = umap, .pca = pca};
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, scan_side, &sj), 0);
    assert_int_equal(pthread_create(&b, NULL, layout_side, &lj), 0);
    assert_int_equal(pthread_join(a, NULL), 0);
    assert_int_equal(pthread_join(b, NULL), 0);

    if (sj.status != MM_OK)
        fail_msg("scan side: %s", sj.err.msg);
    if (lj.status != MM_OK)
        fail_msg("layout side: %s", lj.err.msg);
    assert_int_equal(sj.added, N_SONGS);
    assert_int_equal(sj.features, N_SONGS);
    assert_int_equal(sj.mel_mismatch, 0);
    assert_int_equal(lj.mismatch, 0);
    for (size_t i = 0; i < n2; i++)
        assert_true(isfinite(tsne[i]) && isfinite(umap[i]) && isfinite(pca[i]));
    free(clip), free(expect), free(x), free(tsne), free(umap), free(pca);
}

/* ---- cancelling ----------------------------------------------------------------------------------- */

static int stop_at_once(const char *stage, size_t done, size_t total, void *user)
{
    (void)stage, (void)done, (void)total;
    ++*(int *)user;
    return 1;
}

static void a_stopped_layout_is_cancelled(void **state)
{
    (void)state;
    float *x = points(), *y = malloc(sizeof(float) * N_POINTS * 2);
    assert_non_null(y);
    int calls = 0;
    mm_error err;
    mm_tsne_options to;
    tsne_options(&to);
    to.progress = stop_at_once;
    to.progress_user = &calls;
    assert_int_equal(mm_tsne(x, N_POINTS, DIM, &to, y, NULL, &err), MM_ERR_CANCELLED);
    assert_string_equal(mm_status_name(err.code), "cancelled");
    mm_umap_options uo;
    umap_options(&uo);
    uo.progress = stop_at_once;
    uo.progress_user = &calls;
    assert_int_equal(mm_umap(x, N_POINTS, DIM, &uo, y, &err), MM_ERR_CANCELLED);
    assert_int_equal(calls, 2); /* each stopped at its first report */
    free(x), free(y);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_and_layout_at_once),
        cmocka_unit_test(a_stopped_layout_is_cancelled),
    };
    return tu_main(argc, argv, "embed_threads", tests, TU_COUNT(tests), NULL, 0);
}
