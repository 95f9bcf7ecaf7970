/* Readiness probe: connect, insist on the pinned host key, log in with the
 * new user key, run `true`.  Never trusts on first use. */
#ifndef JB_SSH_H
#define JB_SSH_H

#include <signal.h>
#include <stddef.h>

#include "crypto/keys.h"

/* What every jump box's sshd accepts (userdata/sshd-jumpbox.conf.tftpl and
 * the local box) and what every written ssh_config asks for: nothing
 * ssh-audit fails or warns about but for JB_SSH_PROBE_* below.  Key exchange
 * is given as a removal from OpenSSH's default because the post-quantum
 * hybrids' names differ by version and sshd and ssh refuse a name they lack;
 * ciphers and MACs by name (every OpenSSH since 6.5 has these). */
#define JB_SSH_KEX "-ecdh-sha2-*,diffie-hellman-*"
#define JB_SSH_CIPHERS "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com"
#define JB_SSH_MACS "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"
/* The readiness probe's own: libssh2 before 1.11 (Debian 12 ships 1.10) has
 * neither an AEAD cipher nor an encrypt-then-MAC MAC, so the boxes also
 * accept these, which only the probe picks (OpenSSH clients prefer the
 * AEAD ciphers above, whose MAC is built in). */
#define JB_SSH_PROBE_KEX "curve25519-sha256,curve25519-sha256@libssh.org"
#define JB_SSH_PROBE_CIPHERS "aes256-ctr,aes128-ctr"
#define JB_SSH_PROBE_MACS "hmac-sha2-512,hmac-sha2-256"
/* What runs instead of whatever a client asks to run on a box (a command,
 * a shell, a subsystem): a jump box forwards and does nothing else.  Exit 0,
 * so `ssh BOX true` still says whether a login works. */
#define JB_SSH_FORCED_COMMAND "/bin/true"

struct jb_ssh_target {
    const char *host;
    int port;
    const char *user;
    const unsigned char *host_pk; /* the pinned host key (32 bytes) */
    const struct jb_keypair *user_key;
};

/* Retries with backoff (0.25 s doubling to 4 s) until timeout_s; stops at
 * once on JB_ERR_HOSTKEY or when *cancel becomes non-zero. */
int jb_ssh_wait_ready(const struct jb_ssh_target *t, int timeout_s, volatile sig_atomic_t *cancel,
                      int *attempts, char *err, size_t errlen);

#endif
