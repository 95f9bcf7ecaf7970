/* A ready stack's deadlines moved later (stack.h): an extension of its
 * expiry within its cap, or a keep-alive heartbeat. */
#include "stack/stack.h"
#include "stack/stack_int.h"

#include "base/err.h"
#include "base/log.h"
#include "stack/deadline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* How one write moves the lease; 0, or the error with its detail. */
typedef int (*move_fn)(struct jb_lease *l, time_t now, long ttl_s, char *err, size_t errlen);

static int must_be_live(const struct jb_lease *l, time_t now, char *err, size_t errlen)
{
    char at[JB_RFC3339_LEN];

    if (strcmp(l->status, "ready") != 0)
        return jb_err(err, errlen, JB_ERR_CONFLICT, "stack %s is %s, not ready: %s", l->stack_id,
                      l->status,
                      strcmp(l->status, "creating") == 0 ? "wait until its create finishes"
                                                         : "its box is ending");
    if (jb_lease_ends_at(l) <= now) {
        jb_format_rfc3339(jb_lease_ends_at(l), at);
        return jb_err(err, errlen, JB_ERR_CONFLICT,
                      "stack %s already ended by its own clock at %s (%s): its box is ending",
                      l->stack_id, at, jb_lease_end_reason(l, now));
    }
    return 0;
}

static int move_expiry(struct jb_lease *l, time_t now, long ttl_s, char *err, size_t errlen)
{
    char want[JB_RFC3339_LEN], have[JB_RFC3339_LEN];
    /* A lease from before caps were kept: the longest TTL there is. */
    time_t cap = l->max_until ? l->max_until : l->created_at + JB_TTL_MAX_S;

    jb_format_rfc3339(now + ttl_s, want);
    if (now + ttl_s <= l->expires_at) {
        jb_format_rfc3339(l->expires_at, have);
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "would end the stack at %s, not later than its expiry %s", want, have);
    }
    if (now + ttl_s > cap) {
        jb_format_rfc3339(cap, have);
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "would end the stack at %s, past its cap %s (the maximum TTL from its "
                      "creation)",
                      want, have);
    }
    l->expires_at = now + ttl_s;
    return 0;
}

static int beat(struct jb_lease *l, time_t now, long ttl_s, char *err, size_t errlen)
{
    (void)ttl_s;
    if (l->keepalive_s <= 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack %s has no keep-alive", l->stack_id);
    l->alive_until = now + l->keepalive_s;
    return 0;
}

static int move(const struct jb_stack_ctx *ctx, const char *stack_id, move_fn fn, long ttl_s,
                struct jb_lease *l, time_t *previous, char *err, size_t errlen)
{
    int rc = JB_ERR_CONFLICT;

    for (int tries = 0; tries < 3 && rc == JB_ERR_CONFLICT; tries++) {
        time_t now = time(NULL);

        jb_lease_clear(l);
        if ((rc = jb_lease_get(ctx->state, stack_id, l, err, errlen)) != 0) {
            if (rc == JB_ERR_NOTFOUND)
                jb_err(err, errlen, rc, "no stack %s in %s", stack_id, ctx->state->url);
            return rc;
        }
        if (previous)
            *previous = l->expires_at;
        if ((rc = must_be_live(l, now, err, errlen)) != 0 ||
            (rc = fn(l, now, ttl_s, err, errlen)) != 0)
            return rc;
        /* A conflict is another writer (a heartbeat, a destroy's claim):
         * read again and decide again. */
        rc = jb_lease_update(ctx->state, l, err, errlen);
        if (rc == JB_ERR_NOTFOUND)
            return jb_err(err, errlen, rc, "stack %s was destroyed meanwhile", stack_id);
    }
    if (rc != 0)
        return rc;
    if ((rc = jb_deadline_publish(ctx->state, l, err, errlen)) != 0) {
        char inner[JB_ERRLEN];
        snprintf(inner, sizeof(inner), "%s", err ? err : "");
        return jb_err(err, errlen, rc,
                      "the lease of %s moved, but its box was not told (it keeps its earlier "
                      "deadline): %s",
                      stack_id, inner);
    }
    return 0;
}

int jb_stack_extend(const struct jb_stack_ctx *ctx, const char *stack_id, long ttl_s,
                    struct jb_lease *l, time_t *previous, char *err, size_t errlen)
{
    char before[JB_RFC3339_LEN], after[JB_RFC3339_LEN], cap[JB_RFC3339_LEN];
    time_t prev = 0;
    cJSON *o;
    int rc;

    if ((rc = move(ctx, stack_id, move_expiry, ttl_s, l, &prev, err, errlen)) != 0)
        return rc;
    if (previous)
        *previous = prev;
    jb_format_rfc3339(prev, before);
    jb_format_rfc3339(l->expires_at, after);
    jb_format_rfc3339(l->max_until, cap);
    {
        const char *kv[] = {"previous_expires_at", before, "expires_at", after, NULL, NULL};
        jb_log_event(ctx->event_fd, "extend", stack_id, kv);
    }
    o = cJSON_CreateObject();
    if (o && (!jb_stack_add_str(o, "previous_expires_at", before) ||
              !jb_stack_add_str(o, "expires_at", after) ||
              (l->max_until && !jb_stack_add_str(o, "max_until", cap)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    jb_stack_record(ctx, stack_id, "extend", o, NULL, 0);
    return 0;
}

int jb_stack_heartbeat(const struct jb_stack_ctx *ctx, const char *stack_id, struct jb_lease *l,
                       char *err, size_t errlen)
{
    return move(ctx, stack_id, beat, 0, l, NULL, err, errlen);
}
