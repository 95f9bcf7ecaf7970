/* `provisioner request`: the backup VM's side of the build function
 * (box_request.c), the answer written like `create --out`. */
#include "cmd.h"

#include "box.h"
#include "cmdline.h"
#include "out.h"
#include "base/err.h"
#include "net/myip.h"
#include "stack/cli.h"

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

static const struct jb_cmdline_cmd me = {"provisioner request", usage, 2, JB_CMDLINE_SEE_HELP,
                                         NULL};

/* "provisioner request: invoking NAME", "…: allowing 203.0.113.7/32 (…)". */
static void print_progress(void *ctx, const char *stage, const char *detail)
{
    (void)ctx;
    fprintf(stderr, "provisioner request: %s%s%s\n", stage, *detail ? " " : "", detail);
}

/* request's options as given: check() validates them before anything is
 * asked. */
struct opts {
    struct jb_box_request_args box; /* box.permit points at permit */
    struct jb_permit permit;
    const char *outdir;
};

/* -1: go on; else the exit status (--help, or bad input). */
static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {{"function", required_argument, NULL, 'f'},
                                          {"ttl", required_argument, NULL, 't'},
                                          {"allow-cidr", required_argument, NULL, 'a'},
                                          {"allow-my-ip", no_argument, NULL, 'm'},
                                          {"requester", required_argument, NULL, 'r'},
                                          {"out", required_argument, NULL, 'o'},
                                          {"permit-open", required_argument, NULL, 'P'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    char err[JB_ERRLEN];
    int c, status;

    memset(o, 0, sizeof(*o));
    while ((c = jb_cmdline_opt(&me, argc, argv, lopts, &status)) != 0) {
        switch (c) {
        case 'f':
            o->box.function = optarg;
            break;
        case 't':
            o->box.ttl = optarg;
            break;
        case 'a':
            o->box.allow_cidr = optarg;
            break;
        case 'm':
            o->box.allow_my_ip = 1;
            break;
        case 'r':
            o->box.requester = optarg;
            break;
        case 'o':
            o->outdir = optarg;
            break;
        case 'P':
            if (jb_permit_add(&o->permit, optarg, err, sizeof(err)) != 0)
                return jb_cmdline_bad(&me, "--permit-open", err);
            break;
        }
    }
    if (status >= 0)
        return status;
    o->box.permit = &o->permit;
    return -1;
}

/* -1: go on; else the exit status. */
static int check(const struct opts *o, struct jb_box_request *br, struct jb_out_dir *od)
{
    const char *field;
    char err[JB_ERRLEN];

    if (jb_box_request_check(&o->box, br, &field, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, field, err);
    if (o->outdir == NULL)
        return jb_cmdline_bad(&me, "--out",
                              "required (where the key, known_hosts and ssh_config go)");
    if (jb_out_dir_check(o->outdir, od, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--out", err);
    return -1;
}

/* The function's answer into res.  0, or the exit status: 2 when the
 * function refused the request as bad input. */
static int request(struct jb_box_request *br, struct jb_create_result *res)
{
    char err[JB_ERRLEN];
    int refused = 0;

    if (jb_box_request_make(br, print_progress, NULL, res, &refused, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s\n", err);
        return refused ? 2 : 1;
    }
    return 0;
}

/* The keys into --out, the JSON on stdout.  When that fails the box is
 * left to its TTL, and the message says so. */
static int hand_out(const struct jb_create_result *res, struct jb_out_dir *od)
{
    char err[JB_ERRLEN];

    if (jb_out_dir_write(od, res, err, sizeof(err)) != 0 ||
        jb_out_print_create(res, od, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner request: %s; stack %s stays until it expires\n", err,
                res->lease.stack_id);
        return 1;
    }
    return 0;
}

int cmd_request(int argc, char **argv, const struct jb_settings *s)
{
    struct opts o;
    struct jb_box_request br;
    struct jb_out_dir od;
    struct jb_create_result res;
    int status;

    if ((status = parse(argc, argv, &o)) >= 0)
        return status;
    o.box.settings = s;
    if ((status = check(&o, &br, &od)) >= 0)
        return status;

    memset(&res, 0, sizeof(res));
    if ((status = request(&br, &res)) == 0)
        status = hand_out(&res, &od);
    jb_create_result_clear(&res);
    return status;
}
