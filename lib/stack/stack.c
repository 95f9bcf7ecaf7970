/* What a create (stack_create.c) and a destroy (stack_destroy.c) share:
 * deadlines, progress, the audit records, Terraform's set-up, the token. */
#include "stack/stack_int.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/secret.h"
#include "stack/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* Between a deadline written in a lease and the sweeper that reads it on
 * another machine: room for clocks that disagree a little. */
#define DEADLINE_SLACK_S 60
/* ... and from a Lambda invocation's end, which Lambda itself enforces. */
#define UNTIL_SLACK_S 5
/* In Terraform's data dir: what the last good init there was for. */
#define INIT_STAMP "jumpbox-init"

int jb_stack_tf_deadline(const struct jb_stack_ctx *ctx, int dflt)
{
    long secs = ctx->settings->tf_timeout_s;

    if (secs >= 0 && secs < dflt)
        return (int)secs;
    return dflt;
}

time_t jb_stack_work_deadline(const struct jb_stack_ctx *ctx, long budget)
{
    time_t d = time(NULL) + budget + DEADLINE_SLACK_S;

    if (ctx->until > 0 && ctx->until + UNTIL_SLACK_S < d)
        d = ctx->until + UNTIL_SLACK_S;
    return d;
}

long jb_stack_teardown_budget(const struct jb_stack_ctx *ctx, const char *module)
{
    return (long)jb_stack_tf_deadline(ctx, JB_STACK_INIT_TIMEOUT_S) +
           jb_stack_tf_deadline(ctx, JB_STACK_PUSH_TIMEOUT_S) +
           (strcmp(module, "aws") == 0 ? jb_stack_tf_deadline(ctx, JB_STACK_TERMINATE_TIMEOUT_S)
                                       : 0) +
           jb_stack_tf_deadline(ctx, JB_STACK_DESTROY_TIMEOUT_S);
}

void jb_stack_progress(const struct jb_stack_ctx *ctx, const char *stage, const char *detail)
{
    if (ctx->progress)
        ctx->progress(ctx->progress_ctx, stage, detail ? detail : "");
}

int jb_stack_add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* What an init was for: the root configuration it read and the Terraform
 * and providers it used, hashed.  -1 when main.tf.json cannot be read. */
static int init_stamp(const struct jb_stack_paths *p, const struct jb_tf *tf,
                      char out[crypto_hash_sha256_BYTES * 2 + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    char path[PATH_MAX], *root = NULL;
    size_t len = 0;

    if (jb_path_join(path, sizeof(path), p->workdir, "main.tf.json") != 0 ||
        jb_file_read(path, 1024 * 1024, &root, &len, NULL, 0) != 0)
        return -1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)root, len);
    crypto_hash_sha256_update(&st, (const unsigned char *)tf->bin, strlen(tf->bin) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)tf->plugin_dir,
                              strlen(tf->plugin_dir) + 1);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof(h));
    free(root);
    return 0;
}

static int stamp_path(const struct jb_stack_paths *p, char *path, size_t len)
{
    return snprintf(path, len, "%s/.terraform/" INIT_STAMP, p->workdir) < (int)len ? 0 : -1;
}

void jb_stack_tf_forget_init(const struct jb_stack_paths *p)
{
    char path[PATH_MAX];

    if (stamp_path(p, path, sizeof(path)) == 0)
        unlink(path);
}

int jb_stack_tf_prepare(const struct jb_stack_ctx *ctx, const struct jb_stack_paths *p,
                        const char *stack_id, const cJSON *vars, struct jb_tf *tf, char *err,
                        size_t errlen)
{
    char want[crypto_hash_sha256_BYTES * 2 + 1], path[PATH_MAX], *had = NULL;
    int rc, stamped;

    if ((rc = jb_stack_write_root(p, ctx->state, stack_id, vars, err, errlen)) != 0)
        return rc;
    if ((rc = jb_tf_open(tf, p->workdir, p->log, ctx->settings->terraform,
                         ctx->settings->tf_plugin_dir, environ, err, errlen)) != 0)
        return rc;
    tf->cancel = ctx->cancel;
    /* One init per work dir and configuration: a rollback, or a destroy on
     * the machine that made the stack, finds the dir its create initialised
     * (the stamp says for what) and skips the second Terraform process.  A
     * teardown that fails forgets the stamp, so the retry inits afresh. */
    stamped = init_stamp(p, tf, want) == 0 && stamp_path(p, path, sizeof(path)) == 0;
    if (stamped && jb_file_read(path, 128, &had, NULL, NULL, 0) == 0 && strcmp(had, want) == 0) {
        free(had);
        jb_stack_progress(ctx, "terraform init", "done already in this work directory");
        return 0;
    }
    free(had);
    jb_stack_progress(ctx, "terraform init", NULL);
    if ((rc = jb_tf_init(tf, jb_stack_tf_deadline(ctx, JB_STACK_INIT_TIMEOUT_S), err, errlen)) != 0)
        return rc;
    /* Best effort: without the stamp the next command only inits again. */
    if (stamped)
        jb_file_replace(path, want, strlen(want), 0600, NULL, 0);
    return 0;
}

