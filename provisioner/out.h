/* What `create` hands back: the JSON on stdout, and with --out the files
 * an ssh client needs (key 0600, known_hosts, ssh_config). */
#ifndef PROVISIONER_OUT_H
#define PROVISIONER_OUT_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>

#include "base/fsutil.h"
#include "stack/stack.h"

struct jb_out_dir {
    char dir[PATH_MAX]; /* absolute */
    char key[PATH_MAX], pub[PATH_MAX], known_hosts[PATH_MAX], ssh_config[PATH_MAX], token[PATH_MAX];
    unsigned made; /* JB_OUT_* bits: the files this process created */
    /* The key and token as made: only these are overwritten at removal,
     * never a file put in their place (a hard link to someone's data). */
    struct jb_file_id key_id, token_id;
};

enum {
    JB_OUT_KEY = 1,
    JB_OUT_PUB = 2,
    JB_OUT_KNOWN_HOSTS = 4,
    JB_OUT_SSH_CONFIG = 8,
    JB_OUT_TOKEN = 16
};

/* Before anything is made: the directory is usable and holds none of our files. */
int jb_out_dir_check(const char *dir, struct jb_out_dir *od, char *err, size_t errlen);
/* Writes the files; on failure removes those it wrote, and only those. */
int jb_out_dir_write(struct jb_out_dir *od, const struct jb_create_result *res, char *err,
                     size_t errlen);
/* Removes (key and token wiped) the files this process created, never one
 * another run put there: two runs may share a directory.  Whatever stands
 * at their names now is unlinked, overwritten only if it is the very file
 * made (jb_file_wipe_own). */
void jb_out_dir_remove(struct jb_out_dir *od);

/* The create JSON without any secret: stack, host, port, user, keys'
 * public halves, known_hosts line, expiry.  NULL when out of memory. */
cJSON *jb_out_create_json(const struct jb_create_result *res);

/* Prints the create JSON; the private key only when od is NULL, from
 * locked memory that is wiped afterwards. */
int jb_out_print_create(const struct jb_create_result *res, const struct jb_out_dir *od, char *err,
                        size_t errlen);

#endif
