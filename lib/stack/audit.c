#include "stack/audit.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "aws/s3.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAMP_LEN 24 /* "20261202T010203.123456Z" plus NUL */
#define NAME_MAX_ (STAMP_LEN + JB_AUDIT_EVENT_MAX + 16)
#define KEY_MAX 1400
#define PUT_TRIES 3

static int check_event(const char *event, char *err, size_t errlen)
{
    size_t n = event ? strlen(event) : 0;

    if (n == 0 || n > JB_AUDIT_EVENT_MAX ||
        strspn(event, "abcdefghijklmnopqrstuvwxyz0123456789._") != n)
        return jb_err(err, errlen, JB_ERR_INVALID, "audit event name: not [a-z0-9._]{1,%d}",
                      JB_AUDIT_EVENT_MAX);
    return 0;
}

/* <stamp>-<event>-<8 hex>.<ext>: the random part keeps two writers of the
 * same event in the same microsecond apart. */
static void record_name(const char *event, const char *ext, char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    char stamp[STAMP_LEN];
    unsigned char r[4];
    char hex[9];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    randombytes_buf(r, sizeof(r));
    sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
    snprintf(out, outlen, "%s.%06ldZ-%s-%s.%s", stamp, (long)(ts.tv_nsec / 1000), event, hex, ext);
}

