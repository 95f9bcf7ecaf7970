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
# sshd's lines by the program that wrote them, not by unit: a session's
# processes (its logins, its forwarded connections) are filed under the
# session's scope, not sshd.service.  OpenSSH 9.8 split sshd into sshd,
# sshd-session and sshd-auth; Debian keeps the latter two in
# /usr/lib/openssh, Fedora-likes in /usr/libexec/openssh.  Matches on one
# field are alternatives.
journalctl --no-pager -o short-iso \
    _EXE=/usr/sbin/sshd \
    _EXE=/usr/lib/openssh/sshd-session _EXE=/usr/lib/openssh/sshd-auth \
    _EXE=/usr/libexec/openssh/sshd-session _EXE=/usr/libexec/openssh/sshd-auth \
    >"$work/sshd.log" 2>&1
# The audit records take a log of at most 1 MiB: a longer one keeps its
# newest whole lines under a first line saying how much went (the words
# lib/stack/audit.c writes for the local box, and reads back).
max=1048576
size=$(stat -c %s "$work/sshd.log")
if ((size > max)); then
    # One byte more than is kept: the cut starts after the first newline in it.
    tail -c $((max - 127)) "$work/sshd.log" | tail -n +2 >"$work/newest.log"
    kept=$(stat -c %s "$work/newest.log")
    printf 'jumpbox: sshd log cut to its newest lines, %d earlier bytes dropped\n' \
        $((size - kept)) >"$work/sshd.log"
    cat "$work/newest.log" >>"$work/sshd.log"
fi
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
