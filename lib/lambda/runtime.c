/* The Runtime API loop (runtime.h): next, handle, respond or report, with
 * the invocation's deadline and trace id handed to the handler. */
#include "lambda/runtime.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/secret.h"
#include "base/strbuf.h"
#include "lambda/http1.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define API_PREFIX "/2018-06-01/runtime"
#define EVENT_MAX (6u * 1024 * 1024 + 4096) /* Lambda's synchronous payload limit */
#define ERROR_CT "Content-Type: application/vnd.aws.lambda.error+json"
#define POST_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L

int jb_handler_fail(struct jb_handler_error *e, const char *type, const char *fmt, ...)
{
    va_list ap;

    snprintf(e->type, sizeof(e->type), "%s", type);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* The error document: {"errorMessage":…,"errorType":…,"stackTrace":[]}, malloc'd. */
static char *error_json(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;

    if (o && cJSON_AddStringToObject(o, "errorMessage", message) &&
        cJSON_AddStringToObject(o, "errorType", type) && cJSON_AddArrayToObject(o, "stackTrace"))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void note(const struct jb_runtime *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(const struct jb_runtime *rt, const char *fmt, ...)
{
    char line[JB_ERRLEN];
    va_list ap;

    if (rt == NULL || rt->note == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rt->note(rt->ctx, line);
}

/* ---- HTTP to the Runtime API ------------------------------------------ */

struct next_hdrs {
    char request_id[256];
    char deadline[32];
    char arn[512];
    char trace[1024];
    int has_trace;
};

static void copy_header(char *dst, size_t dstlen, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= dstlen)
        n = dstlen - 1; /* an over-long value fails validation later */
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void on_header(void *ud, const char *name, size_t nlen, const char *v, size_t vlen)
{
    struct next_hdrs *h = ud;
    static const struct {
        const char *name;
        size_t off, len;
    } want[] = {
        {"Lambda-Runtime-Aws-Request-Id", offsetof(struct next_hdrs, request_id), 256},
        {"Lambda-Runtime-Deadline-Ms", offsetof(struct next_hdrs, deadline), 32},
        {"Lambda-Runtime-Invoked-Function-Arn", offsetof(struct next_hdrs, arn), 512},
        {"Lambda-Runtime-Trace-Id", offsetof(struct next_hdrs, trace), 1024},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strlen(want[i].name) == nlen && strncasecmp(name, want[i].name, nlen) == 0) {
            copy_header((char *)h + want[i].off, want[i].len, v, vlen);
            if (i == 3)
                h->has_trace = 1;
        }
    }
}

/* POSTs body to path; 0 when the API accepted it (2xx). */
static int api_post(const char *api, const char *path, const char *ctype, const char *errtype,
                    const char *body, size_t len, char *err, size_t errlen)
{
    char full[512], hdr[160], detail[JB_ERRLEN];
    const char *hdrs[3] = {ctype, NULL, NULL};
    struct jb_http1_resp resp = {0};
    struct jb_http1_req q = {.hostport = api,
                             .method = "POST",
                             .path = full,
                             .headers = hdrs,
                             .body = body,
                             .body_len = len,
                             .timeout_ms = POST_TIMEOUT_MS,
                             .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                             .max_body = 64 * 1024};
    int n = snprintf(full, sizeof(full), API_PREFIX "%s", path), rc = 0;

    if (n < 0 || (size_t)n >= sizeof(full))
        return jb_err(err, errlen, JB_ERR_INVALID, "runtime API path too long");
    if (errtype) {
        snprintf(hdr, sizeof(hdr), "Lambda-Runtime-Function-Error-Type: %s", errtype);
        hdrs[1] = hdr;
    }
    if ((rc = jb_http1_request(&q, &resp, detail, sizeof(detail))) != 0)
        rc = jb_err(err, errlen, rc, "POST %s: %s", path, detail);
    else if (resp.status < 200 || resp.status > 299)
        rc = jb_err(err, errlen, JB_ERR_HTTP, "POST %s: HTTP %d %.200s", path, resp.status,
                    resp.body ? resp.body : "");
    jb_http1_resp_free(&resp);
    return rc;
}

static int post_error(const char *api, const char *path, const char *type, const char *message,
                      char *err, size_t errlen)
{
    char *doc = error_json(type, message);
    int rc;

    if (doc == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    rc = api_post(api, path, ERROR_CT, type, doc, strlen(doc), err, errlen);
    free(doc);
    return rc;
}

int jb_runtime_init_error(const char *api, const char *type, const char *message, char *err,
                          size_t errlen)
{
    if (api == NULL || *api == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "AWS_LAMBDA_RUNTIME_API: not set");
    return post_error(api, "/init/error", type, message, err, errlen);
}

/* ---- one invocation, in a child ----------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The child's answer on the pipe: 'R' + response, or 'E' + type NUL message. */
static void child_run(const struct jb_runtime *rt, const struct jb_invocation *inv, int fd)
{
    struct jb_handler_error e;
    char *response = NULL;

    memset(&e, 0, sizeof(e));
    if (rt->handler(rt->ctx, inv, &response, &e) == 0 && response != NULL) {
        write_all(fd, "R", 1);
        write_all(fd, response, strlen(response));
        jb_secret_wipe(response, strlen(response));
        free(response);
    } else {
        free(response);
        if (e.type[0] == '\0')
            snprintf(e.type, sizeof(e.type), "Runtime.HandlerError");
        write_all(fd, "E", 1);
        write_all(fd, e.type, strlen(e.type) + 1);
        write_all(fd, e.message, strlen(e.message));
    }
    close(fd);
}

/* Reads the child's answer until EOF or until stop_ms (epoch).  1: timed out. */
static int read_answer(int fd, long long stop_ms, struct jb_strbuf *b)
{
    char chunk[65536];

    for (;;) {
        long long left = stop_ms - jb_clock_unix_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r;
        ssize_t n;

        if (left <= 0)
            return 1;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue;
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        jb_sb_add(b, chunk, (size_t)n);
        if (b->failed && !b->over) /* out of memory; past the limit, drain on */
            return 0;
    }
}

static void respond(const struct jb_runtime *rt, const struct jb_invocation *inv, const char *type,
                    const char *msg, const char *body, size_t len)
{
    char path[400], err[JB_ERRLEN];

    if (type) {
        snprintf(path, sizeof(path), "/invocation/%s/error", inv->request_id);
        if (post_error(rt->api, path, type, msg, err, sizeof(err)) != 0)
            note(rt, "runtime: %s: reporting %s failed: %s", inv->request_id, type, err);
        return;
    }
    snprintf(path, sizeof(path), "/invocation/%s/response", inv->request_id);
    if (api_post(rt->api, path, "Content-Type: application/json", NULL, body, len, err,
                 sizeof(err)) != 0) {
        note(rt, "runtime: %s: %s", inv->request_id, err);
        /* A response too big or refused still ends the invocation. */
        respond(rt, inv, "Runtime.ResponseRefused", err, NULL, 0);
    }
}

static void invoke(const struct jb_runtime *rt, const struct jb_invocation *inv)
{
    long margin = rt->margin_ms > 0 ? rt->margin_ms : 1000;
    long long stop = inv->deadline_ms - margin;
    struct jb_strbuf ans = {.max = EVENT_MAX};
    char msg[JB_RUNTIME_ERRMSG_MAX];
    int fds[2], timed_out, wstatus = 0;
    pid_t pid;

    if (stop <= jb_clock_unix_ms()) {
        respond(rt, inv, "Runtime.DeadlineExceeded",
                "the deadline had passed before the handler could start", NULL, 0);
        return;
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
        respond(rt, inv, "Runtime.SystemError", msg, NULL, 0);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        respond(rt, inv, "Runtime.SystemError", msg, NULL, 0);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        setpgid(0, 0);
        child_run(rt, inv, fds[1]);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    timed_out = read_answer(fds[0], stop, &ans);
    close(fds[0]);
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(msg, sizeof(msg),
                 "the handler was still running %ld ms before the deadline and was stopped",
                 margin);
        respond(rt, inv, "Runtime.DeadlineExceeded", msg, NULL, 0);
    } else if (WIFSIGNALED(wstatus)) {
        snprintf(msg, sizeof(msg), "the handler died of signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
        respond(rt, inv, "Runtime.HandlerCrashed", msg, NULL, 0);
    } else if (ans.over) {
        respond(rt, inv, "Runtime.ResponseTooLarge",
                "the handler's answer is over Lambda's 6 MB payload limit", NULL, 0);
    } else if (ans.failed) {
        respond(rt, inv, "Runtime.SystemError", "out of memory reading the handler's answer", NULL,
                0);
    } else if (ans.len == 0 || (ans.p[0] != 'R' && ans.p[0] != 'E')) {
        snprintf(msg, sizeof(msg), "the handler exited (status %d) without an answer",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
        respond(rt, inv, "Runtime.HandlerExited", msg, NULL, 0);
    } else if (ans.p[0] == 'R') {
        respond(rt, inv, NULL, NULL, ans.p + 1, ans.len - 1);
    } else {
        const char *type = ans.p + 1, *nul = memchr(type, '\0', ans.len - 1);
        respond(rt, inv, type, nul ? nul + 1 : "", NULL, 0);
    }
    jb_sb_free(&ans);
}

/* ---- the loop ------------------------------------------------------------ */

static int valid_request_id(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int jb_runtime_run(const struct jb_runtime *rt, char *err, size_t errlen)
{
    int rc = 0;

    if (rt->api == NULL || *rt->api == '\0' || strpbrk(rt->api, "/ \r\n") != NULL ||
        strlen(rt->api) > 300)
        return jb_err(err, errlen, JB_ERR_INVALID, "AWS_LAMBDA_RUNTIME_API: not host:port");
    for (long served = 0; rt->max_invocations == 0 || served < rt->max_invocations; served++) {
        struct next_hdrs h;
        struct jb_http1_resp ev = {.on_header = on_header, .ud = &h};
        /* `next` blocks until an event comes: no read timeout at all. */
        struct jb_http1_req q = {.hostport = rt->api,
                                 .method = "GET",
                                 .path = API_PREFIX "/invocation/next",
                                 .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                                 .max_body = EVENT_MAX};
        struct jb_invocation inv;
        char *end = NULL, detail[JB_ERRLEN];

        memset(&h, 0, sizeof(h));
        if ((rc = jb_http1_request(&q, &ev, detail, sizeof(detail))) != 0) {
            rc = jb_err(err, errlen, rc == JB_ERR_INVALID ? JB_ERR_INVALID : JB_ERR_HTTP,
                        "GET next: %s", detail);
            break;
        }
        if (ev.status != 200) {
            rc = jb_err(err, errlen, JB_ERR_HTTP, "GET next: HTTP %d", ev.status);
            jb_http1_resp_free(&ev);
            break;
        }
        if (!valid_request_id(h.request_id)) {
            note(rt, "runtime: an invocation without a usable Lambda-Runtime-Aws-Request-Id; "
                     "skipped");
            jb_http1_resp_free(&ev);
            continue;
        }
        if (h.has_trace)
            setenv("_X_AMZN_TRACE_ID", h.trace, 1);
        else
            unsetenv("_X_AMZN_TRACE_ID");
        memset(&inv, 0, sizeof(inv));
        inv.request_id = h.request_id;
        inv.function_arn = h.arn;
        inv.event = ev.body ? ev.body : "";
        inv.event_len = ev.body_len;
        errno = 0;
        inv.deadline_ms = strtoll(h.deadline, &end, 10);
        if (ev.body_over)
            respond(rt, &inv, "Runtime.EventTooLarge", "the event is over 6 MB", NULL, 0);
        else if (h.deadline[0] == '\0' || *end != '\0' || errno != 0 || inv.deadline_ms <= 0)
            respond(rt, &inv, "Runtime.BadInvocation",
                    "Lambda-Runtime-Deadline-Ms is missing or not a number", NULL, 0);
        else
            invoke(rt, &inv);
        jb_http1_resp_free(&ev);
    }
    return rc;
}
