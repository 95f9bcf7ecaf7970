#include "fuzz.h"
#include "stack/permit.h"

#include <arpa/inet.h>

/* 4 or 6: the family of the host the target reaches, 0 for a name. */
static int family(const char *t)
{
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    unsigned char a[16];
    char host[JB_TARGET_MAX];
    size_t len = (size_t)(strrchr(t, ':') - t);

    memcpy(host, t, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, a) == 1)
        return 4;
    if (host[0] != '[')
        return 0;
    host[len - 1] = '\0';
    FUZZ_CHECK(inet_pton(AF_INET6, host + 1, a) == 1);
    return memcmp(a, mapped, sizeof(mapped)) == 0 ? 4 : 6;
}

/* The input is a --permit-open target, or "PATTERNS TARGET" (a
 * JUMPBOX_ALLOWED_TARGETS list, a space, a target) for the bound. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jb_target_pattern pats[JB_TARGET_PATTERNS_MAX];
    char *s = fuzz_cstr(data, size), *sp, out[JB_TARGET_MAX], err[256];
    size_t n;

    if (jb_parse_target(s, out, sizeof(out), err, sizeof(err)) == 0) {
        int v4, v6;
        /* What is accepted goes into sshd_config and authorized_keys as is. */
        FUZZ_CHECK(strcmp(out, s) == 0);
        FUZZ_CHECK(strpbrk(out, " \t\n\",#*") == NULL || strcmp(strrchr(out, ':'), ":*") == 0);
        FUZZ_CHECK(jb_parse_target_patterns(out, pats, &n, err, sizeof(err)) == 0 && n == 1);
        FUZZ_CHECK(jb_target_allowed(out, pats, n) == 1);
        FUZZ_CHECK(jb_parse_target_patterns("*:*", pats, &n, err, sizeof(err)) == 0);
        FUZZ_CHECK(jb_target_allowed(out, pats, n) == 1);
        /* An address lies in exactly one family's patterns, a name in
         * neither: an IPv4-mapped address only in IPv4 ones. */
        FUZZ_CHECK(jb_parse_target_patterns("0.0.0.0/0:*", pats, &n, err, sizeof(err)) == 0);
        v4 = jb_target_allowed(out, pats, n);
        FUZZ_CHECK(jb_parse_target_patterns("[::/0]:*", pats, &n, err, sizeof(err)) == 0);
        v6 = jb_target_allowed(out, pats, n);
        FUZZ_CHECK(v4 == (family(out) == 4) && v6 == (family(out) == 6));
    }
    if ((sp = strrchr(s, ' ')) != NULL) {
        *sp = '\0';
        if (jb_parse_target_patterns(s, pats, &n, err, sizeof(err)) == 0 &&
            jb_target_allowed(sp + 1, pats, n))
            FUZZ_CHECK(jb_parse_target(sp + 1, out, sizeof(out), NULL, 0) == 0);
    }
    free(s);
    return 0;
}
