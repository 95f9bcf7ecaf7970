#include "cmd.h"

#include "box.h"
#include "stack/audit.h"
#include "stack/cli.h"
#include "base/err.h"
#include "base/log.h"
#include "out.h"
#include "stack/stack.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: provisioner create [--module local|aws] [--ttl DURATION] [--stack-id ID]\n"
    "                          [--allow-cidr CIDR] [--state URL] [--out DIR]\n"
    "                          [--requester TEXT] [--ready-timeout DURATION]\n"
    "                          [--permit-open HOST:PORT]...\n"
    "\n"
    "Creates a jump box and prints one JSON object on stdout: stack_id, module,\n"
    "host, port, user, public_key, host_public_key, host_fingerprint, known_hosts,\n"
    "expires_at and, without --out, private_key and teardown_token.  With --out DIR\n"
    "it writes id_ed25519 (0600), id_ed25519.pub, known_hosts, ssh_config (Host =\n"
    "stack id) and teardown_token (0600), and names those paths instead.\n"
    "Progress goes to stderr.\n"
    "\n"
    "  --module       local (default: a real sshd on 127.0.0.1) or aws\n"
    "  --ttl          lifetime, e.g. 90s, 10m, 2h (default 1h, 10s to 24h)\n"
    "  --stack-id     [a-z0-9-]{1,40} (default: jb-<random>)\n"
    "  --allow-cidr   the only source allowed to reach SSH (default 127.0.0.1/32\n"
    "                 for local; required for aws)\n"
    "  --state        file:///dir or s3://bucket/prefix (default\n"
    "                 file://$XDG_STATE_HOME/jumpbox)\n"
    "  --requester    who asks, for the lease and audit log (default user@host)\n"
    "  --ready-timeout  how long to wait for SSH to answer (default 2m)\n"
    "  --permit-open  a target the box may forward to (ssh -W, -J, -L): HOST:PORT,\n"
    "                 HOST a DNS name, IPv4 or [IPv6], PORT 1-65535 or *; repeat\n"
    "                 for more (at most 16).  Default: any target\n"
    "\n"
    "Exit status: 0 ready, 1 failed (nothing left running, or a lease kept for\n"
    "`cleaner sweep`), 2 bad input (nothing done).\n";

static void print_progress(void *ctx, const char *stage, const char *detail)
{
    (void)ctx;
    fprintf(stderr, "provisioner: [%6.1fs] %s%s%s\n", jb_cli_elapsed(), stage, *detail ? ": " : "",
            detail);
}

static int bad(const char *field, const char *detail)
{
    fprintf(stderr, "provisioner create: %s: %s\n", field, detail);
    return 2;
}

void cmd_random_stack_id(char out[16])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    memcpy(out, "jb-", 3);
    for (int i = 3; i < 13; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[13] = '\0';
}

int cmd_create(int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"stack-id", required_argument, NULL, 's'},
                                         {"allow-cidr", required_argument, NULL, 'a'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"requester", required_argument, NULL, 'r'},
                                         {"ready-timeout", required_argument, NULL, 'R'},
                                         {"permit-open", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct jb_box_create_args a = {0};
    struct jb_permit permit = {0};
    struct jb_box_create bc;
    cJSON *origin = NULL;
    const char *outdir = NULL, *field;
    char err[JB_ERRLEN];
    struct jb_stack_ctx ctx;
    struct jb_create_result res;
    struct jb_out_dir od;
    int c, rc, status = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            a.module = optarg;
            break;
        case 't':
            a.ttl = optarg;
            break;
        case 's':
            a.stack_id = optarg;
            break;
        case 'a':
            a.allow_cidr = optarg;
            break;
        case 'S':
            a.state_url = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'r':
            a.requester = optarg;
            break;
        case 'R':
            a.ready_timeout = optarg;
            break;
        case 'P':
            if (jb_permit_add(&permit, optarg, err, sizeof(err)) != 0)
                return bad("--permit-open", err);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return bad(argv[optind - 1], "unknown option, or its value is missing (see --help)");
        }
    }
    if (optind < argc)
        return bad(argv[optind], "unexpected argument");
    a.permit = &permit;
    if ((rc = jb_box_create_check(&a, &bc, &field, err, sizeof(err))) != 0) {
        if (rc == JB_ERR_INVALID)
            return bad(field, err);
        fprintf(stderr, "provisioner create: %s\n", err);
        return 1;
    }
    if (outdir && jb_out_dir_check(outdir, &od, err, sizeof(err)) != 0)
        return bad("--out", err);

    jb_cli_elapsed();
    jb_cli_catch_signals();
    jb_box_stack_ctx(&bc, &ctx, &jb_cli_stop, print_progress, NULL);
    ctx.origin = origin = jb_audit_origin("cli", NULL, NULL);
    rc = jb_box_create_make(&ctx, &bc, &res, &field, err, sizeof(err));
    if (rc == JB_ERR_INVALID) {
        status = field ? bad(field, err) : 2;
        if (field == NULL)
            fprintf(stderr, "provisioner create: %s\n", err); /* err names the variable */
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "provisioner create: %s\n", err);
        goto out;
    }
    if (outdir)
        rc = jb_out_dir_write(&od, &res, err, sizeof(err));
    if (rc == 0)
        rc = jb_out_print_create(&res, outdir ? &od : NULL, err, sizeof(err));
    if (rc != 0) {
        int gone;
        char derr[JB_ERRLEN];
        fprintf(stderr, "provisioner create: %s; destroying the stack again\n", err);
        if (outdir)
            jb_out_dir_remove(&od);
        if (jb_stack_destroy(&ctx, bc.stack_id, "output-failed", &gone, derr, sizeof(derr)) != 0)
            fprintf(stderr,
                    "provisioner create: destroy failed too: %s (lease kept for "
                    "`cleaner sweep`)\n",
                    derr);
        goto out;
    }
    status = 0;
out:
    jb_create_result_clear(&res);
    jb_log_close(ctx.audit_fd);
    cJSON_Delete(origin);
    return status;
}
