/* `provisioner run`: a jump box for one command's lifetime.  It gets a box
 * (a direct create, or through the build function), writes what ssh needs
 * into a private directory, runs COMMAND with JUMPBOX_SSH_CONFIG,
 * JUMPBOX_HOST and JUMPBOX_DIR, and tears the box down however COMMAND
 * ends.  stdout is COMMAND's: jumpbox speaks only on stderr, "jumpbox: ". */
#include "cmd.h"

#include "box.h"
#include "cmdline.h"
#include "out.h"
#include "run_report.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/proc.h"
#include "aws/lambda_invoke.h"
#include "aws/sfn.h"
#include "stack/audit.h"
#include "stack/cleanfn.h"
#include "stack/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses of jumpbox's own, apart from COMMAND's (docker run's). */
enum { RUN_FAILED = 125, RUN_NOT_EXECUTABLE = 126, RUN_NOT_FOUND = 127 };

static const char usage[] =
    "usage: provisioner run [--module local|aws | --function NAME]\n"
    "                       (--allow-cidr CIDR | --allow-my-ip) [--ttl DURATION]\n"
    "                       [--stack-id ID] [--state URL] [--requester TEXT]\n"
    "                       [--ready-timeout DURATION] [--clean-function NAME]\n"
    "                       [--keepalive DURATION]\n"
    "                       [--permit-open HOST:PORT]...\n"
    "                       [--grace DURATION] [--task-token TOKEN [--heartbeat DURATION]]\n"
    "                       [--quiet] -- COMMAND [ARG...]\n"
    "\n"
    "Gets a jump box, runs COMMAND with it, and tears the box down when COMMAND\n"
    "ends, however it ends.  COMMAND finds in its environment:\n"
    "  JUMPBOX_SSH_CONFIG  an ssh_config for the box (key, pinned host key)\n"
    "  JUMPBOX_HOST        the box's Host alias in it\n"
    "  JUMPBOX_DIR         the private directory (0700) holding both, removed after\n"
    "so `ssh -F \"$JUMPBOX_SSH_CONFIG\" -J \"$JUMPBOX_HOST\" target` and\n"
    "`rsync -e \"ssh -F $JUMPBOX_SSH_CONFIG\" src \"$JUMPBOX_HOST:dst\"` work.  stdin,\n"
    "stdout and stderr are COMMAND's; jumpbox's progress goes to stderr, each\n"
    "line starting \"jumpbox: \".\n"
    "\n"
    "  --module          create the box directly with Terraform, as `create` does\n"
    "                    (default: local)\n"
    "  --function        ask this build Lambda function, as `request` does\n"
    "  --clean-function  with --function: the clean function that ends the box\n"
    "                    (default jumpbox-clean)\n"
    "  --allow-cidr      the only source allowed to reach SSH (default 127.0.0.1/32\n"
    "                    for local)\n"
    "  --allow-my-ip     allow this machine's public address (JUMPBOX_CHECKIP_URL)\n"
    "  --ttl             the box's longest life (default 1h): its own timer ends it\n"
    "                    then, COMMAND or not; a warning comes before\n"
    "  --keepalive       heartbeats while COMMAND runs (with --function, through the\n"
    "                    build function); the box ends this long after the last one,\n"
    "                    before --ttl if run dies (SIGKILL, a lost machine).\n"
    "                    Default 5m; 0: none\n"
    "  --stack-id, --state, --requester, --ready-timeout  as for create (--stack-id,\n"
    "                    --state and --ready-timeout with --module only)\n"
    "  --permit-open     a target the box may forward to (repeatable), as for\n"
    "                    create and request; none: any target\n"
    "  --grace           after forwarding a signal to COMMAND, how long to wait\n"
    "                    before SIGKILL (default 10s)\n"
    "  --task-token      report the job to AWS Step Functions (.waitForTaskToken)\n"
    "  --heartbeat       with --task-token: SendTaskHeartbeat this often while the\n"
    "                    box is made and COMMAND runs (default 60s)\n"
    "  --quiet           no progress lines (warnings and errors still print)\n"
    "\n"
    "Any signal that would end run (INT, TERM, HUP, QUIT, USR1, USR2, ALRM...) is\n"
    "forwarded to COMMAND and the box torn down; one the caller ignored (nohup)\n"
    "stays ignored, by run and by COMMAND.\n"
    "\n"
    "Exit status: COMMAND's own (128+N when signal N ended it); 125 jumpbox failed\n"
    "(bad input, no box, or the teardown failed: then the lease is kept for\n"
    "`cleaner sweep` and stderr says COMMAND's status); 126 COMMAND is not\n"
    "executable; 127 COMMAND was not found.\n";

