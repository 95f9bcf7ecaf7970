#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "stack/lease.h"
#include "stack/stackcfg.h"
#include "stack/terraform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return 1;
    return 0;
}

static int has_prefix(char *const *v, const char *p)
{
    for (; v && *v; v++)
        if (strncmp(*v, p, strlen(p)) == 0)
            return 1;
    return 0;
}

static void test_env_passes_only_what_terraform_needs(void **state)
{
    char *env[] = {"PATH=/usr/bin",
                   "HOME=/root",
                   "AWS_REGION=eu-west-1",
                   "AWS_SECRET_ACCESS_KEY=s",
                   "JUMPBOX_TF_PLUGIN_DIR=/p",
                   "SSH_AUTH_SOCK=/tmp/agent",
                   "LD_PRELOAD=/evil.so",
                   "TF_VAR_x=1",
                   "JB_HOST_PRIVATE_KEY=k",
                   "GITHUB_TOKEN=t",
                   "GOGC=400",
                   "GOMEMLIMIT=900MiB",
                   "GODEBUG=x",
                   NULL};
    struct jb_strv out = {0};
    (void)state;

    assert_int_equal(jb_tf_build_env(&out, "/w/s1", env), 0);
    assert_true(has(out.v, "PATH=/usr/bin"));
    assert_true(has(out.v, "AWS_REGION=eu-west-1"));
    assert_true(has(out.v, "AWS_SECRET_ACCESS_KEY=s"));
    assert_true(has(out.v, "JUMPBOX_TF_PLUGIN_DIR=/p"));
    assert_true(has(out.v, "TF_DATA_DIR=/w/s1/.terraform"));
    assert_true(has(out.v, "TF_IN_AUTOMATION=1"));
    assert_true(has(out.v, "GOGC=400"));
    assert_true(has(out.v, "GOMEMLIMIT=900MiB"));
    assert_false(has_prefix(out.v, "GODEBUG="));
    assert_false(has_prefix(out.v, "SSH_AUTH_SOCK="));
    assert_false(has_prefix(out.v, "LD_PRELOAD="));
    assert_false(has_prefix(out.v, "TF_VAR_"));
    assert_false(has_prefix(out.v, "JB_HOST_PRIVATE_KEY"));
    assert_false(has_prefix(out.v, "GITHUB_TOKEN"));
    jb_strv_free(&out);
}

/* Terraform's temporary files, the providers' sockets among them, go into
 * the work dir its teardown removes; a work dir too deep for a socket's
 * path keeps the caller's TMPDIR. */
static void test_tmpdir_is_the_work_dirs_while_a_socket_fits(void **state)
{
    char deep[200], want[260];
    char *env[] = {"PATH=/usr/bin", "TMPDIR=/var/tmp", NULL};
    struct jb_strv a = {0}, b = {0}, c = {0};
    (void)state;

    assert_int_equal(jb_tf_build_env(&a, "/w/s1", env), 0);
    assert_true(has(a.v, "TMPDIR=/w/s1/tmp"));
    assert_false(has(a.v, "TMPDIR=/var/tmp"));
    /* 107 bytes of sun_path: "/tmp" and "/plugin" and ten digits leave 86. */
    memset(deep, 'd', 86);
    deep[0] = '/';
    deep[86] = '\0';
    snprintf(want, sizeof(want), "TMPDIR=%s/tmp", deep);
    assert_int_equal(jb_tf_build_env(&b, deep, env), 0);
    assert_true(has(b.v, want));
    deep[86] = 'd';
    deep[87] = '\0';
    assert_int_equal(jb_tf_build_env(&c, deep, env), 0);
    assert_true(has(c.v, "TMPDIR=/var/tmp"));
    assert_false(has_prefix(c.v, "TMPDIR=/d"));
    jb_strv_free(&a);
    jb_strv_free(&b);
    jb_strv_free(&c);
}

/* A CLI config file that is not there is left out: Terraform would only
 * warn about it in every log. */
static void test_cli_config_file_only_when_it_exists(void **state)
{
    char *missing[] = {"PATH=/usr/bin", "TF_CLI_CONFIG_FILE=/nonexistent/.terraformrc", NULL};
    char *there[] = {"PATH=/usr/bin", "TF_CLI_CONFIG_FILE=/dev/null", NULL};
    struct jb_strv a = {0}, b = {0};
    (void)state;

    assert_int_equal(jb_tf_build_env(&a, "/w", missing), 0);
    assert_false(has_prefix(a.v, "TF_CLI_CONFIG_FILE="));
    assert_int_equal(jb_tf_build_env(&b, "/w", there), 0);
    assert_true(has(b.v, "TF_CLI_CONFIG_FILE=/dev/null"));
    jb_strv_free(&a);
    jb_strv_free(&b);
}

