/* Test driver: one signed AWS call through jb_aws_request, credentials from
 * the standard chain.  Prints {"status","attempts","aws_code","sleeps_ms",
 * "body"} as JSON; exit 1 with the error on stderr when no answer came.
 *
 * aws_call --service S --region R --method M --path RAW [--endpoint URL]
 *          [--query KEY=VALUE | --query KEY]... [--header NAME:VALUE]...
 *          [--body TEXT] [--max-attempts N] [--no-sleep] [--unsigned-payload]
 * --no-sleep records the backoff delays instead of sleeping them. */
#include "aws/creds.h"
#include "base/err.h"
#include "aws/request.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sleeps {
    long ms[64];
    int n;
};

static void fake_sleep(void *ctx, long ms)
{
    struct sleeps *s = ctx;
    if (s->n < 64)
        s->ms[s->n++] = ms;
}

int main(int argc, char **argv)
{
    struct jb_kv q[32], h[32];
    struct jb_aws_call call = {0};
    struct jb_http_options opts = {0};
    struct jb_http_response resp = {0};
    struct jb_creds_provider *p = NULL;
    struct sleeps sl = {{0}, 0};
    char err[JB_ERRLEN] = "", *s;
    cJSON *o, *a;
    int i, rc;

    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--no-sleep") == 0) {
            opts.sleep_ms = fake_sleep;
            opts.ctx = &sl;
            continue;
        }
        if (strcmp(argv[i], "--unsigned-payload") == 0) {
            call.unsigned_payload = 1;
            continue;
        }
        if (v == NULL)
            goto usage;
        i++;
        if (strcmp(argv[i - 1], "--service") == 0)
            call.service = v;
        else if (strcmp(argv[i - 1], "--region") == 0)
            call.region = v;
        else if (strcmp(argv[i - 1], "--method") == 0)
            call.method = v;
        else if (strcmp(argv[i - 1], "--path") == 0)
            call.path = v;
        else if (strcmp(argv[i - 1], "--endpoint") == 0)
            call.endpoint = v;
        else if (strcmp(argv[i - 1], "--body") == 0) {
            call.body = v;
            call.bodylen = strlen(v);
        } else if (strcmp(argv[i - 1], "--max-attempts") == 0)
            opts.max_attempts = atoi(v);
        else if (strcmp(argv[i - 1], "--query") == 0 && call.nquery < 32) {
            char *eq = strchr(argv[i], '=');
            if (eq)
                *eq = '\0';
            q[call.nquery++] = (struct jb_kv){argv[i], eq ? eq + 1 : NULL};
        } else if (strcmp(argv[i - 1], "--header") == 0 && call.nheaders < 32) {
            char *c = strchr(argv[i], ':');
            if (c == NULL)
                goto usage;
            *c = '\0';
            h[call.nheaders++] = (struct jb_kv){argv[i], c + 1};
        } else
            goto usage;
    }
    call.query = q;
    call.headers = h;
    call.opts = &opts;
    opts.connect_timeout_ms = 5000;
    opts.total_timeout_ms = 30000;
    if (jb_creds_provider_new(NULL, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "aws_call: %s\n", err);
        return 1;
    }
    call.creds = p;
    rc = jb_aws_request(&call, &resp, err, sizeof(err));
    o = cJSON_CreateObject();
    a = cJSON_AddArrayToObject(o, "sleeps_ms");
    for (i = 0; i < sl.n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)sl.ms[i]));
    if (rc != 0) {
        fprintf(stderr, "aws_call: %s (%s)\n", err, jb_err_name(rc));
        s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
        jb_creds_provider_free(p);
        return 1;
    }
    cJSON_AddNumberToObject(o, "status", (double)resp.status);
    cJSON_AddNumberToObject(o, "attempts", resp.attempts);
    cJSON_AddStringToObject(o, "aws_code", resp.aws_code);
    cJSON_AddStringToObject(o, "aws_message", resp.aws_message);
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddStringToObject(o, "body", resp.body ? resp.body : "");
    s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
    jb_http_response_free(&resp);
    jb_creds_provider_free(p);
    return 0;
usage:
    fprintf(stderr, "aws_call: bad arguments (see the comment at the top of aws_call.c)\n");
    return 2;
}
