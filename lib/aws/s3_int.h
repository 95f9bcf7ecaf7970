/* Internal to s3.c and s3_purge.c: not for other modules. */
#ifndef JB_S3_INT_H
#define JB_S3_INT_H

#include <stddef.h>

#define WHAT_MAX 160 /* "s3://bucket/key" as shown in errors (cut) */

/* "s3://bucket/key" for an error message, cut to outlen. */
void jb_s3_what(char *out, size_t outlen, const char *bucket, const char *key);

#endif
