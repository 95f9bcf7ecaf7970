/* Ed25519 keys in OpenSSH's formats (keys.h), the secret half only ever in
 * jb_secret_alloc'd memory. */
#include "crypto/keys.h"

#include "base/secret.h"

#include "base/err.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KEY_TYPE "ssh-ed25519"
#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----\n"
#define AUTH_MAGIC "openssh-key-v1" /* followed by its NUL in the blob */
#define PEM_COLS 70

int jb_base64_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return 0;
    }
    return 1;
}

int jb_keys_init(char *err, size_t errlen)
{
    return jb_secret_init(err, errlen);
}

int jb_keypair_new(struct jb_keypair **out, char *err, size_t errlen)
{
    struct jb_keypair *kp;
    int rc;

    *out = NULL;
    if ((rc = jb_keys_init(err, errlen)) != 0)
        return rc;
    if ((kp = sodium_malloc(sizeof(*kp))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "cannot allocate locked memory for a key");
    if (crypto_sign_ed25519_keypair(kp->pk, kp->sk) != 0) {
        sodium_free(kp);
        return jb_err(err, errlen, JB_ERR_CRYPTO, "Ed25519 key generation failed");
    }
    *out = kp;
    return 0;
}

void jb_keypair_free(struct jb_keypair *kp)
{
    jb_secret_free(kp);
}

/* SSH wire encoding into a fixed buffer; *pos advances, overflow is sticky. */
struct wbuf {
    unsigned char *p;
    size_t cap, len;
    int overflow;
};

static void put_bytes(struct wbuf *w, const void *d, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void put_u32(struct wbuf *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put_bytes(w, b, 4);
}

static void put_string(struct wbuf *w, const void *d, size_t n)
{
    put_u32(w, (uint32_t)n);
    put_bytes(w, d, n);
}

void jb_key_blob(const unsigned char pk[JB_ED25519_PK_LEN], unsigned char out[JB_ED25519_BLOB_LEN])
{
    struct wbuf w = {out, JB_ED25519_BLOB_LEN, 0, 0};

    put_string(&w, KEY_TYPE, strlen(KEY_TYPE));
    put_string(&w, pk, JB_ED25519_PK_LEN);
}

int jb_key_public_line(const unsigned char pk[JB_ED25519_PK_LEN], const char *comment, char *out,
                       size_t outlen)
{
    unsigned char blob[JB_ED25519_BLOB_LEN];
    char b64[sodium_base64_ENCODED_LEN(JB_ED25519_BLOB_LEN, sodium_base64_VARIANT_ORIGINAL)];
    int n;

    jb_key_blob(pk, blob);
    sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
    if (comment != NULL && *comment != '\0')
        n = snprintf(out, outlen, "%s %s %s", KEY_TYPE, b64, comment);
    else
        n = snprintf(out, outlen, "%s %s", KEY_TYPE, b64);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

int jb_key_parse_public_line(const char *line, unsigned char pk[JB_ED25519_PK_LEN], char *err,
                             size_t errlen)
{
    unsigned char blob[JB_ED25519_BLOB_LEN + 1], want[JB_ED25519_BLOB_LEN];
    size_t bloblen = 0, tl = strlen(KEY_TYPE);
    const char *b64, *end;

    if (line == NULL || strncmp(line, KEY_TYPE " ", tl + 1) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "not an ssh-ed25519 public key line");
    b64 = line + tl + 1;
    end = strchr(b64, ' ');
    if (end == NULL)
        end = b64 + strlen(b64);
    if (!jb_base64_chars_ok(b64, (size_t)(end - b64)) ||
        sodium_base642bin(blob, sizeof(blob), b64, (size_t)(end - b64), NULL, &bloblen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bloblen != JB_ED25519_BLOB_LEN)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad base64 in ssh-ed25519 public key");
    memcpy(pk, blob + JB_ED25519_BLOB_LEN - JB_ED25519_PK_LEN, JB_ED25519_PK_LEN);
    jb_key_blob(pk, want);
    if (memcmp(blob, want, sizeof(want)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "public key blob is not ssh-ed25519");
    return 0;
}

int jb_key_fingerprint(const unsigned char pk[JB_ED25519_PK_LEN], char out[JB_FINGERPRINT_LEN])
{
    unsigned char blob[JB_ED25519_BLOB_LEN], hash[crypto_hash_sha256_BYTES];

    jb_key_blob(pk, blob);
    crypto_hash_sha256(hash, blob, sizeof(blob));
    memcpy(out, "SHA256:", 7);
    sodium_bin2base64(out + 7, JB_FINGERPRINT_LEN - 7, hash, sizeof(hash),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    return 0;
}

int jb_key_known_hosts_line(const char *host, int port, const unsigned char pk[JB_ED25519_PK_LEN],
                            char *out, size_t outlen)
{
    char pub[JB_PUBLIC_LINE_MAX];
    int n;

    if (jb_key_public_line(pk, NULL, pub, sizeof(pub)) != 0)
        return JB_ERR_INVALID;
    if (port == 22)
        n = snprintf(out, outlen, "%s %s", host, pub);
    else
        n = snprintf(out, outlen, "[%s]:%d %s", host, port, pub);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

int jb_key_private_text(const struct jb_keypair *kp, const char *comment, char **out,
                        size_t *outlen, char *err, size_t errlen)
{
    unsigned char pubblob[JB_ED25519_BLOB_LEN];
    unsigned char *raw = NULL, *priv = NULL;
    char *text = NULL;
    size_t clen = comment ? strlen(comment) : 0, rawcap, privcap, b64len, textcap, pos;
    struct wbuf w, pw;
    uint32_t check;
    int rc = 0;

    *out = NULL;
    if (clen > JB_COMMENT_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "comment longer than %d", JB_COMMENT_MAX);
    jb_key_blob(kp->pk, pubblob);
    privcap = 8 + (4 + strlen(KEY_TYPE)) + (4 + 32) + (4 + 64) + (4 + clen) + 8;
    rawcap = sizeof(AUTH_MAGIC) + 3 * 4 + 4 + 4 + 4 + 4 + sizeof(pubblob) + 4 + privcap;
    priv = sodium_malloc(privcap);
    raw = sodium_malloc(rawcap);
    if (priv == NULL || raw == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "cannot allocate locked memory");
        goto out;
    }

    /* Private section: two equal check words, the key, the comment, then
     * padding 1, 2, 3, … up to the cipher block size (8 for "none"). */
    pw = (struct wbuf){priv, privcap, 0, 0};
    check = randombytes_random();
    put_u32(&pw, check);
    put_u32(&pw, check);
    put_string(&pw, KEY_TYPE, strlen(KEY_TYPE));
    put_string(&pw, kp->pk, JB_ED25519_PK_LEN);
    put_string(&pw, kp->sk, JB_ED25519_SK_LEN);
    put_string(&pw, comment ? comment : "", clen);
    for (unsigned char pad = 1; pw.len % 8 != 0; pad++)
        put_bytes(&pw, &pad, 1);

    w = (struct wbuf){raw, rawcap, 0, 0};
    put_bytes(&w, AUTH_MAGIC, sizeof(AUTH_MAGIC)); /* with its NUL */
    put_string(&w, "none", 4);                     /* cipher */
    put_string(&w, "none", 4);                     /* kdf */
    put_string(&w, "", 0);                         /* kdf options */
    put_u32(&w, 1);                                /* number of keys */
    put_string(&w, pubblob, sizeof(pubblob));
    put_string(&w, priv, pw.len);
    if (w.overflow || pw.overflow) {
        rc = jb_err(err, errlen, JB_ERR_CRYPTO, "private key encoding overflow");
        goto out;
    }

    b64len = sodium_base64_ENCODED_LEN(w.len, sodium_base64_VARIANT_ORIGINAL);
    textcap = strlen(PEM_BEGIN) + b64len + b64len / PEM_COLS + 2 + strlen(PEM_END) + 1;
    if ((text = sodium_malloc(textcap)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "cannot allocate locked memory");
        goto out;
    }
    {
        char *b64 = sodium_malloc(b64len);
        size_t n;
        if (b64 == NULL) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "cannot allocate locked memory");
            goto out;
        }
        sodium_bin2base64(b64, b64len, raw, w.len, sodium_base64_VARIANT_ORIGINAL);
        n = strlen(b64);
        pos = 0;
        memcpy(text, PEM_BEGIN, strlen(PEM_BEGIN));
        pos += strlen(PEM_BEGIN);
        for (size_t i = 0; i < n; i += PEM_COLS) {
            size_t chunk = n - i < PEM_COLS ? n - i : PEM_COLS;
            memcpy(text + pos, b64 + i, chunk);
            pos += chunk;
            text[pos++] = '\n';
        }
        sodium_free(b64);
    }
    memcpy(text + pos, PEM_END, strlen(PEM_END));
    pos += strlen(PEM_END);
    text[pos] = '\0';
    *out = text;
    text = NULL;
    if (outlen)
        *outlen = pos;
out:
    jb_secret_free(text);
    jb_secret_free(raw);
    jb_secret_free(priv);
    return rc;
}

/* Bounded reader for the parse side. */
struct rbuf {
    const unsigned char *p;
    size_t len, off;
};

static int get_u32(struct rbuf *r, uint32_t *v)
{
    if (r->len - r->off < 4)
        return -1;
    *v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
         (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
    r->off += 4;
    return 0;
}

static int get_string(struct rbuf *r, const unsigned char **d, size_t *n)
{
    uint32_t l;

    if (get_u32(r, &l) != 0 || r->len - r->off < l)
        return -1;
    *d = r->p + r->off;
    *n = l;
    r->off += l;
    return 0;
}

static int string_is(const unsigned char *d, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(d, s, n) == 0;
}

int jb_key_parse_private_text(const char *text, size_t len, struct jb_keypair **out, char *err,
                              size_t errlen)
{
    const char *b, *e;
    char *b64 = NULL;
    unsigned char *raw = NULL, seed_pk[JB_ED25519_PK_LEN], seed_sk[JB_ED25519_SK_LEN];
    size_t b64n = 0, rawn = 0;
    const unsigned char *d, *pd;
    size_t n, pn;
    struct rbuf r, pr;
    uint32_t nkeys, c1, c2;
    struct jb_keypair *kp = NULL;
    int rc = JB_ERR_INVALID;

    *out = NULL;
    if ((rc = jb_keys_init(err, errlen)) != 0) /* sodium_malloc needs it */
        return rc;
    rc = JB_ERR_INVALID;
    /* The final newline is optional: shells and env vars strip it. */
    if ((b = strstr(text, PEM_BEGIN)) == NULL ||
        (e = strstr(b, "-----END OPENSSH PRIVATE KEY-----")) == NULL || (size_t)(e - text) > len)
        return jb_err(err, errlen, JB_ERR_INVALID, "not an OpenSSH private key");
    b += strlen(PEM_BEGIN);
    b64 = sodium_malloc((size_t)(e - b) + 1);
    raw = sodium_malloc((size_t)(e - b) + 1);
    kp = sodium_malloc(sizeof(*kp));
    if (b64 == NULL || raw == NULL || kp == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "cannot allocate locked memory");
        goto out;
    }
    for (const char *p = b; p < e; p++)
        if (*p != '\n' && *p != '\r')
            b64[b64n++] = *p;
    if (!jb_base64_chars_ok(b64, b64n) ||
        sodium_base642bin(raw, (size_t)(e - b) + 1, b64, b64n, NULL, &rawn, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        goto bad;
    r = (struct rbuf){raw, rawn, 0};
    if (rawn < sizeof(AUTH_MAGIC) || memcmp(raw, AUTH_MAGIC, sizeof(AUTH_MAGIC)) != 0)
        goto bad;
    r.off = sizeof(AUTH_MAGIC);
    if (get_string(&r, &d, &n) || !string_is(d, n, "none")) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "encrypted private keys are not supported");
        goto out;
    }
    if (get_string(&r, &d, &n) || !string_is(d, n, "none") || get_string(&r, &d, &n) ||
        get_u32(&r, &nkeys) || nkeys != 1 || get_string(&r, &d, &n) || get_string(&r, &pd, &pn))
        goto bad;
    pr = (struct rbuf){pd, pn, 0};
    if (get_u32(&pr, &c1) || get_u32(&pr, &c2) || c1 != c2 || get_string(&pr, &d, &n) ||
        !string_is(d, n, KEY_TYPE) || get_string(&pr, &d, &n) || n != JB_ED25519_PK_LEN)
        goto bad;
    memcpy(kp->pk, d, n);
    if (get_string(&pr, &d, &n) || n != JB_ED25519_SK_LEN ||
        memcmp(d + 32, kp->pk, JB_ED25519_PK_LEN) != 0)
        goto bad;
    memcpy(kp->sk, d, n);
    /* The stored public half must be the seed's: libsodium signs with the
     * stored one, so a mismatch would only show up as failed logins. */
    if (crypto_sign_ed25519_seed_keypair(seed_pk, seed_sk, kp->sk) != 0 ||
        sodium_memcmp(seed_pk, kp->pk, JB_ED25519_PK_LEN) != 0) {
        rc = jb_err(err, errlen, JB_ERR_INVALID,
                    "openssh-key-v1 Ed25519 private key does not match its public key");
        goto out;
    }
    *out = kp;
    kp = NULL;
    rc = 0;
    goto out;
bad:
    rc = jb_err(err, errlen, JB_ERR_INVALID, "malformed openssh-key-v1 Ed25519 private key");
out:
    jb_secret_wipe(seed_sk, sizeof(seed_sk));
    jb_secret_free(kp);
    jb_secret_free(raw);
    jb_secret_free(b64);
    return rc;
}

int jb_key_sign(const struct jb_keypair *kp, const unsigned char *data, size_t len,
                unsigned char out[JB_ED25519_SIGBLOB_LEN])
{
    unsigned char sig[crypto_sign_ed25519_BYTES];
    struct wbuf w = {out, JB_ED25519_SIGBLOB_LEN, 0, 0};

    if (crypto_sign_ed25519_detached(sig, NULL, data, len, kp->sk) != 0)
        return JB_ERR_CRYPTO;
    put_string(&w, KEY_TYPE, strlen(KEY_TYPE));
    put_string(&w, sig, sizeof(sig));
    jb_secret_wipe(sig, sizeof(sig));
    return w.overflow ? JB_ERR_CRYPTO : 0;
}
