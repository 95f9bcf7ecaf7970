/* Terraform runs (terraform.h): argv and a filtered environment built here,
 * run through base/proc; the outputs parsed from the state it wrote. */
#include "stack/terraform.h"

#include "base/err.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Names passed through to Terraform; everything else stays behind. */
static const char *const pass_names[] = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TZ",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TF_PLUGIN_CACHE_DIR",
    /* The Go runtime's, for Terraform and the providers it starts: most of
     * a short Terraform command's CPU is the collector's while the
     * provider's schema is built (GOGC=400 cuts a plan's by a quarter). */
    "GOGC",
    "GOMEMLIMIT",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
    "ASAN_OPTIONS",
    "UBSAN_OPTIONS",
    "LSAN_OPTIONS",
};
static const char *const pass_prefixes[] = {"AWS_", "JUMPBOX_"};

/* Each provider Terraform starts listens on a unix socket it makes in
 * $TMPDIR (go-plugin's "pluginNNNNNNNNNN") and removes when it exits
 * cleanly; a provider killed with its create leaves the socket behind.  In
 * the work dir, the stack's teardown removes it with the rest.  A socket's
 * path must fit sun_path, so a work dir too deep for it keeps the
 * caller's TMPDIR. */
#define TF_TMP "/tmp"
#define PLUGIN_SOCKET_NAME_MAX sizeof("/plugin4294967295")

static int tmp_in_workdir(const char *workdir, char *out, size_t outlen)
{
    struct sockaddr_un sa;
    int n = snprintf(out, outlen, "%s" TF_TMP, workdir);

    return n > 0 && (size_t)n < outlen && (size_t)n + PLUGIN_SOCKET_NAME_MAX <= sizeof(sa.sun_path);
}

int jb_tf_build_env(struct jb_strv *out, const char *workdir, char *const *env)
{
    char tmp[PATH_MAX];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(pass_names) / sizeof(pass_names[0]); i++)
        rc = jb_strv_pass(out, env, pass_names[i]);
    if (rc == 0)
        rc = tmp_in_workdir(workdir, tmp, sizeof(tmp)) ? jb_strv_addf(out, "TMPDIR=%s", tmp)
                                                       : jb_strv_pass(out, env, "TMPDIR");
    for (char *const *e = env; rc == 0 && e && *e; e++)
        for (size_t i = 0; i < sizeof(pass_prefixes) / sizeof(pass_prefixes[0]); i++)
            if (strncmp(*e, pass_prefixes[i], strlen(pass_prefixes[i])) == 0 && strchr(*e, '='))
                rc = jb_strv_add(out, *e);
    /* A CLI config that isn't there only makes Terraform warn in every log. */
    {
        const char *cli = jb_strv_get(env, "TF_CLI_CONFIG_FILE");
        if (rc == 0 && cli && access(cli, R_OK) == 0)
            rc = jb_strv_pass(out, env, "TF_CLI_CONFIG_FILE");
    }
    if (rc == 0 && jb_strv_get(env, "PATH") == NULL)
        rc = jb_strv_add(out, "PATH=/usr/local/bin:/usr/bin:/bin");
    if (rc == 0)
        rc = jb_strv_addf(out, "TF_DATA_DIR=%s/.terraform", workdir);
    if (rc == 0)
        rc = jb_strv_add(out, "TF_IN_AUTOMATION=1");
    if (rc == 0)
        rc = jb_strv_add(out, "TF_INPUT=0");
    return rc;
}

int jb_tf_open(struct jb_tf *tf, const char *workdir, const char *logpath, const char *bin,
               const char *plugins, char *const *env, char *err, size_t errlen)
{
    int rc;

    memset(tf, 0, sizeof(*tf));
    tf->log_fd = -1;
    if (jb_proc_which(bin && *bin ? bin : "terraform", env, tf->bin, sizeof(tf->bin)) != 0)
        return jb_err(err, errlen, JB_ERR_NOTFOUND,
                      "terraform: not found (install it, or set JUMPBOX_TERRAFORM)");
    if (plugins && *plugins) {
        if (access(plugins, R_OK | X_OK) != 0)
            return jb_err_errno(err, errlen, JB_ERR_INVALID, "JUMPBOX_TF_PLUGIN_DIR: %s", plugins);
        snprintf(tf->plugin_dir, sizeof(tf->plugin_dir), "%s", plugins);
    }
    if (strlen(workdir) >= sizeof(tf->workdir) || strlen(logpath) >= sizeof(tf->logpath))
        return jb_err(err, errlen, JB_ERR_INVALID, "work directory path too long");
    strcpy(tf->workdir, workdir);
    strcpy(tf->logpath, logpath);
    if ((rc = jb_mkdir_p(workdir, 0700, err, errlen)) != 0)
        return rc;
    {
        char tmp[PATH_MAX];
        if (tmp_in_workdir(workdir, tmp, sizeof(tmp)) &&
            (rc = jb_mkdir_p(tmp, 0700, err, errlen)) != 0)
            return rc;
    }
    tf->log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (tf->log_fd < 0)
        return jb_err_errno(err, errlen, JB_ERR_IO, "open log %s", logpath);
    if (jb_tf_build_env(&tf->env, workdir, env) != 0) {
        jb_tf_close(tf);
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    }
    return 0;
}

