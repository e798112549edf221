/* The model: its parameters and its self-describing file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/shared.h"
#include "binio.h"
#include "internal.h"

/* "MMMODEL" and a DOS end-of-file byte, so `type`/`cat` of a model stops before the binary part. */
static const unsigned char MODEL_MAGIC[8] = {'M', 'M', 'M', 'O', 'D', 'E', 'L', 0x1a};
#define MODEL_VERSION 1
/* Contrastive heads: version 2, so that builds without that head refuse such a file by its version
 * instead of misreading it; softmax and sigmoid models stay version 1 for older builds. */
#define MODEL_VERSION_CONTRASTIVE 2
/* A GRU variant other than the default (any head): version 3, with a `gru` header line; models of the
 * default variant are written as before, byte for byte. */
#define MODEL_VERSION_GRU 3
#define MODEL_HEADER_MAX 65536

static mm_tensor *add_param(mm_model *m, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
    mm_tensor *t = &m->params[m->n_params++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    t->count = 1;
    for (int i = 0; i < 4; i++) {
        t->dims[i] = i < ndim ? d[i] : 1;
        if (i < ndim)
            t->count *= (size_t)d[i];
    }
    t->data = calloc(t->count, sizeof(float));
    return t->data ? t : NULL;
}

mm_status model_alloc_params(mm_model *m, mm_error *err)
{
    const mm_preset *p = &m->preset;
    int width = MM_N_FRAMES + 2 * p->time_pad;
    m->params = calloc((size_t)(4 + 6 * p->n_blocks + 8), sizeof *m->params);
    if (!m->params)
        return mm_error_set(err, MM_ERR_NOMEM, "model: out of memory");
    int ok = 1;
    const char *bn[4] = {"gamma", "beta", "mean", "var"};
    char name[32];
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "bn0.%s", bn[k]);
        ok = ok && add_param(m, name, 1, width, 0, 0, 0);
    }
    int in = 1;
    for (int b = 0; b < p->n_blocks; b++) {
        int f = p->blocks[b].filters;
        snprintf(name, sizeof name, "conv%d.w", b + 1);
        ok = ok && add_param(m, name, 4, f, in, 3, 3);
        snprintf(name, sizeof name, "conv%d.b", b + 1);
        ok = ok && add_param(m, name, 1, f, 0, 0, 0);
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "bn%d.%s", b + 1, bn[k]);
            ok = ok && add_param(m, name, 1, f, 0, 0, 0);
        }
        in = f;
    }
    int c, h, w;
    if (mm_preset_shape(p, p->n_blocks - 1, &c, &h, &w) != 0 || h != 1)
        return mm_error_set(err, MM_ERR_ARG, "preset %s: the blocks don't reduce the mel axis to 1", p->name);
    int u = p->gru_units;
    /* reset_after: the input and the recurrent bias, as Keras' (2, 3u) array */
    const int ra = m->gru.reset_after;
    int bias_rank = ra ? 2 : 1, b0 = ra ? 2 : 3 * u, b1 = ra ? 3 * u : 0;
    ok = ok && add_param(m, "gru1.W", 2, c, 3 * u, 0, 0) && add_param(m, "gru1.U", 2, u, 3 * u, 0, 0) &&
         add_param(m, "gru1.b", bias_rank, b0, b1, 0, 0);
    ok = ok && add_param(m, "gru2.W", 2, u, 3 * u, 0, 0) && add_param(m, "gru2.U", 2, u, 3 * u, 0, 0) &&
         add_param(m, "gru2.b", bias_rank, b0, b1, 0, 0);
    ok = ok && add_param(m, "dense.W", 2, u, m->n_labels, 0, 0) && add_param(m, "dense.b", 1, m->n_labels, 0, 0, 0);
    if (!ok)
        return mm_error_set(err, MM_ERR_NOMEM, "model: out of memory for parameters");
    /* Neutral batch-norm until trained or imported: variance 1, scale 1. */
    for (int i = 0; i < m->n_params; i++) {
        mm_tensor *t = &m->params[i];
        size_t len = strlen(t->name);
        if ((len > 4 && strcmp(t->name + len - 4, ".var") == 0) || (len > 6 && strcmp(t->name + len - 6, ".gamma") == 0))
            for (size_t j = 0; j < t->count; j++)
                t->data[j] = 1.0f;
    }
    return MM_OK;
}

