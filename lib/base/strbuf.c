/* The growable string (strbuf.h): doubling growth, a sticky out-of-memory
 * flag, and a wipe of the old buffer when it moves (it may hold a secret). */
#include "base/strbuf.h"

#include "base/secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct jb_strbuf *sb, size_t need)
{
    size_t cap;
    char *np;

    if (sb->failed)
        return -1;
    if (sb->max && need >= sb->max) {
        sb->failed = sb->over = 1;
        return -1;
    }
    if (need > ((size_t)-1) / 2 - 1) {
        sb->failed = 1;
        return -1;
    }
    if (sb->cap > need)
        return 0;
    cap = sb->cap ? sb->cap : 64;
    while (cap <= need)
        cap *= 2;
    /* No realloc: the old block is wiped before it goes back. */
    np = malloc(cap);
    if (np == NULL) {
        sb->failed = 1;
        return -1;
    }
    if (sb->p != NULL) {
        memcpy(np, sb->p, sb->len + 1);
        jb_secret_wipe(sb->p, sb->cap);
        free(sb->p);
    }
    sb->p = np;
    sb->cap = cap;
    return 0;
}

void jb_sb_add(struct jb_strbuf *sb, const void *data, size_t len)
{
    if (grow(sb, sb->len + len) != 0)
        return;
    if (len)
        memcpy(sb->p + sb->len, data, len);
    sb->len += len;
    sb->p[sb->len] = '\0';
}

void jb_sb_adds(struct jb_strbuf *sb, const char *s)
{
    jb_sb_add(sb, s, strlen(s));
}

void jb_sb_addc(struct jb_strbuf *sb, char c)
{
    jb_sb_add(sb, &c, 1);
}

void jb_sb_addf(struct jb_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(sb, sb->len + (size_t)n) != 0) {
        sb->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *jb_sb_take(struct jb_strbuf *sb)
{
    char *p;

    if (sb->failed) {
        jb_sb_free(sb);
        return NULL;
    }
    if (sb->p == NULL)
        jb_sb_add(sb, "", 0);
    if (sb->failed) {
        jb_sb_free(sb);
        return NULL;
    }
    p = sb->p;
    memset(sb, 0, sizeof(*sb));
    return p;
}

void jb_sb_free(struct jb_strbuf *sb)
{
    if (sb->p != NULL) {
        jb_secret_wipe(sb->p, sb->cap);
        free(sb->p);
    }
    memset(sb, 0, sizeof(*sb));
}
