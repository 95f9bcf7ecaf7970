/* AWS Lambda Invoke (POST /2015-03-31/functions/NAME/invocations), over
 * jb_aws_request (signed, retried).  The endpoint is AWS_ENDPOINT_URL_LAMBDA,
 * else AWS_ENDPOINT_URL, else https://lambda.REGION.amazonaws.com.
 *
 *     struct jb_lambda_result res;
 *     rc = jb_lambda_invoke(NULL, "jumpbox-clean", json, len,
 *                           JB_LAMBDA_REQUEST_RESPONSE, &res, err, errlen);
 *     // rc 0: res.payload is the function's answer
 *     // JB_ERR_AWS with res.function_error set: the function failed;
 *     //   err says "lambda jumpbox-clean: function error (Unhandled):
 *     //   Runtime.ExitError: ..." and res.payload holds the error document
 *     jb_lambda_result_free(&res); */
#ifndef JB_LAMBDA_INVOKE_H
#define JB_LAMBDA_INVOKE_H

#include <stddef.h>

#include "aws/creds.h"
#include "aws/request.h"

#define JB_LAMBDA_PAYLOAD_MAX (6u * 1024 * 1024) /* Lambda's synchronous payload limit */

enum jb_lambda_invocation {
    JB_LAMBDA_REQUEST_RESPONSE, /* wait for the answer (200) */
    JB_LAMBDA_EVENT,            /* queue it and return (202), no payload back */
};

struct jb_lambda_config {
    const char *region;                 /* NULL: jb_aws_region(NULL, ...) */
    struct jb_creds_provider *creds;    /* NULL: the default chain, for this call */
    const struct jb_http_options *http; /* NULL: defaults */
};

struct jb_lambda_result {
    long status;          /* 200, 202 */
    char *payload;        /* malloc'd, NUL-terminated; "" for Event */
    size_t payload_len;   /* bytes in payload */
    char *function_error; /* X-Amz-Function-Error ("Unhandled", "Handled"), or NULL */
    char *version;        /* X-Amz-Executed-Version, or NULL */
};

void jb_lambda_result_free(struct jb_lambda_result *r);

/* Checks a FunctionName as Invoke takes it: a name ([A-Za-z0-9_-]{1,64}),
 * "ACCOUNT:function:NAME", or "arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME",
 * each with an optional ":QUALIFIER" ($LATEST, a version or an alias). */
int jb_lambda_check_name(const char *name, char *err, size_t errlen);

/* Invokes function with payload (JSON text, len bytes; NULL/0 sends "{}").
 * Returns 0 on success; JB_ERR_AWS when the function itself failed
 * (X-Amz-Function-Error), with errorType and errorMessage from the payload
 * in err and the rest in out; JB_ERR_NOTFOUND (404
 * ResourceNotFoundException), JB_ERR_AUTH (403), JB_ERR_AWS (other error
 * answers), JB_ERR_PARSE (a function error whose payload is not JSON), and
 * the errors of jb_aws_request.  out is filled as far as an answer came and
 * must always be freed. */
int jb_lambda_invoke(const struct jb_lambda_config *cfg, const char *function, const char *payload,
                     size_t len, enum jb_lambda_invocation type, struct jb_lambda_result *out,
                     char *err, size_t errlen);

#endif
