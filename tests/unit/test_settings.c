/* jb_settings_read: every variable read once, by one rule (empty is
 * unset), except AWS_LAMBDA_RUNTIME_API; and the lib/ functions that used
 * to read the environment themselves, given the settings instead. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "stack/settings.h"
#include "stack/stackcfg.h"
#include "stack/state.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void test_empty_is_unset(void **state)
{
    struct jb_settings s;
    (void)state;

    setenv("JUMPBOX_WORK_DIR", "/w", 1);
    setenv("JUMPBOX_MODULE_VARS", "", 1);
    setenv("JUMPBOX_AUDIT_LOG", "-", 1);
    setenv("XDG_CACHE_HOME", "", 1);
    unsetenv("JUMPBOX_CHECKIP_URL");
    jb_settings_read(&s);
    assert_string_equal(s.work_dir, "/w");
    assert_null(s.module_vars);
    assert_string_equal(s.audit_log, "-");
    assert_null(s.xdg_cache_home);
    assert_null(s.checkip_url);
}

static void test_an_empty_runtime_api_still_serves_a_function(void **state)
{
    struct jb_settings s;
    (void)state;

    unsetenv("AWS_LAMBDA_RUNTIME_API");
    jb_settings_read(&s);
    assert_null(s.lambda_runtime_api);
    setenv("AWS_LAMBDA_RUNTIME_API", "", 1);
    jb_settings_read(&s);
    assert_non_null(s.lambda_runtime_api);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
}

static void test_tf_timeout_is_a_cap_or_nothing(void **state)
{
    (void)state;
    assert_int_equal(jb_settings_tf_timeout("30s"), 30);
    assert_int_equal(jb_settings_tf_timeout("2m"), 120);
    /* Not a duration: ignored, as it always was (never an error). */
    assert_int_equal(jb_settings_tf_timeout("soon"), -1);
    assert_int_equal(jb_settings_tf_timeout(""), -1);
    assert_int_equal(jb_settings_tf_timeout(NULL), -1);
}

static void test_work_root_from_the_settings(void **state)
{
    struct jb_settings s;
    char out[PATH_MAX], err[JB_ERRLEN];
    (void)state;

    memset(&s, 0, sizeof(s));
    s.work_dir = "/w";
    s.xdg_cache_home = "/c";
    s.home = "/h";
    assert_int_equal(jb_work_root(&s, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "/w");
    s.work_dir = NULL;
    assert_int_equal(jb_work_root(&s, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "/c/jumpbox");
    s.xdg_cache_home = "relative"; /* ignored: not absolute */
    assert_int_equal(jb_work_root(&s, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "/h/.cache/jumpbox");
    s.home = NULL;
    assert_int_equal(jb_work_root(&s, out, sizeof(out), err, sizeof(err)), JB_ERR_INVALID);
    assert_string_equal(err, "JUMPBOX_WORK_DIR: not set, and neither is XDG_CACHE_HOME nor HOME");
    s.work_dir = "w";
    assert_int_equal(jb_work_root(&s, out, sizeof(out), err, sizeof(err)), JB_ERR_INVALID);
    assert_string_equal(err, "JUMPBOX_WORK_DIR: must be an absolute path");
}

static void test_default_state_from_the_settings(void **state)
{
    struct jb_state st;
    char err[JB_ERRLEN];
    (void)state;

    assert_int_equal(jb_state_default("/x", "/h", &st, err, sizeof(err)), 0);
    assert_string_equal(st.url, "file:///x/jumpbox");
    assert_int_equal(jb_state_default(NULL, "/h", &st, err, sizeof(err)), 0);
    assert_string_equal(st.url, "file:///h/.local/state/jumpbox");
    assert_int_equal(jb_state_default(NULL, NULL, &st, err, sizeof(err)), JB_ERR_INVALID);
    assert_string_equal(err, "neither XDG_STATE_HOME nor HOME is set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_unset),
        cmocka_unit_test(test_an_empty_runtime_api_still_serves_a_function),
        cmocka_unit_test(test_tf_timeout_is_a_cap_or_nothing),
        cmocka_unit_test(test_work_root_from_the_settings),
        cmocka_unit_test(test_default_state_from_the_settings),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
