/* What EC2 holds of an aws stack, taken down around `terraform destroy`
 * by its tags (terraform/aws tags everything jumpbox:stack and
 * jumpbox:state).  A create killed while RunInstances was in flight leaves
 * an instance Terraform never recorded, and one killed before Terraform
 * saved any state leaves a security group too: the destroy would not know
 * them, and the group, still used by the instance, could not be deleted
 * (DependencyViolation until the provider gives up).  So the stack's
 * instances go first and are waited for; its groups that Terraform did not
 * delete go after.  Only this state's tags count: another deployment's
 * stack of the same name is not ours. */
#include "stack/stack_int.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "aws/ec2.h"
#include "stack/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG_STACK "tag:jumpbox:stack"
#define STATE_KEY "jumpbox:state"
#define MAX_OF_A_STACK 1000 /* terraform/aws makes one of each */

struct found {
    char **ids;
    size_t n;
};

static void found_free(struct found *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->ids[i]);
    free(f->ids);
    memset(f, 0, sizeof(*f));
}

/* Every instance (instances != 0) or group tagged with the stack and this
 * state, instances only while not yet terminated.  (The state is compared
 * here, not in a filter: a tag may spell the same state otherwise.) */
static int list(struct jb_ec2_client *c, const struct jb_stack_ctx *ctx, const char *stack_id,
                int instances, struct found *out, char *err, size_t errlen)
{
    static const char *const live[] = {"pending", "running", "shutting-down", "stopping",
                                       "stopped"};
    const char *stack[] = {stack_id};
    const struct jb_ec2_filter f[] = {{TAG_STACK, stack, 1}, {"instance-state-name", live, 5}};
    char *token = NULL;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    do {
        struct jb_ec2_page p;
        rc = instances ? jb_ec2_describe_instances(c, f, 2, token, &p, err, errlen)
                       : jb_ec2_describe_security_groups(c, f, 1, token, &p, err, errlen);
        free(token);
        token = NULL;
        if (rc != 0)
            break;
        char **nv = out->n + p.n > MAX_OF_A_STACK
                        ? NULL
                        : realloc(out->ids, (out->n + p.n + 1) * sizeof(*nv));
        if (nv)
            out->ids = nv;
        for (size_t i = 0; nv && i < p.n; i++) {
            /* The state's spelling in the tag may differ from ours. */
            if (!jb_state_names(ctx->state, jb_ec2_tag_value(&p.items[i], STATE_KEY)))
                continue;
            if ((out->ids[out->n] = strdup(p.items[i].id)) != NULL)
                out->n++;
            else
                nv = NULL;
        }
        if (nv == NULL)
            rc = jb_err(err, errlen, JB_ERR_NOMEM,
                        "more than %d resources tagged with the stack, or out of memory",
                        MAX_OF_A_STACK);
        else if (p.next_token && (token = strdup(p.next_token)) == NULL)
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        jb_ec2_page_free(&p);
    } while (token && rc == 0);
    free(token);
    if (rc != 0)
        found_free(out);
    return rc;
}

static int stop_at_until(void *arg)
{
    const struct jb_stack_ctx *ctx = arg;
    return ctx->until > 0 && time(NULL) >= ctx->until;
}

static void logged(const struct jb_stack_ctx *ctx, const char *event, const char *stack_id,
                   const char *id)
{
    const char *kv[] = {"resource", id, NULL, NULL};
    jb_log_event(ctx->event_fd, event, stack_id, kv);
}

int jb_stack_ec2_terminate(const struct jb_stack_ctx *ctx, const char *stack_id, char *err,
                           size_t errlen)
{
    struct jb_ec2_client *c = NULL;
    struct found f = {0};
    int *alive = NULL, rc;
    long wait_s = jb_stack_tf_deadline(ctx, JB_STACK_TERMINATE_TIMEOUT_S);

    if ((rc = jb_ec2_client_new(NULL, &c, err, errlen)) != 0 ||
        (rc = list(c, ctx, stack_id, 1, &f, err, errlen)) != 0 || f.n == 0)
        goto out;
    for (size_t i = 0; i < f.n; i++) {
        jb_stack_progress(ctx, "terminating", f.ids[i]);
        rc = jb_ec2_terminate_instance(c, f.ids[i], err, errlen);
        if (rc != 0 && rc != JB_ERR_NOTFOUND)
            goto out;
        logged(ctx, "destroy.terminating", stack_id, f.ids[i]);
    }
    if ((alive = calloc(f.n, sizeof(*alive))) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = jb_ec2_wait_terminated(c, (const char *const *)f.ids, f.n, alive,
                                jb_clock_mono_ms() + wait_s * 1000LL, stop_at_until, (void *)ctx,
                                err, errlen);
    if (rc > 0) {
        size_t k = 0;
        while (!alive[k])
            k++;
        rc = jb_err(err, errlen, JB_ERR_TIMEOUT,
                    "instance %s of the stack was not yet terminated after %lds, so nothing "
                    "else was destroyed",
                    f.ids[k], wait_s);
    }
out:
    free(alive);
    found_free(&f);
    jb_ec2_client_free(c);
    return rc;
}

int jb_stack_ec2_delete_groups(const struct jb_stack_ctx *ctx, const char *stack_id, char *err,
                               size_t errlen)
{
    struct jb_ec2_client *c = NULL;
    struct found f = {0};
    int rc;

    if ((rc = jb_ec2_client_new(NULL, &c, err, errlen)) != 0 ||
        (rc = list(c, ctx, stack_id, 0, &f, err, errlen)) != 0)
        goto out;
    for (size_t i = 0; i < f.n; i++) {
        jb_stack_progress(ctx, "deleting security group", f.ids[i]);
        rc = jb_ec2_delete_security_group(c, f.ids[i], err, errlen);
        if (rc == JB_ERR_NOTFOUND)
            rc = 0;
        if (rc != 0)
            goto out;
        logged(ctx, "destroy.group_deleted", stack_id, f.ids[i]);
    }
out:
    found_free(&f);
    jb_ec2_client_free(c);
    return rc;
}
