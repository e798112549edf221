/* Self-supervised (contrastive) training: the NT-Xent loss and its gradient, the views, the model file
 * of a contrastive head, learning on a small generated collection without labels, and an exact resume.
 *
 * Gradient check: nn_ntxent computes in double from float inputs, so central differences over the
 * float inputs (the step taken as the difference of the rounded floats, h ~ 1e-3) are accurate to
 * O(h^2) ~ 1e-6 relative; the analytic gradient is rounded to float (6e-8). Tolerance: |analytic -
 * numeric| <= NTXENT_TOL * max(1, max |analytic|), NTXENT_TOL = 1e-5 (measured: ~1e-7). */
#include <math.h>
#include <string.h>

#include "../src/nn/layers.h"
#include "../src/nn/recurrent.h"
#include "musicmap/nn.h"
#include "testutil.h"

#define NTXENT_TOL 1e-5

/* --- the loss ------------------------------------------------------------------------------------- */

/* The loss written out plainly in double, as the paper states it, for comparison. */
static double ntxent_reference(const float *u, int n, int k, double tau)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double sum = 0, pos = 0, ni = 0;
        for (int c = 0; c < k; c++)
            ni += (double)u[i * k + c] * u[i * k + c];
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double nj = 0, dot = 0;
            for (int c = 0; c < k; c++) {
                nj += (double)u[j * k + c] * u[j * k + c];
                dot += (double)u[i * k + c] * u[j * k + c];
            }
            double s = dot / sqrt(ni * nj) / tau;
            sum += exp(s);
            if (j == (i ^ 1))
                pos = s;
        }
        loss += log(sum) - pos;
    }
    return loss / n;
}

static void test_ntxent_gradient(void **state)
{
    enum { N = 8, K = 5 };
    const double taus[3] = {0.1, 0.3, 1.0};
    mm_rng rng;
    mm_rng_seed(&rng, 11);
    for (int ti = 0; ti < 3; ti++) {
        float u[N * K], g[N * K];
        for (int i = 0; i < N * K; i++)
            u[i] = (float)(2.0 * mm_rng_uniform(&rng) - 1.0);
        int correct;
        double loss = nn_ntxent(u, N, K, taus[ti], g, &correct);
        assert_float_equal(loss, ntxent_reference(u, N, K, taus[ti]), 1e-12);
        double worst = 0, peak = 0;
        for (int i = 0; i < N * K; i++) {
            const float keep = u[i];
            float up = (float)(keep + 1e-3), down = (float)(keep - 1e-3);
            u[i] = up;
            double lp = nn_ntxent(u, N, K, taus[ti], NULL, NULL);
            u[i] = down;
            double lm = nn_ntxent(u, N, K, taus[ti], NULL, NULL);
            u[i] = keep;
            double numeric = (lp - lm) / ((double)up - (double)down);
            worst = fmax(worst, fabs(numeric - g[i]));
            peak = fmax(peak, fabs(g[i]));
        }
        print_message("  NT-Xent, tau %.1f: loss %.4f, max |analytic - numeric| %.2e (max |grad| %.3f)\n", taus[ti],
                      loss, worst, peak);
        assert_true(worst <= NTXENT_TOL * fmax(1.0, peak));
        /* the normalisation makes the loss blind to a view's length: its gradient is orthogonal to it */
        for (int i = 0; i < N; i++) {
            double dot = 0;
            for (int c = 0; c < K; c++)
                dot += (double)g[i * K + c] * u[i * K + c];
            assert_float_equal(dot, 0.0, 1e-6);
        }
    }
}

static void test_ntxent_values(void **state)
{
    /* partners identical, the two songs orthogonal: each view's loss is -1/tau + log(e^(1/tau) + 2) */
    const float u[4 * 3] = {2, 0, 0, 0.5f, 0, 0, 0, 3, 0, 0, 1, 0};
    int correct;
    const double tau = 0.5;
    double loss = nn_ntxent(u, 4, 3, tau, NULL, &correct);
    assert_float_equal(loss, -1 / tau + log(exp(1 / tau) + 2), 1e-12);
    assert_int_equal(correct, 4);
    /* partners swapped between songs: every view's nearest is the wrong one */
    const float w[4 * 2] = {1, 0, 0, 1, 1, 0.01f, 0.01f, 1};
    nn_ntxent(w, 4, 2, tau, NULL, &correct);
    assert_int_equal(correct, 0);
    /* the inference head's outputs are the same unit vectors */
    float v[3] = {3, 4, 0};
    nn_head_forward(v, 1, 3, MM_HEAD_CONTRASTIVE);
    assert_float_equal(v[0], 0.6, 1e-6);
    assert_float_equal(v[1], 0.8, 1e-6);
}

/* --- views ---------------------------------------------------------------------------------------- */