struct run {
    const struct jb_settings *settings; /* main()'s */
    int quiet;
    char **command;             /* COMMAND and its arguments */
    char path[PATH_MAX];        /* where COMMAND's program is */
    long grace_s;               /* from a forwarded signal to SIGKILL */
    const char *token;          /* --task-token; NULL: no Step Functions */
    const char *clean_function; /* NULL: a direct create */
    struct jb_box_create bc;
    struct jb_box_request br;
    struct jb_stack_ctx ctx;
    struct jb_create_result res;
    int have_box;
    char dir[PATH_MAX];
    struct jb_out_dir od;
    time_t warn_at, expires_at;
    int warned;
    long beat_every; /* seconds between keep-alive heartbeats; 0: none */
    time_t next_beat;
    struct run_report rep;
};

static void say(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress, silenced by --quiet. */
static void say(const struct run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->quiet)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "jumpbox: [%6.1fs] ", jb_cli_elapsed());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void progress(void *ctx, const char *stage, const char *detail)
{
    struct run *r = ctx;

    say(r, "%s%s%s", stage, *detail ? ": " : "", detail);
    /* An aws box takes minutes: the state machine hears from us meanwhile,
     * at each stage that finds a heartbeat due. */
    run_report_tick(&r->rep);
}

/* run speaks as "jumpbox" (stdout and the rest of stderr are COMMAND's),
 * and its bad input is 125, apart from COMMAND's statuses. */
static const struct jb_cmdline_cmd me = {"jumpbox", usage, RUN_FAILED,
                                         JB_CMDLINE_SEE_HELP | JB_CMDLINE_OPERANDS, NULL};

static int duration(const char *s, long min, long max, long *out, char *err, size_t errlen)
{
    if (jb_parse_duration(s, out, err, errlen) != 0)
        return -1;
    if (*out < min || *out > max) {
        jb_err(err, errlen, JB_ERR_INVALID, "from %lds to %lds", min, max);
        return -1;
    }
    return 0;
}

/* 0 when COMMAND can be run (its path in out), else the status a shell
 * would give: 127 not there, 126 there but not executable. */
static int find_command(const char *prog, char *out, size_t outlen)
{
    struct stat st;

    if (jb_proc_which(prog, environ, out, outlen) == 0)
        return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? RUN_NOT_EXECUTABLE : 0;
    return strchr(prog, '/') && stat(prog, &st) == 0 ? RUN_NOT_EXECUTABLE : RUN_NOT_FOUND;
}

/* The private directory: $XDG_RUNTIME_DIR (per user, in memory, 0700),
 * else $TMPDIR, else /tmp; mkdtemp makes it 0700. */
static int make_dir(struct run *r, char *err, size_t errlen)
{
    const char *bases[] = {r->settings->xdg_runtime_dir, r->settings->tmpdir, "/tmp"};
    struct stat st;

    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        const char *b = bases[i];
        if (b == NULL || *b != '/' || stat(b, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(b, W_OK | X_OK) != 0)
            continue;
        if (snprintf(r->dir, sizeof(r->dir), "%s/jumpbox-run.XXXXXX", b) >= (int)sizeof(r->dir))
            continue;
        if (mkdtemp(r->dir) == NULL)
            return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "%s", r->dir);
        if (jb_out_dir_check(r->dir, &r->od, err, errlen) != 0) {
            rmdir(r->dir);
            r->dir[0] = '\0';
            return JB_ERR_INVALID;
        }
        return 0;
    }
    return jb_err(err, errlen, JB_ERR_SYSTEM,
                  "no usable directory ($XDG_RUNTIME_DIR, $TMPDIR, /tmp)");
}

static void remove_dir(struct run *r)
{
    char err[JB_ERRLEN];

    if (r->dir[0] == '\0')
        return;
    /* The key and token overwritten first, if they are still the files we
     * wrote; then whatever COMMAND left, unlinked only: a file there may be
     * a hard link to data of the job's (`cp -al`, `rsync --link-dest`). */
    jb_out_dir_remove(&r->od);
    if (jb_unlink_tree(r->dir, err, sizeof(err)) != 0)
        fprintf(stderr, "jumpbox: warning: %s\n", err);
    r->dir[0] = '\0';
}

