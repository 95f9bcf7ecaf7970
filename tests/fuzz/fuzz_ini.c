#include "fuzz.h"
#include "base/ini.h"

#include <ctype.h>

/* The input stands for a shared config or credentials file.  Its first two
 * lines may name the section and key to look up (as "[s]" and "k"), so the
 * fuzzer can steer both; the fixed lookups are what creds.c asks. */
static void lookup(const char *text, const char *section, const char *key)
{
    const char *val = NULL;
    size_t vallen = 0;
    size_t tlen = strlen(text);

    if (jb_ini_get(text, section, key, &val, &vallen)) {
        /* The value lies inside the text, trimmed, on one line. */
        FUZZ_CHECK(val >= text && val + vallen <= text + tlen);
        FUZZ_CHECK(memchr(val, '\n', vallen) == NULL);
        if (vallen) {
            FUZZ_CHECK(!isspace((unsigned char)val[0]));
            FUZZ_CHECK(!isspace((unsigned char)val[vallen - 1]));
        }
        /* A key is only found under its section's header. */
        FUZZ_CHECK(jb_ini_has_section(text, section));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fixed[][2] = {
        {"default", "aws_access_key_id"}, {"default", "aws_secret_access_key"},
        {"default", "aws_session_token"}, {"profile dev", "credential_process"},
        {"profile dev", "region"},        {"dev", "aws_access_key_id"},
    };
    char *s = fuzz_cstr(data, size);
    char *nl1 = strchr(s, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        lookup(s, fixed[i][0], fixed[i][1]);
    if (nl1 && nl2 && nl1 - s >= 2 && s[0] == '[' && nl1[-1] == ']') {
        char *section = strndup(s + 1, (size_t)(nl1 - s - 2));
        char *key = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
        if (section == NULL || key == NULL)
            abort();
        lookup(s, section, key);
        free(section);
        free(key);
    }
    free(s);
    return 0;
}
