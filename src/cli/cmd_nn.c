/* musicmap import-keras and musicmap predict: the network from the command line. */
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

static void import_help(FILE *out)
{
    fprintf(out, "Usage: musicmap import-keras FILE.h5 --preset NAME --labels a,b,c... -o MODEL\n\n"
                 "Converts the weights of a Keras 2 (or Keras 1) HDF5 file of a CRNN into a musicmap model.\n"
                 "The original system's GTZAN model: --preset crnn4 --labels\n"
                 "country,jazz,disco,pop,blues,reggae,metal,rock,hiphop,classical\n\n"
                 "Options:\n"
                 "      --preset NAME     network shape: crnn4, crnn6 or small\n"
                 "      --labels LIST     the output classes, comma-separated, in the network's order\n"
                 "      --head HEAD       output activation it was trained with: sigmoid (default) or softmax\n"
                 "      --pad MODE        frame padding its spectrograms used: reflect (default) or constant\n"
                 "  -o, --out MODEL       the model file to write\n"
                 "  -h, --help            show this help\n");
}

int mm_cmd_import_keras(mm_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"preset", required_argument, NULL, 'P'}, {"labels", required_argument, NULL, 'L'},
        {"head", required_argument, NULL, 'H'},   {"pad", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        MM_CLI_COMMON_LONGOPTS,                   {NULL, 0, NULL, 0},
    };
    const char *preset_name = NULL, *out = NULL;
    char *label_text = NULL;
    mm_head head = MM_HEAD_SIGMOID;
    mm_pad_mode pad = MM_PAD_REFLECT;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hqv", longopts, NULL)) != -1) {
        if (mm_cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'P': preset_name = optarg; break;
        case 'L': label_text = optarg; break;
        case 'H':
            if (strcmp(optarg, "sigmoid") == 0)
                head = MM_HEAD_SIGMOID;
            else if (strcmp(optarg, "softmax") == 0)
                head = MM_HEAD_SOFTMAX;
            else
                return mm_cli_usage_error(cli, "import-keras", "--head must be sigmoid or softmax, not '%s'", optarg);
            break;
        case 'p':
            if (mm_pad_mode_parse(optarg, &pad) != 0)
                return mm_cli_usage_error(cli, "import-keras", "--pad must be reflect or constant, not '%s'", optarg);
            break;
        case 'o': out = optarg; break;
        case 'h': import_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "import-keras", "bad option");
        }
    }
    if (optind != argc - 1)
        return mm_cli_usage_error(cli, "import-keras", "give exactly one FILE.h5");
    if (!preset_name || !label_text || !out)
        return mm_cli_usage_error(cli, "import-keras", "--preset, --labels and -o are required");
    const mm_preset *preset = mm_preset_find(preset_name);
    if (!preset)
        return mm_cli_usage_error(cli, "import-keras", "unknown preset '%s' (crnn4, crnn6, small)", preset_name);
    char *labels[MM_MAX_LABELS];
    int n_labels = split_labels(label_text, labels, MM_MAX_LABELS);
    if (n_labels < 2)
        return mm_cli_usage_error(cli, "import-keras", "--labels needs at least two non-empty names");
    mm_model *model = NULL;
    mm_error err;
    if (mm_model_import_keras(&model, argv[optind], preset, n_labels, (const char *const *)labels, head, &err) != MM_OK) {
        fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
        return MM_EXIT_FAILURE;
    }
    /* the front-end of an imported model is whatever its training used; record the caller's word */
    mm_frontend_params fe = mm_frontend_default(pad);
    mm_model_set_frontend(model, &fe);
    mm_status st = mm_model_save(model, out, &err);
    if (st == MM_OK)
        mm_log(&cli->log, MM_LOG_INFO, "import-keras: %s (%s, %d labels, %zu weights, %s head) -> %s", argv[optind],
               preset->name, n_labels, mm_model_weight_count(model), head == MM_HEAD_SIGMOID ? "sigmoid" : "softmax",
               out);
    else
        fprintf(stderr, "musicmap import-keras: %s\n", err.msg);
    mm_model_close(model);
    return st == MM_OK ? MM_EXIT_OK : MM_EXIT_FAILURE;
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

int mm_cmd_predict(mm_cli *cli, int argc, char **argv)
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
        if (mm_cli_common_option(cli, opt))
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'k':
            if (mm_cli_parse_int(optarg, 1, MM_MAX_LABELS, &top) != 0)
                return mm_cli_usage_error(cli, "predict", "--top needs a number from 1 to %d", MM_MAX_LABELS);
            break;
        case 'J': json = 1; break;
        case 'h': predict_help(stdout); return MM_EXIT_OK;
        default: return mm_cli_usage_error(cli, "predict", "bad option");
        }
    }
    if (!model_path)
        return mm_cli_usage_error(cli, "predict", "--model is required");
    if (optind >= argc)
        return mm_cli_usage_error(cli, "predict", "no input files");
    mm_error err;
    mm_model *model = NULL;
    if (mm_model_load(&model, model_path, &err) != MM_OK) {
        fprintf(stderr, "musicmap predict: %s\n", err.msg);
        return MM_EXIT_FAILURE;
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
            mm_json_string(stdout, argv[i]);
            printf(", \"labels\": [");
            for (int j = 0; j < k; j++) {
                printf("%s", j ? ", " : "");
                mm_json_string(stdout, mm_model_label(model, j));
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
    return failures ? MM_EXIT_FAILURE : MM_EXIT_OK;
}