/* COMMAND's environment: ours, with the box's three. */
static int command_env(const struct run *r, struct jb_strv *env)
{
    static const char *const ours[] = {"JUMPBOX_SSH_CONFIG=", "JUMPBOX_HOST=", "JUMPBOX_DIR="};

    for (char **e = environ; e && *e; e++) {
        int skip = 0;
        for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
            skip |= strncmp(*e, ours[i], strlen(ours[i])) == 0;
        if (!skip && jb_strv_add(env, *e) != 0)
            return JB_ERR_NOMEM;
    }
    if (jb_strv_addf(env, "JUMPBOX_SSH_CONFIG=%s", r->od.ssh_config) != 0 ||
        jb_strv_addf(env, "JUMPBOX_HOST=%s", r->res.lease.stack_id) != 0 ||
        jb_strv_addf(env, "JUMPBOX_DIR=%s", r->od.dir) != 0)
        return JB_ERR_NOMEM;
    return 0;
}

/* When the box's expiry moved (an extend meanwhile), so does the warning. */
static void set_expiry(struct run *r, time_t expires_at)
{
    long lead;

    if (expires_at == r->expires_at)
        return;
    r->expires_at = expires_at;
    lead = (long)(r->expires_at - time(NULL)) / 10;
    r->warn_at = r->expires_at - (lead > 60 ? lead : 60);
    r->warned = 0;
}

/* One heartbeat, straight to the state or through the build function with
 * the stack's token; l gets the deadlines as they now are. */
static int beat(struct run *r, struct jb_lease *l, char *err, size_t errlen)
{
    char *answer = NULL;
    const cJSON *at;
    cJSON *o;
    int refused, rc;

    if (r->clean_function == NULL)
        return jb_stack_heartbeat(&r->ctx, r->res.lease.stack_id, l, err, errlen);
    rc = jb_cleanfn_owner_call(r->br.function, "heartbeat", r->res.lease.stack_id,
                               r->res.teardown_token, NULL, &answer, &refused, err, errlen);
    o = rc == 0 ? cJSON_Parse(answer) : NULL;
    free(answer);
    if (rc != 0)
        return rc;
    at = cJSON_GetObjectItemCaseSensitive(o, "expires_at");
    if (!cJSON_IsString(at) || jb_parse_rfc3339(at->valuestring, &l->expires_at, NULL, 0) != 0 ||
        !cJSON_IsString(at = cJSON_GetObjectItemCaseSensitive(o, "alive_until")) ||
        jb_parse_rfc3339(at->valuestring, &l->alive_until, NULL, 0) != 0)
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "the build function's heartbeat answer has no "
                    "expires_at and alive_until");
    cJSON_Delete(o);
    return rc;
}

/* The keep-alive: alive_until pushed on, the box told.  A failed one is
 * said, and the next comes on time: the keep-alive spans several. */
static void heartbeat(struct run *r)
{
    struct jb_lease l;
    char err[JB_ERRLEN], until[JB_RFC3339_LEN];

    if (r->beat_every == 0 || time(NULL) < r->next_beat)
        return;
    r->next_beat = time(NULL) + r->beat_every;
    memset(&l, 0, sizeof(l));
    if (beat(r, &l, err, sizeof(err)) == 0) {
        r->res.lease.alive_until = l.alive_until;
        set_expiry(r, l.expires_at);
    } else {
        jb_format_rfc3339(r->res.lease.alive_until, until);
        fprintf(stderr,
                "jumpbox: warning: keep-alive heartbeat failed: %s (the box ends at %s unless a "
                "later one gets through)\n",
                err, until);
    }
    jb_lease_clear(&l);
}

static void tick(void *ctx)
{
    struct run *r = ctx;

    heartbeat(r);
    if (!r->warned && time(NULL) >= r->warn_at) {
        char when[JB_RFC3339_LEN];
        jb_format_rfc3339(r->expires_at, when);
        r->warned = 1;
        fprintf(stderr,
                "jumpbox: warning: the box expires at %s (in %llds) and COMMAND still runs; "
                "the box's own timer ends it then (--ttl)\n",
                when, (long long)(r->expires_at - time(NULL)));
    }
    run_report_tick(&r->rep);
}

static void pump_output(void *ctx, int fd, const char *buf, size_t len)
{
    run_report_output(&((struct run *)ctx)->rep, fd, buf, len);
}

