/* Test driver: reads one request description as JSON on stdin, signs it with
 * jb_sigv4_sign and prints the headers (and canonical forms) as JSON.
 *
 * In: {"method","host","path","query":[[k,v|null],...],"headers":[[k,v],...],
 *      "body" (text) | "body_hex","payload_hash","service","region","when",
 *      "access_key","secret_key","token"}
 * Test credentials only: the secret is read from stdin, never argv. */
#include "base/err.h"
#include "crypto/keys.h"
#include "aws/sigv4.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int pairs(const cJSON *o, const char *k, struct jb_kv **out, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k), *e;
    size_t i = 0;

    *out = NULL;
    *n = 0;
    if (a == NULL)
        return 0;
    if (!cJSON_IsArray(a))
        return -1;
    *out = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(**out));
    cJSON_ArrayForEach(e, a)
    {
        const cJSON *kk = cJSON_GetArrayItem(e, 0), *vv = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsString(kk) || !(cJSON_IsString(vv) || cJSON_IsNull(vv)))
            return -1;
        (*out)[i].key = kk->valuestring;
        (*out)[i].value = cJSON_IsString(vv) ? vv->valuestring : NULL;
        i++;
    }
    *n = i;
    return 0;
}

int main(void)
{
    static char in[1 << 20];
    char err[JB_ERRLEN] = "", *canonical = NULL, *sts = NULL, *wire = NULL, *outs;
    size_t len = fread(in, 1, sizeof(in) - 1, stdin);
    struct jb_sigv4_request req = {0};
    struct jb_sigv4_result res;
    struct jb_aws_creds creds = {0};
    struct jb_kv *q = NULL, *h = NULL;
    unsigned char *body = NULL;
    cJSON *j, *o;
    const cJSON *when;
    const char *secret;
    int rc = 1;

    in[len] = '\0';
    if ((j = cJSON_Parse(in)) == NULL) {
        fprintf(stderr, "sigv4_sign: stdin is not JSON\n");
        return 2;
    }
    req.method = str(j, "method");
    req.host = str(j, "host");
    req.path = str(j, "path");
    req.service = str(j, "service");
    req.region = str(j, "region");
    req.payload_hash = str(j, "payload_hash");
    when = cJSON_GetObjectItemCaseSensitive(j, "when");
    req.when = cJSON_IsNumber(when) ? (time_t)when->valuedouble : 0;
    if (pairs(j, "query", &q, &req.nquery) != 0 || pairs(j, "headers", &h, &req.nheaders) != 0) {
        fprintf(stderr, "sigv4_sign: query/headers must be [[key, value], ...]\n");
        goto out;
    }
    req.query = q;
    req.headers = h;
    if (str(j, "body_hex") != NULL) {
        const char *hx = str(j, "body_hex");
        size_t n = strlen(hx) / 2;
        body = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            sscanf(hx + 2 * i, "%2hhx", &body[i]);
        req.body = body;
        req.bodylen = n;
    } else if (str(j, "body") != NULL) {
        req.body = str(j, "body");
        req.bodylen = strlen(str(j, "body"));
    }
    snprintf(creds.access_key_id, sizeof(creds.access_key_id), "%s",
             str(j, "access_key") ? str(j, "access_key") : "");
    if (jb_keys_init(err, sizeof(err)) != 0)
        goto out;
    secret = str(j, "secret_key") ? str(j, "secret_key") : "";
    creds.secret_access_key = jb_secret_alloc(strlen(secret) + 1);
    strcpy(creds.secret_access_key, secret);
    if (str(j, "token") != NULL) {
        creds.session_token = jb_secret_alloc(strlen(str(j, "token")) + 1);
        strcpy(creds.session_token, str(j, "token"));
    }
    if (jb_sigv4_sign(&req, &creds, &res, err, sizeof(err)) != 0 ||
        jb_sigv4_canonical(&req, &creds, &canonical, &sts, err, sizeof(err)) != 0 ||
        jb_sigv4_wire_path(req.service, req.path, &wire) != 0) {
        fprintf(stderr, "sigv4_sign: %s\n", err);
        rc = 2;
        goto out;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "authorization", res.authorization);
    cJSON_AddStringToObject(o, "x-amz-date", res.amz_date);
    if (res.send_content_sha256)
        cJSON_AddStringToObject(o, "x-amz-content-sha256", res.payload_hash);
    if (creds.session_token != NULL)
        cJSON_AddStringToObject(o, "x-amz-security-token", creds.session_token);
    cJSON_AddStringToObject(o, "signature", res.signature);
    cJSON_AddStringToObject(o, "canonical_request", canonical);
    cJSON_AddStringToObject(o, "string_to_sign", sts);
    cJSON_AddStringToObject(o, "wire_path", wire);
    outs = cJSON_PrintUnformatted(o);
    printf("%s\n", outs);
    free(outs);
    cJSON_Delete(o);
    rc = 0;
out:
    jb_aws_creds_clear(&creds);
    free(canonical);
    free(sts);
    free(wire);
    free(body);
    free(q);
    free(h);
    cJSON_Delete(j);
    return rc;
}
