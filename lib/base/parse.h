/* Validation of values that come from outside: flags, events, files.
 * Each returns JB_ERR_INVALID with a detail naming what is wrong; the caller
 * prefixes the field name. */
#ifndef JB_PARSE_H
#define JB_PARSE_H

#include <stddef.h>
#include <time.h>

#define JB_STACK_ID_MAX 40
#define JB_CIDR_MAX 50    /* "ffff:...:ffff/128" plus NUL */
#define JB_RFC3339_LEN 21 /* "2026-11-23T15:07:29Z" plus NUL */

/* "90s", "10m", "2h", "1h30m", "45" (seconds).  Result in seconds, > 0. */
int jb_parse_duration(const char *s, long *secs, char *err, size_t errlen);

/* [a-z0-9-]{1,40}, not starting or ending with '-', and not "audit" (audit.h). */
int jb_check_stack_id(const char *s, char *err, size_t errlen);

/* IPv4 or IPv6 CIDR with no host bits set; out gets the canonical text. */
int jb_parse_cidr(const char *s, char *out, size_t outlen, char *err, size_t errlen);

/* True when CIDR inner lies inside CIDR outer (both already valid). */
int jb_cidr_within(const char *inner, const char *outer);

/* UTC timestamps "YYYY-MM-DDTHH:MM:SSZ". */
void jb_format_rfc3339(time_t t, char out[JB_RFC3339_LEN]);
int jb_parse_rfc3339(const char *s, time_t *t, char *err, size_t errlen);

/* A printable, single-line, bounded text (requester, comment). */
int jb_check_label(const char *s, size_t max, char *err, size_t errlen);

#endif
