#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/keys.h"

#include <sodium.h>
#include <string.h>

static void test_private_text_round_trips(void **state)
{
    struct jb_keypair *kp = NULL, *back = NULL;
    char *text = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(jb_keypair_new(&kp, NULL, 0), 0);
    assert_int_equal(jb_key_private_text(kp, "c", &text, &len, NULL, 0), 0);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    /* Every base64 line is 70 columns, but the last. */
    const char *line = strchr(text, '\n') + 1;
    const char *end = strstr(text, "-----END");
    while (line < end) {
        const char *nl = strchr(line, '\n');
        if (strchr(nl + 1, '\n') && nl + 1 < end)
            assert_int_equal(nl - line, 70);
        line = nl + 1;
    }
    assert_int_equal(jb_key_parse_private_text(text, len, &back, NULL, 0), 0);
    assert_memory_equal(back->sk, kp->sk, JB_ED25519_SK_LEN);
    jb_keypair_free(back);
    jb_secret_free(text);
    jb_keypair_free(kp);
}

static void test_rfc8032_public_key_and_fingerprint(void **state)
{
    /* RFC 8032 test 1: secret seed 9d61…7f60 gives public key d75a…511a. */
    static const char seed_hex[] =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    unsigned char seed[32], pk[32], sk[64], back[32];
    char line[JB_PUBLIC_LINE_MAX], fp[JB_FINGERPRINT_LEN], kh[600];
    (void)state;

    assert_int_equal(sodium_init() >= 0, 1);
    sodium_hex2bin(seed, 32, seed_hex, 64, NULL, NULL, NULL);
    crypto_sign_ed25519_seed_keypair(pk, sk, seed);
    assert_int_equal(jb_key_public_line(pk, "rfc", line, sizeof(line)), 0);
    assert_string_equal(
        line,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea rfc");
    assert_int_equal(jb_key_parse_public_line(line, back, NULL, 0), 0);
    assert_memory_equal(back, pk, 32);
    /* Computed with `ssh-keygen -lf` on the line above. */
    jb_key_fingerprint(pk, fp);
    assert_string_equal(fp, "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8");
    assert_int_equal(jb_key_known_hosts_line("127.0.0.1", 2222, pk, kh, sizeof(kh)), 0);
    assert_string_equal(kh, "[127.0.0.1]:2222 ssh-ed25519 "
                            "AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
    assert_int_equal(jb_key_known_hosts_line("h.example", 22, pk, kh, sizeof(kh)), 0);
    assert_int_equal(strncmp(kh, "h.example ssh-ed25519 ", 22), 0);
}

static void test_rejects_bad_public_lines(void **state)
{
    unsigned char pk[32];
    (void)state;

    assert_int_equal(jb_key_parse_public_line("ssh-rsa AAAA", pk, NULL, 0), -1);
    assert_int_equal(jb_key_parse_public_line("ssh-ed25519 !!!", pk, NULL, 0), -1);
    /* A valid base64 blob of the wrong key type. */
    assert_int_equal(
        jb_key_parse_public_line("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAgQC", pk, NULL, 0), -1);
    assert_int_equal(jb_key_parse_private_text("junk", 4, &(struct jb_keypair *){NULL}, NULL, 0),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_text_round_trips),
        cmocka_unit_test(test_rfc8032_public_key_and_fingerprint),
        cmocka_unit_test(test_rejects_bad_public_lines),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
