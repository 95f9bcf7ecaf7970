/* A Lambda function for testing lib/lambda/runtime against the local harness
 * (tests/support/lambda_harness.py).  The event {"do": WHAT} picks:
 *   echo   answer with what the runtime handed over (request id, deadline,
 *          function ARN, _X_AMZN_TRACE_ID, the event, the runtime's pid)
 *   fail   a handler error
 *   crash  abort() inside the handler
 *   exit   the handler process exits without answering
 *   sleep  sleep past the deadline
 *   big    an answer over the 6 MB payload limit
 * With PROBE_INIT_FAIL set it reports an init error and exits instead. */
#include "lambda/runtime.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int handle(void *ctx, const struct jb_invocation *inv, char **response,
                  struct jb_handler_error *e)
{
    cJSON *ev = cJSON_ParseWithLength(inv->event, inv->event_len), *o;
    const char *what = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "do"));
    const char *trace = getenv("_X_AMZN_TRACE_ID");
    int rc = 0;

    (void)ctx;
    if (what == NULL)
        what = "echo";
    if (strcmp(what, "fail") == 0) {
        rc = jb_handler_fail(e, "Probe.Failed", "asked to fail");
    } else if (strcmp(what, "crash") == 0) {
        abort();
    } else if (strcmp(what, "exit") == 0) {
        _exit(3);
    } else if (strcmp(what, "sleep") == 0) {
        for (;;)
            sleep(60);
    } else if (strcmp(what, "big") == 0) {
        size_t n = 7u * 1024 * 1024;
        if ((*response = malloc(n + 3)) != NULL) {
            (*response)[0] = '"';
            memset(*response + 1, 'x', n);
            strcpy(*response + 1 + n, "\"");
        }
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "request_id", inv->request_id);
        cJSON_AddNumberToObject(o, "deadline_ms", (double)inv->deadline_ms);
        cJSON_AddStringToObject(o, "function_arn", inv->function_arn);
        if (trace)
            cJSON_AddStringToObject(o, "trace_id", trace);
        cJSON_AddItemToObject(o, "event", cJSON_Duplicate(ev, 1));
        cJSON_AddNumberToObject(o, "runtime_pid", (double)getppid());
        *response = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    cJSON_Delete(ev);
    return rc;
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "probe: %s\n", line);
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    struct jb_runtime rt = {.api = api, .handler = handle, .note = note};
    char err[512];

    if (getenv("PROBE_INIT_FAIL")) {
        if (jb_runtime_init_error(api, "Probe.InitFailed", "asked to fail at init", err,
                                  sizeof(err)) != 0)
            fprintf(stderr, "probe: %s\n", err);
        return 1;
    }
    if (jb_runtime_run(&rt, err, sizeof(err)) != 0)
        fprintf(stderr, "probe: %s\n", err);
    return 1;
}
