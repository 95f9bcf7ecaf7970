#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/parse.h"
#include "base/fsutil.h"
#include "stack/state.h"

#include <string.h>

static void test_durations(void **state)
{
    long s;
    (void)state;

    assert_int_equal(jb_parse_duration("90s", &s, NULL, 0), 0);
    assert_int_equal(s, 90);
    assert_int_equal(jb_parse_duration("10m", &s, NULL, 0), 0);
    assert_int_equal(s, 600);
    assert_int_equal(jb_parse_duration("2h", &s, NULL, 0), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(jb_parse_duration("1h30m", &s, NULL, 0), 0);
    assert_int_equal(s, 5400);
    assert_int_equal(jb_parse_duration("45", &s, NULL, 0), 0);
    assert_int_equal(s, 45);
    const char *bad[] = {"",  "abc",  "0",   "0s",           "10x", "-5m",
                         "m", "1h30", "5 m", "99999999999h", " 5m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jb_parse_duration(bad[i], &s, NULL, 0), JB_ERR_INVALID);
}

static void test_stack_ids(void **state)
{
    char err[JB_ERRLEN];
    (void)state;

    assert_int_equal(jb_check_stack_id("a", NULL, 0), 0);
    assert_int_equal(jb_check_stack_id("backup-vm-1", NULL, 0), 0);
    assert_int_equal(jb_check_stack_id("0123456789012345678901234567890123456789", NULL, 0), 0);
    assert_int_equal(
        jb_check_stack_id("01234567890123456789012345678901234567890", err, sizeof(err)),
        JB_ERR_INVALID);
    assert_non_null(strstr(err, "40"));
    const char *bad[] = {"", "A", "a_b", "a/b", "..", "-a", "a-", "a b", "é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jb_check_stack_id(bad[i], NULL, 0), JB_ERR_INVALID);
}

static void test_cidrs(void **state)
{
    char out[JB_CIDR_MAX];
    (void)state;

    assert_int_equal(jb_parse_cidr("203.0.113.7/32", out, sizeof(out), NULL, 0), 0);
    assert_string_equal(out, "203.0.113.7/32");
    assert_int_equal(jb_parse_cidr("10.0.0.0/8", out, sizeof(out), NULL, 0), 0);
    assert_int_equal(jb_parse_cidr("2001:DB8::/32", out, sizeof(out), NULL, 0), 0);
    assert_string_equal(out, "2001:db8::/32");
    assert_int_equal(jb_parse_cidr("0.0.0.0/0", out, sizeof(out), NULL, 0), 0);
    const char *bad[] = {"",    "10.0.0.1",  "10.0.0.1/33",  "10.0.0.1/8", "1.2.3/24",
                         "x/1", "10.0.0.0/", "10.0.0.0/08x", "::1/129",    "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jb_parse_cidr(bad[i], out, sizeof(out), NULL, 0), JB_ERR_INVALID);
    assert_true(jb_cidr_within("10.1.2.3/32", "10.0.0.0/8"));
    assert_true(jb_cidr_within("10.0.0.0/8", "10.0.0.0/8"));
    assert_false(jb_cidr_within("10.0.0.0/8", "10.0.0.0/16"));
    assert_false(jb_cidr_within("11.0.0.1/32", "10.0.0.0/8"));
    assert_false(jb_cidr_within("::1/128", "0.0.0.0/0"));
}

static void test_rfc3339(void **state)
{
    char buf[JB_RFC3339_LEN];
    time_t t;
    (void)state;

    jb_format_rfc3339(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(jb_parse_rfc3339("2026-11-23T15:07:29Z", &t, NULL, 0), 0);
    jb_format_rfc3339(t, buf);
    assert_string_equal(buf, "2026-11-23T15:07:29Z");
    assert_int_equal(jb_parse_rfc3339("2026-11-23T15:07:29+01:00", &t, NULL, 0), JB_ERR_INVALID);
    assert_int_equal(jb_parse_rfc3339("2026-11-23 15:07:29Z", &t, NULL, 0), JB_ERR_INVALID);
}

static void test_state_urls(void **state)
{
    struct jb_state st;
    (void)state;

    assert_int_equal(jb_state_parse("file:///var/lib/jb/", &st, NULL, 0), 0);
    assert_int_equal(st.kind, JB_STATE_FILE);
    assert_string_equal(st.dir, "/var/lib/jb");
    assert_int_equal(jb_state_parse("s3://my-bucket/state/jb/", &st, NULL, 0), 0);
    assert_int_equal(st.kind, JB_STATE_S3);
    assert_string_equal(st.bucket, "my-bucket");
    assert_string_equal(st.prefix, "state/jb/");
    assert_string_equal(st.url, "s3://my-bucket/state/jb");
    assert_int_equal(jb_state_parse("s3://my-bucket", &st, NULL, 0), 0);
    assert_string_equal(st.prefix, "");
    const char *bad[] = {
        "",           "s3://",       "s3://b/../x",  "s3://Bucket/x", "s3://ab",
        "s3://-ab/x", "s3://b.c//x", "s3://bkt/a//", "file://rel",    "file:///a/../b",
        "http://x",   "/plain/path", "s3://bkt/./x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jb_state_parse(bad[i], &st, NULL, 0), JB_ERR_INVALID);
}

static void test_relative_paths(void **state)
{
    char out[256];
    (void)state;

    assert_int_equal(jb_path_relative("/w/stacks/s1", "/repo/terraform/aws", out, sizeof(out)), 0);
    assert_string_equal(out, "../../../repo/terraform/aws");
    assert_int_equal(jb_path_relative("/a/b", "/a/b/c", out, sizeof(out)), 0);
    assert_string_equal(out, "./c");
    assert_int_equal(jb_path_relative("/a/b", "/a/bc", out, sizeof(out)), 0);
    assert_string_equal(out, "../bc");
    assert_int_equal(jb_path_relative("/a", "/a", out, sizeof(out)), 0);
    assert_string_equal(out, ".");
    assert_int_equal(jb_path_relative("/", "/x/y", out, sizeof(out)), 0);
    assert_string_equal(out, "./x/y");
    assert_int_equal(jb_path_relative("rel", "/x", out, sizeof(out)), JB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),  cmocka_unit_test(test_stack_ids),
        cmocka_unit_test(test_cidrs),      cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_state_urls), cmocka_unit_test(test_relative_paths),
    };
    return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
