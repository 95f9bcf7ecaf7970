#!/bin/bash
# jumpbox-deadline: keeps the box's end where its lease says, run by
# jumpbox-deadline.timer every deadline_poll_seconds.  The provisioner puts
# the box's deadline object, PREFIX deadlines/ROLE_ID:INSTANCE_ID.json (the
# box role's aws:userid: the one object it may read), at create and at every
# extension and keep-alive heartbeat, one JSON line:
#   {"stack_id":"ID","expires_at":"T","alive_until":"T"}   (alive_until optional)
# The box ends at the nearer of the two: its teardown timer is re-armed
# there (a drop-in under /run/systemd/system), or, when that is past, the
# teardown is started at once; the reason it sends ("keepalive" when
# alive_until was the nearer, else "ttl") waits in a root-only file.  The
# box holds the hard cap itself: expires_at never goes beyond its boot +
# max_ttl_seconds, and the poweroff backstop follows expires_at so capped
# (never alive_until), a grace later.  No object (404: not written yet, or
# deleted by a destroy), a bad one or a failed read: what is armed stays.
#
# Test hooks (the EC2 stand-in, tests/support/ec2_standin.py):
# JUMPBOX_SYSTEMCTL, JUMPBOX_RUN_DIR (the reason and what is armed),
# JUMPBOX_UNIT_DIR (the drop-ins), JUMPBOX_BOOT_TIME (epoch seconds).
# jb_deadline_url and the like: set by the library's functions.
# shellcheck disable=SC2154
set -uo pipefail
umask 077

sid=${JUMPBOX_STACK_ID:-}
max_ttl=${JUMPBOX_MAX_TTL_SECONDS:-86400}
grace=${JUMPBOX_POWEROFF_GRACE_SECONDS:-600}
run=${JUMPBOX_RUN_DIR:-/run/jumpbox}
units=${JUMPBOX_UNIT_DIR:-/run/systemd/system}
sc=${JUMPBOX_SYSTEMCTL:-systemctl}
# The library is checked on its own (tests/integration/test_userdata.py).
# shellcheck disable=SC1090,SC1091
. "${JUMPBOX_AWS_LIB:-/usr/local/lib/jumpbox/aws.sh}"

log() { echo "jumpbox-deadline: $*" >&2; }
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# epoch T: the seconds of T if T is RFC 3339 UTC (the round trip also
# refuses a date that does not exist, 2030-02-30).
epoch() {
    local e
    e=$(date -u -d "$1" +%s 2>/dev/null) && [[ $(at "$e") == "$1" ]] && echo "$e"
}

# When PID 1 started: its start in ticks after the kernel's boot.  Right in a
# container too (its PID 1 starts long after the host's boot, which is what
# its /proc/uptime counts from).
boot() {
    local b f
    [[ -z ${JUMPBOX_BOOT_TIME:-} ]] || {
        echo "$JUMPBOX_BOOT_TIME"
        return
    }
    b=$(grep -m1 '^btime ' /proc/stat) && f=$(</proc/1/stat) || return
    read -ra f <<<"${f##*) }"
    echo $((${b#btime } + f[19] / $(getconf CLK_TCK)))
}

# put FILE LINE: FILE replaced in one rename.
put() { echo "$2" >"$1.t" && mv -f -- "$1.t" "$1"; }
# arm UNIT EPOCH: the timer UNIT elapses at EPOCH (UTC whatever the box's
# zone), not at the user data's OnCalendar.
arm() {
    mkdir -p -- "$units/$1.d" &&
        put "$units/$1.d/jumpbox-deadline.conf" "$(date -u -d "@$2" '+[Timer]%nOnCalendar=%nOnCalendar=%F %T UTC')"
}

ud=$(epoch "${JUMPBOX_EXPIRES_AT:-}")
booted=$(boot)
if [[ ! $sid =~ ^[a-z0-9-]{1,40}$ || -z $ud || ! "$max_ttl $grace $booted" =~ ^[0-9]{1,6}\ [0-9]{1,6}\ [0-9]+$ ]]; then
    log "bad settings: stack '$sid', expiry '${JUMPBOX_EXPIRES_AT:-}', max TTL '$max_ttl'," \
        "grace '$grace', boot '$booted'"
    exit 2
fi
jb_box_check || exit
now=$(date +%s) cap=$((booted + max_ttl))
# What is armed: the last run's, else the user data's.
exp=$ud alive=0 td=$ud po=$((ud + grace))
if [[ $(cat "$run/armed" 2>/dev/null) =~ ^([0-9]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
    exp=${BASH_REMATCH[1]} alive=${BASH_REMATCH[2]} td=${BASH_REMATCH[3]} po=${BASH_REMATCH[4]}
fi
work=$(mktemp -d) && mkdir -p -- "$run" || exit 1
trap 'rm -rf -- "$work"' EXIT

rc=1 status=000
if jb_aws_session "$work" && jb_box_prefix "$work"; then
    status=$(jb_aws_curl s3 -o "$work/d" --max-filesize 1024 \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$jb_deadline_url") || status=000
fi
where="s3://$JUMPBOX_STATE_BUCKET/$jb_deadline_key"
# The one JSON line the provisioner writes, its keys in this order.
t='"([0-9TZ:-]{20})"'
body=$(head -c 1024 "$work/d" 2>/dev/null)
if [[ $status == 200 && $body =~ ^\{\"stack_id\":\"$sid\",\"expires_at\":$t(,\"alive_until\":$t)?\}$ ]] &&
    e=$(epoch "${BASH_REMATCH[1]}") && a=0 && { [[ -z ${BASH_REMATCH[2]} ]] || a=$(epoch "${BASH_REMATCH[3]}"); }; then
    exp=$e alive=$a rc=0
elif [[ $status == 404 || ($status == 403 && $body == *"<Code>AccessDenied</Code>"*) ]]; then
    # On AWS a key that is not there answers 403 AccessDenied to a role
    # that may not list the bucket (ours may not): the same as 404.
    log "no deadline object at $where (HTTP $status): what is armed stays"
    rc=0
else
    log "HTTP $status, no deadline of stack $sid at $where: what is armed stays. ${body:0:300}"
fi

if ((exp > cap)); then
    log "expiry $(at "$exp") is beyond the cap, boot + ${max_ttl}s: $(at "$cap")"
    exp=$cap
fi
end=$exp why=ttl pt=$((exp + grace))
if ((alive && alive < exp)); then
    end=$alive why=keepalive
fi
put "$run/teardown-reason" "$why" || exit 1
u=()
if ((end != td)); then
    arm jumpbox-teardown.timer "$end" || exit 1
    log "teardown at $(at "$end") (was $(at "$td")): $why"
    u+=(jumpbox-teardown.timer)
fi
if ((pt != po)); then
    arm jumpbox-poweroff.timer "$pt" || exit 1
    log "poweroff at $(at "$pt") (was $(at "$po"))"
    u+=(jumpbox-poweroff.timer)
fi
if ((${#u[@]})) && ! { "$sc" daemon-reload && "$sc" restart "${u[@]}"; }; then
    exit 1
fi
# A time already past never elapses: started here instead, once.
if ((end != td && end <= now)); then
    log "teardown now ($why)"
    "$sc" start --no-block jumpbox-teardown.service || exit 1
fi
if ((pt != po && pt <= now)); then
    log "poweroff now"
    "$sc" start --no-block jumpbox-poweroff.service || exit 1
fi
put "$run/armed" "$exp $alive $end $pt" || exit 1
exit "$rc"
