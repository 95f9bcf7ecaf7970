/* The reaper (see reap.h): list what is tagged as ours, decide each
 * resource on its tags and its stack's lease, then terminate, wait, delete. */
#include "stack/reap.h"

#include "base/clock.h"
#include "base/env.h"
#include "base/err.h"
#include "base/grow.h"
#include "base/log.h"
#include "base/parse.h"
#include "aws/ec2.h"
#include "stack/audit.h"
#include "stack/lease.h"
#include "stack/state.h"
#include "stack/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG_STACK "jumpbox:stack"
#define TAG_EXPIRES "jumpbox:expires-at"
#define TAG_STATE "jumpbox:state"
#define MAX_RESOURCES 100000 /* of each kind: bounds memory */
#define PROFILE_NAME_MAX 128 /* IAM's limits on a name and a path */
#define PROFILE_PATH_MAX 512
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-"

enum kind { INSTANCE, GROUP };

struct item {
    enum kind kind;
    const struct jb_ec2_resource *r; /* inside one of the listed pages */
    const char *stack;               /* its jumpbox:stack tag, when a valid stack id */
    cJSON *entry;                    /* its object in the report */
    int candidate;                   /* to be reaped */
    int terminating;                 /* instance: TerminateInstances accepted */
    int gone;                        /* instance: terminated (or no longer listed) */
    int left;                        /* instance: was to go and did not (yet) */
};

struct pages {
    struct jb_ec2_page *v;
    size_t n, cap, total;
};

struct lease_seen {
    char stack[JB_STACK_ID_MAX + 1];
    int rc;
    char err[JB_ERRLEN];
};

struct reaper {
    const struct jb_stack_ctx *ctx;
    const struct jb_reap_opts *o;
    struct jb_ec2_client *ec2;
    time_t now;
    struct item *items;
    size_t n;
    struct lease_seen *leases;
    size_t nleases, leasecap;
    size_t reaped, would, skipped, failed;
};

/* ---- time ------------------------------------------------------------- */

static int stopped(const struct jb_reap_opts *o)
{
    return (o->stop && *o->stop) || (o->stop_ms > 0 && jb_clock_unix_ms() >= o->stop_ms);
}

/* ---- listing ---------------------------------------------------------- */

static int list_all(struct reaper *R, enum kind kind, const struct jb_ec2_filter *f, size_t nf,
                    struct pages *pg, char *err, size_t errlen)
{
    char *token = NULL;
    int rc = 0;

    do {
        struct jb_ec2_page *nv = jb_grow(pg->v, &pg->cap, pg->n + 1, sizeof(*nv), 8);
        if (nv == NULL) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
            break;
        }
        pg->v = nv;
        struct jb_ec2_page *p = &pg->v[pg->n];
        rc = kind == INSTANCE
                 ? jb_ec2_describe_instances(R->ec2, f, nf, token, p, err, errlen)
                 : jb_ec2_describe_security_groups(R->ec2, f, nf, token, p, err, errlen);
        if (rc != 0)
            break;
        pg->n++;
        pg->total += p->n;
        if (pg->total > MAX_RESOURCES) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "more than %d tagged %s", MAX_RESOURCES,
                        kind == INSTANCE ? "instances" : "security groups");
            break;
        }
        free(token);
        token = NULL;
        if (p->next_token && (token = strdup(p->next_token)) == NULL) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
            break;
        }
    } while (token != NULL);
    free(token);
    return rc;
}

static void pages_free(struct pages *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        jb_ec2_page_free(&pg->v[i]);
    free(pg->v);
    memset(pg, 0, sizeof(*pg));
}

/* ---- the report --------------------------------------------------------- */

/* The stack's durable audit record of what the reaper did (audit.h):
 * best effort, a failure is a warning. */
static void record(struct reaper *R, const struct item *it, const char *res, const char *error)
{
    char err[JB_ERRLEN], msg[JB_ERRLEN + 64];
    cJSON *o;
    int rc;

    if (it->stack == NULL)
        return;
    o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "reason", "reap") ||
        !cJSON_AddStringToObject(o, "resource", it->r->id) ||
        !cJSON_AddStringToObject(o, "kind", it->kind == INSTANCE ? "instance" : "security_group") ||
        !cJSON_AddStringToObject(o, "result", res) ||
        (error && !cJSON_AddStringToObject(o, "error", error)) ||
        (R->ctx->origin && !cJSON_AddItemToObject(o, "by", cJSON_Duplicate(R->ctx->origin, 1))))
        rc = jb_err(err, sizeof(err), JB_ERR_NOMEM, "out of memory");
    else
        rc = jb_audit_put(R->ctx->state, it->stack, "reap", o, err, sizeof(err));
    cJSON_Delete(o);
    if (rc != 0 && R->ctx->progress) {
        snprintf(msg, sizeof(msg), "warning: the audit record reap was not written: %s", err);
        R->ctx->progress((void *)it->stack, "audit", msg);
    }
}