mm_status mm_model_create(mm_model **out, const mm_preset *preset, int n_labels, const char *const *labels,
                          mm_head head, const mm_frontend_params *frontend, mm_error *err)
{
    *out = NULL;
    if (!preset)
        return mm_error_set(err, MM_ERR_ARG, "model: no preset");
    if (n_labels < 2 || n_labels > MM_MAX_LABELS)
        return mm_error_set(err, MM_ERR_ARG, "model: needs 2 to %d labels, got %d", MM_MAX_LABELS, n_labels);
    mm_model *m = calloc(1, sizeof *m);
    if (!m)
        return mm_error_set(err, MM_ERR_NOMEM, "model: out of memory");
    m->preset = *preset;
    m->head = head;
    m->temperature = NN_DEFAULT_TEMPERATURE;
    m->frontend = frontend ? *frontend : mm_frontend_default(MM_PAD_REFLECT);
    m->n_labels = n_labels;
    for (int i = 0; i < n_labels; i++) {
        if (!labels) {
            snprintf(m->labels[i], MM_LABEL_MAX, "p%d", i + 1);
            continue;
        }
        const char *l = labels[i];
        if (!l || !l[0] || strlen(l) >= MM_LABEL_MAX || strpbrk(l, "\n\r")) {
            mm_model_close(m);
            return mm_error_set(err, MM_ERR_ARG, "model: label %d is empty, too long or has a line break", i + 1);
        }
        snprintf(m->labels[i], MM_LABEL_MAX, "%s", l);
    }
    mm_status st = model_alloc_params(m, err);
    if (st != MM_OK) {
        mm_model_close(m);
        return st;
    }
    *out = m;
    return MM_OK;
}

void mm_model_close(mm_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_params; i++)
        free(m->params[i].data);
    free(m->params);
    free(m);
}

const mm_preset *mm_model_preset(const mm_model *m) { return &m->preset; }
mm_head mm_model_head(const mm_model *m) { return m->head; }
int mm_model_n_labels(const mm_model *m) { return m->n_labels; }
const char *mm_model_label(const mm_model *m, int i) { return i >= 0 && i < m->n_labels ? m->labels[i] : NULL; }
const mm_frontend_params *mm_model_frontend(const mm_model *m) { return &m->frontend; }
void mm_model_set_frontend(mm_model *m, const mm_frontend_params *fe) { m->frontend = *fe; }
void mm_model_set_temperature(mm_model *m, float temperature) { m->temperature = temperature; }
float mm_model_temperature(const mm_model *m) { return m->temperature; }
int mm_model_n_params(const mm_model *m) { return m->n_params; }
mm_tensor *mm_model_param(mm_model *m, int i) { return i >= 0 && i < m->n_params ? &m->params[i] : NULL; }

