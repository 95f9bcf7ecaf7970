#include "fuzz.h"
#include "stack/terraform.h"

/* Reads s the way Terraform reads a JSON string template: "$${" and "%%{"
 * are literal "${" and "%{"; a bare "${" or "%{" starts an expression,
 * which must never happen for a value from outside. */
static char *tf_unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *d = out;

    if (out == NULL)
        abort();
    while (*s) {
        if ((s[0] == '$' || s[0] == '%') && s[1] == s[0] && s[2] == '{') {
            *d++ = s[0];
            *d++ = '{';
            s += 3;
            continue;
        }
        FUZZ_CHECK(!((s[0] == '$' || s[0] == '%') && s[1] == '{'));
        *d++ = *s++;
    }
    *d = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *plain;
    cJSON *lit = jb_tf_literal(s);

    FUZZ_CHECK(cJSON_IsString(lit));
    plain = tf_unescape(lit->valuestring);
    FUZZ_CHECK(strcmp(plain, s) == 0);
    free(plain);
    cJSON_Delete(lit);
    free(s);
    return 0;
}