static void result(struct reaper *R, struct item *it, const char *res, const char *key,
                   const char *detail)
{
    cJSON_AddStringToObject(it->entry, "result", res);
    if (key)
        cJSON_AddStringToObject(it->entry, key, detail);
    if (strcmp(res, "reaped") == 0)
        R->reaped++;
    else if (strcmp(res, "would_reap") == 0)
        R->would++;
    else if (strcmp(res, "skipped") == 0)
        R->skipped++;
    else
        R->failed++;
}

static void skip(struct reaper *R, struct item *it, const char *reason)
{
    it->candidate = 0;
    result(R, it, "skipped", "reason", reason);
}

static void fail(struct reaper *R, struct item *it, const char *error)
{
    const char *kv[] = {"resource", it->r->id, "error", error, NULL, NULL};

    it->candidate = 0;
    result(R, it, "failed", "error", error);
    jb_log_event(R->ctx->event_fd, "reap.failed", it->stack, kv);
    record(R, it, "failed", error);
    if (R->ctx->progress)
        R->ctx->progress((void *)(it->stack ? it->stack : "-"), "reap failed", error);
}

static int add_item(struct reaper *R, enum kind kind, const struct jb_ec2_resource *r, cJSON *arr)
{
    struct item *it = &R->items[R->n];
    const char *stack = jb_ec2_tag_value(r, TAG_STACK);
    const char *exp = jb_ec2_tag_value(r, TAG_EXPIRES);

    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->r = r;
    if ((it->entry = cJSON_CreateObject()) == NULL)
        return JB_ERR_NOMEM;
    cJSON_AddItemToArray(arr, it->entry);
    cJSON_AddStringToObject(it->entry, "type", kind == INSTANCE ? "instance" : "security_group");
    cJSON_AddStringToObject(it->entry, "id", r->id);
    /* Tags are whatever anyone wrote: cJSON escapes them. */
    if (stack)
        cJSON_AddStringToObject(it->entry, "stack_id", stack);
    if (exp)
        cJSON_AddStringToObject(it->entry, "expires_at", exp);
    if (r->state)
        cJSON_AddStringToObject(it->entry, "state", r->state);
    if (r->profile_arn)
        cJSON_AddStringToObject(it->entry, "instance_profile", r->profile_arn);
    if (stack && jb_check_stack_id(stack, NULL, 0) == 0)
        it->stack = stack;
    R->n++;
    return 0;
}

/* ---- deciding ----------------------------------------------------------- */

/* The instance's profile (EC2's ARN of it) is the box's: the whole ARN
 * when the setting is one, else the name, its last part. */
static int box_profile(const char *want, const char *arn)
{
    const char *p = arn ? strstr(arn, ":instance-profile/") : NULL;

    if (p == NULL)
        return 0;
    if (strncmp(want, "arn:", 4) == 0)
        return strcmp(want, arn) == 0;
    return strcmp(strrchr(p, '/') + 1, want) == 0;
}

/* terraform/aws names a stack's group jumpbox-STACK. */
static int box_group_name(const char *name, const char *stack)
{
    return name && strncmp(name, "jumpbox-", 8) == 0 && strcmp(name + 8, stack) == 0;
}

/* 0: the stack has a lease; JB_ERR_NOTFOUND: none; else the store failed
 * (err).  Asked once per stack. */
static int lease_of(struct reaper *R, const char *stack, const char **err)
{
    struct lease_seen *l;
    struct jb_store_obj o;
    char key[JB_STACK_ID_MAX + 16];

    for (size_t i = 0; i < R->nleases; i++)
        if (strcmp(R->leases[i].stack, stack) == 0) {
            *err = R->leases[i].err;
            return R->leases[i].rc;
        }
    struct lease_seen *nl = jb_grow(R->leases, &R->leasecap, R->nleases + 1, sizeof(*nl), 16);
    if (nl == NULL) {
        *err = "out of memory";
        return JB_ERR_NOMEM;
    }
    R->leases = nl;
    l = &R->leases[R->nleases++];
    snprintf(l->stack, sizeof(l->stack), "%s", stack);
    l->err[0] = '\0';
    jb_store_stack_key(stack, "lease.json", key, sizeof(key));
    l->rc = jb_store_get(R->ctx->state, key, JB_LEASE_MAX_BYTES, 0, &o, l->err, sizeof(l->err));
    jb_store_obj_free(&o);
    *err = l->err;
    return l->rc;
}

