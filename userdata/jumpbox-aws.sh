# jumpbox-aws: the AWS calls the box makes itself (its teardown request, its
# host key and token hash, its sshd log, its deadline), on curl and bash
# alone, sourced by jumpbox-teardown, jumpbox-publish, jumpbox-audit-ship and
# jumpbox-deadline.  curl is in every AMI the module supports (Debian 13,
# AL2023) and speaks IMDSv2 and SigV4 (--aws-sigv4) itself: no AWS CLI, with
# its start-up time and its version's quirks, and nothing installed at boot.
#
# Secrets stay out of argv and the environment: the IMDS token and the role's
# keys go into curl config files (-K) in the caller's root-only directory.
#
# The standard variables an SDK honours point it elsewhere (the tests'
# emulated cloud); on AWS none is set:
#   AWS_EC2_METADATA_SERVICE_ENDPOINT  IMDS (default http://169.254.169.254)
#   AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_S3  (S3 then path-style)

# Some globals are for the callers (jb_box_key) alone.
# shellcheck disable=SC2034
jb_imds=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
jb_imds=${jb_imds%/}
# The region of the calls: the clean function's and the state bucket's, which
# the unit names (JUMPBOX_REGION); the instance's own, from IMDS, if it
# names none.
jb_region=${JUMPBOX_REGION:-}
jb_auth=   # set by jb_aws_session

# One JSON string field of IMDS's credentials document, whose values are
# plain [A-Za-z0-9+/=] strings: no JSON parser needed (nor in every AMI).
_jb_field() {
    local re="\"$1\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9+/=]+)\""
    [[ $2 =~ $re ]] || return 1
    printf '%s' "${BASH_REMATCH[1]}"
}

_jb_imds_get() {
    curl -sS --fail --max-time 5 --retry 3 --retry-connrefused -K "$1/imds.conf" \
        "$jb_imds/latest/meta-data/$2"
}

