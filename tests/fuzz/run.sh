#!/usr/bin/env bash
# Runs libFuzzer targets built by `make fuzz-build`.
#   run.sh smoke BIN...   every regression input, then a short run over the seed corpus
#   run.sh SECONDS BIN... every regression input, then SECONDS of fuzzing per target,
#                         growing build-fuzz/corpus/NAME across runs
# Crashes land in build-fuzz/artifacts/NAME/; copy one into
# tests/fuzz/regressions/NAME/ once the bug is fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=$1
shift
smoke_runs=${FUZZ_SMOKE_RUNS:-20000}
smoke_time=${FUZZ_SMOKE_TIME:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
for bin in "$@"; do
    name=$(basename "$bin")
    seeds=tests/fuzz/corpus/$name
    regs=tests/fuzz/regressions/$name
    arts=build-fuzz/artifacts/$name
    log=$tmp/$name.log
    mkdir -p "$arts" "$seeds"

    mapfile -t inputs < <(find "$regs" -type f 2>/dev/null | sort)
    if ((${#inputs[@]})) && ! "$bin" "${inputs[@]}" >"$log" 2>&1; then
        echo "FAIL $name: a regression input crashes again" >&2
        tail -n 40 "$log" >&2
        status=1
        continue
    fi

    if [ "$mode" = smoke ]; then
        # New inputs go to a scratch dir first, so the committed seeds stay as they are.
        mkdir -p "$tmp/corpus-$name"
        # A fixed seed: the test command must give the same answer every run;
        # `make fuzz` is where new ground is explored.
        args=(-seed=1 -runs="$smoke_runs" -max_total_time="$smoke_time" "$tmp/corpus-$name" "$seeds")
    else
        mkdir -p "build-fuzz/corpus/$name"
        args=(-max_total_time="$mode" "build-fuzz/corpus/$name" "$seeds")
    fi
    if "$bin" -artifact_prefix="$arts/" -print_final_stats=1 "${args[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "ok   $name: ${#inputs[@]} regression inputs, ${runs:-?} runs"
    else
        echo "FAIL $name: see the input in $arts/" >&2
        tail -n 40 "$log" >&2
        status=1
    fi
done
exit $status
