/* Lease records (lease.h): JSON in and out, validated field by field on
 * read, since a lease may come from another machine or an older version. */
#include "stack/lease.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/grow.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jb_lease_clear(struct jb_lease *l)
{
    cJSON_Delete(l->vars);
    memset(l, 0, sizeof(*l));
}

int jb_lease_to_json(const struct jb_lease *l, char **out, char *err, size_t errlen)
{
    char created[JB_RFC3339_LEN], expires[JB_RFC3339_LEN], deadline[JB_RFC3339_LEN] = "";
    char alive[JB_RFC3339_LEN], cap[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject(), *vars = NULL;
    int ok;

    jb_format_rfc3339(l->created_at, created);
    jb_format_rfc3339(l->expires_at, expires);
    if (l->deadline)
        jb_format_rfc3339(l->deadline, deadline);
    if (l->vars)
        vars = cJSON_Duplicate(l->vars, 1);
    else
        vars = cJSON_CreateObject();
    ok = o && vars && cJSON_AddNumberToObject(o, "version", 1) &&
         cJSON_AddStringToObject(o, "stack_id", l->stack_id) &&
         cJSON_AddStringToObject(o, "module", l->module) &&
         cJSON_AddStringToObject(o, "requester", l->requester) &&
         cJSON_AddStringToObject(o, "status", l->status) &&
         cJSON_AddStringToObject(o, "created_at", created) &&
         cJSON_AddStringToObject(o, "expires_at", expires) &&
         cJSON_AddStringToObject(o, "deadline", deadline) &&
         cJSON_AddStringToObject(o, "host", l->host) &&
         cJSON_AddNumberToObject(o, "port", l->port) &&
         cJSON_AddStringToObject(o, "user", l->user) &&
         cJSON_AddStringToObject(o, "instance_id", l->instance_id) &&
         cJSON_AddStringToObject(o, "host_fingerprint", l->host_fingerprint) &&
         cJSON_AddStringToObject(o, "token_hash", l->token_hash) &&
         cJSON_AddStringToObject(o, "box_token_hash", l->box_token_hash) &&
         cJSON_AddStringToObject(o, "revision", l->revision);
    /* Only when set: a lease without them reads as before. */
    jb_format_rfc3339(l->alive_until, alive);
    jb_format_rfc3339(l->max_until, cap);
    ok = ok &&
         (l->keepalive_s <= 0 || cJSON_AddNumberToObject(o, "keepalive_s", (double)l->keepalive_s));
    ok = ok && (l->alive_until == 0 || cJSON_AddStringToObject(o, "alive_until", alive));
    ok = ok && (l->max_until == 0 || cJSON_AddStringToObject(o, "max_until", cap));
    if (ok) {
        cJSON_AddItemToObject(o, "vars", vars);
        vars = NULL;
        ok = (*out = cJSON_Print(o)) != NULL;
    }
    cJSON_Delete(vars);
    cJSON_Delete(o);
    if (!ok)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    /* What list, destroy and sweep could not read back is never written. */
    if (strlen(*out) > JB_LEASE_MAX_BYTES) {
        size_t n = strlen(*out);
        free(*out);
        *out = NULL;
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "the lease would be %zu bytes, over the %d a lease may hold", n,
                      JB_LEASE_MAX_BYTES);
    }
    return 0;
}

static int get_str(const cJSON *o, const char *name, char *dst, size_t max, int allow_empty,
                   char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    /* allow_empty 2: may be missing too (fields newer than version 1). */
    if (v == NULL && allow_empty == 2)
        return 0;
    if (!cJSON_IsString(v))
        return jb_err(err, errlen, JB_ERR_PARSE, "lease field %s: missing or not a string", name);
    if (strlen(v->valuestring) >= max || (!allow_empty && v->valuestring[0] == '\0'))
        return jb_err(err, errlen, JB_ERR_PARSE, "lease field %s: empty or too long", name);
    for (const char *p = v->valuestring; *p; p++)
        if ((unsigned char)*p < 0x20)
            return jb_err(err, errlen, JB_ERR_PARSE, "lease field %s: control characters", name);
    strcpy(dst, v->valuestring);
    return 0;
}

