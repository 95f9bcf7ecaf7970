/* EC2 Query API calls over jb_aws_request: form bodies, status mapping. */
#include "aws/ec2.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_VERSION "2016-11-15"
#define MAX_FILTERS 10 /* more than the reaper uses; bounds the body */
#define NAP_MAX_MS 10000

struct jb_ec2_client {
    struct jb_aws_client aws; /* region, credentials, HTTP options */
    int page_size;
};

int jb_ec2_client_new(const struct jb_ec2_config *cfg, struct jb_ec2_client **out, char *err,
                      size_t errlen)
{
    static const struct jb_ec2_config none;
    struct jb_ec2_client *c = NULL;
    int rc = 0;

    *out = NULL;
    if (cfg == NULL)
        cfg = &none;
    if (cfg->page_size != 0 &&
        (cfg->page_size < JB_EC2_PAGE_MIN || cfg->page_size > JB_EC2_PAGE_MAX))
        return jb_err(err, errlen, JB_ERR_INVALID, "EC2 page size %d, must be %d to %d",
                      cfg->page_size, JB_EC2_PAGE_MIN, JB_EC2_PAGE_MAX);
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "EC2 client: out of memory");
    if ((rc = jb_aws_client_init(&c->aws, "EC2 client", cfg->region, cfg->creds, cfg->http, err,
                                 errlen)) != 0)
        goto out;
    c->page_size = cfg->page_size ? cfg->page_size : JB_EC2_PAGE_DEFAULT;
    *out = c;
    c = NULL;
out:
    jb_ec2_client_free(c);
    return rc;
}

void jb_ec2_client_free(struct jb_ec2_client *c)
{
    if (c == NULL)
        return;
    jb_aws_client_release(&c->aws);
    free(c);
}

const char *jb_ec2_client_region(const struct jb_ec2_client *c)
{
    return c->aws.region;
}

/* Appends key=value to a form body, both percent-encoded. */
static void form_add(struct jb_strbuf *sb, const char *key, const char *value)
{
    char *k = NULL, *v = NULL;

    if (jb_uri_encode(key, strlen(key), 0, &k) != 0 ||
        jb_uri_encode(value, strlen(value), 0, &v) != 0)
        sb->failed = 1;
    else
        jb_sb_addf(sb, "%s%s=%s", sb->len ? "&" : "", k, v);
    free(k);
    free(v);
}

/* One call: 0 with resp holding a 2xx answer, or an error naming the call
 * (and `what`, the resource, when there is one). */
static int call(struct jb_ec2_client *c, const char *action, const char *what, const char *body,
                struct jb_http_response *resp, char *err, size_t errlen)
{
    static const struct jb_kv h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct jb_aws_call ac = {
        .service = "ec2",
        .region = c->aws.region,
        .method = "POST",
        .path = "/",
        .headers = h,
        .nheaders = 1,
        .body = body,
        .bodylen = strlen(body),
        .creds = c->aws.creds,
        .opts = c->aws.http,
    };
    char inner[JB_ERRLEN];
    const char *sep = what ? " " : "";
    int rc;

    if (what == NULL)
        what = "";
    if ((rc = jb_aws_request(&ac, resp, inner, sizeof(inner))) != 0)
        return jb_err(err, errlen, rc, "%s%s%s: %s", action, sep, what, inner);
    if (resp->status >= 200 && resp->status <= 299)
        return 0;
    size_t cl = strlen(resp->aws_code);
    if (cl > 9 && strcmp(resp->aws_code + cl - 9, ".NotFound") == 0)
        rc = JB_ERR_NOTFOUND;
    else if (resp->status == 401 || resp->status == 403)
        rc = JB_ERR_AUTH;
    else
        rc = JB_ERR_AWS;
    return jb_err(err, errlen, rc, "%s%s%s: HTTP %ld%s%s%s%s", action, sep, what, resp->status,
                  resp->aws_code[0] ? " " : "", resp->aws_code, resp->aws_message[0] ? ": " : "",
                  resp->aws_message);
}

