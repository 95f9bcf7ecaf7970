/* The credential_process source: the profile's command line split as
 * botocore's shlex does (no shell runs), the program run through base/proc
 * with a deadline and a cap on its output, which is captured in locked
 * memory and read as the JSON the AWS CLI documents. */
#include "aws/creds_int.h"

#include "base/env.h"
#include "base/err.h"
#include "base/grow.h"
#include "base/proc.h"
#include "base/secret.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* An answer this long or longer is refused (a real one is under 4 KiB). */
#define PROCESS_OUT_MAX (64u << 10)
#define DEF_PROCESS_MS 30000L

/* argv[0] as execve needs it: a path as given, else found on PATH; an
 * empty PATH means the default one. */
static int find_program(const char *name, char *out, size_t outlen)
{
    if (strchr(name, '/') != NULL)
        return snprintf(out, outlen, "%s", name) < (int)outlen ? 0 : -1;
    return jb_proc_which(name, jb_env("PATH") ? environ : NULL, out, outlen) == 0 ? 0 : -1;
}

/* A failed jb_proc_run in this source's own words.  Called straight after
 * it: errno still holds why an exec failed. */
static int run_error(int rc, int status, const char *name, long timeout_ms, const char *detail,
                     char *err, size_t errlen)
{
    if (rc == JB_ERR_TIMEOUT)
        return jb_err(err, errlen, rc, "credential_process: '%s' gave no answer within %ld ms",
                      name, timeout_ms);
    if (rc == JB_ERR_PARSE) /* capture_stop: it printed too much */
        return jb_err(err, errlen, rc, "credential_process: '%s' printed more than %u bytes", name,
                      PROCESS_OUT_MAX);
    if (rc == JB_ERR_SYSTEM && status >= 126)
        return jb_err_errno(err, errlen, JB_ERR_AUTH, "credential_process: cannot run '%s'", name);
    return jb_err(err, errlen, rc, "credential_process: %s", detail);
}

static int exit_error(int wstatus, const char *name, char *err, size_t errlen)
{
    if (WIFSIGNALED(wstatus))
        return jb_err(err, errlen, JB_ERR_AUTH, "credential_process: '%s' was killed by signal %d",
                      name, WTERMSIG(wstatus));
    if (WEXITSTATUS(wstatus) != 0)
        return jb_err(err, errlen, JB_ERR_AUTH, "credential_process: '%s' exited with status %d",
                      name, WEXITSTATUS(wstatus));
    return 0;
}

int jb_creds_from_process(const char *cmdline, long timeout_ms, time_t now,
                          struct jb_aws_creds *out, char *err, size_t errlen)
{
    struct jb_proc_opts o = {0};
    char **argv = NULL, prog[PATH_MAX], *buf = NULL, name[80], what[120], detail[JB_ERRLEN] = "";
    int status = -1, wstatus = 0, rc;

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
    o.path = prog;
    o.argv = argv;
    o.envp = environ; /* ours, like the AWS CLI: it may need a profile */
    o.timeout_ms = timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
    o.kill_grace_ms = 1;                 /* killed at the deadline: it has nothing to save */
    o.log_fd = STDERR_FILENO;            /* its complaints reach the user, as under the AWS CLI */
    o.capture_max = PROCESS_OUT_MAX - 1; /* PROCESS_OUT_MAX bytes are already too many */
    o.capture_secret = 1;
    o.capture_stop = 1;
    o.wait_status = &wstatus;
    rc = jb_proc_run(&o, &status, &buf, detail, sizeof(detail));
    if (rc != 0)
        rc = run_error(rc, status, name, timeout_ms, detail, err, errlen);
    else if (buf == NULL)
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "credential_process: out of locked memory");
    else
        rc = exit_error(wstatus, name, err, errlen);
    if (rc != 0)
        goto out;
    snprintf(what, sizeof(what), "credential_process '%s'", name);
    rc = jb_creds_parse_json(what, buf, strlen(buf), "SessionToken", 1, now, "credential-process",
                             out, err, errlen);
out:
    jb_secret_free(buf);
    jb_argv_free(argv);
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
        char **na = jb_grow(av, &cap, n + 2, sizeof(*av), 8);
        if (na == NULL)
            goto nomem;
        av = na;
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
