/* Child processes without a shell: execve with an argv array and an
 * explicit environment, in their own process group, with a deadline. */
#ifndef JB_PROC_H
#define JB_PROC_H

#include <signal.h>
#include <stddef.h>

struct jb_proc_opts {
    const char *path;   /* absolute path of the program */
    char *const *argv;  /* argv[0] included, NULL-terminated */
    char *const *envp;  /* the whole environment, NULL-terminated */
    const char *cwd;    /* NULL: inherit */
    int timeout_ms;     /* 0: none.  On expiry: SIGTERM, then SIGKILL */
    int kill_grace_ms;  /* between SIGTERM and SIGKILL; 0 means 10 s */
    int log_fd;         /* stderr (and stdout unless captured) go here; -1: /dev/null */
    size_t capture_max; /* > 0: capture stdout up to this many bytes */
    /* With capture_max, for output that holds secrets (a credential
     * process's keys): the capture is one jb_secret_alloc'd buffer of
     * capture_max + 1 bytes, taken before the fork, never copied to plain
     * heap memory; release it with jb_secret_free, not free(). */
    int capture_secret;
    /* With capture_max: stdout past capture_max bytes stops the child as a
     * timeout does, and jb_proc_run returns JB_ERR_PARSE (otherwise the rest
     * is read and dropped while the child runs on). */
    int capture_stop;
    int *wait_status; /* non-NULL: gets waitpid's status, to tell exit 130 from SIGINT */
    volatile sig_atomic_t *cancel; /* non-zero: stop the child like a timeout */
    int pass_fd;                   /* > 0: the child gets it as fd 3 (/dev/fd/3) */
    /* A command a person asked for (provisioner run), not a helper of ours:
     * stdin, stdout and stderr are inherited (a tty stays a tty) and it stays
     * in our process group, so the terminal's job control reaches it as it
     * would without us; signals then go to the child alone, not a group
     * (log_fd and capture_max are not used). */
    int foreground;
    /* With foreground: the signals the child starts with ignored (those our
     * own caller ignored, as nohup does); every other signal starts at its
     * default, though we ignore some for ourselves (SIGPIPE).  NULL: none. */
    const sigset_t *ignored;
    int cancel_forward; /* on *cancel, send the signal number *cancel holds, not SIGINT */
    /* Called about every 100 ms while the child runs (cb_ctx). */
    void (*tick)(void *cb_ctx);
    /* With foreground: stdout and stderr come through pipes to this, as
     * they arrive (fd 1 or 2), instead of being inherited. */
    void (*output)(void *cb_ctx, int fd, const char *buf, size_t len);
    void *cb_ctx;
};

/* Runs the child to completion.  Returns 0 when it ran (its exit status in
 * *status, or 128+signal when a signal ended it), JB_ERR_TIMEOUT or
 * JB_ERR_CANCELLED when it was stopped, or another error.  When the program
 * could not be executed at all: JB_ERR_SYSTEM, err naming it and why, errno
 * the reason, and *status 127 when it is not there (ENOENT), else 126, as
 * shells say it.  With capture_max, *out gets stdout (NUL-terminated; free(),
 * or jb_secret_free with capture_secret) even on failure; NULL only when
 * memory ran out. */
int jb_proc_run(const struct jb_proc_opts *o, int *status, char **out, char *err, size_t errlen);

/* Finds prog on PATH (from envp, or the default PATH) unless it holds '/'. */
int jb_proc_which(const char *prog, char *const *envp, char *out, size_t outlen);

/* A NULL-terminated string vector that grows; for argv and envp. */
struct jb_strv {
    char **v;
    size_t n, cap;
};
int jb_strv_add(struct jb_strv *sv, const char *s);
int jb_strv_addf(struct jb_strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds name=value from env when name is set there. */
int jb_strv_pass(struct jb_strv *sv, char *const *env, const char *name);
const char *jb_strv_get(char *const *env, const char *name);
void jb_strv_free(struct jb_strv *sv);

#endif
