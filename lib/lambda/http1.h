/* A small plain-HTTP/1.1 client over one TCP connection per request, for
 * the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API is "host:port", no TLS):
 * starting the runtime must not load libcurl and its TLS stack.
 *
 * Request: "Connection: close", the caller's header lines, Content-Length
 * when there is a body.  Response: status line, headers (each handed to
 * on_header), body by Content-Length, chunked, or up to EOF; bounded by
 * max_body.  No redirects, no proxies, no TLS. */
#ifndef JB_HTTP1_H
#define JB_HTTP1_H

#include <stddef.h>

#define JB_HTTP1_HEADERS_MAX (64u * 1024) /* the whole response header block */

struct jb_http1_resp {
    int status;
    char *body; /* malloc'd, NUL-terminated (NULL when empty); wiped by _free */
    size_t body_len;
    int body_over; /* the body was over max_body: not read, body stays NULL */
    /* Called for each response header (not for 1xx interim responses);
     * value is trimmed, neither is NUL-terminated. */
    void (*on_header)(void *ud, const char *name, size_t nlen, const char *value, size_t vlen);
    void *ud;
};

struct jb_http1_req {
    const char *hostport;       /* "host:port" or "[v6]:port" */
    const char *method;         /* "GET", "POST" */
    const char *path;           /* origin-form, "/..." */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* sent with Content-Length when method is not GET */
    size_t body_len;
    long timeout_ms;         /* whole exchange; 0: none (a long poll) */
    long connect_timeout_ms; /* 0: 10 s */
    size_t max_body;
};

/* 0 once a complete response came (any status; body_over when it was too
 * big), or JB_ERR_INVALID (bad request input), JB_ERR_HTTP (connection),
 * JB_ERR_TIMEOUT, JB_ERR_PARSE (malformed response), JB_ERR_NOMEM. */
int jb_http1_request(const struct jb_http1_req *q, struct jb_http1_resp *r, char *err,
                     size_t errlen);

void jb_http1_resp_free(struct jb_http1_resp *r);

#endif
