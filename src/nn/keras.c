/* Import of Keras HDF5 files of the CRNN: weights-only (save_weights) and full-model (save) files of
 * Keras 1.x, Keras 2.x, tf.keras and Keras 3's HDF5 format. The file's layers are mapped onto the
 * preset by their order (the `layer_names` attribute) and the shapes of their weights, never by their
 * names: each layer with weights must be the preset's next layer, with exactly its shapes.
 * docs/network.md ("Keras files") says which files import and which do not, and why.
 *
 * What the layouts are (from Keras' own save and legacy-loading code):
 * - Keras 1: `layer_names` on the root (weights-only) or on `model_weights` (full model, with a
 *   `model_config` JSON and `keras_version` on the root); per layer group a `weight_names` list and one
 *   dataset per name (`conv1_W`, or `conv1_W_1:0` under TensorFlow). Kernels (out, in, rows, cols) with
 *   dim_ordering 'th', (rows, cols, in, out) with 'tf'; Theano convolves, so its kernels are flipped
 *   in both spatial axes against TensorFlow's cross-correlation, and the file never says which backend
 *   trained it. Batch-norm `gamma, beta, running_mean, running_std`, the last the variance since
 *   1.0.6. GRU as nine arrays W_z U_z b_z W_r U_r b_r W_h U_h b_h, or W U b (consume_less='gpu').
 * - Keras 2 / tf.keras / Keras 3: the same groups plus `backend` and `keras_version` attributes;
 *   kernels (rows, cols, in, out), flipped when the backend was Theano; GRU kernel, recurrent_kernel,
 *   bias in z | r | h blocks; a (2, 3 units) bias is a reset_after GRU's input bias, then its recurrent
 *   bias (the cell splits it so), which the model keeps as its [2][3U] gruK.b. Long attribute lists
 *   may be split into `layer_names0`, ...
 * GRU gates: the model config's recurrent_activation (Keras 1: inner_activation); hard_sigmoid there is
 * clip(0.2 x + 0.5, 0, 1) up to Keras 2.x / tf.keras, but clip(x / 6 + 0.5, 0, 1) in Keras 3. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/shared.h"
#include "internal.h"
#include "keras_json.h"

#define K_MAX_RANK 4
#define K_MAX_LAYERS 100000
#define K_MAX_SLOTS (3 + 2 * MM_MAX_BLOCKS + 2)

/* --- small helpers ---------------------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* "(3, 3, 64, 128)"; dims holds at most K_MAX_RANK values (a higher rank shows as "..."). */
static void shape_text(char *out, size_t size, int rank, const long *dims)
{
    size_t n = (size_t)snprintf(out, size, "(");
    for (int i = 0; i < rank && i < K_MAX_RANK && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%ld", i ? ", " : "", dims[i]);
    if (n < size)
        snprintf(out + n, size - n, "%s)", rank > K_MAX_RANK ? ", ..." : "");
}

/* --- HDF5 attributes ---------------------------------------------------------------------------- */

typedef struct strlist {
    char **v;
    int n;
} strlist;

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(strlist *l, const char *s, size_t len)
{
    char **grown = realloc(l->v, sizeof *grown * (size_t)(l->n + 1));
    if (!grown)
        return -1;
    l->v = grown;
    if (!(l->v[l->n] = dup_n(s, len)))
        return -1;
    l->n++;
    return 0;
}

/* Appends the strings of attribute `name` of obj (a scalar or a list; fixed or variable length; an
 * empty list as h5py writes one, float64 of shape (0,)). Returns 1 when read, 0 when there is no such
 * attribute, -1 when it isn't text or can't be read. */
static int read_attr_strings(hid_t obj, const char *name, strlist *out)
{
    if (H5Aexists(obj, name) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int rc = -1;
    if (type < 0 || n < 0 || n > K_MAX_LAYERS) {
        rc = -1;
    } else if (H5Tget_class(type) != H5T_STRING) {
        rc = n == 0 ? 1 : -1;
    } else if (n == 0) {
        rc = 1;
    } else if (H5Tis_variable_str(type) > 0) {
        char **buf = calloc((size_t)n, sizeof *buf);
        hid_t mem = H5Tcopy(H5T_C_S1);
        if (buf && mem >= 0 && H5Tset_size(mem, H5T_VARIABLE) >= 0 && H5Tset_cset(mem, H5Tget_cset(type)) >= 0)
            rc = H5Aread(a, mem, buf) >= 0 ? 1 : -1;
        for (hssize_t i = 0; buf && i < n; i++) { /* a failed read may have filled some */
            if (rc == 1 && strlist_push(out, buf[i] ? buf[i] : "", buf[i] ? strlen(buf[i]) : 0) != 0)
                rc = -1;
            if (buf[i])
                H5free_memory(buf[i]);
        }
        if (mem >= 0)
            H5Tclose(mem);
        free(buf);
    } else {
        size_t size = H5Tget_size(type);
        char *buf = size ? malloc(size * (size_t)n) : NULL;
        if (buf && H5Aread(a, type, buf) >= 0) {
            rc = 1;
            for (hssize_t i = 0; i < n && rc == 1; i++) {
                const char *s = buf + (size_t)i * size;
                if (strlist_push(out, s, strnlen(s, size)) != 0)
                    rc = -1;
            }
        }
        free(buf);
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Aclose(a);
    return rc;
}

/* A list attribute, or its chunks name0, name1, ... (Keras >= 2.1.5 splits long ones). */
static int read_attr_list(hid_t obj, const char *name, strlist *out)
{
    int rc = read_attr_strings(obj, name, out);
    if (rc != 0)
        return rc;
    for (int chunk = 0;; chunk++) {
        char key[80];
        snprintf(key, sizeof key, "%s%d", name, chunk);
        int got = read_attr_strings(obj, key, out);
        if (got <= 0)
            return got < 0 ? -1 : chunk > 0;
    }
}

/* A scalar text attribute into out[size] ("" when absent). */
static void read_attr_text(hid_t obj, const char *name, char *out, size_t size)
{
    strlist l = {0};
    out[0] = '\0';
    if (read_attr_strings(obj, name, &l) == 1 && l.n == 1)
        snprintf(out, size, "%s", l.v[0]);
    strlist_free(&l);
}

/* --- the file's layers ---------------------------------------------------------------------------- */

/* What a weight is, from its name. */
enum {
    R_NONE,
    R_GAMMA, R_BETA, R_MEAN, R_VAR,
    R_KERNEL, R_RECURRENT, R_BIAS,
    R_WZ, R_WR, R_WH, R_UZ, R_UR, R_UH, R_BZ, R_BR, R_BH,
    R_COUNT
};

static const struct {
    const char *suffix;
    int role;
} ROLE_NAMES[] = {
    {"gamma", R_GAMMA},     {"beta", R_BETA},         {"moving_mean", R_MEAN},
    {"running_mean", R_MEAN}, {"moving_variance", R_VAR}, {"running_std", R_VAR},
    {"kernel", R_KERNEL},   {"W", R_KERNEL},          {"recurrent_kernel", R_RECURRENT},
    {"U", R_RECURRENT},     {"bias", R_BIAS},         {"b", R_BIAS},
    {"W_z", R_WZ},          {"W_r", R_WR},            {"W_h", R_WH},
    {"U_z", R_UZ},          {"U_r", R_UR},            {"U_h", R_UH},
    {"b_z", R_BZ},          {"b_r", R_BR},            {"b_h", R_BH},
};

static const char *const ROLE_TEXT[R_COUNT] = {
    "?", "gamma", "beta", "mean", "variance", "kernel", "recurrent kernel", "bias",
    "W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h",
};

/* `gru1/gru1_W_z_1:0` -> W_z: the last path component without ":0", one "_1"-style suffix and the
 * layer-name prefix; the longest known name it ends with. */
static int role_of(const char *name)
{
    const char *last = strrchr(name, '/');
    last = last ? last + 1 : name;
    size_t len = strlen(last);
    const char *colon = strrchr(last, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
        len = (size_t)(colon - last);
    size_t digits = 0;
    while (digits < len && last[len - 1 - digits] >= '0' && last[len - 1 - digits] <= '9')
        digits++;
    if (digits > 0 && digits < len && last[len - 1 - digits] == '_')
        len -= digits + 1;
    int best = R_NONE;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof ROLE_NAMES / sizeof ROLE_NAMES[0]; i++) {
        size_t n = strlen(ROLE_NAMES[i].suffix);
        if (n > len || n <= best_len || memcmp(last + len - n, ROLE_NAMES[i].suffix, n) != 0)
            continue;
        if (n == len || last[len - n - 1] == '_') {
            best = ROLE_NAMES[i].role;
            best_len = n;
        }
    }
    return best;
}

typedef struct kweight {
    char *name; /* its entry in weight_names: the dataset's path under the layer's group */
    int rank;
    long dims[K_MAX_RANK];
    int role;
} kweight;

/* Kinds of layer, from their weights alone. */
enum { K_NONE, K_BN, K_CONV, K_GRU, K_GRU9, K_DENSE, K_UNKNOWN };

typedef struct klayer {
    char *name;
    const char *class_name; /* from the model config; NULL without one */
    const kj_node *config;  /* its config object; NULL without one */
    int n;
    kweight *w;
    int kind;
    int at[9]; /* index into w of the kind's arrays (see classify), -1 when absent */
    int slot;  /* the preset layer it maps to, -1 when none (set by match) */
    int th;    /* conv: kernel stored (out, in, rows, cols) */
    int reset_after; /* GRU: a (2, 3U) bias, or the config says so (set by fits) */
    int gates;       /* GRU: the config's gates (mm_gru_gates), -1 when not recorded (set by fits) */
} klayer;

typedef struct kfile {
    const char *path;
    hid_t file, group; /* group: the root or model_weights */
    int full_model;
    int named_layers;  /* 1: layer_names was there; 0: the original CRNN's names were looked up */
    char version[32], backend[32];
    kj_node *config;   /* the parsed model_config, NULL */
    char config_note[96];
    int n;
    klayer *layers;
} kfile;

static void kfile_close(kfile *kf)
{
    for (int i = 0; i < kf->n; i++) {
        for (int j = 0; j < kf->layers[i].n; j++)
            free(kf->layers[i].w[j].name);
        free(kf->layers[i].w);
        free(kf->layers[i].name);
    }
    free(kf->layers);
    kj_free(kf->config);
    if (kf->group >= 0 && kf->group != kf->file)
        H5Gclose(kf->group);
    if (kf->file >= 0)
        H5Fclose(kf->file);
    kf->layers = NULL;
    kf->n = 0;
    kf->config = NULL;
    kf->group = kf->file = -1;
}

/* Shape of dataset `name` under group; 0, or -1 when there is no such dataset. */
static int dataset_shape(hid_t group, const char *name, kweight *w)
{
    hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    int ok = space >= 0 && type >= 0 && (H5Tget_class(type) == H5T_FLOAT || H5Tget_class(type) == H5T_INTEGER);
    int rank = ok ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[32];
    ok = ok && rank >= 0 && rank <= 32 && H5Sget_simple_extent_dims(space, dims, NULL) == rank;
    if (ok) {
        w->rank = rank;
        for (int i = 0; i < rank && i < K_MAX_RANK; i++)
            w->dims[i] = (long)dims[i];
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(ds);
    return ok ? 0 : -1;
}

static herr_t collect_dataset(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    if (info->type != H5L_TYPE_HARD)
        return 0;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0)
        return 0;
    int is_dataset = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    return is_dataset && strlist_push(data, name, strlen(name)) != 0 ? -1 : 0;
}

static void classify(klayer *L);

/* Whether a name from the file is printable: UTF-8 without control characters (a damaged file's
 * names would otherwise reach the terminal raw). */
static int name_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || c < 0x20 || c == 0x7F || (c == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
            return 0;
        for (int k = 1; k < len; k++)
            if ((p[k] & 0xC0) != 0x80)
                return 0;
        p += len;
    }
    return 1;
}

/* Reads layer `name`'s weight list and shapes. */
static mm_status load_layer(kfile *kf, const char *name, klayer *L, mm_error *err)
{
    memset(L, 0, sizeof *L);
    L->slot = -1;
    L->gates = -1;
    if (!name_ok(name))
        return mm_error_set(err, MM_ERR_FORMAT, "%s: a layer name with control characters or bad UTF-8 (damaged file?)",
                            kf->path);
    if (!(L->name = dup_n(name, strlen(name))))
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", kf->path);
    if (!name[0] || H5Lexists(kf->group, name, H5P_DEFAULT) <= 0)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: layer_names lists '%s' but the file has no such group (damaged?)",
                            kf->path, name);
    hid_t g = H5Gopen2(kf->group, name, H5P_DEFAULT);
    if (g < 0)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: '%s' is not a layer group", kf->path, name);
    strlist names = {0};
    int rc = read_attr_list(g, "weight_names", &names);
    if (rc == 0) /* not written by Keras: every dataset in the group, by name */
        rc = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names) < 0 ? -1 : 1;
    mm_status st = MM_OK;
    if (rc < 0)
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: layer '%s': unreadable weight_names", kf->path, name);
    if (st == MM_OK && names.n > 0 && !(L->w = calloc((size_t)names.n, sizeof *L->w)))
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", kf->path);
    for (int i = 0; st == MM_OK && i < names.n; i++) {
        kweight *w = &L->w[L->n++];
        w->name = names.v[i];
        names.v[i] = NULL;
        w->role = role_of(w->name);
        if (!name_ok(w->name))
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: layer '%s': a weight name with control characters or bad UTF-8 "
                                                  "(damaged file?)", kf->path, name);
        else if (H5Lexists(g, w->name, H5P_DEFAULT) <= 0 || dataset_shape(g, w->name, w) != 0)
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: layer '%s' names weight '%s' but has no such dataset (damaged?)",
                              kf->path, name, w->name);
    }
    strlist_free(&names);
    H5Gclose(g);
    if (st == MM_OK)
        classify(L);
    return st;
}

