/* Credential sources that ask another program: credential_process, the
 * container credentials endpoint and EC2 IMDSv2. */
#include "aws/creds_int.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/secret.h"
#include "base/parse.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

extern char **environ;

#define PROCESS_OUT_MAX (64u << 10)
#define DEF_PROCESS_MS 30000L
#define IMDS_TTL "21600"

int jb_creds_parse_time(const char *s, time_t *t)
{
    struct tm tm = {0};
    int n = 0, oh = 0, om = 0;
    long off = 0;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) &&
               strlen(p) == 6 && oh < 24 && om < 60) {
        off = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
    } else {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = timegm(&tm) - off;
    return 0;
}

/* cJSON copies strings into malloc'd memory: wipe them before release. */
static void json_wipe_delete(cJSON *j)
{
    cJSON *c;

    if (j == NULL)
        return;
    for (c = j->child; c != NULL; c = c->next) {
        if (cJSON_IsString(c) && c->valuestring != NULL)
            OPENSSL_cleanse(c->valuestring, strlen(c->valuestring));
    }
    cJSON_Delete(j);
}

int jb_creds_parse_json(const char *what, const char *body, size_t len, const char *token_key,
                        int want_version, time_t now, const char *source, struct jb_aws_creds *out,
                        char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *a, *s, *t, *e, *v;
    time_t exp = 0;
    char when[JB_RFC3339_LEN];
    int rc;

    if (!cJSON_IsObject(j)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: answer is not a JSON object", what);
        goto out;
    }
    if (want_version) {
        v = cJSON_GetObjectItemCaseSensitive(j, "Version");
        if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: Version is missing or not 1", what);
            goto out;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "Code");
    if (v != NULL && (!cJSON_IsString(v) || strcmp(v->valuestring, "Success") != 0)) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "%s: Code is '%.60s', not Success", what,
                    cJSON_IsString(v) ? v->valuestring : "?");
        goto out;
    }
    a = cJSON_GetObjectItemCaseSensitive(j, "AccessKeyId");
    s = cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey");
    t = cJSON_GetObjectItemCaseSensitive(j, token_key);
    e = cJSON_GetObjectItemCaseSensitive(j, "Expiration");
    if (!cJSON_IsString(a) || !cJSON_IsString(s)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: %s is missing or not a string", what,
                    cJSON_IsString(a) ? "SecretAccessKey" : "AccessKeyId");
        goto out;
    }
    if (t != NULL && !cJSON_IsString(t) && !cJSON_IsNull(t)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: %s is not a string", what, token_key);
        goto out;
    }
    if (e != NULL && !cJSON_IsNull(e)) {
        if (!cJSON_IsString(e) || jb_creds_parse_time(e->valuestring, &exp) != 0) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "%s: Expiration is not an RFC 3339 time", what);
            goto out;
        }
        if (exp <= now) {
            jb_format_rfc3339(exp, when);
            rc = jb_err(err, errlen, JB_ERR_AUTH, "%s: credentials expired at %s", what, when);
            goto out;
        }
    }
    rc = jb_creds_fill(out, what, a->valuestring, strlen(a->valuestring), s->valuestring,
                       strlen(s->valuestring), cJSON_IsString(t) ? t->valuestring : NULL,
                       cJSON_IsString(t) ? strlen(t->valuestring) : 0, exp, source, err, errlen);
out:
    json_wipe_delete(j);
    return rc;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* argv[0] as execve needs it: a path, found on PATH when it has no '/'. */
