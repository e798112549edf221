/* Keras import (src/nn/keras.c): one set of known weights (a crnn4 model with random weights, 50
 * outputs) written by tests/keras/make_layouts.py with Debian's python3-h5py the way Keras 1.x
 * (TensorFlow and Theano, weights-only and full-model, nine-array and three-array GRUs), Keras 2.x,
 * tf.keras and Keras 3 write HDF5 files — author-chosen layer names, weight-less layers, `_1:0`
 * suffixes — must import to the same model, bit for bit, and so the same outputs; files of another
 * shape, damaged or foreign files are refused with one line naming the file; the command line lists
 * and imports them. Reference run: the original's file (../shared/reference/crnn) still imports to
 * its stored outputs within 1e-5, and so do its weights rewritten as a Keras 1 file.
 * GRU variants (tf.keras' reset_after GRUs, sigmoid gates): the same weights with a recurrent bias added
 * import to a model of that variant, whose recurrent head is checked against the script's own float64
 * numpy GRU (Keras' GRUCell formulas) on the sequence the convolutions give.
 * Without python3-h5py the suite is skipped (exit 77); under CI=true that is a failure. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "musicmap/nn.h"
#include "testutil.h"

#ifndef MM_KERAS_SCRIPT
#error "MM_KERAS_SCRIPT: the path of tests/keras/make_layouts.py"
#endif
#ifndef MM_CLI_BIN
#error "MM_CLI_BIN: the path of the musicmap program"
#endif

#define PYTHON "/usr/bin/python3"
#define N_TAGS 50
#define N_INPUTS 1

/* The 50 tags of the published Keras 1 auto-tagger (Choi et al.), as a realistic label list. */
static const char *const TAGS[N_TAGS] = {
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy"};
static const char *const GTZAN[10] = {"country", "jazz", "disco", "pop",  "blues",
                                      "reggae",  "metal", "rock", "hiphop", "classical"};

static int have_h5py(void)
{
    return system(PYTHON " -c 'import h5py, numpy' >/dev/null 2>&1") == 0;
}

static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

/* Runs a shell command; its exit status (-1 if it did not exit). */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* --- the known weights and their files ------------------------------------------------------------ */

typedef struct layout {
    char name[64], kind[16], phrase[96], options[64];
} layout;

/* Whether a layout's comma-separated options hold `word` (th, sigmoid, reset_after, head). */
static int has_option(const char *options, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = options; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static struct fixture {
    int ready;
    char dir[256], out[300];
    mm_model *model;              /* the known weights */
    float *x;                     /* N_INPUTS spectrograms */
    float outputs[N_INPUTS * N_TAGS];
    int n;
    layout layouts[64];
} fx;

static uint64_t lcg_state = 0x9E3779B97F4A7C15ull;
static double uniform(double lo, double hi)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(lcg_state >> 11) / 9007199254740992.0;
}

static void fill(mm_tensor *t, double lo, double hi)
{
    for (size_t i = 0; i < t->count; i++)
        t->data[i] = (float)uniform(lo, hi);
}

static void infer(mm_model *m, float *outputs)
{
    mm_infer *inf;
    mm_error err;
    if (mm_infer_open(&inf, m, N_INPUTS, &err) != MM_OK || mm_infer_run(inf, fx.x, N_INPUTS, outputs, NULL, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_infer_close(inf);
}

static const char *file_of(const char *name)
{
    static char ring[4][512];
    static int next;
    char *p = ring[next++ % 4];
    snprintf(p, sizeof ring[0], "%s/%s.h5", fx.out, name);
    return p;
}

/* The known model: Keras' initialisation with every batch-norm statistic and bias made distinct, so
 * that any weight put in the wrong place shows; written as .npy for the script, which writes the
 * layouts. */
static void fixture(void)
{
    if (fx.ready)
        return;
    snprintf(fx.dir, sizeof fx.dir, "%s", tu_temp_dir());
    snprintf(fx.out, sizeof fx.out, "%s/h5", fx.dir);
    mm_error err;
    if (mm_model_create(&fx.model, mm_preset_find("crnn4"), N_TAGS, TAGS, MM_HEAD_SIGMOID, NULL, &err) != MM_OK ||
        mm_model_init_random(fx.model, 20240611, &err) != MM_OK)
        fail_msg("%s", err.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/npy", fx.dir);
    assert_int_equal(mkdir(path, 0755), 0);
    for (int i = 0; i < mm_model_n_params(fx.model); i++) {
        mm_tensor *t = mm_model_param(fx.model, i);
        int bn0 = strncmp(t->name, "bn0.", 4) == 0;
        const char *dot = strchr(t->name, '.') + 1;
        if (strcmp(dot, "gamma") == 0)
            fill(t, 0.5, 1.5);
        else if (strcmp(dot, "beta") == 0)
            fill(t, -0.3, 0.3);
        else if (strcmp(dot, "mean") == 0)
            fill(t, bn0 ? -50 : -0.5, bn0 ? -30 : 0.5);
        else if (strcmp(dot, "var") == 0)
            fill(t, bn0 ? 100 : 0.5, bn0 ? 400 : 2.0);
        else if (strcmp(dot, "b") == 0)
            fill(t, -0.1, 0.1);
        size_t shape[4];
        for (int d = 0; d < t->ndim; d++)
            shape[d] = (size_t)t->dims[d];
        snprintf(path, sizeof path, "%s/npy/%s.npy", fx.dir, t->name);
        if (mm_npy_write(path, MM_NPY_F32, t->data, t->ndim, shape, &err) != MM_OK)
            fail_msg("%s", err.msg);
    }
    size_t n = (size_t)N_INPUTS * MM_N_MELS * MM_N_FRAMES;
    fx.x = malloc(sizeof(float) * n);
    assert_non_null(fx.x);
    for (size_t i = 0; i < n; i++)
        fx.x[i] = (float)(-40.0 + 25.0 * sin((double)(i % MM_N_FRAMES) * 0.01 * (1 + (i / MM_N_FRAMES) % 7)) +
                          uniform(-10, 10));
    infer(fx.model, fx.outputs);
    if (run(PYTHON " %s npy %s/npy %s", MM_KERAS_SCRIPT, fx.dir, fx.out) != 0)
        fail_msg("%s failed", MM_KERAS_SCRIPT);
    snprintf(path, sizeof path, "%s/manifest.txt", fx.out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    while (fgets(line, sizeof line, f) && fx.n < 64) {
        layout *l = &fx.layouts[fx.n];
        line[strcspn(line, "\n")] = '\0';
        char kind[128] = "";
        if (sscanf(line, "%63s %127s %63s", l->name, kind, l->options) < 2)
            continue;
        snprintf(l->kind, sizeof l->kind, "%.*s", (int)strcspn(kind, ":"), kind);
        if (strncmp(kind, "bad:", 4) == 0) {
            snprintf(l->phrase, sizeof l->phrase, "%s", strstr(line, "bad:") + 4);
            l->options[0] = '\0';
        }
        fx.n++;
    }
    fclose(f);
    assert_true(fx.n >= 15);
    fx.ready = 1;
}

static mm_status import(const char *name, const char *options, mm_model **out, mm_keras_info *info, mm_error *err)
{
    mm_keras_options o = {0};
    if (has_option(options, "th"))
        o.kernels = MM_KERAS_KERNELS_TH;
    return mm_model_import_keras_ex(out, file_of(name), mm_preset_find("crnn4"), N_TAGS, TAGS, MM_HEAD_SIGMOID, &o,
                                    info, err);
}

static int same_params(mm_model *a, mm_model *b, const char *skip_suffix, char *which, size_t size)
{
    for (int i = 0; i < mm_model_n_params(a); i++) {
        mm_tensor *ta = mm_model_param(a, i), *tb = mm_model_param(b, i);
        size_t len = strlen(ta->name);
        if (skip_suffix && len > strlen(skip_suffix) && strcmp(ta->name + len - strlen(skip_suffix), skip_suffix) == 0)
            continue;
        if (strcmp(ta->name, tb->name) != 0 || ta->count != tb->count ||
            memcmp(ta->data, tb->data, ta->count * sizeof(float)) != 0) {
            snprintf(which, size, "%s", ta->name);
            return 0;
        }
    }
    return 1;
}

/* --- tests ------------------------------------------------------------------------------------------ */

/* A reset_after layout's GRU biases are (2, 3U): the known bias, then the script's recurrent bias. */
static void check_reset_after_bias(mm_model *m, const char *layout_name)
{
    for (int g = 1; g <= 2; g++) {
        char name[16];
        snprintf(name, sizeof name, "gru%d.b", g);
        mm_tensor *ours = mm_model_find_param(m, name), *known = mm_model_find_param(fx.model, name);
        if (ours->ndim != 2 || ours->dims[0] != 2 || ours->dims[1] != (int)known->count)
            fail_msg("%s: %s is not (2, %zu)", layout_name, name, known->count);
        assert_memory_equal(ours->data, known->data, known->count * sizeof(float));
        int nonzero = 0;
        for (size_t i = 0; i < known->count; i++)
            nonzero += ours->data[known->count + i] != 0.0f;
        assert_true(nonzero > 0);
    }
}

/* Every layout gives the known parameters bit for bit (and so the same outputs: checked on the issue's);
 * GRU biases of reset_after layouts have the recurrent bias added. The GRU variant is the layout's. */
static void test_every_layout_imports_the_same_model(void **state)
{
    fixture();
    int good = 0;
    for (int i = 0; i < fx.n; i++) {
        const layout *l = &fx.layouts[i];
        if (strcmp(l->kind, "good") != 0)
            continue;
        mm_model *m = NULL;
        mm_keras_info info;
        mm_error err;
        if (import(l->name, l->options, &m, &info, &err) != MM_OK)
            fail_msg("%s: %s", l->name, err.msg);
        char which[64];
        int reset_after = has_option(l->options, "reset_after");
        if (!same_params(fx.model, m, reset_after ? ".b" : NULL, which, sizeof which))
            fail_msg("%s: parameter %s differs from the known weights", l->name, which);
        if (reset_after) /* the other biases (skipped above) are the known ones */
            for (int k = 0; k < mm_model_n_params(m); k++) {
                mm_tensor *t = mm_model_param(m, k), *known = mm_model_param(fx.model, k);
                if (strncmp(t->name, "gru", 3) == 0)
                    check_reset_after_bias(m, l->name);
                else if (t->count != known->count || memcmp(t->data, known->data, t->count * sizeof(float)) != 0)
                    fail_msg("%s: parameter %s differs from the known weights", l->name, t->name);
            }
        mm_gru_variant v = mm_model_gru(m);
        mm_gru_gates gates = has_option(l->options, "sigmoid") ? MM_GRU_GATES_SIGMOID : MM_GRU_GATES_HARD_SIGMOID;
        if (v.gates != gates || v.reset_after != reset_after || info.gru.gates != gates ||
            info.gru.reset_after != reset_after)
            fail_msg("%s: GRU variant %s, expected options '%s'", l->name, mm_gru_variant_text(v), l->options);
        /* a weights-only file never records its GRUs' gates */
        assert_int_equal(info.gru_gates_assumed, strstr(l->name, "_weights") != NULL);
        if (strcmp(l->name, "k1_tf_th_weights") == 0) { /* the layout; the others have the same bits */
            float out[N_INPUTS * N_TAGS];
            infer(m, out);
            assert_memory_equal(out, fx.outputs, sizeof out);
        }
        /* Keras 1 never records its backend: TensorFlow's kernels are assumed unless told */
        int keras1 = strncmp(l->name, "k1", 2) == 0;
        assert_int_equal(info.kernels_assumed, keras1 && !has_option(l->options, "th"));
        assert_int_equal(info.flipped, strstr(l->name, "theano") != NULL);
        print_message("  %-30s %s%s\n", l->name, info.format, info.kernels_assumed ? " (kernels assumed)" : "");
        mm_model_close(m);
        good++;
    }
    assert_true(good >= 14);
}

/* The recurrent head of each `head` layout (the GRU variants, and a default one as the control) against
 * the script's float64 numpy GRU, which reads the file's own arrays and Keras' formulas: the sequence the
 * GRUs read is the last block's output of our inference, so only the GRUs, the dense layer and the
 * sigmoid are compared. Tolerance 1e-5 on the last GRU state and the outputs (float32 against float64
 * over 15 steps; measured ~1e-7). Two clips, so batches of more than one are covered. */
static void test_recurrent_head_against_numpy(void **state)
{
    fixture();
    const int n = 2;
    size_t clip = (size_t)MM_N_MELS * MM_N_FRAMES;
    float *x = malloc(sizeof(float) * clip * (size_t)n);
    assert_non_null(x);
    memcpy(x, fx.x, sizeof(float) * clip);
    for (size_t i = 0; i < clip; i++)
        x[clip + i] = 0.8f * fx.x[clip - 1 - i] + 5.0f; /* another clip: reversed, re-levelled */
    int checked = 0;
    for (int li = 0; li < fx.n; li++) {
        const layout *l = &fx.layouts[li];
        if (!has_option(l->options, "head"))
            continue;
        mm_model *m = NULL;
        mm_error err;
        if (import(l->name, l->options, &m, NULL, &err) != MM_OK)
            fail_msg("%s: %s", l->name, err.msg);
        const mm_preset *p = mm_model_preset(m);
        int C, H, T, U = p->gru_units;
        assert_int_equal(mm_preset_shape(p, p->n_blocks - 1, &C, &H, &T), 0);
        float *block = malloc(sizeof(float) * (size_t)(C * T)), *seq = malloc(sizeof(float) * (size_t)(n * T * C));
        float out[2 * N_TAGS], hidden[2 * 32];
        assert_true(U <= 32);
        assert_non_null(block);
        assert_non_null(seq);
        mm_infer *inf;
        if (mm_infer_open(&inf, m, n, &err) != MM_OK || mm_infer_run(inf, x, n, out, hidden, &err) != MM_OK)
            fail_msg("%s", err.msg);
        for (int i = 0; i < n; i++) { /* C x 1 x T -> T steps of C values, as the GRUs read it */
            assert_int_equal(mm_infer_block_output(inf, p->n_blocks - 1, i, block), (size_t)(C * T));
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++)
                    seq[((size_t)i * T + t) * C + c] = block[(size_t)c * T + t];
        }
        mm_infer_close(inf);
        char seq_path[600], ref_path[600];
        snprintf(seq_path, sizeof seq_path, "%s/%s.seq.npy", fx.dir, l->name);
        snprintf(ref_path, sizeof ref_path, "%s/%s.head.npy", fx.dir, l->name);
        size_t shape[3] = {(size_t)n, (size_t)T, (size_t)C};
        if (mm_npy_write(seq_path, MM_NPY_F32, seq, 3, shape, &err) != MM_OK)
            fail_msg("%s", err.msg);
        const char *gates = has_option(l->options, "sigmoid") ? "sigmoid" : "hard_sigmoid";
        if (run(PYTHON " %s head %s %s %s %s", MM_KERAS_SCRIPT, file_of(l->name), gates, seq_path, ref_path) != 0)
            fail_msg("%s head %s failed", MM_KERAS_SCRIPT, l->name);
        size_t ref_shape[2] = {(size_t)n, (size_t)(U + N_TAGS)};
        float *ref = tu_read_npy_f32(ref_path, 2, ref_shape);
        double worst_h = 0, worst_o = 0;
        for (int i = 0; i < n; i++) {
            tu_diff dh = tu_compare(hidden + i * U, ref + (size_t)i * (U + N_TAGS), (size_t)U);
            tu_diff dout = tu_compare(out + i * N_TAGS, ref + (size_t)i * (U + N_TAGS) + U, N_TAGS);
            worst_h = dh.max_abs > worst_h ? dh.max_abs : worst_h;
            worst_o = dout.max_abs > worst_o ? dout.max_abs : worst_o;
        }
        print_message("  %-30s %-38s last state max |diff| %.2e, outputs %.2e\n", l->name,
                      mm_gru_variant_text(mm_model_gru(m)), worst_h, worst_o);
        assert_true(worst_h <= 1e-5);
        assert_true(worst_o <= 1e-5);
        free(ref);
        free(block);
        free(seq);
        mm_model_close(m);
        checked++;
    }
    assert_true(checked >= 5);
    free(x);
}

/* Gates where the file doesn't say: the options decide (not assumed then); a model config overrides them. */
static void test_gates_option(void **state)
{
    fixture();
    mm_keras_options o = {.gates = MM_KERAS_GATES_HARD_SIGMOID};
    mm_keras_info info;
    mm_model *m = NULL;
    mm_error err;
    const mm_preset *crnn4 = mm_preset_find("crnn4");
    if (mm_model_import_keras_ex(&m, file_of("tfkeras_reset_after_weights"), crnn4, N_TAGS, TAGS, MM_HEAD_SIGMOID, &o,
                                 &info, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(info.gru.gates, MM_GRU_GATES_HARD_SIGMOID);
    assert_int_equal(info.gru.reset_after, 1);
    assert_int_equal(info.gru_gates_assumed, 0);
    assert_int_equal(mm_model_gru(m).gates, MM_GRU_GATES_HARD_SIGMOID);
    mm_model_close(m);
    if (mm_model_import_keras_ex(&m, file_of("tfkeras_reset_after_full"), crnn4, N_TAGS, TAGS, MM_HEAD_SIGMOID, &o,
                                 &info, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(info.gru.gates, MM_GRU_GATES_SIGMOID);
    assert_int_equal(info.gru_gates_assumed, 0);
    mm_model_close(m);
    /* the size rule (docs/api.md): a program whose struct ended before `gates` gets the automatic gates,
     * whatever lies beyond its size; from _init, the whole struct is read */
    mm_keras_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    o.gates = MM_KERAS_GATES_HARD_SIGMOID;
    o.size = offsetof(mm_keras_options, gates);
    if (mm_model_import_keras_ex(&m, file_of("tfkeras_reset_after_weights"), crnn4, N_TAGS, TAGS, MM_HEAD_SIGMOID, &o,
                                 &info, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(info.gru.gates, MM_GRU_GATES_SIGMOID); /* tf.keras' default for a reset_after GRU */
    assert_int_equal(info.gru_gates_assumed, 1);
    mm_model_close(m);
}

/* A Theano file read as TensorFlow's gets mirrored kernels and nothing else changes: the option matters. */
static void test_kernel_order_matters(void **state)
{
    fixture();
    mm_model *m = NULL;
    mm_error err;
    if (import("k1_theano_weights", NULL, &m, NULL, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_tensor *ours = mm_model_find_param(m, "conv2.w"), *known = mm_model_find_param(fx.model, "conv2.w");
    assert_memory_not_equal(ours->data, known->data, ours->count * sizeof(float));
    /* mirrored in both spatial axes */
    for (size_t k = 0; k < ours->count; k += 9)
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                assert_true(ours->data[k + (size_t)r * 3 + (size_t)c] == known->data[k + (size_t)(2 - r) * 3 + (size_t)(2 - c)]);
    assert_memory_equal(mm_model_find_param(m, "gru1.W")->data, mm_model_find_param(fx.model, "gru1.W")->data,
                        mm_model_find_param(m, "gru1.W")->count * sizeof(float));
    mm_model_close(m);
}

/* Keras 1.1 trained with epsilon 1e-5: the variances absorb the difference, so the outputs agree. */
static void test_other_epsilon_is_adjusted(void **state)
{
    fixture();
    mm_model *m = NULL;
    mm_keras_info info;
    mm_error err;
    if (import("k1_1_epsilon", NULL, &m, &info, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_true(fabs(info.bn_epsilon - 1e-5) < 1e-12);
    assert_int_equal(info.bn_epsilon_assumed, 0);
    char which[64];
    if (!same_params(fx.model, m, ".var", which, sizeof which))
        fail_msg("parameter %s differs", which);
    for (int i = 0; i < mm_model_n_params(m); i++) {
        mm_tensor *a = mm_model_param(m, i), *b = mm_model_param(fx.model, i);
        if (!strstr(a->name, ".var"))
            continue;
        for (size_t j = 0; j < a->count; j++)
            assert_true(fabsf(a->data[j] - b->data[j]) <= 1e-6f * fabsf(b->data[j]) + 1e-9f);
    }
    float out[N_INPUTS * N_TAGS];
    infer(m, out);
    tu_diff d = tu_compare(out, fx.outputs, N_INPUTS * N_TAGS);
    print_message("  epsilon 1e-5 file: outputs max |diff| %.2e\n", d.max_abs);
    assert_true(d.max_abs <= 1e-5);
    mm_model_close(m);
}

static void expect_refusal(const char *path, mm_status status, const char *phrase, const mm_preset *preset, int n_labels)
{
    mm_model *m = NULL;
    mm_error err;
    mm_status st = mm_model_import_keras(&m, path, preset, n_labels, TAGS, MM_HEAD_SIGMOID, &err);
    print_message("  refused: %s\n", st == MM_OK ? "(imported!)" : err.msg);
    assert_null(m);
    assert_int_equal(st, status);
    assert_non_null(strstr(err.msg, path));
    if (!strstr(err.msg, phrase))
        fail_msg("'%s' does not say '%s'", err.msg, phrase);
    assert_null(strchr(err.msg, '\n'));
}

static void test_bad_files_are_refused_in_one_line(void **state)
{
    fixture();
    const mm_preset *crnn4 = mm_preset_find("crnn4");
    int bad = 0;
    for (int i = 0; i < fx.n; i++) {
        const layout *l = &fx.layouts[i];
        if (strcmp(l->kind, "bad") == 0) {
            expect_refusal(file_of(l->name), MM_ERR_FORMAT, l->phrase, crnn4, N_TAGS);
            bad++;
        }
    }
    assert_true(bad >= 9);
    /* the architecture or label count differs */
    expect_refusal(file_of("k2_tf_weights"), MM_ERR_FORMAT, "50 outputs, but 10 labels were given", crnn4, 10);
    expect_refusal(file_of("k1_tf_th_weights"), MM_ERR_FORMAT, "kernel (64, 1, 3, 3), expected (3, 3, 1, 8) or (8, 1, 3, 3)",
                   mm_preset_find("small"), N_TAGS);
    expect_refusal(file_of("k1_full_model"), MM_ERR_FORMAT, "does not fit crnn6's conv4 (3x3 convolution, 128 -> 64",
                   mm_preset_find("crnn6"), N_TAGS);
    /* truncated, not HDF5 at all, absent */
    char path[600];
    snprintf(path, sizeof path, "%s/truncated.h5", fx.dir);
    struct stat sb;
    assert_int_equal(stat(file_of("k2_tf_weights"), &sb), 0);
    assert_int_equal(run("head -c %lld %s > %s", (long long)sb.st_size / 2, file_of("k2_tf_weights"), path), 0);
    expect_refusal(path, MM_ERR_FORMAT, "truncated or damaged", crnn4, N_TAGS);
    snprintf(path, sizeof path, "%s/notes.h5", fx.dir);
    assert_int_equal(run("echo 'not weights' > %s", path), 0);
    expect_refusal(path, MM_ERR_FORMAT, "not an HDF5 file", crnn4, N_TAGS);
    snprintf(path, sizeof path, "%s/absent.h5", fx.dir);
    expect_refusal(path, MM_ERR_IO, "cannot open", crnn4, N_TAGS);
}

/* `musicmap import-keras`: --labels-file, --list, one-line refusals, identical models from any layout. */
static void test_command_line(void **state)
{
    fixture();
    char tags[600], a[600], b[600], c[600], so[600], se[600];
    snprintf(tags, sizeof tags, "%s/tags.txt", fx.dir);
    FILE *f = fopen(tags, "w");
    assert_non_null(f);
    for (int i = 0; i < N_TAGS; i++)
        fprintf(f, "%s%s\n", TAGS[i], i % 7 == 0 ? "\r" : ""); /* CRLF lines are fine too */
    fprintf(f, "\n");
    fclose(f);
    snprintf(a, sizeof a, "%s/k1.mmm", fx.dir);
    snprintf(b, sizeof b, "%s/k2.mmm", fx.dir);
    snprintf(c, sizeof c, "%s/theano.mmm", fx.dir);
    snprintf(so, sizeof so, "%s/stdout.txt", fx.dir);
    snprintf(se, sizeof se, "%s/stderr.txt", fx.dir);
    assert_int_equal(run("%s import-keras %s --preset crnn4 --labels-file %s -o %s 2>%s", MM_CLI_BIN,
                         file_of("k1_tf_th_weights"), tags, a, se), 0);
    char *err = slurp(se);
    assert_non_null(strstr(err, "--kernel-order th")); /* the assumption is said */
    free(err);
    assert_int_equal(run("%s -q import-keras %s --preset crnn4 --labels-file %s -o %s", MM_CLI_BIN, file_of("k2_tf_weights"),
                         tags, b), 0);
    assert_int_equal(run("%s -q import-keras %s --preset crnn4 --labels-file %s --kernel-order th -o %s", MM_CLI_BIN,
                         file_of("k1_theano_weights"), tags, c), 0);
    assert_int_equal(run("cmp -s %s %s && cmp -s %s %s", a, b, a, c), 0);
    mm_model *m = NULL;
    mm_error e;
    if (mm_model_load(&m, a, &e) != MM_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(mm_model_n_labels(m), N_TAGS);
    assert_string_equal(mm_model_label(m, 5), "female vocalists");
    assert_string_equal(mm_model_label(m, 49), "happy");
    mm_model_close(m);

    /* --list: layers, weight names and shapes, what was assumed, the mapping */
    assert_int_equal(run("%s import-keras --list %s >%s 2>%s", MM_CLI_BIN, file_of("k1_tf_th_weights"), so, se), 0);
    char *out = slurp(so);
    static const char *const want[] = {"Keras 1 (no version recorded) weights-only file", "assumed",
                                       "bn_0_freq_running_std", "(64, 1, 3, 3)", "(out, in, rows, cols)", "zeropadding2d_1",
                                       "-> gru1 (GRU, 128 -> 32 units)", "W_z", "fits: crnn4, 50 outputs"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("--list output lacks '%s':\n%s", want[i], out);
    free(out);
    assert_int_equal(run("%s import-keras --list %s --preset crnn4 --labels-file %s >%s 2>%s", MM_CLI_BIN,
                         file_of("k2_theano_full"), tags, so, se), 0);
    out = slurp(so);
    assert_non_null(strstr(out, "Theano's (flipped: convolution), from the file's backend"));
    assert_non_null(strstr(out, "output activation: sigmoid (model config)"));
    free(out);
    /* a file that does not fit: the listing says where, stderr one line, exit 1 */
    assert_int_equal(run("%s import-keras --list %s >%s 2>%s", MM_CLI_BIN, file_of("bad_shape"), so, se), 1);
    out = slurp(so);
    err = slurp(se);
    assert_non_null(strstr(out, "does not fit: layer 'conv2' does not fit crnn4's conv2"));
    assert_non_null(strstr(out, "does not fit: layer 'conv2' does not fit crnn6's conv2"));
    assert_non_null(strstr(out, "-> does not fit (below)"));
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, file_of("bad_shape")));
    free(out);
    free(err);
    /* a reset_after file: --list names the variant and what was assumed; the model keeps it, and predicts
     * as the library's import does */
    assert_int_equal(run("%s import-keras --list %s >%s 2>%s", MM_CLI_BIN, file_of("tfkeras_reset_after_weights"), so, se),
                     0);
    out = slurp(so);
    static const char *const want_ra[] = {"GRU: sigmoid gates, reset_after=True; gates assumed", "bias: input, recurrent",
                                          "(2, 96)", "fits: crnn4, 50 outputs"};
    for (size_t i = 0; i < sizeof want_ra / sizeof want_ra[0]; i++)
        if (!strstr(out, want_ra[i]))
            fail_msg("--list output lacks '%s':\n%s", want_ra[i], out);
    free(out);
    snprintf(c, sizeof c, "%s/reset_after.mmm", fx.dir);
    assert_int_equal(run("%s import-keras %s --preset crnn4 --labels-file %s -o %s >%s 2>%s", MM_CLI_BIN,
                         file_of("tfkeras_reset_after_full"), tags, c, so, se), 0);
    err = slurp(se);
    assert_non_null(strstr(err, "GRUs: sigmoid gates, reset_after=True"));
    free(err);
    if (mm_model_load(&m, c, &e) != MM_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(mm_model_gru(m).gates, MM_GRU_GATES_SIGMOID);
    assert_int_equal(mm_model_gru(m).reset_after, 1);
    mm_model *direct = NULL;
    if (import("tfkeras_reset_after_full", NULL, &direct, NULL, &e) != MM_OK)
        fail_msg("%s", e.msg);
    float from_file[N_INPUTS * N_TAGS], from_import[N_INPUTS * N_TAGS];
    infer(m, from_file);
    infer(direct, from_import);
    assert_memory_equal(from_file, from_import, sizeof from_file);
    mm_model_close(direct);
    mm_model_close(m);
    /* import refusals: one line naming the file, exit 1 */
    static const char *const refused[] = {"bad_missing_layer", "bad_mixed_gru", "bad_relu_gates", "bad_keras3_hard_sigmoid"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(run("%s import-keras %s --preset crnn4 --labels-file %s -o %s/x.mmm >%s 2>%s", MM_CLI_BIN,
                             file_of(refused[i]), tags, fx.dir, so, se), 1);
        err = slurp(se);
        print_message("  %s", err);
        assert_int_equal(count_lines(err), 1);
        assert_non_null(strstr(err, file_of(refused[i])));
        free(err);
    }
    /* usage errors: exit 2 */
    assert_int_equal(run("%s import-keras %s --preset crnn4 --labels a,b --labels-file %s -o %s/x.mmm 2>/dev/null",
                         MM_CLI_BIN, file_of("k2_tf_weights"), tags, fx.dir), 2);
    assert_int_equal(run("%s import-keras %s --preset crnn4 --kernel-order xy --labels a,b -o %s/x.mmm 2>/dev/null",
                         MM_CLI_BIN, file_of("k2_tf_weights"), fx.dir), 2);
}

/* --- against the original (../shared/reference/crnn) ----------------------------------------------- */

static const char *const CLIPS[4] = {"actionable", "cute", "dubstep", "thejazzpiano"};

static void check_reference_outputs(mm_model *m)
{
    float *x = malloc(sizeof(float) * 4 * MM_N_MELS * MM_N_FRAMES);
    assert_non_null(x);
    size_t shape[2] = {MM_N_MELS, MM_N_FRAMES};
    for (int i = 0; i < 4; i++) {
        float *one = tu_read_npy_f32(tu_ref("audio/bensound-%s.mel.npy", CLIPS[i]), 2, shape);
        memcpy(x + (size_t)i * MM_N_MELS * MM_N_FRAMES, one, sizeof(float) * MM_N_MELS * MM_N_FRAMES);
        free(one);
    }
    mm_infer *inf;
    mm_error err;
    float out[40], hidden[128];
    if (mm_infer_open(&inf, m, 4, &err) != MM_OK || mm_infer_run(inf, x, 4, out, hidden, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_infer_close(inf);
    for (int i = 0; i < 4; i++) {
        size_t s1[1] = {10}, s2[1] = {32};
        float *ro = tu_read_npy_f32(tu_ref("crnn/musicmapz_gtzan_crnn4.%s.output.npy", CLIPS[i]), 1, s1);
        float *rh = tu_read_npy_f32(tu_ref("crnn/musicmapz_gtzan_crnn4.%s.hidden.npy", CLIPS[i]), 1, s2);
        tu_diff dout = tu_compare(out + i * 10, ro, 10), dh = tu_compare(hidden + i * 32, rh, 32);
        print_message("  %-13s output max |diff| %.2e, hidden %.2e\n", CLIPS[i], dout.max_abs, dh.max_abs);
        assert_true(dout.max_abs <= 1e-5);
        assert_true(dh.max_abs <= 1e-5);
        int top = 0, ref_top = 0;
        for (int j = 1; j < 10; j++) {
            top = out[i * 10 + j] > out[i * 10 + top] ? j : top;
            ref_top = ro[j] > ro[ref_top] ? j : ref_top;
        }
        assert_int_equal(top, ref_top);
        free(ro);
        free(rh);
    }
    free(x);
}

static mm_model *import_original(void)
{
    mm_model *m = NULL;
    mm_keras_info info;
    mm_error err;
    mm_keras_options o = {.head_from_file = 1};
    if (mm_model_import_keras_ex(&m, tu_ref("crnn/musicmapz_gtzan_crnn4.h5"), mm_preset_find("crnn4"), 10, GTZAN,
                                 MM_HEAD_SIGMOID, &o, &info, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(info.kernels_assumed, 0);
    assert_int_equal(info.flipped, 0);
    assert_int_equal(mm_model_head(m), MM_HEAD_SIGMOID);
    return m;
}

static void test_reference_original(void **state)
{
    mm_model *m = import_original();
    check_reference_outputs(m);
    mm_model_close(m);
}

/* The original's trained weights written as Keras 1.x would have (the layout, Theano's, a full
 * model): each imports to the original's parameters bit for bit, and so predicts the same tags. */
static void test_reference_as_keras1(void **state)
{
    if (!have_h5py()) {
        if (in_ci())
            fail_msg("python3-h5py is missing (CI=true: scripts/install-deps.sh installs it)");
        print_message("SKIP: python3-h5py not installed\n");
        skip();
    }
    char out[600];
    snprintf(out, sizeof out, "%s/original", tu_temp_dir());
    if (run(PYTHON " %s h5 %s %s", MM_KERAS_SCRIPT, tu_ref("crnn/musicmapz_gtzan_crnn4.h5"), out) != 0)
        fail_msg("%s failed", MM_KERAS_SCRIPT);
    mm_model *orig = import_original();
    static const struct {
        const char *name;
        mm_keras_kernels kernels;
    } files[] = {{"k1_tf_th_weights", MM_KERAS_KERNELS_AUTO},
                 {"k1_theano_weights", MM_KERAS_KERNELS_TH},
                 {"k1_full_model", MM_KERAS_KERNELS_AUTO},
                 {"tfkeras_full", MM_KERAS_KERNELS_AUTO}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s.h5", out, files[i].name);
        mm_keras_options o = {.kernels = files[i].kernels};
        mm_model *m = NULL;
        mm_error err;
        if (mm_model_import_keras_ex(&m, path, mm_preset_find("crnn4"), 10, GTZAN, MM_HEAD_SIGMOID, &o, NULL, &err) !=
            MM_OK)
            fail_msg("%s", err.msg);
        char which[64];
        if (!same_params(orig, m, NULL, which, sizeof which))
            fail_msg("%s: parameter %s differs from the original's", files[i].name, which);
        if (i == 0)
            check_reference_outputs(m);
        mm_model_close(m);
    }
    mm_model_close(orig);
}

int main(int argc, char **argv)
{
    mm_nn_set_threads(2);
    if (argc < 2 && !have_h5py()) {
        printf("%s: python3-h5py is not installed (scripts/install-deps.sh): Keras layout tests %s\n",
               in_ci() ? "FAIL" : "SKIP", in_ci() ? "cannot run under CI=true" : "not run");
        return in_ci() ? 1 : TU_EXIT_SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_layout_imports_the_same_model),
        cmocka_unit_test(test_recurrent_head_against_numpy),
        cmocka_unit_test(test_gates_option),
        cmocka_unit_test(test_kernel_order_matters),
        cmocka_unit_test(test_other_epsilon_is_adjusted),
        cmocka_unit_test(test_bad_files_are_refused_in_one_line),
        cmocka_unit_test(test_command_line),
    };
    const struct CMUnitTest reference[] = {
        cmocka_unit_test(test_reference_original),
        cmocka_unit_test(test_reference_as_keras1),
    };
    int rc = tu_main(argc, argv, "keras", tests, TU_COUNT(tests), reference, TU_COUNT(reference));
    mm_model_close(fx.model);
    free(fx.x);
    return rc;
}
