#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/creds.h"
#include "base/err.h"
#include "aws/aws_error.h"
#include "aws/request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_retry_rules(void **state)
{
    (void)state;
    assert_int_equal(jb_aws_retryable(1, 0, NULL), 1);
    assert_int_equal(jb_aws_retryable(0, 429, ""), 1);
    assert_int_equal(jb_aws_retryable(0, 503, "SlowDown"), 1);
    assert_int_equal(jb_aws_retryable(0, 500, ""), 1);
    assert_int_equal(jb_aws_retryable(0, 504, ""), 1);
    assert_int_equal(jb_aws_retryable(0, 400, "ThrottlingException"), 1);
    assert_int_equal(jb_aws_retryable(0, 403, "RequestLimitExceeded"), 1);
    assert_int_equal(jb_aws_retryable(0, 400, "RequestTimeout"), 1);
    assert_int_equal(jb_aws_retryable(0, 400, "InvalidArgument"), 0);
    assert_int_equal(jb_aws_retryable(0, 403, "AccessDenied"), 0);
    assert_int_equal(jb_aws_retryable(0, 404, "NoSuchKey"), 0);
    assert_int_equal(jb_aws_retryable(0, 501, ""), 0);
    assert_int_equal(jb_aws_retryable(0, 200, NULL), 0);
}

static void test_backoff_full_jitter(void **state)
{
    (void)state;
    assert_int_equal(jb_aws_backoff_ms(1, 0.5), 500);
    assert_int_equal(jb_aws_backoff_ms(2, 0.5), 1000);
    assert_int_equal(jb_aws_backoff_ms(3, 0.999), 3996);
    assert_int_equal(jb_aws_backoff_ms(30, 0.5), 10000); /* capped at 20 s */
    assert_int_equal(jb_aws_backoff_ms(1, 0.0), 0);
}

static void test_endpoints(void **state)
{
    char ep[256];
    (void)state;

    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    assert_int_equal(jb_aws_endpoint("s3", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "https://s3.eu-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
    assert_int_equal(jb_aws_endpoint("lambda", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "http://127.0.0.1:1");
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2", 1);
    assert_int_equal(jb_aws_endpoint("s3", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "http://127.0.0.1:2");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    assert_int_equal(jb_aws_endpoint("s3", "EU WEST", ep, sizeof(ep), NULL, 0), JB_ERR_INVALID);
}

struct recorded {
    long sleeps[8];
    int n;
};

static void rec_sleep(void *ctx, long ms)
{
    struct recorded *r = ctx;
    if (r->n < 8)
        r->sleeps[r->n++] = ms;
}

static double half(void *ctx)
{
    (void)ctx;
    return 0.5;
}

/* A port that refuses connections: bound, never listening. */
static int refusing_port(int *fd)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void test_connection_errors_retry_with_injected_sleep(void **state)
{
    struct jb_creds_provider *p = NULL;
    struct jb_http_options o = {0};
    struct jb_http_response resp;
    struct jb_aws_call call = {0};
    struct recorded rec = {{0}, 0};
    char ep[64], err[JB_ERRLEN];
    int fd, port = refusing_port(&fd);
    (void)state;

    unsetenv("AWS_MAX_ATTEMPTS");
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    assert_int_equal(jb_creds_provider_static("AKIAUNIT0000000000", "s", NULL, &p, NULL, 0), 0);
    o.sleep_ms = rec_sleep;
    o.rand01 = half;
    o.ctx = &rec;
    call.service = "s3";
    call.region = "us-east-1";
    call.method = "GET";
    call.endpoint = ep;
    call.path = "/b/k";
    call.creds = p;
    call.opts = &o;
    assert_int_equal(jb_aws_request(&call, &resp, err, sizeof(err)), JB_ERR_HTTP);
    assert_non_null(strstr(err, "no answer after 3 attempts"));
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.sleeps[0], 500);
    assert_int_equal(rec.sleeps[1], 1000);

    rec.n = 0;
    o.max_attempts = 1;
    assert_int_equal(jb_aws_request(&call, &resp, err, sizeof(err)), JB_ERR_HTTP);
    assert_int_equal(rec.n, 0);

    call.endpoint = "ftp://127.0.0.1";
    assert_int_equal(jb_aws_request(&call, &resp, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "http://"));
    jb_http_response_free(&resp);
    jb_creds_provider_free(p);
    close(fd);
}

/* Each service's error form, as lib/aws/aws_error.h lists them. */
static void test_error_bodies(void **state)
{
    static const struct {
        const char *header, *body, *code, *message;
    } cases[] = {
        {NULL, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>", "NoSuchKey", "gone"},
        {NULL,
         "<?xml version=\"1.0\"?><Response><Errors><Error><Code>DependencyViolation</Code>"
         "<Message>sg-1 &amp; eni-2</Message></Error></Errors><RequestID>r</RequestID></Response>",
         "DependencyViolation", "sg-1 & eni-2"},
        {NULL,
         "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
         "<Message>Rate exceeded</Message></Error></ErrorResponse>",
         "Throttling", "Rate exceeded"},
        /* Only <Code> directly inside <Error> names the error. */
        {NULL, "<Response><Code>Nope</Code><Error><Message>m</Message></Error></Response>", "",
         "m"},
        {NULL, "{\"__type\":\"com.amazon#ThrottlingException:http://x\",\"message\":\"slow\"}",
         "ThrottlingException", "slow"},
        {"ResourceNotFoundException:http://internal", "{\"Message\":\"no such function\"}",
         "ResourceNotFoundException", "no such function"},
        {"SlowDown", "<Error><Code>Other</Code><Message>m</Message></Error>", "SlowDown", "m"},
        {NULL, "<Error><Code>Bad\tCode</Code></Error>", "Bad?Code", ""},
        {NULL, "<!DOCTYPE x [<!ENTITY a \"b\">]><Error><Code>&a;</Code></Error>", "", ""},
        {NULL, "<html><body>Bad Gateway</body></html>", "", ""},
        {NULL, "not xml at all", "", ""},
    };
    char code[128], message[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        jb_aws_error_parse(400, cases[i].header, cases[i].body, strlen(cases[i].body), code,
                           sizeof(code), message, sizeof(message));
        assert_string_equal(code, cases[i].code);
        assert_string_equal(message, cases[i].message);
    }
    jb_aws_error_parse(200, "SlowDown", "<Error><Code>X</Code></Error>", 29, code, sizeof(code),
                       message, sizeof(message));
    assert_string_equal(code, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_rules),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_connection_errors_retry_with_injected_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
