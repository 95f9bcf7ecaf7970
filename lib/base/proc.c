/* The one process runner (proc.h): fork + execve with an argv array and an
 * explicit environment, a deadline, SIGTERM then SIGKILL to the group, and
 * exec failures reported back through a close-on-exec pipe. */
#include "base/proc.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/grow.h"
#include "base/secret.h"

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

/* In the child only: async-signal-safe calls until execve.  Whatever
 * fails before or at execve is told to the parent through st_w. */
static void exec_child(const struct jb_proc_opts *o, int out_w, int err_w, int null_fd, int st_w)
{
    int log = o->log_fd >= 0 ? o->log_fd : null_fd, e;
    /* Out of the way of the dup2s below (fd 3 may be taken by pass_fd). */
    int st = fcntl(st_w, F_DUPFD_CLOEXEC, 4);

    if (o->foreground) {
        struct sigaction dfl, cur;
        /* An ignored signal stays ignored across execve (a caught one is
         * reset): a command under us must see the signals as it would
         * without us -- SIGPIPE at its default, nohup's SIGHUP ignored. */
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++)
            if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN &&
                !(o->ignored && sigismember(o->ignored, sig) == 1))
                sigaction(sig, &dfl, NULL);
        if ((out_w >= 0 && dup2(out_w, 1) < 0) || (err_w >= 0 && dup2(err_w, 2) < 0))
            goto fail;
    } else {
        setpgid(0, 0);
        if (dup2(null_fd, 0) < 0 || dup2(out_w >= 0 ? out_w : log, 1) < 0 || dup2(log, 2) < 0)
            goto fail;
    }
    /* If we die (SIGKILL, OOM), the child is told to stop, not orphaned:
     * Terraform then saves its state and the lease leads the sweeper to it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (o->cwd && chdir(o->cwd) != 0)
        goto fail;
    if (o->pass_fd > 0) {
        if (o->pass_fd == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(o->pass_fd, 3) < 0)
            goto fail;
    }
    /* Everything else the parent had open stays with the parent. */
    for (int fd = o->pass_fd > 0 ? 4 : 3; fd < 1024; fd++)
        if (fd != st)
            close(fd);
    execve(o->path, o->argv, o->envp);
fail:
    e = errno;
    {
        ssize_t w = write(st, &e, sizeof(e)); /* nothing more to do if it fails */
        (void)w;
    }
    _exit(127);
}

/* The read ends of the child's output: stdout captured, or stdout and
 * stderr handed to o->output. */
struct outputs {
    int fd[2];    /* -1: closed */
    int which[2]; /* 1 stdout, 2 stderr */
    char *buf;    /* the capture */
    size_t len, cap;
    int over; /* more than capture_max came */
};

/* Keeps the first capture_max bytes.  A capture_secret buffer is
 * capture_max + 1 bytes from the start, so it never reaches the realloc. */
static int append(const struct jb_proc_opts *o, struct outputs *p, const char *d, size_t n)
{
    if (p->len + n > o->capture_max) {
        p->over = 1;
        n = o->capture_max - p->len;
    }
    if (n == 0)
        return 0;
    if (p->len + n + 1 > p->cap) {
        size_t nc = (p->cap ? p->cap * 2 : 4096);
        char *nb;
        while (nc < p->len + n + 1)
            nc *= 2;
        if ((nb = realloc(p->buf, nc)) == NULL)
            return -1;
        p->buf = nb;
        p->cap = nc;
    }
    memcpy(p->buf + p->len, d, n);
    p->len += n;
    p->buf[p->len] = '\0';
    return 0;
}

/* Reads what one pipe has; closes it at its end.  -1 when out of memory. */
static int take(const struct jb_proc_opts *o, struct outputs *p, int i)
{
    char chunk[4096];
    ssize_t r = read(p->fd[i], chunk, sizeof(chunk));

    if (r > 0) {
        int rc = 0;
        if (o->output)
            o->output(o->cb_ctx, p->which[i], chunk, (size_t)r);
        else
            rc = append(o, p, chunk, (size_t)r);
        if (o->capture_secret)
            jb_secret_wipe(chunk, (size_t)r);
        return rc != 0 ? -1 : 1;
    }
    if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(p->fd[i]);
        p->fd[i] = -1;
    }
    return 0;
}

/* Exec failures come back through a close-on-exec pipe: nothing on it
 * means execve worked.  Returns errno of the failure, or 0. */
