#include "stack/stack.h"

#include "stack/audit.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "stack/lease_store.h"
#include "base/log.h"
#include "base/parse.h"
#include "stack/ssh.h"
#include "stack/stackcfg.h"
#include "stack/terraform.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define INIT_TIMEOUT_S 300
#define APPLY_TIMEOUT_S 900
#define DESTROY_TIMEOUT_S 900
#define OUTPUT_TIMEOUT_S 60
#define PUSH_TIMEOUT_S 120

/* Between a deadline written in a lease and the sweeper that reads it on
 * another machine: room for clocks that disagree a little. */
#define DEADLINE_SLACK_S 60
/* ... and from a Lambda invocation's end, which Lambda itself enforces. */
#define UNTIL_SLACK_S 5

/* JUMPBOX_TF_TIMEOUT (a duration) caps every Terraform command: the
 * defaults suit AWS, a local box or a test needs far less. */
static int tf_deadline(int dflt)
{
    const char *v = getenv("JUMPBOX_TF_TIMEOUT");
    long secs;

    if (v && *v && jb_parse_duration(v, &secs, NULL, 0) == 0 && secs < dflt)
        return (int)secs;
    return dflt;
}

/* The lease's deadline for work that takes at most `budget` seconds from
 * now: after it, the process doing the work has finished or died. */
static time_t work_deadline(const struct jb_stack_ctx *ctx, long budget)
{
    time_t d = time(NULL) + budget + DEADLINE_SLACK_S;

    if (ctx->until > 0 && ctx->until + UNTIL_SLACK_S < d)
        d = ctx->until + UNTIL_SLACK_S;
    return d;
}

/* All a teardown may take: init, pushing errored state, destroy. */
static long teardown_budget(void)
{
    return (long)tf_deadline(INIT_TIMEOUT_S) + tf_deadline(PUSH_TIMEOUT_S) +
           tf_deadline(DESTROY_TIMEOUT_S);
}

static void progress(const struct jb_stack_ctx *ctx, const char *stage, const char *detail)
{
    if (ctx->progress)
        ctx->progress(ctx->progress_ctx, stage, detail ? detail : "");
}

void jb_create_result_clear(struct jb_create_result *r)
{
    jb_keypair_free(r->user_key);
    jb_secret_free(r->teardown_token);
    jb_lease_clear(&r->lease);
    memset(r, 0, sizeof(*r));
}

/* A free port on 127.0.0.1 for the local sshd.  Racy in principle; sshd
 * failing to bind is reported and rolled back like any other failure. */
static int free_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* JUMPBOX_MODULE_VARS: extra module inputs (subnet_id, ...) that go into
 * every lease, so they are bounded and flat (strings, numbers, booleans):
 * anything else is refused before anything is made. */
static int extra_vars(cJSON *v, char *err, size_t errlen)
{
    const char *path = getenv("JUMPBOX_MODULE_VARS");
    char *text = NULL, detail[JB_ERRLEN];
    cJSON *extra, *item;
    int rc;

    if (path == NULL || *path == '\0')
        return 0;
    if ((rc = jb_file_read(path, JB_MODULE_VARS_MAX, &text, NULL, detail, sizeof(detail))) != 0)
        return jb_err(err, errlen, rc == JB_ERR_NOMEM ? rc : JB_ERR_INVALID,
                      "JUMPBOX_MODULE_VARS: %s", detail);
    extra = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(extra)) {
        cJSON_Delete(extra);
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MODULE_VARS: not a JSON object");
    }
    cJSON_ArrayForEach(item, extra)
    {
        if (!cJSON_IsString(item) && !cJSON_IsNumber(item) && !cJSON_IsBool(item)) {
            rc =
                jb_err(err, errlen, JB_ERR_INVALID,
                       "JUMPBOX_MODULE_VARS: %.64s: not a string, number or boolean", item->string);
            break;
        }
        /* permit_open only from --permit-open: validated, and a list. */
        if (strcmp(item->string, "source") == 0 || strcmp(item->string, "version") == 0 ||
            strcmp(item->string, "permit_open") == 0) {
            rc = jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MODULE_VARS: %s: not a module input",
                        item->string);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(v, item->string) == NULL &&
            !cJSON_AddItemToObject(v, item->string, cJSON_Duplicate(item, 1))) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
            break;
        }
    }
    cJSON_Delete(extra);
    return rc;
}

