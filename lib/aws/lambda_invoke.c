/* Lambda Invoke: name checks, the call, and function errors made readable. */
#include "aws/lambda_invoke.h"

#include "base/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 170 /* Invoke's FunctionName limit */

static int all_of(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(extra, ch)))
            return 0;
    }
    return 1;
}

struct part {
    const char *s;
    size_t n;
};

static int eq(struct part p, const char *s)
{
    return p.n == strlen(s) && memcmp(p.s, s, p.n) == 0;
}

int jb_lambda_check_name(const char *name, char *err, size_t errlen)
{
    struct part parts[9];
    size_t np = 0, n = name ? strlen(name) : 0;

    if (n == 0 || n > NAME_MAX_LEN)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "lambda function name is %zu characters, must be 1 to %d", n, NAME_MAX_LEN);
    for (const char *s = name;;) {
        const char *colon = strchr(s, ':');
        if (np == sizeof(parts) / sizeof(parts[0]))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "lambda function name has too many ':' parts");
        parts[np].s = s;
        parts[np].n = colon ? (size_t)(colon - s) : strlen(s);
        np++;
        if (colon == NULL)
            break;
        s = colon + 1;
    }
    size_t i = 0;
    if (np >= 7 && eq(parts[0], "arn")) {
        struct part partition = parts[1], region = parts[3];
        if (!(eq(partition, "aws") || (partition.n > 4 && memcmp(partition.s, "aws-", 4) == 0 &&
                                       all_of(partition.s, partition.n, "-"))))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "lambda function ARN: partition is not aws or aws-*");
        if (!eq(parts[2], "lambda"))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "lambda function ARN: service is not \"lambda\"");
        if (region.n == 0 || !all_of(region.s, region.n, "-"))
            return jb_err(err, errlen, JB_ERR_INVALID, "lambda function ARN: bad region");
        i = 4;
    }
    if (np - i >= 3 && eq(parts[i + 1], "function")) {
        if (parts[i].n != 12 || !all_of(parts[i].s, 12, "") ||
            strspn(parts[i].s, "0123456789") < 12)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "lambda function name: account id must be 12 digits");
        i += 2;
    } else if (i > 0) {
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "lambda function ARN: expected ACCOUNT:function:NAME after the region");
    }
    struct part fn = parts[i];
    if (fn.n == 0 || fn.n > 64 || !all_of(fn.s, fn.n, "-_"))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "lambda function name must be 1 to 64 of A-Z a-z 0-9 - _");
    if (np - i == 2) {
        struct part q = parts[i + 1];
        if (!eq(q, "$LATEST") && (q.n == 0 || q.n > 128 || !all_of(q.s, q.n, "-_")))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "lambda function qualifier must be $LATEST, a version or an alias");
    } else if (np - i > 2) {
        return jb_err(err, errlen, JB_ERR_INVALID, "lambda function name has too many ':' parts");
    }
    return 0;
}

void jb_lambda_result_free(struct jb_lambda_result *r)
{
    if (r == NULL)
        return;
    free(r->payload);
    free(r->function_error);
    free(r->version);
    memset(r, 0, sizeof(*r));
}