mm_tensor *mm_model_find_param(mm_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

/* --- the GRU variant --------------------------------------------------------------------------- */

static int gru_is_default(mm_gru_variant v)
{
    return v.gates == MM_GRU_GATES_HARD_SIGMOID && !v.reset_after;
}

const char *mm_gru_variant_text(mm_gru_variant v)
{
    if (v.gates == MM_GRU_GATES_SIGMOID)
        return v.reset_after ? "sigmoid gates, reset_after=True" : "sigmoid gates, reset_after=False";
    return v.reset_after ? "hard_sigmoid gates, reset_after=True" : "hard_sigmoid gates, reset_after=False";
}

mm_gru_variant mm_model_gru(const mm_model *m) { return m->gru; }

/* gruK.b as [3U] or [2][3U], zeroed. */
static mm_status shape_gru_bias(mm_tensor *t, int units, int reset_after, mm_error *err)
{
    size_t count = (size_t)(reset_after ? 2 : 1) * 3 * (size_t)units;
    float *data = calloc(count, sizeof(float));
    if (!data)
        return mm_error_set(err, MM_ERR_NOMEM, "model: out of memory");
    free(t->data);
    t->data = data;
    t->count = count;
    t->ndim = reset_after ? 2 : 1;
    t->dims[0] = reset_after ? 2 : 3 * units;
    t->dims[1] = reset_after ? 3 * units : 1;
    return MM_OK;
}

mm_status mm_model_set_gru(mm_model *m, mm_gru_variant v, mm_error *err)
{
    if (v.gates != MM_GRU_GATES_HARD_SIGMOID && v.gates != MM_GRU_GATES_SIGMOID)
        return mm_error_set(err, MM_ERR_ARG, "model: unknown GRU gate activation %d", (int)v.gates);
    v.reset_after = v.reset_after != 0;
    for (int g = 1; g <= 2 && v.reset_after != m->gru.reset_after; g++) {
        mm_tensor *t = mm_model_find_param(m, g == 1 ? "gru1.b" : "gru2.b");
        mm_status st = t ? shape_gru_bias(t, m->preset.gru_units, v.reset_after, err)
                         : mm_error_set(err, MM_ERR_INTERNAL, "model: no GRU bias");
        if (st != MM_OK)
            return st;
    }
    m->gru = v;
    return MM_OK;
}

mm_status mm_model_check_trainable(const mm_model *m, mm_error *err)
{
    if (gru_is_default(m->gru))
        return MM_OK;
    /* net.c's GRU and its gradients are Keras 2.0's; another variant would be trained as something else */
    return mm_error_set(err, MM_ERR_UNSUPPORTED, "training: this model's GRUs are of another variant (%s): only "
                        "models with Keras 2.0's GRU (hard_sigmoid gates, reset_after=False) can be trained or "
                        "fine-tuned", mm_gru_variant_text(m->gru));
}

size_t mm_model_weight_count(const mm_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++)
        n += m->params[i].count;
    return n;
}

/* --- the file ------------------------------------------------------------------------------ */


static size_t format_header(const mm_model *m, char *buf, size_t size)
{
    const mm_preset *p = &m->preset;
    size_t n = 0;
#define EMIT(...) n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
    EMIT("preset %s\ntime_pad %d\nblocks %d\n", p->name, p->time_pad, p->n_blocks);
    for (int b = 0; b < p->n_blocks; b++)
        EMIT("block %d %d %d %d %d\n", p->blocks[b].filters, p->blocks[b].pool_h, p->blocks[b].pool_w,
             p->blocks[b].stride_h, p->blocks[b].stride_w);
    EMIT("block_dropout %.9g\ngru_units %d\nfinal_dropout %.9g\n", p->block_dropout, p->gru_units, p->final_dropout);
    if (!gru_is_default(m->gru)) /* only then: default models' files stay as they were */
        EMIT("gru %s %s\n", m->gru.gates == MM_GRU_GATES_SIGMOID ? "sigmoid" : "hard_sigmoid",
             m->gru.reset_after ? "reset_after" : "reset_before");
    if (m->head == MM_HEAD_CONTRASTIVE)
        EMIT("head contrastive %.9g\n", m->temperature);
    else
        EMIT("head %s\n", m->head == MM_HEAD_SIGMOID ? "sigmoid" : "softmax");
    EMIT("frontend %d %d %d %d %d %s\n", m->frontend.sample_rate, m->frontend.n_fft, m->frontend.hop,
         m->frontend.n_mels, m->frontend.n_frames, mm_pad_mode_name(m->frontend.pad));
    EMIT("labels %d\n", m->n_labels);
    for (int i = 0; i < m->n_labels; i++)
        EMIT("label %s\n", m->labels[i]);
#undef EMIT
    return n;
}

