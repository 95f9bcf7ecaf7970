#!/usr/bin/env bash
# Benchmarks (not tests: nothing here passes or fails on speed).  Each of our
# commands runs beside its peer in the same run, alternating, and the results
# go to bench/RESULTS.md and bench/sweep_scaling.png.  See bench/README.md.
#
#   N_KEYGEN=200 N_CREATE=5 SWEEP_COUNTS="10 100 1000" SWEEP_REAL_MAX=100 N_COLD=50 \
#   N_OBJECTS=10000 bash bench/run.sh
set -euo pipefail
# The machine's load before anything of ours runs: the header says it.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/build
N_KEYGEN=${N_KEYGEN:-200}
N_CREATE=${N_CREATE:-5}
SWEEP_COUNTS=${SWEEP_COUNTS:-10 100 1000}
SWEEP_REAL_MAX=${SWEEP_REAL_MAX:-100} # real Terraform only up to this many leases
N_COLD=${N_COLD:-50}                  # Lambda cold starts, each side
N_OBJECTS=${N_OBJECTS:-10000}         # objects in the S3 purge
OUT=${BENCH_OUT:-$ROOT/bench}
TF=${JUMPBOX_TERRAFORM:-terraform}
PY=/usr/bin/python3

for p in "$BIN/provisioner" "$BIN/cleaner" "$BIN/jumpbox-localbox"; do
    [ -x "$p" ] || { echo "bench: $p missing: run make (or make bench)" >&2; exit 1; }
done
for c in /usr/bin/time ssh-keygen gnuplot "$TF"; do
    command -v "$c" >/dev/null || { echo "bench: $c missing: bash bench/deps.sh" >&2; exit 1; }
done

T=$(mktemp -d /tmp/jumpbox-bench.XXXXXX)
export JUMPBOX_WORK_DIR=$T/work XDG_STATE_HOME=$T/state TF_IN_AUTOMATION=1
unset JUMPBOX_TERRAFORM

