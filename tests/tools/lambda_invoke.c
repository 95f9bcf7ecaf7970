/* Test driver for lib/aws/lambda: invokes one function, credentials, region and
 * endpoint from the environment (AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL).
 *
 *   lambda_invoke [--event] FUNCTION [PAYLOAD]
 *
 * The response payload goes to stdout (also for a function error), and
 * "status=N function_error=X" to stderr.  Failures: "lambda_invoke: NAME:
 * detail" on stderr, exit 2 for invalid input, 1 otherwise. */
#include "base/err.h"
#include "aws/lambda_invoke.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    enum jb_lambda_invocation type = JB_LAMBDA_REQUEST_RESPONSE;
    struct jb_lambda_result res;
    char err[JB_ERRLEN] = "";
    int i = 1, rc;

    if (i < argc && strcmp(argv[i], "--event") == 0) {
        type = JB_LAMBDA_EVENT;
        i++;
    }
    if (argc - i < 1 || argc - i > 2) {
        fprintf(stderr, "usage: lambda_invoke [--event] FUNCTION [PAYLOAD]\n");
        return 2;
    }
    const char *payload = argc - i == 2 ? argv[i + 1] : NULL;
    rc = jb_lambda_invoke(NULL, argv[i], payload, payload ? strlen(payload) : 0, type, &res, err,
                          sizeof(err));
    if (res.payload)
        fwrite(res.payload, 1, res.payload_len, stdout);
    fflush(stdout);
    fprintf(stderr, "status=%ld function_error=%s\n", res.status,
            res.function_error ? res.function_error : "");
    jb_lambda_result_free(&res);
    if (rc) {
        fprintf(stderr, "lambda_invoke: %s: %s\n", jb_err_name(rc), err);
        return rc == JB_ERR_INVALID ? 2 : 1;
    }
    return 0;
}