/* The module's non-secret inputs; they go to Terraform and into the lease,
 * so the stack can be destroyed from anywhere. */
static int build_vars(const struct jb_create_req *req, const struct jb_stack_paths *p,
                      const struct jb_state *st, const char *pub, const char *host_pub,
                      const char *expires, const char *user, int port, cJSON **out, char *err,
                      size_t errlen)
{
    cJSON *v = cJSON_CreateObject();
    int rc, ok = v && add_str(v, "stack_id", req->stack_id) &&
                 add_str(v, "requester", req->requester) && add_str(v, "public_key", pub) &&
                 add_str(v, "host_public_key", host_pub) && add_str(v, "expires_at", expires) &&
                 add_str(v, "allow_cidr", req->allow_cidr) && add_str(v, "state_url", st->url);

    if (ok && user)
        ok = add_str(v, "ssh_user", user);
    if (ok && port > 0)
        ok = cJSON_AddNumberToObject(v, "ssh_port", port) != NULL;
    /* Only when given: a module without the input then fails loudly
     * rather than make a box that forwards anywhere. */
    if (ok && req->permit && req->permit->n > 0) {
        cJSON *list = jb_permit_json(req->permit);
        ok = list && cJSON_AddItemToObject(v, "permit_open", list);
        if (!ok)
            cJSON_Delete(list);
    }
    if (ok && strcmp(req->module, "local") == 0) {
        char localbox[PATH_MAX], cleaner[PATH_MAX + 32];
        if ((rc = jb_localbox_path(p->bin_dir, localbox, sizeof(localbox), err, errlen)) != 0) {
            cJSON_Delete(v);
            return rc;
        }
        snprintf(cleaner, sizeof(cleaner), "%s/cleaner", p->bin_dir);
        ok = add_str(v, "box_dir", p->box_dir) && add_str(v, "localbox_bin", localbox) &&
             add_str(v, "cleaner_bin", cleaner) && add_str(v, "ttl_log", p->ttl_log);
    }
    if (ok && (rc = extra_vars(v, err, errlen)) != 0) {
        cJSON_Delete(v);
        return rc;
    }
    if (!ok) {
        cJSON_Delete(v);
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    }
    *out = v;
    return 0;
}

/* host_private_key and teardown_token reach Terraform only as HCL through a
 * pipe (jb_tf_apply): never on disk, in argv or in the environment.  The
 * text is built in locked memory; jb_secret_free wipes it. */
static int append_hcl(char *out, size_t cap, size_t *pos, const char *name, const char *v)
{
    int n = snprintf(out + *pos, cap - *pos, "%s = \"", name);

    if (n < 0 || (size_t)n >= cap - *pos)
        return -1;
    *pos += (size_t)n;
    for (; *v; v++) {
        char esc[3] = {0};
        if (*v == '\n')
            memcpy(esc, "\\n", 2);
        else if (*v == '"' || *v == '\\')
            esc[0] = '\\', esc[1] = *v;
        else if ((*v == '$' || *v == '%') && v[1] == '{')
            esc[0] = *v, esc[1] = *v; /* $${ and %%{: no template */
        else if ((unsigned char)*v < 0x20)
            return -1;
        else
            esc[0] = *v;
        if (cap - *pos < strlen(esc) + 3)
            return -1;
        memcpy(out + *pos, esc, strlen(esc));
        *pos += strlen(esc);
    }
    memcpy(out + *pos, "\"\n", 3);
    *pos += 2;
    return 0;
}

