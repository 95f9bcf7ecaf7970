/* The caller's public address (myip.h), asked of a checkip service and
 * validated as an IPv4 or IPv6 address before it becomes a /32 or /128. */
#include "net/myip.h"

#include "base/err.h"
#include "net/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jb_my_ip_cidr(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
    struct jb_http_options opts = {
        .connect_timeout_ms = 5000, .total_timeout_ms = 10000, .max_body = 256, .max_attempts = 1};
    struct jb_http_request req = {.method = "GET"};
    struct jb_http_response resp;
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN + 1];
    size_t n;
    int rc, v6;

    req.url = url && *url ? url : JB_CHECKIP_DEFAULT_URL;
    memset(&resp, 0, sizeof(resp));
    if ((rc = jb_http_do(&req, &opts, &resp, err, errlen)) != 0)
        goto out;
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_HTTP, "%s answered HTTP %ld", req.url, resp.status);
        goto out;
    }
    n = resp.body ? resp.bodylen : 0;
    while (n > 0 && isspace((unsigned char)resp.body[n - 1]))
        n--;
    if (n == 0 || n >= sizeof(text)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: the answer is not an IP address", req.url);
        goto out;
    }
    memcpy(text, resp.body, n);
    text[n] = '\0';
    v6 = inet_pton(AF_INET6, text, addr) == 1;
    if (!v6 && inet_pton(AF_INET, text, addr) != 1) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: the answer is not an IP address", req.url);
        goto out;
    }
    if (snprintf(out, outlen, "%s/%d", text, v6 ? 128 : 32) >= (int)outlen)
        rc = jb_err(err, errlen, JB_ERR_INVALID, "address too long");
out:
    jb_http_response_free(&resp);
    return rc;
}
