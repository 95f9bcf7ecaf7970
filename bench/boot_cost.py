#!/usr/bin/python3
"""Benchmark (not a test): what our user data costs a booting box.

In the booted stand-in's root (tests/support/boot_root.py: Debian 13 with
the package set of Debian's EC2 image), time from starting the container to
sshd answering with an ed25519 host key (made on the box by cloud-init,
issue 24), for

  ours     userdata/ rendered by Terraform (tests/support/tf_offline.py, as
           tests/integration/test_userdata.py renders it); its publish
           (runcmd) finds no IMDS here and fails, after sshd answers
  minimal  one user with one authorized key, and the same one ed25519 host
           key (ssh_genkeytypes), so that both end at the same answer

alternating run by run, N each.  Each run boots the cached root the way
tests/support/ec2_boot.py does (boot_nspawn.py, systemd-nspawn
--volatile=overlay, a NoCloud seed, a veth into this process's network
namespace), without the emulated cloud around it: nothing here needs EC2.
"Answering" is the first `ssh-keyscan -t ed25519` that returns an ed25519
key, polled every 0.1 s.  Then, from inside the box, cloud-init's own
timings (`cloud-init analyze show` and `blame`, once `cloud-init status
--wait` says it is done) say where the seconds went.

    bench/boot_cost.py [N]       (N = 5; needs root and the built boot root:
                                  make boot-root; writes bench/RESULTS-boot.md)

Runs inside a network namespace of its own, like the tests: the boxes'
addresses never reach a real network.
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import netns  # noqa: E402

netns.enter_private_netns()

from support import boot_root, tf_offline  # noqa: E402
from support.ec2_boot import SEED, nspawn_path, remove_cgroups  # noqa: E402

IP, GATEWAY, PREFIX = "10.77.0.10", "10.77.0.1", 24
TIMEOUT_S = 180
BLAME_RE = re.compile(r"^\s*([0-9.]+)s \(([^)]+)\)\s*$", re.M)
STAGE_RE = re.compile(r"^Finished stage: \(([a-z-]+)\) ([0-9.]+) seconds", re.M)
TOTAL_RE = re.compile(r"^Total Time: ([0-9.]+) seconds", re.M)
# The units on the way to sshd, in boot order: when each became active,
# from systemd's own CLOCK_MONOTONIC stamps, which the container shares with
# this process (no time namespace), so they compare with the start directly.
MILESTONES = ("cloud-init-main.service", "cloud-init-local.service",
              "systemd-networkd.service", "systemd-networkd-wait-online.service",
              "cloud-init-network.service", "ssh.service", "cloud-config.service",
              "cloud-final.service")


def minimal_user_data(facts):
    doc = {"ssh_deletekeys": True, "ssh_genkeytypes": ["ed25519"],
           "users": [{"name": "jump", "ssh_authorized_keys": [facts["public_key"]]}]}
    return "#cloud-config\n" + yaml.safe_dump(doc)


def boot(root, work, name, user_data, pinned):
    """Boots one box; returns (seconds to the pinned key, cloud-init's
    analyze show and blame, seconds to cloud-init done)."""
    d = work / name
    seed = d / "seed"
    seed.mkdir(parents=True)
    (seed / "user-data").write_text(user_data)
    (seed / "meta-data").write_text(json.dumps({"instance-id": "i-" + name,
                                                "local-hostname": "ip-10-77-0-10"}) + "\n")
    (seed / "network-config").write_text(json.dumps({
        "version": 2, "ethernets": {"host0": {
            "addresses": [f"{IP}/{PREFIX}"],
            "routes": [{"to": "0.0.0.0/0", "via": GATEWAY, "on-link": True}]}}}) + "\n")
    veth = "ve-" + name
    argv = [sys.executable, str(ROOT / "tests/support/boot_nspawn.py"), name, nspawn_path(),
            "--register=no", "--keep-unit", "--boot", "--quiet", f"--directory={root}",
            "--volatile=overlay", f"--machine={name}", "--network-veth",
            "--system-call-filter=bpf", f"--bind-ro={seed}:{SEED}", "--link-journal=no",
            "--resolv-conf=off", "--timezone=off", "--console=read-only"]
    netns.own_links.add(veth)
    console = open(d / "console.log", "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    console.close()
    try:
        while veth not in netns.links():
            if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT_S:
                raise RuntimeError(f"{name}: no {veth}; see {d}/console.log")
            time.sleep(0.02)
        for a in (["addr", "add", f"{GATEWAY}/32", "dev", veth], ["link", "set", veth, "up"],
                  ["route", "add", f"{IP}/32", "dev", veth]):
            subprocess.run(["ip", *a], check=True, capture_output=True)
        while True:
            ks = subprocess.run(["ssh-keyscan", "-T", "1", "-t", "ed25519", IP],
                                capture_output=True, text=True)
            if pinned in ks.stdout:
                ready = time.monotonic() - t0
                break
            if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT_S:
                raise RuntimeError(f"{name}: sshd never answered with the pinned key")
            time.sleep(0.1)
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            (pid1,) = f.read().split()

        def inside(*cmd):
            return subprocess.run(["nsenter", "-t", pid1, "-m", "-u", "-i", "-n", "-p", "-C",
                                   "--", *cmd], capture_output=True, text=True, timeout=300,
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                       "LANG": "C.UTF-8"})
        st = inside("cloud-init", "status", "--wait", "--long")
        done = time.monotonic() - t0
        if "status: done" not in st.stdout:
            raise RuntimeError(f"{name}: cloud-init: {st.stdout}{st.stderr}")
        show = inside("cloud-init", "analyze", "show").stdout
        blame = inside("cloud-init", "analyze", "blame").stdout
        chain = inside("systemd-analyze", "critical-chain", "ssh.service").stdout
        shown = inside("systemctl", "show", "-p", "Id", "-p", "ActiveEnterTimestampMonotonic",
                       *MILESTONES).stdout
        marks = {}
        for block in shown.strip().split("\n\n"):
            kv = dict(line.split("=", 1) for line in block.splitlines())
            if int(kv.get("ActiveEnterTimestampMonotonic") or 0):
                marks[kv["Id"]] = int(kv["ActiveEnterTimestampMonotonic"]) / 1e6 - t0
        return ready, done, show, blame, chain, marks
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        netns.own_links.discard(veth)
        remove_cgroups(name)


def parse(show, blame):
    stages = {k: float(v) for k, v in STAGE_RE.findall(show)}
    total = TOTAL_RE.search(show)
    stages["total"] = float(total.group(1)) if total else float("nan")
    # A module runs in one stage: blame lists each once per boot.
    mods = {}
    for secs, what in BLAME_RE.findall(blame):
        mods[what] = mods.get(what, 0.0) + float(secs)
    return stages, mods


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return f"{min(xs):.2f}–{max(xs):.2f}"


def write(n, runs, load0, load1, out):
    kinds = ("ours", "minimal")
    ready = {k: [r["ready"] for r in runs[k]] for k in kinds}
    done = {k: [r["done"] for r in runs[k]] for k in kinds}
    lines = [
        "# A booting box: our user data against a minimal one (bench/boot_cost.py)",
        "",
        f"{n} runs each, alternating, in the booted stand-in's root "
        f"(`{boot_root.root_path().name}`: Debian {boot_root.SUITE}, the package set of "
        "Debian's EC2 image, tests/support/boot_root.py) with systemd-nspawn on this "
        f"machine; load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end "
        f"on {os.cpu_count()} CPUs.  A container, not EC2: no kernel boot, no EBS, no "
        "IMDS; what is measured is what cloud-init and systemd do with the user data.",
        "",
        "| | ours | minimal | ours − minimal |",
        "|---|---|---|---|",
        f"| start → sshd answers with the pinned key (median) | {med(ready['ours']):.2f} s | "
        f"{med(ready['minimal']):.2f} s | {med(ready['ours']) - med(ready['minimal']):+.2f} s |",
        f"| … min–max | {spread(ready['ours'])} s | {spread(ready['minimal'])} s | |",
        f"| start → cloud-init done (median) | {med(done['ours']):.2f} s | "
        f"{med(done['minimal']):.2f} s | {med(done['ours']) - med(done['minimal']):+.2f} s |",
        "",
        "Cloud-init's own timings (`cloud-init analyze show`), median seconds per stage:",
        "",
        "| stage | ours | minimal | ours − minimal |",
        "|---|---|---|---|",
    ]
    stages = sorted({s for k in kinds for r in runs[k] for s in r["stages"]},
                    key=lambda s: (s == "total", s))
    for s in stages:
        o = med([r["stages"].get(s, 0.0) for r in runs["ours"]])
        m = med([r["stages"].get(s, 0.0) for r in runs["minimal"]])
        lines.append(f"| {s} | {o:.3f} | {m:.3f} | {o - m:+.3f} |")
    lines += ["", "When each unit on the way to sshd became active, median seconds after "
              "the start (systemd's monotonic stamps, which the container shares with "
              "the bench):", "", "| unit | ours | minimal | ours − minimal |",
              "|---|---|---|---|"]
    for u in MILESTONES:
        o = [r["marks"][u] for r in runs["ours"] if u in r["marks"]]
        mi = [r["marks"][u] for r in runs["minimal"] if u in r["marks"]]
        if o and mi:
            lines.append(f"| {u} | {med(o):.2f} | {med(mi):.2f} | {med(o) - med(mi):+.2f} |")
    lines += ["", "Each run, seconds after the start (ready = sshd answered with the pinned "
              "key):", "", "| run | kind | ready | cloud-init done | "
              "networkd-wait-online took |", "|---|---|---|---|---|"]
    for k in kinds:
        for i, r in enumerate(runs[k]):
            m = r["marks"]
            wait = m.get("systemd-networkd-wait-online.service", float("nan")) - \
                m.get("systemd-networkd.service", float("nan"))
            lines.append(f"| {i + 1} | {k} | {r['ready']:.2f} | {r['done']:.2f} | {wait:.2f} |")
    lines += ["", "Modules (`cloud-init analyze blame`) whose medians differ by 10 ms or more, "
              "largest difference first:", "", "| module | ours | minimal | ours − minimal |",
              "|---|---|---|---|"]
    mods = {m for k in kinds for r in runs[k] for m in r["mods"]}
    rows = []
    for m in mods:
        o = med([r["mods"].get(m, 0.0) for r in runs["ours"]])
        mi = med([r["mods"].get(m, 0.0) for r in runs["minimal"]])
        if abs(o - mi) >= 0.01:
            rows.append((o - mi, m, o, mi))
    for diff, m, o, mi in sorted(rows, reverse=True):
        lines.append(f"| {m} | {o:.3f} | {mi:.3f} | {diff:+.3f} |")
    lines += ["", "systemd's critical chain to ssh.service, last run of each "
              "(`systemd-analyze critical-chain ssh.service`, inside the box):", ""]
    for k in kinds:
        lines += [f"{k}:", "", "```", runs[k][-1]["chain"].strip(), "```", ""]
    out.write_text("\n".join(lines))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = boot_root.built()
    if root is None:
        sys.exit(f"no boot root at {boot_root.root_path()}: run `make boot-root`")
    out = Path(os.environ.get("BENCH_OUT", ROOT / "bench")) / "RESULTS-boot.md"
    work = Path(tempfile.mkdtemp(prefix="jumpbox-bench-boot."))
    try:
        facts = tf_offline.box_inputs(work)
        facts["expires_at"] = "2030-01-02T03:04:05Z"    # no timer fires during a run
        texts = {"ours": tf_offline.render_userdata(work, facts),
                 "minimal": minimal_user_data(facts)}
        # The box makes its own key (issue 24): any ed25519 key answers.
        pinned = "ssh-ed25519 "
        load0 = os.getloadavg()
        runs = {"ours": [], "minimal": []}
        tag = f"{os.getpid() % 0x10000:04x}"
        for i in range(n):
            order = ("ours", "minimal") if i % 2 == 0 else ("minimal", "ours")
            for k in order:
                name = f"jbb{tag}{k[0]}{i}"
                ready, done, show, blame, chain, marks = boot(root, work, name, texts[k],
                                                              pinned)
                stages, mods = parse(show, blame)
                runs[k].append({"ready": ready, "done": done, "stages": stages, "mods": mods,
                                "chain": chain, "marks": marks})
                print(f"bench-boot: run {i + 1}/{n} {k}: sshd {ready:.2f} s, "
                      f"cloud-init done {done:.2f} s", file=sys.stderr, flush=True)
        write(n, runs, load0, os.getloadavg(), out)
        print(out.read_text())
    finally:
        subprocess.run(["rm", "-rf", "--", str(work)], check=False)


if __name__ == "__main__":
    main()
