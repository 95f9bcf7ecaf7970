#!/usr/bin/python3
"""Benchmark (not a test): what a slow credential_process costs a create.

IAM Roles Anywhere's signing helper, the backup VM's usual way to AWS
credentials on premises, takes hundreds of ms a run.  Here a stand-in
(tests/support/credential_process.py, mode "as") sleeps DELAY ms and counts
who ran it.  For each build given (--bin NAME=DIR; default: build/ as
"this"), alternating run by run: `provisioner create` of a local box with
its state in s3rver, then `cleaner destroy`, once with the process taking
0 ms and once 300 ms.  Reported: the wall time of each, the difference (the
credentials' cost), and how many times our own process ran the helper
(Terraform's runs, in its own processes, are counted apart).

    bench/creds_once.py [N] [--bin NAME=DIR ...]   (writes bench/RESULTS-creds.md)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.s3_servers import S3RVER_KEY, S3rver  # noqa: E402

PY = "/usr/bin/python3"
HELPER = ROOT / "tests" / "support" / "credential_process.py"
DELAYS = (0, 300)


def one(binary, s3, tmp, tag, delay):
    calls = tmp / f"calls-{tag}"
    calls.unlink(missing_ok=True)
    config = tmp / f"config-{tag}"
    config.write_text("[default]\ncredential_process = " + " ".join(
        [PY, str(HELPER), "as", str(calls), S3RVER_KEY, S3RVER_KEY, str(delay)]) + "\n")
    env = {k: v for k, v in s3.env(JUMPBOX_WORK_DIR=str(tmp / "work"),
                                   XDG_STATE_HOME=str(tmp / "xdg")).items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_CONFIG_FILE=str(config), PATH=os.environ["PATH"])
    state = "s3://state/bench-creds"
    times = []
    for argv in ([str(binary / "provisioner"), "create", "--state", state, "--ttl", "10m",
                  "--stack-id", tag],
                 [str(binary / "cleaner"), "destroy", "--state", state, "--stack-id", tag]):
        t0 = time.monotonic()
        cp = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        times.append(time.monotonic() - t0)
        if cp.returncode != 0:
            sys.exit(f"{argv[:2]} failed: {cp.stderr}")
    runs = [line.split(" ", 1)[1] for line in calls.read_text().splitlines()]
    ours = sum(1 for comm in runs if comm in ("provisioner", "cleaner"))
    return times[0], times[1], ours, len(runs) - ours


def main():
    args = sys.argv[1:]
    n = int(args.pop(0)) if args and args[0].isdigit() else 5
    bins = {}
    while args:
        flag = args.pop(0)
        if flag != "--bin" or not args:
            sys.exit(__doc__)
        name, _, d = args.pop(0).partition("=")
        bins[name] = Path(d).resolve()
    bins = bins or {"this": ROOT / "build"}
    with tempfile.TemporaryDirectory(prefix="jumpbox-bench-creds.") as t:
        tmp = Path(t)
        s3 = S3rver(tmp).start()
        results = {(b, d): [] for b in bins for d in DELAYS}
        try:
            for i in range(n):
                for b, d in [(b, d) for b in bins for d in DELAYS]:
                    results[(b, d)].append(one(bins[b], s3, tmp, f"c{i}-{b}-{d}", d))
        finally:
            s3.stop()
    load = open("/proc/loadavg").read().split()[:3]
    out = [f"# A slow credential_process and a create (bench/creds_once.py)\n",
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {n} runs each, alternating; "
           f"load average at the end {' '.join(load)}. A local box with its state in s3rver;"
           " the helper sleeps the delay, then answers.\n",
           "| build | helper delay | create (median s) | destroy (median s) | helper runs in our"
           " create + destroy | in Terraform's processes |", "|---|---|---|---|---|---|"]
    for b in bins:
        for d in DELAYS:
            r = results[(b, d)]
            out.append(f"| {b} | {d} ms | {statistics.median(x[0] for x in r):.2f} | "
                       f"{statistics.median(x[1] for x in r):.2f} | "
                       f"{statistics.median(x[2] for x in r):.0f} | "
                       f"{statistics.median(x[3] for x in r):.0f} |")
    for b in bins:
        cost = (statistics.median(x[0] + x[1] for x in results[(b, 300)]) -
                statistics.median(x[0] + x[1] for x in results[(b, 0)]))
        out.append(f"\n{b}: the 300 ms helper adds {cost:.2f} s to a create + destroy.")
    text = "\n".join(out) + "\n"
    print(text)
    (ROOT / "bench" / "RESULTS-creds.md").write_text(text)


if __name__ == "__main__":
    main()
