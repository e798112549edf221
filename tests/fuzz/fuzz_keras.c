/* Keras HDF5 import: any bytes are refused with an error or import into a model of the preset. The
 * input is an HDF5 file image, written to a file in RAM (/dev/shm): HDF5 resolves the path it opens,
 * which a memfd's /proc path does not give (the first run's coverage stopped at the open). Both
 * the listing (`import-keras --list`, any preset) and the import proper (crnn4, 10 labels) run. Seeds:
 * small Keras-layout files written here with HDF5 (layer_names, weight_names, weights of the first
 * layers), a Keras 2 one and a full-model one. HDF5's own messages are silenced. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "musicmap/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        quiet = 1;
    }
    const char *path = fuzz_as_named_file(data, size); /* HDF5 needs a name it can resolve */
    if (!path)
        return 0;
    FILE *null = fopen("/dev/null", "w");
    mm_error err;
    mm_keras_list(null, path, NULL, 0, NULL, &err);
    if (null)
        fclose(null);
    static const char *const labels[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    mm_model *m = NULL;
    if (mm_model_import_keras(&m, path, mm_preset_find("crnn4"), 10, labels, MM_HEAD_SOFTMAX, &err) == MM_OK)
        mm_model_close(m);
    return 0;
}

static int put_strings(hid_t where, const char *name, const char *const *items, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len = strlen(items[i]) + 1 > len ? strlen(items[i]) + 1 : len;
    char buf[16][64];
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < n && i < 16; i++)
        snprintf(buf[i], sizeof buf[i], "%s", items[i]);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 64);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t attr = H5Acreate2(where, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = H5Awrite(attr, type, buf);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return rc < 0 ? -1 : 0;
}

static int put_weights(hid_t group, const char *name, int ndim, const hsize_t *dims)
{
    hsize_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= dims[i];
    static float zeros[3 * 3 * 1 * 64];
    if (count > sizeof zeros / sizeof zeros[0])
        return -1;
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(group, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
    H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

static int write_seed(const char *path, int full_model)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return -1;
    hid_t root = full_model ? H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : f;
    const char *layers[3] = {"zero_padding2d_1", "batch_normalization_1", "conv2d_1"};
    int rc = put_strings(root, "layer_names", layers, 3);
    rc |= put_strings(f, "keras_version", (const char *const[]){"2.0.8"}, 1);
    rc |= put_strings(f, "backend", (const char *const[]){"tensorflow"}, 1);
    for (int l = 0; l < 3; l++) {
        hid_t g = H5Gcreate2(root, layers[l], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (l == 0) {
            rc |= put_strings(g, "weight_names", NULL, 0);
        } else if (l == 1) {
            const char *w[4] = {"batch_normalization_1/gamma:0", "batch_normalization_1/beta:0",
                                "batch_normalization_1/moving_mean:0", "batch_normalization_1/moving_variance:0"};
            rc |= put_strings(g, "weight_names", w, 4);
            hsize_t dims[1] = {1366};
            (void)dims;
            hsize_t small[1] = {96};
            for (int k = 0; k < 4; k++)
                rc |= put_weights(g, w[k], 1, small);
        } else {
            const char *w[2] = {"conv2d_1/kernel:0", "conv2d_1/bias:0"};
            rc |= put_strings(g, "weight_names", w, 2);
            hsize_t k[4] = {3, 3, 1, 64}, b[1] = {64};
            rc |= put_weights(g, w[0], 4, k);
            rc |= put_weights(g, w[1], 1, b);
        }
        H5Gclose(g);
    }
    if (full_model)
        H5Gclose(root);
    H5Fclose(f);
    return rc ? -1 : 0;
}

int fuzz_make_seeds(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keras2-weights.h5", dir);
    if (write_seed(path, 0) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/keras2-full-model.h5", dir);
    if (write_seed(path, 1) != 0)
        return -1;
    return 2;
}
