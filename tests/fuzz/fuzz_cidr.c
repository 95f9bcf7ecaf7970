#include "fuzz.h"
#include "base/parse.h"

/* The input is one CIDR, or two separated by a space (for jb_cidr_within). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *sp, out[JB_CIDR_MAX], again[JB_CIDR_MAX], err[256];

    if (jb_parse_cidr(s, out, sizeof(out), err, sizeof(err)) == 0) {
        /* Canonical text is a fixed point and covers itself. */
        FUZZ_CHECK(jb_parse_cidr(out, again, sizeof(again), err, sizeof(err)) == 0);
        FUZZ_CHECK(strcmp(out, again) == 0);
        FUZZ_CHECK(jb_cidr_within(out, out) == 1);
        FUZZ_CHECK(jb_cidr_within(out, strchr(out, ':') ? "::/0" : "0.0.0.0/0") == 1);
    }
    if ((sp = strchr(s, ' ')) != NULL) {
        char a[JB_CIDR_MAX], b[JB_CIDR_MAX];
        *sp = '\0';
        if (jb_parse_cidr(s, a, sizeof(a), NULL, 0) == 0 &&
            jb_parse_cidr(sp + 1, b, sizeof(b), NULL, 0) == 0 && jb_cidr_within(a, b) &&
            jb_cidr_within(b, a))
            FUZZ_CHECK(strcmp(a, b) == 0);
        else
            (void)jb_cidr_within(s, sp + 1);
    }
    free(s);
    return 0;
}
