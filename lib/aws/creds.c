/* The credential chain and the provider that refreshes it.  The sources
 * that talk to other programs (credential_process, container endpoint,
 * IMDS) live in creds_fetch.c. */
#include "aws/creds.h"
#include "aws/creds_int.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/ini.h"
#include "base/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#define FILE_MAX (1u << 20)

void jb_aws_creds_clear(struct jb_aws_creds *c)
{
    if (c == NULL)
        return;
    jb_secret_free(c->secret_access_key);
    jb_secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

static int secret_dup(char **dst, const char *src, size_t len)
{
    if ((*dst = jb_secret_alloc(len + 1)) == NULL)
        return -1;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    return 0;
}

int jb_creds_fill(struct jb_aws_creds *out, const char *what, const char *akid, size_t akidlen,
                  const char *secret, size_t slen, const char *token, size_t tlen,
                  time_t expiration, const char *source, char *err, size_t errlen)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    if (akidlen < 4 || akidlen >= JB_AWS_KEY_ID_MAX)
        return jb_err(err, errlen, JB_ERR_AUTH, "%s: access key id has a bad length", what);
    for (i = 0; i < akidlen; i++)
        if (!isalnum((unsigned char)akid[i]))
            return jb_err(err, errlen, JB_ERR_AUTH, "%s: access key id holds invalid characters",
                          what);
    if (slen == 0)
        return jb_err(err, errlen, JB_ERR_AUTH, "%s: secret access key is empty", what);
    for (i = 0; i < slen; i++)
        if ((unsigned char)secret[i] <= ' ' || (unsigned char)secret[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_AUTH,
                          "%s: secret access key holds invalid characters", what);
    for (i = 0; token != NULL && i < tlen; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return jb_err(err, errlen, JB_ERR_AUTH, "%s: session token holds invalid characters",
                          what);
    memcpy(out->access_key_id, akid, akidlen);
    out->access_key_id[akidlen] = '\0';
    if (jb_secret_init(err, errlen) != 0 ||
        secret_dup(&out->secret_access_key, secret, slen) != 0 ||
        (token != NULL && tlen > 0 && secret_dup(&out->session_token, token, tlen) != 0)) {
        jb_aws_creds_clear(out);
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of locked memory", what);
    }
    out->expiration = expiration;
    out->source = source;
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

static int from_env(struct jb_aws_creds *out, char *err, size_t errlen)
{
    const char *a = env("AWS_ACCESS_KEY_ID"), *s = env("AWS_SECRET_ACCESS_KEY");
    const char *t = env("AWS_SESSION_TOKEN");

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
        p = env("AWS_PROFILE");
    if (p == NULL)
        p = env("AWS_DEFAULT_PROFILE");
    *is_explicit = p != NULL;
    return p ? p : "default";
}

/* Reads the config or credentials file; *text NULL when there is none. */
static int load_shared(const char *var, const char *name, char **text, size_t *len, char *path,
                       size_t pathlen, char *err, size_t errlen)
{
    const char *v = env(var), *home = env("HOME");
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
        OPENSSL_cleanse(text, len);
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

int jb_shared_files_has_profile(const struct jb_shared_files *f)
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

static int from_files(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
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
    if (!jb_shared_files_has_profile(&f)) {
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
        OPENSSL_cleanse(cmdz, cmdlen);
        free(cmdz);
    }
    jb_shared_files_free(&f);
    return rc;
}

time_t jb_creds_now(const struct jb_creds_provider *p)
{
    return p->now ? p->now(p->now_ctx) : time(NULL);
}

static int resolve(struct jb_creds_provider *p, struct jb_aws_creds *out, char *err, size_t errlen)
{
    char fnote[200] = "", cnote[200] = "", inote[300] = "";
    int rc;

    if ((rc = from_env(out, err, errlen)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = from_files(p, out, fnote, sizeof(fnote), err, errlen)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = jb_creds_from_container(p, out, cnote, sizeof(cnote), err, errlen)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = jb_creds_from_imds(p, out, inote, sizeof(inote), err, errlen)) != 0)
        return rc < 0 ? rc : 0;
    return jb_err(err, errlen, JB_ERR_NOTFOUND,
                  "no AWS credentials found: environment (AWS_ACCESS_KEY_ID not set), "
                  "shared files (%s), container (%s), IMDS (%s)",
                  fnote[0] ? fnote : "none", cnote[0] ? cnote : "not set",
                  inote[0] ? inote : "disabled");
}

int jb_creds_provider_new(const struct jb_creds_options *opts, struct jb_creds_provider **out,
                          char *err, size_t errlen)
{
    struct jb_creds_provider *p;

    *out = NULL;
    if (jb_secret_init(err, errlen) != 0)
        return JB_ERR_CRYPTO; /* locked memory for secrets needs libsodium */
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "credentials: out of memory");
    if (opts != NULL) {
        if (opts->profile != NULL && (p->profile = strdup(opts->profile)) == NULL) {
            free(p);
            return jb_err(err, errlen, JB_ERR_NOMEM, "credentials: out of memory");
        }
        p->process_timeout_ms = opts->process_timeout_ms;
        if (opts->http != NULL) {
            p->http = *opts->http;
            p->have_http = 1;
        }
        p->now = opts->now;
        p->now_ctx = opts->now_ctx;
    }
    *out = p;
    return 0;
}

int jb_creds_provider_static(const char *access_key_id, const char *secret_access_key,
                             const char *session_token, struct jb_creds_provider **out, char *err,
                             size_t errlen)
{
    struct jb_creds_provider *p;
    int rc;

    *out = NULL;
    if (access_key_id == NULL || secret_access_key == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "credentials: key id and secret are required");
    if ((rc = jb_creds_provider_new(NULL, &p, err, errlen)) != 0)
        return rc;
    if ((rc = jb_creds_fill(&p->cur, "static credentials", access_key_id, strlen(access_key_id),
                            secret_access_key, strlen(secret_access_key), session_token,
                            session_token ? strlen(session_token) : 0, 0, "static", err, errlen)) !=
        0) {
        jb_creds_provider_free(p);
        return rc;
    }
    p->is_static = p->have = 1;
    *out = p;
    return 0;
}

int jb_creds_get(struct jb_creds_provider *p, const struct jb_aws_creds **out, char *err,
                 size_t errlen)
{
    struct jb_aws_creds fresh;
    time_t now = jb_creds_now(p);
    int rc;

    *out = NULL;
    if (p->have && (p->is_static || p->cur.expiration == 0 ||
                    p->cur.expiration - now > JB_CREDS_REFRESH_WINDOW)) {
        *out = &p->cur;
        return 0;
    }
    memset(&fresh, 0, sizeof(fresh));
    if ((rc = resolve(p, &fresh, err, errlen)) != 0) {
        jb_aws_creds_clear(&fresh);
        /* A failed early refresh is not fatal while the old ones still hold. */
        if (p->have && p->cur.expiration > now) {
            *out = &p->cur;
            return 0;
        }
        return rc;
    }
    jb_aws_creds_clear(&p->cur);
    p->cur = fresh;
    p->have = 1;
    *out = &p->cur;
    return 0;
}

void jb_creds_provider_free(struct jb_creds_provider *p)
{
    if (p == NULL)
        return;
    jb_aws_creds_clear(&p->cur);
    free(p->profile);
    free(p);
}

static int check_region(const char *what, const char *v, size_t len, char *out, size_t outlen,
                        char *err, size_t errlen)
{
    size_t i;

    if (len == 0 || len >= outlen || len >= JB_AWS_REGION_MAX)
        return jb_err(err, errlen, JB_ERR_INVALID, "%s: region has a bad length", what);
    for (i = 0; i < len; i++)
        if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && v[i] != '-')
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: region '%.*s' is invalid", what,
                          (int)len, v);
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

int jb_aws_region(const char *profile, char *out, size_t outlen, char *err, size_t errlen)
{
    struct jb_shared_files f;
    const char *v, *name;
    size_t vl;
    char what[600];
    int is_explicit, rc;

    if ((v = env("AWS_REGION")) != NULL)
        return check_region("AWS_REGION", v, strlen(v), out, outlen, err, errlen);
    if ((v = env("AWS_DEFAULT_REGION")) != NULL)
        return check_region("AWS_DEFAULT_REGION", v, strlen(v), out, outlen, err, errlen);
    name = jb_creds_profile_name(profile, &is_explicit);
    if ((rc = jb_shared_files_load(name, &f, err, errlen)) != 0)
        return rc;
    if (f.conf != NULL && jb_ini_get(f.conf, f.conf_section, "region", &v, &vl)) {
        snprintf(what, sizeof(what), "%.500s [%.60s]", f.conf_path, f.conf_section);
        rc = check_region(what, v, vl, out, outlen, err, errlen);
    } else {
        rc = jb_err(err, errlen, JB_ERR_NOTFOUND,
                    "no AWS region: set AWS_REGION or region in profile '%.100s'", name);
    }
    jb_shared_files_free(&f);
    return rc;
}

int jb_split_command(const char *line, char ***argv, char *err, size_t errlen)
{
    size_t cap = 8, n = 0, len = strlen(line), i = 0, tl;
    char **av = calloc(cap, sizeof(*av)), *tok = malloc(len + 1);
    int in_tok;

    *argv = NULL;
    if (av == NULL || tok == NULL)
        goto nomem;
    while (i < len) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len)
            break;
        tl = 0;
        in_tok = 1;
        while (i < len && in_tok) {
            char c = line[i];
            if (isspace((unsigned char)c)) {
                in_tok = 0;
            } else if (c == '\'') {
                const char *e = strchr(line + i + 1, '\'');
                if (e == NULL)
                    goto unterminated;
                memcpy(tok + tl, line + i + 1, (size_t)(e - line - i - 1));
                tl += (size_t)(e - line - i - 1);
                i = (size_t)(e - line) + 1;
            } else if (c == '"') {
                for (i++; i < len && line[i] != '"'; i++) {
                    /* In double quotes a backslash escapes only '"' and '\'. */
                    if (line[i] == '\\' && i + 1 < len &&
                        (line[i + 1] == '"' || line[i + 1] == '\\'))
                        i++;
                    tok[tl++] = line[i];
                }
                if (i >= len)
                    goto unterminated;
                i++;
            } else if (c == '\\') {
                if (i + 1 >= len)
                    goto unterminated;
                tok[tl++] = line[i + 1];
                i += 2;
            } else {
                tok[tl++] = c;
                i++;
            }
        }
        if (n + 2 > cap) {
            char **na = realloc(av, cap * 2 * sizeof(*av));
            if (na == NULL)
                goto nomem;
            av = na;
            cap *= 2;
        }
        if ((av[n] = strndup(tok, tl)) == NULL)
            goto nomem;
        av[++n] = NULL;
    }
    free(tok);
    if (n == 0) {
        jb_argv_free(av);
        return jb_err(err, errlen, JB_ERR_INVALID, "credential_process: command is empty");
    }
    *argv = av;
    return 0;
unterminated:
    free(tok);
    jb_argv_free(av);
    return jb_err(err, errlen, JB_ERR_INVALID,
                  "credential_process: unterminated quote or trailing backslash");
nomem:
    free(tok);
    jb_argv_free(av);
    return jb_err(err, errlen, JB_ERR_NOMEM, "credential_process: out of memory");
}

void jb_argv_free(char **argv)
{
    size_t i;

    if (argv == NULL)
        return;
    for (i = 0; argv[i] != NULL; i++)
        free(argv[i]);
    free(argv);
}
