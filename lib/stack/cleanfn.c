#include "stack/cleanfn.h"

#include "base/err.h"
#include "net/http.h"
#include "base/secret.h"
#include "aws/lambda_invoke.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define INVOKE_TIMEOUT_MS (16L * 60 * 1000) /* Lambda's longest run, and a minute */

int jb_cleanfn_destroy(const char *function, const char *stack_id, const char *token, char **answer,
                       int *refused, char *err, size_t errlen)
{
    struct jb_http_options http = {.total_timeout_ms = INVOKE_TIMEOUT_MS};
    struct jb_lambda_config lc = {.http = &http};
    struct jb_lambda_result lr;
    size_t cap = 512;
    char *event = NULL;
    cJSON *ev = NULL;
    int rc;

    *answer = NULL;
    *refused = 0;
    memset(&lr, 0, sizeof(lr));
    if ((rc = jb_http_init(err, errlen)) != 0)
        goto out;
    /* The token is referenced, not copied, and printed into locked memory. */
    ev = cJSON_CreateObject();
    if (ev == NULL || !cJSON_AddStringToObject(ev, "action", "destroy") ||
        !cJSON_AddStringToObject(ev, "stack_id", stack_id) ||
        !cJSON_AddItemToObject(ev, "token", cJSON_CreateStringReference(token)) ||
        (event = jb_secret_alloc(cap)) == NULL ||
        !cJSON_PrintPreallocated(ev, event, (int)cap - 5, 0)) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = jb_lambda_invoke(&lc, function, event, strlen(event), JB_LAMBDA_REQUEST_RESPONSE, &lr, err,
                          errlen);
    if (rc != 0) {
        *refused = lr.function_error && lr.payload &&
                   (strstr(lr.payload, "\"jumpbox.InvalidRequest\"") ||
                    strstr(lr.payload, "\"jumpbox.Denied\""));
        goto out;
    }
    *answer = lr.payload;
    lr.payload = NULL;
out:
    jb_lambda_result_free(&lr);
    jb_secret_free(event);
    cJSON_Delete(ev);
    return rc;
}
