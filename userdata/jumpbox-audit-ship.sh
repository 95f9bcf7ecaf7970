#!/bin/bash
# jumpbox-audit-ship: at the box's shutdown (ExecStop of jumpbox-audit.service,
# so whatever ends the box: its timer, a destroy, the poweroff backstop), put
# sshd's journal (every login with its key, every forwarded connection) into
# the stack's durable audit records, s3://BUCKET/KEY_PREFIX<stamp>-box.sshd_log-<random>.log,
# with the instance role, which may put new objects under the state's audit/
# and nothing else (If-None-Match: *, so never over a record), through curl
# (jumpbox-aws.sh).  Best effort: a failure is logged, never blocks the
# shutdown.
set -uo pipefail
umask 077

bucket=${JUMPBOX_AUDIT_BUCKET:?JUMPBOX_AUDIT_BUCKET is not set}
key_prefix=${JUMPBOX_AUDIT_KEY_PREFIX:?JUMPBOX_AUDIT_KEY_PREFIX is not set}
# The library is checked on its own (tests/integration/test_userdata.py).
# shellcheck disable=SC1090,SC1091
. "${JUMPBOX_AWS_LIB:-/usr/local/lib/jumpbox/aws.sh}"

if [[ ! $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
    echo "jumpbox-audit-ship: bucket '$bucket' is not an S3 bucket name" >&2
    exit 2
fi
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
jb_aws_session "$work" || exit 1
endpoint=$(jb_endpoint s3)
if [[ -n ${AWS_ENDPOINT_URL_S3:-} ]]; then
    url="$endpoint/$bucket/$key"
else
    url="https://$bucket.${endpoint#https://}/$key"
fi
sha=$(sha256sum "$work/sshd.log") && sha=${sha%% *}
# 412: an object of that name is there already; the box never writes over one.
status=$(jb_aws_curl s3 -X PUT -o "$work/response.xml" --upload-file "$work/sshd.log" \
    -H 'If-None-Match: *' -H "x-amz-content-sha256: $sha" \
    -H 'Content-Type: text/plain; charset=utf-8' "$url") || status=000
if [[ $status == 200 ]]; then
    echo "jumpbox-audit-ship: sshd log shipped to s3://$bucket/$key"
else
    echo "jumpbox-audit-ship: could not ship the sshd log to s3://$bucket/$key: HTTP $status" \
        "$(head -c 300 "$work/response.xml" 2>/dev/null)" >&2
    exit 1
fi