void jb_stack_event(const struct jb_stack_ctx *ctx, const char *event, const struct jb_lease *l,
                    const char *detail)
{
    char expires[JB_RFC3339_LEN];
    const char *kv[] = {"module", l->module, "requester",          l->requester, "expires_at",
                        expires,  "detail",  detail ? detail : "", NULL,         NULL};

    jb_format_rfc3339(l->expires_at, expires);
    jb_log_event(ctx->event_fd, event, l->stack_id, kv);
}

int jb_stack_record(const struct jb_stack_ctx *ctx, const char *stack_id, const char *event,
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
        jb_stack_progress(ctx, "audit", msg);
        jb_log_event(ctx->event_fd, "audit.failed", stack_id, kv);
        jb_err(err, errlen, rc, "audit record %s: %s", event, detail);
    }
    return rc;
}

void jb_stack_record_destroy(const struct jb_stack_ctx *ctx, const char *stack_id,
                             const char *reason, time_t started, const char *result,
                             const char *error, const struct jb_lease *l, const char *ended_by)
{
    char at[JB_RFC3339_LEN], expires[JB_RFC3339_LEN], alive[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject();

    jb_format_rfc3339(started, at);
    if (l) {
        jb_format_rfc3339(l->expires_at, expires);
        jb_format_rfc3339(l->alive_until, alive);
    }
    if (o && (!jb_stack_add_str(o, "reason", reason) || !jb_stack_add_str(o, "started_at", at) ||
              !jb_stack_add_str(o, "result", result) ||
              (error && !jb_stack_add_str(o, "error", error)) ||
              (ended_by && !jb_stack_add_str(o, "ended_by", ended_by)) ||
              (l && !jb_stack_add_str(o, "expires_at", expires)) ||
              (l && l->alive_until && !jb_stack_add_str(o, "alive_until", alive)) ||
              (l && l->keepalive_s > 0 &&
               !cJSON_AddNumberToObject(o, "keepalive_s", (double)l->keepalive_s)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    jb_stack_record(ctx, stack_id, "destroy", o, NULL, 0);
}

int jb_stack_make_token(char **out, unsigned char hash_hex[JB_TOKEN_HEX_LEN + 1])
{
    unsigned char raw[32], h[crypto_hash_sha256_BYTES];

    if ((*out = jb_secret_alloc(JB_TOKEN_HEX_LEN + 1)) == NULL)
        return JB_ERR_NOMEM;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(*out, JB_TOKEN_HEX_LEN + 1, raw, sizeof(raw));
    jb_secret_wipe(raw, sizeof(raw));
    crypto_hash_sha256(h, (const unsigned char *)*out, JB_TOKEN_HEX_LEN);
    sodium_bin2hex((char *)hash_hex, JB_TOKEN_HEX_LEN + 1, h, sizeof(h));
    return 0;
}

/* The requester's token or the box's own: both hashes are compared, in
 * constant time, whichever matches. */
static int token_matches(const struct jb_lease *l, const char *token)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[JB_TOKEN_HEX_LEN + 1];
    int requester, box;

    if (token == NULL || strlen(token) != JB_TOKEN_HEX_LEN)
        return 0;
    crypto_hash_sha256(h, (const unsigned char *)token, JB_TOKEN_HEX_LEN);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    requester = strlen(l->token_hash) == JB_TOKEN_HEX_LEN &&
                sodium_memcmp(hex, l->token_hash, JB_TOKEN_HEX_LEN) == 0;
    box = strlen(l->box_token_hash) == JB_TOKEN_HEX_LEN &&
          sodium_memcmp(hex, l->box_token_hash, JB_TOKEN_HEX_LEN) == 0;
    return requester | box;
}

int jb_stack_owner_check(const struct jb_state *st, const char *stack_id, const char *token,
                         char *err, size_t errlen)
{
    struct jb_lease l;
    int rc, ok;

    if (strlen(token) != JB_TOKEN_HEX_LEN || strspn(token, "0123456789abcdef") != JB_TOKEN_HEX_LEN)
        return jb_err(err, errlen, JB_ERR_INVALID, "token: must be %d lower-case hex digits",
                      JB_TOKEN_HEX_LEN);
    memset(&l, 0, sizeof(l));
    rc = jb_lease_get(st, stack_id, &l, err, errlen);
    if (rc != 0 && rc != JB_ERR_NOTFOUND)
        return rc;
    ok = rc == 0 && token_matches(&l, token);
    jb_lease_clear(&l);
    if (!ok)
        return jb_err(err, errlen, JB_ERR_AUTH, "token: does not match stack %s's teardown token",
                      stack_id);
    return 0;
}