static void test_argv_is_an_array_with_plugin_dir_on_init_only(void **state)
{
    struct jb_tf tf;
    struct jb_strv a = {0}, b = {0};
    const char *extra[] = {"-auto-approve", NULL};
    (void)state;

    memset(&tf, 0, sizeof(tf));
    strcpy(tf.workdir, "/w/with space");
    strcpy(tf.plugin_dir, "/layer/plugins");
    assert_int_equal(jb_tf_build_argv(&tf, "init", NULL, &a), 0);
    assert_string_equal(a.v[0], "terraform");
    assert_string_equal(a.v[1], "-chdir=/w/with space");
    assert_string_equal(a.v[2], "init");
    assert_true(has(a.v, "-input=false"));
    assert_true(has(a.v, "-plugin-dir=/layer/plugins"));
    assert_int_equal(jb_tf_build_argv(&tf, "apply", extra, &b), 0);
    assert_false(has_prefix(b.v, "-plugin-dir"));
    assert_string_equal(b.v[b.n - 1], "-auto-approve");
    jb_strv_free(&a);
    jb_strv_free(&b);
}

/* `state push` takes no -input flag (Terraform refuses it) and is two words. */
static void test_argv_for_state_push(void **state)
{
    struct jb_tf tf;
    struct jb_strv a = {0};
    const char *extra[] = {"/w/errored.tfstate", NULL};
    (void)state;

    memset(&tf, 0, sizeof(tf));
    strcpy(tf.workdir, "/w");
    assert_int_equal(jb_tf_build_argv(&tf, "state push", extra, &a), 0);
    assert_string_equal(a.v[2], "state");
    assert_string_equal(a.v[3], "push");
    assert_false(has(a.v, "-input=false"));
    assert_false(has(a.v, "state push"));
    assert_string_equal(a.v[a.n - 1], "/w/errored.tfstate");
    jb_strv_free(&a);
}

static void test_outputs_are_validated(void **state)
{
    cJSON *o = cJSON_Parse("{\"host\":{\"value\":\"10.0.0.5\"},\"port\":{\"value\":22},"
                           "\"bad\":{\"value\":\"a b\"},\"num\":{\"value\":\"70000\"},"
                           "\"frac\":{\"value\":22.5},\"list\":{\"value\":[1]}}");
    char host[64];
    int port;
    (void)state;

    assert_int_equal(jb_tf_output_string(o, "host", host, sizeof(host), NULL, 0), 0);
    assert_string_equal(host, "10.0.0.5");
    assert_int_equal(jb_tf_output_port(o, "port", &port, NULL, 0), 0);
    assert_int_equal(port, 22);
    assert_int_equal(jb_tf_output_string(o, "bad", host, sizeof(host), NULL, 0), JB_ERR_PARSE);
    assert_int_equal(jb_tf_output_string(o, "missing", host, sizeof(host), NULL, 0), JB_ERR_PARSE);
    assert_int_equal(jb_tf_output_port(o, "num", &port, NULL, 0), JB_ERR_PARSE);
    assert_int_equal(jb_tf_output_port(o, "frac", &port, NULL, 0), JB_ERR_PARSE);
    assert_int_equal(jb_tf_output_port(o, "list", &port, NULL, 0), JB_ERR_PARSE);
    cJSON_Delete(o);
}

/* A state as Terraform 1.x writes it: the outputs come out as
 * `terraform output -json` would print them; anything else is refused. */
