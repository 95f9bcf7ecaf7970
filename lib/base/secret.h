/* Memory for secrets: locked (never swapped), guarded, wiped on free.
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

#endif
