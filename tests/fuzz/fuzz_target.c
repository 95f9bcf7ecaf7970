#include "fuzz.h"
#include "stack/permit.h"

/* The input is a --permit-open target, or "PATTERNS TARGET" (a
 * JUMPBOX_ALLOWED_TARGETS list, a space, a target) for the bound. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jb_target_pattern pats[JB_TARGET_PATTERNS_MAX];
    char *s = fuzz_cstr(data, size), *sp, out[JB_TARGET_MAX], err[256];
    size_t n;

    if (jb_parse_target(s, out, sizeof(out), err, sizeof(err)) == 0) {
        /* What is accepted goes into sshd_config and authorized_keys as is. */
        FUZZ_CHECK(strcmp(out, s) == 0);
        FUZZ_CHECK(strpbrk(out, " \t\n\",#*") == NULL || strcmp(strrchr(out, ':'), ":*") == 0);
        FUZZ_CHECK(jb_parse_target_patterns(out, pats, &n, err, sizeof(err)) == 0 && n == 1);
        FUZZ_CHECK(jb_target_allowed(out, pats, n) == 1);
        FUZZ_CHECK(jb_parse_target_patterns("*:*", pats, &n, err, sizeof(err)) == 0);
        FUZZ_CHECK(jb_target_allowed(out, pats, n) == 1);
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
