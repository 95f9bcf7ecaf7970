/* A stack's destroy: its lease claimed, the state Terraform could not save
 * pushed first, an aws stack's tagged instances terminated (stack_ec2.c),
 * `terraform destroy`, its tagged groups deleted, then the state and lease
 * purged; on failure the lease is handed to the sweeper.  The teardown is also a
 * failed create's rollback (stack_create.c). */
#include "stack/stack_int.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "stack/deadline.h"
#include "stack/store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* When Terraform cannot save its state (the backend failing), it leaves
 * it in errored.tfstate in the working directory.  A destroy that ignored
 * it would read the backend's older (or no) state, find nothing to destroy,
 * succeed, and let the purge drop the lease of a box still running.  So the
 * file goes to the backend first; if that fails too, so does the teardown.
 * (A destroy that could not save its state leaves one as well, of what is
 * gone: pushing that is just as right.)
 *
 * A work directory lives on one machine (or one Lambda container), so the
 * file is also kept in the state store beside the lease
 * (<stack>/errored.tfstate): a destroy from anywhere finds it there when
 * its own work directory has none. */
#define ERRORED "errored.tfstate"
#define ERRORED_MAX (64L * 1024 * 1024)
#define TFLOCK "terraform.tfstate.tflock"

/* The local errored.tfstate, if any, to the state store.  Best effort: on
 * failure it still waits in the work directory, and detail says why. */
static int save_errored_state(const struct jb_stack_ctx *ctx, const struct jb_stack_paths *p,
                              const char *stack_id, char *detail, size_t detaillen)
{
    char path[PATH_MAX], key[JB_STACK_ID_MAX + 32], *data = NULL;
    size_t len = 0;
    int rc;

    if (jb_path_join(path, sizeof(path), p->workdir, ERRORED) != 0 || access(path, F_OK) != 0)
        return 0;
    if (jb_store_stack_key(stack_id, ERRORED, key, sizeof(key)) != 0)
        return jb_err(detail, detaillen, JB_ERR_INVALID, "bad stack id");
    jb_stack_progress(ctx, "saving errored.tfstate", "to the state store, beside the lease");
    if ((rc = jb_file_read(path, ERRORED_MAX, &data, &len, detail, detaillen)) == 0)
        rc = jb_store_put(ctx->state, key, data, len, NULL, detail, detaillen);
    free(data);
    return rc;
}