static void test_outputs_are_read_from_the_state(void **state)
{
    static const char v4[] = "{\"version\":4,\"terraform_version\":\"1.9.8\",\"serial\":3,"
                             "\"outputs\":{\"host\":{\"value\":\"10.0.0.5\",\"type\":"
                             "\"string\"},\"port\":{\"value\":22,\"type\":\"number\"}},"
                             "\"resources\":[]}";
    static const char *const bad[] = {"this is not JSON {",
                                      "[]",
                                      "{\"version\":3,\"outputs\":{}}",
                                      "{\"version\":\"4\",\"outputs\":{}}",
                                      "{\"version\":4}",
                                      "{\"version\":4,\"outputs\":[]}"};
    cJSON *o = NULL;
    char host[64];
    int port;
    (void)state;

    assert_int_equal(jb_tf_state_outputs(v4, strlen(v4), &o, NULL, 0), 0);
    assert_int_equal(jb_tf_output_string(o, "host", host, sizeof(host), NULL, 0), 0);
    assert_string_equal(host, "10.0.0.5");
    assert_int_equal(jb_tf_output_port(o, "port", &port, NULL, 0), 0);
    assert_int_equal(port, 22);
    cJSON_Delete(o);
    /* Only len bytes count: the text need not end there. */
    assert_int_equal(jb_tf_state_outputs(v4, 10, &o, NULL, 0), JB_ERR_PARSE);
    assert_null(o);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(jb_tf_state_outputs(bad[i], strlen(bad[i]), &o, NULL, 0), JB_ERR_PARSE);
        assert_null(o);
    }
}

static void test_literals_cannot_inject_templates(void **state)
{
    cJSON *s = jb_tf_literal("a${file(\"/etc/shadow\")}%{if x}$$b");
    (void)state;

    assert_string_equal(s->valuestring, "a$${file(\"/etc/shadow\")}%%{if x}$$b");
    cJSON_Delete(s);
}

static void test_lease_round_trip_and_validation(void **state)
{
    struct jb_lease l, back;
    char *json = NULL;
    (void)state;

    memset(&l, 0, sizeof(l));
    strcpy(l.stack_id, "s1");
    strcpy(l.module, "local");
    strcpy(l.requester, "me@vm");
    strcpy(l.status, "ready");
    l.created_at = 1000;
    l.expires_at = 2000;
    l.port = 2222;
    l.vars = cJSON_Parse("{\"stack_id\":\"s1\"}");
    assert_int_equal(jb_lease_to_json(&l, &json, NULL, 0), 0);
    assert_int_equal(jb_lease_from_json(json, &back, NULL, 0), 0);
    assert_string_equal(back.stack_id, "s1");
    assert_int_equal(back.expires_at, 2000);
    assert_int_equal(back.port, 2222);
    jb_lease_clear(&back);
    free(json);
    jb_lease_clear(&l);
    assert_int_equal(jb_lease_from_json("[]", &back, NULL, 0), JB_ERR_PARSE);
    /* What a reader refuses (over JB_LEASE_MAX_BYTES) is never written. */
    {
        char *big = malloc(JB_LEASE_MAX_BYTES), err[JB_ERRLEN];
        memset(big, 'x', JB_LEASE_MAX_BYTES - 1);
        big[JB_LEASE_MAX_BYTES - 1] = '\0';
        l.vars = cJSON_CreateObject();
        cJSON_AddStringToObject(l.vars, "pad", big);
        json = NULL;
        assert_int_equal(jb_lease_to_json(&l, &json, err, sizeof(err)), JB_ERR_INVALID);
        assert_null(json);
        assert_non_null(strstr(err, "over the 65536"));
        jb_lease_clear(&l);
        free(big);
    }
    assert_int_equal(jb_lease_from_json("{\"stack_id\":\"../x\"}", &back, NULL, 0), JB_ERR_PARSE);
}

/* Who the sweeper may take: expired, failed, or busy past its deadline. */
static void test_lease_deadline_and_sweepable(void **state)
{
    struct jb_lease l, back;
    char *json = NULL;
    (void)state;

    memset(&l, 0, sizeof(l));
    strcpy(l.stack_id, "s1");
    strcpy(l.module, "local");
    strcpy(l.requester, "me");
    strcpy(l.status, "creating");
    l.created_at = 1000;
    l.expires_at = 5000;
    l.deadline = 2000;
    assert_int_equal(jb_lease_to_json(&l, &json, NULL, 0), 0);
    assert_int_equal(jb_lease_from_json(json, &back, NULL, 0), 0);
    assert_int_equal(back.deadline, 2000);
    free(json);
    jb_lease_clear(&back);
    assert_false(jb_lease_sweepable(&l, 1999));
    assert_true(jb_lease_sweepable(&l, 2000));
    strcpy(l.status, "destroying");
    assert_true(jb_lease_sweepable(&l, 2000));
    strcpy(l.status, "ready"); /* a deadline means nothing once ready */
    assert_false(jb_lease_sweepable(&l, 2000));
    assert_true(jb_lease_sweepable(&l, 5000));
    l.deadline = 0;
    strcpy(l.status, "creating"); /* no deadline (an older lease): the expiry only */
    assert_false(jb_lease_sweepable(&l, 4999));
    strcpy(l.status, "failed");
    assert_true(jb_lease_sweepable(&l, 1000));
    /* Leases written before deadline and revision existed still read. */
    assert_int_equal(
        jb_lease_from_json("{\"stack_id\":\"s1\",\"module\":\"local\",\"requester\":\"me\","
                           "\"status\":\"ready\",\"created_at\":\"2020-01-01T00:00:00Z\","
                           "\"expires_at\":\"2020-01-01T01:00:00Z\",\"host\":\"\",\"port\":0,"
                           "\"user\":\"\",\"instance_id\":\"\",\"host_fingerprint\":\"\","
                           "\"token_hash\":\"\",\"vars\":{}}",
                           &back, NULL, 0),
        0);
    assert_int_equal(back.deadline, 0);
    assert_string_equal(back.revision, "");
    assert_int_equal(back.alive_until, 0);
    assert_int_equal(back.max_until, 0);
    assert_int_equal(back.keepalive_s, 0);
    jb_lease_clear(&back);
}

