/* Memory for secrets: locked (never swapped), guarded, wiped on free; and
 * the one wipe for secrets held anywhere else.
 * libsodium's sodium_malloc underneath; everything that holds a private
 * key, an AWS secret or a teardown token keeps it here. */
#ifndef JB_SECRET_H
#define JB_SECRET_H

#include <stddef.h>

/* Initialises libsodium (its page size and random source); safe to call
 * more than once. */
int jb_secret_init(char *err, size_t errlen);

/* NULL when out of memory (or libsodium cannot start).  jb_secret_free
 * wipes before release; NULL is ignored. */
void *jb_secret_alloc(size_t len);
void jb_secret_free(void *p);

/* Overwrites len bytes at p with zeros in a way the compiler cannot drop
 * (sodium_memzero): the one wipe for secrets held outside jb_secret_alloc
 * (a response body, a line that held a token).  p may be NULL when len is 0. */
void jb_secret_wipe(void *p, size_t len);

#endif
