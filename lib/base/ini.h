/* The INI dialect of AWS shared config and credentials files, read the way
 * botocore's RawConfigParser does: "[section]", "key = value" or
 * "key: value", keys case-insensitive, whole-line comments with '#' or ';',
 * indented lines continue the value above (nested settings, ignored here). */
#ifndef JB_INI_H
#define JB_INI_H

#include <stddef.h>

/* Finds key in section (both exact, key case-insensitive).  *val points into
 * text (not NUL-terminated), trimmed.  1 = found, 0 = not.  When a section
 * appears twice, the later value wins, as in configparser. */
int jb_ini_get(const char *text, const char *section, const char *key, const char **val,
               size_t *vallen);

/* 1 when the section header appears in text. */
int jb_ini_has_section(const char *text, const char *section);

#endif
