/* The command line of both programs, said once: the command table (git's
 * commands[] the model) and the option helper, which print a command's
 * usage and its bad-input lines for it.  Program code, linked into
 * provisioner and cleaner, not lib/: lib never prints. */
#ifndef JB_CMDLINE_H
#define JB_CMDLINE_H

#include <getopt.h>

#include "stack/settings.h"
#include "stack/state.h"

/* A program's commands, git's commands[] the model. */
struct jb_cmdline_command {
    const char *name;
    /* argv[0] is the command's name; s the settings main() read */
    int (*fn)(int argc, char **argv, const struct jb_settings *s);
};

struct jb_cmdline_program {
    const char *usage;   /* --help, -h, help: on stdout; no command: on stderr */
    const char *version; /* --version prints it, "provisioner 1.2.3" */
    const char *name;    /* "provisioner", in the unknown-command line */
    const struct jb_cmdline_command *commands; /* ends with a NULL name */
};

/* Runs the command argv[1] names, with the settings main() read, or answers
 * --help, -h, help and --version; the exit status (2 for no or an unknown
 * command). */
int jb_cmdline_main(const struct jb_cmdline_program *prog, const struct jb_settings *s, int argc,
                    char **argv);

enum {
    JB_CMDLINE_SEE_HELP = 1, /* the unknown-option line ends "(see --help)" */
    JB_CMDLINE_OPERANDS = 2, /* arguments may follow the options (run's COMMAND) */
};

/* One command's voice: every line it prints on bad input starts with name.
 * The unknown-option line was worded three ways before there was one
 * helper; flags and unknown keep each command's wording as it was. */
struct jb_cmdline_cmd {
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
 * without JB_CMDLINE_OPERANDS, an argument was said on stderr
 * (cmd->bad_status).  The caller reads its operands from argv[optind]. */
int jb_cmdline_opt(const struct jb_cmdline_cmd *cmd, int argc, char **argv,
                   const struct option *lopts, int *status);

/* "NAME: FIELD: DETAIL" on stderr; cmd->bad_status. */
int jb_cmdline_bad(const struct jb_cmdline_cmd *cmd, const char *field, const char *detail);

/* jb_cli_state for cmd, a failure said: -1 when st is usable, else the exit
 * status (cmd->bad_status for a --state that can't be used, 1 when the
 * store failed to answer). */
int jb_cmdline_state_for(const struct jb_cmdline_cmd *cmd, const struct jb_settings *s,
                         const char *url, struct jb_state *st);

#endif
