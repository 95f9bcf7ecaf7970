/* The forwarding allow-list (permit.h): targets parsed and validated, and
 * checked against the function-side bound before anything is made. */
#include "stack/permit.h"

#include "base/err.h"
#include "base/parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HOST_DNS, HOST_V4, HOST_V6, PAT_ANY, PAT_SUFFIX, PAT_CIDR };

#define DNS_MAX 253

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Letters, digits and inner hyphens, labels of 1..63, at most 253 in all.
 * A last label of digits only is refused: it reads as a mistyped IPv4
 * address, and no top-level domain is numeric. */
static int check_dns(const char *s, size_t len)
{
    size_t label = 0, start = 0;
    int digits_only = 1;

    if (len == 0 || len > DNS_MAX)
        return -1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[start] == '-' || s[i - 1] == '-')
                return -1;
            if (i == len && digits_only)
                return -1;
            label = 0;
            start = i + 1;
            digits_only = 1;
            continue;
        }
        if (!is_alnum(s[i]) && s[i] != '-')
            return -1;
        if (!(s[i] >= '0' && s[i] <= '9'))
            digits_only = 0;
        label++;
    }
    return 0;
}

/* IPv6 ranges whose addresses reach IPv4 hosts.  An IPv4-mapped address
 * is the IPv4 host it names (a v6 socket connects to it over IPv4), so it
 * is taken as that IPv4 address (the first entry is for CIDR patterns,
 * which cannot be rewritten as simply).  The others are refused: a NAT64
 * translator picks the IPv4 host by a prefix length only the network
 * knows (RFC 6052, 8215), and IPv4-compatible (RFC 4291, deprecated), 6to4
 * (RFC 7526, deprecated) and Teredo are tunnelled over IPv4 to the address
 * they embed; none is a jump box's target. */
static const struct {
    const char *net;
    int bits;
    const char *what;
} embeds[] = {
    {"::ffff:0:0", 96, "an IPv4-mapped CIDR (::ffff:0:0/96): write it as an IPv4 CIDR"},
    {"::", 96, "an IPv4-compatible address (::a.b.c.d, deprecated): write the IPv4 address"},
    {"64:ff9b::", 96, "a NAT64 address (64:ff9b::/96): write the IPv4 address it stands for"},
    {"64:ff9b:1::", 48, "a NAT64 address (64:ff9b:1::/48): write the IPv4 address it stands for"},
    {"2002::", 16, "a 6to4 address (2002::/16, deprecated): it is reached over IPv4"},
    {"2001::", 32, "a Teredo address (2001::/32): it is reached over IPv4"},
};

static int prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

/* Why the IPv6 block a/bits may not be a target or pattern; NULL if it
 * may.  `::` and `::1` (bits 128) are not IPv4-compatible addresses. */
static const char *embedded_v4(const unsigned char a[16], int bits)
{
    static const unsigned char lo[16] = {[15] = 1}, any[16] = {0};
    unsigned char net[16];

    if (bits == 128 && (memcmp(a, lo, 16) == 0 || memcmp(a, any, 16) == 0))
        return NULL;
    for (size_t i = 0; i < sizeof(embeds) / sizeof(embeds[0]); i++) {
        if (inet_pton(AF_INET6, embeds[i].net, net) == 1 && bits >= embeds[i].bits &&
            prefix_eq(a, net, embeds[i].bits))
            return embeds[i].what;
    }
    return NULL;
}

/* HOST of HOST:PORT (len bytes at s): its kind, and the address for IP
 * literals (IPv6 without its brackets; an IPv4-mapped one as the IPv4
 * address it is).  *why says why an IPv6 literal that reaches IPv4 is
 * refused. */
static int parse_host(const char *s, size_t len, int *kind, unsigned char addr[16],
                      const char **why)
{
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};

    char buf[JB_TARGET_MAX];

    if (len == 0 || len >= sizeof(buf))
        return -1;
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']')
            return -1;
        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';
        if (strchr(buf, '%') || inet_pton(AF_INET6, buf, addr) != 1)
            return -1;
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
            memmove(addr, addr + 12, 4);
            *kind = HOST_V4;
            return 0;
        }
        if ((*why = embedded_v4(addr, 128)) != NULL)
            return -1;
        *kind = HOST_V6;
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *kind = HOST_V4;
        return 0;
    }
    if (check_dns(s, len) != 0)
        return -1;
    *kind = HOST_DNS;
    return 0;
}

