/* The lease store's dispatch and its file:// backend (lease_store.h): a
 * compare-and-swap under one flock per state directory.  s3:// is in
 * lease_store_s3.c. */
#include "stack/lease_store.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/grow.h"
#include "base/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int lease_path(const struct jb_state *st, const char *stack_id, char *dir, char *file)
{
    if (jb_state_stack_path(st, stack_id, dir, PATH_MAX) != 0 ||
        jb_path_join(file, PATH_MAX, dir, "lease.json") != 0)
        return JB_ERR_INVALID;
    return 0;
}

/* The version of a lease in a directory: the SHA-256 of its bytes.  Every
 * write holds a fresh random revision, so no two writes look alike. */
static void file_etag(const char *json, size_t len, char *etag)
{
    unsigned char h[crypto_hash_sha256_BYTES];

    if (etag == NULL)
        return;
    crypto_hash_sha256(h, (const unsigned char *)json, len);
    memcpy(etag, "sha256:", 7);
    sodium_bin2hex(etag + 7, JB_LEASE_ETAG_MAX - 7, h, sizeof(h));
}

/* One lock for the whole state directory, held for a read-compare-write
 * or a purge: milliseconds.  -1 with err set when it cannot be had. */
static int lock_dir(const struct jb_state *st, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int fd;

    if (jb_path_join(path, sizeof(path), st->dir, ".lock") != 0) {
        jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
        return -1;
    }
    if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        jb_err_errno(err, errlen, JB_ERR_IO, "open %s", path);
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            jb_err_errno(err, errlen, JB_ERR_IO, "lock %s", path);
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_dir(int fd)
{
    close(fd); /* the lock goes with the descriptor */
}

int jb_lease_store_put(const struct jb_state *st, const char *stack_id, const char *json,
                       size_t len, const char *if_match, char *etag, char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX], now[JB_LEASE_ETAG_MAX], *cur = NULL;
    size_t curlen = 0;
    int rc, lk;

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_put(st, stack_id, json, len, if_match, etag, err, errlen);
    if (lease_path(st, stack_id, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    if ((lk = lock_dir(st, err, errlen)) < 0)
        return JB_ERR_IO;
    if (if_match == NULL) {
        if (mkdir(dir, 0700) != 0) {
            rc = errno == EEXIST
                     ? jb_err(err, errlen, JB_ERR_EXISTS, "stack %s already exists", stack_id)
                     : jb_err_errno(err, errlen, JB_ERR_IO, "mkdir %s", dir);
            goto out;
        }
        if ((rc = jb_file_create(file, json, len, 0600, err, errlen)) != 0)
            rmdir(dir); /* no half-made stack for list or sweep to trip on */
        goto out;
    }
    rc = jb_file_read(file, JB_LEASE_MAX_BYTES, &cur, &curlen, err, errlen);
    if (rc == JB_ERR_NOTFOUND) {
        rc = jb_err(err, errlen, JB_ERR_NOTFOUND, "lease of %s: gone (destroyed meanwhile)",
                    stack_id);
        goto out;
    }
    if (rc != 0)
        goto out;
    file_etag(cur, curlen, now);
    if (strcmp(now, if_match) != 0) {
        rc = jb_err(err, errlen, JB_ERR_CONFLICT,
                    "lease of %s: changed by another process since it was read", stack_id);
        goto out;
    }
    rc = jb_file_replace(file, json, len, 0600, err, errlen);
out:
    unlock_dir(lk);
    free(cur);
    if (rc == 0)
        file_etag(json, len, etag);
    return rc;
}

int jb_lease_store_get(const struct jb_state *st, const char *stack_id, char **json, char *etag,
                       char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];
    size_t len = 0;
    int rc;

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_get(st, stack_id, json, etag, err, errlen);
    if (lease_path(st, stack_id, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    /* No lock: a lease is only ever replaced by rename, whole. */
    if ((rc = jb_file_read(file, JB_LEASE_MAX_BYTES, json, &len, err, errlen)) == 0)
        file_etag(*json, len, etag);
    return rc;
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
        char **nv = jb_grow(v, &cap, *n + 1, sizeof(*v), 64);
        if (nv == NULL)
            goto nomem;
        v = nv;
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
    int rc, lk;

    if (jb_check_stack_id(stack_id, NULL, 0) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_purge(st, stack_id, err, errlen);
    if (jb_state_stack_path(st, stack_id, dir, sizeof(dir)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack id");
    /* Under the lock: an update either lands before (and goes with the
     * rest) or finds the lease gone, never re-creates it after. */
    if ((lk = lock_dir(st, err, errlen)) < 0)
        return JB_ERR_IO;
    rc = jb_rm_tree(dir, err, errlen);
    unlock_dir(lk);
    return rc;
}

static int side_path(const struct jb_state *st, const char *stack_id, const char *name, char *dir,
                     char *file)
{
    if (strchr(name, '/') != NULL || name[0] == '.' ||
        jb_state_stack_path(st, stack_id, dir, PATH_MAX) != 0 ||
        jb_path_join(file, PATH_MAX, dir, name) != 0)
        return JB_ERR_INVALID;
    return 0;
}

int jb_lease_store_put_file(const struct jb_state *st, const char *stack_id, const char *name,
                            const void *data, size_t len, char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];
    struct stat sb;
    int rc, lk;

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_put_file(st, stack_id, name, data, len, err, errlen);
    if (side_path(st, stack_id, name, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack file name");
    /* Under the lock: never into a directory a purge is removing. */
    if ((lk = lock_dir(st, err, errlen)) < 0)
        return JB_ERR_IO;
    if (stat(dir, &sb) != 0)
        rc = jb_err_errno(err, errlen, errno == ENOENT ? JB_ERR_NOTFOUND : JB_ERR_IO, "%s", dir);
    else
        rc = jb_file_replace(file, data, len, 0600, err, errlen);
    unlock_dir(lk);
    return rc;
}

int jb_lease_store_get_file(const struct jb_state *st, const char *stack_id, const char *name,
                            size_t max, char **data, size_t *len, char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];

    *data = NULL;
    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_get_file(st, stack_id, name, max, data, len, err, errlen);
    if (side_path(st, stack_id, name, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack file name");
    return jb_file_read(file, max, data, len, err, errlen);
}

int jb_lease_store_delete_file(const struct jb_state *st, const char *stack_id, const char *name,
                               char *err, size_t errlen)
{
    char dir[PATH_MAX], file[PATH_MAX];

    if (st->kind == JB_STATE_S3)
        return jb_lease_s3_delete_file(st, stack_id, name, err, errlen);
    if (side_path(st, stack_id, name, dir, file) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bad stack file name");
    if (unlink(file) != 0 && errno != ENOENT)
        return jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", file);
    return 0;
}

int jb_lease_store_prepare(const struct jb_state *st, char *err, size_t errlen)
{
    if (st->kind == JB_STATE_S3)
        return jb_lease_store_check(st, err, errlen);
    /* A directory that can't be made is the caller's to fix: bad input. */
    if (jb_mkdir_p(st->dir, 0700, err, errlen) != 0)
        return JB_ERR_INVALID;
    if (access(st->dir, W_OK | X_OK) != 0)
        return jb_err_errno(err, errlen, JB_ERR_INVALID, "%s", st->dir);
    return 0;
}
