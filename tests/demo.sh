#!/usr/bin/env bash
# The README's demo: create a local jump box, ssh through it, list, destroy.
# Uses the release build in build/, or the programs in the directory given
# (tests/integration/test_install.py: an installed bin/), and a scratch
# directory it removes again.
set -euo pipefail
if [ $# -gt 0 ]; then
    bin=$1
else
    cd "$(dirname "$0")/.."
    bin=build
fi
demo=$(mktemp -d /tmp/jumpbox-demo.XXXXXX)
export JUMPBOX_WORK_DIR="$demo/work"
state="file://$demo/state"
stack=""
cleanup() {
    if [ -n "$stack" ]; then
        "$bin/cleaner" destroy --stack-id "$stack" --state "$state" >/dev/null || true
    fi
    rm -rf "$demo"
}
trap cleanup EXIT

echo "== 1. create a jump box (TTL 10m) with a key the provisioner makes"
"$bin/provisioner" create --module local --ttl 10m --state "$state" --out "$demo/out" \
    | tee "$demo/create.json"
stack=$(sed -n 's/.*"stack_id":"\([a-z0-9-]*\)".*/\1/p' "$demo/create.json")

echo "== 2. log in with strict host key checking (a jump box runs nothing: it only forwards)"
ssh -F "$demo/out/ssh_config" -o BatchMode=yes "$stack" true
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$demo/create.json")
echo "== 2b. forward through it (ssh -W, what -J does) to a host behind it: here its own sshd"
ssh -F "$demo/out/ssh_config" -o BatchMode=yes -W "127.0.0.1:$port" "$stack" </dev/null | sed -n 1p

echo "== 3. list leases"
"$bin/provisioner" list --state "$state"

echo "== 4. destroy it"
"$bin/cleaner" destroy --stack-id "$stack" --state "$state"
stack=""
echo "== demo done: nothing left running"
