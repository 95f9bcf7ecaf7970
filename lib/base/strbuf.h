/* A growable NUL-terminated byte string with a sticky out-of-memory flag,
 * so builders append freely and check once at the end. */
#ifndef JB_STRBUF_H
#define JB_STRBUF_H

#include <stddef.h>

struct jb_strbuf {
    char *p; /* NUL-terminated when len > 0 or after any append */
    size_t len, cap;
    size_t max; /* 0: no cap; else len + 1 (the NUL) never passes it */
    int failed; /* an allocation failed, or an append would have passed max;
                   p holds what fitted before */
    int over;   /* ... and it was max */
};

void jb_sb_add(struct jb_strbuf *sb, const void *data, size_t len);
void jb_sb_adds(struct jb_strbuf *sb, const char *s);
void jb_sb_addc(struct jb_strbuf *sb, char c);
void jb_sb_addf(struct jb_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands p over to the caller (NULL after failure, with p freed). */
char *jb_sb_take(struct jb_strbuf *sb);
/* Wipes the bytes before freeing: builders also hold secrets. */
void jb_sb_free(struct jb_strbuf *sb);

#endif