/* Ends the box the way it was made.  0, or -1 with the reason said. */
static int teardown(struct run *r)
{
    const char *sid = r->res.lease.stack_id;
    char err[JB_ERRLEN], *answer = NULL;
    int rc, outcome = 0, refused = 0;

    say(r, "tearing down %s", sid);
    if (r->clean_function == NULL) {
        /* A destroy is not cancelled half-way: another signal is noted only. */
        r->ctx.cancel = NULL;
        rc = jb_stack_destroy(&r->ctx, sid, "run-ended", &outcome, err, sizeof(err));
    } else {
        rc = jb_cleanfn_destroy(r->clean_function, sid, r->res.teardown_token, &answer, &refused,
                                err, sizeof(err));
        if (rc == 0 && strstr(answer, "\"already_gone\""))
            outcome = JB_DESTROY_GONE;
    }
    free(answer);
    if (rc != 0) {
        fprintf(stderr, "jumpbox: teardown of %s failed: %s (%s)\n", sid, err,
                r->clean_function ? "the box's timer and the sweeper still end it"
                                  : "the lease is kept for `cleaner sweep`");
        return -1;
    }
    say(r, "%s %s", sid,
        outcome == JB_DESTROY_GONE ? "was already gone (its timer or the sweeper ended it)"
                                   : "destroyed");
    return 0;
}

struct run_args {
    struct jb_box_create_args c;
    struct jb_box_request_args q;
    const char *grace, *token, *heartbeat, *clean_function, *keepalive;
    int module_given;
    struct jb_permit permit;
};

/* The command line into a, r->quiet and r->command.  -1: go on; else the
 * exit status (--help, or the bad input said). */
static int parse(struct run *r, struct run_args *a, int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"function", required_argument, NULL, 'f'},
                                         {"clean-function", required_argument, NULL, 'C'},
                                         {"allow-cidr", required_argument, NULL, 'a'},
                                         {"allow-my-ip", no_argument, NULL, 'M'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"stack-id", required_argument, NULL, 's'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"requester", required_argument, NULL, 'r'},
                                         {"ready-timeout", required_argument, NULL, 'R'},
                                         {"grace", required_argument, NULL, 'g'},
                                         {"permit-open", required_argument, NULL, 'P'},
                                         {"task-token", required_argument, NULL, 'T'},
                                         {"heartbeat", required_argument, NULL, 'H'},
                                         {"keepalive", required_argument, NULL, 'K'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char err[JB_ERRLEN];
    int c, status;

    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &status)) != 0) {
        switch (c) {
        case 'm':
            a->c.module = optarg;
            a->module_given = 1;
            break;
        case 'f':
            a->q.function = optarg;
            break;
        case 'C':
            a->clean_function = optarg;
            break;
        case 'a':
            a->c.allow_cidr = a->q.allow_cidr = optarg;
            break;
        case 'M':
            a->q.allow_my_ip = 1;
            break;
        case 't':
            a->c.ttl = optarg;
            break;
        case 's':
            a->c.stack_id = optarg;
            break;
        case 'S':
            a->c.state_url = optarg;
            break;
        case 'r':
            a->c.requester = optarg;
            break;
        case 'R':
            a->c.ready_timeout = optarg;
            break;
        case 'g':
            a->grace = optarg;
            break;
        case 'P':
            if (jb_permit_add(&a->permit, optarg, err, sizeof(err)) != 0)
                return jb_cmdline_bad(&me, "--permit-open", err);
            a->c.permit = a->q.permit = &a->permit;
            break;
        case 'T':
            a->token = optarg;
            break;
        case 'H':
            a->heartbeat = optarg;
            break;
        case 'K':
            a->keepalive = optarg;
            break;
        case 'q':
            r->quiet = 1;
            break;
        }
    }
    if (status >= 0)
        return status;
    if (optind >= argc)
        return jb_cmdline_bad(&me, "COMMAND",
                              "required (after --: the command to run with the box)");
    r->command = argv + optind;
    return -1;
}

/* The options, validated before anything is made; -1 when good, else the
 * exit status (the line already printed). */