/* The stamp of a record name, or -1 when it is not one of ours. */
static time_t name_time(const char *name)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (strlen(name) < STAMP_LEN + 2 || name[8] != 'T' || name[STAMP_LEN - 2] != 'Z' ||
        name[STAMP_LEN - 1] != '-' ||
        sscanf(name, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* The event part of a record name ("" when it has none) and its type. */
static int name_parts(const char *name, char *event, size_t eventlen, int *is_log)
{
    const char *e = name + STAMP_LEN, *dash = strrchr(name, '-'), *dot = strrchr(name, '.');
    size_t n;

    if (name_time(name) < 0 || dash == NULL || dash < e || dot == NULL || dot < dash)
        return -1;
    if (strcmp(dot, ".json") == 0)
        *is_log = 0;
    else if (strcmp(dot, ".log") == 0)
        *is_log = 1;
    else
        return -1;
    n = (size_t)(dash - e);
    if (n == 0 || n >= eventlen)
        return -1;
    memcpy(event, e, n);
    event[n] = '\0';
    return 0;
}

static int put_file(const struct jb_state *st, const char *stack_id, const char *name,
                    const char *data, size_t len, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX], tname[NAME_MAX_ + 8];
    int rc, n = snprintf(dir, sizeof(dir), "%s/" JB_AUDIT_DIR "/%s", st->dir, stack_id);

    if (n < 0 || (size_t)n >= sizeof(dir) || jb_path_join(path, sizeof(path), dir, name) != 0 ||
        snprintf(tname, sizeof(tname), ".%s.tmp", name) >= (int)sizeof(tname) ||
        jb_path_join(tmp, sizeof(tmp), dir, tname) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "audit path too long");
    if ((rc = jb_mkdir_p(dir, 0700, err, errlen)) != 0)
        return rc;
    /* Written whole under a dot name, then linked: link(2) fails when the
     * name exists (O_EXCL's promise), and a reader never sees half a record. */
    if ((rc = jb_file_create(tmp, data, len, 0600, err, errlen)) != 0)
        return rc;
    if (link(tmp, path) != 0)
        rc =
            jb_err_errno(err, errlen, errno == EEXIST ? JB_ERR_EXISTS : JB_ERR_IO, "link %s", path);
    unlink(tmp);
    return rc;
}

static int put_s3(const struct jb_state *st, const char *stack_id, const char *name,
                  const char *data, size_t len, const char *ctype, char *err, size_t errlen)
{
    struct jb_s3_client *c = NULL;
    struct jb_s3_config cfg;
    char key[KEY_MAX];
    int rc, n = snprintf(key, sizeof(key), "%s" JB_AUDIT_DIR "/%s/%s", st->prefix, stack_id, name);

    if (n < 0 || (size_t)n >= sizeof(key))
        return jb_err(err, errlen, JB_ERR_INVALID, "audit key too long");
    memset(&cfg, 0, sizeof(cfg));
    if ((rc = jb_s3_client_new(&cfg, &c, err, errlen)) != 0)
        return rc;
    rc = jb_s3_put(c, st->bucket, key, data, len, ctype, JB_S3_PUT_IF_NONE_MATCH, err, errlen);
    /* 412 on a name with 32 random bits: our own first attempt, stored
     * with its answer lost and retried. */
    if (rc == JB_ERR_EXISTS)
        rc = 0;
    jb_s3_client_free(c);
    return rc;
}

static int put_bytes(const struct jb_state *st, const char *stack_id, const char *event,
                     const char *ext, const char *data, size_t len, char *err, size_t errlen)
{
    char name[NAME_MAX_];
    int rc = JB_ERR_EXISTS;

    if (jb_check_stack_id(stack_id, err, errlen) != 0 || check_event(event, err, errlen) != 0)
        return JB_ERR_INVALID;
    for (int i = 0; i < PUT_TRIES && rc == JB_ERR_EXISTS; i++) {
        record_name(event, ext, name, sizeof(name));
        if (st->kind == JB_STATE_S3)
            rc = put_s3(st, stack_id, name, data, len,
                        strcmp(ext, "log") == 0 ? "text/plain; charset=utf-8" : "application/json",
                        err, errlen);
        else
            rc = put_file(st, stack_id, name, data, len, err, errlen);
    }
    return rc;
}

int jb_audit_put(const struct jb_state *st, const char *stack_id, const char *event, cJSON *rec,
                 char *err, size_t errlen)
{
    char now[JB_RFC3339_LEN], *text;
    int rc;

    if (!cJSON_IsObject(rec))
        return jb_err(err, errlen, JB_ERR_INVALID, "audit record: not an object");
    jb_format_rfc3339(time(NULL), now);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "time");
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "event");
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "stack_id");
    if (!cJSON_AddStringToObject(rec, "time", now) ||
        !cJSON_AddStringToObject(rec, "event", event ? event : "") ||
        !cJSON_AddStringToObject(rec, "stack_id", stack_id ? stack_id : "") ||
        (text = cJSON_PrintUnformatted(rec)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    rc = put_bytes(st, stack_id, event, "json", text, strlen(text), err, errlen);
    free(text);
    return rc;
}

int jb_audit_put_text(const struct jb_state *st, const char *stack_id, const char *event,
                      const char *text, size_t len, char *err, size_t errlen)
{
    return put_bytes(st, stack_id, event, "log", text,
                     len > JB_AUDIT_TEXT_MAX ? JB_AUDIT_TEXT_MAX : len, err, errlen);
}

/* ---- sshd logs --------------------------------------------------------- */

static void add_login(cJSON *logins, const char *line)
{
    char user[65], from[64], type[32], fp[128];
    int port;
    const char *p = strstr(line, "Accepted publickey for ");
    cJSON *o;

    if (p == NULL || sscanf(p, "Accepted publickey for %64s from %63s port %d ssh2: %31s %127s",
                            user, from, &port, type, fp) != 5)
        return;
    if ((o = cJSON_CreateObject()) == NULL)
        return;
    cJSON_AddStringToObject(o, "user", user);
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddNumberToObject(o, "port", port);
    cJSON_AddStringToObject(o, "key_type", type);
    cJSON_AddStringToObject(o, "key_fingerprint", fp);
    cJSON_AddItemToArray(logins, o);
}

/* Forwarded connections: sshd names an allowed one at LogLevel DEBUG1
 * (server_request_direct_tcpip), a refused one (PermitOpen) at INFO. */
static void add_forward(cJSON *fwds, const char *line)
{
    char from[64], host[256];
    int fport, tport, allowed;
    const char *p;
    cJSON *o;

    if ((p = strstr(line, "server_request_direct_tcpip: originator ")) != NULL &&
        sscanf(p, "server_request_direct_tcpip: originator %63s port %d, target %255s port %d",
               from, &fport, host, &tport) == 4)
        allowed = 1;
    else if ((p = strstr(line, "Received request from ")) != NULL &&
             strstr(p, "but the request was denied") != NULL &&
             sscanf(p, "Received request from %63s port %d to connect to host %255s port %d", from,
                    &fport, host, &tport) == 4)
        allowed = 0;
    else
        return;
    if ((o = cJSON_CreateObject()) == NULL)
        return;
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "target_host", host);
    cJSON_AddNumberToObject(o, "target_port", tport);
    cJSON_AddBoolToObject(o, "allowed", allowed);
    cJSON_AddItemToArray(fwds, o);
}

