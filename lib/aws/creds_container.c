/* The container credentials endpoint (ECS, EKS Pod Identity):
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with an
 * authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE). */
#include "aws/creds_int.h"

#include "base/env.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The container endpoint over plain http must stay on this host or the
 * ECS/EKS agent: a token must never leave for anywhere else. */
static int container_host_ok(const char *url)
{
    static const char *const ok[] = {"127.",          "localhost",      "[::1]",
                                     "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"};
    const char *h;
    size_t i, hl;

    if (strncmp(url, "https://", 8) == 0)
        return 1;
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    h = url + 7;
    hl = strcspn(h, "/?#");
    for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        size_t n = strlen(ok[i]);
        if (hl < n || strncasecmp(h, ok[i], n) != 0)
            continue;
        if (ok[i][n - 1] == '.') /* 127.0.0.0/8 */
            return 1;
        if (h[n] == ':' || h[n] == '/' || h[n] == '\0' || h[n] == '?')
            return 1;
    }
    return 0;
}

int jb_creds_from_container(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                            size_t notelen, char *err, size_t errlen)
{
    const char *rel = jb_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = jb_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tokfile = jb_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tokenv = jb_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct jb_http_options dflt;
    struct jb_http_response resp = {0};
    struct jb_http_request req = {0};
    struct jb_kv hdr;
    char url[1024], *token = NULL, *filetok = NULL;
    size_t toklen = 0, filelen = 0;
    int rc, attempt;

    (void)note;
    (void)notelen;
    if (rel == NULL && full == NULL)
        return 0;
    if (rel != NULL) {
        if (rel[0] != '/')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
        if (snprintf(url, sizeof(url), "http://169.254.170.2%s", rel) >= (int)sizeof(url))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
    } else {
        if (!container_host_ok(full))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI: over http the host must be "
                          "loopback or the container agent");
        if (snprintf(url, sizeof(url), "%s", full) >= (int)sizeof(url))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
    }
    if (tokfile != NULL) {
        /* Read at every fetch: the agent rotates the file. */
        if ((rc = jb_file_read(tokfile, 16384, &filetok, &filelen, err, errlen)) != 0)
            return jb_err(err, errlen, rc == JB_ERR_NOTFOUND ? JB_ERR_AUTH : rc,
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read %.300s", tokfile);
        toklen = filelen;
        while (toklen && isspace((unsigned char)filetok[toklen - 1]))
            toklen--;
        token = filetok;
    } else if (tokenv != NULL) {
        token = (char *)tokenv;
        toklen = strlen(tokenv);
    }
    if (token != NULL && !jb_creds_header_safe(token, toklen)) {
        rc = jb_err(err, errlen, JB_ERR_INVALID,
                    "container authorization token holds control characters or is empty");
        goto out;
    }
    if (token != NULL) {
        if (filetok != NULL)
            filetok[toklen] = '\0';
        hdr = (struct jb_kv){"Authorization", token};
        req.headers = &hdr;
        req.nheaders = 1;
    }
    req.method = "GET";
    req.url = url;
    /* The agent can be briefly unavailable: a few tries, never endless. */
    for (attempt = 1;; attempt++) {
        jb_http_response_free(&resp);
        rc = jb_http_do(&req, jb_creds_http_opts(p, &dflt, 2000), &resp, err, errlen);
        if ((rc == 0 && resp.status < 500) || attempt >= 3)
            break;
        usleep(100000u * (unsigned)attempt);
    }
    if (rc != 0) {
        char detail[JB_ERRLEN];
        snprintf(detail, sizeof(detail), "%s", err ? err : "");
        rc = jb_err(err, errlen, rc, "container credentials endpoint: %s", detail);
        goto out;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "container credentials endpoint answered HTTP %ld",
                    resp.status);
        goto out;
    }
    rc = jb_creds_parse_json("container credentials endpoint", resp.body, resp.bodylen, "Token", 0,
                             jb_creds_now(p), "container", out, err, errlen);
    rc = rc == 0 ? 1 : rc;
out:
    if (filetok != NULL) {
        jb_secret_wipe(filetok, filelen);
        free(filetok);
    }
    jb_http_response_free(&resp);
    return rc;
}
