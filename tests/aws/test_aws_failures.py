"""What goes wrong on AWS, on the emulated cloud: each ends with nothing of
the stack left in EC2 or S3, no stuck lease, and a message that says what
happened."""
import json
import subprocess

from support.emulated_cloud import BUCKET, PREFIX


def test_a_box_that_never_boots_is_rolled_back(aws):
    aws.standin.ignore.add("*")   # the instance runs, never publishes its key nor listens
    cp = aws.create("--stack-id", "mute", "--ready-timeout", "15s", check=1)
    assert "did not publish its host key" in cp.stderr and "within 15 s" in cp.stderr, cp.stderr
    assert "rollback" in cp.stderr
    assert cp.stdout == ""
    assert aws.cloud.leftovers() == [] and aws.leases() == []


def test_a_host_key_planted_where_the_box_publishes_is_refused(aws, tmp_path):
    """Someone other than the box writes a host key (and a token hash) at the
    box's path before the box does: here the test itself, with its own
    credentials.  On AWS the bucket policy refuses that principal (moto does
    not evaluate bucket policies; tests/aws/test_iam*.py evaluate the policy
    offline).  The box's own puts then fail (If-None-Match), the provisioner
    pins the planted key, the probe meets the box's real one, and the create
    rolls back saying so."""
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    s3 = aws.cloud.client("s3")

    def plant(box):
        at = f"{PREFIX}/boxes/{aws.cloud.box_role_id}:{box.instance_id}/"
        s3.put_object(Bucket=BUCKET, Key=at + "teardown-token.sha256", Body=b"0" * 64)
        s3.put_object(Bucket=BUCKET, Key=at + "host_key.pub", Body=(key.with_suffix(".pub")).read_bytes())

    aws.standin.before_publish = plant
    cp = aws.create("--stack-id", "planted", "--ready-timeout", "60s", check=1)
    assert "host key other than the pinned one" in cp.stderr, cp.stderr
    assert "rollback" in cp.stderr and cp.stdout == ""
    assert aws.cloud.leftovers() == [] and aws.leases() == []
    # The box did try, and was refused: the object was there first.
    box = aws.standin.box_for("planted")
    assert box.publish_runs and box.publish_runs[-1].returncode != 0
    assert "412" in box.publish_runs[-1].stderr, box.publish_runs[-1].stderr


def test_an_apply_that_fails_half_way_is_rolled_back(aws):
    # The security group and its rules exist when RunInstances is refused.
    aws.cloud.faults([{"service": "ec2", "action": "RunInstances", "status": 400,
                       "code": "Unsupported"}])
    cp = aws.create("--stack-id", "half", check=1)
    assert "terraform apply failed" in cp.stderr and "rollback" in cp.stderr, cp.stderr
    assert "kept for the sweeper" not in cp.stderr
    calls = aws.cloud.calls()
    assert any(c["action"] == "CreateSecurityGroup" for c in calls)
    assert any(c["action"] == "DeleteSecurityGroup" for c in calls)
    log = (aws.work / "logs" / "half.log").read_text()
    assert "Unsupported" in log
    assert aws.cloud.leftovers() == [] and aws.leases() == []


def test_a_box_removed_behind_our_back_is_still_destroyed_cleanly(aws):
    res = aws.create("--stack-id", "gone")
    ec2 = aws.cloud.client("ec2")
    ec2.terminate_instances(InstanceIds=[res["instance_id"]])
    aws.wait_for("the instance to terminate", lambda: aws.cloud.instances() == {})
    (gid,) = aws.cloud.security_groups()
    ec2.delete_security_group(GroupId=gid)
    assert aws.destroy("gone") == {"stack_id": "gone", "result": "destroyed"}
    assert aws.cloud.leftovers() == [] and aws.leases() == []


def test_a_stack_made_before_boxes_made_their_own_keys_is_still_destroyed(aws):
    """A lease the previous version wrote (the host key went in user data):
    its module inputs name host_public_key and no box_role_id, which
    terraform/aws now requires.  An upgrade must not strand such a stack."""
    res = aws.create("--stack-id", "older")
    s3 = aws.cloud.client("s3")
    key = f"{PREFIX}/older/lease.json"
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    del lease["vars"]["box_role_id"], lease["box_token_hash"]
    lease["vars"]["host_public_key"] = res["host_public_key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lease).encode())
    assert aws.destroy("older") == {"stack_id": "older", "result": "destroyed"}
    assert aws.cloud.leftovers() == [] and aws.leases() == []