/* Why a resource stays, or NULL when it is to be reaped; *error is set
 * instead when its stack's lease could not be looked up. */
static const char *why_not(struct reaper *R, const struct item *it, char *error, size_t errlen)
{
    const char *st = jb_ec2_tag_value(it->r, TAG_STATE);
    const char *exp = jb_ec2_tag_value(it->r, TAG_EXPIRES);
    const char *lerr = NULL;
    time_t t;
    int rc;

    if (it->stack == NULL)
        return "bad_stack_tag";
    if (st == NULL)
        return "no_state_tag";
    if (!jb_state_names(R->ctx->state, st))
        return "other_state";
    if (it->kind == INSTANCE && it->r->profile_arn == NULL)
        return "no_profile";
    if (it->kind == INSTANCE && !box_profile(R->o->box_profile, it->r->profile_arn))
        return "other_profile";
    if (it->kind == GROUP && !box_group_name(it->r->name, it->stack))
        return "other_name";
    rc = lease_of(R, it->stack, &lerr);
    if (rc == 0)
        return "leased";
    if (rc != JB_ERR_NOTFOUND) {
        snprintf(error, errlen, "lease check: %.400s", lerr);
        return NULL;
    }
    if (exp == NULL || jb_parse_rfc3339(exp, &t, NULL, 0) != 0)
        return "no_expiry";
    if ((long long)t + R->o->grace_s > (long long)R->now)
        return "not_expired";
    return NULL;
}

static void decide(struct reaper *R, struct item *it)
{
    char error[JB_ERRLEN] = "";
    const char *why = why_not(R, it, error, sizeof(error));

    if (why)
        skip(R, it, why);
    else if (error[0])
        fail(R, it, error);
    else
        it->candidate = 1;
}

/* ---- acting ------------------------------------------------------------- */

static void terminate(struct reaper *R, struct item *it)
{
    char err[JB_ERRLEN], detail[128];
    int rc;

    snprintf(detail, sizeof(detail), "terminating %s", it->r->id);
    if (R->ctx->progress)
        R->ctx->progress((void *)it->stack, "reap", detail);
    rc = jb_ec2_terminate_instance(R->ec2, it->r->id, err, sizeof(err));
    if (rc == 0 || rc == JB_ERR_NOTFOUND) {
        it->terminating = 1;
        it->gone = rc == JB_ERR_NOTFOUND;
        return;
    }
    it->left = 1;
    fail(R, it, err);
}

static int stop_cb(void *arg)
{
    return stopped(arg);
}

/* Waits until every instance we terminated is terminated, the wait limit
 * passes or a stop comes; then reports each instance. */
static void wait_terminated(struct reaper *R)
{
    long long limit =
        jb_clock_mono_ms() + 1000LL * (R->o->wait_s > 0 ? R->o->wait_s : JB_REAP_WAIT_DEFAULT);
    char err[JB_ERRLEN] = "", msg[JB_ERRLEN];
    const char **ids = calloc(R->n ? R->n : 1, sizeof(*ids));
    int *alive = calloc(R->n ? R->n : 1, sizeof(*alive));
    size_t *at = calloc(R->n ? R->n : 1, sizeof(*at)), n = 0;
    int left;

    if (ids == NULL || alive == NULL || at == NULL) {
        left = jb_err(err, sizeof(err), JB_ERR_NOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < R->n; i++)
            if (R->items[i].terminating && !R->items[i].gone) {
                at[n] = i;
                ids[n++] = R->items[i].r->id;
            }
        left = jb_ec2_wait_terminated(R->ec2, ids, n, alive, limit, stop_cb, (void *)R->o, err,
                                      sizeof(err));
        for (size_t k = 0; left >= 0 && k < n; k++)
            R->items[at[k]].gone = !alive[k];
    }
    free(ids);
    free(alive);
    free(at);
    for (size_t i = 0; i < R->n; i++) {
        struct item *it = &R->items[i];
        if (!it->terminating)
            continue;
        if (it->gone) {
            const char *kv[] = {"resource",   it->r->id,
                                "expires_at", jb_ec2_tag_value(it->r, TAG_EXPIRES),
                                NULL,         NULL};
            cJSON_ReplaceItemInObject(it->entry, "state", cJSON_CreateString("terminated"));
            result(R, it, "reaped", NULL, NULL);
            jb_log_event(R->ctx->event_fd, "reap.terminated", it->stack, kv);
            record(R, it, "terminated", NULL);
            continue;
        }
        if (left < 0)
            snprintf(msg, sizeof(msg), "terminating, but could not be watched: %.400s", err);
        else
            snprintf(msg, sizeof(msg),
                     "terminating, not yet terminated when the reaper %s; the next run "
                     "finishes it",
                     stopped(R->o) ? "had to stop" : "stopped waiting");
        it->terminating = 0;
        it->left = 1;
        fail(R, it, msg);
    }
}

