/* Internal to the credential chain (creds.c, the creds_*.c sources and
 * creds_parse.c): not for other modules. */
#ifndef JB_CREDS_INT_H
#define JB_CREDS_INT_H

#include "net/http.h"
#include "aws/creds.h"

#include <stddef.h>
#include <time.h>

struct jb_creds_provider {
    int is_static;
    char *profile; /* NULL: AWS_PROFILE at each resolve */
    long process_timeout_ms;
    struct jb_http_options http;
    int have_http;
    time_t (*now)(void *ctx);
    void *now_ctx;
    struct jb_aws_creds cur;
    int have;
};

/* The config and credentials files of one profile, read whole. */
struct jb_shared_files {
    const char *profile;
    char *cred, *conf; /* NULL when the file does not exist */
    size_t credlen, conflen;
    char cred_path[512], conf_path[512];
    char conf_section[140]; /* "default" or "profile NAME" */
};
int jb_shared_files_load(const char *profile, struct jb_shared_files *f, char *err, size_t errlen);
void jb_shared_files_free(struct jb_shared_files *f);
const char *jb_creds_profile_name(const char *explicit_profile, int *is_explicit);

time_t jb_creds_now(const struct jb_creds_provider *p);
/* The provider's HTTP options, else short defaults (in dflt) with this
 * connect timeout. */
const struct jb_http_options *jb_creds_http_opts(const struct jb_creds_provider *p,
                                                 struct jb_http_options *dflt, long connect_ms);
/* 1 when v is non-empty printable ASCII: safe in an HTTP header. */
int jb_creds_header_safe(const char *v, size_t len);

/* Validates and copies into out (secrets into locked memory); `what` names
 * the source in errors.  JB_ERR_AUTH on bad values. */
int jb_creds_fill(struct jb_aws_creds *out, const char *what, const char *akid, size_t akidlen,
                  const char *secret, size_t slen, const char *token, size_t tlen,
                  time_t expiration, const char *source, char *err, size_t errlen);

/* The sources, in chain order.  env and files: 1 = filled, 0 = not
 * configured (note says why), < 0 = configured but failed. */
int jb_creds_from_env(struct jb_aws_creds *out, char *err, size_t errlen);
int jb_creds_from_files(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                        size_t notelen, char *err, size_t errlen);
/* credential_process: 0 with out filled, or an error naming the source. */
int jb_creds_from_process(const char *cmdline, long timeout_ms, time_t now,
                          struct jb_aws_creds *out, char *err, size_t errlen);
/* 1 = filled, 0 = source not configured / not reachable (note says why),
 * < 0 = configured but failed. */
int jb_creds_from_container(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                            size_t notelen, char *err, size_t errlen);
int jb_creds_from_imds(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                       size_t notelen, char *err, size_t errlen);

/* The JSON every source returns (credential_process output, the container
 * endpoint, IMDS): AccessKeyId, SecretAccessKey, a token under token_key,
 * Expiration (must be after now); a "Version": 1 when want_version and a
 * "Code" other than "Success" refused.  len bytes of body, no NUL needed. */
int jb_creds_parse_json(const char *what, const char *body, size_t len, const char *token_key,
                        int want_version, time_t now, const char *source, struct jb_aws_creds *out,
                        char *err, size_t errlen);

/* RFC 3339 as AWS writes Expiration: fractional seconds, 'Z' or an offset. */
int jb_creds_parse_time(const char *s, time_t *t);

#endif
