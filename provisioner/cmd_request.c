/* `provisioner request`: the backup VM's side of the build function
 * (box_request.c), the answer written like `create --out`. */
#include "cmd.h"

#include "box.h"
#include "base/err.h"
#include "net/myip.h"
#include "out.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: provisioner request --function NAME (--allow-cidr CIDR | --allow-my-ip) --out DIR\n"
    "                           [--ttl DURATION] [--requester TEXT]\n"
    "                           [--permit-open HOST:PORT]...\n"
    "\n"
    "Asks the build Lambda function (SigV4, credentials and region the way the AWS\n"
    "CLI finds them) for a jump box.  The private key and the teardown token come\n"
    "back sealed to a key pair made for this request only; DIR gets id_ed25519\n"
    "(0600), id_ed25519.pub, known_hosts, ssh_config (Host = stack id) and\n"
    "teardown_token (0600).  Prints the create JSON with those paths.\n"
    "--allow-my-ip asks JUMPBOX_CHECKIP_URL (default " JB_CHECKIP_DEFAULT_URL ")\n"
    "for this machine's public address and allows only that.\n"
    "--permit-open HOST:PORT (repeatable, at most 16; HOST a DNS name, IPv4 or\n"
    "[IPv6], PORT 1-65535 or *) limits where the box forwards; the function may\n"
    "require it and bounds it by its JUMPBOX_ALLOWED_TARGETS.\n"
    "Exit status: 0 done, 1 failed, 2 bad input (also when the function refused it).\n";

static int bad(const char *field, const char *detail)
{
    fprintf(stderr, "provisioner request: %s: %s\n", field, detail);
    return 2;
}

/* "provisioner request: invoking NAME", "…: allowing 203.0.113.7/32 (…)". */
static void print_progress(void *ctx, const char *stage, const char *detail)
{
    (void)ctx;
    fprintf(stderr, "provisioner request: %s%s%s\n", stage, *detail ? " " : "", detail);
}

int cmd_request(int argc, char **argv)
{
    static const struct option opts[] = {{"function", required_argument, NULL, 'f'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"allow-cidr", required_argument, NULL, 'a'},
                                         {"allow-my-ip", no_argument, NULL, 'm'},
                                         {"requester", required_argument, NULL, 'r'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"permit-open", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct jb_box_request_args a = {0};
    struct jb_box_request br;
    const char *outdir = NULL, *field;
    char err[JB_ERRLEN];
    struct jb_out_dir od;
    struct jb_permit permit = {0};
    struct jb_create_result res;
    int c, status = 1, refused = 0;

    memset(&res, 0, sizeof(res));
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            a.function = optarg;
            break;
        case 't':
            a.ttl = optarg;
            break;
        case 'a':
            a.allow_cidr = optarg;
            break;
        case 'm':
            a.allow_my_ip = 1;
            break;
        case 'r':
            a.requester = optarg;
            break;
        case 'o':
            outdir = optarg;
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
    if (jb_box_request_check(&a, &br, &field, err, sizeof(err)) != 0)
        return bad(field, err);
    if (outdir == NULL)
        return bad("--out", "required (where the key, known_hosts and ssh_config go)");
    if (jb_out_dir_check(outdir, &od, err, sizeof(err)) != 0)
        return bad("--out", err);

    if (jb_box_request_make(&br, print_progress, NULL, &res, &refused, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s\n", err);
        if (refused)
            status = 2;
        goto out;
    }
    if (jb_out_dir_write(&od, &res, err, sizeof(err)) != 0 ||
        jb_out_print_create(&res, &od, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s; stack %s stays until it expires\n", err,
                res.lease.stack_id);
        goto out;
    }
    status = 0;
out:
    jb_create_result_clear(&res);
    return status;
}
