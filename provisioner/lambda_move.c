/* The build function's "extend" and "heartbeat": a box's owner (its
 * teardown token) moves its expiry within the cap, or keeps it alive.  The
 * backup VM has no access to the state; this is its way to do what
 * `provisioner extend` and run's heartbeats do there. */
#include "cmd.h"

#include "base/err.h"
#include "base/log.h"
#include "base/parse.h"
#include "lambda/lambdafn.h"
#include "stack/audit.h"
#include "stack/stack.h"
#include "stack/store.h"

#include <stdio.h>
#include <string.h>

static const char *const create_only[] = {"allow_cidr",  "requester", "recipient_key",
                                          "permit_open", "keepalive", NULL};

static char *print(const struct jb_lease *l, time_t previous)
{
    char at[JB_RFC3339_LEN], was[JB_RFC3339_LEN], alive[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject();
    char *s;

    jb_format_rfc3339(l->expires_at, at);
    jb_format_rfc3339(previous, was);
    jb_format_rfc3339(l->alive_until, alive);
    if (o && (!cJSON_AddStringToObject(o, "stack_id", l->stack_id) ||
              !cJSON_AddStringToObject(o, "expires_at", at) ||
              (previous && !cJSON_AddStringToObject(o, "previous_expires_at", was)) ||
              (l->alive_until && !cJSON_AddStringToObject(o, "alive_until", alive)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* The owner's token checked as the clean function checks it. */
static int owner(const struct jb_stack_ctx *ctx, const char *stack_id, const char *token,
                 const char *action, struct jb_handler_error *e)
{
    char err[JB_ERRLEN];
    int rc = jb_stack_owner_check(ctx->state, stack_id, token, err, sizeof(err));

    if (rc == JB_ERR_AUTH) {
        const char *kv[] = {
            "detail", "wrong teardown token, or no such stack", "action", action, NULL, NULL};
        jb_log_event(ctx->event_fd, "move.denied", stack_id, kv);
        return jb_handler_fail(e, JB_FN_DENIED, "%s", err);
    }
    if (rc != 0)
        return jb_handler_fail(e, rc == JB_ERR_INVALID ? JB_FN_INVALID : JB_FN_FAILED, "%s", err);
    return 0;
}

int lambda_build_move(const struct jb_settings *s, const struct jb_state *state, long max_ttl_s,
                      const char *work_root, const struct jb_invocation *inv, const cJSON *ev,
                      const char *action, char **response, struct jb_handler_error *e)
{
    const char *stack_id, *token, *ttl = NULL;
    struct jb_state st = *state;
    struct jb_stack_ctx ctx;
    struct jb_lease l;
    char err[JB_ERRLEN];
    time_t previous = 0;
    long ttl_s = 0;
    cJSON *origin = NULL;
    int rc, status = -1;

    memset(&ctx, 0, sizeof(ctx));
    memset(&l, 0, sizeof(l));
    ctx.event_fd = -1;
    for (int i = 0; create_only[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(ev, create_only[i]))
            return jb_handler_fail(e, JB_FN_INVALID, "%s: not used by %s", create_only[i], action);
    if (jb_fn_str(ev, "stack_id", 1, &stack_id, e) != 0 ||
        jb_fn_str(ev, "token", 1, &token, e) != 0 ||
        jb_fn_str(ev, "ttl", strcmp(action, "extend") == 0, &ttl, e) != 0)
        return -1;
    if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "stack_id: %s", err);
    if (ttl && strcmp(action, "heartbeat") == 0)
        return jb_handler_fail(e, JB_FN_INVALID, "ttl: not used by heartbeat");
    if (ttl && jb_parse_duration(ttl, &ttl_s, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_INVALID, "ttl: %s", err);
    if (ttl && (ttl_s < JB_TTL_MIN_S || ttl_s > max_ttl_s))
        return jb_handler_fail(e, JB_FN_INVALID, "ttl: from 10s to this function's limit of %lds",
                               max_ttl_s);
    if (jb_store_prepare(&st, err, sizeof(err)) != 0)
        return jb_handler_fail(e, JB_FN_FAILED, "%s", err);
    ctx.settings = s;
    ctx.state = &st;
    ctx.event_fd = jb_log_open(s->audit_log, work_root);
    ctx.origin = origin = jb_audit_origin("build-function", inv->function_arn, inv->request_id);
    if (origin)
        cJSON_AddStringToObject(origin, "action", action);
    if (owner(&ctx, stack_id, token, action, e) != 0)
        goto out;
    rc = strcmp(action, "extend") == 0
             ? jb_stack_extend(&ctx, stack_id, ttl_s, &l, &previous, err, sizeof(err))
             : jb_stack_heartbeat(&ctx, stack_id, &l, err, sizeof(err));
    if (rc == JB_ERR_INVALID)
        jb_handler_fail(e, JB_FN_INVALID, "%s: %s", ttl ? "ttl" : "stack_id", err);
    else if (rc != 0)
        jb_handler_fail(e, JB_FN_FAILED, "%s", err);
    else if ((*response = print(&l, previous)) == NULL)
        jb_handler_fail(e, JB_FN_FAILED, "out of memory");
    else
        status = 0;
out:
    jb_lease_clear(&l);
    jb_log_close(ctx.event_fd);
    cJSON_Delete(origin);
    return status;
}
