/* A stack's create: a short orchestrator (jb_stack_create) over named
 * steps, each of which records in `struct create` what it made so that one
 * exit path can roll back, free and wipe. */
#include "stack/stack_int.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "stack/box_identity.h"
#include "stack/deadline.h"
#include "stack/ssh.h"
#include "stack/store.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* JUMPBOX_MODULE_VARS (path, the setting): extra module inputs
 * (subnet_id, ...) that go into every lease, so they are bounded and flat
 * (strings, numbers, booleans): anything else is refused before anything is
 * made.  Read and checked once per create, into *out (NULL: none); merged
 * by extra_vars. */
static int load_extra_vars(const char *path, cJSON **out, char *err, size_t errlen)
{
    char *text = NULL, detail[JB_ERRLEN];
    cJSON *extra, *item;
    int rc = 0;

    *out = NULL;
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
        /* permit_open only from --permit-open: validated, and a list;
         * max_ttl_seconds only from JUMPBOX_MAX_TTL, the cap the lease keeps
         * too. */
        if (strcmp(item->string, "source") == 0 || strcmp(item->string, "version") == 0 ||
            strcmp(item->string, "permit_open") == 0 ||
            strcmp(item->string, "max_ttl_seconds") == 0) {
            rc = jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_MODULE_VARS: %s: not a module input",
                        item->string);
            break;
        }
    }
    if (rc != 0)
        cJSON_Delete(extra);
    else
        *out = extra;
    return rc;
}

/* The extra inputs (load_extra_vars) into v, below the stack's own: an
 * input v has already is kept. */
