/* The store in S3 (store.h): <prefix><key>.  A new object is written with
 * If-None-Match: * so two creators can't both win; a replacement with
 * If-Match: the ETag read, so no writer undoes another's change or
 * re-creates a purged one; a purge removes every version. */
#include "base/err.h"
#include "aws/creds.h"
#include "aws/s3.h"
#include "stack/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1400
#define PURGE_PASSES 4

static int client(struct jb_s3_client **c, int page_size, char *err, size_t errlen)
{
    struct jb_s3_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.page_size = page_size;
    return jb_s3_client_new(&cfg, c, err, errlen);
}

static int full_key(const struct jb_state *st, const char *key, char *out, char *err, size_t errlen)
{
    int n = snprintf(out, KEY_MAX, "%s%s", st->prefix, key);

    if (n < 0 || n >= KEY_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "state key too long");
    return 0;
}

/* The key in the bucket and a client for it. */
static int begin(const struct jb_state *st, const char *key, char *full, struct jb_s3_client **c,
                 char *err, size_t errlen)
{
    int rc = full_key(st, key, full, err, errlen);
    return rc != 0 ? rc : client(c, 0, err, errlen);
}

static int s3_prepare(const struct jb_state *st, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    struct jb_s3_list_page page;
    char detail[JB_ERRLEN];
    int rc;

    memset(&page, 0, sizeof(page));
    if ((rc = client(&c, 1, detail, sizeof(detail))) == 0)
        rc = jb_s3_list(c, st->bucket, st->prefix, NULL, &page, detail, sizeof(detail));
    jb_s3_list_page_free(&page);
    jb_s3_client_free(c);
    /* A missing bucket or refused access is the caller's to fix (bad
     * input); S3 failing or out of reach is not, and a retry later may do. */
    if (rc == JB_ERR_NOTFOUND || rc == JB_ERR_AUTH || rc == JB_ERR_INVALID)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s cannot be used: %s", st->url, detail);
    if (rc != 0)
        return jb_err(err, errlen, rc, "%s cannot be reached: %s", st->url, detail);
    return 0;
}

static int s3_where(const struct jb_state *st, const char *key, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "s3://%s/%s%s", st->bucket, st->prefix, key);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

/* A retried write whose first attempt S3 stored (the answer lost on the
 * way) meets its own object: 412 for a create, 412 for an update (the ETag
 * moved on, to ours).  Every lease write holds a fresh random revision and
 * every record a fresh random name, so the same bytes can only be our own
 * earlier attempt; its ETag is then ours. */
static int ours(struct jb_s3_client *c, const char *bucket, const char *key, const void *data,
                size_t len, char *etag)
{
    char *body = NULL;
    size_t blen = 0;
    int same = jb_s3_get_etag(c, bucket, key, len + 1, &body, &blen, etag, NULL, 0) == 0 &&
               blen == len && memcmp(body, data, len) == 0;

    free(body);
    return same;
}

static int s3_put(const struct jb_state *st, const char *key, const void *data, size_t len,
                  const char *content_type, enum jb_store_cond cond, const char *if_match,
                  char *etag, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char full[KEY_MAX], tag[JB_STORE_ETAG_MAX] = "";
    int rc;

    if ((rc = begin(st, key, full, &c, err, errlen)) != 0)
        return rc;
    if (cond == JB_STORE_ANY) {
        rc = jb_s3_put(c, st->bucket, full, data, len, content_type, 0, err, errlen);
        goto out;
    }
    rc = jb_s3_put_if(c, st->bucket, full, data, len, content_type,
                      cond == JB_STORE_ABSENT ? JB_S3_PUT_IF_NONE_MATCH : 0,
                      cond == JB_STORE_MATCH ? if_match : NULL, tag, err, errlen);
    if ((rc == JB_ERR_EXISTS || rc == JB_ERR_CONFLICT) && ours(c, st->bucket, full, data, len, tag))
        rc = 0;
    /* A server that sends no ETag (S3 always does): read it back. */
    if (rc == 0 && tag[0] == '\0' && !ours(c, st->bucket, full, data, len, tag))
        rc = jb_err(err, errlen, JB_ERR_CONFLICT,
                    "s3://%s/%s: changed by another process as it was written", st->bucket, full);
    if (rc == 0 && etag)
        memcpy(etag, tag, sizeof(tag));
out:
    jb_s3_client_free(c);
    return rc;
}

static int s3_get(const struct jb_state *st, const char *key, size_t max, int flags,
                  struct jb_store_obj *out, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char full[KEY_MAX];
    int rc;

    if ((rc = begin(st, key, full, &c, err, errlen)) != 0)
        return rc;
    if (flags & JB_STORE_MODIFIED)
        rc = jb_s3_get_modified(c, st->bucket, full, max, &out->data, &out->len, &out->modified,
                                err, errlen);
    else
        rc =
            jb_s3_get_etag(c, st->bucket, full, max, &out->data, &out->len, out->etag, err, errlen);
    out->size = out->len;
    /* Too long to read whole: its end (not every S3 server reads a suffix
     * range right, so only then). */
    if (rc != 0 && (flags & JB_STORE_TAIL)) {
        out->etag[0] = '\0';
        rc = jb_s3_get_tail(c, st->bucket, full, max, &out->data, &out->len, &out->size, err,
                            errlen);
    }
    jb_s3_client_free(c);
    return rc;
}

