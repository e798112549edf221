/* musicmap import-keras and musicmap predict: the network from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "musicmap/audio.h"
#include "musicmap/features.h"
#include "musicmap/nn.h"

/* Splits "a,b,c" in place into at most max labels; returns the count, or -1 on an empty label. */
static int split_labels(char *text, char **labels, int max)
{
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok || n == max)
            return -1;
        labels[n++] = tok;
    }
    return n;
}

/* Reads one label per line from path (blank lines and surrounding spaces ignored) into labels[],
 * pointing into *text (to be freed). Returns the count, or -1 with a message in err. */
static int read_labels_file(const char *path, char **text, char **labels, int max, mm_error *err)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mm_error_set(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            char *grown = cap < ((size_t)1 << 24) ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        mm_error_set(err, MM_ERR_IO, "%s: %s", path, buf ? "read error" : "too large or out of memory");
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *text = buf;
    int n = 0;
    char *start = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? buf + 3 : buf; /* a UTF-8 byte-order mark */
    for (char *save = NULL, *tok = strtok_r(start, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t l = strlen(tok);
        while (l > 0 && (tok[l - 1] == ' ' || tok[l - 1] == '\t' || tok[l - 1] == '\r'))
            tok[--l] = '\0';
        if (!*tok)
            continue;
        if (n == max) {
            mm_error_set(err, MM_ERR_FORMAT, "%s: more than %d labels", path, max);
            return -1;
        }
        labels[n++] = tok;
    }
    return n;
}

static void import_help(FILE *out)
{
    fprintf(out, "Usage: musicmap import-keras FILE.h5 --preset NAME (--labels a,b,c... | --labels-file F) -o MODEL\n"
                 "       musicmap import-keras --list FILE.h5 [--preset NAME] [--labels ... | --labels-file F]\n\n"
                 "Converts the weights of a Keras HDF5 file of a CRNN (Keras 1.x, 2.x or tf.keras; weights-only or\n"
                 "full model) into a musicmap model. Layers are matched by their order and weight shapes, not their\n"
                 "names; --list shows the file's layers and which layer of the preset each maps to, or why not.\n"
                 "The original system's GTZAN model: --preset crnn4 --labels\n"
                 "country,jazz,disco,pop,blues,reggae,metal,rock,hiphop,classical\n\n"
                 "Options:\n"
                 "      --preset NAME       network shape: crnn4, crnn6 or small (--list: tries each when not given)\n"
                 "      --labels LIST       the output classes, comma-separated, in the network's order\n"
                 "      --labels-file FILE  the output classes, one per line (e.g. a 50-tag list)\n"
                 "      --head HEAD         output activation: sigmoid or softmax (default: the file's model config\n"
                 "                          when it records one, else sigmoid)\n"
                 "      --kernel-order tf|th  convolution kernels of TensorFlow (cross-correlation) or Theano\n"
                 "                          (flipped), for Keras 1 files, which don't record their backend\n"
                 "                          (default: the file's backend, else tf)\n"
                 "      --bn-epsilon E      batch-norm epsilon of training, for files that don't record it\n"
                 "                          (default 1e-3; Keras 1.0.8-1.1.2 used 1e-5)\n"
                 "      --gates G           GRU gate activation, hard_sigmoid or sigmoid, for files without a model\n"
                 "                          config (default: sigmoid for reset_after GRUs and Keras 3 files, else\n"
                 "                          hard_sigmoid, as those Keras versions defaulted)\n"
                 "      --pad MODE          frame padding its spectrograms used: reflect (default) or constant\n"
                 "      --list              print the file's layers, shapes and mapping; write nothing\n"
                 "  -o, --out MODEL         the model file to write\n"
                 "  -h, --help              show this help\n");
}

int cmd_import_keras(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"preset", required_argument, NULL, 'P'},       {"labels", required_argument, NULL, 'L'},
        {"labels-file", required_argument, NULL, 'F'},  {"head", required_argument, NULL, 'H'},
        {"kernel-order", required_argument, NULL, 'K'}, {"bn-epsilon", required_argument, NULL, 'E'},
        {"pad", required_argument, NULL, 'p'},          {"list", no_argument, NULL, 'l'},
        {"gates", required_argument, NULL, 'G'},
        {"out", required_argument, NULL, 'o'},          {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,                         {NULL, 0, NULL, 0},
    };
    const char *preset_name = NULL, *out = NULL, *labels_file = NULL;
    char *label_text = NULL;
    mm_head head = MM_HEAD_SIGMOID;
    int head_given = 0, list = 0;
    mm_keras_options options;
    mm_keras_options_init(&options);
    mm_pad_mode pad = MM_PAD_REFLECT;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'P': preset_name = optarg; break;
        case 'L': label_text = optarg; break;
        case 'F': labels_file = optarg; break;
        case 'H':
            if (strcmp(optarg, "sigmoid") == 0)
                head = MM_HEAD_SIGMOID;
            else if (strcmp(optarg, "softmax") == 0)
                head = MM_HEAD_SOFTMAX;
            else
                return cli_usage_error(cli, "import-keras", "--head must be sigmoid or softmax, not '%s'", optarg);
            head_given = 1;
            break;
        case 'K':
            if (strcmp(optarg, "tf") == 0)
                options.kernels = MM_KERAS_KERNELS_TF;
            else if (strcmp(optarg, "th") == 0)
                options.kernels = MM_KERAS_KERNELS_TH;
            else
                return cli_usage_error(cli, "import-keras", "--kernel-order must be tf or th, not '%s'", optarg);
            break;
        case 'E':
            if (cli_parse_double(optarg, 1e-12, 1.0, &options.bn_epsilon) != 0)
                return cli_usage_error(cli, "import-keras", "--bn-epsilon needs a number in (0, 1], not '%s'", optarg);
            break;
        case 'p':
            if (mm_pad_mode_parse(optarg, &pad) != 0)
                return cli_usage_error(cli, "import-keras", "--pad must be reflect or constant, not '%s'", optarg);
            break;
        case 'G':
            if (strcmp(optarg, "hard_sigmoid") == 0)
                options.gates = MM_KERAS_GATES_HARD_SIGMOID;
            else if (strcmp(optarg, "sigmoid") == 0)
                options.gates = MM_KERAS_GATES_SIGMOID;
            else
                return cli_usage_error(cli, "import-keras", "--gates must be hard_sigmoid or sigmoid, not '%s'", optarg);
            break;
        case 'l': list = 1; break;
        case 'o': out = optarg; break;
        case 'h': import_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "import-keras", "bad option");
        }
    }
    options.head_from_file = !head_given;
    if (optind != argc - 1)
        return cli_usage_error(cli, "import-keras", "give exactly one FILE.h5");
    if (label_text && labels_file)
        return cli_usage_error(cli, "import-keras", "give --labels or --labels-file, not both");
    if (!list && (!preset_name || (!label_text && !labels_file) || !out))
        return cli_usage_error(cli, "import-keras", "--preset, --labels (or --labels-file) and -o are required");
    if (list && out)
        return cli_usage_error(cli, "import-keras", "--list writes nothing: leave out -o");
    const mm_preset *preset = NULL;
    if (preset_name && !(preset = mm_preset_find(preset_name)))
        return cli_usage_error(cli, "import-keras", "unknown preset '%s' (crnn4, crnn6, small)", preset_name);
    char *labels[MM_MAX_LABELS], *file_text = NULL;
    int n_labels = 0;
    mm_error err;
    if (labels_file) {
        n_labels = read_labels_file(labels_file, &file_text, labels, MM_MAX_LABELS, &err);
        if (n_labels < 0) {
            fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
            free(file_text);
            return CLI_EXIT_FAILURE;
        }
        if (n_labels < 2) {
            free(file_text);
            return cli_usage_error(cli, "import-keras", "%s: needs at least two labels, one per line", labels_file);
        }
    } else if (label_text) {
        n_labels = split_labels(label_text, labels, MM_MAX_LABELS);
        if (n_labels < 2)
            return cli_usage_error(cli, "import-keras", "--labels needs at least two non-empty names");
    }
    int rc = CLI_EXIT_OK;
    if (list) {
        fflush(stdout);
        if (mm_keras_list(stdout, argv[optind], preset, n_labels, &options, &err) != MM_OK) {
            fflush(stdout);
            fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
            rc = CLI_EXIT_FAILURE;
        }
        free(file_text);
        return rc;
    }
    mm_model *model = NULL;
    mm_keras_info info;
    if (mm_model_import_keras_ex(&model, argv[optind], preset, n_labels, (const char *const *)labels, head, &options,
                                 &info, &err) != MM_OK) {
        fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
        free(file_text);
        return CLI_EXIT_FAILURE;
    }
    if (info.kernels_assumed)
        mm_log(&cli->log, MM_LOG_WARN,
               "import-keras: %s does not record its backend (Keras 1); convolution kernels taken as TensorFlow's "
               "(cross-correlation); give --kernel-order th if Theano trained it",
               argv[optind]);
    if (info.gru_gates_assumed)
        mm_log(&cli->log, MM_LOG_WARN,
               "import-keras: %s does not record its GRUs' gate activation; taken as %s (its Keras version's "
               "default); give --gates if training used the other",
               argv[optind], info.gru.gates == MM_GRU_GATES_SIGMOID ? "sigmoid" : "hard_sigmoid");
    /* the front-end of an imported model is whatever its training used; record the caller's word */
    mm_frontend_params fe = mm_frontend_default(pad);
    mm_model_set_frontend(model, &fe);
    mm_status st = mm_model_save(model, out, &err);
    if (st == MM_OK)
        mm_log(&cli->log, MM_LOG_INFO, "import-keras: %s (%s; %s, %d labels, %zu weights, %s head%s) -> %s", argv[optind],
               info.format, preset->name, n_labels, mm_model_weight_count(model),
               info.head == MM_HEAD_SIGMOID ? "sigmoid" : "softmax", info.head_from_file ? " from the model config" : "",
               out);
    else
        fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
    mm_model_close(model);
    free(file_text);
    return st == MM_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static void predict_help(FILE *out)
{
    fprintf(out, "Usage: musicmap predict --model MODEL [OPTIONS] FILE...\n\n"
                 "Prints the most likely labels of each song: an audio file, or a .npy log-mel spectrogram of\n"
                 "shape (96, 1366) as `musicmap mel` writes.\n\n"
                 "Options:\n"
                 "  -m, --model MODEL     the model file (musicmap import-keras or musicmap train)\n"
                 "  -k, --top K           labels to print per song (default 3)\n"
                 "      --json            one JSON object per line: file, labels, output, hidden\n"
                 "  -q, --quiet           print nothing but results and errors\n"
                 "  -h, --help            show this help\n");
}

