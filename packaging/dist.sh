#!/usr/bin/env bash
# `make dist`: OUT/jumpbox-VERSION.tar.gz, the committed tree (HEAD) plus a
# VERSION file, which packaging/version.sh reads where there is no git.
# Usage: packaging/dist.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
version=$(sh packaging/version.sh --no-dirty)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "$version" >"$tmp/VERSION"
mkdir -p "$OUT"
git archive --format=tar.gz --prefix="jumpbox-$version/" --add-file="$tmp/VERSION" \
    -o "$OUT/jumpbox-$version.tar.gz" HEAD
echo "$OUT/jumpbox-$version.tar.gz"
