/* Small pieces both command-line programs share.  Only the command table
 * and the option helpers print: they speak for the command that calls them,
 * so its usage, its bad-input lines and its exit statuses are worded once
 * for every command of both programs. */
#ifndef JB_CLI_H
#define JB_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>

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

/* --state URL, or the default; parsed and checked usable.  JB_ERR_INVALID
 * with the reason when it can't be used (exit 2); another error when S3
 * failed to answer (exit 1: the input may be fine). */
int jb_cli_state(const char *url, struct jb_state *st, char *err, size_t errlen);

/* "user@host" of whoever runs us, for leases and the audit log. */
const char *jb_cli_default_requester(char *buf, size_t buflen);

/* --requester as given (a label of at most 128 bytes), or the default,
 * into buf.  JB_ERR_INVALID with the reason when it is not usable. */
int jb_cli_requester(const char *given, char *buf, size_t buflen, char *err, size_t errlen);

/* Seconds since the first call, for progress lines. */
double jb_cli_elapsed(void);

/* A program's commands, git's commands[] the model. */
struct jb_cli_command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command's name */
};

struct jb_cli_program {
    const char *usage;                     /* --help, -h, help: on stdout; no command: on stderr */
    const char *version;                   /* --version prints it, "provisioner 1.2.3" */
    const char *name;                      /* "provisioner", in the unknown-command line */
    const struct jb_cli_command *commands; /* ends with a NULL name */
};

/* Runs the command argv[1] names, or answers --help, -h, help and
 * --version; the exit status (2 for no or an unknown command). */
int jb_cli_main(const struct jb_cli_program *prog, int argc, char **argv);

enum {
    JB_CLI_SEE_HELP = 1, /* the unknown-option line ends "(see --help)" */
    JB_CLI_OPERANDS = 2, /* arguments may follow the options (run's COMMAND) */
};

/* One command's voice: every line it prints on bad input starts with name.
 * The unknown-option line was worded three ways before there was one
 * helper; flags and unknown keep each command's wording as it was. */
struct jb_cli_cmd {
    const char *name;    /* "provisioner create", or "jumpbox" for run */
    const char *usage;   /* what --help prints on stdout */
    int bad_status;      /* the exit status of bad input: 2, run's 125 */
    unsigned flags;      /* JB_CLI_* */
    const char *unknown; /* the unknown-option detail; NULL: the usual one */
};

/* The next option for the caller's switch, or 0 once there are no more
 * (a `--`, an operand or the end); lopts' option of value 'h' is --help.
 * At 0, *status is -1 when the command goes on, else its exit status:
 * --help printed the usage (0); an unknown option, a missing value or,
 * without JB_CLI_OPERANDS, an argument was said on stderr
 * (cmd->bad_status).  The caller reads its operands from argv[optind]. */
int jb_cli_opt(const struct jb_cli_cmd *cmd, int argc, char **argv, const struct option *lopts,
               int *status);

/* "NAME: FIELD: DETAIL" on stderr; cmd->bad_status. */
int jb_cli_bad(const struct jb_cli_cmd *cmd, const char *field, const char *detail);

/* jb_cli_state for cmd, a failure said: -1 when st is usable, else the exit
 * status (cmd->bad_status for a --state that can't be used, 1 when the
 * store failed to answer). */
int jb_cli_state_for(const struct jb_cli_cmd *cmd, const char *url, struct jb_state *st);

#endif
