/* Signed, retried AWS calls over lib/net/http.
 *
 * jb_aws_request signs every attempt afresh and retries the AWS "standard"
 * way: at most 3 attempts (AWS_MAX_ATTEMPTS), exponential backoff with full
 * jitter (base 1 s, cap 20 s, as botocore), on throttling (429; 400/403/503
 * with Throttling, ThrottlingException, SlowDown, RequestLimitExceeded, ...
 * in the body), on 500/502/503/504 and on connection errors.  Any other 4xx
 * is returned at once. */
#ifndef JB_REQUEST_H
#define JB_REQUEST_H

#include <stddef.h>

#include "net/http.h"
#include "aws/creds.h"
#include "aws/sigv4.h"

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

/* What every service client (s3, ec2) holds: its region, validated (it
 * becomes part of a host name); credentials, the process's shared provider
 * (jb_creds_shared) unless given; HTTP options (NULL: defaults). */
struct jb_aws_client {
    char region[JB_AWS_REGION_MAX];
    struct jb_creds_provider *creds;
    const struct jb_http_options *http;
};

/* region NULL: AWS_REGION and the config files (jb_aws_region).  what names
 * the client in errors ("S3 client").  Release with jb_aws_client_release,
 * also after a failure. */
int jb_aws_client_init(struct jb_aws_client *c, const char *what, const char *region,
                       struct jb_creds_provider *creds, const struct jb_http_options *http,
                       char *err, size_t errlen);
void jb_aws_client_release(struct jb_aws_client *c);

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
int jb_aws_retryable(int curl_failed, long status, const char *aws_code);

/* Backoff before attempt n+1 (n >= 1) with draw r in [0,1): r * min(20000,
 * 1000 * 2^(n-1)) milliseconds ("full jitter"). */
long jb_aws_backoff_ms(int attempt, double r);

#endif
