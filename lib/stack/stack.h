/* A stack's life: create (keys, lease, Terraform, readiness), destroy
 * (an aws stack's tagged instances terminated, Terraform destroy, its
 * tagged groups deleted, then the stack's state and lease), sweep (destroy
 * every expired lease).  Shared by the CLIs and the Lambda handlers. */
#ifndef JB_STACK_H
#define JB_STACK_H

#include <signal.h>
#include <stddef.h>

#include "crypto/keys.h"
#include "stack/lease.h"
#include "stack/permit.h"
#include "stack/settings.h"
#include "stack/state.h"

#define JB_TOKEN_HEX_LEN 64
/* A TTL shorter than a create takes would expire before the box is up
 * (the local box refuses an expiry in the past): 10 s is more than a
 * local create needs, far less than an AWS one. */
#define JB_TTL_MIN_S 10
#define JB_TTL_MAX_S (24 * 3600)
/* JUMPBOX_MODULE_VARS goes into every lease: it is kept well under
 * JB_LEASE_MAX_BYTES, beside the stack's own inputs. */
#define JB_MODULE_VARS_MAX (16 * 1024)
#define JB_KNOWN_HOSTS_MAX 600

/* Stage names and elapsed seconds for people watching; never secrets. */
typedef void (*jb_progress_fn)(void *ctx, const char *stage, const char *detail);

struct jb_stack_ctx {
    const struct jb_settings *settings; /* read once by main() or the Lambda init */
    const struct jb_state *state;
    volatile sig_atomic_t *cancel;
    jb_progress_fn progress;
    void *progress_ctx;
    int event_fd; /* the local event log (base/log); -1: none */
    int sweep;    /* destroy only a lease the sweeper may take, as read at the time */
    time_t until; /* 0, or when this process ends at the latest (a Lambda invocation's
                     deadline): the lease's deadline is never later */
    /* Who acts, for the durable audit records (audit.h): {"via":"cli",
     * "user",...} or the function's invocation.  NULL: not known. */
    const cJSON *origin;
};

struct jb_create_req {
    const char *module;     /* "local" or "aws" */
    const char *stack_id;   /* validated */
    long ttl_s;             /* validated: JB_TTL_MIN_S … JB_TTL_MAX_S */
    const char *allow_cidr; /* validated, canonical */
    const char *requester;  /* validated label */
    const char *ssh_user;   /* NULL: the module's default (local: the current user) */
    /* NULL or empty: the box forwards anywhere (the modules' default);
     * else the module input and lease var permit_open. */
    const struct jb_permit *permit;
    int ready_timeout_s; /* 0: 120 s */
    /* 0: none; else the box ends keepalive_s after the last heartbeat
     * (jb_stack_heartbeat), counted from ready. */
    long keepalive_s;
    /* The cap: no extension moves the expiry past created_at + max_ttl_s.
     * 0: JB_TTL_MAX_S. */
    long max_ttl_s;
};

struct jb_create_result {
    struct jb_lease lease;       /* host, port, user, expiry… */
    struct jb_keypair *user_key; /* locked memory; jb_create_result_clear frees it */
    char *teardown_token;        /* locked memory, hex */
    char public_key[JB_PUBLIC_LINE_MAX];
    char host_public_key[JB_PUBLIC_LINE_MAX];
    char host_fingerprint[JB_FINGERPRINT_LEN];
    char known_hosts[JB_KNOWN_HOSTS_MAX];
    int began; /* the lease was written: work began (else nothing was made) */
};

void jb_create_result_clear(struct jb_create_result *r);

/* The durable audit record "create" (audit.h) is written before anything
 * is applied, and a create that cannot write it fails: no box without its
 * record.  The other records (ready, create.failed, destroy) are best
 * effort: a failure to write them is a progress warning ("audit") and an
 * audit.failed log line, never a failed or abandoned teardown.
 *
 * On failure after work began, everything made is destroyed again; if even
 * that fails, the lease is kept, marked failed and expired, for the sweeper.
 * JB_ERR_EXISTS: a stack with that id exists (nothing was done).
 * JB_ERR_INVALID with res->began unset: the settings' inputs
 * (JUMPBOX_MODULE_VARS, JUMPBOX_BOX_ROLE_ID) are bad, named in err;
 * nothing was made. */
int jb_stack_create(const struct jb_stack_ctx *ctx, const struct jb_create_req *req,
                    struct jb_create_result *res, char *err, size_t errlen);

/* How a destroy that returned 0 ended. */
enum {
    JB_DESTROY_DONE = 0,    /* destroyed by us */
    JB_DESTROY_GONE = 1,    /* nothing to destroy: no lease, or another destroy finished first */
    JB_DESTROY_NOT_DUE = 2, /* ctx->sweep: the lease changed and is no longer the sweeper's */
};

/* Every lease write is conditional (lease.h): two destroys of one stack,
 * or a destroy meeting a create, never undo each other; the one that
 * loses says so (JB_DESTROY_GONE when the winner destroyed the stack). */
int jb_stack_destroy(const struct jb_stack_ctx *ctx, const char *stack_id, const char *reason,
                     int *outcome, char *err, size_t errlen);

/* A ready stack's deadlines moved (stack_extend.c): the lease first (a
 * conditional write, retried when another writer won), then the aws box's
 * deadline object (deadline.h).  l gets the lease as written.
 *
 * jb_stack_extend: expires_at = now + ttl_s, which must be later than it is
 * and no later than the lease's max_until (JB_ERR_INVALID, detail says
 * which); a durable "extend" record says who and both ends.
 * jb_stack_heartbeat: alive_until = now + the lease's keepalive_s
 * (JB_ERR_INVALID when it has none).
 * Both: JB_ERR_NOTFOUND no such stack; JB_ERR_CONFLICT it is not ready
 * (being created or destroyed) or it already ended by its own clock. */
int jb_stack_extend(const struct jb_stack_ctx *ctx, const char *stack_id, long ttl_s,
                    struct jb_lease *l, time_t *previous, char *err, size_t errlen);
int jb_stack_heartbeat(const struct jb_stack_ctx *ctx, const char *stack_id, struct jb_lease *l,
                       char *err, size_t errlen);

/* Whether token is the owner's of stack_id in st, for the functions' owner
 * actions: JB_ERR_INVALID not a token's shape (err names "token"),
 * JB_ERR_AUTH a wrong token or no such stack (one answer for both: anything
 * else would tell anyone which stack ids exist), another error when the
 * lease could not be read. */
int jb_stack_owner_check(const struct jb_state *st, const char *stack_id, const char *token,
                         char *err, size_t errlen);

#endif
