/* The cluster scan over MPI (include/musicmap/cluster.h, docs/scale.md).
 *
 *   rank 0: walk + classify ──► deal chunks on request ◄── results ── rank 1..N-1: decode
 *              │ writer thread (the single-process scan's): features, fdatasync, COMMIT
 *
 * A worker's request carries the results of its previous chunk, so one message each way per chunk.
 * Only the main thread of each rank talks MPI (MPI_THREAD_FUNNELED). Waiting ranks poll and sleep
 * instead of blocking in MPI: Open MPI's blocking calls spin, and a spinning coordinator would take a
 * core from the decoders it shares a machine with. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../catalog/scan_internal.h"
#include "../catalog/scan_remote.h"
#include "../util/shared.h"
#include "musicmap/cluster.h"

enum { TAG_RESULTS = 1, TAG_WORK = 2 };
enum { HEAD_GO, HEAD_CLIPS, HEAD_FULL_LOUDNESS, HEAD_NO_SPECTROGRAMS, HEAD_MOVES, HEAD_VECTOR_FLOATS, HEAD_N };

static int started;

int mm_cluster_available(void) { return 1; }

mm_status mm_cluster_init(int *argc, char ***argv, mm_error *err)
{
    int provided = 0;
    if (started)
        return MM_OK;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mm_error_set(err, MM_ERR_INTERNAL, "MPI could not start");
    started = 1;
    return MM_OK;
}

int mm_cluster_rank(void)
{
    int r = 0;
    if (started)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int mm_cluster_size(void)
{
    int n = 1;
    if (started)
        MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void mm_cluster_finalize(void)
{
    if (started)
        MPI_Finalize();
    started = 0;
}

mm_status mm_cluster_broadcast(void **data, size_t *n, mm_error *err)
{
    if (!started || mm_cluster_size() == 1)
        return MM_OK;
    const int root = mm_cluster_rank() == 0;
    uint64_t len = root ? (uint64_t)*n : 0;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    unsigned char *p = root ? *data : (len ? malloc((size_t)len) : NULL);
    /* in pieces every rank cuts alike, so that a rank that can't hold the whole still takes part (into
     * a piece-sized buffer), then says so */
    unsigned char sink[1 << 16];
    for (uint64_t at = 0; at < len;) {
        int piece = (int)(len - at < sizeof sink ? len - at : sizeof sink);
        MPI_Bcast(p ? p + at : sink, piece, MPI_BYTE, 0, MPI_COMM_WORLD);
        at += (uint64_t)piece;
    }
    if (root)
        return MM_OK;
    *data = p;
    *n = p ? (size_t)len : 0;
    return p || len == 0 ? MM_OK : mm_error_set(err, MM_ERR_NOMEM, "cluster: out of memory for %llu bytes from rank 0",
                                                (unsigned long long)len);
}

void mm_cluster_scan_stats_free(mm_cluster_scan_stats *stats)
{
    if (stats) {
        free(stats->rank);
        stats->rank = NULL;
    }
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Sleeps between polls, longer the longer nothing comes (50 us to 2 ms): a chunk takes a decoder
 * seconds, so a reply a millisecond late costs nothing, and a rank that waits stays off the CPU. */
static void nap(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    if (*ns < 2000000)
        *ns *= 2;
}

/* Waits for a message from src (or any) with tag; returns its size in bytes. */
static size_t wait_message(int src, int tag, MPI_Status *status)
{
    int flag = 0;
    long ns = 50000;
    for (;;) {
        MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, status);
        if (flag)
            break;
        nap(&ns);
    }
    int count = 0;
    MPI_Get_count(status, MPI_BYTE, &count);
    return (size_t)count;
}

