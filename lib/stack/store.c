/* The store's front (store.h): every key checked once here, then handed
 * to the backend the state's kind names.  The one place that asks. */
#include "stack/store.h"

#include "base/err.h"
#include "stack/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct jb_store_backend *backend(const struct jb_state *st)
{
    return st->kind == JB_STATE_S3 ? &jb_store_s3 : &jb_store_file;
}

/* Plain names joined by '/': no empty part and none starting with '.'
 * (temporaries, the lock, "..": never an object of ours), no control
 * characters.  prefix: "" or ending in '/'. */
static int key_ok(const char *key, int prefix)
{
    size_t n = strlen(key);

    if (n == 0)
        return prefix;
    if (n > 1024 || (prefix ? key[n - 1] != '/' : key[n - 1] == '/'))
        return 0;
    for (const char *p = key; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
            return 0;
        if ((p == key || p[-1] == '/') && (*p == '.' || *p == '/'))
            return 0;
    }
    return 1;
}

static int bad_key(char *err, size_t errlen)
{
    return jb_err(err, errlen, JB_ERR_INVALID, "bad store key");
}

int jb_store_stack_key(const char *stack_id, const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s", stack_id, name);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

int jb_store_prepare(const struct jb_state *st, char *err, size_t errlen)
{
    return backend(st)->prepare(st, err, errlen);
}

int jb_store_is_remote(const struct jb_state *st)
{
    return backend(st)->remote;
}

int jb_store_where(const struct jb_state *st, const char *key, char *out, size_t outlen)
{
    return key_ok(key, 1) || key_ok(key, 0) ? backend(st)->where(st, key, out, outlen)
                                            : JB_ERR_INVALID;
}

int jb_store_put(const struct jb_state *st, const char *key, const void *data, size_t len,
                 const char *content_type, char *err, size_t errlen)
{
    if (!key_ok(key, 0))
        return bad_key(err, errlen);
    return backend(st)->put(st, key, data, len, content_type, JB_STORE_ANY, NULL, NULL, err,
                            errlen);
}

int jb_store_put_if_absent(const struct jb_state *st, const char *key, const void *data, size_t len,
                           const char *content_type, char *etag, char *err, size_t errlen)
{
    if (!key_ok(key, 0))
        return bad_key(err, errlen);
    return backend(st)->put(st, key, data, len, content_type, JB_STORE_ABSENT, NULL, etag, err,
                            errlen);
}

int jb_store_put_if_match(const struct jb_state *st, const char *key, const void *data, size_t len,
                          const char *content_type, const char *if_match, char *etag, char *err,
                          size_t errlen)
{
    if (!key_ok(key, 0))
        return bad_key(err, errlen);
    if (if_match == NULL || if_match[0] == '\0' || strlen(if_match) >= JB_STORE_ETAG_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "conditional write without a version");
    return backend(st)->put(st, key, data, len, content_type, JB_STORE_MATCH, if_match, etag, err,
                            errlen);
}

int jb_store_get(const struct jb_state *st, const char *key, size_t max, int flags,
                 struct jb_store_obj *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!key_ok(key, 0))
        return bad_key(err, errlen);
    return backend(st)->get(st, key, max, flags, out, err, errlen);
}

void jb_store_obj_free(struct jb_store_obj *o)
{
    if (o == NULL)
        return;
    free(o->data);
    memset(o, 0, sizeof(*o));
}

int jb_store_list(const struct jb_state *st, const char *prefix, jb_store_key_fn fn, void *ctx,
                  char *err, size_t errlen)
{
    if (!key_ok(prefix, 1))
        return bad_key(err, errlen);
    return backend(st)->list(st, prefix, fn, ctx, err, errlen);
}

int jb_store_delete(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    if (!key_ok(key, 0))
        return bad_key(err, errlen);
    return backend(st)->del(st, key, err, errlen);
}

int jb_store_purge(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    /* Never the whole root: a purge is of one stack's prefix or one key. */
    if (key[0] == '\0' || !(key_ok(key, 0) || key_ok(key, 1)))
        return bad_key(err, errlen);
    return backend(st)->purge(st, key, err, errlen);
}

cJSON *jb_store_tf_backend(const struct jb_state *st, const char *stack_id)
{
    return backend(st)->tf_backend(st, stack_id);
}
