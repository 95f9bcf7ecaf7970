/* The store in a directory (store.h): one flock per state directory held
 * for a read-compare-write or a purge, objects replaced by rename and
 * made by link(2), so a reader never sees half an object. */
#include "base/err.h"
#include "base/fsutil.h"
#include "base/grow.h"
#include "stack/store_int.h"

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

static int path_of(const struct jb_state *st, const char *key, char *out, char *err, size_t errlen)
{
    if (jb_path_join(out, PATH_MAX, st->dir, key) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    return 0;
}

/* The directory above path, in place: path's last '/' cut. */
static void parent_of(const char *path, char *dir)
{
    char *slash;

    memcpy(dir, path, strlen(path) + 1);
    if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
        *slash = '\0';
}

/* A version in a directory: the SHA-256 of its bytes.  Every lease write
 * holds a fresh random revision, so no two writes look alike. */
static void file_etag(const char *data, size_t len, char *etag)
{
    unsigned char h[crypto_hash_sha256_BYTES];

    if (etag == NULL)
        return;
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    memcpy(etag, "sha256:", 7);
    sodium_bin2hex(etag + 7, JB_STORE_ETAG_MAX - 7, h, sizeof(h));
}

/* One lock for the whole state directory.  -1 with err set when it cannot
 * be had. */
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

static int file_prepare(const struct jb_state *st, char *err, size_t errlen)
{
    /* A directory that can't be made is the caller's to fix: bad input. */
    if (jb_mkdir_p(st->dir, 0700, err, errlen) != 0)
        return JB_ERR_INVALID;
    if (access(st->dir, W_OK | X_OK) != 0)
        return jb_err_errno(err, errlen, JB_ERR_INVALID, "%s", st->dir);
    return 0;
}

static int file_where(const struct jb_state *st, const char *key, char *out, size_t outlen)
{
    return jb_path_join(out, outlen, st->dir, key) == 0 ? 0 : JB_ERR_INVALID;
}

/* Written whole under a dot name, then linked: link(2) fails when the
 * name exists (O_EXCL's promise), and a reader never sees half of it. */
static int create_new(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 16];
    const char *name = strrchr(path, '/') + 1;
    struct stat sb;
    int rc, made = 0;

    parent_of(path, dir);
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    if (stat(dir, &sb) != 0) {
        if ((rc = jb_mkdir_p(dir, 0700, err, errlen)) != 0)
            return rc;
        made = 1;
    }
    unlink(tmp); /* a crashed writer's: the lock is ours now */
    if ((rc = jb_file_create(tmp, data, len, 0600, err, errlen)) == 0) {
        if (link(tmp, path) != 0)
            rc = jb_err_errno(err, errlen, errno == EEXIST ? JB_ERR_EXISTS : JB_ERR_IO, "link %s",
                              path);
        unlink(tmp);
    }
    /* No half-made stack for a listing or a sweep to trip on. */
    if (rc != 0 && made)
        rmdir(dir);
    return rc;
}

static int replace_matching(const char *path, const void *data, size_t len, const char *if_match,
                            char *err, size_t errlen)
{
    char now[JB_STORE_ETAG_MAX], *cur = NULL;
    size_t curlen = 0;
    int rc = jb_file_read(path, (size_t)16 << 20, &cur, &curlen, err, errlen);

    if (rc == JB_ERR_NOTFOUND)
        return jb_err(err, errlen, JB_ERR_NOTFOUND, "%s: gone", path);
    if (rc != 0)
        return rc;
    file_etag(cur, curlen, now);
    free(cur);
    if (strcmp(now, if_match) != 0)
        return jb_err(err, errlen, JB_ERR_CONFLICT, "%s: changed since it was read", path);
    return jb_file_replace(path, data, len, 0600, err, errlen);
}

static int file_put(const struct jb_state *st, const char *key, const void *data, size_t len,
                    const char *content_type, enum jb_store_cond cond, const char *if_match,
                    char *etag, char *err, size_t errlen)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct stat sb;
    int rc, lk;

    (void)content_type;
    if ((rc = path_of(st, key, path, err, errlen)) != 0)
        return rc;
    /* Under the lock: never into a directory a purge is removing, and a
     * compare-and-swap that nobody else's write can split. */
    if ((lk = lock_dir(st, err, errlen)) < 0)
        return JB_ERR_IO;
    if (cond == JB_STORE_ABSENT)
        rc = create_new(path, data, len, err, errlen);
    else if (cond == JB_STORE_MATCH)
        rc = replace_matching(path, data, len, if_match, err, errlen);
    else {
        parent_of(path, dir);
        if (stat(dir, &sb) != 0)
            rc =
                jb_err_errno(err, errlen, errno == ENOENT ? JB_ERR_NOTFOUND : JB_ERR_IO, "%s", dir);
        else
            rc = jb_file_replace(path, data, len, 0600, err, errlen);
    }
    unlock_dir(lk);
    if (rc == 0)
        file_etag(data, len, etag);
    return rc;
}

