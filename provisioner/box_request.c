/* A box through the build function: a fresh X25519 pair, the function
 * asked for a box with the public half, the sealed key and token opened
 * with the private half, which never leaves locked memory. */
#include "box.h"

#include "base/err.h"
#include "net/http.h"
#include "net/myip.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "aws/lambda_invoke.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/cli.h"

#define INVOKE_TIMEOUT_MS (16L * 60 * 1000) /* Lambda's longest run, and a minute */

static int invalid(const char **field, const char *name)
{
    *field = name;
    return JB_ERR_INVALID;
}

int jb_box_request_check(const struct jb_box_request_args *a, struct jb_box_request *br,
                         const char **field, char *err, size_t errlen)
{
    long ttl;

    memset(br, 0, sizeof(*br));
    *field = NULL;
    if (a->function == NULL) {
        jb_err(err, errlen, JB_ERR_INVALID, "required (the build function's name or ARN)");
        return invalid(field, "--function");
    }
    if (jb_lambda_check_name(a->function, err, errlen) != 0)
        return invalid(field, "--function");
    if (a->ttl && jb_parse_duration(a->ttl, &ttl, err, errlen) != 0)
        return invalid(field, "--ttl");
    if (a->ttl && ttl < JB_TTL_MIN_S) {
        jb_err(err, errlen, JB_ERR_INVALID, "at least 10s (the box must be up before it expires)");
        return invalid(field, "--ttl");
    }
    if (a->keepalive && strcmp(a->keepalive, "0") != 0) {
        if (jb_parse_duration(a->keepalive, &br->keepalive_s, err, errlen) != 0)
            return invalid(field, "--keepalive");
        if (br->keepalive_s < JB_TTL_MIN_S || br->keepalive_s > JB_TTL_MAX_S) {
            jb_err(err, errlen, JB_ERR_INVALID, "0 (none), or from 10s to 24h");
            return invalid(field, "--keepalive");
        }
        br->keepalive = a->keepalive;
    }
    if (a->allow_cidr && a->allow_my_ip) {
        jb_err(err, errlen, JB_ERR_INVALID, "give either --allow-cidr or --allow-my-ip, not both");
        return invalid(field, "--allow-my-ip");
    }
    if (a->allow_cidr == NULL && !a->allow_my_ip) {
        jb_err(err, errlen, JB_ERR_INVALID,
               "required (this machine's address as the jump box sees it, e.g. "
               "203.0.113.7/32, or --allow-my-ip)");
        return invalid(field, "--allow-cidr");
    }
    if (a->allow_cidr && jb_parse_cidr(a->allow_cidr, br->cidr, sizeof(br->cidr), err, errlen) != 0)
        return invalid(field, "--allow-cidr");
    if (jb_cli_requester(a->settings, a->requester, br->requester, sizeof(br->requester), err,
                         errlen) != 0)
        return invalid(field, "--requester");
    br->settings = a->settings;
    br->function = a->function;
    br->ttl = a->ttl;
    br->allow_my_ip = a->allow_my_ip;
    if (a->permit)
        br->permit = *a->permit;
    return 0;
}

int jb_box_my_ip(const struct jb_settings *s, char *cidr, size_t len, char *err, size_t errlen)
{
    int rc;

    if ((rc = jb_http_init(err, errlen)) != 0 ||
        (rc = jb_my_ip_cidr(s->checkip_url, cidr, len, err, errlen)) != 0)
        return rc;
    return 0;
}

static int get_str(const cJSON *o, const char *name, size_t max, const char **out, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    char inner[JB_ERRLEN];

    if (!cJSON_IsString(v))
        return jb_err(err, errlen, JB_ERR_PARSE, "answer: %s: missing or not a string", name);
    if (jb_check_label(v->valuestring, max, inner, sizeof(inner)) != 0)
        return jb_err(err, errlen, JB_ERR_PARSE, "answer: %s: %s", name, inner);
    *out = v->valuestring;
    return 0;
}

/* What goes into ssh_config must not be able to add a directive. */
static int tame(const char *s)
{
    return strpbrk(s, " \t\"'#=") == NULL;
}

