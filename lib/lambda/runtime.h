/* The AWS Lambda Runtime API loop (custom runtime, API version 2018-06-01):
 * GET  /2018-06-01/runtime/invocation/next          (waits, no read timeout)
 * POST /2018-06-01/runtime/invocation/{id}/response
 * POST /2018-06-01/runtime/invocation/{id}/error    (application/vnd.aws.lambda.error+json)
 * POST /2018-06-01/runtime/init/error
 *
 * Each invocation runs the handler in a forked child, so a handler that
 * crashes or overruns its deadline is reported through the error endpoint
 * and the runtime goes on serving.  Nothing here is slow before the first
 * `next`: no network but the Runtime API, no Terraform. */
#ifndef JB_RUNTIME_H
#define JB_RUNTIME_H

#include <stddef.h>

#define JB_RUNTIME_ERRTYPE_MAX 64
#define JB_RUNTIME_ERRMSG_MAX 1024

struct jb_invocation {
    const char *request_id;   /* Lambda-Runtime-Aws-Request-Id */
    long long deadline_ms;    /* Lambda-Runtime-Deadline-Ms: Unix epoch, milliseconds */
    const char *function_arn; /* Lambda-Runtime-Invoked-Function-Arn, or "" */
    const char *event;        /* the payload, NUL-terminated */
    size_t event_len;
};

struct jb_handler_error {
    char type[JB_RUNTIME_ERRTYPE_MAX];   /* errorType, e.g. "jumpbox.InvalidRequest" */
    char message[JB_RUNTIME_ERRMSG_MAX]; /* errorMessage: one line, no secrets */
};

/* Returns 0 with *response (malloc'd JSON text; the runtime wipes and
 * frees it), or non-zero with e filled. */
typedef int (*jb_handler_fn)(void *ctx, const struct jb_invocation *inv, char **response,
                             struct jb_handler_error *e);

/* Fills e and returns -1, for `return jb_handler_fail(e, "T", "...")`. */
int jb_handler_fail(struct jb_handler_error *e, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct jb_runtime {
    const char *api; /* AWS_LAMBDA_RUNTIME_API: "host:port" */
    jb_handler_fn handler;
    void *ctx;
    long margin_ms;       /* the child is stopped this long before the deadline; 0: 1000 */
    long max_invocations; /* 0: serve until the Runtime API goes away */
    /* Problems that concern no invocation (a response the API refused):
     * one line for the function's log.  NULL: dropped. */
    void (*note)(void *ctx, const char *line);
};

/* Serves invocations.  Returns only when `next` fails (the Runtime API is
 * gone) or after max_invocations, with the reason in err. */
int jb_runtime_run(const struct jb_runtime *rt, char *err, size_t errlen);

/* Reports a failed initialisation; the caller exits non-zero afterwards. */
int jb_runtime_init_error(const char *api, const char *type, const char *message, char *err,
                          size_t errlen);

#endif