/* The kind of layer and which weight is which: by the weights' names when every one is recognised,
 * else by Keras' order (batch-norm gamma, beta, mean, variance; kernel, [recurrent kernel,] bias;
 * Keras 1 GRU W_z U_z b_z W_r U_r b_r W_h U_h b_h). at[]: batch-norm gamma beta mean var; conv and
 * dense kernel bias; GRU kernel recurrent bias; Keras 1 GRU W_z W_r W_h U_z U_r U_h b_z b_r b_h. */
static void classify(klayer *L)
{
    for (int i = 0; i < 9; i++)
        L->at[i] = -1;
    L->kind = L->n == 0 ? K_NONE : K_UNKNOWN;
    if (L->n == 0)
        return;
    int by_role[R_COUNT];
    for (int r = 0; r < R_COUNT; r++)
        by_role[r] = -1;
    int named = 1;
    for (int i = 0; i < L->n; i++) {
        int r = L->w[i].role;
        if (r == R_NONE || by_role[r] >= 0)
            named = 0;
        else
            by_role[r] = i;
    }
    if (named) {
        int n_bn = 0, n_gru9 = 0;
        for (int r = R_GAMMA; r <= R_VAR; r++)
            n_bn += by_role[r] >= 0;
        for (int r = R_WZ; r <= R_BH; r++)
            n_gru9 += by_role[r] >= 0;
        if (n_gru9 == 9 && L->n == 9) {
            static const int order[9] = {R_WZ, R_WR, R_WH, R_UZ, R_UR, R_UH, R_BZ, R_BR, R_BH};
            for (int k = 0; k < 9; k++)
                L->at[k] = by_role[order[k]];
            L->kind = K_GRU9;
        } else if (n_bn == L->n && by_role[R_MEAN] >= 0 && by_role[R_VAR] >= 0) {
            for (int k = 0; k < 4; k++)
                L->at[k] = by_role[R_GAMMA + k];
            L->kind = K_BN;
        } else if (by_role[R_KERNEL] >= 0 && L->n == 1 + (by_role[R_RECURRENT] >= 0) + (by_role[R_BIAS] >= 0)) {
            int rank = L->w[by_role[R_KERNEL]].rank;
            L->at[0] = by_role[R_KERNEL];
            if (by_role[R_RECURRENT] >= 0) {
                L->kind = K_GRU;
                L->at[1] = by_role[R_RECURRENT];
                L->at[2] = by_role[R_BIAS];
            } else if (rank == 4 || rank == 2) {
                L->kind = rank == 4 ? K_CONV : K_DENSE;
                L->at[1] = by_role[R_BIAS];
            }
        }
        return;
    }
    /* positional */
    int r[9] = {0};
    for (int i = 0; i < L->n && i < 9; i++)
        r[i] = L->w[i].rank;
    if (L->n == 4 && r[0] == 1 && r[1] == 1 && r[2] == 1 && r[3] == 1) {
        L->kind = K_BN;
        for (int k = 0; k < 4; k++)
            L->at[k] = k;
    } else if ((L->n == 2 && (r[0] == 4 || r[0] == 2) && r[1] == 1) || (L->n == 1 && (r[0] == 4 || r[0] == 2))) {
        L->kind = r[0] == 4 ? K_CONV : K_DENSE;
        L->at[0] = 0;
        L->at[1] = L->n == 2 ? 1 : -1;
    } else if ((L->n == 3 && r[0] == 2 && r[1] == 2 && (r[2] == 1 || r[2] == 2)) || (L->n == 2 && r[0] == 2 && r[1] == 2)) {
        L->kind = K_GRU;
        L->at[0] = 0;
        L->at[1] = 1;
        L->at[2] = L->n == 3 ? 2 : -1;
    } else if (L->n == 9) {
        static const int file_pos[9] = {0, 3, 6, 1, 4, 7, 2, 5, 8}; /* W_z U_z b_z W_r ... in the file */
        int ok = 1;
        for (int k = 0; k < 9; k++)
            ok = ok && r[file_pos[k]] == (k < 6 ? 2 : 1);
        if (ok) {
            L->kind = K_GRU9;
            for (int k = 0; k < 9; k++)
                L->at[k] = file_pos[k];
        }
    }
}

