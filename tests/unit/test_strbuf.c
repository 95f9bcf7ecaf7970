/* base/strbuf's cap and base/grow's doubling: the two growth helpers every
 * builder and list in lib/ now goes through. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/grow.h"
#include "base/strbuf.h"

#include <stdlib.h>
#include <string.h>

static void test_appends_and_take(void **state)
{
    struct jb_strbuf sb = {0};
    char *s;
    (void)state;

    for (int i = 0; i < 100; i++)
        jb_sb_adds(&sb, "0123456789");
    jb_sb_addf(&sb, "-%d", 42);
    jb_sb_addc(&sb, '!');
    assert_int_equal(sb.len, 1004);
    assert_false(sb.failed);
    s = jb_sb_take(&sb);
    assert_non_null(s);
    assert_string_equal(s + 1000, "-42!");
    assert_null(sb.p);
    free(s);
}

/* max counts the NUL, as Lambda's payload limit did in the runtime's own
 * buffer: max - 1 bytes fit, one more is over, and over is sticky. */
static void test_max_is_a_cap_with_the_nul(void **state)
{
    struct jb_strbuf sb = {.max = 8};
    (void)state;

    jb_sb_add(&sb, "1234567", 7);
    assert_false(sb.failed);
    assert_int_equal(sb.len, 7);
    jb_sb_add(&sb, "8", 1);
    assert_true(sb.failed);
    assert_true(sb.over);
    assert_int_equal(sb.len, 7);
    assert_string_equal(sb.p, "1234567");
    assert_null(jb_sb_take(&sb)); /* failed: nothing handed over, freed */
    assert_null(sb.p);
}

static void test_grow_doubles_from_first(void **state)
{
    size_t cap = 0;
    int *a = jb_grow(NULL, &cap, 1, sizeof(int), 16), *b;
    (void)state;

    assert_non_null(a);
    assert_int_equal(cap, 16);
    assert_ptr_equal(jb_grow(a, &cap, 16, sizeof(int), 16), a); /* already holds 16 */
    b = jb_grow(a, &cap, 17, sizeof(int), 16);
    assert_non_null(b);
    assert_int_equal(cap, 32);
    a = b;
    b = jb_grow(a, &cap, 100, sizeof(int), 16);
    assert_non_null(b);
    assert_int_equal(cap, 128);
    free(b);
}

static void test_grow_refuses_an_overflow_and_keeps_the_array(void **state)
{
    size_t cap = 4;
    char *a = malloc(4);
    (void)state;

    assert_null(jb_grow(a, &cap, SIZE_MAX / 2 + 2, 1, 4));
    assert_null(jb_grow(a, &cap, 1u << 20, SIZE_MAX / 8, 4));
    assert_int_equal(cap, 4);
    memcpy(a, "abc", 4); /* still ours */
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_and_take),
        cmocka_unit_test(test_max_is_a_cap_with_the_nul),
        cmocka_unit_test(test_grow_doubles_from_first),
        cmocka_unit_test(test_grow_refuses_an_overflow_and_keeps_the_array),
    };
    return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
