"""How long an aws box lives, end to end on the emulated cloud: the
provisioner writes the box's deadline object (deadline.h), the EC2 stand-in
runs the user data's own jumpbox-deadline on the box's timer and plays what
it arms (tests/support/ec2_standin.py), and the box's teardown reaches the
clean function.  The booted box's half is in test_boot.py."""
import calendar
import json
import subprocess
import sys
import time

from support.awsflow import CLEAN
from support.emulated_cloud import BUCKET, PREFIX
from support.jbtest import bin_path, run, run_json

PY = sys.executable
POLL = {"deadline_poll_seconds": 5}


def vars_file(tmp_path, **module_vars):
    f = tmp_path / "module-vars.json"
    f.write_text(json.dumps(module_vars))
    return str(f)


def deadline_object(aws, box):
    key = f"{PREFIX}/deadlines/{aws.cloud.box_role_id}:{box.instance_id}.json"
    s3 = aws.cloud.client("s3")
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def records(aws, sid):
    cp = run([bin_path("provisioner"), "audit", "--state", aws.state, "--stack-id", sid],
             env=aws.cli, check=0)
    return [json.loads(l) for l in cp.stdout.splitlines()]


def test_a_killed_aws_run_ends_at_its_keepalive(aws, tmp_path):
    """`run --keepalive 20s` SIGKILLed: no heartbeat, no teardown from run.
    The box's poller reads alive_until from its deadline object, the box's
    teardown asks the clean function (reason keepalive), and nothing is left
    in EC2 or S3 within the keep-alive and a grace, long before the TTL."""
    aws.start_harness()
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    started = tmp_path / "started"
    p = subprocess.Popen(
        [bin_path("provisioner"), "run", "--module", "aws", "--ttl", "10m", "--keepalive", "20s",
         "--allow-cidr", "10.0.0.0/8", "--state", aws.state, "--stack-id", "ka-orphan", "--",
         PY, "-c", "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(600)",
         str(started)],
        env=aws.run_env(XDG_RUNTIME_DIR=str(rt), JUMPBOX_MODULE_VARS=vars_file(tmp_path, **POLL)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        aws.wait_for("COMMAND to start", lambda: started.exists() or p.poll() is not None,
                     timeout=600)
        assert p.poll() is None, p.communicate()
        box = aws.standin.box_for("ka-orphan")
        (lease,) = aws.leases()
        obj = deadline_object(aws, box)
        assert obj["stack_id"] == "ka-orphan" and obj["expires_at"] == lease["expires_at"]
        assert "alive_until" in obj and lease["keepalive_s"] == 20
    finally:
        p.kill()
        p.communicate(timeout=60)
    killed = time.monotonic()
    try:
        aws.wait_for("the box's keep-alive to end it",
                     lambda: aws.leases() == [] and aws.cloud.leftovers() == [], timeout=20 + 300)
    except AssertionError:
        last = box.deadline_runs[-1] if box.deadline_runs else None
        raise AssertionError(f"leases {aws.leases()}, left {aws.cloud.leftovers()}, "
                             f"errors {aws.standin.errors}, polls {len(box.deadline_runs)}, "
                             f"last {last}, teardowns {box.teardown_runs}")
    # Within the keep-alive and a grace (the poll, the destroy on a busy
    # machine), before the 10-minute TTL would have ended it.
    assert time.monotonic() - killed < 20 + 300 < 600
    (run_,) = box.teardown_runs
    assert run_.returncode == 0, run_.stderr
    aws.destroy_records("ka-orphan")
    (destroy,) = [r for r in records(aws, "ka-orphan") if r["event"] == "destroy"]
    assert destroy["reason"] == "keepalive" and destroy["ended_by"] == "keepalive", destroy
    assert destroy["by"]["via"] == "clean-function" and destroy["result"] == "destroyed"
    assert json.loads(aws.harness.functions[CLEAN].history[-1]["event"])["reason"] == "keepalive"
    subprocess.run(["pkill", "-f", str(started)], check=False)


def test_an_aws_box_holds_while_its_run_heartbeats(aws, tmp_path):
    """`run --keepalive 20s` with a COMMAND of 45 s: the heartbeats move the
    deadline object on, the box's timer never fires, and the last login
    (past two keep-alives) still gets in; run's teardown leaves nothing."""
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    job = ('sleep 45 && ssh -F "$JUMPBOX_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=10 '
           '"$JUMPBOX_HOST" true && echo still-there')
    cp = run([bin_path("provisioner"), "run", "--module", "aws", "--ttl", "10m",
              "--keepalive", "20s", "--allow-cidr", "10.0.0.0/8", "--state", aws.state,
              "--stack-id", "ka-held", "--", "sh", "-c", job],
             env=dict(aws.as_build, XDG_RUNTIME_DIR=str(rt),
                      JUMPBOX_MODULE_VARS=vars_file(tmp_path, **POLL)),
             check=0, timeout=900)
    assert cp.stdout == "still-there\n", cp.stderr
    assert "keep-alive heartbeat failed" not in cp.stderr
    assert "ka-held destroyed" in cp.stderr
    assert aws.cloud.leftovers() == [] and aws.leases() == []
    (destroy,) = [r for r in records(aws, "ka-held") if r["event"] == "destroy"]
    assert destroy["reason"] == "run-ended" and "ended_by" not in destroy, destroy


def test_extend_moves_the_aws_box_s_timer(aws, tmp_path):
    """`provisioner extend`: the lease, the deadline object, and the box's
    own teardown timer (re-armed by its poller) follow; the cap holds."""
    res = aws.create("--stack-id", "ka-ext", ttl="2m", module_vars=POLL,
                     env={"JUMPBOX_MAX_TTL": "20m"})
    box = aws.standin.box_for("ka-ext")
    first = box.teardown_at
    moved = run_json([bin_path("provisioner"), "extend", "--stack-id", "ka-ext", "--ttl", "15m",
                      "--state", aws.state], env=aws.as_build)
    assert moved["previous_expires_at"] == res["expires_at"]
    obj = deadline_object(aws, box)
    assert obj == {"stack_id": "ka-ext", "expires_at": moved["expires_at"]}
    box.poll_now()
    want = calendar.timegm(time.strptime(moved["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert box.teardown_at == want and box.teardown_at > first
    # The cap (20m from creation) holds: refused, nothing moves.
    cp = run([bin_path("provisioner"), "extend", "--stack-id", "ka-ext", "--ttl", "30m",
              "--state", aws.state], env=aws.as_build, check=2)
    assert "past its cap" in cp.stderr
    assert deadline_object(aws, box) == obj
    assert aws.destroy("ka-ext") == {"stack_id": "ka-ext", "result": "destroyed"}
    assert aws.cloud.leftovers() == []
