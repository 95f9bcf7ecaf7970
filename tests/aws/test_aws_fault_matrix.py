"""The aws rows of the fault matrix (tests/faults): the provisioner killed
at each stage, EC2 throttling and 500s from the fault layer in front of
moto, S3 refusing the state.  Whatever survives is swept; orphans are
counted in EC2 and S3 (instances, security groups, state objects) and in
leases, and must be 0."""
import json
import os
import signal
import subprocess
import time

import pytest

from support.jbtest import bin_path
from support.emulated_cloud import BUCKET, PREFIX
from support.matrix import MATRIX


def expire_lease(aws, stack):
    s3 = aws.cloud.client("s3")
    key = f"{PREFIX}/{stack}/lease.json"
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    lease["expires_at"] = "2020-01-01T00:00:00Z"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lease).encode())


def settle(aws, stage, fault, outcome):
    """Sweeps whatever lease survived, then counts what is left of ours."""
    survived = [lease["stack_id"] for lease in aws.leases()]
    if survived:
        for sid in survived:
            expire_lease(aws, sid)
        aws.sweep()
        outcome += f"; lease kept, swept ({len(survived)})"
    left = aws.cloud.leftovers() + [lease["stack_id"] for lease in aws.leases()]
    MATRIX.append(("aws " + stage, fault, outcome, len(left)))
    assert left == [], left
    # A provider killed with its create leaves its socket behind: it must be
    # in the stack's work dir, which the teardown removed.
    assert aws.sockets_left() == []


