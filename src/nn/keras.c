/* Import of Keras HDF5 weight files of the CRNN (Keras 2 and the older Keras 1 naming). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct h5_source {
    hid_t file;
    const char *path;
} h5_source;

/* Whether every link along `name` exists (H5Lexists needs its parents to exist). */
static int h5_exists(hid_t file, const char *name)
{
    char partial[256];
    for (const char *p = strchr(name + 1, '/');; p = strchr(p + 1, '/')) {
        size_t len = p ? (size_t)(p - name) : strlen(name);
        if (len >= sizeof partial)
            return 0;
        memcpy(partial, name, len);
        partial[len] = '\0';
        if (H5Lexists(file, partial, H5P_DEFAULT) <= 0)
            return 0;
        if (!p)
            return 1;
    }
}

/* Reads the first existing dataset among `names` (printf patterns of `layer`), checking its shape
 * against dims[ndim]. Returns 1 if read, 0 if none exists, -1 on a shape or read error. */
static int read_dataset(h5_source *src, const char *const *patterns, const char *layer, int ndim, const int *dims,
                        float *out, mm_error *err)
{
    for (const char *const *pat = patterns; *pat; pat++) {
        char name[256];
        snprintf(name, sizeof name, *pat, layer, layer, layer);
        if (!h5_exists(src->file, name))
            continue;
        hid_t ds = H5Dopen2(src->file, name, H5P_DEFAULT);
        if (ds < 0) {
            mm_error_set(err, MM_ERR_FORMAT, "%s: cannot open dataset %s", src->path, name);
            return -1;
        }
        hid_t space = H5Dget_space(ds);
        hsize_t got[8];
        int rank = H5Sget_simple_extent_ndims(space);
        int ok = rank == ndim && rank <= 8 && H5Sget_simple_extent_dims(space, got, NULL) == rank;
        for (int i = 0; ok && i < ndim; i++)
            ok = got[i] == (hsize_t)dims[i];
        if (!ok) {
            char shape[96] = "";
            for (int i = 0; i < rank && i < 8; i++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", i ? "x" : "",
                         (unsigned long long)got[i]);
            mm_error_set(err, MM_ERR_FORMAT, "%s: dataset %s has shape %s, not what the preset needs", src->path, name,
                         shape);
        } else if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
            mm_error_set(err, MM_ERR_FORMAT, "%s: cannot read dataset %s", src->path, name);
            ok = 0;
        }
        H5Sclose(space);
        H5Dclose(ds);
        return ok ? 1 : -1;
    }
    return 0;
}

static mm_status need(int found, h5_source *src, const char *what, mm_error *err)
{
    if (found > 0)
        return MM_OK;
    if (found == 0)
        mm_error_set(err, MM_ERR_FORMAT, "%s: no weights for %s (neither Keras 2 nor Keras 1 naming)", src->path, what);
    return err ? err->code : MM_ERR_FORMAT;
}

