/* HTTP for AWS over libcurl.
 *
 * TLS peer and host verification are always on (CA bundle from
 * AWS_CA_BUNDLE when set).  jb_aws_request signs every attempt afresh and
 * retries the AWS "standard" way: at most 3 attempts (AWS_MAX_ATTEMPTS),
 * exponential backoff with full jitter (base 1 s, cap 20 s, as botocore), on
 * throttling (429; 400/403/503 with Throttling, ThrottlingException,
 * SlowDown, RequestLimitExceeded, ... in the body), on 500/502/503/504 and on
 * connection errors.  Any other 4xx is returned at once. */
#ifndef JB_HTTP_H
#define JB_HTTP_H

#include <stddef.h>

#include "aws/creds.h"
#include "aws/sigv4.h"

struct jb_http_options {
    long connect_timeout_ms; /* 0 = 5000 */
    long total_timeout_ms;   /* per attempt; 0 = 60000 */
    size_t max_body;         /* response body cap; 0 = 16 MiB; more is JB_ERR_HTTP */
    int max_attempts;        /* 0 = AWS_MAX_ATTEMPTS, else 3 */
    /* Tests inject these so nothing sleeps and jitter is known.
     * sleep_ms NULL = nanosleep; rand01 NULL = a uniform draw in [0,1). */
    void (*sleep_ms)(void *ctx, long ms);
    double (*rand01)(void *ctx);
    void *ctx;
};

struct jb_http_header {
    char *name;  /* as received */
    char *value; /* trimmed */
};

struct jb_http_response {
    long status; /* 0 when no response arrived */
    char *body;  /* malloc'd, NUL-terminated (may hold NULs before bodylen) */
    size_t bodylen;
    struct jb_http_header *headers; /* of the final attempt */
    size_t nheaders;
    int attempts;          /* how many were made */
    char aws_code[128];    /* error code parsed from an error body ("SlowDown"), or "" */
    char aws_message[256]; /* its message, or "" */
};

/* Case-insensitive header lookup in resp; NULL when absent. */
const char *jb_http_header(const struct jb_http_response *resp, const char *name);
void jb_http_response_free(struct jb_http_response *resp);

/* Loads libcurl (lib/net/curl_dl.c) and initialises it, once.  jb_http_do does
 * it on demand; a CLI calls it first to fail early with a clear message. */
int jb_http_init(char *err, size_t errlen);

/* One plain HTTP exchange, no signing and no retry (IMDS, container
 * endpoint).  A non-2xx status is NOT an error here: resp->status tells.
 * Errors: JB_ERR_HTTP (connection, TLS, body cap), JB_ERR_TIMEOUT. */
struct jb_http_request {
    const char *method;
    const char *url;
    const struct jb_kv *headers; /* "Name", "value" */
    size_t nheaders;
    const void *body;
    size_t bodylen;
};
int jb_http_do(const struct jb_http_request *req, const struct jb_http_options *opts,
               struct jb_http_response *resp, char *err, size_t errlen);

/* A signed AWS call.  path and query are RAW: this module encodes them. */
struct jb_aws_call {
    const char *service; /* "s3", "lambda", "sts": signing name and endpoint */
    const char *region;  /* required */
    const char *method;
    const char *endpoint; /* NULL: jb_aws_endpoint(); else "scheme://host[:port][/prefix]" */
    const char *path;     /* raw, starts with '/', e.g. "/bucket/key with space" */
    const struct jb_kv *query;
    size_t nquery;
    const struct jb_kv *headers; /* extra headers, sent and signed (content-type, x-amz-*) */
    size_t nheaders;
    const void *body;
    size_t bodylen;
    int unsigned_payload; /* s3 over https only: sign "UNSIGNED-PAYLOAD" */
    struct jb_creds_provider *creds;
    const struct jb_http_options *opts; /* NULL = defaults */
};

/* Sends call, retrying as above.  Returns 0 when an answer arrived, WHATEVER
 * its status (the caller checks resp->status, aws_code, aws_message); on a
 * final non-2xx err also gets "SERVICE METHOD: HTTP 404 NoSuchKey: message".
 * Negative when no answer could be had: JB_ERR_HTTP (connection errors after
 * the last attempt, body over cap), JB_ERR_TIMEOUT, JB_ERR_AUTH / NOTFOUND
 * (credentials), JB_ERR_INVALID (bad call). */
int jb_aws_request(const struct jb_aws_call *call, struct jb_http_response *resp, char *err,
                   size_t errlen);

/* Endpoint for service: AWS_ENDPOINT_URL_<SERVICE> (upper case, e.g.
 * AWS_ENDPOINT_URL_S3), then AWS_ENDPOINT_URL, then
 * https://<service>.<region>.amazonaws.com.  No trailing '/'. */
int jb_aws_endpoint(const char *service, const char *region, char *out, size_t outlen, char *err,
                    size_t errlen);

/* The same for a service whose botocore serviceId (the variable's suffix)
 * differs from its endpoint prefix: Step Functions is ("sfn", "states"):
 * AWS_ENDPOINT_URL_SFN, then AWS_ENDPOINT_URL, then
 * https://states.<region>.amazonaws.com. */
int jb_aws_endpoint_for(const char *service_id, const char *prefix, const char *region, char *out,
                        size_t outlen, char *err, size_t errlen);

/* Retry decision for one attempt, exposed for tests: curl_failed = no
 * answer (connection reset, refused, timeout).  1 = retry. */
int jb_http_retryable(int curl_failed, long status, const char *aws_code);

/* Backoff before attempt n+1 (n >= 1) with draw r in [0,1): r * min(20000,
 * 1000 * 2^(n-1)) milliseconds ("full jitter"). */
long jb_http_backoff_ms(int attempt, double r);

#endif
