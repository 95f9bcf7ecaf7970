/* lib/stack/box_identity: what a box published about itself is taken only
 * when it is one well-formed key line, and a role id only when IAM could
 * have made it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "stack/box_identity.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOthBEzgiRiTipeEgbQxqmnTrDA3Y4inPuetdVJsgneK"

static int read_with(const char *text, struct jb_box_identity *id, char *err, size_t errlen)
{
    char dir[] = "/tmp/jb-box-identity-XXXXXX", path[PATH_MAX];
    FILE *f;
    int rc;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/host_key.pub", dir);
    if (text) {
        assert_non_null(f = fopen(path, "w"));
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
    }
    rc = jb_box_identity_read_dir(dir, id, err, errlen);
    unlink(path);
    rmdir(dir);
    return rc;
}

static void test_a_key_line_is_taken(void **state)
{
    struct jb_box_identity id;
    char err[JB_ERRLEN] = "";
    (void)state;
    assert_int_equal(read_with(KEY " root@box\n", &id, err, sizeof(err)), 0);
    assert_string_equal(id.host_public_key, KEY);
    assert_string_equal(id.host_fingerprint, "SHA256:7+uzQgo5jHydYaTg17hsB4uS9AIeKthqk7bORZvF+34");
    assert_string_equal(id.token_hash, "");
    assert_int_equal(read_with(KEY, &id, err, sizeof(err)), 0);
}

static void test_anything_else_is_not_the_box_s(void **state)
{
    static const char *const bad[] = {
        KEY "\n" KEY "\n",     /* two keys */
        KEY " a\tb\n",         /* control characters */
        "ssh-rsa AAAAB3Nza\n", /* another type */
        "ssh-ed25519 AAAA\n",  /* no key */
        "",
    };
    struct jb_box_identity id;
    char err[JB_ERRLEN];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(read_with(bad[i], &id, err, sizeof(err)), JB_ERR_HOSTKEY);
        assert_non_null(strstr(err, "host_key.pub"));
    }
    assert_int_equal(read_with(NULL, &id, err, sizeof(err)), JB_ERR_HOSTKEY);
    assert_non_null(strstr(err, "published no host key"));
}

static void test_role_ids(void **state)
{
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_box_check_role_id("AROA1234567890ABCDEFG", err, sizeof(err)), 0);
    assert_int_equal(jb_box_check_role_id(NULL, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "JUMPBOX_BOX_ROLE_ID"));
    assert_int_equal(jb_box_check_role_id("AROA123", err, sizeof(err)), JB_ERR_INVALID);
    assert_int_equal(jb_box_check_role_id("AROA1234567890ABCDEF:i-1", err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_int_equal(jb_box_check_role_id("aroa1234567890abcdefg", err, sizeof(err)),
                     JB_ERR_INVALID);
}

static void test_the_prefix_is_the_session_s(void **state)
{
    struct jb_state st;
    char out[256], err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_state_parse("s3://jumpbox-state/stacks", &st, err, sizeof(err)), 0);
    assert_int_equal(jb_box_prefix(&st, "AROA1234567890ABCDEFG", "i-0abc", out, sizeof(out)), 0);
    assert_string_equal(out, "stacks/boxes/AROA1234567890ABCDEFG:i-0abc/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_line_is_taken),
        cmocka_unit_test(test_anything_else_is_not_the_box_s),
        cmocka_unit_test(test_role_ids),
        cmocka_unit_test(test_the_prefix_is_the_session_s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
