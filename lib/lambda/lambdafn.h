/* What the build and clean functions share when they run in Lambda: the
 * environment's defaults, event field checks, and the deadline watchdog
 * that stops long work early enough to roll back. */
#ifndef JB_LAMBDAFN_H
#define JB_LAMBDAFN_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "lambda/runtime.h"

#define JB_FN_INVALID "jumpbox.InvalidRequest"
#define JB_FN_FAILED "jumpbox.Failed"
#define JB_FN_TIMEOUT "jumpbox.Timeout"
#define JB_FN_DENIED "jumpbox.Denied"

/* Sets what Lambda leaves unset, only where unset: JUMPBOX_WORK_DIR=/tmp/jumpbox
 * and HOME=/tmp (only /tmp is writable), JUMPBOX_AUDIT_LOG=- (the function's
 * log), JUMPBOX_MODULE_DIR=$LAMBDA_TASK_ROOT/terraform and
 * JUMPBOX_TF_PLUGIN_DIR=/opt/terraform/plugins when those exist, and
 * AWS_CA_BUNDLE=/etc/pki/tls/certs/ca-bundle.crt where Debian's bundle
 * path is missing (Amazon Linux).  The Lambda init, before the settings
 * are read (stack/settings): it reads the environment (and
 * LAMBDA_TASK_ROOT) only to write it, and Terraform inherits what it set. */
void jb_fn_env_defaults(void);

/* The event as a JSON object holding only the allowed keys (NULL-terminated). */
int jb_fn_event(const struct jb_invocation *inv, const char *const *allowed, cJSON **out,
                struct jb_handler_error *e);

/* A string field: missing (an error when required; *out NULL otherwise),
 * not a string, or empty are errors naming the field. */
int jb_fn_str(const cJSON *ev, const char *name, int required, const char **out,
              struct jb_handler_error *e);

/* s, the JUMPBOX_DEADLINE_RESERVE setting (a duration; NULL or empty:
 * 120 s), at most half the time left at start_ms: what is kept back for
 * rolling back. */
int jb_fn_reserve_ms(const char *s, long long deadline_ms, long long start_ms,
                     long long *reserve_ms, char *err, size_t errlen);

/* Sets *flag at stop_ms (Unix ms) unless stopped first. */
struct jb_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long stop_ms;
    volatile sig_atomic_t *flag;
    int done, running;
};
int jb_watchdog_start(struct jb_watchdog *w, long long stop_ms, volatile sig_atomic_t *flag,
                      char *err, size_t errlen);
void jb_watchdog_stop(struct jb_watchdog *w);

#endif
