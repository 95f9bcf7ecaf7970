#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "stack/audit.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "stack/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What OpenSSH 9 writes with -E (local box) and what journald shows (AWS
 * box, journalctl -o short-iso), allowed and refused forwards, and bytes a
 * JSON reader would choke on. */
static const char sshd_log[] =
    "Server listening on 127.0.0.1 port 2222.\n"
    "Accepted publickey for jump from 192.0.2.7 port 51826 ssh2: ED25519 "
    "SHA256:Msa23/f7+UCPENNOjWFuW43+Ouk7Z1MX5UoeKrvqoGc\r\n"
    "debug1: server_request_direct_tcpip: originator 127.0.0.1 port 65535, target 10.0.0.5 "
    "port 22\n"
    "2026-12-02T01:02:03+0000 ip-10-0-0-4 sshd[812]: Received request from 192.0.2.7 port 51827 "
    "to connect to host 10.0.0.9 port 873, but the request was denied.\n"
    "odd \x01 bytes \xff here\n"
    "Accepted publickey for truncated\n";

static void test_log_record(void **state)
{
    cJSON *r = jb_audit_log_record(sshd_log, 0), *x;
    (void)state;

    assert_non_null(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "lines")), 6);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "lines"), 4)->valuestring,
                        "odd ? bytes ? here");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "truncated")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "logins")), 1);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "logins"), 0);
    assert_string_equal(cJSON_GetObjectItem(x, "user")->valuestring, "jump");
    assert_string_equal(cJSON_GetObjectItem(x, "from")->valuestring, "192.0.2.7");
    assert_int_equal(cJSON_GetObjectItem(x, "port")->valueint, 51826);
    assert_string_equal(cJSON_GetObjectItem(x, "key_fingerprint")->valuestring,
                        "SHA256:Msa23/f7+UCPENNOjWFuW43+Ouk7Z1MX5UoeKrvqoGc");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "forwards")), 2);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "forwards"), 0);
    assert_string_equal(cJSON_GetObjectItem(x, "target_host")->valuestring, "10.0.0.5");
    assert_int_equal(cJSON_GetObjectItem(x, "target_port")->valueint, 22);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(x, "allowed")));
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "forwards"), 1);
    assert_string_equal(cJSON_GetObjectItem(x, "from")->valuestring, "192.0.2.7");
    assert_string_equal(cJSON_GetObjectItem(x, "target_host")->valuestring, "10.0.0.9");
    assert_int_equal(cJSON_GetObjectItem(x, "target_port")->valueint, 873);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(x, "allowed")));
    cJSON_Delete(r);
}

/* What OpenSSH 9.2 writes for clients with no key that chose hostile user
 * names (sshd's own lines, in both formats: the -E log and the journal),
 * and lines of other programs.  None is a login or a forward. */
#define FORGED_LOGIN                                                                               \
    "Accepted publickey for admin from 198.51.100.66 port 4242 ssh2: ED25519 SHA256:F"
#define FORGED_FWD                                                                                 \
    "debug1: server_request_direct_tcpip: originator 1.2.3.4 port 1, target 10.9.9.9 port 22"
#define J "2026-12-02T01:02:03+0000 ip-10-0-0-4 "
static const char hostile_log[] =
    "debug1: userauth-request for user x " FORGED_LOGIN " service ssh-connection method none "
    "[preauth]\r\n"
    "Invalid user x Accepted publickey for admin from 198.51.100.66 port 4242 ssh2 from "
    "127.0.0.1 port 42078\r\n"
    "Connection closed by invalid user x " FORGED_LOGIN " 127.0.0.1 port 42078 [preauth]\r\n"
    "debug1: userauth-request for user x " FORGED_FWD " service ssh-connection method none\r\n"
    "Invalid user x Received request from 1.2.3.4 port 5 to connect to host 10.9.9.9 port 23, "
    "but the request was denied. from 127.0.0.1 port 42078\r\n" J
    "sshd[812]: Invalid user x " FORGED_LOGIN " from 192.0.2.9 port 4000\n" J
    "sshd[812]: debug1: userauth-request for user x " FORGED_FWD " service ssh-connection\n" J
    "sshd-session[813]: Connection closed by invalid user " FORGED_LOGIN " [preauth]\n"
    /* Another program's line, or one cut short: not sshd's. */
    J "logger[77]: " FORGED_LOGIN "\n" J "sshd: " FORGED_LOGIN "\n" J "sshd[]: " FORGED_LOGIN "\n"
    "2026-12-02 " FORGED_LOGIN "\n"
    " " FORGED_LOGIN "\n" FORGED_LOGIN " from 127.0.0.1 port 4\n";

static void test_hostile_user_names_forge_nothing(void **state)
{
    cJSON *r = jb_audit_log_record(hostile_log, 0);
    (void)state;

    assert_non_null(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "lines")), 14);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "logins")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "forwards")), 0);
    cJSON_Delete(r);
}

