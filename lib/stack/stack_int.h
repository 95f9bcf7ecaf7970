/* Internal to stack.c, stack_create.c and stack_destroy.c: what a create
 * and a destroy share (deadlines, progress, audit records, the Terraform
 * runner's set-up, and the teardown a failed create rolls back with).
 * Not for other modules. */
#ifndef JB_STACK_INT_H
#define JB_STACK_INT_H

#include "stack/stack.h"
#include "stack/stackcfg.h"
#include "stack/terraform.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#define JB_STACK_INIT_TIMEOUT_S 300
#define JB_STACK_APPLY_TIMEOUT_S 900
#define JB_STACK_DESTROY_TIMEOUT_S 900
#define JB_STACK_PUSH_TIMEOUT_S 120
#define JB_STACK_TERMINATE_TIMEOUT_S 600 /* an aws stack's instances terminating */

/* JUMPBOX_TF_TIMEOUT (a duration, in ctx's settings) caps every Terraform
 * command: the defaults suit AWS, a local box or a test needs far less. */
int jb_stack_tf_deadline(const struct jb_stack_ctx *ctx, int dflt);

/* The lease's deadline for work that takes at most `budget` seconds from
 * now: after it, the process doing the work has finished or died. */
time_t jb_stack_work_deadline(const struct jb_stack_ctx *ctx, long budget);

/* All a teardown of a stack of this module may take: init, pushing
 * errored state, (aws) its instances terminating, destroy. */
long jb_stack_teardown_budget(const struct jb_stack_ctx *ctx, const char *module);

void jb_stack_progress(const struct jb_stack_ctx *ctx, const char *stage, const char *detail);

/* 1 when added, 0 when out of memory. */
int jb_stack_add_str(cJSON *o, const char *k, const char *v);

/* A line in the local event log (base/log) about the lease's stack; the
 * durable records are stack/audit's. */
void jb_stack_event(const struct jb_stack_ctx *ctx, const char *event, const struct jb_lease *l,
                    const char *detail);

/* A durable record (audit.h); rec is consumed.  A failure is a warning
 * for the people watching and a line in the audit log; err (may be NULL)
 * gets the detail for a caller that must fail on it. */
int jb_stack_record(const struct jb_stack_ctx *ctx, const char *stack_id, const char *event,
                    cJSON *rec, char *err, size_t errlen);

/* Who destroyed the stack, why, when, and how it ended.  ended_by: NULL,
 * or how the stack's own clock ended it ("expired", "keepalive"), with the
 * deadlines of lease l (may be NULL) that said so. */
void jb_stack_record_destroy(const struct jb_stack_ctx *ctx, const char *stack_id,
                             const char *reason, time_t started, const char *result,
                             const char *error, const struct jb_lease *l, const char *ended_by);

/* The root module written, the runner opened and `terraform init` run,
 * unless the last good init of this work dir was for the same root module,
 * Terraform and plugin dir.  On failure tf->log_fd says whether the runner
 * was opened (jb_tf_close). */
int jb_stack_tf_prepare(const struct jb_stack_ctx *ctx, const struct jb_stack_paths *p,
                        const char *stack_id, const cJSON *vars, struct jb_tf *tf, char *err,
                        size_t errlen);
/* The next jb_stack_tf_prepare in this work dir inits again: after a failed
 * command, whatever the init left may be why. */
void jb_stack_tf_forget_init(const struct jb_stack_paths *p);

/* A teardown token in locked memory (hex) and the hash the lease keeps.
 * JB_ERR_NOMEM, err untouched, when locked memory ran out. */
int jb_stack_make_token(char **out, unsigned char hash_hex[JB_TOKEN_HEX_LEN + 1]);

/* What became of a stack whose teardown did not simply succeed. */
enum jb_stack_fate {
    JB_FATE_DESTROYED, /* ours: destroyed, state and lease purged */
    JB_FATE_GONE,      /* another process destroyed it first: nothing is left */
    JB_FATE_KEPT,      /* the lease says failed and expired: the sweeper's now */
    JB_FATE_OTHER,     /* another process is destroying it (its lease says so) */
    JB_FATE_UNKNOWN,   /* the lease could not be written either */
};

/* Runs destroy in an already prepared runner; on success the stack's state
 * and lease go; on failure the lease stays, expired, for the sweeper
 * (*fate says which, and whether another process was faster).  unlock:
 * no process of ours can still be running Terraform on the stack (the
 * lease said so before this destroy claimed it), so a Terraform lock left
 * in the state store is stale and goes first. */
int jb_stack_teardown(const struct jb_stack_ctx *ctx, struct jb_tf *tf, struct jb_lease *l,
                      const struct jb_stack_paths *p, int unlock, enum jb_stack_fate *fate,
                      char *err, size_t errlen);

/* stack_ec2.c, aws stacks only: the instances EC2 has tagged with the
 * stack and this state terminated and waited for (before terraform
 * destroy: one Terraform never recorded keeps its security group in use);
 * the groups so tagged deleted (after: one Terraform never recorded stays
 * otherwise). */
int jb_stack_ec2_terminate(const struct jb_stack_ctx *ctx, const char *stack_id, char *err,
                           size_t errlen);
int jb_stack_ec2_delete_groups(const struct jb_stack_ctx *ctx, const char *stack_id, char *err,
                               size_t errlen);

#endif
