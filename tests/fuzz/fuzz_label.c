#include "fuzz.h"
#include "base/parse.h"

/* First byte: the length limit; the rest: the label. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, err[256];
    size_t max;

    if (size < 1)
        return 0;
    max = data[0];
    s = fuzz_cstr(data + 1, size - 1);
    if (jb_check_label(s, max, err, sizeof(err)) == 0) {
        size_t n = strlen(s);
        FUZZ_CHECK(n >= 1 && n <= max);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '"' && c != '\\');
        }
    }
    free(s);
    return 0;
}
