#!/usr/bin/env bash
# What `make bench` needs beyond tests/deps.sh: GNU time (peak RSS) and
# gnuplot (the scaling plot), and the Python function we compare the Lambda
# cold start and package size with (boto3, paramiko).  Kept apart so the test
# command stays lean.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh

debs=(time gnuplot-nox
      python3-boto3 python3-paramiko) # the Python peer of the cold-start and size benchmarks
missing=()
for p in "${debs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "bench deps: installing ${missing[*]}" >&2
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
