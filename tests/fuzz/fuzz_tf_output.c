#include "fuzz.h"
#include "stack/terraform.h"

/* The input stands for the Terraform state the provisioner reads the box's
 * outputs from. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"host", "user", "instance_id", "port"};
    char err[512], val[256];
    cJSON *o = NULL;

    /* Not NUL-terminated: only size bytes may be read. */
    if (jb_tf_state_outputs((const char *)data, size, &o, err, sizeof(err)) != 0)
        FUZZ_CHECK(o == NULL);
    for (size_t i = 0; o != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        int port = 0;
        memset(val, 'x', sizeof(val));
        if (jb_tf_output_string(o, names[i], val, sizeof(val), err, sizeof(err)) == 0) {
            size_t n = strnlen(val, sizeof(val));
            FUZZ_CHECK(n >= 1 && n < sizeof(val));
            for (size_t j = 0; j < n; j++)
                FUZZ_CHECK((unsigned char)val[j] > 0x20 && (unsigned char)val[j] != 0x7f);
        }
        if (jb_tf_output_port(o, names[i], &port, err, sizeof(err)) == 0)
            FUZZ_CHECK(port >= 1 && port <= 65535);
    }
    cJSON_Delete(o);
    return 0;
}