static int secret_hcl(const char *host_priv, const char *token, char **out, char *err,
                      size_t errlen)
{
    size_t cap = 2 * (strlen(host_priv) + strlen(token)) + 128, pos = 0;

    if ((*out = jb_secret_alloc(cap)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of locked memory");
    if (append_hcl(*out, cap, &pos, "host_private_key", host_priv) != 0 ||
        append_hcl(*out, cap, &pos, "teardown_token", token) != 0) {
        jb_secret_free(*out);
        *out = NULL;
        return jb_err(err, errlen, JB_ERR_INVALID, "secret variables do not encode");
    }
    return 0;
}

static int tf_prepare(const struct jb_stack_ctx *ctx, const struct jb_stack_paths *p,
                      const char *stack_id, const cJSON *vars, struct jb_tf *tf, char *err,
                      size_t errlen)
{
    int rc;

    if ((rc = jb_stack_write_root(p, ctx->state, stack_id, vars, err, errlen)) != 0)
        return rc;
    if ((rc = jb_tf_open(tf, p->workdir, p->log, environ, err, errlen)) != 0)
        return rc;
    tf->cancel = ctx->cancel;
    progress(ctx, "terraform init", NULL);
    return jb_tf_init(tf, tf_deadline(INIT_TIMEOUT_S), err, errlen);
}

static void audit(const struct jb_stack_ctx *ctx, const char *event, const struct jb_lease *l,
                  const char *detail)
{
    char expires[JB_RFC3339_LEN];
    const char *kv[] = {"module", l->module, "requester",          l->requester, "expires_at",
                        expires,  "detail",  detail ? detail : "", NULL,         NULL};

    jb_format_rfc3339(l->expires_at, expires);
    jb_log_event(ctx->audit_fd, event, l->stack_id, kv);
}

/* A durable record (audit.h); rec is consumed.  A failure is a warning
 * for the people watching and a line in the audit log; err (may be NULL)
 * gets the detail for a caller that must fail on it. */
static int record(const struct jb_stack_ctx *ctx, const char *stack_id, const char *event,
                  cJSON *rec, char *err, size_t errlen)
{
    char detail[JB_ERRLEN], msg[JB_ERRLEN + 64];
    int rc;

    if (rec == NULL ||
        (ctx->origin && !cJSON_AddItemToObject(rec, "by", cJSON_Duplicate(ctx->origin, 1))))
        rc = jb_err(detail, sizeof(detail), JB_ERR_NOMEM, "out of memory");
    else
        rc = jb_audit_put(ctx->state, stack_id, event, rec, detail, sizeof(detail));
    cJSON_Delete(rec);
    if (rc != 0) {
        const char *kv[] = {"record", event, "detail", detail, NULL, NULL};
        snprintf(msg, sizeof(msg), "warning: the audit record %s was not written: %s", event,
                 detail);
        progress(ctx, "audit", msg);
        jb_log_event(ctx->audit_fd, "audit.failed", stack_id, kv);
        jb_err(err, errlen, rc, "audit record %s: %s", event, detail);
    }
    return rc;
}

/* Who asked, from where, when, for how long, and the keys' fingerprints. */
static int record_create(const struct jb_stack_ctx *ctx, const struct jb_create_req *req,
                         const struct jb_create_result *res, char *err, size_t errlen)
{
    const struct jb_lease *l = &res->lease;
    char created[JB_RFC3339_LEN], expires[JB_RFC3339_LEN], user_fp[JB_FINGERPRINT_LEN];
    const cJSON *permit = l->vars ? cJSON_GetObjectItemCaseSensitive(l->vars, "permit_open") : NULL;
    cJSON *o = cJSON_CreateObject();

    jb_format_rfc3339(l->created_at, created);
    jb_format_rfc3339(l->expires_at, expires);
    jb_key_fingerprint(res->user_key->pk, user_fp);
    if (o &&
        (!add_str(o, "requester", l->requester) || !add_str(o, "allow_cidr", req->allow_cidr) ||
         !add_str(o, "created_at", created) ||
         !cJSON_AddNumberToObject(o, "ttl_s", (double)req->ttl_s) ||
         !add_str(o, "expires_at", expires) || !add_str(o, "module", l->module) ||
         !add_str(o, "state", ctx->state->url) || !add_str(o, "user_key_fingerprint", user_fp) ||
         !add_str(o, "host_key_fingerprint", l->host_fingerprint) ||
         (permit && !cJSON_AddItemToObject(o, "permit_open", cJSON_Duplicate(permit, 1))))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return record(ctx, l->stack_id, "create", o, err, errlen);
}

/* Who destroyed the stack, why, when, and how it ended. */
static void record_destroy(const struct jb_stack_ctx *ctx, const char *stack_id, const char *reason,
                           time_t started, const char *result, const char *error)
{
    char at[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject();

    jb_format_rfc3339(started, at);
    if (o && (!add_str(o, "reason", reason) || !add_str(o, "started_at", at) ||
              !add_str(o, "result", result) || (error && !add_str(o, "error", error)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    record(ctx, stack_id, "destroy", o, NULL, 0);
}

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

/* The local errored.tfstate, if any, to the state store.  Best effort: on
 * failure it still waits in the work directory, and detail says why. */
static int save_errored_state(const struct jb_stack_ctx *ctx, const struct jb_stack_paths *p,
                              const char *stack_id, char *detail, size_t detaillen)
{
    char path[PATH_MAX], *data = NULL;
    size_t len = 0;
    int rc;

    if (jb_path_join(path, sizeof(path), p->workdir, ERRORED) != 0 || access(path, F_OK) != 0)
        return 0;
    progress(ctx, "saving errored.tfstate", "to the state store, beside the lease");
    if ((rc = jb_file_read(path, ERRORED_MAX, &data, &len, detail, detaillen)) == 0)
        rc = jb_lease_store_put_file(ctx->state, stack_id, ERRORED, data, len, detail, detaillen);
    free(data);
    return rc;
}

static int push_errored_state(const struct jb_stack_ctx *ctx, struct jb_tf *tf,
                              const struct jb_stack_paths *p, const char *stack_id, char *err,
                              size_t errlen)
{
    char path[PATH_MAX], inner[JB_ERRLEN], *data = NULL;
    size_t len = 0;
    int rc, stored = 0;

    if (jb_path_join(path, sizeof(path), p->workdir, ERRORED) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "work path too long");
    if (access(path, F_OK) != 0) {
        /* Not here: one saved in the store by another machine, maybe.  Not
         * knowing is no reason to destroy from a state that may be old. */
        rc = jb_lease_store_get_file(ctx->state, stack_id, ERRORED, ERRORED_MAX, &data, &len, inner,
                                     sizeof(inner));
        if (rc == JB_ERR_NOTFOUND)
            return 0;
        if (rc == 0)
            rc = jb_file_replace(path, data, len, 0600, inner, sizeof(inner));
        free(data);
        if (rc != 0)
            return jb_err(err, errlen, rc,
                          "looking for state Terraform could not save earlier (%s/%s in the "
                          "state store) failed, so nothing was destroyed: %s",
                          stack_id, ERRORED, inner);
        stored = 1;
    }
    progress(ctx, "terraform state push", stored ? ERRORED " (from the state store)" : ERRORED);
    if ((rc = jb_tf_state_push(tf, path, tf_deadline(PUSH_TIMEOUT_S), inner, sizeof(inner))) != 0)
        return jb_err(err, errlen, rc,
                      "the state Terraform could not save earlier (errored.tfstate) still "
                      "cannot be saved, so nothing was destroyed: %s",
                      inner);
    /* Pushed: the store's copy goes first (an old one pushed again later
     * would be refused, or worse), then ours. */
    if ((rc = jb_lease_store_delete_file(ctx->state, stack_id, ERRORED, inner, sizeof(inner))) != 0)
        return jb_err(err, errlen, rc,
                      "errored.tfstate was pushed, but its copy in the state store could not "
                      "be removed, so nothing was destroyed: %s",
                      inner);
    if (unlink(path) != 0)
        return jb_err_errno(err, errlen, JB_ERR_IO, "remove %s", path);
    return 0;
}

/* What became of a stack whose teardown did not simply succeed. */
enum fate {
    FATE_DESTROYED, /* ours: destroyed, state and lease purged */
    FATE_GONE,      /* another process destroyed it first: nothing is left */
    FATE_KEPT,      /* the lease says failed and expired: the sweeper's now */
    FATE_OTHER,     /* another process is destroying it (its lease says so) */
    FATE_UNKNOWN,   /* the lease could not be written either */
};

static void audit_gone(const struct jb_stack_ctx *ctx, const struct jb_lease *l)
{
    audit(ctx, "destroy.already_gone", l, "another process destroyed the stack first");
}

/* Marks the lease failed and expired, for the sweeper to take at once.
 * The update is conditional: when it loses, the lease as it is now
 * decides.  Gone: another process destroyed the stack.  Destroying or
 * failed: another process is at it, or has handed it to the sweeper
 * already; theirs stands.  Anything else is marked failed after all. */
static enum fate keep_for_sweeper(const struct jb_stack_ctx *ctx, struct jb_lease *l,
                                  const char *why, char *detail, size_t detaillen)
{
    enum fate f = FATE_UNKNOWN;

    for (int tries = 0; tries < 3; tries++) {
        struct jb_lease now;
        int rc;

        snprintf(l->status, sizeof(l->status), "failed");
        if (l->expires_at > time(NULL))
            l->expires_at = time(NULL);
        l->deadline = 0;
        rc = jb_lease_update(ctx->state, l, detail, detaillen);
        if (rc == 0) {
            f = FATE_KEPT;
            break;
        }
        if (rc == JB_ERR_NOTFOUND) {
            f = FATE_GONE;
            break;
        }
        if (rc != JB_ERR_CONFLICT)
            break;
        rc = jb_lease_get(ctx->state, l->stack_id, &now, detail, detaillen);
        if (rc == JB_ERR_NOTFOUND) {
            f = FATE_GONE;
            break;
        }
        if (rc != 0)
            break;
        if (strcmp(now.status, "destroying") == 0 || strcmp(now.status, "failed") == 0) {
            f = strcmp(now.status, "failed") == 0 ? FATE_KEPT : FATE_OTHER;
            jb_lease_clear(&now);
            break;
        }
        memcpy(l->etag, now.etag, sizeof(l->etag));
        jb_lease_clear(&now);
    }
    if (f == FATE_GONE)
        audit_gone(ctx, l);
    else
        audit(ctx, "destroy.failed", l, why);
    return f;
}

/* Runs destroy in an already prepared runner; on success the stack's state
 * and lease go; on failure the lease stays, expired, for the sweeper
 * (*fate says which, and whether another process was faster). */
static int teardown(const struct jb_stack_ctx *ctx, struct jb_tf *tf, struct jb_lease *l,
                    const struct jb_stack_paths *p, enum fate *fate, char *err, size_t errlen)
{
    volatile sig_atomic_t *cancel = tf->cancel;
    char detail[JB_ERRLEN];
    int rc;

    *fate = FATE_DESTROYED;
    /* A Ctrl-C that stopped the create must not also stop its rollback. */
    tf->cancel = NULL;
    rc = push_errored_state(ctx, tf, p, l->stack_id, err, errlen);
    if (rc == 0) {
        progress(ctx, "terraform destroy", NULL);
        rc = jb_tf_destroy(tf, tf_deadline(DESTROY_TIMEOUT_S), err, errlen);
    }
    tf->cancel = cancel;
    /* The box is gone if rc is 0 (its records are not, when the purge
     * fails: a lease still saying "destroying" would wait for its expiry
     * before a sweep retried). */
    if (rc == 0 && (rc = jb_lease_purge(ctx->state, l->stack_id, err, errlen)) == 0) {
        jb_rm_tree(p->workdir, NULL, 0);
        audit(ctx, "destroy.done", l, NULL);
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
    if (*fate == FATE_GONE) {
        /* Another destroy won (its Terraform held the state, say) and
         * finished: nothing of the stack is left. */
        jb_rm_tree(p->workdir, NULL, 0);
        return 0;
    }
    if (err && *fate == FATE_UNKNOWN) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "; marking its lease failed failed too: %s", detail);
    }
    return rc;
}

static int make_token(char **out, unsigned char hash_hex[JB_TOKEN_HEX_LEN + 1])
{
    unsigned char raw[32], h[crypto_hash_sha256_BYTES];

    if ((*out = jb_secret_alloc(JB_TOKEN_HEX_LEN + 1)) == NULL)
        return JB_ERR_NOMEM;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(*out, JB_TOKEN_HEX_LEN + 1, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    crypto_hash_sha256(h, (const unsigned char *)*out, JB_TOKEN_HEX_LEN);
    sodium_bin2hex((char *)hash_hex, JB_TOKEN_HEX_LEN + 1, h, sizeof(h));
    return 0;
}

int jb_stack_token_matches(const struct jb_lease *l, const char *token)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[JB_TOKEN_HEX_LEN + 1];

    if (token == NULL || strlen(l->token_hash) != JB_TOKEN_HEX_LEN ||
        strlen(token) != JB_TOKEN_HEX_LEN)
        return 0;
    crypto_hash_sha256(h, (const unsigned char *)token, JB_TOKEN_HEX_LEN);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    return sodium_memcmp(hex, l->token_hash, JB_TOKEN_HEX_LEN) == 0;
}

int jb_stack_create(const struct jb_stack_ctx *ctx, const struct jb_create_req *req,
                    struct jb_create_result *res, char *err, size_t errlen)
{
    struct jb_keypair *host = NULL;
    struct jb_stack_paths paths;
    struct jb_tf tf;
    struct jb_lease *l = &res->lease;
    char *host_priv = NULL, *secrets = NULL, expires[JB_RFC3339_LEN];
    char detail[JB_ERRLEN], user_buf[65];
    unsigned char token_hash[JB_TOKEN_HEX_LEN + 1];
    const char *user = req->ssh_user;
    cJSON *vars = NULL, *outs = NULL;
    int rc, port = 0, tf_open = 0, lease_made = 0, applied = 0, attempts = 0;
    time_t now = time(NULL);

    memset(res, 0, sizeof(*res));
    memset(&tf, 0, sizeof(tf));
    tf.log_fd = -1;
    if ((rc = jb_stack_paths(req->stack_id, req->module, &paths, err, errlen)) != 0)
        return rc;
    /* Bad extra inputs are bad input: refused before even the keys. */
    if ((vars = cJSON_CreateObject()) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    rc = extra_vars(vars, err, errlen);
    cJSON_Delete(vars);
    vars = NULL;
    if (rc != 0)
        return rc;

    progress(ctx, "keys", "Ed25519 user and host keys");
    if ((rc = jb_keypair_new(&res->user_key, err, errlen)) != 0 ||
        (rc = jb_keypair_new(&host, err, errlen)) != 0 ||
        (rc = jb_key_private_text(host, req->stack_id, &host_priv, NULL, err, errlen)) != 0 ||
        (rc = make_token(&res->teardown_token, token_hash)) != 0) {
        if (rc == JB_ERR_NOMEM)
            jb_err(err, errlen, rc, "out of locked memory");
        goto out;
    }
    snprintf(detail, sizeof(detail), "jumpbox-%s", req->stack_id);
    jb_key_public_line(res->user_key->pk, detail, res->public_key, sizeof(res->public_key));
    jb_key_public_line(host->pk, NULL, res->host_public_key, sizeof(res->host_public_key));
    jb_key_fingerprint(host->pk, res->host_fingerprint);

    if (strcmp(req->module, "local") == 0) {
        if (user == NULL) {
            struct passwd *pw = getpwuid(geteuid());
            if (pw == NULL) {
                rc = jb_err(err, errlen, JB_ERR_SYSTEM, "cannot find the current user's name");
                goto out;
            }
            snprintf(user_buf, sizeof(user_buf), "%s", pw->pw_name);
            user = user_buf;
        }
        if ((port = free_port()) <= 0) {
            rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "no free port on 127.0.0.1");
            goto out;
        }
    }
    jb_format_rfc3339(now + req->ttl_s, expires);
    if ((rc = build_vars(req, &paths, ctx->state, res->public_key, res->host_public_key, expires,
                         user, port, &vars, err, errlen)) != 0)
        goto out;

    /* The lease comes first: from here on a crash leaves something the
     * sweeper can find. */
    progress(ctx, "lease", ctx->state->url);
    snprintf(l->stack_id, sizeof(l->stack_id), "%s", req->stack_id);
    snprintf(l->module, sizeof(l->module), "%s", req->module);
    snprintf(l->requester, sizeof(l->requester), "%s", req->requester);
    snprintf(l->status, sizeof(l->status), "creating");
    snprintf(l->host_fingerprint, sizeof(l->host_fingerprint), "%s", res->host_fingerprint);
    snprintf(l->token_hash, sizeof(l->token_hash), "%s", token_hash);
    l->created_at = now;
    l->expires_at = now + req->ttl_s;
    /* Every stage has its timeout, the rollback included: a create killed
     * half-way is the sweeper's once they are all spent, not at expiry. */
    l->deadline = work_deadline(
        ctx, (long)tf_deadline(APPLY_TIMEOUT_S) + tf_deadline(OUTPUT_TIMEOUT_S) +
                 (req->ready_timeout_s > 0 ? req->ready_timeout_s : 120) + teardown_budget());
    l->vars = vars;
    vars = NULL;
    if ((rc = jb_lease_create(ctx->state, l, err, errlen)) != 0)
        goto out;
    lease_made = res->began = 1;
    audit(ctx, "create.start", l, NULL);
    if ((rc = record_create(ctx, req, res, err, errlen)) != 0)
        goto out;

    if ((rc = tf_prepare(ctx, &paths, req->stack_id, l->vars, &tf, err, errlen)) != 0) {
        tf_open = tf.log_fd >= 0;
        goto out;
    }
    tf_open = 1;
    if ((rc = secret_hcl(host_priv, res->teardown_token, &secrets, err, errlen)) != 0)
        goto out;
    progress(ctx, "terraform apply", req->module);
    applied = 1; /* even a failed apply may have made something */
    rc = jb_tf_apply(&tf, secrets, tf_deadline(APPLY_TIMEOUT_S), err, errlen);
    if (rc != 0)
        goto out;

    progress(ctx, "terraform output", NULL);
    if ((rc = jb_tf_output(&tf, &outs, tf_deadline(OUTPUT_TIMEOUT_S), err, errlen)) != 0 ||
        (rc = jb_tf_output_string(outs, "host", l->host, sizeof(l->host), err, errlen)) != 0 ||
        (rc = jb_tf_output_port(outs, "port", &l->port, err, errlen)) != 0 ||
        (rc = jb_tf_output_string(outs, "user", l->user, sizeof(l->user), err, errlen)) != 0 ||
        (rc = jb_tf_output_string(outs, "instance_id", l->instance_id, sizeof(l->instance_id), err,
                                  errlen)) != 0)
        goto out;
    jb_key_known_hosts_line(l->host, l->port, host->pk, res->known_hosts, sizeof(res->known_hosts));

    snprintf(detail, sizeof(detail), "%s@%s:%d", l->user, l->host, l->port);
    progress(ctx, "ssh probe", detail);
    {
        struct jb_ssh_target t = {l->host, l->port, l->user, host->pk, res->user_key};
        int wait_s = req->ready_timeout_s > 0 ? req->ready_timeout_s : 120;
        if ((rc = jb_ssh_wait_ready(&t, wait_s, ctx->cancel, &attempts, err, errlen)) != 0)
            goto out;
    }
    snprintf(l->status, sizeof(l->status), "ready");
    l->deadline = 0;
    if ((rc = jb_lease_update(ctx->state, l, err, errlen)) != 0) {
        /* A destroy or a sweep took the stack while it was being made
         * (the lease changed, or is gone): theirs stands, ours is undone. */
        if (rc == JB_ERR_CONFLICT || rc == JB_ERR_NOTFOUND)
            jb_err(err, errlen, rc,
                   "another process %s the lease of %s while the box was being made",
                   rc == JB_ERR_NOTFOUND ? "removed" : "changed", l->stack_id);
        goto out;
    }
    audit(ctx, "create.ready", l, detail);
    {
        cJSON *o = cJSON_CreateObject();
        if (o && (!add_str(o, "host", l->host) || !cJSON_AddNumberToObject(o, "port", l->port) ||
                  !add_str(o, "user", l->user) || !add_str(o, "instance_id", l->instance_id))) {
            cJSON_Delete(o);
            o = NULL;
        }
        record(ctx, l->stack_id, "ready", o, NULL, 0);
    }
    progress(ctx, "ready", detail);

out:
    if (rc != 0 && lease_made) {
        char why[JB_ERRLEN], terr[JB_ERRLEN];
        snprintf(why, sizeof(why), "%s", err ? err : "");
        audit(ctx, "create.failed", l, why);
        {
            cJSON *o = cJSON_CreateObject();
            if (o && (!add_str(o, "error", why) ||
                      !add_str(o, "rollback",
                               applied && tf_open ? "terraform destroy" : "nothing was applied"))) {
                cJSON_Delete(o);
                o = NULL;
            }
            record(ctx, l->stack_id, "create.failed", o, NULL, 0);
        }
        if (applied && tf_open) {
            enum fate fate;
            size_t used = err ? strlen(err) : 0;
            time_t started = time(NULL);
            int trc;
            progress(ctx, "rollback", "destroying what was made");
            trc = teardown(ctx, &tf, l, &paths, &fate, terr, sizeof(terr));
            record_destroy(ctx, l->stack_id, "rollback", started,
                           trc != 0            ? "failed"
                           : fate == FATE_GONE ? "already_gone"
                                               : "destroyed",
                           trc != 0 ? terr : NULL);
            if (trc != 0 && err) {
                if (fate == FATE_KEPT)
                    snprintf(err + used, errlen - used,
                             "; rollback failed too (%s): lease %s kept for the sweeper", terr,
                             l->stack_id);
                else if (fate == FATE_OTHER)
                    snprintf(err + used, errlen - used,
                             "; rollback failed too (%s): another process is destroying stack "
                             "%s now",
                             terr, l->stack_id);
                else
                    snprintf(err + used, errlen - used,
                             "; rollback failed too (%s): the lease of %s is left as it was, "
                             "for the sweeper at its expiry",
                             terr, l->stack_id);
            } else if (fate == FATE_GONE && err) {
                snprintf(err + used, errlen - used,
                         "; another process destroyed stack %s meanwhile: nothing is left",
                         l->stack_id);
            }
        } else {
            /* Nothing was applied: only our own records to remove. */
            jb_lease_purge(ctx->state, l->stack_id, NULL, 0);
            jb_rm_tree(paths.workdir, NULL, 0);
        }
    }
    if (tf_open)
        jb_tf_close(&tf);
    cJSON_Delete(outs);
    cJSON_Delete(vars);
    jb_secret_free(secrets);
    jb_secret_free(host_priv);
    jb_keypair_free(host);
    if (rc != 0) {
        jb_keypair_free(res->user_key);
        res->user_key = NULL;
    }
    return rc;
}

/* Claims the lease for this destroy (status destroying), conditional on
 * the version read.  When it changed, it is read again and the claim made
 * again; when it is gone, *outcome says so.  0 with the claim made or
 * *outcome set. */
static int claim(const struct jb_stack_ctx *ctx, const char *stack_id, struct jb_lease *l,
                 int *outcome, char *err, size_t errlen)
{
    int rc = 0;

    for (int tries = 0; tries < 3; tries++) {
        if (ctx->sweep && !jb_lease_sweepable(l, time(NULL))) {
            *outcome = JB_DESTROY_NOT_DUE; /* it changed since the sweep listed it */
            return 0;
        }
        snprintf(l->status, sizeof(l->status), "destroying");
        l->deadline = work_deadline(ctx, teardown_budget());
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
    enum fate fate = FATE_UNKNOWN;
    time_t started = time(NULL);
    int rc;

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
    if ((rc = jb_stack_paths(stack_id, l.module, &paths, err, errlen)) != 0)
        goto out;
    if ((rc = claim(ctx, stack_id, &l, outcome, err, errlen)) != 0 || *outcome != JB_DESTROY_DONE)
        goto out;
    {
        const char *kv[] = {"reason", reason ? reason : "request", NULL, NULL};
        jb_log_event(ctx->audit_fd, "destroy.start", stack_id, kv);
    }
    rc = tf_prepare(ctx, &paths, stack_id, l.vars, &tf, err, errlen);
    if (rc != 0) {
        char d[JB_ERRLEN];
        fate = keep_for_sweeper(ctx, &l, err, d, sizeof(d));
        if (fate == FATE_GONE)
            rc = 0;
    } else {
        rc = teardown(ctx, &tf, &l, &paths, &fate, err, errlen);
    }
    if (rc == 0 && fate == FATE_GONE) {
        *outcome = JB_DESTROY_GONE;
    } else if (rc != 0 && fate == FATE_OTHER && err) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "; another process is destroying the stack now");
    }
out:
    /* A stack that had a lease gets its record, whatever the outcome but
     * a sweep's "not due" (nothing was attempted). */
    if (*outcome != JB_DESTROY_NOT_DUE)
        record_destroy(ctx, stack_id, reason ? reason : "request", started,
                       rc != 0                       ? "failed"
                       : *outcome == JB_DESTROY_GONE ? "already_gone"
                                                     : "destroyed",
                       rc != 0 && err ? err : NULL);
    if (tf.log_fd >= 0)
        jb_tf_close(&tf);
    jb_lease_clear(&l);
    return rc;
}
