/* Training on a small synthetic data set (small preset): it learns, a killed-and-resumed run ends with
 * the same weights as an uninterrupted one, bad checkpoints and unreadable items are reported. */
#include <math.h>
#include <string.h>

#include "musicmap/nn.h"
#include "testutil.h"

#define N_CLASSES 3
#define N_ITEMS 60

/* Separable fake spectrograms: a -50 dB floor with noise, each class lifting its own band of mel rows
 * (with a slow time modulation so the recurrent part sees something). Made on demand from the index. */
typedef struct synth {
    int labels[N_ITEMS];
    long fail_index; /* read() refuses this item (-1: none) */
    int fail_at;     /* or the fail_at-th read (0: none), recording its index in fail_index */
    int reads;
} synth;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int synth_read(size_t index, float *x, mm_error *err, void *ctx)
{
    synth *s = ctx;
    s->reads++;
    if (s->fail_at && s->reads == s->fail_at)
        s->fail_index = (long)index;
    if ((long)index == s->fail_index)
        return mm_error_set(err, MM_ERR_IO, "synthetic read failure"), -1;
    const int c = s->labels[index];
    uint64_t state = mix(index + 1000);
    for (int r = 0; r < MM_N_MELS; r++)
        for (int t = 0; t < MM_N_FRAMES; t++) {
            state = mix(state);
            float noise = (float)((double)(state >> 11) * 0x1.0p-53 - 0.5) * 12.0f;
            float v = -50.0f + noise;
            if (r >= 10 + 28 * c && r < 30 + 28 * c)
                v += 18.0f + 6.0f * sinf((float)t * (0.02f + 0.01f * (float)c));
            x[(size_t)r * MM_N_FRAMES + t] = v;
        }
    return 0;
}

static const char *const LABELS[N_CLASSES] = {"low", "mid", "high"};

