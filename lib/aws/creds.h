/* AWS credentials and region, resolved the way the AWS CLI and SDKs do.
 *
 * Chain order, botocore's (first that yields credentials wins):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   2. shared files for the profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE,
 *      else "default"): the credentials file ([name]; AWS_SHARED_CREDENTIALS_FILE,
 *      else ~/.aws/credentials) with aws_access_key_id, aws_secret_access_key,
 *      aws_session_token; then credential_process from either file (execve,
 *      no shell, timeout); then those keys in the config file ([profile name]
 *      or [default]; AWS_CONFIG_FILE, else ~/.aws/config).  A profile named
 *      explicitly that is in neither file is an error.
 *   3. container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against
 *      169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
 *   4. EC2 IMDSv2, unless AWS_EC2_METADATA_DISABLED=true; endpoint from
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 (1 s
 *      connect timeout; no answer at all counts as "not on EC2")
 * A source that is configured but fails (bad JSON, non-zero exit, ...) is an
 * error naming that source (the container endpoint is tried 3 times); the chain does not quietly
 * fall through to the next one.  Secrets live in jb_secret_alloc'd memory and never appear in error
 * text. */
#ifndef JB_CREDS_H
#define JB_CREDS_H

#include <stddef.h>
#include <time.h>

#define JB_AWS_KEY_ID_MAX 129
#define JB_AWS_REGION_MAX 64
#define JB_CREDS_REFRESH_WINDOW 300 /* seconds before Expiration that get() refreshes */

struct jb_aws_creds {
    char access_key_id[JB_AWS_KEY_ID_MAX]; /* not secret: may be logged */
    char *secret_access_key;               /* jb_secret_alloc'd, NUL-terminated */
    char *session_token;                   /* jb_secret_alloc'd, or NULL */
    time_t expiration;                     /* 0 = does not expire */
    const char *source; /* static: "env", "shared-credentials-file", "shared-config-file",
                           "credential-process", "container", "imds", "static" */
};

/* Wipes and releases the secrets; leaves c zeroed. */
void jb_aws_creds_clear(struct jb_aws_creds *c);

struct jb_http_options; /* http.h */

struct jb_creds_options {
    const char *profile;                /* NULL: AWS_PROFILE, else "default" */
    long process_timeout_ms;            /* credential_process deadline; 0 = 30000 */
    const struct jb_http_options *http; /* for container/IMDS; NULL = short defaults */
    time_t (*now)(void *ctx);           /* clock for expiry checks; NULL = time() */
    void *now_ctx;
};

struct jb_creds_provider;

/* A provider running the chain above.  Nothing is resolved until the first
 * jb_creds_get.  opts may be NULL. */
int jb_creds_provider_new(const struct jb_creds_options *opts, struct jb_creds_provider **out,
                          char *err, size_t errlen);

/* A provider that always returns these credentials (token may be NULL). */
int jb_creds_provider_static(const char *access_key_id, const char *secret_access_key,
                             const char *session_token, struct jb_creds_provider **out, char *err,
                             size_t errlen);

/* Current credentials: resolves on first use, and again whenever the held
 * ones expire within JB_CREDS_REFRESH_WINDOW seconds.  *out points into the
 * provider and stays valid until the next jb_creds_get or free.  Errors:
 * JB_ERR_NOTFOUND (no source configured), JB_ERR_AUTH (a source failed or
 * gave expired credentials), JB_ERR_PARSE, JB_ERR_TIMEOUT. */
int jb_creds_get(struct jb_creds_provider *p, const struct jb_aws_creds **out, char *err,
                 size_t errlen);

void jb_creds_provider_free(struct jb_creds_provider *p);

/* The process's own provider (the chain above, default options), made on
 * first use and shared by every client that is not given one: credentials
 * are resolved once per process and reused until they near expiry, as the
 * SDKs do, so a credential_process (hundreds of ms with IAM Roles Anywhere's
 * helper), the container endpoint or IMDS runs once, not once per request.
 * Its secrets are wiped at exit (atexit); a forked child keeps a copy. */
int jb_creds_shared(struct jb_creds_provider **out, char *err, size_t errlen);

/* Region: AWS_REGION, AWS_DEFAULT_REGION, then `region` of the profile in
 * the config file.  profile NULL = AWS_PROFILE or "default".
 * JB_ERR_NOTFOUND when none is set. */
int jb_aws_region(const char *profile, char *out, size_t outlen, char *err, size_t errlen);

/* Splits a credential_process command line into argv the way botocore does
 * (shlex, POSIX rules: whitespace separates, '…' and "…" quote, backslash
 * escapes outside single quotes).  *argv is NULL-terminated; free with
 * jb_argv_free.  JB_ERR_INVALID on an unterminated quote or empty line. */
int jb_split_command(const char *line, char ***argv, char *err, size_t errlen);
void jb_argv_free(char **argv);

#endif
