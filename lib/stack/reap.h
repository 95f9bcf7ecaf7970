/* The reaper: the last line of defence when leases and Terraform state are
 * lost.  It finds instances and security groups tagged jumpbox:stack in the
 * region (lib/aws/ec2), and takes down those that
 *   - name this state in their jumpbox:state tag (another state's resources
 *     are that deployment's),
 *   - belong to a stack with NO lease in this state (a stack with a lease is
 *     the sweeper's, never the reaper's), and
 *   - carry a jumpbox:expires-at tag that passed more than grace ago (a
 *     resource without a readable expiry is never reaped by age alone), and
 *   - are the box's: an instance runs with the box's instance profile
 *     (box_profile), a group is named jumpbox-STACK as terraform/aws names
 *     it.  Tags are anyone's to write (ec2:CreateTags); the profile takes
 *     iam:PassRole of the box role, which only the build role has, and a
 *     group's name is fixed when it is made.
 * Instances are terminated and waited for; then the groups are deleted
 * (their own rules go with them).  Every action gets an audit line.
 * Shared by `cleaner reap` and the clean function. */
#ifndef JB_REAP_H
#define JB_REAP_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>

#include "stack/stack.h"

#define JB_REAP_GRACE_DEFAULT 600 /* seconds after expires-at */
#define JB_REAP_GRACE_MAX 86400
#define JB_REAP_WAIT_DEFAULT 600 /* longest wait for instances to terminate */
/* terraform/aws's default instance_profile_name, the control plane's box */
#define JB_REAP_PROFILE_DEFAULT "jumpbox-box"
#define JB_REAP_PROFILE_MAX 768 /* an ARN: partition, account, 512 of path, 128 of name */

struct jb_reap_opts {
    long grace_s;
    int dry_run;                 /* decide and report; change nothing */
    int page_size;               /* Describe* MaxResults; 0 = lib/ec2's default */
    long wait_s;                 /* 0 = JB_REAP_WAIT_DEFAULT */
    volatile sig_atomic_t *stop; /* when set: nothing new starts, waiting ends */
    long long stop_ms;           /* the same at this Unix time in ms; 0 = never */
    /* The box's instance profile: its name (any path) or its whole ARN. */
    char box_profile[JB_REAP_PROFILE_MAX + 1];
};

/* Reaps as above.  *report gets
 *   {"region","state","grace_s","dry_run","resources":[{"type":"instance"|
 *    "security_group","id","stack_id","expires_at","state","instance_profile",
 *    "result":"reaped"|
 *    "would_reap"|"skipped"|"failed","reason"|"error"}],"found","reaped",
 *    "would_reap","skipped","failed"}
 * and *failed the number of resources that failed.  An error (err) means
 * EC2 could not be listed and nothing was done: JB_ERR_INVALID for a bad
 * region or setting, else what lib/aws/ec2 said. */
int jb_reap_run(const struct jb_stack_ctx *ctx, const struct jb_reap_opts *o, cJSON **report,
                size_t *failed, char *err, size_t errlen);

/* Defaults, then the settings JUMPBOX_REAP_GRACE (a duration, 0 to 24h;
 * default 10m), JUMPBOX_REAP_PAGE_SIZE (5..1000; default lib/ec2's) and
 * JUMPBOX_BOX_INSTANCE_PROFILE (jb_reap_parse_profile; default
 * JB_REAP_PROFILE_DEFAULT), checked here.  The error names the variable. */
int jb_reap_opts_from_settings(const struct jb_settings *s, struct jb_reap_opts *o, char *err,
                               size_t errlen);

/* Grace from a setting ("10m", "0"): 0 to JB_REAP_GRACE_MAX seconds. */
int jb_reap_parse_grace(const char *s, long *secs, char *err, size_t errlen);

/* The box's instance profile from a setting into out (JB_REAP_PROFILE_MAX
 * + 1 bytes): an IAM name ([A-Za-z0-9+=,.@_-], 1 to 128) or
 * arn:PARTITION:iam::ACCOUNT:instance-profile/[PATH/]NAME. */
int jb_reap_parse_profile(const char *s, char *out, char *err, size_t errlen);

#endif
