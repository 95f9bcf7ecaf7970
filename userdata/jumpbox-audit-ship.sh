#!/bin/bash
# jumpbox-audit-ship: at the box's shutdown (ExecStop of jumpbox-audit.service,
# so whatever ends the box: its timer, a destroy, the poweroff backstop), put
# sshd's journal (every login with its key, every forwarded connection) into
# the box's own prefix of the state bucket, PREFIX boxes/ROLE_ID:INSTANCE_ID/sshd.log
# (jumpbox-aws.sh), with the instance role, which may put each object there
# once (If-None-Match: *) and nothing anywhere else: no box writes another
# box's, or a stack's, records.  Best effort: a failure is logged, never
# blocks the shutdown.
# jb_box_key and the like: set by the library's functions.
# shellcheck disable=SC2154
set -uo pipefail
umask 077

# The library is checked on its own (tests/integration/test_userdata.py).
# shellcheck disable=SC1090,SC1091
. "${JUMPBOX_AWS_LIB:-/usr/local/lib/jumpbox/aws.sh}"

jb_box_check || exit
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
jb_aws_session "$work" || exit 1
jb_box_prefix "$work" || exit
where="s3://$JUMPBOX_STATE_BUCKET/${jb_box_key}sshd.log"
status=$(jb_put_once "$work/sshd.log" sshd.log "$work/response.xml")
if [[ $status == 200 ]]; then
    echo "jumpbox-audit-ship: sshd log shipped to $where"
else
    # 412: an object of that name is there already; the box never writes over one.
    echo "jumpbox-audit-ship: could not ship the sshd log to $where: HTTP $status" \
        "$(head -c 300 "$work/response.xml" 2>/dev/null)" >&2
    exit 1
fi
