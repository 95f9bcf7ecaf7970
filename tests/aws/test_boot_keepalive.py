"""A booted box lives as long as its run keeps it alive (issue 27):
`provisioner run --keepalive` on terraform/aws on the emulated cloud, the
instance a Debian 13 container running real systemd and cloud-init from its
own user data (tests/support/ec2_boot.py, as test_boot.py).  The box follows
its run's heartbeats through the deadline object the provisioner writes, and
outlives three keep-alives while the run lasts.  Its own file, so that
pytest-xdist boots it on another worker beside test_boot.py's two."""
import json
import os
import re
import subprocess

from support.awsflow import CLEAN
from support.jbtest import bin_path


def test_a_booted_box_lives_as_long_as_its_run_keeps_it_alive(aws_boot, tmp_path):
    """`provisioner run --keepalive 20s -- sleep 60` on a booted box: the
    run's heartbeats move the deadline object on, the box's own poller
    (real systemd) re-arms its teardown timer each time, so the box stays
    up the whole minute -- three keep-alives -- without its timer firing;
    then run's teardown ends it and nothing is left."""
    aws = aws_boot
    aws.start_harness()
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"deadline_poll_seconds": 5}))
    job = ('sleep 60 && ssh -F "$JUMPBOX_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=10 '
           '"$JUMPBOX_HOST" true && echo still-there')
    p = subprocess.Popen(
        [bin_path("provisioner"), "run", "--module", "aws", "--ttl", "10m", "--keepalive", "20s",
         "--allow-cidr", "10.0.0.0/8", "--state", aws.state, "--stack-id", "kept", "--",
         "sh", "-c", job],
        env=dict(os.environ, **aws.as_build, XDG_RUNTIME_DIR=str(rt),
                 JUMPBOX_MODULE_VARS=str(vars_file)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    moves = []
    try:
        aws.wait_for("the box", lambda: p.poll() is not None or (
            any(l["status"] == "ready" for l in aws.leases())), timeout=900)
        box = aws.standin.box_for("kept")
        # The poller moves the teardown on with the heartbeats, for the
        # keep-alive, while COMMAND runs.
        def moved():
            moves[:] = re.findall(r"teardown at \S+ \(was \S+\): keepalive",
                                  box.journal("-u", "jumpbox-deadline.service"))
            return len(moves) >= 3 or p.poll() is not None
        aws.wait_for("the poller to follow three heartbeats", moved, timeout=300)
        out, err = p.communicate(timeout=900)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert len(moves) >= 3, moves
    assert out == "still-there\n", err
    assert "keep-alive heartbeat failed" not in err and "kept destroyed" in err
    # The box never asked the clean function itself: run ended it.
    assert aws.harness.functions[CLEAN].history == []
    assert aws.cloud.leftovers() == [] and aws.leases() == []
