/* The local event log: one JSON object a line, appended to a file (or a
 * stream such as Lambda's stdout).  Never holds a secret: only names, times
 * and ids.  (Its file keeps its old name, JUMPBOX_AUDIT_LOG / audit.log;
 * "audit" in the code means the durable records of stack/audit.) */
#ifndef JB_LOG_H
#define JB_LOG_H

#include <stddef.h>

/* Opens path (the JUMPBOX_AUDIT_LOG setting; NULL or empty: none), else
 * <work_root>/audit.log (making work_root, 0700, when it is missing), for
 * appending (0600).  A path of "-" means stderr.  Returns a descriptor, or
 * -1 when there is none. */
int jb_log_open(const char *path, const char *work_root);
void jb_log_close(int fd);

/* {"time":…,"event":…,"stack_id":…, then each key/value pair in kv (NULL-
 * terminated, values as strings)}.  Best effort: the line must never
 * turn a good create or destroy into a failure. */
void jb_log_event(int fd, const char *event, const char *stack_id, const char *const *kv);

#endif
