/* Signed, retried AWS calls (request.h): each attempt is signed afresh (a
 * retry may cross a credentials refresh), and endpoints are resolved the
 * way botocore does, from AWS_ENDPOINT_URL[_SERVICE]. */
#include "aws/request.h"

#include "base/env.h"
#include "base/err.h"
#include "base/secret.h"
#include "base/strbuf.h"
#include "aws/aws_error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define DEF_ATTEMPTS 3

/* botocore's retries/standard.py: throttling and transient error codes. */
static const char *const retry_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
};

int jb_aws_retryable(int curl_failed, long status, const char *aws_code)
{
    size_t i;

    if (curl_failed)
        return 1;
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
        return 1;
    if (status >= 400 && aws_code != NULL)
        for (i = 0; i < sizeof(retry_codes) / sizeof(*retry_codes); i++)
            if (strcmp(aws_code, retry_codes[i]) == 0)
                return 1;
    return 0;
}

long jb_aws_backoff_ms(int attempt, double r)
{
    long cap = 1000;
    int i;

    if (r < 0 || r >= 1)
        r = 0;
    for (i = 1; i < attempt && cap < 20000; i++)
        cap *= 2;
    if (cap > 20000)
        cap = 20000;
    return (long)(r * (double)cap);
}

static int valid_service(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 40)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
            return 0;
    return 1;
}

int jb_aws_endpoint(const char *service, const char *region, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    return jb_aws_endpoint_for(service, service, region, out, outlen, err, errlen);
}

int jb_aws_endpoint_for(const char *service_id, const char *prefix, const char *region, char *out,
                        size_t outlen, char *err, size_t errlen)
{
    char var[80];
    const char *v;
    size_t i, n;

    if (!valid_service(service_id) || !valid_service(prefix))
        return jb_err(err, errlen, JB_ERR_INVALID, "endpoint: service name is invalid");
    n = (size_t)snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", service_id);
    for (i = 0; i < n; i++)
        var[i] = var[i] == '-' ? '_' : (char)toupper((unsigned char)var[i]);
    if ((v = jb_env(var)) == NULL) {
        snprintf(var, sizeof(var), "AWS_ENDPOINT_URL");
        v = jb_env(var);
    }
    if (v != NULL) {
        n = strlen(v);
        while (n && v[n - 1] == '/')
            n--;
        if (n >= outlen)
            return jb_err(err, errlen, JB_ERR_INVALID, "endpoint: %s is too long", var);
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    if (!valid_service(region))
        return jb_err(err, errlen, JB_ERR_INVALID, "endpoint: region is missing or invalid");
    if ((size_t)snprintf(out, outlen, "https://%s.%s.amazonaws.com", prefix, region) >= outlen)
        return jb_err(err, errlen, JB_ERR_INVALID, "endpoint: too long");
    return 0;
}

/* Splits "scheme://host[:port][/]" into the base URL and the Host header. */
static int parse_endpoint(const char *ep, char *base, size_t baselen, char *host, size_t hostlen,
                          char *err, size_t errlen)
{
    const char *a, *end;
    size_t alen, i;
    int https;

    if (strncmp(ep, "https://", 8) == 0)
        https = 1;
    else if (strncmp(ep, "http://", 7) == 0)
        https = 0;
    else
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "endpoint '%.200s' must start with http:// or https://", ep);
    a = ep + (https ? 8 : 7);
    end = a + strcspn(a, "/?#");
    alen = (size_t)(end - a);
    if (alen == 0 || memchr(a, '@', alen) != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "endpoint '%.200s' has no usable host", ep);
    if (*end != '\0' && strcmp(end, "/") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "endpoint '%.200s' must not carry a path or query", ep);
    if (alen >= hostlen || (size_t)(end - ep) >= baselen)
        return jb_err(err, errlen, JB_ERR_INVALID, "endpoint '%.200s' is too long", ep);
    memcpy(base, ep, (size_t)(end - ep));
    base[end - ep] = '\0';
    memcpy(host, a, alen);
    host[alen] = '\0';
    for (i = 0; i < alen; i++) {
        if ((unsigned char)host[i] <= ' ' || (unsigned char)host[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_INVALID, "endpoint host is invalid");
        host[i] = (char)tolower((unsigned char)host[i]);
    }
    /* Like botocore's _host_from_url: the default port is not in Host. */
    {
        const char *colon = strrchr(host, ':');
        const char *dflt = https ? ":443" : ":80";
        if (colon != NULL && strchr(colon, ']') == NULL && strcmp(colon, dflt) == 0)
            host[colon - host] = '\0';
    }
    return 0;
}

static void default_sleep(void *ctx, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    (void)ctx;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double default_rand(void *ctx)
{
    (void)ctx;
    return (double)randombytes_uniform(1u << 30) / (double)(1u << 30);
}

static int max_attempts(const struct jb_http_options *opts, char *err, size_t errlen)
{
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    char *end;
    long n;

    if (opts && opts->max_attempts > 0)
        return opts->max_attempts;
    if (v == NULL || v[0] == '\0')
        return DEF_ATTEMPTS;
    n = strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 50)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "AWS_MAX_ATTEMPTS must be a whole number from 1 to 50");
    return (int)n;
}