static int s3_list(const struct jb_state *st, const char *prefix, jb_store_key_fn fn, void *ctx,
                   char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    struct jb_s3_list_page page;
    char full[KEY_MAX], *token = NULL;
    size_t skip = strlen(st->prefix);
    int rc;

    memset(&page, 0, sizeof(page));
    if ((rc = begin(st, prefix, full, &c, err, errlen)) != 0)
        return rc;
    do {
        if ((rc = jb_s3_list(c, st->bucket, full, token, &page, err, errlen)) != 0)
            break;
        for (size_t i = 0; i < page.nkeys && rc == 0; i++)
            if (strncmp(page.keys[i], st->prefix, skip) == 0 && page.keys[i][skip] != '\0')
                rc = fn(ctx, page.keys[i] + skip);
        free(token);
        token = rc == 0 && page.truncated && page.next_token ? strdup(page.next_token) : NULL;
        jb_s3_list_page_free(&page);
    } while (token != NULL);
    jb_s3_list_page_free(&page);
    free(token);
    jb_s3_client_free(c);
    return rc;
}

static int s3_del(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char full[KEY_MAX];
    int rc;

    if ((rc = begin(st, key, full, &c, err, errlen)) != 0)
        return rc;
    rc = jb_s3_delete(c, st->bucket, full, err, errlen);
    jb_s3_client_free(c);
    return rc;
}

static int s3_purge(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char full[KEY_MAX];
    int rc;

    if ((rc = begin(st, key, full, &c, err, errlen)) != 0)
        return rc;
    if (full[strlen(full) - 1] != '/') {
        rc = jb_s3_purge_key(c, st->bucket, full, NULL, err, errlen);
        rc = rc == JB_ERR_NOTFOUND ? 0 : rc;
        goto out;
    }
    /* A conditional update that lands between a pass's listing and its
     * deletes leaves a version behind: passes go on until one finds
     * nothing.  After that no update can land (If-Match finds no lease). */
    for (int pass = 0;; pass++) {
        struct jb_s3_purge_stats stats;
        memset(&stats, 0, sizeof(stats));
        if ((rc = jb_s3_purge_prefix(c, st->bucket, full, &stats, err, errlen)) != 0)
            break;
        if (stats.deleted == 0 && stats.delete_markers == 0)
            break;
        if (pass == PURGE_PASSES) {
            rc =
                jb_err(err, errlen, JB_ERR_CONFLICT, "s3://%s/%s: still written to after %d purges",
                       st->bucket, full, PURGE_PASSES);
            break;
        }
    }
out:
    jb_s3_client_free(c);
    return rc;
}

/* As the file backend's: backend settings are taken as they are. */
static cJSON *s3_tf_backend(const struct jb_state *st, const char *stack_id)
{
    cJSON *b = cJSON_CreateObject(), *inner = cJSON_CreateObject();
    char path[KEY_MAX], region[64];
    const char *endpoint;

    if (b == NULL || inner == NULL) {
        cJSON_Delete(b);
        cJSON_Delete(inner);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s%s/terraform.tfstate", st->prefix, stack_id);
    cJSON_AddItemToObject(inner, "bucket", cJSON_CreateString(st->bucket));
    cJSON_AddItemToObject(inner, "key", cJSON_CreateString(path));
    cJSON_AddBoolToObject(inner, "use_lockfile", 1);
    cJSON_AddBoolToObject(inner, "encrypt", 1);
    if (jb_aws_region(NULL, region, sizeof(region), NULL, 0) == 0)
        cJSON_AddItemToObject(inner, "region", cJSON_CreateString(region));
    endpoint = getenv("AWS_ENDPOINT_URL_S3");
    if (endpoint == NULL || *endpoint == '\0')
        endpoint = getenv("AWS_ENDPOINT_URL");
    if (endpoint && *endpoint) {
        /* An S3-compatible server of our own (tests, MinIO): path-style,
         * and none of the checks that need AWS's account and STS APIs. */
        cJSON *eps = cJSON_AddObjectToObject(inner, "endpoints");
        cJSON_AddItemToObject(eps, "s3", cJSON_CreateString(endpoint));
        cJSON_AddBoolToObject(inner, "use_path_style", 1);
        cJSON_AddBoolToObject(inner, "skip_credentials_validation", 1);
        cJSON_AddBoolToObject(inner, "skip_requesting_account_id", 1);
        cJSON_AddBoolToObject(inner, "skip_metadata_api_check", 1);
        cJSON_AddBoolToObject(inner, "skip_region_validation", 1);
        cJSON_AddBoolToObject(inner, "skip_s3_checksum", 1);
    }
    cJSON_AddItemToObject(b, "s3", inner);
    return b;
}

const struct jb_store_backend jb_store_s3 = {
    .remote = 1,
    .prepare = s3_prepare,
    .where = s3_where,
    .put = s3_put,
    .get = s3_get,
    .list = s3_list,
    .del = s3_del,
    .purge = s3_purge,
    .tf_backend = s3_tf_backend,
};
