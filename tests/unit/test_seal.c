#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "crypto/seal.h"

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

/* Points of small order on Curve25519 (and their non-canonical aliases):
 * crypto_box_seal refuses them, so they must be refused as input, before a
 * box is built for a key nothing can be sealed to. */
static void test_low_order_points_refused(void **state)
{
    static const unsigned char low[][JB_SEAL_KEY_LEN] = {
        {1},                                                               /* u = 1 */
        {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, /* order 8 */
         0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
         0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
        {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, /* order 8 */
         0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
         0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
        {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* p - 1 */
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
        {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* p, i.e. 0 */
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
        {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* p + 1, i.e. 1 */
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
        {1, [31] = 0x80}, /* u = 1 with the top bit, which X25519 ignores */
    };
    unsigned char pk[JB_SEAL_KEY_LEN];
    char b64[JB_SEAL_KEY_B64_LEN], err[JB_ERRLEN], *sealed = NULL;
    (void)state;

    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
        sodium_bin2base64(b64, sizeof(b64), low[i], JB_SEAL_KEY_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        err[0] = '\0';
        assert_int_equal(jb_seal_parse_key(b64, pk, err, sizeof(err)), JB_ERR_INVALID);
        assert_non_null(strstr(err, "small order"));
        /* What the check stands in for: sealing to it fails. */
        assert_int_equal(jb_seal(low[i], "x", 1, &sealed, NULL, 0), JB_ERR_CRYPTO);
        assert_null(sealed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_key_or_changed_box_fails),
        cmocka_unit_test(test_bad_recipient_keys_refused),
        cmocka_unit_test(test_low_order_points_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
