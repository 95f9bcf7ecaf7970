/* Careful file handling (fsutil.h): O_EXCL|O_NOFOLLOW creates, atomic
 * replaces by rename, bounded reads.  Wiping files lives in fsutil_wipe.c. */
#include "base/fsutil.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int jb_file_create(const char *path, const void *data, size_t len, mode_t mode, char *err,
                   size_t errlen)
{
    int fd, rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return jb_err_errno(err, errlen, errno == EEXIST ? JB_ERR_EXISTS : JB_ERR_IO, "create %s",
                            path);
    /* The umask may have narrowed mode; never widened, but make it exact. */
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "write %s", path);
        close(fd);
        unlink(path);
        return rc;
    }
    if (close(fd) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "close %s", path);
        unlink(path);
    }
    return rc;
}

int jb_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen)
{
    char tmp[PATH_MAX];
    int rc;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return jb_err(err, errlen, JB_ERR_INVALID, "path too long: %s", path);
    unlink(tmp);
    if ((rc = jb_file_create(tmp, data, len, mode, err, errlen)) != 0)
        return rc;
    if (rename(tmp, path) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "rename %s", path);
        unlink(tmp);
    }
    return rc;
}

int jb_file_read(const char *path, size_t max, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = -1, rc = 0;

    *out = NULL;
    if (outlen)
        *outlen = 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = jb_err_errno(err, errlen, errno == ENOENT ? JB_ERR_NOTFOUND : JB_ERR_IO, "open %s",
                          path);
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = jb_err(err, errlen, JB_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = jb_err_errno(err, errlen, JB_ERR_IO, "read %s", path);
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    buf = NULL;
    if (outlen)
        *outlen = got;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int jb_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return jb_err(err, errlen, JB_ERR_INVALID, "bad directory path");
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return jb_err_errno(err, errlen, JB_ERR_IO, "mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return jb_err_errno(err, errlen, JB_ERR_IO, "mkdir %s", buf);
    return 0;
}

int jb_path_join(char *out, size_t outlen, const char *a, const char *b)
{
    size_t la = strlen(a);
    int n;

    while (la > 1 && a[la - 1] == '/')
        la--;
    n = snprintf(out, outlen, "%.*s/%s", (int)la, a, b);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

/* Length of the first component of p (p not starting with '/'). */
static size_t component(const char *p)
{
    const char *slash = strchr(p, '/');
    return slash ? (size_t)(slash - p) : strlen(p);
}

int jb_path_relative(const char *from, const char *to, char *out, size_t outlen)
{
    size_t pos = 0;
    int n;

    if (from[0] != '/' || to[0] != '/')
        return JB_ERR_INVALID;
    /* Skip the components both share. */
    for (;;) {
        size_t lf, lt;
        while (*from == '/')
            from++;
        while (*to == '/')
            to++;
        lf = component(from);
        lt = component(to);
        if (lf == 0 || lf != lt || memcmp(from, to, lf) != 0)
            break;
        from += lf;
        to += lt;
    }
    out[0] = '\0';
    /* Climb out of what is left of from, then down into to. */
    while (*from) {
        size_t lf = component(from);
        n = snprintf(out + pos, outlen - pos, "%s..", pos ? "/" : "");
        if (n < 0 || (size_t)n >= outlen - pos)
            return JB_ERR_INVALID;
        pos += (size_t)n;
        from += lf;
        while (*from == '/')
            from++;
    }
    n = snprintf(out + pos, outlen - pos, "%s%s", pos ? (*to ? "/" : "") : (*to ? "./" : "."), to);
    return (n < 0 || (size_t)n >= outlen - pos) ? JB_ERR_INVALID : 0;
}

int jb_self_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    char *slash;

    if (n <= 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "readlink /proc/self/exe");
    buf[n] = '\0';
    if ((slash = strrchr(buf, '/')) == NULL)
        return jb_err(err, errlen, JB_ERR_SYSTEM, "odd executable path");
    *slash = '\0';
    if (strlen(buf) + 1 > outlen)
        return jb_err(err, errlen, JB_ERR_INVALID, "executable path too long");
    memcpy(out, buf, strlen(buf) + 1);
    return 0;
}
