/* A parallel-for pool: workers sleep on a condition variable and take indices from a shared counter. */
#include "musicmap/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct mm_pool {
    int threads; /* workers + the calling thread */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t idle;
    /* the current job */
    mm_pool_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next;
    unsigned long generation;
    int running; /* workers still inside the current job */
    int quit;
};

typedef struct worker_start {
    mm_pool *pool;
    int id;
} worker_start;

static void run_indices(mm_pool *pool, int worker)
{
    for (;;) {
        size_t i = atomic_fetch_add(&pool->next, 1);
        if (i >= pool->n)
            break;
        pool->fn(i, worker, pool->arg);
    }
}

static void *worker_main(void *p)
{
    worker_start *start = p;
    mm_pool *pool = start->pool;
    int id = start->id;
    free(start);
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->quit)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        run_indices(pool, id);
        pthread_mutex_lock(&pool->lock);
        if (--pool->running == 0)
            pthread_cond_signal(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

int mm_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

mm_status mm_pool_open(mm_pool **out, int threads, mm_error *err)
{
    *out = NULL;
    if (threads <= 0)
        threads = mm_cpu_count();
    mm_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return mm_error_set(err, MM_ERR_NOMEM, "thread pool: out of memory");
    pool->threads = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->idle, NULL);
    atomic_init(&pool->next, 0);
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof *pool->workers);
        if (!pool->workers) {
            mm_pool_close(pool);
            return mm_error_set(err, MM_ERR_NOMEM, "thread pool: out of memory");
        }
    }
    for (int i = 0; i < threads - 1; i++) {
        worker_start *start = malloc(sizeof *start);
        if (start) {
            start->pool = pool;
            start->id = i + 1;
        }
        if (!start || pthread_create(&pool->workers[i], NULL, worker_main, start) != 0) {
            free(start);
            pool->threads = i + 1;
            mm_pool_close(pool);
            return mm_error_set(err, MM_ERR_INTERNAL, "thread pool: cannot start thread %d", i + 1);
        }
    }
    *out = pool;
    return MM_OK;
}

int mm_pool_threads(const mm_pool *pool)
{
    return pool ? pool->threads : 1;
}

void mm_pool_for(mm_pool *pool, size_t n, mm_pool_fn fn, void *arg)
{
    if (!pool || pool->threads == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(i, 0, arg);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    atomic_store(&pool->next, 0);
    pool->running = pool->threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    run_indices(pool, 0);
    pthread_mutex_lock(&pool->lock);
    while (pool->running > 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

void mm_pool_close(mm_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->threads - 1; i++)
        pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->idle);
    free(pool);
}
