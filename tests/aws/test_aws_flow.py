"""terraform/aws end to end on the emulated cloud: create, ssh through the
written files, and the three ways down -- each leaving nothing in EC2 or S3."""
import datetime
import hashlib
import json
import re

import yaml

from support.awsflow import plan_changes
from support.forwarding import Echo, assert_jump_only
from support.jbtest import bin_path, run
from support.ec2_standin import write_files
from support.emulated_cloud import BUCKET, PREFIX, STATE_URL
from support.moto_cloud import DEBIAN_AMIS


def test_create_ssh_destroy_leaves_nothing(aws, tmp_path):
    out = tmp_path / "out"
    res = aws.create("--out", str(out), "--requester", "backup-vm@dc1")
    sid = res["stack_id"]
    assert res["module"] == "aws" and res["instance_id"].startswith("i-")
    # The module's default image: Debian 13's latest arm64 release, as its
    # public SSM parameter names it, on a Graviton type.
    (inst,) = aws.cloud.client("ec2").describe_instances(
        InstanceIds=[res["instance_id"]])["Reservations"][0]["Instances"]
    assert (inst["ImageId"], inst["InstanceType"]) == (DEBIAN_AMIS["arm64"][0], "t4g.nano")
    (box,) = aws.standin.boxes.values()
    assert res["host"] == box.ip and res["user"] == "jump"
    assert box.publish_runs and box.publish_runs[0].returncode == 0, box.publish_runs
    assert box.host_public_key.split()[:2] == res["host_public_key"].split()[:2]
    # The probe and ssh both insisted on the key the box made and published
    # under its own prefix, boxes/ROLE_ID:INSTANCE_ID/ (aws:userid) ...
    s3 = aws.cloud.client("s3")
    at = f"{PREFIX}/boxes/{aws.cloud.box_role_id}:{res['instance_id']}/"
    published = s3.get_object(Bucket=BUCKET, Key=at + "host_key.pub")["Body"].read().decode()
    assert published.split()[:2] == res["host_public_key"].split()[:2]
    # ... and the SHA-256 of the box's own teardown token is the lease's.
    box_hash = s3.get_object(Bucket=BUCKET, Key=at + "teardown-token.sha256")["Body"].read()
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{sid}/lease.json")["Body"].read())
    assert lease["box_token_hash"] == box_hash.decode() != lease["token_hash"]
    # The user data, read back as anyone with DescribeInstanceAttribute reads
    # it (and unpacked as cloud-init unpacks it), holds no private key and no
    # token.
    user_data = aws.cloud.user_data(res["instance_id"])
    token = (out / "teardown_token").read_text().strip()
    for text in [user_data] + [f["content"] for f in
                               write_files(yaml.safe_load(user_data)).values()]:
        assert "PRIVATE KEY" not in text and "BEGIN OPENSSH" not in text
        assert token not in text
    ssh = aws.ssh(out, sid, "true")
    assert ssh.returncode == 0, ssh.stderr
    # A jump box, with the drop-in as the user data ships it: no command,
    # shell or subsystem; ssh -W goes through.
    echo = Echo()
    try:
        assert_jump_only(out / "ssh_config", sid, echo, "-o", "ConnectTimeout=10")
    finally:
        echo.close()
    assert [lease["stack_id"] for lease in aws.leases()] == [sid]
    assert aws.cloud.leftovers(sid) != []
    # No drift: what the provider reads back is what it applied.
    plan = plan_changes(aws, sid, res["instance_id"])
    assert plan.returncode == 0, plan.stdout + plan.stderr

    assert aws.destroy(sid) == {"stack_id": sid, "result": "destroyed"}
    assert aws.cloud.leftovers() == []
    assert aws.leases() == []
    # The purge took the stack's prefix; its audit records stay.
    recs = aws.audit_records(sid)
    assert [r["event"] for r in recs] == ["create", "ready", "destroy"]
    assert recs[0]["requester"] == "backup-vm@dc1" and recs[0]["module"] == "aws"
    assert recs[1]["instance_id"] == res["instance_id"]
    assert recs[1]["host_key_fingerprint"] == res["host_fingerprint"]
    assert recs[1]["box_objects"] == at
    # What the box wrote about itself outlives the stack, like the audit.
    assert {k.rsplit("/", 1)[1] for k, _ in aws.cloud.state_objects(boxes=True)} == \
        {"host_key.pub", "teardown-token.sha256"}
    assert (recs[2]["reason"], recs[2]["result"]) == ("request", "destroyed")
    ((state, _),) = aws.cloud.instances(include_terminated=True).values()
    assert state == "terminated"
    aws.wait_for("the box's sshd to go", lambda: not aws.standin.boxes)
    assert aws.ssh(out, sid, "true", timeout=30).returncode != 0