static int find_program(const char *name, char *out, size_t outlen)
{
    const char *path = getenv("PATH"), *p, *e;

    if (strchr(name, '/') != NULL)
        return snprintf(out, outlen, "%s", name) < (int)outlen ? 0 : -1;
    if (path == NULL || path[0] == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p; p = *e ? e + 1 : e) {
        e = p + strcspn(p, ":");
        if (e == p)
            continue;
        if (snprintf(out, outlen, "%.*s/%s", (int)(e - p), p, name) >= (int)outlen)
            continue;
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

int jb_creds_from_process(const char *cmdline, long timeout_ms, time_t now,
                          struct jb_aws_creds *out, char *err, size_t errlen)
{
    char **argv = NULL, prog[1024], *buf = NULL, name[80];
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0, child_errno = 0, rc;
    size_t len = 0;
    pid_t pid = -1;
    struct timespec t0;

    if (timeout_ms <= 0)
        timeout_ms = DEF_PROCESS_MS;
    if ((rc = jb_split_command(cmdline, &argv, err, errlen)) != 0)
        return rc;
    /* Errors name the program only: arguments may carry secrets. */
    snprintf(name, sizeof(name), "%s", strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]);
    if (find_program(argv[0], prog, sizeof(prog)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "credential_process: '%s' is not on PATH", name);
        goto out;
    }
    if ((buf = jb_secret_alloc(PROCESS_OUT_MAX + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "credential_process: out of locked memory");
        goto out;
    }
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "credential_process: pipe");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((pid = fork()) < 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "credential_process: fork");
        goto out;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0)
            _exit(126);
        /* Its environment is ours, like the AWS CLI: it may need a profile. */
        execve(prog, argv, environ);
        child_errno = errno;
        if (write(errp[1], &child_errno, sizeof(child_errno)) < 0)
            _exit(127);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    for (;;) {
        long left = timeout_ms - ms_since(&t0);
        struct pollfd pfd = {outp[0], POLLIN, 0};
        ssize_t n;
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
            rc = jb_err(err, errlen, JB_ERR_TIMEOUT,
                        "credential_process: '%s' gave no answer within %ld ms", name, timeout_ms);
            goto out;
        }
        if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
            if (errno == EINTR)
                continue;
            rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "credential_process: poll");
            goto out;
        }
        if (pfd.revents == 0)
            continue;
        n = read(outp[0], buf + len, PROCESS_OUT_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "credential_process: read");
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len >= PROCESS_OUT_MAX) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
            rc = jb_err(err, errlen, JB_ERR_PARSE,
                        "credential_process: '%s' printed more than %u bytes", name,
                        PROCESS_OUT_MAX);
            goto out;
        }
    }
    buf[len] = '\0';
    /* stdout is closed; the exit follows, bounded by the same deadline. */
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "credential_process: waitpid");
            goto out;
        }
        if (ms_since(&t0) >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
            rc = jb_err(err, errlen, JB_ERR_TIMEOUT,
                        "credential_process: '%s' did not exit within %ld ms", name, timeout_ms);
            goto out;
        }
        usleep(10000);
    }
    pid = -1;
    if (read(errp[0], &child_errno, sizeof(child_errno)) == (ssize_t)sizeof(child_errno)) {
        errno = child_errno;
        rc = jb_err_errno(err, errlen, JB_ERR_AUTH, "credential_process: cannot run '%s'", name);
        goto out;
    }
    if (WIFSIGNALED(status)) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "credential_process: '%s' was killed by signal %d",
                    name, WTERMSIG(status));
        goto out;
    }
    if (WEXITSTATUS(status) != 0) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "credential_process: '%s' exited with status %d",
                    name, WEXITSTATUS(status));
        goto out;
    }
    {
        char what[120];
        snprintf(what, sizeof(what), "credential_process '%s'", name);
        rc = jb_creds_parse_json(what, buf, len, "SessionToken", 1, now, "credential-process", out,
                                 err, errlen);
    }
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    jb_secret_free(buf);
    jb_argv_free(argv);
    return rc;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* The container endpoint over plain http must stay on this host or the
 * ECS/EKS agent: a token must never leave for anywhere else. */
