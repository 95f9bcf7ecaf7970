/* Asking a function to act on a stack as its owner: the teardown token
 * proves it may.  The clean function destroys (`cleaner request`,
 * `provisioner run --function`); the build function extends and keeps alive
 * (`provisioner extend --function`, run's heartbeats). */
#ifndef JB_CLEANFN_H
#define JB_CLEANFN_H

#include <stddef.h>

/* Invokes function with {"action":"destroy","stack_id","token"}; the token
 * stays in locked memory.  0: *answer (free()) is the function's JSON,
 * {"stack_id","result":"destroyed"|"already_gone"}.  Otherwise the errors
 * of jb_lambda_invoke, err saying why, and *refused set when the function
 * refused the request (jumpbox.InvalidRequest, jumpbox.Denied). */
int jb_cleanfn_destroy(const char *function, const char *stack_id, const char *token, char **answer,
                       int *refused, char *err, size_t errlen);
/* The same with {"action":action,"stack_id","token"[,"ttl"]}: the build
 * function's "extend" (ttl) and "heartbeat" (no ttl). */
int jb_cleanfn_owner_call(const char *function, const char *action, const char *stack_id,
                          const char *token, const char *ttl, char **answer, int *refused,
                          char *err, size_t errlen);

/* A teardown token file (64 hex digits, a trailing newline allowed) into
 * locked memory (*out: jb_secret_free).  JB_ERR_INVALID when it holds none. */
int jb_cleanfn_read_token(const char *path, char **out, char *err, size_t errlen);

#endif
