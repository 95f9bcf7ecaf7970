#include "fuzz.h"
#include "crypto/keys.h"
#include "crypto/seal.h"

#include <sodium.h>

/* The input's first byte picks: a recipient key as the build event's
 * recipient_key would carry it, or sealed text as a caller would get back
 * (opened with a fixed pair, so seeds can hold a real sealed message). */
static unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
static char pk_b64[JB_SEAL_KEY_B64_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char seed[crypto_box_SEEDBYTES];

    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    memset(seed, 0x42, sizeof(seed));
    crypto_box_seed_keypair(pk, sk, seed);
    sodium_bin2base64(pk_b64, sizeof(pk_b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], *s, *out = NULL;
    size_t outlen = 0;
    unsigned char key[JB_SEAL_KEY_LEN];

    if (size < 1)
        return 0;
    s = fuzz_cstr(data + 1, size - 1);
    if (data[0] & 1) {
        if (jb_seal_parse_key(s, key, err, sizeof(err)) == 0) {
            /* Only the one canonical spelling of a key is taken. */
            char back[JB_SEAL_KEY_B64_LEN];
            sodium_bin2base64(back, sizeof(back), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
            FUZZ_CHECK(strcmp(back, s) == 0);
            FUZZ_CHECK(!sodium_is_zero(key, sizeof(key)));
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
    } else {
        char *sealed = NULL;
        err[0] = '\0';
        if (jb_seal_open(s, pk_b64, sk, &out, &outlen, err, sizeof(err)) == 0) {
            FUZZ_CHECK(out != NULL && out[outlen] == '\0');
            jb_secret_free(out);
        } else {
            FUZZ_CHECK(out == NULL && err[0] != '\0');
        }
        /* Whatever is sealed to the pair opens to the same bytes. */
        FUZZ_CHECK(jb_seal(pk, data + 1, size - 1, &sealed, err, sizeof(err)) == 0);
        FUZZ_CHECK(jb_seal_open(sealed, pk_b64, sk, &out, &outlen, err, sizeof(err)) == 0);
        FUZZ_CHECK(outlen == size - 1 && memcmp(out, data + 1, outlen) == 0);
        jb_secret_free(out);
        free(sealed);
    }
    free(s);
    return 0;
}