static int describe(struct jb_ec2_client *c, const char *action, const struct jb_ec2_filter *f,
                    size_t nf, const char *token, struct jb_ec2_page *out, char *err, size_t errlen)
{
    struct jb_strbuf sb = {0};
    struct jb_http_response resp;
    char key[64], n[16], inner[JB_ERRLEN];
    char *body = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&resp, 0, sizeof(resp));
    if (nf > MAX_FILTERS)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: more than %d filters", action, MAX_FILTERS);
    form_add(&sb, "Action", action);
    form_add(&sb, "Version", API_VERSION);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].name == NULL || f[i].nvalues < 1 || f[i].nvalues > JB_EC2_FILTER_VALUES_MAX) {
            jb_sb_free(&sb);
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: filter %zu has no name or values",
                          action, i + 1);
        }
        snprintf(key, sizeof(key), "Filter.%zu.Name", i + 1);
        form_add(&sb, key, f[i].name);
        for (size_t j = 0; j < f[i].nvalues; j++) {
            snprintf(key, sizeof(key), "Filter.%zu.Value.%zu", i + 1, j + 1);
            form_add(&sb, key, f[i].values[j]);
        }
    }
    snprintf(n, sizeof(n), "%d", c->page_size);
    form_add(&sb, "MaxResults", n);
    if (token)
        form_add(&sb, "NextToken", token);
    if ((body = jb_sb_take(&sb)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of memory", action);
    if ((rc = call(c, action, NULL, body, &resp, err, errlen)) != 0)
        goto out;
    rc = strcmp(action, "DescribeInstances") == 0
             ? jb_ec2xml_parse_instances(resp.body, resp.bodylen, out, inner, sizeof(inner))
             : jb_ec2xml_parse_groups(resp.body, resp.bodylen, out, inner, sizeof(inner));
    if (rc != 0)
        jb_err(err, errlen, rc, "%s: %s", action, inner);
    else if (token && out->next_token && strcmp(token, out->next_token) == 0)
        /* The same token again would ask for the same page forever. */
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: the next page's token is this page's", action);
    if (rc != 0)
        jb_ec2_page_free(out);
out:
    jb_http_response_free(&resp);
    free(body);
    return rc;
}

int jb_ec2_describe_instances(struct jb_ec2_client *c, const struct jb_ec2_filter *filters,
                              size_t nfilters, const char *token, struct jb_ec2_page *out,
                              char *err, size_t errlen)
{
    return describe(c, "DescribeInstances", filters, nfilters, token, out, err, errlen);
}

int jb_ec2_describe_security_groups(struct jb_ec2_client *c, const struct jb_ec2_filter *filters,
                                    size_t nfilters, const char *token, struct jb_ec2_page *out,
                                    char *err, size_t errlen)
{
    return describe(c, "DescribeSecurityGroups", filters, nfilters, token, out, err, errlen);
}

/* An action on one resource whose answer carries nothing we need. */
static int act(struct jb_ec2_client *c, const char *action, const char *id_param, const char *id,
               const char *prefix, const char *root, char *err, size_t errlen)
{
    struct jb_strbuf sb = {0};
    struct jb_http_response resp;
    char inner[JB_ERRLEN];
    char *body = NULL;
    int rc;

    memset(&resp, 0, sizeof(resp));
    /* The id goes on the wire and into messages. */
    if (jb_ec2_check_id(id, prefix) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: \"%.40s\" is not an id like %s0123abcd",
                      action, id ? id : "", prefix);
    form_add(&sb, "Action", action);
    form_add(&sb, "Version", API_VERSION);
    form_add(&sb, id_param, id);
    if ((body = jb_sb_take(&sb)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of memory", action);
    if ((rc = call(c, action, id, body, &resp, err, errlen)) == 0 &&
        (rc = jb_ec2xml_parse_ack(resp.body, resp.bodylen, root, inner, sizeof(inner))) != 0)
        jb_err(err, errlen, rc, "%s %s: %s", action, id, inner);
    jb_http_response_free(&resp);
    free(body);
    return rc;
}

int jb_ec2_terminate_instance(struct jb_ec2_client *c, const char *instance_id, char *err,
                              size_t errlen)
{
    return act(c, "TerminateInstances", "InstanceId.1", instance_id, "i-",
               "TerminateInstancesResponse", err, errlen);
}

int jb_ec2_delete_security_group(struct jb_ec2_client *c, const char *group_id, char *err,
                                 size_t errlen)
{
    return act(c, "DeleteSecurityGroup", "GroupId", group_id, "sg-", "DeleteSecurityGroupResponse",
               err, errlen);
}

/* ---- waiting for instances to terminate ---------------------------------- */

static int stopping(int (*stop)(void *), void *arg, long long limit_ms)
{
    return (stop && stop(arg)) || jb_clock_mono_ms() >= limit_ms;
}

/* Sleeps ms, in short steps so that a stop ends it early. */
static void nap(long ms, int (*stop)(void *), void *arg, long long limit_ms)
{
    while (ms > 0 && !stopping(stop, arg, limit_ms)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, step * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= step;
    }
}

/* One look at ids[first..end) still alive: clears alive[i] for those not
 * listed, or listed as terminated. */
static int look(struct jb_ec2_client *c, const char *const *ids, size_t first, size_t end,
                int *alive, char *err, size_t errlen)
{
    const char *batch[JB_EC2_FILTER_VALUES_MAX];
    size_t nb = 0;
    char *token = NULL;
    int rc = 0;

    for (size_t i = first; i < end; i++)
        if (alive[i])
            batch[nb++] = ids[i];
    if (nb == 0)
        return 0;
    for (size_t i = first; i < end; i++)
        alive[i] = -alive[i]; /* -1: not yet seen alive in this look */
    struct jb_ec2_filter f = {"instance-id", batch, nb};
    do {
        struct jb_ec2_page p;
        rc = jb_ec2_describe_instances(c, &f, 1, token, &p, err, errlen);
        free(token);
        token = NULL;
        if (rc != 0)
            break;
        for (size_t k = 0; k < p.n; k++)
            for (size_t i = first; i < end; i++)
                if (alive[i] && strcmp(p.items[k].id, ids[i]) == 0 &&
                    strcmp(p.items[k].state, "terminated") != 0)
                    alive[i] = 1;
        if (p.next_token && (token = strdup(p.next_token)) == NULL)
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        jb_ec2_page_free(&p);
    } while (token && rc == 0);
    free(token);
    for (size_t i = first; i < end; i++)
        if (alive[i] < 0)
            alive[i] = rc == 0 ? 0 : 1; /* not listed: gone; not asked: still there */
    return rc;
}

int jb_ec2_wait_terminated(struct jb_ec2_client *c, const char *const *ids, size_t n, int *alive,
                           long long limit_ms, int (*stop)(void *), void *stop_arg, char *err,
                           size_t errlen)
{
    long pause = 1000;

    for (size_t i = 0; i < n; i++)
        alive[i] = 1;
    for (;;) {
        int left = 0, rc;

        for (size_t first = 0; first < n; first += JB_EC2_FILTER_VALUES_MAX) {
            size_t end =
                n - first > JB_EC2_FILTER_VALUES_MAX ? first + JB_EC2_FILTER_VALUES_MAX : n;
            if ((rc = look(c, ids, first, end, alive, err, errlen)) != 0)
                return rc;
        }
        for (size_t i = 0; i < n; i++)
            left += alive[i];
        if (left == 0 || stopping(stop, stop_arg, limit_ms))
            return left;
        nap(pause, stop, stop_arg, limit_ms);
        pause = pause * 2 > NAP_MAX_MS ? NAP_MAX_MS : pause * 2;
    }
}
