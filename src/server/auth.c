/* The access token of a server reachable beyond loopback: made once from the kernel's CSPRNG, kept in a
 * file only its owner can read, and checked on every API request without leaking by timing where a
 * guess went wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define TOKEN_BYTES 32 /* 256 bits: unguessable even at any request rate */

int srv_token_valid(const char *token)
{
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n > SRV_TOKEN_MAX)
        return 0;
    /* only characters that need no escaping in a URL or a header */
    for (const char *p = token; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.' || *p == '_' || *p == '~'))
            return 0;
    return 1;
}

static mm_status random_token(char token[SRV_TOKEN_MAX + 1], mm_error *err)
{
    unsigned char raw[TOKEN_BYTES];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return mm_error_set(err, MM_ERR_IO, "getrandom failed: %s", strerror(errno));
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    return MM_OK;
}

/* Reads an existing token file (*found 0 when there is none), refusing one that is not safely ours. */
static mm_status read_token(const char *path, char token[SRV_TOKEN_MAX + 1], int *found, mm_error *err)
{
    *found = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MM_OK;
        return mm_error_set(err, MM_ERR_IO, "can't open the token file %s: %s", path, strerror(errno));
    }
    struct stat sb;
    char buf[SRV_TOKEN_MAX + 2];
    ssize_t n = -1;
    const char *why = NULL;
    if (fstat(fd, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISREG(sb.st_mode))
        why = "not a regular file";
    else if (sb.st_uid != geteuid())
        why = "owned by another user";
    else if (sb.st_mode & 077)
        why = "others may read it (chmod 600 it, or delete it for a new token)";
    else if ((n = read(fd, buf, sizeof buf - 1)) < 0)
        why = strerror(errno);
    close(fd);
    if (why)
        return mm_error_set(err, MM_ERR_IO, "token file %s: %s", path, why);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!srv_token_valid(buf))
        return mm_error_set(err, MM_ERR_FORMAT, "token file %s holds no valid token (delete it for a new one)", path);
    memcpy(token, buf, strlen(buf) + 1);
    *found = 1;
    return MM_OK;
}

mm_status srv_token_file(const char *path, char token[SRV_TOKEN_MAX + 1], mm_error *err)
{
    int found;
    mm_status st = read_token(path, token, &found, err);
    if (st != MM_OK || found)
        return st;
    /* Written under a temporary name, then linked into place: link() fails if another process made
     * the file meanwhile, so two servers starting at once end up with the same token, and nobody
     * ever reads a half-written file. mkstemp creates it 0600. */
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = mm_error_set(err, MM_ERR_IO, "can't create the token file %s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    char fresh[SRV_TOKEN_MAX + 2];
    st = random_token(fresh, err);
    if (st == MM_OK) {
        size_t len = strlen(fresh);
        fresh[len++] = '\n';
        if (fchmod(fd, 0600) != 0 || write(fd, fresh, len) != (ssize_t)len || fsync(fd) != 0)
            st = mm_error_set(err, MM_ERR_IO, "can't write the token file %s: %s", path, strerror(errno));
    }
    close(fd);
    if (st == MM_OK && link(tmp, path) != 0 && errno != EEXIST)
        st = mm_error_set(err, MM_ERR_IO, "can't create the token file %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    if (st != MM_OK)
        return st;
    st = read_token(path, token, &found, err); /* ours, or the one another server linked first */
    if (st == MM_OK && !found)
        st = mm_error_set(err, MM_ERR_IO, "token file %s vanished", path);
    return st;
}

/* Equal strings, in a time that depends only on their lengths (never on where they differ). */
static int same_secret(const char *given, size_t given_len, const char *token)
{
    size_t n = strlen(token);
    unsigned diff = given_len != n;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
    return diff == 0;
}

int srv_auth_ok(const char *token, const char *authorization, const char *query_token)
{
    int ok = 0;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *t = authorization + 7;
        while (*t == ' ')
            t++;
        size_t len = strlen(t);
        while (len > 0 && t[len - 1] == ' ')
            len--;
        ok |= same_secret(t, len, token);
    }
    if (query_token)
        ok |= same_secret(query_token, strlen(query_token), token);
    return ok;
}

mm_status srv_read_pem(const char *path, char **out, mm_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mm_error_set(err, MM_ERR_IO, "can't open %s: %s", path, strerror(errno));
    /* certificates and keys are a few KiB; a big file is a wrong path, not PEM */
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return mm_error_set(err, MM_ERR_NOMEM, "out of memory");
    buf[n <= cap ? n : cap] = '\0';
    if (bad || n > cap || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        return mm_error_set(err, MM_ERR_FORMAT, "%s is not a PEM file", path);
    }
    *out = buf;
    return MM_OK;
}
