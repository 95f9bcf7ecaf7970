/* The purge of a prefix: every version, then the delete markers, in
 * DeleteObjects batches -- how a stack's state leaves S3 for good. */
#include "aws/s3.h"

#include "base/err.h"
#include "base/grow.h"
#include "aws/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The purge lists everything first, then deletes: listing markers and
 * tokens name positions that a delete in between may remove, and how a
 * server treats a marker that no longer exists is not something to bet a
 * Terraform state on. */
struct purge {
    struct jb_s3_client *c;
    const char *bucket;
    const char *prefix;
    int exact; /* prefix is one key: others that start with it are left alone */
    struct jb_s3_purge_stats *st;
    struct jb_s3_version *items; /* owned */
    size_t n, cap;
    size_t failed;
    char first_failure[JB_ERRLEN / 2];
};

static int inside(const struct purge *p, const char *key, char *err, size_t errlen)
{
    if (strncmp(key, p->prefix, strlen(p->prefix)) != 0) {
        char w[WHAT_MAX];
        jb_s3_what(w, sizeof(w), p->bucket, key);
        return jb_err(err, errlen, JB_ERR_PARSE,
                      "purge s3://%s/%s: the listing returned %s, outside the prefix; nothing "
                      "was deleted",
                      p->bucket, p->prefix, w);
    }
    return 0;
}

/* Takes ownership of key and version (on success and failure alike). */
static int keep(struct purge *p, char *key, char *version, int marker, char *err, size_t errlen)
{
    int rc = inside(p, key, err, errlen);
    if (rc == 0 && p->exact && strcmp(key, p->prefix) != 0) {
        free(key);
        free(version);
        return 0;
    }
    if (rc == 0 && p->n >= JB_S3_PURGE_MAX)
        rc = jb_err(err, errlen, JB_ERR_INVALID,
                    "purge s3://%s/%s: more than %u versions under the prefix; refusing", p->bucket,
                    p->prefix, JB_S3_PURGE_MAX);
    if (rc == 0) {
        struct jb_s3_version *ni = jb_grow(p->items, &p->cap, p->n + 1, sizeof(*ni), 1024);
        if (ni == NULL)
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "purge: out of memory");
        else
            p->items = ni;
    }
    if (rc) {
        free(key);
        free(version);
        return rc;
    }
    p->items[p->n++] =
        (struct jb_s3_version){.key = key, .version_id = version, .delete_marker = marker};
    return 0;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int list_versions(struct purge *p, char *err, size_t errlen)
{
    struct jb_s3_versions_page page = {0};
    char *km = NULL, *vm = NULL;
    int rc = 0;

    for (;;) {
        rc = jb_s3_list_versions(p->c, p->bucket, p->prefix, km, vm, &page, err, errlen);
        if (rc)
            goto out;
        p->st->pages++;
        p->st->versioned = 1;
        for (size_t i = 0; i < page.n; i++) {
            struct jb_s3_version *v = &page.items[i];
            rc = keep(p, v->key, v->version_id, v->delete_marker, err, errlen);
            v->key = v->version_id = NULL;
            if (rc)
                goto out;
        }
        if (!page.truncated)
            break;
        if (same(km, page.next_key_marker) && same(vm, page.next_version_id_marker)) {
            rc = jb_err(err, errlen, JB_ERR_PARSE,
                        "ListObjectVersions s3://%s/%s: the next page markers did not advance",
                        p->bucket, p->prefix);
            goto out;
        }
        free(km);
        free(vm);
        km = page.next_key_marker;
        vm = page.next_version_id_marker;
        page.next_key_marker = page.next_version_id_marker = NULL;
        jb_s3_versions_page_free(&page);
    }
out:
    jb_s3_versions_page_free(&page);
    free(km);
    free(vm);
    return rc;
}

static int list_plain(struct purge *p, char *err, size_t errlen)
{
    struct jb_s3_list_page page = {0};
    char *token = NULL;
    int rc = 0;

    for (;;) {
        rc = jb_s3_list(p->c, p->bucket, p->prefix, token, &page, err, errlen);
        if (rc)
            goto out;
        p->st->pages++;
        for (size_t i = 0; i < page.nkeys; i++) {
            rc = keep(p, page.keys[i], NULL, 0, err, errlen);
            page.keys[i] = NULL;
            if (rc)
                goto out;
        }
        if (!page.truncated)
            break;
        if (same(token, page.next_token)) {
            rc = jb_err(err, errlen, JB_ERR_PARSE,
                        "ListObjectsV2 s3://%s/%s: the continuation token did not advance",
                        p->bucket, p->prefix);
            goto out;
        }
        free(token);
        token = page.next_token;
        page.next_token = NULL;
        jb_s3_list_page_free(&page);
    }
out:
    jb_s3_list_page_free(&page);
    free(token);
    return rc;
}

