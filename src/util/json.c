/* JSON string escaping, written once for the CLI (to a FILE) and the server (to a buffer). */
#include "musicmap/util.h"

/* Length of the well-formed UTF-8 sequence starting at p (lead byte >= 0x80), 0 when it is not one.
 * Well-formed as RFC 3629 says (its table of byte ranges): no overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), no UTF-16 surrogates (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF); a fuzzer
 * found the three passing through when only the continuation bytes were checked. */
static int utf8_sequence_length(const unsigned char *p)
{
    unsigned char c = p[0];
    int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len)
        return 0;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int k = 2; k < len; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

void mm_json_write_string(const char *s, mm_json_writer write, void *ctx)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    write("\"", 1, ctx);
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            write(esc, 2, ctx);
            p++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            write(esc, 6, ctx);
            p++;
        } else if (c < 0x80) {
            /* runs of plain ASCII in one write */
            const unsigned char *q = p;
            while (*q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
                q++;
            write(p, (size_t)(q - p), ctx);
            p = q;
        } else {
            int len = utf8_sequence_length(p);
            if (len > 0) {
                write(p, (size_t)len, ctx);
                p += len;
            } else {
                write("\\ufffd", 6, ctx); /* not UTF-8: the replacement character */
                p++;
            }
        }
    }
    write("\"", 1, ctx);
}
