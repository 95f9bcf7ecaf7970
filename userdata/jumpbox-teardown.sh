#!/bin/bash
# jumpbox-teardown: asks the clean function to destroy this box's stack.
# Run as root by jumpbox-teardown.service at the lease's expiry, with the
# instance role's credentials from IMDS (the role may invoke the clean
# function only), through curl (jumpbox-aws.sh).  The token stays out of argv
# and the environment: it goes from its root-only file into a root-only
# payload file that curl sends.
set -euo pipefail
umask 077

stack_id=${JUMPBOX_STACK_ID:?JUMPBOX_STACK_ID is not set}
function_name=${JUMPBOX_CLEAN_FUNCTION:?JUMPBOX_CLEAN_FUNCTION is not set}
token_file=${JUMPBOX_TOKEN_FILE:-/etc/jumpbox/teardown-token}
# Why, as jumpbox-deadline last armed the timer: "keepalive" when the
# heartbeats stopped, else "ttl".
reason_file=${JUMPBOX_RUN_DIR:-/run/jumpbox}/teardown-reason
# The library is checked on its own (tests/integration/test_userdata.py).
# shellcheck disable=SC1090,SC1091
. "${JUMPBOX_AWS_LIB:-/usr/local/lib/jumpbox/aws.sh}"

if [[ ! $function_name =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
    echo "jumpbox-teardown: function name '$function_name' is not [A-Za-z0-9_-]{1,64}" >&2
    exit 2
fi
if [[ ! $stack_id =~ ^[a-z0-9-]{1,40}$ ]]; then
    echo "jumpbox-teardown: stack id '$stack_id' is not [a-z0-9-]{1,40}" >&2
    exit 2
fi
if [[ ! -r $token_file ]]; then
    echo "jumpbox-teardown: cannot read the token file $token_file" >&2
    exit 2
fi
token=$(<"$token_file")
if [[ -z $token ]]; then
    # Nothing to present: the shutdown backstop and the sweeper remove the box.
    echo "jumpbox-teardown: no teardown token for stack $stack_id; leaving it to the backstop" >&2
    exit 0
fi
# The token is spliced into JSON as is, so it must need no escaping.
if [[ ! $token =~ ^[A-Za-z0-9._~+/=-]{1,512}$ ]]; then
    echo "jumpbox-teardown: the token in $token_file has characters outside [A-Za-z0-9._~+/=-]" >&2
    exit 2
fi

reason=ttl
if [[ -r $reason_file ]]; then
    reason=$(<"$reason_file")
    if [[ ! $reason =~ ^[a-z-]{1,32}$ ]]; then
        echo "jumpbox-teardown: $reason_file holds no reason ([a-z-]{1,32}); saying ttl" >&2
        reason=ttl
    fi
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
printf '{"action":"destroy","stack_id":"%s","token":"%s","reason":"%s"}' "$stack_id" "$token" \
    "$reason" >"$work/payload.json"
unset token

jb_aws_session "$work"
# Event (asynchronous): terraform destroy outlasts any sensible wait here,
# and Lambda itself retries a failed asynchronous invocation.  202: queued.
status=$(jb_aws_curl lambda -X POST -o "$work/response.json" \
    -H 'X-Amz-Invocation-Type: Event' -H 'Content-Type: application/json' \
    --data-binary "@$work/payload.json" \
    "$(jb_endpoint lambda)/2015-03-31/functions/$function_name/invocations") || status=000
if [[ $status != 202 ]]; then
    echo "jumpbox-teardown: the clean function $function_name answered HTTP $status:" \
        "$(head -c 300 "$work/response.json" 2>/dev/null)" >&2
    exit 1
fi
echo "jumpbox-teardown: asked $function_name to destroy stack $stack_id"