static int push_errored_state(const struct jb_stack_ctx *ctx, struct jb_tf *tf,
                              const struct jb_stack_paths *p, const char *stack_id, char *err,
                              size_t errlen)
{
    char path[PATH_MAX], key[JB_STACK_ID_MAX + 32], inner[JB_ERRLEN];
    struct jb_store_obj o;
    int rc, stored = 0;

    if (jb_path_join(path, sizeof(path), p->workdir, ERRORED) != 0 ||
        jb_store_stack_key(stack_id, ERRORED, key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "work path too long");
    if (access(path, F_OK) != 0) {
        /* Not here: one saved in the store by another machine, maybe.  Not
         * knowing is no reason to destroy from a state that may be old. */
        rc = jb_store_get(ctx->state, key, ERRORED_MAX, 0, &o, inner, sizeof(inner));
        if (rc == JB_ERR_NOTFOUND)
            return 0;
        if (rc == 0)
            rc = jb_file_replace(path, o.data, o.len, 0600, inner, sizeof(inner));
        jb_store_obj_free(&o);
        if (rc != 0)
            return jb_err(err, errlen, rc,
                          "looking for state Terraform could not save earlier (%s/%s in the "
                          "state store) failed, so nothing was destroyed: %s",
                          stack_id, ERRORED, inner);
        stored = 1;
    }
    jb_stack_progress(ctx, "terraform state push",
                      stored ? ERRORED " (from the state store)" : ERRORED);
    if ((rc = jb_tf_state_push(tf, path, jb_stack_tf_deadline(ctx, JB_STACK_PUSH_TIMEOUT_S), inner,
                               sizeof(inner))) != 0)
        return jb_err(err, errlen, rc,
                      "the state Terraform could not save earlier (errored.tfstate) still "
                      "cannot be saved, so nothing was destroyed: %s",
                      inner);
    /* Pushed: the store's copy goes first (an old one pushed again later
     * would be refused, or worse), then ours. */
    if ((rc = jb_store_delete(ctx->state, key, inner, sizeof(inner))) != 0)
        return jb_err(err, errlen, rc,
                      "errored.tfstate was pushed, but its copy in the state store could not "
                      "be removed, so nothing was destroyed: %s",
                      inner);
    if (unlink(path) != 0)
        return jb_err_errno(err, errlen, JB_ERR_IO, "remove %s", path);
    return 0;
}

static void audit_gone(const struct jb_stack_ctx *ctx, const struct jb_lease *l)
{
    jb_stack_event(ctx, "destroy.already_gone", l, "another process destroyed the stack first");
}

/* Marks the lease failed and expired, for the sweeper to take at once.
 * The update is conditional: when it loses, the lease as it is now
 * decides.  Gone: another process destroyed the stack.  Destroying or
 * failed: another process is at it, or has handed it to the sweeper
 * already; theirs stands.  Anything else is marked failed after all. */
static enum jb_stack_fate keep_for_sweeper(const struct jb_stack_ctx *ctx, struct jb_lease *l,
                                           const char *why, char *detail, size_t detaillen)
{
    enum jb_stack_fate f = JB_FATE_UNKNOWN;

    for (int tries = 0; tries < 3; tries++) {
        struct jb_lease now;
        int rc;

        snprintf(l->status, sizeof(l->status), "failed");
        if (l->expires_at > time(NULL))
            l->expires_at = time(NULL);
        l->deadline = 0;
        rc = jb_lease_update(ctx->state, l, detail, detaillen);
        if (rc == 0) {
            f = JB_FATE_KEPT;
            break;
        }
        if (rc == JB_ERR_NOTFOUND) {
            f = JB_FATE_GONE;
            break;
        }
        if (rc != JB_ERR_CONFLICT)
            break;
        rc = jb_lease_get(ctx->state, l->stack_id, &now, detail, detaillen);
        if (rc == JB_ERR_NOTFOUND) {
            f = JB_FATE_GONE;
            break;
        }
        if (rc != 0)
            break;
        if (strcmp(now.status, "destroying") == 0 || strcmp(now.status, "failed") == 0) {
            f = strcmp(now.status, "failed") == 0 ? JB_FATE_KEPT : JB_FATE_OTHER;
            jb_lease_clear(&now);
            break;
        }
        memcpy(l->etag, now.etag, sizeof(l->etag));
        jb_lease_clear(&now);
    }
    if (f == JB_FATE_GONE)
        audit_gone(ctx, l);
    else
        jb_stack_event(ctx, "destroy.failed", l, why);
    return f;
}

/* Terraform's S3 lock (use_lockfile) of a Terraform that was killed stays
 * behind, and every later command would fail to take it.  Only called
 * when the lease says no process of ours is still at work on the stack.
 * (A local backend's lock is an flock, gone with its process.) */
static int drop_stale_lock(const struct jb_stack_ctx *ctx, const char *stack_id, char *err,
                           size_t errlen)
{
    char inner[JB_ERRLEN], key[JB_STACK_ID_MAX + 32];
    int rc;

    if (!jb_store_is_remote(ctx->state))
        return 0;
    if ((rc = jb_store_stack_key(stack_id, TFLOCK, key, sizeof(key))) == 0)
        rc = jb_store_delete(ctx->state, key, inner, sizeof(inner));
    if (rc != 0)
        return jb_err(err, errlen, rc, "removing the stale Terraform lock %s/%s failed: %s",
                      stack_id, TFLOCK, inner);
    return 0;
}

/* The tagged instances, the stale lock, terraform destroy, the tagged
 * groups: 0 when nothing of the stack is left in the cloud. */
static int take_down(const struct jb_stack_ctx *ctx, struct jb_tf *tf, const struct jb_lease *l,
                     const struct jb_stack_paths *p, int unlock, char *err, size_t errlen)
{
    int aws = strcmp(l->module, "aws") == 0, rc;

    if ((rc = push_errored_state(ctx, tf, p, l->stack_id, err, errlen)) != 0 ||
        (aws && (rc = jb_stack_ec2_terminate(ctx, l->stack_id, err, errlen)) != 0) ||
        (unlock && (rc = drop_stale_lock(ctx, l->stack_id, err, errlen)) != 0))
        return rc;
    jb_stack_progress(ctx, "terraform destroy", NULL);
    if ((rc = jb_tf_destroy(tf, jb_stack_tf_deadline(ctx, JB_STACK_DESTROY_TIMEOUT_S), err,
                            errlen)) != 0)
        return rc;
    return aws ? jb_stack_ec2_delete_groups(ctx, l->stack_id, err, errlen) : 0;
}

int jb_stack_teardown(const struct jb_stack_ctx *ctx, struct jb_tf *tf, struct jb_lease *l,
                      const struct jb_stack_paths *p, int unlock, enum jb_stack_fate *fate,
                      char *err, size_t errlen)
{
    volatile sig_atomic_t *cancel = tf->cancel;
    char detail[JB_ERRLEN];
    int rc;

    *fate = JB_FATE_DESTROYED;
    /* A Ctrl-C that stopped the create must not also stop its rollback. */
    tf->cancel = NULL;
    rc = take_down(ctx, tf, l, p, unlock, err, errlen);
    tf->cancel = cancel;
    if (rc != 0)
        jb_stack_tf_forget_init(p);
    /* The box is gone if rc is 0 (its records are not, when the purge
     * fails: a lease still saying "destroying" would wait for its expiry
     * before a sweep retried). */
    /* The box's deadline object has no reader left; a failure here leaves
     * it to the bucket's lifecycle rule. */
    if (rc == 0)
        jb_deadline_remove(ctx->state, l, NULL, 0);
    if (rc == 0 && (rc = jb_lease_purge(ctx->state, l->stack_id, err, errlen)) == 0) {
        jb_rm_tree(p->workdir, NULL, 0);
        jb_stack_event(ctx, "destroy.done", l, NULL);
        return 0;
    }
    /* Any machine's next destroy must find the state Terraform could not
     * save, not only this one's. */
    if (save_errored_state(ctx, p, l->stack_id, detail, sizeof(detail)) != 0 && err) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used,
                 "; errored.tfstate stays in the work directory only (%s)", detail);
    }
    *fate = keep_for_sweeper(ctx, l, err, detail, sizeof(detail));
    if (*fate == JB_FATE_GONE) {
        /* Another destroy won (its Terraform held the state, say) and
         * finished: nothing of the stack is left. */
        jb_rm_tree(p->workdir, NULL, 0);
        return 0;
    }
    if (err && *fate == JB_FATE_UNKNOWN) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "; marking its lease failed failed too: %s", detail);
    }
    return rc;
}

