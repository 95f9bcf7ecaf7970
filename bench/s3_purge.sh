#!/usr/bin/env bash
# Purging a prefix of N objects (default 10,000) on s3rver: our
# jb_s3_purge_prefix (list, then DeleteObjects in batches of 1,000) against
# `aws s3 rm --recursive` (Debian's aws CLI), side by side in one run.
#
#   make && bash bench/s3_purge.sh          BENCH_OBJECTS=2000 for a quick look
#
# A benchmark, not a test: numbers depend on the machine; nothing asserts them.
# Each side runs under GNU time (wall seconds, peak RSS); with BENCH_S3_OUT
# set, "side objects seconds peak_rss_kib left_over" lines go there too
# (bench/run.sh reads them).
# Objects go 100 to a "directory" (d000/obj-000000): s3rver reads the whole
# parent directory after every single delete, so one flat directory of
# 10,000 keys would time s3rver's O(n^2) housekeeping, not the clients.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_OBJECTS:-10000}
AWS=/usr/bin/aws
S3RVER=node_modules/s3rver/bin/s3rver.js
[ -x "$AWS" ] || { echo "bench: $AWS missing: run bash tests/deps.sh" >&2; exit 1; }
[ -f "$S3RVER" ] || { echo "bench: $S3RVER missing: run bash tests/deps.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing: run bash bench/deps.sh" >&2; exit 1; }
make -s build/tools/s3_cli >/dev/null
OURS=build/tools/s3_cli

work=$(mktemp -d)
pid=
cleanup() { # s3rver's status (killed) must not become this script's
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# s3rver on a free port; it prints the one it got.
mkdir "$work/data"
NODE_OPTIONS=--openssl-legacy-provider node "$S3RVER" -d "$work/data" -a 127.0.0.1 -p 0 -s \
    --no-vhost-buckets --configure-bucket bench >"$work/s3rver.out" 2>"$work/s3rver.err" &
pid=$!
for _ in $(seq 200); do
    grep -q '^S3rver listening on' "$work/s3rver.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/s3rver.err" >&2; exit 1; }
    sleep 0.05
done
endpoint="http://$(awk '/^S3rver listening on/ {print $4}' "$work/s3rver.out")"
[ "$endpoint" != "http://" ] || { echo "bench: s3rver did not start" >&2; exit 1; }

# Only what we set: no ~/.aws, no profile, no instance metadata.
export HOME="$work" AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_S3="$endpoint"
unset AWS_PROFILE AWS_ENDPOINT_URL

echo "bench: writing 2 x $N objects to s3rver at $endpoint ..." >&2
names() { awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "d%03d/obj-%06d\n", int(i / 100), i }'; }
for side in ours aws; do
    mkdir -p "$work/tree/$side"
    (cd "$work/tree/$side" && names | cut -d/ -f1 | sort -u | xargs mkdir -p && names | xargs touch)
done
"$AWS" --endpoint-url "$endpoint" s3 cp --recursive --only-show-errors "$work/tree" s3://bench/
count() { "$OURS" list bench "$1" | wc -l; }
for side in ours aws; do
    got=$(count "$side/")
    [ "$got" -eq "$N" ] || { echo "bench: $side/ holds $got objects, wanted $N" >&2; exit 1; }
done

/usr/bin/time -f '%e %M' -o "$work/time.ours" "$OURS" purge bench ours/ >"$work/ours.json"
/usr/bin/time -f '%e %M' -o "$work/time.aws" \
    "$AWS" --endpoint-url "$endpoint" s3 rm --recursive --only-show-errors s3://bench/aws/
read -r s_ours rss_ours <"$work/time.ours"
read -r s_aws rss_aws <"$work/time.aws"
left_ours=$(count ours/)
left_aws=$(count aws/)

printf '\n%-34s %9s %9s %9s %11s %11s\n' "purge of a prefix on s3rver" objects seconds "obj/s" \
    "peak MiB" "left over"
row() { awk -v n="$2" -v s="$3" -v k="$4" -v l="$5" -v name="$1" \
    'BEGIN { printf "%-34s %9d %9.2f %9.0f %11.1f %11d\n", name, n, s, (s > 0 ? n / s : 0), k / 1024, l }'; }
row "jumpbox s3_cli purge (batches)" "$N" "$s_ours" "$rss_ours" "$left_ours"
row "aws s3 rm --recursive" "$N" "$s_aws" "$rss_aws" "$left_aws"
echo "ours: $(cat "$work/ours.json")"
if [ -n "${BENCH_S3_OUT:-}" ]; then
    printf 'ours %s %s %s %s\naws %s %s %s %s\n' "$N" "$s_ours" "$rss_ours" "$left_ours" \
        "$N" "$s_aws" "$rss_aws" "$left_aws" >"$BENCH_S3_OUT"
fi