static mm_model *new_model(uint64_t seed)
{
    mm_model *m;
    mm_error err;
    assert_int_equal(mm_model_create(&m, mm_preset_find("small"), N_CLASSES, LABELS, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    assert_int_equal(mm_model_init_random(m, seed, &err), MM_OK);
    return m;
}

static void synth_init(synth *s, mm_dataset *d, size_t count)
{
    memset(s, 0, sizeof *s);
    s->fail_index = -1;
    for (int i = 0; i < N_ITEMS; i++)
        s->labels[i] = i % N_CLASSES;
    d->count = count;
    d->labels = s->labels;
    d->read = synth_read;
    d->ctx = s;
}

static void base_options(mm_train_options *o)
{
    mm_train_options_init(o);
    o->batch = 8;
    o->seed = 42;
    o->threads = 2;
}

static int print_epoch(const mm_train_progress *p, void *ctx)
{
    if (p->end)
        print_message("  epoch %d/%d: loss %.4f acc %.3f | val loss %.4f acc %.3f%s (%.1f s)\n", p->epoch, p->epochs,
                      p->end->train_loss, p->end->train_acc, p->end->val_loss, p->end->val_acc,
                      p->end->improved ? " *" : "", p->end->seconds);
    return 0;
}

static void test_split(void **state)
{
    int labels[103];
    for (int i = 0; i < 103; i++)
        labels[i] = i < 50 ? 0 : i < 100 ? 1 : i == 100 ? -1 : 2; /* one unlabelled, a rare class of 2 */
    mm_split a, b;
    mm_error err;
    assert_int_equal(mm_split_stratified(labels, 103, 3, 0.6, 0.2, 9, &a, &err), MM_OK);
    assert_int_equal(a.n_train + a.n_val + a.n_test, 102);
    assert_int_equal(a.n_train, 30 + 30 + 1);
    assert_int_equal(a.n_val, 10 + 10 + 0);
    int count[3] = {0};
    for (size_t i = 0; i < a.n_test; i++)
        count[labels[a.test[i]]]++;
    assert_true(count[0] == 10 && count[1] == 10 && count[2] == 1);
    /* seeded: the same seed gives the same split, another seed another */
    assert_int_equal(mm_split_stratified(labels, 103, 3, 0.6, 0.2, 9, &b, &err), MM_OK);
    assert_memory_equal(a.train, b.train, sizeof(size_t) * a.n_train);
    mm_split_free(&b);
    assert_int_equal(mm_split_stratified(labels, 103, 3, 0.6, 0.2, 10, &b, &err), MM_OK);
    assert_true(memcmp(a.train, b.train, sizeof(size_t) * a.n_train) != 0);
    mm_split_free(&a);
    mm_split_free(&b);
    assert_int_equal(mm_split_stratified(labels, 103, 3, 0.9, 0.2, 9, &a, &err), MM_ERR_ARG);
}

static void test_init(void **state)
{
    mm_model *a = new_model(5), *b = new_model(5);
    for (int i = 0; i < mm_model_n_params(a); i++)
        assert_memory_equal(mm_model_param(a, i)->data, mm_model_param(b, i)->data,
                            sizeof(float) * mm_model_param(a, i)->count);
    /* recurrent kernels: orthonormal rows */
    mm_tensor *U = mm_model_find_param(a, "gru1.U");
    for (int i = 0; i < U->dims[0]; i++)
        for (int j = 0; j < U->dims[0]; j++) {
            double d = 0;
            for (int k = 0; k < U->dims[1]; k++)
                d += (double)U->data[i * U->dims[1] + k] * U->data[j * U->dims[1] + k];
            assert_float_equal(d, i == j ? 1.0 : 0.0, 1e-5);
        }
    /* glorot_uniform bound for conv2: sqrt(6 / (8*9 + 16*9)) */
    mm_tensor *w = mm_model_find_param(a, "conv2.w");
    double limit = sqrt(6.0 / (8 * 9 + 16 * 9)), peak = 0;
    for (size_t i = 0; i < w->count; i++)
        peak = fmax(peak, fabs(w->data[i]));
    assert_true(peak <= limit && peak > 0.9 * limit);
    assert_float_equal(mm_model_find_param(a, "bn2.var")->data[3], 1.0, 0);
    assert_float_equal(mm_model_find_param(a, "bn0.gamma")->data[100], 1.0, 0);
    assert_float_equal(mm_model_find_param(a, "dense.b")->data[1], 0.0, 0);
    mm_model_close(a);
    mm_model_close(b);
}

/* Learns the synthetic classes; the result table's numbers are consistent; the trained model survives
 * a save / load round trip with the same evaluation. */
static void test_learns(void **state)
{
    synth s;
    mm_dataset d;
    synth_init(&s, &d, N_ITEMS);
    mm_model *m = new_model(1);
    mm_train_options o;
    base_options(&o);
    o.epochs = 5;
    o.learning_rate = 2e-3;
    o.lr_patience = 1;
    o.progress = print_epoch;
    mm_trainer *t;
    mm_error err;
    if (mm_trainer_open(&t, m, &d, &o, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_train_result r;
    if (mm_trainer_run(t, &r, &err) != MM_OK)
        fail_msg("%s", err.msg);
    print_message("  small / synthetic: %d epochs (best %d): train %.3f, val %.3f, test %.3f\n", r.epochs_run,
                  r.best_epoch, r.train.accuracy, r.val.accuracy, r.test.accuracy);
    assert_true(r.test.accuracy >= 0.9);
    assert_int_equal(r.test.count, mm_trainer_split(t)->n_test);
    size_t diag = 0, all = 0;
    for (int i = 0; i < N_CLASSES; i++)
        for (int j = 0; j < N_CLASSES; j++) {
            all += r.test.confusion[i * N_CLASSES + j];
            diag += i == j ? r.test.confusion[i * N_CLASSES + j] : 0;
        }
    assert_int_equal(all, r.test.count);
    assert_float_equal((double)diag / (double)all, r.test.accuracy, 1e-12);
    const mm_train_epoch_stats *h;
    assert_int_equal(mm_trainer_history(t, &h), r.epochs_run);
    assert_true(h[r.epochs_run - 1].train_loss < h[0].train_loss);
    /* the schedule: with patience 1, every epoch without a better validation loss halves the next one's
     * learning rate, and only those */
    assert_float_equal(h[0].learning_rate, o.learning_rate, 0);
    for (int e = 1; e < r.epochs_run; e++)
        assert_float_equal(h[e].learning_rate, h[e - 1].improved ? h[e - 1].learning_rate : h[e - 1].learning_rate * 0.5,
                           1e-15);

    char path[512];
    snprintf(path, sizeof path, "%s/trained.mmm", tu_temp_dir());
    assert_int_equal(mm_model_save(m, path, &err), MM_OK);
    mm_model *back;
    assert_int_equal(mm_model_load(&back, path, &err), MM_OK);
    assert_int_equal(mm_model_head(back), MM_HEAD_SOFTMAX);
    mm_eval e;
    const mm_split *sp = mm_trainer_split(t);
    assert_int_equal(mm_evaluate(back, &d, sp->test, sp->n_test, 5, &e, &err), MM_OK);
    assert_float_equal(e.accuracy, r.test.accuracy, 1e-12);
    assert_float_equal(e.loss, r.test.loss, 1e-5);
    mm_eval_free(&e);
    mm_model_close(back);
    mm_train_result_free(&r);
    mm_trainer_close(t);
    mm_model_close(m);
}

/* stops the run during the second epoch, as a kill would */
static int kill_in_epoch2(const mm_train_progress *p, void *ctx)
{
    return p->epoch == 2 && !p->end && p->batch == 2;
}

static void test_resume_is_exact(void **state)
{
    synth s;
    mm_dataset d;
    synth_init(&s, &d, 30);
    mm_error err;
    mm_train_options o;
    base_options(&o);
    o.epochs = 2;
    o.patience = 0;
    o.augment = 1; /* the augmentation's random numbers must resume exactly too */
    /* straight through */
    mm_model *a = new_model(3);
    mm_trainer *t;
    mm_train_result r;
    assert_int_equal(mm_trainer_open(&t, a, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    assert_int_equal(r.epochs_run, 2);
    mm_train_result_free(&r);
    mm_trainer_close(t);

    /* killed in epoch 2, then resumed from the checkpoint of epoch 1 in a new trainer and model */
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/train.ckpt", tu_temp_dir());
    o.checkpoint = ckpt;
    o.progress = kill_in_epoch2;
    mm_model *b = new_model(3);
    assert_int_equal(mm_trainer_open(&t, b, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    assert_true(r.interrupted);
    assert_int_equal(r.epochs_run, 1);
    /* the cut epoch left the trainer in no epoch's state: it refuses to go on */
    mm_train_epoch_stats st;
    assert_int_equal(mm_trainer_epoch(t, &st, &err), MM_ERR_ARG);
    mm_train_result_free(&r);
    mm_trainer_close(t);
    mm_model_close(b);

    o.progress = NULL;
    o.resume = 1;
    mm_model *c = new_model(99); /* other initial weights: the checkpoint's must win */
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_OK);
    assert_int_equal(mm_trainer_history(t, NULL), 1);
    assert_int_equal(mm_trainer_run(t, &r, &err), MM_OK);
    assert_int_equal(r.epochs_run, 2);
    for (int i = 0; i < mm_model_n_params(a); i++)
        if (memcmp(mm_model_param(a, i)->data, mm_model_param(c, i)->data, sizeof(float) * mm_model_param(a, i)->count))
            fail_msg("after resume, %s differs from the uninterrupted run", mm_model_param(a, i)->name);
    print_message("  2 epochs straight == 1 epoch + kill + resume: all %zu weights bit-identical\n",
                  mm_model_weight_count(a));
    /* and the augmentation did something: without it, other weights */
    {
        mm_train_options plain = o;
        plain.augment = 0;
        plain.resume = 0;
        plain.checkpoint = NULL;
        mm_model *p = new_model(3);
        mm_trainer *tp;
        mm_train_result rp;
        assert_int_equal(mm_trainer_open(&tp, p, &d, &plain, &err), MM_OK);
        assert_int_equal(mm_trainer_run(tp, &rp, &err), MM_OK);
        const mm_tensor *wa = mm_model_find_param(a, "conv1.w"), *wp = mm_model_find_param(p, "conv1.w");
        assert_true(memcmp(wa->data, wp->data, sizeof(float) * wa->count) != 0);
        mm_train_result_free(&rp);
        mm_trainer_close(tp);
        mm_model_close(p);
    }
    mm_train_result_free(&r);
    mm_trainer_close(t);

    /* a finished checkpoint resumes as finished */
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_OK);
    assert_true(mm_trainer_finished(t));
    mm_trainer_close(t);

    /* refused: another model, another batch size, a damaged or foreign file */
    const char *other[4] = {"a", "b", "c", "d"};
    mm_model *m4;
    assert_int_equal(mm_model_create(&m4, mm_preset_find("small"), 4, other, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    int labels4[N_ITEMS];
    for (int i = 0; i < (int)d.count; i++)
        labels4[i] = s.labels[i];
    mm_dataset d4 = d;
    d4.labels = labels4;
    assert_int_equal(mm_trainer_open(&t, m4, &d4, &o, &err), MM_ERR_ARG);
    print_message("  refused: %s\n", err.msg);
    mm_model_close(m4);
    o.batch = 4;
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_ARG);
    o.batch = 8;
    o.augment = 0;
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_ARG);
    assert_non_null(strstr(err.msg, "augmentation"));
    o.augment = 1;
    FILE *f = fopen(ckpt, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    f = fopen(ckpt, "wb");
    fwrite(bytes, 1, (size_t)size / 2, f);
    fclose(f);
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "damaged"));
    print_message("  refused: %s\n", err.msg);
    f = fopen(ckpt, "wb");
    fwrite("not a checkpoint at all, just some text that is long enough", 1, 60, f);
    fclose(f);
    assert_int_equal(mm_trainer_open(&t, c, &d, &o, &err), MM_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not a musicmap training checkpoint"));
    free(bytes);
    mm_model_close(a);
    mm_model_close(c);
}

/* An item that can't be read fails the epoch with its index and reason; nothing is checkpointed. */
static void test_read_failure(void **state)
{
    synth s;
    mm_dataset d;
    synth_init(&s, &d, 30);
    mm_model *m = new_model(1);
    mm_train_options o;
    base_options(&o);
    o.epochs = 1;
    mm_trainer *t;
    mm_error err;
    assert_int_equal(mm_trainer_open(&t, m, &d, &o, &err), MM_OK);
    s.fail_at = 5;
    mm_train_epoch_stats st;
    assert_int_equal(mm_trainer_epoch(t, &st, &err), MM_ERR_IO);
    char want[64];
    snprintf(want, sizeof want, "item %ld", s.fail_index);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "synthetic read failure"));
    assert_int_equal(mm_trainer_history(t, NULL), 0);
    print_message("  reported: %s\n", err.msg);
    mm_trainer_close(t);
    mm_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_learns),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_read_failure),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
