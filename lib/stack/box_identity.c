/* Reads the identity a box published about itself (box_identity.h) and
 * decides whether it is the box's: the key is then the one pinned. */
#include "stack/box_identity.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "aws/ec2.h"
#include "stack/store.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUB_MAX 1024 /* an ed25519 line with a long comment */
#define HASH_OBJ_MAX 128

int jb_box_check_role_id(const char *id, char *err, size_t errlen)
{
    size_t n = id ? strlen(id) : 0;

    if (n < 16 || n > JB_BOX_ROLE_ID_MAX || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
        return jb_err(err, errlen, JB_ERR_INVALID,
                      "JUMPBOX_BOX_ROLE_ID: '%.40s' is not an IAM role id ([A-Z0-9]{16,128}: the "
                      "control plane's box_role_id output)",
                      id ? id : "");
    return 0;
}

int jb_box_prefix(const struct jb_state *st, const char *role_id, const char *instance_id,
                  char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%sboxes/%s:%s/", st->prefix, role_id, instance_id);
    return (n < 0 || (size_t)n >= outlen) ? JB_ERR_INVALID : 0;
}

/* host_key.pub holds one line: "ssh-ed25519 BASE64 [comment]" and a newline. */
static int take_key(const char *text, const char *where, struct jb_box_identity *out, char *err,
                    size_t errlen)
{
    char line[PUB_MAX], detail[JB_ERRLEN];
    size_t n = strcspn(text, "\n");

    if (n >= sizeof(line) || (text[n] == '\n' && text[n + 1] != '\0'))
        return jb_err(err, errlen, JB_ERR_HOSTKEY, "%s: not one public key line", where);
    memcpy(line, text, n);
    line[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            return jb_err(err, errlen, JB_ERR_HOSTKEY, "%s: control characters in the key line",
                          where);
    if (jb_key_parse_public_line(line, out->host_pk, detail, sizeof(detail)) != 0)
        return jb_err(err, errlen, JB_ERR_HOSTKEY, "%s: %s", where, detail);
    jb_key_public_line(out->host_pk, NULL, out->host_public_key, sizeof(out->host_public_key));
    jb_key_fingerprint(out->host_pk, out->host_fingerprint);
    return 0;
}

int jb_box_identity_read_dir(const char *dir, struct jb_box_identity *out, char *err, size_t errlen)
{
    char path[PATH_MAX], detail[JB_ERRLEN], *text = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (jb_path_join(path, sizeof(path), dir, "host_key.pub") != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "box directory path too long");
    if ((rc = jb_file_read(path, PUB_MAX, &text, NULL, detail, sizeof(detail))) != 0)
        return jb_err(err, errlen, rc == JB_ERR_NOMEM ? rc : JB_ERR_HOSTKEY,
                      "the local box published no host key: %s", detail);
    rc = take_key(text, path, out, err, errlen);
    free(text);
    return rc;
}

/* EC2's launchTime ("2026-12-07T06:00:00.000Z"), to the second. */
static int launch_time(const char *instance_id, time_t *t, char *err, size_t errlen)
{
    const char *ids[] = {instance_id};
    struct jb_ec2_filter f = {"instance-id", ids, 1};
    struct jb_ec2_client *c = NULL;
    struct jb_ec2_page p = {0};
    char stamp[JB_RFC3339_LEN];
    int rc;

    if ((rc = jb_ec2_client_new(NULL, &c, err, errlen)) != 0 ||
        (rc = jb_ec2_describe_instances(c, &f, 1, NULL, &p, err, errlen)) != 0)
        goto out;
    if (p.n != 1 || p.items[0].launch_time == NULL || strlen(p.items[0].launch_time) < 19) {
        rc = jb_err(err, errlen, JB_ERR_PARSE, "DescribeInstances %s: no launch time", instance_id);
        goto out;
    }
    snprintf(stamp, sizeof(stamp), "%.19sZ", p.items[0].launch_time);
    if (jb_parse_rfc3339(stamp, t, NULL, 0) != 0)
        rc = jb_err(err, errlen, JB_ERR_PARSE, "DescribeInstances %s: launch time '%.40s'",
                    instance_id, p.items[0].launch_time);
out:
    jb_ec2_page_free(&p);
    jb_ec2_client_free(c);
    return rc;
}

static int get_hash(const struct jb_state *st, const char *key, time_t launched,
                    struct jb_box_identity *out, char *err, size_t errlen)
{
    struct jb_store_obj o;
    char where[1400];
    int rc = jb_store_get(st, key, HASH_OBJ_MAX, JB_STORE_MODIFIED, &o, err, errlen);

    jb_store_where(st, key, where, sizeof(where));
    if (rc == JB_ERR_NOTFOUND)
        rc = jb_err(err, errlen, JB_ERR_HOSTKEY,
                    "%s: missing, though the host key beside it is there: the box writes it "
                    "first, so the key is not the box's",
                    where);
    else if (rc == 0 && (o.len != JB_BOX_HASH_LEN || strspn(o.data, "0123456789abcdef") != o.len))
        rc = jb_err(err, errlen, JB_ERR_HOSTKEY, "%s: not a hex SHA-256", where);
    else if (rc == 0 && o.modified < launched)
        rc = jb_err(err, errlen, JB_ERR_HOSTKEY,
                    "%s: written before the instance was launched: not the box's", where);
    else if (rc == 0)
        memcpy(out->token_hash, o.data, JB_BOX_HASH_LEN + 1);
    jb_store_obj_free(&o);
    return rc;
}

int jb_box_identity_wait_s3(const struct jb_state *st, const char *role_id, const char *instance_id,
                            int timeout_s, volatile sig_atomic_t *cancel,
                            struct jb_box_identity *out, char *err, size_t errlen)
{
    struct jb_store_obj o = {0};
    char key[sizeof(out->prefix) + 32], where[sizeof(key) + 80];
    time_t launched;
    long long t0;
    int rc, delay = 250, n;

    memset(out, 0, sizeof(*out));
    if (jb_box_prefix(st, role_id, instance_id, out->prefix, sizeof(out->prefix)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state prefix too long for the box's keys");
    /* The same objects, named from the state's root for the store. */
    n = snprintf(key, sizeof(key), "boxes/%s:%s/host_key.pub", role_id, instance_id);
    if (n < 0 || (size_t)n >= sizeof(key) || jb_store_where(st, key, where, sizeof(where)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "state prefix too long for the box's keys");
    t0 = jb_clock_mono_ms();
    for (;;) {
        rc = jb_store_get(st, key, PUB_MAX, JB_STORE_MODIFIED, &o, err, errlen);
        if (rc != JB_ERR_NOTFOUND)
            break;
        if (cancel && *cancel) {
            rc = jb_err(err, errlen, JB_ERR_CANCELLED, "stopped waiting for %s", where);
            goto out;
        }
        if (jb_clock_mono_ms() - t0 >= timeout_s * 1000LL) {
            rc = jb_err(err, errlen, JB_ERR_TIMEOUT,
                        "the box did not publish its host key at %s within %d s", where, timeout_s);
            goto out;
        }
        poll(NULL, 0, delay);
        delay = delay < 2000 ? delay * 2 : 2000;
    }
    if (rc != 0)
        goto out;
    /* S3 and EC2 keep time to the second on AWS's clocks, not ours. */
    if ((rc = launch_time(instance_id, &launched, err, errlen)) != 0)
        goto out;
    if (o.modified < launched) {
        rc = jb_err(err, errlen, JB_ERR_HOSTKEY,
                    "%s: written before instance %s was launched: not the box's", where,
                    instance_id);
        goto out;
    }
    if ((rc = take_key(o.data, where, out, err, errlen)) != 0)
        goto out;
    snprintf(key, sizeof(key), "boxes/%s:%s/teardown-token.sha256", role_id, instance_id);
    rc = get_hash(st, key, launched, out, err, errlen);
out:
    jb_store_obj_free(&o);
    return rc;
}
