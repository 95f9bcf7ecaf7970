/* Signing rate for the README: signs a typical S3 PutObject (lease write)
 * and a Lambda Invoke N times on one core.  Usage: sigv4_bench [N]. */
#include "aws/creds.h"
#include "crypto/keys.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    static const char body[] = "{\"stack_id\":\"bench\",\"status\":\"ready\"}";
    struct jb_kv hdr[] = {{"content-type", "application/json"}};
    struct jb_sigv4_request s3 = {.method = "PUT",
                                  .host = "state-bucket.s3.eu-west-1.amazonaws.com",
                                  .path = "/jumpbox/bench/lease.json",
                                  .headers = hdr,
                                  .nheaders = 1,
                                  .body = body,
                                  .bodylen = sizeof(body) - 1,
                                  .service = "s3",
                                  .region = "eu-west-1"};
    struct jb_sigv4_request lam = s3;
    struct jb_sigv4_result res;
    struct jb_aws_creds creds = {0};
    char err[256];
    double t0, dt;

    lam.method = "POST";
    lam.host = "lambda.eu-west-1.amazonaws.com";
    lam.path = "/2015-03-31/functions/jumpbox-build/invocations";
    lam.service = "lambda";
    snprintf(creds.access_key_id, sizeof(creds.access_key_id), "AKIDEXAMPLE");
    creds.secret_access_key = jb_secret_alloc(64);
    strcpy(creds.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    s3.when = lam.when = time(NULL);
    t0 = now();
    for (long i = 0; i < n; i++)
        if (jb_sigv4_sign(i % 2 ? &lam : &s3, &creds, &res, err, sizeof(err)) != 0) {
            fprintf(stderr, "sigv4_bench: %s\n", err);
            return 1;
        }
    dt = now() - t0;
    printf("{\"requests\":%ld,\"seconds\":%.3f,\"per_second\":%.0f}\n", n, dt, (double)n / dt);
    jb_aws_creds_clear(&creds);
    return 0;
}
