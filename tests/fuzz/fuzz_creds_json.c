#include "aws/creds_int.h"
#include "fuzz.h"

#include <ctype.h>

/* The input stands for a credentials answer; its first byte picks the
 * source: credential_process output ("Version": 1, "SessionToken") or the
 * container endpoint / IMDS ("Token"). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const time_t now = 1767225600; /* 2026-01-01T00:00:00Z */
    struct jb_aws_creds c;
    char err[512];
    int process;

    if (size < 1)
        return 0;
    process = data[0] & 1;
    memset(&c, 0x5a, sizeof(c));
    err[0] = '\0';
    if (jb_creds_parse_json("fuzz", (const char *)data + 1, size - 1,
                            process ? "SessionToken" : "Token", process, now,
                            process ? "credential-process" : "imds", &c, err, sizeof(err)) == 0) {
        size_t n = strlen(c.access_key_id);
        FUZZ_CHECK(n >= 4 && n < sizeof(c.access_key_id));
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isalnum((unsigned char)c.access_key_id[i]));
        FUZZ_CHECK(c.secret_access_key != NULL && c.secret_access_key[0] != '\0');
        FUZZ_CHECK(c.session_token == NULL || c.session_token[0] != '\0');
        FUZZ_CHECK(c.expiration == 0 || c.expiration > now);
        jb_aws_creds_clear(&c);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }

    /* Expiration on its own, as a string. */
    {
        char *s = fuzz_cstr(data + 1, size - 1);
        time_t t;
        (void)jb_creds_parse_time(s, &t);
        free(s);
    }
    return 0;
}
