/* Wipes and tree removal.  Everything goes through a directory descriptor
 * and a name (openat, unlinkat, never a path walked twice), so a symlink
 * swapped in mid-way is unlinked, not followed. */
#include "base/fsutil.h"

#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int zero_fd(int fd, off_t size)
{
    static const char zeros[4096];

    while (size > 0) {
        size_t n = size > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)size;
        ssize_t w = write(fd, zeros, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        size -= w;
    }
    return fsync(fd);
}

/* Opening failed because the name is no longer a regular file we may
 * write (swapped for a symlink or FIFO, a running program): unlink it. */
static int not_for_writing(int e)
{
    return e == ELOOP || e == ENXIO || e == EWOULDBLOCK || e == ETXTBSY || e == EISDIR;
}

/* Zeros name (in dir) if, on the descriptor written to, it is a regular file
 * with one link (and the file own names, with own); then unlinks it. */
static int wipe_at(int dir, const char *name, const char *shown, const struct jb_file_id *own,
                   char *err, size_t errlen)
{
    struct stat st;
    int fd;

    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : jb_err_errno(err, errlen, JB_ERR_IO, "stat %s", shown);
    if (S_ISREG(st.st_mode)) {
        fd = openat(dir, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            return 0;
        if (fd < 0 && !not_for_writing(errno))
            return jb_err_errno(err, errlen, JB_ERR_IO, "open %s", shown);
        if (fd >= 0) {
            if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
                (own == NULL || (st.st_dev == own->dev && st.st_ino == own->ino)))
                zero_fd(fd, st.st_size); /* a failed overwrite still unlinks */
            close(fd);
        }
    }
    if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
        return jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", shown);
    return 0;
}

int jb_file_wipe(const char *path, char *err, size_t errlen)
{
    return wipe_at(AT_FDCWD, path, path, NULL, err, errlen);
}

int jb_file_id(const char *path, struct jb_file_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (lstat(path, &st) != 0)
        return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 0;
}

int jb_file_wipe_own(const char *path, const struct jb_file_id *own, char *err, size_t errlen)
{
    return wipe_at(AT_FDCWD, path, path, own, err, errlen);
}

/* Removes name (in dir) and all under it; shown is its path, for messages
 * only (cut short past PATH_MAX, where the descriptors still reach). */
static int rm_at(int dir, const char *name, const char *shown, int wipe, char *err, size_t errlen)
{
    char child[PATH_MAX];
    struct stat st;
    struct dirent *de;
    DIR *d;
    int fd, rc = 0;

    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : jb_err_errno(err, errlen, JB_ERR_IO, "stat %s", shown);
    if (!S_ISDIR(st.st_mode)) {
        if (wipe)
            return wipe_at(dir, name, shown, NULL, err, errlen);
        if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
            return jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", shown);
        return 0;
    }
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) { /* swapped: a directory no more */
        if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
            return jb_err_errno(err, errlen, JB_ERR_IO, "unlink %s", shown);
        return 0;
    }
    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "opendir %s", shown);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (jb_path_join(child, sizeof(child), shown, de->d_name) != 0)
            snprintf(child, sizeof(child), "%s", shown);
        if ((rc = rm_at(dirfd(d), de->d_name, child, wipe, err, errlen)) != 0)
            break;
    }
    closedir(d);
    if (rc == 0 && unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "rmdir %s", shown);
    return rc;
}

int jb_rm_tree(const char *path, char *err, size_t errlen)
{
    return rm_at(AT_FDCWD, path, path, 1, err, errlen);
}

int jb_unlink_tree(const char *path, char *err, size_t errlen)
{
    return rm_at(AT_FDCWD, path, path, 0, err, errlen);
}