static int receive(int src, int tag, cat_buf *into, MPI_Status *status)
{
    size_t n = wait_message(src, tag, status);
    into->n = 0;
    cat_buf_put(into, NULL, n);
    if (into->oom)
        return -1;
    MPI_Recv(into->p, (int)n, MPI_BYTE, status->MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return 0;
}

/* Decoding threads for a worker: the cores of its machine shared among the worker ranks on it. */
static int default_threads(void)
{
    MPI_Comm node;
    int local = 1, has_coordinator = mm_cluster_rank() == 0, coordinators = 0;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Allreduce(&has_coordinator, &coordinators, 1, MPI_INT, MPI_SUM, node);
    MPI_Comm_free(&node);
    int workers = local - coordinators;
    int t = mm_cpu_count() / (workers > 0 ? workers : 1);
    return t > 0 ? t : 1;
}

static void gather_stats(int64_t files, double cpu0, double t0, mm_cluster_scan_stats *stats)
{
    double mine[3] = {(double)files, cpu_seconds() - cpu0, mm_now() - t0};
    int size = mm_cluster_size(), rank = mm_cluster_rank();
    double *all = rank == 0 ? malloc(sizeof(double) * 3 * (size_t)size) : NULL;
    MPI_Gather(mine, 3, MPI_DOUBLE, all, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (!stats || rank != 0 || !all) {
        free(all);
        return;
    }
    stats->ranks = size;
    stats->rank = calloc((size_t)size, sizeof *stats->rank);
    for (int r = 0; stats->rank && r < size; r++)
        stats->rank[r] = (mm_cluster_rank_stats){(int64_t)all[3 * r], all[3 * r + 1], all[3 * r + 2]};
    free(all);
}

/* ---------------------------------------------------------------- rank 0 */

typedef struct coordinator {
    scan *s;
    size_t next;            /* next work item not yet dealt */
    size_t *redo, n_redo;   /* items to deal again first */
    size_t in_flight;       /* dealt, not yet back */
    int *parked, n_parked;  /* workers waiting for a chunk */
    int *chunk;             /* files per chunk, per rank */
    int active;             /* workers not yet sent home */
    cat_buf out;
    mm_cluster_scan_stats *stats;
} coordinator;

/* Hands chunks to the waiting workers; once nothing is left to deal and nothing is out, sends them home
 * (an empty message). A worker that asks while others still hold chunks waits: a move one of them
 * proposes may come back refused, to be read after all. */
static void deal(coordinator *c, int dealing)
{
    scan *s = c->s;
    while (c->n_parked > 0) {
        int dst = c->parked[c->n_parked - 1];
        size_t pick[1024], k = 0, want = (size_t)c->chunk[dst];
        if (want > sizeof pick / sizeof pick[0])
            want = sizeof pick / sizeof pick[0];
        while (dealing && k < want && c->n_redo > 0)
            pick[k++] = c->redo[--c->n_redo];
        for (; dealing && k < want && c->next < s->n_work; c->next++)
            if (cat_remote_dealt(s, c->next))
                pick[k++] = c->next;
        if (k == 0 && c->in_flight > 0)
            return;
        c->out.n = 0;
        cat_remote_pack_work(s, pick, k, &c->out);
        if (c->out.oom) {
            cat_scan_set_fatal(s, MM_ERR_NOMEM, NULL);
            c->out.oom = 0;
            c->out.n = 0;
            k = 0; /* nothing dealt: the items stay undone, like a stopped scan's */
        }
        MPI_Send(c->out.p, (int)c->out.n, MPI_BYTE, dst, TAG_WORK, MPI_COMM_WORLD);
        c->stats->bytes_to_workers += (int64_t)c->out.n;
        c->in_flight += k;
        c->n_parked--;
        if (k == 0)
            c->active--;
    }
}

/* One message from a worker: u64 threads (0: it gives its chunk back and leaves), then its results
 * (or the chunk it gives back). */
static void take_message(coordinator *c, const cat_buf *msg, int src, int writing, int64_t *files)
{
    scan *s = c->s;
    uint64_t threads = 0;
    if (msg->n < sizeof threads) {
        cat_scan_set_fatal(s, MM_ERR_FORMAT, NULL);
        c->active--;
        return;
    }
    memcpy(&threads, msg->p, sizeof threads);
    const unsigned char *body = msg->p + sizeof threads;
    size_t len = msg->n - sizeof threads, n = 0;
    mm_error err;
    if (threads == 0) {
        if (cat_remote_work_indices(body, len, c->redo + c->n_redo, s->n_work - c->n_redo, &n) != 0)
            cat_scan_set_fatal(s, MM_ERR_FORMAT, NULL);
        c->n_redo += n;
        c->in_flight -= n < c->in_flight ? n : c->in_flight;
        c->active--;
        return;
    }
    c->chunk[src] = threads > 256 ? 512 : 2 * (int)threads;
    if (len > 0) {
        int64_t got = 0;
        c->stats->bytes_from_workers += (int64_t)len;
        c->stats->messages++;
        mm_status st = writing ? cat_remote_take_results(s, body, len, c->redo, &c->n_redo, &got, &err) : MM_OK;
        if (st != MM_OK)
            cat_scan_set_fatal(s, st, &err);
        /* a malformed message can't say how many it held: count the chunk back whole */
        size_t back = st == MM_OK && writing ? (size_t)got : c->in_flight;
        c->in_flight -= back < c->in_flight ? back : c->in_flight;
        *files += got;
    }
    c->parked[c->n_parked++] = src;
}

static mm_status coordinate(mm_catalog *cat, const char *const *roots, size_t n_roots, const mm_scan_options *o,
                            mm_scan_result *res, mm_cluster_scan_stats *stats, mm_error *err)
{
    const double cpu0 = cpu_seconds(), t0 = mm_now();
    const int size = mm_cluster_size();
    scan s;
    mm_status st = cat ? cat_scan_begin(&s, cat, roots, n_roots, o, res, err)
                       : mm_error_set(err, MM_ERR_ARG, "cluster scan: rank 0 has no catalog");
    cat_remote_config cfg = {0};
    if (st == MM_OK)
        st = cat_remote_config_of(&s, &cfg, err);
    int go = st == MM_OK && s.n_work > 0 && !atomic_load(&s.stop);
    int64_t head[HEAD_N] = {go, o->clips, o->full_loudness, o->no_spectrograms, (int64_t)cfg.n_moves, cfg.vector_floats};
    MPI_Bcast(head, HEAD_N, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (go && cfg.n_moves)
        MPI_Bcast(cfg.moves, (int)(2 * cfg.n_moves), MPI_UINT64_T, 0, MPI_COMM_WORLD);
    free(cfg.moves);
    int64_t files = 0;
    double writer_cpu = 0;
    if (go) {
        coordinator c = {.s = &s, .active = size - 1, .stats = stats};
        c.redo = malloc(sizeof *c.redo * s.n_work);
        c.parked = malloc(sizeof *c.parked * (size_t)size);
        c.chunk = calloc((size_t)size, sizeof *c.chunk);
        if (!c.redo || !c.parked || !c.chunk)
            cat_scan_set_fatal(&s, MM_ERR_NOMEM, NULL);
        pthread_t writer;
        mm_error werr;
        int writing = s.fatal == MM_OK && cat_scan_writer_start(&s, 64, &writer, &werr) == MM_OK;
        if (!writing && s.fatal == MM_OK)
            cat_scan_set_fatal(&s, werr.code, &werr);
        if (writing) {
            s.progress.phase = MM_SCAN_PROCESSING;
            cat_remote_local_failures(&s);
        }
        cat_buf msg = {0};
        while (c.active > 0) {
            MPI_Status status;
            if (receive(MPI_ANY_SOURCE, TAG_RESULTS, &msg, &status) != 0) {
                /* can't even hold the message: stop the scan and take it into nothing */
                cat_scan_set_fatal(&s, MM_ERR_NOMEM, NULL);
                char sink;
                MPI_Recv(&sink, 0, MPI_BYTE, status.MPI_SOURCE, TAG_RESULTS, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                msg.oom = 0;
                continue;
            }
            if (!c.redo || !c.parked || !c.chunk) { /* nothing was dealt: send each worker home */
                MPI_Send(NULL, 0, MPI_BYTE, status.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
                c.active--;
                continue;
            }
            take_message(&c, &msg, status.MPI_SOURCE, writing, &files);
            deal(&c, writing && s.fatal == MM_OK && !atomic_load(&s.stop));
        }
        cat_buf_free(&msg);
        cat_buf_free(&c.out);
        if (writing) {
            cat_scan_writer_join(&s, writer);
            writer_cpu = s.writer_cpu;
        }
        free(c.redo);
        free(c.parked);
        free(c.chunk);
    }
    gather_stats(files, cpu0, t0, stats);
    stats->writer_cpu_seconds = writer_cpu;
    return cat ? cat_scan_end(&s, st, err) : st;
}

/* ---------------------------------------------------------------- ranks 1.. */

static mm_status decode_for_rank0(const mm_scan_options *o, mm_error *err)
{
    const double cpu0 = cpu_seconds(), t0 = mm_now();
    int threads = o->jobs > 0 ? o->jobs : default_threads();
    int64_t head[HEAD_N];
    MPI_Bcast(head, HEAD_N, MPI_INT64_T, 0, MPI_COMM_WORLD);
    cat_remote_config cfg = {(int)head[HEAD_CLIPS], (int)head[HEAD_FULL_LOUDNESS], (int)head[HEAD_NO_SPECTROGRAMS],
                             (int)head[HEAD_VECTOR_FLOATS], (size_t)head[HEAD_MOVES], NULL};
    mm_status st = MM_OK;
    int64_t files = 0;
    if (head[HEAD_GO]) {
        cfg.moves = malloc(2 * sizeof(uint64_t) * (cfg.n_moves ? cfg.n_moves : 1));
        if (cfg.n_moves)
            MPI_Bcast(cfg.moves ? (void *)cfg.moves : (void *)head, cfg.moves ? (int)(2 * cfg.n_moves) : 0,
                      MPI_UINT64_T, 0, MPI_COMM_WORLD);
        cat_remote_worker *w = NULL;
        st = cfg.moves ? cat_remote_worker_open(&w, &cfg, threads, o->embedder, err)
                       : mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
        cat_buf req = {0}, chunk = {0};
        uint64_t t = st == MM_OK ? (uint64_t)threads : 0; /* 0: this rank can't work, and leaves */
        cat_buf_put(&req, &t, sizeof t);
        for (;;) {
            if (req.oom) { /* the results can't be held: give the chunk back and leave */
                req.oom = 0;
                req.n = 0;
                t = 0;
                cat_buf_put(&req, &t, sizeof t);
                cat_buf_put(&req, chunk.p, chunk.n);
                st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
            }
            MPI_Send(req.p, (int)req.n, MPI_BYTE, 0, TAG_RESULTS, MPI_COMM_WORLD);
            if (t == 0)
                break;
            MPI_Status status;
            if (receive(0, TAG_WORK, &chunk, &status) != 0) {
                st = mm_error_set(err, MM_ERR_NOMEM, "scan: out of memory");
                break; /* unreachable in practice: a work message is a few KB */
            }
            if (chunk.n == 0)
                break;
            req.n = 0;
            cat_buf_put(&req, &t, sizeof t);
            size_t n = 0;
            mm_status rs = cat_remote_worker_run(w, chunk.p, chunk.n, &req, &n, err);
            if (rs != MM_OK) {
                st = rs;
                req.oom = 1; /* give this chunk back */
            }
            files += (int64_t)n;
        }
        cat_buf_free(&req);
        cat_buf_free(&chunk);
        cat_remote_worker_close(w);
        free(cfg.moves);
    }
    gather_stats(files, cpu0, t0, NULL);
    return st;
}

mm_status mm_cluster_scan(mm_catalog *cat, const char *const *roots, size_t n_roots, const mm_scan_options *options,
                          mm_scan_result *result, mm_cluster_scan_stats *stats, mm_error *err)
{
    mm_scan_result dummy_result;
    mm_cluster_scan_stats dummy_stats;
    if (!result)
        result = &dummy_result;
    if (!stats)
        stats = &dummy_stats;
    memset(stats, 0, sizeof *stats);
    mm_scan_options given;
    mm_scan_options_init(&given);
    util_options_copy(&given, sizeof given, options, UTIL_OPTIONS_END(mm_scan_options, user));
    if (!started)
        return mm_error_set(err, MM_ERR_ARG, "cluster scan: mm_cluster_init was not called");
    if (mm_cluster_size() == 1) {
        mm_status st = cat ? mm_catalog_scan(cat, roots, n_roots, &given, result, err)
                           : mm_error_set(err, MM_ERR_ARG, "cluster scan: no catalog");
        stats->ranks = 1;
        return st;
    }
    if (mm_cluster_rank() == 0)
        return coordinate(cat, roots, n_roots, &given, result, stats, err);
    memset(result, 0, sizeof *result);
    return decode_for_rank0(&given, err);
}