/* 1..65535 without sign or leading zero, or "*" (0). */
static int parse_port(const char *s, int *port)
{
    long v = 0;

    if (strcmp(s, "*") == 0) {
        *port = 0;
        return 0;
    }
    if (*s < '1' || *s > '9' || strlen(s) > 5)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* The last ':' separates the port; an IPv6 host must be bracketed, so the
 * last colon of "[::1]:22" is the right one and "::1:22" is refused. */
static int split(const char *s, const char **colon, char *err, size_t errlen)
{
    *colon = strrchr(s, ':');
    if (*colon == NULL || *colon == s)
        return jb_err(err, errlen, JB_ERR_INVALID, "not HOST:PORT");
    if (s[0] != '[' && memchr(s, ':', (size_t)(*colon - s)) != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "an IPv6 address needs brackets: [ADDR]:PORT");
    return 0;
}

static int target(const char *s, int *kind, unsigned char addr[16], int *port, char *err,
                  size_t errlen)
{
    const char *colon, *why = NULL;

    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty (want HOST:PORT)");
    if (strlen(s) >= JB_TARGET_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "longer than %d characters", JB_TARGET_MAX - 1);
    if (split(s, &colon, err, errlen) != 0)
        return JB_ERR_INVALID;
    if (parse_port(colon + 1, port) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "port must be 1..65535 or *");
    if (parse_host(s, (size_t)(colon - s), kind, addr, &why) != 0) {
        if (why)
            return jb_err(err, errlen, JB_ERR_INVALID, "host is %s", why);
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "host must be a DNS name, an IPv4 address or [IPv6] (no wildcards)");
    }
    return 0;
}

int jb_parse_target(const char *s, char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char addr[16];
    int kind, port, rc;

    if ((rc = target(s, &kind, addr, &port, err, errlen)) != 0)
        return rc;
    if (snprintf(out, outlen, "%s", s) >= (int)outlen)
        return jb_err(err, errlen, JB_ERR_INVALID, "too long");
    return 0;
}

