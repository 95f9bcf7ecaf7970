#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/creds.h"
#include "aws/creds_int.h"
#include "base/err.h"
#include "base/ini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* credential_process through jb_creds_from_process, with real programs
 * (printf, sh, yes, head: no shell parses the command line). */
static int from_process(const char *cmd, long timeout_ms, struct jb_aws_creds *c, char *err)
{
    memset(c, 0, sizeof(*c));
    return jb_creds_from_process(cmd, timeout_ms, time(NULL), c, err, JB_ERRLEN);
}

static void test_process_answer_environment_and_path(void **state)
{
    struct jb_aws_creds c;
    char err[JB_ERRLEN], *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    (void)state;

    assert_int_equal(
        from_process("printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"ASIAUNIT0000\", "
                     "\"SecretAccessKey\": \"unitSecret\", \"SessionToken\": \"tok\"}'",
                     0, &c, err),
        0);
    assert_string_equal(c.source, "credential-process");
    assert_string_equal(c.access_key_id, "ASIAUNIT0000");
    assert_string_equal(c.secret_access_key, "unitSecret");
    assert_string_equal(c.session_token, "tok");
    jb_aws_creds_clear(&c);
    /* Our environment is its environment; an empty PATH is the default one. */
    setenv("JB_UNIT_AKID", "ASIAFROMENV0", 1);
    setenv("PATH", "", 1);
    assert_int_equal(from_process("sh -c 'printf \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": "
                                  "\\\"$JB_UNIT_AKID\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}\"'",
                                  0, &c, err),
                     0);
    assert_string_equal(c.access_key_id, "ASIAFROMENV0");
    assert_null(c.session_token);
    jb_aws_creds_clear(&c);
    setenv("PATH", path, 1);
    unsetenv("JB_UNIT_AKID");
    free(path);
}

static void test_process_failures_keep_their_words(void **state)
{
    struct jb_aws_creds c;
    char err[JB_ERRLEN], tmp[] = "/tmp/jb-creds-test-XXXXXX", cmd[64];
    int fd;
    (void)state;

    assert_int_equal(from_process("no-such-program-jb --secret-arg", 0, &c, err), JB_ERR_AUTH);
    assert_string_equal(err, "credential_process: 'no-such-program-jb' is not on PATH");
    assert_int_equal(from_process("/nonexistent/jb-prog --secret-arg", 0, &c, err), JB_ERR_AUTH);
    assert_string_equal(err, "credential_process: cannot run 'jb-prog': No such file or directory");
    assert_int_not_equal(fd = mkstemp(tmp), -1);
    close(fd); /* 0600: not executable */
    snprintf(cmd, sizeof(cmd), "%s", tmp);
    assert_int_equal(from_process(cmd, 0, &c, err), JB_ERR_AUTH);
    assert_non_null(strstr(err, "cannot run 'jb-creds-test-"));
    assert_non_null(strstr(err, "': Permission denied"));
    unlink(tmp);
    /* An exit status above 128 is not a signal. */
    assert_int_equal(from_process("sh -c 'exit 130'", 0, &c, err), JB_ERR_AUTH);
    assert_string_equal(err, "credential_process: 'sh' exited with status 130");
    assert_int_equal(from_process("sh -c 'kill -9 $$'", 0, &c, err), JB_ERR_AUTH);
    assert_string_equal(err, "credential_process: 'sh' was killed by signal 9");
    assert_int_equal(from_process("sleep 30", 300, &c, err), JB_ERR_TIMEOUT);
    assert_string_equal(err, "credential_process: 'sleep' gave no answer within 300 ms");
    assert_null(c.secret_access_key);
}

static void test_process_output_cap(void **state)
{
    struct jb_aws_creds c;
    char err[JB_ERRLEN];
    (void)state;

    /* 65535 bytes are read (and refused as JSON), 65536 are too many. */
    assert_int_equal(from_process("head -c 65535 /dev/zero", 0, &c, err), JB_ERR_PARSE);
    assert_string_equal(err, "credential_process 'head': answer is not a JSON object");
    assert_int_equal(from_process("head -c 65536 /dev/zero", 0, &c, err), JB_ERR_PARSE);
    assert_string_equal(err, "credential_process: 'head' printed more than 65536 bytes");
    /* Stopped at the cap, not at the deadline: `yes` never ends. */
    assert_int_equal(from_process("yes", 600000, &c, err), JB_ERR_PARSE);
    assert_string_equal(err, "credential_process: 'yes' printed more than 65536 bytes");
}

/* Its stderr is ours, so its complaints reach the user. */
static void test_process_stderr_is_ours(void **state)
{
    struct jb_aws_creds c;
    char err[JB_ERRLEN], tmp[] = "/tmp/jb-creds-stderr-XXXXXX", seen[64] = "";
    int fd, saved;
    ssize_t n;
    (void)state;

    assert_int_not_equal(fd = mkstemp(tmp), -1);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    assert_int_equal(from_process("sh -c 'echo refusing on purpose >&2; exit 1'", 0, &c, err),
                     JB_ERR_AUTH);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, seen, sizeof(seen) - 1, 0);
    close(fd);
    unlink(tmp);
    assert_true(n > 0);
    assert_string_equal(seen, "refusing on purpose\n");
    assert_string_equal(err, "credential_process: 'sh' exited with status 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_command_like_shlex),
        cmocka_unit_test(test_ini),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_env_chain_and_static_provider),
        cmocka_unit_test(test_process_answer_environment_and_path),
        cmocka_unit_test(test_process_failures_keep_their_words),
        cmocka_unit_test(test_process_output_cap),
        cmocka_unit_test(test_process_stderr_is_ours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