cJSON *jb_audit_log_record(const char *text)
{
    cJSON *o = cJSON_CreateObject(), *lines = cJSON_AddArrayToObject(o, "lines"),
          *logins = cJSON_AddArrayToObject(o, "logins"),
          *fwds = cJSON_AddArrayToObject(o, "forwards");
    char *copy = strdup(text ? text : ""), *save = NULL;

    if (o == NULL || lines == NULL || logins == NULL || fwds == NULL || copy == NULL) {
        cJSON_Delete(o);
        free(copy);
        return NULL;
    }
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(l);
        if (n && l[n - 1] == '\r')
            l[n - 1] = '\0';
        /* cJSON escapes control characters; invalid UTF-8 goes through as
         * bytes, which a JSON reader may refuse: replaced here. */
        for (char *q = l; *q; q++)
            if ((unsigned char)*q >= 0x80 || (unsigned char)*q < 0x20)
                *q = '?';
        cJSON_AddItemToArray(lines, cJSON_CreateString(l));
        add_login(logins, l);
        add_forward(fwds, l);
    }
    free(copy);
    return o;
}

cJSON *jb_audit_origin(const char *via, const char *function_arn, const char *request_id)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "via", via);

    if (ok && strcmp(via, "cli") == 0) {
        struct passwd *pw = getpwuid(geteuid());
        char host[256];
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "unknown");
        host[sizeof(host) - 1] = '\0';
        ok = cJSON_AddStringToObject(o, "user", pw ? pw->pw_name : "unknown") &&
             cJSON_AddNumberToObject(o, "uid", (double)geteuid()) &&
             cJSON_AddStringToObject(o, "host", host);
    } else if (ok) {
        ok = cJSON_AddStringToObject(o, "function_arn", function_arn ? function_arn : "") &&
             cJSON_AddStringToObject(o, "request_id", request_id ? request_id : "");
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- Listing ----------------------------------------------------------- */

struct walk {
    jb_audit_fn fn;
    void *ctx;
    time_t since;
    size_t *bad;
};

/* One stored object to a record, and to fn. */
static int emit(struct walk *w, const char *stack_id, const char *name, const char *body)
{
    char event[JB_AUDIT_EVENT_MAX + 1], when[JB_RFC3339_LEN];
    int is_log = 0, rc;
    time_t t;
    cJSON *rec;

    if (name_parts(name, event, sizeof(event), &is_log) != 0)
        return 0;
    t = name_time(name);
    if (is_log) {
        if ((rec = jb_audit_log_record(body)) == NULL) {
            (*w->bad)++;
            return 0;
        }
        jb_format_rfc3339(t, when);
        cJSON_AddStringToObject(rec, "time", when);
        cJSON_AddStringToObject(rec, "event", event);
        cJSON_AddStringToObject(rec, "stack_id", stack_id);
    } else if (!cJSON_IsObject(rec = cJSON_Parse(body))) {
        cJSON_Delete(rec);
        (*w->bad)++;
        return 0;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "record");
    cJSON_AddStringToObject(rec, "record", name);
    rc = w->fn(w->ctx, rec);
    cJSON_Delete(rec);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir that pass keep (NULL: all not starting with '.'). */
static int sorted_names(const char *dir, int stacks, char ***out, size_t *n, char *err,
                        size_t errlen)
{
    DIR *d;
    struct dirent *de;
    char **v = NULL;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if ((d = opendir(dir)) == NULL)
        return errno == ENOENT ? 0 : jb_err_errno(err, errlen, JB_ERR_IO, "open %s", dir);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || (stacks && jb_check_stack_id(de->d_name, NULL, 0) != 0))
            continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));
            if (nv == NULL)
                goto nomem;
            v = nv;
        }
        if ((v[*n] = strdup(de->d_name)) == NULL)
            goto nomem;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof(*v), cmp_str);
    *out = v;
    return 0;
