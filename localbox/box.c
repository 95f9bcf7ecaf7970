/* jumpbox-localbox up/down (box.h): sshd on 127.0.0.1 with the stack's
 * config and keys, the TTL timer forked beside it, and a down that stops
 * both, by pid file or, when one is lost, by their exact arguments. */
#include "box.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "base/proc.h"
#include "crypto/keys.h"
#include "stack/audit.h"
#include "stack/lease.h"
#include "stack/ssh.h"
#include "stack/state.h"
#include "stack/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CLEANER_TIMEOUT_S (20 * 60)

static int check_spec(const struct jb_box_spec *s, time_t *expires, char *err, size_t errlen)
{
    char detail[JB_ERRLEN];
    unsigned char pk[JB_ED25519_PK_LEN];

    if (s->dir == NULL || s->dir[0] != '/')
        return jb_err(err, errlen, JB_ERR_INVALID, "--dir: an absolute path is required");
    if (jb_check_stack_id(s->stack_id, detail, sizeof(detail)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--stack-id: %s", detail);
    if (s->port < 1 || s->port > 65535)
        return jb_err(err, errlen, JB_ERR_INVALID, "--port: not a TCP port");
    if (s->user == NULL || jb_check_label(s->user, 32, detail, sizeof(detail)) != 0 ||
        strpbrk(s->user, " ,*?!@") != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "--user: not a user name");
    if (jb_parse_cidr(s->allow_cidr, NULL, 0, detail, sizeof(detail)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--allow-cidr: %s", detail);
    if (jb_key_parse_public_line(s->public_key, pk, detail, sizeof(detail)) != 0 ||
        strpbrk(s->public_key, "\n\r\"") != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "--public-key: %s", detail);
    if (jb_parse_rfc3339(s->expires_at, expires, detail, sizeof(detail)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--expires-at: %s", detail);
    if (s->cleaner == NULL || s->cleaner[0] != '/' || access(s->cleaner, X_OK) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "--cleaner: an executable absolute path is required");
    if (s->state_url == NULL || jb_check_label(s->state_url, PATH_MAX, detail, sizeof(detail)))
        return jb_err(err, errlen, JB_ERR_INVALID, "--state: required");
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text, mode_t mode, char *err,
                      size_t errlen)
{
    char path[PATH_MAX];

    if (jb_path_join(path, sizeof(path), dir, name) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--dir: path too long");
    return jb_file_create(path, text, strlen(text), mode, err, errlen);
}

static int write_pid(const char *dir, const char *name, pid_t pid, char *err, size_t errlen)
{
    char text[32], path[PATH_MAX];

    snprintf(text, sizeof(text), "%ld\n", (long)pid);
    if (jb_path_join(path, sizeof(path), dir, name) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--dir: path too long");
    return jb_file_replace(path, text, strlen(text), 0600, err, errlen);
}

/* The key's options: reached from the allowed CIDR only, nothing but
 * forwarding (whatever the client asks to run, /bin/true runs instead), and
 * that only to the --permit-open targets when given (validated: no quote or
 * comma can end an option early). */
static int key_options(const struct jb_box_spec *s, char *out, size_t outlen)
{
    size_t pos;
    int n = snprintf(out, outlen,
                     "from=\"%s\",restrict,port-forwarding,command=\"" JB_SSH_FORCED_COMMAND "\"",
                     s->allow_cidr);

    if (n < 0 || (size_t)n >= outlen)
        return -1;
    pos = (size_t)n;
    for (size_t i = 0; i < s->permit.n; i++) {
        n = snprintf(out + pos, outlen - pos, ",permitopen=\"%s\"", s->permit.t[i]);
        if (n < 0 || (size_t)n >= outlen - pos)
            return -1;
        pos += (size_t)n;
    }
    return 0;
}

static int write_config(const struct jb_box_spec *s, char *err, size_t errlen)
{
    char *cfg = NULL, *auth = NULL, *key = NULL, pub[JB_PUBLIC_LINE_MAX + 1];
    char opts[128 + JB_PERMIT_MAX * (JB_TARGET_MAX + 16)];
    struct jb_keypair *host = NULL;
    int rc;

    if (key_options(s, opts, sizeof(opts)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "authorized key options too long");
    /* Hardened like the AWS box, but for whoever runs it on this machine. */
    if (asprintf(&cfg,
                 "# jumpbox local jump box for stack %s\n"
                 "ListenAddress 127.0.0.1:%d\n"
                 "HostKey %s/ssh_host_ed25519_key\n"
                 "HostKeyAlgorithms ssh-ed25519\n"
                 "PidFile none\n"
                 "AuthorizedKeysFile %s/authorized_keys\n"
                 "AllowUsers %s\n"
                 "PermitRootLogin %s\n"
                 "PubkeyAuthentication yes\n"
                 "PasswordAuthentication no\n"
                 "KbdInteractiveAuthentication no\n"
                 "UsePAM no\n"
                 "AllowAgentForwarding no\n"
                 "X11Forwarding no\n"
                 /* A jump box forwards and does nothing else: no command,
                  * shell, subsystem or TTY (the key's options say it too). */
                 "ForceCommand " JB_SSH_FORCED_COMMAND "\n"
                 "PermitTTY no\n"
                 "AllowTcpForwarding local\n"
                 "AllowStreamLocalForwarding no\n"
                 "GatewayPorts no\n"
                 "PermitTunnel no\n"
                 "PermitUserEnvironment no\n"
                 "PermitUserRC no\n"
                 /* As userdata/sshd-jumpbox.conf.tftpl, which says why. */
                 "KexAlgorithms " JB_SSH_KEX "\n"
                 "Ciphers " JB_SSH_CIPHERS "," JB_SSH_PROBE_CIPHERS "\n"
                 "MACs " JB_SSH_MACS "," JB_SSH_PROBE_MACS "\n"
                 "Compression no\n"
                 "LoginGraceTime 20\n"
                 "MaxAuthTries 3\n"
                 "ClientAliveInterval 30\n"
                 "PrintMotd no\n"
                 /* DEBUG1: only there does sshd name the target of each
                  * forwarded connection, which the audit record keeps. */
                 "LogLevel DEBUG1\n"
                 /* The files are ours, 0600 in a 0700 directory; StrictModes
                  * would also walk parents such as /tmp. */
                 "StrictModes no\n",
                 s->stack_id, s->port, s->dir, s->dir, s->user,
                 strcmp(s->user, "root") == 0 ? "prohibit-password" : "no") < 0 ||
        asprintf(&auth, "%s %s\n", opts, s->public_key) < 0) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* The host key is born here and its private half never leaves this
     * directory; the provisioner pins the public half it finds beside it
     * (lib/stack/box_identity.h), written last: once it is there, so is
     * everything sshd needs. */
    if ((rc = jb_keypair_new(&host, err, errlen)) != 0 ||
        (rc = jb_key_private_text(host, s->stack_id, &key, NULL, err, errlen)) != 0)
        goto out;
    jb_key_public_line(host->pk, s->stack_id, pub, sizeof(pub) - 1);
    strcat(pub, "\n");
    if ((rc = write_text(s->dir, "sshd_config", cfg, 0600, err, errlen)) != 0 ||
        (rc = write_text(s->dir, "authorized_keys", auth, 0600, err, errlen)) != 0 ||
        (rc = write_text(s->dir, "ssh_host_ed25519_key", key, 0600, err, errlen)) != 0 ||
        (rc = write_text(s->dir, "host_key.pub", pub, 0644, err, errlen)) != 0)
        goto out;
out:
    jb_keypair_free(host);
    jb_secret_free(key);
    free(cfg);
    free(auth);
    return rc;
}

static const char *sshd_path(void)
{
    const char *p = getenv("JUMPBOX_SSHD");

    return p && *p ? p : "/usr/sbin/sshd";
}

static int sshd_check(const char *cfgpath, int log_fd, char *err, size_t errlen)
{
    char *const argv[] = {(char *)sshd_path(), "-t", "-f", (char *)cfgpath, NULL};
    char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct jb_proc_opts o = {0};
    int status, rc;

    o.path = sshd_path();
    o.argv = argv;
    o.envp = envp;
    o.timeout_ms = 20000;
    o.log_fd = log_fd;
    if ((rc = jb_proc_run(&o, &status, NULL, err, errlen)) != 0)
        return rc;
    if (status != 0)
        return jb_err(err, errlen, JB_ERR_SYSTEM, "sshd -t rejected the configuration (exit %d)",
                      status);
    return 0;
}

/* A daemon: own session, stdio on /dev/null or the log, no inherited fds. */
static void detach(int log_fd)
{
    int null_fd = open("/dev/null", O_RDWR);

    setsid();
    dup2(null_fd, 0);
    dup2(log_fd >= 0 ? log_fd : null_fd, 1);
    dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    for (int fd = 3; fd < 1024; fd++)
        if (fd != log_fd)
            close(fd);
}

static int start_sshd(const char *dir, pid_t *pid, char *err, size_t errlen)
{
    char cfg[PATH_MAX], log[PATH_MAX];
    char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    pid_t p;

    if (jb_path_join(cfg, sizeof(cfg), dir, "sshd_config") != 0 ||
        jb_path_join(log, sizeof(log), dir, "sshd.log") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "--dir: path too long");
    if ((p = fork()) < 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "fork");
    if (p == 0) {
        char *const argv[] = {(char *)sshd_path(), "-D", "-f", cfg, "-E", log, NULL};
        detach(-1);
        execve(sshd_path(), argv, envp);
        _exit(127);
    }
    *pid = p;
    return 0;
}

static int wait_listening(int port, pid_t pid, int timeout_ms)
{
    struct sockaddr_in sa = {0};

    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
        if (fd < 0)
            return -1;
        ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (ok)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1; /* sshd exited: the port is someone else's, or config is bad */
        poll(NULL, 0, 50);
    }
    return -1;
}

/* The command line of pid, NULs turned into newlines ("" when gone), and
 * only for a process of ours (same user). */
static int read_cmdline(pid_t pid, char *buf, size_t len)
{
    char path[64];
    struct stat st;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
    if (stat(path, &st) != 0 || st.st_uid != geteuid())
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = '\n';
    return 0;
}

/* word occurs in cmd as a whole argument: after the start, a newline or a
 * space (sshd rewrites its title with spaces), and before the end, a
 * newline or a space.  "boxes/ab" is then not found in "boxes/abc". */
static int has_arg(const char *cmd, const char *before, const char *word)
{
    size_t bl = strlen(before), wl = strlen(word);

    for (const char *p = cmd; (p = strstr(p, word)) != NULL; p++) {
        const char *b = p - bl;
        char after = p[wl];
        if (b < cmd || strncmp(b, before, bl) != 0)
            continue;
        if ((b == cmd || b[-1] == '\n' || b[-1] == ' ') &&
            (after == '\0' || after == '\n' || after == ' '))
            return 1;
    }
    return 0;
}

/* Is pid the sshd we started for dir (-f DIR/sshd_config) or its TTL
 * timer (jumpbox-localbox up ... --dir DIR)?  An exact argument, not a
 * prefix, and a process of ours: guards against pid reuse and against a box
 * whose name extends this one's. */
static int pid_is_ours(pid_t pid, const char *dir)
{
    char buf[8192], cfg[PATH_MAX + 16], *nl;

    if (pid <= 1 || read_cmdline(pid, buf, sizeof(buf)) != 0)
        return 0;
    if (snprintf(cfg, sizeof(cfg), "%s/sshd_config", dir) < (int)sizeof(cfg) &&
        (has_arg(buf, "-f\n", cfg) || has_arg(buf, "-f ", cfg)))
        return 1;
    if ((nl = strchr(buf, '\n')) == NULL || strncmp(nl, "\nup\n", 4) != 0)
        return 0;
    return has_arg(buf, "--dir\n", dir);
}

static pid_t read_pid(const char *dir, const char *name)
{
    char path[PATH_MAX], *text = NULL;
    long v = 0;

    if (jb_path_join(path, sizeof(path), dir, name) != 0 ||
        jb_file_read(path, 64, &text, NULL, NULL, 0) != 0)
        return 0;
    v = strtol(text, NULL, 10);
    free(text);
    return v > 1 ? (pid_t)v : 0;
}

static void stop_pid(pid_t pid, const char *dir)
{
    if (pid <= 1 || !pid_is_ours(pid, dir))
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {
        waitpid(pid, NULL, WNOHANG); /* ours when down runs from the timer */
        poll(NULL, 0, 50);
        if (!pid_is_ours(pid, dir))
            return;
    }
    if (pid_is_ours(pid, dir))
        kill(pid, SIGKILL);
}

static int run_cleaner(const struct jb_box_spec *s, const char *reason, int log_fd)
{
    char *const argv[] = {"cleaner",           "destroy",      "--stack-id",
                          (char *)s->stack_id, "--state",      (char *)s->state_url,
                          "--reason",          (char *)reason, NULL};
    struct jb_proc_opts o = {0};
    int status = -1;

    o.path = s->cleaner;
    o.argv = argv;
    o.envp = environ; /* JB_HOST_PRIVATE_KEY was removed in main() */
    o.timeout_ms = CLEANER_TIMEOUT_S * 1000;
    o.log_fd = log_fd;
    if (jb_proc_run(&o, &status, NULL, NULL, 0) != 0)
        return -1;
    return status;
}

/* The box's end by its own clock as its lease says now: its expiry, which
 * only ever moves later (an extension; an earlier one in the lease is not
 * the box's to follow, the sweeper judges that), or, once ready, its
 * keep-alive when that comes first; never past cap.  *expires keeps the
 * latest expiry seen.  What it was when the lease cannot be read or is not
 * ready (being made, or being destroyed already). */
static time_t follow_lease(const struct jb_box_spec *s, const struct jb_state *st, time_t end,
                           time_t *expires, time_t cap, const char **why, int log_fd)
{
    struct jb_lease l;
    char was[JB_RFC3339_LEN], now[JB_RFC3339_LEN];
    time_t next = end;
    const char *reason = *why;

    memset(&l, 0, sizeof(l));
    if (jb_lease_get(st, s->stack_id, &l, NULL, 0) == 0 && strcmp(l.status, "ready") == 0) {
        if (l.expires_at > *expires)
            *expires = l.expires_at;
        next = *expires;
        reason = "ttl";
        if (l.alive_until != 0 && l.alive_until < next) {
            next = l.alive_until;
            reason = "keepalive";
        }
    }
    jb_lease_clear(&l);
    if (next > cap) {
        next = cap;
        reason = "ttl";
    }
    if (next != end) {
        jb_format_rfc3339(end, was);
        jb_format_rfc3339(next, now);
        dprintf(log_fd, "jumpbox-localbox: %s ends at %s (%s), was %s\n", s->stack_id, now, reason,
                was);
    }
    *why = reason;
    return next;
}

/* The TTL, armed from inside the box: at its end (the lease's expiry or
 * keep-alive, re-read every few seconds) ask the cleaner to destroy the
 * stack; if the box still runs after that, stop sshd ourselves. */
static void timer_main(const struct jb_box_spec *s, time_t expires, pid_t sshd_pid, int log_fd)
{
    /* The cap counts from the box's start, whatever the lease says. */
    time_t cap = time(NULL) + (s->max_ttl_s > 0 ? s->max_ttl_s : 24 * 3600);
    time_t end = expires < cap ? expires : cap;
    char fired[PATH_MAX], armed[PATH_MAX];
    char stamp[JB_RFC3339_LEN];
    const char *why = "ttl";
    struct jb_state st;
    int status, have_state = jb_state_parse(s->state_url, &st, NULL, 0) == 0;
    /* A file costs nothing to read; S3 answers each read with a request. */
    int poll_s = have_state && jb_store_is_remote(&st) ? 10 : 2;

    for (;;) {
        time_t now = time(NULL);
        struct timespec at = {end < now + poll_s ? end : now + poll_s, 0};

        if (now >= end)
            break;
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
        if (have_state)
            end = follow_lease(s, &st, end, &expires, cap, &why, log_fd);
    }
    /* From here `down` must not kill us: we are the one destroying. */
    if (jb_path_join(armed, sizeof(armed), s->dir, "timer.pid") == 0 &&
        jb_path_join(fired, sizeof(fired), s->dir, "timer.fired") == 0)
        rename(armed, fired);
    jb_format_rfc3339(time(NULL), stamp);
    dprintf(log_fd, "%s jumpbox-localbox: %s reached for %s, running cleaner\n", stamp,
            strcmp(why, "keepalive") == 0 ? "keep-alive" : "TTL", s->stack_id);
    status = run_cleaner(s, why, log_fd);
    if (pid_is_ours(sshd_pid, s->dir)) {
        dprintf(log_fd, "jumpbox-localbox: cleaner exited %d and sshd still runs: stopping it\n",
                status);
        stop_pid(sshd_pid, s->dir);
    }
    _exit(status == 0 ? 0 : 1);
}

static int start_timer(const struct jb_box_spec *s, time_t expires, pid_t sshd_pid, char *err,
                       size_t errlen)
{
    int log_fd = -1;
    pid_t p;

    if (s->log) {
        log_fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
        if (log_fd < 0)
            return jb_err_errno(err, errlen, JB_ERR_IO, "--log %s", s->log);
    }
    if ((p = fork()) < 0) {
        if (log_fd >= 0)
            close(log_fd);
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "fork");
    }
    if (p == 0) {
        detach(log_fd);
        timer_main(s, expires, sshd_pid, log_fd >= 0 ? log_fd : 2);
    }
    if (log_fd >= 0)
        close(log_fd);
    return write_pid(s->dir, "timer.pid", p, err, errlen);
}

int jb_box_up(const struct jb_box_spec *s, char *err, size_t errlen)
{
    char cfgpath[PATH_MAX], parent[PATH_MAX], *slash;
    time_t expires;
    pid_t sshd = 0;
    int rc;

    if ((rc = check_spec(s, &expires, err, errlen)) != 0)
        return rc;
    if (expires <= time(NULL))
        return jb_err(err, errlen, JB_ERR_INVALID, "--expires-at: already in the past");
    snprintf(parent, sizeof(parent), "%s", s->dir);
    if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
        *slash = '\0';
        if ((rc = jb_mkdir_p(parent, 0700, err, errlen)) != 0)
            return rc;
    }
    /* A leftover of an earlier run of this stack is stopped first. */
    jb_box_down(s->dir, NULL, NULL, NULL, 0);
    if (mkdir(s->dir, 0700) != 0)
        return jb_err_errno(err, errlen, JB_ERR_IO, "mkdir %s", s->dir);
    if (geteuid() == 0 && mkdir("/run/sshd", 0755) != 0 && errno != EEXIST)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "mkdir /run/sshd");
    if ((rc = write_config(s, err, errlen)) != 0)
        goto fail;
    if (jb_path_join(cfgpath, sizeof(cfgpath), s->dir, "sshd_config") != 0) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "--dir: path too long");
        goto fail;
    }
    if ((rc = sshd_check(cfgpath, 2, err, errlen)) != 0 ||
        (rc = start_sshd(s->dir, &sshd, err, errlen)) != 0 ||
        (rc = write_pid(s->dir, "sshd.pid", sshd, err, errlen)) != 0)
        goto fail;
    if (wait_listening(s->port, sshd, 10000) != 0) {
        rc = jb_err(err, errlen, JB_ERR_SYSTEM,
                    "sshd did not start listening on 127.0.0.1:%d (see %s/sshd.log)", s->port,
                    s->dir);
        goto fail;
    }
    if ((rc = start_timer(s, expires, sshd, err, errlen)) != 0)
        goto fail;
    return 0;
fail:
    jb_box_down(s->dir, NULL, NULL, NULL, 0);
    return rc;
}

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *close_paren;
    ssize_t n;
    long ppid = 0;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold anything, even ")". */
    if ((close_paren = strrchr(buf, ')')) == NULL ||
        sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
        return 0;
    return (pid_t)ppid;
}

/* Our own process and its ancestors: a timer that fired runs the cleaner
 * whose destroy runs us, and it must not be stopped from below. */
static int is_self_or_ancestor(pid_t pid)
{
    for (pid_t p = getpid(); p > 1; p = parent_of(p))
        if (p == pid)
            return 1;
    return 0;
}

/* Stops every process of ours serving dir that the pid files did not name
 * (the directory removed behind our back, a pid file lost, an `up` killed
 * between forking its timer and writing timer.pid): its sshd and its timer.
 * Spared: spare (the timer that fired, running its cleaner, with the child it
 * has forked for that) and our own ancestors.  Found by /proc, exact
 * arguments only. */
static void stop_strays(const char *dir, pid_t spare)
{
    DIR *d = opendir("/proc");
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char *end = NULL;
        long v = strtol(de->d_name, &end, 10);
        if (v <= 1 || *end != '\0' || is_self_or_ancestor((pid_t)v))
            continue;
        if (spare > 1 && ((pid_t)v == spare || parent_of((pid_t)v) == spare))
            continue;
        if (pid_is_ours((pid_t)v, dir))
            stop_pid((pid_t)v, dir);
    }
    closedir(d);
}

/* sshd has stopped: its log is whole.  Best effort (see box.h). */
static void ship_log(const char *dir, const char *stack_id, const char *state_url)
{
    char path[PATH_MAX], detail[JB_ERRLEN], *text = NULL;
    struct jb_state st;
    size_t len = 0;
    int rc;

    if (jb_path_join(path, sizeof(path), dir, "sshd.log") != 0)
        rc = jb_err(detail, sizeof(detail), JB_ERR_INVALID, "--dir: path too long");
    else if ((rc = jb_check_stack_id(stack_id, detail, sizeof(detail))) == 0 &&
             (rc = jb_state_parse(state_url, &st, detail, sizeof(detail))) == 0 &&
             (rc = jb_file_read(path, 64L * 1024 * 1024, &text, &len, detail, sizeof(detail))) == 0)
        rc = jb_audit_put_text(&st, stack_id, "box.sshd_log", text, len, detail, sizeof(detail));
    free(text);
    if (rc == JB_ERR_NOTFOUND)
        return; /* sshd never ran: nothing to ship */
    if (rc != 0)
        fprintf(stderr,
                "jumpbox-localbox down: warning: the sshd log of %s was not shipped to "
                "the audit records: %s\n",
                stack_id, detail);
}

int jb_box_down(const char *dir, const char *stack_id, const char *state_url, char *err,
                size_t errlen)
{
    struct stat st;

    if (dir == NULL || dir[0] != '/')
        return jb_err(err, errlen, JB_ERR_INVALID, "--dir: an absolute path is required");
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT)
            return jb_err_errno(err, errlen, JB_ERR_IO, "%s", dir);
        /* No pid files to go by, but the box may still run. */
        stop_strays(dir, 0);
        return 0;
    }
    stop_pid(read_pid(dir, "timer.pid"), dir);
    stop_pid(read_pid(dir, "sshd.pid"), dir);
    /* A timer that fired (timer.fired) is left to finish its cleaner run;
     * an sshd or a timer that no pid file names is not left running. */
    stop_strays(dir, read_pid(dir, "timer.fired"));
    if (stack_id && state_url)
        ship_log(dir, stack_id, state_url);
    return jb_rm_tree(dir, err, errlen);
}