/* URL and wire path + query, built from the raw call. */
static int build_url(const struct jb_aws_call *call, const char *base, char **url)
{
    struct jb_strbuf sb = {0};
    char *path = NULL, *k = NULL, *v = NULL;
    size_t i;
    int rc;

    *url = NULL;
    if ((rc = jb_sigv4_wire_path(call->service, call->path, &path)) != 0)
        return rc;
    jb_sb_adds(&sb, base);
    jb_sb_adds(&sb, path);
    for (i = 0; i < call->nquery; i++) {
        const char *rv = call->query[i].value;
        if ((rc = jb_uri_encode(call->query[i].key, strlen(call->query[i].key), 0, &k)) != 0 ||
            (rv != NULL && (rc = jb_uri_encode(rv, strlen(rv), 0, &v)) != 0))
            goto out;
        /* A NULL value is a bare subresource ("?delete"), signed as "delete=". */
        jb_sb_addf(&sb, "%c%s%s%s", i ? '&' : '?', k, v ? "=" : "", v ? v : "");
        free(k);
        free(v);
        k = v = NULL;
    }
    if ((*url = jb_sb_take(&sb)) == NULL)
        rc = JB_ERR_NOMEM;
out:
    free(path);
    free(k);
    free(v);
    jb_sb_free(&sb);
    return rc;
}

static int one_attempt(const struct jb_aws_call *call, const char *url, const char *host,
                       struct jb_http_response *resp, char *err, size_t errlen)
{
    const struct jb_aws_creds *creds;
    struct jb_sigv4_request sr = {0};
    struct jb_sigv4_result sig;
    struct jb_http_request hr = {0};
    struct jb_kv *h = NULL;
    size_t n = 0, i;
    int rc;

