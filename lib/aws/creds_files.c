/* The environment and shared-files sources: AWS_ACCESS_KEY_ID and friends,
 * then the profile's keys or credential_process in ~/.aws/credentials and
 * ~/.aws/config (their paths and the profile's name are also what
 * jb_aws_region reads). */
#include "aws/creds_int.h"

#include "base/env.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/ini.h"
#include "base/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX (1u << 20)

int jb_creds_from_env(struct jb_aws_creds *out, char *err, size_t errlen)
{
    const char *a = jb_env("AWS_ACCESS_KEY_ID"), *s = jb_env("AWS_SECRET_ACCESS_KEY");
    const char *t = jb_env("AWS_SESSION_TOKEN");

    if (a == NULL && s == NULL)
        return 0;
    if (a == NULL || s == NULL)
        return jb_err(err, errlen, JB_ERR_AUTH, "environment: %s is set but %s is not",
                      a ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                      a ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (jb_creds_fill(out, "environment", a, strlen(a), s, strlen(s), t, t ? strlen(t) : 0, 0,
                      "env", err, errlen) != 0)
        return JB_ERR_AUTH;
    return 1;
}

const char *jb_creds_profile_name(const char *explicit_profile, int *is_explicit)
{
    const char *p = explicit_profile;

    if (p == NULL || p[0] == '\0')
        p = jb_env("AWS_PROFILE");
    if (p == NULL)
        p = jb_env("AWS_DEFAULT_PROFILE");
    *is_explicit = p != NULL;
    return p ? p : "default";
}

/* Reads the config or credentials file; *text NULL when there is none. */
static int load_shared(const char *var, const char *name, char **text, size_t *len, char *path,
                       size_t pathlen, char *err, size_t errlen)
{
    const char *v = jb_env(var), *home = jb_env("HOME");
    int rc;

    *text = NULL;
    *len = 0;
    if (v != NULL && strncmp(v, "~/", 2) == 0 && home != NULL)
        rc = snprintf(path, pathlen, "%s/%s", home, v + 2);
    else if (v != NULL)
        rc = snprintf(path, pathlen, "%s", v);
    else if (home != NULL)
        rc = snprintf(path, pathlen, "%s/.aws/%s", home, name);
    else
        return 0;
    if (rc < 0 || (size_t)rc >= pathlen)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: path is too long", var);
    /* AWS_CONFIG_FILE=/dev/null is the usual way to say "no file", as the
     * AWS CLI reads it: empty. */
    {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
            return 0;
    }
    rc = jb_file_read(path, FILE_MAX, text, len, err, errlen);
    if (rc == JB_ERR_NOTFOUND)
        return 0;
    return rc;
}

static void wipe_text(char *text, size_t len)
{
    if (text != NULL) {
        jb_secret_wipe(text, len);
        free(text);
    }
}

void jb_shared_files_free(struct jb_shared_files *f)
{
    wipe_text(f->cred, f->credlen);
    wipe_text(f->conf, f->conflen);
    memset(f, 0, sizeof(*f));
}

int jb_shared_files_load(const char *profile, struct jb_shared_files *f, char *err, size_t errlen)
{
    int rc;

    memset(f, 0, sizeof(*f));
    f->profile = profile;
    if ((rc = load_shared("AWS_SHARED_CREDENTIALS_FILE", "credentials", &f->cred, &f->credlen,
                          f->cred_path, sizeof(f->cred_path), err, errlen)) != 0 ||
        (rc = load_shared("AWS_CONFIG_FILE", "config", &f->conf, &f->conflen, f->conf_path,
                          sizeof(f->conf_path), err, errlen)) != 0) {
        jb_shared_files_free(f);
        return rc;
    }
    if (strcmp(profile, "default") == 0)
        snprintf(f->conf_section, sizeof(f->conf_section), "default");
    else
        snprintf(f->conf_section, sizeof(f->conf_section), "profile %s", profile);
    if (f->conf != NULL && strcmp(profile, "default") == 0 &&
        !jb_ini_has_section(f->conf, "default") && jb_ini_has_section(f->conf, "profile default"))
        snprintf(f->conf_section, sizeof(f->conf_section), "profile default");
    return 0;
}

static int has_profile(const struct jb_shared_files *f)
{
    return (f->cred != NULL && jb_ini_has_section(f->cred, f->profile)) ||
           (f->conf != NULL && jb_ini_has_section(f->conf, f->conf_section));
}

/* Static keys from one file's section: 1 found, 0 none, <0 error. */
static int keys_from(const char *text, const char *path, const char *section, const char *source,
                     struct jb_aws_creds *out, char *err, size_t errlen)
{
    const char *a, *s, *t = NULL;
    size_t al, sl, tl = 0;
    char what[600];

    if (text == NULL || !jb_ini_get(text, section, "aws_access_key_id", &a, &al))
        return 0;
    snprintf(what, sizeof(what), "%.500s [%.60s]", path, section);
    if (!jb_ini_get(text, section, "aws_secret_access_key", &s, &sl))
        return jb_err(err, errlen, JB_ERR_AUTH,
                      "%s: aws_access_key_id is set but aws_secret_access_key is not", what);
    jb_ini_get(text, section, "aws_session_token", &t, &tl);
    if (jb_creds_fill(out, what, a, al, s, sl, t, tl, 0, source, err, errlen) != 0)
        return JB_ERR_AUTH;
    return 1;
}

int jb_creds_from_files(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                        size_t notelen, char *err, size_t errlen)
{
    struct jb_shared_files f;
    const char *profile, *cmd = NULL;
    size_t cmdlen = 0;
    char *cmdz = NULL;
    int is_explicit, rc;

    profile = jb_creds_profile_name(p->profile, &is_explicit);
    if ((rc = jb_shared_files_load(profile, &f, err, errlen)) != 0)
        return rc;
    if (!has_profile(&f)) {
        if (is_explicit)
            rc = jb_err(err, errlen, JB_ERR_NOTFOUND,
                        "profile '%.100s' is in neither %.200s nor %.200s", profile,
                        f.conf_path[0] ? f.conf_path : "~/.aws/config",
                        f.cred_path[0] ? f.cred_path : "~/.aws/credentials");
        else
            snprintf(note, notelen, "no [default] profile");
        goto out;
    }
    if ((rc = keys_from(f.cred, f.cred_path, profile, "shared-credentials-file", out, err,
                        errlen)) != 0)
        goto out;
    if ((f.cred != NULL && jb_ini_get(f.cred, profile, "credential_process", &cmd, &cmdlen)) ||
        (f.conf != NULL &&
         jb_ini_get(f.conf, f.conf_section, "credential_process", &cmd, &cmdlen))) {
        if ((cmdz = strndup(cmd, cmdlen)) == NULL) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "credential_process: out of memory");
            goto out;
        }
        rc = jb_creds_from_process(cmdz, p->process_timeout_ms, jb_creds_now(p), out, err, errlen);
        rc = rc == 0 ? 1 : rc;
        goto out;
    }
    rc = keys_from(f.conf, f.conf_path, f.conf_section, "shared-config-file", out, err, errlen);
    if (rc == 0)
        snprintf(note, notelen, "profile '%.100s' has no keys", profile);
out:
    if (cmdz != NULL) {
        jb_secret_wipe(cmdz, cmdlen);
        free(cmdz);
    }
    jb_shared_files_free(&f);
    return rc;
}
