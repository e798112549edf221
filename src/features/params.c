/* The front-end's defining parameters, compared between models and catalogs. */
#include <stdio.h>

#include "musicmap/features.h"

mm_frontend_params mm_frontend_default(mm_pad_mode pad)
{
    mm_frontend_params p = {MM_SAMPLE_RATE, MM_N_FFT, MM_HOP, MM_N_MELS, MM_N_FRAMES, pad};
    return p;
}

int mm_frontend_check(const mm_frontend_params *model, const mm_frontend_params *data, mm_error *err)
{
    const char *what = NULL;
    long want = 0, got = 0;
    if (model->sample_rate != data->sample_rate)
        what = "sample rate", want = model->sample_rate, got = data->sample_rate;
    else if (model->n_fft != data->n_fft)
        what = "n_fft", want = model->n_fft, got = data->n_fft;
    else if (model->hop != data->hop)
        what = "hop length", want = model->hop, got = data->hop;
    else if (model->n_mels != data->n_mels)
        what = "mel bands", want = model->n_mels, got = data->n_mels;
    else if (model->n_frames != data->n_frames)
        what = "frames", want = model->n_frames, got = data->n_frames;
    if (what) {
        mm_error_set(err, MM_ERR_FORMAT, "front-end mismatch: the model expects %s %ld, the data has %ld", what, want, got);
        return -1;
    }
    if (model->pad != data->pad) {
        mm_error_set(err, MM_ERR_FORMAT, "front-end mismatch: the model expects %s frame padding, the data has %s",
                     mm_pad_mode_name(model->pad), mm_pad_mode_name(data->pad));
        return -1;
    }
    return 0;
}
