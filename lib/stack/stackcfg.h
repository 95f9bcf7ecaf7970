/* Where a stack's local files live, and the root Terraform configuration
 * that calls a jump-box module with the stack's inputs. */
#ifndef JB_STACKCFG_H
#define JB_STACKCFG_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>

#include "stack/settings.h"
#include "stack/state.h"

struct jb_stack_paths {
    char root[PATH_MAX];       /* JUMPBOX_WORK_DIR, else $XDG_CACHE_HOME/jumpbox */
    char workdir[PATH_MAX];    /* <root>/stacks/<id>: main.tf.json and .terraform */
    char log[PATH_MAX];        /* <root>/logs/<id>.log: all Terraform output */
    char ttl_log[PATH_MAX];    /* <root>/logs/<id>.ttl.log: the local timer's notes */
    char box_dir[PATH_MAX];    /* <root>/boxes/<id>: the local sshd's files */
    char bin_dir[PATH_MAX];    /* where our own programs are */
    char module_dir[PATH_MAX]; /* the module's directory */
};

/* The work root from the settings: JUMPBOX_WORK_DIR, else
 * $XDG_CACHE_HOME/jumpbox, else ~/.cache/jumpbox. */
int jb_work_root(const struct jb_settings *s, char *out, size_t outlen, char *err, size_t errlen);

/* Fills paths for stack_id and module ("local", "aws"), the module's
 * directory from JUMPBOX_MODULE_DIR when it is set; creates the work root
 * and logs directory (0700). */
int jb_stack_paths(const struct jb_settings *s, const char *stack_id, const char *module,
                   struct jb_stack_paths *p, char *err, size_t errlen);

/* The local module's helper: beside the programs (a build tree), in
 * ../libexec/jumpbox (an installed tree), or in the LIBEXECDIR compiled in. */
int jb_localbox_path(const char *bin_dir, char *out, size_t outlen, char *err, size_t errlen);

/* Writes <workdir>/main.tf.json: backend for st, module "box" from
 * module_dir with vars (plain values), secrets wired from root variables,
 * and the four common outputs. */
int jb_stack_write_root(const struct jb_stack_paths *p, const struct jb_state *st,
                        const char *stack_id, const cJSON *vars, char *err, size_t errlen);

#endif
