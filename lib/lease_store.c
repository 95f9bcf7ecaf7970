#include "lease_store.h"

#include "err.h"
#include "fsutil.h"
#include "lease.h"
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int lease_path(const struct jb_state *st, const char *stack_id, char *dir, char *file)
{
    if (jb_state_stack_path(st, stack_id, dir, PATH_MAX) != 0 ||
        jb_path_join(file, PATH_MAX, dir, "lease.json") != 0)
        return JB_ERR_INVALID;
    return 0;
}

int jb_lease_store_put(const struct jb_state *st, const char *stack_id, const char *json,
                       size_t len, int create, char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];
    int rc;

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_put(st, stack_id, json, len, create, err, errlen);
    if (lease_path(st, stack_id, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    if (create) {
        if (mkdir(dir, 0700) != 0)
            return errno == EEXIST
                       ? jb_err(err, errlen, JB_ERR_EXISTS, "stack %s already exists", stack_id)
                       : jb_err_errno(err, errlen, JB_ERR_IO, "mkdir %s", dir);
        if ((rc = jb_file_create(file, json, len, 0600, err, errlen)) != 0)
            rmdir(dir); /* no half-made stack for list or sweep to trip on */
        return rc;
    }
    return jb_file_replace(file, json, len, 0600, err, errlen);
}

int jb_lease_store_get(const struct jb_state *st, const char *stack_id, char **json, char *err,
                       size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_get(st, stack_id, json, err, errlen);
    if (lease_path(st, stack_id, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    return jb_file_read(file, JB_LEASE_MAX_BYTES, json, NULL, err, errlen);
}

int jb_lease_store_ids(const struct jb_state *st, char ***ids, size_t *n, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *de;
    char **v = NULL;
    size_t cap = 0;

    *ids = NULL;
    *n = 0;
    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_ids(st, ids, n, err, errlen);
    if ((d = opendir(st->dir)) == NULL)
        return errno == ENOENT ? 0 : jb_err_errno(err, errlen, JB_ERR_IO, "open %s", st->dir);
    while ((de = readdir(d)) != NULL) {
        if (jb_check_stack_id(de->d_name, NULL, 0) != 0)
            continue; /* audit log, temporaries: not stacks */
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
            if (nv == NULL)
                goto nomem;
            v = nv;
        }
        if ((v[*n] = strdup(de->d_name)) == NULL)
            goto nomem;
        (*n)++;
    }
    closedir(d);
    *ids = v;
    return 0;
nomem:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    *n = 0;
    return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
}

int jb_lease_store_purge(const struct jb_state *st, const char *stack_id, char *err, size_t errlen)
{
    char dir[PATH_MAX];

    if (jb_check_stack_id(stack_id, NULL, 0) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_purge(st, stack_id, err, errlen);
    if (jb_state_stack_path(st, stack_id, dir, sizeof(dir)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    return jb_rm_tree(dir, err, errlen);
}
