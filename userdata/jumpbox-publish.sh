#!/bin/bash
# jumpbox-publish: at first boot (cloud-init's runcmd, before the timers are
# armed), the box makes its teardown token and says who it is: it puts the
# token's SHA-256 and then its host public key (made here by cloud-init; the
# private half never leaves the box) under its own prefix of the state
# bucket, PREFIX boxes/ROLE_ID:INSTANCE_ID/, with the instance role.  Each
# object is written once (If-None-Match: *): the provisioner pins the key it
# finds there, so a 412, something there before the box, is an alarm.  The
# token goes from /dev/urandom into its root-only file and is hashed from
# there: never in argv or the environment.
# jb_box_key and the like: set by the library's functions.
# shellcheck disable=SC2154
set -uo pipefail
umask 077

token_file=${JUMPBOX_TOKEN_FILE:-/etc/jumpbox/teardown-token}
host_key=${JUMPBOX_HOST_KEY_PUB:-/etc/ssh/ssh_host_ed25519_key.pub}
# The library is checked on its own (tests/integration/test_userdata.py).
# shellcheck disable=SC1090,SC1091
. "${JUMPBOX_AWS_LIB:-/usr/local/lib/jumpbox/aws.sh}"

fail() {
    echo "jumpbox-publish: $*" >&2
    exit 1
}

jb_box_check || exit
key=$(<"$host_key") || fail "no host key at $host_key"
if [[ ! $key =~ ^ssh-ed25519\ [A-Za-z0-9+/]+={0,2}(\ [^[:cntrl:]]*)?$ ]]; then
    fail "$host_key is not one ssh-ed25519 public key line"
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir -p -- "${token_file%/*}" || fail "cannot make ${token_file%/*}"
# A fresh token, whatever the image holds: it replaces any file there in one
# rename, so no reader sees half of one.
tmp=$(mktemp "${token_file%/*}/.teardown-token.XXXXXX") || fail "cannot write beside $token_file"
od -An -vN32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp"
if [[ $(stat -c %s "$tmp") != 64 ]] || ! mv -f -- "$tmp" "$token_file"; then
    rm -f -- "$tmp"
    fail "could not make the teardown token $token_file"
fi
sha=$(sha256sum <"$token_file") && sha=${sha%% *}
printf '%s' "$sha" >"$work/teardown-token.sha256"
printf '%s\n' "$key" >"$work/host_key.pub"

jb_aws_session "$work" || exit 1
jb_box_prefix "$work" || exit
bucket=${JUMPBOX_STATE_BUCKET}
# The token's hash first: a key the provisioner finds has its hash beside it.
for name in teardown-token.sha256 host_key.pub; do
    status=$(jb_put_once "$work/$name" "$name" "$work/response.xml")
    case $status in
    200) echo "jumpbox-publish: put s3://$bucket/$jb_box_key$name" ;;
    412)
        # Someone wrote there before this box (cloud-final's output goes to
        # the journal and the console): the provisioner must not pin it.
        fail "ALARM: s3://$bucket/$jb_box_key$name was there before this box wrote it (HTTP 412):" \
            "it is not this box's, and the provisioner must refuse it"
        ;;
    *) fail "could not put s3://$bucket/$jb_box_key$name: HTTP $status" \
        "$(head -c 300 "$work/response.xml" 2>/dev/null)" ;;
    esac
done