int jb_permit_add(struct jb_permit *p, const char *s, char *err, size_t errlen)
{
    char t[JB_TARGET_MAX];
    int rc;

    if ((rc = jb_parse_target(s, t, sizeof(t), err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->t[i], t) == 0)
            return 0;
    if (p->n == JB_PERMIT_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "more than %d targets", JB_PERMIT_MAX);
    memcpy(p->t[p->n++], t, sizeof(t));
    return 0;
}

cJSON *jb_permit_json(const struct jb_permit *p)
{
    cJSON *list = cJSON_CreateArray();

    for (size_t i = 0; list && i < p->n; i++) {
        if (!cJSON_AddItemToArray(list, cJSON_CreateString(p->t[i]))) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

/* The same for a canonical CIDR (jb_parse_cidr's output). */
static const char *cidr_embeds_v4(const char *cidr)
{
    char net[INET6_ADDRSTRLEN];
    unsigned char a[16];
    const char *slash = strchr(cidr, '/');

    if (slash == NULL || (size_t)(slash - cidr) >= sizeof(net))
        return NULL;
    memcpy(net, cidr, (size_t)(slash - cidr));
    net[slash - cidr] = '\0';
    if (inet_pton(AF_INET6, net, a) != 1)
        return NULL;
    return embedded_v4(a, atoi(slash + 1));
}

static int parse_target_pattern(const char *s, struct jb_target_pattern *out, char *err,
                                size_t errlen)
{
    const char *colon, *why = NULL;
    char host[JB_TARGET_MAX], detail[JB_ERRLEN];
    unsigned char addr[16];
    size_t hlen;
    int kind;

    memset(out, 0, sizeof(*out));
    if (s == NULL || *s == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty pattern (want HOST:PORT)");
    if (strlen(s) >= JB_TARGET_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "%.40s...: longer than %d characters", s,
                      JB_TARGET_MAX - 1);
    if (split(s, &colon, detail, sizeof(detail)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: %s", s, detail);
    if (parse_port(colon + 1, &out->port) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: port must be 1..65535 or *", s);
    hlen = (size_t)(colon - s);
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "*") == 0) {
        out->kind = PAT_ANY;
    } else if (strncmp(host, "*.", 2) == 0 && check_dns(host + 2, hlen - 2) == 0) {
        out->kind = PAT_SUFFIX;
    } else if (strchr(host, '/')) {
        char cidr[JB_CIDR_MAX];
        const char *c = host;
        if (host[0] == '[' && host[hlen - 1] == ']') {
            host[hlen - 1] = '\0';
            c = host + 1;
        } else if (strchr(host, ':')) {
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: an IPv6 CIDR needs brackets", s);
        }
        if (jb_parse_cidr(c, cidr, sizeof(cidr), detail, sizeof(detail)) != 0)
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: %s", s, detail);
        if ((why = cidr_embeds_v4(cidr)) != NULL)
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: %s", s, why);
        snprintf(host, sizeof(host), "%s", cidr);
        out->kind = PAT_CIDR;
    } else if (parse_host(host, hlen, &kind, addr, &why) == 0) {
        out->kind = kind;
    } else if (why) {
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: host is %s", s, why);
    } else {
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "%s: host must be *, *.DOMAIN, a CIDR, a DNS name, an IPv4 address or "
                      "[IPv6]",
                      s);
    }
    memcpy(out->host, host, sizeof(host));
    return 0;
}

int jb_parse_target_patterns(const char *list, struct jb_target_pattern *out, size_t *n, char *err,
                             size_t errlen)
{
    char buf[JB_TARGET_PATTERNS_MAX * JB_TARGET_MAX], *save = NULL, *tok;
    int rc;

    *n = 0;
    if (list == NULL)
        return 0;
    if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
        return jb_err(err, errlen, JB_ERR_INVALID, "too long");
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end = tok + strlen(tok);
        while (*tok == ' ')
            tok++;
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (*tok == '\0')
            continue;
        if (*n == JB_TARGET_PATTERNS_MAX)
            return jb_err(err, errlen, JB_ERR_INVALID, "more than %d patterns",
                          JB_TARGET_PATTERNS_MAX);
        if ((rc = parse_target_pattern(tok, &out[*n], err, errlen)) != 0)
            return rc;
        (*n)++;
    }
    return 0;
}

static int host_matches(const struct jb_target_pattern *p, const char *host, size_t hlen, int kind,
                        const unsigned char addr[16])
{
    unsigned char paddr[16];
    char buf[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8];
    const char *why = NULL;
    size_t slen;

    switch (p->kind) {
    case PAT_ANY:
        return 1;
    case PAT_SUFFIX:
        /* "*.example.com": names under it, not example.com itself. */
        slen = strlen(p->host) - 1; /* ".example.com" */
        return kind == HOST_DNS && hlen > slen &&
               strncasecmp(host + hlen - slen, p->host + 1, slen) == 0;
    case PAT_CIDR:
        if (kind != HOST_V4 && kind != HOST_V6)
            return 0;
        if (inet_ntop(kind == HOST_V4 ? AF_INET : AF_INET6, addr, buf, sizeof(buf)) == NULL)
            return 0;
        snprintf(cidr, sizeof(cidr), "%s/%d", buf, kind == HOST_V4 ? 32 : 128);
        return jb_cidr_within(cidr, p->host);
    case HOST_DNS:
        return kind == HOST_DNS && strlen(p->host) == hlen && strncasecmp(p->host, host, hlen) == 0;
    default: /* an IP literal: the same address however it is written */
        if (kind != p->kind || parse_host(p->host, strlen(p->host), &kind, paddr, &why) != 0)
            return 0;
        return memcmp(paddr, addr, kind == HOST_V4 ? 4 : 16) == 0;
    }
}

int jb_target_allowed(const char *t, const struct jb_target_pattern *pats, size_t n)
{
    unsigned char addr[16];
    const char *colon;
    int kind, port;

    if (target(t, &kind, addr, &port, NULL, 0) != 0)
        return 0;
    colon = strrchr(t, ':');
    for (size_t i = 0; i < n; i++) {
        if (pats[i].port != 0 && pats[i].port != port)
            continue;
        if (host_matches(&pats[i], t, (size_t)(colon - t), kind, addr))
            return 1;
    }
    return 0;
}
