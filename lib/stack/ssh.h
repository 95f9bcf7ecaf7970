/* Readiness probe: connect, insist on the pinned host key, log in with the
 * new user key, run `true`.  Never trusts on first use. */
#ifndef JB_SSH_H
#define JB_SSH_H

#include <signal.h>
#include <stddef.h>

#include "crypto/keys.h"

struct jb_ssh_target {
    const char *host;
    int port;
    const char *user;
    const unsigned char *host_pk; /* the pinned host key (32 bytes) */
    const struct jb_keypair *user_key;
};

/* One attempt.  JB_ERR_HOSTKEY when the server shows another host key (a
 * hard error: callers must not retry it), JB_ERR_SSH / JB_ERR_AUTH otherwise. */
int jb_ssh_probe_once(const struct jb_ssh_target *t, int timeout_ms, char *err, size_t errlen);

/* Retries with backoff (0.25 s doubling to 4 s) until timeout_s; stops at
 * once on JB_ERR_HOSTKEY or when *cancel becomes non-zero. */
int jb_ssh_wait_ready(const struct jb_ssh_target *t, int timeout_s, volatile sig_atomic_t *cancel,
                      int *attempts, char *err, size_t errlen);

#endif
