/* Growing an array by doubling: the one realloc loop, with the overflow
 * check every hand-written copy left out. */
#ifndef JB_GROW_H
#define JB_GROW_H

#include <stddef.h>

/* arr (NULL, or *cap elements of elem bytes) made to hold at least need
 * elements: *cap doubles from first (when 0) until it does.  Returns the
 * array to use from now on (arr itself when it already held need); NULL
 * when out of memory or the size overflows, and then arr and *cap are as
 * they were and still the caller's to free. */
void *jb_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t first);

#endif
