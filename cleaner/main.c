/* cleaner: destroys jump boxes on request, at their TTL, or by sweeping. */
#include "cmd.h"

#include "cli.h"
#include "err.h"
#include "lease.h"
#include "log.h"
#include "parse.h"
#include "stack.h"
#include "stackcfg.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: cleaner COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  destroy --stack-id ID [--state URL]   destroy one stack, its state and lease\n"
    "  sweep [--state URL] [--parallel N]    destroy every stack whose lease expired,\n"
    "                                        N at a time (default 4, at most 16)\n"
    "  request --function NAME --stack-id ID (--token-file F | --out DIR)\n"
    "                                        ask the clean Lambda function to destroy it\n"
    "\n"
    "Prints a JSON result on stdout, progress on stderr.\n"
    "Exit status: 0 done (also when the stack was already gone), 1 failed (the\n"
    "lease stays for the next sweep), 2 bad input (nothing done).\n"
    "With AWS_LAMBDA_RUNTIME_API set and no command it serves the clean function\n"
    "(docs/lambda.md).\n";

static void print_progress(void *ctx, const char *stage, const char *detail)
{
    fprintf(stderr, "cleaner: [%6.1fs] %s%s%s%s%s\n", jb_cli_elapsed(), ctx ? (char *)ctx : "",
            ctx ? ": " : "", stage, *detail ? ": " : "", detail);
}

struct opts {
    const char *stack_id, *state_url, *reason, *parallel;
};

static int parse(int argc, char **argv, const char *cmd, struct opts *o)
{
    static const struct option lopts[] = {
        {"stack-id", required_argument, NULL, 's'}, {"state", required_argument, NULL, 'S'},
        {"reason", required_argument, NULL, 'r'},   {"parallel", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", lopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->stack_id = optarg;
            break;
        case 'S':
            o->state_url = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'p':
            o->parallel = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "cleaner %s: %s: unknown option, or its value is missing\n", cmd,
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cleaner %s: %s: unexpected argument\n", cmd, argv[optind]);
        return 2;
    }
    return -1;
}

static void print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
}

static int setup(const char *cmd, const struct opts *o, struct jb_state *st,
                 struct jb_stack_ctx *ctx)
{
    char err[JB_ERRLEN], root[PATH_MAX];
    int rc;

    if (o->reason && jb_check_label(o->reason, 32, err, sizeof(err)) != 0) {
        fprintf(stderr, "cleaner %s: --reason: %s\n", cmd, err);
        return 2;
    }
    if ((rc = jb_cli_state(o->state_url, st, err, sizeof(err))) != 0) {
        fprintf(stderr, "cleaner %s: %s%s\n", cmd, rc == JB_ERR_INVALID ? "--state: " : "", err);
        return rc == JB_ERR_INVALID ? 2 : 1;
    }
    if (jb_work_root(root, sizeof(root), err, sizeof(err)) != 0) {
        fprintf(stderr, "cleaner %s: JUMPBOX_WORK_DIR: %s\n", cmd, err);
        return 2;
    }
    jb_cli_elapsed();
    jb_cli_catch_signals();
    memset(ctx, 0, sizeof(*ctx));
    ctx->state = st;
    /* A destroy is not cancelled half-way: a signal is noted, not obeyed. */
    ctx->cancel = NULL;
    ctx->progress = print_progress;
    ctx->audit_fd = jb_log_open(root);
    return -1;
}

static int cmd_destroy(int argc, char **argv)
{
    struct opts o;
    struct jb_state st;
    struct jb_stack_ctx ctx;
    char err[JB_ERRLEN];
    cJSON *res;
    int rc, gone = 0;

    if ((rc = parse(argc, argv, "destroy", &o)) >= 0)
        return rc;
    if (o.stack_id == NULL) {
        fputs("cleaner destroy: --stack-id: required\n", stderr);
        return 2;
    }
    if (jb_check_stack_id(o.stack_id, err, sizeof(err)) != 0) {
        fprintf(stderr, "cleaner destroy: --stack-id: %s\n", err);
        return 2;
    }
    if ((rc = setup("destroy", &o, &st, &ctx)) >= 0)
        return rc;
    ctx.progress_ctx = (void *)o.stack_id;
    rc = jb_stack_destroy(&ctx, o.stack_id, o.reason, &gone, err, sizeof(err));
    jb_log_close(ctx.audit_fd);
    if (rc != 0) {
        fprintf(stderr, "cleaner destroy: %s: %s\n", o.stack_id, err);
        return 1;
    }
    if (gone)
        fprintf(stderr, "cleaner destroy: %s: already gone, nothing to do\n", o.stack_id);
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "stack_id", o.stack_id);
    cJSON_AddStringToObject(res, "result", gone ? "already_gone" : "destroyed");
    print_json(res);
    return 0;
}

static int cmd_sweep(int argc, char **argv)
{
    struct opts o;
    struct jb_state st;
    struct jb_stack_ctx ctx;
    size_t failed = 0;
    char err[JB_ERRLEN], *end = NULL;
    long par = 4;
    cJSON *res;
    int rc;

    if ((rc = parse(argc, argv, "sweep", &o)) >= 0)
        return rc;
    if (o.stack_id) {
        fputs("cleaner sweep: --stack-id: not used by sweep (see destroy)\n", stderr);
        return 2;
    }
    if (o.parallel && ((par = strtol(o.parallel, &end, 10)) < 1 || par > 16 || *end != '\0')) {
        fputs("cleaner sweep: --parallel: a number from 1 to 16\n", stderr);
        return 2;
    }
    if ((rc = setup("sweep", &o, &st, &ctx)) >= 0)
        return rc;
    res = sweep_run(&ctx, (int)par, &jb_cli_stop, 0, &failed, err, sizeof(err));
    jb_log_close(ctx.audit_fd);
    if (res == NULL) {
        fprintf(stderr, "cleaner sweep: %s\n", err);
        return 1;
    }
    if (cJSON_GetNumberValue(cJSON_GetObjectItem(res, "unreadable")) > 0)
        fprintf(stderr, "cleaner sweep: %.0f unreadable lease(s) left alone\n",
                cJSON_GetNumberValue(cJSON_GetObjectItem(res, "unreadable")));
    print_json(res);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 && getenv("AWS_LAMBDA_RUNTIME_API") != NULL)
        return cmd_lambda_clean();
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "destroy") == 0)
        return cmd_destroy(argc - 1, argv + 1);
    if (strcmp(argv[1], "sweep") == 0)
        return cmd_sweep(argc - 1, argv + 1);
    if (strcmp(argv[1], "request") == 0)
        return cmd_request(argc - 1, argv + 1);
    fprintf(stderr, "cleaner: command: unknown command '%s' (try --help)\n", argv[1]);
    return 2;
}
