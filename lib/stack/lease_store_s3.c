/* Leases in S3: <prefix><stack>/lease.json beside Terraform's
 * <prefix><stack>/terraform.tfstate.  A new lease is written with
 * If-None-Match: * so two creators of one stack id can't both win; every
 * update with If-Match: the ETag read, so no writer undoes another's
 * change or re-creates a purged lease. */
#include "stack/lease_store.h"

#include "base/err.h"
#include "base/grow.h"
#include "base/parse.h"
#include "aws/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURGE_PASSES 4

static int client(struct jb_s3_client **c, int page_size, char *err, size_t errlen)
{
    struct jb_s3_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.page_size = page_size;
    return jb_s3_client_new(&cfg, c, err, errlen);
}

static int lease_key(const struct jb_state *st, const char *stack_id, char *key, size_t keylen)
{
    int n = snprintf(key, keylen, "%s%s/lease.json", st->prefix, stack_id);
    return (n < 0 || (size_t)n >= keylen) ? JB_ERR_INVALID : 0;
}

int jb_lease_store_check(const struct jb_state *st, char *err, size_t errlen)
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

/* A retried write whose first attempt S3 stored (the answer lost on the
 * way) meets its own lease: 412 for a create, 412 for an update (the ETag
 * moved on, to ours).  Every write holds a fresh random revision, so the
 * same bytes can only be our own earlier attempt; its ETag is then ours. */
static int ours(struct jb_s3_client *c, const char *bucket, const char *key, const char *json,
                size_t len, char *etag)
{
    char *body = NULL;
    size_t blen = 0;
    int same =
        jb_s3_get_etag(c, bucket, key, JB_LEASE_MAX_BYTES, &body, &blen, etag, NULL, 0) == 0 &&
        blen == len && memcmp(body, json, len) == 0;

    free(body);
    return same;
}