static const char *kind_text(int kind)
{
    switch (kind) {
    case K_BN: return "batch-norm";
    case K_CONV: return "convolution";
    case K_GRU: return "GRU";
    case K_GRU9: return "GRU (Keras 1, nine arrays)";
    case K_DENSE: return "dense";
    case K_NONE: return "no weights";
    default: return "unrecognised weights";
    }
}

/* The layers list of a model config: Keras 1 Sequential keeps it as the config itself, the others
 * under config.layers. Nested models are not looked into. */
static void attach_config(kfile *kf)
{
    const kj_node *cfg = kj_get(kf->config, "config");
    const kj_node *list = cfg && cfg->type == KJ_ARRAY ? cfg : kj_get(cfg, "layers");
    if (!list || list->type != KJ_ARRAY) {
        snprintf(kf->config_note, sizeof kf->config_note, "model_config has no layer list; not used");
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        const kj_node *entry = list->items[i], *c = kj_get(entry, "config");
        const char *name = kj_string(kj_get(c, "name"));
        if (!name)
            name = kj_string(kj_get(entry, "name"));
        for (int l = 0; name && l < kf->n; l++)
            if (strcmp(kf->layers[l].name, name) == 0 && !kf->layers[l].config) {
                kf->layers[l].config = c;
                kf->layers[l].class_name = kj_string(kj_get(entry, "class_name"));
            }
    }
}

/* The file's kind, in words. */
static void format_text(const kfile *kf, char *out, size_t size)
{
    char version[48];
    if (kf->version[0])
        snprintf(version, sizeof version, "Keras %s", kf->version);
    else
        snprintf(version, sizeof version, "Keras 1 (no version recorded)");
    snprintf(out, size, "%s %s%s%s%s", version, kf->full_model ? "full model (model_weights" : "weights-only file",
             kf->full_model ? (kf->config ? ", model_config)" : ")") : "", kf->backend[0] ? ", backend " : "",
             kf->backend);
}

/* Opens the file and reads its layer list, weight names and shapes, version, backend and config. */
static mm_status kfile_open(kfile *kf, const char *path, mm_error *err)
{
    memset(kf, 0, sizeof *kf);
    kf->path = path;
    kf->file = kf->group = -1;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open: no such file", path);
    if (!S_ISREG(sb.st_mode))
        return mm_error_set(err, MM_ERR_IO, "%s: not a regular file", path);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return mm_error_set(err, MM_ERR_IO, "%s: cannot open", path);
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, probe);
    fclose(probe);
    static const unsigned char HDF5_SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int signed_hdf5 = got == 8 && memcmp(head, HDF5_SIGNATURE, 8) == 0;
    if (H5Fis_hdf5(path) <= 0) {
        if (signed_hdf5)
            return mm_error_set(err, MM_ERR_FORMAT, "%s: truncated or damaged HDF5 file", path);
        if (got >= 4 && memcmp(head, "PK\3\4", 4) == 0)
            return mm_error_set(err, MM_ERR_FORMAT, "%s: a zip archive (a Keras 3 .keras file?), not an HDF5 file", path);
        return mm_error_set(err, MM_ERR_FORMAT, "%s: not an HDF5 file", path);
    }
    kf->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (kf->file < 0)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: cannot open as HDF5 (truncated or damaged file)", path);
    kf->group = kf->file;
    strlist names = {0};
    int rc = read_attr_list(kf->file, "layer_names", &names);
    if (rc == 0 && H5Lexists(kf->file, "model_weights", H5P_DEFAULT) > 0) {
        kf->group = H5Gopen2(kf->file, "model_weights", H5P_DEFAULT);
        kf->full_model = 1;
        rc = kf->group < 0 ? -1 : read_attr_list(kf->group, "layer_names", &names);
    }
    mm_status st = MM_OK;
    if (rc < 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: unreadable layer_names attribute", path);
        goto done;
    }
    /* version and backend: model_weights' own (Keras >= 2.2), else the root's */
    read_attr_text(kf->group, "keras_version", kf->version, sizeof kf->version);
    if (!kf->version[0])
        read_attr_text(kf->file, "keras_version", kf->version, sizeof kf->version);
    read_attr_text(kf->group, "backend", kf->backend, sizeof kf->backend);
    if (!kf->backend[0])
        read_attr_text(kf->file, "backend", kf->backend, sizeof kf->backend);
    if (rc == 0) {
        if (H5Aexists(kf->file, "nb_layers") > 0) {
            st = mm_error_set(err, MM_ERR_UNSUPPORTED, "%s: a Keras 0.x weights file (nb_layers, layer_N groups): not supported",
                              path);
            goto done;
        }
        if (H5Lexists(kf->file, "vars", H5P_DEFAULT) > 0 || H5Lexists(kf->file, "layers", H5P_DEFAULT) > 0) {
            st = mm_error_set(err, MM_ERR_UNSUPPORTED,
                              "%s: a Keras 3 .weights.h5 file (layers/.../vars): not supported; save with model.save(\"x.h5\")",
                              path);
            goto done;
        }
        /* no layer list (not written by Keras' save): the original CRNN's layer names, in its order */
        hid_t g = kf->group;
        if (H5Lexists(g, "bn_0_freq", H5P_DEFAULT) <= 0 && H5Lexists(g, "conv1", H5P_DEFAULT) <= 0) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: no layer_names attribute: not a Keras weights file", path);
            goto done;
        }
        char name[32];
        int pushed = 0;
        if (H5Lexists(g, "bn_0_freq", H5P_DEFAULT) > 0)
            pushed |= strlist_push(&names, "bn_0_freq", 9);
        for (int b = 1; b <= MM_MAX_BLOCKS; b++) {
            snprintf(name, sizeof name, "conv%d", b);
            if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
                break;
            pushed |= strlist_push(&names, name, strlen(name));
            snprintf(name, sizeof name, "bn%d", b);
            if (H5Lexists(g, name, H5P_DEFAULT) > 0)
                pushed |= strlist_push(&names, name, strlen(name));
        }
        static const char *const TAIL[3] = {"gru1", "gru2", "output"};
        for (int i = 0; i < 3; i++)
            if (H5Lexists(g, TAIL[i], H5P_DEFAULT) > 0)
                pushed |= strlist_push(&names, TAIL[i], strlen(TAIL[i]));
        if (pushed) {
            st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    } else {
        kf->named_layers = 1;
    }
    if (names.n > 0 && !(kf->layers = calloc((size_t)names.n, sizeof *kf->layers))) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < names.n && st == MM_OK; i++) {
        kf->n++;
        st = load_layer(kf, names.v[i], &kf->layers[i], err);
    }
    if (st != MM_OK)
        goto done;
    strlist cfg = {0};
    if (read_attr_strings(kf->file, "model_config", &cfg) == 1 && cfg.n == 1) {
        char why[48];
        kf->config = kj_parse(cfg.v[0], strlen(cfg.v[0]), why, sizeof why);
        if (kf->config)
            attach_config(kf);
        else
            snprintf(kf->config_note, sizeof kf->config_note, "model_config is not JSON (%s); not used", why);
    }
    strlist_free(&cfg);
