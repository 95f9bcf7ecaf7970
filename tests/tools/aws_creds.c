/* Test driver: runs the credential chain and prints which source won, the
 * access key id and expiry as JSON -- never the secret or the token.
 *
 * aws_creds [--profile P] [--region] [--at SECONDS]...
 *   --at: call jb_creds_get once per --at, with the provider's clock moved
 *         SECONDS past the real start (proves refresh before expiry).
 *   --region: also resolve the region. */
#include "aws/creds.h"
#include "base/err.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static time_t fake_now;

static time_t clock_fn(void *ctx)
{
    (void)ctx;
    return fake_now;
}

int main(int argc, char **argv)
{
    struct jb_creds_options opts = {0};
    struct jb_creds_provider *p = NULL;
    const struct jb_aws_creds *c;
    char err[JB_ERRLEN] = "", region[JB_AWS_REGION_MAX];
    long at[32];
    int nat = 0, want_region = 0, i, rc = 1;
    time_t start = time(NULL);
    cJSON *o = cJSON_CreateObject(), *gets = cJSON_AddArrayToObject(o, "gets");
    char *s;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            opts.profile = argv[++i];
        else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc && nat < 32)
            at[nat++] = atol(argv[++i]);
        else if (strcmp(argv[i], "--region") == 0)
            want_region = 1;
        else {
            fprintf(stderr, "usage: aws_creds [--profile P] [--region] [--at SECONDS]...\n");
            return 2;
        }
    }
    if (nat == 0)
        at[nat++] = 0;
    opts.now = clock_fn;
    opts.process_timeout_ms =
        getenv("AWS_CREDS_PROCESS_TIMEOUT_MS") ? atol(getenv("AWS_CREDS_PROCESS_TIMEOUT_MS")) : 0;
    if (jb_creds_provider_new(&opts, &p, err, sizeof(err)) != 0)
        goto out;
    for (i = 0; i < nat; i++) {
        cJSON *g = cJSON_CreateObject();
        fake_now = start + at[i];
        if ((rc = jb_creds_get(p, &c, err, sizeof(err))) != 0) {
            cJSON_Delete(g);
            fprintf(stderr, "aws_creds: %s (%s)\n", err, jb_err_name(rc));
            rc = 1;
            goto out;
        }
        cJSON_AddStringToObject(g, "source", c->source);
        cJSON_AddStringToObject(g, "access_key_id", c->access_key_id);
        cJSON_AddBoolToObject(g, "has_token", c->session_token != NULL);
        cJSON_AddNumberToObject(g, "expiration", (double)c->expiration);
        cJSON_AddItemToArray(gets, g);
    }
    if (want_region) {
        if ((rc = jb_aws_region(opts.profile, region, sizeof(region), err, sizeof(err))) != 0) {
            fprintf(stderr, "aws_creds: %s (%s)\n", err, jb_err_name(rc));
            rc = 1;
            goto out;
        }
        cJSON_AddStringToObject(o, "region", region);
    }
    s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    rc = 0;
out:
    if (rc != 0 && err[0] && nat == 0)
        fprintf(stderr, "aws_creds: %s\n", err);
    cJSON_Delete(o);
    jb_creds_provider_free(p);
    return rc;
}
