/* The few S3 calls jumpbox makes, over jb_aws_request (signed, retried).
 *
 * Addressing: when an endpoint is configured (AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL; see jb_aws_endpoint) requests are path-style,
 * ENDPOINT/BUCKET/KEY, as local servers need.  Otherwise they go to real
 * AWS virtual-hosted style, https://BUCKET.s3.REGION.amazonaws.com/KEY
 * (path-style for bucket names with dots, which TLS wildcards cannot
 * cover).
 *
 * Errors (besides those of jb_aws_request): JB_ERR_NOTFOUND for 404
 * (NoSuchKey, NoSuchBucket), JB_ERR_AUTH for 403, JB_ERR_EXISTS for a failed
 * If-None-Match, JB_ERR_CONFLICT for a failed If-Match (412) or a
 * conditional write that met another (409 ConditionalRequestConflict),
 * JB_ERR_PARSE for a response that is not what S3 documents, JB_ERR_AWS for
 * any other error answer.  The detail names the call and the
 * s3:// URL: "GetObject s3://b/k: HTTP 404 NoSuchKey: The specified key does
 * not exist."
 *
 * Typical use (lease records under a state URL):
 *
 *     struct jb_s3_url u;
 *     struct jb_s3_client *s3;
 *     jb_s3_parse_url("s3://state-bucket/jumpbox", &u, err, errlen);
 *     jb_s3_client_new(NULL, &s3, err, errlen);
 *     snprintf(key, sizeof key, "%s%s/lease.json", u.prefix, stack);
 *     jb_s3_put(s3, u.bucket, key, json, len, "application/json",
 *               JB_S3_PUT_IF_NONE_MATCH, err, errlen);   // JB_ERR_EXISTS: taken
 *     ...
 *     snprintf(dir, sizeof dir, "%s%s/", u.prefix, stack);
 *     jb_s3_purge_prefix(s3, u.bucket, dir, &stats, err, errlen);
 *     jb_s3_client_free(s3); */
#ifndef JB_S3_H
#define JB_S3_H

#include <stddef.h>
#include <time.h>

#include "aws/creds.h"
#include "aws/request.h"
#include "aws/s3xml.h"

#define JB_S3_BUCKET_MAX 64     /* 63 characters plus NUL */
#define JB_S3_PREFIX_MAX 512    /* leaves room under JB_S3_KEY_MAX for names below it */
#define JB_S3_PURGE_MAX 1000000 /* versions one purge will take on */
#define JB_S3_ENDPOINT_MAX 640
#define JB_S3_ETAG_MAX 132 /* an ETag as S3 sends it, quotes included, plus NUL */

/* ---- State URLs -------------------------------------------------------- */

/* "s3://bucket" or "s3://bucket/some/prefix[/]". */
struct jb_s3_url {
    char bucket[JB_S3_BUCKET_MAX];
    /* "" or "some/prefix/": never a leading '/', always a trailing one, so
     * callers append "stack/lease.json" directly. */
    char prefix[JB_S3_PREFIX_MAX + 1];
};

/* Parses and checks a state URL.  Refused with JB_ERR_INVALID and a reason:
 * another scheme, "s3://", an empty or invalid bucket name (S3's rules:
 * 3-63 of [a-z0-9.-], starting and ending with a letter or digit, no "..",
 * not an IP address, no reserved xn--/sthree-/amzn-s3-demo- start or
 * -s3alias/--ol-s3/--x-s3 end), and prefixes with empty, "." or ".."
 * segments, control characters, backslashes, '?', '#', or over
 * JB_S3_PREFIX_MAX bytes. */
int jb_s3_parse_url(const char *url, struct jb_s3_url *out, char *err, size_t errlen);

/* S3's bucket naming rules alone (see above). */
int jb_s3_check_bucket(const char *bucket, char *err, size_t errlen);

/* ---- Client ------------------------------------------------------------ */

struct jb_s3_config {
    const char *region;                 /* NULL: jb_aws_region(NULL, ...) */
    struct jb_creds_provider *creds;    /* NULL: the default chain, owned by the client */
    const struct jb_http_options *http; /* NULL: defaults; must outlive the client */
    int page_size;                      /* max-keys for listings; 0: the server's (1000) */
};

struct jb_s3_client;

/* cfg may be NULL.  The endpoint and addressing style are fixed here, from
 * the environment at this moment. */
int jb_s3_client_new(const struct jb_s3_config *cfg, struct jb_s3_client **out, char *err,
                     size_t errlen);
void jb_s3_client_free(struct jb_s3_client *c);

/* Where a request for bucket/key (key NULL: the bucket itself) goes: the
 * endpoint ("scheme://host[:port]") and the raw path jb_aws_request takes,
 * per the addressing rules above.  *path is malloc'd. */
int jb_s3_address(const struct jb_s3_client *c, const char *bucket, const char *key, char *endpoint,
                  size_t endpointlen, char **path, char *err, size_t errlen);

/* ---- Calls ------------------------------------------------------------- */

/* One ListObjectsV2 page of keys under prefix ("" = all).  token: NULL for
 * the first page, then the previous page's next_token.  out is freed with
 * jb_s3_list_page_free. */
int jb_s3_list(struct jb_s3_client *c, const char *bucket, const char *prefix, const char *token,
               struct jb_s3_list_page *out, char *err, size_t errlen);

