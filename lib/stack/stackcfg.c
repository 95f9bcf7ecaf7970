/* A stack's local paths and root configuration (stackcfg.h): main.tf.json
 * written with every outside value escaped as a Terraform literal. */
#include "stack/stackcfg.h"

#include "jb_paths.h" /* JB_DATADIR, JB_LIBEXECDIR: generated from PREFIX by the Makefile */
#include "base/err.h"
#include "base/fsutil.h"
#include "stack/store.h"
#include "stack/terraform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const outputs[] = {"host", "port", "user", "instance_id"};
#define OLD_LEASE_ROLE_ID "AROAMADEBEFOREBOXKEYS"

int jb_work_root(const struct jb_settings *s, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *w = s->work_dir, *c = s->xdg_cache_home, *h = s->home;
    int n;

    if (w && *w)
        n = snprintf(out, outlen, "%s", w);
    else if (c && c[0] == '/')
        n = snprintf(out, outlen, "%s/jumpbox", c);
    else if (h && h[0] == '/')
        n = snprintf(out, outlen, "%s/.cache/jumpbox", h);
    else
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "JUMPBOX_WORK_DIR: not set, and neither is XDG_CACHE_HOME nor HOME");
    if (n < 0 || (size_t)n >= outlen || out[0] != '/')
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_WORK_DIR: must be an absolute path");
    return 0;
}

/* A build tree keeps the modules in ../terraform beside the programs; an
 * installed tree in ../share/jumpbox/terraform (still true when the whole
 * prefix was moved or is a DESTDIR staging tree), else where PREFIX put it. */
static int find_module_dir(const char *env, const char *bin_dir, const char *module, char *out,
                           size_t outlen)
{
    static const char *const rel[] = {"../terraform", "../share/jumpbox/terraform"};
    char base[PATH_MAX], probe[PATH_MAX], real[PATH_MAX], *slash;

    for (int i = -1; i < 3; i++) {
        int n;
        if (i < 0 && (env == NULL || *env == '\0'))
            continue;
        if (i < 0)
            n = snprintf(base, sizeof(base), "%s", env);
        else if (i < 2)
            n = snprintf(base, sizeof(base), "%s/%s", bin_dir, rel[i]);
        else
            n = snprintf(base, sizeof(base), "%s", JB_DATADIR "/terraform");
        if (n < 0 || (size_t)n >= sizeof(base))
            continue;
        n = snprintf(probe, sizeof(probe), "%s/%s/main.tf", base, module);
        if (n > 0 && (size_t)n < sizeof(probe) && realpath(probe, real) != NULL) {
            slash = strrchr(real, '/');
            *slash = '\0';
            if (strlen(real) >= outlen)
                return JB_ERR_INVALID;
            memcpy(out, real, strlen(real) + 1);
            return 0;
        }
        if (i < 0)
            return JB_ERR_NOTFOUND; /* an explicit setting must be right */
    }
    return JB_ERR_NOTFOUND;
}

int jb_localbox_path(const char *bin_dir, char *out, size_t outlen, char *err, size_t errlen)
{
    static const char *const rel[] = {"", "/../libexec/jumpbox"};
    char probe[PATH_MAX], real[PATH_MAX];

    for (int i = 0; i < 3; i++) {
        int n = i < 2 ? snprintf(probe, sizeof(probe), "%s%s/jumpbox-localbox", bin_dir, rel[i])
                      : snprintf(probe, sizeof(probe), "%s", JB_LIBEXECDIR "/jumpbox-localbox");
        if (n > 0 && (size_t)n < sizeof(probe) && access(probe, X_OK) == 0 &&
            realpath(probe, real) != NULL && strlen(real) < outlen) {
            memcpy(out, real, strlen(real) + 1);
            return 0;
        }
    }
    return jb_err(err, errlen, JB_ERR_NOTFOUND,
                  "jumpbox-localbox: not beside %s, nor in ../libexec/jumpbox, nor in %s", bin_dir,
                  JB_LIBEXECDIR);
}

int jb_stack_paths(const struct jb_settings *s, const char *stack_id, const char *module,
                   struct jb_stack_paths *p, char *err, size_t errlen)
{
    char logs[PATH_MAX];
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = jb_work_root(s, p->root, sizeof(p->root), err, errlen)) != 0)
        return rc;
    if ((rc = jb_self_dir(p->bin_dir, sizeof(p->bin_dir), err, errlen)) != 0)
        return rc;
    if (snprintf(p->workdir, sizeof(p->workdir), "%s/stacks/%s", p->root, stack_id) >=
            (int)sizeof(p->workdir) ||
        snprintf(p->log, sizeof(p->log), "%s/logs/%s.log", p->root, stack_id) >=
            (int)sizeof(p->log) ||
        snprintf(p->ttl_log, sizeof(p->ttl_log), "%s/logs/%s.ttl.log", p->root, stack_id) >=
            (int)sizeof(p->ttl_log) ||
        snprintf(p->box_dir, sizeof(p->box_dir), "%s/boxes/%s", p->root, stack_id) >=
            (int)sizeof(p->box_dir) ||
        snprintf(logs, sizeof(logs), "%s/logs", p->root) >= (int)sizeof(logs))
        return jb_err(err, errlen, JB_ERR_INVALID, "JUMPBOX_WORK_DIR: path too long");
    if (find_module_dir(s->module_dir, p->bin_dir, module, p->module_dir, sizeof(p->module_dir)) !=
        0)
        return jb_err(err, errlen, JB_ERR_NOTFOUND,
                      "module %s: terraform/%s not found (set JUMPBOX_MODULE_DIR to the "
                      "directory holding it)",
                      module, module);
    return jb_mkdir_p(logs, 0700, err, errlen);
}

