/* `provisioner run --task-token`: the job reported to the Step Functions
 * state machine that waits for it (lib/aws/sfn.h): heartbeats while COMMAND
 * runs, then its success or failure.  Also pumps COMMAND's output to ours,
 * counting it and keeping the tail of its stderr for the failure's cause. */
#ifndef PROVISIONER_RUN_REPORT_H
#define PROVISIONER_RUN_REPORT_H

#include <stddef.h>

#define RUN_TAIL_MAX (32u * 1024)

struct run_report {
    const char *token;
    long heartbeat_s;
    long long next_beat_ms;
    int refused; /* the service refused the token: nothing more is sent */
    size_t out_bytes, err_bytes;
    char tail[RUN_TAIL_MAX + 1]; /* the last bytes of COMMAND's stderr */
    size_t tail_len;
};

void run_report_init(struct run_report *r, const char *token, long heartbeat_s);

/* lib/proc's output callback: the bytes to our own fd 1 or 2 as they are. */
void run_report_output(void *ctx, int fd, const char *buf, size_t len);

/* A heartbeat when one is due.  Never fails: a refused token stops the
 * reporting with one line on stderr, other errors are warned about. */
void run_report_tick(struct run_report *r);

/* How the job ended, for the report. */
struct run_outcome {
    const char *stack_id; /* NULL: no box was made */
    int status;           /* COMMAND's exit status (128+N: signal N) */
    int signal;           /* the signal run got and forwarded, or 0 */
    double duration_s;    /* COMMAND's run time */
    const char *why;      /* jumpbox's error: no box, or COMMAND not run */
};

/* SendTaskSuccess when COMMAND exited 0, else SendTaskFailure with
 * jumpbox.BoxFailed, jumpbox.Signalled or jumpbox.CommandFailed.  -1 when
 * the report could not be made (said on stderr). */
int run_report_end(struct run_report *r, const struct run_outcome *o);

#endif
