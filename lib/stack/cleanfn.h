/* Asking the clean Lambda function to destroy a stack, as its owner: the
 * teardown token proves it may.  `cleaner request` and `provisioner run
 * --function` both end a box this way. */
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

#endif
