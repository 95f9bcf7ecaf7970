/* The Runtime API's HTTP/1.1 client (http1.h): plain sockets and poll, so a
 * cold start loads neither libcurl nor a TLS stack. */
#include "lambda/http1.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/secret.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 8192

struct conn {
    int fd;
    long long stop; /* monotonic ms; 0: no deadline */
    long timeout_ms;
    char in[16384];
    size_t pos, len;
    int eof;
};

/* Waits for ev on c->fd until c->stop.  0 ready, or a JB_ERR_*. */
static int wait_fd(struct conn *c, short ev, char *err, size_t errlen)
{
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = ev};
        int ms = -1, r;

        if (c->stop) {
            long long left = c->stop - jb_clock_mono_ms();
            if (left <= 0)
                return jb_err(err, errlen, JB_ERR_TIMEOUT, "no answer within %ld ms",
                              c->timeout_ms);
            ms = left > 60000 ? 60000 : (int)left;
        }
        r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "poll");
        if (r > 0)
            return 0;
    }
}

static int split_hostport(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *h = hp, *colon;
    size_t hl;

    if (*hp == '[') {
        const char *rb = strchr(hp, ']');
        if (rb == NULL || rb[1] != ':')
            return -1;
        h = hp + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strchr(hp, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return -1;
        hl = (size_t)(colon - hp);
    }
    if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen || colon[1] == '\0')
        return -1;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    if (atol(colon + 1) < 1 || atol(colon + 1) > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

static int try_connect(struct conn *c, const struct addrinfo *ai, long cto, char *err,
                       size_t errlen)
{
    long long stop = jb_clock_mono_ms() + cto;
    int soerr = 0, rc;
    socklen_t sl = sizeof(soerr);

    c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (c->fd < 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "socket");
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return jb_err_errno(err, errlen, JB_ERR_HTTP, "connect");
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        long long left = stop - jb_clock_mono_ms();
        if (c->stop && c->stop < stop)
            left = c->stop - jb_clock_mono_ms();
        if (left <= 0)
            return jb_err(err, errlen, JB_ERR_TIMEOUT, "connect: timed out");
        rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "poll");
        if (rc > 0)
            break;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return jb_err_errno(err, errlen, JB_ERR_SYSTEM, "getsockopt");
    if (soerr != 0) {
        errno = soerr;
        return jb_err_errno(err, errlen, JB_ERR_HTTP, "connect");
    }
    return 0;
}

static int open_conn(struct conn *c, const char *hostport, long cto, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char host[256], port[8];
    int rc = JB_ERR_HTTP, g;

    if (split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "%.100s: not host:port", hostport);
    if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
        return jb_err(err, errlen, JB_ERR_HTTP, "%.100s: %s", host, gai_strerror(g));
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((rc = try_connect(c, ai, cto, err, errlen)) == 0)
            break;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    return rc;
}

static int send_all(struct conn *c, const char *p, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        int rc;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((rc = wait_fd(c, POLLOUT, err, errlen)) != 0)
                return rc;
            continue;
        }
        return jb_err_errno(err, errlen, JB_ERR_HTTP, "send");
    }
    return 0;
}

/* Refills c->in (after moving what is unread to its start).  0, or JB_ERR_*;
 * c->eof is set at the end of the stream. */
