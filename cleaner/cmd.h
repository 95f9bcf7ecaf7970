/* Command handlers of the cleaner.  Each returns an exit status:
 * 0 done, 1 failed (the lease stays for the next sweep), 2 bad input. */
#ifndef CLEANER_CMD_H
#define CLEANER_CMD_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>

#include "cmdline.h"
#include "stack/cli.h"
#include "stack/stack.h"

/* The program's usage (main.c): also what destroy --help and sweep --help
 * print, as they always did. */
extern const char cmd_usage[];

/* destroy's and sweep's options, as given. */
struct cmd_opts {
    const char *stack_id, *state_url, *reason, *parallel;
};

/* -1: go on; else the exit status (--help, or bad input). */
int cmd_parse(const struct jb_cmdline_cmd *me, int argc, char **argv, struct cmd_opts *o);

/* --reason and --state checked, the work root found, signals caught, and
 * ctx made for a destroy from this machine (its audit log open; cmd_done
 * closes it).  -1: go on; else the exit status, the line printed. */
int cmd_setup(const struct jb_cmdline_cmd *me, const struct jb_settings *s,
              const struct cmd_opts *o, struct jb_state *st, struct jb_stack_ctx *ctx);
void cmd_done(struct jb_stack_ctx *ctx);

/* o on one line of stdout; o is freed. */
void cmd_print_json(cJSON *o);

/* Destroys one stack (destroy.c). */
int cmd_destroy(int argc, char **argv, const struct jb_settings *s);
/* Destroys every expired lease (sweep.c, sweep_run). */
int cmd_sweep(int argc, char **argv, const struct jb_settings *s);

/* Destroys every expired (or failed) lease, up to `parallel` at a time,
 * each in its own process.  Starts no new destroy once *stop is set or
 * stop_ms (Unix ms; 0: none) has passed; those are reported "skipped".
 * Returns {"stacks":[{stack_id,result[,error]}],"examined","unreadable",
 * "failed","skipped"}, or NULL with err when the leases can't be listed. */
cJSON *sweep_run(const struct jb_stack_ctx *ctx, int parallel, volatile sig_atomic_t *stop,
                 long long stop_ms, size_t *failed, char *err, size_t errlen);

/* Progress lines on stderr: "cleaner: [  1.2s] STACK: stage: detail". */
void cmd_progress(void *ctx, const char *stage, const char *detail);

/* Takes down what EC2 has tagged as ours with no lease (lib/stack/reap.h). */
int cmd_reap(int argc, char **argv, const struct jb_settings *s);

/* On the backup VM: asks the clean function to destroy a stack. */
int cmd_request(int argc, char **argv, const struct jb_settings *s);
/* In Lambda (AWS_LAMBDA_RUNTIME_API set, no command): the clean function. */
int cmd_lambda_clean(const struct jb_settings *s);

#endif