void jb_tf_close(struct jb_tf *tf)
{
    jb_strv_free(&tf->env);
    if (tf->log_fd >= 0)
        close(tf->log_fd);
    tf->log_fd = -1;
}

int jb_tf_build_argv(const struct jb_tf *tf, const char *cmd, const char *const *extra,
                     struct jb_strv *out)
{
    int rc = jb_strv_add(out, "terraform");

    if (rc == 0)
        rc = jb_strv_addf(out, "-chdir=%s", tf->workdir);
    /* "state push" is a command and its subcommand: two words. */
    if (rc == 0)
        rc = jb_strv_add(out, strcmp(cmd, "state push") == 0 ? "state" : cmd);
    if (rc == 0 && strcmp(cmd, "state push") == 0)
        rc = jb_strv_add(out, "push");
    if (rc == 0 && strcmp(cmd, "output") != 0 && strcmp(cmd, "state push") != 0)
        rc = jb_strv_add(out, "-input=false");
    if (rc == 0)
        rc = jb_strv_add(out, "-no-color");
    if (rc == 0 && strcmp(cmd, "init") == 0 && tf->plugin_dir[0])
        rc = jb_strv_addf(out, "-plugin-dir=%s", tf->plugin_dir);
    for (; rc == 0 && extra && *extra; extra++)
        rc = jb_strv_add(out, *extra);
    return rc;
}

static void log_note(struct jb_tf *tf, const char *what)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "\n==== jumpbox: terraform %s ====\n", what);

    if (tf->log_fd >= 0 && n > 0 && write(tf->log_fd, line, (size_t)n) < 0) {
        /* The log is best effort; the command's own result still counts. */
    }
}

static int run(struct jb_tf *tf, const char *cmd, const char *const *extra, int timeout_s,
               char **capture, int pass_fd, char *err, size_t errlen)
{
    struct jb_strv argv = {0};
    struct jb_proc_opts o;
    int status = -1, rc;

    if (jb_tf_build_argv(tf, cmd, extra, &argv) != 0) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    log_note(tf, cmd);
    memset(&o, 0, sizeof(o));
    o.path = tf->bin;
    o.argv = argv.v;
    o.envp = tf->env.v;
    o.timeout_ms = timeout_s * 1000;
    o.kill_grace_ms = 15000;
    o.log_fd = tf->log_fd;
    o.capture_max = capture ? 4 * 1024 * 1024 : 0;
    o.cancel = tf->cancel;
    o.pass_fd = pass_fd;
    rc = jb_proc_run(&o, &status, capture, err, errlen);
    if (rc == JB_ERR_TIMEOUT || rc == JB_ERR_CANCELLED) {
        size_t used = err ? strlen(err) : 0;
        if (err && used < errlen)
            snprintf(err + used, errlen - used, " (terraform %s; log: %s)", cmd, tf->logpath);
    } else if (rc == 0 && status != 0) {
        rc = jb_err(err, errlen, JB_ERR_TERRAFORM, "terraform %s failed (exit %d); log: %s", cmd,
                    status, tf->logpath);
    }
out:
    jb_strv_free(&argv);
    return rc;
}

int jb_tf_init(struct jb_tf *tf, int timeout_s, char *err, size_t errlen)
{
    static const char *const extra[] = {"-reconfigure", NULL};

    return run(tf, "init", extra, timeout_s, NULL, -1, err, errlen);
}

