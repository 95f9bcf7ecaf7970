/* provisioner audit: the durable audit records (stack/audit) as JSON lines,
 * filtered by stack and time; a record that cannot be read is counted, not
 * fatal. */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/parse.h"
#include "stack/audit.h"
#include "stack/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: provisioner audit [--state URL] [--stack-id ID] [--since WHEN]\n"
    "\n"
    "Prints the durable audit records kept in the state location under audit/,\n"
    "one JSON object a line, by stack and then in time order: create (who asked,\n"
    "from where, TTL, the keys' fingerprints), ready, create.failed, destroy (who,\n"
    "why, result), reap, and the box's sshd log (logins, forwarded connections;\n"
    "truncated: the log was cut to its newest lines).\n"
    "\n"
    "  --state     state location (default file://$XDG_STATE_HOME/jumpbox)\n"
    "  --stack-id  only this stack's records\n"
    "  --since     only records written since WHEN: a duration back from now\n"
    "              (90s, 10m, 2h, 1h30m) or a time (2026-12-01T00:00:00Z)\n";

static int print_line(void *ctx, const cJSON *rec)
{
    char *line = cJSON_PrintUnformatted(rec);

    (void)ctx;
    if (line == NULL)
        return JB_ERR_NOMEM;
    puts(line);
    free(line);
    return 0;
}

int cmd_audit(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"provisioner audit", usage, 2, 0, NULL};
    static const struct option opts[] = {{"state", required_argument, NULL, 'S'},
                                         {"stack-id", required_argument, NULL, 'i'},
                                         {"since", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *state_url = NULL, *stack_id = NULL, *since_s = NULL;
    char err[JB_ERRLEN];
    struct jb_state st;
    time_t since = 0;
    size_t bad = 0;
    long secs;
    int c, rc;

    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &rc)) != 0) {
        switch (c) {
        case 'S':
            state_url = optarg;
            break;
        case 'i':
            stack_id = optarg;
            break;
        case 's':
            since_s = optarg;
            break;
        }
    }
    if (rc >= 0)
        return rc;
    if (stack_id && jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--stack-id", err);
    if (since_s) {
        if (jb_parse_duration(since_s, &secs, NULL, 0) == 0)
            since = time(NULL) - secs;
        else if (jb_parse_rfc3339(since_s, &since, NULL, 0) != 0) {
            fprintf(stderr, "provisioner audit: --since: neither a duration (2h) nor a time "
                            "(2026-12-01T00:00:00Z)\n");
            return 2;
        }
    }
    if ((rc = jb_cmdline_state_for(&me, s, state_url, &st)) >= 0)
        return rc;
    rc = jb_audit_list(&st, stack_id, since, print_line, NULL, &bad, err, sizeof(err));
    fflush(stdout);
    if (bad)
        fprintf(stderr, "provisioner audit: %zu unreadable record(s) skipped\n", bad);
    if (rc != 0) {
        fprintf(stderr, "provisioner audit: %s\n", rc == JB_ERR_NOMEM ? "out of memory" : err);
        return 1;
    }
    return 0;
}