/* The last max bytes of a file over max, *size the whole. */
static int read_tail(const char *path, size_t max, char **out, size_t *len, size_t *size, char *err,
                     size_t errlen)
{
    struct stat sb;
    size_t n, got = 0;
    off_t from;
    char *buf = NULL;
    int fd;

    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
        return jb_err_errno(err, errlen, errno == ENOENT ? JB_ERR_NOTFOUND : JB_ERR_IO, "%s", path);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto fail;
    from = (size_t)sb.st_size > max ? sb.st_size - (off_t)max : 0;
    n = (size_t)(sb.st_size - from);
    if ((buf = malloc(n + 1)) == NULL)
        goto fail;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, from + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto fail;
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fd);
    *out = buf;
    *len = got;
    *size = (size_t)sb.st_size;
    return 0;
fail:
    free(buf);
    close(fd);
    return jb_err(err, errlen, JB_ERR_IO, "%s: cannot be read", path);
}

static int file_get(const struct jb_state *st, const char *key, size_t max, int flags,
                    struct jb_store_obj *out, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat sb;
    int rc;

    if ((rc = path_of(st, key, path, err, errlen)) != 0)
        return rc;
    if (flags & JB_STORE_TAIL)
        rc = read_tail(path, max, &out->data, &out->len, &out->size, err, errlen);
    else if ((rc = jb_file_read(path, max, &out->data, &out->len, err, errlen)) == 0)
        out->size = out->len;
    if (rc == 0 && out->size == out->len)
        file_etag(out->data, out->len, out->etag);
    if (rc == 0 && (flags & JB_STORE_MODIFIED) && stat(path, &sb) == 0)
        out->modified = sb.st_mtime;
    return rc;
}

struct keys {
    char **v;
    size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under root/rel, as keys "rel<name>": not the lock,
 * temporaries or anything else whose name starts with '.'. */
static int walk(const char *root, const char *rel, struct keys *k, int depth, char *err,
                size_t errlen)
{
    char dir[PATH_MAX], sub[PATH_MAX];
    DIR *d;
    struct dirent *de;
    int rc = 0;

    if (depth > 8) /* deeper than any key of ours */
        return 0;
    if (jb_path_join(dir, sizeof(dir), root, rel[0] ? rel : ".") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
    if ((d = opendir(dir)) == NULL)
        return errno == ENOENT || errno == ENOTDIR
                   ? 0
                   : jb_err_errno(err, errlen, JB_ERR_IO, "open %s", dir);
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(sub, sizeof(sub), "%s%s", rel, de->d_name) >= (int)sizeof(sub) ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (strlen(sub) + 2 < sizeof(sub)) {
                strcat(sub, "/");
                rc = walk(root, sub, k, depth + 1, err, errlen);
            }
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        char **nv = jb_grow(k->v, &k->cap, k->n + 1, sizeof(*k->v), 64);
        if (nv == NULL || (nv[k->n] = strdup(sub)) == NULL) {
            if (nv)
                k->v = nv;
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
            break;
        }
        k->v = nv;
        k->n++;
    }
    closedir(d);
    return rc;
}

static int file_list(const struct jb_state *st, const char *prefix, jb_store_key_fn fn, void *ctx,
                     char *err, size_t errlen)
{
    struct keys k = {NULL, 0, 0};
    int rc = walk(st->dir, prefix, &k, 0, err, errlen);

    if (rc == 0 && k.n > 1)
        qsort(k.v, k.n, sizeof(*k.v), cmp_str);
    for (size_t i = 0; i < k.n && rc == 0; i++)
        rc = fn(ctx, k.v[i]);
    for (size_t i = 0; i < k.n; i++)
        free(k.v[i]);
    free(k.v);
    return rc;
}

static int file_del(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int rc;

    if ((rc = path_of(st, key, path, err, errlen)) != 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", path);
    return 0;
}

static int file_purge(const struct jb_state *st, const char *key, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t n = strlen(key);
    int rc, lk;

    if ((rc = path_of(st, key, path, err, errlen)) != 0)
        return rc;
    /* Under the lock: an update either lands before (and goes with the
     * rest) or finds the lease gone, never re-creates it after. */
    if ((lk = lock_dir(st, err, errlen)) < 0)
        return JB_ERR_IO;
    if (key[n - 1] == '/')
        rc = jb_rm_tree(path, err, errlen);
    else if (unlink(path) != 0 && errno != ENOENT)
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", path);
    unlock_dir(lk);
    return rc;
}

/* Backend settings are not expressions: Terraform takes their strings as
 * they are, "${" included, so they are never escaped (an escaped path is
 * another path). */
static cJSON *file_tf_backend(const struct jb_state *st, const char *stack_id)
{
    cJSON *b = cJSON_CreateObject(), *inner = cJSON_CreateObject();
    char path[PATH_MAX + 32];

    if (b == NULL || inner == NULL) {
        cJSON_Delete(b);
        cJSON_Delete(inner);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s/terraform.tfstate", st->dir, stack_id);
    cJSON_AddItemToObject(inner, "path", cJSON_CreateString(path));
    cJSON_AddItemToObject(b, "local", inner);
    return b;
}

const struct jb_store_backend jb_store_file = {
    .remote = 0,
    .prepare = file_prepare,
    .where = file_where,
    .put = file_put,
    .get = file_get,
    .list = file_list,
    .del = file_del,
    .purge = file_purge,
    .tf_backend = file_tf_backend,
};
