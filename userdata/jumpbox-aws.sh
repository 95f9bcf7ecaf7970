# jumpbox-aws: the AWS calls the box makes itself (its teardown request, its
# sshd log), on curl and bash alone, sourced by jumpbox-teardown and
# jumpbox-audit-ship.  curl is in every AMI the module supports (Debian 13,
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