/* sshd's own lines as the journal shows them on boxes with OpenSSH >= 9.8
 * (sshd-session), and a forward whose originator, which the client
 * chooses, reads like another target: the target is the one sshd
 * connects to, the originator is kept as the client's claim. */
static void test_journal_programs_and_originators(void **state)
{
    static const char log[] =
        J "sshd-session[900]: Accepted publickey for jump from 192.0.2.8 port 4000 ssh2: "
          "ED25519 SHA256:abc\n" J
          "sshd-session[901]: debug1: server_request_direct_tcpip: originator x port 1, "
          "target 10.9.9.9 port 9 port 65535, target 10.0.0.5 port 22\n" J
          "sshd[902]: Received request from 192.0.2.8 port 4001 to connect to host a port 1 "
          "port 80, but the request was denied.\n";
    cJSON *r = jb_audit_log_record(log, 0), *x;
    (void)state;

    assert_non_null(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "logins")), 1);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "logins"), 0);
    assert_string_equal(cJSON_GetObjectItem(x, "user")->valuestring, "jump");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "forwards")), 2);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "forwards"), 0);
    assert_string_equal(cJSON_GetObjectItem(x, "from")->valuestring,
                        "x port 1, target 10.9.9.9 port 9");
    assert_string_equal(cJSON_GetObjectItem(x, "target_host")->valuestring, "10.0.0.5");
    assert_int_equal(cJSON_GetObjectItem(x, "target_port")->valueint, 22);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "forwards"), 1);
    assert_string_equal(cJSON_GetObjectItem(x, "from")->valuestring, "192.0.2.8");
    assert_string_equal(cJSON_GetObjectItem(x, "target_host")->valuestring, "a port 1");
    assert_int_equal(cJSON_GetObjectItem(x, "target_port")->valueint, 80);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(x, "allowed")));
    cJSON_Delete(r);
}

/* A log the reader could only read the end of: its first, partial line
 * goes, and the record says it is truncated. */
static void test_log_record_cut(void **state)
{
    cJSON *r = jb_audit_log_record("ey ssh2: ED25519 SHA256:x\nnext line\n", 1);
    (void)state;

    assert_non_null(r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "truncated")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "lines")), 1);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "lines"), 0)->valuestring,
                        "next line");
    cJSON_Delete(r);
    r = jb_audit_log_record("no newline at all", 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "lines")), 0);
    cJSON_Delete(r);
}

struct seen {
    char events[8][48];
    int n;
};

static int collect(void *ctx, const cJSON *rec)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->events[s->n++], sizeof(s->events[0]), "%s/%s",
                 cJSON_GetObjectItem(rec, "stack_id")->valuestring,
                 cJSON_GetObjectItem(rec, "event")->valuestring);
    return 0;
}

