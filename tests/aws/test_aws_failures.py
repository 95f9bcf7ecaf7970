"""What goes wrong on AWS, on the emulated cloud: each ends with nothing of
the stack left in EC2 or S3, no stuck lease, and a message that says what
happened."""


def test_a_box_that_never_answers_ssh_is_rolled_back(aws):
    aws.standin.ignore.add("*")   # the instance runs, nothing ever listens
    cp = aws.create("--stack-id", "mute", "--ready-timeout", "15s", check=1)
    assert "gave up after" in cp.stderr and "rollback" in cp.stderr, cp.stderr
    assert cp.stdout == ""
    assert aws.cloud.leftovers() == [] and aws.leases() == []


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
