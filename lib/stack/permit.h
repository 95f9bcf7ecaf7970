/* The forwarding allow-list (--permit-open): the targets a jump box may
 * forward to, which become sshd's PermitOpen (aws) or the authorized key's
 * permitopen options (local), and the function-side bound on them
 * (JUMPBOX_ALLOWED_TARGETS).
 *
 * A target is HOST:PORT: HOST a DNS name, an IPv4 address or [IPv6]; PORT
 * 1..65535 or `*` (any port, which both sshd forms accept).  No host
 * wildcard: the authorized key's permitopen takes literal hosts only, and
 * one list must mean the same on both modules.  sshd compares the host
 * exactly as the client sends it (no lookup, no case folding), so a target
 * is kept as given.  An IPv4-mapped [::ffff:a.b.c.d] is matched against
 * patterns as the IPv4 address it reaches; IPv6 forms that reach IPv4
 * through a translator or tunnel (NAT64, 6to4, Teredo, IPv4-compatible)
 * are refused, as targets and in patterns. */
#ifndef JB_PERMIT_H
#define JB_PERMIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define JB_PERMIT_MAX 16
/* "[" + 253 + "]" + ":" + 5 + NUL, rounded up. */
#define JB_TARGET_MAX 264
#define JB_TARGET_PATTERNS_MAX 32

struct jb_permit {
    char t[JB_PERMIT_MAX][JB_TARGET_MAX];
    size_t n;
};

/* One HOST:PORT; out gets it as given (it is already in sshd's form). */
int jb_parse_target(const char *s, char *out, size_t outlen, char *err, size_t errlen);

/* Parses and appends one target; a repeat is dropped, a 17th is refused. */
int jb_permit_add(struct jb_permit *p, const char *s, char *err, size_t errlen);

/* The list as a JSON array of strings (the event field and module input
 * permit_open); NULL when out of memory. */
cJSON *jb_permit_json(const struct jb_permit *p);

/* A pattern of JUMPBOX_ALLOWED_TARGETS: HOST:PORT where HOST may also be
 * `*` (any host), `*.example.com` (any DNS name under it) or a CIDR
 * (10.0.0.0/8, [fd00::/8]) that IP literals must lie in, and PORT `*`. */
struct jb_target_pattern {
    char host[JB_TARGET_MAX]; /* "*", "*.suffix", a literal, or a canonical CIDR */
    int kind;                 /* enum in permit.c */
    int port;                 /* 0: any */
};

/* Comma-separated patterns (spaces around commas allowed), at most
 * JB_TARGET_PATTERNS_MAX; *n is 0 for an empty or unset list. */
int jb_parse_target_patterns(const char *list, struct jb_target_pattern *out, size_t *n, char *err,
                             size_t errlen);

/* 1 when the (valid) target is inside one of the patterns.  A target's
 * port `*` is inside only a pattern whose port is `*`. */
int jb_target_allowed(const char *target, const struct jb_target_pattern *pats, size_t n);

#endif
