/* The clean function: `cleaner` started by Lambda with no command.
 *   {"action":"destroy","stack_id":…,"token":…[,"reason":…]}  only with the stack's token
 *   {"action":"sweep"}                           every expired lease, then the reap
 *   {"action":"reap"[,"dry_run":true]}           what EC2 has tagged as ours
 *                                                with no lease (lib/stack/reap.h) */
#include "cmd.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/parse.h"
#include "lambda/lambdafn.h"
#include "lambda/runtime.h"
#include "stack/audit.h"
#include "stack/lease.h"
#include "stack/reap.h"
#include "stack/stack.h"
#include "stack/stackcfg.h"
#include "stack/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clean_cfg {
    struct jb_state st;
    int parallel;
    int reap; /* 0 for the local module: nothing of ours is in EC2 */
    struct jb_reap_opts reap_opts;
    char work_root[PATH_MAX];
    const struct jb_settings *settings; /* read by main() after the Lambda defaults */
};

static int config(struct clean_cfg *c, const struct jb_settings *set, char *err, size_t errlen)
{
    const char *s = set->state, *p = set->sweep_parallel, *m = set->module;
    char inner[JB_ERRLEN], *end = NULL;
    long long reserve;
    long par = 4;

    memset(c, 0, sizeof(*c));
    c->settings = set;
    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_STATE: required (s3://… or file://…)");
    if (jb_state_parse(s, &c->st, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_STATE: %s", inner);
    if (p && *p && ((par = strtol(p, &end, 10)) < 1 || par > 16 || *end != '\0'))
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_SWEEP_PARALLEL: a number from 1 to 16");
    c->parallel = (int)par;
    /* Unset means aws, the control plane's: better a reap that finds nothing
     * than an orphan nobody looks for. */
    if (m && *m && strcmp(m, "aws") != 0 && strcmp(m, "local") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MODULE: must be aws or local");
    c->reap = !(m && strcmp(m, "local") == 0);
    if (jb_reap_opts_from_settings(set, &c->reap_opts, err, errlen) != 0)
        return JB_ERR_INVALID;
    if (jb_fn_reserve_ms(set->deadline_reserve, 1, 0, &reserve, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_DEADLINE_RESERVE: %s", inner);
    return jb_work_root(set, c->work_root, sizeof(c->work_root), err, errlen);
}

static void progress(void *ctx, const char *stage, const char *detail)
{
    fprintf(stderr, "clean %s: %s%s%s\n", ctx ? (const char *)ctx : "-", stage, *detail ? ": " : "",
            detail);
}

static char *print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static int do_destroy(struct jb_stack_ctx *ctx, const cJSON *ev, char **response,
                      struct jb_handler_error *e)
{
    const char *stack_id, *token, *reason = NULL;
    char err[JB_ERRLEN];
    cJSON *o;
    int rc, gone = 0;

    if (jb_fn_str(ev, "stack_id", 1, &stack_id, e) != 0)
        return -1;
    if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "stack_id: %s", err);
    if (jb_fn_str(ev, "token", 1, &token, e) != 0 || jb_fn_str(ev, "reason", 0, &reason, e) != 0)
        return -1;
    /* Who asked says why (the box's timer: "ttl"); it goes into the audit
     * record as the caller's word, behind the token check. */
    if (reason && (strlen(reason) == 0 || strlen(reason) > 32 ||
                   strspn(reason, "abcdefghijklmnopqrstuvwxyz-") != strlen(reason)))
        return jb_handler_fail(e, JB_FN_INVALID, "reason: must be [a-z-]{1,32}");
    rc = jb_stack_owner_check(ctx->state, stack_id, token, err, sizeof(err));
    if (rc == JB_ERR_AUTH) {
        const char *kv[] = {"detail", "wrong teardown token, or no such stack", NULL, NULL};
        jb_log_event(ctx->event_fd, "destroy.denied", stack_id, kv);
        return jb_handler_fail(e, JB_FN_DENIED, "%s", err);
    }
    if (rc != 0)
        return jb_handler_fail(e, rc == JB_ERR_INVALID ? JB_FN_INVALID : JB_FN_FAILED, "%s", err);
    ctx->progress_ctx = (void *)stack_id;
    if (jb_stack_destroy(ctx, stack_id, reason ? reason : "request", &gone, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_FAILED, "%s (the lease stays for the sweeper)", err);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stack_id", stack_id);
    cJSON_AddStringToObject(o, "result", gone ? "already_gone" : "destroyed");
    if ((*response = print(o)) == NULL)
        return jb_handler_fail(e, JB_FN_FAILED, "out of memory");
    return 0;
}

static int do_sweep(const struct clean_cfg *c, struct jb_stack_ctx *ctx,
                    const struct jb_invocation *inv, char **response, struct jb_handler_error *e)
{
    char err[JB_ERRLEN];
    long long reserve;
    size_t failed = 0;
    cJSON *res;

    if (jb_fn_reserve_ms(c->settings->deadline_reserve, inv->deadline_ms, jb_clock_unix_ms(),
                         &reserve, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_FAILED, "%s", err);
    /* No new destroy starts inside the reserve: a started one must finish. */
    res = sweep_run(ctx, c->parallel, NULL, inv->deadline_ms - reserve, &failed, err, sizeof(err));
    if (res == NULL)
        return jb_handler_fail(e, JB_FN_FAILED, "%s", err);
    if (c->reap) {
        struct jb_reap_opts o = c->reap_opts;
        size_t rfailed = 0;
        cJSON *rep = NULL;
        o.stop_ms = inv->deadline_ms - reserve;
        if (jb_reap_run(ctx, &o, &rep, &rfailed, err, sizeof(err)) != 0) {
            fprintf(stderr, "clean sweep: reap: %s\n", err);
            rep = cJSON_CreateObject();
            cJSON_AddStringToObject(rep, "error", err);
        }
        cJSON_AddItemToObject(res, "reap", rep);
    }
    /* Failures are in the report; the sweep itself did its job. */
    if ((*response = print(res)) == NULL)
        return jb_handler_fail(e, JB_FN_FAILED, "out of memory");
    return 0;
}

static int do_reap(const struct clean_cfg *c, struct jb_stack_ctx *ctx, const cJSON *ev,
                   const struct jb_invocation *inv, char **response, struct jb_handler_error *e)
{
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive(ev, "dry_run");
    struct jb_reap_opts o = c->reap_opts;
    char err[JB_ERRLEN];
    long long reserve;
    size_t failed = 0;
    cJSON *res = NULL;

    if (jb_fn_reserve_ms(c->settings->deadline_reserve, inv->deadline_ms, jb_clock_unix_ms(),
                         &reserve, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_FAILED, "%s", err);
    o.dry_run = cJSON_IsTrue(dry);
    o.stop_ms = inv->deadline_ms - reserve;
    if (jb_reap_run(ctx, &o, &res, &failed, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_FAILED, "reap: %s", err);
    /* Resources that could not be reaped are in the report, as in a sweep. */
    if ((*response = print(res)) == NULL)
        return jb_handler_fail(e, JB_FN_FAILED, "out of memory");
    return 0;
}

static int handle(void *vctx, const struct jb_invocation *inv, char **response,
                  struct jb_handler_error *e)
{
    static const char *const allowed[] = {"action", "stack_id", "token", "dry_run", "reason", NULL};
    const struct clean_cfg *c = vctx;
    struct jb_state st = c->st;
    struct jb_stack_ctx ctx;
    const char *action;
    const cJSON *dry;
    char err[JB_ERRLEN];
    cJSON *ev = NULL, *origin = NULL;
    int rc = -1;

    memset(&ctx, 0, sizeof(ctx));
    ctx.event_fd = -1;
    if (jb_fn_event(inv, allowed, &ev, e) != 0 || jb_fn_str(ev, "action", 1, &action, e) != 0)
        goto out;
    if (strcmp(action, "destroy") != 0 && strcmp(action, "sweep") != 0 &&
        strcmp(action, "reap") != 0) {
        jb_handler_fail(e, JB_FN_INVALID,
                        "action: unknown action (\"destroy\", \"sweep\" or \"reap\")");
        goto out;
    }
    if (strcmp(action, "destroy") != 0) {
        static const char *const only[] = {"stack_id", "token", "reason", NULL};
        for (int i = 0; only[i]; i++)
            if (cJSON_GetObjectItemCaseSensitive(ev, only[i])) {
                jb_handler_fail(e, JB_FN_INVALID, "%s: not used by %s", only[i], action);
                goto out;
            }
    }
    dry = cJSON_GetObjectItemCaseSensitive(ev, "dry_run");
    if (dry && strcmp(action, "reap") != 0) {
        jb_handler_fail(e, JB_FN_INVALID, "dry_run: only for reap");
        goto out;
    }
    if (dry && !cJSON_IsBool(dry)) {
        jb_handler_fail(e, JB_FN_INVALID, "dry_run: must be true or false");
        goto out;
    }
    if (strcmp(action, "reap") == 0 && !c->reap) {
        jb_handler_fail(e, JB_FN_INVALID,
                        "action: no reap with JUMPBOX_MODULE=local (nothing of ours is in EC2)");
        goto out;
    }
    if (jb_store_prepare(&st, err, sizeof(err)) != 0) {
        jb_handler_fail(e, JB_FN_FAILED, "%s", err);
        goto out;
    }
    ctx.settings = c->settings;
    ctx.state = &st;
    ctx.cancel = NULL; /* a destroy, once started, is not cut short */
    ctx.until = (time_t)((inv->deadline_ms + 999) / 1000);
    ctx.progress = progress;
    ctx.event_fd = jb_log_open(c->settings->audit_log, c->work_root);
    ctx.origin = origin = jb_audit_origin("clean-function", inv->function_arn, inv->request_id);
    if (origin)
        cJSON_AddStringToObject(origin, "action", action);
    if (strcmp(action, "sweep") == 0)
        rc = do_sweep(c, &ctx, inv, response, e);
    else if (strcmp(action, "reap") == 0)
        rc = do_reap(c, &ctx, ev, inv, response, e);
    else
        rc = do_destroy(&ctx, ev, response, e);
out:
    jb_log_close(ctx.event_fd);
    cJSON_Delete(origin);
    cJSON_Delete(ev);
    return rc;
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "clean: %s\n", line);
}

int cmd_lambda_clean(const struct jb_settings *s)
{
    static struct clean_cfg cfg;
    const char *api = s->lambda_runtime_api;
    struct jb_runtime rt = {.api = api, .handler = handle, .ctx = &cfg, .note = note};
    char err[JB_ERRLEN], ierr[JB_ERRLEN];

    /* libcurl loads on the first AWS call (lib/net/curl_dl.c), not here. */
    if (config(&cfg, s, err, sizeof(err)) != 0) {
        fprintf(stderr, "clean: init: %s\n", err);
        if (jb_runtime_init_error(api, "jumpbox.ConfigError", err, ierr, sizeof(ierr)) != 0)
            fprintf(stderr, "clean: init: reporting it failed too: %s\n", ierr);
        return 1;
    }
    if (jb_runtime_run(&rt, err, sizeof(err)) != 0) {
        fprintf(stderr, "clean: runtime: %s\n", err);
        return 1;
    }
    return 0;
}
