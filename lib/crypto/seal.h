/* Sealed boxes (libsodium crypto_box_seal: X25519 + XSalsa20-Poly1305 with
 * an ephemeral sender key) for handing a secret to whoever holds the
 * recipient's private key, over a channel that may log or keep what passes.
 * Keys and sealed data travel as standard base64 with padding. */
#ifndef JB_SEAL_H
#define JB_SEAL_H

#include <stddef.h>

#define JB_SEAL_KEY_LEN 32
#define JB_SEAL_KEY_B64_LEN 45 /* 44 base64 characters + NUL */

/* A fresh recipient pair: pk in the clear (base64 in pk_b64), sk in locked
 * memory (jb_secret_alloc'd, JB_SEAL_KEY_LEN bytes; jb_secret_free). */
int jb_seal_keypair_new(char pk_b64[JB_SEAL_KEY_B64_LEN], unsigned char **sk, char *err,
                        size_t errlen);

/* Decodes and checks a recipient key: exactly 32 bytes of base64, and a
 * point crypto_box_seal can seal to (not zero, not of small order). */
int jb_seal_parse_key(const char *b64, unsigned char pk[JB_SEAL_KEY_LEN], char *err, size_t errlen);

/* Seals msg to pk; *out is malloc'd base64 text (not secret). */
int jb_seal(const unsigned char pk[JB_SEAL_KEY_LEN], const void *msg, size_t len, char **out,
            char *err, size_t errlen);

/* Opens base64 sealed text with the pair; *out is jb_secret_alloc'd and
 * NUL-terminated, *outlen bytes before the NUL.  JB_ERR_CRYPTO when it was
 * not sealed to this key or was changed on the way. */
int jb_seal_open(const char *sealed_b64, const char *pk_b64, const unsigned char *sk, char **out,
                 size_t *outlen, char *err, size_t errlen);

#endif
