/* The Slaney mel filterbank as librosa.filters.mel(sr=12000, n_fft=512, n_mels=96) builds it. */
#include "musicmap/features.h"

#include <math.h>

/* Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (ln(6.4)/27 per mel). */
static const double F_SP = 200.0 / 3.0;
static const double MIN_LOG_HZ = 1000.0;
static const double MIN_LOG_MEL = 15.0; /* MIN_LOG_HZ / F_SP */

static double log_step(void)
{
    return log(6.4) / 27.0;
}

static double hz_to_mel(double hz)
{
    if (hz >= MIN_LOG_HZ)
        return MIN_LOG_MEL + log(hz / MIN_LOG_HZ) / log_step();
    return hz / F_SP;
}

static double mel_to_hz(double mel)
{
    if (mel >= MIN_LOG_MEL)
        return MIN_LOG_HZ * exp(log_step() * (mel - MIN_LOG_MEL));
    return F_SP * mel;
}

void mm_mel_band_edges(double edges[MM_N_MELS + 2])
{
    /* numpy.linspace: start + i * step, with the last point set to stop exactly. */
    const int count = MM_N_MELS + 2;
    double top = hz_to_mel(MM_SAMPLE_RATE / 2.0);
    double step = top / (count - 1);
    for (int i = 0; i < count; i++) {
        double mel = i == count - 1 ? top : i * step;
        edges[i] = mel_to_hz(mel);
    }
    /* The last edge is fmax exactly; glibc's exp/log can round it an ulp above, which would give the
     * Nyquist bin a spurious 3e-17 weight that numpy's rounding does not. */
    edges[count - 1] = MM_SAMPLE_RATE / 2.0;
}

void mm_mel_filterbank(float weights[MM_N_MELS * MM_N_BINS])
{
    double edges[MM_N_MELS + 2];
    mm_mel_band_edges(edges);
    /* numpy.fft.rfftfreq(512, d=1/sr): k * (1 / (n * d)), with d rounded first, as librosa gets it. */
    double bin_step = 1.0 / (MM_N_FFT * (1.0 / MM_SAMPLE_RATE));
    for (int m = 0; m < MM_N_MELS; m++) {
        double lower_width = edges[m + 1] - edges[m];
        double upper_width = edges[m + 2] - edges[m + 1];
        double area_norm = 2.0 / (edges[m + 2] - edges[m]);
        for (int k = 0; k < MM_N_BINS; k++) {
            double freq = k * bin_step;
            double rising = (freq - edges[m]) / lower_width;
            double falling = (edges[m + 2] - freq) / upper_width;
            double w = fmax(0.0, fmin(rising, falling));
            /* librosa stores the triangle in float32, then scales that float32 by the area norm. */
            float stored = (float)w;
            weights[m * MM_N_BINS + k] = (float)((double)stored * area_norm);
        }
    }
}
