/* Files and directories the careful way: secrets are created with O_EXCL
 * and mode 0600, replacements are atomic, wipes overwrite before unlink. */
#ifndef JB_FSUTIL_H
#define JB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates path (which must not exist) with mode, writes data, fsyncs. */
int jb_file_create(const char *path, const void *data, size_t len, mode_t mode, char *err,
                   size_t errlen);

/* Writes data to a fresh temporary beside path, then renames it over path. */
int jb_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen);

/* Reads a whole regular file of at most max bytes; *out is NUL-terminated
 * and must be freed with free().  JB_ERR_NOTFOUND when it does not exist. */
int jb_file_read(const char *path, size_t max, char **out, size_t *outlen, char *err,
                 size_t errlen);

/* Overwrites a file with zeros, then unlinks it.  Missing is not an error.
 * Only a regular file with one link is overwritten, judged on the
 * descriptor written to (opened O_NONBLOCK|O_NOFOLLOW): a hard link's data
 * is also its other names', and a FIFO, device or symlink is only unlinked
 * (opening a FIFO to write would wait for a reader). */
int jb_file_wipe(const char *path, char *err, size_t errlen);

/* Which file a path named when we made it (lstat's st_dev, st_ino). */
struct jb_file_id {
    dev_t dev;
    ino_t ino;
};
/* 0, or -1 when path cannot be stat'ed (id zeroed). */
int jb_file_id(const char *path, struct jb_file_id *id);

/* jb_file_wipe, overwriting only if path still names the file `own` (one
 * we wrote), not one somebody put in its place; that is unlinked only. */
int jb_file_wipe_own(const char *path, const struct jb_file_id *own, char *err, size_t errlen);

/* mkdir -p with mode for every component it creates. */
int jb_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);

/* rm -r of a directory tree of ours; regular files are wiped first (as
 * jb_file_wipe: one link only).  Missing is not an error.  Never follows
 * symlinks, not even one swapped in while it runs. */
int jb_rm_tree(const char *path, char *err, size_t errlen);

/* rm -r overwriting nothing, for a tree others wrote into: any file there
 * may be a hard link to data that lives on elsewhere (`cp -al`). */
int jb_unlink_tree(const char *path, char *err, size_t errlen);

/* Joins a and b with one '/'; JB_ERR_INVALID when it does not fit. */
int jb_path_join(char *out, size_t outlen, const char *a, const char *b);

/* The relative path from directory `from` to `to`, both absolute and
 * normalised (realpath): "../../terraform/local". */
int jb_path_relative(const char *from, const char *to, char *out, size_t outlen);

/* Directory holding the running executable (from /proc/self/exe). */
int jb_self_dir(char *out, size_t outlen, char *err, size_t errlen);

#endif