/* Makes err one printable line (payloads and messages come from outside). */
static void one_line(char *err)
{
    for (char *p = err; err && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static int dup_header(const struct jb_http_response *resp, const char *name, char **out, char *err,
                      size_t errlen)
{
    const char *v = jb_http_header(resp, name);
    if (v == NULL)
        return 0;
    if ((*out = strdup(v)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "lambda: out of memory");
    return 0;
}

/* The function failed: name its errorType and errorMessage. */
static int function_error(const char *function, const struct jb_lambda_result *r, char *err,
                          size_t errlen)
{
    cJSON *doc = cJSON_ParseWithLength(r->payload, r->payload_len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "errorType");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "errorMessage");
    int rc;

    if (doc == NULL || !cJSON_IsObject(doc))
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "lambda %s: function error (%s) with a payload that is not a JSON object",
                    function, r->function_error);
    else
        rc = jb_err(err, errlen, JB_ERR_AWS, "lambda %s: function error (%s): %s: %s", function,
                    r->function_error, cJSON_IsString(type) ? type->valuestring : "(no errorType)",
                    cJSON_IsString(msg) ? msg->valuestring : "(no errorMessage)");
    cJSON_Delete(doc);
    one_line(err);
    return rc;
}

static int status_error(const char *function, const struct jb_http_response *resp, char *err,
                        size_t errlen)
{
    char code[128], msg[256];
    int rc;

    snprintf(code, sizeof(code), "%s", resp->aws_code);
    snprintf(msg, sizeof(msg), "%s", resp->aws_message);
    if (code[0] == '\0') {
        /* Lambda names the error in a header, "Type:extra"; the body is
         * {"Type":..., "message":...}. */
        const char *h = jb_http_header(resp, "X-Amzn-ErrorType");
        if (h)
            snprintf(code, sizeof(code), "%.*s", (int)strcspn(h, ":"), h);
    }
    if (msg[0] == '\0' && resp->body) {
        cJSON *doc = cJSON_ParseWithLength(resp->body, resp->bodylen);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(doc, "Message");
        if (cJSON_IsString(m))
            snprintf(msg, sizeof(msg), "%s", m->valuestring);
        cJSON_Delete(doc);
    }
    switch (resp->status) {
    case 404:
        rc = JB_ERR_NOTFOUND;
        break;
    case 403:
        rc = JB_ERR_AUTH;
        break;
    default:
        rc = JB_ERR_AWS;
        break;
    }
    rc = jb_err(err, errlen, rc, "lambda Invoke %s: HTTP %ld%s%s%s%s", function, resp->status,
                code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    one_line(err);
    return rc;
}

int jb_lambda_invoke(const struct jb_lambda_config *cfg, const char *function, const char *payload,
                     size_t len, enum jb_lambda_invocation type, struct jb_lambda_result *out,
                     char *err, size_t errlen)
{
    static const struct jb_lambda_config none;
    struct jb_http_response resp;
    struct jb_http_options opts = {0};
    char region[JB_AWS_REGION_MAX];
    char inner[JB_ERRLEN];
    char *path = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&resp, 0, sizeof(resp));
    if (cfg == NULL)
        cfg = &none;
    if ((rc = jb_lambda_check_name(function, err, errlen)) != 0)
        return rc;
    if (type != JB_LAMBDA_REQUEST_RESPONSE && type != JB_LAMBDA_EVENT)
        return jb_err(err, errlen, JB_ERR_INVALID, "lambda: unknown invocation type %d", (int)type);
    if (payload == NULL || len == 0)
        payload = "{}", len = 2;
    if (len > JB_LAMBDA_PAYLOAD_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "lambda %s: payload is %zu bytes, more than the %u allowed", function, len,
                      JB_LAMBDA_PAYLOAD_MAX);
    if (cfg->region) {
        snprintf(region, sizeof(region), "%s", cfg->region);
    } else if ((rc = jb_aws_region(NULL, region, sizeof(region), err, errlen)) != 0) {
        return rc;
    }
    struct jb_creds_provider *creds = cfg->creds;
    if (creds == NULL && (rc = jb_creds_shared(&creds, err, errlen)) != 0)
        return rc;
    size_t plen = strlen(function) + 48;
    if ((path = malloc(plen)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "lambda: out of memory");
        goto out;
    }
    snprintf(path, plen, "/2015-03-31/functions/%s/invocations", function);
    if (cfg->http)
        opts = *cfg->http;
    opts.max_body = JB_LAMBDA_PAYLOAD_MAX + 4096;
    const struct jb_kv h[] = {
        {"Content-Type", "application/json"},
        {"X-Amz-Invocation-Type", type == JB_LAMBDA_EVENT ? "Event" : "RequestResponse"},
    };
    struct jb_aws_call call = {
        .service = "lambda",
        .region = region,
        .method = "POST",
        .path = path,
        .headers = h,
        .nheaders = 2,
        .body = payload,
        .bodylen = len,
        .creds = creds,
        .opts = &opts,
    };
    if ((rc = jb_aws_request(&call, &resp, inner, sizeof(inner))) != 0) {
        rc = jb_err(err, errlen, rc, "lambda Invoke %s: %s", function, inner);
        goto out;
    }
    out->status = resp.status;
    if (resp.status < 200 || resp.status > 299) {
        rc = status_error(function, &resp, err, errlen);
        goto out;
    }
    out->payload = resp.body ? resp.body : strdup("");
    out->payload_len = resp.body ? resp.bodylen : 0;
    resp.body = NULL;
    if (out->payload == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "lambda: out of memory");
        goto out;
    }
    if ((rc = dup_header(&resp, "X-Amz-Function-Error", &out->function_error, err, errlen)) ||
        (rc = dup_header(&resp, "X-Amz-Executed-Version", &out->version, err, errlen)))
        goto out;
    if (out->function_error)
        rc = function_error(function, out, err, errlen);
out:
    jb_http_response_free(&resp);
    free(path);
    return rc;
}