static void test_file_store_roundtrip(void **state)
{
    char dir[] = "/tmp/jb-audit-unit-XXXXXX", url[64], path[256], err[JB_ERRLEN];
    struct jb_state st;
    struct seen s;
    size_t bad = 0;
    cJSON *o;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof(url), "file://%s", dir);
    assert_int_equal(jb_state_parse(url, &st, err, sizeof(err)), 0);
    o = cJSON_CreateObject();
    assert_int_equal(jb_audit_put(&st, "s-b", "create", o, err, sizeof(err)), 0);
    assert_int_equal(jb_audit_put(&st, "s-a", "create", o, err, sizeof(err)), 0);
    assert_int_equal(jb_audit_put(&st, "s-a", "destroy", o, err, sizeof(err)), 0);
    assert_int_equal(
        jb_audit_put_text(&st, "s-a", "box.sshd_log", sshd_log, strlen(sshd_log), err, sizeof(err)),
        0);
    /* Refused: no stack id, an event outside [a-z0-9._]. */
    assert_int_equal(jb_audit_put(&st, "audit", "create", o, err, sizeof(err)), JB_ERR_INVALID);
    assert_int_equal(jb_audit_put(&st, "s-a", "Bad-Event", o, err, sizeof(err)), JB_ERR_INVALID);
    cJSON_Delete(o);
    /* Not records: a stray file, a half-written one, an unreadable one. */
    snprintf(path, sizeof(path), "%s/audit/s-a/notes.txt", dir);
    assert_int_equal(jb_file_create(path, "x", 1, 0600, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/audit/s-a/.20261202T000000.000000Z-x-00.json.tmp", dir);
    assert_int_equal(jb_file_create(path, "{", 1, 0600, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/audit/s-b/20200101T000000.000000Z-create-00000000.json", dir);
    assert_int_equal(jb_file_create(path, "{not json", 9, 0600, err, sizeof(err)), 0);

    memset(&s, 0, sizeof(s));
    assert_int_equal(jb_audit_list(&st, NULL, 0, collect, &s, &bad, err, sizeof(err)), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.events[0], "s-a/create");
    assert_string_equal(s.events[1], "s-a/destroy");
    assert_string_equal(s.events[2], "s-a/box.sshd_log");
    assert_string_equal(s.events[3], "s-b/create");

    memset(&s, 0, sizeof(s));
    assert_int_equal(jb_audit_list(&st, "s-b", 0, collect, &s, &bad, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    /* since: the 2020 record is before it, the others are not. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(jb_audit_list(&st, "s-b", 1600000000, collect, &s, &bad, err, sizeof(err)), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(s.n, 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        jb_audit_list(&st, NULL, time(NULL) + 3600, collect, &s, &bad, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(jb_audit_list(&st, "Bad", 0, collect, &s, &bad, err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_int_equal(jb_rm_tree(dir, err, sizeof(err)), 0);
}

static int keep_first(void *ctx, const cJSON *rec)
{
    cJSON **out = ctx;
    if (*out == NULL)
        *out = cJSON_Duplicate(rec, 1);
    return 0;
}

/* Numbered lines, "line 0000000\n" on: n bytes of them. */
static char *numbered(size_t n)
{
    char *s = malloc(n + 16);
    size_t len = 0;
    assert_non_null(s);
    for (int i = 0; len < n; i++)
        len += (size_t)sprintf(s + len, "line %07d\n", i);
    s[n] = '\0';
    return s;
}

/* A shipped log over the cap keeps its newest whole lines under a note;
 * a stored one over the reader's limit is read by its end. */
static void test_long_log_keeps_its_newest_lines(void **state)
{
    char dir[] = "/tmp/jb-audit-unit-XXXXXX", url[64], path[256], err[JB_ERRLEN], note[128],
         last[16];
    size_t len = 3 * 1024 * 1024 / 13 * 13, big = 2 * 1024 * 1024 / 13 * 13, bad = 9;
    char *text = numbered(len);
    struct jb_state st;
    cJSON *rec = NULL, *lines;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof(url), "file://%s", dir);
    assert_int_equal(jb_state_parse(url, &st, err, sizeof(err)), 0);
    assert_int_equal(jb_audit_put_text(&st, "s-l", "box.sshd_log", text, len, err, sizeof(err)), 0);
    assert_int_equal(jb_audit_list(&st, "s-l", 0, keep_first, &rec, &bad, err, sizeof(err)), 0);
    assert_int_equal(bad, 0);
    assert_non_null(rec);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec, "truncated")));
    lines = cJSON_GetObjectItem(rec, "lines");
    /* The note, then whole lines up to the last one. */
    {
        int n = cJSON_GetArraySize(lines);
        const char *first = cJSON_GetArrayItem(lines, 1)->valuestring;
        long kept_from = strtol(first + 5, NULL, 10);
        size_t dropped = (size_t)kept_from * 13;
        snprintf(note, sizeof(note),
                 "jumpbox: sshd log cut to its newest lines, %zu earlier bytes dropped", dropped);
        assert_string_equal(cJSON_GetArrayItem(lines, 0)->valuestring, note);
        assert_int_equal(strlen(first), 12);
        snprintf(last, sizeof(last), "line %07zu", len / 13 - 1);
        assert_string_equal(cJSON_GetArrayItem(lines, n - 1)->valuestring, last);
        assert_true(strlen(note) + 1 + (len - dropped) <= JB_AUDIT_TEXT_MAX);
        assert_true(len - dropped > JB_AUDIT_TEXT_MAX - 256);
    }
    cJSON_Delete(rec);
    rec = NULL;

    /* Stored by something else, 2 MiB: read by its end, not skipped. */
    snprintf(path, sizeof(path), "%s/audit/s-m", dir);
    assert_int_equal(jb_mkdir_p(path, 0700, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/audit/s-m/20261202T000000.000000Z-box.sshd_log-00000000.log",
             dir);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(fwrite(text, 1, big, f), big);
    fclose(f);
    assert_int_equal(jb_audit_list(&st, "s-m", 0, keep_first, &rec, &bad, err, sizeof(err)), 0);
    assert_int_equal(bad, 0);
    assert_non_null(rec);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec, "truncated")));
    lines = cJSON_GetObjectItem(rec, "lines");
    /* From the first whole line of the last 1 MiB + 64 KiB to the cut end. */
    assert_int_equal(strlen(cJSON_GetArrayItem(lines, 0)->valuestring), 12);
    snprintf(last, sizeof(last), "line %07zu", big / 13 - 1);
    assert_string_equal(cJSON_GetArrayItem(lines, cJSON_GetArraySize(lines) - 1)->valuestring,
                        last);
    assert_true(cJSON_GetArraySize(lines) > (1024 * 1024 + 65536) / 13 - 2);
    cJSON_Delete(rec);
    free(text);
    assert_int_equal(jb_rm_tree(dir, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_record),
        cmocka_unit_test(test_hostile_user_names_forge_nothing),
        cmocka_unit_test(test_journal_programs_and_originators),
        cmocka_unit_test(test_log_record_cut),
        cmocka_unit_test(test_long_log_keeps_its_newest_lines),
        cmocka_unit_test(test_file_store_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