static int exec_error(int st_r)
{
    int e = 0;
    ssize_t r;

    while ((r = read(st_r, &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    return r == (ssize_t)sizeof(e) ? (e ? e : EIO) : 0;
}

int jb_proc_run(const struct jb_proc_opts *o, int *status, char **out, char *err, size_t errlen)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, stp[2] = {-1, -1};
    int null_fd = -1, pidfd = -1, wstatus = 0, rc = 0, reaped = 0, e;
    struct outputs p = {{-1, -1}, {1, 2}, NULL, 0, 0, 0};
    long long start = jb_clock_mono_ms(), term_at = 0;
    int grace = o->kill_grace_ms > 0 ? o->kill_grace_ms : 10000, stopped = 0;
    int pump = o->foreground && o->output != NULL, exec_errno = 0;
    pid_t pid, target;

    if (out)
        *out = NULL;
    *status = -1;
    if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "open /dev/null");
    if (((pump || (!o->foreground && o->capture_max > 0)) && pipe2(outp, O_CLOEXEC) != 0) ||
        (pump && pipe2(errp, O_CLOEXEC) != 0) || pipe2(stp, O_CLOEXEC) != 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "pipe");
        goto out;
    }
    if (o->capture_secret && o->capture_max > 0 && !o->foreground) {
        if ((p.buf = jb_secret_alloc(o->capture_max + 1)) == NULL) {
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of locked memory");
            goto out;
        }
        p.cap = o->capture_max + 1;
        p.buf[0] = '\0';
    }
    if ((pid = fork()) < 0) {
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "fork");
        goto out;
    }
    if (pid == 0)
        exec_child(o, outp[1], errp[1], null_fd, stp[1]);
    /* Its own group (both sides, so kill(-pid) works at once), unless it
     * is a person's command in the foreground. */
    if (!o->foreground)
        setpgid(pid, pid);
    target = o->foreground ? pid : -pid;
    for (int i = 0; i < 2; i++) {
        int *w = i ? &errp[1] : &outp[1];
        if (*w >= 0) {
            close(*w);
            *w = -1;
        }
    }
    close(stp[1]);
    stp[1] = -1;
    if ((e = exec_error(stp[0])) != 0) {
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
        *status = e == ENOENT ? 127 : 126;
        errno = exec_errno = e;
        rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "could not run %s", o->path);
        goto out;
    }
    p.fd[0] = outp[0];
    p.fd[1] = errp[0];
    outp[0] = errp[0] = -1;
    for (int i = 0; i < 2; i++)
        if (p.fd[i] >= 0)
            fcntl(p.fd[i], F_SETFL, O_NONBLOCK);
    /* A pidfd wakes the poll below the moment the child exits; without one
     * (kernels before 5.3) each wait rounds up to the 100 ms tick. */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    while (!reaped) {
        long long now = jb_clock_mono_ms();
        struct pollfd pfd[3];
        nfds_t n = 0;
        int at[2] = {-1, -1};

        if (!stopped && ((o->timeout_ms > 0 && now - start >= o->timeout_ms) ||
                         (o->cancel && *o->cancel) || (o->capture_stop && p.over))) {
            stopped = (o->cancel && *o->cancel) ? 2 : (o->capture_stop && p.over) ? 3 : 1;
            /* SIGINT first on cancel: Terraform stops gracefully on it. */
            kill(target, stopped != 2 ? SIGTERM : o->cancel_forward ? (int)*o->cancel : SIGINT);
            term_at = now;
        } else if (stopped && term_at && now - term_at >= grace) {
            kill(target, SIGKILL);
            term_at = 0;
        }
        if (o->tick)
            o->tick(o->cb_ctx);
        for (int i = 0; i < 2; i++)
            if (p.fd[i] >= 0) {
                at[i] = (int)n;
                pfd[n++] = (struct pollfd){p.fd[i], POLLIN, 0};
            }
        if (pidfd >= 0)
            pfd[n++] = (struct pollfd){pidfd, POLLIN, 0};
        if (poll(n ? pfd : NULL, n, 100) > 0) {
            for (int i = 0; i < 2; i++)
                if (at[i] >= 0 && pfd[at[i]].revents && take(o, &p, i) < 0) {
                    rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
                    kill(target, SIGKILL);
                }
        }
        {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid)
                reaped = 1;
            else if (w < 0 && errno != EINTR) {
                rc = jb_err_errno(err, errlen, JB_ERR_SYSTEM, "waitpid");
                break;
            }
        }
    }
    /* What the child wrote before it ended, then no more: a daemon that
     * kept our pipe must not hold us past the child. */
    for (int i = 0; i < 2; i++) {
        while (p.fd[i] >= 0 && take(o, &p, i) > 0)
            ;
        if (p.fd[i] >= 0) {
            close(p.fd[i]);
            p.fd[i] = -1;
        }
    }
    if (reaped) {
        /* Anything left in the child's group (plugins, local-exec children) goes too. */
        if (stopped && !o->foreground)
            kill(-pid, SIGKILL);
        *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        if (o->wait_status)
            *o->wait_status = wstatus;
    }
    if (rc == 0 && stopped == 1)
        rc = jb_err(err, errlen, JB_ERR_TIMEOUT, "%s did not finish within %d s", o->argv[0],
                    o->timeout_ms / 1000);
    else if (rc == 0 && stopped == 2)
        rc = jb_err(err, errlen, JB_ERR_CANCELLED, "%s was stopped on request", o->argv[0]);
    else if (rc == 0 && o->capture_stop && p.over) /* also when it ended before we saw it */
        rc = jb_err(err, errlen, JB_ERR_PARSE, "%s printed more than %zu bytes", o->argv[0],
                    o->capture_max);
out:
    if (out && p.buf == NULL && (p.buf = o->capture_secret ? jb_secret_alloc(1) : malloc(1)))
        p.buf[0] = '\0';
    if (out)
        *out = p.buf;
    else if (o->capture_secret)
        jb_secret_free(p.buf);
    else
        free(p.buf);
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (stp[i] >= 0)
            close(stp[i]);
    }
    if (null_fd >= 0)
        close(null_fd);
    if (pidfd >= 0)
        close(pidfd);
    if (exec_errno)
        errno = exec_errno; /* the callers' jb_err_errno names why */
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
    char **nv = jb_grow(sv->v, &sv->cap, sv->n + 2, sizeof(*nv), 16);

    if (nv == NULL)
        return JB_ERR_NOMEM;
    sv->v = nv;
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
        jb_secret_wipe(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}
