/* `provisioner request`: the backup VM's side of the build function.  It
 * makes a fresh X25519 pair, asks the function for a jump box with the
 * public half, and opens the sealed key and token with the private half,
 * which never leaves locked memory. */
#include "cmd.h"

#include "cli.h"
#include "err.h"
#include "http.h"
#include "myip.h"
#include "keys.h"
#include "lambda.h"
#include "out.h"
#include "parse.h"
#include "permit.h"
#include "seal.h"
#include "stack.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INVOKE_TIMEOUT_MS (16L * 60 * 1000) /* Lambda's longest run, and a minute */

static const char usage[] =
    "usage: provisioner request --function NAME (--allow-cidr CIDR | --allow-my-ip) --out DIR\n"
    "                           [--ttl DURATION] [--requester TEXT]\n"
    "                           [--permit-open HOST:PORT]...\n"
    "\n"
    "Asks the build Lambda function (SigV4, credentials and region the way the AWS\n"
    "CLI finds them) for a jump box.  The private key and the teardown token come\n"
    "back sealed to a key pair made for this request only; DIR gets id_ed25519\n"
    "(0600), id_ed25519.pub, known_hosts, ssh_config (Host = stack id) and\n"
    "teardown_token (0600).  Prints the create JSON with those paths.\n"
    "--allow-my-ip asks JUMPBOX_CHECKIP_URL (default " JB_CHECKIP_DEFAULT_URL ")\n"
    "for this machine's public address and allows only that.\n"
    "--permit-open HOST:PORT (repeatable, at most 16; HOST a DNS name, IPv4 or\n"
    "[IPv6], PORT 1-65535 or *) limits where the box forwards; the function may\n"
    "require it and bounds it by its JUMPBOX_ALLOWED_TARGETS.\n"
    "Exit status: 0 done, 1 failed, 2 bad input (also when the function refused it).\n";

static int bad(const char *field, const char *detail)
{
    fprintf(stderr, "provisioner request: %s: %s\n", field, detail);
    return 2;
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

int cmd_request(int argc, char **argv)
{
    static const struct option opts[] = {{"function", required_argument, NULL, 'f'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"allow-cidr", required_argument, NULL, 'a'},
                                         {"allow-my-ip", no_argument, NULL, 'm'},
                                         {"requester", required_argument, NULL, 'r'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"permit-open", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *function = NULL, *ttl_s = NULL, *cidr_in = NULL, *requester = NULL;
    const char *outdir = NULL;
    char err[JB_ERRLEN], cidr[JB_CIDR_MAX], req_buf[160];
    char pk_b64[JB_SEAL_KEY_B64_LEN], *event = NULL;
    unsigned char *sk = NULL;
    struct jb_out_dir od;
    struct jb_permit permit = {0};
    struct jb_create_result res;
    struct jb_lambda_result lr;
    struct jb_http_options http = {.total_timeout_ms = INVOKE_TIMEOUT_MS, .max_attempts = 1};
    struct jb_lambda_config lc = {.http = &http};
    cJSON *ev = NULL;
    long ttl;
    int c, rc, status = 1, my_ip = 0;

    memset(&res, 0, sizeof(res));
    memset(&lr, 0, sizeof(lr));
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            function = optarg;
            break;
        case 't':
            ttl_s = optarg;
            break;
        case 'a':
            cidr_in = optarg;
            break;
        case 'm':
            my_ip = 1;
            break;
        case 'r':
            requester = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'P':
            if (jb_permit_add(&permit, optarg, err, sizeof(err)) != 0)
                return bad("--permit-open", err);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return bad(argv[optind - 1], "unknown option, or its value is missing (see --help)");
        }
    }
    if (optind < argc)
        return bad(argv[optind], "unexpected argument");
    if (function == NULL)
        return bad("--function", "required (the build function's name or ARN)");
    if (jb_lambda_check_name(function, err, sizeof(err)) != 0)
        return bad("--function", err);
    if (ttl_s && jb_parse_duration(ttl_s, &ttl, err, sizeof(err)) != 0)
        return bad("--ttl", err);
    if (ttl_s && ttl < JB_TTL_MIN_S)
        return bad("--ttl", "at least 10s (the box must be up before it expires)");
    if (cidr_in && my_ip)
        return bad("--allow-my-ip", "give either --allow-cidr or --allow-my-ip, not both");
    if (cidr_in == NULL && !my_ip)
        return bad("--allow-cidr", "required (this machine's address as the jump box sees it, "
                                   "e.g. 203.0.113.7/32, or --allow-my-ip)");
    if (cidr_in && jb_parse_cidr(cidr_in, cidr, sizeof(cidr), err, sizeof(err)) != 0)
        return bad("--allow-cidr", err);
    if (requester == NULL)
        requester = jb_cli_default_requester(req_buf, sizeof(req_buf));
    if (jb_check_label(requester, 128, err, sizeof(err)) != 0)
        return bad("--requester", err);
    if (outdir == NULL)
        return bad("--out", "required (where the key, known_hosts and ssh_config go)");
    if (jb_out_dir_check(outdir, &od, err, sizeof(err)) != 0)
        return bad("--out", err);

    if (my_ip) {
        /* Not bad input when it fails: the network is, so exit 1. */
        if (jb_http_init(err, sizeof(err)) != 0 ||
            jb_my_ip_cidr(cidr, sizeof(cidr), err, sizeof(err)) != 0) {
            fprintf(stderr, "provisioner request: --allow-my-ip: %s\n", err);
            return 1;
        }
        fprintf(stderr, "provisioner request: allowing %s (this machine's public address)\n", cidr);
    }
    if (jb_http_init(err, sizeof(err)) != 0 ||
        jb_seal_keypair_new(pk_b64, &sk, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s\n", err);
        goto out;
    }
    ev = cJSON_CreateObject();
    if (ev == NULL || !cJSON_AddStringToObject(ev, "action", "create") ||
        (ttl_s && !cJSON_AddStringToObject(ev, "ttl", ttl_s)) ||
        !cJSON_AddStringToObject(ev, "allow_cidr", cidr) ||
        !cJSON_AddStringToObject(ev, "requester", requester) ||
        !cJSON_AddStringToObject(ev, "recipient_key", pk_b64) ||
        (permit.n > 0 && add_permit(ev, &permit) != 0) ||
        (event = cJSON_PrintUnformatted(ev)) == NULL) {
        fputs("provisioner request: out of memory\n", stderr);
        goto out;
    }
    fprintf(stderr, "provisioner request: invoking %s\n", function);
    rc = jb_lambda_invoke(&lc, function, event, strlen(event), JB_LAMBDA_REQUEST_RESPONSE, &lr, err,
                          sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "provisioner request: %s\n", err);
        if (lr.function_error && lr.payload && strstr(lr.payload, "\"jumpbox.InvalidRequest\""))
            status = 2;
        goto out;
    }
    if (take_answer(lr.payload, pk_b64, sk, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s\n", err);
        goto out;
    }
    if (jb_out_dir_write(&od, &res, err, sizeof(err)) != 0 ||
        jb_out_print_create(&res, &od, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s; stack %s stays until it expires\n", err,
                res.lease.stack_id);
        goto out;
    }
    status = 0;
out:
    jb_create_result_clear(&res);
    jb_lambda_result_free(&lr);
    jb_secret_free(sk);
    cJSON_Delete(ev);
    free(event);
    return status;
}