/* Claims the lease for this destroy (status destroying), conditional on
 * the version read.  When it changed, it is read again and the claim made
 * again; when it is gone, *outcome says so.  0 with the claim made or
 * *outcome set.  *idle: the lease as claimed said no process of ours can
 * still be at work on the stack (ready or failed, or a create or destroy
 * past its deadline, by which it has finished or died). */
static int claim(const struct jb_stack_ctx *ctx, const char *stack_id, struct jb_lease *l,
                 int *outcome, int *idle, char *err, size_t errlen)
{
    int rc = 0;

    for (int tries = 0; tries < 3; tries++) {
        int busy = strcmp(l->status, "creating") == 0 || strcmp(l->status, "destroying") == 0;

        if (ctx->sweep && !jb_lease_sweepable(l, time(NULL))) {
            *outcome = JB_DESTROY_NOT_DUE; /* it changed since the sweep listed it */
            return 0;
        }
        *idle = !busy || (l->deadline != 0 && l->deadline <= time(NULL));
        snprintf(l->status, sizeof(l->status), "destroying");
        l->deadline = jb_stack_work_deadline(ctx, jb_stack_teardown_budget(ctx, l->module));
        rc = jb_lease_update(ctx->state, l, err, errlen);
        if (rc != JB_ERR_CONFLICT)
            break;
        jb_lease_clear(l);
        rc = jb_lease_get(ctx->state, stack_id, l, err, errlen);
        if (rc != 0)
            break;
    }
    if (rc == JB_ERR_NOTFOUND) {
        *outcome = JB_DESTROY_GONE;
        return 0;
    }
    return rc;
}

