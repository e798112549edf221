/* Text folding for search: "Beyoncé" finds "beyonce", "MÖTLEY" finds "motley".
 *
 * Lower-cases ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals, replaces the accented Latin
 * letters of U+00C0..U+017F by their base letters (æ -> ae, ß -> ss, ø -> o, ł -> l), and drops combining
 * marks (U+0300..U+036F, how decomposed text spells accents). Everything else is copied as it is; bytes
 * that are not valid UTF-8 are copied too, so folding never loses a query. */
#include <string.h>

#include "musicmap/util.h"

static const char *const LATIN[0x180 - 0xC0] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y",
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Decodes one UTF-8 sequence of 2 or 3 bytes at p (enough for every letter folded here); returns its
 * length and sets *cp, or 0 when it is not one. */
static size_t decode(const unsigned char *p, unsigned *cp)
{
    if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
        *cp = ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        return *cp >= 0x80 ? 2 : 0;
    }
    if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
        *cp = ((unsigned)(p[0] & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return *cp >= 0x800 ? 3 : 0;
    }
    return 0;
}

static size_t encode(unsigned cp, char *out)
{
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static unsigned lower(unsigned cp)
{
    if ((cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F))
        return cp + 0x20; /* Greek and Cyrillic capitals */
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50; /* Cyrillic capitals with marks: Ё -> ё */
    return cp;
}

size_t mm_text_fold(const char *in, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)in;
    size_t len = 0;
    while (*p) {
        char piece[4];
        const char *src = piece;
        size_t n = 0, used = 1;
        unsigned cp;
        if (*p < 0x80) {
            piece[0] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            n = 1;
        } else if ((used = decode(p, &cp)) == 0) {
            piece[0] = (char)*p; /* not UTF-8: as it is */
            n = used = 1;
        } else if (cp >= 0x300 && cp <= 0x36F) {
            n = 0; /* a combining accent */
        } else if (cp >= 0xC0 && cp < 0x180 && LATIN[cp - 0xC0]) {
            src = LATIN[cp - 0xC0];
            n = strlen(src);
        } else {
            n = encode(lower(cp), piece);
        }
        if (len + n + 1 > cap)
            break; /* whole characters only */
        memcpy(out + len, src, n);
        len += n;
        p += used;
    }
    out[len] = '\0';
    return len;
}
