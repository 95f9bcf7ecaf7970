/* What both functions share inside Lambda (lambdafn.h): environment
 * defaults, event checks and the deadline watchdog. */
#include "lambda/lambdafn.h"

#include "base/err.h"
#include "base/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RESERVE_S 120

static void set_default(const char *name, const char *value)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        setenv(name, value, 1);
}

void jb_fn_env_defaults(void)
{
    const char *task = getenv("LAMBDA_TASK_ROOT");
    char path[4096];

    set_default("JUMPBOX_WORK_DIR", "/tmp/jumpbox");
    set_default("HOME", "/tmp");
    set_default("JUMPBOX_AUDIT_LOG", "-");
    if (task && task[0] == '/' &&
        snprintf(path, sizeof(path), "%s/terraform", task) < (int)sizeof(path) &&
        access(path, R_OK | X_OK) == 0)
        set_default("JUMPBOX_MODULE_DIR", path);
    /* The package's libcurl was built for Debian's CA path; Amazon Linux
     * keeps the bundle elsewhere. */
    if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) != 0 &&
        access("/etc/pki/tls/certs/ca-bundle.crt", R_OK) == 0)
        set_default("AWS_CA_BUNDLE", "/etc/pki/tls/certs/ca-bundle.crt");
    if (access("/opt/terraform/plugins", R_OK | X_OK) == 0)
        set_default("JUMPBOX_TF_PLUGIN_DIR", "/opt/terraform/plugins");
}

int jb_fn_event(const struct jb_invocation *inv, const char *const *allowed, cJSON **out,
                struct jb_handler_error *e)
{
    cJSON *ev = cJSON_ParseWithLength(inv->event, inv->event_len), *it;

    *out = NULL;
    if (ev == NULL)
        return jb_handler_fail(e, JB_FN_INVALID, "event: not JSON");
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        return jb_handler_fail(e, JB_FN_INVALID, "event: must be a JSON object");
    }
    cJSON_ArrayForEach(it, ev)
    {
        size_t i;
        for (i = 0; allowed[i] && strcmp(allowed[i], it->string) != 0; i++)
            ;
        if (allowed[i] == NULL) {
            char name[64];
            /* The name is outside input: shown only when it is tame. */
            if (jb_check_label(it->string, 40, NULL, 0) == 0)
                snprintf(name, sizeof(name), "%s", it->string);
            else
                snprintf(name, sizeof(name), "(unprintable)");
            cJSON_Delete(ev);
            return jb_handler_fail(e, JB_FN_INVALID, "%s: unknown field", name);
        }
        /* Two "action"s: a parser elsewhere might read the other one. */
        if (cJSON_GetObjectItemCaseSensitive(ev, it->string) != it) {
            char name[64];
            snprintf(name, sizeof(name), "%s", allowed[i]);
            cJSON_Delete(ev);
            return jb_handler_fail(e, JB_FN_INVALID, "%s: given more than once", name);
        }
    }
    *out = ev;
    return 0;
}

int jb_fn_str(const cJSON *ev, const char *name, int required, const char **out,
              struct jb_handler_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return required ? jb_handler_fail(e, JB_FN_INVALID, "%s: required", name) : 0;
    if (!cJSON_IsString(v))
        return jb_handler_fail(e, JB_FN_INVALID, "%s: must be a string", name);
    if (v->valuestring[0] == '\0')
        return jb_handler_fail(e, JB_FN_INVALID, "%s: empty", name);
    *out = v->valuestring;
    return 0;
}

int jb_fn_reserve_ms(const char *s, long long deadline_ms, long long start_ms,
                     long long *reserve_ms, char *err, size_t errlen)
{
    long secs = DEFAULT_RESERVE_S;
    long long half = (deadline_ms - start_ms) / 2;

    if (s && *s && jb_parse_duration(s, &secs, err, errlen) != 0)
        return JB_ERR_INVALID;
    *reserve_ms = (long long)secs * 1000;
    if (*reserve_ms > half)
        *reserve_ms = half > 0 ? half : 0;
    return 0;
}

static void *watch(void *arg)
{
    struct jb_watchdog *w = arg;
    struct timespec at = {.tv_sec = w->stop_ms / 1000, .tv_nsec = (w->stop_ms % 1000) * 1000000};

    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &at) == ETIMEDOUT) {
            *w->flag = 1;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int jb_watchdog_start(struct jb_watchdog *w, long long stop_ms, volatile sig_atomic_t *flag,
                      char *err, size_t errlen)
{
    int rc;

    memset(w, 0, sizeof(*w));
    w->stop_ms = stop_ms;
    w->flag = flag;
    /* CLOCK_REALTIME (the default) is the deadline's clock. */
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if ((rc = pthread_create(&w->thread, NULL, watch, w)) != 0) {
        errno = rc;
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "pthread_create");
    }
    w->running = 1;
    return 0;
}

void jb_watchdog_stop(struct jb_watchdog *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->running = 0;
}
