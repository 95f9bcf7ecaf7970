/* s3:// state URLs and S3 bucket names. */
#include "aws/s3.h"

#include "base/err.h"

#include <string.h>

static int is_lower_digit(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int ends_with(const char *s, const char *p)
{
    size_t n = strlen(s), m = strlen(p);
    return n >= m && strcmp(s + n - m, p) == 0;
}

/* Four dot-separated runs of digits, like 192.168.5.4. */
static int looks_like_ipv4(const char *s)
{
    int parts = 0, digits = 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            digits++;
        } else if (*s == '.' || *s == '\0') {
            if (digits == 0)
                return 0;
            parts++;
            digits = 0;
            if (*s == '\0')
                break;
        } else {
            return 0;
        }
    }
    return parts == 4;
}

int jb_s3_check_bucket(const char *b, char *err, size_t errlen)
{
    static const char *const bad_start[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const bad_end[] = {"-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"};
    size_t n = b ? strlen(b) : 0;

    if (n == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "bucket name is empty");
    if (n < 3 || n > 63)
        return jb_err(err, errlen, JB_ERR_INVALID, "bucket name is %zu characters, must be 3 to 63",
                      n);
    for (size_t i = 0; i < n; i++) {
        char ch = b[i];
        if (ch >= 'A' && ch <= 'Z')
            return jb_err(err, errlen, JB_ERR_INVALID, "bucket name \"%s\" has upper case letters",
                          b);
        if (!is_lower_digit(ch) && ch != '-' && ch != '.')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "bucket name has a character other than a-z, 0-9, '.', '-'");
    }
    /* Each dot-separated label must work as a DNS label (virtual hosting). */
    for (size_t i = 0; i < n; i++) {
        int label_start = i == 0 || b[i - 1] == '.';
        int label_end = i + 1 == n || b[i + 1] == '.';
        if (b[i] == '.' && label_start)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "bucket name \"%s\" has an empty label (leading, trailing or double dot)",
                          b);
        if (b[i] != '.' && (label_start || label_end) && !is_lower_digit(b[i]))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "bucket name \"%s\": each part must start and end with a letter or "
                          "digit",
                          b);
    }
    if (b[n - 1] == '.')
        return jb_err(err, errlen, JB_ERR_INVALID, "bucket name \"%s\" ends with a dot", b);
    if (looks_like_ipv4(b))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "bucket name \"%s\" is formatted as an IP address", b);
    for (size_t i = 0; i < sizeof(bad_start) / sizeof(bad_start[0]); i++)
        if (starts_with(b, bad_start[i]))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "bucket name \"%s\" starts with the reserved \"%s\"", b, bad_start[i]);
    for (size_t i = 0; i < sizeof(bad_end) / sizeof(bad_end[0]); i++)
        if (ends_with(b, bad_end[i]))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "bucket name \"%s\" ends with the reserved \"%s\"", b, bad_end[i]);
    return 0;
}

/* Segments between '/' must be non-empty and neither "." nor "..". */
static int check_prefix(const char *p, size_t n, char *err, size_t errlen)
{
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '/') {
            size_t len = i - seg;
            if (len == 0 && i < n)
                return jb_err(err, errlen, JB_ERR_INVALID,
                              "state URL: prefix has an empty path segment (\"//\" or a "
                              "leading '/')");
            if ((len == 1 && p[seg] == '.') || (len == 2 && p[seg] == '.' && p[seg + 1] == '.'))
                return jb_err(err, errlen, JB_ERR_INVALID,
                              "state URL: prefix has a \".\" or \"..\" segment");
            seg = i + 1;
            continue;
        }
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "state URL: prefix has a space, control or non-ASCII byte 0x%02x", ch);
        if (ch == '\\' || ch == '?' || ch == '#' || ch == '%')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "state URL: prefix has a '%c', which is not allowed", ch);
    }
    return 0;
}

int jb_s3_parse_url(const char *url, struct jb_s3_url *out, char *err, size_t errlen)
{
    static const char scheme[] = "s3://";
    char berr[JB_ERRLEN];
    int rc;

    memset(out, 0, sizeof(*out));
    if (url == NULL || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "state URL: must start with \"s3://\" (like s3://bucket/prefix)");
    const char *b = url + sizeof(scheme) - 1;
    const char *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state URL: no bucket name after \"s3://\"");
    if (blen >= sizeof(out->bucket))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "state URL: bucket name is %zu characters, must be 3 to 63", blen);
    memcpy(out->bucket, b, blen);
    out->bucket[blen] = '\0';
    if ((rc = jb_s3_check_bucket(out->bucket, berr, sizeof(berr))) != 0) {
        memset(out, 0, sizeof(*out));
        return jb_err(err, errlen, rc, "state URL: %s", berr);
    }
    if (slash == NULL || slash[1] == '\0')
        return 0;
    const char *p = slash + 1;
    size_t plen = strlen(p);
    if (p[plen - 1] == '/')
        plen--; /* added back below */
    if (plen == 0 || p[plen - 1] == '/') {
        memset(out, 0, sizeof(*out));
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "state URL: prefix has an empty path segment (\"//\")");
    }
    if (plen + 1 > JB_S3_PREFIX_MAX) {
        memset(out, 0, sizeof(*out));
        return jb_err(err, errlen, JB_ERR_INVALID, "state URL: prefix longer than %d bytes",
                      JB_S3_PREFIX_MAX - 1);
    }
    if ((rc = check_prefix(p, plen, err, errlen)) != 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    memcpy(out->prefix, p, plen);
    out->prefix[plen] = '/';
    out->prefix[plen + 1] = '\0';
    return 0;
}