static int container_host_ok(const char *url)
{
    static const char *const ok[] = {"127.",          "localhost",      "[::1]",
                                     "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"};
    const char *h;
    size_t i, hl;

    if (strncmp(url, "https://", 8) == 0)
        return 1;
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    h = url + 7;
    hl = strcspn(h, "/?#");
    for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        size_t n = strlen(ok[i]);
        if (hl < n || strncasecmp(h, ok[i], n) != 0)
            continue;
        if (ok[i][n - 1] == '.') /* 127.0.0.0/8 */
            return 1;
        if (h[n] == ':' || h[n] == '/' || h[n] == '\0' || h[n] == '?')
            return 1;
    }
    return 0;
}

static const struct jb_http_options *http_opts(const struct jb_creds_provider *p,
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

static int header_safe(const char *v, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
            return 0;
    return len > 0;
}

int jb_creds_from_container(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                            size_t notelen, char *err, size_t errlen)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tokfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tokenv = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct jb_http_options dflt;
    struct jb_http_response resp = {0};
    struct jb_http_request req = {0};
    struct jb_kv hdr;
    char url[1024], *token = NULL, *filetok = NULL;
    size_t toklen = 0, filelen = 0;
    int rc, attempt;

    (void)note;
    (void)notelen;
    if (rel == NULL && full == NULL)
        return 0;
    if (rel != NULL) {
        if (rel[0] != '/')
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
        if (snprintf(url, sizeof(url), "http://169.254.170.2%s", rel) >= (int)sizeof(url))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
    } else {
        if (!container_host_ok(full))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI: over http the host must be "
                          "loopback or the container agent");
        if (snprintf(url, sizeof(url), "%s", full) >= (int)sizeof(url))
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
    }
    if (tokfile != NULL) {
        /* Read at every fetch: the agent rotates the file. */
        if ((rc = jb_file_read(tokfile, 16384, &filetok, &filelen, err, errlen)) != 0)
            return jb_err(err, errlen, rc == JB_ERR_NOTFOUND ? JB_ERR_AUTH : rc,
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read %.300s", tokfile);
        toklen = filelen;
        while (toklen && isspace((unsigned char)filetok[toklen - 1]))
            toklen--;
        token = filetok;
    } else if (tokenv != NULL) {
        token = (char *)tokenv;
        toklen = strlen(tokenv);
    }
    if (token != NULL && !header_safe(token, toklen)) {
        rc = jb_err(err, errlen, JB_ERR_INVALID,
                    "container authorization token holds control characters or is empty");
        goto out;
    }
    if (token != NULL) {
        if (filetok != NULL)
            filetok[toklen] = '\0';
        hdr = (struct jb_kv){"Authorization", token};
        req.headers = &hdr;
        req.nheaders = 1;
    }
    req.method = "GET";
    req.url = url;
    /* The agent can be briefly unavailable: a few tries, never endless. */
    for (attempt = 1;; attempt++) {
        jb_http_response_free(&resp);
        rc = jb_http_do(&req, http_opts(p, &dflt, 2000), &resp, err, errlen);
        if ((rc == 0 && resp.status < 500) || attempt >= 3)
            break;
        usleep(100000u * (unsigned)attempt);
    }
    if (rc != 0) {
        char detail[JB_ERRLEN];
        snprintf(detail, sizeof(detail), "%s", err ? err : "");
        rc = jb_err(err, errlen, rc, "container credentials endpoint: %s", detail);
        goto out;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "container credentials endpoint answered HTTP %ld",
                    resp.status);
        goto out;
    }
    rc = jb_creds_parse_json("container credentials endpoint", resp.body, resp.bodylen, "Token", 0,
                             jb_creds_now(p), "container", out, err, errlen);
    rc = rc == 0 ? 1 : rc;
out:
    if (filetok != NULL) {
        OPENSSL_cleanse(filetok, filelen);
        free(filetok);
    }
    jb_http_response_free(&resp);
    return rc;
}

static int imds_get(const char *base, const char *path, const char *method, const char *hname,
                    const char *hval, const struct jb_http_options *o,
                    struct jb_http_response *resp, char *err, size_t errlen)
{
    struct jb_http_request req = {0};
    struct jb_kv h = {hname, hval};
    char url[1024];

