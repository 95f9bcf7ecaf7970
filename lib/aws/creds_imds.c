/* EC2 instance metadata, IMDSv2 only: a session token by PUT, then the
 * instance role's credentials with it. */
#include "aws/creds_int.h"

#include "base/env.h"
#include "base/err.h"
#include "base/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define IMDS_TTL "21600"

static int imds_get(const char *base, const char *path, const char *method, const char *hname,
                    const char *hval, const struct jb_http_options *o,
                    struct jb_http_response *resp, char *err, size_t errlen)
{
    struct jb_http_request req = {0};
    struct jb_kv h = {hname, hval};
    char url[1024];

    if (snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url))
        return jb_err(err, errlen, JB_ERR_INVALID, "IMDS: URL is too long");
    req.method = method;
    req.url = url;
    req.headers = &h;
    req.nheaders = 1;
    return jb_http_do(&req, o, resp, err, errlen);
}

int jb_creds_from_imds(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                       size_t notelen, char *err, size_t errlen)
{
    static const char role_path[] = "/latest/meta-data/iam/security-credentials/";
    const char *dis = jb_env("AWS_EC2_METADATA_DISABLED"),
               *ep = jb_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct jb_http_options dflt;
    const struct jb_http_options *o = jb_creds_http_opts(p, &dflt, 1000);
    struct jb_http_response resp = {0};
    char base[512], *token = NULL, role[130], path[256], ierr[JB_ERRLEN] = "";
    size_t n, i;
    int rc;

    if (dis != NULL && strcasecmp(dis, "true") == 0) {
        snprintf(note, notelen, "disabled by AWS_EC2_METADATA_DISABLED");
        return 0;
    }
    if (ep == NULL)
        ep = "http://169.254.169.254";
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL");
    n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    if (n >= sizeof(base))
        return jb_err(err, errlen, JB_ERR_INVALID, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    memcpy(base, ep, n);
    base[n] = '\0';

    /* Not answering at all means "not on EC2": the chain reports it at the end. */
    rc = imds_get(base, "/latest/api/token", "PUT", "X-aws-ec2-metadata-token-ttl-seconds",
                  IMDS_TTL, o, &resp, ierr, sizeof(ierr));
    if (rc != 0) {
        snprintf(note, notelen, "%.250s", ierr);
        return 0;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: token request answered HTTP %ld", resp.status);
        goto out;
    }
    n = resp.bodylen;
    while (n && isspace((unsigned char)resp.body[n - 1]))
        n--;
    if (n > 4096 || !jb_creds_header_safe(resp.body, n)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: session token is malformed");
        goto out;
    }
    if ((token = jb_secret_alloc(n + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "IMDS: out of locked memory");
        goto out;
    }
    memcpy(token, resp.body, n);
    token[n] = '\0';

    jb_http_response_free(&resp);
    if ((rc = imds_get(base, role_path, "GET", "X-aws-ec2-metadata-token", token, o, &resp, err,
                       errlen)) != 0)
        goto out;
    if (resp.status == 404) {
        snprintf(note, notelen, "no instance role attached");
        rc = 0;
        goto out;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: role list answered HTTP %ld", resp.status);
        goto out;
    }
    n = strcspn(resp.body, "\r\n");
    if (n == 0 || n >= sizeof(role)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: role name is missing or too long");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)resp.body[i]) && strchr("+=,.@_-", resp.body[i]) == NULL) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: role name is malformed");
            goto out;
        }
    memcpy(role, resp.body, n);
    role[n] = '\0';
    snprintf(path, sizeof(path), "%s%s", role_path, role);
    jb_http_response_free(&resp);
    if ((rc = imds_get(base, path, "GET", "X-aws-ec2-metadata-token", token, o, &resp, err,
                       errlen)) != 0)
        goto out;
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: credentials of role %s answered HTTP %ld",
                    role, resp.status);
        goto out;
    }
    rc = jb_creds_parse_json("IMDS role credentials", resp.body, resp.bodylen, "Token", 0,
                             jb_creds_now(p), "imds", out, err, errlen);
    rc = rc == 0 ? 1 : rc;
out:
    jb_secret_free(token);
    jb_http_response_free(&resp);
    return rc;
}
