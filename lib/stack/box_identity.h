/* A box's own identity: the host key the box made itself and the SHA-256 of
 * the teardown token it made itself.  No private half of either ever leaves
 * the box, so neither is in user data, Terraform state or our memory.
 *
 * An aws box publishes both under BOX PREFIX = PREFIX boxes/ROLE_ID:INSTANCE_ID/
 * of the state bucket, i.e. boxes/${aws:userid}/ of its instance-profile
 * session: teardown-token.sha256, then host_key.pub, each once
 * (If-None-Match: *), and at shutdown sshd.log.  Its role may write there
 * and nowhere else, and the bucket policy lets no other principal write
 * under boxes/ (terraform/control-plane).  What is found there is still
 * checked: written no earlier than the instance's launch, one well-formed
 * key, a well-formed hash.
 *
 * A local box (jumpbox-localbox, run as the same user on this machine)
 * writes host_key.pub into its own directory; it needs no token, since its
 * timer runs `cleaner destroy` itself. */
#ifndef JB_BOX_IDENTITY_H
#define JB_BOX_IDENTITY_H

#include <signal.h>
#include <stddef.h>

#include "crypto/keys.h"
#include "stack/state.h"

#define JB_BOX_ROLE_ID_MAX 128
#define JB_BOX_HASH_LEN 64 /* hex SHA-256 */

struct jb_box_identity {
    unsigned char host_pk[JB_ED25519_PK_LEN];
    char host_public_key[JB_PUBLIC_LINE_MAX]; /* "ssh-ed25519 AAAA…", no comment */
    char host_fingerprint[JB_FINGERPRINT_LEN];
    char token_hash[JB_BOX_HASH_LEN + 1]; /* "": the box has no token (local) */
    char prefix[1024];                    /* aws: the box's key prefix; local: "" */
};

/* An IAM role's unique id as IAM makes them (AROA…): [A-Z0-9]{16,128}. */
int jb_box_check_role_id(const char *id, char *err, size_t errlen);

/* PREFIX boxes/ROLE_ID:INSTANCE_ID/ of an S3 state. */
int jb_box_prefix(const struct jb_state *st, const char *role_id, const char *instance_id,
                  char *out, size_t outlen);

/* The local box's DIR/host_key.pub (jumpbox-localbox wrote it before its
 * sshd started, and Terraform's apply waited for that). */
int jb_box_identity_read_dir(const char *dir, struct jb_box_identity *out, char *err,
                             size_t errlen);

/* Waits (GetObject with backoff, until timeout_s or *cancel) for the aws
 * box's host_key.pub, then reads its teardown-token.sha256 and checks both
 * against the instance's LaunchTime (DescribeInstances).  JB_ERR_TIMEOUT:
 * nothing came; JB_ERR_HOSTKEY: what is there is not the box's. */
int jb_box_identity_wait_s3(const struct jb_state *st, const char *role_id, const char *instance_id,
                            int timeout_s, volatile sig_atomic_t *cancel,
                            struct jb_box_identity *out, char *err, size_t errlen);

#endif