/* An instance of the group's stack that was to go and is not gone. */
static int stack_instance_left(const struct reaper *R, const char *stack)
{
    for (size_t i = 0; i < R->n; i++) {
        const struct item *it = &R->items[i];
        if (it->kind == INSTANCE && it->left && strcmp(it->stack, stack) == 0)
            return 1;
    }
    return 0;
}

static void delete_group(struct reaper *R, struct item *it)
{
    char err[JB_ERRLEN], detail[128];
    int rc;

    if (stack_instance_left(R, it->stack)) {
        fail(R, it, "an instance of its stack is not terminated; the next run deletes it");
        return;
    }
    snprintf(detail, sizeof(detail), "deleting security group %s", it->r->id);
    if (R->ctx->progress)
        R->ctx->progress((void *)it->stack, "reap", detail);
    rc = jb_ec2_delete_security_group(R->ec2, it->r->id, err, sizeof(err));
    if (rc != 0 && rc != JB_ERR_NOTFOUND) {
        fail(R, it, err);
        return;
    }
    const char *kv[] = {"resource", it->r->id, "expires_at", jb_ec2_tag_value(it->r, TAG_EXPIRES),
                        NULL,       NULL};
    result(R, it, "reaped", NULL, NULL);
    jb_log_event(R->ctx->event_fd, "reap.deleted", it->stack, kv);
    record(R, it, "deleted", NULL);
}

static void act(struct reaper *R)
{
    int any = 0;

    for (size_t i = 0; i < R->n; i++) {
        struct item *it = &R->items[i];
        if (!it->candidate || it->kind != INSTANCE)
            continue;
        if (R->o->dry_run)
            result(R, it, "would_reap", NULL, NULL);
        else if (stopped(R->o))
            skip(R, it, "stopped");
        else
            terminate(R, it), any = 1;
    }
    if (any)
        wait_terminated(R);
    for (size_t i = 0; i < R->n; i++) {
        struct item *it = &R->items[i];
        if (!it->candidate || it->kind != GROUP)
            continue;
        if (R->o->dry_run)
            result(R, it, "would_reap", NULL, NULL);
        else if (stopped(R->o))
            skip(R, it, "stopped");
        else
            delete_group(R, it);
    }
}

/* ---- the run ------------------------------------------------------------ */

int jb_reap_run(const struct jb_stack_ctx *ctx, const struct jb_reap_opts *o, cJSON **report,
                size_t *failed, char *err, size_t errlen)
{
    static const char *const tag_key[] = {TAG_STACK};
    static const char *const live[] = {"pending", "running", "shutting-down", "stopping",
                                       "stopped"};
    const struct jb_ec2_filter fi[] = {{"tag-key", tag_key, 1}, {"instance-state-name", live, 5}};
    struct jb_ec2_config cfg = {.page_size = o->page_size};
    struct reaper R = {.ctx = ctx, .o = o, .now = time(NULL)};
    struct pages pi = {0}, pgr = {0};
    cJSON *res = NULL, *arr;
    int rc;

    *report = NULL;
    *failed = 0;
    if ((rc = jb_ec2_client_new(&cfg, &R.ec2, err, errlen)) != 0)
        goto out;
    if ((rc = list_all(&R, INSTANCE, fi, 2, &pi, err, errlen)) != 0 ||
        (rc = list_all(&R, GROUP, fi, 1, &pgr, err, errlen)) != 0)
        goto out;
    size_t total = pi.total + pgr.total;
    R.items = calloc(total ? total : 1, sizeof(*R.items));
    if ((res = cJSON_CreateObject()) == NULL || R.items == NULL ||
        (arr = cJSON_AddArrayToObject(res, "resources")) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t p = 0; p < pi.n; p++)
        for (size_t i = 0; i < pi.v[p].n && rc == 0; i++)
            rc = add_item(&R, INSTANCE, &pi.v[p].items[i], arr);
    for (size_t p = 0; p < pgr.n; p++)
        for (size_t i = 0; i < pgr.v[p].n && rc == 0; i++)
            rc = add_item(&R, GROUP, &pgr.v[p].items[i], arr);
    if (rc != 0) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < R.n; i++)
        decide(&R, &R.items[i]);
    act(&R);
    cJSON_AddStringToObject(res, "region", jb_ec2_client_region(R.ec2));
    cJSON_AddStringToObject(res, "state", ctx->state->url);
    cJSON_AddNumberToObject(res, "grace_s", (double)o->grace_s);
    cJSON_AddBoolToObject(res, "dry_run", o->dry_run);
    cJSON_AddNumberToObject(res, "found", (double)R.n);
    cJSON_AddNumberToObject(res, "reaped", (double)R.reaped);
    cJSON_AddNumberToObject(res, "would_reap", (double)R.would);
    cJSON_AddNumberToObject(res, "skipped", (double)R.skipped);
    cJSON_AddNumberToObject(res, "failed", (double)R.failed);
    *failed = R.failed;
    *report = res;
    res = NULL;
