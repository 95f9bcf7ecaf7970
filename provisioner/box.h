/* The two ways the provisioner gets a box, shared by the commands that
 * hand one out (create, request) and the one that uses it (run): straight
 * to Terraform (jb_stack_create), or through the build function.
 *
 * Each has a check, which validates every input before anything is made
 * (JB_ERR_INVALID with *field naming the option, detail in err; any other
 * error: the state store or network failed), and a make. */
#ifndef PROVISIONER_BOX_H
#define PROVISIONER_BOX_H

#include <limits.h>
#include <stddef.h>

#include "base/parse.h"
#include "stack/permit.h"
#include "stack/settings.h"
#include "stack/stack.h"
#include "stack/state.h"

/* A direct create's options, as given (NULL: the default). */
struct jb_box_create_args {
    const struct jb_settings *settings; /* main()'s */
    const char *module, *ttl, *stack_id, *allow_cidr, *state_url, *requester, *ready_timeout;
    const char *keepalive;          /* NULL or "0": none */
    const struct jb_permit *permit; /* --permit-open, already parsed; NULL: none */
};

struct jb_box_create {
    const struct jb_settings *settings;
    struct jb_state st;
    struct jb_create_req req;
    char stack_id[JB_STACK_ID_MAX + 1], cidr[JB_CIDR_MAX], requester[160];
    char work_root[PATH_MAX];
    struct jb_permit permit;
};

int jb_box_create_check(const struct jb_box_create_args *a, struct jb_box_create *bc,
                        const char **field, char *err, size_t errlen);

/* A stack context for bc's state, with the audit log open (jb_log_close
 * its event_fd); cancel and progress as given. */
void jb_box_stack_ctx(struct jb_box_create *bc, struct jb_stack_ctx *ctx,
                      volatile sig_atomic_t *cancel, jb_progress_fn progress, void *pctx);

/* jb_stack_create.  JB_ERR_INVALID with *field set: bad input after all
 * (the stack id was taken meanwhile, JUMPBOX_MODULE_VARS); nothing made. */
int jb_box_create_make(const struct jb_stack_ctx *ctx, const struct jb_box_create *bc,
                       struct jb_create_result *res, const char **field, char *err, size_t errlen);

/* A request to the build function, as given. */
struct jb_box_request_args {
    const struct jb_settings *settings; /* main()'s */
    const char *function, *ttl, *allow_cidr, *requester;
    const char *keepalive; /* NULL or "0": none */
    int allow_my_ip;
    const struct jb_permit *permit; /* --permit-open, already parsed; NULL: none */
};

struct jb_box_request {
    const struct jb_settings *settings;
    const char *function, *ttl, *keepalive;
    long keepalive_s;
    char cidr[JB_CIDR_MAX], requester[160];
    int allow_my_ip;
    struct jb_permit permit;
};

int jb_box_request_check(const struct jb_box_request_args *a, struct jb_box_request *br,
                         const char **field, char *err, size_t errlen);

/* Resolves --allow-my-ip (progress "allowing"), invokes the function
 * (progress "invoking") and opens its sealed answer into res.  *refused
 * is set when the function refused the request as bad input (nothing was
 * made). */
int jb_box_request_make(struct jb_box_request *br, jb_progress_fn progress, void *pctx,
                        struct jb_create_result *res, int *refused, char *err, size_t errlen);

/* This machine's public address as a host CIDR, for --allow-my-ip (asked
 * of the settings' JUMPBOX_CHECKIP_URL). */
int jb_box_my_ip(const struct jb_settings *s, char *cidr, size_t len, char *err, size_t errlen);

#endif