/* The song's spectrogram, from a .npy or by decoding; 0 on success. */
static int song_logmel(const char *path, mm_mel *mel, float *clip, float *logmel, mm_error *err)
{
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".npy") == 0) {
        mm_npy npy;
        if (mm_npy_read(path, &npy, err) != MM_OK)
            return -1;
        int ok = npy.dtype == MM_NPY_F32 && npy.ndim == 2 && npy.shape[0] == MM_N_MELS && npy.shape[1] == MM_N_FRAMES;
        if (ok)
            memcpy(logmel, npy.data, sizeof(float) * MM_N_MELS * MM_N_FRAMES);
        else
            mm_error_set(err, MM_ERR_FORMAT, "%s: not a float32 (96, 1366) spectrogram", path);
        mm_npy_free(&npy);
        return ok ? 0 : -1;
    }
    mm_audio *audio = NULL;
    mm_clip_options options = {.min_seconds = 1.0};
    mm_status st = mm_audio_open(&audio, path, err);
    if (st == MM_OK)
        st = mm_audio_read_clip(audio, &options, clip, NULL, err);
    mm_audio_close(audio);
    if (st != MM_OK)
        return -1;
    mm_mel_compute(mel, clip, logmel);
    return 0;
}

static void print_vector(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf("%s%.6g", i ? ", " : "", v[i]);
    putchar(']');
}

