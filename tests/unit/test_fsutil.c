/* lib/base/fsutil's wipes against what someone else may leave where we
 * wipe: a hard link to data that lives on elsewhere, a FIFO, a symlink, a
 * file put in the place of ours. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fsutil.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tmp {
    char dir[64], keep[PATH_MAX], tree[PATH_MAX];
};

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_holds(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    assert_true(fread(buf, 1, sizeof(buf) - 1, f) == strlen(text));
    fclose(f);
    assert_string_equal(buf, text);
}

static void at(char *out, const char *dir, const char *name)
{
    assert_int_equal(jb_path_join(out, PATH_MAX, dir, name), 0);
}

static int setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    snprintf(t->dir, sizeof(t->dir), "/tmp/jb-fsutil-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    at(t->keep, t->dir, "keep");
    at(t->tree, t->dir, "tree");
    assert_int_equal(mkdir(t->keep, 0700), 0);
    assert_int_equal(mkdir(t->tree, 0700), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tmp *t = *state;
    char err[JB_ERRLEN];

    jb_unlink_tree(t->dir, err, sizeof(err));
    free(t);
    return 0;
}

/* A hard link into a tree we remove (`cp -al`): its data is the other
 * name's too and stays; a symlink out of the tree is not followed. */
static void test_trees_keep_what_lives_elsewhere(void **state)
{
    struct tmp *t = *state;
    char src[PATH_MAX], hard[PATH_MAX], sub[PATH_MAX], sym[PATH_MAX], own[PATH_MAX];
    char err[JB_ERRLEN];
    int fd;

    at(src, t->keep, "data");
    at(sub, t->tree, "stage");
    assert_int_equal(mkdir(sub, 0700), 0);
    for (int wipe = 0; wipe < 2; wipe++) {
        put(src, "precious");
        at(hard, sub, "data");
        assert_int_equal(link(src, hard), 0);
        at(sym, t->tree, "out");
        assert_int_equal(symlink(t->keep, sym), 0);
        at(own, t->tree, "own");
        put(own, "ours");
        assert_int_not_equal(fd = open(own, O_RDONLY), -1);
        if (wipe)
            assert_int_equal(jb_rm_tree(t->tree, err, sizeof(err)), 0);
        else
            assert_int_equal(jb_unlink_tree(t->tree, err, sizeof(err)), 0);
        assert_int_equal(access(t->tree, F_OK), -1);
        assert_holds(src, "precious");
        {
            /* Ours alone (one link) is overwritten by the wiping kind only. */
            char buf[4] = {0};
            assert_int_equal(read(fd, buf, 4), 4);
            assert_memory_equal(buf, wipe ? "\0\0\0\0" : "ours", 4);
            close(fd);
        }
        assert_int_equal(mkdir(t->tree, 0700), 0);
        assert_int_equal(mkdir(sub, 0700), 0);
    }
}

/* A FIFO where a file was: unlinked, not opened to wait for a reader. */
static void test_a_fifo_does_not_hang_the_wipe(void **state)
{
    struct tmp *t = *state;
    char fifo[PATH_MAX], err[JB_ERRLEN];

    at(fifo, t->tree, "id_ed25519");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* A hang fails the test instead of holding the suite. */
    signal(SIGALRM, SIG_DFL);
    alarm(20);
    assert_int_equal(jb_file_wipe(fifo, err, sizeof(err)), 0);
    assert_int_equal(access(fifo, F_OK), -1);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(jb_rm_tree(t->tree, err, sizeof(err)), 0);
    alarm(0);
    assert_int_equal(access(t->tree, F_OK), -1);
}

/* jb_file_wipe_own overwrites the file it made, not one put in its
 * place; jb_file_wipe leaves a multiply linked file's data alone. */
static void test_only_our_own_file_is_overwritten(void **state)
{
    struct tmp *t = *state;
    char key[PATH_MAX], src[PATH_MAX], err[JB_ERRLEN];
    struct jb_file_id id;
    int fd;

    at(key, t->tree, "id_ed25519");
    at(src, t->keep, "data");
    put(key, "secret");
    assert_int_equal(jb_file_id(key, &id), 0);
    assert_int_not_equal(fd = open(key, O_RDONLY), -1);
    assert_int_equal(jb_file_wipe_own(key, &id, err, sizeof(err)), 0);
    {
        char buf[6];
        assert_int_equal(read(fd, buf, 6), 6);
        assert_memory_equal(buf, "\0\0\0\0\0\0", 6);
        close(fd);
    }
    /* Replaced by a copy of the job's data (one link, another inode). */
    put(src, "precious");
    put(key, "secret");
    assert_int_equal(jb_file_id(key, &id), 0);
    assert_int_equal(unlink(key), 0);
    assert_int_equal(rename(src, key), 0);
    assert_int_not_equal(fd = open(key, O_RDONLY), -1);
    assert_int_equal(jb_file_wipe_own(key, &id, err, sizeof(err)), 0);
    {
        char buf[9] = {0};
        assert_int_equal(read(fd, buf, 8), 8);
        assert_string_equal(buf, "precious");
        close(fd);
    }
    /* A hard link: unlinked, its other name intact. */
    put(src, "precious");
    assert_int_equal(link(src, key), 0);
    assert_int_equal(jb_file_wipe(key, err, sizeof(err)), 0);
    assert_int_equal(access(key, F_OK), -1);
    assert_holds(src, "precious");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trees_keep_what_lives_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_fifo_does_not_hang_the_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_our_own_file_is_overwritten, setup, teardown),
    };
    return cmocka_run_group_tests_name("fsutil", tests, NULL, NULL);
}
