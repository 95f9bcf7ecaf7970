#include "fuzz.h"
#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), again[JB_RFC3339_LEN], err[256];
    time_t t = 0, back = 0;

    if (jb_parse_rfc3339(s, &t, err, sizeof(err)) == 0) {
        /* One text per instant: what parses is exactly what we print. */
        jb_format_rfc3339(t, again);
        FUZZ_CHECK(strcmp(again, s) == 0);
    }
    /* The other way round, for any instant in years 1000-9999. */
    if (size >= 8) {
        uint64_t v;
        memcpy(&v, data, sizeof(v));
        t = (time_t)(v % 284012524800ULL) - 30610224000LL;
        jb_format_rfc3339(t, again);
        FUZZ_CHECK(jb_parse_rfc3339(again, &back, err, sizeof(err)) == 0 && back == t);
    }
    free(s);
    return 0;
}
