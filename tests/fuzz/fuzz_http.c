/* The HTTP request's text as the server parses it, in-process: the path (percent-decoded as the server
 * does), routed by the API's prefixes into an id and the rest, the query numbers, the Range header
 * against a file size, the Host check, the origin a playlist's links are made from, and the token check.
 * Input: five fields separated by '\n': path, query value, Range header, Host header, Authorization
 * header. Invariants: decoding never grows a string, an id is positive, a range lies inside the file,
 * an origin holds no character that could end a line or leave the URL's authority, the token check lets
 * in exactly the token. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/server/internal.h"
#include "fuzz.h"

static char *field(char **cursor)
{
    char *s = *cursor;
    if (!s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = NULL;
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size), *cursor = text;
    char *url = field(&cursor), *query = field(&cursor), *range = field(&cursor), *host = field(&cursor),
         *authorization = field(&cursor);
    size_t before = strlen(url);
    if (srv_unescape(url) > before)
        fuzz_fail("unescape grew the string");
    static const char *const prefixes[] = {"/api/maps/", "/api/tracks/"};
    for (int p = 0; p < 2; p++) {
        int64_t id = 0;
        const char *rest = NULL;
        int r = srv_id_route(url, prefixes[p], &id, &rest);
        if (r == 0 && (id <= 0 || !rest || rest < url || rest > url + strlen(url)))
            fuzz_fail("id route: a bad id or rest accepted");
    }
    if (query) {
        long v;
        if (srv_query_int(query, 1, 200, 20, &v) == 0 && (v < 1 || v > 200))
            fuzz_fail("query number outside its bounds");
    }
    if (range) {
        static const int64_t sizes[] = {0, 1, 1000, 1LL << 40};
        for (int k = 0; k < 4; k++) {
            int64_t start = -1, end = -1;
            int r = srv_parse_range(range, sizes[k], &start, &end);
            if (r > 0 && (start < 0 || end < start || end >= sizes[k]))
                fuzz_fail("range outside the file");
        }
    }
    if (host) {
        (void)srv_loopback_host(host);
        char origin[300];
        for (int tls = 0; tls < 2; tls++)
            if (srv_origin_from_host(host, tls, origin, sizeof origin) == 0 &&
                (strncmp(origin, tls ? "https://" : "http://", tls ? 8 : 7) != 0 ||
                 strcspn(origin + (tls ? 8 : 7), "/?#@ \r\n\\") != strlen(origin) - (tls ? 9 : 8)))
                fuzz_fail("an origin that could break a line or a URL");
    }
    if (authorization) {
        /* let in: "Bearer" (any case), spaces, the token, nothing but spaces after; the exact form always */
        static const char token[] = "0123456789abcdef0123456789abcdef";
        const char *at = strlen(authorization) >= 7 ? strstr(authorization + 7, token) : NULL;
        int well_formed = at && strncasecmp(authorization, "bearer ", 7) == 0 &&
                          strspn(authorization + 7, " ") == (size_t)(at - authorization - 7) &&
                          strspn(at + sizeof token - 1, " ") == strlen(at + sizeof token - 1);
        int ok = srv_auth_ok(token, authorization, NULL);
        if (ok && !well_formed)
            fuzz_fail("the token check let in a wrong token");
        char exact[64];
        snprintf(exact, sizeof exact, "Bearer %s", token);
        if (strcmp(authorization, exact) == 0 && !ok)
            fuzz_fail("the token check kept out the right one");
        if (srv_auth_ok(token, NULL, authorization) != (strcmp(authorization, token) == 0))
            fuzz_fail("the query token check differs from plain equality");
    }
    free(text);
    return 0;
}

int fuzz_make_seeds(const char *dir)
{
    static const char *const seeds[] = {
        "/api/tracks/12/audio\n12\nbytes=0-99\n127.0.0.1:8080\nBearer 0123456789abcdef0123456789abcdef",
        "/api/playlist\n1\nbytes=0-\nmusic.example:8080\nbearer  0123456789abcdef0123456789abcdeF ",
        "/api/maps/3/points\n200\nbytes=-500\nlocalhost",
        "/api/tracks/%31%32/similar\n0\nbytes=100-\n[::1]:80",
        "/index.html%00.js\n99999999999999\nbytes=5-2\nevil.example",
        "/api/tracks/1%2f..%2f..%2fetc%2fpasswd\n-1\nbytes=0-0,5-9\n",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "req%zu", i);
        if (fuzz_write_seed(dir, name, seeds[i], strlen(seeds[i])))
            return -1;
    }
    return (int)(sizeof seeds / sizeof seeds[0]);
}
