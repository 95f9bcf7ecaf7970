/* What create, request and run hand back (out.h): the JSON result and the
 * --out directory's files, each made with O_EXCL so a second run sharing
 * the directory cannot mix its files with the winner's. */
#include "out.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "stack/ssh.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jb_out_dir_check(const char *dir, struct jb_out_dir *od, char *err, size_t errlen)
{
    const char *names[] = {"id_ed25519", "id_ed25519.pub", "known_hosts", "ssh_config",
                           "teardown_token"};
    char *paths[] = {od->key, od->pub, od->known_hosts, od->ssh_config, od->token};
    struct stat st;
    int rc;

    memset(od, 0, sizeof(*od));
    /* The paths go into ssh_config, quoted: no quote or newline can, and
     * no '%', which ssh expands there (IdentityFile, UserKnownHostsFile). */
    if (strpbrk(dir, "\"\n\r") != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "quotes and newlines are not allowed");
    if (strchr(dir, '%') != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "'%%' is not allowed (ssh would expand it in ssh_config)");
    if ((rc = jb_mkdir_p(dir, 0700, err, errlen)) != 0)
        return rc;
    if (realpath(dir, od->dir) == NULL)
        return jb_err_errno(err, errlen, JB_ERR_INVALID, "%s", dir);
    if (stat(od->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return jb_err(err, errlen, JB_ERR_INVALID, "%s is not a directory", dir);
    if (access(od->dir, W_OK | X_OK) != 0)
        return jb_err_errno(err, errlen, JB_ERR_INVALID, "%s", dir);
    if (strpbrk(od->dir, "\"\n\r%") != NULL)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "%s: its real path holds a quote, newline or '%%'", dir);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (jb_path_join(paths[i], PATH_MAX, od->dir, names[i]) != 0)
            return jb_err(err, errlen, JB_ERR_INVALID, "path too long");
        /* lstat: a symlink, dangling or not, is there all the same. */
        if (lstat(paths[i], &st) == 0 || errno != ENOENT)
            return jb_err(err, errlen, JB_ERR_INVALID, "%s already exists; not overwriting",
                          paths[i]);
    }
    return 0;
}

void jb_out_dir_remove(struct jb_out_dir *od)
{
    if (od->made & JB_OUT_KEY)
        jb_file_wipe_own(od->key, &od->key_id, NULL, 0);
    if (od->made & JB_OUT_TOKEN)
        jb_file_wipe_own(od->token, &od->token_id, NULL, 0);
    if (od->made & JB_OUT_PUB)
        unlink(od->pub);
    if (od->made & JB_OUT_KNOWN_HOSTS)
        unlink(od->known_hosts);
    if (od->made & JB_OUT_SSH_CONFIG)
        unlink(od->ssh_config);
    od->made = 0;
}

/* O_EXCL: a file that is there already belongs to someone else. */
static int create_one(struct jb_out_dir *od, unsigned bit, const char *path, const char *data,
                      size_t len, mode_t mode, char *err, size_t errlen)
{
    int rc = jb_file_create(path, data, len, mode, err, errlen);

    if (rc != 0)
        return rc;
    od->made |= bit;
    if (bit == JB_OUT_KEY)
        jb_file_id(path, &od->key_id);
    else if (bit == JB_OUT_TOKEN)
        jb_file_id(path, &od->token_id);
    return 0;
}