/* Checks the function's answer and opens its seals into res. */
static int take_answer(const char *payload, const char *pk_b64, const unsigned char *sk,
                       struct jb_create_result *res, char *err, size_t errlen)
{
    cJSON *o = cJSON_Parse(payload);
    const cJSON *port;
    const char *stack_id, *module, *host, *user, *iid, *pub, *hpub, *kh, *exp, *skey, *stok;
    struct jb_lease *l = &res->lease;
    unsigned char pk[JB_ED25519_PK_LEN], hpk[JB_ED25519_PK_LEN];
    char *key = NULL, want_kh[JB_KNOWN_HOSTS_MAX], inner[JB_ERRLEN];
    size_t keylen = 0, toklen = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    if (!cJSON_IsObject(o)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "answer: not a JSON object");
        goto out;
    }
    if ((rc = get_str(o, "stack_id", JB_STACK_ID_MAX, &stack_id, err, errlen)) != 0 ||
        (rc = get_str(o, "module", 15, &module, err, errlen)) != 0 ||
        (rc = get_str(o, "host", 255, &host, err, errlen)) != 0 ||
        (rc = get_str(o, "user", 64, &user, err, errlen)) != 0 ||
        (rc = get_str(o, "instance_id", 128, &iid, err, errlen)) != 0 ||
        (rc = get_str(o, "public_key", JB_PUBLIC_LINE_MAX - 1, &pub, err, errlen)) != 0 ||
        (rc = get_str(o, "host_public_key", JB_PUBLIC_LINE_MAX - 1, &hpub, err, errlen)) != 0 ||
        (rc = get_str(o, "known_hosts", JB_KNOWN_HOSTS_MAX - 1, &kh, err, errlen)) != 0 ||
        (rc = get_str(o, "expires_at", JB_RFC3339_LEN - 1, &exp, err, errlen)) != 0 ||
        (rc = get_str(o, "sealed_private_key", 1 << 20, &skey, err, errlen)) != 0 ||
        (rc = get_str(o, "sealed_teardown_token", 4096, &stok, err, errlen)) != 0)
        goto out;
    port = cJSON_GetObjectItemCaseSensitive(o, "port");
    if (jb_check_stack_id(stack_id, inner, sizeof(inner)) != 0 || !tame(host) || !tame(user) ||
        !cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
        port->valuedouble != (int)port->valuedouble ||
        jb_parse_rfc3339(exp, &l->expires_at, inner, sizeof(inner)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "answer: stack_id, host, user, port or expires_at is not usable");
        goto out;
    }
    if (jb_key_parse_public_line(pub, pk, inner, sizeof(inner)) != 0 ||
        jb_key_parse_public_line(hpub, hpk, inner, sizeof(inner)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "answer: public_key or host_public_key: %s", inner);
        goto out;
    }
    /* The pin is rebuilt from the host key, not taken as sent. */
    jb_key_known_hosts_line(host, (int)port->valuedouble, hpk, want_kh, sizeof(want_kh));
    if (strcmp(want_kh, kh) != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "answer: known_hosts does not match host, port and host_public_key");
        goto out;
    }
    if ((rc = jb_seal_open(skey, pk_b64, sk, &key, &keylen, inner, sizeof(inner))) != 0 ||
        (rc = jb_key_parse_private_text(key, keylen, &res->user_key, inner, sizeof(inner))) != 0) {
        rc = jb_err(err, errlen, rc, "answer: sealed_private_key: %s", inner);
        goto out;
    }
    if (sodium_memcmp(res->user_key->pk, pk, sizeof(pk)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "answer: sealed_private_key does not belong to public_key");
        goto out;
    }
    if ((rc = jb_seal_open(stok, pk_b64, sk, &res->teardown_token, &toklen, inner,
                           sizeof(inner))) != 0) {
        rc = jb_err(err, errlen, rc, "answer: sealed_teardown_token: %s", inner);
        goto out;
    }
    if (toklen != JB_TOKEN_HEX_LEN || strspn(res->teardown_token, "0123456789abcdef") != toklen) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "answer: the teardown token is not 64 hex digits");
        goto out;
    }
    snprintf(l->stack_id, sizeof(l->stack_id), "%s", stack_id);
    snprintf(l->module, sizeof(l->module), "%s", module);
    snprintf(l->host, sizeof(l->host), "%s", host);
    snprintf(l->user, sizeof(l->user), "%s", user);
    snprintf(l->instance_id, sizeof(l->instance_id), "%s", iid);
    l->port = (int)port->valuedouble;
    if ((l->vars = cJSON_CreateObject()) == NULL ||
        !cJSON_AddStringToObject(l->vars, "expires_at", exp)) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(res->public_key, sizeof(res->public_key), "%s", pub);
    snprintf(res->host_public_key, sizeof(res->host_public_key), "%s", hpub);
    snprintf(res->known_hosts, sizeof(res->known_hosts), "%s", kh);
    jb_key_fingerprint(hpk, res->host_fingerprint);
