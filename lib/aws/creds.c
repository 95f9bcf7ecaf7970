/* The credential chain (creds.h) and the provider that caches and
 * refreshes what it gives.  One file per source, as aws-c-auth splits its
 * providers: creds_files.c (environment, shared files), creds_process.c,
 * creds_container.c, creds_imds.c; creds_parse.c checks what they return. */
#include "aws/creds.h"
#include "aws/creds_int.h"

#include "base/env.h"
#include "base/err.h"
#include "base/ini.h"
#include "base/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jb_aws_creds_clear(struct jb_aws_creds *c)
{
    if (c == NULL)
        return;
    jb_secret_free(c->secret_access_key);
    jb_secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

time_t jb_creds_now(const struct jb_creds_provider *p)
{
    return p->now ? p->now(p->now_ctx) : time(NULL);
}

const struct jb_http_options *jb_creds_http_opts(const struct jb_creds_provider *p,
                                                 struct jb_http_options *dflt, long connect_ms)
{
    if (p->have_http)
        return &p->http;
    memset(dflt, 0, sizeof(*dflt));
    dflt->connect_timeout_ms = connect_ms;
    dflt->total_timeout_ms = 5000;
    dflt->max_body = 64 << 10;
    return dflt;
}

static int resolve(struct jb_creds_provider *p, struct jb_aws_creds *out, char *err, size_t errlen)
{
    char fnote[200] = "", cnote[200] = "", inote[300] = "";
    int rc;

    if ((rc = jb_creds_from_env(out, err, errlen)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = jb_creds_from_files(p, out, fnote, sizeof(fnote), err, errlen)) != 0)
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

static struct jb_creds_provider *shared;

static void free_shared(void)
{
    jb_creds_provider_free(shared);
    shared = NULL;
}

int jb_creds_shared(struct jb_creds_provider **out, char *err, size_t errlen)
{
    int rc;

    *out = NULL;
    if (shared == NULL) {
        if ((rc = jb_creds_provider_new(NULL, &shared, err, errlen)) != 0)
            return rc;
        atexit(free_shared);
    }
    *out = shared;
    return 0;
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

    if ((v = jb_env("AWS_REGION")) != NULL)
        return check_region("AWS_REGION", v, strlen(v), out, outlen, err, errlen);
    if ((v = jb_env("AWS_DEFAULT_REGION")) != NULL)
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
