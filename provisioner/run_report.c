/* provisioner run's Step Functions callbacks (run_report.h): heartbeats on
 * a timer while the job runs, then success or failure with the task token. */
#include "run_report.h"

#include "base/clock.h"
#include "base/err.h"
#include "net/http.h"
#include "aws/sfn.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A heartbeat must not hold COMMAND's output up for long. */
#define BEAT_TIMEOUT_MS 10000

void run_report_init(struct run_report *r, const char *token, long heartbeat_s)
{
    memset(r, 0, sizeof(*r));
    r->token = token;
    r->heartbeat_s = heartbeat_s;
    r->next_beat_ms = jb_clock_mono_ms(); /* the first one as COMMAND starts */
}

void run_report_output(void *ctx, int fd, const char *buf, size_t len)
{
    struct run_report *r = ctx;
    size_t off = 0;

    if (fd == 1) {
        r->out_bytes += len;
    } else {
        r->err_bytes += len;
        if (len >= RUN_TAIL_MAX) {
            memcpy(r->tail, buf + len - RUN_TAIL_MAX, RUN_TAIL_MAX);
            r->tail_len = RUN_TAIL_MAX;
        } else {
            if (r->tail_len + len > RUN_TAIL_MAX) {
                size_t drop = r->tail_len + len - RUN_TAIL_MAX;
                memmove(r->tail, r->tail + drop, r->tail_len - drop);
                r->tail_len -= drop;
            }
            memcpy(r->tail + r->tail_len, buf, len);
            r->tail_len += len;
        }
    }
    /* Whoever reads our output going away must not stop COMMAND: what
     * cannot be written is dropped, and still counted. */
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

static void refused(struct run_report *r, const char *err)
{
    fprintf(stderr, "jumpbox: Step Functions refused the task token (%s): no more reports\n", err);
    r->refused = 1;
}

void run_report_tick(struct run_report *r)
{
    struct jb_http_options http = {.total_timeout_ms = BEAT_TIMEOUT_MS, .max_attempts = 2};
    struct jb_sfn_config cfg = {.http = &http};
    char err[JB_ERRLEN];
    int rc;

    if (r->token == NULL || r->refused || r->heartbeat_s <= 0 ||
        jb_clock_mono_ms() < r->next_beat_ms)
        return;
    rc = jb_sfn_send_heartbeat(&cfg, r->token, err, sizeof(err));
    r->next_beat_ms = jb_clock_mono_ms() + r->heartbeat_s * 1000;
    if (rc == JB_ERR_NOTFOUND)
        refused(r, err);
    else if (rc != 0)
        fprintf(stderr, "jumpbox: warning: heartbeat not sent: %s (trying again in %lds)\n", err,
                r->heartbeat_s);
}

static const char *error_name(const struct run_outcome *o)
{
    if (o->stack_id == NULL)
        return "jumpbox.BoxFailed";
    if (o->signal)
        return "jumpbox.Signalled";
    return "jumpbox.CommandFailed";
}

int run_report_end(struct run_report *r, const struct run_outcome *o)
{
    char err[JB_ERRLEN], *json = NULL, cause[512];
    cJSON *out = NULL;
    int rc;

    if (r->token == NULL || r->refused)
        return r->refused ? -1 : 0;
    /* The task is over once its result is sent: a heartbeat from the
     * teardown that follows would be refused by the service. */
    r->heartbeat_s = 0;
    if (o->stack_id && o->status == 0) {
        out = cJSON_CreateObject();
        if (out == NULL || !cJSON_AddStringToObject(out, "stack_id", o->stack_id) ||
            !cJSON_AddNumberToObject(out, "exit_status", o->status) ||
            !cJSON_AddNumberToObject(out, "duration_s", o->duration_s) ||
            !cJSON_AddNumberToObject(out, "stdout_bytes", (double)r->out_bytes) ||
            !cJSON_AddNumberToObject(out, "stderr_bytes", (double)r->err_bytes) ||
            (json = cJSON_PrintUnformatted(out)) == NULL) {
            rc = jb_err(err, sizeof(err), JB_ERR_NOMEM, "out of memory");
        } else {
            rc = jb_sfn_send_success(NULL, r->token, json, err, sizeof(err));
        }
    } else if (o->stack_id == NULL) {
        rc = jb_sfn_send_failure(NULL, r->token, error_name(o), o->why, err, sizeof(err));
    } else if (r->tail_len > 0) {
        /* The tail of COMMAND's stderr says best why it failed. */
        r->tail[r->tail_len] = '\0';
        rc = jb_sfn_send_failure(NULL, r->token, error_name(o),
                                 r->tail + jb_sfn_utf8_tail(r->tail, r->tail_len, JB_SFN_CAUSE_MAX),
                                 err, sizeof(err));
    } else {
        if (o->why)
            snprintf(cause, sizeof(cause), "%s", o->why);
        else
            snprintf(cause, sizeof(cause), "COMMAND exited %d%s", o->status,
                     o->signal ? " after a signal was forwarded to it" : "");
        rc = jb_sfn_send_failure(NULL, r->token, error_name(o), cause, err, sizeof(err));
    }
    if (rc == JB_ERR_NOTFOUND)
        refused(r, err);
    else if (rc != 0)
        fprintf(stderr, "jumpbox: the job's result was not reported to Step Functions: %s\n", err);
    free(json);
    cJSON_Delete(out);
    return rc == 0 ? 0 : -1;
}
