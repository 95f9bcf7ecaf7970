#include "fuzz.h"
#include "crypto/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), line[JB_PUBLIC_LINE_MAX], fp[JB_FINGERPRINT_LEN], err[256];
    unsigned char pk[JB_ED25519_PK_LEN], back[JB_ED25519_PK_LEN];

    if (jb_key_parse_public_line(s, pk, err, sizeof(err)) == 0) {
        /* Our own line for that key is the canonical prefix of the input. */
        FUZZ_CHECK(jb_key_public_line(pk, NULL, line, sizeof(line)) == 0);
        FUZZ_CHECK(strncmp(s, line, strlen(line)) == 0);
        FUZZ_CHECK(jb_key_parse_public_line(line, back, err, sizeof(err)) == 0);
        FUZZ_CHECK(memcmp(pk, back, sizeof(pk)) == 0);
        FUZZ_CHECK(jb_key_fingerprint(pk, fp) == 0 && strlen(fp) == JB_FINGERPRINT_LEN - 1);
    }
    free(s);
    return 0;
}
