#include "cmd.h"

#include "audit.h"
#include "cli.h"
#include "err.h"
#include "lease.h"
#include "log.h"
#include "out.h"
#include "parse.h"
#include "stack.h"
#include "stackcfg.h"

#include <getopt.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: provisioner create [--module local|aws] [--ttl DURATION] [--stack-id ID]\n"
    "                          [--allow-cidr CIDR] [--state URL] [--out DIR]\n"
    "                          [--requester TEXT] [--ready-timeout DURATION]\n"
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
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *module = "local", *ttl_s = "1h", *stack_id = NULL, *cidr_in = NULL;
    const char *state_url = NULL, *outdir = NULL, *requester = NULL, *ready_s = "2m";
    char err[JB_ERRLEN], cidr[JB_CIDR_MAX], gen_id[16], req_buf[160];
    char work_root[PATH_MAX];
    struct jb_state st;
    struct jb_stack_ctx ctx;
    cJSON *origin = NULL;
    struct jb_create_req req;
    struct jb_create_result res;
    struct jb_out_dir od;
    long ttl = 0, ready = 0;
    int c, rc, status = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            module = optarg;
            break;
        case 't':
            ttl_s = optarg;
            break;
        case 's':
            stack_id = optarg;
            break;
        case 'a':
            cidr_in = optarg;
            break;
        case 'S':
            state_url = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'r':
            requester = optarg;
            break;
        case 'R':
            ready_s = optarg;
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
    if (strcmp(module, "local") != 0 && strcmp(module, "aws") != 0)
        return bad("--module", "must be local or aws");
    if (jb_parse_duration(ttl_s, &ttl, err, sizeof(err)) != 0)
        return bad("--ttl", err);
    if (ttl > JB_TTL_MAX_S)
        return bad("--ttl", "at most 24h");
    if (ttl < JB_TTL_MIN_S)
        return bad("--ttl", "at least 10s (the box must be up before it expires)");
    if (jb_parse_duration(ready_s, &ready, err, sizeof(err)) != 0)
        return bad("--ready-timeout", err);
    if (ready > 3600)
        return bad("--ready-timeout", "at most 1h");
    if (stack_id == NULL) {
        cmd_random_stack_id(gen_id);
        stack_id = gen_id;
    } else if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0) {
        return bad("--stack-id", err);
    }
    if (cidr_in == NULL && strcmp(module, "aws") == 0)
        return bad("--allow-cidr", "required for module aws (the requester's address, e.g. "
                                   "203.0.113.7/32)");
    if (jb_parse_cidr(cidr_in ? cidr_in : "127.0.0.1/32", cidr, sizeof(cidr), err, sizeof(err)) !=
        0)
        return bad("--allow-cidr", err);
    /* The local box is reached from 127.0.0.1 only: a CIDR without it would
     * lock out its own readiness probe, after a whole create. */
    if (strcmp(module, "local") == 0 && !jb_cidr_within("127.0.0.1/32", cidr))
        return bad("--allow-cidr", "module local is reached from 127.0.0.1 only: the CIDR must "
                                   "hold it");
    if (requester == NULL)
        requester = jb_cli_default_requester(req_buf, sizeof(req_buf));
    if (jb_check_label(requester, 128, err, sizeof(err)) != 0)
        return bad("--requester", err);
    if ((rc = jb_cli_state(state_url, &st, err, sizeof(err))) != 0) {
        if (rc == JB_ERR_INVALID)
            return bad("--state", err);
        fprintf(stderr, "provisioner create: %s\n", err);
        return 1;
    }
    {
        struct jb_lease existing;
        /* A lease that is there, readable or not, is a taken name; S3 (or
         * the disk) failing to answer is not: the create's own If-None-Match
         * still guards the race. */
        rc = jb_lease_get(&st, stack_id, &existing, err, sizeof(err));
        jb_lease_clear(&existing);
        if (rc == JB_ERR_HTTP || rc == JB_ERR_AWS || rc == JB_ERR_TIMEOUT || rc == JB_ERR_AUTH ||
            rc == JB_ERR_IO || rc == JB_ERR_SYSTEM || rc == JB_ERR_NOMEM) {
            fprintf(stderr, "provisioner create: looking for a stack named %s: %s\n", stack_id,
                    err);
            return 1;
        }
        if (rc != JB_ERR_NOTFOUND) {
            snprintf(err, sizeof(err), "a stack named %s already exists in %.300s", stack_id,
                     st.url);
            return bad("--stack-id", err);
        }
    }
    if (outdir && jb_out_dir_check(outdir, &od, err, sizeof(err)) != 0)
        return bad("--out", err);
    if (jb_work_root(work_root, sizeof(work_root), err, sizeof(err)) != 0)
        return bad("JUMPBOX_WORK_DIR", err);

    jb_cli_elapsed();
    jb_cli_catch_signals();
    memset(&ctx, 0, sizeof(ctx));
    ctx.state = &st;
    ctx.cancel = &jb_cli_stop;
    ctx.progress = print_progress;
    ctx.audit_fd = jb_log_open(work_root);
    ctx.origin = origin = jb_audit_origin("cli", NULL, NULL);
    memset(&req, 0, sizeof(req));
    req.module = module;
    req.stack_id = stack_id;
    req.ttl_s = ttl;
    req.allow_cidr = cidr;
    req.requester = requester;
    req.ready_timeout_s = (int)ready;

    rc = jb_stack_create(&ctx, &req, &res, err, sizeof(err));
    if (rc == JB_ERR_EXISTS) {
        status = bad("--stack-id", err);
        goto out;
    }
    if (rc == JB_ERR_INVALID && !res.began) {
        fprintf(stderr, "provisioner create: %s\n", err); /* err names the variable */
        status = 2;
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
        if (jb_stack_destroy(&ctx, stack_id, "output-failed", &gone, derr, sizeof(derr)) != 0)
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
