#include "fuzz.h"
#include "crypto/keys.h"

#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *text = NULL, err[256];
    struct jb_keypair *kp = NULL, *back = NULL;
    unsigned char pk[JB_ED25519_PK_LEN], sk[JB_ED25519_SK_LEN];
    size_t len = 0;

    if (jb_key_parse_private_text(s, size, &kp, err, sizeof(err)) == 0) {
        /* The public half is the one the secret seed makes. */
        FUZZ_CHECK(crypto_sign_ed25519_seed_keypair(pk, sk, kp->sk) == 0);
        FUZZ_CHECK(memcmp(pk, kp->pk, sizeof(pk)) == 0);
        FUZZ_CHECK(jb_key_private_text(kp, "fuzz", &text, &len, err, sizeof(err)) == 0);
        FUZZ_CHECK(jb_key_parse_private_text(text, len, &back, err, sizeof(err)) == 0);
        FUZZ_CHECK(memcmp(kp->sk, back->sk, JB_ED25519_SK_LEN) == 0);
        sodium_memzero(sk, sizeof(sk));
    }
    jb_secret_free(text);
    jb_keypair_free(back);
    jb_keypair_free(kp);
    free(s);
    return 0;
}