int jb_out_dir_write(struct jb_out_dir *od, const struct jb_create_result *res, char *err,
                     size_t errlen)
{
    const struct jb_lease *l = &res->lease;
    char *key = NULL, *cfg = NULL, line[JB_KNOWN_HOSTS_MAX + 2], pub[JB_PUBLIC_LINE_MAX + 2];
    size_t keylen = 0;
    int rc;

    if ((rc = jb_key_private_text(res->user_key, l->stack_id, &key, &keylen, err, errlen)) != 0)
        return rc;
    snprintf(line, sizeof(line), "%s\n", res->known_hosts);
    snprintf(pub, sizeof(pub), "%s\n", res->public_key);
    if (asprintf(&cfg,
                 "# jumpbox stack %s, expires %s\n"
                 "Host %s\n"
                 "    HostName %s\n"
                 "    Port %d\n"
                 "    User %s\n"
                 "    IdentityFile \"%s\"\n"
                 "    IdentitiesOnly yes\n"
                 "    UserKnownHostsFile \"%s\"\n"
                 "    StrictHostKeyChecking yes\n"
                 "    HostKeyAlgorithms ssh-ed25519\n"
                 "    PasswordAuthentication no\n"
                 "    KbdInteractiveAuthentication no\n"
                 "    ForwardAgent no\n"
                 /* The box runs nothing: ssh -J/-W, never a TTY. */
                 "    RequestTTY no\n"
                 "    KexAlgorithms " JB_SSH_KEX "\n"
                 "    Ciphers " JB_SSH_CIPHERS "\n"
                 "    MACs " JB_SSH_MACS "\n"
                 "    Compression no\n",
                 l->stack_id, cJSON_GetStringValue(cJSON_GetObjectItem(l->vars, "expires_at")),
                 l->stack_id, l->host, l->port, l->user, od->key, od->known_hosts) < 0) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = create_one(od, JB_OUT_KEY, od->key, key, keylen, 0600, err, errlen)) != 0 ||
        (rc = create_one(od, JB_OUT_PUB, od->pub, pub, strlen(pub), 0644, err, errlen)) != 0 ||
        (rc = create_one(od, JB_OUT_KNOWN_HOSTS, od->known_hosts, line, strlen(line), 0644, err,
                         errlen)) != 0 ||
        (rc = create_one(od, JB_OUT_SSH_CONFIG, od->ssh_config, cfg, strlen(cfg), 0644, err,
                         errlen)) != 0 ||
        (rc = create_one(od, JB_OUT_TOKEN, od->token, res->teardown_token,
                         strlen(res->teardown_token), 0600, err, errlen)) != 0)
        jb_out_dir_remove(od);
out:
    free(cfg);
    jb_secret_free(key);
    return rc;
}

cJSON *jb_out_create_json(const struct jb_create_result *res)
{
    const struct jb_lease *l = &res->lease;
    char expires[JB_RFC3339_LEN];
    cJSON *o = cJSON_CreateObject();

    jb_format_rfc3339(l->expires_at, expires);
    if (o == NULL || !cJSON_AddStringToObject(o, "stack_id", l->stack_id) ||
        !cJSON_AddStringToObject(o, "module", l->module) ||
        !cJSON_AddStringToObject(o, "host", l->host) ||
        !cJSON_AddNumberToObject(o, "port", l->port) ||
        !cJSON_AddStringToObject(o, "user", l->user) ||
        !cJSON_AddStringToObject(o, "instance_id", l->instance_id) ||
        !cJSON_AddStringToObject(o, "public_key", res->public_key) ||
        !cJSON_AddStringToObject(o, "host_public_key", res->host_public_key) ||
        !cJSON_AddStringToObject(o, "host_fingerprint", res->host_fingerprint) ||
        !cJSON_AddStringToObject(o, "known_hosts", res->known_hosts) ||
        !cJSON_AddStringToObject(o, "expires_at", expires)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int jb_out_print_create(const struct jb_create_result *res, const struct jb_out_dir *od, char *err,
                        size_t errlen)
{
    const struct jb_lease *l = &res->lease;
    char *key = NULL, *buf = NULL;
    size_t keylen = 0, cap;
    cJSON *o = jb_out_create_json(res);
    int rc = 0;

    if (o == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (od) {
        cJSON_AddStringToObject(o, "private_key_path", od->key);
        cJSON_AddStringToObject(o, "public_key_path", od->pub);
        cJSON_AddStringToObject(o, "known_hosts_path", od->known_hosts);
        cJSON_AddStringToObject(o, "ssh_config_path", od->ssh_config);
        cJSON_AddStringToObject(o, "teardown_token_path", od->token);
    } else {
        if ((rc = jb_key_private_text(res->user_key, l->stack_id, &key, &keylen, err, errlen)) != 0)
            goto out;
        /* References, not copies: the secrets stay in locked memory. */
        cJSON_AddItemToObject(o, "private_key", cJSON_CreateStringReference(key));
        cJSON_AddItemToObject(o, "teardown_token",
                              cJSON_CreateStringReference(res->teardown_token));
    }
    cap = 4096 + 2 * keylen;
    if ((buf = jb_secret_alloc(cap)) == NULL || !cJSON_PrintPreallocated(o, buf, (int)cap - 5, 0)) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (puts(buf) == EOF || fflush(stdout) != 0)
        rc = jb_err_errno(err, errlen, JB_ERR_IO, "writing the result to stdout");
out:
    cJSON_Delete(o);
    jb_secret_free(buf);
    jb_secret_free(key);
    return rc;
}
