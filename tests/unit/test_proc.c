/* lib/base/proc against real children (/bin/sh): what `provisioner run` needs
 * of it -- output pumped byte for byte, signals forwarded then SIGKILL
 * after the grace, exec failures told apart as 126/127 -- and the capture
 * the Terraform runner relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/proc.h"
#include "base/secret.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct seen {
    char out[300000], err[4096];
    size_t out_len, err_len;
    int ticks;
    volatile sig_atomic_t *cancel; /* set to SIGTERM once the child wrote something */
};

static void on_output(void *ctx, int fd, const char *buf, size_t len)
{
    struct seen *s = ctx;
    char *dst = fd == 1 ? s->out : s->err;
    size_t *n = fd == 1 ? &s->out_len : &s->err_len;
    size_t cap = fd == 1 ? sizeof(s->out) : sizeof(s->err);

    assert_true(*n + len <= cap);
    memcpy(dst + *n, buf, len);
    *n += len;
    if (s->cancel)
        *s->cancel = SIGTERM;
}

static void on_tick(void *ctx)
{
    ((struct seen *)ctx)->ticks++;
}

static int sh(const char *script, struct jb_proc_opts *o, int *status, char *err)
{
    char *const argv[] = {"sh", "-c", (char *)script, NULL};
    char *const envp[] = {"PATH=/usr/bin:/bin", NULL};

    o->path = "/bin/sh";
    o->argv = argv;
    o->envp = envp;
    return jb_proc_run(o, status, NULL, err, JB_ERRLEN);
}

static void test_foreground_pumps_every_byte(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN];
    int status;
    (void)state;

    o.foreground = 1;
    o.output = on_output;
    o.tick = on_tick;
    o.cb_ctx = s;
    /* More than a pipe holds, written as the child exits: none of it lost. */
    assert_int_equal(sh("head -c 200000 /dev/zero | tr '\\0' x; printf 'to stderr' >&2; exit 3", &o,
                        &status, err),
                     0);
    assert_int_equal(status, 3);
    assert_int_equal(s->out_len, 200000);
    assert_int_equal(s->out[0], 'x');
    assert_int_equal(s->out[199999], 'x');
    assert_int_equal(s->err_len, 9);
    assert_memory_equal(s->err, "to stderr", 9);
    assert_true(s->ticks >= 1);
    free(s);
}

static void test_exec_failures_are_126_and_127(void **state)
{
    char *const argv[] = {"x", NULL};
    char *const envp[] = {NULL};
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN], path[] = "/tmp/jb-proc-test-XXXXXX";
    int status, fd;
    (void)state;

    o.argv = argv;
    o.envp = envp;
    o.foreground = 1;
    o.path = "/nonexistent/jb-no-such-program";
    assert_int_equal(jb_proc_run(&o, &status, NULL, err, sizeof(err)), JB_ERR_SYSTEM);
    assert_int_equal(status, 127);
    assert_non_null(strstr(err, "could not run /nonexistent/jb-no-such-program"));
    assert_int_not_equal(fd = mkstemp(path), -1);
    close(fd); /* 0600: not executable */
    o.path = path;
    assert_int_equal(jb_proc_run(&o, &status, NULL, err, sizeof(err)), JB_ERR_SYSTEM);
    assert_int_equal(status, 126);
    unlink(path);
    /* Not in the foreground (the Terraform runner's way): the same. */
    o.foreground = 0;
    o.path = "/nonexistent/jb-no-such-program";
    assert_int_equal(jb_proc_run(&o, &status, NULL, err, sizeof(err)), JB_ERR_SYSTEM);
    assert_int_equal(status, 127);
}

/* The child dies of the very signal we were sent, whatever this test
 * inherited: SIGHUP is ignored here (as under nohup), not in o.ignored, so
 * the child starts with it at its default. */
static void test_the_signal_is_forwarded(void **state)
{
    volatile sig_atomic_t cancel = SIGHUP;
    struct jb_proc_opts o = {0};
    struct sigaction ign, saved;
    char err[JB_ERRLEN];
    int status, rc;
    (void)state;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGHUP, &ign, &saved), 0);
    o.foreground = 1;
    o.cancel = &cancel;
    o.cancel_forward = 1;
    o.kill_grace_ms = 300; /* an ignored SIGHUP would end in SIGKILL, soon */
    rc = sh("exec sleep 30", &o, &status, err);
    sigaction(SIGHUP, &saved, NULL);
    assert_int_equal(rc, JB_ERR_CANCELLED);
    assert_int_equal(status, 128 + SIGHUP);
}

