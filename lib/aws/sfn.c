/* Step Functions task callbacks over the JSON 1.0 protocol. */
#include "aws/sfn.h"

#include "base/err.h"
#include "base/secret.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlongs, surrogates or code points above U+10FFFF), 0 when there is
 * none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t want, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        want = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        want = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        want = 4;
    else
        return 0;
    if (n < want)
        return 0;
    for (i = 1; i < want; i++)
        if (!is_cont(s[i]))
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return want;
}

static int utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        if ((n = utf8_seq(u + i, len - i)) == 0)
            return 0;
        i += n;
    }
    return 1;
}

size_t jb_sfn_utf8_head(const char *s, size_t len, size_t max)
{
    size_t n = max, back;

    if (len <= max)
        return len;
    /* s[n] is the first byte left out: while it continues a sequence, the
     * cut is inside that sequence.  More than 3 is not UTF-8 at all. */
    for (back = 0; n > 0 && back < 3 && is_cont((unsigned char)s[n]); back++)
        n--;
    return is_cont((unsigned char)s[n]) ? max : n;
}

size_t jb_sfn_utf8_tail(const char *s, size_t len, size_t max)
{
    size_t off, fwd;

    if (len <= max)
        return 0;
    off = len - max;
    for (fwd = 0; off < len && fwd < 3 && is_cont((unsigned char)s[off]); fwd++)
        off++;
    return off < len && is_cont((unsigned char)s[off]) ? len - max : off;
}

int jb_sfn_check_token(const char *token, char *err, size_t errlen)
{
    size_t n = token ? strlen(token) : 0, i;

    if (n == 0 || n > JB_SFN_TOKEN_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "--task-token: %zu bytes, must be 1 to %d", n,
                      JB_SFN_TOKEN_MAX);
    for (i = 0; i < n; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "--task-token: byte %zu is not printable ASCII (no spaces)", i + 1);
    return 0;
}

/* A copy of s[0..len) in which every byte that is not part of well-formed
 * UTF-8 is '?', so the length (and so the API's limit) is kept and the JSON
 * we send is valid: a command's stderr may hold anything. */
static char *utf8_clean(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t i = 0, n;

    if (out == NULL)
        return NULL;
    while (i < len) {
        if ((n = utf8_seq((const unsigned char *)s + i, len - i)) == 0) {
            out[i++] = '?';
            continue;
        }
        memcpy(out + i, s + i, n);
        i += n;
    }
    out[len] = '\0';
    return out;
}

/* Makes err one printable line (messages come from outside). */
static void one_line(char *err)
{
    for (char *p = err; err && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static int refused_token(const char *code)
{
    return strcmp(code, "TaskTimedOut") == 0 || strcmp(code, "TaskDoesNotExist") == 0 ||
           strcmp(code, "InvalidToken") == 0;
}

static int answer_error(const char *action, const struct jb_http_response *resp, char *err,
                        size_t errlen)
{
    int rc;

    if (refused_token(resp->aws_code))
        rc = jb_err(err, errlen, JB_ERR_NOTFOUND,
                    "states %s: the service refused the task token (%s%s%s): the state machine "
                    "is no longer waiting for this job",
                    action, resp->aws_code, resp->aws_message[0] ? ": " : "", resp->aws_message);
    else
        rc = jb_err(err, errlen, resp->status == 403 ? JB_ERR_AUTH : JB_ERR_AWS,
                    "states %s: HTTP %ld%s%s%s%s (after %d attempt%s)", action, resp->status,
                    resp->aws_code[0] ? " " : "", resp->aws_code, resp->aws_message[0] ? ": " : "",
                    resp->aws_message, resp->attempts, resp->attempts == 1 ? "" : "s");
    one_line(err);
    return rc;
}

/* Sends body (a JSON object) as action; wipes nothing: a task token is a
 * capability to end one task, kept out of error text, not a credential. */
static int call(const struct jb_sfn_config *cfg, const char *action, const char *body, char *err,
                size_t errlen)
{
    static const struct jb_sfn_config none;
    struct jb_http_response resp;
    char region[JB_AWS_REGION_MAX], endpoint[512], target[64], inner[JB_ERRLEN];
    int rc;

    memset(&resp, 0, sizeof(resp));
    if (cfg == NULL)
        cfg = &none;
    if (cfg->region) {
        snprintf(region, sizeof(region), "%s", cfg->region);
    } else if ((rc = jb_aws_region(NULL, region, sizeof(region), err, errlen)) != 0) {
        return rc;
    }
    /* Not jb_aws_endpoint("states"): botocore's variable is named after the
     * serviceId, SFN, not the signing name. */
    if ((rc = jb_aws_endpoint_for("sfn", "states", region, endpoint, sizeof(endpoint), err,
                                  errlen)) != 0)
        return rc;
    struct jb_creds_provider *creds = cfg->creds;
    if (creds == NULL && (rc = jb_creds_shared(&creds, err, errlen)) != 0)
        return rc;
    snprintf(target, sizeof(target), "AWSStepFunctions.%s", action);
    const struct jb_kv h[] = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", target},
    };
    struct jb_aws_call c = {
        .service = "states",
        .region = region,
        .method = "POST",
        .endpoint = endpoint,
        .path = "/",
        .headers = h,
        .nheaders = 2,
        .body = body,
        .bodylen = strlen(body),
        .creds = creds,
        .opts = cfg->http,
    };
    if ((rc = jb_aws_request(&c, &resp, inner, sizeof(inner))) != 0) {
        rc = jb_err(err, errlen, rc, "states %s: %s", action, inner);
        one_line(err);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299)
        rc = answer_error(action, &resp, err, errlen);
out:
    jb_http_response_free(&resp);
    return rc;
}

/* {"taskToken": token, more...} printed; NULL when out of memory. */
static char *request_body(const char *token, const char *k1, const char *v1, const char *k2,
                          const char *v2)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;

    if (o == NULL || cJSON_AddStringToObject(o, "taskToken", token) == NULL ||
        (k1 && cJSON_AddStringToObject(o, k1, v1) == NULL) ||
        (k2 && cJSON_AddStringToObject(o, k2, v2) == NULL))
        goto out;
    s = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return s;
}

