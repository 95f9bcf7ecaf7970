/* provisioner keygen: an Ed25519 keypair in OpenSSH's formats, written
 * 0600 with O_EXCL; the private key never passes through stdout. */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "crypto/keys.h"
#include "stack/cli.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "usage: provisioner keygen --out DIR [--comment TEXT]\n"
                            "\n"
                            "Writes DIR/id_ed25519 (mode 0600, OpenSSH format, unencrypted) and\n"
                            "DIR/id_ed25519.pub, refusing to overwrite either.  Prints\n"
                            "{\"public_key\":…,\"fingerprint\":…} on stdout.\n";

int cmd_keygen(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"provisioner keygen", usage, 2, 0,
                                             "unknown or incomplete option"};
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"comment", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *outdir = NULL, *comment = "";
    char err[JB_ERRLEN], priv_path[PATH_MAX], pub_path[PATH_MAX];
    char pub[JB_PUBLIC_LINE_MAX + 1], fp[JB_FINGERPRINT_LEN];
    struct jb_keypair *kp = NULL;
    char *text = NULL, *json = NULL;
    size_t textlen = 0, publen;
    cJSON *obj = NULL;
    int c, rc, status = 1;

    (void)s; /* reads no setting */
    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &status)) != 0) {
        switch (c) {
        case 'o':
            outdir = optarg;
            break;
        case 'c':
            comment = optarg;
            break;
        }
    }
    if (status >= 0)
        return status;
    status = 1;
    if (outdir == NULL)
        return jb_cmdline_bad(&me, "--out", "required");
    if (*comment && jb_check_label(comment, JB_COMMENT_MAX, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--comment", err);
    if (jb_path_join(priv_path, sizeof(priv_path), outdir, "id_ed25519") != 0 ||
        jb_path_join(pub_path, sizeof(pub_path), outdir, "id_ed25519.pub") != 0)
        return jb_cmdline_bad(&me, "--out", "path too long");
    if (access(priv_path, F_OK) == 0 || access(pub_path, F_OK) == 0) {
        fprintf(stderr, "provisioner keygen: --out: %s already holds a key; not overwriting\n",
                outdir);
        return 2;
    }
    if (jb_mkdir_p(outdir, 0700, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--out", err);

    if ((rc = jb_keypair_new(&kp, err, sizeof(err))) != 0 ||
        (rc = jb_key_private_text(kp, comment, &text, &textlen, err, sizeof(err))) != 0)
        goto out;
    if (jb_key_public_line(kp->pk, comment, pub, sizeof(pub) - 1) != 0) {
        rc = jb_err(err, sizeof(err), JB_ERR_INVALID, "public key line too long");
        goto out;
    }
    jb_key_fingerprint(kp->pk, fp);
    publen = strlen(pub);
    pub[publen] = '\n';
    if ((rc = jb_file_create(priv_path, text, textlen, 0600, err, sizeof(err))) != 0)
        goto out;
    if ((rc = jb_file_create(pub_path, pub, publen + 1, 0644, err, sizeof(err))) != 0) {
        jb_file_wipe(priv_path, NULL, 0);
        goto out;
    }
    pub[publen] = '\0';

    if ((obj = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(obj, "public_key", pub) == NULL ||
        cJSON_AddStringToObject(obj, "fingerprint", fp) == NULL ||
        cJSON_AddStringToObject(obj, "private_key_path", priv_path) == NULL ||
        cJSON_AddStringToObject(obj, "public_key_path", pub_path) == NULL ||
        (json = cJSON_PrintUnformatted(obj)) == NULL) {
        rc = jb_err(err, sizeof(err), JB_ERR_NOMEM, "out of memory");
        goto out;
    }
    puts(json);
    status = 0;
out:
    if (rc != 0)
        fprintf(stderr, "provisioner keygen: %s\n", err);
    free(json);
    cJSON_Delete(obj);
    jb_secret_free(text);
    jb_keypair_free(kp);
    return status;
}
