/* State locations (state.h): a file:// directory or an s3:// prefix parsed
 * and normalised, and where a stack's directory or prefix is. */
#include "stack/state.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "aws/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int has_dotdot(const char *path)
{
    const char *p = path;

    while ((p = strstr(p, "..")) != NULL) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
        p += 2;
    }
    return 0;
}

int jb_state_parse(const char *url, struct jb_state *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    if (url == NULL || *url == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "empty state URL");
    if (strlen(url) >= sizeof(st->url))
        return jb_err(err, errlen, JB_ERR_INVALID, "state URL too long");
    /* The URL reaches the box's timer as an argument and the lease as a
     * label: the same characters are refused here as there, up front. */
    if (jb_check_label(url, sizeof(st->url), NULL, 0) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "control characters, quotes and backslashes are not allowed");
    strcpy(st->url, url);
    if (strncmp(url, "file://", 7) == 0) {
        const char *path = url + 7;
        size_t n = strlen(path);
        if (path[0] != '/')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "'%s': a file:// URL needs an absolute path (file:///dir)", url);
        if (has_dotdot(path))
            return jb_err(err, errlen, JB_ERR_INVALID, "'%s': '..' is not allowed", url);
        while (n > 1 && path[n - 1] == '/')
            n--;
        if (n >= sizeof(st->dir))
            return jb_err(err, errlen, JB_ERR_INVALID, "state path too long");
        memcpy(st->dir, path, n);
        st->dir[n] = '\0';
        st->kind = JB_STATE_FILE;
        return 0;
    }
    if (strncmp(url, "s3://", 5) == 0) {
        struct jb_s3_url u;
        size_t pl;
        int rc = jb_s3_parse_url(url, &u, err, errlen);
        if (rc != 0)
            return rc;
        if (strlen(u.prefix) >= sizeof(st->prefix))
            return jb_err(err, errlen, JB_ERR_INVALID, "S3 prefix too long");
        strcpy(st->bucket, u.bucket);
        strcpy(st->prefix, u.prefix);
        pl = strlen(st->prefix);
        /* The canonical URL, without the trailing slash. */
        snprintf(st->url, sizeof(st->url), "s3://%s%s%.*s", st->bucket, pl ? "/" : "",
                 pl ? (int)pl - 1 : 0, st->prefix);
        st->kind = JB_STATE_S3;
        return 0;
    }
    return jb_err(err, errlen, JB_ERR_INVALID, "'%s': use file:///dir or s3://bucket/prefix", url);
}

int jb_state_default(const char *xdg, const char *home, struct jb_state *st, char *err,
                     size_t errlen)
{
    char url[PATH_MAX + 8];

    if (xdg && xdg[0] == '/')
        snprintf(url, sizeof(url), "file://%s/jumpbox", xdg);
    else if (home && home[0] == '/')
        snprintf(url, sizeof(url), "file://%s/.local/state/jumpbox", home);
    else
        return jb_err(err, errlen, JB_ERR_INVALID, "neither XDG_STATE_HOME nor HOME is set");
    return jb_state_parse(url, st, err, errlen);
}

int jb_state_names(const struct jb_state *st, const char *url)
{
    struct jb_state t;

    if (url == NULL || jb_state_parse(url, &t, NULL, 0) != 0 || t.kind != st->kind)
        return 0;
    if (t.kind == JB_STATE_FILE)
        return strcmp(t.dir, st->dir) == 0;
    return strcmp(t.bucket, st->bucket) == 0 && strcmp(t.prefix, st->prefix) == 0;
}
