#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/creds.h"
#include "base/err.h"
#include "aws/s3.h"

#include <stdlib.h>
#include <string.h>

static struct jb_creds_provider *keep;

static struct jb_s3_client *client(const char *region)
{
    struct jb_creds_provider *creds = NULL;
    struct jb_s3_client *c = NULL;
    char err[JB_ERRLEN];
    if (keep == NULL)
        assert_int_equal(
            jb_creds_provider_static("AKIDTEST", "secret", NULL, &keep, err, sizeof(err)), 0);
    creds = keep;
    struct jb_s3_config cfg = {.region = region, .creds = creds};
    if (jb_s3_client_new(&cfg, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return c;
}

static void expect(struct jb_s3_client *c, const char *bucket, const char *key, const char *ep,
                   const char *path)
{
    char endpoint[JB_S3_ENDPOINT_MAX];
    char *p = NULL;
    assert_int_equal(jb_s3_address(c, bucket, key, endpoint, sizeof(endpoint), &p, NULL, 0), 0);
    assert_string_equal(endpoint, ep);
    assert_string_equal(p, path);
    free(p);
}

static void test_virtual_hosted_for_real_aws(void **state)
{
    (void)state;
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    struct jb_s3_client *c = client("eu-west-1");
    expect(c, "state", "stack-1/lease.json", "https://state.s3.eu-west-1.amazonaws.com",
           "/stack-1/lease.json");
    expect(c, "state", NULL, "https://state.s3.eu-west-1.amazonaws.com", "/");
    /* Dots would break the TLS wildcard: path style. */
    expect(c, "my.state", "k", "https://s3.eu-west-1.amazonaws.com", "/my.state/k");
    jb_s3_client_free(c);
}

static void test_path_style_with_an_endpoint(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    struct jb_s3_client *c = client("us-east-1");
    expect(c, "state", "a b/c", "http://127.0.0.1:9", "/state/a b/c");
    expect(c, "state", NULL, "http://127.0.0.1:9", "/state");
    jb_s3_client_free(c);
    /* The S3-specific variable wins. */
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:10", 1);
    c = client("us-east-1");
    expect(c, "state", "k", "http://127.0.0.1:10", "/state/k");
    jb_s3_client_free(c);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
}

static void test_region_must_be_a_host_label(void **state)
{
    struct jb_s3_config cfg = {.region = "evil.com/x"};
    struct jb_s3_client *c = NULL;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3_client_new(&cfg, &c, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "region"));
    assert_null(c);
    cfg = (struct jb_s3_config){.region = "us-east-1", .page_size = 1001};
    assert_int_equal(jb_s3_client_new(&cfg, &c, err, sizeof(err)), JB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_hosted_for_real_aws),
        cmocka_unit_test(test_path_style_with_an_endpoint),
        cmocka_unit_test(test_region_must_be_a_host_label),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    jb_creds_provider_free(keep);
    return rc;
}
