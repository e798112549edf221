/* The security headers of every response the server makes (libmicrohttpd's own answers to requests it
 * can't parse are the only ones without them). */
#include <microhttpd.h>
#include <string.h>

#include "internal.h"

/* the page needs nothing from elsewhere: say so, so an injected script could not reach out */
static const char PAGE_CSP[] = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                               "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'";
/* audio opened on its own gets the browser's player, which needs the media itself */
static const char MEDIA_CSP[] = "default-src 'none'; media-src 'self'; frame-ancestors 'none'";
/* data, scripts, styles and errors are never documents that should run or load anything */
static const char DATA_CSP[] = "default-src 'none'; frame-ancestors 'none'";

void srv_security_headers(struct MHD_Response *r, const char *content_type)
{
    const char *ct = content_type ? content_type : "";
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            strncmp(ct, "text/html", 9) == 0 ? PAGE_CSP
                            : strncmp(ct, "audio/", 6) == 0  ? MEDIA_CSP
                                                             : DATA_CSP);
}