nomem:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    *n = 0;
    return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int list_file_stack(struct walk *w, const char *root, const char *stack_id, char *err,
                           size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX], **names = NULL, *body = NULL;
    size_t n = 0;
    int rc;

    if (jb_path_join(dir, sizeof(dir), root, stack_id) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "audit path too long");
    if ((rc = sorted_names(dir, 0, &names, &n, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        time_t t = name_time(names[i]);
        if (t < 0 || (w->since > 0 && t < w->since))
            continue;
        if (jb_path_join(path, sizeof(path), dir, names[i]) != 0 ||
            jb_file_read(path, JB_AUDIT_TEXT_MAX + 65536, &body, NULL, NULL, 0) != 0) {
            (*w->bad)++;
            continue;
        }
        rc = emit(w, stack_id, names[i], body);
        free(body);
        body = NULL;
    }
    free_names(names, n);
    return rc;
}

static int list_file(struct walk *w, const struct jb_state *st, const char *stack_id, char *err,
                     size_t errlen)
{
    char root[PATH_MAX], **stacks = NULL;
    size_t n = 0;
    int rc;

    if (jb_path_join(root, sizeof(root), st->dir, JB_AUDIT_DIR) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "audit path too long");
    if (stack_id)
        return list_file_stack(w, root, stack_id, err, errlen);
    if ((rc = sorted_names(root, 1, &stacks, &n, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = list_file_stack(w, root, stacks[i], err, errlen);
    free_names(stacks, n);
    return rc;
}

static int list_s3(struct walk *w, const struct jb_state *st, const char *stack_id, char *err,
                   size_t errlen)
{
    struct jb_s3_client *c = NULL;
    struct jb_s3_config cfg;
    struct jb_s3_list_page page;
    char prefix[KEY_MAX], id[JB_STACK_ID_MAX + 1], *token = NULL;
    size_t root_len;
    int rc, n;

    n = snprintf(prefix, sizeof(prefix), "%s" JB_AUDIT_DIR "/", st->prefix);
    root_len = (size_t)n;
    if (stack_id)
        n = snprintf(prefix, sizeof(prefix), "%s" JB_AUDIT_DIR "/%s/", st->prefix, stack_id);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return jb_err(err, errlen, JB_ERR_INVALID, "audit prefix too long");
    memset(&cfg, 0, sizeof(cfg));
    memset(&page, 0, sizeof(page));
    if ((rc = jb_s3_client_new(&cfg, &c, err, errlen)) != 0)
        return rc;
    do {
        if ((rc = jb_s3_list(c, st->bucket, prefix, token, &page, err, errlen)) != 0)
            break;
        /* Keys come in order: by stack, then by stamp. */
        for (size_t i = 0; i < page.nkeys && rc == 0; i++) {
            const char *rest = page.keys[i] + root_len, *slash, *name;
            char *body = NULL;
            size_t idn;
            time_t t;
            if (strlen(page.keys[i]) <= root_len || (slash = strchr(rest, '/')) == NULL ||
                (idn = (size_t)(slash - rest)) == 0 || idn >= sizeof(id))
                continue;
            memcpy(id, rest, idn);
            id[idn] = '\0';
            name = slash + 1;
            if (jb_check_stack_id(id, NULL, 0) != 0 || strchr(name, '/') != NULL ||
                (t = name_time(name)) < 0 || (w->since > 0 && t < w->since))
                continue;
            if (jb_s3_get(c, st->bucket, page.keys[i], JB_AUDIT_TEXT_MAX + 65536, &body, NULL, NULL,
                          0) != 0) {
                (*w->bad)++;
                continue;
            }
            rc = emit(w, id, name, body);
            free(body);
        }
        free(token);
        token = rc == 0 && page.truncated && page.next_token ? strdup(page.next_token) : NULL;
        jb_s3_list_page_free(&page);
    } while (token != NULL);
    jb_s3_list_page_free(&page);
    free(token);
    jb_s3_client_free(c);
    return rc;
}

int jb_audit_list(const struct jb_state *st, const char *stack_id, time_t since, jb_audit_fn fn,
                  void *ctx, size_t *bad, char *err, size_t errlen)
{
    struct walk w = {fn, ctx, since, bad};

    *bad = 0;
    if (stack_id && jb_check_stack_id(stack_id, err, errlen) != 0)
        return JB_ERR_INVALID;
    return st->kind == JB_STATE_S3 ? list_s3(&w, st, stack_id, err, errlen)
                                   : list_file(&w, st, stack_id, err, errlen);
}
