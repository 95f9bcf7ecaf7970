/* The build function: `provisioner` started by Lambda with no command.
 * Everything that limits what a caller may ask for comes from the
 * function's environment, never from the event. */
#include "cmd.h"

#include "out.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/parse.h"
#include "crypto/seal.h"
#include "lambda/lambdafn.h"
#include "lambda/runtime.h"
#include "stack/audit.h"
#include "stack/permit.h"
#include "stack/stack.h"
#include "stack/stackcfg.h"
#include "stack/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CIDRS 32

struct build_cfg {
    const struct jb_settings *settings; /* read by main() after the Lambda defaults */
    char module[8];
    struct jb_state st;
    long max_ttl_s;
    char cidrs[MAX_CIDRS][JB_CIDR_MAX];
    size_t ncidrs;
    int allow_plain;
    /* JUMPBOX_ALLOWED_TARGETS; none: requests are not bounded (and may
     * leave permit_open out: the box then forwards anywhere). */
    struct jb_target_pattern targets[JB_TARGET_PATTERNS_MAX];
    size_t ntargets;
    char work_root[PATH_MAX];
};

static volatile sig_atomic_t deadline_near;

static int config(struct build_cfg *c, const struct jb_settings *set, char *err, size_t errlen)
{
    const char *m = set->module, *s = set->state, *t = set->max_ttl, *a = set->allowed_cidrs;
    const char *p = set->allow_plaintext_key, *at = set->allowed_targets;
    char inner[JB_ERRLEN], list[4096], *save = NULL, *tok;
    long long reserve;

    memset(c, 0, sizeof(*c));
    c->settings = set;
    if (m == NULL || (strcmp(m, "aws") != 0 && strcmp(m, "local") != 0))
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MODULE: must be aws or local");
    snprintf(c->module, sizeof(c->module), "%s", m);
    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_STATE: required (s3://… or file://…)");
    if (jb_state_parse(s, &c->st, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_STATE: %s", inner);
    if (jb_parse_duration(t && *t ? t : "1h", &c->max_ttl_s, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MAX_TTL: %s", inner);
    if (c->max_ttl_s > JB_TTL_MAX_S)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MAX_TTL: at most 24h");
    if (c->max_ttl_s < JB_TTL_MIN_S)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MAX_TTL: at least 10s");
    if (a == NULL || *a == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "JUMPBOX_ALLOWED_CIDRS: required (comma-separated CIDRs requests may use)");
    if (snprintf(list, sizeof(list), "%s", a) >= (int)sizeof(list))
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_CIDRS: too long");
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (c->ncidrs == MAX_CIDRS)
            return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_CIDRS: more than %d",
                          MAX_CIDRS);
        if (jb_parse_cidr(tok, c->cidrs[c->ncidrs], JB_CIDR_MAX, inner, sizeof(inner)) != 0)
            return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_CIDRS: %s", inner);
        c->ncidrs++;
    }
    if (c->ncidrs == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_CIDRS: no CIDR in it");
    if (jb_parse_target_patterns(at, c->targets, &c->ntargets, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_TARGETS: %s", inner);
    if (at && *at && c->ntargets == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOWED_TARGETS: no pattern in it");
    if (p && *p && strcmp(p, "0") != 0 && strcmp(p, "1") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_ALLOW_PLAINTEXT_KEY: must be 0 or 1");
    c->allow_plain = p && strcmp(p, "1") == 0;
    if (jb_fn_reserve_ms(set->deadline_reserve, 1, 0, &reserve, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_DEADLINE_RESERVE: %s", inner);
    return jb_work_root(set, c->work_root, sizeof(c->work_root), err, errlen);
}

static void progress(void *ctx, const char *stage, const char *detail)
{
    fprintf(stderr, "build %s: %s%s%s\n", (const char *)ctx, stage, *detail ? ": " : "", detail);
}

struct build_req {
    long ttl_s, keepalive_s;
    char cidr[JB_CIDR_MAX];
    const char *requester;
    unsigned char pk[JB_SEAL_KEY_LEN];
    int sealed;
    struct jb_permit permit;
};

/* permit_open: a list of HOST:PORT strings, each inside the function's
 * JUMPBOX_ALLOWED_TARGETS when it has them; then the list is required,
 * or a caller could have a box that forwards anywhere by leaving it out. */
static int check_permit(const struct build_cfg *c, const cJSON *ev, struct jb_permit *p,
                        struct jb_handler_error *e)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ev, "permit_open"), *item;
    char inner[JB_ERRLEN];
    size_t i = 0;

    if (list == NULL || (cJSON_IsArray(list) && cJSON_GetArraySize(list) == 0)) {
        if (c->ntargets > 0)
            return jb_handler_fail(e, JB_FN_INVALID,
                                   "permit_open: required (this function forwards only to "
                                   "JUMPBOX_ALLOWED_TARGETS)");
        return 0;
    }
    if (!cJSON_IsArray(list))
        return jb_handler_fail(e, JB_FN_INVALID, "permit_open: not a list of HOST:PORT strings");
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item))
            return jb_handler_fail(e, JB_FN_INVALID, "permit_open[%zu]: not a string", i);
        if (jb_permit_add(p, item->valuestring, inner, sizeof(inner)) != 0)
            return jb_handler_fail(e, JB_FN_INVALID, "permit_open[%zu]: %s", i, inner);
        if (c->ntargets > 0 && !jb_target_allowed(item->valuestring, c->targets, c->ntargets))
            return jb_handler_fail(e, JB_FN_INVALID,
                                   "permit_open[%zu]: %s is not inside JUMPBOX_ALLOWED_TARGETS", i,
                                   item->valuestring);
        i++;
    }
    return 0;
}

/* Every field checked before anything is made. */
static int check_event(const struct build_cfg *c, const cJSON *ev, struct build_req *r,
                       struct jb_handler_error *e)
{
    const char *action, *ttl, *cidr, *rk, *keepalive;
    char inner[JB_ERRLEN];
    size_t i;

    memset(r, 0, sizeof(*r));
    if (jb_fn_str(ev, "action", 1, &action, e) != 0)
        return -1;
    if (strcmp(action, "create") != 0)
        return jb_handler_fail(e, JB_FN_INVALID,
                               "action: unknown action (this function does \"create\", "
                               "\"extend\" and \"heartbeat\")");
    if (cJSON_GetObjectItemCaseSensitive(ev, "stack_id") ||
        cJSON_GetObjectItemCaseSensitive(ev, "token"))
        return jb_handler_fail(e, JB_FN_INVALID, "%s: not used by create",
                               cJSON_GetObjectItemCaseSensitive(ev, "stack_id") ? "stack_id"
                                                                                : "token");
    if (jb_fn_str(ev, "ttl", 0, &ttl, e) != 0 || jb_fn_str(ev, "allow_cidr", 1, &cidr, e) != 0 ||
        jb_fn_str(ev, "requester", 1, &r->requester, e) != 0 ||
        jb_fn_str(ev, "recipient_key", 0, &rk, e) != 0 ||
        jb_fn_str(ev, "keepalive", 0, &keepalive, e) != 0)
        return -1;
    if (keepalive && strcmp(keepalive, "0") != 0 &&
        jb_parse_duration(keepalive, &r->keepalive_s, inner, sizeof(inner)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "keepalive: %s", inner);
    if (r->keepalive_s && (r->keepalive_s < JB_TTL_MIN_S || r->keepalive_s > JB_TTL_MAX_S))
        return jb_handler_fail(e, JB_FN_INVALID, "keepalive: 0 (none), or from 10s to 24h");
    if (ttl == NULL)
        r->ttl_s = c->max_ttl_s < 3600 ? c->max_ttl_s : 3600;
    else if (jb_parse_duration(ttl, &r->ttl_s, inner, sizeof(inner)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "ttl: %s", inner);
    if (r->ttl_s < JB_TTL_MIN_S)
        return jb_handler_fail(e, JB_FN_INVALID,
                               "ttl: at least 10s (the box must be up before it expires)");
    if (r->ttl_s > c->max_ttl_s)
        return jb_handler_fail(e, JB_FN_INVALID, "ttl: over this function's limit of %lds",
                               c->max_ttl_s);
    if (jb_parse_cidr(cidr, r->cidr, sizeof(r->cidr), inner, sizeof(inner)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "allow_cidr: %s", inner);
    for (i = 0; i < c->ncidrs && !jb_cidr_within(r->cidr, c->cidrs[i]); i++)
        ;
    if (i == c->ncidrs)
        return jb_handler_fail(
            e, JB_FN_INVALID, "allow_cidr: %s is not inside any of JUMPBOX_ALLOWED_CIDRS", r->cidr);
    if (strcmp(c->module, "local") == 0 && !jb_cidr_within("127.0.0.1/32", r->cidr))
        return jb_handler_fail(e, JB_FN_INVALID,
                               "allow_cidr: module local is reached from 127.0.0.1 only: the "
                               "CIDR must hold it");
    if (jb_check_label(r->requester, 128, inner, sizeof(inner)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "requester: %s", inner);
    if (check_permit(c, ev, &r->permit, e) != 0)
        return -1;
    if (rk == NULL) {
        if (!c->allow_plain)
            return jb_handler_fail(e, JB_FN_INVALID,
                                   "recipient_key: required (this function hands keys out "
                                   "only sealed)");
        return 0;
    }
    if (jb_seal_parse_key(rk, r->pk, inner, sizeof(inner)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "recipient_key: %s", inner);
    r->sealed = 1;
    return 0;
}

/* The create JSON with the secrets sealed to the requester (or, where the
 * function allows it, in the clear). */
static int answer(const struct jb_create_result *res, const struct build_req *r, char **out,
                  char *err, size_t errlen)
{
    char *key = NULL, *sk = NULL, *st = NULL;
    size_t keylen = 0;
    cJSON *o = jb_out_create_json(res);
    int rc;

    *out = NULL;
    if (o == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    if ((rc = jb_key_private_text(res->user_key, res->lease.stack_id, &key, &keylen, err,
                                  errlen)) != 0)
        goto out;
    if (r->sealed) {
        if ((rc = jb_seal(r->pk, key, keylen, &sk, err, errlen)) != 0 ||
            (rc = jb_seal(r->pk, res->teardown_token, strlen(res->teardown_token), &st, err,
                          errlen)) != 0)
            goto out;
        cJSON_AddStringToObject(o, "sealed_private_key", sk);
        cJSON_AddStringToObject(o, "sealed_teardown_token", st);
    } else {
        cJSON_AddItemToObject(o, "private_key", cJSON_CreateStringReference(key));
        cJSON_AddItemToObject(o, "teardown_token",
                              cJSON_CreateStringReference(res->teardown_token));
    }
    if ((*out = cJSON_PrintUnformatted(o)) == NULL)
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
out:
    cJSON_Delete(o);
    free(sk);
    free(st);
    jb_secret_free(key);
    return rc;
}

static int handle(void *vctx, const struct jb_invocation *inv, char **response,
                  struct jb_handler_error *e)
{
    static const char *const allowed[] = {"action",        "ttl",         "allow_cidr", "requester",
                                          "recipient_key", "permit_open", "keepalive",  "stack_id",
                                          "token",         NULL};
    const struct build_cfg *c = vctx;
    struct jb_state st = c->st;
    struct jb_stack_ctx ctx;
    struct jb_create_req req;
    struct jb_create_result res;
    struct jb_watchdog wd = {0};
    struct build_req r;
    char err[JB_ERRLEN], stack_id[16];
    long long now = jb_clock_unix_ms(), reserve = 0;
    cJSON *ev = NULL, *origin = NULL;
    const cJSON *action;
    int rc, status = -1;

    memset(&res, 0, sizeof(res));
    memset(&ctx, 0, sizeof(ctx));
    ctx.event_fd = -1;
    if (jb_fn_event(inv, allowed, &ev, e) != 0)
        goto out;
    action = cJSON_GetObjectItemCaseSensitive(ev, "action");
    if (cJSON_IsString(action) && (strcmp(action->valuestring, "extend") == 0 ||
                                   strcmp(action->valuestring, "heartbeat") == 0)) {
        status = lambda_build_move(c->settings, &c->st, c->max_ttl_s, c->work_root, inv, ev,
                                   action->valuestring, response, e);
        goto out;
    }
    if (check_event(c, ev, &r, e) != 0)
        goto out;
    if (jb_store_prepare(&st, err, sizeof(err)) != 0 ||
        jb_fn_reserve_ms(c->settings->deadline_reserve, inv->deadline_ms, now, &reserve, err,
                         sizeof(err)) != 0) {
        jb_handler_fail(e, JB_FN_FAILED, "%s", err);
        goto out;
    }
    cmd_random_stack_id(stack_id);
    ctx.settings = c->settings;
    ctx.state = &st;
    ctx.cancel = &deadline_near;
    /* Lambda ends the process there, rollback or not: the lease says so. */
    ctx.until = (time_t)((inv->deadline_ms + 999) / 1000);
    ctx.progress = progress;
    ctx.progress_ctx = stack_id;
    ctx.event_fd = jb_log_open(c->settings->audit_log, c->work_root);
    ctx.origin = origin = jb_audit_origin("build-function", inv->function_arn, inv->request_id);
    memset(&req, 0, sizeof(req));
    req.module = c->module;
    req.stack_id = stack_id;
    req.ttl_s = r.ttl_s;
    /* The cap of this function's boxes, kept in the lease: no extension
     * passes it. */
    req.max_ttl_s = c->max_ttl_s;
    req.keepalive_s = r.keepalive_s;
    req.allow_cidr = r.cidr;
    req.requester = r.requester;
    req.permit = &r.permit;
    /* Past this point the rollback has the reserve to itself. */
    if (jb_watchdog_start(&wd, inv->deadline_ms - reserve, &deadline_near, err, sizeof(err)) != 0) {
        jb_handler_fail(e, JB_FN_FAILED, "%s", err);
        goto out;
    }
    rc = jb_stack_create(&ctx, &req, &res, err, sizeof(err));
    jb_watchdog_stop(&wd);
    if (rc == JB_ERR_CANCELLED) {
        jb_handler_fail(e, JB_FN_TIMEOUT,
                        "stopped %llds before the function's deadline to roll back: %s",
                        reserve / 1000, err);
        goto out;
    }
    if (rc != 0) {
        jb_handler_fail(e, JB_FN_FAILED, "%s", err);
        goto out;
    }
    if (answer(&res, &r, response, err, sizeof(err)) != 0) {
        char derr[JB_ERRLEN];
        int gone;
        if (jb_stack_destroy(&ctx, stack_id, "output-failed", &gone, derr, sizeof(derr)) != 0)
            jb_handler_fail(e, JB_FN_FAILED, "%s; destroy failed too (%s): lease kept", err, derr);
        else
            jb_handler_fail(e, JB_FN_FAILED, "%s; the stack was destroyed again", err);
        goto out;
    }
    status = 0;
out:
    jb_create_result_clear(&res);
    jb_log_close(ctx.event_fd);
    cJSON_Delete(origin);
    cJSON_Delete(ev);
    return status;
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "build: %s\n", line);
}

int cmd_lambda_build(const struct jb_settings *s)
{
    static struct build_cfg cfg;
    const char *api = s->lambda_runtime_api;
    struct jb_runtime rt = {.api = api, .handler = handle, .ctx = &cfg, .note = note};
    char err[JB_ERRLEN], ierr[JB_ERRLEN];

    /* libcurl loads on the first AWS call, not here: a cold start only needs the
     * Runtime API, which lib/lambda/http1 speaks. */
    if (jb_keys_init(err, sizeof(err)) != 0 || config(&cfg, s, err, sizeof(err)) != 0) {
        fprintf(stderr, "build: init: %s\n", err);
        if (jb_runtime_init_error(api, "jumpbox.ConfigError", err, ierr, sizeof(ierr)) != 0)
            fprintf(stderr, "build: init: reporting it failed too: %s\n", ierr);
        return 1;
    }
    if (jb_runtime_run(&rt, err, sizeof(err)) != 0) {
        fprintf(stderr, "build: runtime: %s\n", err);
        return 1;
    }
    return 0;
}
