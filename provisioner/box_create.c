/* A box straight from Terraform: create's options checked, then
 * jb_stack_create. */
#include "box.h"

#include "base/err.h"
#include "base/log.h"
#include "stack/cli.h"
#include "stack/lease.h"
#include "stack/stackcfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int invalid(const char **field, const char *name)
{
    *field = name;
    return JB_ERR_INVALID;
}

/* JUMPBOX_MAX_TTL: the longest a box made here may live, extensions
 * included (default and limit 24h). */
static int max_ttl(const char *v, long *out, char *err, size_t errlen)
{
    if (jb_parse_duration(v && *v ? v : "24h", out, err, errlen) != 0)
        return JB_ERR_INVALID;
    if (*out < JB_TTL_MIN_S || *out > JB_TTL_MAX_S)
        return jb_err(err, errlen, JB_ERR_INVALID, "from 10s to 24h");
    return 0;
}

int jb_box_create_check(const struct jb_box_create_args *a, struct jb_box_create *bc,
                        const char **field, char *err, size_t errlen)
{
    const char *module = a->module ? a->module : "local";
    long ttl = 0, ready = 0, max = 0, keepalive = 0;
    int rc;

    memset(bc, 0, sizeof(*bc));
    bc->settings = a->settings;
    *field = NULL;
    if (strcmp(module, "local") != 0 && strcmp(module, "aws") != 0) {
        jb_err(err, errlen, JB_ERR_INVALID, "must be local or aws");
        return invalid(field, "--module");
    }
    if (jb_parse_duration(a->ttl ? a->ttl : "1h", &ttl, err, errlen) != 0)
        return invalid(field, "--ttl");
    if (max_ttl(a->settings->max_ttl, &max, err, errlen) != 0)
        return invalid(field, "JUMPBOX_MAX_TTL");
    if (ttl > max) {
        jb_err(err, errlen, JB_ERR_INVALID, "at most %lds (JUMPBOX_MAX_TTL; 24h at most)", max);
        return invalid(field, "--ttl");
    }
    if (ttl < JB_TTL_MIN_S) {
        jb_err(err, errlen, JB_ERR_INVALID, "at least 10s (the box must be up before it expires)");
        return invalid(field, "--ttl");
    }
    if (a->keepalive && strcmp(a->keepalive, "0") != 0) {
        if (jb_parse_duration(a->keepalive, &keepalive, err, errlen) != 0)
            return invalid(field, "--keepalive");
        if (keepalive < JB_TTL_MIN_S || keepalive > JB_TTL_MAX_S) {
            jb_err(err, errlen, JB_ERR_INVALID, "0 (none), or from 10s to 24h");
            return invalid(field, "--keepalive");
        }
    }
    if (jb_parse_duration(a->ready_timeout ? a->ready_timeout : "2m", &ready, err, errlen) != 0)
        return invalid(field, "--ready-timeout");
    if (ready > 3600) {
        jb_err(err, errlen, JB_ERR_INVALID, "at most 1h");
        return invalid(field, "--ready-timeout");
    }
    if (a->stack_id == NULL) {
        char gen[16];
        cmd_random_stack_id(gen);
        snprintf(bc->stack_id, sizeof(bc->stack_id), "%s", gen);
    } else if (jb_check_stack_id(a->stack_id, err, errlen) != 0) {
        return invalid(field, "--stack-id");
    } else {
        snprintf(bc->stack_id, sizeof(bc->stack_id), "%s", a->stack_id);
    }
    if (a->allow_cidr == NULL && strcmp(module, "aws") == 0) {
        jb_err(err, errlen, JB_ERR_INVALID,
               "required for module aws (the requester's address, e.g. 203.0.113.7/32)");
        return invalid(field, "--allow-cidr");
    }
    if (jb_parse_cidr(a->allow_cidr ? a->allow_cidr : "127.0.0.1/32", bc->cidr, sizeof(bc->cidr),
                      err, errlen) != 0)
        return invalid(field, "--allow-cidr");
    /* The local box is reached from 127.0.0.1 only: a CIDR without it would
     * lock out its own readiness probe, after a whole create. */
    if (strcmp(module, "local") == 0 && !jb_cidr_within("127.0.0.1/32", bc->cidr)) {
        jb_err(err, errlen, JB_ERR_INVALID,
               "module local is reached from 127.0.0.1 only: the CIDR must hold it");
        return invalid(field, "--allow-cidr");
    }
    if (jb_cli_requester(a->settings, a->requester, bc->requester, sizeof(bc->requester), err,
                         errlen) != 0)
        return invalid(field, "--requester");
    if ((rc = jb_cli_state(a->settings, a->state_url, &bc->st, err, errlen)) != 0)
        return rc == JB_ERR_INVALID ? invalid(field, "--state") : rc;
    {
        struct jb_lease existing;
        /* A lease that is there, readable or not, is a taken name; S3 (or
         * the disk) failing to answer is not: the create's own If-None-Match
         * still guards the race. */
        char inner[JB_ERRLEN];
        rc = jb_lease_get(&bc->st, bc->stack_id, &existing, inner, sizeof(inner));
        jb_lease_clear(&existing);
        if (rc == JB_ERR_HTTP || rc == JB_ERR_AWS || rc == JB_ERR_TIMEOUT || rc == JB_ERR_AUTH ||
            rc == JB_ERR_IO || rc == JB_ERR_SYSTEM || rc == JB_ERR_NOMEM)
            return jb_err(err, errlen, rc, "looking for a stack named %s: %s", bc->stack_id, inner);
        if (rc != JB_ERR_NOTFOUND) {
            jb_err(err, errlen, JB_ERR_INVALID, "a stack named %s already exists in %.300s",
                   bc->stack_id, bc->st.url);
            return invalid(field, "--stack-id");
        }
    }
    if (jb_work_root(a->settings, bc->work_root, sizeof(bc->work_root), err, errlen) != 0)
        return invalid(field, "JUMPBOX_WORK_DIR");
    bc->req.module = module;
    bc->req.stack_id = bc->stack_id;
    bc->req.ttl_s = ttl;
    bc->req.allow_cidr = bc->cidr;
    bc->req.requester = bc->requester;
    bc->req.ready_timeout_s = (int)ready;
    bc->req.keepalive_s = keepalive;
    bc->req.max_ttl_s = max;
    if (a->permit)
        bc->permit = *a->permit;
    bc->req.permit = &bc->permit;
    return 0;
}

void jb_box_stack_ctx(struct jb_box_create *bc, struct jb_stack_ctx *ctx,
                      volatile sig_atomic_t *cancel, jb_progress_fn progress, void *pctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->settings = bc->settings;
    ctx->state = &bc->st;
    ctx->cancel = cancel;
    ctx->progress = progress;
    ctx->progress_ctx = pctx;
    ctx->event_fd = jb_log_open(bc->settings->audit_log, bc->work_root);
}

int jb_box_create_make(const struct jb_stack_ctx *ctx, const struct jb_box_create *bc,
                       struct jb_create_result *res, const char **field, char *err, size_t errlen)
{
    int rc = jb_stack_create(ctx, &bc->req, res, err, errlen);

    *field = NULL;
    if (rc == JB_ERR_EXISTS)
        return invalid(field, "--stack-id");
    if (rc == JB_ERR_INVALID && !res->began)
        return JB_ERR_INVALID; /* err names the variable */
    if (rc == JB_ERR_INVALID)
        return JB_ERR_TERRAFORM; /* made and undone: not bad input */
    return rc;
}
