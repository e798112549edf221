/* The nn module against the original genre CRNN (../shared/reference/crnn): importing its Keras weights
 * and running them on the stored spectrograms reproduces every intermediate and final array there.
 * Also: presets' shapes, the model file round trip, and refusal of bad model files; GRU variants
 * (tf.keras' reset_after, sigmoid gates) through the model file, and training's refusal of them. */
#include <hdf5.h>
#include <math.h>
#include <string.h>

#include "musicmap/nn.h"
#include "testutil.h"

static const char *const CLIPS[4] = {"actionable", "cute", "dubstep", "thejazzpiano"};
static const char *const GTZAN[10] = {"country", "jazz", "disco", "pop",  "blues",
                                      "reggae",  "metal", "rock", "hiphop", "classical"};
#define TOL 1e-4

static mm_model *import_reference(void)
{
    mm_model *m = NULL;
    mm_error err;
    if (mm_model_import_keras(&m, tu_ref("crnn/musicmapz_gtzan_crnn4.h5"), mm_preset_find("crnn4"), 10, GTZAN,
                              MM_HEAD_SIGMOID, &err) != MM_OK)
        fail_msg("%s", err.msg);
    return m;
}

static float *load_mels(void)
{
    float *x = malloc(sizeof(float) * 4 * MM_N_MELS * MM_N_FRAMES);
    size_t shape[2] = {MM_N_MELS, MM_N_FRAMES};
    for (int i = 0; i < 4; i++) {
        float *one = tu_read_npy_f32(tu_ref("audio/bensound-%s.mel.npy", CLIPS[i]), 2, shape);
        memcpy(x + (size_t)i * MM_N_MELS * MM_N_FRAMES, one, sizeof(float) * MM_N_MELS * MM_N_FRAMES);
        free(one);
    }
    return x;
}

static void compare_npy(const char *what, const float *mine, const char *clip, const char *suffix, size_t count)
{
    mm_npy ref;
    mm_error err;
    if (mm_npy_read(tu_ref("crnn/musicmapz_gtzan_crnn4.%s.%s.npy", clip, suffix), &ref, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ref.count, count);
    tu_diff d = tu_compare(mine, ref.data, count);
    print_message("%-13s %-7s max |diff| %.2e\n", clip, what, d.max_abs);
    if (d.max_abs > TOL)
        fail_msg("%s %s: max |diff| %g at %zu (%g vs %g)", clip, what, d.max_abs, d.worst, mine[d.worst],
                 ((float *)ref.data)[d.worst]);
    mm_npy_free(&ref);
}

static void test_reference_crnn4(void **state)
{
    mm_model *m = import_reference();
    float *x = load_mels();
    mm_infer *inf;
    mm_error err;
    assert_int_equal(mm_infer_open(&inf, m, 4, &err), MM_OK);
    float out[40], hidden[128];
    if (mm_infer_run(inf, x, 4, out, hidden, &err) != MM_OK)
        fail_msg("%s", err.msg);
    float *block = malloc(sizeof(float) * 128 * 4 * 60);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mm_infer_block_output(inf, 2, i, block), 128 * 4 * 60);
        compare_npy("block3", block, CLIPS[i], "block3", 128 * 4 * 60);
        assert_int_equal(mm_infer_block_output(inf, 3, i, block), 128 * 1 * 15);
        compare_npy("block4", block, CLIPS[i], "block4", 128 * 15);
        compare_npy("hidden", hidden + i * 32, CLIPS[i], "hidden", 32);
        compare_npy("output", out + i * 10, CLIPS[i], "output", 10);
    }
    /* one at a time through a batch-of-1 engine gives the same answers */
    mm_infer *one;
    assert_int_equal(mm_infer_open(&one, m, 1, &err), MM_OK);
    float out1[10];
    assert_int_equal(mm_infer_run(one, x + 2 * MM_N_MELS * MM_N_FRAMES, 1, out1, NULL, &err), MM_OK);
    for (int k = 0; k < 10; k++)
        assert_float_equal(out1[k], out[20 + k], 1e-5);
    mm_infer_close(one);
    free(block);
    mm_infer_close(inf);
    free(x);
    mm_model_close(m);
}

