/* stack/store's file backend against its interface (store.h): the
 * conditional writes, listing in S3's key order, the tail of a long
 * object, purges, and the keys it refuses.  The S3 backend meets the same
 * calls in the integration tests (s3rver, the versioned double, moto). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "stack/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    struct jb_state st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[96], err[JB_ERRLEN];

    snprintf(f->dir, sizeof(f->dir), "/tmp/jb-store-unit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(url, sizeof(url), "file://%s", f->dir);
    if (jb_state_parse(url, &f->st, err, sizeof(err)) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    jb_rm_tree(f->dir, NULL, 0);
    free(f);
    return 0;
}

static void test_put_if_absent_then_if_match(void **state)
{
    struct fixture *f = *state;
    struct jb_state *st = &f->st;
    char err[JB_ERRLEN], e1[JB_STORE_ETAG_MAX], e2[JB_STORE_ETAG_MAX];
    struct jb_store_obj o;

    assert_int_equal(
        jb_store_put_if_absent(st, "s1/lease.json", "one", 3, NULL, e1, err, sizeof(err)), 0);
    assert_int_equal(
        jb_store_put_if_absent(st, "s1/lease.json", "two", 3, NULL, NULL, err, sizeof(err)),
        JB_ERR_EXISTS);
    assert_int_equal(jb_store_get(st, "s1/lease.json", 64, 0, &o, err, sizeof(err)), 0);
    assert_string_equal(o.data, "one");
    assert_string_equal(o.etag, e1);
    jb_store_obj_free(&o);

    assert_int_equal(
        jb_store_put_if_match(st, "s1/lease.json", "two", 3, NULL, e1, e2, err, sizeof(err)), 0);
    assert_string_not_equal(e1, e2);
    /* The version read first is gone: a second writer with it loses. */
    assert_int_equal(
        jb_store_put_if_match(st, "s1/lease.json", "three", 5, NULL, e1, NULL, err, sizeof(err)),
        JB_ERR_CONFLICT);
    assert_int_equal(
        jb_store_put_if_match(st, "s2/lease.json", "x", 1, NULL, e2, NULL, err, sizeof(err)),
        JB_ERR_NOTFOUND);
    assert_int_equal(jb_store_get(st, "s1/lease.json", 64, 0, &o, err, sizeof(err)), 0);
    assert_string_equal(o.data, "two");
    jb_store_obj_free(&o);
}

/* A plain put never makes a directory: a purged stack stays purged. */
static void test_put_into_a_purged_stack_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[JB_ERRLEN];

    assert_int_equal(
        jb_store_put_if_absent(&f->st, "s1/lease.json", "{}", 2, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(jb_store_put(&f->st, "s1/errored.tfstate", "x", 1, NULL, err, sizeof(err)), 0);
    assert_int_equal(jb_store_purge(&f->st, "s1/", err, sizeof(err)), 0);
    assert_int_equal(jb_store_put(&f->st, "s1/errored.tfstate", "x", 1, NULL, err, sizeof(err)),
                     JB_ERR_NOTFOUND);
    assert_int_equal(jb_store_delete(&f->st, "s1/errored.tfstate", err, sizeof(err)), 0);
}

struct seen {
    char keys[8][64];
    int n;
};

static int take(void *ctx, const char *key)
{
    struct seen *s = ctx;

    if (s->n < 8)
        snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
    return 0;
}

/* S3 lists in byte order of the whole key, so "ab-c/…" comes before
 * "ab/…" ('-' < '/'): the directory walk gives the same order. */
static void test_list_is_in_key_order_without_temporaries(void **state)
{
    struct fixture *f = *state;
    char err[JB_ERRLEN], path[128];
    struct seen s = {0};
    static const char *const keys[] = {"ab/lease.json", "ab-c/lease.json", "audit/ab/r1.json",
                                       "ab/terraform.tfstate"};

    for (size_t i = 0; i < 4; i++)
        assert_int_equal(
            jb_store_put_if_absent(&f->st, keys[i], "x", 1, NULL, NULL, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/ab/.lease.json.tmp", f->dir);
    assert_int_equal(jb_file_create(path, "x", 1, 0600, err, sizeof(err)), 0);
    assert_int_equal(jb_store_list(&f->st, "", take, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.keys[0], "ab-c/lease.json");
    assert_string_equal(s.keys[1], "ab/lease.json");
    assert_string_equal(s.keys[2], "ab/terraform.tfstate");
    assert_string_equal(s.keys[3], "audit/ab/r1.json");
    memset(&s, 0, sizeof(s));
    assert_int_equal(jb_store_list(&f->st, "audit/", take, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "audit/ab/r1.json");
    memset(&s, 0, sizeof(s));
    assert_int_equal(jb_store_list(&f->st, "nothing/", take, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);
}

static void test_tail_of_a_long_object(void **state)
{
    struct fixture *f = *state;
    char err[JB_ERRLEN], big[1000];
    struct jb_store_obj o;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(jb_store_put_if_absent(&f->st, "audit/s/x.log", big, sizeof(big), NULL, NULL,
                                            err, sizeof(err)),
                     0);
    assert_int_not_equal(jb_store_get(&f->st, "audit/s/x.log", 100, 0, &o, err, sizeof(err)), 0);
    assert_int_equal(
        jb_store_get(&f->st, "audit/s/x.log", 100, JB_STORE_TAIL, &o, err, sizeof(err)), 0);
    assert_int_equal(o.len, 100);
    assert_int_equal(o.size, sizeof(big));
    assert_memory_equal(o.data, big + sizeof(big) - 100, 100);
    jb_store_obj_free(&o);
}

static void test_bad_keys_are_refused(void **state)
{
    struct fixture *f = *state;
    char err[JB_ERRLEN];
    static const char *const bad[] = {"",     "../x", "a/../b", "a//b", ".lock",
                                      "a/.b", "/a",   "a/",     "a\nb"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(jb_store_put(&f->st, bad[i], "x", 1, NULL, err, sizeof(err)),
                         JB_ERR_INVALID);
    assert_int_equal(jb_store_purge(&f->st, "", err, sizeof(err)), JB_ERR_INVALID);
    assert_int_equal(jb_store_list(&f->st, "a", take, NULL, err, sizeof(err)), JB_ERR_INVALID);
    assert_false(jb_store_is_remote(&f->st));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_if_absent_then_if_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_into_a_purged_stack_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_is_in_key_order_without_temporaries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_of_a_long_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_keys_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