int jb_lease_s3_put(const struct jb_state *st, const char *stack_id, const char *json, size_t len,
                    const char *if_match, char *etag, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char key[1200], tag[JB_LEASE_ETAG_MAX] = "";
    int rc;

    if (lease_key(st, stack_id, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "lease key too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    rc = jb_s3_put_if(c, st->bucket, key, json, len, "application/json",
                      if_match ? 0 : JB_S3_PUT_IF_NONE_MATCH, if_match, tag, err, errlen);
    if ((rc == JB_ERR_EXISTS || rc == JB_ERR_CONFLICT) && ours(c, st->bucket, key, json, len, tag))
        rc = 0;
    /* A server that sends no ETag (S3 always does): read it back. */
    if (rc == 0 && tag[0] == '\0' && !ours(c, st->bucket, key, json, len, tag))
        rc = jb_err(err, errlen, JB_ERR_CONFLICT,
                    "lease of %s: changed by another process as it was written", stack_id);
    if (rc == JB_ERR_EXISTS)
        jb_err(err, errlen, rc, "stack %s already exists", stack_id);
    else if (rc == JB_ERR_CONFLICT && if_match)
        jb_err(err, errlen, rc, "lease of %s: changed by another process since it was read",
               stack_id);
    else if (rc == JB_ERR_NOTFOUND && if_match)
        jb_err(err, errlen, rc, "lease of %s: gone (destroyed meanwhile)", stack_id);
    if (rc == 0 && etag)
        memcpy(etag, tag, sizeof(tag));
    jb_s3_client_free(c);
    return rc;
}

int jb_lease_s3_get(const struct jb_state *st, const char *stack_id, char **json, char *etag,
                    char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char key[1200];
    int rc;

    *json = NULL;
    if (lease_key(st, stack_id, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "lease key too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    rc = jb_s3_get_etag(c, st->bucket, key, JB_LEASE_MAX_BYTES, json, NULL, etag, err, errlen);
    jb_s3_client_free(c);
    return rc;
}

/* "<prefix><id>/lease.json" -> id, when id is a valid stack id. */
static int id_of(const struct jb_state *st, const char *key, char *id, size_t idlen)
{
    size_t pl = strlen(st->prefix), n;
    const char *rest, *slash;

    if (strncmp(key, st->prefix, pl) != 0)
        return 0;
    rest = key + pl;
    if ((slash = strchr(rest, '/')) == NULL || strcmp(slash, "/lease.json") != 0)
        return 0;
    n = (size_t)(slash - rest);
    if (n == 0 || n >= idlen)
        return 0;
    memcpy(id, rest, n);
    id[n] = '\0';
    return jb_check_stack_id(id, NULL, 0) == 0;
}

int jb_lease_s3_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    struct jb_s3_list_page page;
    char *token = NULL, id[JB_STACK_ID_MAX + 1];
    char **v = NULL;
    size_t cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    memset(&page, 0, sizeof(page));
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    do {
        if ((rc = jb_s3_list(c, st->bucket, st->prefix, token, &page, err, errlen)) != 0)
            break;
        for (size_t i = 0; i < page.nkeys; i++) {
            if (!id_of(st, page.keys[i], id, sizeof(id)))
                continue;
            char **nv = jb_grow(v, &cap, *n + 1, sizeof(*v), 64);
            if (nv == NULL) {
                rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
                goto out;
            }
            v = nv;
            if ((v[*n] = strdup(id)) == NULL) {
                rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
                goto out;
            }
            (*n)++;
        }
        free(token);
        token = page.truncated && page.next_token ? strdup(page.next_token) : NULL;
        jb_s3_list_page_free(&page);
    } while (token != NULL);
out:
    jb_s3_list_page_free(&page);
    free(token);
    jb_s3_client_free(c);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        *n = 0;
        return rc;
    }
    *ids = v;
    return 0;
}

int jb_lease_s3_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char prefix[1200];
    int rc, n = snprintf(prefix, sizeof(prefix), "%s%s/", st->prefix, stack_id);

    if (n < 0 || (size_t)n >= sizeof(prefix))
        return jb_err(err, errlen, JB_ERR_INVALID, "stack prefix too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    /* A conditional update that lands between a pass's listing and its
     * deletes leaves a version behind: passes go on until one finds
     * nothing.  After that no update can land (If-Match finds no lease). */
    for (int pass = 0;; pass++) {
        struct jb_s3_purge_stats stats;
        memset(&stats, 0, sizeof(stats));
        if ((rc = jb_s3_purge_prefix(c, st->bucket, prefix, &stats, err, errlen)) != 0)
            break;
        if (stats.deleted == 0 && stats.delete_markers == 0)
            break;
        if (pass == PURGE_PASSES) {
            rc =
                jb_err(err, errlen, JB_ERR_CONFLICT, "s3://%s/%s: still written to after %d purges",
                       st->bucket, prefix, PURGE_PASSES);
            break;
        }
    }
    jb_s3_client_free(c);
    return rc;
}

static int side_key(const struct jb_state *st, const char *stack_id, const char *name, char *key,
                    size_t keylen)
{
    int n = snprintf(key, keylen, "%s%s/%s", st->prefix, stack_id, name);
    return (strchr(name, '/') != NULL || n < 0 || (size_t)n >= keylen) ? JB_ERR_INVALID : 0;
}

int jb_lease_s3_put_file(const struct jb_state *st, const char *stack_id, const char *name,
                         const void *data, size_t len, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char key[1200];
    int rc;

    if (side_key(st, stack_id, name, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack file key too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    rc = jb_s3_put(c, st->bucket, key, data, len, NULL, 0, err, errlen);
    jb_s3_client_free(c);
    return rc;
}

int jb_lease_s3_get_file(const struct jb_state *st, const char *stack_id, const char *name,
                         size_t max, char **data, size_t *len, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char key[1200];
    int rc;

    if (side_key(st, stack_id, name, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack file key too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    rc = jb_s3_get(c, st->bucket, key, max, data, len, err, errlen);
    jb_s3_client_free(c);
    return rc;
}

int jb_lease_s3_delete_file(const struct jb_state *st, const char *stack_id, const char *name,
                            char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    char key[1200];
    int rc;

    if (side_key(st, stack_id, name, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack file key too long");
    if ((rc = client(&c, 0, err, errlen)) != 0)
        return rc;
    rc = jb_s3_delete(c, st->bucket, key, err, errlen);
    jb_s3_client_free(c);
    return rc;
}
