/* AWS Signature Version 4 in the Authorization header.
 *
 * Callers pass the RAW path and RAW query keys/values (never pre-encoded);
 * this module does every bit of URI encoding, so what is signed and what is
 * sent are built from the same bytes.  The rules follow botocore byte for
 * byte: service "s3" encodes the path once keeping '/', and sends
 * x-amz-content-sha256; every other service signs the path encoded twice.
 * The query is sorted by encoded key then value, RFC 3986 unreserved
 * characters only are left bare. */
#ifndef JB_SIGV4_H
#define JB_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "net/http.h" /* struct jb_kv */
#include "aws/creds.h"

#define JB_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define JB_AMZ_DATE_LEN 17 /* "20240102T030405Z" plus NUL */
#define JB_SHA256_HEX_LEN 65
#define JB_SIGV4_AUTH_MAX 1024

struct jb_sigv4_request {
    const char *method; /* "GET", "PUT", ... */
    const char *host;   /* the Host header as sent: "host" or "host:port" (non-default port) */
    const char *path;   /* raw, starts with '/'; "" means "/" */
    const struct jb_kv *query; /* raw pairs, any order, keys may repeat, value NULL = "" */
    size_t nquery;
    const struct jb_kv *headers; /* extra headers that will be sent and signed */
    size_t nheaders;             /* (e.g. content-type); names any case */
    const void *body;
    size_t bodylen;
    /* NULL: SHA-256 of body.  JB_SIGV4_UNSIGNED_PAYLOAD, or a precomputed hex digest. */
    const char *payload_hash;
    const char *service; /* signing name: "s3", "lambda", "sts" */
    const char *region;
    time_t when; /* signing time, UTC epoch seconds */
};

/* The headers to add to the request, already formatted as values. */
struct jb_sigv4_result {
    char amz_date[JB_AMZ_DATE_LEN]; /* X-Amz-Date */
    char payload_hash[JB_SHA256_HEX_LEN +
                      16];   /* X-Amz-Content-SHA256 value (hex or UNSIGNED-PAYLOAD) */
    int send_content_sha256; /* 1 for s3: add X-Amz-Content-SHA256 */
    char authorization[JB_SIGV4_AUTH_MAX]; /* Authorization */
    char signature[JB_SHA256_HEX_LEN];     /* the hex signature alone, for tests and logs */
    /* X-Amz-Security-Token comes from creds->session_token when non-NULL. */
};

/* Signs req with creds.  The headers signed are host, x-amz-date,
 * x-amz-content-sha256 (s3), x-amz-security-token (when a session token is
 * set) and req->headers.  JB_ERR_INVALID names a bad field. */
int jb_sigv4_sign(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                  struct jb_sigv4_result *out, char *err, size_t errlen);

/* The canonical request and string to sign that jb_sigv4_sign uses, for
 * tests and debugging; *canonical and *sts are malloc'd (free()). Either
 * pointer may be NULL when not wanted. */
int jb_sigv4_canonical(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                       char **canonical, char **sts, char *err, size_t errlen);

/* Percent-encodes in (len bytes) per RFC 3986: A-Z a-z 0-9 - _ . ~ stay,
 * '/' stays when keep_slash; every other byte becomes %XX (upper hex).
 * *out is malloc'd.  Use it to build the URL path (keep_slash = 1) and the
 * query string (keep_slash = 0) that go on the wire. */
int jb_uri_encode(const char *in, size_t len, int keep_slash, char **out);

/* The path as it goes on the wire for service: encoded once (keep '/'); for
 * services other than s3 also with dot segments and empty segments removed,
 * as botocore signs it.  *out is malloc'd. */
int jb_sigv4_wire_path(const char *service, const char *path, char **out);

#endif
