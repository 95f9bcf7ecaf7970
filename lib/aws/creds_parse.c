/* What every source hands back, checked before anything is kept: the JSON
 * answer of credential_process, the container endpoint and IMDS, its
 * Expiration time, header-safe tokens, and the key values themselves. */
#include "aws/creds_int.h"

#include "base/err.h"
#include "base/parse.h"
#include "base/secret.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int secret_dup(char **dst, const char *src, size_t len)
{
    if ((*dst = jb_secret_alloc(len + 1)) == NULL)
        return -1;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    return 0;
}

int jb_creds_fill(struct jb_aws_creds *out, const char *what, const char *akid, size_t akidlen,
                  const char *secret, size_t slen, const char *token, size_t tlen,
                  time_t expiration, const char *source, char *err, size_t errlen)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    if (akidlen < 4 || akidlen >= JB_AWS_KEY_ID_MAX)
        return jb_err(err, errlen, JB_ERR_AUTH, "%s: access key id has a bad length", what);
    for (i = 0; i < akidlen; i++)
        if (!isalnum((unsigned char)akid[i]))
            return jb_err(err, errlen, JB_ERR_AUTH, "%s: access key id holds invalid characters",
                          what);
    if (slen == 0)
        return jb_err(err, errlen, JB_ERR_AUTH, "%s: secret access key is empty", what);
    for (i = 0; i < slen; i++)
        if ((unsigned char)secret[i] <= ' ' || (unsigned char)secret[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_AUTH,
                          "%s: secret access key holds invalid characters", what);
    for (i = 0; token != NULL && i < tlen; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_AUTH, "%s: session token holds invalid characters",
                          what);
    memcpy(out->access_key_id, akid, akidlen);
    out->access_key_id[akidlen] = '\0';
    if (jb_secret_init(err, errlen) != 0 ||
        secret_dup(&out->secret_access_key, secret, slen) != 0 ||
        (token != NULL && tlen > 0 && secret_dup(&out->session_token, token, tlen) != 0)) {
        jb_aws_creds_clear(out);
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of locked memory", what);
    }
    out->expiration = expiration;
    out->source = source;
    return 0;
}

int jb_creds_header_safe(const char *v, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
            return 0;
    return len > 0;
}

int jb_creds_parse_time(const char *s, time_t *t)
{
    struct tm tm = {0};
    int n = 0, oh = 0, om = 0;
    long off = 0;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) &&
               strlen(p) == 6 && oh < 24 && om < 60) {
        off = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
    } else {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = timegm(&tm) - off;
    return 0;
}

/* cJSON copies strings into malloc'd memory: wipe them before release. */
static void json_wipe_delete(cJSON *j)
{
    cJSON *c;

    if (j == NULL)
        return;
    for (c = j->child; c != NULL; c = c->next) {
        if (cJSON_IsString(c) && c->valuestring != NULL)
            jb_secret_wipe(c->valuestring, strlen(c->valuestring));
    }
    cJSON_Delete(j);
}

int jb_creds_parse_json(const char *what, const char *body, size_t len, const char *token_key,
                        int want_version, time_t now, const char *source, struct jb_aws_creds *out,
                        char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *a, *s, *t, *e, *v;
    time_t exp = 0;
    char when[JB_RFC3339_LEN];
    int rc;

    if (!cJSON_IsObject(j)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: answer is not a JSON object", what);
        goto out;
    }
    if (want_version) {
        v = cJSON_GetObjectItemCaseSensitive(j, "Version");
        if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: Version is missing or not 1", what);
            goto out;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "Code");
    if (v != NULL && (!cJSON_IsString(v) || strcmp(v->valuestring, "Success") != 0)) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "%s: Code is '%.60s', not Success", what,
                    cJSON_IsString(v) ? v->valuestring : "?");
        goto out;
    }
    a = cJSON_GetObjectItemCaseSensitive(j, "AccessKeyId");
    s = cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey");
    t = cJSON_GetObjectItemCaseSensitive(j, token_key);
    e = cJSON_GetObjectItemCaseSensitive(j, "Expiration");
    if (!cJSON_IsString(a) || !cJSON_IsString(s)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: %s is missing or not a string", what,
                    cJSON_IsString(a) ? "SecretAccessKey" : "AccessKeyId");
        goto out;
    }
    if (t != NULL && !cJSON_IsString(t) && !cJSON_IsNull(t)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: %s is not a string", what, token_key);
        goto out;
    }
    if (e != NULL && !cJSON_IsNull(e)) {
        if (!cJSON_IsString(e) || jb_creds_parse_time(e->valuestring, &exp) != 0) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: Expiration is not an RFC 3339 time", what);
            goto out;
        }
        if (exp <= now) {
            jb_format_rfc3339(exp, when);
            rc = jb_err(err, errlen, JB_ERR_AUTH, "%s: credentials expired at %s", what, when);
            goto out;
        }
    }
    rc = jb_creds_fill(out, what, a->valuestring, strlen(a->valuestring), s->valuestring,
                       strlen(s->valuestring), cJSON_IsString(t) ? t->valuestring : NULL,
                       cJSON_IsString(t) ? strlen(t->valuestring) : 0, exp, source, err, errlen);
out:
    json_wipe_delete(j);
    return rc;
}