# Everything we start is a stack (ours or bare Terraform) whose box dir has
# pid files; tear down what is left, then kill only those pids.
cleanup() {
    set +e
    for d in "$T"/state/jumpbox/*/; do
        [ -f "$d/lease.json" ] && "$BIN/cleaner" destroy --stack-id "$(basename "$d")" >/dev/null 2>&1
    done
    for d in "$T"/bare/run*/; do
        [ -f "$d/terraform.tfstate" ] && bare_tf "$d" destroy -auto-approve >/dev/null 2>&1
    done
    for f in "$T"/work/boxes/*/*.pid "$T"/bare/boxes/*/*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { echo "${EPOCHREALTIME/./}"; }
# /usr/bin/time "%e %M": wall seconds and the peak RSS (KiB) of the largest
# process in the tree it waited for.
timed() {
    local out=$1
    shift
    /usr/bin/time -f '%e %M' -o "$out" "$@"
}
stats() { # values on stdin -> "mean median min max"
    sort -g | awk '{v[NR]=$1; s+=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
        printf "%.6f %.6f %.6f %.6f\n", s/NR, m, v[1], v[NR]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
fmt_ms() { awk -v s="$1" 'BEGIN {printf "%.2f", s * 1000}'; }
fmt_mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$T/k" "$T/bare/boxes" "$T/res"

# --- 1. keygen --------------------------------------------------------------
echo "bench: keygen x $N_KEYGEN (ours and ssh-keygen, alternating)" >&2
: >"$T/res/kg_ours" && : >"$T/res/kg_ssh" && : >"$T/res/kg_ours_rss" && : >"$T/res/kg_ssh_rss"
for ((i = 0; i < N_KEYGEN; i++)); do
    mkdir -p "$T/k/o$i" "$T/k/s$i" "$T/k/ro$i" "$T/k/rs$i"
    t0=$(now_us)
    "$BIN/provisioner" keygen --out "$T/k/o$i" >/dev/null
    t1=$(now_us)
    ssh-keygen -q -t ed25519 -N '' -f "$T/k/s$i/id_ed25519" </dev/null >/dev/null
    t2=$(now_us)
    echo "$((t1 - t0))e-6" >>"$T/res/kg_ours"
    echo "$((t2 - t1))e-6" >>"$T/res/kg_ssh"
    # Memory in separate runs, so /usr/bin/time's own start-up stays out of the times.
    timed "$T/res/m" "$BIN/provisioner" keygen --out "$T/k/ro$i" >/dev/null
    cut -d' ' -f2 "$T/res/m" >>"$T/res/kg_ours_rss"
    timed "$T/res/m" ssh-keygen -q -t ed25519 -N '' -f "$T/k/rs$i/id_ed25519" </dev/null >/dev/null
    cut -d' ' -f2 "$T/res/m" >>"$T/res/kg_ssh_rss"
    rm -rf "$T/k/o$i" "$T/k/s$i" "$T/k/ro$i" "$T/k/rs$i"
done
read -r kgo_mean kgo_med kgo_min kgo_max < <(awk '{printf "%.9f\n", $1}' "$T/res/kg_ours" | stats)
read -r kgs_mean kgs_med kgs_min kgs_max < <(awk '{printf "%.9f\n", $1}' "$T/res/kg_ssh" | stats)
kgo_rss=$(sort -n "$T/res/kg_ours_rss" | tail -1)
kgs_rss=$(sort -n "$T/res/kg_ssh_rss" | tail -1)

# --- 2. create + destroy vs bare terraform ------------------------------------
# The bare run: the same module, a fresh copy per run (as each of our stacks
# gets a fresh work dir), the same variables, the host key in a 0600 var file
# as the provisioner does it, the real jumpbox-localbox starting sshd.
bare_tf() {
    local dir=$1
    shift
    local sub=$1
    shift
    local vf=() pre=()
    [ "$sub" = init ] || vf=(-var-file=vars.tfvars.json)
    # BARE_RSS=FILE: append Terraform's peak RSS (KiB) to FILE, as ours is measured.
    [ -z "${BARE_RSS:-}" ] || pre=(/usr/bin/time -f %M -a -o "$BARE_RSS")
    "${pre[@]}" env TF_DATA_DIR="$dir/.terraform" "$TF" -chdir="$dir" "$sub" -input=false -no-color \
        "${vf[@]}" "$@"
}
echo "bench: create/destroy x $N_CREATE (ours and bare terraform, alternating)" >&2
user_pub=$("$BIN/provisioner" keygen --out "$T/k/user" | $PY -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
for ((i = 0; i < N_CREATE; i++)); do
    id=bench-$i
    timed "$T/res/m" "$BIN/provisioner" create --module local --ttl 10m --stack-id "$id" \
        --out "$T/k/out-$id" >/dev/null 2>"$T/res/create-$id.err"
    read -r s rss <"$T/res/m"
    echo "$s $rss" >>"$T/res/cr_ours"
    # Stage times from the progress lines ("[   1.0s] ssh probe").
    awk -F'[][]' '/ssh probe/ {gsub(/[ s]/, "", $2); p=$2} /ready/ {gsub(/[ s]/, "", $2); r=$2}
        END {print r - p}' "$T/res/create-$id.err" >>"$T/res/cr_probe"
    user=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["vars"]["ssh_user"])' \
        "$T/state/jumpbox/$id/lease.json")
    timed "$T/res/m" "$BIN/cleaner" destroy --stack-id "$id" >/dev/null 2>&1
    cat "$T/res/m" >>"$T/res/de_ours"

    d=$T/bare/run$i
    mkdir -p "$d"
    cp "$ROOT"/terraform/local/*.tf "$d/"
    $PY - "$d" "$i" "$user_pub" "$(free_port)" "$user" "$T" "$BIN" <<'EOF'
import json, os, sys, time
d, i, upub, port, user, T, B = sys.argv[1:]
v = {"stack_id": f"bare-{i}", "requester": "bench", "public_key": upub,
     "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600)),
     "allow_cidr": "127.0.0.1/32", "state_url": f"file://{T}/bare/state", "ssh_user": user,
     "ssh_port": int(port), "box_dir": f"{T}/bare/boxes/bare-{i}", "localbox_bin": f"{B}/jumpbox-localbox",
     "cleaner_bin": f"{B}/cleaner", "ttl_log": f"{T}/bare/bare-{i}.ttl.log"}
json.dump(v, open(f"{d}/vars.tfvars.json", "w"))
EOF
    t0=$(now_us)
    BARE_RSS=$T/res/bare_cr_rss bare_tf "$d" init >"$d/log" 2>&1
    BARE_RSS=$T/res/bare_cr_rss bare_tf "$d" apply -auto-approve >>"$d/log" 2>&1
    t1=$(now_us)
    BARE_RSS=$T/res/bare_de_rss bare_tf "$d" destroy -auto-approve >>"$d/log" 2>&1
    t2=$(now_us)
    echo "$((t1 - t0))e-6 $((t2 - t1))e-6" >>"$T/res/bare"
done
read -r cro_mean cro_med _ < <(cut -d' ' -f1 "$T/res/cr_ours" | stats)
read -r probe_mean _ < <(stats <"$T/res/cr_probe")
read -r deo_mean deo_med _ < <(cut -d' ' -f1 "$T/res/de_ours" | stats)
read -r bap_mean bap_med _ < <(awk '{printf "%.6f\n", $1}' "$T/res/bare" | stats)
read -r bde_mean bde_med _ < <(awk '{printf "%.6f\n", $2}' "$T/res/bare" | stats)
cro_rss=$(cut -d' ' -f2 "$T/res/cr_ours" | sort -n | tail -1)
deo_rss=$(cut -d' ' -f2 "$T/res/de_ours" | sort -n | tail -1)
bcr_rss=$(sort -n "$T/res/bare_cr_rss" | tail -1)
bde_rss=$(sort -n "$T/res/bare_de_rss" | tail -1)

# --- 3. sweep ---------------------------------------------------------------
# N expired leases made from a real lease's record (the module's inputs), with
# no Terraform state behind them: each sweep runs, per lease, the root config
# write, terraform init and destroy (nothing to destroy), then purges.
echo "bench: sweep over $SWEEP_COUNTS expired leases" >&2
"$BIN/provisioner" create --module local --ttl 10m --stack-id template --out "$T/k/out-template" \
    >/dev/null 2>&1
cp "$T/state/jumpbox/template/lease.json" "$T/template.json"
"$BIN/cleaner" destroy --stack-id template >/dev/null 2>&1
make_leases() { # dir count
    $PY - "$1" "$2" "$T/template.json" <<'EOF'
import json, os, sys
root, n, tpl = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
for i in range(n):
    l = json.loads(json.dumps(tpl))
    sid = f"sweep-{i}"
    l.update(stack_id=sid, status="ready", created_at="2020-01-01T00:00:00Z",
             expires_at="2020-01-01T00:10:00Z")
    l["vars"].update(stack_id=sid, box_dir=l["vars"]["box_dir"].rsplit("/", 1)[0] + "/" + sid)
    os.makedirs(f"{root}/{sid}", mode=0o700)
    with open(f"{root}/{sid}/lease.json", "w") as f:
        json.dump(l, f, indent=1)
EOF
}
: >"$T/sweep.dat"
for n in $SWEEP_COUNTS; do
    for kind in stub real; do
        [ "$kind" = real ] && [ "$n" -gt "$SWEEP_REAL_MAX" ] && continue
        s=$T/sweep-$kind-$n
        make_leases "$s" "$n"
        envs=()
        [ "$kind" = stub ] && envs=(JUMPBOX_TERRAFORM=/bin/true)
        timed "$T/res/m" env "${envs[@]}" "$BIN/cleaner" sweep --state "file://$s" \
            >"$T/res/sweep.json" 2>/dev/null || true
        read -r secs rss <"$T/res/m"
        done_n=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(sum(1 for x in r["stacks"] if x["result"] == "destroyed"))' "$T/res/sweep.json")
        left=$(find "$s" -name lease.json | wc -l)
        echo "$kind $n $secs $rss $done_n $left" >>"$T/sweep.dat"
        echo "bench:   $kind $n: ${secs}s, $(fmt_mb "$rss") MiB, destroyed $done_n, left $left" >&2
        rm -rf "$s"
    done
done

# --- 4 and 5. The Lambda image: sizes, a code change's push, cold start ---------
# bench/image.sh: the image built twice (the second time after a code-only
# change), pushed to a local docker-registry, and the cold start in the
# Lambda-like sandbox against a Python 3.11 + boto3 + Terraform layout.
echo "bench: the Lambda image (bench/image.sh)" >&2
N_COLD=$N_COLD bash bench/image.sh "$T/res/image.json" >"$T/res/image.md"

# --- 6. S3 prefix purge on s3rver --------------------------------------------
echo "bench: S3 purge of $N_OBJECTS objects (ours, then aws s3 rm --recursive)" >&2
BENCH_OBJECTS=$N_OBJECTS BENCH_S3_OUT=$T/res/s3.dat bash bench/s3_purge.sh >"$T/res/s3.log" 2>&1 ||
    { cat "$T/res/s3.log" >&2; exit 1; }
read -r _ _ s3o_s s3o_rss s3o_left < <(grep '^ours ' "$T/res/s3.dat")
read -r _ _ s3a_s s3a_rss s3a_left < <(grep '^aws ' "$T/res/s3.dat")

# --- 7. SigV4 signing rate ----------------------------------------------------
echo "bench: SigV4 signing rate (one core)" >&2
make -s build/tools/sigv4_bench
sig_rate=$(taskset -c 0 build/tools/sigv4_bench 100000 |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["per_second"])')

# --- results ----------------------------------------------------------------
jget() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }
# "N.Nx faster" / "N.Nx slower" (or less/more) for peer / ours.
vs() { awk -v o="$1" -v p="$2" -v good="$3" -v bad="$4" \
    'BEGIN {if (p >= o) printf "%.1fx %s", p / o, good; else printf "%.1fx %s", o / p, bad}'; }
co_ms=$(jget "$T/res/image.json" 'd["cold"]["ours"]["time_s"]["median"] * 1000')
cp_ms=$(jget "$T/res/image.json" 'd["cold"]["python"]["time_s"]["median"] * 1000')
co_kib=$(jget "$T/res/image.json" 'd["cold"]["ours"]["rss_kib"]["max"]')
cp_kib=$(jget "$T/res/image.json" 'd["cold"]["python"]["rss_kib"]["max"]')
code_z=$(jget "$T/res/image.json" 'd["layers"][-1]["compressed"]')
all_z=$(jget "$T/res/image.json" 'sum(x["compressed"] for x in d["layers"])')
push_b=$(jget "$T/res/image.json" 'd["pushed_change"]')
fmb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
awk '$1 == "stub" {print $2, $3, $4 / 1024}' "$T/sweep.dat" >"$T/stub.dat"
awk '$1 == "real" {print $2, $3, $4 / 1024}' "$T/sweep.dat" >"$T/real.dat"
gnuplot <<EOF
set terminal pngcairo size 900,420 font ",10"
set output "$OUT/sweep_scaling.png"
set multiplot layout 1,2 title "cleaner sweep over N expired local leases"
set logscale xy
set xlabel "expired leases"
set ylabel "wall time (s)"
set key top left
set grid
plot "$T/stub.dat" using 1:2 with linespoints title "Terraform = /bin/true (our own cost)", \
     "$T/real.dat" using 1:2 with linespoints title "real Terraform (init + destroy)"
unset logscale y
set ylabel "peak RSS (MiB)"
set key center right
set yrange [0:*]
plot "$T/stub.dat" using 1:3 with linespoints title "cleaner (Terraform = /bin/true)", \
     "$T/real.dat" using 1:3 with linespoints title "largest process (terraform)"
unset multiplot
EOF

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# Benchmark results"
    echo
    echo "Run with \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) CPUs" \
        "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)," \
        "$("$TF" version 2>/dev/null | head -1), $(ssh -V 2>&1 | cut -d, -f1).  Release build (\`make\`)."
    echo "Load average (1, 5, 15 min): $LOAD_START before the first section, $LOAD_END after the"
    echo "last (that one with the bench's own work in it)."
    echo "Times are wall clock; peak RSS is GNU time's %M (the largest process of the tree),"
    echo "except for the cold start (VmHWM of the entry point, see section 4)."
    echo
    echo "## Summary"
    echo
    echo "| benchmark | ours | peer | time | peak memory |"
    echo "|---|---|---|---|---|"
    echo "| Lambda cold start in the sandbox, exec to first \`next\` (median) | $(printf %.1f "$co_ms") ms, $(fmt_mb "$co_kib") MiB | Python + boto3 + paramiko: $(printf %.0f "$cp_ms") ms, $(fmt_mb "$cp_kib") MiB | $(vs "$co_ms" "$cp_ms" faster slower) | $(vs "$co_kib" "$cp_kib" less more) |"
    echo "| Lambda image: all layers / code layer (compressed); a code change pushes | $(fmb "$all_z") / $(fmb "$code_z"); $(fmb "$push_b") | | | |"
    echo "| S3 purge of $N_OBJECTS objects (s3rver) | $s3o_s s, $(fmt_mb "$s3o_rss") MiB | \`aws s3 rm --recursive\`: $s3a_s s, $(fmt_mb "$s3a_rss") MiB | $(vs "$s3o_s" "$s3a_s" faster slower) | $(vs "$s3o_rss" "$s3a_rss" less more) |"
    echo "| Ed25519 key pair to files (median) | $(fmt_ms "$kgo_med") ms, $(fmt_mb "$kgo_rss") MiB | ssh-keygen: $(fmt_ms "$kgs_med") ms, $(fmt_mb "$kgs_rss") MiB | $(vs "$kgo_med" "$kgs_med" faster slower) | $(vs "$kgo_rss" "$kgs_rss" less more) |"
    echo "| local jump box create + destroy (mean) | $(awk -v a="$cro_mean" -v b="$deo_mean" 'BEGIN {printf "%.2f", a + b}') s | bare \`terraform init/apply/destroy\`: $(awk -v a="$bap_mean" -v b="$bde_mean" 'BEGIN {printf "%.2f", a + b}') s | $(vs "$(awk -v a="$cro_mean" -v b="$deo_mean" 'BEGIN {print a + b}')" "$(awk -v a="$bap_mean" -v b="$bde_mean" 'BEGIN {print a + b}')" faster slower) (we add an SSH login probe and keys) | Terraform's either way |"
    echo
    echo "## 1. Key generation: \`provisioner keygen\` vs \`ssh-keygen -t ed25519 -N ''\`"
    echo
    echo "$N_KEYGEN runs each, alternating, whole process (exec to exit, files written)."
    echo
    echo "| | mean ms | median ms | min ms | max ms | peak RSS MiB |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| provisioner keygen | $(fmt_ms "$kgo_mean") | $(fmt_ms "$kgo_med") | $(fmt_ms "$kgo_min") | $(fmt_ms "$kgo_max") | $(fmt_mb "$kgo_rss") |"
    echo "| ssh-keygen | $(fmt_ms "$kgs_mean") | $(fmt_ms "$kgs_med") | $(fmt_ms "$kgs_min") | $(fmt_ms "$kgs_max") | $(fmt_mb "$kgs_rss") |"
    echo "| **ratio ours / ssh-keygen** | $(ratio "$kgo_mean" "$kgs_mean") | $(ratio "$kgo_med" "$kgs_med") | | | $(ratio "$kgo_rss" "$kgs_rss") |"
    echo
    fast=$(awk -v a="$kgo_med" -v b="$kgs_med" 'BEGIN {print (a <= b) ? "holds" : "does NOT hold"}')
    small=$(awk -v a="$kgo_rss" -v b="$kgs_rss" 'BEGIN {print (a <= b) ? "holds" : "does NOT hold"}')
    echo "Target \"no slower\" (median): **$fast**.  Target \"peak memory at most ssh-keygen's\": **$small**."
    echo
    echo "## 2. \`provisioner create --module local --ttl 10m\` + \`cleaner destroy\` vs bare Terraform"
    echo
    echo "$N_CREATE runs each, alternating.  Bare: \`terraform init\` + \`apply\` then \`destroy\` of a"
    echo "fresh copy of terraform/local with the same variables and the real jumpbox-localbox (sshd"
    echo "started and stopped).  Ours adds: two key pairs, the lease, the root config, the box's"
    echo "outputs read from the state the apply wrote, the SSH readiness probe (a real login with"
    echo "the pinned host key), and at destroy the lease's purge (the work dir its create"
    echo "initialised is used as it is: no second \`terraform init\`)."
    echo
    echo "| | ours mean s | bare mean s | ours median s | bare median s | ratio (mean) | added s (mean) | peak RSS MiB ours / bare |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    f2() { awk -v v="$1" 'BEGIN {printf "%.2f", v}'; }
    echo "| create vs init+apply | $(f2 "$cro_mean") | $(f2 "$bap_mean") | $(f2 "$cro_med") | $(f2 "$bap_med") | $(ratio "$cro_mean" "$bap_mean") | $(awk -v a="$cro_mean" -v b="$bap_mean" 'BEGIN {printf "%.2f", a - b}') | $(fmt_mb "$cro_rss") / $(fmt_mb "$bcr_rss") |"
    echo "| destroy vs destroy | $(f2 "$deo_mean") | $(f2 "$bde_mean") | $(f2 "$deo_med") | $(f2 "$bde_med") | $(ratio "$deo_mean" "$bde_mean") | $(awk -v a="$deo_mean" -v b="$bde_mean" 'BEGIN {printf "%.2f", a - b}') | $(fmt_mb "$deo_rss") / $(fmt_mb "$bde_rss") |"
    tot_o=$(awk -v a="$cro_mean" -v b="$deo_mean" 'BEGIN {print a + b}')
    tot_b=$(awk -v a="$bap_mean" -v b="$bde_mean" 'BEGIN {print a + b}')
    echo "| whole lifecycle | $(f2 "$tot_o") | $(f2 "$tot_b") | | | $(ratio "$tot_o" "$tot_b") | $(awk -v a="$tot_o" -v b="$tot_b" 'BEGIN {printf "%.2f", a - b}') | |"
    echo
    echo "Of the create time, the SSH probe (\"ssh probe\" to \"ready\" in the progress lines) took"
    echo "$(awk -v p="$probe_mean" 'BEGIN {printf "%.2f", p}') s on average.  Peak RSS is the largest"
    echo "process of each tree, which on both sides is Terraform (or its AWS-less local provider"
    echo "plugins), not the provisioner: the same module, so the same peak."
    echo
    life=$(awk -v a="$tot_o" -v b="$tot_b" 'BEGIN {print (a <= 1.5 * b) ? "holds" : "does NOT hold"}')
    echo "Target \"local lifecycle at most 1.5x bare\" (mean): **$life** ($(ratio "$tot_o" "$tot_b")x)."
    echo
    echo "## 3. \`cleaner sweep\` over N expired local leases"
    echo
    echo "Each lease is a copy of a real local lease (the module inputs of a stack made and"
    echo "destroyed just before), expired, with no Terraform state behind it: per lease the sweep"
    echo "lists and parses it, writes the root config, runs \`terraform init\` and \`destroy\`"
    echo "(nothing to destroy), and purges the lease.  \"stub\" replaces Terraform with /bin/true"
    echo "(JUMPBOX_TERRAFORM), which leaves only our own cost: that is how 1000 leases stay quick."
    echo "\"real\" runs Terraform ($TF) for the counts up to $SWEEP_REAL_MAX."
    echo
    echo "| Terraform | leases | wall s | ms per lease | peak RSS MiB | destroyed | leases left |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    while read -r kind n secs rss dn left; do
        echo "| $kind | $n | $secs | $(awk -v s="$secs" -v n="$n" 'BEGIN {printf "%.1f", s * 1000 / n}') | $(fmt_mb "$rss") | $dn | $left |"
    done <"$T/sweep.dat"
    echo
    echo "![sweep scaling](sweep_scaling.png)"
    echo
    echo "## 4 and 5. The Lambda image: layers, a code change's push, cold start"
    echo
    echo "bench/image.sh: \`make image\` (packaging/image.sh), then the same from a copy of the"
    echo "tree with one string changed in provisioner/main.c; both pushed with \`make push\`"
    echo "(packaging/push.sh) to Debian's docker-registry on 127.0.0.1, whose storage growth is"
    echo "what each push uploaded.  Then bench/image_bench.py: the cold start of the image's entry"
    echo "point (the build function's settings) in the Lambda-like sandbox of the tests"
    echo "(tests/support/lambda_sandbox.py: setpriv to uid 993, bwrap, read-only root, 512 MB"
    echo "/tmp, Lambda's \`LD_LIBRARY_PATH\`), exec of the entry point (timed by bench/exec_stamp.c, bound into the sandbox) to"
    echo "the first \`GET .../invocation/next\` at bench/cold_start.py's stand-in Runtime API, and the"
    echo "entry point's VmHWM; against bench/cold_start_fn.py (boto3,"
    echo "paramiko, one Ed25519 key, then \`next\`) run by Debian's /usr/bin/python3 in the same"
    echo "sandbox over a Python-image layout with the same Terraform and provider in /opt.  $N_COLD"
    echo "runs each, alternating, after 3 warm-up runs each; the sandbox's own set-up before the"
    echo "exec is its own column.  What Lambda does before exec (pulling and caching the image,"
    echo "Firecracker) is not in it.  The stand-in notes \`next\` in a Python thread: on a loaded"
    echo "machine its wake-up latency adds the same milliseconds to both sides."
    echo
    cat "$T/res/image.md"
    echo
    echo "How the entry point is linked for this start, each way measured in the same sandbox,"
    echo "and where its remaining milliseconds go: bench/RESULTS-linking.md."
    echo
    echo "## 6. Purging an S3 prefix of $N_OBJECTS objects on s3rver"
    echo
    echo "bench/s3_purge.sh: s3rver (npm) on 127.0.0.1, two prefixes of $N_OBJECTS empty objects,"
    echo "100 to a \"directory\"; ours is jb_s3_purge_prefix through build/tools/s3_cli (list,"
    echo "DeleteObjects in batches of 1,000), the peer Debian's \`aws s3 rm --recursive\` ($(/usr/bin/aws --version 2>&1 | cut -d' ' -f1)),"
    echo "each under GNU time.  Both then list the prefix to count what is left."
    echo
    echo "| | objects | wall s | objects/s | peak RSS MiB | left over |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| ours: s3_cli purge | $N_OBJECTS | $s3o_s | $(awk -v n="$N_OBJECTS" -v s="$s3o_s" 'BEGIN {printf "%.0f", n / s}') | $(fmt_mb "$s3o_rss") | $s3o_left |"
    echo "| aws s3 rm --recursive | $N_OBJECTS | $s3a_s | $(awk -v n="$N_OBJECTS" -v s="$s3a_s" 'BEGIN {printf "%.0f", n / s}') | $(fmt_mb "$s3a_rss") | $s3a_left |"
    echo "| **aws / ours** | | $(ratio "$s3a_s" "$s3o_s")x | | $(ratio "$s3a_rss" "$s3o_rss")x | |"
    echo
    echo "## 7. SigV4 signing"
    echo
    echo "build/tools/sigv4_bench pinned to one core (taskset -c 0): 100,000 signatures, an S3"
    echo "PutObject of a lease and a Lambda Invoke alternately (canonical request, payload hash,"
    echo "string to sign, derived key, HMAC): **$sig_rate requests signed per second**."
} >"$OUT/RESULTS.md"
echo "bench: wrote $OUT/RESULTS.md and $OUT/sweep_scaling.png" >&2