static void test_presets(void **state)
{
    int c, h, w;
    assert_int_equal(mm_preset_shape(mm_preset_find("crnn4"), 3, &c, &h, &w), 0);
    assert_true(c == 128 && h == 1 && w == 15);
    assert_int_equal(mm_preset_shape(mm_preset_find("crnn4"), 2, &c, &h, &w), 0);
    assert_true(c == 128 && h == 4 && w == 60);
    assert_int_equal(mm_preset_shape(mm_preset_find("crnn6"), 5, &c, &h, &w), 0);
    assert_true(c == 128 && h == 1 && w == 350);
    assert_int_equal(mm_preset_shape(mm_preset_find("small"), 3, &c, &h, &w), 0);
    assert_true(h == 1 && w == 15);
    assert_null(mm_preset_find("crnn5"));
    for (const char *const *n = mm_preset_names(); *n; n++)
        assert_non_null(mm_preset_find(*n));
}

/* A model the test makes (crnn4, random weights, reflect padding, a sigmoid head): saved and loaded
 * back bit for bit; damaged and foreign files are refused with the reason. */
static void test_model_file_round_trip(void **state)
{
    mm_model *m = NULL;
    mm_error err;
    mm_frontend_params fe = mm_frontend_default(MM_PAD_REFLECT);
    assert_int_equal(mm_model_create(&m, mm_preset_find("crnn4"), 10, GTZAN, MM_HEAD_SIGMOID, &fe, &err), MM_OK);
    assert_int_equal(mm_model_init_random(m, 7, &err), MM_OK);
    const char *dir = tu_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/gtzan.mmm", dir);
    assert_int_equal(mm_model_save(m, path, &err), MM_OK);
    mm_model *back;
    if (mm_model_load(&back, path, &err) != MM_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(mm_model_preset(back)->name, "crnn4");
    assert_int_equal(mm_model_head(back), MM_HEAD_SIGMOID);
    assert_int_equal(mm_model_n_labels(back), 10);
    assert_string_equal(mm_model_label(back, 9), "classical");
    assert_int_equal(mm_model_frontend(back)->pad, MM_PAD_REFLECT);
    assert_int_equal(mm_model_n_params(back), mm_model_n_params(m));
    for (int i = 0; i < mm_model_n_params(m); i++) {
        mm_tensor *a = mm_model_param(m, i), *b = mm_model_param(back, i);
        assert_string_equal(a->name, b->name);
        assert_memory_equal(a->data, b->data, a->count * sizeof(float));
    }
    mm_model_close(back);

    /* damaged files are refused with the reason */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    struct {
        const char *name;
        long len;
        long flip; /* byte to corrupt, -1 none */
        const char *expect;
    } cases[] = {
        {"truncated.mmm", size / 2, -1, "checksum"},
        {"flipped.mmm", size, size / 3, "checksum"},
        {"tiny.mmm", 5, -1, "not a musicmap model"},
        {"empty.mmm", 0, -1, "not a musicmap model"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[c].name);
        f = fopen(path, "wb");
        if (cases[c].flip >= 0)
            bytes[cases[c].flip] ^= 0x40;
        fwrite(bytes, 1, (size_t)cases[c].len, f);
        if (cases[c].flip >= 0)
            bytes[cases[c].flip] ^= 0x40;
        fclose(f);
        mm_model *bad = NULL;
        assert_int_equal(mm_model_load(&bad, path, &err), MM_ERR_FORMAT);
        assert_null(bad);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, cases[c].expect));
        print_message("  refused: %s\n", err.msg);
    }
    /* a foreign file: an HDF5 file */
    snprintf(path, sizeof path, "%s/foreign.h5", dir);
    hid_t h5 = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(h5 >= 0);
    H5Fclose(h5);
    mm_model *bad = NULL;
    assert_int_equal(mm_model_load(&bad, path, &err), MM_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not a musicmap model"));
    free(bytes);
    mm_model_close(m);
}

