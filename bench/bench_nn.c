/* Throughput of the CRNN per preset: training (forward + backward + Adam-sized update, batch 16) and
 * inference (batch 16) in clips per second with 1 and 2 threads, peak resident memory, and the ratio to
 * the PyTorch figures of the issue (2 cores): crnn4 2.2 clips/s training, 5.3 inference; crnn6 1.7, 5.2.
 * Usage: bench_nn [preset ...] [--batches N]   (random input; default all presets, 3 timed batches) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../src/nn/layers.h"

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void die(const mm_error *err)
{
    fprintf(stderr, "bench_nn: %s\n", err->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *presets[8];
    int n_presets = 0, timed = 3;
    const int B = 16;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
            timed = atoi(argv[++i]);
        else if (n_presets < 8)
            presets[n_presets++] = argv[i];
    }
    if (n_presets == 0) {
        presets[0] = "small", presets[1] = "crnn4", presets[2] = "crnn6";
        n_presets = 3;
    }
    const char *labels[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    const size_t item = (size_t)MM_N_MELS * MM_N_FRAMES;
    float *x = malloc(sizeof(float) * item * B);
    mm_rng rng;
    mm_rng_seed(&rng, 1);
    for (size_t i = 0; i < item * B; i++)
        x[i] = (float)(-80.0 * mm_rng_uniform(&rng));
    int y[16];
    for (int i = 0; i < B; i++)
        y[i] = i % 10;
    printf("%-6s %7s | %10s %10s | %10s %10s | %9s | %s\n", "preset", "threads", "train c/s", "vs torch", "infer c/s",
           "vs torch", "peak MiB", "(batch 16, random input)");
    for (int p = 0; p < n_presets; p++) {
        const mm_preset *preset = mm_preset_find(presets[p]);
        if (!preset) {
            fprintf(stderr, "bench_nn: no preset %s\n", presets[p]);
            return 2;
        }
        double torch_train = strcmp(presets[p], "crnn4") == 0 ? 2.2 : strcmp(presets[p], "crnn6") == 0 ? 1.7 : NAN;
        double torch_infer = strcmp(presets[p], "crnn4") == 0 ? 5.3 : strcmp(presets[p], "crnn6") == 0 ? 5.2 : NAN;
        mm_model *m;
        mm_error err;
        if (mm_model_create(&m, preset, 10, labels, MM_HEAD_SOFTMAX, NULL, &err) != MM_OK ||
            mm_model_init_random(m, 1, &err) != MM_OK)
            die(&err);
        for (int threads = 1; threads <= 2; threads++) {
            mm_nn_set_threads(threads);
            nn_net *net;
            if (nn_net_open(&net, m, B, &err) != MM_OK)
                die(&err);
            double loss;
            int correct;
            mm_rng drop;
            mm_rng_seed(&drop, 2);
            /* one warm-up batch (first-touch of the buffers), then timed ones */
            if (nn_net_step(net, x, y, &drop, 1, &loss, &correct, &err) != MM_OK)
                die(&err);
            double t0 = mm_now();
            for (int i = 0; i < timed; i++)
                if (nn_net_step(net, x, y, &drop, 1, &loss, &correct, &err) != MM_OK)
                    die(&err);
            double train = (double)(B * timed) / (mm_now() - t0);
            nn_net_close(net);
            mm_infer *inf;
            if (mm_infer_open(&inf, m, B, &err) != MM_OK)
                die(&err);
            float out[160];
            if (mm_infer_run(inf, x, B, out, NULL, &err) != MM_OK)
                die(&err);
            t0 = mm_now();
            for (int i = 0; i < timed; i++)
                if (mm_infer_run(inf, x, B, out, NULL, &err) != MM_OK)
                    die(&err);
            double infer = (double)(B * timed) / (mm_now() - t0);
            mm_infer_close(inf);
            printf("%-6s %7d | %10.2f %9.2fx | %10.2f %9.2fx | %9.0f |\n", presets[p], threads, train,
                   train / torch_train, infer, infer / torch_infer, peak_rss_mb());
            fflush(stdout);
        }
        mm_model_close(m);
    }
    free(x);
    return 0;
}
