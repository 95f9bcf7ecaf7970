"""The build and clean functions run from the Lambda image, in the sandbox
(tests/support/lambda_sandbox.py: read-only root, only /tmp, uid 993, no
HOME), against the emulated cloud (moto + the EC2 instance stand-in, in this
suite's network namespace): a build event makes a jump box whose sealed key
opens and logs in with the real ssh, a clean event with the token destroys
it, a sweep event sweeps an expired one -- nothing left in EC2 or S3."""
import json
import os
import threading
import time

from support.emulated_cloud import BUCKET, PREFIX, REGION, STATE_URL
from support.image_util import lambda_image  # noqa: F401
from support.jbtest import bin_path, run_json
from support.lambda_harness import LambdaHarness
from support.lambda_sandbox import children, gone, sandboxed_pids, tmp_used, tree_listing
from support.lambda_util import boto_lambda, invoke

BUILD, CLEAN = "jumpbox-build", "jumpbox-clean"


class TmpPeak:
    """Peak use of the sandbox's /tmp while a create runs, and the symlinks
    Terraform made there (seen from outside through /proc/PID/root)."""

    def __init__(self, fn):
        self.fn, self.peak, self.links = fn, 0, {}
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                pid = self.fn.proc.pid
                self.peak = max(self.peak, tmp_used(pid) or 0)
                top = f"/proc/{children(pid)[0]}/root/tmp/jumpbox"
                for dirpath, dirnames, filenames in os.walk(top):
                    for n in dirnames + filenames:
                        p = os.path.join(dirpath, n)
                        if os.path.islink(p):
                            self.links[os.path.relpath(p, top)] = os.readlink(p)
            except (OSError, IndexError, AttributeError):
                pass
            time.sleep(0.05)

    def done(self):
        self.stop.set()
        self.t.join()
        return self.peak


def sandboxed_functions(aws, img, tmp):
    """The harness with both functions from the image; the cloud's endpoint
    and keys stand in for Lambda's network and execution role."""
    u = img.unpacked
    h = LambdaHarness(str(tmp), region=REGION).start()
    cloud = aws.cloud.env()
    common = {k: v for k, v in cloud.items()
              if k.startswith("AWS_") and k not in ("AWS_CONFIG_FILE",
                                                    "AWS_SHARED_CREDENTIALS_FILE")}
    common["JUMPBOX_STATE"] = STATE_URL
    # The control plane sets the box role's id on the build function.
    build = dict(common, JUMPBOX_MODULE="aws", JUMPBOX_MAX_TTL="30m",
                 JUMPBOX_ALLOWED_CIDRS="10.0.0.0/8, 172.16.0.0/12",
                 JUMPBOX_BOX_ROLE_ID=cloud["JUMPBOX_BOX_ROLE_ID"])
    h.add_function(BUILD, u.argv(), u.lambda_env(BUILD, build), timeout_s=300)
    h.add_function(CLEAN, u.argv(entry_point=["/var/task/bin/cleaner"]),
                   u.lambda_env(CLEAN, common), timeout_s=300)
    aws.harness = h   # AwsEnv.close() stops it
    aws.standin.set_lambda(h.client_env(), add_key=h.add_key)
    return h


def test_build_ssh_clean_and_sweep_through_the_image(aws, lambda_image, tmp_path):
    before = tree_listing(lambda_image.unpacked.rootfs)
    h = sandboxed_functions(aws, lambda_image, tmp_path)
    cenv = h.client_env()
    out = tmp_path / "out"

    # Cold start with a bad event first, so the sampler sees the whole create.
    body = json.loads(invoke(boto_lambda(h), BUILD, b"{}")[0])
    assert body["errorType"] == "jumpbox.InvalidRequest"
    peak = TmpPeak(h.functions[BUILD])
    res = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                    "--allow-cidr", "10.0.0.0/8", "--requester", "backup-vm@dc1",
                    "--out", str(out)], env=cenv, timeout=600)
    used = peak.done()
    sid = res["stack_id"]
    (box,) = aws.standin.boxes.values()
    assert res["host"] == box.ip
    answer = h.functions[BUILD].history[-1]["body"].decode()
    assert "PRIVATE KEY" not in answer and "sealed_private_key" in json.loads(answer)
    ssh = aws.ssh(out, sid, "echo", "on-the-box")
    assert ssh.returncode == 0 and ssh.stdout == "", ssh      # logged in; a jump box runs nothing
    print(f"/tmp peak during a create in the image: {used} bytes; links: {peak.links}")
    assert 0 < used < 32 << 20, used
    assert any(t.startswith("/opt/terraform/plugins/") for t in peak.links.values()), peak.links

    done = run_json([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id", sid,
                     "--out", str(out)], env=cenv, timeout=600)
    assert done == {"stack_id": sid, "result": "destroyed"}
    assert aws.cloud.leftovers() == []

    # A second box whose lease has expired: a sweep event takes it down.
    res = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                    "--allow-cidr", "10.0.0.0/8", "--out", str(tmp_path / "out2")],
                   env=cenv, timeout=600)
    s3 = aws.cloud.client("s3")
    key = f"{PREFIX}/{res['stack_id']}/lease.json"
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    lease["expires_at"] = "2001-01-01T00:00:00Z"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lease).encode())
    swept = json.loads(invoke(boto_lambda(h), CLEAN, b'{"action":"sweep"}')[0])
    assert swept["stacks"] == [{"stack_id": res["stack_id"], "result": "destroyed"}], swept
    assert aws.cloud.leftovers() == []
    # One runtime process per function served every event.
    for name in (BUILD, CLEAN):
        assert len({x["pid"] for x in h.functions[name].history}) == 1, name
    pids = [p for fn in h.functions.values() for p in [fn.proc.pid] + sandboxed_pids(fn.proc.pid)]
    h.stop()
    assert gone(pids) == []
    assert tree_listing(lambda_image.unpacked.rootfs) == before