static void test_views(void **state)
{
    const size_t n = (size_t)MM_N_MELS * MM_N_FRAMES;
    float *song = malloc(sizeof(float) * n), *view = malloc(sizeof(float) * n), row[MM_N_FRAMES];
    for (int m = 0; m < MM_N_MELS; m++)
        for (int t = 0; t < MM_N_FRAMES; t++)
            song[(size_t)m * MM_N_FRAMES + t] = (float)(m * 10000 + t);
    mm_rng rng;
    mm_rng_seed(&rng, 3);
    const int F = 455;
    for (int trial = 0; trial < 20; trial++) {
        nn_view_clip(song, view, F, 0, row, &rng);
        /* one excerpt of F consecutive frames, repeated: frame t + F is frame t, every band alike */
        int first = MM_N_FRAMES, last = -1;
        for (int t = 0; t < MM_N_FRAMES; t++) {
            int f = (int)view[t];
            first = f < first ? f : first;
            last = f > last ? f : last;
            if (t + F < MM_N_FRAMES)
                assert_float_equal(view[t], view[t + F], 0);
            assert_float_equal(view[(size_t)50 * MM_N_FRAMES + t], (500000 + f), 0);
        }
        assert_int_equal(last - first + 1, F);
        for (int t = 1; t < F; t++)
            assert_true((int)view[t] == (int)view[t - 1] + 1 || ((int)view[t] == first && (int)view[t - 1] == last));
    }
    nn_view_clip(song, view, 0, 0, row, &rng); /* the whole clip, as stored */
    assert_memory_equal(view, song, sizeof(float) * n);
    nn_view_half(song, view, 1);
    assert_float_equal(view[0], (MM_N_FRAMES - MM_N_FRAMES / 2), 0);
    assert_float_equal(view[MM_N_FRAMES / 2], (MM_N_FRAMES - MM_N_FRAMES / 2), 0);
    nn_view_half(song, view, 0);
    assert_float_equal(view[MM_N_FRAMES - 1], ((MM_N_FRAMES - 1) % (MM_N_FRAMES / 2)), 0);
    free(song);
    free(view);
}

/* --- a generated collection: songs with no labels, each its own timbre ---------------------------- */

#define N_SONGS 48

