/* Command handlers of the provisioner.  Each returns an exit status:
 * 0 done, 1 failed after work began, 2 bad input (nothing was done). */
#ifndef PROVISIONER_CMD_H
#define PROVISIONER_CMD_H

#include <cjson/cJSON.h>

#include "lambda/runtime.h"
#include "stack/settings.h"
#include "stack/state.h"

int cmd_keygen(int argc, char **argv, const struct jb_settings *s);
int cmd_create(int argc, char **argv, const struct jb_settings *s);
int cmd_list(int argc, char **argv, const struct jb_settings *s);
/* The durable audit records under the state's audit/ (lib/stack/audit.h). */
int cmd_audit(int argc, char **argv, const struct jb_settings *s);
/* Moves a live stack's expiry later, within its cap. */
int cmd_extend(int argc, char **argv, const struct jb_settings *s);
/* On the backup VM: asks the build function for a jump box. */
int cmd_request(int argc, char **argv, const struct jb_settings *s);
/* Runs a command with a jump box of its own (its exit statuses: 125-127). */
int cmd_run(int argc, char **argv, const struct jb_settings *s);
/* In Lambda (AWS_LAMBDA_RUNTIME_API set, no command): the build function,
 * with the settings main() read after the Lambda defaults. */
int cmd_lambda_build(const struct jb_settings *s);

/* The build function's "extend" and "heartbeat" (lambda_move.c): ev holds
 * only allowed keys; action is one of the two. */
int lambda_build_move(const struct jb_settings *s, const struct jb_state *state, long max_ttl_s,
                      const char *work_root, const struct jb_invocation *inv, const cJSON *ev,
                      const char *action, char **response, struct jb_handler_error *e);

/* "jb-" and ten random [a-z0-9]. */
void cmd_random_stack_id(char out[16]);

#endif
