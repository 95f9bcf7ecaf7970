/* Ed25519 keys for SSH, made with libsodium.
 *
 * The secret half lives in sodium_malloc'd memory (locked, guarded, wiped on
 * free).  Text forms follow OpenSSH: PROTOCOL.key for the private key,
 * RFC 8709 for the public key blob, ssh-keygen's SHA256 fingerprint. */
#ifndef JB_KEYS_H
#define JB_KEYS_H

#include <stddef.h>

#include "base/secret.h" /* jb_secret_free for jb_key_private_text */

#define JB_ED25519_PK_LEN 32
#define JB_ED25519_SK_LEN 64
#define JB_PUBLIC_LINE_MAX 512 /* "ssh-ed25519 " + 68 base64 + " " + comment */
#define JB_FINGERPRINT_LEN 51  /* "SHA256:" + 43 base64 + NUL */
#define JB_COMMENT_MAX 200
#define JB_SEAL_PK_LEN 32 /* X25519 recipient key for jb_key_seal */

struct jb_keypair {
    unsigned char pk[JB_ED25519_PK_LEN];
    unsigned char sk[JB_ED25519_SK_LEN]; /* seed || pk, as OpenSSH stores it */
};

/* Initialises libsodium; safe to call more than once. */
int jb_keys_init(char *err, size_t errlen);

/* A new keypair in locked memory; free with jb_keypair_free. */
int jb_keypair_new(struct jb_keypair **out, char *err, size_t errlen);
void jb_keypair_free(struct jb_keypair *kp);

/* "ssh-ed25519 AAAA…" with " comment" when comment is non-empty. */
int jb_key_public_line(const unsigned char pk[JB_ED25519_PK_LEN], const char *comment, char *out,
                       size_t outlen);

/* Parses "ssh-ed25519 BASE64 [comment]" back into pk. */
int jb_key_parse_public_line(const char *line, unsigned char pk[JB_ED25519_PK_LEN], char *err,
                             size_t errlen);

/* "SHA256:…" exactly as ssh-keygen -l prints it. */
int jb_key_fingerprint(const unsigned char pk[JB_ED25519_PK_LEN], char out[JB_FINGERPRINT_LEN]);

/* The wire blob: string "ssh-ed25519", string pk (51 bytes). */
#define JB_ED25519_BLOB_LEN 51
void jb_key_blob(const unsigned char pk[JB_ED25519_PK_LEN], unsigned char out[JB_ED25519_BLOB_LEN]);

/* "host ssh-ed25519 AAAA…", host written "[host]:port" when port != 22. */
int jb_key_known_hosts_line(const char *host, int port, const unsigned char pk[JB_ED25519_PK_LEN],
                            char *out, size_t outlen);

/* Unencrypted openssh-key-v1 text.  *out is sodium_malloc'd (locked) and
 * NUL-terminated; release with jb_secret_free. */
int jb_key_private_text(const struct jb_keypair *kp, const char *comment, char **out,
                        size_t *outlen, char *err, size_t errlen);

/* Parses unencrypted openssh-key-v1 Ed25519 text into a new keypair. */
int jb_key_parse_private_text(const char *text, size_t len, struct jb_keypair **out, char *err,
                              size_t errlen);

/* An SSH signature blob (string "ssh-ed25519", string sig) over data. */
#define JB_ED25519_SIGBLOB_LEN 83
int jb_key_sign(const struct jb_keypair *kp, const unsigned char *data, size_t len,
                unsigned char out[JB_ED25519_SIGBLOB_LEN]);

/* 1 when s[0..n) holds only standard base64 characters and '='.  libsodium
 * 1.0.18's sodium_base642bin reads bytes >= 0x80 as base64 digits (it
 * compares a plain char; 0x90 reads as '/'), so a mangled key or sealed
 * text would still decode: every caller checks this first. */
int jb_base64_chars_ok(const char *s, size_t n);

#endif
