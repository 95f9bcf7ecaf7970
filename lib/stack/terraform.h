/* Runs Terraform for one stack: execve (never a shell), a clean environment,
 * its own data dir, a deadline per command, output captured to a per-stack
 * log; the root module's outputs read from the state it wrote. */
#ifndef JB_TERRAFORM_H
#define JB_TERRAFORM_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>

#include "base/proc.h"

struct jb_tf {
    char bin[PATH_MAX];        /* JUMPBOX_TERRAFORM, else terraform on PATH */
    char workdir[PATH_MAX];    /* holds main.tf.json; the root module */
    char logpath[PATH_MAX];    /* all Terraform output for this stack */
    char plugin_dir[PATH_MAX]; /* JUMPBOX_TF_PLUGIN_DIR; empty: none */
    struct jb_strv env;
    volatile sig_atomic_t *cancel;
    int log_fd;
};

/* Prepares a runner for workdir (created 0700).  bin and plugins are the
 * settings JUMPBOX_TERRAFORM and JUMPBOX_TF_PLUGIN_DIR (NULL or empty: none).
 * env is the caller's environment (e.g. environ), read only for Terraform's
 * own: its PATH finds terraform, and what Terraform needs of it is passed
 * on. */
int jb_tf_open(struct jb_tf *tf, const char *workdir, const char *logpath, const char *bin,
               const char *plugins, char *const *env, char *err, size_t errlen);
void jb_tf_close(struct jb_tf *tf);

/* The environment Terraform gets: TF_DATA_DIR=<workdir>/.terraform,
 * TMPDIR=<workdir>/tmp (made by jb_tf_open; env's TMPDIR when the work dir
 * is too deep for a unix socket's path), TF_IN_AUTOMATION, TF_INPUT=0, and
 * from env only an allow-list (PATH, HOME, proxies, CA bundles, GOGC,
 * GOMEMLIMIT, AWS_*, JUMPBOX_*, XDG_* …). */
int jb_tf_build_env(struct jb_strv *out, const char *workdir, char *const *env);

/* The argv for a Terraform command, with -chdir, -input=false,
 * -no-color and, for init, -plugin-dir when configured. */
int jb_tf_build_argv(const struct jb_tf *tf, const char *cmd, const char *const *extra,
                     struct jb_strv *out);

/* Each runs one command with a deadline in seconds.  Failures point at the log. */
int jb_tf_init(struct jb_tf *tf, int timeout_s, char *err, size_t errlen);
/* secret_vars: HCL assignments (`name = "…"`) handed to Terraform through a
 * pipe as -var-file=/dev/fd/3, so the secrets never touch a disk.  NULL:
 * none.  At most 64 KiB (one pipe buffer). */
int jb_tf_apply(struct jb_tf *tf, const char *secret_vars, int timeout_s, char *err, size_t errlen);
int jb_tf_destroy(struct jb_tf *tf, int timeout_s, char *err, size_t errlen);
/* `terraform state push PATH`: a state file to the backend (refused when
 * its lineage differs or the backend's serial is newer). */
int jb_tf_state_push(struct jb_tf *tf, const char *path, int timeout_s, char *err, size_t errlen);

/* The outputs of the state Terraform wrote (state format 4: name -> {value,
 * type}, as `terraform output -json` prints them), from its text: the
 * provisioner reads them from the state store, which answers in
 * milliseconds, rather than start Terraform again for `output`.
 * JB_ERR_PARSE when it is not such a state. */
#define JB_TF_STATE_MAX (64L * 1024 * 1024)
int jb_tf_state_outputs(const char *state, size_t len, cJSON **out, char *err, size_t errlen);

/* Reads a string or number output from those outputs, validated: printable,
 * at most max bytes. */
int jb_tf_output_string(const cJSON *outputs, const char *name, char *dst, size_t max, char *err,
                        size_t errlen);
int jb_tf_output_port(const cJSON *outputs, const char *name, int *port, char *err, size_t errlen);

/* Terraform reads "${" and "%{" in JSON strings that hold expressions
 * (module arguments, outputs) as templates: values from outside must have
 * them doubled there.  Not in backend settings or a module's source, which
 * Terraform takes as they are.  Returns a new cJSON string. */
cJSON *jb_tf_literal(const char *s);

#endif