done:
    strlist_free(&names);
    return st;
}

/* --- the preset's layers ------------------------------------------------------------------------ */

typedef struct kslot {
    int kind; /* K_BN, K_CONV, K_GRU, K_DENSE */
    char name[16];
    int a, b; /* bn: size; conv: in, out channels; GRU: in, units; dense: in, outputs (0: any) */
    int bn0;  /* batch-norm over time positions */
} kslot;

static int preset_slots(const mm_preset *p, int n_labels, kslot *s)
{
    int n = 0, in = 1;
    s[n++] = (kslot){K_BN, "bn0", MM_N_FRAMES + 2 * p->time_pad, 0, 1};
    for (int b = 0; b < p->n_blocks; b++) {
        int f = p->blocks[b].filters;
        s[n] = (kslot){K_CONV, "", in, f, 0};
        snprintf(s[n++].name, sizeof s->name, "conv%d", b + 1);
        s[n] = (kslot){K_BN, "", f, 0, 0};
        snprintf(s[n++].name, sizeof s->name, "bn%d", b + 1);
        in = f;
    }
    s[n++] = (kslot){K_GRU, "gru1", in, p->gru_units, 0};
    s[n++] = (kslot){K_GRU, "gru2", p->gru_units, p->gru_units, 0};
    s[n++] = (kslot){K_DENSE, "dense", p->gru_units, n_labels, 0};
    return n;
}

static void slot_text(const kslot *s, char *out, size_t size)
{
    switch (s->kind) {
    case K_BN:
        snprintf(out, size, "%s (batch-norm over %d %s)", s->name, s->a, s->bn0 ? "time positions" : "channels");
        break;
    case K_CONV: snprintf(out, size, "%s (3x3 convolution, %d -> %d channels)", s->name, s->a, s->b); break;
    case K_GRU: snprintf(out, size, "%s (GRU, %d -> %d units)", s->name, s->a, s->b); break;
    default:
        if (s->b > 0)
            snprintf(out, size, "dense (%d -> %d outputs)", s->a, s->b);
        else
            snprintf(out, size, "dense (%d -> outputs)", s->a);
    }
}

static int dims_are(const kweight *w, int rank, long d0, long d1, long d2, long d3)
{
    long d[4] = {d0, d1, d2, d3};
    if (w->rank != rank)
        return 0;
    for (int i = 0; i < rank; i++)
        if (w->dims[i] != d[i])
            return 0;
    return 1;
}

static const char *config_activation(const kj_node *config, const char *key)
{
    const kj_node *a = kj_get(config, key);
    const char *s = kj_string(a);
    /* Keras 3 may write {"class_name": ..., "config": {"name": ...}} */
    if (!s && a && a->type == KJ_OBJECT)
        s = kj_string(kj_get(kj_get(a, "config"), "name"));
    return s;
}

/* Whether the model config of a layer says something this runtime would compute differently. */
static int config_refuses(const klayer *L, const kslot *s, char *why, size_t size)
{
    const kj_node *c = L->config;
    if (!c)
        return 0;
    const char *act = config_activation(c, "activation");
    if (s->kind == K_BN) {
        const kj_node *mode = kj_get(c, "mode");
        if (mode && mode->type == KJ_NUMBER && mode->number != 0) {
            snprintf(why, size, "batch-norm mode %g (Keras 1): only mode 0 (running averages at inference) is supported",
                     mode->number);
            return 1;
        }
    } else if (s->kind == K_CONV) {
        static const double ones[2] = {1, 1};
        const char *pad = kj_string(kj_get(c, "padding"));
        if (!pad)
            pad = kj_string(kj_get(c, "border_mode"));
        const kj_node *stride = kj_get(c, "strides") ? kj_get(c, "strides") : kj_get(c, "subsample");
        const kj_node *dilation = kj_get(c, "dilation_rate");
        if (act && strcmp(act, "linear") != 0) {
            snprintf(why, size, "activation '%s' inside the convolution; the preset's has none (ELU follows batch-norm)", act);
            return 1;
        }
        if (pad && strcmp(pad, "same") != 0) {
            snprintf(why, size, "padding '%s'; the preset's convolutions are 'same'", pad);
            return 1;
        }
        if ((stride && !kj_numbers_equal(stride, ones, 2)) || (dilation && !kj_numbers_equal(dilation, ones, 2))) {
            snprintf(why, size, "strides or dilation other than 1; the preset's are 1");
            return 1;
        }
    } else if (s->kind == K_GRU) { /* its gates and reset_after: gru_variant */
        const kj_node *backwards = kj_get(c, "go_backwards");
        if (act && strcmp(act, "tanh") != 0) {
            snprintf(why, size, "activation '%s'; this runtime's GRU uses tanh", act);
            return 1;
        }
        if (backwards && backwards->type == KJ_BOOL && backwards->boolean) {
            snprintf(why, size, "a go_backwards GRU; this runtime reads the sequence forwards");
            return 1;
        }
    }
    return 0;
}

static int keras_major(const kfile *kf)
{
    return kf->version[0] ? atoi(kf->version) : 0;
}

/* A GRU's variant: reset_after from its bias shape (from the config when it has no bias), its gates from
 * the config's recurrent activation (L->gates -1 when not recorded). 0 with why when the config asks for
 * what this runtime does not compute. */
