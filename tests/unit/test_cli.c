/* jb_cli_catch_signals: every signal that would end the process is caught
 * instead (so a teardown or a rollback runs), and one our caller ignored
 * stays ignored and is named in jb_cli_ignored.  The dispositions this
 * test relies on it sets itself, whatever it inherited. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "stack/cli.h"

#include <signal.h>
#include <string.h>

static void set(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static void test_every_ending_signal_is_caught_and_ignored_ones_stay(void **state)
{
    const int ending[] = {SIGHUP,  SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGALRM,  SIGVTALRM,
                          SIGPROF, SIGIO,  SIGPWR,  SIGXCPU, SIGXFSZ, SIGRTMIN, SIGRTMAX};
    struct sigaction cur;
    (void)state;

    /* As a shell would start us, but for nohup's SIGHUP... */
    for (size_t i = 0; i < sizeof(ending) / sizeof(ending[0]); i++)
        set(ending[i], SIG_DFL);
    set(SIGPIPE, SIG_DFL);
    set(SIGUSR2, SIG_IGN);
    jb_cli_catch_signals();
    /* ...each of these would have ended the process: now it is noted. */
    for (size_t i = 0; i < sizeof(ending) / sizeof(ending[0]); i++) {
        jb_cli_stop = 0;
        assert_int_equal(raise(ending[i]), 0);
        assert_int_equal(jb_cli_stop, ending[i]);
        assert_int_equal(sigismember(&jb_cli_ignored, ending[i]), 0);
    }
    /* The caller's SIG_IGN stands, and is told to our children. */
    jb_cli_stop = 0;
    assert_int_equal(raise(SIGUSR2), 0);
    assert_int_equal(jb_cli_stop, 0);
    assert_int_equal(sigismember(&jb_cli_ignored, SIGUSR2), 1);
    /* SIGPIPE is ignored for ourselves; our caller did not. */
    assert_int_equal(sigaction(SIGPIPE, NULL, &cur), 0);
    assert_true(cur.sa_handler == SIG_IGN);
    assert_int_equal(sigismember(&jb_cli_ignored, SIGPIPE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_ending_signal_is_caught_and_ignored_ones_stay),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