def test_the_box_timer_and_the_sweeper_each_take_a_box_down(aws, tmp_path):
    # Two boxes expiring two minutes from now: "timer" tears itself down through
    # its user data's script and the clean function; "swept" (its timer never
    # fires here) is found by `cleaner sweep` once its lease has expired.
    aws.start_harness()
    aws.standin.no_timer.add("swept")
    mine = aws.create("--stack-id", "timer", ttl="2m")["teardown_token"]
    aws.create("--stack-id", "swept", ttl="2m")
    leases = {lease["stack_id"]: lease for lease in aws.leases()}
    assert set(leases) == {"timer", "swept"}
    box = aws.standin.box_for("timer")
    # The timer presents the token the box made itself, not the requester's,
    # which never went to the box; the lease holds the hash of each.
    theirs = box.token_file.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", theirs) and theirs != mine
    lease = json.loads(aws.cloud.client("s3").get_object(
        Bucket=BUCKET, Key=f"{PREFIX}/timer/lease.json")["Body"].read())
    assert lease["box_token_hash"] == hashlib.sha256(theirs.encode()).hexdigest()
    assert lease["token_hash"] == hashlib.sha256(mine.encode()).hexdigest()
    expires = datetime.datetime.strptime(leases["timer"]["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert box.facts["teardown_at"] == expires.replace(tzinfo=datetime.timezone.utc).timestamp()

    aws.wait_for("the timer's script", lambda: box.teardown_runs, timeout=300)
    (run,) = box.teardown_runs
    assert run.returncode == 0, run.stderr
    aws.wait_for("the timer's destroy", lambda: aws.cloud.leftovers("timer") == [], timeout=300)
    assert "asked jumpbox-clean to destroy stack timer" in run.stdout
    # The box's timer named itself, through the clean function.
    destroys = aws.destroy_records("timer")
    assert [(r["reason"], r["by"]["via"], r["by"]["action"]) for r in destroys] == \
        [("ttl", "clean-function", "destroy")]
    clean = aws.harness.functions["jumpbox-clean"].history
    assert [h["event"] for h in clean] and clean[-1]["outcome"] == "response", clean
    assert [lease["stack_id"] for lease in aws.leases()] == ["swept"]

    aws.wait_for("swept's expiry", lambda: aws.leases()[0]["expired"], timeout=200)
    swept = aws.sweep()
    assert "swept" in str(swept), swept
    assert aws.cloud.leftovers() == [] and aws.leases() == []


def test_provisioner_run_with_the_aws_module(aws, tmp_path):
    """`provisioner run --module aws`: the box made, COMMAND's ssh login to
    it (the pinned host key, the box's user; the box runs nothing), then the
    box destroyed when COMMAND ends: nothing left in EC2 or S3, no lease, no
    private directory."""
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    job = ('out=$(ssh -F "$JUMPBOX_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=10 '
           '"$JUMPBOX_HOST" id -un) && test -z "$out" && echo logged-in-ran-nothing')
    cp = run([bin_path("provisioner"), "run", "--module", "aws", "--ttl", "10m",
              "--allow-cidr", "10.0.0.0/8", "--state", aws.state, "--stack-id", "run-aws",
              "--", "sh", "-c", job], env=dict(aws.as_build, XDG_RUNTIME_DIR=str(rt)),
             check=0, timeout=900)
    assert cp.stdout == "logged-in-ran-nothing\n", cp.stderr
    assert "jumpbox: " in cp.stderr and "run-aws destroyed" in cp.stderr
    assert aws.cloud.leftovers() == []
    assert aws.leases() == []
    ((state, _),) = aws.cloud.instances(include_terminated=True).values()
    assert state == "terminated"
    assert list(rt.iterdir()) == []


def test_audit_shows_a_log_over_its_limit_by_its_end(cloud):
    """A box's sshd log stored over the reader's limit (1 MiB + 64 KiB; one a
    box shipped whole) is read by its end (S3: a suffix Range) and shown
    truncated, not skipped as unreadable.  No stack: one object in S3."""
    cloud.reset()
    login = "Accepted publickey for jump from 192.0.2.7 port 4 ssh2: ED25519 SHA256:x"
    body = "".join(f"filler line {i:07d}\n" for i in range(2 * 1024 * 1024 // 20)) + login + "\n"
    cloud.client("s3").put_object(
        Bucket=BUCKET, Key=f"{PREFIX}/audit/long/20300101T000000.000000Z-box.sshd_log-0a.log",
        Body=body.encode())
    cp = run([bin_path("provisioner"), "audit", "--state", STATE_URL], env=cloud.env(), check=0)
    assert cp.stderr == ""
    (rec,) = [json.loads(l) for l in cp.stdout.splitlines()]
    assert rec["stack_id"] == "long" and rec["truncated"] is True
    assert re.fullmatch(r"filler line \d{7}", rec["lines"][0]) and rec["lines"][-1] == login
    assert 1024 * 1024 // 20 < len(rec["lines"]) < (1024 * 1024 + 65536) // 20
    assert [l["user"] for l in rec["logins"]] == ["jump"]
