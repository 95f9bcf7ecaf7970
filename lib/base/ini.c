/* The AWS config/credentials INI reader (ini.h), botocore's dialect: a
 * file is read whole, then sections and keys are looked up in it. */
#include "base/ini.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct line {
    const char *p;
    size_t len;
};

static int next_line(const char **cur, struct line *l)
{
    const char *s = *cur, *e;

    if (*s == '\0')
        return 0;
    e = strchr(s, '\n');
    l->p = s;
    l->len = e ? (size_t)(e - s) : strlen(s);
    *cur = e ? e + 1 : s + l->len;
    if (l->len && l->p[l->len - 1] == '\r')
        l->len--;
    return 1;
}

static void trim(const char **p, size_t *len)
{
    while (*len && isspace((unsigned char)**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*p)[*len - 1]))
        (*len)--;
}

/* 1 when l is "[name]" for this section (blanks inside the brackets are
 * trimmed, as botocore strips "profile  x"). -1 for another section, 0 for
 * no section header. */
static int section_line(struct line l, const char *section)
{
    const char *p = l.p;
    size_t len = l.len;

    trim(&p, &len);
    if (len < 2 || p[0] != '[' || p[len - 1] != ']')
        return 0;
    p++;
    len -= 2;
    trim(&p, &len);
    return (len == strlen(section) && memcmp(p, section, len) == 0) ? 1 : -1;
}

int jb_ini_get(const char *text, const char *section, const char *key, const char **val,
               size_t *vallen)
{
    const char *cur = text;
    struct line l;
    int in = 0, found = 0;
    size_t klen = strlen(key);

    while (next_line(&cur, &l)) {
        const char *p = l.p, *sep;
        size_t len = l.len, nlen;
        int s = section_line(l, section);

        if (s != 0) {
            in = s == 1;
            continue;
        }
        if (!in || len == 0 || isspace((unsigned char)p[0]))
            continue; /* blank, or a nested/continuation line */
        if (p[0] == '#' || p[0] == ';')
            continue;
        sep = memchr(p, '=', len);
        {
            const char *colon = memchr(p, ':', len);
            if (colon && (!sep || colon < sep))
                sep = colon;
        }
        if (sep == NULL)
            continue;
        nlen = (size_t)(sep - p);
        while (nlen && isspace((unsigned char)p[nlen - 1]))
            nlen--;
        if (nlen != klen || strncasecmp(p, key, klen) != 0)
            continue;
        *val = sep + 1;
        *vallen = len - (size_t)(sep + 1 - p);
        trim(val, vallen);
        found = 1;
    }
    return found;
}

int jb_ini_has_section(const char *text, const char *section)
{
    const char *cur = text;
    struct line l;

    while (next_line(&cur, &l))
        if (section_line(l, section) == 1)
            return 1;
    return 0;
}
