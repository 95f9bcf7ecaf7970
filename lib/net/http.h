/* The HTTP transport over libcurl: one exchange, no signing, no retry
 * (lib/aws/request adds those for AWS calls).
 *
 * TLS peer and host verification are always on (CA bundle from
 * AWS_CA_BUNDLE when set). */
#ifndef JB_HTTP_H
#define JB_HTTP_H

#include <stddef.h>

/* A key and a value, raw (unencoded): query parameters and headers. */
struct jb_kv {
    const char *key;
    const char *value;
};

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
    int no_answer;         /* jb_http_do failed before any answer (connection,
                              TLS, timeout): worth another attempt */
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

#endif
