#include "fuzz.h"
#include "aws/aws_error.h"

/* The input stands for a failed AWS call's body (JSON or XML, any
 * service): whatever it holds, the code and message come back
 * NUL-terminated, printable, inside their buffers. */
static void check_printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[128], message[256];

    memset(code, 0x5a, sizeof(code));
    memset(message, 0x5a, sizeof(message));
    jb_aws_error_parse(400, NULL, (const char *)data, size, code, sizeof(code), message,
                       sizeof(message));
    check_printable(code, sizeof(code));
    check_printable(message, sizeof(message));
    FUZZ_CHECK(strchr(code, ':') == NULL && strchr(code, '#') == NULL);
    return 0;
}
