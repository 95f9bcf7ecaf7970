#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "keys.h"
#include "seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void test_round_trip(void **state)
{
    char pk_b64[JB_SEAL_KEY_B64_LEN], *sealed = NULL, *back = NULL;
    unsigned char *sk = NULL, pk[JB_SEAL_KEY_LEN];
    size_t len = 0;
    const char msg[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n";
    (void)state;

    assert_int_equal(jb_seal_keypair_new(pk_b64, &sk, NULL, 0), 0);
    assert_int_equal(strlen(pk_b64), 44);
    assert_int_equal(jb_seal_parse_key(pk_b64, pk, NULL, 0), 0);
    assert_int_equal(jb_seal(pk, msg, strlen(msg), &sealed, NULL, 0), 0);
    assert_null(strstr(sealed, "secret"));
    assert_int_equal(jb_seal_open(sealed, pk_b64, sk, &back, &len, NULL, 0), 0);
    assert_int_equal(len, strlen(msg));
    assert_string_equal(back, msg);
    jb_secret_free(back);
    free(sealed);
    jb_secret_free(sk);
}

static void test_other_key_or_changed_box_fails(void **state)
{
    char pk1[JB_SEAL_KEY_B64_LEN], pk2[JB_SEAL_KEY_B64_LEN], *sealed = NULL, *back = NULL;
    char err[JB_ERRLEN];
    unsigned char *sk1 = NULL, *sk2 = NULL, pk[JB_SEAL_KEY_LEN];
    (void)state;

    assert_int_equal(jb_seal_keypair_new(pk1, &sk1, NULL, 0), 0);
    assert_int_equal(jb_seal_keypair_new(pk2, &sk2, NULL, 0), 0);
    assert_int_equal(jb_seal_parse_key(pk1, pk, NULL, 0), 0);
    assert_int_equal(jb_seal(pk, "token", 5, &sealed, NULL, 0), 0);
    assert_int_equal(jb_seal_open(sealed, pk2, sk2, &back, NULL, err, sizeof(err)), JB_ERR_CRYPTO);
    assert_null(back);
    assert_non_null(strstr(err, "not sealed to this key"));
    sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
    assert_int_equal(jb_seal_open(sealed, pk1, sk1, &back, NULL, NULL, 0), JB_ERR_CRYPTO);
    assert_int_equal(jb_seal_open("!!!", pk1, sk1, &back, NULL, NULL, 0), JB_ERR_PARSE);
    free(sealed);
    jb_secret_free(sk1);
    jb_secret_free(sk2);
}

static void test_bad_recipient_keys_refused(void **state)
{
    unsigned char pk[JB_SEAL_KEY_LEN];
    char zero[JB_SEAL_KEY_B64_LEN], err[JB_ERRLEN];
    unsigned char z[JB_SEAL_KEY_LEN] = {0};
    (void)state;

    sodium_bin2base64(zero, sizeof(zero), z, sizeof(z), sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(jb_seal_parse_key(NULL, pk, NULL, 0), JB_ERR_INVALID);
    assert_int_equal(jb_seal_parse_key("", pk, NULL, 0), JB_ERR_INVALID);
    assert_int_equal(jb_seal_parse_key("AAAA", pk, NULL, 0), JB_ERR_INVALID);
    /* 33 bytes, and 32 bytes in the URL-safe alphabet. */
    assert_int_equal(jb_seal_parse_key("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh", pk, NULL, 0),
                     JB_ERR_INVALID);
    assert_int_equal(jb_seal_parse_key("-_-_BAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", pk, NULL, 0),
                     JB_ERR_INVALID);
    assert_int_equal(jb_seal_parse_key(zero, pk, err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "all-zero"));
    /* Found by fuzzing: libsodium 1.0.18 decodes 0x90 as '/'. */
    assert_int_equal(jb_seal_parse_key("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH\x90"
                                       "A=",
                                       pk, NULL, 0),
                     JB_ERR_INVALID);
    assert_int_equal(jb_seal_parse_key("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", pk, NULL, 0),
                     0);
    assert_int_equal(pk[0], 1);
    assert_int_equal(pk[31], 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_key_or_changed_box_fails),
        cmocka_unit_test(test_bad_recipient_keys_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
