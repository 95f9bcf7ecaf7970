/* S3 calls over jb_aws_request: addressing and status mapping (the purge
 * of a prefix is s3_purge.c). */
#include "aws/s3.h"

#include "aws/s3_int.h"

#include "base/env.h"
#include "base/err.h"

#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

struct jb_s3_client {
    struct jb_aws_client aws;          /* region, credentials, HTTP options */
    char endpoint[JB_S3_ENDPOINT_MAX]; /* configured endpoint, or "" for real AWS */
    int page_size;
};

int jb_s3_client_new(const struct jb_s3_config *cfg, struct jb_s3_client **out, char *err,
                     size_t errlen)
{
    static const struct jb_s3_config none;
    struct jb_s3_client *c = NULL;
    int rc = 0;

    *out = NULL;
    if (cfg == NULL)
        cfg = &none;
    if (cfg->page_size < 0 || cfg->page_size > 1000)
        return jb_err(err, errlen, JB_ERR_INVALID, "S3 page size %d, must be 0 to 1000",
                      cfg->page_size);
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3 client: out of memory");
    if ((rc = jb_aws_client_init(&c->aws, "S3 client", cfg->region, cfg->creds, cfg->http, err,
                                 errlen)) != 0)
        goto out;
    /* Set: the endpoint is not AWS's, so requests are path-style (s3.h). */
    if ((jb_env("AWS_ENDPOINT_URL_S3") || jb_env("AWS_ENDPOINT_URL")) &&
        (rc = jb_aws_endpoint("s3", c->aws.region, c->endpoint, sizeof(c->endpoint), err,
                              errlen)) != 0)
        goto out;
    c->page_size = cfg->page_size;
    *out = c;
    c = NULL;
out:
    jb_s3_client_free(c);
    return rc;
}

void jb_s3_client_free(struct jb_s3_client *c)
{
    if (c == NULL)
        return;
    jb_aws_client_release(&c->aws);
    free(c);
}

/* One S3 request, shaped for the client's addressing style. */
struct s3_req {
    const char *op; /* "GetObject": for error text */
    const char *method;
    const char *bucket;
    const char *key;   /* NULL for bucket operations */
    const char *label; /* shown after the bucket in errors instead of key (a prefix) */
    const struct jb_kv *query;
    size_t nquery;
    const struct jb_kv *headers;
    size_t nheaders;
    const void *body;
    size_t bodylen;
    size_t max_body; /* 0: the http default */
};

void jb_s3_what(char *out, size_t outlen, const char *bucket, const char *key)
{
    snprintf(out, outlen, "s3://%s/%s", bucket, key ? key : "");
    /* Keys may hold anything; error text stays one printable line. */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int check_key(const char *key, char *err, size_t errlen)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > JB_S3_KEY_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "S3 key is %zu bytes, must be 1 to %u", n,
                      JB_S3_KEY_MAX);
    return 0;
}

/* Maps a final non-2xx answer to an error value with one line of detail. */
static int status_error(const struct s3_req *r, const struct jb_http_response *resp, char *err,
                        size_t errlen)
{
    char w[WHAT_MAX];
    const char *code = resp->aws_code, *msg = resp->aws_message;
    struct jb_s3_error doc;
    int rc;

    if (code[0] == '\0' && resp->body && resp->bodylen &&
        jb_s3xml_parse_error(resp->body, resp->bodylen, &doc, NULL, 0) == 0) {
        code = doc.code;
        msg = doc.message;
    }
    switch (resp->status) {
    case 404:
        rc = JB_ERR_NOTFOUND;
        break;
    case 403:
        rc = JB_ERR_AUTH;
        break;
    case 412:
        rc = JB_ERR_EXISTS;
        break;
    case 409:
        rc = strcmp(code, "ConditionalRequestConflict") == 0 ? JB_ERR_CONFLICT : JB_ERR_AWS;
        break;
    default:
        rc = JB_ERR_AWS;
        break;
    }
    jb_s3_what(w, sizeof(w), r->bucket, r->label ? r->label : r->key);
    rc = jb_err(err, errlen, rc, "%s %s: HTTP %ld%s%s%s%s", r->op, w, resp->status,
                code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    if (err && resp->attempts > 1) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " (after %d attempts)", resp->attempts);
    }
    for (char *p = err; err && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return rc;
}

