/* Error detail into the caller's buffer (err.h), never longer than it and
 * never holding a secret; errno's text appended where a system call failed. */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *jb_err_name(int code)
{
    switch (code) {
    case JB_OK:
        return "ok";
    case JB_ERR_INVALID:
        return "invalid";
    case JB_ERR_SYSTEM:
        return "system";
    case JB_ERR_NOMEM:
        return "nomem";
    case JB_ERR_CRYPTO:
        return "crypto";
    case JB_ERR_TERRAFORM:
        return "terraform";
    case JB_ERR_TIMEOUT:
        return "timeout";
    case JB_ERR_SSH:
        return "ssh";
    case JB_ERR_HOSTKEY:
        return "hostkey";
    case JB_ERR_NOTFOUND:
        return "notfound";
    case JB_ERR_EXISTS:
        return "exists";
    case JB_ERR_PARSE:
        return "parse";
    case JB_ERR_IO:
        return "io";
    case JB_ERR_HTTP:
        return "http";
    case JB_ERR_AWS:
        return "aws";
    case JB_ERR_CONFLICT:
        return "conflict";
    case JB_ERR_CANCELLED:
        return "cancelled";
    case JB_ERR_UNSUPPORTED:
        return "unsupported";
    case JB_ERR_AUTH:
        return "auth";
    }
    return "unknown";
}

int jb_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return code;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

int jb_err_errno(char *err, size_t errlen, int code, const char *fmt, ...)
{
    int saved = errno;
    size_t used;
    va_list ap;

    if (err == NULL || errlen == 0)
        return code;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    used = strlen(err);
    if (used < errlen)
        snprintf(err + used, errlen - used, ": %s", strerror(saved));
    return code;
}
