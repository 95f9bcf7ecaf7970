/* One HTTP exchange over libcurl (http.h): verification always on, bodies
 * capped, and a response body wiped when freed (it may hold credentials). */
#include "net/http.h"

#include "base/err.h"
#include "base/secret.h"
#include "base/strbuf.h"
#include "net/curl_dl.h"

#include <cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define DEF_CONNECT_MS 5000L
#define DEF_TOTAL_MS 60000L
#define DEF_MAX_BODY (16u << 20)
#define MAX_HEADERS 200

/* One connection pool per process: the easy handle outlives its request
 * (curl_easy_reset keeps its live connections, TLS sessions and DNS
 * cache), so the next request to the same endpoint skips the TCP and TLS
 * handshakes, as an SDK's client does.  One request at a time has it: a
 * second thread at the same moment makes a handle of its own.  A child
 * after fork() never touches its parent's connections (their sockets and
 * TLS state belong to the parent) and keeps a pool of its own; the
 * parent's stays reachable from it, never freed there. */
struct pool {
    CURL *handle;
    pid_t pid;
    struct pool *parent;
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pool *pool;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int jb_http_init(char *err, size_t errlen)
{
    int rc;

    if ((rc = jb_curl_load(err, errlen)) != 0)
        return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return jb_err(err, errlen, JB_ERR_HTTP, "http: libcurl failed to initialise");
    return 0;
}

const char *jb_http_header(const struct jb_http_response *resp, const char *name)
{
    size_t i;

    for (i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

static void free_headers(struct jb_http_response *resp)
{
    size_t i;

    for (i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->nheaders = 0;
}

void jb_http_response_free(struct jb_http_response *resp)
{
    if (resp == NULL)
        return;
    /* Bodies carry credentials (IMDS, container endpoint): wipe them. */
    if (resp->body != NULL) {
        jb_secret_wipe(resp->body, resp->bodylen);
        free(resp->body);
    }
    free_headers(resp);
    memset(resp, 0, sizeof(*resp));
}

struct recv {
    struct jb_strbuf body;
    size_t max;
    int too_big;
    struct jb_http_response *resp;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct recv *r = ud;
    size_t len = size * n;

    if (r->body.len + len > r->max) {
        r->too_big = 1;
        return 0;
    }
    jb_sb_add(&r->body, ptr, len);
    return r->body.failed ? 0 : len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct recv *r = ud;
    struct jb_http_response *resp = r->resp;
    size_t len = size * n, nlen;
    const char *colon, *v;
    struct jb_http_header *nh;

    if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        free_headers(resp); /* a new response (after 100 Continue) */
        return len;
    }
    colon = memchr(ptr, ':', len);
    if (colon == NULL || resp->nheaders >= MAX_HEADERS)
        return len;
    nlen = (size_t)(colon - ptr);
    v = colon + 1;
    while (v < ptr + len && (*v == ' ' || *v == '\t'))
        v++;
    len = (size_t)(ptr + len - v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    nh = realloc(resp->headers, (resp->nheaders + 1) * sizeof(*nh));
    if (nh == NULL)
        return 0;
    resp->headers = nh;
    nh[resp->nheaders].name = strndup(ptr, nlen);
    nh[resp->nheaders].value = strndup(v, len);
    if (nh[resp->nheaders].name == NULL || nh[resp->nheaders].value == NULL) {
        free(nh[resp->nheaders].name);
        free(nh[resp->nheaders].value);
        return 0;
    }
    resp->nheaders++;
    return size * n;
}

/* The pool's handle, reset, when no other thread has it; else a new one.
 * *pooled: hand it back with give_back. */
static CURL *take_handle(int *pooled)
{
    struct pool *p;
    CURL *c;

    *pooled = 0;
    if (pthread_mutex_trylock(&pool_mu) != 0)
        return curl_easy_init();
    if (pool != NULL && pool->pid == getpid()) {
        curl_easy_reset(pool->handle);
        *pooled = 1;
        return pool->handle;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL || (c = curl_easy_init()) == NULL) {
        free(p);
        pthread_mutex_unlock(&pool_mu);
        return NULL;
    }
    p->handle = c;
    p->pid = getpid();
    p->parent = pool;
    pool = p;
    *pooled = 1;
    return c;
}

static void give_back(CURL *c, int pooled)
{
    if (pooled)
        pthread_mutex_unlock(&pool_mu);
    else if (c != NULL)
        curl_easy_cleanup(c);
}

/* Pooled connections outlive their request while we run Terraform and
 * other programs: none of them may inherit one. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)ud;
    (void)purpose;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int append_raw(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);

    if (n == NULL)
        return -1;
    *list = n;
    return 0;
}

static int header_line(struct curl_slist **list, const char *name, const char *value)
{
    struct jb_strbuf sb = {0};
    struct curl_slist *n;
    char *line;

    if (value[0] == '\0')
        jb_sb_addf(&sb, "%s;", name); /* curl's way to send an empty header */
    else
        jb_sb_addf(&sb, "%s: %s", name, value);
    if ((line = jb_sb_take(&sb)) == NULL)
        return -1;
    n = curl_slist_append(*list, line);
    jb_secret_wipe(line, strlen(line)); /* may be a session token */
    free(line);
    if (n == NULL)
        return -1;
    *list = n;
    return 0;
}

int jb_http_do(const struct jb_http_request *req, const struct jb_http_options *opts,
               struct jb_http_response *resp, char *err, size_t errlen)
{
    struct recv r = {.resp = resp};
    struct curl_slist *hl = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    const char *ca = getenv("AWS_CA_BUNDLE");
    int has_ctype = 0, pooled = 0, rc = JB_ERR_NOMEM;
    CURLcode cc;
    CURL *c = NULL;
    size_t i;

    memset(resp, 0, sizeof(*resp));
    r.max = opts && opts->max_body ? opts->max_body : DEF_MAX_BODY;
    if ((rc = jb_http_init(err, errlen)) != 0)
        return rc;
    rc = JB_ERR_NOMEM;
    if (req->method == NULL || req->url == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "http: method and url are required");
    if ((c = take_handle(&pooled)) == NULL)
        goto out;
    for (i = 0; i < req->nheaders; i++) {
        has_ctype |= strcasecmp(req->headers[i].key, "content-type") == 0;
        if (header_line(&hl, req->headers[i].key, req->headers[i].value) != 0)
            goto out;
    }
    /* "Name:" removes a header curl would add: no 100-continue round trip,
     * and no form content type for a POSTFIELDS body. */
    if (append_raw(&hl, "Expect:") != 0 || (!has_ctype && append_raw(&hl, "Content-Type:") != 0))
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca != NULL && ca[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    /* The path is sent exactly as it was signed: no dot-segment squashing. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : DEF_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     opts && opts->total_timeout_ms ? opts->total_timeout_ms : DEF_TOTAL_MS);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jumpbox");
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0 || req->bodylen) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->bodylen);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        jb_sb_free(&r.body);
        free_headers(resp);
        if (r.too_big) {
            rc = jb_err(err, errlen, JB_ERR_HTTP, "http: %s %s: response body exceeds %zu bytes",
                        req->method, req->url, r.max);
            goto out;
        }
        resp->no_answer = 1;
        rc = jb_err(err, errlen, cc == CURLE_OPERATION_TIMEDOUT ? JB_ERR_TIMEOUT : JB_ERR_HTTP,
                    "http: %s %s: %s", req->method, req->url,
                    cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (r.body.p == NULL)
        jb_sb_add(&r.body, "", 0);
    resp->bodylen = r.body.len;
    if ((resp->body = jb_sb_take(&r.body)) == NULL) {
        free_headers(resp);
        goto out;
    }
    rc = 0;
out:
    if (rc == 0)
        resp->attempts = 1;
    if (rc == JB_ERR_NOMEM)
        jb_err(err, errlen, rc, "http: out of memory");
    jb_sb_free(&r.body);
    /* The handle keeps the list's address until its next reset: it is
     * reset before every request and never performed without one. */
    curl_slist_free_all(hl);
    give_back(c, pooled);
    return rc;
}
