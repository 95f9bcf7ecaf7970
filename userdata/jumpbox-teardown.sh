#!/bin/bash
# jumpbox-teardown: asks the clean function to destroy this box's stack.
# Run as root by jumpbox-teardown.service at the lease's expiry, with the
# instance role's credentials (the role may invoke the clean function only).
# The token stays out of argv and the environment: it goes from its root-only
# file into a root-only payload file that the AWS CLI reads with fileb://.
set -euo pipefail
umask 077

stack_id=${JUMPBOX_STACK_ID:?JUMPBOX_STACK_ID is not set}
function_name=${JUMPBOX_CLEAN_FUNCTION:?JUMPBOX_CLEAN_FUNCTION is not set}
region=${JUMPBOX_REGION:?JUMPBOX_REGION is not set}
token_file=${JUMPBOX_TOKEN_FILE:-/etc/jumpbox/teardown-token}

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

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
printf '{"action":"destroy","stack_id":"%s","token":"%s","reason":"ttl"}' "$stack_id" "$token" >"$work/payload.json"
unset token

# Event (asynchronous): terraform destroy outlasts the CLI's read timeout, and
# Lambda itself retries a failed asynchronous invocation.
aws lambda invoke \
    --region "$region" \
    --function-name "$function_name" \
    --invocation-type Event \
    --cli-binary-format raw-in-base64-out \
    --payload "fileb://$work/payload.json" \
    "$work/response.json" >"$work/meta.json"
echo "jumpbox-teardown: asked $function_name to destroy stack $stack_id"
