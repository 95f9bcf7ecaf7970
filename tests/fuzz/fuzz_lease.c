#include "fuzz.h"
#include "stack/lease.h"

static int same(const struct jb_lease *a, const struct jb_lease *b)
{
    return strcmp(a->stack_id, b->stack_id) == 0 && strcmp(a->module, b->module) == 0 &&
           strcmp(a->requester, b->requester) == 0 && strcmp(a->status, b->status) == 0 &&
           a->created_at == b->created_at && a->expires_at == b->expires_at &&
           a->deadline == b->deadline && strcmp(a->revision, b->revision) == 0 &&
           strcmp(a->host, b->host) == 0 && a->port == b->port && strcmp(a->user, b->user) == 0 &&
           strcmp(a->instance_id, b->instance_id) == 0 &&
           strcmp(a->host_fingerprint, b->host_fingerprint) == 0 &&
           strcmp(a->token_hash, b->token_hash) == 0 && cJSON_Compare(a->vars, b->vars, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *json = NULL, err[512];
    static struct jb_lease l, back;

    if (size > JB_LEASE_MAX_BYTES)
        return 0;
    s = fuzz_cstr(data, size);
    if (jb_lease_from_json(s, &l, err, sizeof(err)) == 0) {
        /* A lease we accept is one we can write back and read again
         * unchanged, unless written out (indented) it would be over the
         * size a reader takes: that is refused, never written. */
        int rc;
        FUZZ_CHECK(cJSON_IsObject(l.vars));
        rc = jb_lease_to_json(&l, &json, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || (json == NULL && strstr(err, "a lease may hold") != NULL));
        if (rc != 0) {
            jb_lease_clear(&l);
            free(s);
            return 0;
        }
        if (jb_lease_from_json(json, &back, err, sizeof(err)) != 0) {
            fprintf(stderr, "re-parse failed: %s\n%s\n", err, json);
            FUZZ_CHECK(0);
        }
        FUZZ_CHECK(same(&l, &back));
        cJSON_Delete(jb_lease_summary(&l, 0));
        jb_lease_clear(&back);
        jb_lease_clear(&l);
        free(json);
    } else {
        FUZZ_CHECK(l.vars == NULL && err[0] != '\0');
    }
    free(s);
    return 0;
}
