/* The storage under leases: one backend per state kind.  file:// lives in
 * lease_store.c; s3:// in lease_store_s3.c. */
#ifndef JB_LEASE_STORE_H
#define JB_LEASE_STORE_H

#include <stddef.h>

#include "state.h"

/* create: fail with JB_ERR_EXISTS when the lease exists. */
int jb_lease_store_put(const struct jb_state *st, const char *stack_id, const char *json,
                       size_t len, int create, char *err, size_t errlen);
int jb_lease_store_get(const struct jb_state *st, const char *stack_id, char **json, char *err,
                       size_t errlen);
/* Stack ids that have something under the state root. */
int jb_lease_store_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen);
int jb_lease_store_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen);

/* s3: the bucket exists and answers us.  JB_ERR_INVALID with why when it
 * is missing or refuses us; S3's own failures (5xx, no answer) keep their
 * error value. */
int jb_lease_store_check(const struct jb_state *st, char *err, size_t errlen);

/* The S3 backend behind the functions above. */
int jb_lease_s3_put(const struct jb_state *st, const char *stack_id, const char *json, size_t len,
                    int create, char *err, size_t errlen);
int jb_lease_s3_get(const struct jb_state *st, const char *stack_id, char **json, char *err,
                    size_t errlen);
int jb_lease_s3_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen);
int jb_lease_s3_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen);

#endif
