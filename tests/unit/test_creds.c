#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/creds.h"
#include "aws/creds_int.h"
#include "base/err.h"
#include "base/ini.h"

#include <stdlib.h>
#include <string.h>

static void clean_env(void)
{
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_DEFAULT_PROFILE",
                                       "AWS_CONFIG_FILE",
                                       "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        unsetenv(vars[i]);
    setenv("HOME", "/nonexistent-jb-home", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* never reach 169.254.169.254 */
}

static void test_split_command_like_shlex(void **state)
{
    char **av = NULL;
    (void)state;

    assert_int_equal(
        jb_split_command("  prog a 'b c' \"d \\\"e\\\"\" f\\ g '' h\"i\"j ", &av, NULL, 0), 0);
    assert_string_equal(av[0], "prog");
    assert_string_equal(av[1], "a");
    assert_string_equal(av[2], "b c");
    assert_string_equal(av[3], "d \"e\"");
    assert_string_equal(av[4], "f g");
    assert_string_equal(av[5], "");
    assert_string_equal(av[6], "hij");
    assert_null(av[7]);
    jb_argv_free(av);
    assert_int_equal(jb_split_command("a 'open", &av, NULL, 0), JB_ERR_INVALID);
    assert_int_equal(jb_split_command("a \"open", &av, NULL, 0), JB_ERR_INVALID);
    assert_int_equal(jb_split_command("   ", &av, NULL, 0), JB_ERR_INVALID);
    assert_null(av);
}

static void test_ini(void **state)
{
    const char *text = "; comment\n[default]\nregion = us-east-1\n"
                       "s3 =\n  max_concurrent_requests = 5\n"
                       "[profile dev]\r\nRegion: eu-west-1\r\n#x = y\n"
                       "[default]\nregion=us-west-2\n";
    const char *v;
    size_t n;
    (void)state;

    assert_int_equal(jb_ini_get(text, "profile dev", "region", &v, &n), 1);
    assert_int_equal(n, 9);
    assert_memory_equal(v, "eu-west-1", 9);
    /* The later section wins, as in configparser. */
    assert_int_equal(jb_ini_get(text, "default", "region", &v, &n), 1);
    assert_memory_equal(v, "us-west-2", n);
    assert_int_equal(jb_ini_get(text, "default", "max_concurrent_requests", &v, &n), 0);
    assert_int_equal(jb_ini_get(text, "profile dev", "#x", &v, &n), 0);
    assert_int_equal(jb_ini_get(text, "dev", "region", &v, &n), 0);
    assert_int_equal(jb_ini_has_section(text, "profile dev"), 1);
    assert_int_equal(jb_ini_has_section(text, "dev"), 0);
}

static void test_parse_time(void **state)
{
    time_t t;
    (void)state;

    assert_int_equal(jb_creds_parse_time("2015-08-30T12:36:00Z", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(jb_creds_parse_time("2015-08-30T12:36:00.123Z", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(jb_creds_parse_time("2015-08-30T14:36:00+02:00", &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(jb_creds_parse_time("2015-08-30 12:36:00", &t), -1);
    assert_int_equal(jb_creds_parse_time("2015-13-30T12:36:00Z", &t), -1);
    assert_int_equal(jb_creds_parse_time("2015-08-30T12:36:00Zjunk", &t), -1);
}

static time_t fake_clock(void *ctx)
{
    return *(time_t *)ctx;
}

static void test_env_chain_and_static_provider(void **state)
{
    struct jb_creds_provider *p = NULL;
    const struct jb_aws_creds *c;
    struct jb_creds_options o = {0};
    time_t now = 1000;
    char err[JB_ERRLEN], region[JB_AWS_REGION_MAX];
    (void)state;

    clean_env();
    o.now = fake_clock;
    o.now_ctx = &now;
    assert_int_equal(jb_creds_provider_new(&o, &p, err, sizeof(err)), 0);
    assert_int_equal(jb_creds_get(p, &c, err, sizeof(err)), JB_ERR_NOTFOUND);
    assert_non_null(strstr(err, "no AWS credentials found"));
    setenv("AWS_ACCESS_KEY_ID", "AKIAUNIT0000000000", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "unit secret", 1); /* a space is not a valid secret */
    assert_int_equal(jb_creds_get(p, &c, err, sizeof(err)), JB_ERR_AUTH);
    assert_null(strstr(err, "unit secret"));
    setenv("AWS_SECRET_ACCESS_KEY", "unitSecret", 1);
    assert_int_equal(jb_creds_get(p, &c, err, sizeof(err)), 0);
    assert_string_equal(c->source, "env");
    assert_string_equal(c->secret_access_key, "unitSecret");
    assert_null(c->session_token);
    jb_creds_provider_free(p);

    assert_int_equal(jb_creds_provider_static("AKIASTATIC00000000", "s", "t", &p, NULL, 0), 0);
    assert_int_equal(jb_creds_get(p, &c, NULL, 0), 0);
    assert_string_equal(c->source, "static");
    assert_string_equal(c->session_token, "t");
    jb_creds_provider_free(p);

    assert_int_equal(jb_aws_region(NULL, region, sizeof(region), err, sizeof(err)),
                     JB_ERR_NOTFOUND);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    assert_int_equal(jb_aws_region(NULL, region, sizeof(region), NULL, 0), 0);
    assert_string_equal(region, "eu-west-1");
    setenv("AWS_REGION", "us-east-2", 1);
    assert_int_equal(jb_aws_region(NULL, region, sizeof(region), NULL, 0), 0);
    assert_string_equal(region, "us-east-2");
    clean_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_command_like_shlex),
        cmocka_unit_test(test_ini),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_env_chain_and_static_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
