/* The library's contract with programs that embed it (docs/api.md): versions, the option-struct size
 * rule (read only as far as the caller's struct goes; arrays with the caller's element size), the log
 * callback, the new status codes. */
#include <stddef.h>
#include <string.h>

#include "musicmap/musicmap.h"
#include "testutil.h"

static void versions_agree(void **state)
{
    (void)state;
    assert_string_equal(mm_version(), MM_VERSION_STRING);
    assert_int_equal(mm_version_number(), MM_VERSION_NUMBER);
    assert_int_equal(MM_VERSION_NUMBER, MM_VERSION_MAJOR * 10000 + MM_VERSION_MINOR * 100 + MM_VERSION_PATCH);
}

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(mm_status_name(MM_ERR_NOT_FOUND), "not found");
    assert_string_equal(mm_status_name(MM_ERR_CANCELLED), "cancelled");
    assert_true(MM_ERR_NOT_FOUND > MM_ERR_INTERNAL && MM_ERR_CANCELLED > MM_ERR_NOT_FOUND); /* appended */
}

static int cancel(const char *stage, size_t done, size_t total, void *user)
{
    (void)stage, (void)done, (void)total, (void)user;
    return 1;
}

/* A program built when mm_tsne_options ended before `progress` passes a struct of that size: whatever
 * lies beyond it (here a callback that would cancel) is not the program's and must not be read. */
static void options_are_read_only_up_to_their_size(void **state)
{
    (void)state;
    enum { N = 60, D = 4 };
    float x[N * D], y[N * 2];
    mm_rng rng;
    mm_rng_seed(&rng, 3);
    for (int i = 0; i < N * D; i++)
        x[i] = (float)mm_rng_uniform(&rng);
    mm_tsne_options o;
    mm_tsne_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    o.n_iter = 60;
    o.early_iter = 20;
    o.perplexity = 10;
    o.threads = 1;
    o.progress = cancel;
    mm_error err;
    assert_int_equal(mm_tsne(x, N, D, &o, y, NULL, &err), MM_ERR_CANCELLED); /* full size: it is read */
    o.size = offsetof(mm_tsne_options, progress);
    assert_int_equal(mm_tsne(x, N, D, &o, y, NULL, &err), MM_OK); /* cut before it: the default, none */
    o.size = 0; /* hand-zeroed structs: the first layout, which has progress */
    assert_int_equal(mm_tsne(x, N, D, &o, y, NULL, &err), MM_ERR_CANCELLED);
}

/* The server's options follow the same rule: a program that knew the struct before `token` never has a
 * token read from beyond its struct (the server then makes and keeps its own, beside the catalog). */
static void server_options_are_read_up_to_their_size(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/api-server.db", tu_temp_dir());
    mm_catalog *cat;
    mm_error err;
    assert_int_equal(mm_catalog_open(&cat, db, MM_CATALOG_CREATE, &err), MM_OK);
    mm_catalog_close(cat);
    mm_server_options o;
    mm_server_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    o.host = "0.0.0.0"; /* beyond loopback: a token is required */
    o.port = 0;
    o.token = "given-by-the-caller";
    mm_server *srv;
    assert_int_equal(mm_server_start(&srv, db, &o, &err), MM_OK);
    assert_string_equal(mm_server_token(srv), "given-by-the-caller");
    mm_server_stop(srv);
    o.size = offsetof(mm_server_options, token);
    assert_int_equal(mm_server_start(&srv, db, &o, &err), MM_OK);
    const char *made = mm_server_token(srv);
    assert_non_null(made);
    assert_string_not_equal(made, "given-by-the-caller");
    assert_int_equal(strlen(made), 64);
    mm_server_stop(srv);
}

