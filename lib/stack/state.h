/* Where stacks keep their lease and Terraform state: a file:// directory or
 * an s3://bucket/prefix.  Each stack owns <root>/<stack>/ and nothing else. */
#ifndef JB_STATE_H
#define JB_STATE_H

#include <limits.h>
#include <stddef.h>

enum jb_state_kind { JB_STATE_FILE = 1, JB_STATE_S3 = 2 };

struct jb_state {
    enum jb_state_kind kind;
    char url[PATH_MAX + 8];
    char dir[PATH_MAX]; /* file: absolute directory */
    char bucket[64];    /* s3 */
    char prefix[1024];  /* s3: "" or "a/b/": never a leading '/', always a trailing one */
};

/* Parses file:///abs/dir or s3://bucket[/prefix]; no control characters,
 * quotes or backslashes anywhere. */
int jb_state_parse(const char *url, struct jb_state *st, char *err, size_t errlen);

/* 1 when url (a jumpbox:state tag, say) names this state, however spelt. */
int jb_state_names(const struct jb_state *st, const char *url);

/* file://<xdg>/jumpbox, else file://<home>/.local/state/jumpbox: xdg and
 * home are the settings XDG_STATE_HOME and HOME (stack/settings). */
int jb_state_default(const char *xdg, const char *home, struct jb_state *st, char *err,
                     size_t errlen);

#endif
