/* The local jump box: a real sshd on 127.0.0.1 plus its TTL timer. */
#ifndef LOCALBOX_BOX_H
#define LOCALBOX_BOX_H

#include <stddef.h>

#include "stack/permit.h"

struct jb_box_spec {
    const char *dir, *stack_id, *user, *allow_cidr, *public_key, *expires_at;
    const char *cleaner, *state_url, *log;
    int port;
    long max_ttl_s;          /* the box ends this long after it started, whatever its lease says */
    struct jb_permit permit; /* empty: forwards anywhere */
};

int jb_box_up(const struct jb_box_spec *spec, char *err, size_t errlen);
/* Stops the box and wipes dir.  With stack_id and state_url (both or
 * neither), sshd's log (logins, forwarded connections) first goes to the
 * stack's durable audit records (lib/stack/audit.h); a failure to ship it is a
 * warning on stderr, never a failed teardown. */
int jb_box_down(const char *dir, const char *stack_id, const char *state_url, char *err,
                size_t errlen);

#endif
