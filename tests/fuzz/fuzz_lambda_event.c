#include "fuzz.h"
#include "lambda/lambdafn.h"

/* The input stands for a Lambda invocation payload, read the way the build
 * and clean handlers read it: the allowed fields, then each as a string. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"action",        "ttl",      "allow_cidr", "requester",
                                          "recipient_key", "stack_id", "token",      NULL};
    char *s = fuzz_cstr(data, size);
    struct jb_invocation inv = {
        .request_id = "fuzz", .deadline_ms = 0, .function_arn = "", .event = s, .event_len = size};
    struct jb_handler_error e;
    cJSON *ev = (cJSON *)&e; /* must be replaced or cleared */

    memset(&e, 0, sizeof(e));
    if (jb_fn_event(&inv, allowed, &ev, &e) == 0) {
        FUZZ_CHECK(cJSON_IsObject(ev));
        for (const cJSON *it = ev->child; it != NULL; it = it->next) {
            size_t i;
            for (i = 0; allowed[i] != NULL && strcmp(allowed[i], it->string) != 0; i++)
                ;
            FUZZ_CHECK(allowed[i] != NULL);
        }
        for (size_t i = 0; allowed[i] != NULL; i++) {
            for (int req = 0; req < 2; req++) {
                const char *v = (const char *)&e;
                memset(&e, 0, sizeof(e));
                if (jb_fn_str(ev, allowed[i], req, &v, &e) == 0) {
                    FUZZ_CHECK(v == NULL ? !req : v[0] != '\0');
                } else {
                    FUZZ_CHECK(v == NULL);
                    FUZZ_CHECK(strcmp(e.type, JB_FN_INVALID) == 0 && e.message[0] != '\0');
                    FUZZ_CHECK(strchr(e.message, '\n') == NULL);
                }
            }
        }
        cJSON_Delete(ev);
    } else {
        FUZZ_CHECK(e.type[0] != '\0' && e.message[0] != '\0');
        FUZZ_CHECK(strchr(e.message, '\n') == NULL);
    }
    free(s);
    return 0;
}
