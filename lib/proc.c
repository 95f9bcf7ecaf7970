#include "proc.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child only: async-signal-safe calls until execve. */
static void exec_child(const struct jb_proc_opts *o, int out_w, int null_fd)
{
    int log = o->log_fd >= 0 ? o->log_fd : null_fd;

    setpgid(0, 0);
    /* If we die (SIGKILL, OOM), the child is told to stop, not orphaned:
     * Terraform then saves its state and the lease leads the sweeper to it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (dup2(null_fd, 0) < 0 || dup2(out_w >= 0 ? out_w : log, 1) < 0 || dup2(log, 2) < 0)
        _exit(127);
    if (o->cwd && chdir(o->cwd) != 0)
        _exit(127);
    if (o->pass_fd > 0) {
        if (o->pass_fd == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(o->pass_fd, 3) < 0)
            _exit(127);
    }
    /* Everything else the parent had open stays with the parent. */
    for (int fd = o->pass_fd > 0 ? 4 : 3; fd < 1024; fd++)
        close(fd);
    execve(o->path, o->argv, o->envp);
    _exit(127);
}

static int append(char **buf, size_t *len, size_t *cap, size_t max, const char *d, size_t n)
{
    if (*len + n > max)
        n = max - *len;
    if (n == 0)
        return 0;
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 4096);
        char *nb;
        while (nc < *len + n + 1)
            nc *= 2;
        if ((nb = realloc(*buf, nc)) == NULL)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, d, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int jb_proc_run(const struct jb_proc_opts *o, int *status, char **out, char *err, size_t errlen)
{
    int pipefd[2] = {-1, -1}, null_fd = -1, pidfd = -1, wstatus = 0, rc = 0, reaped = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    long long start = now_ms(), term_at = 0;
    int grace = o->kill_grace_ms > 0 ? o->kill_grace_ms : 10000, stopped = 0;
    pid_t pid;

    if (out)
        *out = NULL;
    *status = -1;
    if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "open /dev/null");
    if (o->capture_max > 0 && pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "pipe");
        goto out;
    }
    if ((pid = fork()) < 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "fork");
        goto out;
    }
    if (pid == 0)
        exec_child(o, pipefd[1], null_fd);
    setpgid(pid, pid); /* both sides, so kill(-pid) works at once */
    /* A pidfd wakes the poll below the moment the child exits; without one
     * (kernels before 5.3) each wait rounds up to the 100 ms tick. */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pipefd[1] >= 0) {
        close(pipefd[1]);
        pipefd[1] = -1;
    }

    while (!reaped || pipefd[0] >= 0) {
        long long now = now_ms();
        int wait_ms = 100;

        if (!stopped &&
            ((o->timeout_ms > 0 && now - start >= o->timeout_ms) || (o->cancel && *o->cancel))) {
            stopped = (o->cancel && *o->cancel) ? 2 : 1;
            /* SIGINT first on cancel: Terraform stops gracefully on it. */
            kill(-pid, stopped == 2 ? SIGINT : SIGTERM);
            term_at = now;
        } else if (stopped && term_at && now - term_at >= grace) {
            kill(-pid, SIGKILL);
            term_at = 0;
        }
        {
            struct pollfd pfd[2];
            nfds_t n = 0, pipe_at = 2;
            if (pipefd[0] >= 0) {
                pipe_at = n;
                pfd[n++] = (struct pollfd){pipefd[0], POLLIN, 0};
            }
            if (pidfd >= 0 && !reaped)
                pfd[n++] = (struct pollfd){pidfd, POLLIN, 0};
            if (poll(n ? pfd : NULL, n, wait_ms) > 0 && pipe_at < n && pfd[pipe_at].revents) {
                char chunk[4096];
                ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
                if (r > 0) {
                    if (append(&buf, &len, &cap, o->capture_max, chunk, (size_t)r) != 0) {
                        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
                        kill(-pid, SIGKILL);
                    }
                } else if (r == 0 || errno != EINTR) {
                    close(pipefd[0]);
                    pipefd[0] = -1;
                }
            }
            /* A daemon that kept our pipe must not hold us past the child. */
            if (reaped && pipefd[0] >= 0) {
                close(pipefd[0]);
                pipefd[0] = -1;
            }
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid)
                reaped = 1;
            else if (w < 0 && errno != EINTR) {
                rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "waitpid");
                break;
            }
        }
    }
    if (reaped) {
        /* Anything left in the child's group (plugins, local-exec children) goes too. */
        if (stopped)
            kill(-pid, SIGKILL);
        *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    }
    if (rc == 0 && stopped == 1)
        rc = jb_err(err, errlen, JB_ERR_TIMEOUT, "%s did not finish within %d s", o->argv[0],
                    o->timeout_ms / 1000);
    else if (rc == 0 && stopped == 2)
        rc = jb_err(err, errlen, JB_ERR_CANCELLED, "%s was stopped on request", o->argv[0]);
    else if (rc == 0 && *status == 127)
        rc = jb_err(err, errlen, JB_ERR_SYSTEM, "could not run %s", o->path);
out:
    if (out) {
        if (buf == NULL)
            buf = calloc(1, 1);
        *out = buf;
    } else {
        free(buf);
    }
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (null_fd >= 0)
        close(null_fd);
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

const char *jb_strv_get(char *const *env, const char *name)
{
    size_t nl = strlen(name);

    for (; env && *env; env++)
        if (strncmp(*env, name, nl) == 0 && (*env)[nl] == '=')
            return *env + nl + 1;
    return NULL;
}

int jb_proc_which(const char *prog, char *const *envp, char *out, size_t outlen)
{
    const char *path = jb_strv_get(envp, "PATH");
    char cand[PATH_MAX];

    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0 || strlen(prog) >= outlen)
            return JB_ERR_NOTFOUND;
        memcpy(out, prog, strlen(prog) + 1);
        return 0;
    }
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dl = colon ? (size_t)(colon - path) : strlen(path);
        struct stat st;
        if (dl > 0 &&
            snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, path, prog) < (int)sizeof(cand) &&
            stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0 &&
            strlen(cand) < outlen) {
            memcpy(out, cand, strlen(cand) + 1);
            return 0;
        }
        path += dl + (colon ? 1 : 0);
    }
    return JB_ERR_NOTFOUND;
}

int jb_strv_add(struct jb_strv *sv, const char *s)
{
    if (sv->n + 2 > sv->cap) {
        size_t nc = sv->cap ? sv->cap * 2 : 16;
        char **nv = realloc(sv->v, nc * sizeof(*nv));
        if (nv == NULL)
            return JB_ERR_NOMEM;
        sv->v = nv;
        sv->cap = nc;
    }
    if ((sv->v[sv->n] = strdup(s)) == NULL)
        return JB_ERR_NOMEM;
    sv->n++;
    sv->v[sv->n] = NULL;
    return 0;
}

int jb_strv_addf(struct jb_strv *sv, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return JB_ERR_NOMEM;
    rc = jb_strv_add(sv, s);
    free(s);
    return rc;
}

int jb_strv_pass(struct jb_strv *sv, char *const *env, const char *name)
{
    const char *v = jb_strv_get(env, name);

    return v ? jb_strv_addf(sv, "%s=%s", name, v) : 0;
}

void jb_strv_free(struct jb_strv *sv)
{
    /* Environments carry AWS keys: wipe before release. */
    for (size_t i = 0; i < sv->n; i++) {
        explicit_bzero(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}
