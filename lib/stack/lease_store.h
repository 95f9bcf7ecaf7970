/* The storage under leases: one backend per state kind.  file:// lives in
 * lease_store.c; s3:// in lease_store_s3.c.
 *
 * Every update is conditional: it names the version it read (etag, at most
 * JB_LEASE_ETAG_MAX bytes with the NUL) and fails with JB_ERR_CONFLICT when
 * the lease changed since, JB_ERR_NOTFOUND when it is gone, so two writers
 * never undo each other and nobody re-creates a purged lease.  In S3 that
 * is S3's own If-Match; in a directory, a compare-and-swap under a lock
 * file (<dir>/.lock, flock). */
#ifndef JB_LEASE_STORE_H
#define JB_LEASE_STORE_H

#include <stddef.h>

#include "stack/state.h"

#define JB_LEASE_MAX_BYTES (64 * 1024) /* a lease's JSON, written or read */
#define JB_LEASE_ETAG_MAX 132          /* a stored version's id, with the NUL */

/* Checks the location can be used (file: created 0700 and writable; s3:
 * the bucket answers a listing with our credentials).  JB_ERR_INVALID when
 * the location itself is wrong; other errors (S3 failing) are not input's. */
int jb_lease_store_prepare(const struct jb_state *st, char *err, size_t errlen);

/* if_match NULL: create, failing with JB_ERR_EXISTS when the lease exists;
 * else replace the version if_match names (see above).  etag (NULL, or
 * JB_LEASE_ETAG_MAX bytes) gets the new version's. */
int jb_lease_store_put(const struct jb_state *st, const char *stack_id, const char *json,
                       size_t len, const char *if_match, char *etag, char *err, size_t errlen);
/* etag may be NULL. */
int jb_lease_store_get(const struct jb_state *st, const char *stack_id, char **json, char *etag,
                       char *err, size_t errlen);
/* Other files of a stack, kept beside its lease so any machine finds them
 * (errored.tfstate): name is a plain file name.  put replaces, and fails
 * with JB_ERR_NOTFOUND when the stack has no lease directory (file://);
 * get fails with JB_ERR_NOTFOUND when there is none; delete of a missing
 * one succeeds.  The purge removes them with the rest. */
int jb_lease_store_put_file(const struct jb_state *st, const char *stack_id, const char *name,
                            const void *data, size_t len, char *err, size_t errlen);
int jb_lease_store_get_file(const struct jb_state *st, const char *stack_id, const char *name,
                            size_t max, char **data, size_t *len, char *err, size_t errlen);
int jb_lease_store_delete_file(const struct jb_state *st, const char *stack_id, const char *name,
                               char *err, size_t errlen);

/* Stack ids that have something under the state root. */
int jb_lease_store_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen);
int jb_lease_store_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen);

/* s3: the bucket exists and answers us.  JB_ERR_INVALID with why when it
 * is missing or refuses us; S3's own failures (5xx, no answer) keep their
 * error value. */
int jb_lease_store_check(const struct jb_state *st, char *err, size_t errlen);

/* The S3 backend behind the functions above. */
int jb_lease_s3_put(const struct jb_state *st, const char *stack_id, const char *json, size_t len,
                    const char *if_match, char *etag, char *err, size_t errlen);
int jb_lease_s3_get(const struct jb_state *st, const char *stack_id, char **json, char *etag,
                    char *err, size_t errlen);
int jb_lease_s3_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen);
int jb_lease_s3_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen);
int jb_lease_s3_put_file(const struct jb_state *st, const char *stack_id, const char *name,
                         const void *data, size_t len, char *err, size_t errlen);
int jb_lease_s3_get_file(const struct jb_state *st, const char *stack_id, const char *name,
                         size_t max, char **data, size_t *len, char *err, size_t errlen);
int jb_lease_s3_delete_file(const struct jb_state *st, const char *stack_id, const char *name,
                            char *err, size_t errlen);

#endif
