/* The command table and the option helper of both programs: what every
 * command says about its command line, worded in one place so the many
 * commands cannot drift apart (tests/integration/test_bad_input.py). */
#include "cmdline.h"

#include "stack/cli.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>

int jb_cmdline_main(const struct jb_cmdline_program *prog, const struct jb_settings *s, int argc,
                    char **argv)
{
    if (argc < 2) {
        fputs(prog->usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(prog->usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts(prog->version);
        return 0;
    }
    for (const struct jb_cmdline_command *c = prog->commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1, s);
    fprintf(stderr, "%s: command: unknown command '%s' (try --help)\n", prog->name, argv[1]);
    return 2;
}

int jb_cmdline_bad(const struct jb_cmdline_cmd *cmd, const char *field, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", cmd->name, field, detail);
    return cmd->bad_status;
}

int jb_cmdline_opt(const struct jb_cmdline_cmd *cmd, int argc, char **argv,
                   const struct option *lopts, int *status)
{
    const char *unknown = cmd->unknown ? cmd->unknown : "unknown option, or its value is missing";
    int c;

    /* "+": options end at the first operand, so run's COMMAND keeps its own. */
    opterr = 0;
    c = getopt_long(argc, argv, "+", lopts, NULL);
    if (c == 'h') {
        fputs(cmd->usage, stdout);
        *status = 0;
        return 0;
    }
    if (c == '?' || c == ':') {
        fprintf(stderr, "%s: %s: %s%s\n", cmd->name, argv[optind - 1], unknown,
                cmd->flags & JB_CMDLINE_SEE_HELP ? " (see --help)" : "");
        *status = cmd->bad_status;
        return 0;
    }
    if (c != -1)
        return c;
    *status = -1;
    if (optind < argc && !(cmd->flags & JB_CMDLINE_OPERANDS))
        *status = jb_cmdline_bad(cmd, argv[optind], "unexpected argument");
    return 0;
}

int jb_cmdline_state_for(const struct jb_cmdline_cmd *cmd, const struct jb_settings *s,
                         const char *url, struct jb_state *st)
{
    char err[JB_ERRLEN];
    int rc = jb_cli_state(s, url, st, err, sizeof(err));

    if (rc == JB_ERR_INVALID)
        return jb_cmdline_bad(cmd, "--state", err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", cmd->name, err);
        return 1;
    }
    return -1;
}