static int gru_variant(const kfile *kf, klayer *L, char *why, size_t size)
{
    const kj_node *said = kj_get(L->config, "reset_after");
    int config_reset_after = said && said->type == KJ_BOOL ? said->boolean : -1;
    L->gates = -1;
    L->reset_after = 0;
    if (L->kind == K_GRU9 || L->at[2] >= 0) /* Keras 1 had only the reset-before GRU */
        L->reset_after = L->kind == K_GRU && L->w[L->at[2]].rank == 2;
    else if (config_reset_after >= 0)
        L->reset_after = config_reset_after;
    if (config_reset_after >= 0 && config_reset_after != L->reset_after) {
        snprintf(why, size, "the model config says reset_after=%s but the bias is a reset_after=%s one",
                 config_reset_after ? "True" : "False", L->reset_after ? "True" : "False");
        return 0;
    }
    const char *rec = config_activation(L->config, "recurrent_activation");
    if (!rec)
        rec = config_activation(L->config, "inner_activation");
    if (!rec)
        return 1;
    if (strcmp(rec, "hard_sigmoid") == 0 && keras_major(kf) >= 3) {
        snprintf(why, size, "recurrent activation 'hard_sigmoid' of Keras %s, clip(x / 6 + 0.5, 0, 1); this runtime's "
                            "is Keras 1/2's clip(0.2 x + 0.5, 0, 1)", kf->version);
        return 0;
    }
    if (strcmp(rec, "hard_sigmoid") != 0 && strcmp(rec, "sigmoid") != 0) {
        snprintf(why, size, "recurrent activation '%s'; this runtime's GRU gates are hard_sigmoid or sigmoid", rec);
        return 0;
    }
    L->gates = strcmp(rec, "sigmoid") == 0 ? MM_GRU_GATES_SIGMOID : MM_GRU_GATES_HARD_SIGMOID;
    return 1;
}

/* Whether layer L can be the preset's layer s; sets L->th for convolutions, the variant for GRUs. why:
 * the reason when not. */
static int fits(const kfile *kf, klayer *L, const kslot *s, char *why, size_t size)
{
    char want[64], got[64];
    int kind = L->kind == K_GRU9 ? K_GRU : L->kind;
    if (kind != s->kind) {
        size_t n = L->kind == K_UNKNOWN ? (size_t)snprintf(why, size, "a layer of another kind, with weights ")
                                        : (size_t)snprintf(why, size, "a %s layer with weights ", kind_text(L->kind));
        for (int i = 0; i < L->n && n < size; i++) {
            shape_text(got, sizeof got, L->w[i].rank, L->w[i].dims);
            n += (size_t)snprintf(why + n, size - n, "%s%s", i ? ", " : "", got);
        }
        return 0;
    }
    if (config_refuses(L, s, why, size))
        return 0;
    const kweight *w0 = &L->w[L->at[0] >= 0 ? L->at[0] : 0];
    if (s->kind == K_BN) {
        for (int k = 0; k < 4; k++) {
            if (L->at[k] < 0)
                continue;
            const kweight *w = &L->w[L->at[k]];
            if (!dims_are(w, 1, s->a, 0, 0, 0)) {
                shape_text(got, sizeof got, w->rank, w->dims);
                snprintf(why, size, "%s %s is %s, expected (%d)", ROLE_TEXT[R_GAMMA + k], w->name, got, s->a);
                return 0;
            }
        }
        return 1;
    }
    if (s->kind == K_CONV) {
        int tf = dims_are(w0, 4, 3, 3, s->a, s->b), th = dims_are(w0, 4, s->b, s->a, 3, 3);
        if (!tf && !th) {
            shape_text(got, sizeof got, w0->rank, w0->dims);
            snprintf(why, size, "kernel %s, expected (3, 3, %d, %d) or (%d, %d, 3, 3)", got, s->a, s->b, s->b, s->a);
            return 0;
        }
        L->th = !tf;
        if (L->at[1] >= 0 && !dims_are(&L->w[L->at[1]], 1, s->b, 0, 0, 0)) {
            shape_text(got, sizeof got, L->w[L->at[1]].rank, L->w[L->at[1]].dims);
            snprintf(why, size, "bias %s, expected (%d)", got, s->b);
            return 0;
        }
        return 1;
    }
    if (s->kind == K_GRU && L->kind == K_GRU9) {
        static const char *const NAMES[9] = {"W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h"};
        for (int k = 0; k < 9; k++) {
            const kweight *w = &L->w[L->at[k]];
            int ok = k < 3 ? dims_are(w, 2, s->a, s->b, 0, 0) : k < 6 ? dims_are(w, 2, s->b, s->b, 0, 0)
                                                                       : dims_are(w, 1, s->b, 0, 0, 0);
            if (!ok) {
                shape_text(got, sizeof got, w->rank, w->dims);
                if (k < 3)
                    snprintf(want, sizeof want, "(%d, %d)", s->a, s->b);
                else if (k < 6)
                    snprintf(want, sizeof want, "(%d, %d)", s->b, s->b);
                else
                    snprintf(want, sizeof want, "(%d)", s->b);
                snprintf(why, size, "%s %s, expected %s", NAMES[k], got, want);
                return 0;
            }
        }
        return gru_variant(kf, L, why, size);
    }
    if (s->kind == K_GRU) {
        int u3 = 3 * s->b;
        const kweight *rec = &L->w[L->at[1]];
        if (!dims_are(w0, 2, s->a, u3, 0, 0) || !dims_are(rec, 2, s->b, u3, 0, 0)) {
            const kweight *bad = !dims_are(w0, 2, s->a, u3, 0, 0) ? w0 : rec;
            shape_text(got, sizeof got, bad->rank, bad->dims);
            snprintf(why, size, "%s %s, expected (%d, %d)", bad == w0 ? "kernel" : "recurrent kernel", got,
                     bad == w0 ? s->a : s->b, u3);
            return 0;
        }
        if (L->at[2] >= 0) {
            const kweight *b = &L->w[L->at[2]];
            if (!dims_are(b, 1, u3, 0, 0, 0) && !dims_are(b, 2, 2, u3, 0, 0)) { /* (2, 3u): reset_after */
                shape_text(got, sizeof got, b->rank, b->dims);
                snprintf(why, size, "bias %s, expected (%d) or (2, %d)", got, u3, u3);
                return 0;
            }
        }
        return gru_variant(kf, L, why, size);
    }
    /* dense */
    if (w0->rank != 2 || w0->dims[0] != s->a || (s->b > 0 && w0->dims[1] != s->b)) {
        shape_text(got, sizeof got, w0->rank, w0->dims);
        if (w0->rank == 2 && w0->dims[0] == s->a)
            snprintf(why, size, "kernel %s: %ld outputs, but %d labels were given", got, w0->dims[1], s->b);
        else if (s->b > 0)
            snprintf(why, size, "kernel %s, expected (%d, %d)", got, s->a, s->b);
        else
            snprintf(why, size, "kernel %s, expected (%d, outputs)", got, s->a);
        return 0;
    }
    long outputs = w0->dims[1];
    if (L->at[1] >= 0 && !dims_are(&L->w[L->at[1]], 1, outputs, 0, 0, 0)) {
        shape_text(got, sizeof got, L->w[L->at[1]].rank, L->w[L->at[1]].dims);
        snprintf(why, size, "bias %s, expected (%ld)", got, outputs);
        return 0;
    }
    if (outputs < 2 || outputs > MM_MAX_LABELS) {
        snprintf(why, size, "%ld outputs; a model has 2 to %d", outputs, MM_MAX_LABELS);
        return 0;
    }
    return 1;
}

typedef struct kmatch {
    const mm_preset *preset;
    kslot slots[K_MAX_SLOTS];
    int n_slots;
    int matched; /* slots filled */
    int failed;  /* the layer that did not fit or was one too many, -1 */
    int outputs; /* the dense layer's, once matched */
    char why[512];
} kmatch;

/* This runtime runs both GRU layers with one variant: whether L's agrees with the first GRU's. */
static int same_gru(const klayer *first, const klayer *L, char *why, size_t size)
{
    if (L->reset_after != first->reset_after) {
        snprintf(why, size, "reset_after=%s, unlike '%s': this runtime runs both GRU layers alike",
                 L->reset_after ? "True" : "False", first->name);
        return 0;
    }
    if (L->gates >= 0 && first->gates >= 0 && L->gates != first->gates) {
        snprintf(why, size, "%s gates, unlike '%s': this runtime runs both GRU layers alike",
                 L->gates == MM_GRU_GATES_SIGMOID ? "sigmoid" : "hard_sigmoid", first->name);
        return 0;
    }
    return 1;
}