static int check_options(struct run *r, struct run_args *a, long *heartbeat)
{
    const char *field;
    char err[JB_ERRLEN], cidr[JB_CIDR_MAX];
    int rc;

    a->q.settings = a->c.settings = r->settings;
    if (a->q.function && a->module_given)
        return jb_cmdline_bad(&me, "--function", "give either --function or --module, not both");
    if (a->q.function == NULL && a->clean_function)
        return jb_cmdline_bad(&me, "--clean-function", "only with --function");
    if (a->q.function && (a->c.stack_id || a->c.state_url || a->c.ready_timeout))
        return jb_cmdline_bad(&me,
                              a->c.stack_id    ? "--stack-id"
                              : a->c.state_url ? "--state"
                                               : "--ready-timeout",
                              "only with --module (the build function chooses it)");
    if (a->clean_function && jb_lambda_check_name(a->clean_function, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--clean-function", err);
    if (duration(a->grace ? a->grace : "10s", 1, 3600, &r->grace_s, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--grace", err);
    if (a->heartbeat && a->token == NULL)
        return jb_cmdline_bad(&me, "--heartbeat", "only with --task-token");
    if (duration(a->heartbeat ? a->heartbeat : "60s", 1, 3600, heartbeat, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--heartbeat", err);
    if (a->token && jb_sfn_check_token(a->token, err, sizeof(err)) != 0) {
        fprintf(stderr, "jumpbox: %s\n", err); /* err names --task-token */
        return RUN_FAILED;
    }
    r->token = a->token;
    if (a->q.function) {
        a->q.requester = a->c.requester;
        a->q.keepalive = a->keepalive ? a->keepalive : "5m";
        a->q.ttl = a->c.ttl;
        if (jb_box_request_check(&a->q, &r->br, &field, err, sizeof(err)) != 0)
            return jb_cmdline_bad(&me, field, err);
        r->clean_function = a->clean_function ? a->clean_function : "jumpbox-clean";
        return -1;
    }
    if (a->q.allow_my_ip && a->c.allow_cidr)
        return jb_cmdline_bad(&me, "--allow-my-ip",
                              "give either --allow-cidr or --allow-my-ip, not both");
    if (a->q.allow_my_ip) {
        if (jb_box_my_ip(r->settings, cidr, sizeof(cidr), err, sizeof(err)) != 0) {
            fprintf(stderr, "jumpbox: --allow-my-ip: %s\n", err);
            return RUN_FAILED;
        }
        say(r, "allowing %s (this machine's public address)", cidr);
        a->c.allow_cidr = cidr;
    }
    a->c.keepalive = a->keepalive ? a->keepalive : "5m";
    rc = jb_box_create_check(&a->c, &r->bc, &field, err, sizeof(err));
    a->c.allow_cidr = NULL; /* cidr goes out of scope; bc holds its own copy */
    if (rc == JB_ERR_INVALID)
        return jb_cmdline_bad(&me, field, err);
    if (rc != 0) {
        fprintf(stderr, "jumpbox: %s\n", err);
        return RUN_FAILED;
    }
    return -1;
}

/* COMMAND found, then the options; the Step Functions report set up.  -1
 * when good, else the exit status (the line already printed). */
static int check(struct run *r, struct run_args *a)
{
    long heartbeat = 0;
    int rc;

    jb_cli_elapsed();
    if ((rc = find_command(r->command[0], r->path, sizeof(r->path))) != 0) {
        fprintf(stderr, "jumpbox: COMMAND: %s: %s\n", r->command[0],
                rc == RUN_NOT_FOUND ? "not found" : "not executable");
        return rc;
    }
    if ((rc = check_options(r, a, &heartbeat)) >= 0)
        return rc;
    run_report_init(&r->rep, r->token, heartbeat);
    return -1;
}

/* Makes the box and writes its files.  0, or -1 with the reason in err. */
static int make_box(struct run *r, char *err, size_t errlen)
{
    const char *field = NULL;
    int rc, refused = 0;

    if (r->clean_function == NULL) {
        jb_box_stack_ctx(&r->bc, &r->ctx, &jb_cli_stop, progress, r);
        r->ctx.origin = jb_audit_origin("cli", NULL, NULL);
        rc = jb_box_create_make(&r->ctx, &r->bc, &r->res, &field, err, errlen);
        if (rc == JB_ERR_INVALID && field) {
            char inner[JB_ERRLEN];
            snprintf(inner, sizeof(inner), "%s", err);
            jb_err(err, errlen, rc, "%s: %s", field, inner);
        }
    } else {
        rc = jb_box_request_make(&r->br, progress, r, &r->res, &refused, err, errlen);
    }
    if (rc != 0)
        return -1;
    r->have_box = 1;
    if (jb_out_dir_write(&r->od, &r->res, err, errlen) != 0)
        return -1;
    return 0;
}

/* The private directory, the box in it, the timers armed.  0, or -1 with
 * the failure said and reported; r->have_box tells whether a box is up to
 * tear down all the same. */
static int get_box(struct run *r)
{
    struct run_outcome oc = {0};
    char err[JB_ERRLEN];
    long ka;

    jb_cli_catch_signals();
    if (make_dir(r, err, sizeof(err)) != 0) {
        fprintf(stderr, "jumpbox: private directory: %s\n", err);
        oc.why = err;
        run_report_end(&r->rep, &oc);
        return -1;
    }
    if (make_box(r, err, sizeof(err)) != 0) {
        fprintf(stderr, "jumpbox: no box: %s\n", err);
        oc.why = err;
        run_report_end(&r->rep, &oc);
        return -1;
    }
    set_expiry(r, r->res.lease.expires_at);
    /* Four heartbeats a keep-alive: three may fail before the box ends. */
    ka = r->clean_function ? r->br.keepalive_s : r->res.lease.keepalive_s;
    if (ka > 0) {
        r->beat_every = ka / 4 > 2 ? ka / 4 : 2;
        r->next_beat = time(NULL) + r->beat_every;
    }
    say(r, "box %s ready; running %s", r->res.lease.stack_id, r->command[0]);
    return 0;
}

/* COMMAND with the box, its end reported.  Its exit status, or -1 when
 * it did not run or the report of its end failed (the line printed). */
static int run_command(struct run *r)
{
    struct run_outcome oc = {0};
    struct jb_strv env = {0};
    struct jb_proc_opts po;
    char err[JB_ERRLEN];
    int rc, cmd_status = -1;
    double started;

    oc.stack_id = r->res.lease.stack_id;
    if (command_env(r, &env) != 0) {
        fputs("jumpbox: out of memory\n", stderr);
        jb_strv_free(&env);
        return -1;
    }
    memset(&po, 0, sizeof(po));
    po.path = r->path;
    po.argv = r->command;
    po.envp = env.v;
    po.foreground = 1;
    po.ignored = &jb_cli_ignored;
    po.cancel = &jb_cli_stop;
    po.cancel_forward = 1;
    po.kill_grace_ms = (int)r->grace_s * 1000;
    po.tick = tick;
    po.output = r->token ? pump_output : NULL;
    po.cb_ctx = r;
    started = jb_cli_elapsed();
    if (jb_cli_stop) {
        /* A signal while the box was being made: COMMAND never starts. */
        cmd_status = 128 + (int)jb_cli_stop;
    } else {
        rc = jb_proc_run(&po, &cmd_status, NULL, err, sizeof(err));
        if (rc != 0 && rc != JB_ERR_CANCELLED)
            fprintf(stderr, "jumpbox: COMMAND: %s\n", err);
    }
    jb_strv_free(&env);
    oc.duration_s = jb_cli_elapsed() - started;
    oc.status = cmd_status;
    oc.signal = (int)jb_cli_stop;
    if (jb_cli_stop)
        say(r, "got signal %d; COMMAND ended with status %d", (int)jb_cli_stop, cmd_status);
    else
        say(r, "COMMAND exited with status %d", cmd_status);
    if (cmd_status < 0) {
        fprintf(stderr, "jumpbox: COMMAND did not run: %s\n", err);
        oc.why = err;
        run_report_end(&r->rep, &oc);
    } else if (run_report_end(&r->rep, &oc) != 0) {
        fprintf(stderr, "jumpbox: COMMAND exited with status %d\n", cmd_status);
        cmd_status = -1;
    }
    return cmd_status;
}

int cmd_run(int argc, char **argv, const struct jb_settings *s)
{
    struct run_args a;
    struct run *r;
    int status, cmd_status = -1;

    memset(&a, 0, sizeof(a));
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fputs("jumpbox: out of memory\n", stderr);
        return RUN_FAILED;
    }
    r->settings = r->ctx.settings = s;
    r->ctx.event_fd = -1;
    if ((status = parse(r, &a, argc, argv)) < 0 && (status = check(r, &a)) < 0) {
        if (get_box(r) == 0)
            cmd_status = run_command(r);
        /* However COMMAND ended, or the making of the box failed. */
        if (r->have_box && teardown(r) != 0) {
            if (cmd_status >= 0)
                fprintf(stderr, "jumpbox: COMMAND exited with status %d\n", cmd_status);
            cmd_status = -1;
        }
        status = cmd_status >= 0 ? cmd_status : RUN_FAILED;
    }
    remove_dir(r);
    jb_create_result_clear(&r->res);
    jb_log_close(r->ctx.event_fd);
    cJSON_Delete((cJSON *)r->ctx.origin);
    free(r);
    return status;
}
