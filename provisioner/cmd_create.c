/* provisioner create: options checked before anything is made, then a box
 * made here (box_create.c) and printed or written to --out (out.c). */
#include "cmd.h"

#include "box.h"
#include "cmdline.h"
#include "out.h"
#include "base/err.h"
#include "base/log.h"
#include "stack/audit.h"
#include "stack/cli.h"
#include "stack/stack.h"

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

static const struct jb_cmdline_cmd me = {"provisioner create", usage, 2, JB_CMDLINE_SEE_HELP, NULL};

void cmd_random_stack_id(char out[16])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    memcpy(out, "jb-", 3);
    for (int i = 3; i < 13; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[13] = '\0';
}

/* create's options as given: check() validates them before anything is
 * made. */
struct opts {
    struct jb_box_create_args box; /* box.permit points at permit */
    struct jb_permit permit;
    const char *outdir; /* NULL: the secrets go into the JSON */
};

/* -1: go on; else the exit status (--help, or bad input). */
static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {{"module", required_argument, NULL, 'm'},
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
    char err[JB_ERRLEN];
    int c, status;

    memset(o, 0, sizeof(*o));
    while ((c = jb_cmdline_opt(&me, argc, argv, lopts, &status)) != 0) {
        switch (c) {
        case 'm':
            o->box.module = optarg;
            break;
        case 't':
            o->box.ttl = optarg;
            break;
        case 's':
            o->box.stack_id = optarg;
            break;
        case 'a':
            o->box.allow_cidr = optarg;
            break;
        case 'S':
            o->box.state_url = optarg;
            break;
        case 'o':
            o->outdir = optarg;
            break;
        case 'r':
            o->box.requester = optarg;
            break;
        case 'R':
            o->box.ready_timeout = optarg;
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

/* Every input, the state store's answer included, before anything is
 * made.  -1: go on; else the exit status. */
static int check(const struct opts *o, struct jb_box_create *bc, struct jb_out_dir *od)
{
    const char *field;
    char err[JB_ERRLEN];
    int rc;

    if ((rc = jb_box_create_check(&o->box, bc, &field, err, sizeof(err))) != 0) {
        if (rc == JB_ERR_INVALID)
            return jb_cmdline_bad(&me, field, err);
        fprintf(stderr, "provisioner create: %s\n", err);
        return 1;
    }
    if (o->outdir && jb_out_dir_check(o->outdir, od, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--out", err);
    return -1;
}

/* jb_stack_create; a failure told on stderr.  0, or the exit status: what
 * turned out bad input only there (the stack id taken meanwhile,
 * JUMPBOX_MODULE_VARS) is still 2, nothing having been made. */
static int make(const struct jb_stack_ctx *ctx, const struct jb_box_create *bc,
                struct jb_create_result *res)
{
    const char *field;
    char err[JB_ERRLEN];
    int rc = jb_box_create_make(ctx, bc, res, &field, err, sizeof(err));

    if (rc == JB_ERR_INVALID) {
        if (field)
            return jb_cmdline_bad(&me, field, err);
        fprintf(stderr, "provisioner create: %s\n", err); /* err names the variable */
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "provisioner create: %s\n", err);
        return 1;
    }
    return 0;
}

/* The keys into --out, the JSON on stdout.  A box nobody got the keys
 * of is of no use to anyone: it is destroyed again.  0, or the exit
 * status. */
static int hand_out(const struct jb_stack_ctx *ctx, const struct jb_box_create *bc,
                    const struct jb_create_result *res, const char *outdir, struct jb_out_dir *od)
{
    char err[JB_ERRLEN], derr[JB_ERRLEN];
    int rc = 0, gone;

    if (outdir)
        rc = jb_out_dir_write(od, res, err, sizeof(err));
    if (rc == 0)
        rc = jb_out_print_create(res, outdir ? od : NULL, err, sizeof(err));
    if (rc == 0)
        return 0;
    fprintf(stderr, "provisioner create: %s; destroying the stack again\n", err);
    if (outdir)
        jb_out_dir_remove(od);
    if (jb_stack_destroy(ctx, bc->stack_id, "output-failed", &gone, derr, sizeof(derr)) != 0)
        fprintf(stderr,
                "provisioner create: destroy failed too: %s (lease kept for "
                "`cleaner sweep`)\n",
                derr);
    return 1;
}

int cmd_create(int argc, char **argv, const struct jb_settings *s)
{
    struct opts o;
    struct jb_box_create bc;
    struct jb_out_dir od;
    struct jb_stack_ctx ctx;
    struct jb_create_result res;
    cJSON *origin;
    int status;

    if ((status = parse(argc, argv, &o)) >= 0)
        return status;
    o.box.settings = s;
    if ((status = check(&o, &bc, &od)) >= 0)
        return status;

    jb_cli_elapsed();
    jb_cli_catch_signals();
    jb_box_stack_ctx(&bc, &ctx, &jb_cli_stop, print_progress, NULL);
    ctx.origin = origin = jb_audit_origin("cli", NULL, NULL);
    if ((status = make(&ctx, &bc, &res)) == 0)
        status = hand_out(&ctx, &bc, &res, o.outdir, &od);

    jb_create_result_clear(&res);
    jb_log_close(ctx.event_fd);
    cJSON_Delete(origin);
    return status;
}
