/* Shared by the libFuzzer targets: each tests/fuzz/fuzz_NAME.c defines
 * LLVMFuzzerTestOneInput and is built by `make fuzz` with lib/ compiled in. */
#ifndef JB_FUZZ_H
#define JB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant broke: abort so libFuzzer keeps the input as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (the parsers take C strings; an
 * embedded NUL just ends it early, as it would for a flag or a file). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