int jb_lease_from_json(const char *text, struct jb_lease *l, char *err, size_t errlen)
{
    char created[JB_RFC3339_LEN + 1], expires[JB_RFC3339_LEN + 1], detail[JB_ERRLEN];
    char deadline[JB_RFC3339_LEN + 1] = "", alive[JB_RFC3339_LEN + 1] = "";
    char cap[JB_RFC3339_LEN + 1] = "";
    cJSON *o = cJSON_Parse(text);
    const cJSON *port, *vars, *ka;
    int rc;

    memset(l, 0, sizeof(*l));
    if (!cJSON_IsObject(o)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease is not a JSON object");
        goto out;
    }
    if ((rc = get_str(o, "stack_id", l->stack_id, sizeof(l->stack_id), 0, err, errlen)) ||
        (rc = get_str(o, "module", l->module, sizeof(l->module), 0, err, errlen)) ||
        (rc = get_str(o, "requester", l->requester, sizeof(l->requester), 0, err, errlen)) ||
        (rc = get_str(o, "status", l->status, sizeof(l->status), 0, err, errlen)) ||
        (rc = get_str(o, "created_at", created, sizeof(created), 0, err, errlen)) ||
        (rc = get_str(o, "expires_at", expires, sizeof(expires), 0, err, errlen)) ||
        (rc = get_str(o, "deadline", deadline, sizeof(deadline), 2, err, errlen)) ||
        (rc = get_str(o, "host", l->host, sizeof(l->host), 1, err, errlen)) ||
        (rc = get_str(o, "user", l->user, sizeof(l->user), 1, err, errlen)) ||
        (rc = get_str(o, "instance_id", l->instance_id, sizeof(l->instance_id), 1, err, errlen)) ||
        (rc = get_str(o, "host_fingerprint", l->host_fingerprint, sizeof(l->host_fingerprint), 1,
                      err, errlen)) ||
        (rc = get_str(o, "token_hash", l->token_hash, sizeof(l->token_hash), 1, err, errlen)) ||
        (rc = get_str(o, "box_token_hash", l->box_token_hash, sizeof(l->box_token_hash), 2, err,
                      errlen)) ||
        (rc = get_str(o, "revision", l->revision, sizeof(l->revision), 2, err, errlen)) ||
        (rc = get_str(o, "alive_until", alive, sizeof(alive), 2, err, errlen)) ||
        (rc = get_str(o, "max_until", cap, sizeof(cap), 2, err, errlen)))
        goto out;
    if (jb_check_stack_id(l->stack_id, detail, sizeof(detail)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease field stack_id: %s", detail);
        goto out;
    }
    if (strcmp(l->module, "local") != 0 && strcmp(l->module, "aws") != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease field module: unknown module");
        goto out;
    }
    if (jb_parse_rfc3339(created, &l->created_at, detail, sizeof(detail)) != 0 ||
        jb_parse_rfc3339(expires, &l->expires_at, detail, sizeof(detail)) != 0 ||
        (deadline[0] && jb_parse_rfc3339(deadline, &l->deadline, detail, sizeof(detail)) != 0) ||
        (alive[0] && jb_parse_rfc3339(alive, &l->alive_until, detail, sizeof(detail)) != 0) ||
        (cap[0] && jb_parse_rfc3339(cap, &l->max_until, detail, sizeof(detail)) != 0)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease times: %s", detail);
        goto out;
    }
    port = cJSON_GetObjectItemCaseSensitive(o, "port");
    if (!cJSON_IsNumber(port) || port->valuedouble < 0 || port->valuedouble > 65535) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease field port: not a port number");
        goto out;
    }
    l->port = (int)port->valuedouble;
    ka = cJSON_GetObjectItemCaseSensitive(o, "keepalive_s");
    if (ka && (!cJSON_IsNumber(ka) || ka->valuedouble < 1 || ka->valuedouble > 24 * 3600)) {
        rc =
            jb_err(err, errlen, JB_ERR_PARSE, "lease field keepalive_s: not a duration in seconds");
        goto out;
    }
    l->keepalive_s = ka ? (long)ka->valuedouble : 0;
    vars = cJSON_GetObjectItemCaseSensitive(o, "vars");
    if (!cJSON_IsObject(vars)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "lease field vars: missing or not an object");
        goto out;
    }
    l->vars = cJSON_DetachItemFromObjectCaseSensitive(o, "vars");
out:
    cJSON_Delete(o);
    if (rc != 0)
        jb_lease_clear(l);
    return rc;
}

time_t jb_lease_ends_at(const struct jb_lease *l)
{
    /* While creating, the create's own deadline stands in for the
     * keep-alive: heartbeats start once the box is ready. */
    if (l->alive_until != 0 && l->alive_until < l->expires_at && strcmp(l->status, "ready") == 0)
        return l->alive_until;
    return l->expires_at;
}