static int extra_vars(cJSON *v, const cJSON *extra, char *err, size_t errlen)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, extra)
    {
        if (cJSON_GetObjectItemCaseSensitive(v, item->string) == NULL &&
            !cJSON_AddItemToObject(v, item->string, cJSON_Duplicate(item, 1)))
            return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* The module's non-secret inputs; they go to Terraform and into the lease,
 * so the stack can be destroyed from anywhere. */
static int build_vars(const struct jb_create_req *req, const struct jb_stack_paths *p,
                      const struct jb_state *st, const char *pub, const char *role_id,
                      const char *expires, const char *user, int port, const cJSON *extra,
                      cJSON **out, char *err, size_t errlen)
{
    cJSON *v = cJSON_CreateObject();
    int rc, ok = v && jb_stack_add_str(v, "stack_id", req->stack_id) &&
                 jb_stack_add_str(v, "requester", req->requester) &&
                 jb_stack_add_str(v, "public_key", pub) &&
                 jb_stack_add_str(v, "expires_at", expires) &&
                 jb_stack_add_str(v, "allow_cidr", req->allow_cidr) &&
                 jb_stack_add_str(v, "state_url", st->url);

    if (ok && user)
        ok = jb_stack_add_str(v, "ssh_user", user);
    if (ok && role_id)
        ok = jb_stack_add_str(v, "box_role_id", role_id);
    if (ok && port > 0)
        ok = cJSON_AddNumberToObject(v, "ssh_port", port) != NULL;
    /* The box checks the cap itself, against its own clock. */
    if (ok)
        ok = cJSON_AddNumberToObject(
                 v, "max_ttl_seconds",
                 (double)(req->max_ttl_s > 0 ? req->max_ttl_s : JB_TTL_MAX_S)) != NULL;
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
        ok = jb_stack_add_str(v, "box_dir", p->box_dir) &&
             jb_stack_add_str(v, "localbox_bin", localbox) &&
             jb_stack_add_str(v, "cleaner_bin", cleaner) &&
             jb_stack_add_str(v, "ttl_log", p->ttl_log);
    }
    if (ok && (rc = extra_vars(v, extra, err, errlen)) != 0) {
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

/* Who asked, from where, when, for how long, and the keys' fingerprints. */
static int record_create(const struct jb_stack_ctx *ctx, const struct jb_create_req *req,
                         const struct jb_create_result *res, char *err, size_t errlen)
{
    const struct jb_lease *l = &res->lease;
    char created[JB_RFC3339_LEN], expires[JB_RFC3339_LEN], user_fp[JB_FINGERPRINT_LEN];
    char cap[JB_RFC3339_LEN];
    const cJSON *permit = l->vars ? cJSON_GetObjectItemCaseSensitive(l->vars, "permit_open") : NULL;
    cJSON *o = cJSON_CreateObject();

    jb_format_rfc3339(l->created_at, created);
    jb_format_rfc3339(l->expires_at, expires);
    jb_format_rfc3339(l->max_until, cap);
    jb_key_fingerprint(res->user_key->pk, user_fp);
    if (o &&
        (!jb_stack_add_str(o, "requester", l->requester) ||
         !jb_stack_add_str(o, "allow_cidr", req->allow_cidr) ||
         !jb_stack_add_str(o, "created_at", created) ||
         !cJSON_AddNumberToObject(o, "ttl_s", (double)req->ttl_s) ||
         !jb_stack_add_str(o, "expires_at", expires) || !jb_stack_add_str(o, "max_until", cap) ||
         (l->keepalive_s > 0 &&
          !cJSON_AddNumberToObject(o, "keepalive_s", (double)l->keepalive_s)) ||
         !jb_stack_add_str(o, "module", l->module) ||
         !jb_stack_add_str(o, "state", ctx->state->url) ||
         !jb_stack_add_str(o, "user_key_fingerprint", user_fp) ||
         (permit && !cJSON_AddItemToObject(o, "permit_open", cJSON_Duplicate(permit, 1))))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return jb_stack_record(ctx, l->stack_id, "create", o, err, errlen);
}

/* One create's working set.  Every step fills in what it made, so the
 * rollback knows how far the create got and `out:` what to free. */
struct create {
    const struct jb_stack_ctx *ctx;
    const struct jb_create_req *req;
    struct jb_create_result *res;
    char *err;
    size_t errlen;
    time_t now; /* the lease's created_at, and what its expiry counts from */
    struct jb_stack_paths paths;
    const char *role_id; /* a cloud box's role (box_identity.h); NULL: a local box */
    struct jb_box_identity box;
    long long ready_by; /* jb_clock_mono_ms: the box published and answers by then */
    unsigned char token_hash[JB_TOKEN_HEX_LEN + 1];
    const char *user; /* NULL: the module's default */
    char user_buf[65];
    int port;     /* 0: the module's */
    cJSON *extra; /* JUMPBOX_MODULE_VARS, read once (load_extra_vars); NULL: none */
    cJSON *vars, *outs;
    struct jb_tf tf;
    int tf_open;           /* tf needs jb_tf_close */
    int lease_made;        /* the lease is ours to roll back */
    int applied;           /* even a failed apply may have made something */
    char where[JB_ERRLEN]; /* user@host:port, once Terraform said */
};

/* Bad extra inputs are bad input: refused before even the keys.  A cloud
 * box publishes its host key to the state bucket, under its role's id. */
static int check_inputs(struct create *c)
{
    int rc;

    if ((rc = jb_stack_paths(c->ctx->settings, c->req->stack_id, c->req->module, &c->paths, c->err,
                             c->errlen)) != 0)
        return rc;
    if (strcmp(c->req->module, "local") != 0) {
        if (!jb_store_is_remote(c->ctx->state))
            return jb_err(c->err, c->errlen, JB_ERR_INVALID,
                          "--state: module %s needs an s3:// state: its box publishes its host "
                          "key there",
                          c->req->module);
        c->role_id = c->ctx->settings->box_role_id;
        if ((rc = jb_box_check_role_id(c->role_id, c->err, c->errlen)) != 0)
            return rc;
    }
    return load_extra_vars(c->ctx->settings->module_vars, &c->extra, c->err, c->errlen);
}

static int make_keys(struct create *c)
{
    struct jb_create_result *res = c->res;
    char comment[JB_ERRLEN];
    int rc;

    /* The host key is the box's own: it makes it (box_identity.h). */
    jb_stack_progress(c->ctx, "keys", "Ed25519 user key");
    if ((rc = jb_keypair_new(&res->user_key, c->err, c->errlen)) != 0 ||
        (rc = jb_stack_make_token(&res->teardown_token, c->token_hash)) != 0) {
        if (rc == JB_ERR_NOMEM)
            jb_err(c->err, c->errlen, rc, "out of locked memory");
        return rc;
    }
    snprintf(comment, sizeof(comment), "jumpbox-%s", c->req->stack_id);
    jb_key_public_line(res->user_key->pk, comment, res->public_key, sizeof(res->public_key));
    return 0;
}

/* The local box runs as us, on a port of ours; then the module's inputs. */
static int module_inputs(struct create *c)
{
    char expires[JB_RFC3339_LEN];

    if (strcmp(c->req->module, "local") == 0) {
        if (c->user == NULL) {
            struct passwd *pw = getpwuid(geteuid());
            if (pw == NULL)
                return jb_err(c->err, c->errlen, JB_ERR_SYSTEM,
                              "cannot find the current user's name");
            snprintf(c->user_buf, sizeof(c->user_buf), "%s", pw->pw_name);
            c->user = c->user_buf;
        }
        if ((c->port = free_port()) <= 0)
            return jb_err_errno(c->err, c->errlen, JB_ERR_SYSTEM, "no free port on 127.0.0.1");
    }
    jb_format_rfc3339(c->now + c->req->ttl_s, expires);
    return build_vars(c->req, &c->paths, c->ctx->state, c->res->public_key, c->role_id, expires,
                      c->user, c->port, c->extra, &c->vars, c->err, c->errlen);
}

/* The lease comes first: from here on a crash leaves something the
 * sweeper can find.  Then the durable record, without which no box. */
static int write_lease(struct create *c)
{
    const struct jb_create_req *req = c->req;
    struct jb_lease *l = &c->res->lease;
    int rc;

    jb_stack_progress(c->ctx, "lease", c->ctx->state->url);
    snprintf(l->stack_id, sizeof(l->stack_id), "%s", req->stack_id);
    snprintf(l->module, sizeof(l->module), "%s", req->module);
    snprintf(l->requester, sizeof(l->requester), "%s", req->requester);
    snprintf(l->status, sizeof(l->status), "creating");
    snprintf(l->token_hash, sizeof(l->token_hash), "%s", c->token_hash);
    l->created_at = c->now;
    l->expires_at = c->now + req->ttl_s;
    l->max_until = c->now + (req->max_ttl_s > 0 ? req->max_ttl_s : JB_TTL_MAX_S);
    l->keepalive_s = req->keepalive_s;
    /* Every stage has its timeout, the rollback included: a create killed
     * half-way is the sweeper's once they are all spent, not at expiry. */
    l->deadline = jb_stack_work_deadline(
        c->ctx, (long)jb_stack_tf_deadline(c->ctx, JB_STACK_APPLY_TIMEOUT_S) +
                    (req->ready_timeout_s > 0 ? req->ready_timeout_s : 120) +
                    jb_stack_teardown_budget(c->ctx, req->module));
    l->vars = c->vars;
    c->vars = NULL;
    if ((rc = jb_lease_create(c->ctx->state, l, c->err, c->errlen)) != 0)
        return rc;
    c->lease_made = c->res->began = 1;
    jb_stack_event(c->ctx, "create.start", l, NULL);
    return record_create(c->ctx, req, c->res, c->err, c->errlen);
}

static int apply(struct create *c)
{
    int rc;

    if ((rc = jb_stack_tf_prepare(c->ctx, &c->paths, c->req->stack_id, c->res->lease.vars, &c->tf,
                                  c->err, c->errlen)) != 0) {
        c->tf_open = c->tf.log_fd >= 0;
        return rc;
    }
    c->tf_open = 1;
    jb_stack_progress(c->ctx, "terraform apply", c->req->module);
    c->applied = 1;
    /* No secret goes to Terraform: the box makes its own (box_identity.h). */
    return jb_tf_apply(&c->tf, NULL, jb_stack_tf_deadline(c->ctx, JB_STACK_APPLY_TIMEOUT_S), c->err,
                       c->errlen);
}

/* Where the box is: the outputs of the state the apply wrote, from the
 * state store (no second Terraform process for `terraform output`). */
static int read_outputs(struct create *c)
{
    struct jb_lease *l = &c->res->lease;
    struct jb_store_obj state;
    char *err = c->err, key[JB_STACK_ID_MAX + 32];
    size_t errlen = c->errlen;
    int rc;

    jb_stack_progress(c->ctx, "outputs", "from the Terraform state");
    jb_store_stack_key(c->req->stack_id, "terraform.tfstate", key, sizeof(key));
    if ((rc = jb_store_get(c->ctx->state, key, JB_TF_STATE_MAX, 0, &state, err, errlen)) == 0 &&
        (rc = jb_tf_state_outputs(state.data, state.len, &c->outs, err, errlen)) == 0 &&
        (rc = jb_tf_output_string(c->outs, "host", l->host, sizeof(l->host), err, errlen)) == 0 &&
        (rc = jb_tf_output_port(c->outs, "port", &l->port, err, errlen)) == 0 &&
        (rc = jb_tf_output_string(c->outs, "user", l->user, sizeof(l->user), err, errlen)) == 0)
        rc = jb_tf_output_string(c->outs, "instance_id", l->instance_id, sizeof(l->instance_id),
                                 err, errlen);
    jb_store_obj_free(&state);
    return rc;
}

/* What's left of the ready timeout, which the wait for the box's key and
 * the probe share (the lease's deadline counts it once). */
static int ready_left_s(const struct create *c)
{
    long long left = (c->ready_by - jb_clock_mono_ms() + 999) / 1000;
    return left < 1 ? 1 : (int)left;
}

/* The host key the box made and published is the one pinned from here on;
 * and the hash of the box's own teardown token goes into the lease. */
static int box_identity(struct create *c)
{
    struct jb_create_result *res = c->res;
    struct jb_lease *l = &res->lease;
    int rc;

    if (c->role_id == NULL) {
        rc = jb_box_identity_read_dir(c->paths.box_dir, &c->box, c->err, c->errlen);
    } else {
        jb_stack_progress(c->ctx, "host key", "waiting for the box to publish it");
        rc = jb_box_identity_wait_s3(c->ctx->state, c->role_id, l->instance_id, ready_left_s(c),
                                     c->ctx->cancel, &c->box, c->err, c->errlen);
    }
    if (rc != 0)
        return rc;
    snprintf(res->host_public_key, sizeof(res->host_public_key), "%s", c->box.host_public_key);
    snprintf(res->host_fingerprint, sizeof(res->host_fingerprint), "%s", c->box.host_fingerprint);
    snprintf(l->host_fingerprint, sizeof(l->host_fingerprint), "%s", c->box.host_fingerprint);
    snprintf(l->box_token_hash, sizeof(l->box_token_hash), "%s", c->box.token_hash);
    jb_key_known_hosts_line(l->host, l->port, c->box.host_pk, res->known_hosts,
                            sizeof(res->known_hosts));
    jb_stack_progress(c->ctx, "host key", c->box.host_fingerprint);
    return 0;
}

static int probe(struct create *c)
{
    struct jb_lease *l = &c->res->lease;
    struct jb_ssh_target t = {l->host, l->port, l->user, c->box.host_pk, c->res->user_key};
    int attempts = 0;

    snprintf(c->where, sizeof(c->where), "%s@%s:%d", l->user, l->host, l->port);
    jb_stack_progress(c->ctx, "ssh probe", c->where);
    return jb_ssh_wait_ready(&t, ready_left_s(c), c->ctx->cancel, &attempts, c->err, c->errlen);
}

static int mark_ready(struct create *c)
{
    struct jb_lease *l = &c->res->lease;
    cJSON *o;
    int rc;

    snprintf(l->status, sizeof(l->status), "ready");
    l->deadline = 0;
    /* The keep-alive counts from here: the run that asked heartbeats from
     * now on. */
    if (l->keepalive_s > 0)
        l->alive_until = time(NULL) + l->keepalive_s;
    if ((rc = jb_lease_update(c->ctx->state, l, c->err, c->errlen)) != 0) {
        /* A destroy or a sweep took the stack while it was being made
         * (the lease changed, or is gone): theirs stands, ours is undone. */
        if (rc == JB_ERR_CONFLICT || rc == JB_ERR_NOTFOUND)
            jb_err(c->err, c->errlen, rc,
                   "another process %s the lease of %s while the box was being made",
                   rc == JB_ERR_NOTFOUND ? "removed" : "changed", l->stack_id);
        return rc;
    }
    /* Without a keep-alive the box's user data already holds its one
     * deadline; with one, the box must learn it before it matters. */
    if (l->keepalive_s > 0 && (rc = jb_deadline_publish(c->ctx->state, l, c->err, c->errlen)) != 0)
        return rc;
    jb_stack_event(c->ctx, "create.ready", l, c->where);
    o = cJSON_CreateObject();
    if (o &&
        (!jb_stack_add_str(o, "host", l->host) || !cJSON_AddNumberToObject(o, "port", l->port) ||
         !jb_stack_add_str(o, "user", l->user) ||
         !jb_stack_add_str(o, "instance_id", l->instance_id) ||
         !jb_stack_add_str(o, "host_key_fingerprint", l->host_fingerprint) ||
         (l->keepalive_s > 0 &&
          !cJSON_AddNumberToObject(o, "keepalive_s", (double)l->keepalive_s)) ||
         (c->box.prefix[0] && !jb_stack_add_str(o, "box_objects", c->box.prefix)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    jb_stack_record(c->ctx, l->stack_id, "ready", o, NULL, 0);
    jb_stack_progress(c->ctx, "ready", c->where);
    return 0;
}

/* terraform destroy of what the apply made; how that ended goes after
 * the create's own error in err. */
static void undo_apply(struct create *c)
{
    struct jb_lease *l = &c->res->lease;
    char *err = c->err, terr[JB_ERRLEN];
    size_t errlen = c->errlen, used = err ? strlen(err) : 0;
    enum jb_stack_fate fate;
    time_t started = time(NULL);
    int trc;

    jb_stack_progress(c->ctx, "rollback", "destroying what was made");
    trc = jb_stack_teardown(c->ctx, &c->tf, l, &c->paths, 0, &fate, terr, sizeof(terr));
    jb_stack_record_destroy(c->ctx, l->stack_id, "rollback", started,
                            trc != 0               ? "failed"
                            : fate == JB_FATE_GONE ? "already_gone"
                                                   : "destroyed",
                            trc != 0 ? terr : NULL, l, NULL);
    if (trc != 0 && err) {
        if (fate == JB_FATE_KEPT)
            snprintf(err + used, errlen - used,
                     "; rollback failed too (%s): lease %s kept for the sweeper", terr,
                     l->stack_id);
        else if (fate == JB_FATE_OTHER)
            snprintf(err + used, errlen - used,
                     "; rollback failed too (%s): another process is destroying stack "
                     "%s now",
                     terr, l->stack_id);
        else
            snprintf(err + used, errlen - used,
                     "; rollback failed too (%s): the lease of %s is left as it was, "
                     "for the sweeper at its expiry",
                     terr, l->stack_id);
    } else if (fate == JB_FATE_GONE && err) {
        snprintf(err + used, errlen - used,
                 "; another process destroyed stack %s meanwhile: nothing is left", l->stack_id);
    }
}

/* A create that failed after its lease was written: recorded, then
 * whatever was made destroyed again. */
static void rollback(struct create *c)
{
    struct jb_lease *l = &c->res->lease;
    int undo = c->applied && c->tf_open;
    char why[JB_ERRLEN];
    cJSON *o;

    snprintf(why, sizeof(why), "%s", c->err ? c->err : "");
    jb_stack_event(c->ctx, "create.failed", l, why);
    o = cJSON_CreateObject();
    if (o &&
        (!jb_stack_add_str(o, "error", why) ||
         !jb_stack_add_str(o, "rollback", undo ? "terraform destroy" : "nothing was applied"))) {
        cJSON_Delete(o);
        o = NULL;
    }
    jb_stack_record(c->ctx, l->stack_id, "create.failed", o, NULL, 0);
    if (undo) {
        undo_apply(c);
    } else {
        /* Nothing was applied: only our own records to remove. */
        jb_lease_purge(c->ctx->state, l->stack_id, NULL, 0);
        jb_rm_tree(c->paths.workdir, NULL, 0);
    }
}

int jb_stack_create(const struct jb_stack_ctx *ctx, const struct jb_create_req *req,
                    struct jb_create_result *res, char *err, size_t errlen)
{
    struct create c;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    c.req = req;
    c.res = res;
    c.err = err;
    c.errlen = errlen;
    c.now = time(NULL);
    c.user = req->ssh_user;
    c.tf.log_fd = -1;

    if ((rc = check_inputs(&c)) != 0 || (rc = make_keys(&c)) != 0 ||
        (rc = module_inputs(&c)) != 0 || (rc = write_lease(&c)) != 0 || (rc = apply(&c)) != 0 ||
        (rc = read_outputs(&c)) != 0)
        goto out;
    c.ready_by =
        jb_clock_mono_ms() + 1000LL * (req->ready_timeout_s > 0 ? req->ready_timeout_s : 120);
    if ((rc = box_identity(&c)) != 0 || (rc = probe(&c)) != 0)
        goto out;
    rc = mark_ready(&c);
out:
    if (rc != 0 && c.lease_made)
        rollback(&c);
    if (c.tf_open)
        jb_tf_close(&c.tf);
    cJSON_Delete(c.outs);
    cJSON_Delete(c.extra);
    cJSON_Delete(c.vars);
    if (rc != 0) {
        jb_keypair_free(res->user_key);
        res->user_key = NULL;
    }
    return rc;
}
