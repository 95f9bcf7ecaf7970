/* Pieces both command-line programs share (cli.h): the --state
 * default, the requester's name, signal handling, the clock of progress
 * lines. */
#include "stack/cli.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/parse.h"
#include "stack/store.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

volatile sig_atomic_t jb_cli_stop;
sigset_t jb_cli_ignored;

static void on_signal(int sig)
{
    jb_cli_stop = sig;
}

/* Every signal whose default is to end the process, but those that mean we
 * have a bug (SIGSEGV, SIGABRT and the like: dying is right then), SIGKILL,
 * and SIGPIPE (ignored: a write says EPIPE instead).  The real-time ones
 * are added by the loop below. */
static const int ending[] = {SIGHUP,    SIGINT,  SIGQUIT, SIGTERM, SIGUSR1,   SIGUSR2, SIGALRM,
                             SIGVTALRM, SIGPROF, SIGIO,   SIGPWR,  SIGSTKFLT, SIGXCPU, SIGXFSZ};

static void catch_one(int sig, const struct sigaction *sa)
{
    struct sigaction old;

    if (sigaction(sig, NULL, &old) != 0)
        return;
    /* Our caller's choice (nohup's SIGHUP) stands, and reaches our children. */
    if (old.sa_handler == SIG_IGN)
        sigaddset(&jb_cli_ignored, sig);
    else
        sigaction(sig, sa, NULL);
}

void jb_cli_catch_signals(void)
{
    static int done;
    struct sigaction sa, old;

    if (done++)
        return;
    sigemptyset(&jb_cli_ignored);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(ending) / sizeof(ending[0]); i++)
        catch_one(ending[i], &sa);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        catch_one(sig, &sa);
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
        sigaddset(&jb_cli_ignored, SIGPIPE);
    signal(SIGPIPE, SIG_IGN);
}

int jb_cli_state(const struct jb_settings *s, const char *url, struct jb_state *st, char *err,
                 size_t errlen)
{
    int rc = url ? jb_state_parse(url, st, err, errlen)
                 : jb_state_default(s->xdg_state_home, s->home, st, err, errlen);

    if (rc != 0)
        return JB_ERR_INVALID;
    return jb_store_prepare(st, err, errlen);
}

/* "user@host" of whoever runs us, for leases and the audit log. */
static const char *default_requester(const char *u, char *buf, size_t buflen)
{
    char host[64];
    struct passwd *pw = (u && *u) ? NULL : getpwuid(geteuid());

    if (pw)
        u = pw->pw_name;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, buflen, "%s@%s", u && *u ? u : "unknown", host);
    return buf;
}

int jb_cli_requester(const struct jb_settings *s, const char *given, char *buf, size_t buflen,
                     char *err, size_t errlen)
{
    if (given == NULL) {
        default_requester(s->user, buf, buflen);
    } else if (strlen(given) >= buflen) {
        return jb_err(err, errlen, JB_ERR_INVALID, "longer than %zu bytes", buflen - 1);
    } else {
        memcpy(buf, given, strlen(given) + 1);
    }
    return jb_check_label(buf, 128, err, errlen);
}

double jb_cli_elapsed(void)
{
    static long long start;
    long long now = jb_clock_mono_ms();

    if (start == 0)
        start = now;
    return (double)(now - start) / 1e3;
}
