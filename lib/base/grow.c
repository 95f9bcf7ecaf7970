/* Doubling growth for arrays (grow.h). */
#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *jb_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *na;

    if (need <= *cap)
        return arr;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (elem == 0 || ncap > SIZE_MAX / elem || (na = realloc(arr, ncap * elem)) == NULL)
        return NULL;
    *cap = ncap;
    return na;
}