static void free_body(char *s)
{
    if (s) {
        jb_secret_wipe(s, strlen(s)); /* holds the token */
        cJSON_free(s);
    }
}

int jb_sfn_send_success(const struct jb_sfn_config *cfg, const char *token, const char *output_json,
                        char *err, size_t errlen)
{
    size_t n = output_json ? strlen(output_json) : 0;
    const char *end = NULL;
    cJSON *doc;
    char *body;
    int rc;

    if ((rc = jb_sfn_check_token(token, err, errlen)) != 0)
        return rc;
    if (n > JB_SFN_OUTPUT_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "states SendTaskSuccess: output is %zu bytes, more than the %u allowed", n,
                      JB_SFN_OUTPUT_MAX);
    if (n == 0 || !utf8_valid(output_json, n))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "states SendTaskSuccess: output is not JSON (empty or not UTF-8)");
    doc = cJSON_ParseWithOpts(output_json, &end, 1);
    cJSON_Delete(doc);
    if (doc == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "states SendTaskSuccess: output is not JSON");
    if ((body = request_body(token, "output", output_json, NULL, NULL)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "states: out of memory");
    rc = call(cfg, "SendTaskSuccess", body, err, errlen);
    free_body(body);
    return rc;
}

int jb_sfn_send_failure(const struct jb_sfn_config *cfg, const char *token, const char *error,
                        const char *cause, char *err, size_t errlen)
{
    char *e = NULL, *c = NULL, *body = NULL;
    int rc;

    if ((rc = jb_sfn_check_token(token, err, errlen)) != 0)
        return rc;
    if (error) {
        size_t len = strlen(error);
        e = utf8_clean(error, jb_sfn_utf8_head(error, len, JB_SFN_ERROR_MAX));
    }
    if (cause) {
        size_t len = strlen(cause), off = jb_sfn_utf8_tail(cause, len, JB_SFN_CAUSE_MAX);
        c = utf8_clean(cause + off, len - off);
    }
    if ((error && e == NULL) || (cause && c == NULL) ||
        (body = request_body(token,
                             e   ? "error"
                             : c ? "cause"
                                 : NULL,
                             e ? e : c, e && c ? "cause" : NULL, c)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "states: out of memory");
        goto out;
    }
    rc = call(cfg, "SendTaskFailure", body, err, errlen);
out:
    free_body(body);
    free(e);
    free(c);
    return rc;
}

int jb_sfn_send_heartbeat(const struct jb_sfn_config *cfg, const char *token, char *err,
                          size_t errlen)
{
    char *body;
    int rc;

    if ((rc = jb_sfn_check_token(token, err, errlen)) != 0)
        return rc;
    if ((body = request_body(token, NULL, NULL, NULL, NULL)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "states: out of memory");
    rc = call(cfg, "SendTaskHeartbeat", body, err, errlen);
    free_body(body);
    return rc;
}
