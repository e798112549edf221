/* The one FFTW planner lock of the library (see shared.h). A plain mutex: planning with FFTW_ESTIMATE
 * takes microseconds, so contention is never worth more than this. */
#include <pthread.h>

#include "shared.h"

static pthread_mutex_t fftw_planner = PTHREAD_MUTEX_INITIALIZER;

void util_fftw_lock(void)
{
    pthread_mutex_lock(&fftw_planner);
}

void util_fftw_unlock(void)
{
    pthread_mutex_unlock(&fftw_planner);
}
