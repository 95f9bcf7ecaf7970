#include "fuzz.h"
#include "stack/state.h"
#include "stack/store.h"

static int bad_segment(const char *p, size_t n)
{
    return n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), err[256], path[PATH_MAX + 64];
    static struct jb_state st, back;

    if (jb_state_parse(s, &st, err, sizeof(err)) == 0) {
        FUZZ_CHECK(st.kind == JB_STATE_FILE || st.kind == JB_STATE_S3);
        /* What we parsed parses again to the same place. */
        FUZZ_CHECK(jb_state_parse(st.url, &back, err, sizeof(err)) == 0);
        FUZZ_CHECK(back.kind == st.kind && strcmp(back.dir, st.dir) == 0 &&
                   strcmp(back.bucket, st.bucket) == 0 && strcmp(back.prefix, st.prefix) == 0);
        if (st.kind == JB_STATE_FILE) {
            FUZZ_CHECK(st.dir[0] == '/');
        } else {
            /* Each stack owns <prefix><stack>/: the prefix is "" or ends in
             * '/', and has no empty, "." or ".." key segment. */
            const char *p = st.prefix;
            size_t pl = strlen(p);
            FUZZ_CHECK(pl == 0 || (p[0] != '/' && p[pl - 1] == '/'));
            while (*p) {
                const char *slash = strchr(p, '/');
                FUZZ_CHECK(slash != NULL);
                FUZZ_CHECK(!bad_segment(p, (size_t)(slash - p)));
                p = slash + 1;
            }
        }
        /* Every state names where a stack's lease is. */
        FUZZ_CHECK(jb_store_where(&st, "abc/lease.json", path, sizeof(path)) == 0);
    }
    free(s);
    return 0;
}