def popen_create(aws, stack, *args, **kw):
    return subprocess.Popen([bin_path("provisioner"), "create", "--module", "aws", "--ttl", "10m",
                             "--allow-cidr", "10.0.0.0/8", "--state", aws.state,
                             "--stack-id", stack, *args],
                            env=dict(aws.run_env()), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def kill_when(aws, p, what, cond):
    aws.wait_for(what, lambda: cond() or p.poll() is not None, timeout=300)
    assert p.poll() is None, "create ended before the fault: " + p.stderr.read()
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    # Terraform, told by PDEATHSIG, stops and saves its state: wait for it.
    aws.wait_for("terraform to exit", lambda: subprocess.run(
        ["pgrep", "-f", str(aws.work)], capture_output=True).returncode != 0, timeout=300)


def test_sigkill_mid_apply(aws):
    # Killed mid-apply: the group and its rules made, RunInstances refused
    # (throttled) and being retried, so no instance exists yet.  (A kill
    # with a RunInstances in flight: the next test.)
    aws.cloud.faults([{"service": "ec2", "action": "RunInstances", "status": 503,
                       "code": "RequestLimitExceeded", "times": 100000}])
    p = popen_create(aws, "k1")

    def run_instances_refused():
        return any(r["action"] == "RunInstances" and r["fired"] >= 1
                   for r in aws.cloud.fault_counts())
    kill_when(aws, p, "RunInstances to be refused", run_instances_refused)
    aws.cloud.faults([])
    assert aws.cloud.security_groups() and not aws.cloud.instances()
    assert [lease["stack_id"] for lease in aws.leases()] == ["k1"]
    settle(aws, "apply", "provisioner SIGKILLed mid-apply", "killed; lease left")


def test_sigkill_while_probing(aws):
    aws.standin.ignore.add("*")
    p = popen_create(aws, "k2", "--ready-timeout", "10m")
    kill_when(aws, p, "the instance", lambda: aws.cloud.instances())
    time.sleep(2)  # inside the probe by now or about to be; either way killed after apply
    assert [lease["stack_id"] for lease in aws.leases()] == ["k2"]
    settle(aws, "probe", "provisioner SIGKILLed while probing SSH", "killed; lease left")


def test_ec2_throttling_and_500s_are_retried(aws):
    aws.cloud.faults([
        {"service": "ec2", "action": "RunInstances", "status": 503,
         "code": "RequestLimitExceeded", "times": 2},
        {"service": "ec2", "action": "DescribeInstances", "status": 500,
         "code": "InternalError", "times": 2},
        {"service": "ec2", "action": "TerminateInstances", "status": 503,
         "code": "RequestLimitExceeded", "times": 1},
        {"service": "ec2", "action": "DeleteSecurityGroup", "status": 500,
         "code": "InternalError", "times": 1},
    ])
    aws.create("--stack-id", "t1")
    assert aws.destroy("t1")["result"] == "destroyed"
    fired = {r["action"]: r["fired"] for r in aws.cloud.fault_counts()}
    assert fired == {"RunInstances": 2, "DescribeInstances": 2, "TerminateInstances": 1,
                     "DeleteSecurityGroup": 1}, fired
    settle(aws, "apply", "EC2 throttles and answers 500 (then recovers)",
           "ok: retried, created and destroyed")


def test_ec2_failing_during_destroy_keeps_the_lease(aws):
    aws.create("--stack-id", "t2")
    aws.cloud.faults([{"service": "ec2", "action": "TerminateInstances", "status": 500,
                       "code": "InternalError"}])
    # The destroy's first step, terminating the instances tagged with the
    # stack, meets the 500 (AWS_MAX_ATTEMPTS times) and stops before
    # Terraform, which would meet it too (and retry on its own until the
    # cap on every Terraform command, JUMPBOX_TF_TIMEOUT).
    cp = aws.destroy("t2", check=1, env={"AWS_MAX_ATTEMPTS": "2", "JUMPBOX_TF_TIMEOUT": "90s"})
    (lease,) = aws.leases()
    assert lease["status"] == "failed"
    assert "TerminateInstances" in cp.stderr and "InternalError" in cp.stderr, cp.stderr
    assert "terraform destroy" not in cp.stderr, cp.stderr
    aws.cloud.faults([])
    settle(aws, "destroy", "EC2 answers 500 to TerminateInstances, always",
           "exit 1, lease kept (failed)")


def test_s3_refusing_the_state_mid_create(aws):
    # The lease is written; then S3 refuses every write of Terraform's state.
    key = f"PUT /{BUCKET}/{PREFIX}/s1/terraform.tfstate"
    aws.cloud.faults([{"service": "s3", "action": key, "status": 503, "code": "SlowDown"}])
    cp = aws.create("--stack-id", "s1", check=1,
                    env={"AWS_MAX_ATTEMPTS": "2", "JUMPBOX_TF_TIMEOUT": "120s"})
    assert "terraform apply failed" in cp.stderr, cp.stderr
    aws.cloud.faults([])
    settle(aws, "apply", "S3 answers 503 to every state write",
           "exit 1, " + ("rolled back" if "rolled back" in cp.stderr else "rollback blocked"))


@pytest.fixture(autouse=True)
def _matrix_needs_the_cloud(aws):
    yield



def kill_everything(aws, p):
    """SIGKILL for the create and every process it started (Terraform, its
    provider) at once, as Lambda's hard timeout ends a sandbox: all stopped
    first, so that none reacts to another's end (Terraform, told by
    PDEATHSIG, would otherwise wait for the answer and record the instance)."""
    def session():
        out = subprocess.run(["pgrep", "-s", str(p.pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    for sig in (signal.SIGSTOP, signal.SIGKILL, signal.SIGKILL):
        for pid in session():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    p.communicate(timeout=60)
    aws.wait_for("the killed processes to be reaped", lambda: session() == [], timeout=60)


def past_deadline(aws, stack):
    """The lease as it reads once the killed create's deadline has passed
    (seconds after a Lambda's timeout; a CLI create's is all its timeouts)."""
    s3 = aws.cloud.client("s3")
    key = f"{PREFIX}/{stack}/lease.json"
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert lease["status"] == "creating", lease
    lease["deadline"] = "2020-01-01T00:00:00Z"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lease).encode())


@pytest.mark.parametrize("then", ["destroy", "sweep"])
def test_whole_create_killed_with_run_instances_in_flight(aws, then):
    # RunInstances reaches EC2 (the instance is made) and its answer is held:
    # Terraform never hears of the instance, nor saves any state.
    aws.cloud.faults([{"service": "ec2", "action": "RunInstances", "hold": True}])
    p = popen_create(aws, "k3", start_new_session=True)
    aws.wait_for("the instance, its answer held", lambda: aws.cloud.instances() or
                 p.poll() is not None, timeout=300)
    assert p.poll() is None, "create ended before the fault: " + p.stderr.read()
    kill_everything(aws, p)
    aws.cloud.faults([])
    (iid,) = aws.cloud.instances()
    assert aws.cloud.security_groups()
    # Left behind: the lease and Terraform's lock, no state.
    assert {k.rsplit("/", 1)[1] for k, _ in aws.cloud.state_objects("k3")} == \
        {"lease.json", "terraform.tfstate.tflock"}
    past_deadline(aws, "k3")
    aws.cloud.settings(shutdown_seconds=3)   # terminating takes a while, as on AWS
    aws.cloud.calls(clear=True)
    if then == "destroy":
        assert aws.destroy("k3") == {"stack_id": "k3", "result": "destroyed"}
    else:
        assert aws.sweep()["stacks"] == [{"stack_id": "k3", "result": "destroyed"}]
    # The instance went first (its group could not go before), then the group.
    acts = [c["action"] for c in aws.cloud.calls() if c["service"] == "ec2" and
            c["action"] in ("TerminateInstances", "DeleteSecurityGroup") and c["status"] == 200]
    assert acts == ["TerminateInstances", "DeleteSecurityGroup"], acts
    settle(aws, "apply", "create + Terraform SIGKILLed, RunInstances in flight",
           f"{then} after the deadline: instance terminated by tag")
