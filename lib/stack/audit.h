/* Durable audit records: what happened to each stack, kept in the state
 * store after the stack, its lease and the machine that asked are gone.
 *
 * One object per event, <root>/audit/<stack>/<stamp>-<event>-<rand>.<ext>
 * (file://: a file made with O_EXCL; s3://: a PutObject with
 * If-None-Match: *), never read-modify-write: writers on different
 * machines (a create, the box, a sweep) never undo each other, and a
 * record once written is never changed.  <stamp> is UTC with microseconds
 * (20261202T010203.123456Z), so a listing in key order is in time order
 * per stack.  audit/ lies outside every stack's directory or prefix, and
 * "audit" is no stack id (jb_check_stack_id), so no purge reaches it.
 *
 * .json objects are JSON records written here; .log objects are a box's
 * sshd log as the box shipped it (text), which jb_audit_list turns into a
 * record with the logins and forwarded connections found in it, reading at
 * most the last JB_AUDIT_TEXT_MAX + 64 KiB of it. */
#ifndef JB_AUDIT_H
#define JB_AUDIT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "stack/state.h"

#define JB_AUDIT_DIR "audit"
#define JB_AUDIT_TEXT_MAX (1024 * 1024) /* a shipped log is cut to this */
#define JB_AUDIT_EVENT_MAX 32

/* Writes rec (a JSON object; "time", "event" and "stack_id" are added) as
 * a new record.  event: [a-z0-9._-], at most JB_AUDIT_EVENT_MAX bytes. */
int jb_audit_put(const struct jb_state *st, const char *stack_id, const char *event, cJSON *rec,
                 char *err, size_t errlen);

/* A text record (a box's sshd log).  One longer than JB_AUDIT_TEXT_MAX keeps
 * its newest whole lines, under a first line saying how many bytes went. */
int jb_audit_put_text(const struct jb_state *st, const char *stack_id, const char *event,
                      const char *text, size_t len, char *err, size_t errlen);

/* Calls fn with each record (fn owns nothing; rec is freed after), of one
 * stack or (stack_id NULL) of all, in key order, skipping those whose
 * stamp is before since (0: none skipped).  Unreadable objects are
 * counted in *bad and skipped.  A non-zero return of fn stops the walk
 * and is returned. */
typedef int (*jb_audit_fn)(void *ctx, const cJSON *rec);
int jb_audit_list(const struct jb_state *st, const char *stack_id, time_t since, jb_audit_fn fn,
                  void *ctx, size_t *bad, char *err, size_t errlen);

/* The record for a shipped sshd log: its lines, and what they show:
 * "logins" (user, from, port, key fingerprint), "forwards" (from, target,
 * allowed), each only from a line whose sshd message says so from its
 * start (a journal line's after "STAMP HOST sshd[PID]: ", an -E log line
 * whole); and "truncated": the box cut the log (its first line says so),
 * or cut is set: text is the end of a log too long to read whole, from
 * the middle of a line.  Exposed for the unit tests. */
cJSON *jb_audit_log_record(const char *text, int cut);

/* Who acts, for the records' "by" (a new object).  via "cli": this
 * process's user, uid and host name.  Otherwise (a Lambda function) what
 * the invocation gives: its function ARN and request id; Lambda tells a
 * function nothing of its caller's identity or address. */
cJSON *jb_audit_origin(const char *via, const char *function_arn, const char *request_id);

#endif
