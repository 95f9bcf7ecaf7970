/* `provisioner extend`: a live stack's expiry moved later, within the cap
 * it was created with (jb_stack_extend). */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/secret.h"
#include "aws/lambda_invoke.h"
#include "stack/audit.h"
#include "stack/cleanfn.h"
#include "stack/cli.h"
#include "stack/stack.h"
#include "stack/stackcfg.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: provisioner extend --stack-id ID --ttl DURATION [--state URL]\n"
    "       provisioner extend --function NAME --stack-id ID --ttl DURATION\n"
    "                          (--token-file F | --out DIR)\n"
    "\n"
    "Moves a ready stack's expiry to DURATION from now: the lease, and the box's\n"
    "own timer (an aws box re-reads its deadlines every few seconds; a local one\n"
    "its lease).  Never past the stack's cap, the maximum TTL from its creation\n"
    "(JUMPBOX_MAX_TTL then, default 24h).  Prints one JSON object: stack_id,\n"
    "expires_at, previous_expires_at, max_until.\n"
    "\n"
    "  --stack-id  the stack\n"
    "  --ttl       the new lifetime from now, e.g. 30m, 2h: later than the\n"
    "              current expiry, within the cap\n"
    "  --state     file:///dir or s3://bucket/prefix (default\n"
    "              file://$XDG_STATE_HOME/jumpbox)\n"
    "  --function  on the backup VM: ask this build function instead, proving it\n"
    "              may with the stack's teardown token from --token-file F or\n"
    "              DIR/teardown_token (--out DIR, as `provisioner request` wrote it);\n"
    "              the function's own JUMPBOX_MAX_TTL bounds --ttl too\n"
    "\n"
    "Exit status: 0 extended, 1 failed (no change, or the lease moved but the box\n"
    "was not told: stderr says which; a stack being created or destroyed is not\n"
    "extended), 2 bad input (nothing done: no such stack, a TTL not later than\n"
    "the expiry or past the cap).\n";

static const struct jb_cmdline_cmd me = {"provisioner extend", usage, 2, JB_CMDLINE_SEE_HELP, NULL};

static int print(const struct jb_lease *l, time_t previous)
{
    char at[JB_RFC3339_LEN], was[JB_RFC3339_LEN], cap[JB_RFC3339_LEN], *json = NULL;
    cJSON *o = cJSON_CreateObject();
    int ok;

    jb_format_rfc3339(l->expires_at, at);
    jb_format_rfc3339(previous, was);
    jb_format_rfc3339(l->max_until ? l->max_until : l->created_at + JB_TTL_MAX_S, cap);
    ok = o && cJSON_AddStringToObject(o, "stack_id", l->stack_id) &&
         cJSON_AddStringToObject(o, "expires_at", at) &&
         cJSON_AddStringToObject(o, "previous_expires_at", was) &&
         cJSON_AddStringToObject(o, "max_until", cap) && (json = cJSON_Print(o)) != NULL;
    if (ok)
        puts(json);
    free(json);
    cJSON_Delete(o);
    if (!ok)
        fputs("provisioner extend: out of memory\n", stderr);
    return ok ? 0 : 1;
}

/* Through the build function, as the stack's owner.  The exit status. */
static int by_function(const char *function, const char *stack_id, const char *ttl,
                       const char *token_file, const char *outdir)
{
    char err[JB_ERRLEN], path[PATH_MAX], *token = NULL, *answer = NULL;
    int refused = 0, status = 1;

    if ((token_file == NULL) == (outdir == NULL))
        return jb_cmdline_bad(&me, "--token-file",
                              "give either --token-file or --out (with --function)");
    if (outdir) {
        if (jb_path_join(path, sizeof(path), outdir, "teardown_token") != 0)
            return jb_cmdline_bad(&me, "--out", "path too long");
        token_file = path;
    }
    if (jb_cleanfn_read_token(token_file, &token, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, outdir ? "--out" : "--token-file", err);
    fprintf(stderr, "provisioner extend: invoking %s for %s\n", function, stack_id);
    if (jb_cleanfn_owner_call(function, "extend", stack_id, token, ttl, &answer, &refused, err,
                              sizeof(err)) != 0) {
        fprintf(stderr, "provisioner extend: %s\n", err);
        status = refused ? 2 : 1;
        goto out;
    }
    puts(answer);
    status = 0;
out:
    free(answer);
    jb_secret_free(token);
    return status;
}

int cmd_extend(int argc, char **argv, const struct jb_settings *s)
{
    static const struct option opts[] = {{"stack-id", required_argument, NULL, 's'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"function", required_argument, NULL, 'f'},
                                         {"token-file", required_argument, NULL, 'T'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *stack_id = NULL, *ttl = NULL, *state_url = NULL, *function = NULL;
    const char *token_file = NULL, *outdir = NULL;
    char err[JB_ERRLEN], work_root[PATH_MAX];
    struct jb_state st;
    struct jb_stack_ctx ctx;
    struct jb_lease l;
    time_t previous = 0;
    long ttl_s = 0;
    int c, rc, status;

    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &status)) != 0) {
        switch (c) {
        case 's':
            stack_id = optarg;
            break;
        case 't':
            ttl = optarg;
            break;
        case 'S':
            state_url = optarg;
            break;
        case 'f':
            function = optarg;
            break;
        case 'T':
            token_file = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        }
    }
    if (status >= 0)
        return status;
    if (stack_id == NULL)
        return jb_cmdline_bad(&me, "--stack-id", "required");
    if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--stack-id", err);
    if (ttl == NULL)
        return jb_cmdline_bad(&me, "--ttl", "required (the new lifetime from now)");
    if (jb_parse_duration(ttl, &ttl_s, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--ttl", err);
    if (ttl_s < JB_TTL_MIN_S || ttl_s > JB_TTL_MAX_S)
        return jb_cmdline_bad(&me, "--ttl", "from 10s to 24h");
    if (function) {
        if (state_url)
            return jb_cmdline_bad(&me, "--state", "not with --function (the function has its own)");
        if (jb_lambda_check_name(function, err, sizeof(err)) != 0)
            return jb_cmdline_bad(&me, "--function", err);
        return by_function(function, stack_id, ttl, token_file, outdir);
    }
    if (token_file || outdir)
        return jb_cmdline_bad(&me, token_file ? "--token-file" : "--out", "only with --function");
    if ((rc = jb_cmdline_state_for(&me, s, state_url, &st)) >= 0)
        return rc;
    memset(&ctx, 0, sizeof(ctx));
    memset(&l, 0, sizeof(l));
    ctx.settings = s;
    ctx.state = &st;
    ctx.event_fd = jb_work_root(s, work_root, sizeof(work_root), NULL, 0) == 0
                       ? jb_log_open(s->audit_log, work_root)
                       : -1;
    ctx.origin = jb_audit_origin("cli", NULL, NULL);
    rc = jb_stack_extend(&ctx, stack_id, ttl_s, &l, &previous, err, sizeof(err));
    if (rc == JB_ERR_INVALID || rc == JB_ERR_NOTFOUND)
        status = jb_cmdline_bad(&me, rc == JB_ERR_NOTFOUND ? "--stack-id" : "--ttl", err);
    else if (rc != 0) {
        fprintf(stderr, "provisioner extend: %s\n", err);
        status = 1;
    } else {
        status = print(&l, previous);
    }
    jb_lease_clear(&l);
    jb_log_close(ctx.event_fd);
    cJSON_Delete((cJSON *)ctx.origin);
    return status;
}