    if ((rc = jb_creds_get(call->creds, &creds, err, errlen)) != 0)
        return rc;
    sr.method = call->method;
    sr.host = host;
    sr.path = call->path;
    sr.query = call->query;
    sr.nquery = call->nquery;
    sr.headers = call->headers;
    sr.nheaders = call->nheaders;
    sr.body = call->body;
    sr.bodylen = call->bodylen;
    sr.payload_hash = (call->unsigned_payload && strcmp(call->service, "s3") == 0 &&
                       strncmp(url, "https://", 8) == 0)
                          ? JB_SIGV4_UNSIGNED_PAYLOAD
                          : NULL;
    sr.service = call->service;
    sr.region = call->region;
    sr.when = time(NULL); /* each attempt is signed afresh */
    if ((rc = jb_sigv4_sign(&sr, creds, &sig, err, errlen)) != 0)
        return rc;
    if ((h = calloc(call->nheaders + 5, sizeof(*h))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "http: out of memory");
    h[n++] = (struct jb_kv){"Host", host};
    h[n++] = (struct jb_kv){"X-Amz-Date", sig.amz_date};
    if (sig.send_content_sha256)
        h[n++] = (struct jb_kv){"X-Amz-Content-SHA256", sig.payload_hash};
    if (creds->session_token != NULL)
        h[n++] = (struct jb_kv){"X-Amz-Security-Token", creds->session_token};
    h[n++] = (struct jb_kv){"Authorization", sig.authorization};
    for (i = 0; i < call->nheaders; i++)
        h[n++] = call->headers[i];
    hr.method = call->method;
    hr.url = url;
    hr.headers = h;
    hr.nheaders = n;
    hr.body = call->body;
    hr.bodylen = call->bodylen;
    rc = jb_http_do(&hr, call->opts, resp, err, errlen);
    free(h);
    return rc;
}

int jb_aws_request(const struct jb_aws_call *call, struct jb_http_response *resp, char *err,
                   size_t errlen)
{
    const struct jb_http_options *o = call->opts;
    char ep[512], base[512], host[300];
    char *url = NULL;
    int attempts, attempt, curl_failed = 0, rc;

    memset(resp, 0, sizeof(*resp));
    if (call->service == NULL || call->method == NULL || call->creds == NULL ||
        (call->nquery && call->query == NULL) || (call->nheaders && call->headers == NULL))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "aws request: service, method and credentials are required");
    if (call->region == NULL || call->region[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "aws request: region is not set");
    if ((rc = jb_secret_init(err, errlen)) != 0)
        return rc;
    if ((attempts = max_attempts(o, err, errlen)) < 0)
        return attempts;
    if (call->endpoint != NULL) {
        if (snprintf(ep, sizeof(ep), "%s", call->endpoint) >= (int)sizeof(ep))
            return jb_err(err, errlen, JB_ERR_INVALID, "aws request: endpoint is too long");
    } else if ((rc = jb_aws_endpoint(call->service, call->region, ep, sizeof(ep), err, errlen)) !=
               0) {
        return rc;
    }
    if ((rc = parse_endpoint(ep, base, sizeof(base), host, sizeof(host), err, errlen)) != 0)
        return rc;
    if ((rc = build_url(call, base, &url)) != 0)
        return jb_err(err, errlen, rc, "aws request: out of memory");

    for (attempt = 1;; attempt++) {
        jb_http_response_free(resp);
        rc = one_attempt(call, url, host, resp, err, errlen);
        curl_failed = rc != 0 && resp->no_answer;
        if (rc == 0) {
            jb_aws_error_parse(resp->status, jb_http_header(resp, "x-amzn-errortype"), resp->body,
                               resp->bodylen, resp->aws_code, sizeof(resp->aws_code),
                               resp->aws_message, sizeof(resp->aws_message));
            resp->attempts = attempt;
        } else if (!curl_failed) {
            break; /* credentials, signing, body cap: retrying would not help */
        }
        if (!jb_aws_retryable(curl_failed, rc == 0 ? resp->status : 0,
                              rc == 0 ? resp->aws_code : NULL) ||
            attempt >= attempts)
            break;
        {
            double r = o && o->rand01 ? o->rand01(o->ctx) : default_rand(NULL);
            long ms = jb_aws_backoff_ms(attempt, r);
            if (o && o->sleep_ms)
                o->sleep_ms(o->ctx, ms);
            else
                default_sleep(NULL, ms);
        }
    }
    if (rc != 0 && curl_failed) {
        char detail[JB_ERRLEN];
        snprintf(detail, sizeof(detail), "%s", err ? err : "");
        rc = jb_err(err, errlen, rc, "%s %s: no answer after %d attempt%s: %s", call->service,
                    call->method, attempt, attempt == 1 ? "" : "s", detail);
    } else if (rc == 0 && (resp->status < 200 || resp->status > 299)) {
        jb_err(err, errlen, 0, "%s %s %.200s: HTTP %ld%s%s%s%s (after %d attempt%s)", call->service,
               call->method, call->path ? call->path : "/", resp->status,
               resp->aws_code[0] ? " " : "", resp->aws_code, resp->aws_message[0] ? ": " : "",
               resp->aws_message, attempt, attempt == 1 ? "" : "s");
    }
    free(url);
    return rc;
}

int jb_aws_client_init(struct jb_aws_client *c, const char *what, const char *region,
                       struct jb_creds_provider *creds, const struct jb_http_options *http,
                       char *err, size_t errlen)
{
    int rc;

    memset(c, 0, sizeof(*c));
    if (region) {
        if (region[0] == '\0' || strlen(region) >= sizeof(c->region))
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: region is empty or too long", what);
        strcpy(c->region, region);
    } else if ((rc = jb_aws_region(NULL, c->region, sizeof(c->region), err, errlen)) != 0) {
        return rc;
    }
    /* The region becomes part of a host name. */
    if (strspn(c->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->region))
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: region \"%.64s\" is not like us-east-1",
                      what, c->region);
    if (creds)
        c->creds = creds;
    else if ((rc = jb_creds_shared(&c->creds, err, errlen)) != 0)
        return rc;
    c->http = http;
    return 0;
}

void jb_aws_client_release(struct jb_aws_client *c)
{
    memset(c, 0, sizeof(*c));
}
