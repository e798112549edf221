/* A main for the fuzz targets without libFuzzer: runs each file given (or each file in each folder
 * given) through the target once, as libFuzzer would replay a corpus. `--seeds DIR` first writes the
 * target's generated seeds into DIR (created). CI runs this over tests/fuzz/corpus/TARGET on every build
 * (under ASan/UBSan in the sanitizer build): every crash a fuzzer ever found stays fixed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int fuzz_make_seeds(const char *dir)
{
    (void)dir;
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    /* an exact-size copy, as libFuzzer hands over: a read past the input is then ASan's to catch */
    unsigned char *exact = buf ? malloc(n ? n : 1) : NULL;
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (run_path(sub, count) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", argv[i + 1]);
            for (char *p = dir + 1; *p; p++)
                if (*p == '/') {
                    *p = '\0';
                    mkdir(dir, 0700);
                    *p = '/';
                }
            mkdir(dir, 0700);
            int n = fuzz_make_seeds(argv[++i]);
            if (n < 0) {
                fprintf(stderr, "replay: could not write the seeds into %s\n", argv[i]);
                return 1;
            }
            continue;
        }
        if (run_path(argv[i], &count) != 0)
            rc = 1;
    }
    printf("replayed %d inputs\n", count);
    return rc;
}