/* One ListObjectVersions page under prefix.  key_marker/version_marker:
 * NULL for the first page, then the previous page's next_* markers.
 * JB_ERR_UNSUPPORTED when the server has no versioning API (it answered
 * 501 NotImplemented, 405 MethodNotAllowed, or with a plain listing). */
int jb_s3_list_versions(struct jb_s3_client *c, const char *bucket, const char *prefix,
                        const char *key_marker, const char *version_marker,
                        struct jb_s3_versions_page *out, char *err, size_t errlen);

/* DeleteObjects for 1..JB_S3_DELETE_BATCH objects (quiet mode).  Returns 0
 * when S3 answered, even if some keys failed: those are in out->errors
 * (free out with jb_s3_delete_result_free).  Deleting a key that does not
 * exist is a success in S3. */
int jb_s3_delete_objects(struct jb_s3_client *c, const char *bucket,
                         const struct jb_s3_object_id *objs, size_t n,
                         struct jb_s3_delete_result *out, char *err, size_t errlen);

/* DeleteObject of the current version (a delete marker when versioned). */
int jb_s3_delete(struct jb_s3_client *c, const char *bucket, const char *key, char *err,
                 size_t errlen);

/* GetObject into *body (malloc'd, NUL-terminated, free()); len may be NULL.  max bounds the
 * size (0 = 16 MiB).  JB_ERR_NOTFOUND when the key or bucket is missing. */
int jb_s3_get(struct jb_s3_client *c, const char *bucket, const char *key, size_t max, char **body,
              size_t *len, char *err, size_t errlen);
/* The same, and the object's ETag into etag (JB_S3_ETAG_MAX bytes; "" when
 * S3 sent none or one that is not a plain quoted token). */
int jb_s3_get_etag(struct jb_s3_client *c, const char *bucket, const char *key, size_t max,
                   char **body, size_t *len, char *etag, char *err, size_t errlen);

/* The same, and the object's Last-Modified into *modified (Unix time; S3
 * keeps it to the second).  JB_ERR_PARSE when S3 sent none we can read. */
int jb_s3_get_modified(struct jb_s3_client *c, const char *bucket, const char *key, size_t max,
                       char **body, size_t *len, time_t *modified, char *err, size_t errlen);

/* The last n bytes of an object (GetObject with Range: bytes=-n) into *body
 * (malloc'd, NUL-terminated), *len of them, and the whole object's size into
 * *size (from Content-Range; *len when S3 sent the object whole). */
int jb_s3_get_tail(struct jb_s3_client *c, const char *bucket, const char *key, size_t n,
                   char **body, size_t *len, size_t *size, char *err, size_t errlen);

enum {
    /* Create only: sends If-None-Match: *, so S3 refuses (412, here
     * JB_ERR_EXISTS) when the key already exists. */
    JB_S3_PUT_IF_NONE_MATCH = 1,
};

/* PutObject of len bytes.  content_type NULL = application/octet-stream. */
int jb_s3_put(struct jb_s3_client *c, const char *bucket, const char *key, const void *body,
              size_t len, const char *content_type, int flags, char *err, size_t errlen);
/* The same, conditional on if_match (NULL: none), S3's conditional write
 * since 2024: If-Match: ETAG, so only the version whose ETag was read is
 * replaced.  JB_ERR_CONFLICT when the object changed (412
 * PreconditionFailed) or another conditional write met this one (409
 * ConditionalRequestConflict); JB_ERR_NOTFOUND when it is gone.  The new
 * object's ETag goes into etag (JB_S3_ETAG_MAX bytes; "" when S3 sent
 * none) unless etag is NULL. */
int jb_s3_put_if(struct jb_s3_client *c, const char *bucket, const char *key, const void *body,
                 size_t len, const char *content_type, int flags, const char *if_match, char *etag,
                 char *err, size_t errlen);

struct jb_s3_purge_stats {
    size_t deleted;        /* object versions (or, unversioned, objects) deleted */
    size_t delete_markers; /* delete markers removed */
    size_t pages;          /* listing pages read */
    size_t batches;        /* DeleteObjects calls made */
    int versioned;         /* 1: the versions API was used; 0: plain listing */
};

/* Deletes every object version and delete marker whose key starts with
 * prefix, so nothing of it is left, not even in history.  prefix must be
 * non-empty, not start with '/', and end with '/' (so "stack-1/" never
 * touches "stack-10/").
 *
 * It first lists everything under the prefix (ListObjectVersions, or a
 * plain ListObjectsV2 when the server has no versions API, e.g. s3rver),
 * then deletes in DeleteObjects batches of up to 1000.  A listed key outside
 * the prefix fails the purge before anything is deleted; so do more than
 * JB_S3_PURGE_MAX versions.  Objects written while it runs may survive.
 * Keeps going past per-key errors, then fails with JB_ERR_AWS naming how
 * many were left and the first one's error.  stats may be NULL and are
 * filled as far as it got. */
int jb_s3_purge_prefix(struct jb_s3_client *c, const char *bucket, const char *prefix,
                       struct jb_s3_purge_stats *stats, char *err, size_t errlen);
/* The same for one key, every version of it: keys that merely start with
 * it are left alone. */
int jb_s3_purge_key(struct jb_s3_client *c, const char *bucket, const char *key,
                    struct jb_s3_purge_stats *stats, char *err, size_t errlen);

#endif