# jb_aws_session DIR: an IMDSv2 session (the module requires tokens), the
# region (above) and the instance role's credentials, into DIR/auth.conf for
# jb_aws_curl.  DIR must be the caller's own, mode 0700.
jb_aws_session() {
    local dir=$1 token role creds key secret session
    token=$(curl -sS --fail --max-time 5 --retry 3 --retry-connrefused -X PUT \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$jb_imds/latest/api/token") || {
        echo "jumpbox: no IMDSv2 token from $jb_imds" >&2
        return 1
    }
    if [[ ! $token =~ ^[A-Za-z0-9+/=_-]{1,512}$ ]]; then
        echo "jumpbox: IMDS gave a token with unexpected characters" >&2
        return 1
    fi
    # Root's alone whatever the caller's umask (a subshell keeps it local).
    (umask 077 && printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" >"$dir/imds.conf")
    unset token
    if [[ -z $jb_region ]]; then
        jb_region=$(_jb_imds_get "$dir" placement/region) || return 1
    fi
    if [[ ! $jb_region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
        echo "jumpbox: '$jb_region' is not a region name" >&2
        return 1
    fi
    role=$(_jb_imds_get "$dir" iam/security-credentials/) || {
        echo "jumpbox: the instance has no role (IMDS iam/security-credentials/)" >&2
        return 1
    }
    role=${role%%$'\n'*}
    if [[ ! $role =~ ^[A-Za-z0-9+=,.@_-]{1,64}$ ]]; then
        echo "jumpbox: IMDS names role '$role', not a role name" >&2
        return 1
    fi
    creds=$(_jb_imds_get "$dir" "iam/security-credentials/$role") || return 1
    if ! { key=$(_jb_field AccessKeyId "$creds") &&
        secret=$(_jb_field SecretAccessKey "$creds") &&
        session=$(_jb_field Token "$creds"); }; then
        unset creds
        echo "jumpbox: IMDS gave role $role no usable credentials" >&2
        return 1
    fi
    unset creds
    (umask 077 && printf 'user = "%s:%s"\nheader = "x-amz-security-token: %s"\n' \
        "$key" "$secret" "$session" >"$dir/auth.conf")
    unset secret session
    jb_auth=$dir/auth.conf
}

# jb_endpoint SERVICE: the service's regional endpoint, or the one its
# AWS_ENDPOINT_URL_<SERVICE> names.
jb_endpoint() {
    local var suffix=amazonaws.com
    var=AWS_ENDPOINT_URL_${1^^}
    if [[ -n ${!var:-} ]]; then
        printf '%s' "${!var%/}"
        return
    fi
    [[ $jb_region == cn-* ]] && suffix=amazonaws.com.cn
    printf 'https://%s.%s.%s' "$1" "$jb_region" "$suffix"
}

# jb_aws_curl SERVICE CURL-ARGS...: one request signed with the role's
# credentials; prints the HTTP status (the body goes where the args say).
jb_aws_curl() {
    local service=$1
    shift
    curl -sS --max-time 30 -K "$jb_auth" --aws-sigv4 "aws:amz:$jb_region:$service" \
        -w '%{http_code}' "$@"
}

# jb_box_check: whether the settings below are sound (before anything is made).
# jb_box_prefix DIR: the box's own prefix in the state bucket, as a key
# (jb_box_key) and a URL (jb_box_url), after jb_aws_session DIR.  The state is
# JUMPBOX_STATE_BUCKET and JUMPBOX_STATE_PREFIX ("" or ending in "/"); the
# prefix is PREFIX boxes/ROLE_ID:INSTANCE_ID/, which for the instance role's
# session is boxes/${aws:userid}/, the only place its policy lets it write;
# and its deadline object, PREFIX deadlines/ROLE_ID:INSTANCE_ID.json
# (jb_deadline_key, jb_deadline_url), the only object it may read.
# ':' goes as %3A: the SigV4 canonical URI is the path as sent, and S3
# decodes it to the key.
jb_box_url='' jb_box_key='' jb_deadline_url='' jb_deadline_key=''
jb_box_check() {
    local bucket=${JUMPBOX_STATE_BUCKET:-} prefix=${JUMPBOX_STATE_PREFIX-} role=${JUMPBOX_BOX_ROLE_ID:-}
    if [[ ! $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
        echo "jumpbox: JUMPBOX_STATE_BUCKET '$bucket' is not an S3 bucket name" >&2
        return 2
    fi
    # No "." or ".." segment: curl would resolve it away.
    if [[ ! $prefix =~ ^([A-Za-z0-9_-][A-Za-z0-9._-]*/)*$ ]]; then
        echo "jumpbox: JUMPBOX_STATE_PREFIX '$prefix' is not empty or a key prefix ending in /" >&2
        return 2
    fi
    if [[ ! $role =~ ^[A-Z0-9]{16,128}$ ]]; then
        echo "jumpbox: JUMPBOX_BOX_ROLE_ID '$role' is not a role id ([A-Z0-9]{16,128})" >&2
        return 2
    fi
}

jb_box_prefix() {
    local prefix=${JUMPBOX_STATE_PREFIX-} role=${JUMPBOX_BOX_ROLE_ID:-} id
    jb_box_check || return
    id=$(_jb_imds_get "$1" instance-id) || return 1
    if [[ ! $id =~ ^i-[0-9a-f]{8,17}$ ]]; then
        echo "jumpbox: IMDS gave instance id '$id'" >&2
        return 1
    fi
    jb_box_key="${prefix}boxes/$role:$id/"
    jb_box_url=$(jb_state_url "${prefix}boxes/$role%3A$id/")
    # Its deadline object (jumpbox-deadline): the one object it may read.
    jb_deadline_key="${prefix}deadlines/$role:$id.json"
    jb_deadline_url=$(jb_state_url "${prefix}deadlines/$role%3A$id.json")
}

# jb_state_url PATH: the URL of PATH (a key, %-encoded) in the state bucket.
jb_state_url() {
    local bucket=$JUMPBOX_STATE_BUCKET endpoint
    endpoint=$(jb_endpoint s3)
    if [[ -n ${AWS_ENDPOINT_URL_S3:-} ]]; then
        printf '%s' "$endpoint/$bucket/$1"
    else
        printf '%s' "https://$bucket.${endpoint#https://}/$1"
    fi
}

# jb_put_once FILE NAME RESPONSE: FILE as NAME under the box's prefix, only
# if nothing is there yet (If-None-Match: *; the role's policy insists);
# prints the HTTP status, 412 when something is.
jb_put_once() {
    local sha status
    sha=$(sha256sum <"$1") && sha=${sha%% *}
    status=$(jb_aws_curl s3 -X PUT -o "$3" --upload-file "$1" -H 'If-None-Match: *' \
        -H "x-amz-content-sha256: $sha" -H 'Content-Type: text/plain; charset=utf-8' \
        "$jb_box_url$2") || status=000
    printf '%s' "$status"
}
