/* Lease records: who asked for a stack, when, until when, and everything
 * needed to destroy it again from any machine (the module's non-secret
 * inputs).  <state>/<stack>/lease.json, beside the stack's Terraform state. */
#ifndef JB_LEASE_H
#define JB_LEASE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "base/parse.h"
#include "crypto/keys.h"
#include "stack/state.h"
#include "stack/store.h"

#define JB_LEASE_MAX_BYTES (64 * 1024) /* a lease's JSON, written or read */

struct jb_lease {
    char stack_id[JB_STACK_ID_MAX + 1];
    char module[16]; /* "local" or "aws" */
    char requester[129];
    char status[16]; /* "creating", "ready", "destroying", "failed" */
    time_t created_at, expires_at;
    /* While creating or destroying: when the process at work will have
     * finished or died (all its timeouts spent, or its Lambda invocation's
     * end).  Past it, the sweeper takes the stack without waiting for
     * expires_at.  0: none. */
    time_t deadline;
    /* The keep-alive (issue "a box that lives as long as its job"): with
     * keepalive_s > 0, heartbeats push alive_until to now + keepalive_s and
     * the box ends at whichever of alive_until and expires_at comes first.
     * max_until: the hard cap no extension passes (created_at + the max TTL
     * in force then).  0: none (leases written before these existed). */
    time_t alive_until, max_until;
    long keepalive_s;
    char host[256];
    int port;
    char user[65];
    char instance_id[129];
    char host_fingerprint[JB_FINGERPRINT_LEN];
    char token_hash[65]; /* hex SHA-256 of the teardown token; "" when none */
    /* hex SHA-256 of the token the box made itself (box_identity.h), which
     * its timer presents; "" when none (a local box, or not yet ready). */
    char box_token_hash[65];
    char revision[17]; /* random hex id of the write that made this version */
    cJSON *vars;       /* module inputs without secrets; owned */
    /* Not in the JSON: the stored version this copy was read or written
     * as, for the next conditional update (store.h). */
    char etag[JB_STORE_ETAG_MAX];
};

void jb_lease_clear(struct jb_lease *l);

/* JSON text (malloc'd) of a lease, and back with every field validated.
 * JB_ERR_INVALID when the text would be over JB_LEASE_MAX_BYTES: a lease
 * is never written larger than a reader takes. */
int jb_lease_to_json(const struct jb_lease *l, char **out, char *err, size_t errlen);
int jb_lease_from_json(const char *text, struct jb_lease *l, char *err, size_t errlen);
/* 1 when the sweeper may take the lease at `now`: expired, its keep-alive
 * run out once ready, failed, or creating or destroying past its deadline
 * (its process is gone). */
int jb_lease_sweepable(const struct jb_lease *l, time_t now);
/* Why a sweepable lease ends, as a destroy reason: "keepalive" when its
 * keep-alive ran out before its expiry, else "expired" (or "failed",
 * "abandoned" for a process that is gone). */
const char *jb_lease_end_reason(const struct jb_lease *l, time_t now);
/* When the box ends by its own clock: the nearer of expires_at and, once
 * ready, alive_until. */
time_t jb_lease_ends_at(const struct jb_lease *l);
/* The public view for `provisioner list`: no vars. */
cJSON *jb_lease_summary(const struct jb_lease *l, time_t now);

/* Writes a new lease; JB_ERR_EXISTS when the stack already has one.  Sets
 * l->revision and l->etag. */
int jb_lease_create(const struct jb_state *st, struct jb_lease *l, char *err, size_t errlen);
/* Replaces the version l was read or written as, and only that one:
 * JB_ERR_CONFLICT when another process changed the lease since,
 * JB_ERR_NOTFOUND when it is gone (destroyed meanwhile).  Sets l->revision
 * and l->etag on success. */
int jb_lease_update(const struct jb_state *st, struct jb_lease *l, char *err, size_t errlen);
/* JB_ERR_NOTFOUND when there is none.  Sets l->etag. */
int jb_lease_get(const struct jb_state *st, const char *stack_id, struct jb_lease *l, char *err,
                 size_t errlen);
/* Every readable lease; unreadable ones are counted in *bad, not fatal. */
int jb_lease_list(const struct jb_state *st, struct jb_lease **out, size_t *n, size_t *bad,
                  char *err, size_t errlen);
void jb_lease_list_free(struct jb_lease *ls, size_t n);
/* Removes the stack's whole directory or prefix: lease, Terraform state,
 * every version.  Nothing outside it. */
int jb_lease_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen);

#endif
