/* jumpbox-localbox: the "instance" of terraform/local.  Terraform's
 * local-exec runs `up` at create and `down` at destroy (argv, no shell).
 *
 * up   makes the box's own host key (--dir/ssh_host_ed25519_key, and its
 *      public half in --dir/host_key.pub for the provisioner to pin),
 *      writes authorized_keys and sshd_config into --dir, starts
 *      a real OpenSSH sshd on 127.0.0.1:--port, and arms the TTL: a timer
 *      process that at --expires-at runs `cleaner destroy` for the stack and,
 *      should that fail, stops sshd itself (the lease stays for the sweeper).
 *      The timer follows the lease in --state (an extension, a keep-alive
 *      that runs out), never past --max-ttl (default 24h) from its start.
 * down stops the timer and sshd and wipes --dir; with --stack-id and --state
 *      it first ships sshd's log to the stack's audit records (lib/stack/audit.h).
 */
#include "base/err.h"
#include "box.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "base/proc.h"
#include "crypto/keys.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: jumpbox-localbox up --stack-id ID --port N --user USER --allow-cidr CIDR\n"
    "                          --public-key LINE --expires-at RFC3339 --cleaner PATH\n"
    "                          --state URL [--log PATH] [--permit-open HOST:PORT]...\n"
    "                          [--max-ttl DURATION] --dir DIR\n"
    "       jumpbox-localbox down [--stack-id ID --state URL] --dir DIR\n"
    "\n"
    "Internal helper of terraform/local: runs a real sshd on 127.0.0.1 as the\n"
    "local jump box.  It makes its own host key and leaves the public half in\n"
    "DIR/host_key.pub.\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"stack-id", required_argument, NULL, 's'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"allow-cidr", required_argument, NULL, 'a'},
                                         {"public-key", required_argument, NULL, 'k'},
                                         {"expires-at", required_argument, NULL, 'e'},
                                         {"cleaner", required_argument, NULL, 'c'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"log", required_argument, NULL, 'l'},
                                         {"permit-open", required_argument, NULL, 'P'},
                                         {"max-ttl", required_argument, NULL, 'M'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct jb_box_spec spec;
    char err[JB_ERRLEN];
    const char *cmd;
    int c, rc;

    memset(&spec, 0, sizeof(spec));
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            spec.dir = optarg;
            break;
        case 's':
            spec.stack_id = optarg;
            break;
        case 'p':
            spec.port = atoi(optarg);
            break;
        case 'u':
            spec.user = optarg;
            break;
        case 'a':
            spec.allow_cidr = optarg;
            break;
        case 'k':
            spec.public_key = optarg;
            break;
        case 'e':
            spec.expires_at = optarg;
            break;
        case 'c':
            spec.cleaner = optarg;
            break;
        case 'S':
            spec.state_url = optarg;
            break;
        case 'l':
            spec.log = optarg;
            break;
        case 'P':
            if (jb_permit_add(&spec.permit, optarg, err, sizeof(err)) != 0) {
                fprintf(stderr, "jumpbox-localbox: --permit-open: %s\n", err);
                return 2;
            }
            break;
        case 'M':
            if (jb_parse_duration(optarg, &spec.max_ttl_s, err, sizeof(err)) != 0 ||
                spec.max_ttl_s < 10 || spec.max_ttl_s > 24 * 3600) {
                fprintf(stderr, "jumpbox-localbox: --max-ttl: from 10s to 24h\n");
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "jumpbox-localbox: %s: unknown or incomplete option\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    /* local-exec appends its `command` as the last argument: the directory. */
    if (optind == argc - 1 && spec.dir == NULL)
        spec.dir = argv[optind];
    else if (optind < argc) {
        fprintf(stderr, "jumpbox-localbox: %s: unexpected argument\n", argv[optind]);
        return 2;
    }

    if (strcmp(cmd, "up") == 0)
        rc = jb_box_up(&spec, err, sizeof(err));
    else if (strcmp(cmd, "down") == 0)
        rc = (spec.stack_id == NULL) != (spec.state_url == NULL)
                 ? jb_err(err, sizeof(err), JB_ERR_INVALID,
                          "--stack-id and --state: both or neither")
                 : jb_box_down(spec.dir, spec.stack_id, spec.state_url, err, sizeof(err));
    else
        rc = jb_err(err, sizeof(err), JB_ERR_INVALID, "command: unknown '%s'", cmd);
    if (rc != 0) {
        fprintf(stderr, "jumpbox-localbox %s: %s\n", cmd, err);
        return rc == JB_ERR_INVALID ? 2 : 1;
    }
    fprintf(stderr, "jumpbox-localbox %s: done\n", cmd);
    return 0;
}
