#!/usr/bin/python3
"""Benchmark (not a test): the aws module on the emulated cloud.

Ours: `provisioner create --module aws` to ready, then `cleaner destroy`.
Peer: bare `terraform init` + `apply` + `destroy` of terraform/aws with the
same inputs (same keys, same S3 backend bucket, secrets in a 0600 var file),
alternating run by run in the same namespace, against the same moto and the
same EC2 instance stand-in (tests/support/ec2_standin.py).  Where our seconds go comes
from our progress lines (keys+lease, init, apply, output, probe).

    bench/aws_create.py [N]      (release binaries from build/; writes
                                  bench/RESULTS-aws.md)

Runs inside a network namespace of its own, like the tests: moto's private
addresses never reach a real network.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tests' support package (tests/support), as pytest.ini gives it to the tests.
sys.path.insert(0, str(ROOT / "tests"))

from support import netns  # noqa: E402

netns.enter_private_netns()

from support.ec2_standin import InstanceStandIn  # noqa: E402
from support.emulated_cloud import BUCKET, STATE_URL, EmulatedCloud  # noqa: E402
from support import tf_offline  # noqa: E402

BIN = ROOT / "build"
STAGE_RE = re.compile(r"^provisioner: \[\s*([0-9.]+)s\] ([a-z ]+?)(?::|$)", re.M)


def ours(cloud, tmp, i):
    env = dict(os.environ, **cloud.env(JUMPBOX_WORK_DIR=str(tmp / "work"),
                                       XDG_STATE_HOME=str(tmp / "xdg")))
    sid = f"bench-{i}"
    t0 = time.monotonic()
    cp = subprocess.run([str(BIN / "provisioner"), "create", "--module", "aws", "--ttl", "30m",
                         "--allow-cidr", "10.0.0.0/8", "--state", STATE_URL, "--stack-id", sid],
                        env=env, capture_output=True, text=True, check=True)
    t1 = time.monotonic()
    subprocess.run([str(BIN / "cleaner"), "destroy", "--stack-id", sid, "--state", STATE_URL],
                   env=env, capture_output=True, text=True, check=True)
    t2 = time.monotonic()
    marks = [(float(s), name) for s, name in STAGE_RE.findall(cp.stderr)]
    stages = {}
    for (s, name), nxt in zip(marks, marks[1:] + [(t1 - t0, "end")]):
        stages[name] = stages.get(name, 0.0) + nxt[0] - s
    return t1 - t0, t2 - t1, stages, json.loads(cp.stdout)


def bare(cloud, tmp, i, inputs):
    d = tmp / f"bare-{i}"
    d.mkdir()
    src = os.path.relpath(ROOT / "terraform" / "aws", d)
    args = "\n".join(f"  {k} = {json.dumps(v)}" for k, v in inputs.items())
    (d / "main.tf").write_text(f"""terraform {{
  backend "s3" {{
    bucket                      = "{BUCKET}"
    key                         = "bare/{i}/terraform.tfstate"
    region                      = "{cloud.env()['AWS_REGION']}"
    use_lockfile                = true
    encrypt                     = true
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    skip_s3_checksum            = true
    endpoints = {{ s3 = "{cloud.endpoint}" }}
  }}
}}
module "box" {{
  source = "{src}"
{args}
}}
""")
    env = dict(os.environ, **cloud.env(TF_DATA_DIR=str(d / ".terraform"), TF_IN_AUTOMATION="1",
                                       CHECKPOINT_DISABLE="1"))
    tf = tf_offline.terraform_bin()

    def step(*a):
        subprocess.run([tf, f"-chdir={d}", *a, "-input=false", "-no-color"], env=env,
                       capture_output=True, text=True, check=True)
    t0 = time.monotonic()
    step("init", f"-plugin-dir={env['JUMPBOX_TF_PLUGIN_DIR']}")
    t1 = time.monotonic()
    step("apply", "-auto-approve")
    t2 = time.monotonic()
    step("destroy", "-auto-approve")
    t3 = time.monotonic()
    shutil.rmtree(d)
    return t2 - t0, t3 - t2, {"init": t1 - t0, "apply": t2 - t1}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tmp = Path(tempfile.mkdtemp(prefix="jumpbox-bench-aws."))
    cloud = EmulatedCloud(tmp / "cloud").start()
    standin = InstanceStandIn(cloud, tmp / "instances").start()
    standin.timers = False
    try:
        keys = {}
        for k in ("user",):
            out = subprocess.run([str(BIN / "provisioner"), "keygen", "--out", str(tmp / k)],
                                 capture_output=True, text=True, check=True).stdout
            keys[k] = json.loads(out)["public_key"]
        rows_o, rows_b = [], []
        for i in range(n):
            print(f"bench-aws: run {i + 1}/{n}", file=sys.stderr)
            rows_o.append(ours(cloud, tmp, i))
            inputs = {"stack_id": f"bare-{i}", "requester": "bench", "public_key": keys["user"],
                      "box_role_id": cloud.box_role_id, "allow_cidr": "10.0.0.0/8",
                      "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                  time.gmtime(time.time() + 1800)),
                      "state_url": STATE_URL}
            rows_b.append(bare(cloud, tmp, i, inputs))
        write(n, rows_o, rows_b)
    finally:
        standin.stop()
        cloud.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def write(n, rows_o, rows_b):
    def med(xs):
        return statistics.median(xs)
    oc, od = med([r[0] for r in rows_o]), med([r[1] for r in rows_o])
    bc, bd = med([r[0] for r in rows_b]), med([r[1] for r in rows_b])
    stage_names = []
    for r in rows_o:
        stage_names += [s for s in r[2] if s not in stage_names]
    load = os.getloadavg()[0]
    lines = [
        "# The aws module on the emulated cloud (bench/aws_create.py)",
        "",
        f"{n} runs each, alternating, medians; load average at the end {load:.1f} on "
        f"{os.cpu_count()} CPUs.  moto and the EC2 stand-in are test fixtures: these are "
        "our costs and Terraform's, not EC2's (a real RunInstances to SSH is a minute).",
        "",
        "| | ours | bare terraform | ratio |",
        "|---|---|---|---|",
        f"| create (ours: to ready, SSH answered with the pinned key; bare: init + apply) "
        f"| {oc:.1f} s | {bc:.1f} s | {oc / bc:.2f}x |",
        f"| destroy (ours: destroy + purge of the stack's S3 prefix, no second init in the "
        "work dir its create initialised; bare: destroy) "
        f"| {od:.1f} s | {bd:.1f} s | {od / bd:.2f}x |",
        "",
        "Where our create's seconds go (median per stage):",
        "",
        "| stage | seconds |",
        "|---|---|",
    ]
    for s in stage_names:
        lines.append(f"| {s} | {med([r[2].get(s, 0.0) for r in rows_o]):.2f} |")
    lines += ["", "Bare: init {:.2f} s, apply {:.2f} s (medians).".format(
        med([r[2]['init'] for r in rows_b]), med([r[2]['apply'] for r in rows_b])), ""]
    out = Path(os.environ.get("BENCH_OUT", ROOT / "bench")) / "RESULTS-aws.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
