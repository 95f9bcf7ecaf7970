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
 * box), allowed and refused forwards, and bytes a JSON reader would choke on. */
static const char sshd_log[] =
    "Server listening on 127.0.0.1 port 2222.\n"
    "Accepted publickey for jump from 192.0.2.7 port 51826 ssh2: ED25519 "
    "SHA256:Msa23/f7+UCPENNOjWFuW43+Ouk7Z1MX5UoeKrvqoGc\r\n"
    "debug1: server_request_direct_tcpip: originator 127.0.0.1 port 65535, target 10.0.0.5 "
    "port 22\n"
    "Dec 02 01:02:03 ip-10-0-0-4 sshd[812]: Received request from 192.0.2.7 port 51827 to "
    "connect to host 10.0.0.9 port 873, but the request was denied.\n"
    "odd \x01 bytes \xff here\n"
    "Accepted publickey for truncated\n";

static void test_log_record(void **state)
{
    cJSON *r = jb_audit_log_record(sshd_log), *x;
    (void)state;

    assert_non_null(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "lines")), 6);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "lines"), 4)->valuestring,
                        "odd ? bytes ? here");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_record),
        cmocka_unit_test(test_file_store_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
