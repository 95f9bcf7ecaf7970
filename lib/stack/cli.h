/* Small pieces both command-line programs share.  Nothing here prints. */
#ifndef JB_CLI_H
#define JB_CLI_H

#include <signal.h>
#include <stddef.h>

#include "stack/settings.h"
#include "stack/state.h"

/* Set to the signal's number by any signal that would end the process
 * (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGALRM, the real-time ones...;
 * not SIGKILL, nor the ones a bug raises, such as SIGSEGV) once
 * jb_cli_catch_signals ran: long steps stop and roll back instead of dying
 * half-way, and `provisioner run` forwards it to its command.  A signal our
 * caller ignored stays ignored (nohup) and is in jb_cli_ignored, to be
 * ignored by our children too; SIGPIPE is ignored either way. */
extern volatile sig_atomic_t jb_cli_stop;
extern sigset_t jb_cli_ignored;
void jb_cli_catch_signals(void);

/* --state URL, or the default (jb_state_default from s); parsed and
 * checked usable.  JB_ERR_INVALID with the reason when it can't be used
 * (exit 2); another error when S3 failed to answer (exit 1: the input may
 * be fine). */
int jb_cli_state(const struct jb_settings *s, const char *url, struct jb_state *st, char *err,
                 size_t errlen);

/* --requester as given (a label of at most 128 bytes), or the default
 * (USER from s, else the effective user's name, "@" the host name), into
 * buf.  JB_ERR_INVALID with the reason when it is not usable. */
int jb_cli_requester(const struct jb_settings *s, const char *given, char *buf, size_t buflen,
                     char *err, size_t errlen);

/* Seconds since the first call, for progress lines. */
double jb_cli_elapsed(void);

#endif
