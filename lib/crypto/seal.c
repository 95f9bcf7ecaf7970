/* Sealed boxes (seal.h): libsodium's crypto_box_seal, keys and ciphertext
 * as base64; the opened secret goes into locked memory. */
#include "crypto/seal.h"

#include "base/err.h"
#include "base/secret.h"
#include "crypto/keys.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_ORIGINAL
#define SEALED_MAX (1u << 20) /* far above a key or a token */

int jb_seal_keypair_new(char pk_b64[JB_SEAL_KEY_B64_LEN], unsigned char **sk, char *err,
                        size_t errlen)
{
    unsigned char pk[JB_SEAL_KEY_LEN];

    if (sodium_init() < 0)
        return jb_err(err, errlen, JB_ERR_CRYPTO, "libsodium failed to initialise");
    if ((*sk = jb_secret_alloc(crypto_box_SECRETKEYBYTES)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of locked memory");
    crypto_box_keypair(pk, *sk);
    sodium_bin2base64(pk_b64, JB_SEAL_KEY_B64_LEN, pk, sizeof(pk), B64);
    return 0;
}

int jb_seal_parse_key(const char *b64, unsigned char pk[JB_SEAL_KEY_LEN], char *err, size_t errlen)
{
    size_t n = 0;
    const char *end = NULL;

    if (b64 == NULL || strlen(b64) != JB_SEAL_KEY_B64_LEN - 1 ||
        !jb_base64_chars_ok(b64, JB_SEAL_KEY_B64_LEN - 1) ||
        sodium_base642bin(pk, JB_SEAL_KEY_LEN, b64, strlen(b64), NULL, &n, &end, B64) != 0 ||
        n != JB_SEAL_KEY_LEN || *end != '\0')
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "not a base64 X25519 public key (32 bytes, 44 characters)");
    /* An all-zero key would "seal" to a key everyone knows. */
    if (sodium_is_zero(pk, JB_SEAL_KEY_LEN))
        return jb_err(err, errlen, JB_ERR_INVALID, "the all-zero key is not a public key");
    /* Nor would any other point of small order (1, the order-8 points, p-1,
     * their aliases): crypto_box_seal refuses them, but only when it runs,
     * after a whole box was built.  The same check it makes, made now: a
     * clamped scalar (a multiple of 8) times such a point is zero. */
    {
        unsigned char s[crypto_scalarmult_SCALARBYTES] = {1}, q[crypto_scalarmult_BYTES];
        int low = sodium_init() < 0 || crypto_scalarmult(q, s, pk) != 0;
        jb_secret_wipe(q, sizeof(q));
        if (low)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "a point of small order is not a usable public key");
    }
    return 0;
}

int jb_seal(const unsigned char pk[JB_SEAL_KEY_LEN], const void *msg, size_t len, char **out,
            char *err, size_t errlen)
{
    unsigned char *box = NULL;
    size_t boxlen = len + crypto_box_SEALBYTES, b64len;
    int rc = 0;

    *out = NULL;
    if (sodium_init() < 0)
        return jb_err(err, errlen, JB_ERR_CRYPTO, "libsodium failed to initialise");
    if (len > SEALED_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "too much to seal (%zu bytes)", len);
    b64len = sodium_base64_ENCODED_LEN(boxlen, B64);
    if ((box = malloc(boxlen)) == NULL || (*out = malloc(b64len)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (crypto_box_seal(box, msg, len, pk) != 0) {
        rc = jb_err(err, errlen, JB_ERR_CRYPTO, "sealing failed: the recipient key is unusable");
        goto out;
    }
    sodium_bin2base64(*out, b64len, box, boxlen, B64);
out:
    free(box);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int jb_seal_open(const char *sealed_b64, const char *pk_b64, const unsigned char *sk, char **out,
                 size_t *outlen, char *err, size_t errlen)
{
    unsigned char pk[JB_SEAL_KEY_LEN], *box = NULL;
    size_t inlen = sealed_b64 ? strlen(sealed_b64) : 0, boxlen = 0;
    const char *end = NULL;
    int rc = 0;

    *out = NULL;
    if ((rc = jb_seal_parse_key(pk_b64, pk, err, errlen)) != 0)
        return rc;
    if (inlen == 0 || inlen > 2 * SEALED_MAX)
        return jb_err(err, errlen, JB_ERR_PARSE, "sealed data: empty or too long");
    if ((box = malloc(inlen)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    if (!jb_base64_chars_ok(sealed_b64, inlen) ||
        sodium_base642bin(box, inlen, sealed_b64, inlen, NULL, &boxlen, &end, B64) != 0 ||
        *end != '\0' || boxlen < crypto_box_SEALBYTES) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "sealed data: not base64, or too short");
        goto out;
    }
    if ((*out = jb_secret_alloc(boxlen - crypto_box_SEALBYTES + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of locked memory");
        goto out;
    }
    if (crypto_box_seal_open((unsigned char *)*out, box, boxlen, pk, sk) != 0) {
        rc = jb_err(err, errlen, JB_ERR_CRYPTO,
                    "sealed data: not sealed to this key, or changed on the way");
        goto out;
    }
    (*out)[boxlen - crypto_box_SEALBYTES] = '\0';
    if (outlen)
        *outlen = boxlen - crypto_box_SEALBYTES;
out:
    free(box);
    if (rc != 0) {
        jb_secret_free(*out);
        *out = NULL;
    }
    return rc;
}