/* What our caller ignored (o.ignored) the child ignores too, as nohup
 * means it to; what only we ignore is the default again. */
static void test_what_our_caller_ignored_stays_ignored(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));
    struct jb_proc_opts o = {0};
    struct sigaction ign, saved[3];
    const int sigs[3] = {SIGHUP, SIGPIPE, SIGUSR1};
    sigset_t callers;
    char err[JB_ERRLEN];
    unsigned long long mask;
    int status;
    (void)state;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    for (int i = 0; i < 3; i++)
        assert_int_equal(sigaction(sigs[i], &ign, &saved[i]), 0);
    sigemptyset(&callers);
    sigaddset(&callers, SIGHUP);
    sigaddset(&callers, SIGPIPE);
    o.foreground = 1;
    o.ignored = &callers;
    o.output = on_output;
    o.cb_ctx = s;
    assert_int_equal(sh("exec grep SigIgn /proc/self/status", &o, &status, err), 0);
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &saved[i], NULL);
    assert_int_equal(status, 0);
    assert_int_equal(sscanf(s->out, "SigIgn: %llx", &mask), 1);
    assert_int_not_equal(mask & (1ull << (SIGHUP - 1)), 0);
    assert_int_not_equal(mask & (1ull << (SIGPIPE - 1)), 0);
    assert_int_equal(mask & (1ull << (SIGUSR1 - 1)), 0);
    free(s);
}

static void test_sigkill_after_the_grace(void **state)
{
    volatile sig_atomic_t cancel = 0;
    struct seen *s = calloc(1, sizeof(*s));
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN];
    int status;
    (void)state;

    s->cancel = &cancel;
    o.foreground = 1;
    o.cancel = &cancel;
    o.cancel_forward = 1;
    o.kill_grace_ms = 300;
    o.output = on_output;
    o.cb_ctx = s;
    /* SIGTERM ignored (and so by sleep too), then the signal comes: only
     * SIGKILL ends it. */
    assert_int_equal(sh("trap '' TERM; echo ready; exec sleep 30", &o, &status, err),
                     JB_ERR_CANCELLED);
    assert_int_equal(status, 128 + SIGKILL);
    free(s);
}

static void test_sigpipe_is_the_default_again(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN];
    unsigned long long ign;
    int status;
    (void)state;

    /* We ignore SIGPIPE (the CLIs do), and an ignored signal stays ignored
     * across execve: COMMAND must see it as it would without us. */
    signal(SIGPIPE, SIG_IGN);
    o.foreground = 1;
    o.output = on_output;
    o.cb_ctx = s;
    assert_int_equal(sh("exec grep SigIgn /proc/self/status", &o, &status, err), 0);
    signal(SIGPIPE, SIG_DFL);
    assert_int_equal(status, 0);
    assert_int_equal(sscanf(s->out, "SigIgn: %llx", &ign), 1);
    assert_int_equal(ign & (1ull << (SIGPIPE - 1)), 0);
    free(s);
}

static void test_capture_still_works(void **state)
{
    char *const argv[] = {"sh", "-c", "echo captured; echo logged >&2", NULL};
    char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN], *out = NULL;
    int status;
    (void)state;

    o.path = "/bin/sh";
    o.argv = argv;
    o.envp = envp;
    o.log_fd = -1;
    o.capture_max = 1024;
    assert_int_equal(jb_proc_run(&o, &status, &out, err, sizeof(err)), 0);
    assert_int_equal(status, 0);
    assert_string_equal(out, "captured\n");
    free(out);
}

/* What the credential process source relies on: its output lands in one
 * locked buffer (jb_secret_free accepts it: sodium_free aborts on any other
 * pointer) and the cap holds in it. */