out:
    jb_secret_free(key);
    cJSON_Delete(o);
    return rc;
}

static int add_permit(cJSON *ev, const struct jb_permit *p)
{
    cJSON *list = jb_permit_json(p);

    if (list && cJSON_AddItemToObject(ev, "permit_open", list))
        return 0;
    cJSON_Delete(list);
    return -1;
}

int jb_box_request_make(struct jb_box_request *br, jb_progress_fn progress, void *pctx,
                        struct jb_create_result *res, int *refused, char *err, size_t errlen)
{
    char pk_b64[JB_SEAL_KEY_B64_LEN], *event = NULL, detail[JB_CIDR_MAX + 64];
    unsigned char *sk = NULL;
    struct jb_lambda_result lr;
    struct jb_http_options http = {.total_timeout_ms = INVOKE_TIMEOUT_MS, .max_attempts = 1};
    struct jb_lambda_config lc = {.http = &http};
    cJSON *ev = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&lr, 0, sizeof(lr));
    *refused = 0;
    if (br->allow_my_ip) {
        if ((rc = jb_box_my_ip(br->settings, br->cidr, sizeof(br->cidr), err, errlen)) != 0) {
            char inner[JB_ERRLEN];
            snprintf(inner, sizeof(inner), "%s", err);
            rc = jb_err(err, errlen, rc, "--allow-my-ip: %s", inner);
            goto out;
        }
        snprintf(detail, sizeof(detail), "%s (this machine's public address)", br->cidr);
        progress(pctx, "allowing", detail);
    }
    if ((rc = jb_http_init(err, errlen)) != 0 ||
        (rc = jb_seal_keypair_new(pk_b64, &sk, err, errlen)) != 0)
        goto out;
    ev = cJSON_CreateObject();
    if (ev == NULL || !cJSON_AddStringToObject(ev, "action", "create") ||
        (br->ttl && !cJSON_AddStringToObject(ev, "ttl", br->ttl)) ||
        (br->keepalive && !cJSON_AddStringToObject(ev, "keepalive", br->keepalive)) ||
        !cJSON_AddStringToObject(ev, "allow_cidr", br->cidr) ||
        !cJSON_AddStringToObject(ev, "requester", br->requester) ||
        !cJSON_AddStringToObject(ev, "recipient_key", pk_b64) ||
        (br->permit.n > 0 && add_permit(ev, &br->permit) != 0) ||
        (event = cJSON_PrintUnformatted(ev)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    progress(pctx, "invoking", br->function);
    rc = jb_lambda_invoke(&lc, br->function, event, strlen(event), JB_LAMBDA_REQUEST_RESPONSE, &lr,
                          err, errlen);
    if (rc != 0) {
        *refused = lr.function_error && lr.payload &&
                   strstr(lr.payload, "\"jumpbox.InvalidRequest\"") != NULL;
        goto out;
    }
    rc = take_answer(lr.payload, pk_b64, sk, res, err, errlen);
out:
    jb_lambda_result_free(&lr);
    jb_secret_free(sk);
    cJSON_Delete(ev);
    free(event);
    return rc;
}
