/* The one store under leases, Terraform's state, audit records, errored
 * state and what a box publishes: a file:// directory or an s3:// bucket
 * prefix, behind one table of operations with one file per backend
 * (store_int.h; curl's struct Curl_ssl is the model).  Nothing outside
 * the store asks which kind a state is: it asks the store.
 *
 * Keys are relative to the state's root ("<stack>/lease.json",
 * "audit/<stack>/<record>"); every part is a plain name (no '.' first, no
 * empty part).  Listings are in byte order of the keys, as S3 lists.
 *
 * Conditional writes name the version read (etag, at most
 * JB_STORE_ETAG_MAX bytes with the NUL), so two writers never undo each
 * other and nobody re-creates what was purged: S3's If-None-Match and
 * If-Match; in a directory, a compare-and-swap under one lock file
 * (<dir>/.lock, flock) held for milliseconds. */
#ifndef JB_STORE_H
#define JB_STORE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "stack/state.h"

#define JB_STORE_ETAG_MAX 132 /* a stored version's id, with the NUL */

struct jb_store_obj {
    char *data;                   /* malloc'd, NUL-terminated: free with jb_store_obj_free */
    size_t len;                   /* bytes in data */
    size_t size;                  /* the whole object's: > len when data is its end only */
    time_t modified;              /* JB_STORE_MODIFIED: when it was written, to the second */
    char etag[JB_STORE_ETAG_MAX]; /* the version read ("" when the server named none) */
};

enum {
    /* An object over max: its last max bytes (size says how big it is)
     * rather than a failure. */
    JB_STORE_TAIL = 1,
    /* Fill modified (S3: Last-Modified; JB_ERR_PARSE when it has none). */
    JB_STORE_MODIFIED = 2,
};

/* "<stack>/<name>": the key of a stack's own object (its lease, its
 * Terraform state, errored.tfstate).  JB_ERR_INVALID when it does not fit. */
int jb_store_stack_key(const char *stack_id, const char *name, char *out, size_t outlen);

/* Checks the location can be used (file: created 0700 and writable; s3:
 * the bucket answers a listing with our credentials).  JB_ERR_INVALID when
 * the location itself is wrong; other errors (S3 failing) are not input's. */
int jb_store_prepare(const struct jb_state *st, char *err, size_t errlen);

/* 1 when the store is a service reached over the network (s3://), not a
 * directory on this machine: a box in the cloud can read and write it,
 * and each read is a request worth pacing. */
int jb_store_is_remote(const struct jb_state *st);

/* Where key is, for people: "s3://bucket/prefix/key" or "/dir/key". */
int jb_store_where(const struct jb_state *st, const char *key, char *out, size_t outlen);

/* Replaces (or makes) key.  file://: never makes a directory, so a write
 * into a purged stack fails with JB_ERR_NOTFOUND rather than bring it back. */
int jb_store_put(const struct jb_state *st, const char *key, const void *data, size_t len,
                 const char *content_type, char *err, size_t errlen);
/* Makes key, JB_ERR_EXISTS when it exists (file://: making the directories
 * above it).  etag (NULL, or JB_STORE_ETAG_MAX bytes) gets the version's. */
int jb_store_put_if_absent(const struct jb_state *st, const char *key, const void *data, size_t len,
                           const char *content_type, char *etag, char *err, size_t errlen);
/* Replaces the version if_match names: JB_ERR_CONFLICT when key changed
 * since, JB_ERR_NOTFOUND when it is gone.  etag as above. */
int jb_store_put_if_match(const struct jb_state *st, const char *key, const void *data, size_t len,
                          const char *content_type, const char *if_match, char *etag, char *err,
                          size_t errlen);

/* Reads key, at most max bytes (see JB_STORE_TAIL); JB_ERR_NOTFOUND when
 * there is none.  flags: JB_STORE_*. */
int jb_store_get(const struct jb_state *st, const char *key, size_t max, int flags,
                 struct jb_store_obj *out, char *err, size_t errlen);
void jb_store_obj_free(struct jb_store_obj *o);

/* Calls fn with every key under prefix ("" or ending in '/'), in byte
 * order; a nonzero return stops the listing and is returned. */
typedef int (*jb_store_key_fn)(void *ctx, const char *key);
int jb_store_list(const struct jb_state *st, const char *prefix, jb_store_key_fn fn, void *ctx,
                  char *err, size_t errlen);

/* Removes key (S3: its current version); a missing key is no error. */
int jb_store_delete(const struct jb_state *st, const char *key, char *err, size_t errlen);
/* Removes every version of key, or of everything under it when it ends in
 * '/': nothing is left, not even in history.  A write that lands meanwhile
 * either goes with the rest or finds its lease gone. */
int jb_store_purge(const struct jb_state *st, const char *key, char *err, size_t errlen);

/* The Terraform backend block that keeps <stack>/terraform.tfstate in this
 * store (NULL when out of memory).  s3://: its endpoint follows
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, read here by the SDKs' rules as
 * lib/aws/ reads them, so Terraform talks to the S3 we do. */
cJSON *jb_store_tf_backend(const struct jb_state *st, const char *stack_id);

#endif
