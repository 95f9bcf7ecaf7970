#include "fuzz.h"
#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), again[32], err[256];
    long secs = -1, back = -1;

    if (jb_parse_duration(s, &secs, err, sizeof(err)) == 0) {
        FUZZ_CHECK(secs > 0 && secs <= 100000000L);
        snprintf(again, sizeof(again), "%lds", secs);
        FUZZ_CHECK(jb_parse_duration(again, &back, err, sizeof(err)) == 0 && back == secs);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    free(s);
    return 0;
}