int cmd_predict(cli_context *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"top", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'J'},        {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,                  {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL;
    long top = 3;
    int json = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "m:k:hqv", longopts, NULL)) != -1) {
        if (cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'k':
            if (cli_parse_int(optarg, 1, MM_MAX_LABELS, &top) != 0)
                return cli_usage_error(cli, "predict", "--top needs a number from 1 to %d", MM_MAX_LABELS);
            break;
        case 'J': json = 1; break;
        case 'h': predict_help(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(cli, "predict", "bad option");
        }
    }
    if (!model_path)
        return cli_usage_error(cli, "predict", "--model is required");
    if (optind >= argc)
        return cli_usage_error(cli, "predict", "no input files");
    mm_error err;
    mm_model *model = NULL;
    if (mm_model_load(&model, model_path, &err) != MM_OK) {
        fprintf(stderr, "musicmap predict: %s\n", err.msg);
        return CLI_EXIT_FAILURE;
    }
    int k = mm_model_n_labels(model), units = mm_model_preset(model)->gru_units;
    mm_infer *infer = NULL;
    mm_mel *mel = NULL;
    float *clip = malloc(sizeof(float) * MM_CLIP_SAMPLES);
    float *logmel = malloc(sizeof(float) * MM_N_MELS * MM_N_FRAMES);
    float *out = malloc(sizeof(float) * (size_t)k), *hidden = malloc(sizeof(float) * (size_t)units);
    int failures = 0;
    if (!clip || !logmel || !out || !hidden || mm_infer_open(&infer, model, 1, &err) != MM_OK ||
        mm_mel_open(&mel, mm_model_frontend(model)->pad, &err) != MM_OK) {
        fprintf(stderr, "musicmap predict: %s\n", clip && logmel && out && hidden ? err.msg : "out of memory");
        failures = argc - optind;
        goto done;
    }
    for (int i = optind; i < argc; i++) {
        if (song_logmel(argv[i], mel, clip, logmel, &err) != 0 || mm_infer_run(infer, logmel, 1, out, hidden, &err) != MM_OK) {
            fprintf(stderr, "musicmap predict: %s\n", err.msg);
            failures++;
            continue;
        }
        if (json) {
            printf("{\"file\": ");
            cli_json_string(stdout, argv[i]);
            printf(", \"labels\": [");
            for (int j = 0; j < k; j++) {
                printf("%s", j ? ", " : "");
                cli_json_string(stdout, mm_model_label(model, j));
            }
            printf("], \"output\": ");
            print_vector(out, k);
            printf(", \"hidden\": ");
            print_vector(hidden, units);
            printf("}\n");
            continue;
        }
        printf("%s:", argv[i]);
        int shown[MM_MAX_LABELS] = {0};
        for (int r = 0; r < top && r < k; r++) {
            int best = -1;
            for (int j = 0; j < k; j++)
                if (!shown[j] && (best < 0 || out[j] > out[best]))
                    best = j;
            shown[best] = 1;
            printf("%s %s %.3f", r ? "," : "", mm_model_label(model, best), out[best]);
        }
        printf("\n");
    }
done:
    mm_mel_close(mel);
    mm_infer_close(infer);
    mm_model_close(model);
    free(clip);
    free(logmel);
    free(out);
    free(hidden);
    return failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