out:
    cJSON_Delete(res);
    free(R.items);
    free(R.leases);
    pages_free(&pi);
    pages_free(&pgr);
    jb_ec2_client_free(R.ec2);
    return rc;
}

int jb_reap_opts_from_settings(const struct jb_settings *s, struct jb_reap_opts *o, char *err,
                               size_t errlen)
{
    const char *g = s->reap_grace, *p = s->reap_page_size, *prof = s->box_instance_profile;
    char inner[JB_ERRLEN], *end = NULL;
    long n;

    memset(o, 0, sizeof(*o));
    o->grace_s = JB_REAP_GRACE_DEFAULT;
    if (jb_reap_parse_profile(prof ? prof : JB_REAP_PROFILE_DEFAULT, o->box_profile, inner,
                              sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_BOX_INSTANCE_PROFILE: %s", inner);
    if (g && *g && jb_reap_parse_grace(g, &o->grace_s, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_REAP_GRACE: %s", inner);
    if (p && *p) {
        n = strtol(p, &end, 10);
        if (*end != '\0' || n < JB_EC2_PAGE_MIN || n > JB_EC2_PAGE_MAX)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "JUMPBOX_REAP_PAGE_SIZE: a number from %d to %d", JB_EC2_PAGE_MIN,
                          JB_EC2_PAGE_MAX);
        o->page_size = (int)n;
    }
    return 0;
}

int jb_reap_parse_grace(const char *s, long *secs, char *err, size_t errlen)
{
    char inner[JB_ERRLEN];

    if (s != NULL && (strcmp(s, "0") == 0 || strcmp(s, "0s") == 0)) {
        *secs = 0;
        return 0;
    }
    if (jb_parse_duration(s, secs, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s", inner);
    if (*secs > JB_REAP_GRACE_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "at most 24h");
    return 0;
}

static int profile_name(const char *s, size_t n)
{
    return n >= 1 && n <= PROFILE_NAME_MAX && strspn(s, NAME_CHARS) >= n;
}

int jb_reap_parse_profile(const char *s, char *out, char *err, size_t errlen)
{
    static const char kind[] = ":iam::";
    static const char res[] = ":instance-profile/";
    const char *p, *rest, *last;
    size_t n;

    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty");
    if ((n = strlen(s)) > JB_REAP_PROFILE_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "longer than %d", JB_REAP_PROFILE_MAX);
    if (strncmp(s, "arn:", 4) != 0) {
        if (!profile_name(s, n))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "an instance profile's name ([A-Za-z0-9+=,.@_-], at most %d) or ARN",
                          PROFILE_NAME_MAX);
        memcpy(out, s, n + 1);
        return 0;
    }
    /* arn:PARTITION:iam::ACCOUNT:instance-profile/[PATH/]NAME */
    p = s + 4;
    n = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
    if (n < 3 || strncmp(p + n, kind, sizeof(kind) - 1) != 0)
        goto bad;
    p += n + sizeof(kind) - 1;
    if (strspn(p, "0123456789") != 12 || strncmp(p + 12, res, sizeof(res) - 1) != 0)
        goto bad;
    rest = p + 12 + sizeof(res) - 1;
    last = strrchr(rest, '/');
    last = last ? last + 1 : rest;
    if (!profile_name(last, strlen(last)) || (size_t)(last - rest) + 1 > PROFILE_PATH_MAX ||
        strstr(rest, "//") != NULL || *rest == '/')
        goto bad;
    for (p = rest; p < last; p++)
        if (*p != '/' && strchr(NAME_CHARS, *p) == NULL)
            goto bad;
    memcpy(out, s, strlen(s) + 1);
    return 0;
bad:
    return jb_err(err, errlen, JB_ERR_INVALID,
                  "not an instance profile's ARN (arn:PARTITION:iam::ACCOUNT:"
                  "instance-profile/[PATH/]NAME)");
}