int jb_s3_address(const struct jb_s3_client *c, const char *bucket, const char *key, char *endpoint,
                  size_t endpointlen, char **path, char *err, size_t errlen)
{
    const char *k = key ? key : "";
    size_t plen = strlen(bucket) + strlen(k) + 3;
    int n;

    *path = NULL;
    if ((*path = malloc(plen)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3: out of memory");
    if (c->endpoint[0]) {
        n = snprintf(endpoint, endpointlen, "%s", c->endpoint);
        snprintf(*path, plen, "/%s%s%s", bucket, key ? "/" : "", k);
    } else if (strchr(bucket, '.')) {
        n = snprintf(endpoint, endpointlen, "https://s3.%s.amazonaws.com", c->aws.region);
        snprintf(*path, plen, "/%s%s%s", bucket, key ? "/" : "", k);
    } else {
        n = snprintf(endpoint, endpointlen, "https://%s.s3.%s.amazonaws.com", bucket,
                     c->aws.region);
        snprintf(*path, plen, "/%s", k);
    }
    if (n < 0 || (size_t)n >= endpointlen) {
        free(*path);
        *path = NULL;
        return jb_err(err, errlen, JB_ERR_INVALID, "S3: endpoint URL too long");
    }
    return 0;
}

/* Sends r; 0 only for a 2xx answer, which stays in resp either way. */
static int s3_do(struct jb_s3_client *c, const struct s3_req *r, struct jb_http_response *resp,
                 char *err, size_t errlen)
{
    char endpoint[JB_S3_ENDPOINT_MAX];
    char *path = NULL;
    char w[WHAT_MAX];
    char inner[JB_ERRLEN];
    struct jb_http_options opts = {0};
    int rc;

    memset(resp, 0, sizeof(*resp));
    if ((rc = jb_s3_check_bucket(r->bucket, inner, sizeof(inner))) != 0)
        return jb_err(err, errlen, rc, "%s: %s", r->op, inner);
    if (r->key && (rc = check_key(r->key, err, errlen)) != 0)
        return rc;
    if ((rc = jb_s3_address(c, r->bucket, r->key, endpoint, sizeof(endpoint), &path, err,
                            errlen)) != 0)
        return rc;
    if (c->aws.http)
        opts = *c->aws.http;
    if (r->max_body)
        opts.max_body = r->max_body;
    struct jb_aws_call call = {
        .service = "s3",
        .region = c->aws.region,
        .method = r->method,
        .endpoint = endpoint,
        .path = path,
        .query = r->query,
        .nquery = r->nquery,
        .headers = r->headers,
        .nheaders = r->nheaders,
        .body = r->body,
        .bodylen = r->bodylen,
        .creds = c->aws.creds,
        .opts = &opts,
    };
    rc = jb_aws_request(&call, resp, inner, sizeof(inner));
    free(path);
    if (rc) {
        jb_s3_what(w, sizeof(w), r->bucket, r->label ? r->label : r->key);
        return jb_err(err, errlen, rc, "%s %s: %s", r->op, w, inner);
    }
    if (resp->status < 200 || resp->status > 299)
        return status_error(r, resp, err, errlen);
    return 0;
}

static void add_kv(struct jb_kv *kv, size_t *n, const char *k, const char *v)
{
    kv[*n].key = k;
    kv[*n].value = v;
    (*n)++;
}

int jb_s3_list(struct jb_s3_client *c, const char *bucket, const char *prefix, const char *token,
               struct jb_s3_list_page *out, char *err, size_t errlen)
{
    struct jb_http_response resp;
    struct jb_kv q[5];
    size_t nq = 0;
    char maxkeys[16];
    int rc;

    memset(out, 0, sizeof(*out));
    add_kv(q, &nq, "list-type", "2");
    add_kv(q, &nq, "encoding-type", "url");
    if (prefix && prefix[0])
        add_kv(q, &nq, "prefix", prefix);
    if (token)
        add_kv(q, &nq, "continuation-token", token);
    if (c->page_size) {
        snprintf(maxkeys, sizeof(maxkeys), "%d", c->page_size);
        add_kv(q, &nq, "max-keys", maxkeys);
    }
    struct s3_req r = {.op = "ListObjectsV2",
                       .method = "GET",
                       .bucket = bucket,
                       .label = prefix,
                       .query = q,
                       .nquery = nq,
                       .max_body = JB_S3XML_MAX_DOC};
    rc = s3_do(c, &r, &resp, err, errlen);
    if (rc == 0)
        rc = jb_s3xml_parse_list(resp.body, resp.bodylen, out, err, errlen);
    jb_http_response_free(&resp);
    return rc;
}

int jb_s3_list_versions(struct jb_s3_client *c, const char *bucket, const char *prefix,
                        const char *key_marker, const char *version_marker,
                        struct jb_s3_versions_page *out, char *err, size_t errlen)
{
    struct jb_http_response resp;
    struct jb_kv q[6];
    size_t nq = 0;
    char maxkeys[16];
    int rc;

    memset(out, 0, sizeof(*out));
    add_kv(q, &nq, "versions", NULL);
    add_kv(q, &nq, "encoding-type", "url");
    if (prefix && prefix[0])
        add_kv(q, &nq, "prefix", prefix);
    if (key_marker)
        add_kv(q, &nq, "key-marker", key_marker);
    if (key_marker && version_marker)
        add_kv(q, &nq, "version-id-marker", version_marker);
    if (c->page_size) {
        snprintf(maxkeys, sizeof(maxkeys), "%d", c->page_size);
        add_kv(q, &nq, "max-keys", maxkeys);
    }
    struct s3_req r = {.op = "ListObjectVersions",
                       .method = "GET",
                       .bucket = bucket,
                       .label = prefix,
                       .query = q,
                       .nquery = nq,
                       .max_body = JB_S3XML_MAX_DOC};
    rc = s3_do(c, &r, &resp, err, errlen);
    if (rc == JB_ERR_AWS &&
        (resp.status == 501 || resp.status == 405 || strcmp(resp.aws_code, "NotImplemented") == 0 ||
         strcmp(resp.aws_code, "MethodNotAllowed") == 0))
        rc = JB_ERR_UNSUPPORTED;
    if (rc == 0)
        rc = jb_s3xml_parse_versions(resp.body, resp.bodylen, out, err, errlen);
    jb_http_response_free(&resp);
    return rc;
}

int jb_s3_delete_objects(struct jb_s3_client *c, const char *bucket,
                         const struct jb_s3_object_id *objs, size_t n,
                         struct jb_s3_delete_result *out, char *err, size_t errlen)
{
    struct jb_http_response resp;
    char md5[JB_S3_MD5_B64_LEN];
    char *body = NULL;
    size_t bodylen = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&resp, 0, sizeof(resp));
    if ((rc = jb_s3xml_build_delete(objs, n, 1, &body, &bodylen, md5, err, errlen)) != 0)
        return rc;
    const struct jb_kv q[] = {{"delete", NULL}};
    const struct jb_kv h[] = {{"Content-MD5", md5}, {"Content-Type", "application/xml"}};
    struct s3_req r = {.op = "DeleteObjects",
                       .method = "POST",
                       .bucket = bucket,
                       .query = q,
                       .nquery = 1,
                       .headers = h,
                       .nheaders = 2,
                       .body = body,
                       .bodylen = bodylen,
                       .max_body = JB_S3XML_MAX_DOC};
    rc = s3_do(c, &r, &resp, err, errlen);
    if (rc == 0)
        rc = jb_s3xml_parse_delete(resp.body, resp.bodylen, out, err, errlen);
    jb_http_response_free(&resp);
    free(body);
    return rc;
}

int jb_s3_delete(struct jb_s3_client *c, const char *bucket, const char *key, char *err,
                 size_t errlen)
{
    struct jb_http_response resp;
    struct s3_req r = {.op = "DeleteObject", .method = "DELETE", .bucket = bucket, .key = key};
    int rc = s3_do(c, &r, &resp, err, errlen);
    jb_http_response_free(&resp);
    return rc;
}

/* An ETag as S3 sends it ("\"hex\"", or with a W/ or -N suffix on other
 * servers): kept only when it is a short token of printable characters, so
 * it can go back unchanged in an If-Match header. */
static void take_etag(const struct jb_http_response *resp, char *etag)
{
    const char *v = jb_http_header(resp, "ETag");
    size_t n = v ? strlen(v) : 0;

    if (etag == NULL)
        return;
    etag[0] = '\0';
    if (n == 0 || n >= JB_S3_ETAG_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f || v[i] == ',')
            return;
    memcpy(etag, v, n + 1);
}

/* An HTTP date (RFC 9110 IMF-fixdate, what S3 sends): "Sun, 06 Nov 1994
 * 08:49:37 GMT".  -1 when it is not one. */
static time_t http_date(const char *v)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (v == NULL || (end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL || *end != '\0')
        return -1;
    return timegm(&tm);
}

int jb_s3_get(struct jb_s3_client *c, const char *bucket, const char *key, size_t max, char **body,
              size_t *len, char *err, size_t errlen)
{
    return jb_s3_get_etag(c, bucket, key, max, body, len, NULL, err, errlen);
}

static int get_object(struct jb_s3_client *c, const char *bucket, const char *key, size_t max,
                      char **body, size_t *len, char *etag, time_t *modified, char *err,
                      size_t errlen)
{
    struct jb_http_response resp;
    struct s3_req r = {
        .op = "GetObject", .method = "GET", .bucket = bucket, .key = key, .max_body = max};
    int rc;

    *body = NULL;
    if (len)
        *len = 0;
    rc = s3_do(c, &r, &resp, err, errlen);
    if (rc == 0) {
        if (resp.body == NULL) {
            /* An empty object: still hand back a NUL-terminated buffer. */
            resp.body = calloc(1, 1);
            if (resp.body == NULL)
                rc = jb_err(err, errlen, JB_ERR_NOMEM, "GetObject: out of memory");
            resp.bodylen = 0;
        }
        *body = resp.body;
        if (len)
            *len = resp.bodylen;
        resp.body = NULL;
        take_etag(&resp, etag);
        if (modified && rc == 0 &&
            (*modified = http_date(jb_http_header(&resp, "Last-Modified"))) == (time_t)-1)
            rc = jb_err(err, errlen, JB_ERR_PARSE, "GetObject %s: no Last-Modified date", key);
    }
    jb_http_response_free(&resp);
    if (rc) {
        free(*body);
        *body = NULL;
        if (len)
            *len = 0;
    }
    return rc;
}

int jb_s3_get_etag(struct jb_s3_client *c, const char *bucket, const char *key, size_t max,
                   char **body, size_t *len, char *etag, char *err, size_t errlen)
{
    return get_object(c, bucket, key, max, body, len, etag, NULL, err, errlen);
}

int jb_s3_get_modified(struct jb_s3_client *c, const char *bucket, const char *key, size_t max,
                       char **body, size_t *len, time_t *modified, char *err, size_t errlen)
{
    return get_object(c, bucket, key, max, body, len, NULL, modified, err, errlen);
}

int jb_s3_get_tail(struct jb_s3_client *c, const char *bucket, const char *key, size_t n,
                   char **body, size_t *len, size_t *size, char *err, size_t errlen)
{
    struct jb_http_response resp;
    char range[32];
    struct jb_kv h[1] = {{"Range", range}};
    struct s3_req r = {.op = "GetObject",
                       .method = "GET",
                       .bucket = bucket,
                       .key = key,
                       .headers = h,
                       .nheaders = 1,
                       .max_body = n};
    const char *cr, *slash;
    char *end = NULL;
    unsigned long long total;
    int rc;

    *body = NULL;
    *len = *size = 0;
    snprintf(range, sizeof(range), "bytes=-%zu", n);
    rc = s3_do(c, &r, &resp, err, errlen);
    /* 416: no byte to give, an empty object. */
    if (rc != 0 && resp.status == 416)
        rc = 0;
    else if (rc == 0 && resp.status == 206) {
        /* Content-Range: bytes FIRST-LAST/TOTAL */
        cr = jb_http_header(&resp, "Content-Range");
        if (cr == NULL || (slash = strrchr(cr, '/')) == NULL ||
            (total = strtoull(slash + 1, &end, 10)) < resp.bodylen || end == slash + 1 ||
            *end != '\0')
            rc = jb_err(err, errlen, JB_ERR_PARSE, "GetObject %s: no Content-Range in its answer",
                        key);
        else
            *size = (size_t)total;
    } else if (rc == 0)
        *size = resp.bodylen;
    if (rc == 0) {
        *body = resp.body ? resp.body : calloc(1, 1);
        *len = resp.body ? resp.bodylen : 0;
        resp.body = NULL;
        if (*body == NULL)
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "GetObject: out of memory");
    }
    jb_http_response_free(&resp);
    return rc;
}

