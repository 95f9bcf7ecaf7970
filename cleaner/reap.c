/* `cleaner reap`: takes down what is tagged as ours in EC2 but has no lease
 * (lib/stack/reap.h says exactly what). */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "aws/creds.h"
#include "stack/audit.h"
#include "stack/cli.h"
#include "stack/reap.h"
#include "stack/stackcfg.h"
#include "stack/state.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: cleaner reap [--state URL] [--grace D] [--box-profile P] [--dry-run]\n"
    "\n"
    "Finds the instances and security groups tagged jumpbox:stack in the region\n"
    "(AWS_REGION) and takes down each one that names this state in its\n"
    "jumpbox:state tag, whose stack has no lease there, whose jumpbox:expires-at\n"
    "passed more than D ago (--grace, else JUMPBOX_REAP_GRACE, else 10m; 0 allowed),\n"
    "and that is the box's: an instance runs with the box's instance profile P\n"
    "(--box-profile, else JUMPBOX_BOX_INSTANCE_PROFILE, else jumpbox-box; a name or\n"
    "the whole ARN), a group is named jumpbox-STACK.  Tags alone are anyone's to\n"
    "write.  Instances are terminated and waited for, then the groups deleted.  A\n"
    "stack with a lease is the sweeper's; a resource without a readable expiry is\n"
    "never reaped.  --dry-run reports what it would do and changes nothing.\n"
    "Prints a JSON report (found, reaped, skipped and why, failed) on stdout.\n"
    "Exit status: 0 done (also when nothing was reaped), 1 EC2 or the state failed\n"
    "to answer or a resource could not be reaped, 2 bad input (nothing done).\n";

int cmd_reap(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"cleaner reap", usage, 2, 0, NULL};
    static const struct option lopts[] = {{"state", required_argument, NULL, 'S'},
                                          {"grace", required_argument, NULL, 'g'},
                                          {"box-profile", required_argument, NULL, 'p'},
                                          {"dry-run", no_argument, NULL, 'n'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *state_url = NULL, *grace = NULL, *profile = NULL;
    char err[JB_ERRLEN], root[PATH_MAX], region[JB_AWS_REGION_MAX];
    struct jb_reap_opts o;
    struct jb_state st;
    struct jb_stack_ctx ctx;
    cJSON *report = NULL, *origin = NULL;
    size_t failed = 0;
    int c, rc, dry = 0;

    while ((c = jb_cmdline_opt(&me, argc, argv, lopts, &rc)) != 0) {
        switch (c) {
        case 'S':
            state_url = optarg;
            break;
        case 'g':
            grace = optarg;
            break;
        case 'p':
            profile = optarg;
            break;
        case 'n':
            dry = 1;
            break;
        }
    }
    if (rc >= 0)
        return rc;
    if (jb_reap_opts_from_settings(s, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "cleaner reap: %s\n", err);
        return 2;
    }
    if (grace && jb_reap_parse_grace(grace, &o.grace_s, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--grace", err);
    if (profile && jb_reap_parse_profile(profile, o.box_profile, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--box-profile", err);
    o.dry_run = dry;
    o.stop = &jb_cli_stop;
    /* Every setting is checked before anything is asked of S3 or EC2. */
    if (state_url && jb_state_parse(state_url, &st, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--state", err);
    if (jb_aws_region(NULL, region, sizeof(region), err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "AWS_REGION", err);
    if ((rc = jb_cmdline_state_for(&me, s, state_url, &st)) >= 0)
        return rc;
    if (jb_work_root(s, root, sizeof(root), err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "JUMPBOX_WORK_DIR", err);
    jb_cli_elapsed();
    jb_cli_catch_signals();
    memset(&ctx, 0, sizeof(ctx));
    ctx.settings = s;
    ctx.state = &st;
    ctx.progress = cmd_progress;
    /* The audit trail is the record of what the reaper took: its directory
     * must exist before the log is opened. */
    if (!dry && jb_mkdir_p(root, 0700, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "JUMPBOX_WORK_DIR", err);
    ctx.event_fd = dry ? -1 : jb_log_open(s->audit_log, root);
    ctx.origin = origin = jb_audit_origin("cli", NULL, NULL);
    rc = jb_reap_run(&ctx, &o, &report, &failed, err, sizeof(err));
    jb_log_close(ctx.event_fd);
    cJSON_Delete(origin);
    if (rc != 0) {
        fprintf(stderr, "cleaner reap: %s\n", err);
        return rc == JB_ERR_INVALID ? 2 : 1;
    }
    {
        char *line = cJSON_PrintUnformatted(report);
        if (line)
            puts(line);
        free(line);
    }
    fprintf(stderr, "cleaner reap: %.0f found, %.0f %s, %zu failed\n",
            cJSON_GetNumberValue(cJSON_GetObjectItem(report, "found")),
            cJSON_GetNumberValue(cJSON_GetObjectItem(report, dry ? "would_reap" : "reaped")),
            dry ? "would be reaped" : "reaped", failed);
    cJSON_Delete(report);
    return failed ? 1 : 0;
}
