/* The deadlines an aws box follows: its stack's expires_at (the hard cap
 * the box also checks against its own boot time) and, with a keep-alive,
 * alive_until.  They move after the box booted (an extension, heartbeats),
 * so the box re-reads them from PREFIX deadlines/ROLE_ID:INSTANCE_ID.json of
 * the state bucket: for its instance-profile session that is
 * deadlines/${aws:userid}.json, the one object its role may read, written
 * only by the provisioner's principals (terraform/control-plane).  One JSON
 * line: {"stack_id":…,"expires_at":…[,"alive_until":…]}.
 *
 * A local box reads its lease itself (jumpbox-localbox): it needs none. */
#ifndef JB_DEADLINE_H
#define JB_DEADLINE_H

#include <stddef.h>

#include "stack/lease.h"
#include "stack/state.h"

/* The lease's deadlines where its box reads them: an aws lease with an
 * instance on an S3 state; 0 and nothing written for any other. */
int jb_deadline_publish(const struct jb_state *st, const struct jb_lease *l, char *err,
                        size_t errlen);
/* Removes the object, every version of it (once the stack is gone); 0 when
 * there was none. */
int jb_deadline_remove(const struct jb_state *st, const struct jb_lease *l, char *err,
                       size_t errlen);

#endif
