/* Error values shared by every lib module.
 *
 * Functions return 0 or a negative JB_ERR_*; the human detail goes into a
 * caller-supplied buffer (char *err, size_t errlen).  Detail text never holds
 * secrets: callers may print it. */
#ifndef JB_ERR_H
#define JB_ERR_H

#include <stddef.h>

#define JB_ERRLEN 512

enum {
    JB_OK = 0,
    JB_ERR_INVALID = -1, /* bad input from outside: exit status 2 */
    JB_ERR_SYSTEM = -2,  /* a system call failed */
    JB_ERR_NOMEM = -3,
    JB_ERR_CRYPTO = -4,
    JB_ERR_TERRAFORM = -5,
    JB_ERR_TIMEOUT = -6,
    JB_ERR_SSH = -7,
    JB_ERR_HOSTKEY = -8, /* the server showed a host key other than the pinned one */
    JB_ERR_NOTFOUND = -9,
    JB_ERR_EXISTS = -10,
    JB_ERR_PARSE = -11, /* malformed data from a program or server we called */
    JB_ERR_IO = -12,
    JB_ERR_HTTP = -13,
    JB_ERR_AWS = -14,
    JB_ERR_CANCELLED = -15, /* a signal asked us to stop */
    JB_ERR_UNSUPPORTED = -16,
    JB_ERR_AUTH = -17,
    JB_ERR_CONFLICT = -18, /* a conditional write lost: someone changed it first */
};

/* Short stable name of an error value ("invalid", "terraform", ...). */
const char *jb_err_name(int code);

/* Formats detail into err (if err != NULL) and returns code, so a failure
 * site reads `return jb_err(err, errlen, JB_ERR_IO, "...", ...);`. */
int jb_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like jb_err, with ": strerror(errno)" appended. */
int jb_err_errno(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