/* mm_layout_grid writes an array of the caller's structs: older (smaller) or newer (larger) ones. */
static void grid_writes_the_callers_element_size(void **state)
{
    (void)state;
    mm_layout_spec base;
    mm_layout_spec_init(&base);
    base.dims = 3;

    /* an older program's struct: everything up to `threads`, then the next element */
    size_t small = offsetof(mm_layout_spec, progress);
    _Alignas(mm_layout_spec) unsigned char buf[16 * sizeof(mm_layout_spec) + 64];
    memset(buf, 0xAB, sizeof buf);
    _Alignas(mm_layout_spec) unsigned char old_base[sizeof(mm_layout_spec)];
    memcpy(old_base, &base, small);
    memcpy(old_base, &small, sizeof small);
    assert_int_equal(mm_layout_grid((const mm_layout_spec *)old_base, (mm_layout_spec *)buf, 13), 13);
    for (size_t i = 0; i < 13; i++) {
        mm_layout_spec s;
        memset(&s, 0, sizeof s);
        memcpy(&s, buf + i * small, small);
        assert_int_equal(s.size, small);
        assert_int_equal(s.dims, 3);
        assert_int_equal(s.method, i < 4 ? MM_LAYOUT_TSNE : MM_LAYOUT_UMAP);
    }
    for (size_t b = 13 * small; b < sizeof buf; b++)
        assert_int_equal(buf[b], 0xAB); /* nothing written past the caller's 13 elements */

    /* a newer program's struct: ours plus 16 bytes the library doesn't know, carried over from base */
    size_t big = sizeof(mm_layout_spec) + 16;
    _Alignas(mm_layout_spec) unsigned char new_base[sizeof(mm_layout_spec) + 16];
    _Alignas(mm_layout_spec) unsigned char out[2 * (sizeof(mm_layout_spec) + 16)];
    memcpy(new_base, &base, sizeof base);
    memcpy(new_base, &big, sizeof big);
    memset(new_base + sizeof base, 0x5C, 16);
    assert_int_equal(mm_layout_grid((const mm_layout_spec *)new_base, (mm_layout_spec *)out, 2), 13);
    for (size_t i = 0; i < 2; i++) {
        mm_layout_spec s;
        memcpy(&s, out + i * big, sizeof s);
        assert_int_equal(s.size, big);
        assert_int_equal(s.method, MM_LAYOUT_TSNE);
        for (size_t b = 0; b < 16; b++)
            assert_int_equal(out[i * big + sizeof s + b], 0x5C);
    }
}

typedef struct lines {
    int n;
    mm_log_level level;
    size_t len;
    char first[64];
} lines;

static void remember(mm_log_level level, const char *message, void *user)
{
    lines *l = user;
    if (l->n++ == 0)
        snprintf(l->first, sizeof l->first, "%s", message);
    l->level = level;
    l->len = strlen(message);
}

static void log_lines_go_to_the_callback(void **state)
{
    (void)state;
    lines l = {0};
    mm_logger log = {.level = MM_LOG_WARN, .callback = remember, .user = &l};
    mm_log(&log, MM_LOG_WARN, "%s %d", "warned", 1);
    mm_log(&log, MM_LOG_INFO, "dropped");
    assert_int_equal(l.n, 1);
    assert_string_equal(l.first, "warned 1");
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mm_log(&log, MM_LOG_ERROR, "%s!", big); /* longer than the stack buffer: still one whole line */
    assert_int_equal(l.n, 2);
    assert_int_equal(l.level, MM_LOG_ERROR);
    assert_int_equal(l.len, sizeof big);
    mm_logger quiet = {.level = MM_LOG_QUIET, .callback = remember, .user = &l};
    mm_log(&quiet, MM_LOG_ERROR, "never");
    mm_log(NULL, MM_LOG_ERROR, "nowhere");
    assert_int_equal(l.n, 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_agree),
        cmocka_unit_test(status_names),
        cmocka_unit_test(options_are_read_only_up_to_their_size),
        cmocka_unit_test(server_options_are_read_up_to_their_size),
        cmocka_unit_test(grid_writes_the_callers_element_size),
        cmocka_unit_test(log_lines_go_to_the_callback),
    };
    return tu_main(argc, argv, "api", tests, TU_COUNT(tests), NULL, 0);
}
