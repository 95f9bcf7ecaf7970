#include "fuzz.h"
#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), err[256];
    size_t n = strlen(s);

    if (jb_check_stack_id(s, err, sizeof(err)) == 0) {
        /* Stack ids become paths, S3 keys and Terraform names. */
        FUZZ_CHECK(n >= 1 && n <= JB_STACK_ID_MAX && s[0] != '-' && s[n - 1] != '-');
        FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n);
    }
    free(s);
    return 0;
}
