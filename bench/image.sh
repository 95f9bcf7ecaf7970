#!/usr/bin/env bash
# The Lambda image benchmark (bench/README.md): builds the image, builds it
# again from a copy of the tree with a code-only change, pushes both to a
# local docker-registry (what the second push uploads is what a code change
# costs), then bench/image_bench.py for layer sizes and the cold start in the
# sandbox against a Python peer.  Needs root (the sandbox), JUMPBOX_TF_PLUGIN_DIR,
# bash bench/deps.sh.  Writes Markdown to stdout, JSON to $1 if given.
set -euo pipefail
cd "$(dirname "$0")/.."
N_COLD=${N_COLD:-50}
T=$(mktemp -d /tmp/jumpbox-image-bench.XXXXXX)
reg_pid=
cleanup() {
    [ -z "$reg_pid" ] || kill "$reg_pid" 2>/dev/null || true
    [ -z "$reg_pid" ] || wait "$reg_pid" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: image (packaging/image.sh)" >&2
IMAGE_OUT=$T/a IMAGE_BUILD=$T/build-a nice -n 10 bash packaging/image.sh >"$T/a.log" 2>&1 ||
    { cat "$T/a.log" >&2; exit 1; }
echo "bench: the same image after a code-only change" >&2
mkdir "$T/tree"
git ls-files -z | xargs -0 cp --parents -t "$T/tree"
# packaging/image.sh builds only from a git clone (its code layer is what git
# tracks): the copy gets an index of the same files, no commit needed.
git -C "$T/tree" init -q
git -C "$T/tree" add -A
sed -i 's/Makes short-lived SSH jump boxes/Makes short-lived SSH jump boxes (changed)/' "$T/tree/provisioner/main.c"
grep -q "(changed)" "$T/tree/provisioner/main.c" || { echo "bench: the code change did not apply" >&2; exit 1; }
(cd "$T/tree" && IMAGE_OUT=$T/b IMAGE_BUILD=$T/build-b nice -n 10 bash packaging/image.sh) >"$T/b.log" 2>&1 ||
    { cat "$T/b.log" >&2; exit 1; }

echo "bench: pushing both to a local docker-registry" >&2
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir "$T/registry"
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:%s"}\n' \
    "$T/registry" "$port" >"$T/registry.yml"
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
bytes() { du -sb "$T/registry" | cut -f1; }
push() { IMAGE_OUT=$1 REPO=127.0.0.1:$port/jumpbox REGISTRY_LOGIN=0 REGISTRY_TLS_VERIFY=false \
    bash packaging/push.sh >/dev/null; }
b0=$(bytes)
push "$T/a"
b1=$(bytes)
push "$T/b"
b2=$(bytes)

echo "bench: cold start in the sandbox x $N_COLD (ours and Python, alternating)" >&2
json=()
[ -z "${1:-}" ] || json=(--json "$1")
/usr/bin/python3 bench/image_bench.py --layout "$T/a/oci" --changed "$T/b/oci" \
    --pushed-a $((b1 - b0)) --pushed-b $((b2 - b1)) --runs "$N_COLD" "${json[@]}"
