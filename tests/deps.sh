#!/usr/bin/env bash
# Installs what the build, the demo and the tests need, only when missing.
# Debian/Ubuntu: apt-get (as root, or through sudo); npm packages into ./node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(build-essential pkg-config clang-format
      libcurl4-openssl-dev libssl-dev libssh2-1-dev libcjson-dev libsodium-dev libexpat1-dev
      libcmocka-dev python3-pytest python3-pytest-xdist python3-botocore awscli clang libclang-rt-14-dev
      openssh-server openssh-client ca-certificates rsync   # rsync: `provisioner run` through the box
      ssh-audit               # the boxes' sshd: no weak algorithm offered
      curl openssl            # the AWS-core tests read fixture logs and make a TLS cert
      iproute2 util-linux     # the emulated cloud: a network namespace, instance addresses
      shellcheck cloud-init python3-yaml systemd   # user data checks
      mmdebstrap systemd-container   # the booted EC2 stand-in: a Debian root, nspawn
      git mandoc man-db groff-base lintian dpkg-dev  # make install/deb and their tests
      umoci skopeo bubblewrap docker-registry)      # the Lambda image: build, sandbox, push

missing=()
# Node may come from elsewhere (with npm built in): only ask Debian when npm is missing.
command -v npm >/dev/null || debs+=(nodejs npm)
for p in "${debs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}" >&2
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # cloud-init is here only for `cloud-init schema` in the tests: keep it
    # from configuring this machine when it next boots.
    if [[ " ${missing[*]} " == *" cloud-init "* ]]; then
        "${sudo[@]}" touch /etc/cloud/cloud-init.disabled
    fi
fi

# npm packages, pinned by package-lock.json: s3rver (a local S3 server for the
# tests and bench/) and @cloud-copilot/iam-simulate (the IAM policy evaluator
# of tests/aws/test_iam.py).
if [ ! -f node_modules/s3rver/package.json ] ||
    [ ! -f node_modules/@cloud-copilot/iam-simulate/package.json ]; then
    echo "deps: npm ci (s3rver, @cloud-copilot/iam-simulate into ./node_modules)" >&2
    npm ci --no-audit --no-fund --loglevel=error
fi

# moto (an AWS API emulator) for the emulated-cloud tests (tests/aws): not a
# Debian package; it must be importable by the python3 on PATH (or by
# JUMPBOX_MOTO_PYTHON).
moto_py=${JUMPBOX_MOTO_PYTHON:-python3}
if ! "$moto_py" -c 'import moto, moto.server, werkzeug' 2>/dev/null; then
    echo "deps: moto is not installed for $(command -v "$moto_py" || echo "$moto_py"):" >&2
    echo "deps:   install it with 'pip install \"moto[server]>=5.2\"' into that Python" >&2
    echo "deps:   (or set JUMPBOX_MOTO_PYTHON to a Python that has it)" >&2
    exit 1
fi

if ! command -v "${JUMPBOX_TERRAFORM:-terraform}" >/dev/null; then
    echo "deps: terraform not found: install it, or set JUMPBOX_TERRAFORM to its path" >&2
    exit 1
fi