int jb_stack_destroy(const struct jb_stack_ctx *ctx, const char *stack_id, const char *reason,
                     int *outcome, char *err, size_t errlen)
{
    struct jb_lease l;
    struct jb_stack_paths paths;
    struct jb_tf tf;
    enum jb_stack_fate fate = JB_FATE_UNKNOWN;
    time_t started = time(NULL);
    const char *ended_by = NULL;
    int rc, idle = 0;

    *outcome = JB_DESTROY_DONE;
    memset(&tf, 0, sizeof(tf));
    tf.log_fd = -1;
    rc = jb_lease_get(ctx->state, stack_id, &l, err, errlen);
    if (rc == JB_ERR_NOTFOUND) {
        /* Terraform state without a lease would be a stack we can't
         * rebuild a configuration for: purge refuses to guess. */
        *outcome = JB_DESTROY_GONE;
        return 0;
    }
    if (rc != 0)
        return rc;
    /* As read before the claim rewrites its status: whether the stack's own
     * clock (its expiry, its keep-alive) ended it, for the record. */
    if (jb_lease_sweepable(&l, started)) {
        ended_by = jb_lease_end_reason(&l, started);
        if (strcmp(ended_by, "expired") != 0 && strcmp(ended_by, "keepalive") != 0)
            ended_by = NULL;
    }
    if ((rc = jb_stack_paths(ctx->settings, stack_id, l.module, &paths, err, errlen)) != 0)
        goto out;
    if ((rc = claim(ctx, stack_id, &l, outcome, &idle, err, errlen)) != 0 ||
        *outcome != JB_DESTROY_DONE)
        goto out;
    {
        const char *kv[] = {"reason", reason ? reason : "request", NULL, NULL};
        jb_log_event(ctx->event_fd, "destroy.start", stack_id, kv);
    }
    rc = jb_stack_tf_prepare(ctx, &paths, stack_id, l.vars, &tf, err, errlen);
    if (rc != 0) {
        char d[JB_ERRLEN];
        fate = keep_for_sweeper(ctx, &l, err, d, sizeof(d));
        if (fate == JB_FATE_GONE)
            rc = 0;
    } else {
        rc = jb_stack_teardown(ctx, &tf, &l, &paths, idle, &fate, err, errlen);
    }
    if (rc == 0 && fate == JB_FATE_GONE) {
        *outcome = JB_DESTROY_GONE;
    } else if (rc != 0 && fate == JB_FATE_OTHER && err) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "; another process is destroying the stack now");
    }
out:
    /* A stack that had a lease gets its record, whatever the outcome but
     * a sweep's "not due" (nothing was attempted). */
    if (*outcome != JB_DESTROY_NOT_DUE)
        jb_stack_record_destroy(ctx, stack_id, reason ? reason : "request", started,
                                rc != 0                       ? "failed"
                                : *outcome == JB_DESTROY_GONE ? "already_gone"
                                                              : "destroyed",
                                rc != 0 && err ? err : NULL, &l, ended_by);
    if (tf.log_fd >= 0)
        jb_tf_close(&tf);
    jb_lease_clear(&l);
    return rc;
}