int jb_lease_sweepable(const struct jb_lease *l, time_t now)
{
    int busy = strcmp(l->status, "creating") == 0 || strcmp(l->status, "destroying") == 0;

    return jb_lease_ends_at(l) <= now || strcmp(l->status, "failed") == 0 ||
           (busy && l->deadline != 0 && l->deadline <= now);
}

const char *jb_lease_end_reason(const struct jb_lease *l, time_t now)
{
    if (strcmp(l->status, "failed") == 0)
        return "failed";
    if (l->expires_at <= now)
        return "expired";
    if (jb_lease_ends_at(l) <= now)
        return "keepalive";
    return "abandoned";
}

cJSON *jb_lease_summary(const struct jb_lease *l, time_t now)
{
    char created[JB_RFC3339_LEN], expires[JB_RFC3339_LEN], deadline[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject();
    const cJSON *permit;

    jb_format_rfc3339(l->created_at, created);
    jb_format_rfc3339(l->expires_at, expires);
    jb_format_rfc3339(l->deadline, deadline);
    if (o && l->deadline && !cJSON_AddStringToObject(o, "deadline", deadline)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (o == NULL || !cJSON_AddStringToObject(o, "stack_id", l->stack_id) ||
        !cJSON_AddStringToObject(o, "module", l->module) ||
        !cJSON_AddStringToObject(o, "requester", l->requester) ||
        !cJSON_AddStringToObject(o, "status", l->status) ||
        !cJSON_AddStringToObject(o, "created_at", created) ||
        !cJSON_AddStringToObject(o, "expires_at", expires) ||
        !cJSON_AddBoolToObject(o, "expired", jb_lease_ends_at(l) <= now) ||
        !cJSON_AddStringToObject(o, "host", l->host) ||
        !cJSON_AddNumberToObject(o, "port", l->port) ||
        !cJSON_AddStringToObject(o, "user", l->user) ||
        !cJSON_AddStringToObject(o, "instance_id", l->instance_id) ||
        !cJSON_AddStringToObject(o, "host_fingerprint", l->host_fingerprint)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (l->alive_until) {
        char alive[JB_RFC3339_LEN];
        jb_format_rfc3339(l->alive_until, alive);
        if (!cJSON_AddStringToObject(o, "alive_until", alive) ||
            !cJSON_AddNumberToObject(o, "keepalive_s", (double)l->keepalive_s)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    if (l->max_until) {
        char cap[JB_RFC3339_LEN];
        jb_format_rfc3339(l->max_until, cap);
        if (!cJSON_AddStringToObject(o, "max_until", cap)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    /* Where the box may forward, when it was limited (--permit-open). */
    permit = l->vars ? cJSON_GetObjectItemCaseSensitive(l->vars, "permit_open") : NULL;
    if (cJSON_IsArray(permit) &&
        !cJSON_AddItemToObject(o, "permit_open", cJSON_Duplicate(permit, 1))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The store's conditional write, its refusals said of the lease. */
static int store_put(const struct jb_state *st, const char *stack_id, const char *json,
                     const char *if_match, char *etag, char *err, size_t errlen)
{
    char key[JB_STACK_ID_MAX + 16];
    int rc;

    if (jb_store_stack_key(stack_id, "lease.json", key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    rc = if_match ? jb_store_put_if_match(st, key, json, strlen(json), "application/json", if_match,
                                          etag, err, errlen)
                  : jb_store_put_if_absent(st, key, json, strlen(json), "application/json", etag,
                                           err, errlen);
    if (rc == JB_ERR_EXISTS)
        jb_err(err, errlen, rc, "stack %s already exists", stack_id);
    else if (rc == JB_ERR_CONFLICT && if_match)
        jb_err(err, errlen, rc, "lease of %s: changed by another process since it was read",
               stack_id);
    else if (rc == JB_ERR_CONFLICT)
        jb_err(err, errlen, rc, "lease of %s: changed by another process as it was written",
               stack_id);
    else if (rc == JB_ERR_NOTFOUND && if_match)
        jb_err(err, errlen, rc, "lease of %s: gone (destroyed meanwhile)", stack_id);
    return rc;
}

/* Each write gets a fresh random revision: two writes never have the same
 * bytes (so never the same ETag), and a retried write knows its own. */
static int put(const struct jb_state *st, struct jb_lease *l, int create, char *err, size_t errlen)
{
    char *json = NULL, old[sizeof(l->revision)], etag[JB_STORE_ETAG_MAX];
    unsigned char rnd[8];
    int rc;

    if (!create && l->etag[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "lease of %s: updated without being read",
                      l->stack_id);
    memcpy(old, l->revision, sizeof(old));
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(l->revision, sizeof(l->revision), rnd, sizeof(rnd));
    if ((rc = jb_lease_to_json(l, &json, err, errlen)) == 0)
        rc = store_put(st, l->stack_id, json, create ? NULL : l->etag, etag, err, errlen);
    free(json);
    if (rc != 0) {
        memcpy(l->revision, old, sizeof(old));
        return rc;
    }
    memcpy(l->etag, etag, sizeof(etag));
    return 0;
}

int jb_lease_create(const struct jb_state *st, struct jb_lease *l, char *err, size_t errlen)
{
    return put(st, l, 1, err, errlen);
}

int jb_lease_update(const struct jb_state *st, struct jb_lease *l, char *err, size_t errlen)
{
    return put(st, l, 0, err, errlen);
}

int jb_lease_get(const struct jb_state *st, const char *stack_id, struct jb_lease *l, char *err,
                 size_t errlen)
{
    struct jb_store_obj o;
    char detail[JB_ERRLEN], key[JB_STACK_ID_MAX + 16], etag[JB_STORE_ETAG_MAX];
    int rc;

    memset(l, 0, sizeof(*l));
    if (jb_store_stack_key(stack_id, "lease.json", key, sizeof(key)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    if ((rc = jb_store_get(st, key, JB_LEASE_MAX_BYTES, 0, &o, err, errlen)) != 0)
        return rc;
    rc = jb_lease_from_json(o.data, l, detail, sizeof(detail));
    memcpy(etag, o.etag, sizeof(etag));
    jb_store_obj_free(&o);
    if (rc != 0)
        return jb_err(err, errlen, rc, "lease of %s: %s", stack_id, detail);
    if (strcmp(l->stack_id, stack_id) != 0) {
        jb_lease_clear(l);
        return jb_err(err, errlen, JB_ERR_PARSE, "lease of %s names another stack", stack_id);
    }
    memcpy(l->etag, etag, sizeof(etag));
    return 0;
}

struct ids {
    char **v;
    size_t n, cap;
};

/* "<id>/lease.json", id a stack id: one stack. */
static int take_id(void *ctx, const char *key)
{
    struct ids *ids = ctx;
    const char *slash = strchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;
    char id[JB_STACK_ID_MAX + 1], **nv;

    if (n == 0 || n > JB_STACK_ID_MAX || strcmp(slash, "/lease.json") != 0)
        return 0;
    memcpy(id, key, n);
    id[n] = '\0';
    if (jb_check_stack_id(id, NULL, 0) != 0)
        return 0;
    if ((nv = jb_grow(ids->v, &ids->cap, ids->n + 1, sizeof(*nv), 64)) == NULL)
        return JB_ERR_NOMEM;
    ids->v = nv;
    if ((nv[ids->n] = strdup(id)) == NULL)
        return JB_ERR_NOMEM;
    ids->n++;
    return 0;
}

int jb_lease_list(const struct jb_state *st, struct jb_lease **out, size_t *n, size_t *bad,
                  char *err, size_t errlen)
{
    struct ids ids = {NULL, 0, 0};
    struct jb_lease *ls = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    *bad = 0;
    if ((rc = jb_store_list(st, "", take_id, &ids, err, errlen)) != 0) {
        if (rc == JB_ERR_NOMEM)
            jb_err(err, errlen, rc, "out of memory");
        goto out;
    }
    if (ids.n > 0 && (ls = calloc(ids.n, sizeof(*ls))) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ids.n; i++) {
        int r = jb_lease_get(st, ids.v[i], &ls[*n], NULL, 0);
        if (r == 0)
            (*n)++;
        else if (r != JB_ERR_NOTFOUND)
            (*bad)++;
    }
    *out = ls;
    ls = NULL;
out:
    free(ls);
    for (size_t i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    return rc;
}

void jb_lease_list_free(struct jb_lease *ls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jb_lease_clear(&ls[i]);
    free(ls);
}

int jb_lease_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen)
{
    char prefix[JB_STACK_ID_MAX + 2];

    if (jb_check_stack_id(stack_id, NULL, 0) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    snprintf(prefix, sizeof(prefix), "%s/", stack_id);
    return jb_store_purge(st, prefix, err, errlen);
}