int jb_s3_put(struct jb_s3_client *c, const char *bucket, const char *key, const void *body,
              size_t len, const char *content_type, int flags, char *err, size_t errlen)
{
    return jb_s3_put_if(c, bucket, key, body, len, content_type, flags, NULL, NULL, err, errlen);
}

int jb_s3_put_if(struct jb_s3_client *c, const char *bucket, const char *key, const void *body,
                 size_t len, const char *content_type, int flags, const char *if_match, char *etag,
                 char *err, size_t errlen)
{
    struct jb_http_response resp;
    struct jb_kv h[3];
    size_t nh = 0;
    int rc;

    if (etag)
        etag[0] = '\0';
    if (if_match && (*if_match == '\0' || strlen(if_match) >= JB_S3_ETAG_MAX ||
                     strpbrk(if_match, "\r\n") != NULL))
        return jb_err(err, errlen, JB_ERR_INVALID, "PutObject: If-Match: not an ETag");
    add_kv(h, &nh, "Content-Type", content_type ? content_type : "application/octet-stream");
    if (flags & JB_S3_PUT_IF_NONE_MATCH)
        add_kv(h, &nh, "If-None-Match", "*");
    if (if_match)
        add_kv(h, &nh, "If-Match", if_match);
    struct s3_req r = {.op = "PutObject",
                       .method = "PUT",
                       .bucket = bucket,
                       .key = key,
                       .headers = h,
                       .nheaders = nh,
                       .body = body,
                       .bodylen = len};
    rc = s3_do(c, &r, &resp, err, errlen);
    if (rc == JB_ERR_EXISTS && if_match) {
        char w[WHAT_MAX];
        jb_s3_what(w, sizeof(w), bucket, key);
        rc = jb_err(err, errlen, JB_ERR_CONFLICT,
                    "PutObject %s: changed since it was read (If-Match)", w);
    } else if (rc == JB_ERR_EXISTS) {
        char w[WHAT_MAX];
        jb_s3_what(w, sizeof(w), bucket, key);
        rc = jb_err(err, errlen, JB_ERR_EXISTS, "PutObject %s: already exists (If-None-Match)", w);
    }
    if (rc == 0)
        take_etag(&resp, etag);
    jb_http_response_free(&resp);
    return rc;
}
