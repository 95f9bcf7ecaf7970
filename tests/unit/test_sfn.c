#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "aws/request.h"
#include "aws/sfn.h"

#include <stdlib.h>
#include <string.h>

/* "€" is E2 82 AC, "😀" F0 9F 98 80, "é" C3 A9. */
static void test_utf8_head(void **state)
{
    const char *s = "ab\xE2\x82\xAC"
                    "c";
    (void)state;
    assert_int_equal(jb_sfn_utf8_head(s, 6, 10), 6); /* fits */
    assert_int_equal(jb_sfn_utf8_head(s, 6, 6), 6);
    assert_int_equal(jb_sfn_utf8_head(s, 6, 5), 5); /* ends after the euro */
    assert_int_equal(jb_sfn_utf8_head(s, 6, 4), 2); /* would end inside it */
    assert_int_equal(jb_sfn_utf8_head(s, 6, 3), 2);
    assert_int_equal(jb_sfn_utf8_head(s, 6, 2), 2);
    assert_int_equal(jb_sfn_utf8_head(s, 6, 0), 0);

    const char *emoji = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
    for (size_t max = 4; max < 8; max++)
        assert_int_equal(jb_sfn_utf8_head(emoji, 8, max), 4);
    for (size_t max = 0; max < 4; max++)
        assert_int_equal(jb_sfn_utf8_head(emoji, 8, max), 0);

    /* Not UTF-8 (a run of continuation bytes): cut at max, no further. */
    const char *junk = "a\x80\x80\x80\x80\x80";
    assert_int_equal(jb_sfn_utf8_head(junk, 6, 4), 4);
}

static void test_utf8_tail(void **state)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC";
    (void)state;
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 10), 0);
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 6), 0);
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 5), 1); /* "é€" */
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 4), 3); /* would begin inside é: "€" */
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 3), 3);
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 2), 6); /* inside € to the end: nothing */
    assert_int_equal(jb_sfn_utf8_tail(s, 6, 0), 6);

    const char *emoji = "x\xF0\x9F\x98\x80";
    assert_int_equal(jb_sfn_utf8_tail(emoji, 5, 4), 1);
    assert_int_equal(jb_sfn_utf8_tail(emoji, 5, 3), 5);
    assert_int_equal(jb_sfn_utf8_tail(emoji, 5, 1), 5);

    const char *junk = "\x80\x80\x80\x80\x80z";
    assert_int_equal(jb_sfn_utf8_tail(junk, 6, 5), 1);
}

/* Every cut of every position of a mixed string is a boundary. */
static void test_cuts_are_boundaries(void **state)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xC3\xA9";
    size_t len = strlen(s);
    (void)state;
    for (size_t max = 0; max <= len + 1; max++) {
        size_t h = jb_sfn_utf8_head(s, len, max), t = jb_sfn_utf8_tail(s, len, max);
        assert_true(h <= max && h <= len && h + 4 > (max < len ? max : len));
        assert_true(len - t <= max && t <= len);
        assert_true(h == len || (s[h] & 0xC0) != 0x80);
        assert_true(t == len || (s[t] & 0xC0) != 0x80);
    }
}

static void test_token(void **state)
{
    char err[JB_ERRLEN] = "";
    char *big = malloc(JB_SFN_TOKEN_MAX + 2);
    (void)state;
    assert_non_null(big);
    memset(big, 'A', JB_SFN_TOKEN_MAX + 1);
    big[JB_SFN_TOKEN_MAX + 1] = '\0';
    assert_int_equal(jb_sfn_check_token("AAAAKgAAAAIAAAAAAAAAA+/=x", err, sizeof(err)), 0);
    assert_int_equal(jb_sfn_check_token(big, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "--task-token: 2049 bytes"));
    big[JB_SFN_TOKEN_MAX] = '\0';
    assert_int_equal(jb_sfn_check_token(big, err, sizeof(err)), 0);
    assert_int_equal(jb_sfn_check_token("", err, sizeof(err)), JB_ERR_INVALID);
    assert_int_equal(jb_sfn_check_token(NULL, err, sizeof(err)), JB_ERR_INVALID);
    static const char *const bad[] = {"tok\n", "to k", "tok\t", "t\xC3\xA9", "t\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(jb_sfn_check_token(bad[i], err, sizeof(err)), JB_ERR_INVALID);
        assert_non_null(strstr(err, "--task-token"));
    }
    free(big);
}

/* Refused before anything is sent: the endpoint is a port nobody serves,
 * so a request would fail with JB_ERR_HTTP, not JB_ERR_INVALID. */
static void test_bad_output_is_refused_before_sending(void **state)
{
    struct jb_http_options o = {.max_attempts = 1, .connect_timeout_ms = 200};
    struct jb_sfn_config cfg = {.region = "us-east-1", .http = &o};
    char err[JB_ERRLEN] = "";
    size_t n = JB_SFN_OUTPUT_MAX + 1;
    char *big = malloc(n + 1);
    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '"', big[n - 1] = '"', big[n] = '\0';
    setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:1", 1);
    static const char *const bad[] = {"", "{", "{} {}", "nope", "\"\xC3\x28\"", "{\"a\":1}x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(jb_sfn_send_success(&cfg, "tok", bad[i], err, sizeof(err)),
                         JB_ERR_INVALID);
        assert_non_null(strstr(err, "not JSON"));
    }
    assert_int_equal(jb_sfn_send_success(&cfg, "tok", big, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "more than the 262144 allowed"));
    assert_int_equal(jb_sfn_send_heartbeat(&cfg, "bad token", err, sizeof(err)), JB_ERR_INVALID);
    assert_int_equal(jb_sfn_send_failure(&cfg, "", "e", "c", err, sizeof(err)), JB_ERR_INVALID);
    unsetenv("AWS_ENDPOINT_URL_SFN");
    free(big);
}

static void test_endpoint_is_named_after_the_service_id(void **state)
{
    char ep[256];
    (void)state;
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SFN");
    assert_int_equal(jb_aws_endpoint_for("sfn", "states", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "https://states.eu-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL_STATES", "http://127.0.0.1:9", 1); /* not botocore's name */
    assert_int_equal(jb_aws_endpoint_for("sfn", "states", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "https://states.eu-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:7/", 1);
    assert_int_equal(jb_aws_endpoint_for("sfn", "states", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "http://127.0.0.1:7");
    setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:8", 1);
    assert_int_equal(jb_aws_endpoint_for("sfn", "states", "eu-west-1", ep, sizeof(ep), NULL, 0), 0);
    assert_string_equal(ep, "http://127.0.0.1:8");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SFN");
    unsetenv("AWS_ENDPOINT_URL_STATES");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_head),
        cmocka_unit_test(test_utf8_tail),
        cmocka_unit_test(test_cuts_are_boundaries),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_bad_output_is_refused_before_sending),
        cmocka_unit_test(test_endpoint_is_named_after_the_service_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
