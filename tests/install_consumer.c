/* A program that uses libmusicmap the way an outside program would: only the installed headers and
 * pkg-config (tests/install_test.sh builds it against an installed tree, shared and static). It prints
 * what the test checks: the versions, a catalog opened and closed, a not-found status, a logged line. */
#include <musicmap/musicmap.h>

#include <stdio.h>
#include <string.h>

static void to_stdout(mm_log_level level, const char *message, void *user)
{
    printf("%s log %d: %s\n", (const char *)user, (int)level, message);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: install_consumer DIR\n");
        return 2;
    }
    printf("version %s %d (compiled with %s %d)\n", mm_version(), mm_version_number(), MM_VERSION_STRING,
           MM_VERSION_NUMBER);

    char path[4096];
    snprintf(path, sizeof path, "%s/library.db", argv[1]);
    mm_catalog *cat = NULL;
    mm_error err;
    if (mm_catalog_open(&cat, path, MM_CATALOG_CREATE, &err) != MM_OK) {
        fprintf(stderr, "install_consumer: %s\n", err.msg);
        return 1;
    }
    printf("catalog schema %d\n", mm_catalog_schema_version(cat));
    mm_model_record model;
    mm_status st = mm_catalog_get_model(cat, "nothing-here", &model, &err);
    printf("missing model: %s\n", mm_status_name(st));
    mm_catalog_close(cat);
    printf("catalog closed\n");

    mm_logger log = {.level = MM_LOG_INFO, .callback = to_stdout, .user = "consumer"};
    mm_log(&log, MM_LOG_INFO, "%d songs", 3);
    mm_log(&log, MM_LOG_DEBUG, "not shown");
    return 0;
}
