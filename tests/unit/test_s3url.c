#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "aws/s3.h"

#include <string.h>

static void test_good_urls(void **state)
{
    static const struct {
        const char *url, *bucket, *prefix;
    } ok[] = {
        {"s3://state-bucket", "state-bucket", ""},
        {"s3://state-bucket/", "state-bucket", ""},
        {"s3://state-bucket/jumpbox", "state-bucket", "jumpbox/"},
        {"s3://state-bucket/jumpbox/", "state-bucket", "jumpbox/"},
        {"s3://a.b-c.123/x/y_z/", "a.b-c.123", "x/y_z/"},
        {"s3://abc/.hidden/v1.2", "abc", ".hidden/v1.2/"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct jb_s3_url u;
        char err[JB_ERRLEN] = "";
        if (jb_s3_parse_url(ok[i].url, &u, err, sizeof(err)) != 0)
            fail_msg("%s: %s", ok[i].url, err);
        assert_string_equal(u.bucket, ok[i].bucket);
        assert_string_equal(u.prefix, ok[i].prefix);
    }
}

static void test_bad_urls(void **state)
{
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"s3://", "no bucket name"},
        {"s3:///prefix", "no bucket name"},
        {"S3://bucket", "must start with \"s3://\""},
        {"https://bucket/x", "must start with \"s3://\""},
        {"bucket/x", "must start with"},
        {"s3://ab", "2 characters, must be 3 to 63"},
        {"s3://Bucket", "upper case"},
        {"s3://my_bucket", "a-z, 0-9"},
        {"s3://-bucket", "start and end with a letter or digit"},
        {"s3://bucket-", "start and end with a letter or digit"},
        {"s3://my..bucket", "empty label"},
        {"s3://my.-bucket", "start and end with a letter or digit"},
        {"s3://192.168.5.4", "IP address"},
        {"s3://xn--bucket", "reserved \"xn--\""},
        {"s3://sthree-bucket", "reserved"},
        {"s3://bucket-s3alias", "reserved \"-s3alias\""},
        {"s3://bucket--ol-s3", "reserved"},
        {"s3://bucket/../x", "\"..\" segment"},
        {"s3://bucket/a/../b", "\"..\" segment"},
        {"s3://bucket/a/..", "\"..\" segment"},
        {"s3://bucket/./a", "\".\" or \"..\" segment"},
        {"s3://bucket//a", "empty path segment"},
        {"s3://bucket//", "empty path segment"},
        {"s3://bucket/a//b", "empty path segment"},
        {"s3://bucket/a b", "space"},
        {"s3://bucket/a\nb", "control"},
        {"s3://bucket/a\\b", "'\\'"},
        {"s3://bucket/a?x=1", "'?'"},
        {"s3://bucket/a#b", "'#'"},
        {"s3://bucket/a%2e", "'%'"},
        {"s3://bucket/\xc3\xa9", "non-ASCII"},
        {"s3://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x",
         "64 characters"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct jb_s3_url u;
        char err[JB_ERRLEN] = "";
        int rc = jb_s3_parse_url(bad[i].url, &u, err, sizeof(err));
        if (rc != JB_ERR_INVALID || strstr(err, bad[i].why) == NULL)
            fail_msg("%s: rc %d, err \"%s\", wanted \"%s\"", bad[i].url, rc, err, bad[i].why);
        assert_string_equal(u.bucket, "");
        assert_string_equal(u.prefix, "");
    }
    struct jb_s3_url u;
    assert_int_equal(jb_s3_parse_url(NULL, &u, NULL, 0), JB_ERR_INVALID);
}

static void test_long_prefix(void **state)
{
    char url[JB_S3_PREFIX_MAX + 64];
    struct jb_s3_url u;
    char err[JB_ERRLEN];
    (void)state;
    strcpy(url, "s3://bucket/");
    size_t n = strlen(url);
    memset(url + n, 'p', JB_S3_PREFIX_MAX - 1);
    url[n + JB_S3_PREFIX_MAX - 1] = '\0';
    assert_int_equal(jb_s3_parse_url(url, &u, err, sizeof(err)), 0);
    assert_int_equal(strlen(u.prefix), JB_S3_PREFIX_MAX);
    strcat(url, "p");
    assert_int_equal(jb_s3_parse_url(url, &u, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_long_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
