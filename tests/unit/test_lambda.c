#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "aws/lambda_invoke.h"

#include <string.h>

static void test_names_accepted(void **state)
{
    static const char *const ok[] = {
        "jumpbox-clean",
        "a",
        "fn_1:prod",
        "fn:$LATEST",
        "fn:12",
        "123456789012:function:jumpbox-build",
        "123456789012:function:jumpbox-build:live",
        "arn:aws:lambda:eu-west-1:123456789012:function:jumpbox-build",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char err[JB_ERRLEN] = "";
        if (jb_lambda_check_name(ok[i], err, sizeof(err)) != 0)
            fail_msg("%s: %s", ok[i], err);
    }
}

static void test_names_refused(void **state)
{
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"", "1 to 170"},
        {"a/b", "A-Z a-z 0-9"},
        {"../x", "A-Z a-z 0-9"},
        {"fn name", "A-Z a-z 0-9"},
        {"fn:", "qualifier"},
        {"fn:a/b", "qualifier"},
        {"fn:a:b", "too many"},
        {"12345:function:fn", "12 digits"},
        {"arn:aws:s3:eu-west-1:123456789012:function:fn", "not \"lambda\""},
        {"arn:gcp:lambda:eu-west-1:123456789012:function:fn", "partition"},
        {"arn:aws:lambda:eu/west:123456789012:function:fn", "region"},
        {"arn:aws:lambda:eu-west-1:123456789012:layer:fn", "ACCOUNT:function:NAME"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1 to 64"},
        {"fn\n", "A-Z a-z 0-9"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[JB_ERRLEN] = "";
        int rc = jb_lambda_check_name(bad[i].name, err, sizeof(err));
        if (rc != JB_ERR_INVALID || strstr(err, bad[i].why) == NULL)
            fail_msg("\"%s\": rc %d, err \"%s\", wanted \"%s\"", bad[i].name, rc, err, bad[i].why);
    }
    assert_int_equal(jb_lambda_check_name(NULL, NULL, 0), JB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_accepted),
        cmocka_unit_test(test_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
