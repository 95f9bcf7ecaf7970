/* Writes and removes the deadline object an aws box follows (deadline.h). */
#include "stack/deadline.h"

#include "base/err.h"
#include "base/parse.h"
#include "stack/box_identity.h"
#include "stack/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1200

/* deadlines/ROLE_ID:INSTANCE_ID.json, under the state's root. */
static int deadline_key(const char *role_id, const char *instance_id, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "deadlines/%s:%s.json", role_id, instance_id);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

/* The object's key, or 1 when the lease has no box that reads one. */
static int key_of(const struct jb_state *st, const struct jb_lease *l, char *key, size_t keylen)
{
    const cJSON *role = l->vars ? cJSON_GetObjectItemCaseSensitive(l->vars, "box_role_id") : NULL;

    if (!jb_store_is_remote(st) || strcmp(l->module, "aws") != 0 || l->instance_id[0] == '\0' ||
        !cJSON_IsString(role) || jb_box_check_role_id(role->valuestring, NULL, 0) != 0)
        return 1;
    return deadline_key(role->valuestring, l->instance_id, key, keylen) == 0 ? 0 : 1;
}

int jb_deadline_publish(const struct jb_state *st, const struct jb_lease *l, char *err,
                        size_t errlen)
{
    char key[KEY_MAX], expires[JB_RFC3339_LEN], alive[JB_RFC3339_LEN], *text = NULL;
    cJSON *o = NULL;
    int rc;

    if (key_of(st, l, key, sizeof(key)) != 0)
        return 0;
    jb_format_rfc3339(l->expires_at, expires);
    jb_format_rfc3339(l->alive_until, alive);
    o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "stack_id", l->stack_id) ||
        !cJSON_AddStringToObject(o, "expires_at", expires) ||
        (l->alive_until && !cJSON_AddStringToObject(o, "alive_until", alive)) ||
        (text = cJSON_PrintUnformatted(o)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = jb_store_put(st, key, text, strlen(text), "application/json", err, errlen);
out:
    free(text);
    cJSON_Delete(o);
    return rc;
}

int jb_deadline_remove(const struct jb_state *st, const struct jb_lease *l, char *err,
                       size_t errlen)
{
    char key[KEY_MAX];

    if (key_of(st, l, key, sizeof(key)) != 0)
        return 0;
    /* Every version (each heartbeat wrote one), not a delete marker over
     * them: the stack leaves nothing behind. */
    return jb_store_purge(st, key, err, errlen);
}