/* Walks the file's layers with weights against the preset's. Returns 1 when every one fits. */
static int match(kfile *kf, const mm_preset *p, int n_labels, kmatch *m)
{
    memset(m, 0, sizeof *m);
    m->preset = p;
    m->failed = -1;
    m->n_slots = preset_slots(p, n_labels, m->slots);
    int last = -1, first_gru = -1;
    for (int i = 0; i < kf->n; i++)
        kf->layers[i].slot = -1;
    for (int i = 0; i < kf->n; i++) {
        klayer *L = &kf->layers[i];
        if (L->n == 0)
            continue;
        char slot[96], why[256];
        if (m->matched == m->n_slots) {
            m->failed = i;
            snprintf(m->why, sizeof m->why, "layer '%s' has weights, but %s ends with its dense layer before it", L->name,
                     p->name);
            return 0;
        }
        const kslot *s = &m->slots[m->matched];
        int ok = fits(kf, L, s, why, sizeof why);
        if (ok && s->kind == K_GRU && first_gru >= 0)
            ok = same_gru(&kf->layers[first_gru], L, why, sizeof why);
        else if (ok && s->kind == K_GRU)
            first_gru = i;
        if (!ok) {
            slot_text(s, slot, sizeof slot);
            m->failed = i;
            snprintf(m->why, sizeof m->why, "layer '%s' does not fit %s's %s: %s", L->name, p->name, slot, why);
            return 0;
        }
        if (s->kind == K_DENSE)
            m->outputs = (int)L->w[L->at[0]].dims[1];
        L->slot = m->matched++;
        last = i;
    }
    if (m->matched < m->n_slots) {
        char slot[96];
        slot_text(&m->slots[m->matched], slot, sizeof slot);
        if (last < 0)
            snprintf(m->why, sizeof m->why, "no layer has weights; %s needs %s first", p->name, slot);
        else
            snprintf(m->why, sizeof m->why, "the file's layers end after '%s'; %s needs %s next", kf->layers[last].name,
                     p->name, slot);
        return 0;
    }
    return 1;
}

/* --- what the file says about kernels, epsilon and the output ------------------------------------- */

typedef struct kdecisions {
    int flipped, kernels_assumed;
    char kernels_why[160];
    int gru_found;        /* a GRU layer was matched: gru and gru_why say what it computes */
    mm_gru_variant gru;
    int gates_assumed;
    char gru_why[200];
    mm_head head;         /* the head the model gets */
    int head_from_config; /* the config names the output activation: config_head */
    mm_head config_head;
} kdecisions;

/* The GRUs' variant (after match): reset_after from the weights, the gates from the model config, else
 * the options, else assumed as the Keras that wrote the file defaults to. */
static void decide_gru(const kfile *kf, const mm_keras_options *o, kdecisions *d)
{
    const klayer *first = NULL;
    int recorded = -1;
    for (int i = 0; i < kf->n; i++) {
        const klayer *L = &kf->layers[i];
        if (L->slot < 0 || (L->kind != K_GRU && L->kind != K_GRU9))
            continue;
        first = first ? first : L;
        recorded = recorded >= 0 ? recorded : L->gates;
    }
    d->gru_found = first != NULL;
    d->gru.reset_after = first ? first->reset_after : 0;
    mm_keras_gates given = o ? o->gates : MM_KERAS_GATES_AUTO;
    const char *how;
    if (recorded >= 0) {
        d->gru.gates = (mm_gru_gates)recorded;
        how = "gates from the model config";
    } else if (given != MM_KERAS_GATES_AUTO) {
        d->gru.gates = given == MM_KERAS_GATES_SIGMOID ? MM_GRU_GATES_SIGMOID : MM_GRU_GATES_HARD_SIGMOID;
        how = "gates as the options say (the file does not record them)";
    } else {
        /* the Keras versions whose GRUs default to reset_after (>= 2.3, tf.keras 2) default to sigmoid, and
         * Keras 3's own hard_sigmoid is not this runtime's; Keras 1 and 2.0-2.2 default to hard_sigmoid */
        d->gates_assumed = 1;
        int sigmoid = d->gru.reset_after || keras_major(kf) >= 3;
        d->gru.gates = sigmoid ? MM_GRU_GATES_SIGMOID : MM_GRU_GATES_HARD_SIGMOID;
        how = !sigmoid ? "gates assumed (not recorded without a model config): Keras 1's and 2.0-2.2's default"
              : d->gru.reset_after ? "gates assumed (not recorded without a model config): the default wherever "
                                     "reset_after=True is"
                                   : "gates assumed (not recorded without a model config): Keras 3's default";
    }
    snprintf(d->gru_why, sizeof d->gru_why, "%s; %s", mm_gru_variant_text(d->gru), how);
}

static void decide(const kfile *kf, const mm_keras_options *o, mm_head head, kdecisions *d)
{
    memset(d, 0, sizeof *d);
    mm_keras_kernels k = o ? o->kernels : MM_KERAS_KERNELS_AUTO;
    if (k != MM_KERAS_KERNELS_AUTO) {
        d->flipped = k == MM_KERAS_KERNELS_TH;
        snprintf(d->kernels_why, sizeof d->kernels_why, "%s, as --kernel-order %s says%s",
                 d->flipped ? "Theano's (flipped: convolution)" : "cross-correlation (TensorFlow)",
                 d->flipped ? "th" : "tf", kf->backend[0] ? " (the file records another backend)" : "");
        if (kf->backend[0] && (strcmp(kf->backend, "theano") == 0) == d->flipped)
            snprintf(d->kernels_why, sizeof d->kernels_why, "%s, as --kernel-order and the file's backend say",
                     d->flipped ? "Theano's (flipped: convolution)" : "cross-correlation (TensorFlow)");
    } else if (kf->backend[0]) {
        d->flipped = strcmp(kf->backend, "theano") == 0;
        snprintf(d->kernels_why, sizeof d->kernels_why, "%s, from the file's backend (%s)",
                 d->flipped ? "Theano's (flipped: convolution)" : "cross-correlation", kf->backend);
    } else {
        d->kernels_assumed = 1;
        snprintf(d->kernels_why, sizeof d->kernels_why,
                 "cross-correlation (TensorFlow) assumed: the file does not record its backend; "
                 "--kernel-order th if Theano trained it");
    }
    decide_gru(kf, o, d);
    d->head = head;
    for (int i = kf->n - 1; i >= 0; i--) {
        const klayer *L = &kf->layers[i];
        if (L->kind != K_DENSE)
            continue;
        const char *act = config_activation(L->config, "activation");
        if (act && (strcmp(act, "sigmoid") == 0 || strcmp(act, "softmax") == 0)) {
            d->head_from_config = 1;
            d->config_head = strcmp(act, "sigmoid") == 0 ? MM_HEAD_SIGMOID : MM_HEAD_SOFTMAX;
            if (o && o->head_from_file)
                d->head = d->config_head;
        }
        break;
    }
}

/* The epsilon layer L was trained with, and whether that is an assumption. */
static double layer_epsilon(const klayer *L, const mm_keras_options *o, int *assumed)
{
    const kj_node *e = kj_get(L->config, "epsilon");
    *assumed = 0;
    if (e && e->type == KJ_NUMBER && e->number > 0)
        return e->number;
    if (o && o->bn_epsilon > 0)
        return o->bn_epsilon;
    *assumed = 1;
    return MM_BN_EPSILON;
}

/* --- reading the weights ------------------------------------------------------------------------- */