/* Batch-norm: gamma, beta, mean, variance (Keras 1 calls the variance running_std). */
static mm_status read_bn(h5_source *src, mm_model *m, const char *layer, const char *ours, int n, mm_error *err)
{
    static const char *const keras2[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    static const char *const keras1[4] = {"gamma", "beta", "running_mean", "running_std"};
    static const char *const mine[4] = {"gamma", "beta", "mean", "var"};
    for (int k = 0; k < 4; k++) {
        char p2[96], p1[96], pname[32];
        snprintf(p2, sizeof p2, "/%%s/%%s/%s:0", keras2[k]);
        snprintf(p1, sizeof p1, "/%%s/%%s_%s", keras1[k]);
        const char *patterns[] = {p2, p1, NULL};
        snprintf(pname, sizeof pname, "%s.%s", ours, mine[k]);
        mm_tensor *t = mm_model_find_param(m, pname);
        mm_status st = need(read_dataset(src, patterns, layer, 1, &n, t->data, err), src, pname, err);
        if (st != MM_OK)
            return st;
    }
    return MM_OK;
}

static mm_status read_conv(h5_source *src, mm_model *m, int block, int in, int out, mm_error *err)
{
    char layer[16], wname[32], bname[32];
    snprintf(layer, sizeof layer, "conv%d", block);
    snprintf(wname, sizeof wname, "conv%d.w", block);
    snprintf(bname, sizeof bname, "conv%d.b", block);
    mm_tensor *w = mm_model_find_param(m, wname), *b = mm_model_find_param(m, bname);
    float *raw = malloc(sizeof(float) * w->count);
    if (!raw)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", src->path);
    /* Keras 2 (TensorFlow): kernel (kh, kw, in, out); Keras 1 (channels first): W (out, in, kh, kw). */
    static const char *const k2[] = {"/%s/%s/kernel:0", NULL};
    static const char *const k1[] = {"/%s/%s_W", NULL};
    int dims2[4] = {3, 3, in, out}, dims1[4] = {out, in, 3, 3};
    int found = read_dataset(src, k2, layer, 4, dims2, raw, err);
    if (found > 0) {
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                        w->data[((o * in + i) * 3 + kh) * 3 + kw] = raw[((kh * 3 + kw) * in + i) * out + o];
    } else if (found == 0) {
        found = read_dataset(src, k1, layer, 4, dims1, w->data, err);
    }
    free(raw);
    mm_status st = need(found, src, wname, err);
    if (st != MM_OK)
        return st;
    static const char *const bias[] = {"/%s/%s/bias:0", "/%s/%s_b", NULL};
    return need(read_dataset(src, bias, layer, 1, &out, b->data, err), src, bname, err);
}

/* GRU: Keras 2 keeps kernel (in, 3U), recurrent_kernel (U, 3U), bias (3U) in z | r | h blocks, as we
 * do; Keras 1 keeps W_z, U_z, b_z, W_r, ... separately. */
static mm_status read_gru(h5_source *src, mm_model *m, const char *layer, int in, int units, mm_error *err)
{
    char name[32];
    snprintf(name, sizeof name, "%s.W", layer);
    mm_tensor *W = mm_model_find_param(m, name);
    snprintf(name, sizeof name, "%s.U", layer);
    mm_tensor *U = mm_model_find_param(m, name);
    snprintf(name, sizeof name, "%s.b", layer);
    mm_tensor *B = mm_model_find_param(m, name);
    static const char *const kernel[] = {"/%s/%s/kernel:0", NULL};
    static const char *const recurrent[] = {"/%s/%s/recurrent_kernel:0", NULL};
    static const char *const bias[] = {"/%s/%s/bias:0", NULL};
    int dw[2] = {in, 3 * units}, du[2] = {units, 3 * units}, db = 3 * units;
    int found = read_dataset(src, kernel, layer, 2, dw, W->data, err);
    if (found > 0) {
        mm_status st = need(read_dataset(src, recurrent, layer, 2, du, U->data, err), src, "recurrent kernel", err);
        if (st == MM_OK)
            st = need(read_dataset(src, bias, layer, 1, &db, B->data, err), src, "GRU bias", err);
        return st;
    }
    if (found < 0)
        return err ? err->code : MM_ERR_FORMAT;
    const char gates[3] = {'z', 'r', 'h'};
    float *part = malloc(sizeof(float) * (size_t)(in > units ? in : units) * (size_t)units);
    if (!part)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", src->path);
    mm_status st = MM_OK;
    for (int g = 0; g < 3 && st == MM_OK; g++) {
        char pw[32], pu[32], pb[32];
        snprintf(pw, sizeof pw, "/%%s/%%s_W_%c", gates[g]);
        snprintf(pu, sizeof pu, "/%%s/%%s_U_%c", gates[g]);
        snprintf(pb, sizeof pb, "/%%s/%%s_b_%c", gates[g]);
        const char *patw[] = {pw, NULL}, *patu[] = {pu, NULL}, *patb[] = {pb, NULL};
        int dwg[2] = {in, units}, dug[2] = {units, units};
        st = need(read_dataset(src, patw, layer, 2, dwg, part, err), src, "GRU W", err);
        for (int i = 0; st == MM_OK && i < in; i++)
            memcpy(W->data + (size_t)i * 3 * units + g * units, part + (size_t)i * units, sizeof(float) * (size_t)units);
        if (st == MM_OK)
            st = need(read_dataset(src, patu, layer, 2, dug, part, err), src, "GRU U", err);
        for (int i = 0; st == MM_OK && i < units; i++)
            memcpy(U->data + (size_t)i * 3 * units + g * units, part + (size_t)i * units, sizeof(float) * (size_t)units);
        if (st == MM_OK)
            st = need(read_dataset(src, patb, layer, 1, &units, B->data + g * units, err), src, "GRU b", err);
    }
    free(part);
    return st;
}

mm_status mm_model_import_keras(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                const char *const *labels, mm_head head, mm_error *err)
{
    *out = NULL;
    mm_model *m = NULL;
    mm_status st = mm_model_create(&m, preset, n_labels, labels, head, NULL, err);
    if (st != MM_OK)
        return st;
    /* HDF5 prints its error stack by default; we report our own one-line errors instead. */
    H5E_auto2_t old_func;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5_source src = {-1, h5_path};
    if (H5Fis_hdf5(h5_path) <= 0) {
        FILE *probe = fopen(h5_path, "rb");
        st = probe ? mm_error_set(err, MM_ERR_FORMAT, "%s: not an HDF5 file", h5_path)
                   : mm_error_set(err, MM_ERR_IO, "%s: cannot open", h5_path);
        if (probe)
            fclose(probe);
        goto done;
    }
    src.file = H5Fopen(h5_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src.file < 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: cannot open as HDF5", h5_path);
        goto done;
    }
    int width = MM_N_FRAMES + 2 * preset->time_pad;
    st = read_bn(&src, m, "bn_0_freq", "bn0", width, err);
    int in = 1;
    for (int b = 0; b < preset->n_blocks && st == MM_OK; b++) {
        char layer[16], ours[16];
        int f = preset->blocks[b].filters;
        st = read_conv(&src, m, b + 1, in, f, err);
        snprintf(layer, sizeof layer, "bn%d", b + 1);
        snprintf(ours, sizeof ours, "bn%d", b + 1);
        if (st == MM_OK)
            st = read_bn(&src, m, layer, ours, f, err);
        in = f;
    }
    int u = preset->gru_units;
    if (st == MM_OK)
        st = read_gru(&src, m, "gru1", in, u, err);
    if (st == MM_OK)
        st = read_gru(&src, m, "gru2", u, u, err);
    if (st == MM_OK) {
        static const char *const kernel[] = {"/%s/%s/kernel:0", "/%s/%s_W", NULL};
        static const char *const bias[] = {"/%s/%s/bias:0", "/%s/%s_b", NULL};
        int dk[2] = {u, n_labels};
        st = need(read_dataset(&src, kernel, "output", 2, dk, mm_model_find_param(m, "dense.W")->data, err), &src,
                  "the output layer (is --labels the right length?)", err);
        if (st == MM_OK)
            st = need(read_dataset(&src, bias, "output", 1, &n_labels, mm_model_find_param(m, "dense.b")->data, err),
                      &src, "the output bias", err);
    }
done:
    if (src.file >= 0)
        H5Fclose(src.file);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    if (st != MM_OK)
        mm_model_close(m);
    else
        *out = m;
    return st;
}