mm_status mm_model_save(const mm_model *m, const char *path, mm_error *err)
{
    char *header = malloc(MODEL_HEADER_MAX);
    if (!header)
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
    size_t hlen = format_header(m, header, MODEL_HEADER_MAX);
    if (hlen >= MODEL_HEADER_MAX) {
        free(header);
        return mm_error_set(err, MM_ERR_ARG, "%s: model header too large", path);
    }
    /* Write beside the target and rename, so a crash never leaves half a model under its name. */
    size_t tlen = strlen(path) + 8;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(header);
        return mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    nn_writer w = {fopen(tmp, "wb"), MM_FNV1A64_INIT, 1};
    if (!w.f) {
        mm_status st = mm_error_set(err, MM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(header);
        free(tmp);
        return st;
    }
    nn_put(&w, MODEL_MAGIC, sizeof MODEL_MAGIC);
    nn_put_u32(&w, !gru_is_default(m->gru)            ? MODEL_VERSION_GRU
                   : m->head == MM_HEAD_CONTRASTIVE ? MODEL_VERSION_CONTRASTIVE
                                                    : MODEL_VERSION);
    nn_put_u32(&w, (uint32_t)hlen);
    nn_put(&w, header, hlen);
    nn_put_u32(&w, (uint32_t)m->n_params);
    for (int i = 0; i < m->n_params; i++) {
        const mm_tensor *t = &m->params[i];
        unsigned char name_len = (unsigned char)strlen(t->name);
        nn_put(&w, &name_len, 1);
        nn_put(&w, t->name, name_len);
        unsigned char ndim = (unsigned char)t->ndim;
        nn_put(&w, &ndim, 1);
        for (int d = 0; d < t->ndim; d++)
            nn_put_u32(&w, (uint32_t)t->dims[d]);
        nn_put(&w, t->data, t->count * sizeof(float));
    }
    uint64_t sum = w.hash;
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(sum >> (8 * i));
    nn_put(&w, b, 8);
    if (fflush(w.f) != 0)
        w.ok = 0;
    if (fclose(w.f) != 0)
        w.ok = 0;
    mm_status st = MM_OK;
    if (!w.ok || rename(tmp, path) != 0) {
        st = mm_error_set(err, MM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
    }
    free(header);
    free(tmp);
    return st;
}

/* "gru sigmoid reset_after": 0, or -1 when the line is not one. */
static int parse_gru_line(const char *line, mm_gru_variant *v)
{
    char gates[32], reset[32];
    if (sscanf(line, "gru %31s %31s", gates, reset) != 2)
        return -1;
    if (strcmp(gates, "sigmoid") != 0 && strcmp(gates, "hard_sigmoid") != 0)
        return -1;
    if (strcmp(reset, "reset_after") != 0 && strcmp(reset, "reset_before") != 0)
        return -1;
    v->gates = strcmp(gates, "sigmoid") == 0 ? MM_GRU_GATES_SIGMOID : MM_GRU_GATES_HARD_SIGMOID;
    v->reset_after = strcmp(reset, "reset_after") == 0;
    return 0;
}

static mm_status parse_header(const char *path, char *text, mm_preset *p, mm_head *head, float *temperature,
                              mm_gru_variant *gru, int *have_gru, mm_frontend_params *fe, int *n_labels,
                              char labels[][MM_LABEL_MAX], mm_error *err)
{
    memset(p, 0, sizeof *p);
    int blocks_seen = 0, labels_seen = 0, have_head = 0, have_frontend = 0;
    *have_gru = 0;
    *n_labels = -1;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char word[32], pad[16];
        mm_block_spec *b = &p->blocks[blocks_seen];
        if (sscanf(line, "preset %31s", p->name) == 1 || sscanf(line, "time_pad %d", &p->time_pad) == 1 ||
            sscanf(line, "blocks %d", &p->n_blocks) == 1 || sscanf(line, "block_dropout %f", &p->block_dropout) == 1 ||
            sscanf(line, "gru_units %d", &p->gru_units) == 1 || sscanf(line, "final_dropout %f", &p->final_dropout) == 1) {
            continue;
        } else if (strncmp(line, "gru ", 4) == 0) {
            if (*have_gru || parse_gru_line(line, gru) != 0)
                return mm_error_set(err, MM_ERR_FORMAT, "%s: bad gru line in the model header", path);
            *have_gru = 1;
        } else if (strncmp(line, "block ", 6) == 0) {
            if (blocks_seen >= MM_MAX_BLOCKS ||
                sscanf(line, "block %d %d %d %d %d", &b->filters, &b->pool_h, &b->pool_w, &b->stride_h, &b->stride_w) != 5)
                return mm_error_set(err, MM_ERR_FORMAT, "%s: bad block line in the model header", path);
            blocks_seen++;
        } else if (sscanf(line, "head %31s", word) == 1) {
            *head = strcmp(word, "sigmoid") == 0 ? MM_HEAD_SIGMOID : MM_HEAD_SOFTMAX;
            have_head = strcmp(word, "sigmoid") == 0 || strcmp(word, "softmax") == 0;
            if (strcmp(word, "contrastive") == 0) {
                *head = MM_HEAD_CONTRASTIVE;
                have_head = sscanf(line, "head contrastive %f", temperature) == 1 && *temperature > 0 &&
                            *temperature < 100;
            }
        } else if (sscanf(line, "frontend %d %d %d %d %d %15s", &fe->sample_rate, &fe->n_fft, &fe->hop, &fe->n_mels,
                          &fe->n_frames, pad) == 6) {
            have_frontend = mm_pad_mode_parse(pad, &fe->pad) == 0;
        } else if (sscanf(line, "labels %d", n_labels) == 1) {
            if (*n_labels < 2 || *n_labels > MM_MAX_LABELS)
                return mm_error_set(err, MM_ERR_FORMAT, "%s: bad label count %d", path, *n_labels);
        } else if (strncmp(line, "label ", 6) == 0) {
            if (labels_seen >= MM_MAX_LABELS || strlen(line + 6) >= MM_LABEL_MAX)
                return mm_error_set(err, MM_ERR_FORMAT, "%s: bad label in the model header", path);
            snprintf(labels[labels_seen++], MM_LABEL_MAX, "%s", line + 6);
        }
    }
    if (!p->name[0] || p->n_blocks < 1 || p->n_blocks != blocks_seen || p->gru_units < 1 || p->gru_units > 4096 ||
        p->time_pad < 0 || p->time_pad > 4096 || !have_head || !have_frontend || *n_labels != labels_seen)
        return mm_error_set(err, MM_ERR_FORMAT, "%s: incomplete model header", path);
    for (int i = 0; i < p->n_blocks; i++) {
        const mm_block_spec *b = &p->blocks[i];
        if (b->filters < 1 || b->filters > 4096 || b->pool_h < 1 || b->pool_w < 1 || b->stride_h < 1 || b->stride_w < 1)
            return mm_error_set(err, MM_ERR_FORMAT, "%s: bad block %d in the model header", path, i + 1);
    }
    return MM_OK;
}

static mm_status read_whole(const char *path, unsigned char **data, size_t *size, mm_error *err)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return mm_error_set(err, MM_ERR_IO, "%s: %s, not a model file", path,
                            S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
    mm_status st = util_read_file(path, (size_t)1 << 34, data, size, err);
    if (st == MM_ERR_NOMEM)
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: too large to be a model", path);
    return st;
}

mm_status mm_model_load(mm_model **out, const char *path, mm_error *err)
{
    *out = NULL;
    unsigned char *data = NULL;
    size_t size = 0;
    mm_status st = read_whole(path, &data, &size, err);
    if (st == MM_OK)
        st = mm_model_load_bytes(out, data, size, path, err);
    free(data);
    return st;
}

mm_status mm_model_load_bytes(mm_model **out, const void *bytes, size_t size, const char *path, mm_error *err)
{
    *out = NULL;
    const unsigned char *data = bytes;
    mm_status st = MM_OK;
    mm_model *m = NULL;
    char *header = NULL;
    nn_reader r = {data, size};
    unsigned char magic[8];
    uint32_t version, hlen, n_params;
    if (nn_get(&r, magic, 8) || memcmp(magic, MODEL_MAGIC, 8) != 0) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: not a musicmap model file", path);
        goto done;
    }
    if (nn_get_u32(&r, &version) || version < MODEL_VERSION || version > MODEL_VERSION_GRU) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: model format version %u; this musicmap reads versions %d to %d",
                          path, version, MODEL_VERSION, MODEL_VERSION_GRU);
        goto done;
    }
    if (size < 8 + 8) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated model file", path);
        goto done;
    }
    uint64_t stored = 0;
    for (int i = 0; i < 8; i++)
        stored |= (uint64_t)data[size - 8 + (size_t)i] << (8 * i);
    if (nn_get_u32(&r, &hlen) || hlen >= MODEL_HEADER_MAX || hlen > r.left) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated model file", path);
        goto done;
    }
    if (mm_fnv1a64(MM_FNV1A64_INIT, data, size - 8) != stored) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: damaged model file (checksum mismatch: truncated or corrupted)", path);
        goto done;
    }
    r.left = size - 8 - (size_t)(r.p - data); /* the checksum is not content */
    header = malloc(hlen + 1);
    if (!header || nn_get(&r, header, hlen)) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    header[hlen] = '\0';
    mm_preset preset;
    mm_head head = MM_HEAD_SOFTMAX;
    float temperature = NN_DEFAULT_TEMPERATURE;
    mm_frontend_params fe;
    mm_gru_variant gru = {MM_GRU_GATES_HARD_SIGMOID, 0};
    int n_labels, have_gru;
    char(*names)[MM_LABEL_MAX] = calloc(MM_MAX_LABELS, MM_LABEL_MAX);
    if (!names) {
        st = mm_error_set(err, MM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    st = parse_header(path, header, &preset, &head, &temperature, &gru, &have_gru, &fe, &n_labels, names, err);
    if (st == MM_OK && version != MODEL_VERSION_GRU &&
        (head == MM_HEAD_CONTRASTIVE) != (version == MODEL_VERSION_CONTRASTIVE))
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: format version %u does not match its output head", path, version);
    /* version 3 exactly when the header names a GRU variant, and never the default one */
    if (st == MM_OK && (version == MODEL_VERSION_GRU) != (have_gru && !gru_is_default(gru)))
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: format version %u does not match its GRU variant", path, version);
    if (st == MM_OK) {
        const char *ptrs[MM_MAX_LABELS];
        for (int i = 0; i < n_labels; i++)
            ptrs[i] = names[i];
        mm_error inner;
        st = mm_model_create(&m, &preset, n_labels, ptrs, head, &fe, &inner);
        if (st == MM_OK)
            st = mm_model_set_gru(m, gru, &inner);
        if (st != MM_OK)
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: %s", path, inner.msg);
        else
            m->temperature = temperature;
    }
    free(names);
    if (st != MM_OK)
        goto done;
    if (nn_get_u32(&r, &n_params) || n_params != (uint32_t)m->n_params) {
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: parameter table does not match the preset", path);
        goto done;
    }
    for (int i = 0; i < m->n_params; i++) {
        mm_tensor *t = &m->params[i];
        unsigned char name_len, ndim;
        char name[256];
        if (nn_get(&r, &name_len, 1) || nn_get(&r, name, name_len) || nn_get(&r, &ndim, 1)) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: truncated parameter table", path);
            goto done;
        }
        name[name_len] = '\0';
        int same = strcmp(name, t->name) == 0 && ndim == t->ndim;
        for (int d = 0; same && d < ndim; d++) {
            uint32_t dim;
            same = nn_get_u32(&r, &dim) == 0 && dim == (uint32_t)t->dims[d];
        }
        if (!same || nn_get(&r, t->data, t->count * sizeof(float))) {
            st = mm_error_set(err, MM_ERR_FORMAT, "%s: parameter '%s' does not match the preset", path, t->name);
            goto done;
        }
    }
    if (r.left != 0)
        st = mm_error_set(err, MM_ERR_FORMAT, "%s: unexpected data after the parameters", path);
done:
    free(header);
    if (st != MM_OK)
        mm_model_close(m);
    else
        *out = m;
    return st;
}
