/* A box's sshd log is outside input: whatever it holds, the record made of
 * it is JSON that prints and reads back, every line free of control bytes. */
#include "stack/audit.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *text;
    cJSON *r, *back, *line;

    if (size < 1 || size > 65536)
        return 0;
    /* The first byte: whether the reader cut the log (its first line goes). */
    s = fuzz_cstr(data + 1, size - 1);
    r = jb_audit_log_record(s, data[0] & 1);
    FUZZ_CHECK(r != NULL);
    cJSON_ArrayForEach(line, cJSON_GetObjectItem(r, "lines"))
    {
        FUZZ_CHECK(cJSON_IsString(line));
        for (const char *p = line->valuestring; *p; p++)
            FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80);
    }
    FUZZ_CHECK(cJSON_IsBool(cJSON_GetObjectItem(r, "truncated")));
    text = cJSON_PrintUnformatted(r);
    FUZZ_CHECK(text != NULL);
    back = cJSON_Parse(text);
    FUZZ_CHECK(back != NULL && cJSON_Compare(r, back, 1));
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(r);
    free(s);
    return 0;
}
