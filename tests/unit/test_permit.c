#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "stack/permit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_targets(void **state)
{
    char out[JB_TARGET_MAX], err[JB_ERRLEN], longname[300];
    (void)state;

    const char *good[] = {
        "backup.example.com:22", "10.0.0.5:873",        "[fd00::5]:22", "[::1]:*", "nas:445",
        "a-b.c-d.io:65535",      "Backup.Example.COM:1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(jb_parse_target(good[i], out, sizeof(out), err, sizeof(err)), 0);
        assert_string_equal(out, good[i]); /* kept as given: sshd compares literally */
    }
    const char *bad[] = {"",
                         "host",
                         "host:",
                         ":22",
                         "host:0",
                         "host:65536",
                         "host:022",
                         "host:+22",
                         "host:2 2",
                         "host:22 ",
                         "*:22",
                         "*.example.com:22",
                         "fd00::5:22",
                         "[fd00::5]",
                         "[fd00::5%eth0]:22",
                         "[10.0.0.1]:22",
                         "[nas]:22",
                         "-nas:22",
                         "nas-:22",
                         "a..b:22",
                         "a.b.:22",
                         "1.2.3:22",
                         "1.2.3.4.5:22",
                         "010.0.0.1:22",
                         "host name:22",
                         "h\"st:22",
                         "h,st:22",
                         "h_st:22",
                         "hést:22"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (jb_parse_target(bad[i], out, sizeof(out), err, sizeof(err)) != JB_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    /* A 64-character label, and a name over 253. */
    memset(longname, 'a', 64);
    memcpy(longname + 64, ".io:22", 7);
    assert_int_equal(jb_parse_target(longname, out, sizeof(out), NULL, 0), JB_ERR_INVALID);
    for (size_t i = 0; i < 254; i += 2)
        memcpy(longname + i, "a.", 2);
    memcpy(longname + 254, "io:22", 6);
    assert_int_equal(jb_parse_target(longname, out, sizeof(out), NULL, 0), JB_ERR_INVALID);
}

static void test_permit_list(void **state)
{
    struct jb_permit p;
    char t[32], err[JB_ERRLEN];
    (void)state;

    memset(&p, 0, sizeof(p));
    assert_int_equal(jb_permit_add(&p, "nas:22", err, sizeof(err)), 0);
    assert_int_equal(jb_permit_add(&p, "nas:22", err, sizeof(err)), 0);
    assert_int_equal(p.n, 1);
    for (int i = 1; i < JB_PERMIT_MAX; i++) {
        snprintf(t, sizeof(t), "nas:%d", 100 + i);
        assert_int_equal(jb_permit_add(&p, t, err, sizeof(err)), 0);
    }
    assert_int_equal(p.n, JB_PERMIT_MAX);
    assert_int_equal(jb_permit_add(&p, "nas:9", err, sizeof(err)), JB_ERR_INVALID);
    assert_non_null(strstr(err, "more than 16"));
    assert_int_equal(jb_permit_add(&p, "nas:0", err, sizeof(err)), JB_ERR_INVALID);

    {
        struct jb_permit two = {0};
        cJSON *j;
        char *text;
        assert_int_equal(jb_permit_add(&two, "nas:22", NULL, 0), 0);
        assert_int_equal(jb_permit_add(&two, "[fd00::5]:*", NULL, 0), 0);
        assert_non_null(j = jb_permit_json(&two));
        assert_non_null(text = cJSON_PrintUnformatted(j));
        assert_string_equal(text, "[\"nas:22\",\"[fd00::5]:*\"]");
        free(text);
        cJSON_Delete(j);
    }
}

static void test_patterns(void **state)
{
    struct jb_target_pattern pats[JB_TARGET_PATTERNS_MAX];
    char err[JB_ERRLEN], list[JB_TARGET_PATTERNS_MAX * 16];
    size_t n;
    (void)state;

    assert_int_equal(jb_parse_target_patterns(" nas.example.com:22 , 10.1.0.0/16:873,"
                                              "*.backup.example.com:*, [fd00::/8]:22,"
                                              "203.0.113.9:*, [2001:db8::1]:443",
                                              pats, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 6);
    assert_true(jb_target_allowed("nas.example.com:22", pats, n));
    assert_true(jb_target_allowed("NAS.Example.com:22", pats, n));
    assert_false(jb_target_allowed("nas.example.com:23", pats, n));
    assert_false(jb_target_allowed("nas.example.com:*", pats, n));
    assert_false(jb_target_allowed("xnas.example.com:22", pats, n));
    assert_true(jb_target_allowed("10.1.200.3:873", pats, n));
    assert_false(jb_target_allowed("10.2.0.3:873", pats, n));
    assert_false(jb_target_allowed("10.1.0.3:22", pats, n));
    assert_true(jb_target_allowed("db.backup.example.com:5432", pats, n));
    assert_true(jb_target_allowed("a.b.backup.example.com:*", pats, n));
    assert_false(jb_target_allowed("backup.example.com:22", pats, n));
    assert_false(jb_target_allowed("evilbackup.example.com:22", pats, n));
    assert_true(jb_target_allowed("[fd00:1::2]:22", pats, n));
    assert_false(jb_target_allowed("[fe80::1]:22", pats, n));
    assert_true(jb_target_allowed("203.0.113.9:1", pats, n));
    assert_true(jb_target_allowed("203.0.113.9:*", pats, n));
    assert_true(jb_target_allowed("[2001:db8:0::1]:443", pats, n));
    assert_false(jb_target_allowed("[2001:db8::2]:443", pats, n));
    /* A name is not an address: no lookup, so a CIDR never holds a name. */
    assert_false(jb_target_allowed("localhost:873", pats, n));
    assert_false(jb_target_allowed("bad target", pats, n));

    assert_int_equal(jb_parse_target_patterns("*:22", pats, &n, err, sizeof(err)), 0);
    assert_true(jb_target_allowed("anything.example:22", pats, n));
    assert_true(jb_target_allowed("[::1]:22", pats, n));
    assert_false(jb_target_allowed("anything.example:80", pats, n));
    assert_int_equal(jb_parse_target_patterns("", pats, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_false(jb_target_allowed("nas:22", pats, 0));

    const char *bad[] = {"nas",           "nas:0",       "**:22",        "*.:22",  "*.-a:22",
                         "10.0.0.1/8:22", "fd00::/8:22", "[fd00::/8:22", "a b:22", "*a:22"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (jb_parse_target_patterns(bad[i], pats, &n, err, sizeof(err)) != JB_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, bad[i]));
    }
    list[0] = '\0';
    for (int i = 0; i <= JB_TARGET_PATTERNS_MAX; i++)
        strcat(list, "nas:22,");
    assert_int_equal(jb_parse_target_patterns(list, pats, &n, err, sizeof(err)), JB_ERR_INVALID);
}

/* IPv6 forms that reach IPv4 hosts: a mapped address is the IPv4 host
 * it names, so no IPv6 pattern holds it; the tunnelled and translated
 * forms are refused, as targets and in patterns. */
static void test_ipv6_that_reaches_ipv4(void **state)
{
    struct jb_target_pattern pats[JB_TARGET_PATTERNS_MAX];
    char out[JB_TARGET_MAX], err[JB_ERRLEN];
    size_t n;
    (void)state;

    assert_int_equal(jb_parse_target_patterns("[::/0]:*, [::fffe:0:0/95]:*, 10.1.0.0/16:22, "
                                              "192.0.2.7:*",
                                              pats, &n, err, sizeof(err)),
                     0);
    assert_int_equal(jb_parse_target("[::ffff:10.99.0.5]:22", out, sizeof(out), NULL, 0), 0);
    assert_false(jb_target_allowed("[::ffff:10.99.0.5]:22", pats, n));
    assert_false(jb_target_allowed("[::FFFF:a63:5]:22", pats, n));
    assert_true(jb_target_allowed("[::ffff:10.1.2.3]:22", pats, n));
    assert_false(jb_target_allowed("[::ffff:10.1.2.3]:23", pats, n));
    assert_true(jb_target_allowed("[::ffff:c000:207]:443", pats, n));
    assert_true(jb_target_allowed("[fd00::5]:22", pats, n)); /* plain IPv6 still in ::/0 */
    assert_true(jb_target_allowed("[::1]:22", pats, n));

    /* A mapped literal pattern is its IPv4 address, however the target is written. */
    assert_int_equal(jb_parse_target_patterns("[::ffff:10.99.0.5]:22", pats, &n, err, sizeof(err)),
                     0);
    assert_true(jb_target_allowed("10.99.0.5:22", pats, n));
    assert_true(jb_target_allowed("[::ffff:10.99.0.5]:22", pats, n));
    assert_false(jb_target_allowed("[::10.99.0.5]:22", pats, n));

    const struct {
        const char *target, *why;
    } refused[] = {
        {"[::10.99.0.5]:22", "IPv4-compatible"}, {"[::a63:5]:22", "IPv4-compatible"},
        {"[64:ff9b::10.99.0.5]:22", "NAT64"},    {"[64:ff9b::a63:5]:*", "NAT64"},
        {"[64:ff9b:1:a63:5::]:22", "NAT64"},     {"[64:ff9b:1::1]:22", "NAT64"},
        {"[2002:a63:5::1]:22", "6to4"},          {"[2001:0:4136:e378::1]:22", "Teredo"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err[0] = '\0';
        if (jb_parse_target(refused[i].target, out, sizeof(out), err, sizeof(err)) !=
            JB_ERR_INVALID)
            fail_msg("accepted: %s", refused[i].target);
        if (strstr(err, refused[i].why) == NULL)
            fail_msg("%s: %s", refused[i].target, err);
        assert_int_equal(jb_parse_target_patterns("*:*", pats, &n, err, sizeof(err)), 0);
        assert_false(jb_target_allowed(refused[i].target, pats, n));
        /* ... nor a pattern, as a literal. */
        assert_int_equal(jb_parse_target_patterns(refused[i].target, pats, &n, err, sizeof(err)),
                         JB_ERR_INVALID);
        assert_non_null(strstr(err, refused[i].why));
    }
    /* Patterns inside those ranges are refused; wider ones are not. */
    const char *bad[] = {"[::ffff:0:0/96]:*",     "[::ffff:10.0.0.0/104]:22", "[::/96]:*",
                         "[64:ff9b::/96]:*",      "[64:ff9b::a00:0/104]:22",  "[64:ff9b:1::/48]:*",
                         "[2002::/16]:*",         "[2002:a00::/24]:*",        "[2001::/32]:*",
                         "[64:ff9b::ffff/128]:22"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (jb_parse_target_patterns(bad[i], pats, &n, err, sizeof(err)) != JB_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, bad[i]));
    }
    const char *good[] = {"[::/0]:*", "[2000::/3]:*", "[64:ff9b::/95]:*", "[::/64]:22",
                          "[::]:22",  "[::1]:22",     "[2001:db8::/32]:*"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (jb_parse_target_patterns(good[i], pats, &n, err, sizeof(err)) != 0)
            fail_msg("refused %s: %s", good[i], err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_permit_list),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_ipv6_that_reaches_ipv4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