static mm_status read_weight(const kfile *kf, const klayer *L, int index, float *out, size_t count, mm_error *err)
{
    const kweight *w = &L->w[index];
    size_t n = 1;
    for (int i = 0; i < w->rank; i++)
        n *= (size_t)w->dims[i];
    if (n != count)
        return mm_error_set(err, MM_ERR_INTERNAL, "%s: layer '%s': %s has %zu values, expected %zu", kf->path, L->name,
                            w->name, n, count);
    hid_t g = H5Gopen2(kf->group, L->name, H5P_DEFAULT);
    hid_t ds = g >= 0 ? H5Dopen2(g, w->name, H5P_DEFAULT) : -1;
    herr_t rc = ds >= 0 ? H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (ds >= 0)
        H5Dclose(ds);
    if (g >= 0)
        H5Gclose(g);
    if (rc < 0)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: cannot read %s/%s (truncated or damaged file)", kf->path, L->name,
                            w->name);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(out[i]))
            return mm_error_set(err, MM_ERR_FORMAT, "%s: layer '%s': %s holds a non-finite value", kf->path, L->name,
                                w->name);
    return MM_OK;
}

static mm_tensor *param(mm_model *m, const char *layer, const char *what)
{
    char name[40];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    return mm_model_find_param(m, name);
}

static mm_status fill_bn(const kfile *kf, const klayer *L, const kslot *s, mm_model *m, double eps, mm_error *err)
{
    static const char *const OURS[4] = {"gamma", "beta", "mean", "var"};
    mm_status st = MM_OK;
    for (int k = 0; k < 4 && st == MM_OK; k++) {
        mm_tensor *t = param(m, s->name, OURS[k]);
        if (L->at[k] >= 0)
            st = read_weight(kf, L, L->at[k], t->data, t->count, err);
        else
            for (size_t i = 0; i < t->count; i++)
                t->data[i] = k == 0 ? 1.0f : 0.0f;
    }
    /* (x - mean) / sqrt(var + eps): the same with this runtime's epsilon when var grows by the difference
     * (Keras added the epsilon in float32: the config's 0.001 is this runtime's 1e-3f) */
    mm_tensor *var = param(m, s->name, "var");
    double diff = (double)(float)eps - (double)MM_BN_EPSILON;
    if (st == MM_OK && diff != 0)
        for (size_t i = 0; i < var->count; i++)
            var->data[i] = (float)((double)var->data[i] + diff);
    return st;
}

static mm_status fill_conv(const kfile *kf, const klayer *L, const kslot *s, mm_model *m, int flipped, mm_error *err)
{
    mm_tensor *w = param(m, s->name, "w"), *b = param(m, s->name, "b");
    float *raw = malloc(sizeof(float) * w->count);
    if (!raw)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", kf->path);
    mm_status st = read_weight(kf, L, L->at[0], raw, w->count, err);
    int in = s->a, out = s->b;
    for (int o = 0; st == MM_OK && o < out; o++)
        for (int i = 0; i < in; i++)
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++) {
                    int sh = flipped ? 2 - kh : kh, sw = flipped ? 2 - kw : kw;
                    size_t from = L->th ? (((size_t)o * in + i) * 3 + sh) * 3 + sw : (((size_t)sh * 3 + sw) * in + i) * out + o;
                    w->data[(((size_t)o * in + i) * 3 + kh) * 3 + kw] = raw[from];
                }
    free(raw);
    if (st == MM_OK && L->at[1] >= 0)
        st = read_weight(kf, L, L->at[1], b->data, b->count, err);
    else if (st == MM_OK)
        memset(b->data, 0, sizeof(float) * b->count);
    return st;
}

/* GRU: ours are Keras 2's kernel (in, 3U), recurrent kernel (U, 3U), bias (3U) in z | r | h blocks, or a
 * reset_after one's (2, 3U) bias as it is (the model was given that shape by mm_model_set_gru). */
static mm_status fill_gru(const kfile *kf, const klayer *L, const kslot *s, mm_model *m, mm_error *err)
{
    mm_tensor *W = param(m, s->name, "W"), *U = param(m, s->name, "U"), *B = param(m, s->name, "b");
    int in = s->a, u = s->b;
    if (L->kind == K_GRU) {
        mm_status st = read_weight(kf, L, L->at[0], W->data, W->count, err);
        if (st == MM_OK)
            st = read_weight(kf, L, L->at[1], U->data, U->count, err);
        if (st == MM_OK && L->at[2] >= 0)
            st = read_weight(kf, L, L->at[2], B->data, B->count, err);
        else if (st == MM_OK)
            memset(B->data, 0, sizeof(float) * B->count);
        return st;
    }
    float *part = malloc(sizeof(float) * (size_t)(in > u ? in : u) * (size_t)u);
    if (!part)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", kf->path);
    mm_status st = MM_OK;
    for (int g = 0; g < 3 && st == MM_OK; g++) {
        st = read_weight(kf, L, L->at[g], part, (size_t)in * u, err);
        for (int i = 0; st == MM_OK && i < in; i++)
            memcpy(W->data + (size_t)i * 3 * u + (size_t)g * u, part + (size_t)i * u, sizeof(float) * (size_t)u);
        if (st == MM_OK)
            st = read_weight(kf, L, L->at[3 + g], part, (size_t)u * u, err);
        for (int i = 0; st == MM_OK && i < u; i++)
            memcpy(U->data + (size_t)i * 3 * u + (size_t)g * u, part + (size_t)i * u, sizeof(float) * (size_t)u);
        if (st == MM_OK)
            st = read_weight(kf, L, L->at[6 + g], B->data + (size_t)g * u, (size_t)u, err);
    }
    free(part);
    return st;
}

static mm_status fill_dense(const kfile *kf, const klayer *L, mm_model *m, mm_error *err)
{
    mm_tensor *W = mm_model_find_param(m, "dense.W"), *B = mm_model_find_param(m, "dense.b");
    mm_status st = read_weight(kf, L, L->at[0], W->data, W->count, err);
    if (st == MM_OK && L->at[1] >= 0)
        st = read_weight(kf, L, L->at[1], B->data, B->count, err);
    else if (st == MM_OK)
        memset(B->data, 0, sizeof(float) * B->count);
    return st;
}

/* --- the public calls ---------------------------------------------------------------------------- */

/* HDF5 prints its error stack by default; we report our own one-line errors instead. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

static void h5_quiet_begin(h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void h5_quiet_end(const h5_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

void mm_keras_options_init(mm_keras_options *options)
{
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

/* The caller's options (NULL: all automatic) as this version's full struct. */
static const mm_keras_options *full_options(const mm_keras_options *given, mm_keras_options *own)
{
    mm_keras_options_init(own);
    util_options_copy(own, sizeof *own, given, UTIL_OPTIONS_END(mm_keras_options, gates));
    return own;
}

