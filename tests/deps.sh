#!/usr/bin/env bash
# Installs what the build, the demo and the tests need, only when missing.
# Debian/Ubuntu: apt-get (as root, or through sudo); npm packages into ./node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(build-essential pkg-config clang-format
      libcurl4-openssl-dev libssl-dev libssh2-1-dev libcjson-dev libsodium-dev libexpat1-dev
      libcmocka-dev python3-pytest python3-botocore awscli clang libclang-rt-14-dev
      openssh-server openssh-client ca-certificates)

missing=()
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
fi

if ! command -v "${JUMPBOX_TERRAFORM:-terraform}" >/dev/null; then
    echo "deps: terraform not found: install it, or set JUMPBOX_TERRAFORM to its path" >&2
    exit 1
fi