int jb_tf_apply(struct jb_tf *tf, const char *secret_vars, int timeout_s, char *err, size_t errlen)
{
    static const char *const plain[] = {"-auto-approve", NULL};
    static const char *const piped[] = {"-auto-approve", "-var-file=/dev/fd/3", NULL};
    size_t len = secret_vars ? strlen(secret_vars) : 0;
    int fds[2] = {-1, -1}, rc;

    if (secret_vars == NULL)
        return run(tf, "apply", plain, timeout_s, NULL, -1, err, errlen);
    if (len > 65536)
        return jb_err(err, errlen, JB_ERR_INVALID, "secret variables larger than a pipe");
    if (pipe2(fds, O_CLOEXEC) != 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "pipe");
    /* All of it fits the pipe's buffer: written before Terraform starts. */
    fcntl(fds[1], F_SETPIPE_SZ, 65536);
    if (write(fds[1], secret_vars, len) != (ssize_t)len) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "writing the secret variables");
        goto out;
    }
    close(fds[1]);
    fds[1] = -1;
    rc = run(tf, "apply", piped, timeout_s, NULL, fds[0], err, errlen);
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return rc;
}

int jb_tf_destroy(struct jb_tf *tf, int timeout_s, char *err, size_t errlen)
{
    static const char *const extra[] = {"-auto-approve", NULL};

    return run(tf, "destroy", extra, timeout_s, NULL, -1, err, errlen);
}

int jb_tf_state_push(struct jb_tf *tf, const char *path, int timeout_s, char *err, size_t errlen)
{
    const char *extra[] = {path, NULL};

    return run(tf, "state push", extra, timeout_s, NULL, -1, err, errlen);
}

int jb_tf_state_outputs(const char *state, size_t len, cJSON **out, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(state, len), *outputs;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    int rc = 0;

    *out = NULL;
    if (!cJSON_IsObject(root)) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "terraform state: not a JSON object");
        goto out;
    }
    /* Format 4 is every Terraform since 0.12; another may name outputs
     * differently, so it is refused rather than guessed at. */
    if (!cJSON_IsNumber(version) || version->valuedouble != 4) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "terraform state: not format version 4");
        goto out;
    }
    outputs = cJSON_DetachItemFromObjectCaseSensitive(root, "outputs");
    if (!cJSON_IsObject(outputs)) {
        cJSON_Delete(outputs);
        rc = jb_err(err, errlen, JB_ERR_PARSE, "terraform state: no outputs");
        goto out;
    }
    *out = outputs;
out:
    cJSON_Delete(root);
    return rc;
}

static const cJSON *output_value(const cJSON *outputs, const char *name)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(outputs, name);

    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "value") : NULL;
}

int jb_tf_output_string(const cJSON *outputs, const char *name, char *dst, size_t max, char *err,
                        size_t errlen)
{
    const cJSON *v = output_value(outputs, name);
    const char *s;

    if (!cJSON_IsString(v))
        return jb_err(err, errlen, JB_ERR_PARSE, "terraform output %s: missing or not a string",
                      name);
    s = v->valuestring;
    if (*s == '\0' || strlen(s) >= max)
        return jb_err(err, errlen, JB_ERR_PARSE, "terraform output %s: empty or too long", name);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f)
            return jb_err(err, errlen, JB_ERR_PARSE,
                          "terraform output %s: holds whitespace or control characters", name);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int jb_tf_output_port(const cJSON *outputs, const char *name, int *port, char *err, size_t errlen)
{
    const cJSON *v = output_value(outputs, name);
    double d;

    /* Decimal digits only: strtod would also take " 22", "0x16", "nan". */
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        d = n >= 1 && n <= 5 && strspn(v->valuestring, "0123456789") == n
                ? strtod(v->valuestring, NULL)
                : -1;
    } else if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else {
        d = -1;
    }
    /* Written so that NaN fails too, before the cast to int. */
    if (!(d >= 1 && d <= 65535) || d != (double)(int)d)
        return jb_err(err, errlen, JB_ERR_PARSE, "terraform output %s: not a TCP port", name);
    *port = (int)d;
    return 0;
}

cJSON *jb_tf_literal(const char *s)
{
    size_t n = strlen(s), extra = 0;
    char *buf, *d;
    cJSON *out;

    for (size_t i = 0; i + 1 < n; i++)
        if ((s[i] == '$' || s[i] == '%') && s[i + 1] == '{')
            extra++;
    if ((buf = malloc(n + extra + 1)) == NULL)
        return NULL;
    d = buf;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] == '$' || s[i] == '%') && s[i + 1] == '{')
            *d++ = s[i];
        *d++ = s[i];
    }
    *d = '\0';
    out = cJSON_CreateString(buf);
    free(buf);
    return out;
}
