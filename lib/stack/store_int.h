/* The store's backends (store.h): one table of operations each, the
 * file:// one in store_file.c and the s3:// one in store_s3.c.  store.c
 * checks every key and picks the table; a backend takes keys as given. */
#ifndef JB_STORE_INT_H
#define JB_STORE_INT_H

#include "stack/store.h"

enum jb_store_cond { JB_STORE_ANY, JB_STORE_ABSENT, JB_STORE_MATCH };

struct jb_store_backend {
    int remote; /* jb_store_is_remote */
    int (*prepare)(const struct jb_state *st, char *err, size_t errlen);
    int (*where)(const struct jb_state *st, const char *key, char *out, size_t outlen);
    /* cond JB_STORE_MATCH: if_match names the version to replace. */
    int (*put)(const struct jb_state *st, const char *key, const void *data, size_t len,
               const char *content_type, enum jb_store_cond cond, const char *if_match, char *etag,
               char *err, size_t errlen);
    int (*get)(const struct jb_state *st, const char *key, size_t max, int flags,
               struct jb_store_obj *out, char *err, size_t errlen);
    int (*list)(const struct jb_state *st, const char *prefix, jb_store_key_fn fn, void *ctx,
                char *err, size_t errlen);
    int (*del)(const struct jb_state *st, const char *key, char *err, size_t errlen);
    int (*purge)(const struct jb_state *st, const char *key, char *err, size_t errlen);
    cJSON *(*tf_backend)(const struct jb_state *st, const char *stack_id);
};

extern const struct jb_store_backend jb_store_file;
extern const struct jb_store_backend jb_store_s3;

#endif