mm_status mm_model_import_keras_ex(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                   const char *const *labels, mm_head head, const mm_keras_options *given,
                                   mm_keras_info *info, mm_error *err)
{
    mm_keras_options own;
    const mm_keras_options *options = full_options(given, &own);
    *out = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    if (!preset)
        return mm_error_set(err, MM_ERR_ARG, "%s: no preset", h5_path);
    h5_quiet q;
    h5_quiet_begin(&q);
    kfile kf;
    kmatch km;
    mm_model *m = NULL;
    mm_status st = kfile_open(&kf, h5_path, err);
    if (st == MM_OK && !match(&kf, preset, n_labels, &km))
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: %s", h5_path, km.why);
    kdecisions d = {0};
    if (st == MM_OK) {
        decide(&kf, options, head, &d);
        st = mm_model_create(&m, preset, n_labels, labels, d.head, NULL, err);
        if (st == MM_OK)
            st = mm_model_set_gru(m, d.gru, err);
    }
    double eps_first = 0;
    int eps_assumed_first = 0;
    for (int i = 0; i < kf.n && st == MM_OK; i++) {
        const klayer *L = &kf.layers[i];
        if (L->slot < 0)
            continue;
        const kslot *s = &km.slots[L->slot];
        if (s->kind == K_BN) {
            int assumed;
            double eps = layer_epsilon(L, options, &assumed);
            if (eps_first == 0) {
                eps_first = eps;
                eps_assumed_first = assumed;
            }
            st = fill_bn(&kf, L, s, m, eps, err);
        } else if (s->kind == K_CONV) {
            st = fill_conv(&kf, L, s, m, d.flipped, err);
        } else if (s->kind == K_GRU) {
            st = fill_gru(&kf, L, s, m, err);
        } else {
            st = fill_dense(&kf, L, m, err);
        }
    }
    if (st == MM_OK && info) {
        format_text(&kf, info->format, sizeof info->format);
        info->flipped = d.flipped;
        info->kernels_assumed = d.kernels_assumed;
        info->bn_epsilon = eps_first;
        info->bn_epsilon_assumed = eps_assumed_first;
        info->head = d.head;
        info->head_from_file = d.head_from_config && options && options->head_from_file;
        info->gru = d.gru;
        info->gru_gates_assumed = d.gates_assumed;
        if (d.gru.gates != MM_GRU_GATES_HARD_SIGMOID || d.gru.reset_after) { /* said where the import is logged */
            size_t len = strlen(info->format);
            snprintf(info->format + len, sizeof info->format - len, "; GRUs: %s%s", mm_gru_variant_text(d.gru),
                     d.gates_assumed ? " (gates assumed)" : "");
        }
    }
    kfile_close(&kf);
    h5_quiet_end(&q);
    if (st != MM_OK)
        mm_model_close(m);
    else
        *out = m;
    return st;
}

mm_status mm_model_import_keras(mm_model **out, const char *h5_path, const mm_preset *preset, int n_labels,
                                const char *const *labels, mm_head head, mm_error *err)
{
    return mm_model_import_keras_ex(out, h5_path, preset, n_labels, labels, head, NULL, NULL, err);
}

static void list_layers(FILE *fp, const kfile *kf, const kmatch *km, const mm_keras_options *options)
{
    int weighted = 0;
    for (int i = 0; i < kf->n; i++)
        weighted += kf->layers[i].n > 0;
    fprintf(fp, "layers: %d, %d with weights%s\n", kf->n, weighted,
            kf->named_layers ? "" : " (no layer_names attribute: the original CRNN's layer names looked up)");
    for (int i = 0; i < kf->n; i++) {
        const klayer *L = &kf->layers[i];
        char target[128] = "";
        if (L->slot >= 0) {
            char slot[96];
            slot_text(&km->slots[L->slot], slot, sizeof slot);
            snprintf(target, sizeof target, "-> %s", slot);
        } else if (i == km->failed) {
            snprintf(target, sizeof target, "-> does not fit (below)");
        } else if (L->n > 0) {
            snprintf(target, sizeof target, "-> not compared");
        }
        fprintf(fp, "  %3d %-20s %-*s%s\n", i + 1, L->name, target[0] ? 21 : 0,
                L->class_name ? L->class_name : kind_text(L->kind), target);
        for (int j = 0; j < L->n; j++) {
            const kweight *w = &L->w[j];
            char shape[64], role[48] = "";
            shape_text(shape, sizeof shape, w->rank, w->dims);
            for (int k = 0; k < 9; k++)
                if (L->at[k] == j) {
                    static const char *const BN[4] = {"gamma", "beta", "mean", "variance"};
                    static const char *const KB[3] = {"kernel", "bias", ""};
                    static const char *const GRU[3] = {"kernel", "recurrent kernel", "bias"};
                    static const char *const G9[9] = {"W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h"};
                    const char *r = L->kind == K_BN ? (k < 4 ? BN[k] : "")
                                    : L->kind == K_GRU ? (k < 3 ? GRU[k] : "")
                                    : L->kind == K_GRU9 ? G9[k]
                                                        : (k < 3 ? KB[k] : "");
                    snprintf(role, sizeof role, "%s", r);
                }
            if (L->slot >= 0 && L->kind == K_GRU && L->at[2] == j && L->reset_after)
                snprintf(role, sizeof role, "bias: input, recurrent");
            if (L->slot >= 0 && L->kind == K_CONV && L->at[0] == j)
                snprintf(role, sizeof role, "kernel, stored %s", L->th ? "(out, in, rows, cols)" : "(rows, cols, in, out)");
            if (L->slot >= 0 && L->kind == K_BN && L->at[3] == j) {
                int assumed;
                double eps = layer_epsilon(L, options, &assumed);
                snprintf(role, sizeof role, "variance, epsilon %g%s", eps, assumed ? " assumed" : "");
            }
            fprintf(fp, "        %-40s %-*s%s\n", w->name, role[0] ? 19 : 0, shape, role);
        }
    }
}

mm_status mm_keras_list(FILE *fp, const char *h5_path, const mm_preset *preset, int n_labels,
                        const mm_keras_options *given, mm_error *err)
{
    mm_keras_options own;
    const mm_keras_options *options = full_options(given, &own);
    h5_quiet q;
    h5_quiet_begin(&q);
    kfile kf;
    mm_status st = kfile_open(&kf, h5_path, err);
    kmatch *km = malloc(sizeof *km), *best = malloc(sizeof *best);
    if (st == MM_OK && (!km || !best))
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", h5_path);
    if (st != MM_OK)
        goto done;
    /* the given preset, else the first that fits, else the one that fits furthest */
    int ok = 0;
    if (preset) {
        ok = match(&kf, preset, n_labels, best);
    } else {
        best->matched = -1;
        for (const char *const *name = mm_preset_names(); *name && !ok; name++) {
            ok = match(&kf, mm_preset_find(*name), n_labels, km);
            if (ok || km->matched > best->matched)
                *best = *km;
        }
        match(&kf, best->preset, n_labels, best); /* the layers' slots as for this preset */
    }
    kdecisions d;
    decide(&kf, options, MM_HEAD_SIGMOID, &d);
    char format[160];
    format_text(&kf, format, sizeof format);
    fprintf(fp, "%s\n", h5_path);
    fprintf(fp, "format: %s\n", format);
    if (kf.config_note[0])
        fprintf(fp, "note: %s\n", kf.config_note);
    fprintf(fp, "kernels: %s\n", d.kernels_why);
    if (d.head_from_config)
        fprintf(fp, "output activation: %s (model config)\n", d.config_head == MM_HEAD_SIGMOID ? "sigmoid" : "softmax");
    else
        fprintf(fp, "output activation: not recorded (--head says; sigmoid by default)\n");
    for (int i = 0; i < kf.n; i++)
        if (kf.layers[i].slot >= 0 && kf.layers[i].kind == K_CONV) {
            fprintf(fp, "kernel layout: %s\n", kf.layers[i].th ? "(out, in, rows, cols): Keras 1 'th' dim ordering"
                                                                : "(rows, cols, in, out): Keras 2, or Keras 1 'tf' dim ordering");
            break;
        }
    if (d.gru_found)
        fprintf(fp, "GRU: %s\n", d.gru_why);
    list_layers(fp, &kf, best, options);
    if (ok) {
        fprintf(fp, "fits: %s, %d outputs\n", best->preset->name, best->outputs);
    } else {
        fprintf(fp, "does not fit: %s\n", best->why);
        for (const char *const *name = mm_preset_names(); !preset && *name; name++)
            if (strcmp(*name, best->preset->name) != 0 && !match(&kf, mm_preset_find(*name), n_labels, km))
                fprintf(fp, "does not fit: %s\n", km->why);
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: %s", h5_path, best->why);
    }
done:
    free(km);
    free(best);
    kfile_close(&kf);
    h5_quiet_end(&q);
    return st;
}