/* The keep-alive ends a ready box before its expiry, never one being made
 * (the create's deadline stands in then), and never after the expiry. */
static void test_lease_keepalive(void **state)
{
    struct jb_lease l, back;
    char *json = NULL;
    (void)state;

    memset(&l, 0, sizeof(l));
    strcpy(l.stack_id, "s1");
    strcpy(l.module, "aws");
    strcpy(l.requester, "me");
    strcpy(l.status, "ready");
    l.created_at = 1000;
    l.expires_at = 5000;
    l.max_until = 9000;
    l.keepalive_s = 20;
    l.alive_until = 3000;
    assert_int_equal(jb_lease_to_json(&l, &json, NULL, 0), 0);
    assert_int_equal(jb_lease_from_json(json, &back, NULL, 0), 0);
    assert_int_equal(back.alive_until, 3000);
    assert_int_equal(back.max_until, 9000);
    assert_int_equal(back.keepalive_s, 20);
    free(json);
    jb_lease_clear(&back);
    assert_int_equal(jb_lease_ends_at(&l), 3000);
    assert_false(jb_lease_sweepable(&l, 2999));
    assert_true(jb_lease_sweepable(&l, 3000));
    assert_string_equal(jb_lease_end_reason(&l, 3000), "keepalive");
    assert_string_equal(jb_lease_end_reason(&l, 5000), "expired");
    strcpy(l.status, "creating");
    assert_int_equal(jb_lease_ends_at(&l), 5000);
    assert_false(jb_lease_sweepable(&l, 3000));
    strcpy(l.status, "ready");
    l.alive_until = 6000; /* past the expiry: the expiry ends it */
    assert_int_equal(jb_lease_ends_at(&l), 5000);
    /* A keep-alive that is no duration is refused. */
    assert_int_not_equal(
        jb_lease_from_json("{\"stack_id\":\"s1\",\"module\":\"local\",\"requester\":\"me\","
                           "\"status\":\"ready\",\"created_at\":\"2020-01-01T00:00:00Z\","
                           "\"expires_at\":\"2020-01-01T01:00:00Z\",\"host\":\"\",\"port\":0,"
                           "\"user\":\"\",\"instance_id\":\"\",\"host_fingerprint\":\"\","
                           "\"token_hash\":\"\",\"keepalive_s\":-1,\"vars\":{}}",
                           &back, NULL, 0),
        0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_passes_only_what_terraform_needs),
        cmocka_unit_test(test_cli_config_file_only_when_it_exists),
        cmocka_unit_test(test_tmpdir_is_the_work_dirs_while_a_socket_fits),
        cmocka_unit_test(test_argv_is_an_array_with_plugin_dir_on_init_only),
        cmocka_unit_test(test_argv_for_state_push),
        cmocka_unit_test(test_outputs_are_validated),
        cmocka_unit_test(test_outputs_are_read_from_the_state),
        cmocka_unit_test(test_literals_cannot_inject_templates),
        cmocka_unit_test(test_lease_round_trip_and_validation),
        cmocka_unit_test(test_lease_deadline_and_sweepable),
        cmocka_unit_test(test_lease_keepalive),
    };
    return cmocka_run_group_tests_name("terraform", tests, NULL, NULL);
}
