/* AWS Step Functions task callbacks -- the .waitForTaskToken pattern: a
 * state machine hands an on-prem job a task token and waits until the job
 * reports SendTaskSuccess or SendTaskFailure, or stops sending
 * SendTaskHeartbeat for longer than the state's HeartbeatSeconds.
 *
 * JSON 1.0 protocol (POST /, X-Amz-Target: AWSStepFunctions.<Action>,
 * Content-Type: application/x-amz-json-1.0), signed as service "states",
 * over jb_aws_request (the standard retries).  The endpoint is
 * AWS_ENDPOINT_URL_SFN, else AWS_ENDPOINT_URL, else
 * https://states.REGION.amazonaws.com.
 *
 *     rc = jb_sfn_send_heartbeat(NULL, token, err, sizeof err);
 *     // JB_ERR_NOTFOUND: the service refused the token (TaskTimedOut,
 *     //   TaskDoesNotExist, InvalidToken): stop reporting, err says which
 *     rc = jb_sfn_send_success(NULL, token, "{\"exit_status\":0}", err, sizeof err); */
#ifndef JB_SFN_H
#define JB_SFN_H

#include <stddef.h>

#include "aws/creds.h"
#include "aws/request.h"

/* The API's limits (bytes; error and cause are cut on a UTF-8 boundary to
 * fit, output is refused when over). */
#define JB_SFN_TOKEN_MAX 2048
#define JB_SFN_OUTPUT_MAX (256u * 1024)
#define JB_SFN_ERROR_MAX 256
#define JB_SFN_CAUSE_MAX 32768

struct jb_sfn_config {
    const char *region;                 /* NULL: jb_aws_region(NULL, ...) */
    struct jb_creds_provider *creds;    /* NULL: the default chain, for this call */
    const struct jb_http_options *http; /* NULL: defaults */
};

/* A task token as the API takes it: 1..JB_SFN_TOKEN_MAX printable ASCII
 * bytes, no spaces (a token read with its newline is refused, not sent).
 * JB_ERR_INVALID naming --task-token otherwise.  Every call below checks
 * it first. */
int jb_sfn_check_token(const char *token, char *err, size_t errlen);

/* The longest prefix of s[0..len) of at most max bytes that does not end
 * inside a UTF-8 sequence: its length.  (Where s is not UTF-8 -- more than
 * 3 continuation bytes at the cut -- it is cut at max.) */
size_t jb_sfn_utf8_head(const char *s, size_t len, size_t max);

/* The longest suffix of s[0..len) of at most max bytes that does not begin
 * inside a UTF-8 sequence: its offset in s. */
size_t jb_sfn_utf8_tail(const char *s, size_t len, size_t max);

/* Each returns 0 when the service took the call; JB_ERR_NOTFOUND when it
 * refused the token (TaskTimedOut, TaskDoesNotExist, InvalidToken: the
 * state machine is no longer waiting; err names the code); JB_ERR_INVALID
 * for a bad token, an output over JB_SFN_OUTPUT_MAX bytes or not JSON (one
 * JSON text in UTF-8, nothing after it); JB_ERR_AUTH (403),
 * JB_ERR_AWS (other error answers) and the errors of jb_aws_request. */
int jb_sfn_send_success(const struct jb_sfn_config *cfg, const char *token, const char *output_json,
                        char *err, size_t errlen);
/* error and cause (either may be NULL) are cut to JB_SFN_ERROR_MAX and to
 * the last JB_SFN_CAUSE_MAX bytes on UTF-8 boundaries; any byte that is not
 * part of well-formed UTF-8 becomes '?' (same length), so the request is
 * valid JSON whatever a command wrote to stderr. */
int jb_sfn_send_failure(const struct jb_sfn_config *cfg, const char *token, const char *error,
                        const char *cause, char *err, size_t errlen);
int jb_sfn_send_heartbeat(const struct jb_sfn_config *cfg, const char *token, char *err,
                          size_t errlen);

#endif
