/* Validation of outside values (parse.h): durations, labels, stack ids,
 * times; each failure says what is wrong, the caller names the field. */
#include "base/parse.h"

#include "base/err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jb_parse_duration(const char *s, long *secs, char *err, size_t errlen)
{
    long total = 0;
    const char *p = s;
    int parts = 0;

    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty duration (use e.g. 90s, 10m, 2h)");
    while (*p) {
        long n = 0, unit;
        int digits = 0;

        while (isdigit((unsigned char)*p)) {
            if (n > 100000000L)
                return jb_err(err, errlen, JB_ERR_INVALID, "duration '%s' is too large", s);
            n = n * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "'%s' is not a duration (use e.g. 90s, 10m, 2h)", s);
        switch (*p) {
        case 's':
            unit = 1;
            p++;
            break;
        case 'm':
            unit = 60;
            p++;
            break;
        case 'h':
            unit = 3600;
            p++;
            break;
        case '\0':
            if (parts > 0)
                return jb_err(err, errlen, JB_ERR_INVALID, "'%s': number without a unit", s);
            unit = 1;
            break;
        default:
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "'%s' is not a duration (use e.g. 90s, 10m, 2h)", s);
        }
        total += n * unit;
        if (total > 100000000L)
            return jb_err(err, errlen, JB_ERR_INVALID, "duration '%s' is too large", s);
        parts++;
    }
    if (total <= 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "duration must be more than 0");
    *secs = total;
    return 0;
}

int jb_check_stack_id(const char *s, char *err, size_t errlen)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "empty stack id");
    if (n > JB_STACK_ID_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack id longer than %d characters",
                      JB_STACK_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "stack id may hold only a-z, 0-9 and '-' (got byte 0x%02x)",
                          (unsigned char)c);
    }
    if (s[0] == '-' || s[n - 1] == '-')
        return jb_err(err, errlen, JB_ERR_INVALID, "stack id may not start or end with '-'");
    /* The audit records', the boxes' own and their deadlines' directories
     * beside the stacks' (audit.h, box_identity.h, deadline.h): a stack of
     * that name would share one, and its purge would take what is in it. */
    if (strcmp(s, "audit") == 0 || strcmp(s, "boxes") == 0 || strcmp(s, "deadlines") == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "stack id \"%s\" is reserved", s);
    return 0;
}

static int host_bits_clear(const unsigned char *addr, int bytes, long prefix)
{
    for (int i = 0; i < bytes; i++) {
        long first = (long)i * 8;
        unsigned char mask;
        if (first + 8 <= prefix)
            continue;
        mask = first >= prefix ? 0xff : (unsigned char)(0xff >> (prefix - first));
        if (addr[i] & mask)
            return 0;
    }
    return 1;
}

static int split_cidr(const char *s, int *family, unsigned char addr[16], long *prefix, char *err,
                      size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    char *end;
    size_t hl;

    if (slash == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "'%s' has no /prefix (e.g. 203.0.113.7/32)", s);
    hl = (size_t)(slash - s);
    if (hl == 0 || hl >= sizeof(host))
        return jb_err(err, errlen, JB_ERR_INVALID, "'%s' is not an IP address/prefix", s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        *family = AF_INET6;
    else
        return jb_err(err, errlen, JB_ERR_INVALID, "'%s' is not an IP address/prefix", s);
    if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
        return jb_err(err, errlen, JB_ERR_INVALID, "'%s': bad prefix length", s);
    errno = 0;
    *prefix = strtol(slash + 1, &end, 10);
    if (errno || *end != '\0' || *prefix < 0 || *prefix > (*family == AF_INET ? 32 : 128))
        return jb_err(err, errlen, JB_ERR_INVALID, "'%s': bad prefix length", s);
    return 0;
}

int jb_parse_cidr(const char *s, char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char addr[16];
    char canon[INET6_ADDRSTRLEN];
    int family, rc;
    long prefix;

    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty CIDR");
    if ((rc = split_cidr(s, &family, addr, &prefix, err, errlen)) != 0)
        return rc;
    if (!host_bits_clear(addr, family == AF_INET ? 4 : 16, prefix))
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "'%s' has host bits set beyond /%ld (use the network address)", s, prefix);
    inet_ntop(family, addr, canon, sizeof(canon));
    if (out && snprintf(out, outlen, "%s/%ld", canon, prefix) >= (int)outlen)
        return jb_err(err, errlen, JB_ERR_INVALID, "CIDR too long");
    return 0;
}

int jb_cidr_within(const char *inner, const char *outer)
{
    unsigned char a[16], b[16];
    int fa, fb;
    long pa, pb;

    if (split_cidr(inner, &fa, a, &pa, NULL, 0) != 0 ||
        split_cidr(outer, &fb, b, &pb, NULL, 0) != 0 || fa != fb || pa < pb)
        return 0;
    for (long bit = 0; bit < pb; bit++) {
        int byte = (int)(bit / 8), shift = 7 - (int)(bit % 8);
        if (((a[byte] >> shift) & 1) != ((b[byte] >> shift) & 1))
            return 0;
    }
    return 1;
}

void jb_format_rfc3339(time_t t, char out[JB_RFC3339_LEN])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, JB_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int jb_parse_rfc3339(const char *s, time_t *t, char *err, size_t errlen)
{
    char again[JB_RFC3339_LEN];
    struct tm tm;
    char *end;
    time_t v;

    /* strptime skips spaces and timegm rolls Feb 31 or second 60 over, so
     * only a time that prints back to the same text is taken. */
    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strlen(s) != JB_RFC3339_LEN - 1 ||
        (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0' ||
        ((v = timegm(&tm)), jb_format_rfc3339(v, again), strcmp(again, s) != 0))
        return jb_err(err, errlen, JB_ERR_INVALID, "'%.40s' is not a UTC RFC 3339 time",
                      s ? s : "");
    *t = v;
    return 0;
}

int jb_check_label(const char *s, size_t max, char *err, size_t errlen)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "empty");
    if (n > max)
        return jb_err(err, errlen, JB_ERR_INVALID, "longer than %zu characters", max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "control characters, quotes and backslashes are not allowed");
    }
    return 0;
}
