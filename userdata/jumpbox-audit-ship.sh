#!/bin/bash
# jumpbox-audit-ship: at the box's shutdown (ExecStop of jumpbox-audit.service,
# so whatever ends the box: its timer, a destroy, the poweroff backstop), put
# sshd's journal (every login with its key, every forwarded connection) into
# the stack's durable audit records, s3://BUCKET/KEY_PREFIX<stamp>-box.sshd_log-<random>.log,
# with the instance role, which may put objects under the state's audit/ and
# nothing else.  Best effort: a failure is logged, never blocks the shutdown.
set -uo pipefail
umask 077

bucket=${JUMPBOX_AUDIT_BUCKET:?JUMPBOX_AUDIT_BUCKET is not set}
key_prefix=${JUMPBOX_AUDIT_KEY_PREFIX:?JUMPBOX_AUDIT_KEY_PREFIX is not set}
region=${JUMPBOX_REGION:?JUMPBOX_REGION is not set}

if [[ ! $key_prefix =~ ^([a-z0-9][a-z0-9-]*/)?audit/[a-z0-9-]{1,40}/$ ]]; then
    echo "jumpbox-audit-ship: key prefix '$key_prefix' is not [PREFIX/]audit/STACK/" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
# Amazon Linux names the unit sshd, Debian ssh.
journalctl --no-pager -o short-iso -u sshd.service -u ssh.service >"$work/sshd.log" 2>&1
stamp=$(date -u +%Y%m%dT%H%M%S.%6NZ)
rand=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
key="${key_prefix}${stamp}-box.sshd_log-${rand}.log"
if aws s3api put-object \
    --region "$region" \
    --bucket "$bucket" \
    --key "$key" \
    --content-type "text/plain; charset=utf-8" \
    --body "$work/sshd.log" >"$work/meta.json"; then
    echo "jumpbox-audit-ship: sshd log shipped to s3://$bucket/$key"
else
    echo "jumpbox-audit-ship: could not ship the sshd log to s3://$bucket/$key" >&2
    exit 1
fi