/* --- GRU variants -------------------------------------------------------------------------------- */

static unsigned char *read_file_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, *size, f), *size);
    fclose(f);
    return bytes;
}

static int contains(const unsigned char *bytes, size_t size, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(bytes + i, text, n) == 0)
            return 1;
    return 0;
}

/* The model file's format version: the 4 bytes after the magic, little-endian. */
static unsigned file_version(const unsigned char *bytes)
{
    return bytes[8] | (unsigned)bytes[9] << 8 | (unsigned)bytes[10] << 16 | (unsigned)bytes[11] << 24;
}

/* Rewrites a model file with another version number and a valid checksum: only the version is wrong. */
static void write_with_version(const char *path, unsigned char *bytes, size_t size, unsigned version)
{
    for (int i = 0; i < 4; i++)
        bytes[8 + i] = (unsigned char)(version >> (8 * i));
    uint64_t sum = mm_fnv1a64(MM_FNV1A64_INIT, bytes, size - 8);
    for (int i = 0; i < 8; i++)
        bytes[size - 8 + (size_t)i] = (unsigned char)(sum >> (8 * i));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    fclose(f);
}

static void infer_one(const mm_model *m, const float *x, float *out, float *hidden)
{
    mm_infer *inf;
    mm_error err;
    if (mm_infer_open(&inf, m, 1, &err) != MM_OK || mm_infer_run(inf, x, 1, out, hidden, &err) != MM_OK)
        fail_msg("%s", err.msg);
    mm_infer_close(inf);
}

/* Each non-default variant survives the model file (version 3, a `gru` header line, the reset_after
 * bias as [2][3U]) and predicts the same after loading; the default stays a version 1 file without that
 * line; a version number that doesn't match the header is refused. */
