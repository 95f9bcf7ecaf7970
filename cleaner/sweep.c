/* The sweep: every expired lease destroyed, several at a time.  Each
 * destroy runs in its own process so one stuck Terraform holds up only its
 * own slot, and a crash in one can't take the others down. */
#include "cmd.h"

#include "cmdline.h"
#include "base/clock.h"
#include "base/err.h"
#include "lambda/runtime.h"
#include "stack/cli.h"
#include "stack/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL 16

enum { EXIT_DESTROYED = 0, EXIT_FAILED = 1, EXIT_GONE = 3, EXIT_NOT_DUE = 4 };

struct slot {
    pid_t pid;
    int fd;
    size_t idx;
};

static void child(const struct jb_stack_ctx *ctx, const char *stack_id, int fd)
{
    char err[JB_ERRLEN] = "";
    struct jb_stack_ctx c = *ctx;
    int outcome = JB_DESTROY_DONE, rc;

    c.progress_ctx = (void *)stack_id;
    /* The lease is judged again as the destroy reads it: the listing may
     * be old news (a create that finished, a destroy that came first). */
    c.sweep = 1;
    rc = jb_stack_destroy(&c, stack_id, "sweep", &outcome, err, sizeof(err));
    if (rc != 0 && write(fd, err, strlen(err)) < 0)
        rc = -1; /* the exit status still says it failed */
    close(fd);
    fflush(stdout);
    fflush(stderr);
    _exit(rc != 0                         ? EXIT_FAILED
          : outcome == JB_DESTROY_GONE    ? EXIT_GONE
          : outcome == JB_DESTROY_NOT_DUE ? EXIT_NOT_DUE
                                          : EXIT_DESTROYED);
}

static void record(cJSON *item, int wstatus, int fd, size_t *failed)
{
    char msg[JB_ERRLEN];
    ssize_t n = read(fd, msg, sizeof(msg) - 1);
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

    msg[n > 0 ? n : 0] = '\0';
    if (code == EXIT_DESTROYED || code == EXIT_GONE || code == EXIT_NOT_DUE) {
        cJSON_AddStringToObject(item, "result",
                                code == EXIT_GONE      ? "already_gone"
                                : code == EXIT_NOT_DUE ? "not_due"
                                                       : "destroyed");
        return;
    }
    (*failed)++;
    cJSON_AddStringToObject(item, "result", "failed");
    if (msg[0] == '\0')
        snprintf(msg, sizeof(msg), "the destroy process %s %d",
                 WIFSIGNALED(wstatus) ? "died of signal" : "exited",
                 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : code);
    cJSON_AddStringToObject(item, "error", msg);
}

cJSON *sweep_run(const struct jb_stack_ctx *ctx, int parallel, volatile sig_atomic_t *stop,
                 long long stop_ms, size_t *failed, char *err, size_t errlen)
{
    struct jb_lease *ls = NULL;
    struct slot slots[MAX_PARALLEL];
    size_t n = 0, bad = 0, next = 0, running = 0, skipped = 0;
    time_t now = time(NULL);
    cJSON *res, *arr, **items = NULL;

    *failed = 0;
    if (parallel < 1)
        parallel = 1;
    if (parallel > MAX_PARALLEL)
        parallel = MAX_PARALLEL;
    if (jb_lease_list(ctx->state, &ls, &n, &bad, err, errlen) != 0)
        return NULL;
    res = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(res, "stacks");
    items = calloc(n ? n : 1, sizeof(*items));
    if (res == NULL || arr == NULL || items == NULL) {
        cJSON_Delete(res);
        jb_lease_list_free(ls, n);
        free(items);
        jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (;;) {
        /* Fill the free slots with the next expired leases. */
        while (running < (size_t)parallel && next < n) {
            size_t i = next++;
            int fds[2];
            pid_t pid;

            if (!jb_lease_sweepable(&ls[i], now))
                continue;
            items[i] = cJSON_CreateObject();
            cJSON_AddStringToObject(items[i], "stack_id", ls[i].stack_id);
            cJSON_AddItemToArray(arr, items[i]);
            if ((stop && *stop) || (stop_ms > 0 && jb_clock_unix_ms() >= stop_ms)) {
                cJSON_AddStringToObject(items[i], "result", "skipped");
                skipped++;
                continue;
            }
            if (pipe2(fds, O_CLOEXEC) != 0) {
                cJSON_AddStringToObject(items[i], "result", "failed");
                cJSON_AddStringToObject(items[i], "error", "pipe failed");
                (*failed)++;
                continue;
            }
            fflush(stdout);
            fflush(stderr);
            if ((pid = fork()) == 0) {
                close(fds[0]);
                child(ctx, ls[i].stack_id, fds[1]);
            }
            close(fds[1]);
            if (pid < 0) {
                close(fds[0]);
                cJSON_AddStringToObject(items[i], "result", "failed");
                cJSON_AddStringToObject(items[i], "error", "fork failed");
                (*failed)++;
                continue;
            }
            slots[running++] = (struct slot){pid, fds[0], i};
        }
        if (running == 0)
            break;
        {
            int wstatus;
            pid_t w = waitpid(-1, &wstatus, 0);
            if (w < 0 && errno == EINTR)
                continue;
            for (size_t s = 0; s < running; s++) {
                if (w >= 0 && slots[s].pid != w)
                    continue;
                if (w < 0) /* nothing left to wait for: should not happen */
                    wstatus = 1 << 8;
                record(items[slots[s].idx], wstatus, slots[s].fd, failed);
                close(slots[s].fd);
                slots[s] = slots[--running];
                break;
            }
        }
    }
    cJSON_AddNumberToObject(res, "examined", (double)n);
    cJSON_AddNumberToObject(res, "unreadable", (double)bad);
    cJSON_AddNumberToObject(res, "failed", (double)*failed);
    cJSON_AddNumberToObject(res, "skipped", (double)skipped);
    jb_lease_list_free(ls, n);
    free(items);
    return res;
}

int cmd_sweep(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"cleaner sweep", cmd_usage, 2, 0, NULL};
    struct cmd_opts o;
    struct jb_state st;
    struct jb_stack_ctx ctx;
    size_t failed = 0;
    char err[JB_ERRLEN], *end = NULL;
    long par = 4;
    cJSON *res;
    int rc;

    if ((rc = cmd_parse(&me, argc, argv, &o)) >= 0)
        return rc;
    if (o.stack_id)
        return jb_cmdline_bad(&me, "--stack-id", "not used by sweep (see destroy)");
    if (o.parallel &&
        ((par = strtol(o.parallel, &end, 10)) < 1 || par > MAX_PARALLEL || *end != '\0'))
        return jb_cmdline_bad(&me, "--parallel", "a number from 1 to 16");
    if ((rc = cmd_setup(&me, s, &o, &st, &ctx)) >= 0)
        return rc;
    res = sweep_run(&ctx, (int)par, &jb_cli_stop, 0, &failed, err, sizeof(err));
    cmd_done(&ctx);
    if (res == NULL) {
        fprintf(stderr, "cleaner sweep: %s\n", err);
        return 1;
    }
    if (cJSON_GetNumberValue(cJSON_GetObjectItem(res, "unreadable")) > 0)
        fprintf(stderr, "cleaner sweep: %.0f unreadable lease(s) left alone\n",
                cJSON_GetNumberValue(cJSON_GetObjectItem(res, "unreadable")));
    cmd_print_json(res);
    return failed ? 1 : 0;
}