static cJSON *literal_copy(const cJSON *v)
{
    const cJSON *item;
    cJSON *list;

    if (cJSON_IsString(v))
        return jb_tf_literal(v->valuestring);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        return cJSON_Duplicate(v, 0);
    if (!cJSON_IsArray(v) || (list = cJSON_CreateArray()) == NULL)
        return NULL; /* flat values, and lists of strings (permit_open), only */
    cJSON_ArrayForEach(item, v)
    {
        cJSON *lit = cJSON_IsString(item) ? jb_tf_literal(item->valuestring) : NULL;
        if (lit == NULL || !cJSON_AddItemToArray(list, lit)) {
            cJSON_Delete(lit);
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

/* Module sources are not expressions either: Terraform takes their
 * strings as they are, "${" included, so they are never escaped (an
 * escaped path is another path).  The backend block is the store's. */
int jb_stack_write_root(const struct jb_stack_paths *p, const struct jb_state *st,
                        const char *stack_id, const cJSON *vars, char *err, size_t errlen)
{
    cJSON *root = cJSON_CreateObject(), *tf, *mod, *box, *outs;
    const cJSON *v;
    char path[PATH_MAX], *text = NULL;
    int rc = 0;

    if (root == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    tf = cJSON_AddObjectToObject(root, "terraform");
    cJSON_AddItemToObject(tf, "backend", jb_store_tf_backend(st, stack_id));
    mod = cJSON_AddObjectToObject(root, "module");
    box = cJSON_AddObjectToObject(mod, "box");
    outs = cJSON_AddObjectToObject(root, "output");
    /* Terraform copies a module named by an absolute path into .terraform,
     * then refuses its "../" references (terraform/aws uses ../../userdata);
     * a relative source is read in place. */
    {
        char real_work[PATH_MAX], rel[PATH_MAX];
        if ((rc = jb_mkdir_p(p->workdir, 0700, err, errlen)) != 0)
            goto out;
        if (realpath(p->workdir, real_work) == NULL ||
            jb_path_relative(real_work, p->module_dir, rel, sizeof(rel)) != 0) {
            rc = jb_err_errno(err, errlen, JB_ERR_INVALID, "module path from %s", p->workdir);
            goto out;
        }
        cJSON_AddItemToObject(box, "source", cJSON_CreateString(rel));
    }
    /* A lease made before boxes made their own host keys names the pinned
     * public key, an input the modules no longer take, and an aws one lacks
     * box_role_id, which terraform/aws now requires.  Only a destroy reads
     * such a lease, and a destroy renders no box: a placeholder id of the
     * right form lets Terraform take the stack down. */
    if (cJSON_GetObjectItemCaseSensitive(vars, "host_public_key") &&
        !cJSON_GetObjectItemCaseSensitive(vars, "box_role_id") &&
        !cJSON_GetObjectItemCaseSensitive(vars, "box_dir"))
        cJSON_AddItemToObject(box, "box_role_id", cJSON_CreateString(OLD_LEASE_ROLE_ID));
    cJSON_ArrayForEach(v, vars)
    {
        cJSON *lit;
        if (strcmp(v->string, "host_public_key") == 0)
            continue;
        lit = literal_copy(v);
        if (lit == NULL || strcmp(v->string, "source") == 0) {
            cJSON_Delete(lit);
            rc = jb_err(err, errlen, JB_ERR_INVALID, "module variable %s: not a plain value",
                        v->string);
            goto out;
        }
        cJSON_AddItemToObject(box, v->string, lit);
    }
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        cJSON *o = cJSON_AddObjectToObject(outs, outputs[i]);
        char ref[64];
        snprintf(ref, sizeof(ref), "${module.box.%s}", outputs[i]);
        cJSON_AddStringToObject(o, "value", ref);
    }
    if ((text = cJSON_Print(root)) == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = jb_mkdir_p(p->workdir, 0700, err, errlen)) != 0)
        goto out;
    if (jb_path_join(path, sizeof(path), p->workdir, "main.tf.json") != 0) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "work path too long");
        goto out;
    }
    rc = jb_file_replace(path, text, strlen(text), 0600, err, errlen);
out:
    free(text);
    cJSON_Delete(root);
    return rc;
}