static void test_gru_variant_round_trip(void **state)
{
    const mm_preset *small = mm_preset_find("small");
    const int u = small->gru_units;
    float *x = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)MM_N_MELS * MM_N_FRAMES; i++)
        x[i] = (float)(-30.0 + 20.0 * sin((double)i * 0.013) + 3.0 * cos((double)(i % 97)));
    const mm_gru_variant variants[4] = {{MM_GRU_GATES_HARD_SIGMOID, 0},
                                        {MM_GRU_GATES_SIGMOID, 0},
                                        {MM_GRU_GATES_HARD_SIGMOID, 1},
                                        {MM_GRU_GATES_SIGMOID, 1}};
    float out_default[3];
    const char *dir = tu_temp_dir();
    for (int v = 0; v < 4; v++) {
        mm_model *m = NULL;
        mm_error err;
        assert_int_equal(mm_model_create(&m, small, 3, GTZAN, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
        assert_int_equal(mm_model_init_random(m, 11, &err), MM_OK);
        assert_int_equal(mm_model_set_gru(m, variants[v], &err), MM_OK);
        for (int g = 1; g <= 2; g++) { /* distinct biases, the recurrent one too */
            mm_tensor *b = mm_model_find_param(m, g == 1 ? "gru1.b" : "gru2.b");
            assert_int_equal(b->count, (size_t)(variants[v].reset_after ? 6 : 3) * (size_t)u);
            assert_int_equal(b->ndim, variants[v].reset_after ? 2 : 1);
            for (size_t i = 0; i < b->count; i++)
                b->data[i] = (float)(0.05 * sin((double)(i + 7 * (size_t)g)));
        }
        char path[512];
        snprintf(path, sizeof path, "%s/variant%d.mmm", dir, v);
        assert_int_equal(mm_model_save(m, path, &err), MM_OK);
        size_t size;
        unsigned char *bytes = read_file_bytes(path, &size);
        int is_default = v == 0;
        assert_int_equal(file_version(bytes), is_default ? 1 : 3);
        char line[64];
        snprintf(line, sizeof line, "\ngru %s %s\n",
                 variants[v].gates == MM_GRU_GATES_SIGMOID ? "sigmoid" : "hard_sigmoid",
                 variants[v].reset_after ? "reset_after" : "reset_before");
        size_t header = size < 4096 ? size : 4096;
        assert_int_equal(contains(bytes, header, line), !is_default);
        assert_int_equal(contains(bytes, header, "\ngru "), !is_default);

        mm_model *back = NULL;
        if (mm_model_load(&back, path, &err) != MM_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(mm_model_gru(back).gates, variants[v].gates);
        assert_int_equal(mm_model_gru(back).reset_after, variants[v].reset_after);
        assert_int_equal(mm_model_n_params(back), mm_model_n_params(m));
        for (int i = 0; i < mm_model_n_params(m); i++) {
            mm_tensor *a = mm_model_param(m, i), *b = mm_model_param(back, i);
            assert_string_equal(a->name, b->name);
            assert_int_equal(a->ndim, b->ndim);
            assert_int_equal(a->count, b->count);
            assert_memory_equal(a->data, b->data, a->count * sizeof(float));
        }
        float out[3], again[3], hidden[16];
        infer_one(m, x, out, hidden);
        infer_one(back, x, again, hidden);
        assert_memory_equal(out, again, sizeof out);
        if (is_default)
            memcpy(out_default, out, sizeof out);
        else /* the variant is what inference computes */
            assert_memory_not_equal(out, out_default, sizeof out);
        print_message("  %-38s version %u, outputs %.6f %.6f %.6f\n", mm_gru_variant_text(variants[v]),
                      file_version(bytes), out[0], out[1], out[2]);
        mm_model_close(back);

        /* the version must match the header: a variant as version 1, a default model as version 3 */
        snprintf(path, sizeof path, "%s/variant%d-relabelled.mmm", dir, v);
        write_with_version(path, bytes, size, is_default ? 3 : 1);
        mm_model *bad = NULL;
        assert_int_equal(mm_model_load(&bad, path, &err), MM_ERR_FORMAT);
        assert_null(bad);
        assert_non_null(strstr(err.msg, "does not match its GRU variant"));
        print_message("  refused: %s\n", err.msg);
        free(bytes);
        mm_model_close(m);
    }
    free(x);
}

static int no_read(size_t index, float *logmel, mm_error *err, void *ctx)
{
    (void)ctx;
    (void)index;
    (void)logmel;
    return mm_error_set(err, MM_ERR_INTERNAL, "training read an item before refusing") != MM_OK;
}

/* Training runs Keras 2.0's GRU only: a model of another variant (e.g. loaded for `train --init`) is
 * refused with one line before anything is read; the default one is accepted. */
static void test_training_refuses_gru_variant(void **state)
{
    mm_model *m = NULL;
    mm_error err;
    assert_int_equal(mm_model_create(&m, mm_preset_find("small"), 3, GTZAN, MM_HEAD_SOFTMAX, NULL, &err), MM_OK);
    assert_int_equal(mm_model_check_trainable(m, &err), MM_OK);
    const mm_gru_variant tfkeras = {MM_GRU_GATES_SIGMOID, 1};
    assert_int_equal(mm_model_set_gru(m, tfkeras, &err), MM_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/tfkeras.mmm", tu_temp_dir());
    assert_int_equal(mm_model_save(m, path, &err), MM_OK);
    mm_model *loaded = NULL;
    if (mm_model_load(&loaded, path, &err) != MM_OK)
        fail_msg("%s", err.msg);
    int labels[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    mm_dataset data = {8, labels, no_read, NULL};
    mm_train_options o;
    mm_train_options_init(&o);
    o.batch = 4;
    o.epochs = 1;
    o.warm_start = 1; /* as train --init */
    mm_model *models[2] = {m, loaded};
    for (int i = 0; i < 2; i++) {
        mm_trainer *t = NULL;
        assert_int_equal(mm_trainer_open(&t, models[i], &data, &o, &err), MM_ERR_UNSUPPORTED);
        assert_null(t);
        assert_non_null(strstr(err.msg, "sigmoid gates, reset_after=True"));
        assert_non_null(strstr(err.msg, "trained or fine-tuned"));
        assert_null(strchr(err.msg, '\n'));
        print_message("  refused: %s\n", err.msg);
    }
    /* back to the default: the biases are [3U] again, and it trains */
    const mm_gru_variant keras20 = {MM_GRU_GATES_HARD_SIGMOID, 0};
    assert_int_equal(mm_model_set_gru(m, keras20, &err), MM_OK);
    assert_int_equal(mm_model_find_param(m, "gru1.b")->count, (size_t)3 * (size_t)mm_preset_find("small")->gru_units);
    assert_int_equal(mm_model_check_trainable(m, &err), MM_OK);
    const mm_gru_variant bogus = {(mm_gru_gates)7, 0};
    assert_int_equal(mm_model_set_gru(m, bogus, &err), MM_ERR_ARG);
    mm_model_close(loaded);
    mm_model_close(m);
}

/* Writes the reference weights under Keras 1 names (conv1_W as out x in x 3 x 3, bn running_std,
 * separate GRU gates), imports that, and checks it gives the same outputs. */
static void write_dataset(hid_t group, const char *name, int ndim, const hsize_t *dims, const float *data)
{
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(group, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Sclose(space);
}

static void test_keras1_naming(void **state)
{
    mm_model *m = import_reference();
    const char *dir = tu_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/keras1.h5", dir);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    const char *bn_k2[4] = {"gamma", "beta", "mean", "var"}, *bn_k1[4] = {"gamma", "beta", "running_mean", "running_std"};
    char name[64], ours[64];
    for (int layer = 0; layer <= 4; layer++) {
        const char *gname = layer == 0 ? "bn_0_freq" : NULL;
        char gbuf[16];
        if (!gname) {
            snprintf(gbuf, sizeof gbuf, "bn%d", layer);
            gname = gbuf;
        }
        hid_t g = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        for (int k = 0; k < 4; k++) {
            snprintf(ours, sizeof ours, "bn%d.%s", layer, bn_k2[k]);
            snprintf(name, sizeof name, "%s_%s", gname, bn_k1[k]);
            mm_tensor *t = mm_model_find_param(m, ours);
            hsize_t d = t->count;
            write_dataset(g, name, 1, &d, t->data);
        }
        H5Gclose(g);
        if (layer == 0)
            continue;
        snprintf(gbuf, sizeof gbuf, "conv%d", layer);
        g = H5Gcreate2(file, gbuf, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        snprintf(ours, sizeof ours, "conv%d.w", layer);
        mm_tensor *w = mm_model_find_param(m, ours);
        hsize_t wd[4] = {(hsize_t)w->dims[0], (hsize_t)w->dims[1], 3, 3};
        snprintf(name, sizeof name, "conv%d_W", layer);
        write_dataset(g, name, 4, wd, w->data);
        snprintf(ours, sizeof ours, "conv%d.b", layer);
        mm_tensor *b = mm_model_find_param(m, ours);
        hsize_t bd = b->count;
        snprintf(name, sizeof name, "conv%d_b", layer);
        write_dataset(g, name, 1, &bd, b->data);
        H5Gclose(g);
    }
    for (int layer = 1; layer <= 2; layer++) {
        char gname[8];
        snprintf(gname, sizeof gname, "gru%d", layer);
        hid_t g = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        snprintf(ours, sizeof ours, "gru%d.W", layer);
        mm_tensor *W = mm_model_find_param(m, ours);
        snprintf(ours, sizeof ours, "gru%d.U", layer);
        mm_tensor *U = mm_model_find_param(m, ours);
        snprintf(ours, sizeof ours, "gru%d.b", layer);
        mm_tensor *B = mm_model_find_param(m, ours);
        int in = W->dims[0], u = 32;
        float *part = malloc(sizeof(float) * (size_t)in * (size_t)u);
        const char gates[3] = {'z', 'r', 'h'};
        for (int gi = 0; gi < 3; gi++) {
            for (int i = 0; i < in; i++)
                memcpy(part + i * u, W->data + (size_t)i * 3 * u + gi * u, sizeof(float) * (size_t)u);
            hsize_t dw[2] = {(hsize_t)in, (hsize_t)u}, du[2] = {(hsize_t)u, (hsize_t)u}, db = (hsize_t)u;
            snprintf(name, sizeof name, "%s_W_%c", gname, gates[gi]);
            write_dataset(g, name, 2, dw, part);
            for (int i = 0; i < u; i++)
                memcpy(part + i * u, U->data + (size_t)i * 3 * u + gi * u, sizeof(float) * (size_t)u);
            snprintf(name, sizeof name, "%s_U_%c", gname, gates[gi]);
            write_dataset(g, name, 2, du, part);
            snprintf(name, sizeof name, "%s_b_%c", gname, gates[gi]);
            write_dataset(g, name, 1, &db, B->data + gi * u);
        }
        free(part);
        H5Gclose(g);
    }
    hid_t g = H5Gcreate2(file, "output", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    mm_tensor *dw = mm_model_find_param(m, "dense.W"), *db = mm_model_find_param(m, "dense.b");
    hsize_t dwd[2] = {32, 10}, dbd = 10;
    write_dataset(g, "output_W", 2, dwd, dw->data);
    write_dataset(g, "output_b", 1, &dbd, db->data);
    H5Gclose(g);
    H5Fclose(file);

    mm_model *k1;
    mm_error err;
    if (mm_model_import_keras(&k1, path, mm_preset_find("crnn4"), 10, GTZAN, MM_HEAD_SIGMOID, &err) != MM_OK)
        fail_msg("%s", err.msg);
    for (int i = 0; i < mm_model_n_params(m); i++) {
        mm_tensor *a = mm_model_param(m, i), *b = mm_model_param(k1, i);
        assert_memory_equal(a->data, b->data, a->count * sizeof(float));
    }
    mm_model_close(k1);
    /* the wrong preset or label count is refused, naming the file */
    assert_int_equal(mm_model_import_keras(&k1, path, mm_preset_find("crnn6"), 10, GTZAN, MM_HEAD_SIGMOID, &err),
                     MM_ERR_FORMAT);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(mm_model_import_keras(&k1, tu_ref("crnn/musicmapz_gtzan_crnn4.h5"), mm_preset_find("crnn4"), 9,
                                           GTZAN, MM_HEAD_SIGMOID, &err),
                     MM_ERR_FORMAT);
    print_message("  refused: %s\n", err.msg);
    assert_int_equal(mm_model_import_keras(&k1, tu_ref("audio/bensound-cute.mp3"), mm_preset_find("crnn4"), 10, GTZAN,
                                           MM_HEAD_SIGMOID, &err),
                     MM_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not an HDF5 file"));
    mm_model_close(m);
}

int main(int argc, char **argv)
{
    mm_nn_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_model_file_round_trip),
        cmocka_unit_test(test_gru_variant_round_trip),
        cmocka_unit_test(test_training_refuses_gru_variant),
    };
    const struct CMUnitTest reference[] = {
        cmocka_unit_test(test_reference_crnn4),
        cmocka_unit_test(test_keras1_naming),
    };
    return tu_main(argc, argv, "nn", tests, TU_COUNT(tests), reference, TU_COUNT(reference));
}
