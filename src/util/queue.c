/* A bounded blocking queue of pointers for producer/consumer pipelines (workers -> one writer). */
#include "musicmap/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct mm_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **items;
    size_t capacity, head, count;
    int closed;
};

mm_status mm_queue_open(mm_queue **out, size_t capacity, mm_error *err)
{
    *out = NULL;
    if (capacity == 0)
        return mm_error_set(err, MM_ERR_ARG, "queue: capacity must be at least 1");
    mm_queue *q = calloc(1, sizeof *q);
    if (q)
        q->items = calloc(capacity, sizeof *q->items);
    if (!q || !q->items) {
        free(q);
        return mm_error_set(err, MM_ERR_NOMEM, "queue: out of memory");
    }
    q->capacity = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    *out = q;
    return MM_OK;
}

int mm_queue_push(mm_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->capacity && !q->closed)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    q->items[(q->head + q->count) % q->capacity] = item;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int mm_queue_pop(mm_queue *q, void **item, double timeout)
{
    struct timespec deadline;
    if (timeout >= 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        double whole = (double)(long)timeout;
        deadline.tv_sec += (time_t)whole;
        deadline.tv_nsec += (long)((timeout - whole) * 1e9);
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed) {
        if (timeout < 0) {
            pthread_cond_wait(&q->not_empty, &q->lock);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&q->lock);
            return 0;
        }
    }
    if (q->count == 0) { /* closed and drained */
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return 1;
}

void mm_queue_close(mm_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void mm_queue_free(mm_queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    free(q);
}