    if (snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url))
        return jb_err(err, errlen, JB_ERR_INVALID, "IMDS: URL is too long");
    req.method = method;
    req.url = url;
    req.headers = &h;
    req.nheaders = 1;
    return jb_http_do(&req, o, resp, err, errlen);
}

int jb_creds_from_imds(const struct jb_creds_provider *p, struct jb_aws_creds *out, char *note,
                       size_t notelen, char *err, size_t errlen)
{
    static const char role_path[] = "/latest/meta-data/iam/security-credentials/";
    const char *dis = env("AWS_EC2_METADATA_DISABLED"),
               *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct jb_http_options dflt;
    const struct jb_http_options *o = http_opts(p, &dflt, 1000);
    struct jb_http_response resp = {0};
    char base[512], *token = NULL, role[130], path[256], ierr[JB_ERRLEN] = "";
    size_t n, i;
    int rc;

    if (dis != NULL && strcasecmp(dis, "true") == 0) {
        snprintf(note, notelen, "disabled by AWS_EC2_METADATA_DISABLED");
        return 0;
    }
    if (ep == NULL)
        ep = "http://169.254.169.254";
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL");
    n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    if (n >= sizeof(base))
        return jb_err(err, errlen, JB_ERR_INVALID, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    memcpy(base, ep, n);
    base[n] = '\0';

    /* Not answering at all means "not on EC2": the chain reports it at the end. */
    rc = imds_get(base, "/latest/api/token", "PUT", "X-aws-ec2-metadata-token-ttl-seconds",
                  IMDS_TTL, o, &resp, ierr, sizeof(ierr));
    if (rc != 0) {
        snprintf(note, notelen, "%.250s", ierr);
        return 0;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: token request answered HTTP %ld", resp.status);
        goto out;
    }
    n = resp.bodylen;
    while (n && isspace((unsigned char)resp.body[n - 1]))
        n--;
    if (n > 4096 || !header_safe(resp.body, n)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: session token is malformed");
        goto out;
    }
    if ((token = jb_secret_alloc(n + 1)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "IMDS: out of locked memory");
        goto out;
    }
    memcpy(token, resp.body, n);
    token[n] = '\0';

    jb_http_response_free(&resp);
    if ((rc = imds_get(base, role_path, "GET", "X-aws-ec2-metadata-token", token, o, &resp, err,
                       errlen)) != 0)
        goto out;
    if (resp.status == 404) {
        snprintf(note, notelen, "no instance role attached");
        rc = 0;
        goto out;
    }
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: role list answered HTTP %ld", resp.status);
        goto out;
    }
    n = strcspn(resp.body, "\r\n");
    if (n == 0 || n >= sizeof(role)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: role name is missing or too long");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)resp.body[i]) && strchr("+=,.@_-", resp.body[i]) == NULL) {
            rc = jb_err(err, errlen, JB_ERR_PARSE, "IMDS: role name is malformed");
            goto out;
        }
    memcpy(role, resp.body, n);
    role[n] = '\0';
    snprintf(path, sizeof(path), "%s%s", role_path, role);
    jb_http_response_free(&resp);
    if ((rc = imds_get(base, path, "GET", "X-aws-ec2-metadata-token", token, o, &resp, err,
                       errlen)) != 0)
        goto out;
    if (resp.status != 200) {
        rc = jb_err(err, errlen, JB_ERR_AUTH, "IMDS: credentials of role %s answered HTTP %ld",
                    role, resp.status);
        goto out;
    }
    rc = jb_creds_parse_json("IMDS role credentials", resp.body, resp.bodylen, "Token", 0,
                             jb_creds_now(p), "imds", out, err, errlen);
    rc = rc == 0 ? 1 : rc;
out:
    jb_secret_free(token);
    jb_http_response_free(&resp);
    return rc;
}
