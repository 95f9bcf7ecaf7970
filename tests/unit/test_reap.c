#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "stack/reap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The box's instance profile as the reaper takes it: a name or an ARN,
 * anything else refused before EC2 is asked. */
static void test_box_profile(void **state)
{
    char out[JB_REAP_PROFILE_MAX + 1], err[JB_ERRLEN], name[200], arn[1000];
    (void)state;

    const char *good[] = {
        "jumpbox-box",
        "a+=,.@_-Z9",
        "arn:aws:iam::123456789012:instance-profile/jumpbox-box",
        "arn:aws-us-gov:iam::123456789012:instance-profile/team/a/jumpbox-box",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        assert_int_equal(jb_reap_parse_profile(good[i], out, err, sizeof(err)), 0);
        assert_string_equal(out, good[i]);
    }
    memset(name, 'n', 128);
    name[128] = '\0';
    assert_int_equal(jb_reap_parse_profile(name, out, err, sizeof(err)), 0);
    name[128] = 'n';
    name[129] = '\0';
    const char *bad[] = {
        "",
        "jumpbox box",
        "jumpbox/box",
        name,
        "arn:aws:iam::123456789012:role/jumpbox-box",
        "arn:aws:iam::1234:instance-profile/jumpbox-box",
        "arn:aws:iam:eu-west-1:123456789012:instance-profile/jumpbox-box",
        "arn:aws:iam::123456789012:instance-profile/",
        "arn:aws:iam::123456789012:instance-profile//x",
        "arn:aws:iam::123456789012:instance-profile/a//x",
        "arn:aws:iam::123456789012:instance-profile/a b/x",
        "arn:aws:iam::123456789012:instance-profile/x/",
        "arn:aws:iam::123456789012:instance-profile/x y",
        "arn::iam::123456789012:instance-profile/x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        err[0] = '\0';
        assert_int_equal(jb_reap_parse_profile(bad[i], out, err, sizeof(err)), JB_ERR_INVALID);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(jb_reap_parse_profile(NULL, out, err, sizeof(err)), JB_ERR_INVALID);
    /* Too long as a whole, though each part would pass. */
    snprintf(arn, sizeof(arn), "arn:aws:iam::123456789012:instance-profile/");
    while (strlen(arn) < JB_REAP_PROFILE_MAX)
        strcat(arn, "p/");
    strcat(arn, "x");
    assert_int_equal(jb_reap_parse_profile(arn, out, err, sizeof(err)), JB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