static void test_capture_secret_is_locked_memory_and_capped(void **state)
{
    char *const argv[] = {"sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x", NULL};
    char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN], *out = NULL;
    int status;
    (void)state;

    o.path = "/bin/sh";
    o.argv = argv;
    o.envp = envp;
    o.log_fd = -1;
    o.capture_max = 100;
    o.capture_secret = 1;
    assert_int_equal(jb_proc_run(&o, &status, &out, err, sizeof(err)), 0);
    assert_int_equal(status, 0);
    assert_int_equal(strlen(out), 100);
    assert_int_equal(out[99], 'x');
    jb_secret_free(out);
    /* Nothing captured is still a locked, empty string. */
    o.capture_max = 0;
    assert_int_equal(jb_proc_run(&o, &status, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "");
    jb_secret_free(out);
}

/* capture_stop: output past the cap stops the child long before its
 * deadline (`yes` never ends by itself). */
static void test_capture_stop_ends_a_child_that_prints_too_much(void **state)
{
    char *const argv[] = {"yes", NULL};
    char *const envp[] = {NULL};
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN], *out = NULL, path[256];
    int status;
    (void)state;

    assert_int_equal(jb_proc_which("yes", NULL, path, sizeof(path)), 0);
    o.path = path;
    o.argv = argv;
    o.envp = envp;
    o.log_fd = -1;
    o.timeout_ms = 600000;
    o.capture_max = 1000;
    o.capture_secret = 1;
    o.capture_stop = 1;
    assert_int_equal(jb_proc_run(&o, &status, &out, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "printed more than 1000 bytes"));
    assert_int_equal(status, 128 + SIGTERM);
    assert_int_equal(strlen(out), 1000);
    jb_secret_free(out);
    /* One byte too many, from a child that is gone before it is read. */
    for (int i = 0; i < 20; i++) {
        char *const hargv[] = {"head", "-c", "1001", "/dev/zero", NULL};
        assert_int_equal(jb_proc_which("head", NULL, path, sizeof(path)), 0);
        o.argv = hargv;
        /* (status: 0, or SIGTERM when it had not yet exited) */
        assert_int_equal(jb_proc_run(&o, &status, &out, err, sizeof(err)), JB_ERR_PARSE);
        jb_secret_free(out);
    }
}

static void test_wait_status_tells_an_exit_from_a_signal(void **state)
{
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN];
    int status, ws = 0;
    (void)state;

    o.log_fd = -1;
    o.wait_status = &ws;
    assert_int_equal(sh("exit 137", &o, &status, err), 0);
    assert_int_equal(status, 137);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 137);
    assert_int_equal(sh("kill -9 $$", &o, &status, err), 0);
    assert_int_equal(status, 137);
    assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
}

static void test_exec_failure_leaves_errno(void **state)
{
    char *const argv[] = {"x", NULL};
    char *const envp[] = {NULL};
    struct jb_proc_opts o = {0};
    char err[JB_ERRLEN], path[] = "/tmp/jb-proc-test-XXXXXX";
    int status, fd;
    (void)state;

    o.argv = argv;
    o.envp = envp;
    o.log_fd = -1;
    o.path = "/nonexistent/jb-no-such-program";
    errno = 0;
    assert_int_equal(jb_proc_run(&o, &status, NULL, err, sizeof(err)), JB_ERR_SYSTEM);
    assert_int_equal(errno, ENOENT);
    assert_int_not_equal(fd = mkstemp(path), -1);
    close(fd);
    o.path = path;
    errno = 0;
    assert_int_equal(jb_proc_run(&o, &status, NULL, err, sizeof(err)), JB_ERR_SYSTEM);
    assert_int_equal(errno, EACCES);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreground_pumps_every_byte),
        cmocka_unit_test(test_exec_failures_are_126_and_127),
        cmocka_unit_test(test_the_signal_is_forwarded),
        cmocka_unit_test(test_what_our_caller_ignored_stays_ignored),
        cmocka_unit_test(test_sigkill_after_the_grace),
        cmocka_unit_test(test_sigpipe_is_the_default_again),
        cmocka_unit_test(test_capture_still_works),
        cmocka_unit_test(test_capture_secret_is_locked_memory_and_capped),
        cmocka_unit_test(test_capture_stop_ends_a_child_that_prints_too_much),
        cmocka_unit_test(test_wait_status_tells_an_exit_from_a_signal),
        cmocka_unit_test(test_exec_failure_leaves_errno),
    };
    return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