/* One DeleteObjects call for items[from, from+n); counts what went. */
static int delete_batch(struct purge *p, size_t from, size_t n, char *err, size_t errlen)
{
    struct jb_s3_object_id ids[JB_S3_DELETE_BATCH];
    struct jb_s3_delete_result res;
    int rc;

    for (size_t i = 0; i < n; i++)
        ids[i] = (struct jb_s3_object_id){p->items[from + i].key, p->items[from + i].version_id};
    if ((rc = jb_s3_delete_objects(p->c, p->bucket, ids, n, &res, err, errlen)) != 0)
        return rc;
    p->st->batches++;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t e = 0; e < res.nerrors && ok; e++) {
            const struct jb_s3_delete_error *de = &res.errors[e];
            if (strcmp(de->key, ids[i].key) == 0 &&
                (ids[i].version_id == NULL || de->version_id == NULL ||
                 strcmp(de->version_id, ids[i].version_id) == 0))
                ok = 0;
        }
        if (ok && p->items[from + i].delete_marker)
            p->st->delete_markers++;
        else if (ok)
            p->st->deleted++;
    }
    if (res.nerrors && p->failed == 0) {
        char w[WHAT_MAX];
        const struct jb_s3_delete_error *de = &res.errors[0];
        jb_s3_what(w, sizeof(w), p->bucket, de->key);
        snprintf(p->first_failure, sizeof(p->first_failure), "%s%s%s: %s%s%s", w,
                 de->version_id ? " version " : "", de->version_id ? de->version_id : "", de->code,
                 de->message ? ": " : "", de->message ? de->message : "");
    }
    p->failed += res.nerrors;
    jb_s3_delete_result_free(&res);
    return 0;
}

static int purge(struct jb_s3_client *c, const char *bucket, const char *prefix, int exact,
                 struct jb_s3_purge_stats *stats, char *err, size_t errlen)
{
    struct jb_s3_purge_stats local;
    struct purge p = {0};
    size_t n = prefix ? strlen(prefix) : 0;
    int rc;

    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (n == 0 || prefix[0] == '/' || (!exact && prefix[n - 1] != '/') || n > JB_S3_KEY_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "purge: %s must be non-empty, not start with '/'%s and be at most %u bytes",
                      exact ? "key" : "prefix", exact ? "" : ", end with '/'", JB_S3_KEY_MAX);
    if ((rc = jb_s3_check_bucket(bucket, err, errlen)) != 0)
        return rc;
    p = (struct purge){.c = c, .bucket = bucket, .prefix = prefix, .exact = exact, .st = stats};
    rc = list_versions(&p, err, errlen);
    if (rc == JB_ERR_UNSUPPORTED && stats->pages == 0) {
        /* No versions API: then there is no history to remove either. */
        rc = list_plain(&p, err, errlen);
    }
    for (size_t i = 0; rc == 0 && i < p.n; i += JB_S3_DELETE_BATCH) {
        size_t k = p.n - i < JB_S3_DELETE_BATCH ? p.n - i : JB_S3_DELETE_BATCH;
        rc = delete_batch(&p, i, k, err, errlen);
    }
    if (rc == 0 && p.failed)
        rc = jb_err(err, errlen, JB_ERR_AWS, "purge s3://%s/%s: %zu keys not deleted; first: %s",
                    bucket, prefix, p.failed, p.first_failure);
    for (size_t i = 0; i < p.n; i++) {
        free(p.items[i].key);
        free(p.items[i].version_id);
    }
    free(p.items);
    return rc;
}

int jb_s3_purge_prefix(struct jb_s3_client *c, const char *bucket, const char *prefix,
                       struct jb_s3_purge_stats *stats, char *err, size_t errlen)
{
    return purge(c, bucket, prefix, 0, stats, err, errlen);
}

int jb_s3_purge_key(struct jb_s3_client *c, const char *bucket, const char *key,
                    struct jb_s3_purge_stats *stats, char *err, size_t errlen)
{
    return purge(c, bucket, key, 1, stats, err, errlen);
}
