/* A stack's owner asking a function to act on it (cleanfn.h), the teardown
 * token read from a 0600 file and wiped after use. */
#include "stack/cleanfn.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/secret.h"
#include "net/http.h"
#include "aws/lambda_invoke.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVOKE_TIMEOUT_MS (16L * 60 * 1000) /* Lambda's longest run, and a minute */

int jb_cleanfn_destroy(const char *function, const char *stack_id, const char *token, char **answer,
                       int *refused, char *err, size_t errlen)
{
    return jb_cleanfn_owner_call(function, "destroy", stack_id, token, NULL, answer, refused, err,
                                 errlen);
}

int jb_cleanfn_owner_call(const char *function, const char *action, const char *stack_id,
                          const char *token, const char *ttl, char **answer, int *refused,
                          char *err, size_t errlen)
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
    if (ev == NULL || !cJSON_AddStringToObject(ev, "action", action) ||
        !cJSON_AddStringToObject(ev, "stack_id", stack_id) ||
        (ttl && !cJSON_AddStringToObject(ev, "ttl", ttl)) ||
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

int jb_cleanfn_read_token(const char *path, char **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = jb_file_read(path, 4096, &text, &len, err, errlen)) != 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    /* 64, as the stacks make them (stack.h's JB_TOKEN_HEX_LEN). */
    if (len != 64 || strspn(text, "0123456789abcdef") < 64) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "%s: not a teardown token (64 hex digits)", path);
    } else if ((*out = jb_secret_alloc(64 + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of locked memory");
    } else {
        memcpy(*out, text, 64);
        (*out)[64] = '\0';
    }
    jb_secret_wipe(text, len);
    free(text);
    return rc;
}
