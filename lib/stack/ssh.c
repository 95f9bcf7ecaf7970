/* The readiness probe (ssh.h) over libssh2: the pinned host key or nothing,
 * retried until the box answers or the ready timeout ends. */
#include "stack/ssh.h"

#include "base/clock.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_tcp(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    int fd = -1, gai, saved = ECONNREFUSED;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((gai = getaddrinfo(host, portstr, &hints, &res)) != 0)
        return jb_err(err, errlen, JB_ERR_SSH, "resolve %s: %s", host, gai_strerror(gai));
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            pfd = (struct pollfd){fd, POLLOUT, 0};
            if (poll(&pfd, 1, timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                /* libssh2 runs blocking; its own timeout bounds each call. */
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
                break;
            }
            saved = soerr ? soerr : ETIMEDOUT;
        } else {
            saved = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errno = saved;
        return jb_err_errno(err, errlen, JB_ERR_SSH, "connect %s:%d", host, port);
    }
    return fd;
}

/* libssh2 hands us the data to sign; we answer with the raw Ed25519
 * signature (libssh2 wraps it in the method name) made by libsodium, so the
 * private key never passes through libssh2 or OpenSSL. */
static int sign_cb(LIBSSH2_SESSION *session, unsigned char **sig, size_t *sig_len,
                   const unsigned char *data, size_t data_len, void **abstract)
{
    const struct jb_keypair *kp = *abstract;
    unsigned char blob[JB_ED25519_SIGBLOB_LEN];
    (void)session;

    if (jb_key_sign(kp, data, data_len, blob) != 0 || (*sig = malloc(64)) == NULL)
        return -1;
    /* The blob is string "ssh-ed25519" (4+11) then string sig (4+64). */
    memcpy(*sig, blob + JB_ED25519_SIGBLOB_LEN - 64, 64);
    *sig_len = 64;
    return 0;
}

static const char *ssh_errmsg(LIBSSH2_SESSION *s)
{
    char *msg = NULL;

    libssh2_session_last_error(s, &msg, NULL, 0);
    return msg ? msg : "unknown error";
}

/* One attempt.  JB_ERR_HOSTKEY when the server shows another host key (a
 * hard error: callers must not retry it), JB_ERR_SSH / JB_ERR_AUTH otherwise. */
static int probe_once(const struct jb_ssh_target *t, int timeout_ms, char *err, size_t errlen)
{
    unsigned char want[JB_ED25519_BLOB_LEN], buf[256];
    LIBSSH2_SESSION *s = NULL;
    LIBSSH2_CHANNEL *ch = NULL;
    const char *got;
    size_t gotlen = 0;
    int type = 0, fd, rc = 0, exit_status;
    void *abstract = (void *)t->user_key;

    if ((fd = connect_tcp(t->host, t->port, timeout_ms, err, errlen)) < 0)
        return fd;
    if ((s = libssh2_session_init()) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "libssh2 session");
        goto out;
    }
    libssh2_session_set_blocking(s, 1);
    libssh2_session_set_timeout(s, timeout_ms);
    /* Only what the boxes accept: a box that offers less fails here. */
    if (libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, "ssh-ed25519") != 0 ||
        libssh2_session_method_pref(s, LIBSSH2_METHOD_KEX, JB_SSH_PROBE_KEX) != 0 ||
        libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS, JB_SSH_PROBE_CIPHERS) != 0 ||
        libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_SC, JB_SSH_PROBE_CIPHERS) != 0 ||
        libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS, JB_SSH_PROBE_MACS) != 0 ||
        libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_SC, JB_SSH_PROBE_MACS) != 0) {
        rc = jb_err(err, errlen, JB_ERR_SSH, "libssh2 lacks the jump box's algorithms: %s",
                    ssh_errmsg(s));
        goto out;
    }
    if (libssh2_session_handshake(s, fd) != 0) {
        rc = jb_err(err, errlen, JB_ERR_SSH, "ssh handshake with %s:%d: %s", t->host, t->port,
                    ssh_errmsg(s));
        goto out;
    }
    jb_key_blob(t->host_pk, want);
    got = libssh2_session_hostkey(s, &gotlen, &type);
    if (got == NULL || type != LIBSSH2_HOSTKEY_TYPE_ED25519 || gotlen != sizeof(want) ||
        memcmp(got, want, sizeof(want)) != 0) {
        rc = jb_err(err, errlen, JB_ERR_HOSTKEY,
                    "%s:%d presented a host key other than the pinned one: refusing to log in",
                    t->host, t->port);
        goto out;
    }
    {
        unsigned char ublob[JB_ED25519_BLOB_LEN];
        jb_key_blob(t->user_key->pk, ublob);
        if (libssh2_userauth_publickey(s, t->user, ublob, sizeof(ublob), sign_cb, &abstract) != 0) {
            rc = jb_err(err, errlen, JB_ERR_AUTH, "ssh login as %s at %s:%d refused: %s", t->user,
                        t->host, t->port, ssh_errmsg(s));
            goto out;
        }
    }
    if ((ch = libssh2_channel_open_session(s)) == NULL || libssh2_channel_exec(ch, "true") != 0) {
        rc = jb_err(err, errlen, JB_ERR_SSH, "ssh exec at %s:%d: %s", t->host, t->port,
                    ssh_errmsg(s));
        goto out;
    }
    while (libssh2_channel_read(ch, (char *)buf, sizeof(buf)) > 0)
        ;
    libssh2_channel_close(ch);
    libssh2_channel_wait_closed(ch);
    exit_status = libssh2_channel_get_exit_status(ch);
    if (exit_status != 0)
        rc = jb_err(err, errlen, JB_ERR_SSH, "'true' exited %d on %s:%d", exit_status, t->host,
                    t->port);
out:
    if (ch)
        libssh2_channel_free(ch);
    if (s) {
        libssh2_session_disconnect(s, "probe done");
        libssh2_session_free(s);
    }
    close(fd);
    return rc;
}

int jb_ssh_wait_ready(const struct jb_ssh_target *t, int timeout_s, volatile sig_atomic_t *cancel,
                      int *attempts, char *err, size_t errlen)
{
    long long deadline = jb_clock_mono_ms() + (long long)timeout_s * 1000;
    int delay = 250, rc;

    *attempts = 0;
    if (libssh2_init(0) != 0)
        return jb_err(err, errlen, JB_ERR_SSH, "libssh2_init failed");
    for (;;) {
        long long left = deadline - jb_clock_mono_ms();
        (*attempts)++;
        rc = probe_once(t, left < 10000 ? (int)(left > 1000 ? left : 1000) : 10000, err, errlen);
        if (rc == 0 || rc == JB_ERR_HOSTKEY)
            break;
        if (cancel && *cancel) {
            rc = jb_err(err, errlen, JB_ERR_CANCELLED, "stopped while waiting for ssh");
            break;
        }
        if (jb_clock_mono_ms() + delay >= deadline) {
            size_t used = err ? strlen(err) : 0;
            if (err && used < errlen)
                snprintf(err + used, errlen - used, " (gave up after %d attempts in %d s)",
                         *attempts, timeout_s);
            rc = JB_ERR_TIMEOUT;
            break;
        }
        poll(NULL, 0, delay);
        delay = delay * 2 > 4000 ? 4000 : delay * 2;
    }
    libssh2_exit();
    return rc;
}
