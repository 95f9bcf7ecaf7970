"""terraform/aws end to end on the emulated cloud: create, ssh through the
written files, and the three ways down -- each leaving nothing in EC2 or S3."""
import datetime


def test_create_ssh_destroy_leaves_nothing(aws, tmp_path):
    out = tmp_path / "out"
    res = aws.create("--out", str(out), "--requester", "backup-vm@dc1")
    sid = res["stack_id"]
    assert res["module"] == "aws" and res["instance_id"].startswith("i-")
    (box,) = aws.standin.boxes.values()
    assert res["host"] == box.ip and res["user"] == "jump"
    # The probe and ssh both insisted on the key the user data pinned.
    assert box.facts["host_public_key"].split()[:2] == res["host_public_key"].split()[:2]
    ssh = aws.ssh(out, sid, "id", "-un")
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout.strip() == "jump"
    assert [lease["stack_id"] for lease in aws.leases()] == [sid]
    assert aws.cloud.leftovers(sid) != []

    assert aws.destroy(sid) == {"stack_id": sid, "result": "destroyed"}
    assert aws.cloud.leftovers() == []
    assert aws.leases() == []
    ((state, _),) = aws.cloud.instances(include_terminated=True).values()
    assert state == "terminated"
    aws.wait_for("the box's sshd to go", lambda: not aws.standin.boxes)
    assert aws.ssh(out, sid, "true", timeout=30).returncode != 0