typedef struct songs {
    int reads;
    long fail_index;
} songs;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double unit(uint64_t *s)
{
    *s = mix(*s);
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* Song i: a -50 dB floor with noise, two bands of its own (centre, width, level) pulsing at its own
 * tempo, and passing events (a random band for a few seconds) that differ from moment to moment, so
 * that two excerpts of a song share its timbre and tempo but not their details. */
static int song_read(size_t index, float *x, mm_error *err, void *ctx)
{
    songs *s = ctx;
    s->reads++;
    if ((long)index == s->fail_index)
        return mm_error_set(err, MM_ERR_IO, "generated read failure"), -1;
    uint64_t id = mix(index * 7919 + 17), noise = mix(index + 5000);
    int centre[2], width[2];
    float level[2];
    for (int b = 0; b < 2; b++) {
        centre[b] = 6 + (int)(unit(&id) * 84);
        width[b] = 3 + (int)(unit(&id) * 8);
        level[b] = (float)(12 + unit(&id) * 16);
    }
    const float tempo = (float)(0.05 + unit(&id) * 0.25);
    int ev_band = 0, ev_until = -1;
    for (int t = 0; t < MM_N_FRAMES; t++) {
        if (t > ev_until) { /* a new passing event */
            ev_band = (int)(unit(&noise) * 88);
            ev_until = t + 60 + (int)(unit(&noise) * 140);
        }
        const float pulse = 0.5f + 0.5f * sinf((float)t * tempo);
        for (int r = 0; r < MM_N_MELS; r++) {
            float v = -50.0f + (float)(unit(&noise) - 0.5) * 10.0f;
            for (int b = 0; b < 2; b++)
                if (abs(r - centre[b]) <= width[b])
                    v += level[b] * (0.6f + 0.4f * pulse);
            if (r >= ev_band && r < ev_band + 8)
                v += 15.0f;
            x[(size_t)r * MM_N_FRAMES + t] = v;
        }
    }
    return 0;
}

static void songs_init(songs *s, mm_dataset *d, size_t count)
{
    memset(s, 0, sizeof *s);
    s->fail_index = -1;
    d->count = count;
    d->labels = NULL;
    d->read = song_read;
    d->ctx = s;
}

static mm_model *new_model(uint64_t seed, float temperature)
{
    mm_model *m;
    mm_error err;
    assert_int_equal(mm_model_create(&m, mm_preset_find("small"), 16, NULL, MM_HEAD_CONTRASTIVE, NULL, &err), MM_OK);
    assert_int_equal(mm_model_init_random(m, seed, &err), MM_OK);
    mm_model_set_temperature(m, temperature);
    return m;
}

static void base_options(mm_train_options *o)
{
    mm_train_options_init(o);
    o->batch = 16; /* 8 songs x 2 views */
    o->seed = 42;
    o->threads = 2;
    o->augment = 1;
    o->train_frac = 0.75;
    o->val_frac = 0.25;
}

static int print_epoch(const mm_train_progress *p, void *ctx)
{
    if (p->end)
        print_message("  epoch %d/%d: loss %.4f pair acc %.3f | val loss %.4f pair acc %.3f%s (%.1f s)\n", p->epoch,
                      p->epochs, p->end->train_loss, p->end->train_acc, p->end->val_loss, p->end->val_acc,
                      p->end->improved ? " *" : "", p->end->seconds);
    return 0;
}

/* The head and its temperature survive the model file, which is version 2 (version 1 for the others). */
static void test_model_file(void **state)
{
    mm_model *m = new_model(1, 0.35f);
    assert_string_equal(mm_model_label(m, 0), "p1");
    assert_string_equal(mm_model_label(m, 15), "p16");
    char path[512];
    snprintf(path, sizeof path, "%s/contrastive.mmm", tu_temp_dir());
    mm_error err;
    assert_int_equal(mm_model_save(m, path, &err), MM_OK);
    unsigned char head[12];
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(head, 1, 12, f), 12);
    fclose(f);
    assert_int_equal(head[8], 2);
    mm_model *back;
    if (mm_model_load(&back, path, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(mm_model_head(back), MM_HEAD_CONTRASTIVE);
    assert_float_equal(mm_model_temperature(back), 0.35, 1e-7);
    assert_string_equal(mm_model_label(back, 3), "p4");

    /* inference: unit-length outputs, and the hidden state beside them */
    const size_t clip = (size_t)MM_N_MELS * MM_N_FRAMES;
    float *x = malloc(sizeof(float) * clip * 2), out[2 * 16], hidden[2 * 16];
    songs s;
    mm_dataset d;
    songs_init(&s, &d, 2);
    song_read(0, x, &err, &s);
    song_read(1, x + clip, &err, &s);
    mm_infer *inf;
    assert_int_equal(mm_infer_open(&inf, back, 2, &err), MM_OK);
    assert_int_equal(mm_infer_run(inf, x, 2, out, hidden, &err), MM_OK);
    for (int i = 0; i < 2; i++) {
        double ss = 0;
        for (int j = 0; j < 16; j++)
            ss += (double)out[i * 16 + j] * out[i * 16 + j];
        assert_float_equal(ss, 1.0, 1e-5);
    }
    mm_infer_close(inf);
    free(x);

    /* a softmax model is still written as version 1 */
    const char *labels[2] = {"a", "b"};
    mm_model *sm;
    assert_int_equal(mm_model_create(&sm, mm_preset_find("small"), 2, labels, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    assert_int_equal(mm_model_save(sm, path, &err), MM_OK);
    f = fopen(path, "rb");
    assert_int_equal(fread(head, 1, 12, f), 12);
    fclose(f);
    assert_int_equal(head[8], 1);
    mm_model_close(sm);
    mm_model_close(back);
    mm_model_close(m);
}

/* Without labels, the network learns to tell songs apart: the training and held-out losses fall and the
 * held-out pair accuracy rises from the first epoch's (chance: 1 / 23 views). */
static void test_learns(void **state)
{
    songs s;
    mm_dataset d;
    songs_init(&s, &d, N_SONGS);
    mm_model *m = new_model(1, 0.2f);
    mm_train_options o;
    base_options(&o);
    o.epochs = 6;
    o.patience = 0;
    o.learning_rate = 2e-3;
    o.progress = print_epoch;
    mm_trainer *t;
    mm_error err;
    if (mm_trainer_open(&t, m, &d, &o, &err) != MM_OK)
        fail_msg("%s", err.msg);
    const mm_split *sp = mm_trainer_split(t);
    assert_int_equal(sp->n_train, 36);
    assert_int_equal(sp->n_val, 12);
    mm_train_result r;
    if (mm_trainer_run(t, &r, &err) != MM_OK)
        fail_msg("%s", err.msg);
    const mm_train_epoch_stats *h;
    int epochs = mm_trainer_history(t, &h);
    print_message("  trained (best epoch %d): val loss %.4f pair acc %.3f, train pair acc %.3f\n", r.best_epoch,
                  r.val.loss, r.val.accuracy, r.train.accuracy);
    assert_int_equal(epochs, 6);
    assert_true(h[epochs - 1].train_loss < h[0].train_loss - 0.3);
    assert_true(r.val.loss < h[0].val_loss - 0.1);
    assert_true(r.val.accuracy > h[0].val_acc);
    assert_true(r.train.accuracy > 0.4);
    /* scored as mm_evaluate scores: no confusion matrix, no test songs */
    assert_null(r.val.confusion);
    assert_int_equal(r.val.count, 12);
    assert_int_equal(r.test.count, 0);
    mm_train_result_free(&r);
    mm_trainer_close(t);
    mm_model_close(m);
}

/* stops the run during the second epoch, as a kill would */
static int kill_in_epoch2(const mm_train_progress *p, void *ctx)
{
    return p->epoch == 2 && !p->end && p->batch == 1;
}

static void test_resume_is_exact(void **state)
{
    songs s;
    mm_dataset d;
    songs_init(&s, &d, 24);
    mm_error err;
    mm_train_options o;
    base_options(&o);
    o.epochs = 2;
    o.patience = 0;
    o.view_frames = 500;
    mm_model *a = new_model(3, 0.2f);
    mm_trainer *t;
    mm_train_result r;
    assert_int_equal(mm_trainer_open(&t, a, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    mm_train_result_free(&r);
    mm_trainer_close(t);

    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/contrastive.ckpt", tu_temp_dir());
    o.checkpoint = ckpt;
    o.progress = kill_in_epoch2;
    mm_model *b = new_model(3, 0.2f);
    assert_int_equal(mm_trainer_open(&t, b, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    assert_true(r.interrupted);
    mm_train_result_free(&r);
    mm_trainer_close(t);
    mm_model_close(b);

    o.progress = NULL;
    o.resume = 1;
    mm_model *c = new_model(99, 0.2f);
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_history(t, NULL), 1);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    assert_int_equal(r.epochs_run, 2);
    for (int i = 0; i < mm_model_n_params(a); i++)
        if (memcmp(mm_model_param(a, i)->data, mm_model_param(c, i)->data, sizeof(float) * mm_model_param(a, i)->count))
            fail_msg("after resume, %s differs from the uninterrupted run", mm_model_param(a, i)->name);
    print_message("  contrastive: 2 epochs straight == 1 epoch + kill + resume: all %zu weights bit-identical\n",
                  mm_model_weight_count(a));
    mm_train_result_free(&r);
    mm_trainer_close(t);

    /* refused: another temperature, another view length, a supervised model of the same shape */
    mm_model_set_temperature(c, 0.5f);
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "temperature"));
    print_message("  refused: %s\n", err.msg);
    mm_model_set_temperature(c, 0.2f);
    o.view_frames = 0;
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_ARG);
    o.view_frames = 500;
    mm_model *sup;
    assert_int_equal(mm_model_create(&sup, mm_preset_find("small"), 16, NULL, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    int labels[24] = {0};
    mm_dataset dl = d;
    dl.labels = labels;
    assert_int_equal(mm_trainer_open(&t, sup, &dl, &o, &err), MM_ERR_ARG);
    print_message("  refused: %s\n", err.msg);
    mm_model_close(sup);
    mm_model_close(a);
    mm_model_close(c);
}

/* What a contrastive run refuses up front, and an unreadable song failing the epoch. */
static void test_refusals(void **state)
{
    songs s;
    mm_dataset d;
    songs_init(&s, &d, 12);
    mm_model *m = new_model(1, 0.2f);
    mm_train_options o;
    base_options(&o);
    o.epochs = 1;
    mm_trainer *t;
    mm_error err;
    o.batch = 7;
    assert_int_equal(mm_trainer_open(&t, m, &d, &o, &err), MM_ERR_ARG);
    o.batch = 2;
    assert_int_equal(mm_trainer_open(&t, m, &d, &o, &err), MM_ERR_ARG);
    /* a supervised model still needs labels */
    mm_model *sup;
    const char *labels[2] = {"a", "b"};
    assert_int_equal(mm_model_create(&sup, mm_preset_find("small"), 2, labels, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    o.batch = 8;
    assert_int_equal(mm_trainer_open(&t, sup, &d, &o, &err), MM_ERR_ARG);
    mm_model_close(sup);
    /* a batch larger than the training songs shrinks to all of them (9 songs: 18 views) */
    o.batch = 64;
    assert_int_equal(mm_trainer_open(&t, m, &d, &o, &err), MM_OK);
    s.fail_index = (long)mm_trainer_split(t)->train[4];
    mm_train_epoch_stats st;
    assert_int_equal(mm_trainer_epoch(t, &st, &err), MM_ERR_IO);
    assert_non_null(strstr(err.msg, "generated read failure"));
    mm_trainer_close(t);
    mm_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ntxent_gradient), cmocka_unit_test(test_ntxent_values),
        cmocka_unit_test(test_views),           cmocka_unit_test(test_model_file),
        cmocka_unit_test(test_learns),          cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("contrastive", tests, NULL, NULL);
}
