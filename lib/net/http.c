#include "net/http.h"

#include "net/curl_dl.h"
#include "base/err.h"
#include "crypto/keys.h"
#include "base/strbuf.h"

#include <cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <sodium.h>

#define DEF_CONNECT_MS 5000L
#define DEF_TOTAL_MS 60000L
#define DEF_MAX_BODY (16u << 20)
#define DEF_ATTEMPTS 3
#define MAX_HEADERS 200

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int jb_http_init(char *err, size_t errlen)
{
    int rc;

    if ((rc = jb_curl_load(err, errlen)) != 0)
        return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return jb_err(err, errlen, JB_ERR_HTTP, "http: libcurl failed to initialise");
    return 0;
}

const char *jb_http_header(const struct jb_http_response *resp, const char *name)
{
    size_t i;

    for (i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

static void free_headers(struct jb_http_response *resp)
{
    size_t i;

    for (i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->nheaders = 0;
}

void jb_http_response_free(struct jb_http_response *resp)
{
    if (resp == NULL)
        return;
    /* Bodies carry credentials (IMDS, container endpoint): wipe them. */
    if (resp->body != NULL) {
        OPENSSL_cleanse(resp->body, resp->bodylen);
        free(resp->body);
    }
    free_headers(resp);
    memset(resp, 0, sizeof(*resp));
}

struct recv {
    struct jb_strbuf body;
    size_t max;
    int too_big;
    struct jb_http_response *resp;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct recv *r = ud;
    size_t len = size * n;

    if (r->body.len + len > r->max) {
        r->too_big = 1;
        return 0;
    }
    jb_sb_add(&r->body, ptr, len);
    return r->body.failed ? 0 : len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct recv *r = ud;
    struct jb_http_response *resp = r->resp;
    size_t len = size * n, nlen;
    const char *colon, *v;
    struct jb_http_header *nh;

    if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        free_headers(resp); /* a new response (after 100 Continue) */
        return len;
    }
    colon = memchr(ptr, ':', len);
    if (colon == NULL || resp->nheaders >= MAX_HEADERS)
        return len;
    nlen = (size_t)(colon - ptr);
    v = colon + 1;
    while (v < ptr + len && (*v == ' ' || *v == '\t'))
        v++;
    len = (size_t)(ptr + len - v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    nh = realloc(resp->headers, (resp->nheaders + 1) * sizeof(*nh));
    if (nh == NULL)
        return 0;
    resp->headers = nh;
    nh[resp->nheaders].name = strndup(ptr, nlen);
    nh[resp->nheaders].value = strndup(v, len);
    if (nh[resp->nheaders].name == NULL || nh[resp->nheaders].value == NULL) {
        free(nh[resp->nheaders].name);
        free(nh[resp->nheaders].value);
        return 0;
    }
    resp->nheaders++;
    return size * n;
}

static int append_raw(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);

    if (n == NULL)
        return -1;
    *list = n;
    return 0;
}

static int header_line(struct curl_slist **list, const char *name, const char *value)
{
    struct jb_strbuf sb = {0};
    struct curl_slist *n;
    char *line;

    if (value[0] == '\0')
        jb_sb_addf(&sb, "%s;", name); /* curl's way to send an empty header */
    else
        jb_sb_addf(&sb, "%s: %s", name, value);
    if ((line = jb_sb_take(&sb)) == NULL)
        return -1;
    n = curl_slist_append(*list, line);
    OPENSSL_cleanse(line, strlen(line)); /* may be a session token */
    free(line);
    if (n == NULL)
        return -1;
    *list = n;
    return 0;
}

static int do_once(const struct jb_http_request *req, const struct jb_http_options *opts,
                   struct jb_http_response *resp, int *curl_failed, char *err, size_t errlen)
{
    struct recv r = {.resp = resp};
    struct curl_slist *hl = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    const char *ca = getenv("AWS_CA_BUNDLE");
    int has_ctype = 0, rc = JB_ERR_NOMEM;
    CURLcode cc;
    CURL *c = NULL;
    size_t i;

    memset(resp, 0, sizeof(*resp));
    *curl_failed = 0;
    r.max = opts && opts->max_body ? opts->max_body : DEF_MAX_BODY;
    if ((rc = jb_http_init(err, errlen)) != 0)
        return rc;
    rc = JB_ERR_NOMEM;
    if (req->method == NULL || req->url == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "http: method and url are required");
    if ((c = curl_easy_init()) == NULL)
        goto out;
    for (i = 0; i < req->nheaders; i++) {
        has_ctype |= strcasecmp(req->headers[i].key, "content-type") == 0;
        if (header_line(&hl, req->headers[i].key, req->headers[i].value) != 0)
            goto out;
    }
    /* "Name:" removes a header curl would add: no 100-continue round trip,
     * and no form content type for a POSTFIELDS body. */
    if (append_raw(&hl, "Expect:") != 0 || (!has_ctype && append_raw(&hl, "Content-Type:") != 0))
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca != NULL && ca[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    /* The path is sent exactly as it was signed: no dot-segment squashing. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : DEF_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     opts && opts->total_timeout_ms ? opts->total_timeout_ms : DEF_TOTAL_MS);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jumpbox");
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0 || req->bodylen) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->bodylen);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        jb_sb_free(&r.body);
        free_headers(resp);
        if (r.too_big) {
            rc = jb_err(err, errlen, JB_ERR_HTTP, "http: %s %s: response body exceeds %zu bytes",
                        req->method, req->url, r.max);
            goto out;
        }
        *curl_failed = 1;
        rc = jb_err(err, errlen, cc == CURLE_OPERATION_TIMEDOUT ? JB_ERR_TIMEOUT : JB_ERR_HTTP,
                    "http: %s %s: %s", req->method, req->url,
                    cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (r.body.p == NULL)
        jb_sb_add(&r.body, "", 0);
    resp->bodylen = r.body.len;
    if ((resp->body = jb_sb_take(&r.body)) == NULL) {
        free_headers(resp);
        goto out;
    }
    rc = 0;
out:
    if (rc == JB_ERR_NOMEM)
        jb_err(err, errlen, rc, "http: out of memory");
    jb_sb_free(&r.body);
    curl_slist_free_all(hl);
    if (c != NULL)
        curl_easy_cleanup(c);
    return rc;
}

int jb_http_do(const struct jb_http_request *req, const struct jb_http_options *opts,
               struct jb_http_response *resp, char *err, size_t errlen)
{
    int failed, rc = do_once(req, opts, resp, &failed, err, errlen);

    if (rc == 0)
        resp->attempts = 1;
    return rc;
}

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

int jb_http_retryable(int curl_failed, long status, const char *aws_code)
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

long jb_http_backoff_ms(int attempt, double r)
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

/* Copies the text between <tag> and </tag> in an XML error body. */
static void xml_field(const char *body, const char *tag, char *out, size_t outlen)
{
    char open[40], close[40];
    const char *s, *e;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if ((s = strstr(body, open)) == NULL)
        return;
    s += strlen(open);
    if ((e = strstr(s, close)) == NULL)
        return;
    snprintf(out, outlen, "%.*s", (int)(e - s), s);
}

static void copy_printable(char *out, size_t outlen, const char *in, size_t len)
{
    size_t i, j = 0;

    for (i = 0; i < len && j + 1 < outlen; i++)
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[j] = '\0';
}

/* Error code and message from whichever form the service answered in:
 * X-Amzn-ErrorType header, JSON {"__type"|"code"|"Type", "message"}, or
 * S3's XML <Error><Code>. */
static void parse_aws_error(struct jb_http_response *resp)
{
    char code[sizeof(resp->aws_code)] = "", msg[sizeof(resp->aws_message)] = "";
    const char *h = jb_http_header(resp, "x-amzn-errortype"), *p;
    cJSON *j;

    resp->aws_code[0] = resp->aws_message[0] = '\0';
    if (resp->status < 300 || resp->body == NULL)
        return;
    if (h != NULL)
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(h, ":"), h);
    if ((j = cJSON_ParseWithLength(resp->body, resp->bodylen)) != NULL) {
        static const char *const ck[] = {"__type", "code", "Code", "Type"};
        static const char *const mk[] = {"message", "Message", "errorMessage"};
        size_t i;
        for (i = 0; !code[0] && i < sizeof(ck) / sizeof(*ck); i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(j, ck[i]);
            if (cJSON_IsString(v))
                snprintf(code, sizeof(code), "%s", v->valuestring);
        }
        for (i = 0; !msg[0] && i < sizeof(mk) / sizeof(*mk); i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(j, mk[i]);
            if (cJSON_IsString(v))
                snprintf(msg, sizeof(msg), "%s", v->valuestring);
        }
        cJSON_Delete(j);
    } else if (memchr(resp->body, '<', resp->bodylen) != NULL) {
        if (!code[0])
            xml_field(resp->body, "Code", code, sizeof(code));
        xml_field(resp->body, "Message", msg, sizeof(msg));
    }
    /* As botocore's JSON parser: "ns#ThrottlingException:http://..." and
     * "aws.protocoltests#ThrottlingException" -> "ThrottlingException". */
    code[strcspn(code, ":")] = '\0';
    p = strrchr(code, '#');
    p = p ? p + 1 : code;
    copy_printable(resp->aws_code, sizeof(resp->aws_code), p, strlen(p));
    copy_printable(resp->aws_message, sizeof(resp->aws_message), msg, strlen(msg));
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
    v = getenv(var);
    if (v == NULL || v[0] == '\0') {
        snprintf(var, sizeof(var), "AWS_ENDPOINT_URL");
        v = getenv(var);
    }
    if (v != NULL && v[0] != '\0') {
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
                       struct jb_http_response *resp, int *curl_failed, char *err, size_t errlen)
{
    const struct jb_aws_creds *creds;
    struct jb_sigv4_request sr = {0};
    struct jb_sigv4_result sig;
    struct jb_http_request hr = {0};
    struct jb_kv *h = NULL;
    size_t n = 0, i;
    int rc;

    *curl_failed = 0;
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
    rc = do_once(&hr, call->opts, resp, curl_failed, err, errlen);
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
    if ((rc = jb_keys_init(err, errlen)) != 0)
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
        rc = one_attempt(call, url, host, resp, &curl_failed, err, errlen);
        if (rc == 0) {
            parse_aws_error(resp);
            resp->attempts = attempt;
        } else if (!curl_failed) {
            break; /* credentials, signing, body cap: retrying would not help */
        }
        if (!jb_http_retryable(curl_failed, rc == 0 ? resp->status : 0,
                               rc == 0 ? resp->aws_code : NULL) ||
            attempt >= attempts)
            break;
        {
            double r = o && o->rand01 ? o->rand01(o->ctx) : default_rand(NULL);
            long ms = jb_http_backoff_ms(attempt, r);
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
