#!/usr/bin/env bash
# `make push REPO=<account>.dkr.ecr.<region>.amazonaws.com/<name>`: copies the
# image `make image` built (dist/image/oci:jumpbox) to the repository with
# skopeo, unchanged: the same OCI manifest, so the same digest, which is what
# terraform/control-plane pins (image_digest).  Only the layers the
# repository lacks are uploaded: after a code change, the code layer.
#
#   REPO                 the repository (terraform output repository_url); required
#   TAG                  default: the first 12 hex digits of the digest (tags are
#                        immutable in the repository, so one tag per image)
#   IMAGE_OUT            where `make image` wrote (dist/image)
#   REGISTRY_LOGIN=0     no login (a registry that needs none); default: ECR's
#                        password from `aws ecr get-login-password` (the AWS CLI's
#                        credentials and region), handed to `skopeo login` on
#                        stdin, kept in a 0600 file that is removed on exit
#   REGISTRY_TLS_VERIFY=false   plain HTTP (a local test registry only)
#
# Prints the digest the registry now holds (skopeo --digestfile) and fails if
# it is not the one built.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
    echo "push: $*" >&2
    exit 1
}

OUT=${IMAGE_OUT:-dist/image}
[ -n "${REPO:-}" ] || die "REPO is not set: REPO=<account>.dkr.ecr.<region>.amazonaws.com/jumpbox (terraform output repository_url)"
if [ ! -f "$OUT/digest" ] || [ ! -d "$OUT/oci" ]; then
    die "$OUT/oci: no image: run make image first"
fi
command -v skopeo >/dev/null || die "skopeo not found: bash tests/deps.sh installs it"
digest=$(cat "$OUT/digest")
case "$digest" in
sha256:????????????????????????????????????????????????????????????????) ;;
*) die "$OUT/digest: not a sha256 digest" ;;
esac
hexd=${digest#sha256:}
TAG=${TAG:-${hexd:0:12}}
registry=${REPO%%/*}
tls=${REGISTRY_TLS_VERIFY:-true}
[ "$tls" = true ] || [ "$tls" = false ] || die "REGISTRY_TLS_VERIFY must be true or false"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
auth=$work/auth.json
echo '{}' >"$auth"
chmod 600 "$auth"

if [ "${REGISTRY_LOGIN:-1}" != 0 ]; then
    # <account>.dkr.ecr.<region>.amazonaws.com
    region=$(echo "$registry" | sed -n 's/^[0-9]\{12\}\.dkr\.ecr\.\([a-z0-9-]*\)\.amazonaws\.com.*$/\1/p')
    [ -n "$region" ] || die "REPO: $registry is not an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com); REGISTRY_LOGIN=0 for one that needs no login"
    command -v aws >/dev/null || die "aws (the AWS CLI) not found: it gets ECR's password"
    # The password goes from one pipe to the other: never in argv or the environment.
    aws ecr get-login-password --region "$region" |
        skopeo login --authfile "$auth" --tls-verify="$tls" --username AWS --password-stdin "$registry" >/dev/null ||
        die "login to $registry failed"
fi

echo "push: $OUT/oci:jumpbox ($digest) -> $REPO:$TAG" >&2
skopeo copy --quiet --preserve-digests --dest-authfile "$auth" --dest-tls-verify="$tls" \
    --digestfile "$work/pushed" "oci:$OUT/oci:jumpbox" "docker://$REPO:$TAG"
pushed=$(cat "$work/pushed")
[ "$pushed" = "$digest" ] || die "the registry holds $pushed, not the image built ($digest)"
echo "$pushed"
