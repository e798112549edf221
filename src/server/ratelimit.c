/* Per-client request rate limit: a token bucket per address in a fixed table, so memory stays bounded
 * however many addresses appear. A new address takes the stalest of a few slots; a client evicted that
 * way only gets a full bucket again, which a limit meant against floods can afford. */
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "internal.h"

#define SLOTS 4096 /* addresses tracked at once (~200 KiB) */
#define PROBE 8    /* slots a key may live in */

typedef struct bucket {
    unsigned char key[17]; /* family byte, then the address (IPv6: its /64) */
    int used;
    double tokens, last;
} bucket;

struct srv_ratelimit {
    pthread_mutex_t lock;
    double rate, burst;
    uint64_t seed; /* random, so nobody can aim many addresses at the same slots */
    bucket slots[SLOTS];
};

srv_ratelimit *srv_ratelimit_new(double per_second, double burst)
{
    srv_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->rate = per_second;
    rl->burst = burst < 1 ? 1 : burst;
    if (getrandom(&rl->seed, sizeof rl->seed, GRND_NONBLOCK) != (ssize_t)sizeof rl->seed)
        rl->seed = (uint64_t)(uintptr_t)rl ^ 0x9e3779b97f4a7c15ull;
    return rl;
}

void srv_ratelimit_free(srv_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint64_t hash_key(const unsigned char *k, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    return h * 0xbf58476d1ce4e5b9ull;
}

int srv_ratelimit_take(srv_ratelimit *rl, const struct sockaddr *addr, double now)
{
    unsigned char key[17] = {0};
    if (!addr)
        return 0;
    if (addr->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    } else if (addr->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) { /* an IPv4 client of a dual-stack socket */
            key[0] = 4;
            memcpy(key + 1, a + 12, 4);
        } else { /* one host usually holds a whole /64: limit it as one client */
            key[0] = 6;
            memcpy(key + 1, a, 8);
        }
    } else {
        return 0;
    }
    size_t h = (size_t)(hash_key(key, sizeof key, rl->seed) % SLOTS);
    int wait = 0;
    pthread_mutex_lock(&rl->lock);
    bucket *b = NULL, *stalest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *s = &rl->slots[(h + i) % SLOTS];
        if (s->used && memcmp(s->key, key, sizeof key) == 0) {
            b = s;
            break;
        }
        if (!stalest || !s->used || (stalest->used && s->last < stalest->last))
            stalest = s;
    }
    if (!b) {
        b = stalest;
        memcpy(b->key, key, sizeof key);
        b->used = 1;
        b->tokens = rl->burst;
        b->last = now;
    }
    b->tokens = fmin(rl->burst, b->tokens + (now - b->last) * rl->rate);
    b->last = now;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (int)ceil((1 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->lock);
    return wait > 0 ? wait : 0;
}
