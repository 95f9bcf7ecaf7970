/* Durable audit records (audit.h): written once under a fresh name (the
 * store's put-if-absent), listed in key order, a too-long log shown by its
 * end. */
#include "stack/audit.h"

#include "base/err.h"
#include "base/parse.h"
#include "stack/store.h"

#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAMP_LEN 24 /* "20261202T010203.123456Z" plus NUL */
#define NAME_MAX_ (STAMP_LEN + JB_AUDIT_EVENT_MAX + 16)
#define KEY_MAX 1400
#define PUT_TRIES 3
/* A stored log is read whole up to this, else its end only (a box that
 * shipped more than JB_AUDIT_TEXT_MAX). */
#define READ_MAX (JB_AUDIT_TEXT_MAX + 65536)
/* The first line of a log cut to its newest lines (jb_audit_put_text, and
 * userdata/jumpbox-audit-ship.sh, which writes the same words). */
#define CUT_NOTE "jumpbox: sshd log cut to its newest lines, "

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

static int put_bytes(const struct jb_state *st, const char *stack_id, const char *event,
                     const char *ext, const char *data, size_t len, char *err, size_t errlen)
{
    char name[NAME_MAX_], key[KEY_MAX];
    int rc = JB_ERR_EXISTS;

    if (jb_check_stack_id(stack_id, err, errlen) != 0 || check_event(event, err, errlen) != 0)
        return JB_ERR_INVALID;
    /* A new name each try: one taken (the same microsecond and random
     * part) is never overwritten. */
    for (int i = 0; i < PUT_TRIES && rc == JB_ERR_EXISTS; i++) {
        record_name(event, ext, name, sizeof(name));
        snprintf(key, sizeof(key), JB_AUDIT_DIR "/%s/%s", stack_id, name);
        rc = jb_store_put_if_absent(st, key, data, len,
                                    strcmp(ext, "log") == 0 ? "text/plain; charset=utf-8"
                                                            : "application/json",
                                    NULL, err, errlen);
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
    char note[128], *cut;
    const char *from, *nl;
    size_t keep, n;
    int rc;

    if (len <= JB_AUDIT_TEXT_MAX)
        return put_bytes(st, stack_id, event, "log", text, len, err, errlen);
    /* What matters most is how the box ended: keep the newest whole lines
     * that fit under a note saying how much went. */
    from = text + len - (JB_AUDIT_TEXT_MAX - sizeof(note));
    if (from[-1] != '\n' && (nl = memchr(from, '\n', (size_t)(text + len - from))) != NULL)
        from = nl + 1;
    keep = (size_t)(text + len - from);
    n = (size_t)snprintf(note, sizeof(note), CUT_NOTE "%zu earlier bytes dropped\n",
                         (size_t)(from - text));
    if ((cut = malloc(n + keep)) == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    memcpy(cut, note, n);
    memcpy(cut + n, from, keep);
    rc = put_bytes(st, stack_id, event, "log", cut, n + keep, err, errlen);
    free(cut);
    return rc;
}

/* ---- sshd logs --------------------------------------------------------- */

/* p past the literal s, or NULL. */
static const char *lit(const char *p, const char *s)
{
    size_t n = strlen(s);

    return p && strncmp(p, s, n) == 0 ? p + n : NULL;
}

/* One word (no space, 1..outlen-1 bytes) into out; p past it, or NULL. */
static const char *word(const char *p, char *out, size_t outlen)
{
    size_t n = p ? strcspn(p, " ") : 0;

    if (n == 0 || n >= outlen)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

/* A port number; p past it, or NULL. */
static const char *port_no(const char *p, int *out)
{
    size_t n = p ? strspn(p, "0123456789") : 0;
    int v = 0;

    if (n == 0 || n > 5)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    if (v > 65535)
        return NULL;
    *out = v;
    return p + n;
}

/* The last needle in s[0..n), or NULL. */
static const char *last_of(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
        if (memcmp(s + i, needle, k) == 0)
            return s + i;
    return NULL;
}

/* s[0..n) into out, cut to fit: a value a client chose, kept as a claim. */
static void copy_cut(char *out, size_t outlen, const char *s, size_t n)
{
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Where sshd's own message starts in a line, or NULL when the line is not
 * sshd's.  A line of the journal as the AWS box ships it (journalctl -o
 * short-iso) is "STAMP HOST PROG[PID]: MESSAGE", PROG one of OpenSSH's
 * daemon programs (9.8 split sshd into sshd, sshd-session and sshd-auth);
 * a line of sshd's -E log (the local box) is the message itself.  What a
 * client chooses (a user name, an originator) sshd writes inside a
 * message, never at its start: a line counts only for what its message
 * starts with, and matches whole. */
static const char *sshd_message(const char *line)
{
    static const char *const progs[] = {"sshd-session", "sshd-auth", "sshd"};
    const char *p = line;
    char stamp[40], host[256];

    /* 2026-12-02T01:02:03+0000: no sshd message starts with a date. */
    if (strspn(line, "0123456789") != 4 || line[4] != '-')
        return line;
    if ((p = word(p, stamp, sizeof(stamp))) == NULL || strchr(stamp, 'T') == NULL ||
        (p = lit(p, " ")) == NULL || (p = word(p, host, sizeof(host))) == NULL ||
        (p = lit(p, " ")) == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++) {
        const char *q = lit(p, progs[i]);
        size_t digits;
        if ((q = lit(q, "[")) == NULL || (digits = strspn(q, "0123456789")) == 0)
            continue;
        return lit(q + digits, "]: ");
    }
    return NULL;
}

/* "Accepted publickey for USER from ADDR port N ssh2: TYPE SHA256:…"
 * (auth_log; USER is an account that exists, so a word). */
static void add_login(cJSON *logins, const char *msg)
{
    char user[65], from[64], type[32], fp[128];
    int port = 0;
    const char *p = lit(msg, "Accepted publickey for ");
    cJSON *o;

    p = lit(word(p, user, sizeof(user)), " from ");
    p = lit(word(p, from, sizeof(from)), " port ");
    p = lit(port_no(p, &port), " ssh2: ");
    p = word(lit(word(p, type, sizeof(type)), " "), fp, sizeof(fp));
    if (p == NULL || *p != '\0' || (o = cJSON_CreateObject()) == NULL)
        return;
    cJSON_AddStringToObject(o, "user", user);
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddNumberToObject(o, "port", port);
    cJSON_AddStringToObject(o, "key_type", type);
    cJSON_AddStringToObject(o, "key_fingerprint", fp);
    cJSON_AddItemToArray(logins, o);
}

/* Forwarded connections: sshd names an allowed one at LogLevel DEBUG1
 * (server_request_direct_tcpip), a refused one (PermitOpen) at INFO.  The
 * client chooses the originator and the target host, spaces and all: the
 * numbers are read from the end, the target is the word before the last
 * port, and the originator is what is left (the client's claim). */
static void add_forward(cJSON *fwds, const char *msg)
{
    static const char denied[] = ", but the request was denied.";
    char from[256], host[256];
    int fport = 0, tport = 0, allowed;
    const char *p, *end, *t, *q;
    size_t n;
    cJSON *o;

    if ((p = lit(msg, "debug1: server_request_direct_tcpip: originator ")) != NULL) {
        /* O port P, target T port Q */
        n = strlen(p);
        if ((q = last_of(p, n, " port ")) == NULL || port_no(q + 6, &tport) != p + n ||
            (t = last_of(p, (size_t)(q - p), ", target ")) == NULL ||
            word(t + 9, host, sizeof(host)) != q ||
            (end = last_of(p, (size_t)(t - p), " port ")) == NULL ||
            port_no(end + 6, &fport) != t || end == p)
            return;
        copy_cut(from, sizeof(from), p, (size_t)(end - p));
        allowed = 1;
    } else if ((p = lit(msg, "Received request from ")) != NULL) {
        /* ADDR port P to connect to host H port Q, but the request was denied. */
        p = lit(port_no(lit(word(p, from, sizeof(from)), " port "), &fport),
                " to connect to host ");
        if (p == NULL || (n = strlen(p)) < sizeof(denied) ||
            strcmp(p + n - (sizeof(denied) - 1), denied) != 0)
            return;
        n -= sizeof(denied) - 1;
        if ((q = last_of(p, n, " port ")) == NULL || port_no(q + 6, &tport) != p + n || q == p)
            return;
        copy_cut(host, sizeof(host), p, (size_t)(q - p));
        allowed = 0;
    } else
        return;
    if ((o = cJSON_CreateObject()) == NULL)
        return;
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "target_host", host);
    cJSON_AddNumberToObject(o, "target_port", tport);
    cJSON_AddBoolToObject(o, "allowed", allowed);
    cJSON_AddItemToArray(fwds, o);
}

cJSON *jb_audit_log_record(const char *text, int cut)
{
    cJSON *o = cJSON_CreateObject(), *lines = cJSON_AddArrayToObject(o, "lines"),
          *logins = cJSON_AddArrayToObject(o, "logins"),
          *fwds = cJSON_AddArrayToObject(o, "forwards");
    char *copy = strdup(text ? text : ""), *save = NULL, *start = copy;

    if (o == NULL || lines == NULL || logins == NULL || fwds == NULL || copy == NULL) {
        cJSON_Delete(o);
        free(copy);
        return NULL;
    }
    /* The reader's cut starts in the middle of a line: that part goes. */
    if (!cut && lit(copy, CUT_NOTE) != NULL)
        cut = 1;
    else if (cut) {
        char *nl = strchr(copy, '\n');
        start = nl ? nl + 1 : copy + strlen(copy);
    }
    for (char *l = strtok_r(start, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *msg;
        size_t n = strlen(l);
        if (n && l[n - 1] == '\r')
            l[n - 1] = '\0';
        /* cJSON escapes control characters; invalid UTF-8 goes through as
         * bytes, which a JSON reader may refuse: replaced here. */
        for (char *q = l; *q; q++)
            if ((unsigned char)*q >= 0x80 || (unsigned char)*q < 0x20)
                *q = '?';
        cJSON_AddItemToArray(lines, cJSON_CreateString(l));
        if ((msg = sshd_message(l)) != NULL) {
            add_login(logins, msg);
            add_forward(fwds, msg);
        }
    }
    free(copy);
    cJSON_AddBoolToObject(o, "truncated", cut);
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
    const struct jb_state *st;
};

/* Whether name is one of our records and a shipped log (read by its end). */
static int log_name(const char *name)
{
    char event[JB_AUDIT_EVENT_MAX + 1];
    int is_log = 0;

    return name_parts(name, event, sizeof(event), &is_log) == 0 && is_log;
}

/* One stored object to a record, and to fn.  cut: body is the end of a log
 * longer than READ_MAX. */
static int emit(struct walk *w, const char *stack_id, const char *name, const char *body, int cut)
{
    char event[JB_AUDIT_EVENT_MAX + 1], when[JB_RFC3339_LEN];
    int is_log = 0, rc;
    time_t t;
    cJSON *rec;

    if (name_parts(name, event, sizeof(event), &is_log) != 0)
        return 0;
    t = name_time(name);
    if (is_log) {
        if ((rec = jb_audit_log_record(body, cut)) == NULL) {
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

/* An aws box ships its sshd log under its own prefix (box_identity.h),
 * which the stack's "ready" record names as box_objects: shown with the
 * stack's records, stamped with the time S3 took it. */
static int emit_box_log(struct walk *w, const struct jb_state *st, const char *stack_id,
                        const char *ready_body)
{
    cJSON *rec = cJSON_Parse(ready_body);
    const cJSON *where = cJSON_GetObjectItemCaseSensitive(rec, "box_objects");
    char key[KEY_MAX], boxes[KEY_MAX], name[NAME_MAX_];
    struct jb_store_obj o = {0};
    size_t pl = strlen(st->prefix);
    struct tm tm;
    int rc = 0, n = snprintf(boxes, sizeof(boxes), "%sboxes/", st->prefix);

    /* box_objects is the S3 prefix the box writes (its state prefix
     * included); the store names it from the state's root. */
    if (!cJSON_IsString(where) || n < 0 || (size_t)n >= sizeof(boxes) ||
        strncmp(where->valuestring, boxes, (size_t)n) != 0 ||
        strchr(where->valuestring + n, '/') !=
            where->valuestring + strlen(where->valuestring) - 1 ||
        (n = snprintf(key, sizeof(key), "%ssshd.log", where->valuestring + pl)) < 0 ||
        (size_t)n >= sizeof(key))
        goto out;
    rc = jb_store_get(st, key, READ_MAX, JB_STORE_MODIFIED, &o, NULL, 0);
    if (rc != 0) {
        if (rc != JB_ERR_NOTFOUND) /* not shipped (yet): nothing to show */
            (*w->bad)++;
        rc = 0;
        goto out;
    }
    if (w->since > 0 && o.modified < w->since)
        goto out;
    gmtime_r(&o.modified, &tm);
    strftime(name, sizeof(name), "%Y%m%dT%H%M%S.000000Z-box.sshd_log-box.log", &tm);
    rc = emit(w, stack_id, name, o.data, 0);
out:
    jb_store_obj_free(&o);
    cJSON_Delete(rec);
    return rc;
}

/* One key under audit/: "<stack>/<record>", read and shown.  Keys come in
 * order: by stack, then by stamp. */
static int take_record(void *ctx, const char *key)
{
    struct walk *w = ctx;
    const char *rest = key + sizeof(JB_AUDIT_DIR), *slash = strchr(rest, '/'), *name;
    char id[JB_STACK_ID_MAX + 1];
    struct jb_store_obj o;
    size_t idn;
    time_t t;
    int rc;

    if (slash == NULL || (idn = (size_t)(slash - rest)) == 0 || idn >= sizeof(id))
        return 0;
    memcpy(id, rest, idn);
    id[idn] = '\0';
    name = slash + 1;
    if (jb_check_stack_id(id, NULL, 0) != 0 || strchr(name, '/') != NULL ||
        (t = name_time(name)) < 0 || (w->since > 0 && t < w->since))
        return 0;
    /* A log too long to read whole: its end. */
    if (jb_store_get(w->st, key, READ_MAX, log_name(name) ? JB_STORE_TAIL : 0, &o, NULL, 0) != 0) {
        (*w->bad)++;
        return 0;
    }
    rc = emit(w, id, name, o.data, o.size > o.len);
    if (rc == 0 && !log_name(name) && jb_store_is_remote(w->st))
        rc = emit_box_log(w, w->st, id, o.data);
    jb_store_obj_free(&o);
    return rc;
}

int jb_audit_list(const struct jb_state *st, const char *stack_id, time_t since, jb_audit_fn fn,
                  void *ctx, size_t *bad, char *err, size_t errlen)
{
    struct walk w = {fn, ctx, since, bad, st};
    char prefix[KEY_MAX];

    *bad = 0;
    if (stack_id && jb_check_stack_id(stack_id, err, errlen) != 0)
        return JB_ERR_INVALID;
    snprintf(prefix, sizeof(prefix), JB_AUDIT_DIR "/%s%s", stack_id ? stack_id : "",
             stack_id ? "/" : "");
    return jb_store_list(st, prefix, take_record, &w, err, errlen);
}