static int fill(struct conn *c, char *err, size_t errlen)
{
    if (c->pos > 0) {
        memmove(c->in, c->in + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    for (;;) {
        ssize_t n;
        int rc;
        if (c->len == sizeof(c->in))
            return 0;
        n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return 0;
        }
        if (n == 0) {
            c->eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return jb_err_errno(err, errlen, JB_ERR_HTTP, "recv");
        if ((rc = wait_fd(c, POLLIN, err, errlen)) != 0)
            return rc;
    }
}

/* One line without its CRLF (a bare LF is accepted), NUL-terminated in line. */
static int read_line(struct conn *c, char *line, size_t linelen, char *err, size_t errlen)
{
    for (;;) {
        char *nl = memchr(c->in + c->pos, '\n', c->len - c->pos);
        int rc;
        if (nl != NULL) {
            size_t n = (size_t)(nl - (c->in + c->pos));
            size_t keep = n > 0 && nl[-1] == '\r' ? n - 1 : n;
            if (keep >= linelen)
                return jb_err(err, errlen, JB_ERR_PARSE, "a response line is over %zu bytes",
                              linelen - 1);
            memcpy(line, c->in + c->pos, keep);
            line[keep] = '\0';
            if (memchr(line, '\0', keep) != NULL)
                return jb_err(err, errlen, JB_ERR_PARSE, "a NUL byte in the response headers");
            c->pos += n + 1;
            return 0;
        }
        if (c->len - c->pos >= linelen)
            return jb_err(err, errlen, JB_ERR_PARSE, "a response line is over %zu bytes",
                          linelen - 1);
        if (c->eof)
            return jb_err(err, errlen, JB_ERR_HTTP, "the connection closed mid-response");
        if ((rc = fill(c, err, errlen)) != 0)
            return rc;
    }
}

/* Appends up to want bytes of body (want 0: until EOF) to r. */
static int read_body(struct conn *c, struct jb_http1_resp *r, size_t cap, size_t want, int to_eof,
                     char *err, size_t errlen)
{
    while (to_eof || want > 0) {
        size_t have = c->len - c->pos, n;
        int rc;
        if (have == 0) {
            if (c->eof) {
                if (to_eof)
                    return 0;
                return jb_err(err, errlen, JB_ERR_HTTP,
                              "the connection closed %zu bytes before the body's end", want);
            }
            if ((rc = fill(c, err, errlen)) != 0)
                return rc;
            continue;
        }
        n = to_eof || have < want ? have : want;
        if (r->body_len + n > cap) {
            r->body_over = 1;
            return 0;
        }
        memcpy(r->body + r->body_len, c->in + c->pos, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        c->pos += n;
        if (!to_eof)
            want -= n;
    }
    return 0;
}

/* Grows r->body to hold total bytes + NUL.  Never realloc: the old block may
 * hold a secret to wipe. */
static int body_reserve(struct jb_http1_resp *r, size_t *cap, size_t total)
{
    char *p;
    if (total <= *cap && r->body != NULL)
        return 0;
    if ((p = malloc(total + 1)) == NULL)
        return -1;
    if (r->body) {
        memcpy(p, r->body, r->body_len);
        jb_secret_wipe(r->body, *cap + 1);
        free(r->body);
    }
    p[r->body_len] = '\0';
    r->body = p;
    *cap = total;
    return 0;
}

static int parse_size(const char *s, int base, size_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!(base == 16 ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
        return -1;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || v > SIZE_MAX / 2)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' && !(base == 16 && *end == ';'))
        return -1;
    *out = (size_t)v;
    return 0;
}

static int read_chunked(struct conn *c, struct jb_http1_resp *r, size_t max, size_t *cap, char *err,
                        size_t errlen)
{
    char line[256];
    int rc;

    for (;;) {
        size_t sz, need, grow;
        if ((rc = read_line(c, line, sizeof(line), err, errlen)) != 0)
            return rc;
        if (parse_size(line, 16, &sz) != 0)
            return jb_err(err, errlen, JB_ERR_PARSE, "bad chunk size line '%.40s'", line);
        if (sz == 0)
            break;
        if (sz > max - r->body_len) {
            r->body_over = 1;
            return 0;
        }
        need = r->body_len + sz;
        grow = *cap * 2 < max ? *cap * 2 : max;
        if (need > *cap && body_reserve(r, cap, need > grow ? need : grow) != 0)
            return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        if ((rc = read_body(c, r, *cap, sz, 0, err, errlen)) != 0)
            return rc;
        if ((rc = read_line(c, line, sizeof(line), err, errlen)) != 0)
            return rc;
        if (line[0] != '\0')
            return jb_err(err, errlen, JB_ERR_PARSE, "a chunk longer than its size");
    }
    do { /* trailer fields, ignored */
        if ((rc = read_line(c, line, sizeof(line), err, errlen)) != 0)
            return rc;
    } while (line[0] != '\0');
    return 0;
}

static int bad_header_text(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int send_request(struct conn *c, const struct jb_http1_req *q, char *err, size_t errlen)
{
    char head[8192];
    size_t n;
    int k;

    if (bad_header_text(q->path) || q->path[0] != '/' || strchr(q->path, ' ') != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "request path: not a plain path");
    k = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n",
                 q->method, q->path, q->hostport);
    if (k < 0 || (size_t)k >= sizeof(head))
        return jb_err(err, errlen, JB_ERR_INVALID, "request head too long");
    n = (size_t)k;
    for (size_t i = 0; q->headers && q->headers[i]; i++) {
        if (bad_header_text(q->headers[i]) || strchr(q->headers[i], ':') == NULL)
            return jb_err(err, errlen, JB_ERR_INVALID, "request header '%.60s': malformed",
                          q->headers[i]);
        k = snprintf(head + n, sizeof(head) - n, "%s\r\n", q->headers[i]);
        if (k < 0 || (size_t)k >= sizeof(head) - n)
            return jb_err(err, errlen, JB_ERR_INVALID, "request head too long");
        n += (size_t)k;
    }
    if (strcmp(q->method, "GET") != 0)
        k = snprintf(head + n, sizeof(head) - n, "Content-Length: %zu\r\n\r\n", q->body_len);
    else
        k = snprintf(head + n, sizeof(head) - n, "\r\n");
    if (k < 0 || (size_t)k >= sizeof(head) - n)
        return jb_err(err, errlen, JB_ERR_INVALID, "request head too long");
    n += (size_t)k;
    if ((k = send_all(c, head, n, err, errlen)) != 0)
        return k;
    if (strcmp(q->method, "GET") != 0 && q->body_len > 0)
        return send_all(c, q->body, q->body_len, err, errlen);
    return 0;
}

/* Status line and headers; 1xx interim responses are skipped. */
static int read_head(struct conn *c, struct jb_http1_resp *r, long long *clen, int *chunked,
                     char *err, size_t errlen)
{
    char line[LINE_MAX_LEN];
    size_t total;
    int rc;

    for (;;) {
        int st;
        if ((rc = read_line(c, line, sizeof(line), err, errlen)) != 0)
            return rc;
        if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
            line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
            !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
            (line[12] != ' ' && line[12] != '\0') || line[9] < '1' || line[9] > '5')
            return jb_err(err, errlen, JB_ERR_PARSE, "malformed status line '%.60s'", line);
        st = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        r->status = st;
        *clen = -1;
        *chunked = 0;
        total = strlen(line);
        for (;;) {
            const char *colon, *v;
            size_t nlen, vlen;
            if ((rc = read_line(c, line, sizeof(line), err, errlen)) != 0)
                return rc;
            if (line[0] == '\0')
                break;
            if ((total += strlen(line) + 2) > JB_HTTP1_HEADERS_MAX)
                return jb_err(err, errlen, JB_ERR_PARSE, "response headers over %u bytes",
                              JB_HTTP1_HEADERS_MAX);
            if (line[0] == ' ' || line[0] == '\t' || (colon = strchr(line, ':')) == NULL ||
                colon == line)
                return jb_err(err, errlen, JB_ERR_PARSE, "malformed header line '%.60s'", line);
            nlen = (size_t)(colon - line);
            for (size_t i = 0; i < nlen; i++)
                if (line[i] == ' ' || line[i] == '\t')
                    return jb_err(err, errlen, JB_ERR_PARSE, "malformed header line '%.60s'", line);
            v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            vlen = strlen(v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
                size_t cl;
                char val[32];
                if (vlen >= sizeof(val))
                    return jb_err(err, errlen, JB_ERR_PARSE, "bad Content-Length");
                memcpy(val, v, vlen);
                val[vlen] = '\0';
                if (parse_size(val, 10, &cl) != 0 || (*clen >= 0 && (size_t)*clen != cl))
                    return jb_err(err, errlen, JB_ERR_PARSE, "bad Content-Length '%.30s'", val);
                *clen = (long long)cl;
            } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
                if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
                    return jb_err(err, errlen, JB_ERR_PARSE,
                                  "unsupported Transfer-Encoding '%.40s'", v);
                *chunked = 1;
            }
            if (st >= 200 && r->on_header)
                r->on_header(r->ud, line, nlen, v, vlen);
        }
        if (st >= 200 || st == 101)
            return 0;
    }
}

int jb_http1_request(const struct jb_http1_req *q, struct jb_http1_resp *r, char *err,
                     size_t errlen)
{
    struct conn *c;
    long long clen;
    size_t cap = 0;
    int chunked, rc;

    r->status = 0;
    r->body = NULL;
    r->body_len = 0;
    r->body_over = 0;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    c->fd = -1;
    c->timeout_ms = q->timeout_ms;
    c->stop = q->timeout_ms > 0 ? jb_clock_mono_ms() + q->timeout_ms : 0;
    if ((rc = open_conn(c, q->hostport, q->connect_timeout_ms > 0 ? q->connect_timeout_ms : 10000,
                        err, errlen)) != 0)
        goto out;
    if ((rc = send_request(c, q, err, errlen)) != 0)
        goto out;
    if ((rc = read_head(c, r, &clen, &chunked, err, errlen)) != 0)
        goto out;
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200) ||
        strcmp(q->method, "HEAD") == 0)
        goto out;
    if (chunked) {
        rc = read_chunked(c, r, q->max_body, &cap, err, errlen);
    } else if (clen >= 0) {
        if ((size_t)clen > q->max_body)
            r->body_over = 1;
        else if (clen > 0 && body_reserve(r, &cap, (size_t)clen) != 0)
            rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        else if (clen > 0)
            rc = read_body(c, r, cap, (size_t)clen, 0, err, errlen);
    } else {
        /* Neither: the body runs to the end of the connection. */
        for (;;) {
            size_t want = cap ? cap * 2 : 4096;
            if (want > q->max_body)
                want = q->max_body;
            if (body_reserve(r, &cap, want) != 0) {
                rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
                break;
            }
            if ((rc = read_body(c, r, cap, 0, 1, err, errlen)) != 0 || !r->body_over)
                break;
            if (cap >= q->max_body)
                break;
            r->body_over = 0;
        }
    }
    if (r->body_over && r->body) {
        jb_secret_wipe(r->body, cap + 1);
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
    }
out:
    if (rc != 0)
        jb_http1_resp_free(r);
    if (c->fd >= 0)
        close(c->fd);
    jb_secret_wipe(c->in, sizeof(c->in));
    free(c);
    return rc;
}

void jb_http1_resp_free(struct jb_http1_resp *r)
{
    if (r->body) {
        jb_secret_wipe(r->body, r->body_len);
        free(r->body);
    }
    r->body = NULL;
    r->body_len = 0;
}
